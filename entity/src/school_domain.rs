//! A host name that selects a school.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A host name that selects a school.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "school_domains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SchoolDomainId,
    pub created_at: DateTimeUtc,
    pub school_id: SchoolId,
    pub host: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
