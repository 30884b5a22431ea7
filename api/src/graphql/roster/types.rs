//! GraphQL types of a school's records. They wrap the entities; `school_id` is never exposed.
//! Nested fields go through the request's per-school loaders.

use async_graphql::{Context, Enum, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    academic_year, attendance_record, class, enums, grade, student, subject, teacher, term,
};
use uuid::Uuid;

use super::records::{AcademicHistory, Enrollment, HealthRecord, Incident, StudentGuardian};
use crate::{
    auth::Permission,
    error::ApiResult,
    graphql::{
        context::{health_reads, loaders, require},
        limits::{self, nested},
        loaders::load_error,
    },
};

macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident = $source:path { $($(#[$vdoc:meta])* $variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl From<$source> for $name {
            fn from(value: $source) -> Self {
                match value { $(<$source>::$variant => $name::$variant),* }
            }
        }

        impl From<$name> for $source {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$source>::$variant),* }
            }
        }
    };
}

mirror_enum! {
    /// Whether a record is in use (OneRoster `status`).
    RecordStatus = enums::RecordStatus {
        /// In use.
        Active,
        /// Marked for deletion (soft-deleted).
        ToBeDeleted,
    }
}

mirror_enum! {
    /// Homeroom or scheduled class.
    ClassKind = enums::ClassKind {
        /// A homeroom: each student belongs to one.
        Homeroom,
        /// A scheduled class of one subject.
        Scheduled,
    }
}

mirror_enum! {
    /// The kind of work a grade is for.
    GradeCategory = enums::GradeCategory {
        /// An exam.
        Exam,
        /// A quiz.
        Quiz,
        /// Homework.
        Homework,
        /// A project.
        Project,
        /// A final (report-card) grade.
        Final,
    }
}

mirror_enum! {
    /// Attendance status. Attended = PRESENT or LATE; absent = ABSENT or EXCUSED.
    AttendanceStatus = enums::AttendanceStatus {
        /// Present.
        Present,
        /// Present, late.
        Late,
        /// Absent without an excuse.
        Absent,
        /// Absent with an excuse.
        Excused,
    }
}

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
    async fn birth_date(&self) -> Option<NaiveDate> {
        self.0.birth_date
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
        let Some(id) = self.0.class_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .class
            .load_one(id)
            .await
            .map_err(load_error)?
            .map(Class))
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
    ) -> ApiResult<Vec<Grade>> {
        let first = limits::nested_first(first, nested::STUDENT_GRADES)?;
        let rows = loaders(ctx)?
            .grades_by_student
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(Grade)
            .collect())
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
        let rows = loaders(ctx)?
            .incidents_by_student
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(Incident)
            .collect())
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
        let rows = loaders(ctx)?
            .health_by_student
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(HealthRecord)
            .collect())
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
        let rows = loaders(ctx)?
            .history_by_student
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(AcademicHistory)
            .collect())
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
        let rows = loaders(ctx)?
            .enrollments_by_student
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(Enrollment)
            .collect())
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
        let rows = loaders(ctx)?
            .attendance_by_student
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(AttendanceRecord)
            .collect())
    }
}

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
        Ok(loaders(ctx)?
            .academic_year
            .load_one(self.0.academic_year_id)
            .await
            .map_err(load_error)?
            .map(AcademicYear))
    }
    /// The subject of a scheduled class.
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<Subject>> {
        let Some(id) = self.0.subject_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .subject
            .load_one(id)
            .await
            .map_err(load_error)?
            .map(Subject))
    }
    /// The students whose homeroom this is, by name.
    #[graphql(complexity = "limits::list_cost(first, nested::CLASS_STUDENTS, child_complexity)")]
    async fn students(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 50).")] first: Option<i32>,
    ) -> ApiResult<Vec<Student>> {
        let first = limits::nested_first(first, nested::CLASS_STUDENTS)?;
        let rows = loaders(ctx)?
            .students_by_class
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(Student)
            .collect())
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

/// A teacher of the school.
#[derive(Debug, Clone)]
pub struct Teacher(pub teacher::Model);

/// A teacher of the school.
#[Object]
impl Teacher {
    /// The teacher's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The id in the school's source system, if any.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// First name.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Last name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// Email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// The classes the teacher teaches.
    #[graphql(complexity = "limits::list_cost(first, nested::TEACHER_CLASSES, child_complexity)")]
    async fn classes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 50).")] first: Option<i32>,
    ) -> ApiResult<Vec<Class>> {
        let first = limits::nested_first(first, nested::TEACHER_CLASSES)?;
        let loaders = loaders(ctx)?;
        let links = loaders
            .classes_of_teacher
            .load_one(self.0.id)
            .await
            .map_err(load_error)?
            .unwrap_or_default();
        let links = &links[..links.len().min(first)];
        let classes = loaders
            .class
            .load_many(links.iter().map(|l| l.class_id))
            .await
            .map_err(load_error)?;
        Ok(links
            .iter()
            .filter_map(|l| classes.get(&l.class_id).cloned().map(Class))
            .collect())
    }
}

/// A subject taught at the school.
#[derive(Debug, Clone)]
pub struct Subject(pub subject::Model);

/// A subject taught at the school.
#[Object]
impl Subject {
    /// The subject's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The subject's name, e.g. מתמטיקה.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A short code, e.g. MATH.
    async fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }
}

/// An academic year of the school.
#[derive(Debug, Clone)]
pub struct AcademicYear(pub academic_year::Model);

/// An academic year of the school.
#[Object]
impl AcademicYear {
    /// The year's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The year's name, e.g. 2025-2026.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// First day.
    async fn start_date(&self) -> NaiveDate {
        self.0.start_date
    }
    /// Last day.
    async fn end_date(&self) -> NaiveDate {
        self.0.end_date
    }
    /// Whether this is the current year.
    async fn is_current(&self) -> bool {
        self.0.is_current
    }
    /// The year's terms, in order.
    #[graphql(complexity = "limits::list_cost(first, nested::YEAR_TERMS, child_complexity)")]
    async fn terms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 10).")] first: Option<i32>,
    ) -> ApiResult<Vec<Term>> {
        let first = limits::nested_first(first, nested::YEAR_TERMS)?;
        let rows = loaders(ctx)?
            .terms_by_year
            .load_one(self.0.id)
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .take(first)
            .map(Term)
            .collect())
    }
}

/// A term (semester) of an academic year.
#[derive(Debug, Clone)]
pub struct Term(pub term::Model);

/// A term (semester) of an academic year.
#[Object]
impl Term {
    /// The term's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The term's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// First day.
    async fn start_date(&self) -> NaiveDate {
        self.0.start_date
    }
    /// Last day.
    async fn end_date(&self) -> NaiveDate {
        self.0.end_date
    }
    /// The academic year.
    async fn academic_year(&self, ctx: &Context<'_>) -> ApiResult<Option<AcademicYear>> {
        Ok(loaders(ctx)?
            .academic_year
            .load_one(self.0.academic_year_id)
            .await
            .map_err(load_error)?
            .map(AcademicYear))
    }
}

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
        Ok(loaders(ctx)?
            .student
            .load_one(self.0.student_id)
            .await
            .map_err(load_error)?
            .map(Student))
    }
    /// The subject.
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<Subject>> {
        Ok(loaders(ctx)?
            .subject
            .load_one(self.0.subject_id)
            .await
            .map_err(load_error)?
            .map(Subject))
    }
    /// The assessment this grade is for, if any.
    async fn assessment(&self, ctx: &Context<'_>) -> ApiResult<Option<super::records::Assessment>> {
        let Some(id) = self.0.assessment_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .assessment
            .load_one(id)
            .await
            .map_err(load_error)?
            .map(super::records::Assessment))
    }
    /// The term.
    async fn term(&self, ctx: &Context<'_>) -> ApiResult<Option<Term>> {
        Ok(loaders(ctx)?
            .term
            .load_one(self.0.term_id)
            .await
            .map_err(load_error)?
            .map(Term))
    }
}

/// One student's attendance on one date (and period).
#[derive(Debug, Clone)]
pub struct AttendanceRecord(pub attendance_record::Model);

/// One student's attendance on one date (and period).
#[Object]
impl AttendanceRecord {
    /// The record's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The date.
    async fn date(&self) -> NaiveDate {
        self.0.date
    }
    /// The period (0 = the whole day).
    async fn period(&self) -> i32 {
        self.0.period
    }
    /// The status.
    async fn status(&self) -> AttendanceStatus {
        self.0.status.into()
    }
    /// A note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> ApiResult<Option<Student>> {
        Ok(loaders(ctx)?
            .student
            .load_one(self.0.student_id)
            .await
            .map_err(load_error)?
            .map(Student))
    }
}
