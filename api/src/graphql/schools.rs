//! Schools: the active `school`, `schools`, and the superadmin's `createSchool`; host names.

use async_graphql::{
    Context, InputObject, Object,
    connection::{Connection, Edge, EmptyFields},
};
use entity::{ids::*, school_domain};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, SqlErr};
use serde_json::json;

use super::{
    context::{Require, actor, require, state, superadmin, tenant},
    pagination::page_size,
    types::{IdCursor, School, SchoolDomain, TotalCount},
};
use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    platform,
    services::{audit, schools},
    tenant::Actor,
};

/// A new school.
#[derive(Debug, InputObject)]
pub struct CreateSchoolInput {
    /// The school's name.
    pub name: String,
    /// A unique slug: lower-case letters, digits and hyphens (usable in `X-School-Id`).
    pub slug: String,
}

/// School queries.
#[derive(Debug, Default)]
pub struct SchoolsQuery;

#[Object]
impl SchoolsQuery {
    /// The active school.
    async fn school(&self, ctx: &Context<'_>) -> ApiResult<School> {
        Ok(School(tenant(ctx).await?.school.clone()))
    }

    /// Schools, in creation order: every school for a superadmin, otherwise the user's own.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
    ) -> ApiResult<Connection<IdCursor, School, TotalCount, EmptyFields>> {
        let state = state(ctx)?;
        let limit = page_size(first)?;
        let after = match after {
            Some(cursor) => Some(SchoolId(cursor.parse().map_err(|_| {
                ApiError::bad_field("after", "is not a cursor from this connection")
            })?)),
            None => None,
        };
        let only = match actor(ctx)? {
            a if a.is_superadmin() => None,
            Actor::User(user) => Some(
                platform::memberships_of(&state.db, user.id)
                    .await?
                    .into_iter()
                    .map(|m| m.school_id)
                    .collect(),
            ),
            Actor::ApiToken(token) => Some(vec![token.school_id]),
        };
        let (rows, total) = platform::schools_page(&state.db, only, after, limit + 1).await?;
        let has_next = rows.len() as u64 > limit;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            TotalCount { total_count: total },
        );
        connection.edges.extend(
            rows.into_iter()
                .take(limit as usize)
                .map(|s| Edge::new(IdCursor(s.id.into_uuid()), School(s))),
        );
        Ok(connection)
    }

    /// The host names that select the active school.
    #[graphql(
        guard = "Require(Permission::StudentsRead)",
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn school_domains(&self, ctx: &Context<'_>) -> ApiResult<Vec<SchoolDomain>> {
        let tenant = tenant(ctx).await?;
        Ok(platform::domains_of(&state(ctx)?.db, tenant.school_id())
            .await?
            .into_iter()
            .map(SchoolDomain)
            .collect())
    }
}

/// School mutations.
#[derive(Debug, Default)]
pub struct SchoolsMutation;

#[Object]
impl SchoolsMutation {
    /// Creates a school with its default configuration (superadmins only; audited in the new
    /// school).
    async fn create_school(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The school's name and slug.")] input: CreateSchoolInput,
    ) -> ApiResult<School> {
        let admin = superadmin(ctx)?;
        let state = state(ctx)?;
        let tx = entity::writer::begin_write(&state.db).await?;
        let school = schools::create(&tx, &input.name, &input.slug).await?;
        let entry = audit::Entry::new("school.create")
            .on("school", school.id)
            .details(json!({ "slug": school.slug }));
        audit::write_in(&tx, school.id, Some(admin.actor), entry).await?;
        tx.commit().await?;
        Ok(School(school))
    }

    /// Maps a host name to the active school, so requests to that host need no `X-School-Id`
    /// (platform superadmins only: which school a host names is a platform decision). The
    /// service's own host names (`SERVICE_HOSTS`, `localhost`) cannot be mapped.
    async fn add_school_domain(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A host name such as school.example.org (no port).")] host: String,
    ) -> ApiResult<SchoolDomain> {
        superadmin(ctx)?;
        let tenant = require(ctx, Permission::SchoolConfigure).await?;
        let host = normalize_host(&host)?;
        let state = state(ctx)?;
        if state.config.service_hosts.contains(&host) {
            return Err(ApiError::bad_field(
                "host",
                "is one of the service's own host names, shared by every school",
            ));
        }
        let tx = entity::writer::begin_write(&state.db).await?;
        let row = school_domain::ActiveModel {
            id: Set(SchoolDomainId::generate()),
            school_id: Set(tenant.school_id()),
            host: Set(host.clone()),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(&*tx)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict {
                field: "host".into(),
                message: "this host is already mapped to a school".into(),
            },
            _ => ApiError::from(e),
        })?;
        let entry = audit::Entry::new("school_domain.add").details(json!({ "host": host }));
        audit::write_in(&tx, tenant.school_id(), Some(&tenant.actor), entry).await?;
        tx.commit().await?;
        Ok(SchoolDomain(row))
    }

    /// Removes a host name of the active school.
    async fn remove_school_domain(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The host name to remove.")] host: String,
    ) -> ApiResult<bool> {
        let tenant = require(ctx, Permission::SchoolConfigure).await?;
        let host = normalize_host(&host)?;
        let state = state(ctx)?;
        let tx = entity::writer::begin_write(&state.db).await?;
        if !platform::remove_domain(&*tx, tenant.school_id(), &host).await? {
            return Err(ApiError::NotFound("school domain"));
        }
        let entry = audit::Entry::new("school_domain.remove").details(json!({ "host": host }));
        audit::write_in(&tx, tenant.school_id(), Some(&tenant.actor), entry).await?;
        tx.commit().await?;
        Ok(true)
    }
}

fn normalize_host(host: &str) -> ApiResult<String> {
    let host = host.trim().to_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if valid {
        Ok(host)
    } else {
        Err(ApiError::bad_field(
            "host",
            "must be a host name such as school.example.org (no port)",
        ))
    }
}
