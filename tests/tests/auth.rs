//! Identities: login, sessions, tokens of every bad kind, API tokens.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use api::auth::JwtKeys;
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{
    As, FIRST_SCHOOL, JWT_SECRET, PASSWORD, ROOT_EMAIL, ROOT_PASSWORD, backend_tests, code,
    spawn_app,
};

const ME: &str = "{ me { user { email } activeSchool { slug } role permissions memberships { school { slug } role } } }";

/// The request was refused for its credentials: 401, UNAUTHENTICATED, and no data at all.
fn assert_unauthenticated(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(body), "UNAUTHENTICATED", "{body}");
    assert!(body["data"].is_null(), "no data leaks: {body}");
}

backend_tests! {
    async fn login_gives_a_token_and_me_tells_who_and_where(backend) {
        let app = spawn_app(backend).await;
        let (status, body) = app
            .gql(&As::anonymous(), "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token expiresAt user { email isSuperadmin } } }",
                 json!({ "e": "ROOT@example.org", "p": ROOT_PASSWORD }))
            .await;
        assert_eq!(status, 200, "{body}");
        let login = &body["data"]["login"];
        assert_eq!(login["user"]["email"], ROOT_EMAIL);
        assert_eq!(login["user"]["isSuperadmin"], true);
        let expires: chrono::DateTime<Utc> = login["expiresAt"].as_str().unwrap().parse().unwrap();
        let hours = (expires - Utc::now()).num_minutes() as f64 / 60.0;
        assert!((7.9..=8.0).contains(&hours), "8 hour sessions by default, got {hours}");

        let me = app.ok(&As::token(login["token"].as_str().unwrap()), ME, json!({})).await;
        assert_eq!(me["me"]["user"]["email"], ROOT_EMAIL);
        assert_eq!(me["me"]["activeSchool"]["slug"], FIRST_SCHOOL);
        assert_eq!(me["me"]["role"], "ADMIN");
        assert_eq!(me["me"]["memberships"], json!([{ "school": { "slug": FIRST_SCHOOL }, "role": "ADMIN" }]));
        let permissions = me["me"]["permissions"].as_array().unwrap();
        assert!(permissions.contains(&json!("users:manage")) && permissions.contains(&json!("schools:manage")));
    }

    async fn a_wrong_password_and_an_unknown_email_are_answered_alike(backend) {
        let app = spawn_app(backend).await;
        let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
        let (s1, wrong_password) = app.gql(&As::anonymous(), login, json!({ "e": ROOT_EMAIL, "p": "not-the-password" })).await;
        let (s2, unknown_email) = app.gql(&As::anonymous(), login, json!({ "e": "nobody@example.org", "p": "not-the-password" })).await;
        assert_unauthenticated(s1, &wrong_password);
        assert_unauthenticated(s2, &unknown_email);
        assert_eq!(wrong_password["errors"][0]["message"], "invalid email or password");
        assert_eq!(wrong_password["errors"][0]["message"], unknown_email["errors"][0]["message"]);
    }

    async fn repeated_failed_logins_are_throttled_even_with_the_right_password_after(backend) {
        let app = spawn_app(backend).await;
        let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
        // Three quick failures from one client; the next attempt from it must wait (backoff).
        for _ in 0..3 {
            let (_, body) = app.gql(&As::anonymous(), login, json!({ "e": ROOT_EMAIL, "p": "guess-guess-guess" })).await;
            assert_eq!(code(&body), "UNAUTHENTICATED");
        }
        let (_, body) = app.gql(&As::anonymous(), login, json!({ "e": ROOT_EMAIL, "p": ROOT_PASSWORD })).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().unwrap() > 0);
    }

    async fn login_and_introspection_work_anonymously_and_protected_fields_do_not(backend) {
        let app = spawn_app(backend).await;
        let data = app.ok(&As::anonymous(), "{ __schema { queryType { name } } apiVersion }", json!({})).await;
        assert_eq!(data["__schema"]["queryType"]["name"], "Query");
        let (status, body) = app.gql(&As::anonymous(), ME, json!({})).await;
        assert_unauthenticated(status, &body);
        // An empty Authorization header (as GraphiQL's prefilled editor sends) is anonymous.
        let (status, body) = app.gql(&As::token(""), "{ apiVersion }", json!({})).await;
        assert_eq!((status, body["data"]["apiVersion"].is_string()), (200, true), "{body}");
    }

    async fn every_kind_of_bad_session_token_is_unauthenticated(backend) {
        let app = spawn_app(backend).await;
        let good = app.root().await;
        let user_id = app.ok(&As::token(&good), "{ me { user { id } } }", json!({})).await["me"]["user"]["id"].as_str().unwrap().to_owned();
        let user_id: entity::ids::UserId = user_id.parse().unwrap();

        let b64 = |s: &str| {
            use std::fmt::Write;
            // base64url without padding, written out to avoid a dependency just for this.
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let bytes = s.as_bytes();
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    let _ = out.write_char(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        };
        let now = Utc::now().timestamp();
        let claims = format!(r#"{{"sub":"{user_id}","iat":{now},"exp":{},"ver":0}}"#, now + 3600);
        let alg_none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims));
        let mut tampered = good.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let other_secret = JwtKeys::new(b"some-other-secret-some-other-secret", Duration::hours(8)).issue(user_id, 0).unwrap().0;
        let expired = JwtKeys::new(JWT_SECRET.as_bytes(), Duration::hours(-1)).issue(user_id, 0).unwrap().0;
        let unknown_user = JwtKeys::new(JWT_SECRET.as_bytes(), Duration::hours(1)).issue(entity::ids::UserId::generate(), 0).unwrap().0;

        for (what, token) in [
            ("malformed", "not-a-token".to_owned()),
            ("alg none", alg_none),
            ("tampered signature", tampered),
            ("signed with another secret", other_secret),
            ("expired", expired),
            ("unknown user", unknown_user),
            ("unknown API token", format!("sds_{}", "0".repeat(64))),
        ] {
            let (status, body) = app.gql(&As::token(&token), ME, json!({})).await;
            assert_eq!(status, 401, "{what}: {body}");
            assert_eq!(code(&body), "UNAUTHENTICATED", "{what}: {body}");
            assert!(body["data"].is_null(), "{what}: {body}");
        }
        // Not a bearer token at all.
        let response = app.client.post(app.url("/graphql")).header("authorization", "Basic cm9vdDpyb290")
            .json(&json!({ "query": ME })).send().await.unwrap();
        assert_eq!(response.status(), 401);
        // The good token still works.
        app.ok(&As::token(&good), ME, json!({})).await;
    }

    async fn revoking_sessions_and_changing_the_password_end_old_tokens(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let first = app.member_token(&root, FIRST_SCHOOL, "dana@example.org", "TEACHER").await;
        let second = app.login("dana@example.org", PASSWORD).await;

        app.ok(&As::token(&first), "mutation { revokeMySessions }", json!({})).await;
        for token in [&first, &second] {
            let (status, body) = app.gql(&As::token(token), ME, json!({})).await;
            assert_unauthenticated(status, &body);
        }

        let third = app.login("dana@example.org", PASSWORD).await;
        let (_, wrong) = app.gql(&As::token(&third), "mutation { changePassword(currentPassword: \"nope-nope-nope\", newPassword: \"brand-new-password\") { token } }", json!({})).await;
        assert_eq!(code(&wrong), "BAD_USER_INPUT");
        let (_, short) = app.gql(&As::token(&third), &format!("mutation {{ changePassword(currentPassword: \"{PASSWORD}\", newPassword: \"short\") {{ token }} }}"), json!({})).await;
        assert_eq!(code(&short), "BAD_USER_INPUT");
        assert_eq!(short["errors"][0]["extensions"]["fields"][0]["field"], "newPassword");
        let changed = app.ok(&As::token(&third), &format!("mutation {{ changePassword(currentPassword: \"{PASSWORD}\", newPassword: \"brand-new-password\") {{ token }} }}"), json!({})).await;
        let (status, body) = app.gql(&As::token(&third), ME, json!({})).await;
        assert_unauthenticated(status, &body);
        app.ok(&As::token(changed["changePassword"]["token"].as_str().unwrap()), ME, json!({})).await;
        app.login("dana@example.org", "brand-new-password").await;
    }

    async fn a_deactivated_user_and_a_removed_member_stop_at_the_next_request(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let dana_id = app.add_member(&root, FIRST_SCHOOL, "dana@example.org", "TEACHER").await;
        let dana = app.login("dana@example.org", PASSWORD).await;
        app.ok(&As::token(&dana), ME, json!({})).await;
        app.ok(&As::token(&root), "mutation($u: UUID!) { setUserActive(userId: $u, active: false) }", json!({ "u": dana_id })).await;
        let (status, body) = app.gql(&As::token(&dana), ME, json!({})).await;
        assert_unauthenticated(status, &body);

        let eli_id = app.add_member(&root, FIRST_SCHOOL, "eli@example.org", "VIEWER").await;
        let eli = app.login("eli@example.org", PASSWORD).await;
        app.ok(&As::token(&eli), "{ school { slug } }", json!({})).await;
        app.ok(&As::token(&root), "mutation($u: UUID!) { removeMembership(userId: $u) }", json!({ "u": eli_id })).await;
        let (_, body) = app.gql(&As::in_school(&eli, FIRST_SCHOOL), "{ school { slug } }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        assert!(body["data"].is_null(), "{body}");
    }

    async fn api_tokens_act_for_one_school_and_role_until_revoked_or_expired(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let created = app.ok(&As::token(&root),
            "mutation { createApiToken(input: { name: \"SIS sync\", role: VIEWER, expiresInDays: 30 }) { token apiToken { id role isActive } } }",
            json!({})).await;
        let secret = created["createApiToken"]["token"].as_str().unwrap().to_owned();
        let id = created["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("sds_"));

        // The secret is stored only as a hash.
        let stored = entity::api_token::Entity::find().all(&app.db.conn).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0].token_hash, secret);
        assert!(!stored[0].token_hash.contains(&secret[4..]));

        let me = app.ok(&As::token(&secret), "{ me { user { id } apiToken { name } activeSchool { slug } role permissions } }", json!({})).await;
        assert_eq!(me["me"]["user"], Value::Null);
        assert_eq!(me["me"]["apiToken"]["name"], "SIS sync");
        assert_eq!(me["me"]["activeSchool"]["slug"], FIRST_SCHOOL);
        assert_eq!(me["me"]["permissions"], json!(["students:read"]));
        // Noted off the request's path: give it a moment.
        let mut used = None;
        for _ in 0..100 {
            used = entity::api_token::Entity::find().one(&app.db.conn).await.unwrap().unwrap().last_used_at;
            if used.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(used.is_some(), "last_used_at is kept");
        let used = entity::api_token::Entity::find().one(&app.db.conn).await.unwrap().unwrap();

        // A viewer token cannot manage tokens, and no token can mint tokens.
        let (_, body) = app.gql(&As::token(&secret), "{ apiTokens { id } }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN");

        // Expired.
        let mut row: entity::api_token::ActiveModel = used.into();
        row.expires_at = Set(Some(Utc::now() - Duration::minutes(1)));
        let row = row.update(&app.db.conn).await.unwrap();
        let (status, body) = app.gql(&As::token(&secret), ME, json!({})).await;
        assert_unauthenticated(status, &body);
        let mut row: entity::api_token::ActiveModel = row.into();
        row.expires_at = Set(None);
        row.update(&app.db.conn).await.unwrap();
        app.ok(&As::token(&secret), "{ school { slug } }", json!({})).await;

        // Revoked.
        let revoked = app.ok(&As::token(&root), "mutation($id: UUID!) { revokeApiToken(id: $id) { isActive revokedAt } }", json!({ "id": id })).await;
        assert_eq!(revoked["revokeApiToken"]["isActive"], false);
        let (status, body) = app.gql(&As::token(&secret), ME, json!({})).await;
        assert_unauthenticated(status, &body);
    }

    async fn create_user_links_an_existing_user_and_never_duplicates_one(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let in_a = app.add_member(&root, FIRST_SCHOOL, "dana@example.org", "TEACHER").await;
        let in_b = app.add_member(&root, "school-b", "DANA@example.org", "VIEWER").await;
        assert_eq!(in_a, in_b, "the same user");
        assert_eq!(entity::user::Entity::find().count(&app.db.conn).await.unwrap(), 2, "root and dana");
        assert_eq!(entity::membership::Entity::find().count(&app.db.conn).await.unwrap(), 3);

        let (_, again) = app.gql(&As::in_school(&root, FIRST_SCHOOL),
            "mutation { createUser(input: { email: \"dana@example.org\", fullName: \"D\", role: ADMIN }) { role } }",
            json!({})).await;
        assert_eq!(code(&again), "CONFLICT");
        assert_eq!(again["errors"][0]["extensions"]["field"], "input.email");
        let (_, bad) = app.gql(&As::in_school(&root, FIRST_SCHOOL),
            "mutation { createUser(input: { email: \"not-an-email\", fullName: \"\", role: VIEWER }) { role } }",
            json!({})).await;
        assert_eq!(code(&bad), "BAD_USER_INPUT");
        let fields: Vec<&str> = bad["errors"][0]["extensions"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["input.email", "input.fullName"]);
    }

    async fn the_last_admin_of_a_school_can_be_neither_demoted_nor_removed(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let root_id = app.ok(&As::token(&root), "{ me { user { id } } }", json!({})).await["me"]["user"]["id"].clone();
        let (_, body) = app.gql(&As::token(&root), "mutation($u: UUID!) { updateMembership(userId: $u, role: VIEWER) { role } }", json!({ "u": root_id })).await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        let (_, body) = app.gql(&As::token(&root), "mutation($u: UUID!) { removeMembership(userId: $u) }", json!({ "u": root_id })).await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
    }
}
