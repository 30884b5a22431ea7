//! Platform tables: schools, users, the hosts and integrator tokens that resolve to a school.
//! Memberships refer to teachers, so they are created with the roster.

use sea_orm_migration::prelude::*;

use crate::dsl::{
    OnDelete, Table, boolean, drop_tables, int, one_of, text, timestamp, timestamp_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Table::platform("schools")
            .col(text("name"))
            .col(text("slug"))
            .col(timestamp("updated_at"))
            .unique(&["slug"])
            .create(manager)
            .await?;

        Table::platform("users")
            .col(text("email"))
            .col(text("password_hash"))
            .col(text("full_name"))
            .col(boolean("is_active", true))
            .col(boolean("is_superadmin", false))
            .col(int("token_version").default(0))
            .col(timestamp("updated_at"))
            .unique(&["email"])
            .create(manager)
            .await?;

        Table::platform("school_domains")
            .refers_platform("school_id", "schools", false, OnDelete::Cascade)
            .col(text("host"))
            .unique(&["host"])
            .index(&["school_id"])
            .create(manager)
            .await?;

        Table::platform("api_tokens")
            .refers_platform("school_id", "schools", false, OnDelete::Cascade)
            .col(text("name"))
            .col(one_of("role", &["ADMIN", "TEACHER", "VIEWER"]))
            .col(text("token_hash"))
            .refers_platform("created_by", "users", true, OnDelete::Restrict)
            .col(timestamp_null("expires_at"))
            .col(timestamp_null("last_used_at"))
            .col(timestamp_null("revoked_at"))
            .unique(&["token_hash"])
            .index(&["school_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &["api_tokens", "school_domains", "users", "schools"],
        )
        .await
    }
}
