//! The `api_tokens` table: a school's machine credentials.

use chrono::Utc;
use entity::{api_token, ids::*};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

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
    let tx = entity::writer::begin_write(db).await?;
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(api_token::Column::Id.eq(token.id))
        .exec(&*tx)
        .await?;
    tx.commit().await
}
