//! Schema migrations for SQLite and PostgreSQL.
//!
//! Every tenant-owned table is keyed `(school_id, id)`, every reference between tenant tables is a
//! composite foreign key carrying `school_id`, and every unique constraint or index starts with
//! `school_id`. The database itself therefore refuses a row of one school that points at a row of
//! another. The helpers in [`dsl`] make that shape the default, so a new table has to go out of
//! its way to break it (and the catalog test in `tests/` fails CI if one does).

pub use sea_orm_migration::prelude::*;

mod dsl;
mod m20261122_000001_platform;
mod m20261122_000002_roster;
mod m20261122_000003_records;
mod m20261122_000004_operations;
mod m20261122_000005_row_level_security;
mod m20261122_000006_parallel_safe_tenant;
mod m20261122_000007_school_data_versions;
mod m20261130_000008_import_leases;
mod m20261130_000009_invitations;
mod m20261130_000010_import_columns;

pub use m20261122_000005_row_level_security::enable_tenant_rls;

/// Tables that belong to the platform rather than to one school. Every other table is
/// tenant-owned and must follow the tenant rules (checked by the catalog test).
pub const PLATFORM_TABLES: &[&str] = &[
    "schools",
    "users",
    "memberships",
    "school_domains",
    "api_tokens",
    "school_data_versions",
    "invitations",
];

/// A hash of the migration sources: changes whenever any migration does. Test templates are
/// keyed by it so a stale template is never reused.
pub const FINGERPRINT: &str = env!("MIGRATION_FINGERPRINT");

/// Every tenant-owned table (the catalog test checks this list against the database).
pub const TENANT_TABLES: &[&str] = &[
    "teachers",
    "subjects",
    "academic_years",
    "terms",
    "classes",
    "class_teachers",
    "students",
    "enrollments",
    "guardians",
    "student_guardians",
    "assessments",
    "grades",
    "attendance_records",
    "incidents",
    "health_records",
    "student_documents",
    "academic_history",
    "import_logs",
    "ml_models",
    "audit_log",
    "school_configurations",
    "feature_usage",
];

/// The PostgreSQL role the service runs as: no ownership, no `BYPASSRLS`. Migrations create it
/// (`NOLOGIN`) when missing and grant it table access; production gives it a login and a
/// password, or the service switches to it from the owner's connection (see `api::db`).
pub const RUNTIME_ROLE: &str = "school_app";

/// The migrator the binary and the tests run.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_platform::Migration),
            Box::new(m20261122_000002_roster::Migration),
            Box::new(m20261122_000003_records::Migration),
            Box::new(m20261122_000004_operations::Migration),
            Box::new(m20261122_000005_row_level_security::Migration),
            Box::new(m20261122_000006_parallel_safe_tenant::Migration),
            Box::new(m20261122_000007_school_data_versions::Migration),
            Box::new(m20261130_000008_import_leases::Migration),
            Box::new(m20261130_000009_invitations::Migration),
            Box::new(m20261130_000010_import_columns::Migration),
        ]
    }
}
