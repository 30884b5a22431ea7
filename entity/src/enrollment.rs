//! A student's enrollment in a class.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A student's enrollment in a class.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EnrollmentId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub external_id: Option<String>,
    pub status: RecordStatus,
    pub class_id: ClassId,
    pub student_id: StudentId,
    pub begin_date: Option<Date>,
    pub end_date: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
