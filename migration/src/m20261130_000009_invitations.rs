//! Invitations: adding a person to a school is an invitation they accept or decline, so a school
//! never learns about, nor changes, a user of another school without that user's consent. An
//! invitation is accepted with its code (stored as a SHA-256), which the school hands to the
//! person: holding the account is not enough.

use sea_orm_migration::prelude::*;

use crate::dsl::{OnDelete, Table, drop_tables, one_of, text, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Table::platform("invitations")
            .refers_platform("school_id", "schools", false, OnDelete::Cascade)
            .refers_platform("user_id", "users", false, OnDelete::Cascade)
            .refers_platform("invited_by", "users", true, OnDelete::Restrict)
            .col(one_of("role", &["ADMIN", "TEACHER", "VIEWER"]))
            .col(one_of("status", &["PENDING", "ACCEPTED", "DECLINED"]).default("PENDING"))
            .col(timestamp("expires_at"))
            .col(text("code_hash"))
            .unique(&["school_id", "user_id"])
            .unique(&["code_hash"])
            .index(&["user_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["invitations"]).await
    }
}
