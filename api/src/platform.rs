//! Access to the platform tables (schools, users, memberships, school domains, API tokens).
//! These tables are not owned by one school: they are what a request's school is resolved
//! from, so they are read before any tenant context exists. School-owned tables are never
//! touched here; they go through `entity::tenant::TenantTx`.
#![allow(clippy::disallowed_methods)] // Platform tables only: see the module comment.

use chrono::Utc;
use entity::{api_token, enums::Role, ids::*, membership, school, school_domain, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
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

/// A school by id.
pub async fn school(
    db: &impl ConnectionTrait,
    id: SchoolId,
) -> Result<Option<school::Model>, DbErr> {
    school::Entity::find_by_id(id).one(db).await
}

/// A school by slug.
pub async fn school_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<school::Model>, DbErr> {
    school::Entity::find()
        .filter(school::Column::Slug.eq(slug.trim().to_lowercase()))
        .one(db)
        .await
}

/// The school a host name is mapped to.
pub async fn school_by_host(
    db: &impl ConnectionTrait,
    host: &str,
) -> Result<Option<school::Model>, DbErr> {
    let Some(domain) = school_domain::Entity::find()
        .filter(school_domain::Column::Host.eq(host))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    school(db, domain.school_id).await
}

/// Schools by id, in id order.
pub async fn schools_by_ids(
    db: &impl ConnectionTrait,
    ids: Vec<SchoolId>,
) -> Result<Vec<school::Model>, DbErr> {
    school::Entity::find()
        .filter(school::Column::Id.is_in(ids))
        .order_by_asc(school::Column::Id)
        .all(db)
        .await
}

/// A page of schools after `after` (by id), optionally limited to `only`.
pub async fn schools_page(
    db: &impl ConnectionTrait,
    only: Option<Vec<SchoolId>>,
    after: Option<SchoolId>,
    limit: u64,
) -> Result<(Vec<school::Model>, u64), DbErr> {
    let mut base = school::Entity::find();
    if let Some(ids) = only {
        base = base.filter(school::Column::Id.is_in(ids));
    }
    let total = base.clone().count(db).await?;
    let mut page = base.order_by_asc(school::Column::Id);
    if let Some(after) = after {
        page = page.filter(school::Column::Id.gt(after));
    }
    Ok((page.limit(limit).all(db).await?, total))
}

/// The user's membership in the school.
pub async fn membership(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
) -> Result<Option<membership::Model>, DbErr> {
    membership::Entity::find_by_id((school, user)).one(db).await
}

/// Every membership of the user.
pub async fn memberships_of(
    db: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<membership::Model>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .order_by_asc(membership::Column::SchoolId)
        .all(db)
        .await
}

/// Every membership in the school, with its user.
pub async fn members_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
) -> Result<Vec<(membership::Model, user::Model)>, DbErr> {
    let rows = membership::Entity::find()
        .filter(membership::Column::SchoolId.eq(school))
        .order_by_asc(membership::Column::UserId)
        .all(db)
        .await?;
    let ids: Vec<UserId> = rows.iter().map(|m| m.user_id).collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            users
                .iter()
                .find(|u| u.id == m.user_id)
                .cloned()
                .map(|u| (m, u))
        })
        .collect())
}

/// Adds a membership.
pub async fn add_membership(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
    role: Role,
) -> Result<membership::Model, DbErr> {
    membership::ActiveModel {
        school_id: Set(school),
        user_id: Set(user),
        role: Set(role),
        teacher_id: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// Changes a member's role; `None` when the user is not a member of the school.
pub async fn set_membership_role(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
    role: Role,
) -> Result<Option<membership::Model>, DbErr> {
    let result = membership::Entity::update_many()
        .col_expr(
            membership::Column::Role,
            sea_orm::sea_query::Expr::value(role),
        )
        .filter(membership::Column::SchoolId.eq(school))
        .filter(membership::Column::UserId.eq(user))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    membership(db, school, user).await
}

/// Removes a membership; false when there was none.
pub async fn remove_membership(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
) -> Result<bool, DbErr> {
    let result = membership::Entity::delete_many()
        .filter(membership::Column::SchoolId.eq(school))
        .filter(membership::Column::UserId.eq(user))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// How many admins the school has.
pub async fn admin_count(db: &impl ConnectionTrait, school: SchoolId) -> Result<u64, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::SchoolId.eq(school))
        .filter(membership::Column::Role.eq(Role::Admin))
        .count(db)
        .await
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

/// An API token by the hash of its secret.
pub async fn api_token_by_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash))
        .one(db)
        .await
}

/// The school's API tokens, newest first.
pub async fn api_tokens_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::SchoolId.eq(school))
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await
}

/// The school's API token with `id` (`None` for a missing id and for another school's token).
pub async fn api_token(
    db: &impl ConnectionTrait,
    school: SchoolId,
    id: ApiTokenId,
) -> Result<Option<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::SchoolId.eq(school))
        .filter(api_token::Column::Id.eq(id))
        .one(db)
        .await
}

/// Records that a token was used (at most once a minute per token, to spare the database).
pub async fn touch_api_token(
    db: &DatabaseConnection,
    token: &api_token::Model,
) -> Result<(), DbErr> {
    let now = Utc::now();
    if token
        .last_used_at
        .is_some_and(|t| now.signed_duration_since(t).num_seconds() < 60)
    {
        return Ok(());
    }
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(api_token::Column::Id.eq(token.id))
        .exec(db)
        .await?;
    Ok(())
}

/// The school's domains.
pub async fn domains_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
) -> Result<Vec<school_domain::Model>, DbErr> {
    school_domain::Entity::find()
        .filter(school_domain::Column::SchoolId.eq(school))
        .order_by_asc(school_domain::Column::Host)
        .all(db)
        .await
}

/// Removes the school's domain `host`; false when the school has no such domain.
pub async fn remove_domain(
    db: &impl ConnectionTrait,
    school: SchoolId,
    host: &str,
) -> Result<bool, DbErr> {
    let result = school_domain::Entity::delete_many()
        .filter(school_domain::Column::SchoolId.eq(school))
        .filter(school_domain::Column::Host.eq(host))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
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

/// Clears the teacher links of the school's memberships (before its teachers are deleted).
pub async fn unlink_teachers(db: &impl ConnectionTrait, school: SchoolId) -> Result<(), DbErr> {
    membership::Entity::update_many()
        .col_expr(
            membership::Column::TeacherId,
            sea_orm::sea_query::Expr::value(Option::<uuid::Uuid>::None),
        )
        .filter(membership::Column::SchoolId.eq(school))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks every import still `RUNNING` as `FAILED` with `message`, in every school. Run once at
/// start-up, as the owner, before requests are served: an import is `RUNNING` then only if the
/// server stopped during it, and its transaction was never committed.
pub async fn fail_running_imports(db: &impl ConnectionTrait, message: &str) -> Result<u64, DbErr> {
    use entity::{enums::ImportStatus, import_log};
    use sea_orm::sea_query::Expr;
    let result = import_log::Entity::update_many()
        .col_expr(
            import_log::Column::Status,
            Expr::value(ImportStatus::Failed),
        )
        .col_expr(import_log::Column::Message, Expr::value(message))
        .col_expr(import_log::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(import_log::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(import_log::Column::Status.eq(ImportStatus::Running))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
