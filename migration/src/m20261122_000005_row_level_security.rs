//! The second wall, PostgreSQL only: row-level security on every tenant table, keyed on the
//! transaction-local setting `app.school_id`, and the restricted runtime role `school_app` the
//! service runs as (it neither owns the tables nor bypasses RLS). On SQLite this migration does
//! nothing: there the application's tenant layer is the only wall.
#![allow(clippy::disallowed_methods)] // DDL is raw SQL by nature.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::{RUNTIME_ROLE, TENANT_TABLES};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CURRENT_SCHOOL_FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION app.current_school_id() RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE v text := current_setting('app.school_id', true);
BEGIN
  -- Unset (NULL) and reset after a transaction ('') both mean: no tenant. Fail loudly rather
  -- than let a policy silently match nothing.
  IF v IS NULL OR v = '' THEN
    RAISE EXCEPTION 'tenant context (app.school_id) not set' USING ERRCODE = '42501';
  END IF;
  RETURN v::uuid;
END $$
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("CREATE SCHEMA IF NOT EXISTS app")
            .await?;
        db.execute_unprepared(CURRENT_SCHOOL_FUNCTION).await?;
        // Roles are cluster-wide: create it once, tolerate a concurrent creator.
        db.execute_unprepared(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') THEN
                 CREATE ROLE {RUNTIME_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
               END IF;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
             END $$"
        ))
        .await?;
        // The owner may switch its connections to the runtime role (the single-URL set-up).
        db.execute_unprepared(&format!(
            "DO $$ BEGIN
               IF NOT pg_has_role(current_user, '{RUNTIME_ROLE}', 'MEMBER') THEN
                 EXECUTE format('GRANT {RUNTIME_ROLE} TO %I', current_user);
               END IF;
             END $$"
        ))
        .await?;
        for grant in [
            format!("GRANT USAGE ON SCHEMA app TO {RUNTIME_ROLE}"),
            format!("GRANT EXECUTE ON FUNCTION app.current_school_id() TO {RUNTIME_ROLE}"),
            format!("GRANT USAGE ON SCHEMA public TO {RUNTIME_ROLE}"),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {RUNTIME_ROLE}"
            ),
            format!(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {RUNTIME_ROLE}"
            ),
        ] {
            db.execute_unprepared(&grant).await?;
        }
        for table in TENANT_TABLES {
            enable_tenant_rls(manager, table).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for table in TENANT_TABLES {
            db.execute_unprepared(&format!(
                "DROP POLICY IF EXISTS tenant_isolation ON {table}"
            ))
            .await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
                .await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
                .await?;
        }
        db.execute_unprepared(&format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {RUNTIME_ROLE}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {RUNTIME_ROLE}"
        ))
        .await?;
        db.execute_unprepared(&format!("REVOKE ALL ON SCHEMA public FROM {RUNTIME_ROLE}"))
            .await?;
        db.execute_unprepared("DROP SCHEMA IF EXISTS app CASCADE")
            .await?;
        // The role itself stays: it is cluster-wide and other databases may use it.
        Ok(())
    }
}

/// Turns on and forces row-level security for `table` with the tenant policy. A migration that
/// adds a tenant table calls this too (the catalog test fails otherwise).
pub async fn enable_tenant_rls(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    db.execute_unprepared(&format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
        .await?;
    db.execute_unprepared(&format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
        .await?;
    db.execute_unprepared(&format!(
        "CREATE POLICY tenant_isolation ON {table} \
         USING (school_id = (SELECT app.current_school_id())) \
         WITH CHECK (school_id = (SELECT app.current_school_id()))"
    ))
    .await?;
    Ok(())
}
