//! Nested lists cost one statement per level, whatever the number of rows (no N+1).

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Test data is written straight to the database, in bulk.

use std::sync::atomic::Ordering;

use chrono::NaiveDate;
use entity::{enums::*, ids::*};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::json;
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests, fixtures, spawn_app};

const NESTED: &str =
    "{ classes(first: 30) { nodes { students { grades { subject { name } } } } } }";

/// 30 classes of `per_class` students with two grades each, in `school`.
async fn fill(conn: &DatabaseConnection, school: SchoolId, per_class: usize) {
    let (year, term, subject) = fixtures::calendar(conn, school).await.unwrap();
    let mut tz = 100_000_000u32 * (per_class as u32 % 7 + 1);
    for c in 0..30 {
        let class = fixtures::class(conn, school, year, &format!("class-{c}"))
            .await
            .unwrap();
        let mut students = Vec::new();
        let mut grades = Vec::new();
        for _ in 0..per_class {
            // Any distinct 9-digit text will do here: the database does not check the digit.
            tz += 1;
            let id = StudentId::generate();
            students.push(entity::student::ActiveModel {
                school_id: Set(school),
                id: Set(id),
                student_tz: Set(format!("{tz:09}")),
                first_name: Set("s".into()),
                last_name: Set("s".into()),
                class_id: Set(Some(class)),
                status: Set(RecordStatus::Active),
                ..Default::default()
            });
            for day in [3, 4] {
                grades.push(entity::grade::ActiveModel {
                    school_id: Set(school),
                    id: Set(GradeId::generate()),
                    student_id: Set(id),
                    subject_id: Set(subject),
                    term_id: Set(term),
                    score: Set(80.0),
                    max_score: Set(100.0),
                    graded_on: Set(NaiveDate::from_ymd_opt(2025, 11, day).unwrap()),
                    is_final: Set(false),
                    status: Set(RecordStatus::Active),
                    ..Default::default()
                });
            }
        }
        entity::student::Entity::insert_many(students)
            .exec(conn)
            .await
            .unwrap();
        entity::grade::Entity::insert_many(grades)
            .exec(conn)
            .await
            .unwrap();
    }
}

async fn statements_for(app: &TestApp, who: &As) -> (u64, usize) {
    let before = app.state.statements.load(Ordering::SeqCst);
    let data = app.ok(who, NESTED, json!({})).await;
    let after = app.state.statements.load(Ordering::SeqCst);
    let students: usize = data["classes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["students"].as_array().unwrap().len())
        .sum();
    (after - before, students)
}

backend_tests! {
    async fn nested_lists_cost_the_same_statements_with_3_or_30_students_per_class(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let b = app.create_school(&root, "school-b").await;
        let first = entity::school::Entity::find().all(&app.db.conn).await.unwrap().into_iter().find(|s| s.slug == FIRST_SCHOOL).unwrap().id;
        fill(&app.db.conn, first, 3).await;
        fill(&app.db.conn, b.parse().unwrap(), 30).await;
        app.add_member(&root, FIRST_SCHOOL, "dana@example.org", "VIEWER").await;
        let dana = app.member_token(&root, "school-b", "dana@example.org", "VIEWER").await;

        let (small, small_rows) = statements_for(&app, &As::in_school(&dana, FIRST_SCHOOL)).await;
        let (large, large_rows) = statements_for(&app, &As::in_school(&dana, "school-b")).await;
        assert_eq!((small_rows, large_rows), (90, 900));
        println!("statements for {NESTED}: {small} with 3 students per class, {large} with 30");
        assert_eq!(small, large, "the statement count does not grow with the rows");
        // 4 levels (classes with their count, students, grades, subjects), plus the request's
        // authentication (user, school, membership) and, on PostgreSQL, one set_config per
        // scoped transaction.
        assert!(large <= 4 + 1 + 3 + 5, "{large} statements");
    }

    async fn a_single_lookup_costs_the_identity_statement_and_the_lookup(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let school = entity::school::Entity::find().all(&app.db.conn).await.unwrap().into_iter().find(|s| s.slug == FIRST_SCHOOL).unwrap().id;
        let student = tests::fixtures::student(&app.db.conn, school, "000000018").await.unwrap();
        let dana = app.member_token(&root, FIRST_SCHOOL, "dana@example.org", "VIEWER").await;
        let who = As::in_school(&dana, FIRST_SCHOOL);
        let query = "query($id: UUID!) { student(id: $id) { firstName } }";
        let variables = json!({ "id": student.to_string() });
        app.ok(&who, query, variables.clone()).await;
        let before = app.state.statements.load(Ordering::SeqCst);
        let data = app.ok(&who, query, variables).await;
        let after = app.state.statements.load(Ordering::SeqCst);
        assert_eq!(data["student"]["firstName"], "נועה");
        // The user, school and membership in one statement; on PostgreSQL that statement also
        // binds its transaction to the school, which the lookup then reads in.
        assert_eq!(after - before, 2);
    }
}
