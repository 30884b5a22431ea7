//! Classes and enrollments: the GraphQL types and their inputs.

use crate::graphql::scalars::Date;
use async_graphql::{Context, InputObject, Object};
use entity::{class, enrollment, enums, ids::*};
use uuid::Uuid;

use super::*;
use crate::error::ApiResult;
use crate::graphql::context::loaders;
use crate::graphql::limits;
use crate::graphql::limits::nested;
use crate::graphql::loaders::load_error;
use crate::graphql::loaders::{first_of, one};
use crate::services;

/// A class of the school: a homeroom or a scheduled class.
#[derive(Debug, Clone)]
pub struct Class(pub class::Model);

/// A class of the school: a homeroom or a scheduled class.
#[Object]
impl Class {
    /// The class's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The id in the school's source system, if any.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The class's name, e.g. ז׳2.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Homeroom or scheduled.
    async fn kind(&self) -> ClassKind {
        self.0.kind.into()
    }
    /// Grade level, 1–12.
    async fn grade_level(&self) -> Option<i32> {
        self.0.grade_level
    }
    /// The academic year.
    async fn academic_year(&self, ctx: &Context<'_>) -> ApiResult<Option<AcademicYear>> {
        one(
            &loaders(ctx)?.academic_year,
            Some(self.0.academic_year_id),
            AcademicYear,
        )
        .await
    }
    /// The subject of a scheduled class.
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<Subject>> {
        one(&loaders(ctx)?.subject, self.0.subject_id, Subject).await
    }
    /// The students whose homeroom this is, by name.
    #[graphql(complexity = "limits::list_cost(first, nested::CLASS_STUDENTS, child_complexity)")]
    async fn students(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 50).")] first: Option<i32>,
    ) -> ApiResult<Vec<Student>> {
        let first = limits::nested_first(first, nested::CLASS_STUDENTS)?;
        first_of(&loaders(ctx)?.students_by_class, self.0.id, first, Student).await
    }
    /// The class's teachers.
    #[graphql(complexity = "limits::list_cost(first, nested::CLASS_TEACHERS, child_complexity)")]
    async fn teachers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 20).")] first: Option<i32>,
    ) -> ApiResult<Vec<Teacher>> {
        let first = limits::nested_first(first, nested::CLASS_TEACHERS)?;
        let loaders = loaders(ctx)?;
        let links = loaders
            .teachers_of_class
            .load_one(self.0.id)
            .await
            .map_err(load_error)?
            .unwrap_or_default();
        let links = &links[..links.len().min(first)];
        let teachers = loaders
            .teacher
            .load_many(links.iter().map(|l| l.teacher_id))
            .await
            .map_err(load_error)?;
        Ok(links
            .iter()
            .filter_map(|l| teachers.get(&l.teacher_id).cloned().map(Teacher))
            .collect())
    }
}

/// A student's enrollment in a (scheduled) class.
#[derive(Debug, Clone)]
pub struct Enrollment(pub enrollment::Model);

/// A student's enrollment in a (scheduled) class.
#[Object]
impl Enrollment {
    /// The enrollment's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The class.
    async fn class(&self, ctx: &Context<'_>) -> ApiResult<Option<Class>> {
        one(&loaders(ctx)?.class, Some(self.0.class_id), Class).await
    }
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> ApiResult<Option<Student>> {
        one(&loaders(ctx)?.student, Some(self.0.student_id), Student).await
    }
    /// First day.
    async fn begin_date(&self) -> Option<Date> {
        self.0.begin_date.map(Date)
    }
    /// Last day.
    async fn end_date(&self) -> Option<Date> {
        self.0.end_date.map(Date)
    }
}

/// A new class.
#[derive(Debug, InputObject)]
pub struct CreateClassInput {
    /// The academic year.
    pub academic_year_id: Uuid,
    /// The class's name (unique in the year), e.g. ז׳2.
    pub name: String,
    /// Homeroom (default) or scheduled.
    pub kind: Option<ClassKind>,
    /// Grade level, 1–12.
    pub grade_level: Option<i32>,
    /// The subject of a scheduled class.
    pub subject_id: Option<Uuid>,
    /// Its teachers.
    pub teacher_ids: Option<Vec<Uuid>>,
}

/// Changes to a class; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateClassInput {
    /// The class's name (unique in its year).
    pub name: Option<String>,
    /// Grade level, 1–12.
    pub grade_level: Option<i32>,
    /// Its teachers (replaces the list).
    pub teacher_ids: Option<Vec<Uuid>>,
}

/// Changes to an enrollment; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateEnrollmentInput {
    /// The first day in the class.
    pub begin_date: Option<Date>,
    /// The last day in the class (not before `beginDate`).
    pub end_date: Option<Date>,
}

fn teacher_ids(ids: Vec<Uuid>) -> Vec<TeacherId> {
    ids.into_iter().map(TeacherId).collect()
}

impl From<CreateClassInput> for services::classes::NewClass {
    fn from(input: CreateClassInput) -> Self {
        Self {
            year: AcademicYearId(input.academic_year_id),
            name: input.name,
            kind: input.kind.map_or(enums::ClassKind::Homeroom, Into::into),
            grade_level: input.grade_level,
            subject: input.subject_id.map(SubjectId),
            teachers: teacher_ids(input.teacher_ids.unwrap_or_default()),
        }
    }
}

impl From<UpdateClassInput> for services::classes::ClassChanges {
    fn from(input: UpdateClassInput) -> Self {
        Self {
            name: input.name,
            grade_level: input.grade_level,
            teachers: input.teacher_ids.map(teacher_ids),
        }
    }
}
