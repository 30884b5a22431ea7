//! Guardians (parents) and their links to students.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::enums;
use entity::guardian;
use entity::ids::GuardianId;
use entity::ids::StudentGuardianId;
use entity::ids::StudentId;
use entity::student;
use entity::student_guardian;
use entity::tenant::TenantTx;
use sea_orm::{ActiveValue::Set, ColumnTrait, IntoActiveModel, SqlErr};
use serde_json::json;

use super::audit;
use super::checks::Fields;
use super::checks::change;
use super::checks::removal_error;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::rules::clean_text;
use crate::tenant::Actor;

/// A new guardian, as given (checked by [`create`]).
#[derive(Debug)]
pub struct NewGuardian {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// National id.
    pub guardian_tz: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// The students to link (at least one).
    pub students: Vec<StudentId>,
    /// How the guardian is related.
    pub relationship: Option<String>,
}

/// Changes to a guardian; `None` leaves a field as it is, an empty string clears an optional one.
#[derive(Debug)]
pub struct GuardianChanges {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// National id.
    pub guardian_tz: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// The students the guardian belongs to (replaces the list; at least one).
    pub students: Option<Vec<StudentId>>,
    /// How the guardian is related; applies to every link.
    pub relationship: Option<String>,
}

/// Writes an audit entry on the guardian naming the students concerned.
async fn audited(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    guardian: GuardianId,
    students: &[StudentId],
) -> ApiResult<()> {
    let entry = audit::Entry::new(action)
        .on("guardian", guardian)
        .details(json!({ "students": students }));
    audit::write(tx, Some(actor), entry).await?;
    Ok(())
}

fn link(
    student: StudentId,
    guardian: GuardianId,
    relationship: Option<String>,
    now: DateTime<Utc>,
) -> student_guardian::ActiveModel {
    student_guardian::ActiveModel {
        id: Set(StudentGuardianId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        student_id: Set(student),
        guardian_id: Set(guardian),
        relationship: Set(relationship),
        is_primary: Set(false),
        ..Default::default()
    }
}

/// Adds a guardian and links them to students.
pub async fn create(tx: &TenantTx, actor: &Actor, new: NewGuardian) -> ApiResult<guardian::Model> {
    let mut fields = Fields::new();
    let first_name = fields.name("input.firstName", &new.first_name);
    let last_name = fields.name("input.lastName", &new.last_name);
    let tz = new
        .guardian_tz
        .as_deref()
        .and_then(|tz| fields.optional_tz("input.guardianTz", tz));
    let email = fields.email("input.email", new.email.as_deref());
    if new.students.is_empty() {
        fields.push(
            "input.studentIds",
            "a guardian belongs to at least one student",
        );
    }
    for (i, student) in new.students.iter().enumerate() {
        fields
            .must_exist::<student::Entity>(tx, &format!("input.studentIds[{i}]"), Some(*student))
            .await?;
    }
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(guardian::ActiveModel {
            id: Set(GuardianId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(enums::RecordStatus::Active),
            first_name: Set(first_name),
            last_name: Set(last_name),
            guardian_tz: Set(tz),
            phone: Set(new.phone.as_deref().and_then(clean_text)),
            email: Set(email),
            ..Default::default()
        })
        .await?;
    let relationship = new.relationship.as_deref().and_then(clean_text);
    for student in &new.students {
        tx.insert(link(*student, row.id, relationship.clone(), now))
            .await
            .map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    ApiError::bad_field("input.studentIds", "lists a student twice")
                }
                _ => ApiError::from(e),
            })?;
    }
    audited(tx, actor, "guardian.create", row.id, &new.students).await?;
    Ok(row)
}

/// The students a guardian is linked to now.
async fn links(tx: &TenantTx, guardian: GuardianId) -> ApiResult<Vec<student_guardian::Model>> {
    Ok(tx
        .all(
            tx.find::<student_guardian::Entity>()
                .filter(student_guardian::Column::GuardianId.eq(guardian)),
        )
        .await?)
}

/// Makes the guardian's links exactly `students`.
async fn relink(
    tx: &TenantTx,
    guardian: GuardianId,
    students: &[StudentId],
    relationship: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let keep: HashSet<StudentId> = students.iter().copied().collect();
    let mut linked = HashSet::new();
    for link in links(tx, guardian).await? {
        if keep.contains(&link.student_id) {
            linked.insert(link.student_id);
        } else {
            tx.delete::<student_guardian::Entity>(link.id)
                .await
                .map_err(removal_error("guardian"))?;
        }
    }
    let new_links = students
        .iter()
        .filter(|s| !linked.contains(s))
        .map(|student| link(*student, guardian, relationship.clone(), now))
        .collect();
    tx.insert_many(new_links).await?;
    Ok(())
}

/// Changes a guardian and, when `students` is given, which students they belong to.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    id: GuardianId,
    changes: GuardianChanges,
) -> ApiResult<guardian::Model> {
    let apply = async |fields: &mut Fields, row: &mut guardian::ActiveModel| {
        if let Some(name) = &changes.first_name {
            row.first_name = Set(fields.name("input.firstName", name));
        }
        if let Some(name) = &changes.last_name {
            row.last_name = Set(fields.name("input.lastName", name));
        }
        if let Some(tz) = &changes.guardian_tz {
            row.guardian_tz = Set(fields.optional_tz("input.guardianTz", tz));
        }
        if let Some(phone) = &changes.phone {
            row.phone = Set(clean_text(phone));
        }
        if changes.email.is_some() {
            row.email = Set(fields.email("input.email", changes.email.as_deref()));
        }
        if let Some(students) = &changes.students {
            if students.is_empty() {
                fields.push(
                    "input.studentIds",
                    "a guardian belongs to at least one student",
                );
            }
            fields
                .students_exist(tx, ("input.studentIds", ""), students, "appears twice")
                .await?;
        }
        Ok(())
    };
    let refused = removal_error("guardian");
    let updated = change(tx, actor, (id, "guardian", "guardian"), apply, refused).await?;
    let now = Utc::now();
    let relationship = changes.relationship.as_deref().map(clean_text);
    if let Some(students) = &changes.students {
        relink(
            tx,
            updated.id,
            students,
            relationship.clone().flatten(),
            now,
        )
        .await?;
    }
    if let Some(relationship) = relationship {
        for link in links(tx, updated.id).await? {
            let mut link = link.into_active_model();
            link.relationship = Set(relationship.clone());
            link.updated_at = Set(now);
            tx.update(link).await.map_err(removal_error("guardian"))?;
        }
    }
    Ok(updated)
}

/// Removes a guardian and their links to students.
pub async fn delete(tx: &TenantTx, actor: &Actor, id: GuardianId) -> ApiResult<()> {
    let students: Vec<StudentId> = links(tx, id)
        .await?
        .into_iter()
        .map(|l| l.student_id)
        .collect();
    tx.delete::<guardian::Entity>(id)
        .await
        .map_err(removal_error("guardian"))?;
    audited(tx, actor, "guardian.delete", id, &students).await
}
