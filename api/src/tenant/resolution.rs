//! Resolving a request's actor and school from its headers, with the platform tables.

use std::{collections::BTreeSet, sync::atomic::AtomicBool};

use axum::http::HeaderMap;
use chrono::Utc;
use entity::tenant::TenantTx;
use entity::{enums::Role, ids::*};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, TransactionTrait};

use super::{Actor, RequestIdentity, TenantContext};
use crate::{
    auth::{API_TOKEN_PREFIX, Permission, hash_api_token},
    error::ApiError,
    platform::{self, SchoolChoice, SeenSchool},
};

/// The header that picks the active school (a school id or slug).
pub const SCHOOL_HEADER: &str = "x-school-id";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The client's address: the socket's peer, or — when that peer is one of the configured
/// trusted proxies — the rightmost address of `X-Forwarded-For` that is not itself a trusted
/// proxy (the left part of that header is whatever the client wrote, so it is never believed).
pub fn client_address(
    config: &crate::config::Config,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> String {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return String::new();
    };
    let trusted = |ip: &std::net::IpAddr| {
        config
            .trusted_proxies
            .iter()
            .any(|t| t.to_canonical() == *ip)
    };
    if !trusted(&peer) {
        return peer.to_string();
    }
    // From the right: each hop a trusted proxy appended, until the first that is not a trusted
    // proxy. An entry that cannot be read ends the walk at the last trusted hop.
    let entries: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().to_owned())
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let parsed = entry
            .parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
            .map(|ip| ip.to_canonical());
        match parsed {
            Some(ip) if trusted(&ip) => client = ip,
            Some(ip) => return ip.to_string(),
            None => break,
        }
    }
    client.to_string()
}

/// How the request names its school: the `X-School-Id` header (an id, else a slug), else the
/// host name it was sent to.
fn school_choice(headers: &HeaderMap) -> Option<SchoolChoice> {
    if let Some(value) = header(headers, SCHOOL_HEADER) {
        return Some(match value.parse::<SchoolId>() {
            Ok(id) => SchoolChoice::Id(id),
            Err(_) => SchoolChoice::Slug(value.to_owned()),
        });
    }
    header(headers, "host")
        .map(|h| SchoolChoice::Host(h.split(':').next().unwrap_or(h).to_lowercase()))
}

/// What resolving a request reads: the platform tables and the session-token keys.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    /// The database.
    pub db: &'a DatabaseConnection,
    /// The keys session tokens are signed with.
    pub jwt: &'a crate::auth::JwtKeys,
}

/// Resolves the request's actor and school from its headers. A signed-in user naming a school
/// costs one statement (user, school, membership and the school's data version together).
pub async fn resolve(state: Sources<'_>, headers: &HeaderMap, client: String) -> RequestIdentity {
    resolve_with(state, headers, client, false).await.0
}

/// [`resolve`], and on PostgreSQL, for a signed-in user naming a school, the read transaction
/// that statement ran in, already bound to the resolved school (the statement set the binding
/// as it read the membership): the first read of the school's data then needs neither a
/// connection of its own nor a statement to bind it. `None` when no school was resolved, on
/// SQLite, for API tokens, and when the resolved school is not the one the statement found.
pub async fn resolve_binding(
    state: Sources<'_>,
    headers: &HeaderMap,
    client: String,
) -> (RequestIdentity, Option<TenantTx>) {
    resolve_with(state, headers, client, true).await
}

async fn resolve_with(
    state: Sources<'_>,
    headers: &HeaderMap,
    client: String,
    bind: bool,
) -> (RequestIdentity, Option<TenantTx>) {
    let choice = school_choice(headers);
    let mut bound = None;
    let slot = bind.then_some(&mut bound);
    let mut first = None;
    let (actor, tenant) = match authenticate(state, headers, choice.as_ref(), slot).await {
        Ok(Some((actor, seen))) => {
            let found = seen.as_ref().map(|s| s.school.id);
            let tenant = choose_school(state, choice.as_ref(), &actor, seen).await;
            if let (Ok(tenant), Some(tx)) = (&tenant, bound)
                && found == Some(tenant.school_id())
            {
                first = Some(TenantTx::adopt(tx, tenant.school_id()));
            }
            (Ok(Some(actor)), tenant.map(Some))
        }
        Ok(None) => (Ok(None), Ok(None)),
        Err(e) => (Err(e.clone()), Err(e)),
    };
    let span = tracing::Span::current();
    if let Ok(Some(actor)) = &actor {
        span.record("user_id", tracing::field::display(actor.id()));
    }
    if let Ok(Some(tenant)) = &tenant {
        span.record("school_id", tracing::field::display(tenant.school_id()));
    }
    let identity = RequestIdentity {
        actor,
        tenant,
        client,
        superadmin_audited: AtomicBool::new(false),
    };
    (identity, first)
}

fn invalid_token() -> ApiError {
    ApiError::Unauthenticated("invalid, expired or revoked token".to_owned())
}

/// Step 1: the `Authorization` header. No header → anonymous; anything unusable → error. A
/// session token's user is read together with the chosen school.
async fn authenticate(
    state: Sources<'_>,
    headers: &HeaderMap,
    choice: Option<&SchoolChoice>,
    bind: Option<&mut Option<DatabaseTransaction>>,
) -> Result<Option<(Actor, Option<SeenSchool>)>, ApiError> {
    let Some(value) = header(headers, "authorization") else {
        return Ok(None);
    };
    let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
    else {
        return Err(ApiError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".to_owned(),
        ));
    };
    if token.is_empty() {
        return Ok(None);
    }
    if token.starts_with(API_TOKEN_PREFIX) {
        let Some(row) = platform::api_token_by_hash(state.db, &hash_api_token(token)).await? else {
            return Err(invalid_token());
        };
        let now = Utc::now();
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
            return Err(invalid_token());
        }
        // Best effort, off the request's path: noting when a token was last used never delays
        // or fails the request (on SQLite it waits for the writer's turn like any write).
        let (db, token) = (DatabaseConnection::clone(state.db), row.clone());
        tokio::spawn(async move {
            if let Err(e) = platform::touch_api_token(&db, &token).await {
                tracing::debug!(error = %e, "could not note an API token's use");
            }
        });
        return Ok(Some((Actor::ApiToken(row), None)));
    }
    let claims = state.jwt.verify(token).ok_or_else(invalid_token)?;
    let user_id: UserId = claims.sub.parse().map_err(|_| invalid_token())?;
    // Only a school named by the header: choosing it then needs no read beyond this statement,
    // so a request never waits for a second connection while holding this one (with every
    // connection held so, nobody would get one). Without a header the user's memberships may
    // have to be read; that happens outside any transaction.
    let found = match (bind, choice) {
        (Some(slot), Some(choice @ (SchoolChoice::Id(_) | SchoolChoice::Slug(_))))
            if state.db.get_database_backend() == DbBackend::Postgres =>
        {
            let tx = state.db.begin().await?;
            let found = platform::user_in_school_binding(&tx, user_id, choice).await?;
            *slot = Some(tx);
            found
        }
        _ => platform::user_in_school(state.db, user_id, choice).await?,
    };
    let Some((user, seen)) = found else {
        return Err(invalid_token());
    };
    if !user.is_active || user.token_version != claims.ver {
        return Err(invalid_token());
    }
    Ok(Some((Actor::User(user), seen)))
}

fn not_a_member() -> ApiError {
    ApiError::Forbidden("you are not a member of this school".to_owned())
}

/// Steps 2–4: pick the school and check the actor may act there. `seen` is the chosen school as
/// [`authenticate`] already read it for a signed-in user.
async fn choose_school(
    state: Sources<'_>,
    choice: Option<&SchoolChoice>,
    actor: &Actor,
    seen: Option<SeenSchool>,
) -> Result<TenantContext, ApiError> {
    let db = state.db;
    // A school named by the header must exist; an unknown school and another school are
    // answered alike: both FORBIDDEN. A host that is not mapped names no school.
    let named = matches!(choice, Some(SchoolChoice::Id(_) | SchoolChoice::Slug(_)));
    // A host is a hint, not a demand: a host mapped to a school the actor does not belong to is
    // treated like the shared host, so mapping a host never turns another school's requests
    // into errors.
    let by_host = matches!(choice, Some(SchoolChoice::Host(_)));
    match actor {
        Actor::ApiToken(token) => {
            let chosen = match choice {
                Some(choice) => platform::school_seen(db, choice).await?,
                None => None,
            };
            let chosen = chosen.filter(|s| !(by_host && s.school.id != token.school_id));
            let school = match chosen {
                Some(s) if s.school.id != token.school_id => return Err(not_a_member()),
                Some(s) => s,
                None if named => return Err(not_a_member()),
                None => platform::school_seen(db, &SchoolChoice::Id(token.school_id))
                    .await?
                    .ok_or_else(not_a_member)?,
            };
            Ok(context(school, actor.clone(), token.role, false))
        }
        Actor::User(user) => {
            let seen = seen.filter(|s| !(by_host && s.role.is_none() && !user.is_superadmin));
            let seen = match seen {
                Some(seen) => seen,
                None if named => return Err(not_a_member()),
                None => {
                    let memberships = platform::memberships_of(db, user.id).await?;
                    match memberships.as_slice() {
                        [only] => platform::user_in_school(
                            db,
                            user.id,
                            Some(&SchoolChoice::Id(only.school_id)),
                        )
                        .await?
                        .and_then(|(_, seen)| seen)
                        .ok_or(ApiError::Internal)?,
                        [] if !user.is_superadmin => {
                            return Err(ApiError::Forbidden(
                                "you are not a member of any school".to_owned(),
                            ));
                        }
                        _ => return Err(ApiError::SchoolRequired),
                    }
                }
            };
            match seen.role {
                Some(role) => Ok(context(seen, actor.clone(), role, false)),
                None if user.is_superadmin => Ok(context(seen, actor.clone(), Role::Admin, true)),
                None => Err(not_a_member()),
            }
        }
    }
}

fn context(seen: SeenSchool, actor: Actor, role: Role, via_superadmin: bool) -> TenantContext {
    let mut permissions: BTreeSet<Permission> = Permission::of_role(role).iter().copied().collect();
    if actor.is_superadmin() {
        permissions.insert(Permission::SchoolsManage);
    }
    TenantContext {
        school: seen.school,
        data_version: seen.data_version,
        actor,
        role,
        permissions,
        via_superadmin,
    }
}
