//! Each role can do what DESIGN §4 says and nothing more.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code may panic on the unexpected.

use api::auth::Permission;
use entity::enums::Role;
use serde_json::json;
use tests::{As, FIRST_SCHOOL, backend_tests, code, spawn_app};

/// One guarded operation and the permission it needs in the school (`None`: superadmins only).
const OPERATIONS: &[(&str, Option<Permission>)] = &[
    ("{ members { role } }", Some(Permission::UsersManage)),
    ("{ apiTokens { id } }", Some(Permission::UsersManage)),
    (
        "mutation { createApiToken(input: { name: \"t\", role: VIEWER }) { token } }",
        Some(Permission::UsersManage),
    ),
    (
        "mutation { createUser(input: { email: \"new@example.org\", fullName: \"N\", role: VIEWER }) { role } }",
        Some(Permission::UsersManage),
    ),
    (
        "mutation { addSchoolDomain(host: \"perm.example.org\") { host } }",
        None,
    ),
    ("{ schoolDomains { host } }", Some(Permission::StudentsRead)),
    ("{ school { slug } }", Some(Permission::StudentsRead)),
    (
        "mutation { createSchool(input: { name: \"N\", slug: \"perm-school\" }) { id } }",
        None,
    ),
];

backend_tests! {
    async fn each_role_can_do_what_its_permissions_say_and_nothing_more(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        for (i, (role, role_name)) in [(Role::Admin, "ADMIN"), (Role::Teacher, "TEACHER"), (Role::Viewer, "VIEWER")].into_iter().enumerate() {
            let token = app.member_token(&root, FIRST_SCHOOL, &format!("user{i}@example.org"), role_name).await;
            let who = As::in_school(&token, FIRST_SCHOOL);

            let me = app.ok(&who, "{ me { permissions } }", json!({})).await;
            let expected: Vec<&str> = Permission::of_role(role).iter().map(|p| p.as_str()).collect();
            let mut got: Vec<&str> = me["me"]["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
            got.sort_unstable();
            let mut expected_sorted = expected.clone();
            expected_sorted.sort_unstable();
            assert_eq!(got, expected_sorted, "{role_name}");

            for (query, needs) in OPERATIONS {
                // Each role runs the writes once; rename per role to avoid conflicts.
                let query = query.replace("new@example.org", &format!("new{i}@example.org")).replace("perm.example.org", &format!("perm{i}.example.org"));
                let (_, body) = app.gql(&who, &query, json!({})).await;
                let allowed = needs.is_some_and(|p| expected.contains(&p.as_str()));
                if allowed {
                    assert!(body.get("errors").is_none(), "{role_name} may run {query}: {body}");
                } else {
                    assert_eq!(code(&body), "FORBIDDEN", "{role_name} may not run {query}: {body}");
                }
            }
        }
    }

    async fn an_api_token_cannot_manage_users_or_mint_tokens_whatever_its_role(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let token = app.ok(&As::token(&root), "mutation { createApiToken(input: { name: \"admin-sync\", role: ADMIN }) { token } }", json!({})).await;
        let token = token["createApiToken"]["token"].as_str().unwrap().to_owned();
        for query in [
            "mutation { createApiToken(input: { name: \"t\", role: ADMIN }) { token } }",
            "mutation { createUser(input: { email: \"x@example.org\", fullName: \"X\", role: ADMIN }) { role } }",
            "mutation { changePassword(currentPassword: \"a\", newPassword: \"bbbbbbbbbbbb\") { token } }",
            "mutation { createSchool(input: { name: \"N\", slug: \"by-token\" }) { id } }",
        ] {
            let (_, body) = app.gql(&As::token(&token), query, json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN", "{query}: {body}");
        }
        // It can read what its ADMIN role allows.
        app.ok(&As::token(&token), "{ members { role } apiTokens { name } }", json!({})).await;
    }
}
