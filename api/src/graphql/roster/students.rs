//! Students: the GraphQL type and the inputs that create and change one.

use crate::graphql::scalars::Date;
use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{ids::*, student};
use uuid::Uuid;

use super::*;
use crate::auth::Permission;
use crate::error::ApiResult;
use crate::graphql::context::health_reads;
use crate::graphql::context::loaders;
use crate::graphql::context::require;
use crate::graphql::limits;
use crate::graphql::limits::nested;
use crate::graphql::loaders::load_error;
use crate::graphql::loaders::{first_of, one};
use crate::services;

/// A student of the school.
#[derive(Debug, Clone)]
pub struct Student(pub student::Model);

/// A student of the school.
#[Object]
impl Student {
    /// The student's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The id in the school's source system (OneRoster `sourcedId`), if any.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Whether the record is in use.
    async fn status(&self) -> RecordStatus {
        self.0.status.into()
    }
    /// The Israeli national id: 9 digits, zero-padded.
    async fn student_tz(&self) -> &str {
        &self.0.student_tz
    }
    /// First name.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Last name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// Grade level, 1–12.
    async fn grade_level(&self) -> Option<i32> {
        self.0.grade_level
    }
    /// Date of birth.
    async fn birth_date(&self) -> Option<Date> {
        self.0.birth_date.map(Date)
    }
    /// Email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// When the record was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the record last changed (OneRoster `dateLastModified`).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The student's homeroom class.
    async fn class(&self, ctx: &Context<'_>) -> ApiResult<Option<Class>> {
        one(&loaders(ctx)?.class, self.0.class_id, Class).await
    }
    /// The student's ABC early-warning score (attendance, behaviour, course performance).
    async fn risk(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::graphql::analytics::RiskScore>> {
        crate::graphql::analytics::of_student(ctx, self.0.id).await
    }
    /// The final score the school's active model predicts, with each feature's contribution;
    /// null while the school has no model or the student lacks a feature.
    async fn prediction(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::graphql::insights::Prediction>> {
        crate::graphql::insights::of_student(ctx, &self.0).await
    }
    /// The student's grades, oldest first.
    #[graphql(complexity = "limits::list_cost(first, nested::STUDENT_GRADES, child_complexity)")]
    async fn grades(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 200).")] first: Option<i32>,
    ) -> ApiResult<Grades> {
        let first = limits::nested_first(first, nested::STUDENT_GRADES)?;
        Grades::of_student(ctx, self.0.id, first).await
    }
    /// The student's guardians.
    #[graphql(complexity = "limits::list_cost(first, nested::STUDENT_GUARDIANS, child_complexity)")]
    async fn guardians(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 20).")] first: Option<i32>,
    ) -> ApiResult<Vec<StudentGuardian>> {
        let first = limits::nested_first(first, nested::STUDENT_GUARDIANS)?;
        let loaders = loaders(ctx)?;
        let links = loaders
            .guardians_of_student
            .load_one(self.0.id)
            .await
            .map_err(load_error)?
            .unwrap_or_default();
        let links = &links[..links.len().min(first)];
        let guardians = loaders
            .guardian
            .load_many(links.iter().map(|l| l.guardian_id))
            .await
            .map_err(load_error)?;
        Ok(links
            .iter()
            .filter_map(|link| {
                guardians
                    .get(&link.guardian_id)
                    .cloned()
                    .map(|guardian| StudentGuardian {
                        link: link.clone(),
                        guardian,
                    })
            })
            .collect())
    }
    /// The student's discipline incidents, oldest first.
    #[graphql(complexity = "limits::list_cost(first, nested::STUDENT_INCIDENTS, child_complexity)")]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 100).")] first: Option<i32>,
    ) -> ApiResult<Vec<Incident>> {
        let first = limits::nested_first(first, nested::STUDENT_INCIDENTS)?;
        first_of(
            &loaders(ctx)?.incidents_by_student,
            self.0.id,
            first,
            Incident,
        )
        .await
    }
    /// The student's health records. Needs `health:read`; every read is written to the audit
    /// log.
    #[graphql(
        complexity = "limits::list_cost(first, nested::STUDENT_HEALTH_RECORDS, child_complexity)"
    )]
    async fn health_records(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 100).")] first: Option<i32>,
    ) -> ApiResult<Vec<HealthRecord>> {
        let first = limits::nested_first(first, nested::STUDENT_HEALTH_RECORDS)?;
        require(ctx, Permission::HealthRead).await?;
        health_reads(ctx)?.record(self.0.id);
        first_of(
            &loaders(ctx)?.health_by_student,
            self.0.id,
            first,
            HealthRecord,
        )
        .await
    }
    /// The student's history from earlier years or schools.
    #[graphql(
        complexity = "limits::list_cost(first, nested::STUDENT_ACADEMIC_HISTORY, child_complexity)"
    )]
    async fn academic_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 100).")] first: Option<i32>,
    ) -> ApiResult<Vec<AcademicHistory>> {
        let first = limits::nested_first(first, nested::STUDENT_ACADEMIC_HISTORY)?;
        first_of(
            &loaders(ctx)?.history_by_student,
            self.0.id,
            first,
            AcademicHistory,
        )
        .await
    }
    /// The classes the student is enrolled in.
    #[graphql(
        complexity = "limits::list_cost(first, nested::STUDENT_ENROLLMENTS, child_complexity)"
    )]
    async fn enrollments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 50).")] first: Option<i32>,
    ) -> ApiResult<Vec<Enrollment>> {
        let first = limits::nested_first(first, nested::STUDENT_ENROLLMENTS)?;
        first_of(
            &loaders(ctx)?.enrollments_by_student,
            self.0.id,
            first,
            Enrollment,
        )
        .await
    }
    /// The student's attendance records, oldest first.
    #[graphql(
        complexity = "limits::list_cost(first, nested::STUDENT_ATTENDANCE, child_complexity)"
    )]
    async fn attendance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 200).")] first: Option<i32>,
    ) -> ApiResult<Vec<AttendanceRecord>> {
        let first = limits::nested_first(first, nested::STUDENT_ATTENDANCE)?;
        first_of(
            &loaders(ctx)?.attendance_by_student,
            self.0.id,
            first,
            AttendanceRecord,
        )
        .await
    }
}

/// Which students to list.
#[derive(Debug, Default, InputObject)]
pub struct StudentFilter {
    /// Matches the start of the national id, or part of the first or last name.
    pub search: Option<String>,
    /// Only students of this homeroom class.
    pub class_id: Option<Uuid>,
    /// Only this grade level.
    pub grade_level: Option<i32>,
    /// Only records changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// Include soft-deleted students (status TO_BE_DELETED). Default false.
    pub include_deleted: Option<bool>,
}

/// A new student.
#[derive(Debug, InputObject)]
pub struct CreateStudentInput {
    /// The national id (zero-padding optional; the check digit must match).
    pub student_tz: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Grade level, 1–12.
    pub grade_level: Option<i32>,
    /// The homeroom class.
    pub class_id: Option<Uuid>,
    /// Date of birth.
    pub birth_date: Option<Date>,
    /// Email address.
    pub email: Option<String>,
    /// The id in the school's source system (unique in the school).
    pub external_id: Option<String>,
}

/// Changes to a student; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateStudentInput {
    /// The national id.
    pub student_tz: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Grade level, 1–12.
    pub grade_level: Option<i32>,
    /// The homeroom class.
    pub class_id: Option<Uuid>,
    /// Date of birth.
    pub birth_date: Option<Date>,
    /// Email address.
    pub email: Option<String>,
}

impl From<CreateStudentInput> for services::students::StudentFields {
    fn from(input: CreateStudentInput) -> Self {
        Self {
            student_tz: Some(input.student_tz),
            first_name: Some(input.first_name),
            last_name: Some(input.last_name),
            grade_level: input.grade_level,
            class: input.class_id.map(ClassId),
            birth_date: input.birth_date.map(|d| d.0),
            email: input.email,
            external_id: input.external_id,
        }
    }
}

impl From<UpdateStudentInput> for services::students::StudentFields {
    fn from(input: UpdateStudentInput) -> Self {
        Self {
            student_tz: input.student_tz,
            first_name: input.first_name,
            last_name: input.last_name,
            grade_level: input.grade_level,
            class: input.class_id.map(ClassId),
            birth_date: input.birth_date.map(|d| d.0),
            email: input.email,
            external_id: None,
        }
    }
}
