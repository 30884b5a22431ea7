//! Signing in and knowing who you are: `login`, `me`, `changePassword`, `revokeMySessions`.

use async_graphql::{Context, Object};

use super::{
    context::{actor, identity, state},
    types::{ApiToken, AuthPayload, Membership, RoleName, School, User},
};
use crate::{
    auth::{dummy_hash, hash_password, validate_new_password, verify_password},
    error::{ApiError, ApiResult},
    platform,
    tenant::{Actor, TenantContext},
};

/// Who is asking, and where.
#[derive(Debug)]
pub struct Me {
    actor: Actor,
    tenant: Option<TenantContext>,
    memberships: Vec<Membership>,
    invitations: Vec<super::members::Invitation>,
}

/// Who is asking, and where.
#[Object]
impl Me {
    /// The signed-in user (null for API tokens).
    async fn user(&self) -> Option<User> {
        self.actor.user().cloned().map(User)
    }
    /// The API token in use (null for user sessions).
    async fn api_token(&self) -> Option<ApiToken> {
        match &self.actor {
            Actor::ApiToken(t) => Some(ApiToken(t.clone())),
            Actor::User(_) => None,
        }
    }
    /// Every school the user belongs to, with the role there.
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn memberships(&self) -> &[Membership] {
        &self.memberships
    }
    /// The user's pending invitations into schools (accept or decline them with
    /// `acceptInvitation` / `declineInvitation`).
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn invitations(&self) -> &[super::members::Invitation] {
        &self.invitations
    }
    /// The school this request acts on (null when none could be chosen: see `X-School-Id`).
    async fn active_school(&self) -> Option<School> {
        self.tenant.as_ref().map(|t| School(t.school.clone()))
    }
    /// The role in the active school.
    async fn role(&self) -> Option<RoleName> {
        self.tenant.as_ref().map(|t| t.role.into())
    }
    /// What this request may do in the active school (e.g. `students:read`).
    async fn permissions(&self) -> Vec<&'static str> {
        self.tenant
            .as_ref()
            .map(|t| t.permissions.iter().map(|p| p.as_str()).collect())
            .unwrap_or_default()
    }
}

/// Identity queries.
#[derive(Debug, Default)]
pub struct IdentityQuery;

/// Identity queries.
#[Object]
impl IdentityQuery {
    /// The signed-in user or API token, their schools, the active school and permissions there.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Me> {
        let actor = actor(ctx)?.clone();
        let state = state(ctx)?;
        let tenant = identity(ctx)?.tenant.as_ref().ok().and_then(Clone::clone);
        let memberships = match &actor {
            Actor::User(user) => {
                let rows = platform::memberships_of(&state.db, user.id).await?;
                let schools =
                    platform::schools_by_ids(&state.db, rows.iter().map(|m| m.school_id).collect())
                        .await?;
                rows.into_iter()
                    .filter_map(|row| {
                        let school = schools.iter().find(|s| s.id == row.school_id)?.clone();
                        Some(Membership {
                            row,
                            school,
                            user: user.clone(),
                        })
                    })
                    .collect()
            }
            Actor::ApiToken(_) => Vec::new(),
        };
        let invitations = match &actor {
            Actor::User(user) => {
                let rows = platform::invitations_of(&state.db, user.id).await?;
                let schools =
                    platform::schools_by_ids(&state.db, rows.iter().map(|i| i.school_id).collect())
                        .await?;
                rows.into_iter()
                    .filter_map(|row| {
                        let school = schools.iter().find(|s| s.id == row.school_id)?.clone();
                        Some(super::members::Invitation {
                            row,
                            email: user.email.clone(),
                            school,
                            code: None,
                        })
                    })
                    .collect()
            }
            Actor::ApiToken(_) => Vec::new(),
        };
        Ok(Me {
            actor,
            tenant,
            memberships,
            invitations,
        })
    }
}

/// Identity mutations.
#[derive(Debug, Default)]
pub struct IdentityMutation;

/// Identity mutations.
#[Object]
impl IdentityMutation {
    /// Signs in. A wrong email and a wrong password are answered alike ("invalid email or
    /// password", in the same time). Repeated failures are throttled per email and per client.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sign-in email.")] email: String,
        #[graphql(desc = "The password.")] password: String,
    ) -> ApiResult<AuthPayload> {
        let state = state(ctx)?;
        let client = identity(ctx)?.client.clone();
        if email.len() > 254 {
            return Err(ApiError::Unauthenticated(
                "invalid email or password".to_owned(),
            ));
        }
        // Reserved before the hash is checked: parallel attempts count against each other.
        let attempt = state
            .login_throttle
            .reserve(&email, &client)
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
        let user = platform::user_by_email(&state.db, &email).await?;
        let stored = user
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
            .await
            .map_err(ApiError::internal)?;
        let Some(user) = user.filter(|u| matches && u.is_active) else {
            // The attempt stays counted.
            drop(attempt);
            return Err(ApiError::Unauthenticated(
                "invalid email or password".to_owned(),
            ));
        };
        attempt.succeed();
        let (token, expires_at) = state.jwt.issue(user.id, user.token_version)?;
        tracing::info!(user_id = %user.id, "login");
        Ok(AuthPayload {
            token,
            expires_at,
            user: User(user),
        })
    }

    /// Changes the signed-in user's password. Every other session of the user ends; the answer
    /// carries a new token for this one.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password in use now.")] current_password: String,
        #[graphql(desc = "The new password (at least 10 characters).")] new_password: String,
    ) -> ApiResult<AuthPayload> {
        let state = state(ctx)?;
        let Some(user) = actor(ctx)?.user().cloned() else {
            return Err(ApiError::Forbidden(
                "API tokens have no password".to_owned(),
            ));
        };
        validate_new_password("newPassword", &new_password)?;
        // Guessing the current password through a stolen session is throttled like a login.
        let client = identity(ctx)?.client.clone();
        let attempt = state
            .login_throttle
            .reserve(&user.email, &client)
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
        let stored = user.password_hash.clone();
        let (matches, hash) = tokio::task::spawn_blocking(move || {
            let matches = verify_password(&current_password, &stored);
            (
                matches,
                if matches {
                    Some(hash_password(&new_password))
                } else {
                    None
                },
            )
        })
        .await
        .map_err(ApiError::internal)?;
        let Some(hash) = hash.filter(|_| matches) else {
            drop(attempt);
            return Err(ApiError::bad_field("currentPassword", "does not match"));
        };
        attempt.succeed();
        let tx = entity::writer::begin_write(&state.db).await?;
        platform::set_password(&*tx, user.id, hash?).await?;
        let user = platform::user(&*tx, user.id)
            .await?
            .ok_or(ApiError::Internal)?;
        tx.commit().await?;
        let (token, expires_at) = state.jwt.issue(user.id, user.token_version)?;
        Ok(AuthPayload {
            token,
            expires_at,
            user: User(user),
        })
    }

    /// Ends every session of the signed-in user, this one included.
    async fn revoke_my_sessions(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let Some(user) = actor(ctx)?.user() else {
            return Err(ApiError::Forbidden(
                "API tokens have no sessions: revoke the token instead".to_owned(),
            ));
        };
        let tx = entity::writer::begin_write(&state(ctx)?.db).await?;
        platform::bump_token_version(&*tx, user.id).await?;
        tx.commit().await?;
        Ok(true)
    }
}
