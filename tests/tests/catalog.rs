//! The migrated schema, read back from the database's own catalog, keeps the tenant rules.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use migration::PLATFORM_TABLES;
use tests::{TestDb, backend_tests, catalog};

/// Every tenant table DESIGN §2 lists.
const TENANT_TABLES: &[&str] = &[
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

/// Tables that break each rule once, in the same SQL on both backends.
const BROKEN_TABLES: &str = "
CREATE TABLE bad_pk (
    school_id uuid NOT NULL REFERENCES schools (id),
    id uuid NOT NULL PRIMARY KEY
);
CREATE TABLE bad_fk (
    school_id uuid NOT NULL REFERENCES schools (id),
    id uuid NOT NULL,
    other_school_id uuid NOT NULL,
    student_id uuid NOT NULL,
    PRIMARY KEY (school_id, id),
    FOREIGN KEY (other_school_id, student_id) REFERENCES students (school_id, id)
);
CREATE TABLE bad_index (
    school_id uuid NOT NULL REFERENCES schools (id),
    id uuid NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (school_id, id)
);
CREATE UNIQUE INDEX uq_bad_index_name ON bad_index (name);
CREATE TABLE bad_nullable (
    school_id uuid REFERENCES schools (id),
    id uuid NOT NULL PRIMARY KEY
);
";

backend_tests! {
    async fn every_tenant_table_keeps_the_tenant_rules(backend) {
        let db = TestDb::new(backend).await;
        let catalog = catalog::read(&db.conn).await;

        let violations = catalog::tenant_rule_violations(&catalog, PLATFORM_TABLES);
        assert!(violations.is_empty(), "tenant rules broken:\n{}", violations.join("\n"));

        let mut tenant: Vec<&str> =
            catalog.keys().map(String::as_str).filter(|t| !PLATFORM_TABLES.contains(t)).collect();
        tenant.sort_unstable();
        let mut expected = TENANT_TABLES.to_vec();
        expected.sort_unstable();
        assert_eq!(tenant, expected, "the tenant tables are exactly those of DESIGN §2");
        for platform in PLATFORM_TABLES {
            assert!(catalog.contains_key(*platform), "platform table {platform} exists");
        }
    }

    async fn the_named_unique_keys_start_with_school_id(backend) {
        let db = TestDb::new(backend).await;
        let catalog = catalog::read(&db.conn).await;
        let unique_on = |table: &str, cols: &[&str]| {
            catalog[table].indexes.iter().any(|ix| ix.unique && ix.columns == cols)
        };
        assert!(unique_on("students", &["school_id", "student_tz"]));
        assert!(unique_on("classes", &["school_id", "academic_year_id", "name"]));
        assert!(unique_on("attendance_records", &["school_id", "student_id", "date", "period"]));
        assert!(unique_on("students", &["school_id", "external_id"]));
        assert!(catalog["memberships"].primary_key == ["school_id", "user_id"]);
    }

    async fn the_catalog_check_catches_each_kind_of_broken_table(backend) {
        let db = TestDb::new(backend).await;
        for statement in BROKEN_TABLES.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            db.exec(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let catalog = catalog::read(&db.conn).await;
        let violations = catalog::tenant_rule_violations(&catalog, PLATFORM_TABLES).join("\n");

        assert!(violations.contains("bad_pk: primary key is [\"id\"]"), "{violations}");
        assert!(violations.contains("bad_fk: foreign key") && violations.contains("-> students"), "{violations}");
        assert!(violations.contains("bad_index: unique index uq_bad_index_name"), "{violations}");
        assert!(violations.contains("bad_nullable: school_id is nullable"), "{violations}");
        for line in violations.lines() {
            assert!(line.starts_with("bad_"), "only the broken tables are reported: {line}");
        }
    }
}
