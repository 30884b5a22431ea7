//! Opening the database: SQLite (the default, a file under `./data/`) or PostgreSQL, and on
//! PostgreSQL checking that the service runs as a role row-level security applies to.
#![allow(clippy::disallowed_methods)] // Catalog queries on PostgreSQL's own tables.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

use migration::{RUNTIME_ROLE, TENANT_TABLES};
use sea_orm::Statement;

use crate::config::{Config, sqlite_path};

/// Opens a connection pool to `url`. For SQLite the file's directory is created when missing,
/// foreign keys are enforced on every connection, and the file is switched to WAL so readers
/// don't block the writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_as(url, None).await
}

/// A connection for running migrations: on SQLite a single connection, so schema changes are
/// made and read back on one connection, never interleaved across a pool.
pub async fn connect_for_migrations(url: &str) -> Result<DatabaseConnection, DbErr> {
    if is_postgres(url) {
        return connect(url).await.map_err(|e| explain(e, url));
    }
    connect_with(url, None, 1, 1).await
}

/// A failed first connection, said in the operator's terms: the service creates its tables,
/// not the PostgreSQL database or the server.
fn explain(error: DbErr, url: &str) -> DbErr {
    let text = error.to_string();
    let database = url.rsplit('/').next().unwrap_or_default();
    let database = database.split('?').next().unwrap_or_default();
    let url = crate::config::redact_url(url);
    if text.contains("does not exist") && text.contains("database") {
        DbErr::Custom(format!(
            "the database `{database}` does not exist on {url}: create it first \
             (`createdb {database}` as a role that may), then start again; the service creates \
             its tables, not the database ({text})"
        ))
    } else if text.contains("Connection refused") || text.contains("connection refused") {
        DbErr::Custom(format!(
            "no PostgreSQL server answers at {url}: is it running? ({text})"
        ))
    } else {
        error
    }
}

/// Whether `url` is a PostgreSQL URL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The connection the service runs on. On PostgreSQL: `DATABASE_APP_URL` when given, else the
/// owner's URL with every connection switched to the restricted role (`role` is set in the
/// connection's start-up options, so it holds for the whole session and for every statement).
pub async fn connect_runtime(config: &Config) -> Result<DatabaseConnection, DbErr> {
    // On PostgreSQL every connection is opened up front, by the pool's own task on the server's
    // runtime. A connection opened on demand belongs to the runtime of the request that opened
    // it: opened on the heavy lane, its replies would wait while the lane is busy with an
    // expensive query, whichever school's request uses it next.
    match &config.database_app_url {
        Some(url) => connect_with(url, None, POOL_SIZE, POOL_SIZE).await,
        None if is_postgres(&config.database_url) => {
            connect_with(
                &config.database_url,
                Some(RUNTIME_ROLE),
                POOL_SIZE,
                POOL_SIZE,
            )
            .await
        }
        None => connect_as(&config.database_url, None).await,
    }
}

/// Connections in the service's pool.
const POOL_SIZE: u32 = 16;

async fn connect_as(url: &str, role: Option<&'static str>) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, role, POOL_SIZE, 1).await
}

async fn connect_with(
    url: &str,
    role: Option<&'static str>,
    max_connections: u32,
    min_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create database directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(min_connections)
        // During an outage a request fails within seconds, not after the pool's default wait.
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        // The driver pings a connection when it goes back to the pool; pinging it again when
        // it is taken out cost two of a simple lookup's nine round trips. A connection idle
        // for a second (as after an outage) is still checked before use.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
    if min_connections == max_connections {
        // A fixed pool: its connections are neither closed when idle nor replaced by age, so
        // none is reopened later from whichever runtime happens to ask.
        options
            .idle_timeout(None::<Duration>)
            .max_lifetime(None::<Duration>);
    }
    if let Some(role) = role {
        options.map_sqlx_postgres_opts(move |opts| opts.options([("role", role)]));
    }
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite && sqlite_path(url).is_some() {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    Ok(db)
}

/// What is wrong with running the service on `conn` (PostgreSQL only; empty when all is well):
/// the role must not be a superuser, must not bypass row-level security, must not own (or
/// inherit the rights of the owner of) any tenant table, and every tenant table must have
/// row-level security enabled and forced.
pub async fn runtime_role_problems(conn: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(Vec::new());
    }
    let mut problems = Vec::new();
    let role = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS name, rolsuper::int AS sup, rolbypassrls::int AS bypass \
             FROM pg_roles WHERE rolname = current_user",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("current role not found in pg_roles".into()))?;
    let name: String = role.try_get("", "name")?;
    if role.try_get::<i32>("", "sup")? == 1 {
        problems.push(format!(
            "role {name} is a superuser (row-level security does not apply to it)"
        ));
    }
    if role.try_get::<i32>("", "bypass")? == 1 {
        problems.push(format!("role {name} has BYPASSRLS"));
    }
    let tables = conn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text AS t, pg_has_role(current_user, c.relowner, 'USAGE')::int AS owns, \
                    c.relrowsecurity::int AS rls, c.relforcerowsecurity::int AS forced \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r'",
        ))
        .await?;
    for tenant_table in TENANT_TABLES {
        let Some(row) = tables.iter().find(|r| {
            r.try_get::<String>("", "t")
                .is_ok_and(|t| t == *tenant_table)
        }) else {
            problems.push(format!("tenant table {tenant_table} is missing"));
            continue;
        };
        if row.try_get::<i32>("", "owns")? == 1 {
            problems.push(format!(
                "role {name} owns {tenant_table} (owners can bypass row-level security)"
            ));
        }
        if row.try_get::<i32>("", "rls")? != 1 || row.try_get::<i32>("", "forced")? != 1 {
            problems.push(format!(
                "{tenant_table} does not have row-level security enabled and forced"
            ));
        }
    }
    Ok(problems)
}
