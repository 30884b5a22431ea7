//! The `memberships` table: who belongs to which school, in which role.

use chrono::Utc;
use entity::{enums::Role, ids::*, membership, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};

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
