//! The append-only audit log, kept per school.

use chrono::Utc;
use entity::{audit_log, ids::*, tenant::TenantTx};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr};
use serde_json::Value;
use uuid::Uuid;

use crate::tenant::Actor;

/// One audit entry to write.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// What happened, e.g. `membership.create`.
    pub action: &'a str,
    /// The kind of record it concerned, if any.
    pub entity_type: Option<&'a str>,
    /// The record's id, if any.
    pub entity_id: Option<Uuid>,
    /// Anything else worth keeping (never secrets or health details).
    pub details: Option<Value>,
}

impl<'a> Entry<'a> {
    /// An entry for `action` with nothing else.
    pub fn new(action: &'a str) -> Self {
        Self {
            action,
            entity_type: None,
            entity_id: None,
            details: None,
        }
    }

    /// Names the record concerned.
    pub fn on(mut self, entity_type: &'a str, id: impl Into<Uuid>) -> Self {
        self.entity_type = Some(entity_type);
        self.entity_id = Some(id.into());
        self
    }

    /// Adds details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// Writes `entry` in `tx` (so it commits or rolls back with the change it records).
pub async fn write(tx: &TenantTx, actor: Option<&Actor>, entry: Entry<'_>) -> Result<(), DbErr> {
    tx.insert(audit_log::ActiveModel {
        id: Set(AuditLogId::generate()),
        actor_kind: Set(actor.map_or("SYSTEM", Actor::kind).to_owned()),
        actor_id: Set(actor.map(Actor::id)),
        actor_is_superadmin: Set(actor.is_some_and(Actor::is_superadmin)),
        action: Set(entry.action.to_owned()),
        entity_type: Set(entry.entity_type.map(str::to_owned)),
        entity_id: Set(entry.entity_id),
        details: Set(entry.details),
        at: Set(Utc::now()),
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// Writes `entry` to `school`'s log inside `tx`, the write transaction of the change it records:
/// the change and its entry commit together (or neither does).
pub async fn write_in(
    tx: &entity::writer::WriteTx,
    school: SchoolId,
    actor: Option<&Actor>,
    entry: Entry<'_>,
) -> Result<(), DbErr> {
    let scoped = TenantTx::nested(tx, school).await?;
    write(&scoped, actor, entry).await?;
    scoped.commit().await
}

/// Writes `entry` to `school`'s log in a transaction of its own.
pub async fn write_now(
    db: &DatabaseConnection,
    school: SchoolId,
    actor: Option<&Actor>,
    entry: Entry<'_>,
) -> Result<(), DbErr> {
    let tx = TenantTx::begin_write(db, school).await?;
    write(&tx, actor, entry).await?;
    tx.commit().await
}
