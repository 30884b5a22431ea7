//! Students: adding, changing and removing them.

use chrono::{NaiveDate, Utc};
use entity::{
    class, enums,
    ids::{ClassId, StudentId},
    student,
    tenant::TenantTx,
};
use sea_orm::{ActiveValue::Set, IntoActiveModel};
use serde_json::json;

use super::{
    audit,
    checks::{Fields, conflict_or_internal, removal_error},
};
use crate::{
    error::{ApiError, ApiResult},
    rules::{StudentTz, clean_text},
    tenant::Actor,
};

/// A new student, as given (checked by [`create`]).
#[derive(Debug)]
pub struct NewStudent {
    /// The national id.
    pub student_tz: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Grade level.
    pub grade_level: Option<i32>,
    /// The homeroom class.
    pub class: Option<ClassId>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Email address.
    pub email: Option<String>,
    /// The id in the school's source system.
    pub external_id: Option<String>,
}

/// Changes to a student; `None` leaves a field as it is.
#[derive(Debug)]
pub struct StudentChanges {
    /// The national id.
    pub student_tz: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Grade level.
    pub grade_level: Option<i32>,
    /// The homeroom class.
    pub class: Option<ClassId>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Email address (empty clears it).
    pub email: Option<String>,
}

/// A unique-key refusal of a student row: the external id or the national id.
fn student_conflict(err: sea_orm::DbErr) -> ApiError {
    if err.to_string().contains("external_id") {
        conflict_or_internal(err, "input.externalId", "a student with this external id")
    } else {
        conflict_or_internal(err, "input.studentTz", "a student with this national id")
    }
}

/// Adds a student.
pub async fn create(tx: &TenantTx, actor: &Actor, new: NewStudent) -> ApiResult<student::Model> {
    let mut fields = Fields::new();
    let tz = fields.take("input.studentTz", StudentTz::checked(&new.student_tz));
    let first_name = fields.name("input.firstName", &new.first_name);
    let last_name = fields.name("input.lastName", &new.last_name);
    let grade_level = fields.grade_level("input.gradeLevel", new.grade_level);
    fields
        .must_exist::<class::Entity>(tx, "input.classId", new.class)
        .await?;
    let email = fields.email("input.email", new.email.as_deref());
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(student::ActiveModel {
            id: Set(StudentId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            external_id: Set(new.external_id.as_deref().and_then(clean_text)),
            status: Set(enums::RecordStatus::Active),
            student_tz: Set(tz.map(StudentTz::into_string).unwrap_or_default()),
            first_name: Set(first_name),
            last_name: Set(last_name),
            grade_level: Set(grade_level),
            class_id: Set(new.class),
            birth_date: Set(new.birth_date),
            gender: Set(None),
            email: Set(email),
            ..Default::default()
        })
        .await
        .map_err(student_conflict)?;
    let entry = audit::Entry::new("student.create").on("student", row.id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Changes a student.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    id: StudentId,
    changes: StudentChanges,
) -> ApiResult<student::Model> {
    let current = tx
        .get::<student::Entity>(id)
        .await?
        .ok_or(ApiError::NotFound("student"))?;
    let mut fields = Fields::new();
    let mut row = current.into_active_model();
    if let Some(tz) = &changes.student_tz
        && let Some(tz) = fields.take("input.studentTz", StudentTz::checked(tz))
    {
        row.student_tz = Set(tz.into_string());
    }
    if let Some(name) = &changes.first_name {
        row.first_name = Set(fields.name("input.firstName", name));
    }
    if let Some(name) = &changes.last_name {
        row.last_name = Set(fields.name("input.lastName", name));
    }
    if let Some(level) = fields.grade_level("input.gradeLevel", changes.grade_level) {
        row.grade_level = Set(Some(level));
    }
    if let Some(class) = changes.class {
        fields
            .must_exist::<class::Entity>(tx, "input.classId", Some(class))
            .await?;
        row.class_id = Set(Some(class));
    }
    if changes.birth_date.is_some() {
        row.birth_date = Set(changes.birth_date);
    }
    if changes.email.is_some() {
        row.email = Set(fields.email("input.email", changes.email.as_deref()));
    }
    fields.done()?;
    row.updated_at = Set(Utc::now());
    let updated = tx.update(row).await.map_err(|e| match e {
        entity::tenant::TenantError::Db(e) => student_conflict(e),
        e => removal_error("student")(e),
    })?;
    let entry = audit::Entry::new("student.update").on("student", updated.id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(updated)
}

/// Deletes a student: marks the record TO_BE_DELETED, or with `hard` removes it and every
/// record of it for good.
pub async fn delete(tx: &TenantTx, actor: &Actor, id: StudentId, hard: bool) -> ApiResult<()> {
    if hard {
        tx.delete::<student::Entity>(id)
            .await
            .map_err(removal_error("student"))?;
    } else {
        let current = tx
            .get::<student::Entity>(id)
            .await?
            .ok_or(ApiError::NotFound("student"))?;
        let mut row = current.into_active_model();
        row.status = Set(enums::RecordStatus::ToBeDeleted);
        row.updated_at = Set(Utc::now());
        tx.update(row).await.map_err(removal_error("student"))?;
    }
    let entry = audit::Entry::new("student.delete")
        .on("student", id)
        .details(json!({ "hard": hard }));
    audit::write(tx, Some(actor), entry).await?;
    Ok(())
}
