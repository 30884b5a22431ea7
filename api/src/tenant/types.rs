//! What resolving a request yields: who is acting, in which school, with which permissions.

use std::{collections::BTreeSet, sync::atomic::AtomicBool};

use entity::{api_token, enums::Role, ids::SchoolId, school, user};
use uuid::Uuid;

use crate::{auth::Permission, error::ApiError};

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
    /// The school's data version when the request was resolved (caches of derived figures are
    /// keyed by it).
    pub data_version: i64,
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
