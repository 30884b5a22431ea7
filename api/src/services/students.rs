//! Students: adding, changing and removing them.

use chrono::{NaiveDate, Utc};
use entity::class;
use entity::enums;
use entity::ids::ClassId;
use entity::ids::StudentId;
use entity::student;
use entity::tenant::TenantTx;
use sea_orm::{ActiveValue::Set, IntoActiveModel};
use serde_json::json;

use super::audit;
use super::checks::Fields;
use super::checks::change;
use super::checks::conflict_or_internal;
use super::checks::removal_error;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::rules::StudentTz;
use crate::rules::clean_text;
use crate::tenant::Actor;

/// A new student, or changes to one: `None` leaves a field as it is (a new student needs a
/// national id and both names).
#[derive(Debug, Default)]
pub struct StudentFields {
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
    /// The id in the school's source system (set when the student is added).
    pub external_id: Option<String>,
}

/// Checks `input` onto `row`, listing every bad field in `fields`.
async fn apply(
    tx: &TenantTx,
    fields: &mut Fields,
    row: &mut student::ActiveModel,
    input: &StudentFields,
) -> ApiResult<()> {
    if let Some(tz) = &input.student_tz
        && let Some(tz) = fields.take("input.studentTz", StudentTz::checked(tz))
    {
        row.student_tz = Set(tz.into_string());
    }
    if let Some(name) = &input.first_name {
        row.first_name = Set(fields.name("input.firstName", name));
    }
    if let Some(name) = &input.last_name {
        row.last_name = Set(fields.name("input.lastName", name));
    }
    if let Some(level) = fields.grade_level("input.gradeLevel", input.grade_level) {
        row.grade_level = Set(Some(level));
    }
    if let Some(class) = input.class {
        fields
            .must_exist::<class::Entity>(tx, "input.classId", Some(class))
            .await?;
        row.class_id = Set(Some(class));
    }
    if input.birth_date.is_some() {
        row.birth_date = Set(input.birth_date);
    }
    if input.email.is_some() {
        row.email = Set(fields.email("input.email", input.email.as_deref()));
    }
    Ok(())
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
pub async fn create(tx: &TenantTx, actor: &Actor, new: StudentFields) -> ApiResult<student::Model> {
    let now = Utc::now();
    let mut row = student::ActiveModel {
        id: Set(StudentId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        external_id: Set(new.external_id.as_deref().and_then(clean_text)),
        status: Set(enums::RecordStatus::Active),
        gender: Set(None),
        ..Default::default()
    };
    let new = StudentFields {
        student_tz: Some(new.student_tz.unwrap_or_default()),
        first_name: Some(new.first_name.unwrap_or_default()),
        last_name: Some(new.last_name.unwrap_or_default()),
        ..new
    };
    let mut fields = Fields::new();
    apply(tx, &mut fields, &mut row, &new).await?;
    fields.done()?;
    let row = tx.insert(row).await.map_err(student_conflict)?;
    let entry = audit::Entry::new("student.create").on("student", row.id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Changes a student.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    id: StudentId,
    changes: StudentFields,
) -> ApiResult<student::Model> {
    let apply = async |fields: &mut Fields, row: &mut student::ActiveModel| {
        apply(tx, fields, row, &changes).await
    };
    change(tx, actor, (id, "student", "student"), apply, |e| match e {
        entity::tenant::TenantError::Db(e) => student_conflict(e),
        e => removal_error("student")(e),
    })
    .await
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
