//! One import run and what it found.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// One import run and what it found.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ImportLogId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub kind: String,
    pub file_name: String,
    pub status: ImportStatus,
    pub dry_run: bool,
    pub mode: String,
    pub rows_total: i32,
    pub rows_processed: i32,
    pub rows_ok: i32,
    pub rows_failed: i32,
    pub rows_unchanged: i32,
    pub errors: Json,
    pub message: Option<String>,
    pub started_by: Option<UserId>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// The service instance running the import (while it is `RUNNING`).
    pub lease_owner: Option<String>,
    /// Until when that instance holds the import; renewed while it runs. A `RUNNING` import
    /// whose lease has expired was left by a stopped instance.
    pub lease_expires_at: Option<DateTimeUtc>,
    /// How the file's headers were read: `[{header, field}]`, `field` null for a header not
    /// used (none before the file is read).
    pub columns: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
