//! Grades and the assessments they belong to.

use chrono::{NaiveDate, Utc};
use entity::assessment;
use entity::class;
use entity::enums;
use entity::grade;
use entity::ids::AssessmentId;
use entity::ids::ClassId;
use entity::ids::GradeId;
use entity::ids::StudentId;
use entity::ids::SubjectId;
use entity::ids::TermId;
use entity::student;
use entity::subject;
use entity::tenant::TenantTx;
use entity::term;
use sea_orm::ActiveValue::Set;

use super::{audit, checks::Fields};
use crate::error::ApiResult;
use crate::rules::MaxScore;
use crate::rules::clean_text;
use crate::tenant::Actor;

/// What grades and assessments both refer to.
#[derive(Debug, Clone, Copy)]
pub struct ScoredWork {
    /// The subject.
    pub subject: SubjectId,
    /// The term.
    pub term: TermId,
    /// The class it was given in.
    pub class: Option<ClassId>,
    /// The most a score could be (100 when not given).
    pub max_score: Option<f64>,
}

/// A grade, as given.
#[derive(Debug)]
pub struct NewGrade {
    /// The student.
    pub student: StudentId,
    /// Subject, term, class and maximum score.
    pub work: ScoredWork,
    /// The score.
    pub score: f64,
    /// The kind of work.
    pub category: Option<enums::GradeCategory>,
    /// When it was graded (inside the term).
    pub graded_on: NaiveDate,
    /// Whether it is a report-card grade.
    pub is_final: bool,
    /// A comment.
    pub comment: Option<String>,
}

/// An assessment, as given.
#[derive(Debug)]
pub struct NewAssessment {
    /// Subject, term, class and maximum score.
    pub work: ScoredWork,
    /// Its title.
    pub title: String,
    /// The kind of work.
    pub category: enums::GradeCategory,
    /// When it takes place (inside the term).
    pub assessment_date: Option<NaiveDate>,
}

/// Checks that the subject, term and class are records of this school and that the maximum
/// score is above 0; returns the maximum and the term.
async fn check_work(
    tx: &TenantTx,
    fields: &mut Fields,
    work: ScoredWork,
) -> ApiResult<(Option<MaxScore>, Option<term::Model>)> {
    fields
        .must_exist::<subject::Entity>(tx, "input.subjectId", Some(work.subject))
        .await?;
    fields
        .must_exist::<class::Entity>(tx, "input.classId", work.class)
        .await?;
    let term = fields
        .must_exist::<term::Entity>(tx, "input.termId", Some(work.term))
        .await?;
    let max = fields.take("input.maxScore", MaxScore::new(work.max_score));
    Ok((max, term))
}

/// Records a grade.
pub async fn record(tx: &TenantTx, actor: &Actor, new: NewGrade) -> ApiResult<grade::Model> {
    let mut fields = Fields::new();
    fields
        .must_exist::<student::Entity>(tx, "input.studentId", Some(new.student))
        .await?;
    let (max, term) = check_work(tx, &mut fields, new.work).await?;
    if let Some(max) = max {
        fields.take("input.score", max.score(new.score));
    }
    fields.date_in_term("input.gradedOn", term.as_ref(), Some(new.graded_on));
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(grade::ActiveModel {
            id: Set(GradeId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(enums::RecordStatus::Active),
            student_id: Set(new.student),
            subject_id: Set(new.work.subject),
            term_id: Set(new.work.term),
            class_id: Set(new.work.class),
            category: Set(new.category),
            score: Set(new.score),
            max_score: Set(max.map_or(100.0, MaxScore::get)),
            graded_on: Set(new.graded_on),
            is_final: Set(new.is_final),
            comment: Set(new.comment.as_deref().and_then(clean_text)),
            ..Default::default()
        })
        .await?;
    let entry = audit::Entry::new("grade.create")
        .on("student", row.student_id)
        .details(serde_json::json!({ "grade": row.id }));
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Adds an assessment.
pub async fn create_assessment(
    tx: &TenantTx,
    actor: &Actor,
    new: NewAssessment,
) -> ApiResult<assessment::Model> {
    let mut fields = Fields::new();
    let title = fields.name("input.title", &new.title);
    let (max, term) = check_work(tx, &mut fields, new.work).await?;
    fields.date_in_term("input.assessmentDate", term.as_ref(), new.assessment_date);
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(assessment::ActiveModel {
            id: Set(AssessmentId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(enums::RecordStatus::Active),
            subject_id: Set(new.work.subject),
            term_id: Set(new.work.term),
            class_id: Set(new.work.class),
            title: Set(title),
            category: Set(new.category),
            max_score: Set(max.map_or(100.0, MaxScore::get)),
            assessment_date: Set(new.assessment_date),
            ..Default::default()
        })
        .await?;
    let entry = audit::Entry::new("assessment.create").on("assessment", row.id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}
