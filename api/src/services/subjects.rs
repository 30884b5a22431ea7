//! Subjects: adding, changing and removing them.

use chrono::Utc;
use entity::{enums, ids::SubjectId, subject, tenant::TenantTx};
use sea_orm::ActiveValue::Set;

use super::audit;
use super::checks::Fields;
use super::checks::change;
use super::checks::conflict_or_internal;
use super::checks::remove;
use super::checks::update_error;
use crate::error::ApiResult;
use crate::rules::clean_text;
use crate::tenant::Actor;

const CLASH: &str = "a subject with this name";

/// A new subject, or changes to one (`None` leaves a field as it is).
#[derive(Debug, Default)]
pub struct SubjectFields {
    /// The name (unique in the school; required for a new subject).
    pub name: Option<String>,
    /// A short code (empty clears it).
    pub code: Option<String>,
}

fn apply(fields: &mut Fields, row: &mut subject::ActiveModel, input: &SubjectFields) {
    if let Some(name) = &input.name {
        row.name = Set(fields.name("input.name", name));
    }
    if let Some(code) = &input.code {
        row.code = Set(clean_text(code));
    }
}

/// Adds a subject.
pub async fn create(tx: &TenantTx, actor: &Actor, new: SubjectFields) -> ApiResult<subject::Model> {
    let mut fields = Fields::new();
    let now = Utc::now();
    let mut row = subject::ActiveModel {
        id: Set(SubjectId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        status: Set(enums::RecordStatus::Active),
        code: Set(None),
        ..Default::default()
    };
    let new = SubjectFields {
        name: Some(new.name.unwrap_or_default()),
        ..new
    };
    apply(&mut fields, &mut row, &new);
    fields.done()?;
    let row = tx
        .insert(row)
        .await
        .map_err(|e| conflict_or_internal(e, "input.name", CLASH))?;
    let entry = audit::Entry::new("subject.create").on("subject", row.id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Changes a subject.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    id: SubjectId,
    changes: SubjectFields,
) -> ApiResult<subject::Model> {
    let apply = async |fields: &mut Fields, row: &mut subject::ActiveModel| {
        apply(fields, row, &changes);
        Ok(())
    };
    let refused = update_error("subject", "input.name", CLASH);
    change(tx, actor, (id, "subject", "subject"), apply, refused).await
}

/// Removes a subject that no class or grade refers to.
pub async fn delete(tx: &TenantTx, actor: &Actor, id: SubjectId) -> ApiResult<()> {
    remove::<subject::Entity>(tx, actor, id, ("subject", "subject")).await
}
