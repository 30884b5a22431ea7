//! A student's grade. Scores are on the school's scale; `is_final` marks report-card grades.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A student's grade. Scores are on the school's scale; `is_final` marks report-card grades.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "grades")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: GradeId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub external_id: Option<String>,
    pub status: RecordStatus,
    pub student_id: StudentId,
    pub subject_id: SubjectId,
    pub term_id: TermId,
    pub assessment_id: Option<AssessmentId>,
    pub class_id: Option<ClassId>,
    pub teacher_id: Option<TeacherId>,
    pub category: Option<GradeCategory>,
    pub score: f64,
    pub max_score: f64,
    pub graded_on: Date,
    pub is_final: bool,
    pub comment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
