//! GraphQL types for identities, schools and memberships. They wrap the entities (the tables are
//! not the contract), and none of them exposes a `schoolId` input.

use async_graphql::{Enum, Object, SimpleObject, connection::CursorType};
use chrono::{DateTime, Utc};
use entity::{
    api_token, enums::Role, membership, school, school_configuration, school_domain, user,
};
use uuid::Uuid;

/// A member's role in a school.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(name = "Role")]
pub enum RoleName {
    /// Runs the school's account: every permission in the school.
    Admin,
    /// Reads the school's records and records grades, attendance and incidents.
    Teacher,
    /// Reads only.
    Viewer,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => RoleName::Admin,
            Role::Teacher => RoleName::Teacher,
            Role::Viewer => RoleName::Viewer,
        }
    }
}

impl From<RoleName> for Role {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::Admin => Role::Admin,
            RoleName::Teacher => Role::Teacher,
            RoleName::Viewer => Role::Viewer,
        }
    }
}

/// A person who signs in. One user may belong to several schools.
#[derive(Debug, Clone)]
pub struct User(pub user::Model);

/// A person who signs in. One user may belong to several schools.
#[Object]
impl User {
    /// The user's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The sign-in email (lower-case).
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The user's full name.
    async fn full_name(&self) -> &str {
        &self.0.full_name
    }
    /// False once the user is deactivated: their tokens stop working.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    /// Whether the user is a platform superadmin.
    async fn is_superadmin(&self) -> bool {
        self.0.is_superadmin
    }
    /// When the user was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A school: the tenant. Everything else belongs to exactly one school.
#[derive(Debug, Clone)]
pub struct School(pub school::Model);

/// A school: the tenant. Everything else belongs to exactly one school.
#[Object]
impl School {
    /// The school's id (usable in the `X-School-Id` header).
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The school's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The school's slug (usable in the `X-School-Id` header).
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// When the school was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The school's settings. Readable for the active school only (`students:read`).
    async fn configuration(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> crate::error::ApiResult<SchoolConfiguration> {
        let (tenant, tx) =
            super::context::scoped(ctx, crate::auth::Permission::StudentsRead).await?;
        if tenant.school_id() != self.0.id {
            return Err(crate::error::ApiError::Forbidden(
                "only the active school's configuration can be read: choose the school with X-School-Id".into(),
            ));
        }
        SchoolConfiguration::read(&tx).await
    }
}

/// A school's settings: grading scale, pass mark and attendance thresholds.
#[derive(Debug, Clone)]
pub struct SchoolConfiguration {
    row: school_configuration::Model,
    data_version: i64,
}

impl SchoolConfiguration {
    /// The configuration of the transaction's school, with its data version.
    pub async fn read(tx: &entity::tenant::TenantTx) -> crate::error::ApiResult<Self> {
        let row = tx
            .one(tx.find::<school_configuration::Entity>())
            .await?
            .ok_or(crate::error::ApiError::NotFound("school configuration"))?;
        let data_version = tx.data_version().await?;
        Ok(Self { row, data_version })
    }
}

/// A school's settings: grading scale, pass mark and attendance thresholds.
#[Object]
impl SchoolConfiguration {
    /// The lowest score on the school's scale.
    async fn score_min(&self) -> f64 {
        self.row.score_min
    }
    /// The highest score on the school's scale.
    async fn score_max(&self) -> f64 {
        self.row.score_max
    }
    /// The pass mark on the 0–100 scale (default 55).
    async fn pass_mark(&self) -> f64 {
        self.row.pass_mark
    }
    /// The absence rate, in percent, from which a student is chronically absent (default 10).
    async fn chronic_absence_pct(&self) -> f64 {
        self.row.chronic_absence_pct
    }
    /// The recorded days a student needs before chronic absence is judged (default 20).
    async fn chronic_absence_min_days(&self) -> i32 {
        self.row.chronic_absence_min_days
    }
    /// The subscription tier: FREE, STANDARD or PREMIUM.
    async fn subscription_tier(&self) -> &str {
        &self.row.subscription_tier
    }
    /// The school's time zone.
    async fn timezone(&self) -> &str {
        &self.row.timezone
    }
    /// A number that grows with every change to the school's data: clients (and the server's
    /// own caches) can keep derived figures until it moves.
    async fn data_version(&self) -> i64 {
        self.data_version
    }
    /// The ABC early-warning thresholds.
    async fn risk_thresholds(&self) -> crate::graphql::configuration::RiskThresholds {
        let thresholds: crate::insights::analytics::RiskThresholds =
            serde_json::from_value(self.row.risk_thresholds.clone()).unwrap_or_default();
        thresholds.into()
    }
}

/// A user's role in one school.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The membership row.
    pub row: membership::Model,
    /// Its school.
    pub school: school::Model,
    /// Its user.
    pub user: user::Model,
}

/// A user's role in one school.
#[Object]
impl Membership {
    /// The school.
    async fn school(&self) -> School {
        School(self.school.clone())
    }
    /// The member.
    async fn user(&self) -> User {
        User(self.user.clone())
    }
    /// The member's role in this school.
    async fn role(&self) -> RoleName {
        self.row.role.into()
    }
    /// When the membership was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

/// An integrator's API token: bound to one school and one role. The secret is shown only when
/// the token is created.
#[derive(Debug, Clone)]
pub struct ApiToken(pub api_token::Model);

/// An integrator's API token: bound to one school and one role. The secret is shown only when
/// the token is created.
#[Object]
impl ApiToken {
    /// The token's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// A name to recognise it by.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The role the token acts with.
    async fn role(&self) -> RoleName {
        self.0.role.into()
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it stops working, if ever.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// When it was last used (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Whether it works now (not revoked, not expired).
    async fn is_active(&self) -> bool {
        self.0.revoked_at.is_none() && self.0.expires_at.is_none_or(|at| at > Utc::now())
    }
}

/// A host name that selects a school when no `X-School-Id` header is sent.
#[derive(Debug, Clone)]
pub struct SchoolDomain(pub school_domain::Model);

/// A host name that selects a school when no `X-School-Id` header is sent.
#[Object]
impl SchoolDomain {
    /// The host name (lower-case, no port).
    async fn host(&self) -> &str {
        &self.0.host
    }
    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A session token and who it is for.
#[derive(Debug, SimpleObject)]
pub struct AuthPayload {
    /// The session token: send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
}

/// A newly created API token, with its secret (shown this once).
#[derive(Debug, SimpleObject)]
pub struct CreatedApiToken {
    /// The secret: send it as `Authorization: Bearer <token>`. It is not stored and cannot be
    /// shown again.
    pub token: String,
    /// The token's record.
    pub api_token: ApiToken,
}

/// The total number of items of a connection.
#[derive(Debug, SimpleObject)]
pub struct TotalCount {
    /// How many items there are in all pages.
    pub total_count: u64,
}

/// A cursor made of a record's id (ids are time-ordered).
#[derive(Debug, Clone, Copy)]
pub struct IdCursor(pub Uuid);

impl CursorType for IdCursor {
    type Error = uuid::Error;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        Uuid::parse_str(s).map(IdCursor)
    }

    fn encode_cursor(&self) -> String {
        self.0.to_string()
    }
}
