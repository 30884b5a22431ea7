//! A hostile school: school A (or anyone who can reach the port) sends what would exhaust the
//! shared process — deep nesting, fan-out queries, sparse and zip-bomb workbooks, wide CSV
//! headers, oversized uploads, bursts — and every one is refused with its code, the process
//! keeps serving, and school B's requests made meanwhile all succeed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // Timings are printed for `--nocapture` runs.

use std::{io::Write, time::Instant};

use serde_json::{Value, json};
use tests::{As, TestApp, backend_tests, code, spawn_app, spawn_app_with};

/// Two schools with an admin and a viewer each, and one class of three students in each.
struct Schools {
    a: entity::ids::SchoolId,
    a_admin: As,
    a_viewer: As,
    b_viewer: As,
}

async fn two_schools(app: &TestApp) -> Schools {
    let root = app.root().await;
    let a = app.create_school(&root, "school-a").await.parse().unwrap();
    app.create_school(&root, "school-b").await;
    let a_admin = app
        .member_token(&root, "school-a", "admin@a.test", "ADMIN")
        .await;
    let a_viewer = app
        .member_token(&root, "school-a", "viewer@a.test", "VIEWER")
        .await;
    let b_admin = app
        .member_token(&root, "school-b", "admin@b.test", "ADMIN")
        .await;
    let b_viewer = app
        .member_token(&root, "school-b", "viewer@b.test", "VIEWER")
        .await;
    for (token, tzs) in [
        (&a_admin, ["000000018", "000000026", "000000034"]),
        (&b_admin, ["000000042", "000000059", "000000067"]),
    ] {
        let who = As::token(token);
        let year = app.ok(&who, "mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2025-09-01\", endDate: \"2026-06-20\", isCurrent: true }) { id } }", json!({})).await["createAcademicYear"]["id"].clone();
        let class = app.ok(&who, "mutation($y: UUID!) { createClass(input: { academicYearId: $y, name: \"ז'1\", gradeLevel: 7 }) { id } }", json!({ "y": year })).await["createClass"]["id"].clone();
        for tz in tzs {
            app.ok(&who, "mutation($tz: String!, $c: UUID!) { createStudent(input: { studentTz: $tz, firstName: \"Dana\", lastName: \"Levi\", gradeLevel: 7, classId: $c }) { id } }", json!({ "tz": tz, "c": class })).await;
        }
    }
    Schools {
        a,
        a_admin: As::token(&a_admin),
        a_viewer: As::token(&a_viewer),
        b_viewer: As::token(&b_viewer),
    }
}

/// School B's everyday request; panics unless it is answered in full.
async fn b_reads(app: &TestApp, b: &As) {
    let data = app
        .ok(
            b,
            "{ classes(first: 5) { nodes { name students { studentTz } } } }",
            json!({}),
        )
        .await;
    let students = &data["classes"]["nodes"][0]["students"];
    assert_eq!(students.as_array().map(Vec::len), Some(3), "{data}");
}

/// The fan-out of the issue: `class { students { … } }` repeated under a page of classes.
fn fan_out(levels: usize) -> String {
    let mut inner = "id".to_owned();
    for _ in 0..levels {
        inner = format!("students {{ class {{ {inner} }} }}");
    }
    format!("{{ classes(first: 100) {{ nodes {{ {inner} }} }} }}")
}

/// A workbook with the given sheet XML (and no shared strings).
fn xlsx(sheet: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let files: [(&str, &[u8]); 5] = [
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    for (name, bytes) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn sheet(dimension: &str, rows: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>"#
    )
    .into_bytes()
}

fn cell(reference: &str, text: &str) -> String {
    format!(r#"<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// The sparse workbook of the issue: cells A1 and XFD1048576 only.
fn sparse_xlsx() -> Vec<u8> {
    let rows = format!(
        r#"<row r="1">{}</row><row r="1048576">{}</row>"#,
        cell("A1", "student_tz"),
        cell("XFD1048576", "x")
    );
    xlsx(&sheet("A1:XFD1048576", &rows))
}

const IMPORT_STUDENTS: &str = "mutation($file: Upload!, $options: ImportOptions) { importStudents(file: $file, options: $options) { status errors { code message } } }";

/// An import that must be refused as bad input before it starts; returns the message.
async fn refused_upload(app: &TestApp, who: &As, name: &str, bytes: Vec<u8>) -> String {
    let started = Instant::now();
    let (status, body) = app
        .upload(
            who,
            IMPORT_STUDENTS,
            json!({ "options": { "dryRun": true } }),
            name,
            bytes,
        )
        .await;
    println!("{name}: refused in {:?}", started.elapsed());
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["fields"][0]["field"],
        "file"
    );
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

backend_tests! {
    async fn arguments_nested_thousands_deep_are_refused_without_a_token_and_the_server_lives(backend) {
        let app = spawn_app(backend).await;
        let schools = two_schools(&app).await;
        let list = format!("{{ studentByTz(studentTz: {}\"1\"{}) {{ id }} }}", "[".repeat(2_000), "]".repeat(2_000));
        let object = format!("{{ studentByTz(studentTz: {}1{}) {{ id }} }}", "{a:".repeat(2_000), "}".repeat(2_000));
        let selections = format!("{{ {}id{} }}", "me { ".repeat(5_000), " }".repeat(5_000));
        for query in [list, object, selections] {
            let started = Instant::now();
            let (status, body) = app.gql(&As::anonymous(), &query, json!({})).await;
            println!("nesting refused in {:?}", started.elapsed());
            assert_eq!(status, 200, "{body}");
            assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
            assert!(body["errors"][0]["message"].as_str().unwrap().contains("deep"), "{body}");
        }
        // Variables nested as deep are refused by the JSON reader, with a code.
        let deep_json = format!("{{\"query\":\"query($v: String) {{ apiVersion }}\",\"variables\":{{\"v\":{}1{}}}}}", "[".repeat(2_000), "]".repeat(2_000));
        let response = app.client.post(app.url("/graphql")).header("content-type", "application/json").body(deep_json).send().await.unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
        b_reads(&app, &schools.b_viewer).await;
    }

    async fn a_fan_out_query_is_priced_before_it_runs_and_refused_with_its_cost(backend) {
        let app = spawn_app(backend).await;
        let schools = two_schools(&app).await;
        let before = app.state.statements.load(std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let (status, body) = app.gql(&schools.a_viewer, &fan_out(4), json!({})).await;
        println!("fan-out refused in {:?}", started.elapsed());
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("costs") && message.contains("the limit is 1000000"), "{message}");
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
        assert_eq!(
            app.state.statements.load(std::sync::atomic::Ordering::Relaxed),
            before,
            "a refused query touches no database, not even to resolve its caller"
        );

        // The same fan-out through fragments and inline fragments costs the same.
        let fragments = "{ classes(first: 100) { nodes { ...C } } }
            fragment C on Class { students { class { ...D } } }
            fragment D on Class { students { class { ... on Class { students { class { students { id } } } } } } }";
        let (_, body) = app.gql(&schools.a_viewer, fragments, json!({})).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");

        // A huge `first` on a nested list is priced by it; a modest one over the maximum is bad input.
        let (_, body) = app.gql(&schools.a_viewer, "{ classes(first: 100) { nodes { students(first: 1000000) { id } } } }", json!({})).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        let (_, body) = app.gql(&schools.a_viewer, "{ classes(first: 1) { nodes { students(first: 1001) { id } } } }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

        // A nested list returns at most `first`, and the answer says what it cost.
        let (_, body) = app.gql(&schools.a_viewer, "{ classes(first: 1) { nodes { students(first: 2) { id } } } }", json!({})).await;
        assert_eq!(body["data"]["classes"]["nodes"][0]["students"].as_array().map(Vec::len), Some(2), "{body}");
        let cost = &body["extensions"]["cost"];
        assert_eq!(cost["requested"], 1 + (1 + (1 + 2)));
        assert_eq!(cost["limit"], 1_000_000);
        assert!(cost["remaining"].as_u64().unwrap() < cost["perMinute"].as_u64().unwrap(), "{cost}");
        b_reads(&app, &schools.b_viewer).await;
    }

    async fn aliases_spread_through_fragments_are_counted_where_they_are_spread(backend) {
        let app = spawn_app(backend).await;
        let schools = two_schools(&app).await;
        let aliases: String = (0..10).map(|i| format!("a{i}: apiVersion ")).collect();
        let spreads = "...F ".repeat(4);
        let query = format!("{{ {spreads} }} fragment F on Query {{ {aliases} }}");
        let (_, body) = app.gql(&schools.a_viewer, &query, json!({})).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("40 aliases"), "{body}");
        let once = format!("{{ ...F }} fragment F on Query {{ {aliases} }}");
        app.ok(&schools.a_viewer, &once, json!({})).await;
    }

    async fn workbooks_and_csv_files_that_would_exhaust_memory_are_refused_before_the_import_starts(backend) {
        let app = spawn_app(backend).await;
        let schools = two_schools(&app).await;
        let admin = &schools.a_admin;

        let message = refused_upload(&app, admin, "sparse.xlsx", sparse_xlsx()).await;
        assert!(message.contains("16384 columns"), "{message}");

        // A sheet whose declaration lies: it claims A1:B2, then puts a cell far out.
        let rows = format!(r#"<row r="1">{}{}{}</row><row r="2">{}</row><row r="900000">{}</row>"#,
            cell("A1", "student_tz"), cell("B1", "first_name"), cell("C1", "last_name"), cell("A2", "000000018"), cell("A900000", "x"));
        let (status, body) = app.upload(admin, IMPORT_STUDENTS, json!({ "options": { "dryRun": true } }), "lying.xlsx", xlsx(&sheet("A1:C2", &rows))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["importStudents"]["status"], "FAILED", "{body}");
        assert_eq!(body["data"]["importStudents"]["errors"][0]["code"], "TOO_MANY_ROWS", "{body}");

        // A zip bomb: a sheet that unpacks to more than ten times the upload limit.
        let filler = vec![b' '; 10 * tests::IMPORT_MAX_BYTES + 1024];
        let mut bomb = sheet("A1:A1", &cell("A1", "student_tz")).to_vec();
        let at = bomb.len() - "</worksheet>".len();
        bomb.splice(at..at, filler);
        let bomb = xlsx(&bomb);
        assert!(bomb.len() < tests::IMPORT_MAX_BYTES, "the bomb itself is under the upload limit");
        let message = refused_upload(&app, admin, "bomb.xlsx", bomb).await;
        assert!(message.contains("unpacks to more than"), "{message}");

        // A CSV header of a million commas.
        let mut wide = vec![b','; 1_000_000];
        wide.extend_from_slice(b"\n1\n");
        let message = refused_upload(&app, admin, "wide.csv", wide).await;
        assert!(message.contains("columns; the limit is 200"), "{message}");

        // The sparse workbook inside a OneRoster package, as users.csv: the import fails with
        // its code and the process lives.
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("manifest.csv", options).unwrap();
        zip.write_all(b"propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,bulk\n").unwrap();
        zip.start_file("users.csv", options).unwrap();
        zip.write_all(&sparse_xlsx()).unwrap();
        let package = zip.finish().unwrap().into_inner();
        let (status, body) = app.upload(admin, "mutation($file: Upload!) { importOneRoster(file: $file, options: { dryRun: true }) { status errors { code message } } }", json!({}), "package.zip", package).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["importOneRoster"]["status"], "FAILED", "{body}");
        assert_eq!(body["data"]["importOneRoster"]["errors"][0]["code"], "TOO_MANY_COLUMNS", "{body}");
        b_reads(&app, &schools.b_viewer).await;
    }

    async fn only_a_signed_in_importer_gets_the_upload_limits(backend) {
        let app = spawn_app(backend).await;
        let schools = two_schools(&app).await;
        let big = vec![b'x'; 1024 * 1024];
        // Anonymous and a viewer (no imports:run): the small body limit applies to multipart too.
        for who in [As::anonymous(), schools.a_viewer.clone()] {
            let (status, body) = app.upload(&who, IMPORT_STUDENTS, json!({}), "big.csv", big.clone()).await;
            assert_eq!(status, 413, "{body}");
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        }
        // An importer's multipart request must be an upload mutation.
        let (status, body) = app.upload(&schools.a_admin, "query($file: Upload) { apiVersion }", json!({}), "small.csv", b"a\n1\n".to_vec()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("upload mutations"), "{body}");
        b_reads(&app, &schools.b_viewer).await;
    }

    async fn an_answer_over_the_size_limit_is_refused_whole(backend) {
        let app = spawn_app_with(backend, &[("ANSWER_MAX_BYTES", "300")]).await;
        let schools = two_schools(&app).await;
        let (status, body) = app.gql(&schools.a_viewer, "{ students(first: 100) { nodes { id studentTz firstName lastName class { id name } } } }", json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("300 bytes"), "{body}");
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
        app.ok(&schools.b_viewer, "{ classes(first: 1) { nodes { name } } }", json!({})).await;
    }

    async fn a_school_over_its_budget_is_told_when_to_retry_and_the_other_school_is_not_slowed(backend) {
        let app = spawn_app_with(backend, &[("QUERY_MAX_COST", "500"), ("SCHOOL_COST_PER_MINUTE", "1000")]).await;
        let schools = two_schools(&app).await;
        let query = "{ students(first: 100) { nodes { id firstName } } }"; // 1 + 100 × (1 + 2)
        let (_, body) = app.gql(&schools.a_viewer, query, json!({})).await;
        assert_eq!(body["extensions"]["cost"]["requested"], 301, "{body}");
        // The setup's own writes were charged too; a few more requests empty A's bucket.
        let mut refused = None;
        for _ in 0..5 {
            let response = app.client.post(app.url("/graphql"))
                .bearer_auth(schools.a_viewer.token.as_ref().unwrap())
                .json(&json!({ "query": query })).send().await.unwrap();
            if response.status() == 429 {
                let retry = response.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap();
                let body: Value = response.json().await.unwrap();
                refused = Some((retry, body));
                break;
            }
        }
        let (retry, body) = refused.expect("school A runs out of budget");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"], retry);
        // School B has its own bucket.
        let (status, body) = app.gql(&schools.b_viewer, query, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
    }

    async fn two_hundred_concurrent_expensive_requests_from_one_school_leave_the_other_served(backend) {
        let app = std::sync::Arc::new(spawn_app(backend).await);
        let schools = two_schools(&app).await;
        let heavy = "{ classes(first: 100) { nodes { name students(first: 50) { firstName grades(first: 50) { score } attendance(first: 50) { status } } } } }";
        // Half of them name the school by header (on PostgreSQL such a query reads its identity
        // in the transaction of its first read), half do not; a quarter are cheap and admitted.
        let named = |who: &As, school: &str| As { school: Some(school.to_owned()), ..who.clone() };
        let cheap = "{ students(first: 5) { nodes { firstName } } }";
        let attack: Vec<_> = (0..200).map(|i| {
            let app = app.clone();
            let (who, query) = match i % 4 {
                0 => (schools.a_viewer.clone(), heavy.to_owned()),
                1 => (schools.a_viewer.clone(), fan_out(4)),
                2 => (named(&schools.a_viewer, "school-a"), heavy.to_owned()),
                _ => (named(&schools.a_viewer, "school-a"), cheap.to_owned()),
            };
            tokio::spawn(async move { app.gql(&who, &query, json!({})).await })
        }).collect();
        let mut b_latencies = Vec::new();
        for i in 0..20 {
            let started = Instant::now();
            let b = if i % 2 == 0 { schools.b_viewer.clone() } else { named(&schools.b_viewer, "school-b") };
            b_reads(&app, &b).await;
            b_latencies.push(started.elapsed());
        }
        let mut answered = std::collections::BTreeMap::<String, usize>::new();
        for request in attack {
            let (status, body) = request.await.unwrap();
            assert!(status == 200 || status == 429, "{status} {body}");
            let outcome = if body.get("errors").is_none() { "ok".to_owned() } else { code(&body).to_owned() };
            assert!(["ok", "QUERY_TOO_COMPLEX", "RATE_LIMITED"].contains(&outcome.as_str()), "{body}");
            *answered.entry(outcome).or_default() += 1;
        }
        println!("school A's 200 requests: {answered:?}; school B's latencies: {b_latencies:?}");
        assert_eq!(answered.get("QUERY_TOO_COMPLEX"), Some(&50), "{answered:?}");
        b_reads(&app, &schools.b_viewer).await;
    }

    async fn heavy_work_waits_for_its_own_schools_permits_and_is_refused_when_none_frees_up(backend) {
        let app = spawn_app_with(backend, &[("SCHOOL_HEAVY_JOBS", "1"), ("SCHOOL_HEAVY_WAIT_SECS", "1")]).await;
        let schools = two_schools(&app).await;
        // School A's only permit is taken (as by a long import).
        let held = app.state.budgets.heavy(schools.a).await.unwrap();
        let expensive = "{ classes(first: 100) { nodes { students(first: 100) { grades(first: 20) { score } } } } }";
        let cold = "{ analytics { overview { studentCount } } }";
        for query in [expensive, cold] {
            let started = Instant::now();
            let (status, body) = app.gql(&schools.a_viewer, query, json!({})).await;
            assert!(started.elapsed() >= std::time::Duration::from_secs(1), "it waited for a permit");
            assert_eq!(code(&body), "RATE_LIMITED", "{status} {body}");
            assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some(), "{body}");
        }
        // School B's permits are its own.
        for query in [expensive, cold] {
            app.ok(&schools.b_viewer, query, json!({})).await;
        }
        // Once A's permit is back, A's work runs.
        drop(held);
        for query in [expensive, cold] {
            app.ok(&schools.a_viewer, query, json!({})).await;
        }
    }
}
