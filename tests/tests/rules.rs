//! One set of rules and one audit trail whichever door a change comes in by: the same bad value
//! is refused with the same code by the API and by every importer, and every mutation that
//! changes a student's record leaves an audit entry (the list is walked from the schema, so a
//! new mutation fails here until it is classified).

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use std::{
    collections::BTreeSet,
    io::{Cursor, Write},
};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests};

fn zip(entries: &[(&str, String)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(body.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A OneRoster 1.1 package of one school (`org-a`) whose users are `users` (rows after the
/// header).
fn package(users: &[String]) -> Vec<u8> {
    let manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n";
    let orgs = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\norg-a,,,בית ספר א,school,410001,\n";
    let mut csv = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n".to_owned();
    for row in users {
        csv.push_str(row);
        csv.push('\n');
    }
    zip(&[
        ("manifest.csv", manifest.to_owned()),
        ("orgs.csv", orgs.to_owned()),
        ("users.csv", csv),
    ])
}

/// A OneRoster student row with the given cells.
fn oneroster_student(tz: &str, given: &str, email: &str, grade: &str) -> String {
    format!("s-1,,,true,org-a,student,st1,{{tz:{tz}}},{given},כהן,,,{email},,,,{grade},")
}

const IMPORT: &str = "mutation($file: Upload!, $options: ImportOptions) { KIND(file: $file, options: $options) { status errors { row column code } } }";
const ONEROSTER: &str = "mutation($file: Upload!, $options: OneRosterImportOptions) { importOneRoster(file: $file, options: $options) { status errors { row column code } } }";

/// The codes a dry-run import gives for `column`.
async fn import_codes(
    app: &TestApp,
    who: &As,
    kind: &str,
    bytes: Vec<u8>,
    column: &str,
) -> Vec<String> {
    let (document, options, file) = if kind == "importOneRoster" {
        (
            ONEROSTER.to_owned(),
            json!({ "dryRun": true, "orgSourcedId": "org-a" }),
            "package.zip",
        )
    } else {
        (
            IMPORT.replace("KIND", kind),
            json!({ "dryRun": true }),
            "file.csv",
        )
    };
    let (status, body) = app
        .upload(who, &document, json!({ "options": options }), file, bytes)
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"][kind]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{kind}: {body}"))
        .iter()
        .filter(|e| e["column"] == column)
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The rule code the API gives for `field`.
async fn api_code(
    app: &TestApp,
    who: &As,
    document: &str,
    vars: Value,
    field: &str,
) -> Option<String> {
    let (_, body) = app.gql(who, document, vars).await;
    body["errors"][0]["extensions"]["fields"]
        .as_array()?
        .iter()
        .find(|f| f["field"] == field)
        .and_then(|f| f["code"].as_str())
        .map(str::to_owned)
}

/// What is refused, the API document, its variables and the field, the importer, the file and
/// the column, and the code both must give.
type Case<'a> = (
    &'a str,
    &'a str,
    Value,
    &'a str,
    &'a str,
    Vec<u8>,
    &'a str,
    &'a str,
);

const CREATE_STUDENT: &str = "mutation($tz: String!, $first: String!, $level: Int, $email: String) { createStudent(input: { studentTz: $tz, firstName: $first, lastName: \"כהן\", gradeLevel: $level, email: $email }) { id } }";
const RECORD_GRADE: &str = "mutation($student: UUID!, $subject: UUID!, $term: UUID!, $score: Float!, $max: Float, $on: Date!) { recordGrade(input: { studentId: $student, subjectId: $subject, termId: $term, score: $score, maxScore: $max, gradedOn: $on }) { id } }";
const RECORD_ATTENDANCE: &str = "mutation($student: UUID!, $on: Date!, $period: Int) { recordAttendance(input: { studentId: $student, date: $on, period: $period, status: ABSENT }) { id } }";

/// The mutations that change a student's record, each with a call that does (variables name
/// the records [`roster`] made), and the audit action it must leave.
const STUDENT_RECORD_CHANGES: &[(&str, &str, &str)] = &[
    (
        "createStudent",
        "mutation { createStudent(input: { studentTz: \"112233440\", firstName: \"יעל\", lastName: \"כהן\" }) { id } }",
        "student.create",
    ),
    (
        "updateStudent",
        "mutation($student: UUID!) { updateStudent(id: $student, input: { gradeLevel: 8 }) { id } }",
        "student.update",
    ),
    (
        "recordGrade",
        "mutation($student: UUID!, $subject: UUID!, $term: UUID!) { recordGrade(input: { studentId: $student, subjectId: $subject, termId: $term, score: 80, gradedOn: \"2025-10-01\" }) { id } }",
        "grade.create",
    ),
    (
        "recordAttendance",
        "mutation($student: UUID!) { recordAttendance(input: { studentId: $student, date: \"2025-10-01\", status: LATE }) { id } }",
        "attendance.record",
    ),
    (
        "recordAttendanceBatch",
        "mutation($student: UUID!) { recordAttendanceBatch(input: { date: \"2025-10-02\", records: [{ studentId: $student, status: ABSENT }] }) { id } }",
        "attendance.roll_call",
    ),
    (
        "createGuardian",
        "mutation($student: UUID!) { createGuardian(input: { firstName: \"רחל\", lastName: \"כהן\", studentIds: [$student] }) { id } }",
        "guardian.create",
    ),
    (
        "updateGuardian",
        "mutation($guardian: UUID!) { updateGuardian(id: $guardian, input: { phone: \"050-0000000\" }) { id } }",
        "guardian.update",
    ),
    (
        "deleteGuardian",
        "mutation($guardian: UUID!) { deleteGuardian(id: $guardian) }",
        "guardian.delete",
    ),
    (
        "updateEnrollment",
        "mutation($enrollment: UUID!) { updateEnrollment(id: $enrollment, input: { beginDate: \"2025-09-01\" }) { id } }",
        "enrollment.update",
    ),
    (
        "deleteEnrollment",
        "mutation($enrollment: UUID!) { deleteEnrollment(id: $enrollment) }",
        "enrollment.delete",
    ),
    (
        "enrollStudent",
        "mutation($class: UUID!, $student: UUID!) { enrollStudent(classId: $class, studentId: $student) { id } }",
        "enrollment.create",
    ),
    (
        "recordIncident",
        "mutation($student: UUID!) { recordIncident(input: { studentId: $student, occurredOn: \"2025-10-01\", category: \"איחור\" }) { id } }",
        "incident.create",
    ),
    (
        "recordHealthRecord",
        "mutation($student: UUID!) { recordHealthRecord(input: { studentId: $student, kind: \"ALLERGY\", title: \"בוטנים\" }) { id } }",
        "health.create",
    ),
    (
        "addAcademicHistory",
        "mutation($student: UUID!) { addAcademicHistory(input: { studentId: $student, yearLabel: \"2024-2025\", gradeLevel: 6 }) { id } }",
        "history.create",
    ),
    (
        "deleteStudent",
        "mutation($student: UUID!) { deleteStudent(id: $student) }",
        "student.delete",
    ),
];

/// Imports change students' records too: each with a file that writes, and its action.
const STUDENT_RECORD_IMPORTS: &[(&str, &str, &str)] = &[
    (
        "importStudents",
        "student_tz,first_name,last_name\n300000015,עומר,פרץ\n",
        "import.students",
    ),
    (
        "importGrades",
        "student_tz,subject,term,score,date\n039337423,מתמטיקה,א,90,2025-10-05\n",
        "import.grades",
    ),
    (
        "importAttendance",
        "student_tz,date,status\n039337423,2025-10-05,PRESENT\n",
        "import.attendance",
    ),
    ("importOneRoster", "", "import.oneroster"),
];

/// Mutations that change no student's record (the platform, identity, staff, the calendar,
/// subjects, classes, settings, models); `resetSchoolData` removes every record and is audited
/// as `school.reset`.
const OTHER_MUTATIONS: &[&str] = &[
    "login",
    "changePassword",
    "revokeMySessions",
    "createSchool",
    "addSchoolDomain",
    "removeSchoolDomain",
    "createUser",
    "acceptInvitation",
    "declineInvitation",
    "updateMembership",
    "removeMembership",
    "setUserActive",
    "createApiToken",
    "revokeApiToken",
    "createTeacher",
    "createSubject",
    "createAcademicYear",
    "createTerm",
    "createClass",
    "resetSchoolData",
    "updateTeacher",
    "deleteTeacher",
    "updateClass",
    "deleteClass",
    "updateSubject",
    "deleteSubject",
    "deleteTerm",
    "deleteAcademicYear",
    "updateTerm",
    "createAssessment",
    "updateAcademicYear",
    "exportOneRoster",
    "trainModel",
    "updateSchoolConfiguration",
];

#[tokio::test]
async fn every_mutation_is_classified_as_changing_a_students_record_or_not() {
    let classified: BTreeSet<&str> = STUDENT_RECORD_CHANGES
        .iter()
        .chain(STUDENT_RECORD_IMPORTS)
        .map(|(m, ..)| *m)
        .chain(OTHER_MUTATIONS.iter().copied())
        .collect();
    let unclassified: Vec<String> = tests::mutation_names()
        .await
        .into_iter()
        .filter(|name| !classified.contains(name.as_str()))
        .collect();
    assert!(
        unclassified.is_empty(),
        "mutations to classify: {unclassified:?}"
    );
}

/// How many audit entries of `action` the school's log holds (read around the tenant layer).
async fn audited(app: &TestApp, action: &str) -> i64 {
    let backend = app.db.conn.get_database_backend();
    app.db
        .conn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT count(*) AS n FROM audit_log WHERE action = '{action}'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

backend_tests! {
    async fn the_api_and_every_importer_refuse_the_same_values_with_the_same_codes(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&app.member_token(&root, FIRST_SCHOOL, "office@example.org", "ADMIN").await);
        let ids = app.roster(&who).await;
        let long = "א".repeat(201);
        let with = |extra: Value| {
            let mut vars = json!({ "tz": "000000018", "first": "יעל", "level": 7, "email": null,
                "student": ids["student"], "subject": ids["subject"], "term": ids["term"],
                "score": 80, "max": null, "on": "2025-10-01", "period": 0 });
            for (k, v) in extra.as_object().unwrap() {
                vars[k] = v.clone();
            }
            vars
        };
        // (what, API document, its variables, the API field, importer, file, its column, code)
        let cases: Vec<Case> = vec![
            ("a name over 200 characters", CREATE_STUDENT, with(json!({ "first": long })), "input.firstName",
                "importStudents", format!("student_tz,first_name,last_name\n000000018,{long},כהן\n").into_bytes(), "first_name", "TOO_LONG"),
            ("a name over 200 characters", CREATE_STUDENT, with(json!({ "first": long })), "input.firstName",
                "importOneRoster", package(&[oneroster_student("000000018", &long, "", "07")]), "users.csv:givenName", "TOO_LONG"),
            ("a blank name", CREATE_STUDENT, with(json!({ "first": " \u{200F} " })), "input.firstName",
                "importStudents", "student_tz,first_name,last_name\n000000018, \u{200F} ,כהן\n".as_bytes().to_vec(), "first_name", "REQUIRED"),
            ("grade level 13", CREATE_STUDENT, with(json!({ "level": 13 })), "input.gradeLevel",
                "importStudents", b"student_tz,first_name,last_name,grade_level\n000000018,a,b,13\n".to_vec(), "grade_level", "INVALID_GRADE_LEVEL"),
            ("grade level 13", CREATE_STUDENT, with(json!({ "level": 13 })), "input.gradeLevel",
                "importOneRoster", package(&[oneroster_student("000000018", "יעל", "", "13")]), "users.csv:grades", "INVALID_GRADE_LEVEL"),
            ("a national id whose check digit is wrong", CREATE_STUDENT, with(json!({ "tz": "039337422" })), "input.studentTz",
                "importStudents", b"student_tz,first_name,last_name\n039337422,a,b\n".to_vec(), "student_tz", "INVALID_TZ"),
            ("a national id whose check digit is wrong", CREATE_STUDENT, with(json!({ "tz": "039337422" })), "input.studentTz",
                "importOneRoster", package(&[oneroster_student("039337422", "יעל", "", "07")]), "users.csv:userIds", "INVALID_TZ"),
            ("an email without a domain", CREATE_STUDENT, with(json!({ "email": "a@b" })), "input.email",
                "importStudents", b"student_tz,first_name,last_name,email\n000000018,a,b,a@b\n".to_vec(), "email", "INVALID_EMAIL"),
            ("an email without a domain", CREATE_STUDENT, with(json!({ "email": "a@b" })), "input.email",
                "importOneRoster", package(&[oneroster_student("000000018", "יעל", "a@b", "07")]), "users.csv:email", "INVALID_EMAIL"),
            ("a score over the maximum", RECORD_GRADE, with(json!({ "score": 120 })), "input.score",
                "importGrades", "student_tz,subject,term,score,date\n039337423,מתמטיקה,א,120,2025-10-01\n".as_bytes().to_vec(), "score", "SCORE_OUT_OF_RANGE"),
            ("a maximum score of 0", RECORD_GRADE, with(json!({ "max": 0 })), "input.maxScore",
                "importGrades", "student_tz,subject,term,score,max_score,date\n039337423,מתמטיקה,א,0,0,2025-10-01\n".as_bytes().to_vec(), "max_score", "INVALID_NUMBER"),
            ("a grade dated outside its term", RECORD_GRADE, with(json!({ "on": "2026-03-01" })), "input.gradedOn",
                "importGrades", "student_tz,subject,term,score,date\n039337423,מתמטיקה,א,80,2026-03-01\n".as_bytes().to_vec(), "date", "DATE_OUTSIDE_TERM"),
            ("period 13", RECORD_ATTENDANCE, with(json!({ "period": 13 })), "input.period",
                "importAttendance", b"student_tz,date,status,period\n039337423,2025-10-01,ABSENT,13\n".to_vec(), "period", "INVALID_PERIOD"),
            ("attendance on a day in no term", RECORD_ATTENDANCE, with(json!({ "on": "2026-03-01" })), "input.date",
                "importAttendance", b"student_tz,date,status\n039337423,2026-03-01,ABSENT\n".to_vec(), "date", "DATE_OUTSIDE_TERM"),
        ];
        let mut wrong = Vec::new();
        for (what, document, vars, field, importer, file, column, expected) in cases {
            let api = api_code(&app, &who, document, vars, field).await;
            let imported = import_codes(&app, &who, importer, file, column).await;
            if api.as_deref() != Some(expected) || imported != [expected] {
                wrong.push(format!("{what}: API {field} {api:?}, {importer} {column} {imported:?}, expected {expected}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));

        // And the same value is accepted by both: a 150-character name (OneRoster once stopped
        // at 100).
        let name = "ש".repeat(150);
        let (_, body) = app.gql(&who, CREATE_STUDENT, with(json!({ "tz": "055667786", "first": name }))).await;
        assert!(body.get("errors").is_none(), "{body}");
        let refused = import_codes(&app, &who, "importOneRoster", package(&[oneroster_student("300000015", &name, "", "07")]), "users.csv:givenName").await;
        assert!(refused.is_empty(), "{refused:?}");
    }

    async fn every_change_to_a_students_record_leaves_an_audit_entry(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&app.member_token(&root, FIRST_SCHOOL, "office@example.org", "ADMIN").await);
        let mut ids = app.roster(&who).await;
        let mut missing = Vec::new();
        for (mutation, document, action) in STUDENT_RECORD_CHANGES {
            let before = audited(&app, action).await;
            let data = app.ok(&who, document, tests::vars_for(document, &ids)).await;
            // Later documents refer to what earlier ones made.
            if let Some(id) = data[*mutation]["id"].as_str() {
                match *mutation {
                    "createGuardian" => ids["guardian"] = json!(id),
                    "enrollStudent" => ids["enrollment"] = json!(id),
                    _ => {}
                }
            }
            if audited(&app, action).await <= before {
                missing.push(format!("{mutation} wrote no {action} entry"));
            }
        }
        for (mutation, file, action) in STUDENT_RECORD_IMPORTS {
            let before = audited(&app, action).await;
            let (document, options, bytes) = if *mutation == "importOneRoster" {
                (ONEROSTER.to_owned(), json!({ "orgSourcedId": "org-a" }),
                    package(&[oneroster_student("055667786", "שירה", "", "09")]))
            } else {
                (IMPORT.replace("KIND", mutation), json!({}), file.as_bytes().to_vec())
            };
            let (_, body) = app.upload(&who, &document, json!({ "options": options }), "file", bytes).await;
            assert_eq!(body["data"][*mutation]["status"], "SUCCEEDED", "{mutation}: {body}");
            if audited(&app, action).await != before + 1 {
                missing.push(format!("{mutation} wrote no {action} entry"));
            }
            // A dry run writes nothing, so it leaves no entry.
            if *mutation == "importStudents" {
                let (_, body) = app.upload(&who, &document, json!({ "options": { "dryRun": true } }), "file", file.as_bytes().to_vec()).await;
                assert_eq!(body["data"][*mutation]["status"], "SUCCEEDED", "{body}");
                assert_eq!(audited(&app, action).await, before + 1, "a dry run is not audited as a change");
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
