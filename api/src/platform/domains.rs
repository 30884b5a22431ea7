//! The `school_domains` table: host names mapped to schools.

use entity::{ids::*, school_domain};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

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
