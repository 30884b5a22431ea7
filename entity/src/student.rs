//! A student of one school. `student_tz` (Israeli ID) is unique per school, not globally.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A student of one school. `student_tz` (Israeli ID) is unique per school, not globally.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "students")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: StudentId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub external_id: Option<String>,
    pub status: RecordStatus,
    pub student_tz: String,
    pub first_name: String,
    pub last_name: String,
    pub grade_level: Option<i32>,
    pub class_id: Option<ClassId>,
    pub birth_date: Option<Date>,
    pub gender: Option<String>,
    pub email: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
