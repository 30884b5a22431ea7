//! The school's data version moves out of `school_configurations` into a platform table of its
//! own, `school_data_versions (school_id PRIMARY KEY, data_version)`. The version is what the
//! analytics cache is keyed by; kept beside the school's configuration it sat behind row-level
//! security, so reading it cost a transaction of its own (four round trips on PostgreSQL) on
//! every cached answer. As a platform table it is read in the same statement that resolves the
//! request's user, school and membership. It stays keyed by `school_id` (not a column of
//! `schools`, a reference table for a distributed PostgreSQL, which every write of every school
//! would otherwise update). Existing versions are carried over, so a client's version never goes
//! back.
#![allow(clippy::disallowed_methods)] // Moving data between tables is raw SQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::dsl::{OnDelete::Cascade, Table, big_int, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Runs `sql` with row-level security of `school_configurations` lifted for its owner (the
/// migrating role): copying every school's version is the one statement here that reads across
/// schools.
async fn across_schools(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let postgres = manager.get_database_backend() == DbBackend::Postgres;
    if postgres {
        db.execute_unprepared("ALTER TABLE school_configurations NO FORCE ROW LEVEL SECURITY")
            .await?;
    }
    db.execute_unprepared(sql).await?;
    if postgres {
        db.execute_unprepared("ALTER TABLE school_configurations FORCE ROW LEVEL SECURITY")
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Table::platform_keyed("school_data_versions", &["school_id"])
            .refers_platform("school_id", "schools", false, Cascade)
            .col(big_int("data_version").default(0))
            .create(manager)
            .await?;
        across_schools(
            manager,
            "INSERT INTO school_data_versions (school_id, data_version) \
             SELECT school_id, data_version FROM school_configurations",
        )
        .await?;
        manager
            .alter_table(
                sea_orm_migration::prelude::Table::alter()
                    .table("school_configurations")
                    .drop_column("data_version")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                sea_orm_migration::prelude::Table::alter()
                    .table("school_configurations")
                    .add_column(big_int("data_version").default(0))
                    .to_owned(),
            )
            .await?;
        across_schools(
            manager,
            "UPDATE school_configurations SET data_version = COALESCE((SELECT v.data_version \
             FROM school_data_versions v WHERE v.school_id = school_configurations.school_id), 0)",
        )
        .await?;
        drop_tables(manager, &["school_data_versions"]).await
    }
}
