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
        assert_eq!(first.len(), 27, "5 platform tables and 22 tenant tables: {:?}", first.keys());
        assert!(Migrator::get_pending_migrations(&db.conn).await.unwrap().is_empty());

        // Three steps down (the parallel-safe tenant function, row-level security, then the
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
}
