//! Imports hold a lease: an instance that starts fails only the imports whose instance stopped
//! (their lease expired), never those another live instance is running.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests arrange rows directly, around the tenant layer.

use chrono::Utc;
use entity::{enums::ImportStatus, ids::*, import_log};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;
use tests::{As, backend_tests};

fn running(school: SchoolId, name: &str, lease_seconds: i64) -> import_log::ActiveModel {
    let now = Utc::now();
    import_log::ActiveModel {
        school_id: Set(school),
        id: Set(ImportLogId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        kind: Set("STUDENTS".into()),
        file_name: Set(name.into()),
        status: Set(ImportStatus::Running),
        dry_run: Set(false),
        mode: Set("ALL_OR_NOTHING".into()),
        rows_total: Set(0),
        rows_processed: Set(0),
        rows_ok: Set(0),
        rows_failed: Set(0),
        rows_unchanged: Set(0),
        errors: Set(json!([])),
        message: Set(None),
        started_by: Set(None),
        started_at: Set(Some(now)),
        finished_at: Set(None),
        lease_owner: Set(Some("another-instance".into())),
        lease_expires_at: Set(Some(now + chrono::Duration::seconds(lease_seconds))),
        columns: Set(None),
    }
}

backend_tests! {
    async fn starting_an_instance_fails_only_imports_whose_lease_expired(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let school: SchoolId = app.ok(&who, "{ school { id } }", json!({})).await["school"]["id"].as_str().unwrap().parse().unwrap();
        running(school, "live.csv", 60).insert(&app.db.conn).await.unwrap();
        running(school, "dead.csv", -1).insert(&app.db.conn).await.unwrap();

        // A second instance starts on the same database.
        let second = app.another_instance().await;
        let logs = second.ok(&who, "{ importLogs { nodes { fileName status message } } }", json!({})).await;
        let status = |name: &str| {
            logs["importLogs"]["nodes"].as_array().unwrap().iter().find(|n| n["fileName"] == name).unwrap()["status"].clone()
        };
        assert_eq!(status("live.csv"), "RUNNING", "{logs}");
        assert_eq!(status("dead.csv"), "FAILED", "{logs}");
    }

    async fn an_import_running_on_one_instance_survives_another_instances_start(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let mut file = String::from("student_tz,first_name,last_name\n");
        for i in 0..3_000u32 {
            let body = format!("{:08}", 20_000_000 + 7 * i);
            let sum: u32 = body.chars().enumerate().map(|(i, c)| { let x = c.to_digit(10).unwrap() * if i % 2 == 0 { 1 } else { 2 }; x / 10 + x % 10 }).sum();
            file.push_str(&format!("{body}{},a{i},b\n", (10 - sum % 10) % 10));
        }
        let (_, body) = app.upload(&who, "mutation($file: Upload!, $o: ImportOptions) { importStudents(file: $file, options: $o) { id status } }", json!({ "o": { "background": true } }), "students.csv", file.into_bytes()).await;
        let id = body["data"]["importStudents"]["id"].clone();
        assert!(id.is_string(), "{body}");
        let _second = app.another_instance().await;
        let mut last = serde_json::Value::Null;
        for _ in 0..600 {
            last = app.ok(&who, "query($id: UUID!) { importLog(id: $id) { status rowsOk } }", json!({ "id": id })).await["importLog"].clone();
            if last["status"] != "RUNNING" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(last, json!({ "status": "SUCCEEDED", "rowsOk": 3_000 }));
    }
}
