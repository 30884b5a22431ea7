//! A discipline incident.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A discipline incident.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: IncidentId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub student_id: StudentId,
    pub occurred_on: Date,
    pub category: String,
    pub severity: String,
    pub is_negative: bool,
    pub is_suspension: bool,
    pub description: Option<String>,
    pub action_taken: Option<String>,
    pub reported_by_teacher_id: Option<TeacherId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
