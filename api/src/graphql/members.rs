//! A school's people and integrators: members, `createUser`, roles, API tokens.

use async_graphql::{Context, InputObject, Object};
use chrono::{Duration, Utc};
use entity::{api_token, ids::*, invitation, school};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;
use uuid::Uuid;

use super::{
    context::{Require, actor, require, state, superadmin},
    types::{ApiToken, CreatedApiToken, Membership, RoleName},
};
use crate::{
    auth::{
        Permission, hash_api_token, hash_password, new_api_token_secret, random_secret,
        validate_new_password,
    },
    error::{ApiError, ApiResult, FieldError},
    platform,
    services::audit,
    tenant::{Actor, TenantContext},
};

/// How long an invitation waits for an answer.
pub const INVITATION_DAYS: i64 = 14;

/// A person to invite into the active school.
#[derive(Debug, InputObject)]
pub struct CreateUserInput {
    /// Their email. A person who already has an account (in any school) is invited, never
    /// duplicated, and keeps their password and name.
    pub email: String,
    /// Their full name (used only when the email is new to the service).
    pub full_name: String,
    /// Their role in the active school.
    pub role: RoleName,
}

/// A new API token for the active school.
#[derive(Debug, InputObject)]
pub struct CreateApiTokenInput {
    /// A name to recognise it by.
    pub name: String,
    /// The role it acts with.
    pub role: RoleName,
    /// Days until it expires (1–730); never when omitted.
    pub expires_in_days: Option<i32>,
}

/// An invitation of a person into a school.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The invitation.
    pub row: invitation::Model,
    /// The email it was sent to.
    pub email: String,
    /// The inviting school.
    pub school: school::Model,
    /// The code that accepts it: only in the answer of the `createUser` that made it.
    pub code: Option<String>,
}

/// An invitation of a person into a school.
#[Object]
impl Invitation {
    /// The invitation's id.
    async fn id(&self) -> Uuid {
        self.row.id.into_uuid()
    }
    /// The email invited.
    async fn email(&self) -> &str {
        &self.email
    }
    /// The role the person would have.
    async fn role(&self) -> RoleName {
        self.row.role.into()
    }
    /// `PENDING`, `ACCEPTED` or `DECLINED`.
    async fn status(&self) -> &str {
        &self.row.status
    }
    /// When a pending invitation lapses.
    async fn expires_at(&self) -> chrono::DateTime<Utc> {
        self.row.expires_at
    }
    /// The inviting school's name.
    async fn school_name(&self) -> &str {
        &self.school.name
    }
    /// The inviting school's slug.
    async fn school_slug(&self) -> &str {
        &self.school.slug
    }
    /// The code that accepts the invitation (`acceptInvitation(code)`): shown once, to the
    /// inviting school, which hands it to the person; null everywhere else.
    async fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// Membership and token queries.
#[derive(Debug, Default)]
pub struct MembersQuery;

#[Object]
impl MembersQuery {
    /// The active school's members.
    #[graphql(
        guard = "Require(Permission::UsersManage)",
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<Membership>> {
        let tenant = require(ctx, Permission::UsersManage).await?;
        let rows = platform::members_of(&state(ctx)?.db, tenant.school_id()).await?;
        Ok(rows
            .into_iter()
            .map(|(row, user)| Membership {
                row,
                user,
                school: tenant.school.clone(),
            })
            .collect())
    }

    /// The active school's API tokens, newest first (without their secrets).
    #[graphql(
        guard = "Require(Permission::UsersManage)",
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn api_tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiToken>> {
        let tenant = require(ctx, Permission::UsersManage).await?;
        Ok(platform::api_tokens_of(&state(ctx)?.db, tenant.school_id())
            .await?
            .into_iter()
            .map(ApiToken)
            .collect())
    }
}

async fn audit_in(
    tx: &entity::writer::WriteTx,
    tenant: &TenantContext,
    entry: audit::Entry<'_>,
) -> ApiResult<()> {
    // In the change's own transaction: the change and its audit entry commit together.
    audit::write_in(tx, tenant.school_id(), Some(&tenant.actor), entry).await?;
    Ok(())
}

fn user_actor(tenant: &TenantContext) -> ApiResult<()> {
    match tenant.actor {
        Actor::User(_) => Ok(()),
        Actor::ApiToken(_) => Err(ApiError::Forbidden(
            "API tokens cannot manage users or tokens".to_owned(),
        )),
    }
}

/// Membership and token mutations.
#[derive(Debug, Default)]
pub struct MembersMutation;

#[Object]
impl MembersMutation {
    /// Invites a person into the active school. Whether the email belongs to someone who
    /// already has an account (in any school) or not, the answer is the same in shape, content
    /// and time: a pending invitation with its `code`, shown only here. Nothing about a user of
    /// another school is told or changed, and no school sets anyone's password. Hand the code
    /// to the person: they accept with `acceptInvitation(code)` — signed in if they have an
    /// account, or choosing their password if the email is new to the service.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who to invite, and their role.")] input: CreateUserInput,
    ) -> ApiResult<Invitation> {
        let tenant = require(ctx, Permission::UsersManage).await?;
        user_actor(tenant)?;
        let email = platform::normalize_email(&input.email);
        let mut errors = Vec::new();
        if !(email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.')))
        {
            errors.push(FieldError::new("input.email", "is not an email address"));
        }
        if input.full_name.trim().is_empty() {
            errors.push(FieldError::new("input.fullName", "must not be empty"));
        }
        if !errors.is_empty() {
            return Err(ApiError::bad_fields(errors));
        }
        // The same work whoever the email belongs to: a hash of a secret nobody knows (the
        // locked password of an account the invitation makes, discarded otherwise).
        let secret = random_secret();
        let locked = tokio::task::spawn_blocking(move || hash_password(&secret))
            .await
            .map_err(ApiError::internal)??;
        let code = random_secret();
        let state = state(ctx)?;
        let tx = entity::writer::begin_write(&state.db).await?;
        let user = match platform::user_by_email(&*tx, &email).await? {
            Some(user) => user,
            None => {
                let locked = format!("{}{locked}", platform::UNCLAIMED);
                platform::create_user(&*tx, &email, &input.full_name, locked).await?
            }
        };
        if platform::membership(&*tx, tenant.school_id(), user.id)
            .await?
            .is_some()
        {
            return Err(ApiError::Conflict {
                field: "input.email".into(),
                message: "this person is already a member of the school".into(),
            });
        }
        // A person who declined is not asked again by the same school for a while.
        if let Some(declined) = platform::invitation_of(&*tx, tenant.school_id(), user.id)
            .await?
            .filter(|i| i.status == "DECLINED")
        {
            let again = declined.created_at + Duration::days(INVITATION_DAYS);
            if again > Utc::now() {
                return Err(ApiError::Conflict {
                    field: "input.email".into(),
                    message: format!(
                        "this person declined this school's invitation; invite again after {}",
                        again.date_naive()
                    ),
                });
            }
        }
        let row = platform::invite(
            &*tx,
            tenant.school_id(),
            user.id,
            input.role.into(),
            tenant.actor.user().map(|u| u.id),
            Utc::now() + Duration::days(INVITATION_DAYS),
            hash_api_token(&code),
        )
        .await?;
        audit_in(
            &tx,
            tenant,
            audit::Entry::new("membership.invite")
                .on("invitation", row.id)
                .details(json!({ "role": format!("{:?}", input.role) })),
        )
        .await?;
        tx.commit().await?;
        Ok(Invitation {
            row,
            email,
            school: tenant.school.clone(),
            code: Some(code),
        })
    }

    /// Accepts an invitation with its code: the person becomes a member of the school with
    /// the invitation's role. Signed in, the invitation must be the signed-in user's. Without
    /// a session, the email must be new to the service: `password` (at least 10 characters)
    /// becomes the new account's password; an email that already has an account must sign in
    /// first.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation's code, from the school.")] code: String,
        #[graphql(desc = "The new account's password (only when accepting without a session).")]
        password: Option<String>,
    ) -> ApiResult<Membership> {
        let signed_in = match &super::context::identity(ctx)?.actor {
            Ok(Some(crate::tenant::Actor::User(user))) => Some(user.clone()),
            Ok(Some(crate::tenant::Actor::ApiToken(_))) => {
                return Err(ApiError::Forbidden("API tokens have no invitations".into()));
            }
            Ok(None) => None,
            Err(e) => return Err(e.clone()),
        };
        let new_password = match (&signed_in, password) {
            (None, Some(password)) => {
                validate_new_password("password", &password)?;
                Some(
                    tokio::task::spawn_blocking(move || hash_password(&password))
                        .await
                        .map_err(ApiError::internal)??,
                )
            }
            (None, None) => {
                return Err(ApiError::bad_field(
                    "password",
                    "choose a password, or sign in first if you already have an account",
                ));
            }
            (Some(_), _) => None,
        };
        let state = state(ctx)?;
        let tx = entity::writer::begin_write(&state.db).await?;
        let invitation = platform::invitation_by_code(&*tx, &hash_api_token(code.trim()))
            .await?
            .ok_or(ApiError::NotFound("invitation"))?;
        let invited = platform::user(&*tx, invitation.user_id)
            .await?
            .ok_or(ApiError::NotFound("invitation"))?;
        let user = match (signed_in, new_password) {
            (Some(user), _) if user.id == invited.id => user,
            (Some(_), _) => return Err(ApiError::NotFound("invitation")),
            (None, Some(hash)) if invited.password_hash.starts_with(platform::UNCLAIMED) => {
                platform::set_password(&*tx, invited.id, hash).await?;
                platform::user(&*tx, invited.id)
                    .await?
                    .ok_or(ApiError::NotFound("invitation"))?
            }
            (None, _) => {
                return Err(ApiError::Unauthenticated(
                    "this email already has an account: sign in, then accept the invitation".into(),
                ));
            }
        };
        let school = platform::school(&*tx, invitation.school_id)
            .await?
            .ok_or(ApiError::NotFound("invitation"))?;
        let row = match platform::membership(&*tx, school.id, user.id).await? {
            Some(row) => row,
            None => platform::add_membership(&*tx, school.id, user.id, invitation.role).await?,
        };
        let invitation = platform::set_invitation_status(&*tx, invitation, "ACCEPTED").await?;
        audit::write_in(
            &tx,
            school.id,
            Some(&crate::tenant::Actor::User(user.clone())),
            audit::Entry::new("membership.accept").on("invitation", invitation.id),
        )
        .await?;
        tx.commit().await?;
        Ok(Membership { row, user, school })
    }

    /// Declines one of the signed-in user's invitations.
    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation's id (from `me { invitations }`).")] id: Uuid,
    ) -> ApiResult<bool> {
        let Some(user) = actor(ctx)?.user().cloned() else {
            return Err(ApiError::Forbidden("API tokens have no invitations".into()));
        };
        let state = state(ctx)?;
        let tx = entity::writer::begin_write(&state.db).await?;
        let invitation = platform::pending_invitation(&*tx, user.id, InvitationId(id))
            .await?
            .ok_or(ApiError::NotFound("invitation"))?;
        let school = invitation.school_id;
        let invitation = platform::set_invitation_status(&*tx, invitation, "DECLINED").await?;
        audit::write_in(
            &tx,
            school,
            Some(&crate::tenant::Actor::User(user)),
            audit::Entry::new("membership.decline").on("invitation", invitation.id),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Changes a member's role in the active school. The last admin cannot be demoted.
    async fn update_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's user id.")] user_id: Uuid,
        #[graphql(desc = "The new role.")] role: RoleName,
    ) -> ApiResult<Membership> {
        let tenant = require(ctx, Permission::UsersManage).await?;
        user_actor(tenant)?;
        let state = state(ctx)?;
        let user_id = UserId(user_id);
        let tx = entity::writer::begin_write(&state.db).await?;
        let current = platform::membership(&*tx, tenant.school_id(), user_id)
            .await?
            .ok_or(ApiError::NotFound("membership"))?;
        if current.role == entity::enums::Role::Admin
            && role != RoleName::Admin
            && platform::admin_count(&*tx, tenant.school_id()).await? <= 1
        {
            return Err(ApiError::Conflict {
                field: "role".into(),
                message: "the school's last admin cannot be demoted".into(),
            });
        }
        let row = platform::set_membership_role(&*tx, tenant.school_id(), user_id, role.into())
            .await?
            .ok_or(ApiError::NotFound("membership"))?;
        let user = platform::user(&*tx, user_id)
            .await?
            .ok_or(ApiError::NotFound("membership"))?;
        audit_in(
            &tx,
            tenant,
            audit::Entry::new("membership.update")
                .on("user", user_id)
                .details(json!({ "role": format!("{role:?}") })),
        )
        .await?;
        tx.commit().await?;
        Ok(Membership {
            row,
            user,
            school: tenant.school.clone(),
        })
    }

    /// Removes a member from the active school; their requests to it stop working at once. The
    /// last admin cannot be removed.
    async fn remove_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's user id.")] user_id: Uuid,
    ) -> ApiResult<bool> {
        let tenant = require(ctx, Permission::UsersManage).await?;
        user_actor(tenant)?;
        let state = state(ctx)?;
        let user_id = UserId(user_id);
        let tx = entity::writer::begin_write(&state.db).await?;
        let current = platform::membership(&*tx, tenant.school_id(), user_id)
            .await?
            .ok_or(ApiError::NotFound("membership"))?;
        if current.role == entity::enums::Role::Admin
            && platform::admin_count(&*tx, tenant.school_id()).await? <= 1
        {
            return Err(ApiError::Conflict {
                field: "userId".into(),
                message: "the school's last admin cannot be removed".into(),
            });
        }
        if !platform::remove_membership(&*tx, tenant.school_id(), user_id).await? {
            return Err(ApiError::NotFound("membership"));
        }
        audit_in(
            &tx,
            tenant,
            audit::Entry::new("membership.remove").on("user", user_id),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Activates or deactivates a user everywhere (superadmins only). A deactivated user's
    /// tokens stop working on their next request.
    async fn set_user_active(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] user_id: Uuid,
        #[graphql(desc = "True to activate, false to deactivate.")] active: bool,
    ) -> ApiResult<bool> {
        superadmin(ctx)?;
        let state = state(ctx)?;
        let user_id = UserId(user_id);
        platform::user(&state.db, user_id)
            .await?
            .ok_or(ApiError::NotFound("user"))?;
        let tx = entity::writer::begin_write(&state.db).await?;
        platform::set_user_active(&*tx, user_id, active).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Creates an API token for the active school. The secret is in the answer and nowhere else.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token's name, role and lifetime.")] input: CreateApiTokenInput,
    ) -> ApiResult<CreatedApiToken> {
        let tenant = require(ctx, Permission::UsersManage).await?;
        user_actor(tenant)?;
        let name = input.name.trim().to_owned();
        let mut errors = Vec::new();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("input.name", "must be 1 to 100 characters"));
        }
        if input
            .expires_in_days
            .is_some_and(|d| !(1..=730).contains(&d))
        {
            errors.push(FieldError::new(
                "input.expiresInDays",
                "must be between 1 and 730",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::bad_fields(errors));
        }
        let secret = new_api_token_secret();
        let now = Utc::now();
        let tx = entity::writer::begin_write(&state(ctx)?.db).await?;
        let row = api_token::ActiveModel {
            id: Set(ApiTokenId::generate()),
            school_id: Set(tenant.school_id()),
            name: Set(name),
            role: Set(input.role.into()),
            token_hash: Set(hash_api_token(&secret)),
            created_by: Set(tenant.actor.user().map(|u| u.id)),
            expires_at: Set(input
                .expires_in_days
                .map(|d| now + Duration::days(d.into()))),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now),
        }
        .insert(&*tx)
        .await?;
        audit_in(
            &tx,
            tenant,
            audit::Entry::new("api_token.create").on("api_token", row.id),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedApiToken {
            token: secret,
            api_token: ApiToken(row),
        })
    }

    /// Revokes an API token of the active school; it stops working at once.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token's id.")] id: Uuid,
    ) -> ApiResult<ApiToken> {
        let tenant = require(ctx, Permission::UsersManage).await?;
        user_actor(tenant)?;
        let state = state(ctx)?;
        let tx = entity::writer::begin_write(&state.db).await?;
        let token = platform::api_token(&*tx, tenant.school_id(), ApiTokenId(id))
            .await?
            .ok_or(ApiError::NotFound("API token"))?;
        let mut active: api_token::ActiveModel = token.into();
        active.revoked_at = Set(Some(Utc::now()));
        let row = active.update(&*tx).await?;
        audit_in(
            &tx,
            tenant,
            audit::Entry::new("api_token.revoke").on("api_token", row.id),
        )
        .await?;
        tx.commit().await?;
        Ok(ApiToken(row))
    }
}
