//! The `schools` table.

use entity::{ids::*, school, school_domain};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

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

/// The id of every school.
pub async fn school_ids(db: &impl ConnectionTrait) -> Result<Vec<SchoolId>, DbErr> {
    Ok(school::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}
