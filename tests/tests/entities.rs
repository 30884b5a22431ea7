//! Every entity reads its table: the Rust models and the migrated tables agree on names and
//! types.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use sea_orm::EntityTrait;
use tests::{TestDb, backend_tests, fixtures};

macro_rules! select_all {
    ($conn:expr, $($module:ident),* $(,)?) => {{
        $(
            entity::$module::Entity::find()
                .all($conn)
                .await
                .unwrap_or_else(|e| panic!("{} does not match its table: {e}", stringify!($module)));
        )*
    }};
}

backend_tests! {
    async fn every_entity_matches_its_table(backend) {
        let db = TestDb::new(backend).await;
        let school = fixtures::school(&db.conn, "school-a").await.unwrap();
        let (year, term, subject) = fixtures::calendar(&db.conn, school).await.unwrap();
        let student = fixtures::student(&db.conn, school, "000000018").await.unwrap();
        fixtures::class(&db.conn, school, year, "ז'1").await.unwrap();
        fixtures::teacher(&db.conn, school).await.unwrap();
        fixtures::grade(&db.conn, school, student, subject, term).await.unwrap();

        select_all!(
            &db.conn,
            school, user, membership, school_domain, api_token, teacher, subject, academic_year,
            term, class, class_teacher, student, enrollment, guardian, student_guardian, assessment,
            grade, attendance_record, incident, health_record, student_document, academic_history,
            import_log, ml_model, audit_log, school_configuration, feature_usage,
        );

        let stored = entity::student::Entity::find_by_id((school, student)).one(&db.conn).await.unwrap().unwrap();
        assert_eq!(stored.student_tz, "000000018");
        assert_eq!(stored.first_name, "נועה");
        assert_eq!(stored.status, entity::enums::RecordStatus::Active);
        let grade = entity::grade::Entity::find().one(&db.conn).await.unwrap().unwrap();
        assert_eq!((grade.score, grade.max_score, grade.student_id), (87.5, 100.0, student));
    }
}
