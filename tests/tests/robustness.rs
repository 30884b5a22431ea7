//! Nothing lost, nothing half-true: concurrent writers on both backends, text both backends can
//! store, malformed requests answered with a code, wildcards that match only themselves, and
//! list sizes refused alike everywhere.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests, code};

async fn admin(app: &TestApp) -> As {
    let root = app.root().await;
    let token = app
        .member_token(&root, FIRST_SCHOOL, "office@example.org", "ADMIN")
        .await;
    As::token(&token)
}

/// A year, a term, a subject and a student; their ids.
async fn calendar(app: &TestApp, who: &As) -> (Value, Value, Value) {
    let year = app.ok(who, "mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2025-09-01\", endDate: \"2026-06-20\", isCurrent: true }) { id } }", json!({})).await["createAcademicYear"]["id"].clone();
    let term = app.ok(who, "mutation($y: UUID!) { createTerm(input: { academicYearId: $y, name: \"א\", startDate: \"2025-09-01\", endDate: \"2026-01-31\" }) { id } }", json!({ "y": year })).await["createTerm"]["id"].clone();
    let subject = app
        .ok(
            who,
            "mutation { createSubject(input: { name: \"מתמטיקה\" }) { id } }",
            json!({}),
        )
        .await["createSubject"]["id"]
        .clone();
    let student = app.ok(who, "mutation { createStudent(input: { studentTz: \"039337423\", firstName: \"נועה\", lastName: \"כהן\" }) { id } }", json!({})).await["createStudent"]["id"].clone();
    (term, subject, student)
}

/// Every place a client sends text, with the field the refusal must name. `$t` is the text.
const TEXT_CASES: &[(&str, &str)] = &[
    (
        "mutation($t: String!) { createStudent(input: { studentTz: \"000000018\", firstName: $t, lastName: \"x\" }) { id } }",
        "$t",
    ),
    (
        "mutation($t: String!) { createSubject(input: { name: $t }) { id } }",
        "$t",
    ),
    (
        "mutation($t: String!) { login(email: $t, password: \"whatever-it-is\") { token } }",
        "$t",
    ),
    (
        "query($t: String!) { students(filter: { search: $t }) { totalCount } }",
        "$t",
    ),
    (
        "query($t: String!) { guardians(search: $t) { totalCount } }",
        "$t",
    ),
    (
        "mutation($t: String!) { createStudent(input: { studentTz: \"000000018\", firstName: \"a\", lastName: \"b\", email: $t }) { id } }",
        "$t",
    ),
    (
        "mutation($input: CreateSubjectInput!) { createSubject(input: $input) { id } }",
        "$input.name",
    ),
];

backend_tests! {
    async fn concurrent_writers_wait_their_turn_and_none_fails(backend) {
        let app = std::sync::Arc::new(tests::spawn_app(backend).await);
        let who = admin(&app).await;
        let (term, subject, student) = calendar(&app, &who).await;
        // recordGrade reads (the student, the term) before it writes: on SQLite a plain BEGIN
        // could not wait for the write lock then.
        let writers = 32;
        let mut tasks = Vec::new();
        for i in 0..writers {
            let (app, who) = (app.clone(), who.clone());
            let vars = json!({ "s": student, "sub": subject, "t": term, "score": 50 + i });
            tasks.push(tokio::spawn(async move {
                let grade = app.gql(&who, "mutation($s: UUID!, $sub: UUID!, $t: UUID!, $score: Float!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: $score, gradedOn: \"2025-10-01\" }) { id } }", vars).await;
                let subject = app.gql(&who, "mutation($n: String!) { createSubject(input: { name: $n }) { id } }", json!({ "n": format!("subject {i}") })).await;
                (grade, subject)
            }));
        }
        let mut failures = Vec::new();
        for task in tasks {
            let ((s1, b1), (s2, b2)) = task.await.unwrap();
            for (status, body) in [(s1, b1), (s2, b2)] {
                if status != 200 || body.get("errors").is_some() {
                    failures.push(body);
                }
            }
        }
        assert!(failures.is_empty(), "{} writes failed: {:?}", failures.len(), failures.first());
        assert_eq!(app.rows("grades").await, writers);
        assert_eq!(app.rows("subjects").await, writers + 1);
    }

    async fn a_large_import_and_another_schools_writes_both_succeed(backend) {
        let app = std::sync::Arc::new(tests::spawn_app(backend).await);
        let root = app.root().await;
        let a = As::token(&app.member_token(&root, FIRST_SCHOOL, "a@example.org", "ADMIN").await);
        app.create_school(&root, "school-b").await;
        let b = As::in_school(&app.member_token(&root, "school-b", "b@example.org", "ADMIN").await, "school-b");
        let mut file = String::from("student_tz,first_name,last_name\n");
        let mut made = 0;
        let mut n = 1u32;
        while made < 4_000 {
            let digits: Vec<u32> = format!("{n:08}").chars().map(|c| c.to_digit(10).unwrap()).collect();
            let sum: u32 = digits.iter().enumerate().map(|(i, d)| { let x = d * if i % 2 == 0 { 1 } else { 2 }; x / 10 + x % 10 }).sum();
            let check = (10 - sum % 10) % 10;
            file.push_str(&format!("{n:08}{check},שם{made},משפחה\n"));
            made += 1;
            n += 7;
        }
        // In the background, as an office runs a large file: the answer comes at once.
        let (status, body) = app.upload(&b, "mutation($file: Upload!, $o: ImportOptions) { importStudents(file: $file, options: $o) { id status } }", json!({ "o": { "background": true } }), "students.csv", file.into_bytes()).await;
        assert_eq!(status, 200, "{body}");
        let log = body["data"]["importStudents"]["id"].clone();
        let mut a_failures = 0;
        for i in 0..20 {
            let (status, body) = app.gql(&a, "mutation($n: String!) { createSubject(input: { name: $n }) { id } }", json!({ "n": format!("s{i}") })).await;
            if status != 200 || body.get("errors").is_some() {
                a_failures += 1;
            }
        }
        let mut last = Value::Null;
        for _ in 0..600 {
            last = app.ok(&b, "query($id: UUID!) { importLog(id: $id) { status rowsOk message } }", json!({ "id": log })).await["importLog"].clone();
            if last["status"] != "RUNNING" && last["status"] != "PENDING" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(last["status"], "SUCCEEDED", "{last}");
        assert_eq!(last["rowsOk"], 4_000, "{last}");
        assert_eq!(a_failures, 0, "school A's writes beside B's import");
    }

    async fn control_characters_are_refused_at_the_edge_naming_the_field(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        let before = (app.rows("students").await, app.rows("subjects").await);
        let mut wrong = Vec::new();
        for (document, field) in TEXT_CASES {
            for text in ["a\u{0}b", "\u{1b}[31m", "x\u{7f}"] {
                let vars = if field.starts_with("$input") {
                    json!({ "input": { "name": text } })
                } else {
                    json!({ "t": text })
                };
                let (_, body) = app.gql(&who, document, vars).await;
                let named = body["errors"][0]["extensions"]["fields"][0]["field"].as_str();
                if code(&body) != "BAD_USER_INPUT" || named != Some(*field) {
                    wrong.push(format!("{document} {text:?}: {body}"));
                }
            }
        }
        // A literal in the query text is refused the same way, named by its argument.
        let (_, body) = app.gql(&who, "mutation { createSubject(input: { name: \"a\\u0000b\" }) { id } }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "input.name", "{body}");
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // Tabs and line breaks are text.
        app.ok(&who, "mutation($t: String!) { createSubject(input: { name: $t }) { id } }", json!({ "t": "two\tcolumns\nand lines" })).await;
        assert_eq!((app.rows("students").await, app.rows("subjects").await), (before.0, before.1 + 1));
    }

    async fn malformed_bodies_are_answered_in_the_graphql_error_shape(backend) {
        let app = tests::spawn_app(backend).await;
        let cases: &[(&str, &str)] = &[
            ("{", "not valid JSON"),
            ("{\"query\": 5}", "not a GraphQL request"),
            ("[1, 2]", "not a GraphQL request"),
            ("\"text\"", "not a GraphQL request"),
            ("", "not valid JSON"),
        ];
        for (body, expected) in cases {
            let response = app
                .client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .body(*body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 400, "{body}");
            let answer: Value = response.json().await.unwrap_or_else(|e| panic!("{body}: not JSON: {e}"));
            assert_eq!(code(&answer), "BAD_USER_INPUT", "{body}: {answer}");
            let message = answer["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains(expected), "{body}: {message}");
            for internal in ["InvalidRequest", "untagged", "Error("] {
                assert!(!message.contains(internal), "{body}: {message}");
            }
        }
    }

    async fn negative_and_oversized_first_are_refused_alike_everywhere(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        for (field, wrap, pick) in [("atRisk", true, "attendancePoints"), ("chronicAbsentees", true, "absent"), ("predictions", false, "predictedScore")] {
            for first in [-5, 101] {
                let list = format!("{field}(first: {first}) {{ {pick} }}");
                let query = if wrap { format!("{{ analytics {{ {list} }} }}") } else { format!("{{ {list} }}") };
                let (_, body) = app.gql(&who, &query, json!({})).await;
                assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
                assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "first", "{query}: {body}");
            }
        }
        let (_, body) = app.gql(&who, "{ students(first: -5) { totalCount } }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }

    async fn search_wildcards_match_only_themselves(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        app.ok(&who, "mutation { a: createStudent(input: { studentTz: \"039337423\", firstName: \"נועה\", lastName: \"כהן\" }) { id } b: createStudent(input: { studentTz: \"000000018\", firstName: \"100%\", lastName: \"a_b\" }) { id } }", json!({})).await;
        let found = |search: &'static str| {
            let (app, who) = (&app, &who);
            async move {
                app.ok(who, "query($s: String!) { students(filter: { search: $s }) { totalCount } }", json!({ "s": search })).await["students"]["totalCount"].as_i64().unwrap()
            }
        };
        assert_eq!(found("%").await, 1, "only the name holding a %");
        assert_eq!(found("_").await, 1, "only the name holding an _");
        assert_eq!(found("0%").await, 1);
        assert_eq!(found("כה").await, 1);
        assert_eq!(found("\\").await, 0);
        let guardians = app.ok(&who, "{ guardians(search: \"%\") { totalCount } }", json!({})).await;
        assert_eq!(guardians["guardians"]["totalCount"], 0);
    }

    async fn one_failure_seen_from_every_item_is_answered_once(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let who = admin(&app).await;
        for tz in ["039337423", "000000018", "000000026"] {
            app.ok(&who, "mutation($tz: String!) { createStudent(input: { studentTz: $tz, firstName: \"a\", lastName: \"b\" }) { id } }", json!({ "tz": tz })).await;
        }
        // A viewer may list students but not read their health records: one refusal per
        // student, answered once.
        let viewer = As::token(&app.member_token(&root, FIRST_SCHOOL, "viewer@example.org", "VIEWER").await);
        let (_, body) = app.gql(&viewer, "{ students { nodes { id healthRecords { id } } } }", json!({})).await;
        let errors = body["errors"].as_array().unwrap_or_else(|| panic!("{body}"));
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(errors[0]["extensions"]["occurrences"], 3, "{body}");
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
    }

    async fn an_error_after_a_committed_write_says_the_change_was_saved(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let who = admin(&app).await;
        let (term, subject, student) = calendar(&app, &who).await;
        // A teacher may record grades but not read health records: the grade commits, then the
        // answer's nested field is refused.
        let teacher = As::token(&app.member_token(&root, FIRST_SCHOOL, "teacher@example.org", "TEACHER").await);
        let (_, body) = app.gql(&teacher, "mutation($s: UUID!, $sub: UUID!, $t: UUID!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: 70, gradedOn: \"2025-10-01\" }) { id student { healthRecords { id } } } }", json!({ "s": student, "sub": subject, "t": term })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["committed"], true, "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("saved"), "{body}");
        assert_eq!(app.rows("grades").await, 1, "the grade was written");
        // A refusal before anything was written carries no such mark.
        let (_, body) = app.gql(&teacher, "mutation { createSubject(input: { name: \"x\" }) { id } }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        assert!(body["errors"][0]["extensions"].get("committed").is_none(), "{body}");
    }

    async fn every_string_argument_of_the_schema_refuses_a_nul(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        let schema = app.ok(&who, "{ __schema { queryType { fields { name args { name type { name kind ofType { name } } } } } mutationType { fields { name args { name type { name kind ofType { name } } } } } } }", json!({})).await;
        let mut tried = 0;
        let mut wrong = Vec::new();
        for (root, keyword) in [("queryType", "query"), ("mutationType", "mutation")] {
            for field in schema["__schema"][root]["fields"].as_array().unwrap() {
                for arg in field["args"].as_array().unwrap() {
                    let t = &arg["type"];
                    let named = t["name"].as_str().or(t["ofType"]["name"].as_str());
                    if named != Some("String") {
                        continue;
                    }
                    let (name, arg) = (field["name"].as_str().unwrap(), arg["name"].as_str().unwrap());
                    let document = format!("{keyword} {{ {name}({arg}: \"a\\u0000b\") }}");
                    let (_, body) = app.gql(&who, &document, json!({})).await;
                    tried += 1;
                    let named = body["errors"][0]["extensions"]["fields"][0]["field"].as_str();
                    if code(&body) != "BAD_USER_INPUT" || named != Some(arg) {
                        wrong.push(format!("{document}: {body}"));
                    }
                }
            }
        }
        assert!(tried >= 10, "only {tried} string arguments found");
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
