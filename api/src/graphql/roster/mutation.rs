//! Writing a school's records. Inputs are checked at the edge and every bad field is listed;
//! references to another school's records are refused exactly like references to missing ones;
//! `school_id` always comes from the request, never from input.

use async_graphql::{Context, InputObject, Object};
use chrono::{NaiveDate, Utc};
use entity::{
    academic_year, attendance_record, class, enums, grade,
    ids::*,
    student, subject, teacher,
    tenant::{TenantError, TenantScoped, TenantTx},
    term,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, IntoActiveModel, SqlErr};
use serde_json::json;
use uuid::Uuid;

use super::types::*;
use crate::{
    auth::Permission,
    domain::{StudentTz, clean_text},
    error::{ApiError, ApiResult, FieldError},
    graphql::context::scoped,
    services::audit,
};

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
    pub birth_date: Option<NaiveDate>,
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
    pub birth_date: Option<NaiveDate>,
    /// Email address.
    pub email: Option<String>,
}

/// A new teacher.
#[derive(Debug, InputObject)]
pub struct CreateTeacherInput {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// A new subject.
#[derive(Debug, InputObject)]
pub struct CreateSubjectInput {
    /// The subject's name (unique in the school).
    pub name: String,
    /// A short code.
    pub code: Option<String>,
}

/// A new academic year.
#[derive(Debug, InputObject)]
pub struct CreateAcademicYearInput {
    /// The year's name, e.g. 2025-2026 (unique in the school).
    pub name: String,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day.
    pub end_date: NaiveDate,
    /// Whether it is the current year (the school's other years stop being current).
    pub is_current: Option<bool>,
}

/// A new term.
#[derive(Debug, InputObject)]
pub struct CreateTermInput {
    /// The academic year.
    pub academic_year_id: Uuid,
    /// The term's name (unique in the year).
    pub name: String,
    /// First day (inside the year).
    pub start_date: NaiveDate,
    /// Last day (inside the year).
    pub end_date: NaiveDate,
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

/// An attendance record to set (one per student, date and period).
#[derive(Debug, InputObject)]
pub struct RecordAttendanceInput {
    /// The student.
    pub student_id: Uuid,
    /// The date.
    pub date: NaiveDate,
    /// The period, 0 (the whole day, default) to 12.
    pub period: Option<i32>,
    /// The status.
    pub status: AttendanceStatus,
    /// The class.
    pub class_id: Option<Uuid>,
    /// A note.
    pub note: Option<String>,
}

pub(super) fn conflict_or_internal(err: DbErr, field: &str, what: &str) -> ApiError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict {
            field: field.to_owned(),
            message: format!("{what} already exists in this school"),
        },
        _ => ApiError::from(err),
    }
}

/// An optional email address: empty clears it, anything else must look like `name@host.tld`.
pub(super) fn optional_email(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
) -> Option<String> {
    let email = clean_text(value?)?;
    if !crate::domain::is_plausible_email(&email) {
        errors.push(FieldError::new(field, "is not an email address"));
    }
    Some(email)
}

pub(super) fn required_text(errors: &mut Vec<FieldError>, field: &str, value: &str) -> String {
    match clean_text(value) {
        Some(text) if text.chars().count() <= 200 => text,
        _ => {
            errors.push(FieldError::new(field, "must be 1 to 200 characters"));
            String::new()
        }
    }
}

fn grade_level(errors: &mut Vec<FieldError>, field: &str, level: Option<i32>) {
    if level.is_some_and(|l| !(1..=12).contains(&l)) {
        errors.push(FieldError::new(field, "must be between 1 and 12"));
    }
}

/// Checks that `id` names a record of this school; another school's id reads as missing.
pub(super) async fn must_exist<E: TenantScoped>(
    tx: &TenantTx,
    errors: &mut Vec<FieldError>,
    field: &str,
    id: Option<E::Id>,
) -> ApiResult<Option<E::Model>> {
    let Some(id) = id else { return Ok(None) };
    let found = tx.get::<E>(id).await?;
    if found.is_none() {
        errors.push(FieldError::new(field, "no such record in this school"));
    }
    Ok(found)
}

/// What grades and assessments both refer to.
pub(super) struct ScoredWork {
    pub(super) subject: Uuid,
    pub(super) term: Uuid,
    pub(super) class: Option<Uuid>,
    pub(super) max_score: Option<f64>,
}

/// Checks that the subject, term and class are records of this school and that the maximum score
/// is positive; returns the maximum score (100 when not given) and the term.
pub(super) async fn check_scored_work(
    tx: &TenantTx,
    errors: &mut Vec<FieldError>,
    work: ScoredWork,
) -> ApiResult<(f64, Option<term::Model>)> {
    must_exist::<subject::Entity>(tx, errors, "input.subjectId", Some(SubjectId(work.subject)))
        .await?;
    must_exist::<class::Entity>(tx, errors, "input.classId", work.class.map(ClassId)).await?;
    let term =
        must_exist::<term::Entity>(tx, errors, "input.termId", Some(TermId(work.term))).await?;
    let max_score = work.max_score.unwrap_or(100.0);
    if !(max_score.is_finite() && max_score > 0.0) {
        errors.push(FieldError::new("input.maxScore", "must be greater than 0"));
    }
    Ok((max_score, term))
}

/// Checks that `date` falls inside one of the school's terms (attendance is taken on school
/// days).
pub(super) async fn date_in_a_term(
    tx: &TenantTx,
    errors: &mut Vec<FieldError>,
    field: &str,
    date: NaiveDate,
) -> ApiResult<()> {
    let term = tx
        .one(
            tx.find::<term::Entity>()
                .filter(term::Column::StartDate.lte(date))
                .filter(term::Column::EndDate.gte(date)),
        )
        .await?;
    if term.is_none() {
        errors.push(FieldError::new(
            field,
            "must fall inside one of the school's terms",
        ));
    }
    Ok(())
}

/// Checks that `date`, when given, falls inside `term`.
pub(super) fn date_in_term(
    errors: &mut Vec<FieldError>,
    field: &str,
    term: Option<&term::Model>,
    date: Option<NaiveDate>,
) {
    if let (Some(term), Some(date)) = (term, date)
        && !(term.start_date..=term.end_date).contains(&date)
    {
        errors.push(FieldError::new(
            field,
            format!(
                "must be inside the term ({} to {})",
                term.start_date, term.end_date
            ),
        ));
    }
}

pub(super) fn done(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_fields(errors))
    }
}

fn not_found(what: &'static str) -> impl Fn(TenantError) -> ApiError {
    move |e| match e {
        TenantError::NotFound => ApiError::NotFound(what),
        TenantError::Db(e) => ApiError::from(e),
    }
}

/// Roster and record mutations.
#[derive(Debug, Default)]
pub struct RosterMutation;

#[Object]
impl RosterMutation {
    /// Adds a student.
    async fn create_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The student.")] input: CreateStudentInput,
    ) -> ApiResult<Student> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        let tz = StudentTz::parse(&input.student_tz)
            .map_err(|e| errors.push(FieldError::new("input.studentTz", e.to_string())))
            .ok();
        let first_name = required_text(&mut errors, "input.firstName", &input.first_name);
        let last_name = required_text(&mut errors, "input.lastName", &input.last_name);
        grade_level(&mut errors, "input.gradeLevel", input.grade_level);
        must_exist::<class::Entity>(
            &tx,
            &mut errors,
            "input.classId",
            input.class_id.map(ClassId),
        )
        .await?;
        let email = optional_email(&mut errors, "input.email", input.email.as_deref());
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(student::ActiveModel {
                id: Set(StudentId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                external_id: Set(input.external_id.as_deref().and_then(clean_text)),
                status: Set(enums::RecordStatus::Active),
                student_tz: Set(tz.map(StudentTz::into_string).unwrap_or_default()),
                first_name: Set(first_name),
                last_name: Set(last_name),
                grade_level: Set(input.grade_level),
                class_id: Set(input.class_id.map(ClassId)),
                birth_date: Set(input.birth_date),
                gender: Set(None),
                email: Set(email),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                if e.to_string().contains("external_id") {
                    conflict_or_internal(e, "input.externalId", "a student with this external id")
                } else {
                    conflict_or_internal(e, "input.studentTz", "a student with this national id")
                }
            })?;
        audit::write(
            &tx,
            Some(&tenant.actor),
            audit::Entry::new("student.create").on("student", row.id),
        )
        .await?;
        tx.commit().await?;
        Ok(Student(row))
    }

    /// Changes a student.
    async fn update_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The student's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateStudentInput,
    ) -> ApiResult<Student> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<student::Entity>(StudentId(id))
            .await?
            .ok_or(ApiError::NotFound("student"))?;
        let mut errors = Vec::new();
        let mut row = current.into_active_model();
        if let Some(tz) = &input.student_tz {
            match StudentTz::parse(tz) {
                Ok(tz) => row.student_tz = Set(tz.into_string()),
                Err(e) => errors.push(FieldError::new("input.studentTz", e.to_string())),
            }
        }
        if let Some(name) = &input.first_name {
            row.first_name = Set(required_text(&mut errors, "input.firstName", name));
        }
        if let Some(name) = &input.last_name {
            row.last_name = Set(required_text(&mut errors, "input.lastName", name));
        }
        grade_level(&mut errors, "input.gradeLevel", input.grade_level);
        if input.grade_level.is_some() {
            row.grade_level = Set(input.grade_level);
        }
        if let Some(class_id) = input.class_id {
            must_exist::<class::Entity>(&tx, &mut errors, "input.classId", Some(ClassId(class_id)))
                .await?;
            row.class_id = Set(Some(ClassId(class_id)));
        }
        if input.birth_date.is_some() {
            row.birth_date = Set(input.birth_date);
        }
        if input.email.is_some() {
            row.email = Set(optional_email(
                &mut errors,
                "input.email",
                input.email.as_deref(),
            ));
        }
        done(errors)?;
        row.updated_at = Set(Utc::now());
        let updated = match tx.update(row).await {
            Ok(updated) => updated,
            Err(TenantError::NotFound) => return Err(ApiError::NotFound("student")),
            Err(TenantError::Db(e)) => {
                return Err(conflict_or_internal(
                    e,
                    "input.studentTz",
                    "a student with this national id",
                ));
            }
        };
        audit::write(
            &tx,
            Some(&tenant.actor),
            audit::Entry::new("student.update").on("student", updated.id),
        )
        .await?;
        tx.commit().await?;
        Ok(Student(updated))
    }

    /// Deletes a student: marks the record TO_BE_DELETED, or with `hard: true` removes it and
    /// every record of it for good.
    async fn delete_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The student's id.")] id: Uuid,
        #[graphql(
            desc = "Remove the record and its grades, attendance and other records for good.",
            default = false
        )]
        hard: bool,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let id = StudentId(id);
        if hard {
            tx.delete::<student::Entity>(id)
                .await
                .map_err(not_found("student"))?;
        } else {
            let current = tx
                .get::<student::Entity>(id)
                .await?
                .ok_or(ApiError::NotFound("student"))?;
            let mut row = current.into_active_model();
            row.status = Set(enums::RecordStatus::ToBeDeleted);
            row.updated_at = Set(Utc::now());
            tx.update(row).await.map_err(not_found("student"))?;
        }
        let entry = audit::Entry::new("student.delete")
            .on("student", id)
            .details(json!({ "hard": hard }));
        audit::write(&tx, Some(&tenant.actor), entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a teacher.
    async fn create_teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The teacher.")] input: CreateTeacherInput,
    ) -> ApiResult<Teacher> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        let first_name = required_text(&mut errors, "input.firstName", &input.first_name);
        let last_name = required_text(&mut errors, "input.lastName", &input.last_name);
        let email = optional_email(&mut errors, "input.email", input.email.as_deref());
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(teacher::ActiveModel {
                id: Set(TeacherId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                first_name: Set(first_name),
                last_name: Set(last_name),
                email: Set(email),
                phone: Set(input.phone.as_deref().and_then(clean_text)),
                ..Default::default()
            })
            .await?;
        tx.commit().await?;
        Ok(Teacher(row))
    }

    /// Adds a subject.
    async fn create_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject.")] input: CreateSubjectInput,
    ) -> ApiResult<Subject> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "input.name", &input.name);
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(subject::ActiveModel {
                id: Set(SubjectId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                name: Set(name),
                code: Set(input.code.as_deref().and_then(clean_text)),
                ..Default::default()
            })
            .await
            .map_err(|e| conflict_or_internal(e, "input.name", "a subject with this name"))?;
        tx.commit().await?;
        Ok(Subject(row))
    }

    /// Adds an academic year.
    async fn create_academic_year(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year.")] input: CreateAcademicYearInput,
    ) -> ApiResult<AcademicYear> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "input.name", &input.name);
        if input.end_date <= input.start_date {
            errors.push(FieldError::new("input.endDate", "must be after startDate"));
        }
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(academic_year::ActiveModel {
                id: Set(AcademicYearId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                name: Set(name),
                start_date: Set(input.start_date),
                end_date: Set(input.end_date),
                is_current: Set(input.is_current.unwrap_or(false)),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                conflict_or_internal(e, "input.name", "an academic year with this name")
            })?;
        if row.is_current {
            super::updates::clear_current_year(&tx, row.id).await?;
        }
        tx.commit().await?;
        Ok(AcademicYear(row))
    }

    /// Adds a term to an academic year.
    async fn create_term(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The term.")] input: CreateTermInput,
    ) -> ApiResult<Term> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "input.name", &input.name);
        let year = must_exist::<academic_year::Entity>(
            &tx,
            &mut errors,
            "input.academicYearId",
            Some(AcademicYearId(input.academic_year_id)),
        )
        .await?;
        if input.end_date <= input.start_date {
            errors.push(FieldError::new("input.endDate", "must be after startDate"));
        }
        if let Some(year) = &year
            && (input.start_date < year.start_date || input.end_date > year.end_date)
        {
            errors.push(FieldError::new(
                "input.startDate",
                "the term must lie inside its academic year",
            ));
        }
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(term::ActiveModel {
                id: Set(TermId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                academic_year_id: Set(AcademicYearId(input.academic_year_id)),
                name: Set(name),
                start_date: Set(input.start_date),
                end_date: Set(input.end_date),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                conflict_or_internal(e, "input.name", "a term with this name in this year")
            })?;
        tx.commit().await?;
        Ok(Term(row))
    }

    /// Adds a class, with its teachers.
    async fn create_class(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class.")] input: CreateClassInput,
    ) -> ApiResult<Class> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "input.name", &input.name);
        grade_level(&mut errors, "input.gradeLevel", input.grade_level);
        must_exist::<academic_year::Entity>(
            &tx,
            &mut errors,
            "input.academicYearId",
            Some(AcademicYearId(input.academic_year_id)),
        )
        .await?;
        must_exist::<subject::Entity>(
            &tx,
            &mut errors,
            "input.subjectId",
            input.subject_id.map(SubjectId),
        )
        .await?;
        let teacher_ids: Vec<TeacherId> = input
            .teacher_ids
            .unwrap_or_default()
            .into_iter()
            .map(TeacherId)
            .collect();
        for (i, teacher) in teacher_ids.iter().enumerate() {
            must_exist::<teacher::Entity>(
                &tx,
                &mut errors,
                &format!("input.teacherIds[{i}]"),
                Some(*teacher),
            )
            .await?;
        }
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(class::ActiveModel {
                id: Set(ClassId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                academic_year_id: Set(AcademicYearId(input.academic_year_id)),
                name: Set(name),
                kind: Set(input.kind.map_or(enums::ClassKind::Homeroom, Into::into)),
                grade_level: Set(input.grade_level),
                subject_id: Set(input.subject_id.map(SubjectId)),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                conflict_or_internal(e, "input.name", "a class with this name in this year")
            })?;
        for teacher in teacher_ids {
            tx.insert(entity::class_teacher::ActiveModel {
                id: Set(ClassTeacherId::generate()),
                class_id: Set(row.id),
                teacher_id: Set(teacher),
                role: Set("PRIMARY".into()),
                ..Default::default()
            })
            .await
            .map_err(|e| conflict_or_internal(e, "input.teacherIds", "this teacher assignment"))?;
        }
        tx.commit().await?;
        Ok(Class(row))
    }

    /// Records a grade.
    async fn record_grade(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The grade.")] input: RecordGradeInput,
    ) -> ApiResult<Grade> {
        let (_, tx) = scoped(ctx, Permission::GradesWrite).await?;
        let mut errors = Vec::new();
        must_exist::<student::Entity>(
            &tx,
            &mut errors,
            "input.studentId",
            Some(StudentId(input.student_id)),
        )
        .await?;
        let (max_score, term) = check_scored_work(
            &tx,
            &mut errors,
            ScoredWork {
                subject: input.subject_id,
                term: input.term_id,
                class: input.class_id,
                max_score: input.max_score,
            },
        )
        .await?;
        if !(input.score.is_finite() && (0.0..=max_score).contains(&input.score)) {
            errors.push(FieldError::new(
                "input.score",
                format!("must be between 0 and {max_score}"),
            ));
        }
        date_in_term(
            &mut errors,
            "input.gradedOn",
            term.as_ref(),
            Some(input.graded_on),
        );
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(grade::ActiveModel {
                id: Set(GradeId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                student_id: Set(StudentId(input.student_id)),
                subject_id: Set(SubjectId(input.subject_id)),
                term_id: Set(TermId(input.term_id)),
                class_id: Set(input.class_id.map(ClassId)),
                category: Set(input.category.map(Into::into)),
                score: Set(input.score),
                max_score: Set(max_score),
                graded_on: Set(input.graded_on),
                is_final: Set(input.is_final.unwrap_or(false)),
                comment: Set(input.comment.as_deref().and_then(clean_text)),
                ..Default::default()
            })
            .await?;
        tx.commit().await?;
        Ok(Grade(row))
    }

    /// Records attendance: one record per student, date and period (recording again replaces
    /// the status).
    async fn record_attendance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The record.")] input: RecordAttendanceInput,
    ) -> ApiResult<AttendanceRecord> {
        let (_, tx) = scoped(ctx, Permission::AttendanceWrite).await?;
        let mut errors = Vec::new();
        must_exist::<student::Entity>(
            &tx,
            &mut errors,
            "input.studentId",
            Some(StudentId(input.student_id)),
        )
        .await?;
        must_exist::<class::Entity>(
            &tx,
            &mut errors,
            "input.classId",
            input.class_id.map(ClassId),
        )
        .await?;
        date_in_a_term(&tx, &mut errors, "input.date", input.date).await?;
        let period = input.period.unwrap_or(0);
        if !(0..=12).contains(&period) {
            errors.push(FieldError::new("input.period", "must be between 0 and 12"));
        }
        done(errors)?;
        let existing = tx
            .one(
                tx.find::<attendance_record::Entity>()
                    .filter(attendance_record::Column::StudentId.eq(StudentId(input.student_id)))
                    .filter(attendance_record::Column::Date.eq(input.date))
                    .filter(attendance_record::Column::Period.eq(period)),
            )
            .await?;
        let now = Utc::now();
        let row = match existing {
            Some(current) => {
                let mut row = current.into_active_model();
                row.status = Set(input.status.into());
                row.note = Set(input.note.as_deref().and_then(clean_text));
                row.class_id = Set(input.class_id.map(ClassId));
                row.updated_at = Set(now);
                tx.update(row)
                    .await
                    .map_err(not_found("attendance record"))?
            }
            None => {
                tx.insert(attendance_record::ActiveModel {
                    id: Set(AttendanceRecordId::generate()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    student_id: Set(StudentId(input.student_id)),
                    class_id: Set(input.class_id.map(ClassId)),
                    date: Set(input.date),
                    period: Set(period),
                    status: Set(input.status.into()),
                    note: Set(input.note.as_deref().and_then(clean_text)),
                    ..Default::default()
                })
                .await?
            }
        };
        tx.commit().await?;
        Ok(AttendanceRecord(row))
    }
}

/// Deleting a school's data.
#[derive(Debug, Default)]
pub struct ResetMutation;

#[Object]
impl ResetMutation {
    /// Deletes every record of the active school — roster, calendar, grades, attendance,
    /// discipline, health, imports, models — in one transaction. Users, memberships, the
    /// school's configuration and its audit log stay; other schools are never touched. Admins
    /// only; `confirmSlug` must be the school's slug. Returns how many rows were deleted.
    async fn reset_school_data(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The active school's slug, typed again to confirm.")] confirm_slug: String,
    ) -> ApiResult<u64> {
        let tenant = crate::graphql::context::require(ctx, Permission::DataReset).await?;
        if confirm_slug.trim() != tenant.school.slug {
            return Err(ApiError::bad_field(
                "confirmSlug",
                "does not match the active school's slug",
            ));
        }
        // One transaction for the platform links and the school's rows: all or nothing.
        let outer = entity::writer::begin_write(&crate::graphql::context::state(ctx)?.db).await?;
        crate::platform::unlink_teachers(&*outer, tenant.school_id()).await?;
        let tx = TenantTx::nested(&outer, tenant.school_id()).await?;
        let rows = crate::services::reset::reset_school_data(&tx).await?;
        audit::write(
            &tx,
            Some(&tenant.actor),
            audit::Entry::new("school.reset").details(json!({ "rows": rows })),
        )
        .await?;
        tx.commit().await?;
        outer.commit().await?;
        Ok(rows)
    }
}
