//! An import's log keeps how the file's headers were read (`import_logs.columns`): each header
//! and the field it was taken as (or none), so a dry run shows the mapping a user may override.

use sea_orm_migration::prelude::*;

use crate::dsl::json_null;

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
        manager
            .alter_table(alter().add_column(json_null("columns")).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(alter().drop_column("columns").to_owned())
            .await
    }
}
