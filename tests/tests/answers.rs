//! Big lists answered in one pass (and written straight into the HTTP answer) say exactly what
//! the general executor says: the same bytes, field for field, on every field they answer.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Test data is changed straight in the database.

use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use serde_json::{Value, json};
use tests::{As, TestApp, backend_tests, spawn_app};

/// Every field of a grade the one-pass answer knows, the subject last (the general executor
/// puts a field that waits on a loader after the ones that do not).
const GRADE: &str = "id score maxScore normalizedScore category gradedOn isFinal __typename";
const SUBJECT: &str = "subject { id name code __typename }";

/// A demo school of 30 students; some grades get a comment with quotes, a line break and
/// Hebrew, no category, or the final mark.
async fn school(app: &TestApp) -> As {
    let school = api::services::demo::create_school(&app.state.db, "בית ספר", "one-pass", 30, 7)
        .await
        .unwrap()
        .expect("a new school");
    let grades = entity::grade::Entity::find()
        .order_by_asc(entity::grade::Column::Id)
        .all(&app.db.conn)
        .await
        .unwrap();
    for (i, grade) in grades.into_iter().enumerate().filter(|(i, _)| i % 7 == 0) {
        let mut change: entity::grade::ActiveModel = grade.into();
        change.comment = Set(Some(format!("\"טוב\"\nמאוד {i} \\ \u{1}")));
        change.category = Set(None);
        change.is_final = Set(i % 2 == 0);
        entity::grade::Entity::update(change)
            .exec(&app.db.conn)
            .await
            .unwrap();
    }
    app.demo_admin(&school, "one-pass").await
}

/// The answer's text up to its extensions (which carry the school's remaining budget).
async fn text(app: &TestApp, who: &As, query: &str) -> String {
    let body = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(who.token.as_deref().unwrap())
        .header("x-school-id", who.school.as_deref().unwrap())
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("\"errors\""), "{body}");
    assert!(body.len() > 1_000, "{body}");
    body.split(",\"extensions\":").next().unwrap().to_owned()
}

/// `query` with `{{grades}}` replaced by a grades selection: as written (answered in one pass)
/// and inside an inline fragment (which sends it to the general executor).
fn both(query: &str, grades: &str) -> (String, String) {
    (
        query.replace("{{grades}}", &format!("grades {{ {grades} }}")),
        query.replace(
            "{{grades}}",
            &format!("grades {{ ... on Grade {{ {grades} }} }}"),
        ),
    )
}

backend_tests! {
    async fn grades_answered_in_one_pass_match_the_executor_byte_for_byte(backend) {
        let app = spawn_app(backend).await;
        let who = school(&app).await;
        let page = "{ classes(first: 5) { nodes { name students { firstName lastName {{grades}} } } } }";
        for grades in [
            // Every column: whole rows.
            format!("{GRADE} comment {SUBJECT}"),
            // No comment: only the columns asked for.
            format!("{GRADE} {SUBJECT}"),
            // The page the benchmarks ask for.
            "score subject { name }".to_owned(),
            "normalizedScore".to_owned(),
        ] {
            let (fast, general) = both(page, &grades);
            let before = api::graphql::lists_answered_in_one_pass();
            let fast = text(&app, &who, &fast).await;
            assert!(api::graphql::lists_answered_in_one_pass().1 > before.1, "written as JSON");
            assert_eq!(fast, text(&app, &who, &general).await, "{grades}");
            // A fragment elsewhere in the document: still one pass, but built as values.
            let with_fragment = format!("{} fragment F on Class {{ id }}", both(page, &grades).0.replacen("nodes { name", "nodes { ...F name", 1));
            let before = api::graphql::lists_answered_in_one_pass();
            let values = text(&app, &who, &with_fragment).await;
            assert!(api::graphql::lists_answered_in_one_pass().0 > before.0, "built as values");
            let strip = |s: &str| serde_json::from_str::<Value>(&format!("{s}}}")).unwrap();
            let mut values = strip(&values);
            for class in values["data"]["classes"]["nodes"].as_array_mut().unwrap() {
                class.as_object_mut().unwrap().remove("id");
            }
            assert_eq!(values, strip(&fast), "{grades}");
        }
    }

    async fn two_grades_lists_under_two_keys_keep_their_own_fields(backend) {
        let app = spawn_app(backend).await;
        let who = school(&app).await;
        // The subject twice under two keys: each keeps its own fields (the executor answers it).
        let (twice, general) = both(
            "{ classes(first: 5) { nodes { students { {{grades}} } } } }",
            "score a: subject { id } b: subject { name }",
        );
        let answer = text(&app, &who, &twice).await;
        assert_eq!(answer, text(&app, &who, &general).await);
        assert!(answer.contains(r#""a":{"id":"#) && answer.contains(r#""b":{"name":"#), "{answer}");
        let page = "{ classes(first: 5) { nodes { students { a: grades { score } b: grades { id gradedOn subject { name } } } } } }";
        let general = page
            .replace("a: grades { score }", "a: grades { ... on Grade { score } }")
            .replace("b: grades { id gradedOn subject { name } }", "b: grades { ... on Grade { id gradedOn subject { name } } }");
        assert_ne!(page, general);
        assert_eq!(text(&app, &who, page).await, text(&app, &who, &general).await);
    }

    async fn two_grades_fields_under_one_key_are_merged_as_the_executor_merges_them(backend) {
        let app = spawn_app(backend).await;
        let who = school(&app).await;
        let merged = app
            .ok(&who, "{ classes(first: 2) { nodes { students { grades { score } grades { subject { name } } } } } }", json!({}))
            .await;
        let general = app
            .ok(&who, "{ classes(first: 2) { nodes { students { grades { ... on Grade { score } } grades { ... on Grade { subject { name } } } } } } }", json!({}))
            .await;
        assert_eq!(merged, general);
        let first = &merged["classes"]["nodes"][0]["students"][0]["grades"][0];
        assert!(first["score"].is_number() && first["subject"]["name"].is_string(), "{first}");
    }
}
