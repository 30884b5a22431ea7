//! Grades and assessments: the GraphQL types, filters and inputs.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    sync::Arc,
};

use crate::graphql::scalars::Date;
use async_graphql::{
    Context, ContextSelectionSet, InputObject, Object, OutputType, Positioned, ScalarType,
    ServerResult, Value,
    parser::types::Field,
    registry::Registry,
    resolver_utils::{enum_value, resolve_list},
};
use chrono::{DateTime, Utc};
use entity::{grade, ids::*};
use uuid::Uuid;

use super::*;
use crate::graphql::flat::{self, Flat, Pick, Spliced, or_null};
use crate::graphql::lines::{Columns, GradeLine};
use crate::graphql::loaders::{LoadError, Loaders, first_of, load_error, one};
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
        normalized(self.0.score, self.0.max_score)
    }
    /// The kind of work.
    async fn category(&self) -> Option<GradeCategory> {
        self.0.category.map(Into::into)
    }
    /// When it was graded.
    async fn graded_on(&self) -> Date {
        Date(self.0.graded_on)
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

/// `score / max * 100`, or 0 without a scale.
pub(crate) fn normalized(score: f64, max: f64) -> f64 {
    if max > 0.0 { score / max * 100.0 } else { 0.0 }
}

impl Flat for grade::Model {
    const TYPE: &'static str = "Grade";

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "id" => self.id.into_uuid().to_value(),
            "score" => self.score.to_value(),
            "maxScore" => self.max_score.to_value(),
            "normalizedScore" => normalized(self.score, self.max_score).to_value(),
            "category" => or_null(self.category, |c| enum_value(GradeCategory::from(c))),
            "gradedOn" => self.graded_on.to_value(),
            "isFinal" => Value::Boolean(self.is_final),
            "comment" => or_null(self.comment.as_ref(), |c| Value::String(c.clone())),
            _ => return None,
        })
    }
}

/// A list of grades. Answered in one pass when the selection reads only the grades' own fields
/// and their subjects (see [`crate::graphql::flat`]), else by the executor.
#[derive(Debug)]
pub enum Grades {
    /// Whole rows.
    Rows(Vec<Grade>),
    /// Rows with only the columns a plain selection reads (see [`crate::graphql::lines`]).
    Lines(Arc<[GradeLine]>),
}

impl Grades {
    /// A student's first `first` grades, as lines when `selection` is plain enough.
    pub async fn of_student(
        ctx: &Context<'_>,
        student: StudentId,
        first: usize,
    ) -> ApiResult<Self> {
        let loaders = loaders(ctx)?;
        let columns = flat::picks(&ctx.item.node.selection_set.node).and_then(|p| Columns::of(&p));
        if let Some(columns) = columns {
            let lines = loaders
                .grade_lines
                .load_one((student, columns))
                .await
                .map_err(load_error)?
                .unwrap_or_else(|| Arc::from([]));
            let lines = if lines.len() > first {
                Arc::from(&lines[..first])
            } else {
                lines
            };
            return Ok(Self::Lines(lines));
        }
        first_of(&loaders.grades_by_student, student, first, Grade)
            .await
            .map(Self::Rows)
    }
}

/// The answer to the selection over `rows` in one pass, subjects loaded once for the list:
/// written as JSON when the answer is spliced (see [`flat::Spliced`]), else as values.
/// `Ok(None)` when a field needs the executor (a subject selected twice included: each
/// selection would need its own answer per subject).
async fn in_one_pass<R: Flat>(
    ctx: &ContextSelectionSet<'_>,
    rows: &[R],
    subject_of: impl Fn(&R) -> Option<SubjectId>,
) -> Result<Option<Value>, LoadError> {
    let Some(picks) = flat::picks(&ctx.item.node) else {
        return Ok(None);
    };
    let subjects = match flat::selections_of(&picks, "subject") {
        0 => HashMap::new(),
        1 => {
            let ids: HashSet<SubjectId> = rows.iter().filter_map(&subject_of).collect();
            let Some(loaders) = ctx.data_opt::<Loaders>() else {
                return Ok(None);
            };
            loaders.subject.load_many(ids).await?
        }
        _ => return Ok(None),
    };
    Ok(answer(ctx, rows, &picks, &subjects, subject_of))
}

/// [`in_one_pass`] once the subjects are loaded.
fn answer<R: Flat>(
    ctx: &ContextSelectionSet<'_>,
    rows: &[R],
    picks: &[Pick<'_>],
    subjects: &HashMap<SubjectId, entity::subject::Model>,
    subject_of: impl Fn(&R) -> Option<SubjectId>,
) -> Option<Value> {
    if let Some(spliced) = ctx.data_opt::<Arc<Spliced>>() {
        let mut written: HashMap<SubjectId, Vec<u8>> = HashMap::with_capacity(subjects.len());
        let mut nested = |out: &mut Vec<u8>, row: &R, name: &str, sub: &[Pick<'_>]| {
            let subject = (name == "subject").then(|| subject_of(row)).flatten();
            match subject.and_then(|id| Some((id, subjects.get(&id)?))) {
                None if name == "subject" => out.extend_from_slice(b"null"),
                None => return None,
                Some((id, subject)) => {
                    let json = match written.entry(id) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            let mut json = Vec::new();
                            flat::write_object(&mut json, subject, sub, &mut |_, _, _, _| None)?;
                            e.insert(json)
                        }
                    };
                    out.extend_from_slice(json);
                }
            }
            Some(())
        };
        let mut out = Vec::with_capacity(rows.len() * 32);
        out.push(b'[');
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            flat::write_object(&mut out, row, picks, &mut nested)?;
        }
        out.push(b']');
        flat::count(true);
        return spliced.put(out);
    }
    let mut answered = HashMap::with_capacity(subjects.len());
    let mut nested = |row: &R, name: &str, sub: &[Pick<'_>]| match name {
        "subject" => {
            let id = subject_of(row)?;
            match subjects.get(&id) {
                None => Some(Value::Null),
                Some(subject) => answered
                    .entry(id)
                    .or_insert_with(|| flat::leaf(subject, sub))
                    .clone(),
            }
        }
        _ => None,
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(flat::object(row, picks, &mut nested)?);
    }
    flat::count(false);
    Some(Value::List(items))
}

impl OutputType for Grades {
    fn type_name() -> Cow<'static, str> {
        <Vec<Grade> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Grade> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<Grade> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let failed = |e: LoadError| {
            ctx.set_error_path(
                async_graphql::Error::from(load_error(e)).into_server_error(field.pos),
            )
        };
        match self {
            Self::Rows(rows) => match in_one_pass(ctx, rows, |g| Some(g.0.subject_id)).await {
                Ok(Some(value)) => Ok(value),
                Ok(None) => resolve_list(ctx, field, rows.iter(), Some(rows.len())).await,
                Err(e) => Err(failed(e)),
            },
            // Lines are only made for a selection they can answer.
            Self::Lines(lines) => match in_one_pass(ctx, lines, |l| l.subject_id).await {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Err(failed(Arc::new(sea_orm::DbErr::Custom(
                    "BUG: grade lines cannot answer their selection".to_owned(),
                )))),
                Err(e) => Err(failed(e)),
            },
        }
    }
}

impl Flat for Grade {
    const TYPE: &'static str = "Grade";

    fn field(&self, name: &str) -> Option<Value> {
        self.0.field(name)
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
    async fn assessment_date(&self) -> Option<Date> {
        self.0.assessment_date.map(Date)
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
    pub from: Option<Date>,
    /// Only grades on or before this date.
    pub to: Option<Date>,
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
    pub graded_on: Date,
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
    pub assessment_date: Option<Date>,
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
            graded_on: input.graded_on.0,
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
            assessment_date: input.assessment_date.map(|d| d.0),
        }
    }
}
