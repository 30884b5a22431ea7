//! Migrations go up, all the way down, and up again, leaving the same schema.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use migration::{Migrator, MigratorTrait};
use tests::{TestDb, backend_tests, catalog};

struct Migrations {
    conn: sea_orm::DatabaseConnection,
}

backend_tests! {
    async fn migrations_go_up_down_and_up_again_to_the_same_schema(backend) {
        let test_db = TestDb::empty(backend).await;
        // Migrations run the way the server runs them (one connection on SQLite).
        let db = Migrations { conn: api::db::connect_for_migrations(&test_db.url).await.unwrap() };
        assert!(catalog::read(&db.conn).await.is_empty(), "starts empty");

        Migrator::up(&db.conn, None).await.expect("up");
        let first = catalog::read(&db.conn).await;
        assert_eq!(first.len(), 29, "7 platform tables and 22 tenant tables: {:?}", first.keys());
        assert!(Migrator::get_pending_migrations(&db.conn).await.unwrap().is_empty());
        assert!(!first["school_configurations"].columns.contains_key("data_version"));
        assert!(first["school_data_versions"].columns.contains_key("data_version"));

        assert!(first["import_logs"].columns.contains_key("lease_expires_at"));
        assert!(first["import_logs"].columns.contains_key("columns"));

        // One step down removes the import's header mapping, the next the invitations, the next
        // the import leases, one more puts the data version back beside the configuration.
        Migrator::down(&db.conn, Some(1)).await.expect("down one");
        assert!(!catalog::read(&db.conn).await["import_logs"].columns.contains_key("columns"));
        Migrator::down(&db.conn, Some(1)).await.expect("down one");
        assert!(!catalog::read(&db.conn).await.contains_key("invitations"));
        Migrator::down(&db.conn, Some(1)).await.expect("down one");
        assert!(!catalog::read(&db.conn).await["import_logs"].columns.contains_key("lease_expires_at"));
        Migrator::down(&db.conn, Some(1)).await.expect("down one more");
        let before = catalog::read(&db.conn).await;
        assert!(before["school_configurations"].columns.contains_key("data_version"));
        assert!(!before.contains_key("school_data_versions"));

        // Three more steps down (the parallel-safe tenant function, row-level security, then the
        // operations tables) remove exactly the operations tables.
        Migrator::down(&db.conn, Some(3)).await.expect("down three");
        let partial = catalog::read(&db.conn).await;
        for table in ["import_logs", "ml_models", "audit_log", "school_configurations", "feature_usage"] {
            assert!(!partial.contains_key(table), "{table} dropped");
        }
        assert_eq!(partial.len(), 22);

        Migrator::down(&db.conn, None).await.expect("down all");
        assert!(catalog::read(&db.conn).await.is_empty(), "every table dropped");
        assert_eq!(Migrator::get_pending_migrations(&db.conn).await.unwrap().len(), Migrator::migrations().len());

        Migrator::up(&db.conn, None).await.expect("up again");
        assert_eq!(catalog::read(&db.conn).await, first, "the schema after up-down-up is the same");
    }

    async fn the_data_version_moves_to_its_own_table_and_back_with_its_value(backend) {
        use sea_orm::{ConnectionTrait, Statement, Value};
        let test_db = TestDb::empty(backend).await;
        let db = api::db::connect_for_migrations(&test_db.url).await.unwrap();
        let b = db.get_database_backend();
        let p = |n: usize| if b == sea_orm::DbBackend::Postgres { format!("${n}") } else { "?".to_owned() };
        let before_move = Migrator::migrations().len() as u32 - 4;
        Migrator::up(&db, Some(before_move)).await.expect("up to the move");
        let school = uuid::Uuid::new_v4();
        test_db.conn.execute_raw(Statement::from_sql_and_values(b, format!("INSERT INTO schools (id, name, slug) VALUES ({}, 'A', 'a')", p(1)), [Value::from(school)])).await.unwrap();
        test_db.conn.execute_raw(Statement::from_sql_and_values(
            b,
            format!("INSERT INTO school_configurations (school_id, id, risk_thresholds, branding, feature_flags, data_version) VALUES ({}, {}, '{{}}', '{{}}', '{{}}', 7)", p(1), p(2)),
            [Value::from(school), Value::from(uuid::Uuid::new_v4())],
        ))
        .await
        .unwrap();

        Migrator::up(&db, Some(1)).await.expect("the move");
        let moved = test_db.conn
            .query_one_raw(Statement::from_sql_and_values(b, format!("SELECT data_version FROM school_data_versions WHERE school_id = {}", p(1)), [Value::from(school)]))
            .await
            .unwrap()
            .expect("the school's version row");
        assert_eq!(moved.try_get::<i64>("", "data_version").unwrap(), 7);

        Migrator::down(&db, Some(1)).await.expect("back");
        let back = test_db.conn
            .query_one_raw(Statement::from_sql_and_values(b, format!("SELECT data_version FROM school_configurations WHERE school_id = {}", p(1)), [Value::from(school)]))
            .await
            .unwrap()
            .expect("the configuration");
        assert_eq!(back.try_get::<i64>("", "data_version").unwrap(), 7);
    }
}
