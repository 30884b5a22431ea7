//! Classes, their teachers and their students' enrollments.

use chrono::{NaiveDate, Utc};
use entity::academic_year;
use entity::class;
use entity::class_teacher;
use entity::enrollment;
use entity::enums;
use entity::ids::AcademicYearId;
use entity::ids::ClassId;
use entity::ids::ClassTeacherId;
use entity::ids::EnrollmentId;
use entity::ids::StudentId;
use entity::ids::SubjectId;
use entity::ids::TeacherId;
use entity::student;
use entity::subject;
use entity::teacher;
use entity::tenant::TenantTx;
use sea_orm::{ActiveValue::Set, ColumnTrait, IntoActiveModel, SqlErr};
use serde_json::json;

use super::audit;
use super::checks::Fields;
use super::checks::change;
use super::checks::conflict_or_internal;
use super::checks::removal_error;
use super::checks::remove;
use super::checks::update_error;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::tenant::Actor;

const CLASH: &str = "a class with this name in this year";

/// A new class, as given.
#[derive(Debug)]
pub struct NewClass {
    /// Its academic year.
    pub year: AcademicYearId,
    /// The name (unique in the year).
    pub name: String,
    /// Homeroom or scheduled.
    pub kind: enums::ClassKind,
    /// Grade level.
    pub grade_level: Option<i32>,
    /// The subject of a scheduled class.
    pub subject: Option<SubjectId>,
    /// Its teachers.
    pub teachers: Vec<TeacherId>,
}

/// Changes to a class; `None` leaves a field as it is.
#[derive(Debug)]
pub struct ClassChanges {
    /// The name.
    pub name: Option<String>,
    /// Grade level.
    pub grade_level: Option<i32>,
    /// Its teachers (replaces the list).
    pub teachers: Option<Vec<TeacherId>>,
}

async fn teachers_exist(
    tx: &TenantTx,
    fields: &mut Fields,
    teachers: &[TeacherId],
) -> ApiResult<()> {
    for (i, teacher) in teachers.iter().enumerate() {
        fields
            .must_exist::<teacher::Entity>(tx, &format!("input.teacherIds[{i}]"), Some(*teacher))
            .await?;
    }
    Ok(())
}

/// Makes the class's teachers exactly `teachers`.
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

/// Adds a class, with its teachers.
pub async fn create(tx: &TenantTx, actor: &Actor, new: NewClass) -> ApiResult<class::Model> {
    let mut fields = Fields::new();
    let name = fields.name("input.name", &new.name);
    let grade_level = fields.grade_level("input.gradeLevel", new.grade_level);
    fields
        .must_exist::<academic_year::Entity>(tx, "input.academicYearId", Some(new.year))
        .await?;
    fields
        .must_exist::<subject::Entity>(tx, "input.subjectId", new.subject)
        .await?;
    teachers_exist(tx, &mut fields, &new.teachers).await?;
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(class::ActiveModel {
            id: Set(ClassId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(enums::RecordStatus::Active),
            academic_year_id: Set(new.year),
            name: Set(name),
            kind: Set(new.kind),
            grade_level: Set(grade_level),
            subject_id: Set(new.subject),
            ..Default::default()
        })
        .await
        .map_err(|e| conflict_or_internal(e, "input.name", CLASH))?;
    for teacher in new.teachers {
        tx.insert(class_teacher::ActiveModel {
            id: Set(ClassTeacherId::generate()),
            class_id: Set(row.id),
            teacher_id: Set(teacher),
            role: Set("PRIMARY".into()),
            ..Default::default()
        })
        .await
        .map_err(|e| conflict_or_internal(e, "input.teacherIds", "this teacher assignment"))?;
    }
    let entry = audit::Entry::new("class.create").on("class", row.id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Changes a class.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    id: ClassId,
    changes: ClassChanges,
) -> ApiResult<class::Model> {
    let apply = async |fields: &mut Fields, row: &mut class::ActiveModel| {
        if let Some(name) = &changes.name {
            row.name = Set(fields.name("input.name", name));
        }
        if let Some(level) = fields.grade_level("input.gradeLevel", changes.grade_level) {
            row.grade_level = Set(Some(level));
        }
        let teachers = changes.teachers.as_deref().unwrap_or_default();
        teachers_exist(tx, fields, teachers).await
    };
    let refused = update_error("class", "input.name", CLASH);
    let updated = change(tx, actor, (id, "class", "class"), apply, refused).await?;
    if let Some(teachers) = &changes.teachers {
        set_teachers(tx, updated.id, teachers).await?;
    }
    Ok(updated)
}

/// Removes a class that no student, grade or record refers to any more.
pub async fn delete(tx: &TenantTx, actor: &Actor, id: ClassId) -> ApiResult<()> {
    remove::<class::Entity>(tx, actor, id, ("class", "class")).await
}

async fn enrollment_audited(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    row: &enrollment::Model,
) -> ApiResult<()> {
    let entry = audit::Entry::new(action)
        .on("student", row.student_id)
        .details(json!({ "enrollment": row.id, "class": row.class_id }));
    audit::write(tx, Some(actor), entry).await?;
    Ok(())
}

/// Enrolls a student in a class.
pub async fn enroll(
    tx: &TenantTx,
    actor: &Actor,
    class: ClassId,
    student: StudentId,
) -> ApiResult<enrollment::Model> {
    let mut fields = Fields::new();
    fields
        .must_exist::<class::Entity>(tx, "classId", Some(class))
        .await?;
    fields
        .must_exist::<student::Entity>(tx, "studentId", Some(student))
        .await?;
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(enrollment::ActiveModel {
            id: Set(EnrollmentId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(enums::RecordStatus::Active),
            class_id: Set(class),
            student_id: Set(student),
            ..Default::default()
        })
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict {
                field: "studentId".into(),
                message: "the student is already enrolled in this class".into(),
            },
            _ => ApiError::from(e),
        })?;
    enrollment_audited(tx, actor, "enrollment.create", &row).await?;
    Ok(row)
}

/// Changes the dates of a student's enrollment in a class.
pub async fn update_enrollment(
    tx: &TenantTx,
    actor: &Actor,
    id: EnrollmentId,
    (begin, end): (Option<NaiveDate>, Option<NaiveDate>),
) -> ApiResult<enrollment::Model> {
    let current = tx
        .get::<enrollment::Entity>(id)
        .await?
        .ok_or(ApiError::NotFound("enrollment"))?;
    let begin = begin.or(current.begin_date);
    let end = end.or(current.end_date);
    if let (Some(begin), Some(end)) = (begin, end)
        && end < begin
    {
        return Err(ApiError::bad_field(
            "input.endDate",
            "must not be before beginDate",
        ));
    }
    let mut row = current.into_active_model();
    row.begin_date = Set(begin);
    row.end_date = Set(end);
    row.updated_at = Set(Utc::now());
    let updated = tx.update(row).await.map_err(removal_error("enrollment"))?;
    enrollment_audited(tx, actor, "enrollment.update", &updated).await?;
    Ok(updated)
}

/// Ends a student's enrollment in a class (removes it).
pub async fn delete_enrollment(tx: &TenantTx, actor: &Actor, id: EnrollmentId) -> ApiResult<()> {
    let current = tx
        .get::<enrollment::Entity>(id)
        .await?
        .ok_or(ApiError::NotFound("enrollment"))?;
    tx.delete::<enrollment::Entity>(id)
        .await
        .map_err(removal_error("enrollment"))?;
    enrollment_audited(tx, actor, "enrollment.delete", &current).await
}
