//! The `users` table: accounts, their passwords and their token versions.

use chrono::Utc;
use entity::{ids::*, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter,
};

/// A user by id.
pub async fn user(db: &impl ConnectionTrait, id: UserId) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// A user by email (emails are stored lower-case).
pub async fn user_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(normalize_email(email)))
        .one(db)
        .await
}

/// How many users exist (bootstrap runs only on zero).
pub async fn user_count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    user::Entity::find().count(db).await
}

/// Emails compare case-insensitively.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Bumps the user's token version: every token issued before stops working.
pub async fn bump_token_version(db: &impl ConnectionTrait, user: UserId) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::TokenVersion, next_token_version())
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// `token_version + 1`: every token issued before stops working.
fn next_token_version() -> sea_orm::sea_query::Expr {
    sea_orm::sea_query::ExprTrait::add(sea_orm::sea_query::Expr::col(user::Column::TokenVersion), 1)
}

/// Replaces the user's password hash and bumps their token version (other sessions end).
pub async fn set_password(
    db: &impl ConnectionTrait,
    user: UserId,
    hash: String,
) -> Result<(), DbErr> {
    // One statement, so the new password and the end of old sessions land together.
    user::Entity::update_many()
        .col_expr(
            user::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(hash),
        )
        .col_expr(user::Column::TokenVersion, next_token_version())
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// Creates a user.
pub async fn create_user(
    db: &impl ConnectionTrait,
    email: &str,
    full_name: &str,
    password_hash: String,
) -> Result<user::Model, DbErr> {
    let now = Utc::now();
    user::ActiveModel {
        id: Set(UserId::generate()),
        email: Set(normalize_email(email)),
        password_hash: Set(password_hash),
        full_name: Set(full_name.trim().to_owned()),
        is_active: Set(true),
        is_superadmin: Set(false),
        token_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Activates or deactivates a user.
pub async fn set_user_active(
    db: &impl ConnectionTrait,
    user: UserId,
    active: bool,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::IsActive,
            sea_orm::sea_query::Expr::value(active),
        )
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}
