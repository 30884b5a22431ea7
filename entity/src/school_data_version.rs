//! A number per school that grows with every committed change to the school's data. Caches of
//! derived figures (analytics) are keyed by it. It is a platform table, like `memberships`: it is
//! read while a request's school is resolved, before any tenant context exists, so the cached
//! answer of a request costs no extra round trip.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A school's data version (no row yet reads as 0).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "school_data_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    pub data_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
