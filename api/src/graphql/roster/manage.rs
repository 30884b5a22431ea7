//! Changing and removing staff, classes, subjects and the calendar; taking a whole class's roll
//! call at once.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, InputObject, Object};
use chrono::{NaiveDate, Utc};
use entity::{
    academic_year, attendance_record, class, class_teacher,
    ids::*,
    student, subject, teacher,
    tenant::{TenantError, TenantScoped, TenantTx},
    term,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, IntoActiveModel, SqlErr};
use uuid::Uuid;

use super::{
    mutation::{
        conflict_or_internal, date_in_a_term, done, must_exist, optional_email, required_text,
    },
    types::{AttendanceRecord, AttendanceStatus, Class, Subject, Teacher},
};
use crate::{
    auth::Permission,
    domain::clean_text,
    error::{ApiError, ApiResult, FieldError},
    graphql::context::scoped,
};

/// Changes to a teacher; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateTeacherInput {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
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

/// Changes to a subject; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateSubjectInput {
    /// The subject's name (unique in the school).
    pub name: Option<String>,
    /// A short code.
    pub code: Option<String>,
}

/// Changes to a term; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateTermInput {
    /// The term's name (unique in its year).
    pub name: Option<String>,
    /// First day (inside the year).
    pub start_date: Option<NaiveDate>,
    /// Last day (inside the year).
    pub end_date: Option<NaiveDate>,
}

/// One student's line of a roll call.
#[derive(Debug, InputObject)]
pub struct RollCallEntry {
    /// The student.
    pub student_id: Uuid,
    /// The status.
    pub status: AttendanceStatus,
    /// A note.
    pub note: Option<String>,
}

/// A roll call: many students' attendance on one date and period.
#[derive(Debug, InputObject)]
pub struct RecordAttendanceBatchInput {
    /// The date.
    pub date: NaiveDate,
    /// The period, 0 (the whole day, default) to 12.
    pub period: Option<i32>,
    /// The class.
    pub class_id: Option<Uuid>,
    /// One entry per student (at most 200).
    pub records: Vec<RollCallEntry>,
}

/// The most entries in one roll call.
pub const MAX_ROLL_CALL: usize = 200;

pub(super) fn removal_error(what: &'static str) -> impl Fn(TenantError) -> ApiError {
    move |e| match e {
        TenantError::NotFound => ApiError::NotFound(what),
        TenantError::Db(e) if is_still_referenced(&e) => ApiError::Conflict {
            field: "id".into(),
            message: format!("this {what} is still referenced by other records"),
        },
        TenantError::Db(e) => ApiError::from(e),
    }
}

/// A delete refused by an `ON DELETE RESTRICT` foreign key. SQLite reports it as a constraint
/// trigger (extended code 1811), which SeaORM does not classify as a foreign-key error.
fn is_still_referenced(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    ) || err.to_string().contains("FOREIGN KEY constraint failed")
}

async fn remove<E: TenantScoped>(
    ctx: &Context<'_>,
    id: E::Id,
    what: &'static str,
) -> ApiResult<bool> {
    let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
    tx.delete::<E>(id).await.map_err(removal_error(what))?;
    tx.commit().await?;
    Ok(true)
}

async fn set_teachers(tx: &TenantTx, class: ClassId, teachers: &[TeacherId]) -> ApiResult<()> {
    tx.delete_where::<class_teacher::Entity>(class_teacher::Column::ClassId.eq(class))
        .await?;
    let now = Utc::now();
    let rows = teachers
        .iter()
        .map(|teacher| class_teacher::ActiveModel {
            id: Set(ClassTeacherId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            class_id: Set(class),
            teacher_id: Set(*teacher),
            role: Set("PRIMARY".into()),
            ..Default::default()
        })
        .collect();
    tx.insert_many(rows)
        .await
        .map_err(|e| conflict_or_internal(e, "input.teacherIds", "this teacher assignment"))?;
    Ok(())
}

/// Staff, class, subject and calendar changes, and roll calls.
#[derive(Debug, Default)]
pub struct ManageMutation;

#[Object]
impl ManageMutation {
    /// Changes a teacher.
    async fn update_teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The teacher's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateTeacherInput,
    ) -> ApiResult<Teacher> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<teacher::Entity>(TeacherId(id))
            .await?
            .ok_or(ApiError::NotFound("teacher"))?;
        let mut errors = Vec::new();
        let mut row = current.into_active_model();
        if let Some(name) = &input.first_name {
            row.first_name = Set(required_text(&mut errors, "input.firstName", name));
        }
        if let Some(name) = &input.last_name {
            row.last_name = Set(required_text(&mut errors, "input.lastName", name));
        }
        if input.email.is_some() {
            row.email = Set(optional_email(
                &mut errors,
                "input.email",
                input.email.as_deref(),
            ));
        }
        if let Some(phone) = &input.phone {
            row.phone = Set(clean_text(phone));
        }
        done(errors)?;
        row.updated_at = Set(Utc::now());
        let updated = tx.update(row).await.map_err(removal_error("teacher"))?;
        tx.commit().await?;
        Ok(Teacher(updated))
    }

    /// Removes a teacher who no longer has classes, grades or other records.
    async fn delete_teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The teacher's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let teaches = tx
            .count(
                tx.find::<class_teacher::Entity>()
                    .filter(class_teacher::Column::TeacherId.eq(TeacherId(id))),
            )
            .await?;
        if teaches > 0 {
            return Err(ApiError::Conflict {
                field: "id".into(),
                message: format!(
                    "this teacher still teaches {teaches} class(es); change their classes first"
                ),
            });
        }
        tx.delete::<teacher::Entity>(TeacherId(id))
            .await
            .map_err(removal_error("teacher"))?;
        tx.commit().await?;
        Ok(true)
    }

    /// Changes a class.
    async fn update_class(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateClassInput,
    ) -> ApiResult<Class> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<class::Entity>(ClassId(id))
            .await?
            .ok_or(ApiError::NotFound("class"))?;
        let mut errors = Vec::new();
        let mut row = current.into_active_model();
        if let Some(name) = &input.name {
            row.name = Set(required_text(&mut errors, "input.name", name));
        }
        if let Some(level) = input.grade_level {
            if !(1..=12).contains(&level) {
                errors.push(FieldError::new(
                    "input.gradeLevel",
                    "must be between 1 and 12",
                ));
            }
            row.grade_level = Set(Some(level));
        }
        let teachers: Option<Vec<TeacherId>> = input
            .teacher_ids
            .map(|ids| ids.into_iter().map(TeacherId).collect());
        for (i, teacher) in teachers.iter().flatten().enumerate() {
            must_exist::<teacher::Entity>(
                &tx,
                &mut errors,
                &format!("input.teacherIds[{i}]"),
                Some(*teacher),
            )
            .await?;
        }
        done(errors)?;
        row.updated_at = Set(Utc::now());
        let updated = match tx.update(row).await {
            Ok(updated) => updated,
            Err(TenantError::Db(e)) => {
                return Err(conflict_or_internal(
                    e,
                    "input.name",
                    "a class with this name in this year",
                ));
            }
            Err(e) => return Err(removal_error("class")(e)),
        };
        if let Some(teachers) = teachers {
            set_teachers(&tx, updated.id, &teachers).await?;
        }
        tx.commit().await?;
        Ok(Class(updated))
    }

    /// Removes a class that no student, grade or record refers to any more.
    async fn delete_class(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        remove::<class::Entity>(ctx, ClassId(id), "class").await
    }

    /// Changes a subject.
    async fn update_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateSubjectInput,
    ) -> ApiResult<Subject> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<subject::Entity>(SubjectId(id))
            .await?
            .ok_or(ApiError::NotFound("subject"))?;
        let mut errors = Vec::new();
        let mut row = current.into_active_model();
        if let Some(name) = &input.name {
            row.name = Set(required_text(&mut errors, "input.name", name));
        }
        if let Some(code) = &input.code {
            row.code = Set(clean_text(code));
        }
        done(errors)?;
        row.updated_at = Set(Utc::now());
        let updated = match tx.update(row).await {
            Ok(updated) => updated,
            Err(TenantError::Db(e)) => {
                return Err(conflict_or_internal(
                    e,
                    "input.name",
                    "a subject with this name",
                ));
            }
            Err(e) => return Err(removal_error("subject")(e)),
        };
        tx.commit().await?;
        Ok(Subject(updated))
    }

    /// Removes a subject that no class or grade refers to.
    async fn delete_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        remove::<subject::Entity>(ctx, SubjectId(id), "subject").await
    }

    /// Removes a term that no grade or assessment refers to.
    async fn delete_term(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The term's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        remove::<term::Entity>(ctx, TermId(id), "term").await
    }

    /// Removes an academic year (with its terms) that no class refers to.
    async fn delete_academic_year(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        remove::<academic_year::Entity>(ctx, AcademicYearId(id), "academic year").await
    }

    /// Removes a guardian and their links to students.
    async fn delete_guardian(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The guardian's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        remove::<entity::guardian::Entity>(ctx, GuardianId(id), "guardian").await
    }

    /// Ends a student's enrollment in a class (removes it).
    async fn delete_enrollment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enrollment's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        remove::<entity::enrollment::Entity>(ctx, EnrollmentId(id), "enrollment").await
    }

    /// Changes a term's name or dates (which must stay inside its academic year).
    async fn update_term(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The term's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateTermInput,
    ) -> ApiResult<super::types::Term> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<term::Entity>(TermId(id))
            .await?
            .ok_or(ApiError::NotFound("term"))?;
        let year = tx
            .get::<academic_year::Entity>(current.academic_year_id)
            .await?
            .ok_or(ApiError::NotFound("term"))?;
        let mut errors = Vec::new();
        let start = input.start_date.unwrap_or(current.start_date);
        let end = input.end_date.unwrap_or(current.end_date);
        if end <= start {
            errors.push(FieldError::new("input.endDate", "must be after startDate"));
        }
        if start < year.start_date || end > year.end_date {
            errors.push(FieldError::new(
                "input.startDate",
                "the term must lie inside its academic year",
            ));
        }
        let mut row = current.into_active_model();
        if let Some(name) = &input.name {
            row.name = Set(required_text(&mut errors, "input.name", name));
        }
        done(errors)?;
        row.start_date = Set(start);
        row.end_date = Set(end);
        row.updated_at = Set(Utc::now());
        let updated = match tx.update(row).await {
            Ok(updated) => updated,
            Err(TenantError::Db(e)) => {
                return Err(conflict_or_internal(
                    e,
                    "input.name",
                    "a term with this name in this year",
                ));
            }
            Err(e) => return Err(removal_error("term")(e)),
        };
        tx.commit().await?;
        Ok(super::types::Term(updated))
    }

    /// Takes a roll call: sets many students' attendance for one date and period in one
    /// transaction (all or nothing). Recording a student again replaces their status.
    async fn record_attendance_batch(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The roll call.")] input: RecordAttendanceBatchInput,
    ) -> ApiResult<Vec<AttendanceRecord>> {
        let (_, tx) = scoped(ctx, Permission::AttendanceWrite).await?;
        let mut errors = Vec::new();
        date_in_a_term(&tx, &mut errors, "input.date", input.date).await?;
        let period = input.period.unwrap_or(0);
        if !(0..=12).contains(&period) {
            errors.push(FieldError::new("input.period", "must be between 0 and 12"));
        }
        if input.records.is_empty() || input.records.len() > MAX_ROLL_CALL {
            errors.push(FieldError::new(
                "input.records",
                format!("must hold 1 to {MAX_ROLL_CALL} entries"),
            ));
        }
        must_exist::<class::Entity>(
            &tx,
            &mut errors,
            "input.classId",
            input.class_id.map(ClassId),
        )
        .await?;
        let ids: Vec<StudentId> = input
            .records
            .iter()
            .map(|r| StudentId(r.student_id))
            .collect();
        let known: HashSet<StudentId> = tx
            .all(
                tx.find::<student::Entity>()
                    .filter(student::Column::Id.is_in(ids.iter().copied())),
            )
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let mut seen = HashSet::new();
        for (i, id) in ids.iter().enumerate() {
            if !known.contains(id) {
                errors.push(FieldError::new(
                    format!("input.records[{i}].studentId"),
                    "no such record in this school",
                ));
            } else if !seen.insert(*id) {
                errors.push(FieldError::new(
                    format!("input.records[{i}].studentId"),
                    "appears twice in this roll call",
                ));
            }
        }
        done(errors)?;
        let existing: HashMap<StudentId, attendance_record::Model> = tx
            .all(
                tx.find::<attendance_record::Entity>()
                    .filter(attendance_record::Column::StudentId.is_in(ids.iter().copied()))
                    .filter(attendance_record::Column::Date.eq(input.date))
                    .filter(attendance_record::Column::Period.eq(period)),
            )
            .await?
            .into_iter()
            .map(|r| (r.student_id, r))
            .collect();
        let now = Utc::now();
        let mut new_rows = Vec::new();
        for entry in &input.records {
            let student = StudentId(entry.student_id);
            match existing.get(&student) {
                Some(current) => {
                    let mut row = current.clone().into_active_model();
                    row.status = Set(entry.status.into());
                    row.note = Set(entry.note.as_deref().and_then(clean_text));
                    row.class_id = Set(input.class_id.map(ClassId));
                    row.updated_at = Set(now);
                    tx.update(row)
                        .await
                        .map_err(removal_error("attendance record"))?;
                }
                None => new_rows.push(attendance_record::ActiveModel {
                    id: Set(AttendanceRecordId::generate()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    student_id: Set(student),
                    class_id: Set(input.class_id.map(ClassId)),
                    date: Set(input.date),
                    period: Set(period),
                    status: Set(entry.status.into()),
                    note: Set(entry.note.as_deref().and_then(clean_text)),
                    ..Default::default()
                }),
            }
        }
        tx.insert_many(new_rows).await?;
        let rows = tx
            .all(
                tx.find::<attendance_record::Entity>()
                    .filter(attendance_record::Column::StudentId.is_in(ids.iter().copied()))
                    .filter(attendance_record::Column::Date.eq(input.date))
                    .filter(attendance_record::Column::Period.eq(period)),
            )
            .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(AttendanceRecord).collect())
    }
}
