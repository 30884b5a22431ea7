//! Imports: students, grades and attendance from the files a school office has (fixtures in
//! `tests/fixtures/imports/`, made by `make.py` there), bad files, idempotent re-imports,
//! all-or-nothing writes and school isolation.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests, code};

/// A bad file: the mutation, the bytes, the expected code, column and line.
type BadFile = (
    &'static str,
    Vec<u8>,
    &'static str,
    Option<&'static str>,
    i64,
);

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/imports/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn import(kind: &str) -> String {
    format!(
        "mutation($file: Upload!, $options: ImportOptions) {{ {kind}(file: $file, options: $options) {{
            id status rowsTotal rowsOk rowsFailed rowsUnchanged message errors {{ row column code message }} }} }}"
    )
}

/// Runs an import and returns its log.
async fn run(
    app: &TestApp,
    who: &As,
    kind: &str,
    file: &str,
    bytes: Vec<u8>,
    options: Value,
) -> Value {
    let (status, body) = app
        .upload(
            who,
            &import(kind),
            json!({ "options": options }),
            file,
            bytes,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"][kind].clone()
}

/// The school calendar and classes every fixture refers to.
async fn school_setup(app: &TestApp, who: &As) {
    let year = app.ok(who, "mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2025-09-01\", endDate: \"2026-06-20\", isCurrent: true }) { id } }", json!({})).await["createAcademicYear"]["id"].clone();
    app.ok(who, "mutation($y: UUID!) { createTerm(input: { academicYearId: $y, name: \"סמסטר א\", startDate: \"2025-09-01\", endDate: \"2026-01-31\" }) { id } }", json!({ "y": year })).await;
    for class in ["ז׳1", "ז׳2"] {
        app.ok(who, "mutation($y: UUID!, $n: String!) { createClass(input: { academicYearId: $y, name: $n, gradeLevel: 7 }) { id } }", json!({ "y": year, "n": class })).await;
    }
    app.ok(who, "mutation { a: createSubject(input: { name: \"מתמטיקה\", code: \"MATH\" }) { id } b: createSubject(input: { name: \"אנגלית\", code: \"ENG\" }) { id } }", json!({})).await;
}

async fn roster(app: &TestApp, who: &As) -> Vec<Value> {
    let data = app.ok(who, "{ students(first: 100) { nodes { studentTz firstName lastName gradeLevel birthDate class { name } } } }", json!({})).await;
    let mut nodes = data["students"]["nodes"].as_array().unwrap().clone();
    nodes.sort_by_key(|n| n["studentTz"].as_str().unwrap().to_owned());
    nodes
}

async fn rows(app: &TestApp, table: &str) -> i64 {
    app.rows(table).await
}

async fn data_rows(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        rows(app, "students").await,
        rows(app, "grades").await,
        rows(app, "attendance_records").await,
        rows(app, "assessments").await,
    )
}

/// The next text message of a WebSocket, as JSON.
async fn next_message<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("{other:?}"),
        }
    }
}

/// A school admin of the first school (not the superadmin, whose requests are audited).
/// The students workbook with a control character (U+0080, which XML allows) in the first
/// student's first name.
fn control_in_xlsx() -> Vec<u8> {
    use std::io::{Read, Write};
    let mut book = zip::ZipArchive::new(std::io::Cursor::new(fixture("students.xlsx"))).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..book.len() {
        let mut entry = book.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let text = String::from_utf8(content).unwrap();
            let at = text.find("r=\"B2\"").unwrap();
            let t = at + text[at..].find("<t>").unwrap() + 3;
            content = format!("{}\u{80}{}", &text[..t], &text[t..]).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&content).unwrap();
    }
    out.finish().unwrap().into_inner()
}

async fn admin(app: &TestApp) -> As {
    let root = app.root().await;
    let token = app
        .member_token(&root, FIRST_SCHOOL, "office@example.org", "ADMIN")
        .await;
    As::token(&token)
}

backend_tests! {
    async fn a_wide_gradebook_reads_alike_from_csv_windows_1255_and_xlsx_and_analytics_agree(backend) {
        let mut seen: Option<Vec<Value>> = None;
        for file in ["gradebook.csv", "gradebook-1255.csv", "gradebook.xlsx"] {
            let app = tests::spawn_app(backend).await;
            let who = admin(&app).await;
            school_setup(&app, &who).await;
            let log = run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
            assert_eq!(log["status"], "SUCCEEDED", "{log}");
            let options = json!({ "layout": "WIDE", "wide": { "subject": "מתמטיקה", "date": "2026-01-15" } });
            let log = run(&app, &who, "importGrades", file, fixture(file), options).await;
            assert_eq!((log["status"].as_str(), log["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(7)), "{file}: {log}");
            let data = app.ok(&who, "{ grades(first: 20) { nodes { score category isFinal assessment { title } student { studentTz } } } }", json!({})).await;
            let mut grades = data["grades"]["nodes"].as_array().unwrap().clone();
            grades.sort_by_key(|g| (g["student"]["studentTz"].to_string(), g["assessment"]["title"].to_string()));
            if let Some(first) = &seen {
                assert_eq!(&grades, first, "{file} reads as gradebook.csv does");
            }
            seen = Some(grades);
            if file == "gradebook.csv" {
                // The same grades as a long file, in a second school, read the same.
                let long = "ת.ז,מקצוע,ציון,תאריך,סוג,מטלה\n\
                    039337423,מתמטיקה,95,15/01/2026,exam,מבחן 1\n039337423,מתמטיקה,88,15/01/2026,quiz,בוחן\n\
                    039337423,מתמטיקה,92,15/01/2026,final,ציון סופי\n123456782,מתמטיקה,78.5,15/01/2026,exam,מבחן 1\n\
                    123456782,מתמטיקה,80,15/01/2026,final,ציון סופי\n200000016,מתמטיקה,64,15/01/2026,exam,מבחן 1\n\
                    200000016,מתמטיקה,70,15/01/2026,quiz,בוחן\n";
                let other = app.another_instance().await;
                let root = other.root().await;
                other.create_school(&root, "long-school").await;
                let token = other.member_token(&root, "long-school", "long@example.org", "ADMIN").await;
                let b = As::token(&token);
                school_setup(&other, &b).await;
                run(&other, &b, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
                let log = run(&other, &b, "importGrades", "long.csv", long.as_bytes().to_vec(), json!(null)).await;
                assert_eq!(log["rowsOk"], 7, "{log}");
                let data = other.ok(&b, "{ grades(first: 20) { nodes { score category isFinal assessment { title } student { studentTz } } } }", json!({})).await;
                let mut long_grades = data["grades"]["nodes"].as_array().unwrap().clone();
                long_grades.sort_by_key(|g| (g["student"]["studentTz"].to_string(), g["assessment"]["title"].to_string()));
                assert_eq!(Some(&long_grades), seen.as_ref(), "the long file holds the same grades");
            }
            // The subject's average is the mean of the seven scores (each out of 100).
            let data = app.ok(&who, "{ analytics { subjectAverages { subject { name } average count } } }", json!({})).await;
            let math = data["analytics"]["subjectAverages"].as_array().unwrap().iter()
                .find(|a| a["subject"]["name"] == "מתמטיקה").expect("math's average").clone();
            let scores = [95.0, 88.0, 92.0, 78.5, 80.0, 64.0, 70.0];
            let mean = scores.iter().sum::<f64>() / scores.len() as f64;
            assert_eq!(math["count"], 7, "{file}: {math}");
            assert!((math["average"].as_f64().unwrap() - mean).abs() < 1e-6, "{file}: {math} against {mean}");
        }
    }

    async fn a_wide_sheet_is_held_to_the_row_limit_by_its_filled_cells(backend) {
        let app = tests::spawn_app_with(backend, &[("IMPORT_MAX_ROWS", "3")]).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        // Two rows of the sheet, four filled cells: four records, over the limit of three.
        let sheet = "ת.ז,01/10/2025,02/10/2025\n039337423,V,V\n000000018,V,V\n";
        let doc = "mutation($file: Upload!, $options: ImportOptions) { importAttendance(file: $file, options: $options) { status errors { row code } } }";
        let (_, body) = app.upload(&who, doc, json!({ "options": { "layout": "WIDE" } }), "roll.csv", sheet.as_bytes().to_vec()).await;
        let log = &body["data"]["importAttendance"];
        assert_eq!((log["status"].as_str(), log["errors"][0]["code"].as_str()), (Some("FAILED"), Some("TOO_MANY_ROWS")), "{body}");
        assert_eq!(app.rows("attendance_records").await, 0);
    }

    async fn wide_sheets_import_as_the_long_rows_they_hold(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        for (tz, first) in [("039337423", "נועה"), ("000000018", "אורי")] {
            app.ok(&who, "mutation($tz: String!, $f: String!) { createStudent(input: { studentTz: $tz, firstName: $f, lastName: \"כהן\" }) { id } }", json!({ "tz": tz, "f": first })).await;
        }
        let doc = |kind: &str| format!("mutation($file: Upload!, $options: ImportOptions) {{ {kind}(file: $file, options: $options) {{ status rowsTotal rowsOk rowsUnchanged columns {{ header field }} errors {{ row column code message }} }} }}");
        // A roll-call sheet: a column per date, the default symbols (and one of the school's own).
        let sheet = "ת.ז,שם פרטי,01/10/2025,02/10/2025,05/10/2025\n039337423,נועה,V,ח,א\n000000018,אורי,✓,*,\n";
        let options = json!({ "layout": "WIDE", "wide": { "symbols": [{ "symbol": "*", "status": "EXCUSED" }] } });
        let (_, body) = app.upload(&who, &doc("importAttendance"), json!({ "options": options }), "roll.csv", sheet.as_bytes().to_vec()).await;
        let log = &body["data"]["importAttendance"];
        assert_eq!((log["status"].as_str(), log["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(5)), "{body}");
        assert_eq!(log["columns"][2], json!({ "header": "01/10/2025", "field": "date" }), "{body}");
        let data = app.ok(&who, "{ attendance(first: 10) { nodes { date status student { studentTz } } } }", json!({})).await;
        let mut marks: Vec<(String, String, String)> = data["attendance"]["nodes"].as_array().unwrap().iter()
            .map(|n| (n["student"]["studentTz"].as_str().unwrap().to_owned(), n["date"].as_str().unwrap().to_owned(), n["status"].as_str().unwrap().to_owned()))
            .collect();
        marks.sort();
        assert_eq!(marks, [
            ("000000018".into(), "2025-10-01".into(), "PRESENT".into()),
            ("000000018".into(), "2025-10-02".into(), "EXCUSED".into()),
            ("039337423".into(), "2025-10-01".into(), "PRESENT".into()),
            ("039337423".into(), "2025-10-02".into(), "ABSENT".into()),
            ("039337423".into(), "2025-10-05".into(), "LATE".into()),
        ]);
        let (_, again) = app.upload(&who, &doc("importAttendance"), json!({ "options": options }), "roll.csv", sheet.as_bytes().to_vec()).await;
        assert_eq!(again["data"]["importAttendance"]["rowsUnchanged"], 5, "{again}");
        // An unknown symbol is named by its cell: the sheet's line and the date's header.
        let bad = "ת.ז,01/10/2025,02/10/2025\n039337423,V,?\n";
        let (_, body) = app.upload(&who, &doc("importAttendance"), json!({ "options": { "layout": "WIDE" } }), "roll.csv", bad.as_bytes().to_vec()).await;
        let log = &body["data"]["importAttendance"];
        assert_eq!(log["status"], "FAILED", "{body}");
        assert_eq!((log["errors"][0]["row"].as_i64(), log["errors"][0]["column"].as_str(), log["errors"][0]["code"].as_str()), (Some(2), Some("02/10/2025"), Some("INVALID_STATUS")), "{body}");

        // A gradebook: a column per assessment of one subject, the date given once; the kind of
        // work is read from each header.
        let book = "ת.ז,שם פרטי,מבחן 1,בוחן,ציון סופי\n039337423,נועה,80,90,85\n000000018,אורי,70,,75\n";
        let options = json!({ "layout": "WIDE", "wide": { "subject": "מתמטיקה", "date": "2026-01-15" } });
        let (_, body) = app.upload(&who, &doc("importGrades"), json!({ "options": options }), "book.csv", book.as_bytes().to_vec()).await;
        let log = &body["data"]["importGrades"];
        assert_eq!((log["status"].as_str(), log["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(5)), "{body}");
        let data = app.ok(&who, "{ grades(first: 10) { nodes { score category isFinal assessment { title } student { studentTz } } } }", json!({})).await;
        let mut grades: Vec<(String, String, f64, String, bool)> = data["grades"]["nodes"].as_array().unwrap().iter()
            .map(|n| (n["student"]["studentTz"].as_str().unwrap().to_owned(), n["assessment"]["title"].as_str().unwrap().to_owned(), n["score"].as_f64().unwrap(), n["category"].as_str().unwrap().to_owned(), n["isFinal"].as_bool().unwrap()))
            .collect();
        grades.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut expected: Vec<(String, String, f64, String, bool)> = vec![
            ("000000018".into(), "ציון סופי".into(), 75.0, "FINAL".into(), true),
            ("000000018".into(), "מבחן 1".into(), 70.0, "EXAM".into(), false),
            ("039337423".into(), "בוחן".into(), 90.0, "QUIZ".into(), false),
            ("039337423".into(), "ציון סופי".into(), 85.0, "FINAL".into(), true),
            ("039337423".into(), "מבחן 1".into(), 80.0, "EXAM".into(), false),
        ];
        expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        assert_eq!(grades, expected);
        let (_, again) = app.upload(&who, &doc("importGrades"), json!({ "options": options }), "book.csv", book.as_bytes().to_vec()).await;
        assert_eq!(again["data"]["importGrades"]["rowsUnchanged"], 5, "{again}");
        // A score out of range is named by its cell; a gradebook without a date is refused first.
        let bad = "ת.ז,מבחן 2\n039337423,120\n";
        let (_, body) = app.upload(&who, &doc("importGrades"), json!({ "options": options }), "book.csv", bad.as_bytes().to_vec()).await;
        let error = &body["data"]["importGrades"]["errors"][0];
        assert_eq!((error["row"].as_i64(), error["column"].as_str(), error["code"].as_str()), (Some(2), Some("מבחן 2"), Some("SCORE_OUT_OF_RANGE")), "{body}");
        let (_, body) = app.upload(&who, &doc("importGrades"), json!({ "options": { "layout": "WIDE" } }), "book.csv", bad.as_bytes().to_vec()).await;
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "{body}");
        let (_, body) = app.upload(&who, &doc("importStudents"), json!({ "options": { "layout": "WIDE" } }), "s.csv", bad.as_bytes().to_vec()).await;
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "{body}");
        let long_subject = json!({ "options": { "layout": "WIDE", "wide": { "subject": "מ".repeat(201), "date": "2026-01-15" } } });
        let (_, body) = app.upload(&who, &doc("importGrades"), long_subject, "book.csv", book.as_bytes().to_vec()).await;
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "a subject over 200 characters: {body}");
        // The same student twice: the duplicate names the sheet's lines, not the long rows.
        let twice = "ת.ז,03/10/2025\n039337423,V\n039337423,ח\n";
        let (_, body) = app.upload(&who, &doc("importAttendance"), json!({ "options": { "layout": "WIDE" } }), "roll.csv", twice.as_bytes().to_vec()).await;
        let error = &body["data"]["importAttendance"]["errors"][0];
        assert_eq!((error["row"].as_i64(), error["code"].as_str()), (Some(3), Some("DUPLICATE_ROW")), "{body}");
        assert!(error["message"].as_str().unwrap().starts_with("line 2 (03/10/2025)"), "{body}");
        let symbols: Vec<Value> = (0..51).map(|i| json!({ "symbol": format!("s{i}"), "status": "PRESENT" })).collect();
        let (_, body) = app.upload(&who, &doc("importAttendance"), json!({ "options": { "layout": "WIDE", "wide": { "symbols": symbols } } }), "roll.csv", sheet.as_bytes().to_vec()).await;
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "over 50 symbols: {body}");
        assert_eq!(app.rows("grades").await, 5, "refused sheets wrote nothing");
    }

    async fn a_file_with_unfamiliar_headers_imports_with_a_columns_mapping(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        let file = "Identity No.,Given,Surname,Level,Shoe size\n039337423,נועה,כהן,7,38\n".as_bytes().to_vec();
        let doc = "mutation($file: Upload!, $options: ImportOptions) { importStudents(file: $file, options: $options) { status rowsOk message columns { header field } errors { code column } } }";
        // Unmapped, the national id is not found, and the message lists the file's headers.
        let (_, body) = app.upload(&who, doc, json!({ "options": { "dryRun": true } }), "s.csv", file.clone()).await;
        let log = &body["data"]["importStudents"];
        assert_eq!(log["errors"][0]["code"], "MISSING_COLUMN", "{body}");
        assert!(log["message"].as_str().unwrap().contains("Identity No., Given, Surname, Level, Shoe size"), "{body}");
        // A dry run with the mapping shows how each header is read, the unused one as null.
        let columns = json!([
            { "header": "identity no.", "field": "student_tz" },
            { "header": "Given", "field": "first_name" },
            { "header": "Surname", "field": "last_name" },
            { "header": "Level", "field": "grade_level" },
        ]);
        let (_, body) = app.upload(&who, doc, json!({ "options": { "dryRun": true, "columns": columns } }), "s.csv", file.clone()).await;
        let log = &body["data"]["importStudents"];
        assert_eq!(log["status"], "SUCCEEDED", "{body}");
        assert_eq!(log["columns"], json!([
            { "header": "Identity No.", "field": "student_tz" },
            { "header": "Given", "field": "first_name" },
            { "header": "Surname", "field": "last_name" },
            { "header": "Level", "field": "grade_level" },
            { "header": "Shoe size", "field": null },
        ]), "{body}");
        assert_eq!(app.rows("students").await, 0, "a dry run writes nothing");
        let (_, body) = app.upload(&who, doc, json!({ "options": { "columns": columns } }), "s.csv", file).await;
        assert_eq!((body["data"]["importStudents"]["status"].as_str(), body["data"]["importStudents"]["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(1)), "{body}");
        let data = app.ok(&who, "{ students(first: 5) { nodes { studentTz firstName gradeLevel } } }", json!({})).await;
        assert_eq!(data["students"]["nodes"], json!([{ "studentTz": "039337423", "firstName": "נועה", "gradeLevel": 7 }]));
        // A field the import does not have, and too many entries, are refused before any work.
        let (_, body) = app.upload(&who, doc, json!({ "options": { "columns": [{ "header": "x", "field": "shoe_size" }] } }), "s.csv", b"a\n1\n".to_vec()).await;
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "options.columns[0].field", "{body}");
        // A mapped field is read from its mapped header only: the file's own last_name column
        // is then simply not used.
        let both = "student_tz,first_name,last_name,Family\n039337423,נועה,x,כהן\n".as_bytes().to_vec();
        let (_, body) = app.upload(&who, doc, json!({ "options": { "dryRun": true, "columns": [{ "header": "Family", "field": "last_name" }] } }), "s.csv", both).await;
        assert_eq!(body["data"]["importStudents"]["columns"][2], json!({ "header": "last_name", "field": null }), "{body}");
        assert_eq!(body["data"]["importStudents"]["columns"][3], json!({ "header": "Family", "field": "last_name" }), "{body}");
        // A header over 200 characters is refused whole, before anything copies it.
        let long_header = format!("student_tz,first_name,last_name,{}\n039337423,a,b,c\n", "h".repeat(201));
        let (_, body) = app.upload(&who, doc, json!({ "options": { "dryRun": true } }), "s.csv", long_header.into_bytes()).await;
        assert_eq!(body["data"]["importStudents"]["errors"][0]["code"], "HEADER_TOO_LONG", "{body}");
        let many: Vec<Value> = (0..201).map(|i| json!({ "header": format!("h{i}"), "field": "email" })).collect();
        let (_, body) = app.upload(&who, doc, json!({ "options": { "columns": many } }), "s.csv", b"a\n1\n".to_vec()).await;
        assert_eq!(tests::code(&body), "BAD_USER_INPUT", "{body}");
    }

    async fn a_course_grade_file_without_term_or_assessment_imports_whole_and_again_unchanged(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        let year = app.ok(&who, "{ academicYears { id } }", json!({})).await["academicYears"][0]["id"].clone();
        app.ok(&who, "mutation($y: UUID!) { createTerm(input: { academicYearId: $y, name: \"סמסטר ב\", startDate: \"2026-02-01\", endDate: \"2026-06-20\" }) { id } }", json!({ "y": year })).await;
        app.ok(&who, "mutation { createStudent(input: { studentTz: \"039337423\", firstName: \"נועה\", lastName: \"כהן\" }) { id } }", json!({})).await;
        // A real course's export: no term column, no assessment column, a final flag; one
        // student's October exam, November quiz, January final and March exam in one subject.
        let file = "national id,subject,score,max score,final flag,date,category\n\
            039337423,מתמטיקה,80,100,no,2025-10-14,exam\n\
            039337423,מתמטיקה,17,20,no,2025-11-02,quiz\n\
            039337423,מתמטיקה,90,100,yes,2026-01-20,final\n\
            039337423,מתמטיקה,75,100,no,2026-03-10,exam\n";
        let log = run(&app, &who, "importGrades", "course.csv", file.as_bytes().to_vec(), json!(null)).await;
        assert_eq!((log["status"].as_str(), log["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(4)), "{log}");
        let grades = app.ok(&who, "{ grades(first: 10) { nodes { score maxScore isFinal gradedOn category term { name } } } }", json!({})).await;
        let mut seen: Vec<(String, String, bool)> = grades["grades"]["nodes"].as_array().unwrap().iter()
            .map(|g| (g["gradedOn"].as_str().unwrap().to_owned(), g["term"]["name"].as_str().unwrap().to_owned(), g["isFinal"].as_bool().unwrap()))
            .collect();
        seen.sort();
        assert_eq!(seen, [
            ("2025-10-14".to_owned(), "סמסטר א".to_owned(), false),
            ("2025-11-02".to_owned(), "סמסטר א".to_owned(), false),
            ("2026-01-20".to_owned(), "סמסטר א".to_owned(), true),
            ("2026-03-10".to_owned(), "סמסטר ב".to_owned(), false),
        ], "each grade's term is the one holding its date: {grades}");
        let again = run(&app, &who, "importGrades", "course.csv", file.as_bytes().to_vec(), json!(null)).await;
        assert_eq!((again["status"].as_str(), again["rowsOk"].as_i64(), again["rowsUnchanged"].as_i64()), (Some("SUCCEEDED"), Some(0), Some(4)), "{again}");
        assert_eq!(app.rows("grades").await, 4, "nothing was added the second time");

        // Two grades of one student, subject, date and kind of work are one grade twice; a date
        // in no term says which date.
        let bad = "national id,subject,score,date,category\n\
            039337423,מתמטיקה,60,2025-12-01,quiz\n\
            039337423,מתמטיקה,70,2025-12-01,quiz\n\
            039337423,מתמטיקה,70,2026-08-01,quiz\n";
        let log = run(&app, &who, "importGrades", "bad.csv", bad.as_bytes().to_vec(), json!(null)).await;
        assert_eq!(log["status"], "FAILED", "{log}");
        let errors: Vec<(i64, &str, &str)> = log["errors"].as_array().unwrap().iter()
            .map(|e| (e["row"].as_i64().unwrap(), e["code"].as_str().unwrap(), e["message"].as_str().unwrap()))
            .collect();
        assert_eq!(errors.len(), 2, "{log}");
        assert_eq!((errors[0].0, errors[0].1), (3, "DUPLICATE_ROW"), "{log}");
        assert_eq!((errors[1].0, errors[1].1), (4, "DATE_OUTSIDE_TERM"), "{log}");
        assert!(errors[1].2.contains("2026-08-01"), "{log}");
        assert_eq!(app.rows("grades").await, 4, "a refused file writes nothing");

        // A date two terms hold cannot say which one it is in.
        app.ok(&who, "mutation($y: UUID!) { createTerm(input: { academicYearId: $y, name: \"רבעון\", startDate: \"2026-03-01\", endDate: \"2026-04-30\" }) { id } }", json!({ "y": year })).await;
        let two = "national id,subject,score,date\n039337423,מתמטיקה,70,2026-03-15\n";
        let log = run(&app, &who, "importGrades", "two.csv", two.as_bytes().to_vec(), json!(null)).await;
        assert_eq!((log["errors"][0]["code"].as_str(), log["errors"][0]["column"].as_str()), (Some("AMBIGUOUS_TERM"), Some("date")), "{log}");
        assert!(log["errors"][0]["message"].as_str().unwrap().contains("2026-03-15"), "{log}");
    }

    async fn students_load_alike_from_utf8_bom_windows_1255_and_xlsx(backend) {
        let mut seen: Option<Vec<Value>> = None;
        for file in ["students.csv", "students-bom.csv", "students-1255.csv", "students.xlsx"] {
            let app = tests::spawn_app(backend).await;
            let who = admin(&app).await;
            school_setup(&app, &who).await;
            let log = run(&app, &who, "importStudents", file, fixture(file), json!(null)).await;
            assert_eq!(log["status"], "SUCCEEDED", "{file}: {log}");
            assert_eq!((log["rowsTotal"].as_i64(), log["rowsOk"].as_i64()), (Some(4), Some(4)), "{file}: {log}");
            let students = roster(&app, &who).await;
            assert_eq!(students[0], json!({ "studentTz": "000000018", "firstName": "אורי", "lastName": "=HYPERLINK(\"http://evil.example\",\"x\")", "gradeLevel": 7, "birthDate": null, "class": { "name": "ז׳2" } }),
                "{file}: a formula is kept as plain text, ids are zero-padded");
            assert_eq!(students[1], json!({ "studentTz": "039337423", "firstName": "נועה", "lastName": "כהן", "gradeLevel": 7, "birthDate": "2012-09-04", "class": { "name": "ז׳1" } }),
                "{file}: bidi marks are stripped, dd/mm/yyyy is read");
            if let Some(first) = &seen {
                assert_eq!(&students, first, "{file} loads the same roster as students.csv");
            }
            seen = Some(students);
        }
    }

    async fn a_reimport_changes_nothing_and_a_dry_run_writes_nothing(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        let version = || async {
            app.ok(&who, "{ school { configuration { dataVersion } } }", json!({})).await["school"]["configuration"]["dataVersion"].as_i64().unwrap()
        };
        let v0 = version().await;
        run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
        let v1 = version().await;
        assert_eq!(v1, v0 + 1, "an import that writes bumps the school's data version once");
        let again = run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
        assert_eq!((again["status"].as_str(), again["rowsOk"].as_i64(), again["rowsUnchanged"].as_i64()), (Some("SUCCEEDED"), Some(0), Some(4)), "{again}");
        let other_format = run(&app, &who, "importStudents", "students.xlsx", fixture("students.xlsx"), json!(null)).await;
        assert_eq!(other_format["rowsUnchanged"], 4, "the same data in XLSX is also unchanged: {other_format}");
        assert_eq!(rows(&app, "students").await, 4, "no duplicates");

        let changed = String::from_utf8(fixture("students.csv")).unwrap().replace("יונתן", "יוני");
        let dry = run(&app, &who, "importStudents", "students.csv", changed.clone().into_bytes(), json!({ "dryRun": true })).await;
        assert_eq!((dry["status"].as_str(), dry["rowsOk"].as_i64(), dry["rowsUnchanged"].as_i64()), (Some("SUCCEEDED"), Some(0), Some(3)), "{dry}");
        assert!(dry["message"].as_str().unwrap().contains("would write 1"), "{dry}");
        assert_eq!(roster(&app, &who).await.iter().filter(|s| s["firstName"] == "יוני").count(), 0, "a dry run writes nothing");
        assert_eq!(version().await, v1, "unchanged re-imports and dry runs leave the version alone");
        let real = run(&app, &who, "importStudents", "students.csv", changed.into_bytes(), json!(null)).await;
        assert_eq!((real["rowsOk"].as_i64(), real["rowsUnchanged"].as_i64()), (Some(1), Some(3)), "{real}");
        assert_eq!(roster(&app, &who).await.iter().filter(|s| s["firstName"] == "יוני").count(), 1);
        assert_eq!(version().await, v1 + 1);

        let logs = app.ok(&who, "{ importLogs { totalCount nodes { kind fileName status } } }", json!({})).await;
        assert_eq!(logs["importLogs"]["totalCount"], 5);
        assert_eq!(logs["importLogs"]["nodes"][0], json!({ "kind": "STUDENTS", "fileName": "students.csv", "status": "SUCCEEDED" }));
    }

    async fn grades_and_attendance_load_with_hebrew_headers_and_values(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
        let grades = run(&app, &who, "importGrades", "grades.csv", fixture("grades.csv"), json!(null)).await;
        assert_eq!((grades["status"].as_str(), grades["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(3)), "{grades}");
        let data = app.ok(&who, "{ grades(first: 10) { nodes { score subject { name } assessment { title } student { studentTz } } } assessments { totalCount } }", json!({})).await;
        let mut scores: Vec<(String, f64, Value)> = data["grades"]["nodes"].as_array().unwrap().iter()
            .map(|g| (g["student"]["studentTz"].as_str().unwrap().to_owned(), g["score"].as_f64().unwrap(), g["assessment"]["title"].clone()))
            .collect();
        scores.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(scores, [("039337423".to_owned(), 95.0, json!("מבחן 1")), ("123456782".to_owned(), 78.5, json!("מבחן 1")), ("200000016".to_owned(), 64.0, Value::Null)]);
        assert_eq!(data["assessments"]["totalCount"], 1, "the assessment the file names was created once");
        let again = run(&app, &who, "importGrades", "grades.csv", fixture("grades.csv"), json!(null)).await;
        assert_eq!((again["rowsOk"].as_i64(), again["rowsUnchanged"].as_i64()), (Some(0), Some(3)), "{again}");

        let attendance = run(&app, &who, "importAttendance", "attendance.csv", fixture("attendance.csv"), json!(null)).await;
        assert_eq!((attendance["status"].as_str(), attendance["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(5)), "{attendance}");
        let counts = app.ok(&who, "{ p: attendance(filter: { status: PRESENT }) { totalCount } a: attendance(filter: { status: ABSENT }) { totalCount } l: attendance(filter: { status: LATE }) { totalCount } e: attendance(filter: { status: EXCUSED }) { totalCount } }", json!({})).await;
        assert_eq!(counts, json!({ "p": { "totalCount": 1 }, "a": { "totalCount": 2 }, "l": { "totalCount": 1 }, "e": { "totalCount": 1 } }));
        let again = run(&app, &who, "importAttendance", "attendance.csv", fixture("attendance.csv"), json!(null)).await;
        assert_eq!(again["rowsUnchanged"], 5, "{again}");
        assert_eq!(rows(&app, "attendance_records").await, 5);
    }

    async fn each_bad_file_is_named_and_writes_nothing(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
        let before = data_rows(&app).await;
        let header = "student_tz,first_name,last_name\n";
        let mut wide = header.to_owned();
        wide.push_str(&vec!["039337423"; 10_000].join(","));
        let long_field = format!("{header}039337423,{},x\n", "א".repeat(600_000));
        let too_many_rows = format!("{header}{}", "039337423,a,b\n".repeat(tests::IMPORT_MAX_ROWS + 1));
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(header.encode_utf16().flat_map(u16::to_le_bytes));
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        // (kind, file, expected code, expected column, expected line)
        let cases: Vec<BadFile> = vec![
            ("importStudents", b"".to_vec(), "EMPTY_FILE", None, 0),
            ("importStudents", header.as_bytes().to_vec(), "NO_ROWS", None, 0),
            ("importStudents", b"first_name,last_name\nx,y\n".to_vec(), "MISSING_COLUMN", Some("student_tz"), 0),
            ("importStudents", garbage, "BINARY_FILE", None, 0),
            ("importStudents", utf16, "ENCODING", None, 0),
            ("importStudents", format!("{header}039337422,a,b\n").into_bytes(), "INVALID_TZ", Some("student_tz"), 2),
            ("importStudents", format!("{header}123456782,a,b\n123456782,c,d\n").into_bytes(), "DUPLICATE_ROW", Some("student_tz"), 3),
            ("importStudents", wide.into_bytes(), "TOO_MANY_COLUMNS", None, 0),
            ("importStudents", long_field.into_bytes(), "CELL_TOO_LONG", Some("first_name"), 0),
            ("importStudents", too_many_rows.into_bytes(), "TOO_MANY_ROWS", None, 0),
            ("importGrades", "ת.ז,מקצוע,מחצית,ציון,תאריך\n039337423,MATH,סמסטר א,101,12/10/2025\n".as_bytes().to_vec(), "SCORE_OUT_OF_RANGE", Some("score"), 2),
            ("importGrades", "ת.ז,מקצוע,מחצית,ציון,תאריך\n039337423,MATH,סמסטר א,90,12/10/2026\n".as_bytes().to_vec(), "DATE_OUTSIDE_TERM", Some("date"), 2),
            ("importGrades", "ת.ז,מקצוע,מחצית,ציון,תאריך\n039337423,MATH,סמסטר א,90,12/10/2025\n987654324,MATH,סמסטר א,90,12/10/2025\n".as_bytes().to_vec(), "UNKNOWN_STUDENT", Some("student_tz"), 3),
            ("importGrades", "ת.ז,מקצוע,מחצית,ציון,תאריך\n039337423,היסטוריה,סמסטר א,90,12/10/2025\n".as_bytes().to_vec(), "UNKNOWN_SUBJECT", Some("subject"), 2),
            ("importAttendance", "ת.ז,תאריך,נוכחות\n039337423,01/10/2025,ישן\n".as_bytes().to_vec(), "INVALID_STATUS", Some("status"), 2),
            ("importStudents", "student_tz,first_name,last_name,ת.ז\n039337423,a,b,000000018\n".as_bytes().to_vec(), "DUPLICATE_COLUMN", Some("student_tz"), 0),
            ("importStudents", format!("{header}039337423,\"a,b\n000000018,c,d\n").into_bytes(), "UNCLOSED_QUOTE", None, 0),
            ("importStudents", control_in_xlsx(), "CONTROL_CHARACTER", Some("first_name"), 0),
        ];
        for (kind, bytes, expected, column, line) in cases {
            let log = run(&app, &who, kind, "bad.csv", bytes, json!(null)).await;
            assert_eq!(log["status"], "FAILED", "{expected}: {log}");
            let error = &log["errors"][0];
            assert_eq!(error["code"], expected, "{log}");
            assert_eq!(error["column"].as_str(), column, "{expected}: {log}");
            assert_eq!(error["row"], line, "{expected}: {log}");
            assert_eq!(log["rowsOk"], 0);
            assert_eq!(data_rows(&app).await, before, "{expected}: nothing written");
            for internal in ["infer_schema_length", "polars", "You might want"] {
                assert!(!log.to_string().contains(internal), "{expected}: {log}");
            }
        }
    }

    async fn an_upload_over_the_size_limit_is_refused_before_it_is_read(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        // Just over the limit: the server reads the upload and refuses it before parsing.
        let (status, body) = app.upload(&who, &import("importStudents"), json!({}), "big.csv", vec![b'a'; tests::IMPORT_MAX_BYTES + 1]).await;
        assert_eq!((status, code(&body)), (200, "BAD_USER_INPUT"), "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(&tests::IMPORT_MAX_BYTES.to_string()), "{body}");
        // Well over it: refused from its declared length, before the body is read.
        let big = vec![b'a'; tests::IMPORT_MAX_BYTES + 100 * 1024];
        let (status, body) = app.upload(&who, &import("importStudents"), json!({}), "big.csv", big).await;
        assert_eq!(status, 413, "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(&tests::IMPORT_MAX_BYTES.to_string()), "names the limit: {message}");
        assert_eq!(rows(&app, "import_logs").await, 0, "no import was started");
    }

    async fn valid_rows_mode_loads_the_good_rows_and_lists_the_bad(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        let file = "student_tz,first_name,last_name,grade_level\n039337423,a,b,7\n039337422,c,d,7\n123456782,e,f,13\n200000016,g,h,\n";
        let all = run(&app, &who, "importStudents", "s.csv", file.as_bytes().to_vec(), json!(null)).await;
        assert_eq!((all["status"].as_str(), all["rowsFailed"].as_i64(), all["rowsOk"].as_i64()), (Some("FAILED"), Some(2), Some(0)), "{all}");
        assert_eq!(rows(&app, "students").await, 0, "all or nothing by default");
        let errors: Vec<(i64, &str)> = all["errors"].as_array().unwrap().iter().map(|e| (e["row"].as_i64().unwrap(), e["code"].as_str().unwrap())).collect();
        assert_eq!(errors, [(3, "INVALID_TZ"), (4, "INVALID_GRADE_LEVEL")]);
        let some = run(&app, &who, "importStudents", "s.csv", file.as_bytes().to_vec(), json!({ "mode": "VALID_ROWS" })).await;
        assert_eq!((some["status"].as_str(), some["rowsFailed"].as_i64(), some["rowsOk"].as_i64()), (Some("PARTIAL"), Some(2), Some(2)), "{some}");
        assert_eq!(rows(&app, "students").await, 2);
    }

    async fn a_file_naming_another_schools_students_writes_nothing_there(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let b = As::in_school(&root, "school-b");
        school_setup(&app, &b).await;
        run(&app, &b, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
        let b_before = roster(&app, &b).await;
        let b_rows = data_rows(&app).await;

        let who = admin(&app).await;
        school_setup(&app, &who).await;
        let log = run(&app, &who, "importGrades", "grades.csv", fixture("grades.csv"), json!(null)).await;
        assert_eq!(log["status"], "FAILED", "{log}");
        assert!(log["errors"].as_array().unwrap().iter().all(|e| e["code"] == "UNKNOWN_STUDENT"), "B's students are unknown in A: {log}");
        let log = run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
        assert_eq!(log["rowsOk"], 4, "the same national ids are new students of A: {log}");
        assert_eq!(roster(&app, &b).await, b_before, "B's students are untouched");
        assert_eq!(entity::student::Entity::find().count(&app.db.conn).await.unwrap() as i64, b_rows.0 + 4);
        let (_, other) = app.gql(&who, "query($id: UUID!) { importLog(id: $id) { id } }", json!({ "id": log["id"] })).await;
        assert!(other["data"]["importLog"].is_object());
        let (_, theirs) = app.gql(&As::in_school(&root, "school-b"), "query($id: UUID!) { importLog(id: $id) { id } }", json!({ "id": log["id"] })).await;
        assert_eq!(theirs["data"]["importLog"], Value::Null, "A's log is not B's");
    }

    async fn a_failure_in_the_middle_of_writing_leaves_no_rows(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        school_setup(&app, &who).await;
        // The database refuses the third student: the import fails after writing rows.
        let sql: &[&str] = match backend {
            tests::Backend::Sqlite => &["CREATE TRIGGER boom BEFORE INSERT ON students WHEN NEW.first_name = 'מיכל' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"],
            tests::Backend::Postgres => &[
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.first_name = 'מיכל' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER boom BEFORE INSERT ON students FOR EACH ROW EXECUTE FUNCTION boom()",
            ],
        };
        for statement in sql {
            app.db.conn.execute_unprepared(statement).await.unwrap();
        }
        let first = "student_tz,first_name,last_name\n039337423,נועה,כהן\n123456782,יונתן,לוי\n";
        run(&app, &who, "importStudents", "a.csv", first.as_bytes().to_vec(), json!(null)).await;
        let log = run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!(null)).await;
        assert_eq!(log["status"], "FAILED", "{log}");
        assert_eq!(log["message"], "the import failed inside the database; nothing was written");
        assert!(!log.to_string().contains("injected"), "database text never reaches the client: {log}");
        assert_eq!(rows(&app, "students").await, 2, "the two earlier students only");
    }

    async fn imports_left_running_by_a_stop_are_failed_at_start(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        let log = run(&app, &who, "importStudents", "s.csv", b"student_tz,first_name,last_name\n039337423,a,b\n".to_vec(), json!(null)).await;
        // As a stopped instance leaves it: RUNNING, its lease no longer renewed (here: none).
        app.db.conn.execute_unprepared("UPDATE import_logs SET status = 'RUNNING', lease_expires_at = NULL").await.unwrap();
        let url = app.db.url.clone();
        let config = api::config::Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "BIND_ADDR" => Some("127.0.0.1:0".to_owned()),
            "BOOTSTRAP_ADMIN_PASSWORD" => Some("not-used-password".to_owned()),
            _ => None,
        })
        .unwrap();
        drop(api::app::Application::build(config).await.unwrap());
        let after = app.ok(&who, "query($id: UUID!) { importLog(id: $id) { status message } }", json!({ "id": log["id"] })).await;
        assert_eq!(after["importLog"]["status"], "FAILED");
        assert!(after["importLog"]["message"].as_str().unwrap().contains("server stopped"), "{after}");
    }

    async fn only_roles_with_imports_run_may_import(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        for role in ["TEACHER", "VIEWER"] {
            let token = app.member_token(&root, FIRST_SCHOOL, &format!("{role}@example.org").to_lowercase(), role).await;
            let (_, body) = app.upload(&As::token(&token), &import("importStudents"), json!({}), "students.csv", fixture("students.csv")).await;
            assert_eq!(code(&body), "FORBIDDEN", "{role}: {body}");
            let (_, body) = app.gql(&As::token(&token), "{ importLogs { totalCount } }", json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN", "{role}: {body}");
        }
        assert_eq!(rows(&app, "import_logs").await, 0);
        assert_eq!(rows(&app, "students").await, 0);
    }

    async fn import_progress_follows_a_background_import_to_its_end(backend) {
        use futures_util::SinkExt;
        use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let b = As::in_school(&root, "school-b");
        let b_log = run(&app, &b, "importStudents", "s.csv", b"student_tz,first_name,last_name\n039337423,a,b\n".to_vec(), json!(null)).await;
        let token = app.member_token(&root, FIRST_SCHOOL, "office@example.org", "ADMIN").await;
        let who = As::token(&token);
        school_setup(&app, &who).await;
        let log = run(&app, &who, "importStudents", "students.csv", fixture("students.csv"), json!({ "background": true })).await;
        assert_eq!(log["status"], "RUNNING", "answered at once: {log}");

        let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        ws.send(Message::text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }).to_string())).await.unwrap();
        assert_eq!(next_message(&mut ws).await["type"], "connection_ack");
        let subscribe = |id: &str, import: &Value| Message::text(json!({ "id": id, "type": "subscribe", "payload": {
            "query": "subscription($id: UUID!) { importProgress(id: $id) { status rowsTotal rowsOk } }", "variables": { "id": import } } }).to_string());
        ws.send(subscribe("mine", &log["id"])).await.unwrap();
        let mut updates = Vec::new();
        loop {
            let message = next_message(&mut ws).await;
            match message["type"].as_str() {
                Some("next") => updates.push(message["payload"]["data"]["importProgress"].clone()),
                Some("complete") => break,
                _ => panic!("{message}"),
            }
        }
        let last = updates.last().unwrap();
        assert_eq!(last, &json!({ "status": "SUCCEEDED", "rowsTotal": 4, "rowsOk": 4 }), "{updates:?}");
        assert!(updates[..updates.len() - 1].iter().all(|u| u["status"] == "RUNNING"), "{updates:?}");

        // Another school's import and a random id: the same error, and nothing streamed.
        let mut errors = Vec::new();
        for (id, import) in [("theirs", b_log["id"].clone()), ("random", json!(uuid::Uuid::now_v7()))] {
            ws.send(subscribe(id, &import)).await.unwrap();
            let message = next_message(&mut ws).await;
            assert_eq!((message["type"].as_str(), &message["payload"]["data"]), (Some("next"), &Value::Null), "{message}");
            errors.push(message["payload"]["errors"].clone());
            assert_eq!(next_message(&mut ws).await["type"], "complete");
        }
        assert_eq!(errors[0], errors[1]);
        assert_eq!(errors[0][0]["extensions"]["code"], "NOT_FOUND", "{errors:?}");
        let after = app.ok(&who, "query($id: UUID!) { importLog(id: $id) { status rowsOk } }", json!({ "id": log["id"] })).await;
        assert_eq!(after["importLog"], json!({ "status": "SUCCEEDED", "rowsOk": 4 }));
    }

    async fn a_file_larger_than_one_insert_is_written_whole(backend) {
        let app = tests::spawn_app(backend).await;
        let who = admin(&app).await;
        let mut file = String::from("student_tz,first_name,last_name\n");
        for n in 0..4_000 {
            let prefix = format!("{:08}", 20_000_000 + n);
            let sum = api::rules::weighted_digit_sum(prefix.chars().filter_map(|c| c.to_digit(10)));
            file.push_str(&format!("{prefix}{},first-{n},last-{n}\n", (10 - sum % 10) % 10));
        }
        let log = run(&app, &who, "importStudents", "many.csv", file.clone().into_bytes(), json!(null)).await;
        assert_eq!((log["status"].as_str(), log["rowsOk"].as_i64()), (Some("SUCCEEDED"), Some(4_000)), "{log}");
        assert_eq!(rows(&app, "students").await, 4_000);
        let again = run(&app, &who, "importStudents", "many.csv", file.into_bytes(), json!(null)).await;
        assert_eq!(again["rowsUnchanged"], 4_000, "{again}");
        assert_eq!(rows(&app, "students").await, 4_000);
    }
}
