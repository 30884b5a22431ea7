//! The `invitations` table: pending, accepted and declined invitations into a school.

use chrono::Utc;
use entity::{enums::Role, ids::*, invitation};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};

/// Invites `user` into `school` as `role` (a pending invitation replaces an earlier one of the
/// same school and person). Returns the invitation.
pub async fn invite(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
    role: Role,
    invited_by: Option<UserId>,
    expires_at: chrono::DateTime<Utc>,
    code_hash: String,
) -> Result<invitation::Model, DbErr> {
    let now = Utc::now();
    let existing = invitation::Entity::find()
        .filter(invitation::Column::SchoolId.eq(school))
        .filter(invitation::Column::UserId.eq(user))
        .one(db)
        .await?;
    let row = match existing {
        Some(row) => {
            let mut row: invitation::ActiveModel = row.into();
            row.role = Set(role);
            row.status = Set(INVITATION_PENDING.to_owned());
            row.invited_by = Set(invited_by);
            row.expires_at = Set(expires_at);
            row.created_at = Set(now);
            row.code_hash = Set(code_hash);
            row.update(db).await?
        }
        None => {
            invitation::ActiveModel {
                id: Set(InvitationId::generate()),
                created_at: Set(now),
                school_id: Set(school),
                user_id: Set(user),
                invited_by: Set(invited_by),
                role: Set(role),
                status: Set(INVITATION_PENDING.to_owned()),
                expires_at: Set(expires_at),
                code_hash: Set(code_hash),
            }
            .insert(db)
            .await?
        }
    };
    Ok(row)
}

/// A pending invitation.
pub const INVITATION_PENDING: &str = "PENDING";

/// The user's pending, unexpired invitations, newest first.
pub async fn invitations_of(
    db: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::UserId.eq(user))
        .filter(invitation::Column::Status.eq(INVITATION_PENDING))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(invitation::Column::CreatedAt)
        .all(db)
        .await
}

/// The user's pending, unexpired invitation `id` (another person's is `None`).
pub async fn pending_invitation(
    db: &impl ConnectionTrait,
    user: UserId,
    id: InvitationId,
) -> Result<Option<invitation::Model>, DbErr> {
    Ok(invitations_of(db, user)
        .await?
        .into_iter()
        .find(|i| i.id == id))
}

/// Sets an invitation's status.
pub async fn set_invitation_status(
    db: &impl ConnectionTrait,
    row: invitation::Model,
    status: &str,
) -> Result<invitation::Model, DbErr> {
    let mut row: invitation::ActiveModel = row.into();
    row.status = Set(status.to_owned());
    row.update(db).await
}

/// The pending, unexpired invitation whose code hashes to `code_hash`.
pub async fn invitation_by_code(
    db: &impl ConnectionTrait,
    code_hash: &str,
) -> Result<Option<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::CodeHash.eq(code_hash))
        .filter(invitation::Column::Status.eq(INVITATION_PENDING))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await
}

/// The mark on the password hash of an account made by an invitation and not yet claimed by
/// its person: no password verifies against it.
pub const UNCLAIMED: &str = "unclaimed:";

/// The school's invitation of the user, whatever its status.
pub async fn invitation_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
) -> Result<Option<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::SchoolId.eq(school))
        .filter(invitation::Column::UserId.eq(user))
        .one(db)
        .await
}
