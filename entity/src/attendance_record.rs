//! One student's attendance on one date and period (0 = the whole day).

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// One student's attendance on one date and period (0 = the whole day).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attendance_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AttendanceRecordId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub student_id: StudentId,
    pub class_id: Option<ClassId>,
    pub date: Date,
    pub period: i32,
    pub status: AttendanceStatus,
    pub note: Option<String>,
    pub recorded_by_teacher_id: Option<TeacherId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
