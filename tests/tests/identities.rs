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

    async fn adding_a_person_of_another_school_is_an_invitation_they_decide_on(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        app.add_member(&root, "school-b", "dana@example.org", "TEACHER").await;
        let dana = app.login("dana@example.org", tests::PASSWORD).await;
        let a_admin = As::token(&app.member_token(&root, FIRST_SCHOOL, "a@example.org", "ADMIN").await);
        let invite = "mutation($e: String!) { createUser(input: { email: $e, fullName: \"Someone Else\", role: ADMIN }) { email role status schoolSlug expiresAt code } }";
        let accept = "mutation($c: String!, $p: String) { acceptInvitation(code: $c, password: $p) { role school { slug } } }";

        // A known and an unknown email: the same answer, field by field (the expiry to the
        // minute, the code's length), and nothing about the person.
        let known = app.ok(&a_admin, invite, json!({ "e": "dana@example.org" })).await["createUser"].clone();
        let unknown = app.ok(&a_admin, invite, json!({ "e": "newcomer@example.org" })).await["createUser"].clone();
        let shape = |v: &Value| {
            let mut v = v.clone();
            v["email"] = Value::Null;
            v["expiresAt"] = json!(v["expiresAt"].as_str().unwrap()[..16].to_owned());
            v["code"] = json!(v["code"].as_str().unwrap().len());
            v
        };
        assert_eq!(shape(&known), shape(&unknown));
        assert_eq!(known["status"], "PENDING");
        // The inviting school cannot sign in as either person: it set no password.
        for email in ["dana@example.org", "newcomer@example.org"] {
            for password in ["Someone Else", tests::PASSWORD] {
                if email == "dana@example.org" && password == tests::PASSWORD {
                    continue; // Dana's own password, which school A does not know.
                }
                let (_, body) = app.gql(&As::anonymous(), "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }", json!({ "e": email, "p": password })).await;
                assert_eq!(code(&body), "UNAUTHENTICATED", "{email} {password}: {body}");
            }
        }
        // Nor accept Dana's invitation without being Dana: an account is not enough, the
        // session must be hers; and without a session an existing account cannot be claimed.
        let (_, body) = app.gql(&a_admin, accept, json!({ "c": known["code"] })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = app.gql(&As::anonymous(), accept, json!({ "c": known["code"], "p": "a-password-of-school-a" })).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
        // Dana is not a member of A until she says so; her requests still name her one school.
        let me = app.ok(&As::token(&dana), "{ me { memberships { school { slug } } invitations { id schoolSlug role code } } school { slug } }", json!({})).await;
        assert_eq!(me["me"]["memberships"], json!([{ "school": { "slug": "school-b" } }]), "{me}");
        assert_eq!(me["school"]["slug"], "school-b");
        let invitation = me["me"]["invitations"][0].clone();
        assert_eq!((invitation["schoolSlug"].as_str(), invitation["role"].as_str()), (Some(FIRST_SCHOOL), Some("ADMIN")), "{me}");
        assert!(invitation["code"].is_null(), "the code is shown only to the school: {me}");
        // Her name was not changed by A's input.
        let name = app.ok(&As::token(&dana), "{ me { user { fullName } } }", json!({})).await;
        assert_eq!(name["me"]["user"]["fullName"], "Test User");
        // Another person's invitation is answered like a random id, and a wrong code like none.
        let (s1, theirs) = app.gql(&a_admin, "mutation($id: UUID!) { declineInvitation(id: $id) }", json!({ "id": invitation["id"] })).await;
        let (s2, random) = app.gql(&a_admin, "mutation($id: UUID!) { declineInvitation(id: $id) }", json!({ "id": uuid::Uuid::now_v7() })).await;
        assert_eq!(code(&theirs), "NOT_FOUND", "{theirs}");
        assert_eq!((s1, &theirs["errors"][0]["message"]), (s2, &random["errors"][0]["message"]));
        let (_, body) = app.gql(&As::token(&dana), accept, json!({ "c": "not-the-code" })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        // She declines: nothing changes, and the code no longer works; invited again, she
        // accepts with the new code.
        app.ok(&As::token(&dana), "mutation($id: UUID!) { declineInvitation(id: $id) }", json!({ "id": invitation["id"] })).await;
        let (_, body) = app.gql(&As::token(&dana), accept, json!({ "c": known["code"] })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let me = app.ok(&As::token(&dana), "{ me { memberships { role } invitations { id } } }", json!({})).await;
        assert_eq!(me["me"]["memberships"].as_array().unwrap().len(), 1);
        assert_eq!(me["me"]["invitations"], json!([]));
        // Declined: the same school cannot ask again for a while.
        let (_, body) = app.gql(&a_admin, invite, json!({ "e": "dana@example.org" })).await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        // (As if the fortnight had passed.)
        use sea_orm::{ConnectionTrait, Statement};
        app.db.conn.execute_raw(Statement::from_string(app.db.conn.get_database_backend(), "UPDATE invitations SET created_at = '2020-01-01 00:00:00+00:00'")).await.unwrap();
        let again = app.ok(&a_admin, invite, json!({ "e": "dana@example.org" })).await["createUser"]["code"].clone();
        let joined = app.ok(&As::token(&dana), accept, json!({ "c": again })).await;
        assert_eq!(joined["acceptInvitation"], json!({ "role": "ADMIN", "school": { "slug": FIRST_SCHOOL } }));
        // The newcomer chooses a password with the code, and is a member.
        let joined = app.ok(&As::anonymous(), accept, json!({ "c": unknown["code"], "p": "the-newcomers-own" })).await;
        assert_eq!(joined["acceptInvitation"]["school"]["slug"], FIRST_SCHOOL);
        let newcomer = app.login("newcomer@example.org", "the-newcomers-own").await;
        let me = app.ok(&As::token(&newcomer), "{ me { memberships { role } invitations { schoolSlug } } }", json!({})).await;
        assert_eq!(me["me"], json!({ "memberships": [{ "role": "ADMIN" }], "invitations": [] }));
    }

    async fn inviting_a_known_and_an_unknown_email_takes_the_same_time(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let admin = As::in_school(&root, FIRST_SCHOOL);
        let invite = "mutation($e: String!) { createUser(input: { email: $e, fullName: \"X\", role: VIEWER }) { id } }";
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for i in 0..20 {
            let email = format!("known{i}@example.org");
            app.ok(&As::in_school(&root, "school-b"), invite, json!({ "e": email })).await;
            let started = std::time::Instant::now();
            app.ok(&admin, invite, json!({ "e": email })).await;
            known.push(started.elapsed());
            let started = std::time::Instant::now();
            app.ok(&admin, invite, json!({ "e": format!("unknown{i}@example.org") })).await;
            unknown.push(started.elapsed());
        }
        known.sort();
        unknown.sort();
        let (k, u) = (known[10].as_secs_f64(), unknown[10].as_secs_f64());
        assert!((k - u).abs() / k.max(u) < 0.2, "median known {k:.4} s, unknown {u:.4} s");
    }
}
