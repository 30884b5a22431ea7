//! The second wall on PostgreSQL: row-level security holds on its own, with the application's
//! filter bypassed, for the role the service actually runs as.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // These tests and their helpers bypass the tenant layer on purpose.

use api::{app::Application, config::Config};
use migration::RUNTIME_ROLE;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
};
use tests::{Backend, TestDb, fixtures};

/// A pool of `size` connections as the runtime role, exactly as the service opens it.
async fn runtime_pool(db: &TestDb, size: u32) -> DatabaseConnection {
    let mut options = ConnectOptions::new(db.url.clone());
    options
        .max_connections(size)
        .min_connections(1)
        .sqlx_logging(false);
    options.map_sqlx_postgres_opts(|o| o.options([("role", RUNTIME_ROLE)]));
    Database::connect(options).await.unwrap()
}

async fn count_students(conn: &impl ConnectionTrait) -> Result<i64, sea_orm::DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*)::int8 AS n FROM students",
        ))
        .await?
        .unwrap();
    row.try_get::<i64>("", "n")
}

async fn set_school(conn: &impl ConnectionTrait, school: entity::ids::SchoolId) {
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('app.school_id', $1, true)",
        [school.to_string().into()],
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rls_alone_hides_other_schools_and_fails_loudly_without_a_school() {
    let db = TestDb::new(Backend::Postgres).await;
    let a = fixtures::school(&db.conn, "school-a").await.unwrap();
    let b = fixtures::school(&db.conn, "school-b").await.unwrap();
    for tz in ["000000018", "000000026"] {
        fixtures::student(&db.conn, a, tz).await.unwrap();
    }
    fixtures::student(&db.conn, b, "000000034").await.unwrap();
    let runtime = runtime_pool(&db, 1).await;

    // No school set: an error, not an empty answer.
    let err = count_students(&runtime).await.unwrap_err();
    assert!(err.to_string().contains("tenant context"), "{err}");

    // School A, unscoped query: only A's rows.
    let tx = runtime.begin().await.unwrap();
    set_school(&tx, a).await;
    assert_eq!(count_students(&tx).await.unwrap(), 2);
    // Writing a row of school B while acting for A is refused by the policy.
    let cross = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO subjects (school_id, id, name, status) VALUES ($1, $2, 'x', 'ACTIVE')",
            [b.into_uuid().into(), uuid::Uuid::now_v7().into()],
        ))
        .await
        .unwrap_err();
    assert!(cross.to_string().contains("row-level security"), "{cross}");
    drop(tx);

    // The same single pooled connection, next transaction: nothing carried over.
    let err = count_students(&runtime).await.unwrap_err();
    assert!(err.to_string().contains("tenant context"), "{err}");
    let tx = runtime.begin().await.unwrap();
    set_school(&tx, b).await;
    assert_eq!(count_students(&tx).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let err = count_students(&runtime).await.unwrap_err();
    assert!(err.to_string().contains("tenant context"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_as_the_restricted_role_and_passes_its_own_check() {
    let db = TestDb::new(Backend::Postgres).await;
    let config =
        Config::from_lookup(|name| (name == "DATABASE_URL").then(|| db.url.clone())).unwrap();
    let runtime = api::db::connect_runtime(&config).await.unwrap();
    let role = runtime
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS r",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role.try_get::<String>("", "r").unwrap(), RUNTIME_ROLE);
    assert_eq!(
        api::db::runtime_role_problems(&runtime).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_startup_check_refuses_a_role_that_owns_the_tables_or_bypasses_rls() {
    let db = TestDb::new(Backend::Postgres).await;
    // The test connection is the owner (a superuser, or not, as in production): everything that
    // is wrong with it is named.
    let superuser = db
        .conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT rolsuper::int AS s FROM pg_roles WHERE rolname = current_user",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i32>("", "s")
        .unwrap()
        == 1;
    let problems = api::db::runtime_role_problems(&db.conn)
        .await
        .unwrap()
        .join("\n");
    assert_eq!(problems.contains("superuser"), superuser, "{problems}");
    assert!(problems.contains("owns students"), "{problems}");

    // A production server told to run as the owner refuses to start.
    let url = db.url.clone();
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" | "DATABASE_APP_URL" => Some(url.clone()),
        "APP_ENV" => Some("production".into()),
        "JWT_SECRET" => Some("x".repeat(40)),
        "BIND_ADDR" => Some("127.0.0.1:0".into()),
        "BOOTSTRAP_ADMIN_PASSWORD" => Some("a-long-enough-password".into()),
        _ => None,
    })
    .unwrap();
    let err = Application::build(config).await.unwrap_err().to_string();
    assert!(
        err.contains("refusing to start") && err.contains("owns students"),
        "{err}"
    );

    // A table whose RLS was switched off is reported too.
    db.exec("ALTER TABLE grades NO FORCE ROW LEVEL SECURITY")
        .await
        .unwrap();
    let config =
        Config::from_lookup(|name| (name == "DATABASE_URL").then(|| db.url.clone())).unwrap();
    let runtime = api::db::connect_runtime(&config).await.unwrap();
    let problems = api::db::runtime_role_problems(&runtime).await.unwrap();
    assert_eq!(
        problems,
        ["grades does not have row-level security enabled and forced"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_table_has_forced_rls_with_the_tenant_policy() {
    let db = TestDb::new(Backend::Postgres).await;
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text AS t, (c.relrowsecurity AND c.relforcerowsecurity)::int AS forced, \
                    (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid \
                       AND pg_get_expr(p.polqual, p.polrelid) LIKE '%app.current_school_id()%' \
                       AND pg_get_expr(p.polwithcheck, p.polrelid) LIKE '%app.current_school_id()%')::int AS policies \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r'",
        ))
        .await
        .unwrap();
    for table in migration::TENANT_TABLES {
        let row = rows
            .iter()
            .find(|r| r.try_get::<String>("", "t").unwrap() == *table)
            .unwrap();
        assert_eq!(row.try_get::<i32>("", "forced").unwrap(), 1, "{table}");
        assert_eq!(row.try_get::<i32>("", "policies").unwrap(), 1, "{table}");
    }
    for table in migration::PLATFORM_TABLES {
        let row = rows
            .iter()
            .find(|r| r.try_get::<String>("", "t").unwrap() == *table)
            .unwrap();
        assert_eq!(
            row.try_get::<i32>("", "forced").unwrap(),
            0,
            "{table} is read before a school is known"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_identity_statement_binds_its_transaction_to_the_school_it_finds_and_no_other()
{
    use api::platform::{SchoolChoice, add_membership, create_user, user_in_school_binding};
    use entity::{student, tenant::TenantTx};
    let db = TestDb::new(Backend::Postgres).await;
    let a = fixtures::school(&db.conn, "school-a").await.unwrap();
    let b = fixtures::school(&db.conn, "school-b").await.unwrap();
    let mine = fixtures::student(&db.conn, a, "000000018").await.unwrap();
    let theirs = fixtures::student(&db.conn, b, "000000026").await.unwrap();
    let user = create_user(&db.conn, "dana@example.org", "Dana", "x".into())
        .await
        .unwrap();
    add_membership(&db.conn, a, user.id, entity::enums::Role::Viewer)
        .await
        .unwrap();
    let runtime = runtime_pool(&db, 1).await;

    // Named by slug: the statement finds school A and the membership, and binds to A.
    let tx = runtime.begin().await.unwrap();
    let (_, seen) = user_in_school_binding(&tx, user.id, &SchoolChoice::Slug("school-a".into()))
        .await
        .unwrap()
        .unwrap();
    let seen = seen.unwrap();
    assert_eq!(
        (seen.school.id, seen.role),
        (a, Some(entity::enums::Role::Viewer))
    );
    assert_eq!(
        count_students(&tx).await.unwrap(),
        1,
        "bound to A by the same statement"
    );
    let adopted = TenantTx::adopt(tx, a);
    assert!(
        adopted
            .get::<student::Entity>(mine)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        adopted
            .get::<student::Entity>(theirs)
            .await
            .unwrap()
            .is_none()
    );
    drop(adopted);

    // Naming school B (no membership) binds to B, and the service never adopts that; a
    // transaction bound to one school and adopted for another answers nothing from either.
    let tx = runtime.begin().await.unwrap();
    let (_, seen) = user_in_school_binding(&tx, user.id, &SchoolChoice::Id(b))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.unwrap().role, None);
    let crossed = TenantTx::adopt(tx, a);
    assert!(
        crossed
            .get::<student::Entity>(mine)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        crossed
            .get::<student::Entity>(theirs)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        crossed
            .all(crossed.find::<student::Entity>())
            .await
            .unwrap()
            .is_empty()
    );
    drop(crossed);

    // A school that does not exist binds to none: reading fails loudly.
    let tx = runtime.begin().await.unwrap();
    let unknown = SchoolChoice::Id(entity::ids::SchoolId::generate());
    let (_, seen) = user_in_school_binding(&tx, user.id, &unknown)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.is_none());
    let err = count_students(&tx).await.unwrap_err();
    assert!(err.to_string().contains("tenant context"), "{err}");
}
