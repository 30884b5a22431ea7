//! Teachers: adding, changing and removing them.

use chrono::Utc;
use entity::{class_teacher, enums, ids::TeacherId, teacher, tenant::TenantTx};
use sea_orm::{ActiveValue::Set, ColumnTrait};

use super::audit;
use super::checks::Fields;
use super::checks::change;
use super::checks::removal_error;
use super::checks::remove;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::rules::clean_text;
use crate::tenant::Actor;

/// A new teacher, or changes to one (`None` leaves a field as it is; a new teacher needs both
/// names).
#[derive(Debug, Default)]
pub struct TeacherFields {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email address (empty clears it).
    pub email: Option<String>,
    /// Phone number (empty clears it).
    pub phone: Option<String>,
}

/// Checks `input` onto `row`.
fn apply(fields: &mut Fields, row: &mut teacher::ActiveModel, input: &TeacherFields) {
    if let Some(name) = &input.first_name {
        row.first_name = Set(fields.name("input.firstName", name));
    }
    if let Some(name) = &input.last_name {
        row.last_name = Set(fields.name("input.lastName", name));
    }
    if input.email.is_some() {
        row.email = Set(fields.email("input.email", input.email.as_deref()));
    }
    if let Some(phone) = &input.phone {
        row.phone = Set(clean_text(phone));
    }
}

/// Adds a teacher.
pub async fn create(tx: &TenantTx, actor: &Actor, new: TeacherFields) -> ApiResult<teacher::Model> {
    let mut fields = Fields::new();
    let now = Utc::now();
    let mut row = teacher::ActiveModel {
        id: Set(TeacherId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        status: Set(enums::RecordStatus::Active),
        email: Set(None),
        phone: Set(None),
        ..Default::default()
    };
    let new = TeacherFields {
        first_name: Some(new.first_name.unwrap_or_default()),
        last_name: Some(new.last_name.unwrap_or_default()),
        ..new
    };
    apply(&mut fields, &mut row, &new);
    fields.done()?;
    let row = tx.insert(row).await?;
    let entry = audit::Entry::new("teacher.create").on("teacher", row.id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Changes a teacher.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    id: TeacherId,
    changes: TeacherFields,
) -> ApiResult<teacher::Model> {
    let apply = async |fields: &mut Fields, row: &mut teacher::ActiveModel| {
        apply(fields, row, &changes);
        Ok(())
    };
    let refused = removal_error("teacher");
    change(tx, actor, (id, "teacher", "teacher"), apply, refused).await
}

/// Removes a teacher who no longer has classes, grades or other records.
pub async fn delete(tx: &TenantTx, actor: &Actor, id: TeacherId) -> ApiResult<()> {
    let teaches = tx
        .count(
            tx.find::<class_teacher::Entity>()
                .filter(class_teacher::Column::TeacherId.eq(id)),
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
    remove::<teacher::Entity>(tx, actor, id, ("teacher", "teacher")).await
}
