//! Resolving who is asking and for which school, once per request, before GraphQL runs
//! (DESIGN §3 steps 1–4). Failures are kept, not raised: `login` and introspection work without
//! credentials, and a protected field answers with the stored error.

use std::{collections::BTreeSet, sync::atomic::AtomicBool};

use axum::http::HeaderMap;
use chrono::Utc;
use entity::{api_token, enums::Role, ids::*, school, user};
use uuid::Uuid;

use crate::{
    app::AppState,
    auth::{API_TOKEN_PREFIX, Permission, hash_api_token},
    error::ApiError,
    platform,
};

/// The header that picks the active school (a school id or slug).
pub const SCHOOL_HEADER: &str = "x-school-id";

/// Who is making the request.
#[derive(Clone, Debug)]
pub enum Actor {
    /// A signed-in user (session token).
    User(user::Model),
    /// An integrator's API token, bound to one school and role.
    ApiToken(api_token::Model),
}

impl Actor {
    /// The user, for user sessions.
    pub fn user(&self) -> Option<&user::Model> {
        match self {
            Actor::User(u) => Some(u),
            Actor::ApiToken(_) => None,
        }
    }

    /// Whether the actor is a platform superadmin (API tokens never are).
    pub fn is_superadmin(&self) -> bool {
        matches!(self, Actor::User(u) if u.is_superadmin)
    }

    /// `USER` or `API_TOKEN`, as written to the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "USER",
            Actor::ApiToken(_) => "API_TOKEN",
        }
    }

    /// The user's or token's id.
    pub fn id(&self) -> Uuid {
        match self {
            Actor::User(u) => u.id.into_uuid(),
            Actor::ApiToken(t) => t.id.into_uuid(),
        }
    }
}

/// The active school of a request and what the actor may do there.
#[derive(Clone, Debug)]
pub struct TenantContext {
    /// The active school.
    pub school: school::Model,
    /// Who is acting.
    pub actor: Actor,
    /// The actor's role in the school (a superadmin without a membership acts as `ADMIN`).
    pub role: Role,
    /// What the actor may do here.
    pub permissions: BTreeSet<Permission>,
    /// True when a superadmin acts in a school they are not a member of.
    pub via_superadmin: bool,
}

impl TenantContext {
    /// The active school's id.
    pub fn school_id(&self) -> SchoolId {
        self.school.id
    }

    /// Whether the actor holds `permission` here.
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// The outcome of resolution for one request.
#[derive(Debug)]
pub struct RequestIdentity {
    /// `Ok(None)` for anonymous requests; `Err` for bad, expired or revoked credentials.
    pub actor: Result<Option<Actor>, ApiError>,
    /// The active school; `Ok(None)` when none applies (anonymous requests).
    pub tenant: Result<Option<TenantContext>, ApiError>,
    /// The client's address, for login throttling.
    pub client: String,
    /// Set once the superadmin access of this request has been written to the audit log.
    pub superadmin_audited: AtomicBool,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Resolves the request's actor and school from its headers.
pub async fn resolve(state: &AppState, headers: &HeaderMap, client: String) -> RequestIdentity {
    let actor = authenticate(state, headers).await;
    let tenant = match &actor {
        Ok(Some(actor)) => choose_school(state, headers, actor).await.map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e.clone()),
    };
    let span = tracing::Span::current();
    if let Ok(Some(actor)) = &actor {
        span.record("user_id", tracing::field::display(actor.id()));
    }
    if let Ok(Some(tenant)) = &tenant {
        span.record("school_id", tracing::field::display(tenant.school_id()));
    }
    RequestIdentity {
        actor,
        tenant,
        client,
        superadmin_audited: AtomicBool::new(false),
    }
}

fn invalid_token() -> ApiError {
    ApiError::Unauthenticated("invalid, expired or revoked token".to_owned())
}

/// Step 1: the `Authorization` header. No header → anonymous; anything unusable → error.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<Actor>, ApiError> {
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
        let Some(row) = platform::api_token_by_hash(&state.db, &hash_api_token(token)).await?
        else {
            return Err(invalid_token());
        };
        let now = Utc::now();
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
            return Err(invalid_token());
        }
        platform::touch_api_token(&state.db, &row).await?;
        return Ok(Some(Actor::ApiToken(row)));
    }
    let claims = state.jwt.verify(token).ok_or_else(invalid_token)?;
    let user_id: UserId = claims.sub.parse().map_err(|_| invalid_token())?;
    let Some(user) = platform::user(&state.db, user_id).await? else {
        return Err(invalid_token());
    };
    if !user.is_active || user.token_version != claims.ver {
        return Err(invalid_token());
    }
    Ok(Some(Actor::User(user)))
}

fn not_a_member() -> ApiError {
    ApiError::Forbidden("you are not a member of this school".to_owned())
}

/// Steps 2–4: pick the school and check the actor may act there.
async fn choose_school(
    state: &AppState,
    headers: &HeaderMap,
    actor: &Actor,
) -> Result<TenantContext, ApiError> {
    let db = &state.db;
    // An unknown school and another school are answered alike: both FORBIDDEN.
    let chosen = if let Some(value) = header(headers, SCHOOL_HEADER) {
        let found = match value.parse::<SchoolId>() {
            Ok(id) => platform::school(db, id).await?,
            Err(_) => platform::school_by_slug(db, value).await?,
        };
        Some(found.ok_or_else(not_a_member)?)
    } else if let Some(host) =
        header(headers, "host").map(|h| h.split(':').next().unwrap_or(h).to_lowercase())
        && let Some(school) = platform::school_by_host(db, &host).await?
    {
        Some(school)
    } else {
        None
    };

    match actor {
        Actor::ApiToken(token) => {
            let school = match chosen {
                Some(s) if s.id != token.school_id => return Err(not_a_member()),
                Some(s) => s,
                None => platform::school(db, token.school_id)
                    .await?
                    .ok_or_else(not_a_member)?,
            };
            Ok(context(school, actor.clone(), token.role, false))
        }
        Actor::User(user) => {
            let school = match chosen {
                Some(s) => s,
                None => {
                    let memberships = platform::memberships_of(db, user.id).await?;
                    match memberships.as_slice() {
                        [only] => platform::school(db, only.school_id)
                            .await?
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
            match platform::membership(db, school.id, user.id).await? {
                Some(m) => Ok(context(school, actor.clone(), m.role, false)),
                None if user.is_superadmin => Ok(context(school, actor.clone(), Role::Admin, true)),
                None => Err(not_a_member()),
            }
        }
    }
}

fn context(school: school::Model, actor: Actor, role: Role, via_superadmin: bool) -> TenantContext {
    let mut permissions: BTreeSet<Permission> = Permission::of_role(role).iter().copied().collect();
    if actor.is_superadmin() {
        permissions.insert(Permission::SchoolsManage);
    }
    TenantContext {
        school,
        actor,
        role,
        permissions,
        via_superadmin,
    }
}
