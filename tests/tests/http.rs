//! The HTTP surface of the skeleton: health, readiness, GraphQL, GraphiQL, request ids.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use api::{app, config::Config};
use axum::body::Body;
use serde_json::json;
use tests::{TestDb, backend_tests, spawn_app};
use tower::ServiceExt;

backend_tests! {
    async fn a_request_body_over_the_limit_is_refused_with_the_limit_named(backend) {
        let app = spawn_app(backend).await;
        let limit = api::graphql::limits::MAX_BODY_BYTES;
        let query = format!("{{ apiVersion }} # {}", "x".repeat(limit));
        let response = app.client.post(app.url("/graphql")).json(&json!({ "query": query })).send().await.unwrap();
        assert_eq!(response.status(), 413);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(&limit.to_string()), "{body}");
        let small = app.client.post(app.url("/graphql")).json(&json!({ "query": "{ apiVersion }" })).send().await.unwrap();
        assert_eq!(small.status(), 200);
    }

    async fn health_answers_ok(backend) {
        let app = spawn_app(backend).await;
        let response = app.client.get(app.url("/health")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({ "status": "ok" }));
    }

    async fn ready_answers_ok_when_the_database_is_migrated(backend) {
        let app = spawn_app(backend).await;
        let response = app.client.get(app.url("/ready")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({ "status": "ready" }));
    }

    async fn ready_answers_503_while_migrations_are_pending(backend) {
        let db = TestDb::empty(backend).await;
        let config = Config::from_lookup(|name| (name == "DATABASE_URL").then(|| db.url.clone())).unwrap();
        let router = app::router(app::AppState::new(config, db.conn.clone()).unwrap());
        let response = router
            .oneshot(axum::http::Request::get("/ready").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "unavailable");
        assert!(body["reason"].as_str().unwrap().contains("migration"), "{body}");
    }

    async fn graphql_answers_over_post_and_get(backend) {
        let app = spawn_app(backend).await;
        let (status, body) = app.graphql("{ apiVersion }", json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["apiVersion"], env!("CARGO_PKG_VERSION"));

        let response = app.client.get(app.url("/graphql?query=%7BapiVersion%7D")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["data"]["apiVersion"], env!("CARGO_PKG_VERSION"));
    }

    async fn graphiql_is_served_whole_by_the_service_with_both_headers_prefilled(backend) {
        let app = spawn_app(backend).await;
        let response = app.client.get(app.url("/graphiql")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"), "{csp}");
        let page = response.text().await.unwrap();
        // Every script and style comes from the service itself.
        assert!(!page.contains("https://") && !page.contains("http://"), "{page}");
        let assets: Vec<&str> = page.split('"').filter(|s| s.starts_with("/graphiql/assets/")).collect();
        assert_eq!(assets.len(), 6, "{page}");
        for asset in &assets {
            let answer = app.client.get(app.url(asset)).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{asset}");
            assert!(answer.bytes().await.unwrap().len() > 100, "{asset}");
        }
        let start = app.client.get(app.url("/graphiql/assets/start.js")).send().await.unwrap().text().await.unwrap();
        assert!(start.contains("\"Authorization\"") && start.contains("\"X-School-Id\""));
        assert!(start.contains("url: \"/graphql\"") && start.contains("/graphql/ws"));
        assert!(!start.contains("shouldPersistHeaders: true"));
        let licences = app.client.get(app.url("/graphiql/assets/LICENSES.txt")).send().await.unwrap().text().await.unwrap();
        assert!(licences.contains("graphiql 3.9.0 (MIT)") && licences.contains("react 18.3.1 (MIT)"), "{licences}");
        for missing in ["/graphiql/assets/nope.js", "/graphiql/assets/..%2FCargo.toml", "/graphiql/assets/%2e%2e"] {
            assert_eq!(app.client.get(app.url(missing)).send().await.unwrap().status(), 404, "{missing}");
        }
    }

    async fn every_response_carries_a_request_id_and_keeps_the_callers(backend) {
        let app = spawn_app(backend).await;
        let response = app.client.get(app.url("/health")).send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);

        let response = app.client.get(app.url("/health")).header("x-request-id", "trace-me-123").send().await.unwrap();
        assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    }

    async fn a_syntax_error_is_a_graphql_error_not_a_crash(backend) {
        let app = spawn_app(backend).await;
        let (_, body) = app.graphql("{ apiVersion", json!({})).await;
        assert!(body["errors"][0]["message"].as_str().is_some(), "{body}");
        assert!(body.get("data").is_none_or(|d| d.is_null()), "{body}");
    }

    async fn get_may_only_read_and_batches_hold_one_operation(backend) {
        let app = spawn_app(backend).await;
        let response = app.client.get(app.url("/graphql?query=mutation%7BrevokeMySessions%7D")).send().await.unwrap();
        assert_eq!(response.status(), 405);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("POST"));

        let one = app.client.post(app.url("/graphql")).json(&json!([{ "query": "{ apiVersion }" }])).send().await.unwrap();
        let body: serde_json::Value = one.json().await.unwrap();
        assert_eq!(body[0]["data"]["apiVersion"], env!("CARGO_PKG_VERSION"), "{body}");
        let two = app.client.post(app.url("/graphql")).json(&json!([{ "query": "{ apiVersion }" }, { "query": "{ apiVersion }" }])).send().await.unwrap();
        let body: serde_json::Value = two.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");

        let big = "a".repeat(300 * 1024);
        let refused = app.client.post(app.url("/graphql")).header("content-type", "application/json").body(big).send().await.unwrap();
        assert!(refused.status().is_client_error(), "{}", refused.status());
    }
    async fn answers_over_a_kibibyte_are_compressed_for_clients_that_accept_it(backend) {
        use std::io::Read;
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let query = json!({ "query": "{ __schema { types { name description } } }" });
        let plain = app.client.post(app.url("/graphql")).bearer_auth(&root).json(&query).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
        let plain = plain.bytes().await.unwrap();
        assert!(plain.len() > 10_000, "{} bytes", plain.len());

        let gzipped = app.client.post(app.url("/graphql")).bearer_auth(&root).header("accept-encoding", "gzip").json(&query).send().await.unwrap();
        assert_eq!(gzipped.headers()["content-encoding"], "gzip");
        let gzipped = gzipped.bytes().await.unwrap();
        assert!(gzipped.len() * 2 < plain.len(), "{} of {} bytes", gzipped.len(), plain.len());
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[..]).read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, plain, "the same answer, compressed");

        let br = app.client.post(app.url("/graphql")).bearer_auth(&root).header("accept-encoding", "br, gzip").json(&query).send().await.unwrap();
        assert_eq!(br.headers()["content-encoding"], "br");
        // A small answer is sent as it is.
        let small = app.client.post(app.url("/graphql")).header("accept-encoding", "gzip").json(&json!({ "query": "{ apiVersion }" })).send().await.unwrap();
        assert!(small.headers().get("content-encoding").is_none());
    }

    async fn only_configured_origins_may_call_the_api_from_a_browser(backend) {
        let preflight = |app: &tests::TestApp, origin: &str| {
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/graphql"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization, content-type, x-school-id")
                .send()
        };
        // None by default.
        let closed = spawn_app(backend).await;
        let answer = preflight(&closed, "https://school.example").await.unwrap();
        assert!(answer.headers().get("access-control-allow-origin").is_none());

        let app = tests::spawn_app_with(backend, &[("CORS_ALLOWED_ORIGINS", "https://school.example, http://localhost:5173")]).await;
        let answer = preflight(&app, "https://school.example").await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        assert_eq!(answer.headers()["access-control-allow-origin"], "https://school.example");
        let allowed = answer.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
        for name in ["authorization", "content-type", "x-school-id"] {
            assert!(allowed.contains(name), "{allowed}");
        }
        assert!(answer.headers().get("access-control-allow-credentials").is_none());
        let other = preflight(&app, "https://evil.example").await.unwrap();
        assert!(other.headers().get("access-control-allow-origin").is_none());
        // The request itself carries the header for an allowed origin only.
        let post = |origin: &'static str| app.client.post(app.url("/graphql")).header("origin", origin).json(&json!({ "query": "{ apiVersion }" })).send();
        let answer = post("http://localhost:5173").await.unwrap();
        assert_eq!(answer.headers()["access-control-allow-origin"], "http://localhost:5173");
        assert!(answer.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase().contains("retry-after"));
        let answer = post("https://evil.example").await.unwrap();
        assert!(answer.headers().get("access-control-allow-origin").is_none());
    }

    async fn the_answer_lists_top_level_fields_in_the_order_the_query_names_them(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let text = |query: &'static str| {
            let (app, root) = (&app, &root);
            async move {
                let answer = app.client.post(app.url("/graphql")).bearer_auth(root).json(&json!({ "query": query })).send().await.unwrap();
                answer.text().await.unwrap()
            }
        };
        let positions = |body: &str, keys: &[&str]| -> Vec<usize> {
            keys.iter().map(|k| body.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k} missing: {body}"))).collect()
        };
        // Fields from different parts of the root type, an alias, and a fragment spread in place.
        let body = text("{ schools(first: 1) { totalCount } z: apiVersion ...Me health: apiVersion } fragment Me on Query { me { user { email } } apiVersion }").await;
        assert!(!body.contains("\"errors\""), "{body}");
        let at = positions(&body, &["schools", "z", "me", "apiVersion", "health"]);
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?} {body}");
        let body = text("{ apiVersion me { user { email } } schools(first: 1) { totalCount } }").await;
        let at = positions(&body, &["apiVersion", "me", "schools"]);
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?} {body}");
    }
}
