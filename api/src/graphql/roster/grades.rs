//! Grades and assessments: the GraphQL types, filters and inputs.

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{grade, ids::*};
use uuid::Uuid;

use super::*;
use crate::graphql::loaders::one;
use crate::{error::ApiResult, graphql::context::loaders, services};

/// A grade.
#[derive(Debug, Clone)]
pub struct Grade(pub grade::Model);

/// A grade.
#[Object]
impl Grade {
    /// The grade's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The score, on the scale 0–`maxScore`.
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// The most the score could be.
    async fn max_score(&self) -> f64 {
        self.0.max_score
    }
    /// The score on 0–100: `score / maxScore * 100`.
    async fn normalized_score(&self) -> f64 {
        if self.0.max_score > 0.0 {
            self.0.score / self.0.max_score * 100.0
        } else {
            0.0
        }
    }
    /// The kind of work.
    async fn category(&self) -> Option<GradeCategory> {
        self.0.category.map(Into::into)
    }
    /// When it was graded.
    async fn graded_on(&self) -> NaiveDate {
        self.0.graded_on
    }
    /// Whether this is a report-card grade.
    async fn is_final(&self) -> bool {
        self.0.is_final
    }
    /// A comment.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> ApiResult<Option<Student>> {
        one(&loaders(ctx)?.student, Some(self.0.student_id), Student).await
    }
    /// The subject.
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<Subject>> {
        one(&loaders(ctx)?.subject, Some(self.0.subject_id), Subject).await
    }
    /// The assessment this grade is for, if any.
    async fn assessment(&self, ctx: &Context<'_>) -> ApiResult<Option<super::Assessment>> {
        one(
            &loaders(ctx)?.assessment,
            self.0.assessment_id,
            super::Assessment,
        )
        .await
    }
    /// The term.
    async fn term(&self, ctx: &Context<'_>) -> ApiResult<Option<Term>> {
        one(&loaders(ctx)?.term, Some(self.0.term_id), Term).await
    }
}

/// An assessment (an exam, a quiz, …) that grades can belong to.
#[derive(Debug, Clone)]
pub struct Assessment(pub entity::assessment::Model);

/// An assessment (an exam, a quiz, …) that grades can belong to.
#[Object]
impl Assessment {
    /// The assessment's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// Its title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The kind of work.
    async fn category(&self) -> super::GradeCategory {
        self.0.category.into()
    }
    /// The most a score can be.
    async fn max_score(&self) -> f64 {
        self.0.max_score
    }
    /// When it takes place.
    async fn assessment_date(&self) -> Option<NaiveDate> {
        self.0.assessment_date
    }
    /// The subject.
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<super::Subject>> {
        one(
            &loaders(ctx)?.subject,
            Some(self.0.subject_id),
            super::Subject,
        )
        .await
    }
    /// The term.
    async fn term(&self, ctx: &Context<'_>) -> ApiResult<Option<super::Term>> {
        one(&loaders(ctx)?.term, Some(self.0.term_id), super::Term).await
    }
}

/// Which grades to list.
#[derive(Debug, Default, InputObject)]
pub struct GradeFilter {
    /// Only this student's grades.
    pub student_id: Option<Uuid>,
    /// Only grades given in this class.
    pub class_id: Option<Uuid>,
    /// Only this subject.
    pub subject_id: Option<Uuid>,
    /// Only this term.
    pub term_id: Option<Uuid>,
    /// Only grades on or after this date.
    pub from: Option<NaiveDate>,
    /// Only grades on or before this date.
    pub to: Option<NaiveDate>,
    /// Only records changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Which assessments to list.
#[derive(Debug, Default, InputObject)]
pub struct AssessmentFilter {
    /// Only this subject's.
    pub subject_id: Option<Uuid>,
    /// Only this term's.
    pub term_id: Option<Uuid>,
    /// Only this class's.
    pub class_id: Option<Uuid>,
}

/// A grade to record.
#[derive(Debug, InputObject)]
pub struct RecordGradeInput {
    /// The student.
    pub student_id: Uuid,
    /// The subject.
    pub subject_id: Uuid,
    /// The term (the date must fall inside it).
    pub term_id: Uuid,
    /// The score, 0–`maxScore`.
    pub score: f64,
    /// The most the score could be (default 100).
    pub max_score: Option<f64>,
    /// The kind of work.
    pub category: Option<GradeCategory>,
    /// When it was graded.
    pub graded_on: NaiveDate,
    /// Whether it is a report-card grade (default false).
    pub is_final: Option<bool>,
    /// The class it was given in.
    pub class_id: Option<Uuid>,
    /// A comment.
    pub comment: Option<String>,
}

/// A new assessment.
#[derive(Debug, InputObject)]
pub struct CreateAssessmentInput {
    /// The subject.
    pub subject_id: Uuid,
    /// The term.
    pub term_id: Uuid,
    /// The class it is for.
    pub class_id: Option<Uuid>,
    /// Its title.
    pub title: String,
    /// The kind of work.
    pub category: super::GradeCategory,
    /// The most a score can be (default 100).
    pub max_score: Option<f64>,
    /// When it takes place (inside the term).
    pub assessment_date: Option<NaiveDate>,
}

impl From<RecordGradeInput> for services::grades::NewGrade {
    fn from(input: RecordGradeInput) -> Self {
        Self {
            student: StudentId(input.student_id),
            work: services::grades::ScoredWork {
                subject: SubjectId(input.subject_id),
                term: TermId(input.term_id),
                class: input.class_id.map(ClassId),
                max_score: input.max_score,
            },
            score: input.score,
            category: input.category.map(Into::into),
            graded_on: input.graded_on,
            is_final: input.is_final.unwrap_or(false),
            comment: input.comment,
        }
    }
}

impl From<CreateAssessmentInput> for services::grades::NewAssessment {
    fn from(input: CreateAssessmentInput) -> Self {
        Self {
            work: services::grades::ScoredWork {
                subject: SubjectId(input.subject_id),
                term: TermId(input.term_id),
                class: input.class_id.map(ClassId),
                max_score: input.max_score,
            },
            title: input.title,
            category: input.category.into(),
            assessment_date: input.assessment_date,
        }
    }
}
