//! A guardian (parent) of students.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A guardian (parent) of students.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guardians")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: GuardianId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub external_id: Option<String>,
    pub status: RecordStatus,
    pub first_name: String,
    pub last_name: String,
    pub guardian_tz: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
