//! A fresh database per test, cloned from a migrated template so tests can run in parallel
//! without each paying for the migrations.
//!
//! - SQLite: the template is a file in the temp directory named after the migrations'
//!   fingerprint; each test copies it into its own temp directory.
//! - PostgreSQL (`TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`):
//!   the template is a database named after the fingerprint, made once under an advisory lock
//!   (several test binaries may start at once); each test gets `CREATE DATABASE … TEMPLATE …`
//!   and drops it when done. The server runs as `TEST_DATABASE_URL`'s role; the test's own
//!   connection (`conn`) as `TEST_DATABASE_SUPERUSER_URL`'s when set (see `.ci/run`).

use std::{path::PathBuf, time::Duration};

use migration::{FINGERPRINT, Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use tokio::sync::OnceCell;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, in a temp file.
    Sqlite,
    /// PostgreSQL at `TEST_DATABASE_URL`.
    Postgres,
}

/// A test's own database.
#[derive(Debug)]
pub struct TestDb {
    /// Which backend.
    pub backend: Backend,
    /// The URL the server should use.
    pub url: String,
    /// A connection for arranging and inspecting data directly.
    pub conn: DatabaseConnection,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// The PostgreSQL server's maintenance database, used to create and drop test databases.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn url_for_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin, String::new()),
    };
    let Some(slash) = base.rfind('/').filter(|i| *i > "postgres://".len()) else {
        return format!("{base}/{name}{query}");
    };
    format!("{}/{name}{query}", &base[..slash])
}

async fn admin_connection() -> DatabaseConnection {
    let mut options = ConnectOptions::new(admin_url());
    // One connection, so that the session-level advisory lock and its unlock share it.
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(30));
    Database::connect(options)
        .await
        .expect("PostgreSQL is reachable at TEST_DATABASE_URL (is it running?)")
}

impl TestDb {
    /// A fresh, migrated database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(true).await,
            Backend::Postgres => Self::postgres(true).await,
        }
    }

    /// A fresh database with no tables at all (for migration tests).
    pub async fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(false).await,
            Backend::Postgres => Self::postgres(false).await,
        }
    }

    async fn sqlite(migrated: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("school.db");
        if migrated {
            std::fs::copy(sqlite_template().await, &path).expect("copy template");
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let conn = api::db::connect(&url).await.expect("open SQLite");
        Self {
            backend: Backend::Sqlite,
            url,
            conn,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn postgres(migrated: bool) -> Self {
        let template = if migrated {
            Some(postgres_template().await)
        } else {
            None
        };
        let name = format!("school_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_connection().await;
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        // Two clones of one template at the same instant can briefly see each other as users of
        // the template; retry those.
        let mut attempt = 0;
        loop {
            match admin.execute_unprepared(&sql).await {
                Ok(_) => break,
                Err(e)
                    if attempt < 50 && e.to_string().contains("being accessed by other users") =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        let _ = admin.close().await;
        let url = url_for_database(&admin_url(), &name);
        // Tests arrange and inspect data around the tenant layer. When the owner is not a
        // superuser (as in production), forced row-level security applies to it too, so that
        // connection is a superuser's when `TEST_DATABASE_SUPERUSER_URL` names one.
        let inspect = std::env::var("TEST_DATABASE_SUPERUSER_URL")
            .map(|su| url_for_database(&su, &name))
            .unwrap_or_else(|_| url.clone());
        let conn = api::db::connect(&inspect)
            .await
            .expect("open test database");
        Self {
            backend: Backend::Postgres,
            url,
            conn,
            // Dropping needs to end the test's own connections, the superuser's among them: only
            // a superuser may do that when the owner is not one.
            cleanup: Cleanup::Postgres {
                admin_url: std::env::var("TEST_DATABASE_SUPERUSER_URL")
                    .unwrap_or_else(|_| admin_url()),
                name,
            },
        }
    }

    /// The SeaORM backend.
    pub fn db_backend(&self) -> DbBackend {
        match self.backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }

    /// Runs one raw statement (test arrangement only).
    pub async fn exec(&self, sql: &str) -> Result<(), sea_orm::DbErr> {
        self.conn
            .execute_raw(Statement::from_string(self.db_backend(), sql.to_owned()))
            .await
            .map(|_| ())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; do the async cleanup on a thread of its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) = Database::connect(admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

static SQLITE_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();

async fn sqlite_template() -> PathBuf {
    SQLITE_TEMPLATE
        .get_or_init(|| async {
            let dir = std::env::temp_dir().join("school-service-tests");
            std::fs::create_dir_all(&dir).expect("template dir");
            let path = dir.join(format!("template-{FINGERPRINT}.db"));
            if path.exists() {
                return path;
            }
            // Build under a unique name, then rename: another test binary may be doing the same.
            let tmp = dir.join(format!(
                "template-{FINGERPRINT}-{}.tmp",
                uuid::Uuid::new_v4().simple()
            ));
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", tmp.display()));
            // One connection: schema changes are made and read back on the same connection.
            options.max_connections(1).sqlx_logging(false);
            let conn = Database::connect(options).await.expect("template db");
            Migrator::up(&conn, None)
                .await
                .expect("migrate SQLite template");
            conn.close().await.expect("close template");
            std::fs::rename(&tmp, &path).expect("publish template");
            path
        })
        .await
        .clone()
}

static POSTGRES_TEMPLATE: OnceCell<String> = OnceCell::const_new();

async fn postgres_template() -> String {
    POSTGRES_TEMPLATE
        .get_or_init(|| async {
            let admin = admin_connection().await;
            // Templates are per role: a role that is not a superuser can clone only its own.
            let owner: String = admin
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT current_user::text AS u",
                ))
                .await
                .expect("current_user")
                .expect("a row")
                .try_get("", "u")
                .expect("current_user");
            let name = format!("school_tmpl_{FINGERPRINT}_{owner}");
            admin
                .execute_unprepared("SELECT pg_advisory_lock(7201)")
                .await
                .expect("lock");
            let exists = admin
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT 1 FROM pg_database WHERE datname = $1",
                    [name.clone().into()],
                ))
                .await
                .expect("pg_database");
            if exists.is_none() {
                // Templates of older migration versions are of no further use.
                let stale = admin
                    .query_all_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!(
                            "SELECT datname FROM pg_database WHERE datname LIKE 'school_tmpl_%' \
                             AND pg_get_userbyid(datdba) = '{owner}'"
                        ),
                    ))
                    .await
                    .expect("list templates");
                for row in stale {
                    let old: String = row.try_get_by_index(0).expect("datname");
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)"
                        ))
                        .await;
                }
                let building = format!("{name}_building");
                let _ = admin
                    .execute_unprepared(&format!(
                        "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
                    ))
                    .await;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{building}\""))
                    .await
                    .expect("create template");
                let conn = Database::connect(url_for_database(&admin_url(), &building))
                    .await
                    .expect("template db");
                Migrator::up(&conn, None)
                    .await
                    .expect("migrate PostgreSQL template");
                conn.close().await.expect("close template");
                admin
                    .execute_unprepared(&format!(
                        "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
                    ))
                    .await
                    .expect("publish template");
            }
            admin
                .execute_unprepared("SELECT pg_advisory_unlock(7201)")
                .await
                .expect("unlock");
            let _ = admin.close().await;
            name
        })
        .await
        .clone()
}

#[cfg(test)]
mod tests {
    use super::url_for_database;

    #[test]
    fn database_urls_swap_only_the_database_name() {
        assert_eq!(
            url_for_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            url_for_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            url_for_database("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
    }
}
