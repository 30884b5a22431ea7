//! What resolvers get from the request: the state, the actor, the tenant, and permission guards.

use std::sync::atomic::Ordering;

use async_graphql::{Context, Guard};
use serde_json::json;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    services::audit,
    state::AppState,
    tenant::{Actor, RequestIdentity, TenantContext},
};

/// The application state.
pub fn state<'a>(ctx: &Context<'a>) -> ApiResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| ApiError::internal("BUG: AppState missing from the schema data"))
}

/// The request's resolved identity.
pub fn identity<'a>(ctx: &Context<'a>) -> ApiResult<&'a RequestIdentity> {
    ctx.data::<RequestIdentity>()
        .map_err(|_| ApiError::internal("BUG: RequestIdentity missing from the request data"))
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthenticated(
        "authentication required: send `Authorization: Bearer <token>`".to_owned(),
    )
}

/// The actor, or `UNAUTHENTICATED`.
pub fn actor<'a>(ctx: &Context<'a>) -> ApiResult<&'a Actor> {
    match &identity(ctx)?.actor {
        Ok(Some(actor)) => Ok(actor),
        Ok(None) => Err(unauthenticated()),
        Err(e) => Err(e.clone()),
    }
}

/// The active school and the actor's rights there, or why there is none. The first use in a
/// request by a superadmin writes an audit entry in that school.
pub async fn tenant<'a>(ctx: &Context<'a>) -> ApiResult<&'a TenantContext> {
    let identity = identity(ctx)?;
    actor(ctx)?;
    let tenant = match &identity.tenant {
        Ok(Some(t)) => t,
        Ok(None) => return Err(unauthenticated()),
        Err(e) => return Err(e.clone()),
    };
    if tenant.actor.is_superadmin() && !identity.superadmin_audited.swap(true, Ordering::SeqCst) {
        let operation = ctx.query_env.operation_name.clone();
        let entry = audit::Entry::new("superadmin.access")
            .details(json!({ "operation": operation, "member": !tenant.via_superadmin }));
        audit::write_now(
            &state(ctx)?.db,
            tenant.school_id(),
            Some(&tenant.actor),
            entry,
        )
        .await?;
    }
    Ok(tenant)
}

/// The active school, if the actor holds `permission` there.
pub async fn require<'a>(
    ctx: &Context<'a>,
    permission: Permission,
) -> ApiResult<&'a TenantContext> {
    let tenant = tenant(ctx).await?;
    if !tenant.can(permission) {
        return Err(ApiError::Forbidden(format!(
            "this needs the `{}` permission",
            permission.as_str()
        )));
    }
    Ok(tenant)
}

/// A guard for fields that need a permission in the active school.
#[derive(Debug, Clone, Copy)]
pub struct Require(pub Permission);

impl Guard for Require {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        require(ctx, self.0).await.map(|_| ()).map_err(Into::into)
    }
}

/// Proof that the actor is a platform superadmin: the only way into cross-school operations.
#[derive(Debug, Clone, Copy)]
pub struct Superadmin<'a> {
    /// The superadmin.
    pub actor: &'a Actor,
}

/// The superadmin capability, or `FORBIDDEN`.
pub fn superadmin<'a>(ctx: &Context<'a>) -> ApiResult<Superadmin<'a>> {
    let actor = actor(ctx)?;
    if !actor.is_superadmin() {
        return Err(ApiError::Forbidden(
            "this needs a platform superadmin".to_owned(),
        ));
    }
    Ok(Superadmin { actor })
}

/// The request's per-school loaders (present whenever a school was resolved).
pub fn loaders<'a>(ctx: &Context<'a>) -> ApiResult<&'a crate::graphql::loaders::Loaders> {
    ctx.data::<crate::graphql::loaders::Loaders>()
        .map_err(|_| ApiError::internal("BUG: loaders missing for a resolved school"))
}

/// The active school, if the actor holds `permission` there, and a transaction bound to it.
pub async fn scoped<'a>(
    ctx: &Context<'a>,
    permission: Permission,
) -> ApiResult<(&'a TenantContext, entity::tenant::TenantTx)> {
    let tenant = require(ctx, permission).await?;
    let db = &state(ctx)?.db;
    // A mutation field's transaction may write: on SQLite it takes the writer's turn up front.
    // Fields of a mutation's answer only read (and may run side by side), so they do not.
    let root = ctx.path_node.as_ref().is_some_and(|n| n.parent.is_none());
    let tx = if root
        && ctx.query_env.operation.node.ty == async_graphql::parser::types::OperationType::Mutation
    {
        let mut tx = entity::tenant::TenantTx::begin_write(db, tenant.school_id()).await?;
        if let Ok(commits) = ctx.data::<Commits>() {
            tx.report_commit_to(commits.flag_for(root_field(ctx)));
        }
        tx
    } else {
        match ctx.data_opt::<std::sync::Arc<crate::graphql::loaders::FirstTx>>() {
            Some(first) => first.begin(db, tenant.school_id()).await?,
            None => entity::tenant::TenantTx::begin(db, tenant.school_id()).await?,
        }
    };
    Ok((tenant, tx))
}

/// The mutation fields of a request whose transaction committed, so that an error raised
/// after the commit (resolving the answer's nested fields) is answered as a saved change with a
/// failed read-back, not as a failed change.
#[derive(Debug, Default, Clone)]
pub struct Commits(std::sync::Arc<std::sync::Mutex<Vec<CommitFlag>>>);

/// A top-level field's response key and whether its transaction committed.
type CommitFlag = (String, std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Commits {
    fn flag_for(&self, field: String) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((field, flag.clone()));
        flag
    }

    /// The response keys of the top-level fields that committed a change.
    pub fn committed(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, flag)| flag.load(std::sync::atomic::Ordering::SeqCst))
            .map(|(field, _)| field.clone())
            .collect()
    }
}

/// The response key of the top-level field `ctx` is under.
fn root_field(ctx: &Context<'_>) -> String {
    let mut node = ctx.path_node.as_ref();
    let mut key = String::new();
    while let Some(n) = node {
        if let async_graphql::QueryPathSegment::Name(name) = n.segment {
            key = name.to_owned();
        }
        node = n.parent;
    }
    key
}

/// The students whose health records a request read; written to the audit log as one entry
/// when the request ends.
#[derive(Debug, Default, Clone)]
pub struct HealthReads(
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<entity::ids::StudentId>>>,
);

impl HealthReads {
    /// Notes a read of `student`'s health records.
    pub fn record(&self, student: entity::ids::StudentId) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(student);
    }

    /// The students read, emptying the list.
    pub fn take(&self) -> Vec<entity::ids::StudentId> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .collect()
    }
}

/// The request's health-read log.
pub fn health_reads<'a>(ctx: &Context<'a>) -> ApiResult<&'a HealthReads> {
    ctx.data::<HealthReads>()
        .map_err(|_| ApiError::internal("BUG: HealthReads missing for a resolved school"))
}

/// Marks a request that holds one of its school's heavy-work permits for its whole run (its
/// price is over `HEAVY_QUERY_COST`): what it computes inside needs no second permit.
#[derive(Debug, Clone, Copy)]
pub struct HoldsHeavyPermit;

/// One of the school's heavy-work permits for work inside this request (cold analytics,
/// training), unless the request already holds one. Waits at most the configured time, then
/// `RATE_LIMITED`.
pub async fn heavy_work(
    ctx: &Context<'_>,
    school: entity::ids::SchoolId,
) -> ApiResult<Option<crate::budget::HeavyPermit>> {
    if ctx.data_opt::<HoldsHeavyPermit>().is_some() {
        return Ok(None);
    }
    Ok(Some(state(ctx)?.budgets.heavy(school).await?))
}
