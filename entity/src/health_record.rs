//! A health record (reads are audited).

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A health record (reads are audited).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: HealthRecordId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub student_id: StudentId,
    pub kind: String,
    pub title: String,
    pub details: Option<String>,
    pub recorded_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
