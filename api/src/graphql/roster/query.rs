//! Reading a school's records: Relay connections with filters, and single lookups that answer a
//! missing id and another school's id alike (`NOT_FOUND`).

use async_graphql::{Context, Object};
use entity::academic_year;
use entity::attendance_record;
use entity::class;
use entity::enums::RecordStatus as DbStatus;
use entity::grade;
use entity::guardian;
use entity::ids::*;
use entity::incident;
use entity::student;
use entity::subject;
use entity::teacher;
use entity::term;
use sea_orm::{ColumnTrait, Condition, Order};
use uuid::Uuid;

use super::*;
use crate::auth::Permission;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::graphql::context::scoped;
use crate::graphql::pagination::Page;
use crate::graphql::pagination::page;
use crate::rules::StudentTz;
use crate::rules::clean_text;

/// Roster and record queries.
#[derive(Debug, Default)]
pub struct RosterQuery;

#[Object]
impl RosterQuery {
    /// The school's students, in creation order.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn students(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Which students.")] filter: Option<StudentFilter>,
    ) -> ApiResult<Page<Student>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let filter = filter.unwrap_or_default();
        let mut select = tx.find::<student::Entity>();
        if !filter.include_deleted.unwrap_or(false) {
            select = select.filter(student::Column::Status.eq(DbStatus::Active));
        }
        if let Some(search) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let pattern = crate::graphql::pagination::contains(search);
            select = select.filter(
                Condition::any()
                    .add(
                        student::Column::StudentTz
                            .like(crate::graphql::pagination::starts_with(search)),
                    )
                    .add(student::Column::FirstName.like(pattern.clone()))
                    .add(student::Column::LastName.like(pattern)),
            );
        }
        if let Some(class_id) = filter.class_id {
            select = select.filter(student::Column::ClassId.eq(ClassId(class_id)));
        }
        if let Some(level) = filter.grade_level {
            select = select.filter(student::Column::GradeLevel.eq(level));
        }
        if let Some(since) = filter.updated_since {
            select = select.filter(student::Column::UpdatedAt.gte(since));
        }
        page(&tx, select, first, after, Student).await
    }

    /// One student by id.
    async fn student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The student's id.")] id: Uuid,
    ) -> ApiResult<Student> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        tx.get::<student::Entity>(StudentId(id))
            .await?
            .map(Student)
            .ok_or(ApiError::NotFound("student"))
    }

    /// One student by national id (zero-padding optional).
    async fn student_by_tz(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The national id.")] student_tz: String,
    ) -> ApiResult<Student> {
        let tz = StudentTz::parse(&student_tz)
            .map_err(|e| ApiError::bad_field("studentTz", e.to_string()))?;
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let found = tx
            .one(
                tx.find::<student::Entity>()
                    .filter(student::Column::StudentTz.eq(tz.as_str())),
            )
            .await?;
        found.map(Student).ok_or(ApiError::NotFound("student"))
    }

    /// The school's teachers.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn teachers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
    ) -> ApiResult<Page<Teacher>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        page(&tx, tx.find::<teacher::Entity>(), first, after, Teacher).await
    }

    /// One teacher by id.
    async fn teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The teacher's id.")] id: Uuid,
    ) -> ApiResult<Teacher> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        tx.get::<teacher::Entity>(TeacherId(id))
            .await?
            .map(Teacher)
            .ok_or(ApiError::NotFound("teacher"))
    }

    /// The school's classes.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn classes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Only classes of this academic year.")] academic_year_id: Option<Uuid>,
    ) -> ApiResult<Page<Class>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let mut select = tx.find::<class::Entity>();
        if let Some(year) = academic_year_id {
            select = select.filter(class::Column::AcademicYearId.eq(AcademicYearId(year)));
        }
        page(&tx, select, first, after, Class).await
    }

    /// One class by id.
    async fn class(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class's id.")] id: Uuid,
    ) -> ApiResult<Class> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        tx.get::<class::Entity>(ClassId(id))
            .await?
            .map(Class)
            .ok_or(ApiError::NotFound("class"))
    }

    /// The school's subjects.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn subjects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
    ) -> ApiResult<Page<Subject>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        page(&tx, tx.find::<subject::Entity>(), first, after, Subject).await
    }

    /// The school's academic years, newest first.
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn academic_years(&self, ctx: &Context<'_>) -> ApiResult<Vec<AcademicYear>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let rows = tx
            .all(
                tx.find::<academic_year::Entity>()
                    .order_by(academic_year::Column::StartDate, Order::Desc),
            )
            .await?;
        Ok(rows.into_iter().map(AcademicYear).collect())
    }

    /// The school's terms, in order (optionally of one academic year).
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn terms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only terms of this academic year.")] academic_year_id: Option<Uuid>,
    ) -> ApiResult<Vec<Term>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let mut select = tx
            .find::<term::Entity>()
            .order_by(term::Column::StartDate, Order::Asc);
        if let Some(year) = academic_year_id {
            select = select.filter(term::Column::AcademicYearId.eq(AcademicYearId(year)));
        }
        Ok(tx.all(select).await?.into_iter().map(Term).collect())
    }

    /// The school's grades.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn grades(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Which grades.")] filter: Option<GradeFilter>,
    ) -> ApiResult<Page<Grade>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let f = filter.unwrap_or_default();
        let mut select = tx.find::<grade::Entity>();
        if let Some(id) = f.student_id {
            select = select.filter(grade::Column::StudentId.eq(StudentId(id)));
        }
        if let Some(id) = f.class_id {
            select = select.filter(grade::Column::ClassId.eq(ClassId(id)));
        }
        if let Some(id) = f.subject_id {
            select = select.filter(grade::Column::SubjectId.eq(SubjectId(id)));
        }
        if let Some(id) = f.term_id {
            select = select.filter(grade::Column::TermId.eq(TermId(id)));
        }
        if let Some(from) = f.from {
            select = select.filter(grade::Column::GradedOn.gte(from));
        }
        if let Some(to) = f.to {
            select = select.filter(grade::Column::GradedOn.lte(to));
        }
        if let Some(since) = f.updated_since {
            select = select.filter(grade::Column::UpdatedAt.gte(since));
        }
        page(&tx, select, first, after, Grade).await
    }

    /// The school's attendance records.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn attendance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Which records.")] filter: Option<AttendanceFilter>,
    ) -> ApiResult<Page<AttendanceRecord>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let f = filter.unwrap_or_default();
        let mut select = tx.find::<attendance_record::Entity>();
        if let Some(id) = f.student_id {
            select = select.filter(attendance_record::Column::StudentId.eq(StudentId(id)));
        }
        if let Some(id) = f.class_id {
            select = select.filter(attendance_record::Column::ClassId.eq(ClassId(id)));
        }
        if let Some(from) = f.from {
            select = select.filter(attendance_record::Column::Date.gte(from));
        }
        if let Some(to) = f.to {
            select = select.filter(attendance_record::Column::Date.lte(to));
        }
        if let Some(status) = f.status {
            select = select.filter(
                attendance_record::Column::Status.eq(entity::enums::AttendanceStatus::from(status)),
            );
        }
        page(&tx, select, first, after, AttendanceRecord).await
    }
}

/// Lists of guardians, incidents and assessments.
#[derive(Debug, Default)]
pub struct RecordsQuery;

#[Object]
impl RecordsQuery {
    /// The school's guardians.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn guardians(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Part of the first or last name.")] search: Option<String>,
    ) -> ApiResult<crate::graphql::pagination::Page<Guardian>> {
        use sea_orm::{ColumnTrait, Condition};
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let mut select = tx.find::<guardian::Entity>();
        if let Some(search) = search.as_deref().and_then(clean_text) {
            let pattern = crate::graphql::pagination::contains(&search);
            select = select.filter(
                Condition::any()
                    .add(guardian::Column::FirstName.like(pattern.clone()))
                    .add(guardian::Column::LastName.like(pattern)),
            );
        }
        crate::graphql::pagination::page(&tx, select, first, after, Guardian).await
    }

    /// The school's discipline incidents.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Which incidents.")] filter: Option<IncidentFilter>,
    ) -> ApiResult<crate::graphql::pagination::Page<Incident>> {
        use sea_orm::ColumnTrait;
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let f = filter.unwrap_or_default();
        let mut select = tx.find::<incident::Entity>();
        if let Some(id) = f.student_id {
            select = select.filter(incident::Column::StudentId.eq(StudentId(id)));
        }
        if let Some(from) = f.from {
            select = select.filter(incident::Column::OccurredOn.gte(from));
        }
        if let Some(to) = f.to {
            select = select.filter(incident::Column::OccurredOn.lte(to));
        }
        crate::graphql::pagination::page(&tx, select, first, after, Incident).await
    }

    /// The school's assessments.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn assessments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Which assessments.")] filter: Option<AssessmentFilter>,
    ) -> ApiResult<crate::graphql::pagination::Page<Assessment>> {
        use entity::assessment;
        use sea_orm::ColumnTrait;
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let f = filter.unwrap_or_default();
        let mut select = tx.find::<assessment::Entity>();
        if let Some(id) = f.subject_id {
            select = select.filter(assessment::Column::SubjectId.eq(SubjectId(id)));
        }
        if let Some(id) = f.term_id {
            select = select.filter(assessment::Column::TermId.eq(TermId(id)));
        }
        if let Some(id) = f.class_id {
            select = select.filter(assessment::Column::ClassId.eq(ClassId(id)));
        }
        crate::graphql::pagination::page(&tx, select, first, after, Assessment).await
    }
}
