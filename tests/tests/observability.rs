//! `/metrics`: closed unless configured, counting by operation, code and school with labels no
//! request can invent; and the GraphQL-over-HTTP media types and statuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use tests::{As, TestApp, backend_tests, spawn_app, spawn_app_with};

const TOKEN: &str = "metrics-token-for-tests-0123456789";

/// The metrics text, read with the token.
async fn metrics(app: &TestApp) -> String {
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of the series `name{labels}` (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// A POST of `body` with `accept` (none when `None`): status, content type and JSON body.
async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut request = app.client.post(app.url("/graphql")).json(&body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

backend_tests! {
    async fn metrics_are_off_without_a_token_and_closed_to_a_wrong_one(backend) {
        let off = spawn_app(backend).await;
        assert_eq!(off.client.get(off.url("/metrics")).send().await.unwrap().status(), 404);
        let app = spawn_app_with(backend, &[("METRICS_TOKEN", TOKEN)]).await;
        assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 401);
        let wrong = app.client.get(app.url("/metrics")).bearer_auth("metrics-token-for-tests-0123456780").send().await.unwrap();
        assert_eq!(wrong.status(), 401);
        assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
        app.graphql("{ apiVersion }", json!({})).await;
        let text = metrics(&app).await;
        for family in ["graphql_requests_total", "graphql_request_duration_seconds", "imports_total", "ml_trainings_total", "db_pool_connections"] {
            assert!(text.contains(&format!("# TYPE {family} ")), "{family} missing:\n{text}");
        }
        assert!(value(&text, "db_pool_connections{state=\"max\"}") >= 1.0, "{text}");
        assert!(text.contains("imports_total{kind=\"STUDENTS\",status=\"SUCCEEDED\"} 0"), "{text}");
    }

    async fn metrics_count_each_school_apart_and_no_request_can_invent_a_label(backend) {
        let app = spawn_app_with(backend, &[("METRICS_TOKEN", TOKEN)]).await;
        let root = app.root().await;
        let a = app.create_school(&root, "metrics-a").await;
        let b = app.create_school(&root, "metrics-b").await;
        let admin_a = As::in_school(&app.member_token(&root, "metrics-a", "admin@metrics-a.test", "ADMIN").await, "metrics-a");
        let before = metrics(&app).await;
        for _ in 0..3 {
            app.ok(&admin_a, "{ students(first: 5) { totalCount } }", json!({})).await;
        }
        let (_, evil) = app.gql(&admin_a, "query EvilLabelName { zzzNoSuchField123 }", json!({})).await;
        assert_eq!(tests::code(&evil), "BAD_USER_INPUT", "{evil}");
        let csv = "student_tz,first_name,last_name,grade_level\n039337423,נועה,כהן,7\n";
        let import = "mutation($file: Upload!) { importStudents(file: $file) { status } }";
        let (_, imported) = app.upload(&admin_a, import, json!({}), "students.csv", csv.as_bytes().to_vec()).await;
        let status = imported["data"]["importStudents"]["status"].as_str().unwrap().to_owned();
        let after = metrics(&app).await;
        let ended = format!("imports_total{{kind=\"STUDENTS\",status=\"{status}\"}}");
        assert_eq!(value(&after, &ended) - value(&before, &ended), 1.0, "{ended}: {after}");
        let school = |text: &str, id: &str| value(text, &format!("school_requests_total{{school_id=\"{id}\"}}"));
        assert_eq!(school(&after, &a) - school(&before, &a), 4.0, "three queries and one import (the refused one ran for no school): {after}");
        assert_eq!(school(&after, &b), 0.0, "school B ran nothing: {after}");
        assert!(value(&after, &format!("school_cost_points_total{{school_id=\"{a}\"}}")) > value(&before, &format!("school_cost_points_total{{school_id=\"{a}\"}}")));
        let ok = "graphql_requests_total{code=\"OK\",operation=\"query:students\",transport=\"http\"}";
        assert_eq!(value(&after, ok) - value(&before, ok), 3.0, "{after}");
        assert!(after.contains("operation=\"invalid\""), "{after}");
        assert!(!after.contains("zzzNoSuchField123") && !after.contains("EvilLabelName"), "{after}");
        assert!(value(&after, "graphql_request_duration_seconds_count{operation=\"query:students\"}") >= 3.0);
    }

    async fn answers_follow_graphql_over_http_for_the_media_type_the_client_accepts(backend) {
        let app = spawn_app(backend).await;
        let unknown = json!({ "query": "{ noSuchField }" });
        // application/json, anything, or nothing said: 200 and application/json, even for a
        // request that cannot run, which then has no `data` at all.
        for accept in [None, Some("application/json"), Some("*/*")] {
            let (status, content_type, body) = post(&app, accept, unknown.clone()).await;
            assert_eq!(status, 200, "{accept:?}");
            assert!(content_type.starts_with("application/json"), "{accept:?}: {content_type}");
            assert!(body.get("data").is_none(), "{body}");
            assert_eq!(tests::code(&body), "BAD_USER_INPUT");
        }
        // application/graphql-response+json: 4xx for parse, validation and variable errors.
        let gr = Some("application/graphql-response+json");
        let (status, content_type, body) = post(&app, gr, json!({ "query": "{ apiVersion }" })).await;
        assert_eq!((status, body["data"]["apiVersion"].is_string()), (200, true), "{body}");
        assert!(content_type.starts_with("application/graphql-response+json"), "{content_type}");
        for bad in [json!({ "query": "{" }), unknown.clone(), json!({ "query": "query($n: Int!) { apiVersion }", "variables": { "n": "x" } })] {
            let (status, _, body) = post(&app, gr, bad.clone()).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert!(body.get("data").is_none() && body["errors"][0]["message"].is_string(), "{body}");
        }
        // Not a GraphQL request: no query, no content type, another content type, a mutation
        // over GET.
        let (status, _, body) = post(&app, None, json!({ "qeury": "{ apiVersion }" })).await;
        assert_eq!((status, tests::code(&body)), (400, "BAD_USER_INPUT"), "{body}");
        let bare = app.client.post(app.url("/graphql")).body(r#"{"query":"{ apiVersion }"}"#).send().await.unwrap();
        assert_eq!(bare.status(), 415);
        let text = app.client.post(app.url("/graphql")).header("content-type", "text/plain").body(r#"{"query":"{ apiVersion }"}"#).send().await.unwrap();
        assert_eq!(text.status(), 415);
        let get = app.client.get(app.url("/graphql?query=mutation%7BrevokeMySessions%7D")).header("accept", "application/graphql-response+json").send().await.unwrap();
        assert_eq!(get.status(), 405);
        assert_eq!(get.headers()["allow"], "POST");
    }

    async fn the_standard_introspection_query_runs_and_a_multiplying_one_is_refused(backend) {
        let app = spawn_app(backend).await;
        // graphql-js's getIntrospectionQuery({ descriptions, inputValueDeprecation }), as
        // GraphiQL sends it.
        let type_ref = (0..8).fold("kind name".to_owned(), |inner, _| format!("kind name ofType {{ {inner} }}"));
        let standard = format!("query IntrospectionQuery {{ __schema {{ queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }} types {{ ...FullType }} directives {{ name description locations args(includeDeprecated: true) {{ ...InputValue }} }} }} }}
            fragment FullType on __Type {{ kind name description fields(includeDeprecated: true) {{ name description args(includeDeprecated: true) {{ ...InputValue }} type {{ ...TypeRef }} isDeprecated deprecationReason }} inputFields(includeDeprecated: true) {{ ...InputValue }} interfaces {{ ...TypeRef }} enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }} possibleTypes {{ ...TypeRef }} }}
            fragment InputValue on __InputValue {{ name description type {{ ...TypeRef }} defaultValue isDeprecated deprecationReason }}
            fragment TypeRef on __Type {{ {type_ref} }}");
        let (status, body) = app.graphql(&standard, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 50, "{body}");
        let multiplying = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        let (_, body) = app.graphql(multiplying, json!({})).await;
        assert_eq!(tests::code(&body), "QUERY_TOO_COMPLEX", "{body}");
        // A fragment spread twice at every level: a kilobyte, 2^31 selections once spread.
        let mut lattice = String::from("{ ...F0 }");
        for i in 0..30 {
            lattice.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = i + 1));
        }
        lattice.push_str(" fragment F30 on Query { apiVersion }");
        let (_, body) = app.graphql(&lattice, json!({})).await;
        assert_eq!(tests::code(&body), "QUERY_TOO_COMPLEX", "{body}");
        let deep = format!("{{ {}apiVersion{} }}", "me { activeSchool { ".repeat(7), " } }".repeat(7));
        let (_, body) = app.graphql(&deep, json!({})).await;
        assert_eq!(tests::code(&body), "QUERY_TOO_COMPLEX", "{body}");
    }
}
