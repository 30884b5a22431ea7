//! Choosing the school of a request, and answering another school's records like missing ones.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use entity::enums::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, backend_tests, code, spawn_app};

const SCHOOL: &str = "{ school { slug } }";

/// The error part of a response, for comparing two answers.
fn error_of(body: &Value) -> (String, String, bool) {
    (
        code(body).to_owned(),
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["data"].is_null(),
    )
}

backend_tests! {
    async fn the_school_is_chosen_by_header_id_or_slug_host_or_only_membership(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let b_id = app.create_school(&root, "school-b").await;
        let dana = app.member_token(&root, "school-b", "dana@example.org", "TEACHER").await;

        // The only membership.
        assert_eq!(app.ok(&As::token(&dana), SCHOOL, json!({})).await["school"]["slug"], "school-b");
        // By id and by slug.
        assert_eq!(app.ok(&As::in_school(&dana, &b_id), SCHOOL, json!({})).await["school"]["slug"], "school-b");
        assert_eq!(app.ok(&As::in_school(&dana, "school-b"), SCHOOL, json!({})).await["school"]["slug"], "school-b");
        // By host, once the school maps one.
        app.ok(&As::in_school(&root, "school-b"), "mutation { addSchoolDomain(host: \"B.Example.org\") { host } }", json!({})).await;
        let by_host = As { token: Some(root.clone()), school: None, host: Some("b.example.org:8443".into()) };
        assert_eq!(app.ok(&by_host, SCHOOL, json!({})).await["school"]["slug"], "school-b");
        let (_, taken) = app.gql(&As::in_school(&root, FIRST_SCHOOL), "mutation { addSchoolDomain(host: \"b.example.org\") { host } }", json!({})).await;
        assert_eq!(code(&taken), "CONFLICT");
        let (_, bad) = app.gql(&As::in_school(&root, FIRST_SCHOOL), "mutation { addSchoolDomain(host: \"http://x/\") { host } }", json!({})).await;
        assert_eq!(code(&bad), "BAD_USER_INPUT");
    }

    async fn several_memberships_and_no_choice_is_school_required_naming_the_header(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        app.add_member(&root, FIRST_SCHOOL, "dana@example.org", "TEACHER").await;
        let dana = app.member_token(&root, "school-b", "dana@example.org", "VIEWER").await;
        let (_, body) = app.gql(&As::token(&dana), SCHOOL, json!({})).await;
        assert_eq!(code(&body), "SCHOOL_REQUIRED", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("X-School-Id"));
        // `me` still answers, with no active school.
        let me = app.ok(&As::token(&dana), "{ me { activeSchool { slug } memberships { role } } }", json!({})).await;
        assert_eq!(me["me"]["activeSchool"], Value::Null);
        assert_eq!(me["me"]["memberships"].as_array().unwrap().len(), 2);
        assert_eq!(app.ok(&As::in_school(&dana, FIRST_SCHOOL), "{ me { role } }", json!({})).await["me"]["role"], "TEACHER");
    }

    async fn another_school_in_the_header_is_forbidden_exactly_like_an_unknown_one(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let b_id = app.create_school(&root, "school-b").await;
        let dana = app.member_token(&root, FIRST_SCHOOL, "dana@example.org", "ADMIN").await;
        let (_, other_by_slug) = app.gql(&As::in_school(&dana, "school-b"), SCHOOL, json!({})).await;
        let (_, other_by_id) = app.gql(&As::in_school(&dana, &b_id), SCHOOL, json!({})).await;
        let (_, unknown_slug) = app.gql(&As::in_school(&dana, "no-such-school"), SCHOOL, json!({})).await;
        let (_, unknown_id) = app.gql(&As::in_school(&dana, &uuid::Uuid::now_v7().to_string()), SCHOOL, json!({})).await;
        assert_eq!(error_of(&other_by_slug).0, "FORBIDDEN");
        for body in [&other_by_id, &unknown_slug, &unknown_id] {
            assert_eq!(error_of(body), error_of(&other_by_slug));
        }

        // An API token of school A naming school B.
        let token = app.ok(&As::token(&root), "mutation { createApiToken(input: { name: \"sync\", role: ADMIN }) { token } }", json!({})).await;
        let token = token["createApiToken"]["token"].as_str().unwrap();
        let (_, body) = app.gql(&As::in_school(token, "school-b"), SCHOOL, json!({})).await;
        assert_eq!(error_of(&body), error_of(&other_by_slug));
        assert_eq!(app.ok(&As::in_school(token, FIRST_SCHOOL), SCHOOL, json!({})).await["school"]["slug"], FIRST_SCHOOL);
    }

    async fn records_of_another_school_are_answered_exactly_like_random_ids(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let admin_a = app.member_token(&root, FIRST_SCHOOL, "a@example.org", "ADMIN").await;
        let b_member = app.add_member(&root, "school-b", "b@example.org", "TEACHER").await;
        let b_token = app.ok(&As::in_school(&root, "school-b"), "mutation { createApiToken(input: { name: \"b\", role: VIEWER }) { apiToken { id } } }", json!({})).await;
        let b_token = b_token["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_owned();
        app.ok(&As::in_school(&root, "school-b"), "mutation { addSchoolDomain(host: \"b.example.org\") { host } }", json!({})).await;
        let random = uuid::Uuid::now_v7().to_string();
        let a = As::token(&admin_a);

        let cases = [
            ("mutation($id: UUID!) { revokeApiToken(id: $id) { id } }", json!({ "id": b_token }), json!({ "id": random })),
            ("mutation($id: UUID!) { updateMembership(userId: $id, role: VIEWER) { role } }", json!({ "id": b_member }), json!({ "id": random })),
            ("mutation($id: UUID!) { removeMembership(userId: $id) }", json!({ "id": b_member }), json!({ "id": random })),
            ("mutation($h: String!) { removeSchoolDomain(host: $h) }", json!({ "h": "b.example.org" }), json!({ "h": "nowhere.example.org" })),
        ];
        for (query, theirs, missing) in cases {
            let (s1, their_answer) = app.gql(&a, query, theirs).await;
            let (s2, missing_answer) = app.gql(&a, query, missing).await;
            assert_eq!(error_of(&their_answer).0, "NOT_FOUND", "{query}: {their_answer}");
            assert_eq!((s1, error_of(&their_answer)), (s2, error_of(&missing_answer)), "{query}");
        }
        // And nothing of school B changed.
        let token = entity::api_token::Entity::find_by_id(b_token.parse::<entity::ids::ApiTokenId>().unwrap()).one(&app.db.conn).await.unwrap().unwrap();
        assert!(token.revoked_at.is_none());
        let b_memberships = entity::membership::Entity::find()
            .filter(entity::membership::Column::UserId.eq(b_member.parse::<entity::ids::UserId>().unwrap()))
            .all(&app.db.conn).await.unwrap();
        assert_eq!(b_memberships.len(), 1);
        assert_eq!(b_memberships[0].role, Role::Teacher);
        assert_eq!(entity::school_domain::Entity::find().all(&app.db.conn).await.unwrap().len(), 1);
        // Lists show only the active school's records.
        let tokens = app.ok(&a, "{ apiTokens { id } members { user { email } } }", json!({})).await;
        assert_eq!(tokens["apiTokens"], json!([]));
        let emails: Vec<&str> = tokens["members"].as_array().unwrap().iter().map(|m| m["user"]["email"].as_str().unwrap()).collect();
        assert!(!emails.contains(&"b@example.org"), "{emails:?}");
    }

    async fn schools_lists_all_for_superadmins_and_only_their_own_for_others(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        for slug in ["school-b", "school-c", "school-d"] {
            app.create_school(&root, slug).await;
        }
        let dana = app.member_token(&root, "school-c", "dana@example.org", "VIEWER").await;
        let q = "query($a: String) { schools(first: 2, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { slug } } }";
        let page1 = app.ok(&As::token(&root), q, json!({ "a": null })).await;
        assert_eq!(page1["schools"]["totalCount"], 4);
        assert_eq!(page1["schools"]["nodes"], json!([{ "slug": FIRST_SCHOOL }, { "slug": "school-b" }]));
        assert_eq!(page1["schools"]["pageInfo"]["hasNextPage"], true);
        let page2 = app.ok(&As::token(&root), q, json!({ "a": page1["schools"]["pageInfo"]["endCursor"] })).await;
        assert_eq!(page2["schools"]["nodes"], json!([{ "slug": "school-c" }, { "slug": "school-d" }]));
        assert_eq!(page2["schools"]["pageInfo"]["hasNextPage"], false);

        let own = app.ok(&As::token(&dana), q, json!({ "a": null })).await;
        assert_eq!(own["schools"]["totalCount"], 1);
        assert_eq!(own["schools"]["nodes"], json!([{ "slug": "school-c" }]));
        let (_, too_many) = app.gql(&As::token(&root), "{ schools(first: 101) { totalCount } }", json!({})).await;
        assert_eq!(code(&too_many), "BAD_USER_INPUT");

        let (_, body) = app.gql(&As::token(&dana), "mutation { createSchool(input: { name: \"X\", slug: \"school-x\" }) { id } }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN");
        let (_, dup) = app.gql(&As::token(&root), "mutation { createSchool(input: { name: \"X\", slug: \"school-b\" }) { id } }", json!({})).await;
        assert_eq!(code(&dup), "CONFLICT");
        let (_, bad) = app.gql(&As::token(&root), "mutation { createSchool(input: { name: \"\", slug: \"Not A Slug\" }) { id } }", json!({})).await;
        assert_eq!(code(&bad), "BAD_USER_INPUT");
        assert_eq!(bad["errors"][0]["extensions"]["fields"].as_array().unwrap().len(), 2);
    }

    async fn every_superadmin_action_on_a_school_is_audited_in_that_school(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let b_id: entity::ids::SchoolId = app.create_school(&root, "school-b").await.parse().unwrap();
        let created = entity::audit_log::Entity::find().filter(entity::audit_log::Column::SchoolId.eq(b_id)).all(&app.db.conn).await.unwrap();
        assert_eq!(created.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["school.create"]);

        app.ok(&As::in_school(&root, "school-b"), "query Peek { school { slug } }", json!({})).await;
        let entries = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::SchoolId.eq(b_id))
            .filter(entity::audit_log::Column::Action.eq("superadmin.access"))
            .all(&app.db.conn).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].actor_is_superadmin);
        assert_eq!(entries[0].actor_kind, "USER");
        assert_eq!(entries[0].details.as_ref().unwrap()["operation"], "Peek");
    }

    async fn a_school_shows_its_own_configuration_and_no_other(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let data = app.ok(&As::token(&root), "{ school { configuration { passMark scoreMax chronicAbsencePct chronicAbsenceMinDays timezone } } }", json!({})).await;
        assert_eq!(data["school"]["configuration"], json!({ "passMark": 55.0, "scoreMax": 100.0, "chronicAbsencePct": 10.0, "chronicAbsenceMinDays": 20, "timezone": "Asia/Jerusalem" }));
        let (_, body) = app.gql(&As::token(&root), "{ schools { nodes { slug configuration { passMark } } } }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "another school's settings are not listed: {body}");
    }
}
