//! OneRoster: a vendor's 1.2 district package (fixtures in `tests/fixtures/oneroster/`), a 1.1
//! package, our own export read back losslessly, bad packages, and school isolation.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use std::{
    collections::BTreeMap,
    io::{Cursor, Read, Write},
};

use sea_orm::{ConnectionTrait, EntityTrait, Statement, Value as DbValue};
use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests, code};

/// The tables a OneRoster package fills.
const TABLES: &[&str] = &[
    "academic_years",
    "terms",
    "subjects",
    "classes",
    "students",
    "teachers",
    "guardians",
    "student_guardians",
    "enrollments",
    "class_teachers",
    "assessments",
    "grades",
];

/// The files of fixture directory `name`, zipped (the manifest first).
fn fixture_zip(name: &str) -> Vec<u8> {
    let dir = format!("{}/fixtures/oneroster/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort_by_key(|(n, _)| (n != "manifest.csv", n.clone()));
    zip(&files
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect::<Vec<_>>())
}

fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in entries {
        let options = zip::write::SimpleFileOptions::default();
        if name.ends_with('/') {
            writer.add_directory(*name, options).unwrap();
            continue;
        }
        writer.start_file(*name, options).unwrap();
        writer.write_all(body).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        files.insert(entry.name().unwrap().into_owned(), text);
    }
    files
}

const IMPORT: &str = "mutation($file: Upload!, $options: OneRosterImportOptions) {
    importOneRoster(file: $file, options: $options) {
        id kind status rowsTotal rowsOk rowsFailed rowsUnchanged message errors { row column code message } } }";

async fn import(app: &TestApp, who: &As, bytes: Vec<u8>, options: Value) -> Value {
    let (status, body) = app
        .upload(
            who,
            IMPORT,
            json!({ "options": options }),
            "oneroster.zip",
            bytes,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["importOneRoster"].clone()
}

/// `GET /exports/oneroster` as `who`.
async fn export(app: &TestApp, who: &As) -> Vec<u8> {
    let mut request = app.client.get(app.url("/exports/oneroster"));
    if let Some(token) = &who.token {
        request = request.bearer_auth(token);
    }
    if let Some(school) = &who.school {
        request = request.header("x-school-id", school);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/zip"
    );
    response.bytes().await.unwrap().to_vec()
}

/// Rows of each table that belong to `school`.
async fn counts(app: &TestApp, school: &str) -> BTreeMap<&'static str, i64> {
    let backend = app.db.conn.get_database_backend();
    let id: uuid::Uuid = school.parse().unwrap();
    let mut out = BTreeMap::new();
    for table in TABLES {
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                format!("SELECT count(*) AS n FROM {table} WHERE school_id = $1")
            }
            _ => format!("SELECT count(*) AS n FROM {table} WHERE school_id = ?"),
        };
        let row = app
            .db
            .conn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [DbValue::from(id)],
            ))
            .await
            .unwrap()
            .unwrap();
        out.insert(*table, row.try_get::<i64>("", "n").unwrap());
    }
    out
}

async fn school_id(app: &TestApp, who: &As) -> String {
    app.ok(who, "{ school { id } }", json!({})).await["school"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A new school with its admin; returns who acts there and the school's id.
async fn new_school(app: &TestApp, root: &str, slug: &str) -> (As, String) {
    let id = app.create_school(root, slug).await;
    let token = app
        .member_token(root, slug, &format!("admin@{slug}.test"), "ADMIN")
        .await;
    (As::in_school(&token, slug), id)
}

/// An exported package with `from`'s school id replaced by `to`'s, without orgs.csv (the
/// school's name), for comparing two schools' exports.
fn comparable(files: &BTreeMap<String, String>, from: &str, to: &str) -> BTreeMap<String, String> {
    files
        .iter()
        .filter(|(name, _)| *name != "orgs.csv")
        .map(|(name, text)| (name.clone(), text.replace(from, to)))
        .collect()
}

async fn export_link(app: &TestApp, who: &As) -> String {
    app.ok(who, "mutation { exportOneRoster { url } }", json!({}))
        .await["exportOneRoster"]["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    async fn a_vendor_district_package_loads_this_schools_org_only(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = new_school(&app, &root, "herzl").await;
        let log = import(&app, &a, fixture_zip("district"), json!({ "orgSourcedId": "org-herzl" })).await;
        assert_eq!(log["status"], "SUCCEEDED", "{log}");
        assert_eq!(log["kind"], "ONE_ROSTER");
        // 35 rows in the seven record files; 8 are another org's or a kind we do not keep
        // (a principal, an exempt result); 27 written.
        assert_eq!(log["rowsTotal"], 35, "{log}");
        assert_eq!(log["rowsOk"], 27, "{log}");
        assert_eq!(log["rowsFailed"], 0);
        assert!(log["message"].as_str().unwrap().contains("8 skipped"), "{log}");
        let c = counts(&app, &a_id).await;
        let expected: BTreeMap<&str, i64> = [
            ("academic_years", 1), ("terms", 2), ("subjects", 3), ("classes", 3),
            ("students", 3), ("teachers", 1), ("guardians", 2), ("student_guardians", 3),
            ("enrollments", 6), ("class_teachers", 1), ("assessments", 2), ("grades", 3),
        ].into_iter().collect();
        assert_eq!(c, expected);
        let data = app.ok(&a, "{ students(first: 10) { nodes { studentTz firstName gradeLevel birthDate class { name } guardians { relationship isPrimary guardian { firstName } } grades { score maxScore category comment assessment { title } subject { name } term { name } } } } }", json!({})).await;
        let mut nodes = data["students"]["nodes"].as_array().unwrap().clone();
        nodes.sort_by_key(|n| n["studentTz"].as_str().unwrap().to_owned());
        let noa = &nodes[0];
        assert_eq!(noa["studentTz"], "039337423");
        assert_eq!(noa["firstName"], "נועה");
        assert_eq!(noa["gradeLevel"], 7);
        assert_eq!(noa["birthDate"], "2012-03-04");
        assert_eq!(noa["class"]["name"], "ז׳1");
        assert_eq!(noa["guardians"], json!([{ "relationship": "parent", "isPrimary": true, "guardian": { "firstName": "מיכל" } }]));
        let mut grades = noa["grades"].as_array().unwrap().clone();
        grades.sort_by_key(|g| g["assessment"]["title"].as_str().unwrap().to_owned());
        assert_eq!(grades[0], json!({ "score": 18.0, "maxScore": 20.0, "category": "QUIZ", "comment": null, "assessment": { "title": "בוחן" }, "subject": { "name": "אנגלית" }, "term": { "name": "מחצית א" } }));
        assert_eq!(grades[1]["comment"], "יפה מאוד, המשיכי");
        assert_eq!(grades[1]["score"], 92.0);
        // Nobody from the other org came along.
        let (_, body) = app.gql(&a, "{ students(first: 10, filter: { search: \"Other\" }) { nodes { id } } }", json!({})).await;
        assert_eq!(body["data"]["students"]["nodes"], json!([]), "{body}");

        // The same package again: nothing changes, and it says so.
        let again = import(&app, &a, fixture_zip("district"), json!({ "orgSourcedId": "org-herzl" })).await;
        assert_eq!(again["status"], "SUCCEEDED");
        assert_eq!(again["rowsOk"], 0, "{again}");
        assert_eq!(again["rowsUnchanged"], 27, "{again}");
        assert_eq!(counts(&app, &a_id).await, expected);

        // A district package with two schools must say which org is this school.
        let log = import(&app, &a, fixture_zip("district"), json!({})).await;
        assert_eq!(log["status"], "FAILED");
        assert_eq!(log["errors"][0]["code"], "AMBIGUOUS_ORG", "{log}");
        let log = import(&app, &a, fixture_zip("district"), json!({ "orgSourcedId": "nope" })).await;
        assert_eq!(log["errors"][0]["code"], "UNKNOWN_ORG", "{log}");
    }

    async fn a_one_one_package_takes_each_users_role_and_orgs(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = new_school(&app, &root, "school-a").await;
        let log = import(&app, &a, fixture_zip("v1.1"), json!({ "orgSourcedId": "org-a" })).await;
        assert_eq!(log["status"], "SUCCEEDED", "{log}");
        // Two students and a teacher of org-a; org-b's student and the administrator skipped.
        assert_eq!(log["rowsTotal"], 5);
        assert_eq!(log["rowsOk"], 3, "{log}");
        let c = counts(&app, &a_id).await;
        assert_eq!((c["students"], c["teachers"]), (2, 1));
        let data = app.ok(&a, "{ students(first: 10) { nodes { studentTz gradeLevel } } teachers(first: 10) { nodes { email } } }", json!({})).await;
        let mut tzs: Vec<&str> = data["students"]["nodes"].as_array().unwrap().iter().map(|n| n["studentTz"].as_str().unwrap()).collect();
        tzs.sort();
        assert_eq!(tzs, ["112233440", "300000015"]);
        assert_eq!(data["teachers"]["nodes"][0]["email"], "moshe@example.org");
    }

    async fn a_vendors_one_one_package_with_its_own_column_names_imports_whole_and_again_unchanged(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = new_school(&app, &root, "school-a").await;
        // As a sample generator writes it: a district of two schools, every field quoted, the
        // manifest's header twice,
        // `termSourcedId` (singular), one student's national id in `identifier`, another's as a
        // bare `userIds` value.
        let package = zip(&[
            ("manifest.csv", "\"propertyName\",\"value\"\n\"propertyName\",\"value\"\n\"manifest.version\",\"1.0\"\n\"oneroster.version\",\"1.1\"\n\"file.academicSessions\",\"bulk\"\n\"file.classes\",\"bulk\"\n\"file.courses\",\"bulk\"\n\"file.enrollments\",\"bulk\"\n\"file.orgs\",\"bulk\"\n\"file.users\",\"bulk\"\n".as_bytes().to_vec()),
            ("orgs.csv", "\"sourcedId\",\"status\",\"dateLastModified\",\"name\",\"type\",\"identifier\",\"parentSourcedId\"\n\"org-1\",\"\",\"\",\"School One\",\"school\",\"1001\",\"\"\n\"org-2\",\"\",\"\",\"School Two\",\"school\",\"1002\",\"\"\n".as_bytes().to_vec()),
            ("academicSessions.csv", "\"sourcedId\",\"status\",\"dateLastModified\",\"title\",\"type\",\"startDate\",\"endDate\",\"parentSourcedId\",\"schoolYear\"\n\"y1\",\"\",\"\",\"2025-2026\",\"schoolYear\",\"2025-09-01\",\"2026-06-30\",\"\",\"2026\"\n\"t1\",\"\",\"\",\"Fall\",\"term\",\"2025-09-01\",\"2026-01-31\",\"y1\",\"2026\"\n".as_bytes().to_vec()),
            ("courses.csv", "\"sourcedId\",\"status\",\"dateLastModified\",\"schoolYearSourcedId\",\"title\",\"courseCode\",\"grades\",\"orgSourcedId\",\"subjects\",\"subjectCodes\"\n\"c1\",\"\",\"\",\"y1\",\"Math\",\"MATH\",\"07\",\"org-1\",\"\",\"\"\n".as_bytes().to_vec()),
            ("classes.csv", "\"sourcedId\",\"status\",\"dateLastModified\",\"title\",\"grades\",\"courseSourcedId\",\"classCode\",\"classType\",\"location\",\"schoolSourcedId\",\"termSourcedId\",\"subjects\",\"subjectCodes\",\"periods\"\n\"k1\",\"\",\"\",\"Math 7\",\"07\",\"c1\",\"\",\"scheduled\",\"\",\"org-1\",\"t1\",\"\",\"\",\"\"\n".as_bytes().to_vec()),
            ("users.csv", "\"sourcedId\",\"status\",\"dateLastModified\",\"enabledUser\",\"orgSourcedIds\",\"role\",\"username\",\"userIds\",\"givenName\",\"familyName\",\"middleName\",\"identifier\",\"email\",\"sms\",\"phone\",\"agentSourcedIds\",\"grades\",\"password\"\n\"s1\",\"\",\"\",\"true\",\"org-1\",\"student\",\"s1\",\"\",\"Dana\",\"Levi\",\"\",\"039337423\",\"\",\"\",\"\",\"\",\"07\",\"\"\n\"s2\",\"\",\"\",\"true\",\"org-1\",\"student\",\"s2\",\"112233440\",\"Omer\",\"Peretz\",\"\",\"\",\"\",\"\",\"\",\"\",\"07\",\"\"\n\"s3\",\"\",\"\",\"true\",\"org-2\",\"student\",\"s3\",\"\",\"Not\",\"Ours\",\"\",\"055667786\",\"\",\"\",\"\",\"\",\"07\",\"\"\n\"p1\",\"\",\"\",\"true\",\"org-1\",\"teacher\",\"p1\",\"\",\"Moshe\",\"Golan\",\"\",\"T-17\",\"m@example.org\",\"\",\"\",\"\",\"\",\"\"\n".as_bytes().to_vec()),
            ("enrollments.csv", "\"sourcedId\",\"status\",\"dateLastModified\",\"classSourcedId\",\"schoolSourcedId\",\"userSourcedId\",\"role\",\"primary\",\"beginDate\",\"endDate\"\n\"e1\",\"\",\"\",\"k1\",\"org-1\",\"s1\",\"student\",\"false\",\"\",\"\"\n\"e2\",\"\",\"\",\"k1\",\"org-1\",\"s2\",\"student\",\"false\",\"\",\"\"\n\"e3\",\"\",\"\",\"k1\",\"org-1\",\"p1\",\"teacher\",\"true\",\"\",\"\"\n".as_bytes().to_vec()),
        ]);
        let log = import(&app, &a, package.clone(), json!({ "orgSourcedId": "org-1" })).await;
        assert_eq!(log["status"], "SUCCEEDED", "{log}");
        let message = log["message"].as_str().unwrap();
        assert!(message.contains("national ids read from identifier 1, userIds (a bare id) 1"), "{log}");
        let c = counts(&app, &a_id).await;
        assert_eq!((c["students"], c["teachers"], c["classes"], c["terms"], c["enrollments"]), (2, 1, 1, 1, 2), "{c:?}");
        let data = app.ok(&a, "{ students(first: 10) { nodes { studentTz } } }", json!({})).await;
        let mut tzs: Vec<&str> = data["students"]["nodes"].as_array().unwrap().iter().map(|n| n["studentTz"].as_str().unwrap()).collect();
        tzs.sort();
        assert_eq!(tzs, ["039337423", "112233440"]);
        let again = import(&app, &a, package, json!({ "orgSourcedId": "org-1" })).await;
        assert_eq!((again["status"].as_str(), again["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(0)), "{again}");
        assert_eq!(counts(&app, &a_id).await, c, "a second import changes nothing");
    }

    async fn a_package_with_its_own_header_names_imports_with_a_columns_mapping(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = new_school(&app, &root, "school-a").await;
        let dir = format!("{}/fixtures/oneroster/v1.1", env!("CARGO_MANIFEST_DIR"));
        let file = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        // users.csv calls givenName "FirstName".
        let users = file("users.csv").replacen("givenName", "FirstName", 1);
        let package = zip(&[
            ("manifest.csv", file("manifest.csv").into_bytes()),
            ("orgs.csv", file("orgs.csv").into_bytes()),
            ("users.csv", users.into_bytes()),
        ]);
        let log = import(&app, &a, package.clone(), json!({ "orgSourcedId": "org-a", "dryRun": true })).await;
        assert_eq!(log["errors"][0]["code"], "MISSING_COLUMN", "{log}");
        let mapping = json!([{ "header": "FirstName", "field": "users.csv:givenName" }]);
        let (_, body) = app.upload(&a, "mutation($file: Upload!, $options: OneRosterImportOptions) { importOneRoster(file: $file, options: $options) { status rowsOk columns { header field } } }",
            json!({ "options": { "orgSourcedId": "org-a", "columns": mapping } }), "p.zip", package).await;
        let log = &body["data"]["importOneRoster"];
        assert_eq!((log["status"].as_str(), log["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(3)), "{body}");
        assert!(log["columns"].as_array().unwrap().contains(&json!({ "header": "users.csv:FirstName", "field": "givenname" })), "{body}");
        assert_eq!(counts(&app, &a_id).await["students"], 2);
        let (_, body) = app.upload(&a, IMPORT, json!({ "options": { "columns": [{ "header": "x", "field": "users.csv:shoeSize" }] } }), "p.zip", b"PK".to_vec()).await;
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "{body}");
    }

    async fn our_export_reads_back_losslessly(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        // A school with everything a package carries: the vendor package, then the demo
        // school's kinds of records (grades without assessments, class teachers, guardians).
        let (a, a_id) = new_school(&app, &root, "source").await;
        import(&app, &a, fixture_zip("district"), json!({ "orgSourcedId": "org-herzl" })).await;
        api::services::demo::create_school(&app.state.db, "הדגמה", "demo-source", 40, 7).await.unwrap().unwrap();
        let demo = As::in_school(&root, "demo-source");
        let demo_id = school_id(&app, &demo).await;

        let source_counts = counts(&app, &a_id).await;
        assert!(source_counts.values().all(|n| *n > 0), "{source_counts:?}");
        let demo_counts = counts(&app, &demo_id).await;
        assert!(demo_counts["grades"] > 1_000 && demo_counts["class_teachers"] > 0, "{demo_counts:?}");
        for (source, source_id, target_slug) in [(&a, &a_id, "copy-a"), (&demo, &demo_id, "copy-demo")] {
            let package = export(&app, source).await;
            let files = unzip(&package);
            assert!(files["manifest.csv"].contains("oneroster.version,1.2"));
            let (target, target_id) = new_school(&app, &root, target_slug).await;
            let log = import(&app, &target, package.clone(), json!({})).await;
            assert_eq!(log["status"], "SUCCEEDED", "{log}");
            assert_eq!(log["rowsFailed"], 0, "{log}");
            // Every record came over…
            assert_eq!(counts(&app, &target_id).await, counts(&app, source_id).await);
            // …with every field: the copy exports the same package (ids aside: records keep
            // the source's ids as their sourcedIds).
            let copy = unzip(&export(&app, &target).await);
            assert_eq!(comparable(&files, source_id, &target_id), comparable(&copy, &target_id, &target_id));
            // Reading our own export back into the source changes nothing.
            let again = import(&app, source, package, json!({})).await;
            assert_eq!(again["status"], "SUCCEEDED", "{again}");
            assert_eq!(again["rowsOk"], 0, "{again}");
        }
    }

    async fn bad_packages_are_refused_whole_and_write_nothing(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = new_school(&app, &root, "herzl").await;
        let manifest = std::fs::read(format!("{}/fixtures/oneroster/district/manifest.csv", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let orgs = b"sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\norg-herzl,,,Herzl,school,,\n".to_vec();
        let only_orgs = b"propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\n".to_vec();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (zip(&[("orgs.csv", orgs.clone())]), "MISSING_MANIFEST"),
            (zip(&[("manifest.csv", only_orgs.clone()), ("data/", vec![]), ("data/orgs.csv", orgs.clone())]), "ZIP_PATH"),
            (zip(&[("manifest.csv", only_orgs.clone()), ("../orgs.csv", orgs.clone())]), "ZIP_PATH"),
            (zip(&[("manifest.csv", manifest.clone()), ("orgs.csv", orgs.clone())]), "MISSING_FILE"),
            (b"not a zip at all".to_vec(), "UNREADABLE_FILE"),
        ];
        for (bytes, expected) in cases {
            let log = import(&app, &a, bytes, json!({})).await;
            assert_eq!(log["status"], "FAILED", "{log}");
            assert_eq!(log["errors"][0]["code"], expected, "{log}");
        }
        // One bad row (a result over the line item's maximum) fails the whole package.
        let mut files: Vec<(String, Vec<u8>)> = unzip(&fixture_zip("district")).into_iter().map(|(n, t)| (n, t.into_bytes())).collect();
        for (name, body) in &mut files {
            if name == "results.csv" {
                *body = String::from_utf8(body.clone()).unwrap().replace("li-2,u-s1,fully graded,18", "li-2,u-s1,fully graded,21").into_bytes();
            }
        }
        let bytes = zip(&files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect::<Vec<_>>());
        let log = import(&app, &a, bytes.clone(), json!({ "orgSourcedId": "org-herzl" })).await;
        assert_eq!(log["status"], "FAILED", "{log}");
        assert_eq!(log["errors"], json!([{ "row": 4, "column": "results.csv:score", "code": "OUT_OF_RANGE", "message": "results.csv line 4: must be a number from 0 to 20" }]));
        assert!(counts(&app, &a_id).await.values().all(|n| *n == 0));
        // …or, asked to, loads the rest.
        let log = import(&app, &a, bytes, json!({ "orgSourcedId": "org-herzl", "mode": "VALID_ROWS" })).await;
        assert_eq!(log["status"], "PARTIAL", "{log}");
        assert_eq!((log["rowsOk"].as_i64(), log["rowsFailed"].as_i64()), (Some(26), Some(1)));
        assert_eq!(counts(&app, &a_id).await["grades"], 2);
        // A dry run reports and writes nothing.
        let (b, b_id) = new_school(&app, &root, "dry").await;
        let log = import(&app, &b, fixture_zip("district"), json!({ "orgSourcedId": "org-herzl", "dryRun": true })).await;
        assert_eq!(log["status"], "SUCCEEDED");
        assert!(log["message"].as_str().unwrap().contains("would write 27"), "{log}");
        assert!(counts(&app, &b_id).await.values().all(|n| *n == 0));
    }

    async fn a_package_naming_another_schools_org_writes_only_here(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (b, b_id) = new_school(&app, &root, "school-b").await;
        import(&app, &b, fixture_zip("district"), json!({ "orgSourcedId": "org-herzl" })).await;
        let b_before = counts(&app, &b_id).await;
        let b_export = export(&app, &b).await;
        // School A imports B's own export (its org is B's id, its records B's ids and national
        // ids), and the vendor package with B's org.
        let (a, a_id) = new_school(&app, &root, "school-a").await;
        let log = import(&app, &a, b_export.clone(), json!({ "orgSourcedId": b_id })).await;
        assert_eq!(log["status"], "SUCCEEDED", "{log}");
        let log = import(&app, &a, fixture_zip("district"), json!({ "orgSourcedId": "org-herzl" })).await;
        assert_eq!(log["status"], "SUCCEEDED", "{log}");
        assert_eq!(counts(&app, &a_id).await, b_before, "A holds its own copy");
        assert_eq!(counts(&app, &b_id).await, b_before, "B is untouched");
        assert_eq!(unzip(&export(&app, &b).await), unzip(&b_export));
        // A's records are A's: changing them leaves B's alone.
        let s = app.ok(&a, "{ students(first: 1) { nodes { id } } }", json!({})).await["students"]["nodes"][0]["id"].clone();
        app.ok(&a, "mutation($id: UUID!) { updateStudent(id: $id, input: { firstName: \"שונה\" }) { id } }", json!({ "id": s })).await;
        assert_eq!(unzip(&export(&app, &b).await), unzip(&b_export));
    }

    async fn the_export_needs_credentials_and_the_permission(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let viewer = app.member_token(&root, FIRST_SCHOOL, "viewer@example.org", "VIEWER").await;
        let url = app.url("/exports/oneroster");
        let anonymous = app.client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        let body: Value = anonymous.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED");
        let forbidden = app.client.get(&url).bearer_auth(&viewer).header("x-school-id", FIRST_SCHOOL).send().await.unwrap();
        assert_eq!(forbidden.status().as_u16(), 403);
        // The link from exportOneRoster works without other credentials, and only as issued.
        let admin = As::in_school(&root, FIRST_SCHOOL);
        let link = app.ok(&admin, "mutation { exportOneRoster { url expiresAt } }", json!({})).await["exportOneRoster"].clone();
        let path = link["url"].as_str().unwrap();
        let ok = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(ok.status().as_u16(), 200);
        assert!(unzip(&ok.bytes().await.unwrap()).contains_key("manifest.csv"));
        let tampered = app.client.get(app.url(&format!("{path}x"))).send().await.unwrap();
        assert_eq!(tampered.status().as_u16(), 401);
        // A session token is no download link.
        let session = app.client.get(format!("{url}?token={root}")).send().await.unwrap();
        assert_eq!(session.status().as_u16(), 401);
        let (_, body) = app.gql(&As::in_school(&viewer, FIRST_SCHOOL), "mutation { exportOneRoster { url } }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN");
    }

    async fn a_download_link_works_once_and_only_while_its_session_lives(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let admin = app.member_token(&root, FIRST_SCHOOL, "office@example.org", "ADMIN").await;
        let who = As::token(&admin);
        // Once.
        let path = export_link(&app, &who).await;
        assert_eq!(app.client.get(app.url(&path)).send().await.unwrap().status().as_u16(), 200);
        let again = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 401, "a link is used once");
        // The download is audited with who made the link.
        let user_id = app.ok(&who, "{ me { user { id } } }", json!({})).await["me"]["user"]["id"].clone();
        let entries = entity::audit_log::Entity::find().all(&app.db.conn).await.unwrap();
        let entry = entries.iter().find(|e| e.action == "oneroster.export").unwrap_or_else(|| panic!("{entries:?}"));
        assert_eq!(entry.actor_id.map(|id| id.to_string()), user_id.as_str().map(str::to_owned), "{entry:?}");
        assert_eq!(entry.details.as_ref().unwrap()["by_link"], true);
        // A link of a session that was revoked does not work.
        let path = export_link(&app, &who).await;
        app.ok(&who, "mutation { revokeMySessions }", json!({})).await;
        let revoked = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(revoked.status().as_u16(), 401);
        // Nor one of a member who lost the permission.
        let who = As::token(&app.login("office@example.org", tests::PASSWORD).await);
        let path = export_link(&app, &who).await;
        app.ok(&As::in_school(&root, FIRST_SCHOOL), "mutation($id: UUID!) { updateMembership(userId: $id, role: VIEWER) { role } }", json!({ "id": user_id })).await;
        let demoted = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(demoted.status().as_u16(), 401);
    }
}
