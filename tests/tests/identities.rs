//! Identities that hold across schools: host mapping is a platform decision that never locks
//! another school's users out, and password guessing is throttled without letting anyone lock
//! someone else out.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests, code};

const SCHOOL: &str = "{ school { slug } }";

fn on_host(token: &str, host: &str) -> As {
    As {
        token: Some(token.to_owned()),
        school: None,
        host: Some(host.to_owned()),
    }
}

/// A login sent as if from `client` through a proxy at 127.0.0.1.
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", format!("203.0.113.7, {client}"))
        .json(&json!({
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            "variables": { "e": email, "p": password }
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

backend_tests! {
    async fn only_a_superadmin_maps_hosts_and_never_the_services_own(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let admin = app.member_token(&root, FIRST_SCHOOL, "a@example.org", "ADMIN").await;
        // A school admin cannot claim a host, not even one nobody holds.
        for host in ["localhost", "school-a.example.org"] {
            let (_, body) = app.gql(&As::token(&admin), "mutation($h: String!) { addSchoolDomain(host: $h) { host } }", json!({ "h": host })).await;
            assert_eq!(code(&body), "FORBIDDEN", "{host}: {body}");
        }
        // A superadmin cannot map the service's own names.
        for host in ["localhost", "127.0.0.1"] {
            let (_, body) = app.gql(&As::in_school(&root, FIRST_SCHOOL), "mutation($h: String!) { addSchoolDomain(host: $h) { host } }", json!({ "h": host })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{host}: {body}");
        }
        let (_, domains) = app.gql(&As::token(&admin), "{ schoolDomains { host } }", json!({})).await;
        assert_eq!(domains["data"]["schoolDomains"], json!([]), "{domains}");
    }

    async fn a_host_mapped_to_one_school_never_locks_out_another_schools_users(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let a_admin = app.member_token(&root, FIRST_SCHOOL, "a@example.org", "ADMIN").await;
        let b_teacher = app.member_token(&root, "school-b", "b@example.org", "TEACHER").await;
        let a_token = app.ok(&As::token(&a_admin), "mutation { createApiToken(input: { name: \"sis\", role: VIEWER }) { token } }", json!({})).await["createApiToken"]["token"].as_str().unwrap().to_owned();
        app.ok(&As::in_school(&root, "school-b"), "mutation { addSchoolDomain(host: \"b.example.org\") { host } }", json!({})).await;

        // School B's own users get school B through its host…
        let b = app.ok(&on_host(&b_teacher, "b.example.org"), SCHOOL, json!({})).await;
        assert_eq!(b["school"]["slug"], "school-b");
        // …and school A's user and API token, sent to that host, get their own school exactly
        // as on the shared host, not an error.
        for token in [&a_admin, &a_token] {
            let shared = app.ok(&on_host(token, "localhost"), SCHOOL, json!({})).await;
            let mapped = app.ok(&on_host(token, "b.example.org"), SCHOOL, json!({})).await;
            assert_eq!(shared, mapped);
            assert_eq!(mapped["school"]["slug"], FIRST_SCHOOL);
        }
        // Naming school B outright is still refused.
        let (_, body) = app.gql(&As::in_school(&a_admin, "school-b"), SCHOOL, json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
    }

    async fn parallel_wrong_passwords_are_throttled_before_the_hash_is_checked(backend) {
        let app = std::sync::Arc::new(tests::spawn_app_with(backend, &[("TRUSTED_PROXIES", "127.0.0.1")]).await);
        let root = app.root().await;
        app.add_member(&root, FIRST_SCHOOL, "victim@example.org", "TEACHER").await;
        let before = app.state.login_throttle.verifications();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move { login_from(&app, "198.51.100.1", "victim@example.org", &format!("wrong-password-{i}")).await })
            })
            .collect();
        let mut limited = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            if code(&body) == "RATE_LIMITED" {
                assert_eq!(status, 429, "{body}");
                limited += 1;
            } else {
                assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
            }
        }
        let checked = app.state.login_throttle.verifications() - before;
        assert!(checked <= 5, "{checked} password checks for 50 parallel attempts");
        assert_eq!(limited, 50 - checked as usize);
        // The guesser cannot lock the user out: from another client the right password works.
        let (_, body) = login_from(&app, "198.51.100.2", "victim@example.org", tests::PASSWORD).await;
        assert!(body["data"]["login"]["token"].is_string(), "{body}");
        // The left part of X-Forwarded-For is the client's own text and is not believed: the
        // throttled client stays throttled whatever it claims.
        let (_, body) = login_from(&app, "198.51.100.1", "victim@example.org", "another-guess").await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    }

    async fn guessing_the_current_password_is_throttled_too(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let token = app.member_token(&root, FIRST_SCHOOL, "user@example.org", "TEACHER").await;
        let mut codes = Vec::new();
        for i in 0..6 {
            let (_, body) = app.gql(&As::token(&token), "mutation($c: String!) { changePassword(currentPassword: $c, newPassword: \"a-new-long-password\") { token } }", json!({ "c": format!("guess-{i}") })).await;
            codes.push(code(&body).to_owned());
        }
        assert_eq!(&codes[..3], ["BAD_USER_INPUT"; 3], "{codes:?}");
        assert!(codes[3..].iter().all(|c| c == "RATE_LIMITED"), "{codes:?}");
    }
}
