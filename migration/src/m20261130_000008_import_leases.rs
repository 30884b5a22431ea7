//! Imports hold a lease: `import_logs.lease_owner` (the instance running the import) and
//! `lease_expires_at` (renewed while it runs). An instance that starts, or sweeps, fails only
//! the `RUNNING` imports whose lease has expired, never another live instance's.

use sea_orm_migration::prelude::*;

use crate::dsl::{text_null, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn alter() -> TableAlterStatement {
    sea_orm_migration::prelude::Table::alter()
        .table("import_logs")
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(alter().add_column(text_null("lease_owner")).to_owned())
            .await?;
        manager
            .alter_table(
                alter()
                    .add_column(timestamp_null("lease_expires_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(alter().drop_column("lease_expires_at").to_owned())
            .await?;
        manager
            .alter_table(alter().drop_column("lease_owner").to_owned())
            .await
    }
}
