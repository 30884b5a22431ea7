//! The cross-tenant sweep: every query and mutation that takes an id (as an argument or inside
//! an input) is called as school A with school B's ids and with random ids; the answers must be
//! identical and B's rows unchanged. The list of calls is checked against the schema, so a new
//! field with an id argument fails this test until it is added here.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use std::collections::BTreeSet;

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, backend_tests, code, spawn_app};

/// One call: the field, the document, and which variables carry which of B's ids.
type Call = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const CALLS: &[Call] = &[
    (
        "analytics.overview",
        "query($c: UUID!) { analytics { overview(termId: $c) { averageScore } } }",
        &[("c", "term")],
    ),
    (
        "analytics.gradeDistribution",
        "query($a: UUID!, $b: UUID!, $c: UUID!) { analytics { gradeDistribution(subjectId: $b, classId: $a, termId: $c) { count } } }",
        &[("a", "class"), ("b", "subject"), ("c", "term")],
    ),
    (
        "analytics.subjectAverages",
        "query($a: UUID!, $c: UUID!) { analytics { subjectAverages(classId: $a, termId: $c) { average } } }",
        &[("a", "class"), ("c", "term")],
    ),
    (
        "analytics.classAverages",
        "query($b: UUID!, $c: UUID!) { analytics { classAverages(subjectId: $b, termId: $c) { average } } }",
        &[("b", "subject"), ("c", "term")],
    ),
    (
        "analytics.teacherAverages",
        "query($b: UUID!, $c: UUID!) { analytics { teacherAverages(subjectId: $b, termId: $c) { average } } }",
        &[("b", "subject"), ("c", "term")],
    ),
    (
        "analytics.trend",
        "query($a: UUID!, $b: UUID!) { analytics { trend(granularity: TERM, subjectId: $b, classId: $a) { average } } }",
        &[("a", "class"), ("b", "subject")],
    ),
    (
        "analytics.attendanceSummary",
        "query($a: UUID!) { analytics { attendanceSummary(classId: $a) { byWeek { attended } } } }",
        &[("a", "class")],
    ),
    (
        "student",
        "query($a: UUID!) { student(id: $a) { id } }",
        &[("a", "student")],
    ),
    (
        "teacher",
        "query($a: UUID!) { teacher(id: $a) { id } }",
        &[("a", "teacher")],
    ),
    (
        "class",
        "query($a: UUID!) { class(id: $a) { id } }",
        &[("a", "class")],
    ),
    (
        "students",
        "query($a: UUID!) { students(filter: { classId: $a }) { totalCount } }",
        &[("a", "class")],
    ),
    (
        "classes",
        "query($a: UUID!) { classes(academicYearId: $a) { totalCount } }",
        &[("a", "year")],
    ),
    (
        "terms",
        "query($a: UUID!) { terms(academicYearId: $a) { id } }",
        &[("a", "year")],
    ),
    (
        "grades",
        "query($a: UUID!, $b: UUID!, $c: UUID!, $d: UUID!) { grades(filter: { studentId: $a, classId: $b, subjectId: $c, termId: $d }) { totalCount } }",
        &[
            ("a", "student"),
            ("b", "class"),
            ("c", "subject"),
            ("d", "term"),
        ],
    ),
    (
        "attendance",
        "query($a: UUID!, $b: UUID!) { attendance(filter: { studentId: $a, classId: $b }) { totalCount } }",
        &[("a", "student"), ("b", "class")],
    ),
    (
        "updateStudent",
        "mutation($a: UUID!) { updateStudent(id: $a, input: { firstName: \"hacked\" }) { id } }",
        &[("a", "student")],
    ),
    (
        "deleteStudent",
        "mutation($a: UUID!) { deleteStudent(id: $a, hard: true) }",
        &[("a", "student")],
    ),
    (
        "createStudent",
        "mutation($a: UUID!) { createStudent(input: { studentTz: \"000000042\", firstName: \"x\", lastName: \"y\", classId: $a }) { id } }",
        &[("a", "class")],
    ),
    (
        "createTerm",
        "mutation($a: UUID!) { createTerm(input: { academicYearId: $a, name: \"t\", startDate: \"2025-09-01\", endDate: \"2025-12-31\" }) { id } }",
        &[("a", "year")],
    ),
    (
        "createClass",
        "mutation($a: UUID!, $b: UUID!, $c: UUID!) { createClass(input: { academicYearId: $a, name: \"c\", subjectId: $b, teacherIds: [$c] }) { id } }",
        &[("a", "year"), ("b", "subject"), ("c", "teacher")],
    ),
    (
        "recordGrade",
        "mutation($a: UUID!, $b: UUID!, $c: UUID!) { recordGrade(input: { studentId: $a, subjectId: $b, termId: $c, score: 50, gradedOn: \"2025-10-01\" }) { id } }",
        &[("a", "student"), ("b", "subject"), ("c", "term")],
    ),
    (
        "recordAttendance",
        "mutation($a: UUID!) { recordAttendance(input: { studentId: $a, date: \"2025-10-01\", status: ABSENT }) { id } }",
        &[("a", "student")],
    ),
    (
        "createGuardian",
        "mutation($a: UUID!) { createGuardian(input: { firstName: \"g\", lastName: \"g\", studentIds: [$a] }) { id } }",
        &[("a", "student")],
    ),
    (
        "enrollStudent",
        "mutation($a: UUID!, $b: UUID!) { enrollStudent(classId: $a, studentId: $b) { id } }",
        &[("a", "class"), ("b", "student")],
    ),
    (
        "recordIncident",
        "mutation($a: UUID!, $b: UUID!) { recordIncident(input: { studentId: $a, occurredOn: \"2025-10-01\", category: \"x\", reportedByTeacherId: $b }) { id } }",
        &[("a", "student"), ("b", "teacher")],
    ),
    (
        "recordHealthRecord",
        "mutation($a: UUID!) { recordHealthRecord(input: { studentId: $a, kind: \"ALLERGY\", title: \"x\" }) { id } }",
        &[("a", "student")],
    ),
    (
        "updateTeacher",
        "mutation($a: UUID!) { updateTeacher(id: $a, input: { firstName: \"x\" }) { id } }",
        &[("a", "teacher")],
    ),
    (
        "deleteTeacher",
        "mutation($a: UUID!) { deleteTeacher(id: $a) }",
        &[("a", "teacher")],
    ),
    (
        "updateClass",
        "mutation($a: UUID!, $b: UUID!) { updateClass(id: $a, input: { name: \"x\", teacherIds: [$b] }) { id } }",
        &[("a", "class"), ("b", "teacher")],
    ),
    (
        "deleteClass",
        "mutation($a: UUID!) { deleteClass(id: $a) }",
        &[("a", "class")],
    ),
    (
        "updateSubject",
        "mutation($a: UUID!) { updateSubject(id: $a, input: { name: \"x\" }) { id } }",
        &[("a", "subject")],
    ),
    (
        "deleteSubject",
        "mutation($a: UUID!) { deleteSubject(id: $a) }",
        &[("a", "subject")],
    ),
    (
        "deleteTerm",
        "mutation($a: UUID!) { deleteTerm(id: $a) }",
        &[("a", "term")],
    ),
    (
        "deleteAcademicYear",
        "mutation($a: UUID!) { deleteAcademicYear(id: $a) }",
        &[("a", "year")],
    ),
    (
        "recordAttendanceBatch",
        "mutation($a: UUID!, $b: UUID!) { recordAttendanceBatch(input: { date: \"2025-10-01\", classId: $b, records: [{ studentId: $a, status: LATE }] }) { id } }",
        &[("a", "student"), ("b", "class")],
    ),
    (
        "incidents",
        "query($a: UUID!) { incidents(filter: { studentId: $a }) { totalCount } }",
        &[("a", "student")],
    ),
    (
        "assessments",
        "query($a: UUID!, $b: UUID!, $c: UUID!) { assessments(filter: { subjectId: $a, termId: $b, classId: $c }) { totalCount } }",
        &[("a", "subject"), ("b", "term"), ("c", "class")],
    ),
    (
        "createAssessment",
        "mutation($a: UUID!, $b: UUID!, $c: UUID!) { createAssessment(input: { subjectId: $a, termId: $b, classId: $c, title: \"t\", category: EXAM }) { id } }",
        &[("a", "subject"), ("b", "term"), ("c", "class")],
    ),
    (
        "addAcademicHistory",
        "mutation($a: UUID!) { addAcademicHistory(input: { studentId: $a, yearLabel: \"2023\" }) { id } }",
        &[("a", "student")],
    ),
    (
        "deleteGuardian",
        "mutation($a: UUID!) { deleteGuardian(id: $a) }",
        &[("a", "guardian")],
    ),
    (
        "deleteEnrollment",
        "mutation($a: UUID!) { deleteEnrollment(id: $a) }",
        &[("a", "enrollment")],
    ),
    (
        "updateTerm",
        "mutation($a: UUID!) { updateTerm(id: $a, input: { name: \"x\" }) { id } }",
        &[("a", "term")],
    ),
    (
        "updateGuardian",
        "mutation($a: UUID!, $b: UUID!) { updateGuardian(id: $a, input: { firstName: \"x\", studentIds: [$b] }) { id } }",
        &[("a", "guardian"), ("b", "student")],
    ),
    (
        "updateEnrollment",
        "mutation($a: UUID!) { updateEnrollment(id: $a, input: { beginDate: \"2025-09-01\" }) { id } }",
        &[("a", "enrollment")],
    ),
    (
        "updateAcademicYear",
        "mutation($a: UUID!) { updateAcademicYear(id: $a, input: { name: \"x\", isCurrent: true }) { id } }",
        &[("a", "year")],
    ),
    (
        "importLog",
        "query($a: UUID!) { importLog(id: $a) { id status } }",
        &[("a", "import_log")],
    ),
    (
        "revokeApiToken",
        "mutation($a: UUID!) { revokeApiToken(id: $a) { id } }",
        &[("a", "api_token")],
    ),
    (
        "updateMembership",
        "mutation($a: UUID!) { updateMembership(userId: $a, role: VIEWER) { role } }",
        &[("a", "user")],
    ),
    (
        "removeMembership",
        "mutation($a: UUID!) { removeMembership(userId: $a) }",
        &[("a", "user")],
    ),
];

/// Subscription fields taking ids; WebSocket-only, so their cross-school case is tested in their
/// own files (`importProgress`: `imports.rs`).
const SUBSCRIPTIONS: &[&str] = &["importProgress"];

/// Fields whose id arguments are not school data: `setUserActive` is a platform (superadmin)
/// operation on users, covered by the auth tests.
const NOT_SCHOOL_DATA: &[&str] = &[
    "setUserActive",
    // A person's own invitations: another person's id is answered like a random one
    // (identities.rs).
    "acceptInvitation",
    "declineInvitation",
];

const INTROSPECTION: &str = "{ __schema { queryType { fields { name args { name type { ...T } } } }
    mutationType { fields { name args { name type { ...T } } } }
    subscriptionType { fields { name args { name type { ...T } } } }
    types { name inputFields { name type { ...T } } } } }
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

fn type_names(t: &Value, out: &mut Vec<String>) {
    if let Some(name) = t["name"].as_str() {
        out.push(name.to_owned());
    }
    if !t["ofType"].is_null() {
        type_names(&t["ofType"], out);
    }
}

#[tokio::test]
async fn every_field_taking_an_id_is_in_the_sweep() {
    let schema = api::graphql::schema_builder().finish();
    let data = schema
        .execute(INTROSPECTION)
        .await
        .data
        .into_json()
        .unwrap();
    let types = data["__schema"]["types"].as_array().unwrap();
    let input_has_id = |name: &str| {
        types.iter().find(|t| t["name"] == name).is_some_and(|t| {
            t["inputFields"].as_array().into_iter().flatten().any(|f| {
                let mut names = Vec::new();
                type_names(&f["type"], &mut names);
                names.iter().any(|n| n == "UUID")
            })
        })
    };
    let mut needing = BTreeSet::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        for field in data["__schema"][root]["fields"].as_array().unwrap() {
            for arg in field["args"].as_array().unwrap() {
                let mut names = Vec::new();
                type_names(&arg["type"], &mut names);
                if names.iter().any(|n| n == "UUID" || input_has_id(n)) {
                    needing.insert(field["name"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    let covered: BTreeSet<String> = CALLS
        .iter()
        .map(|(f, _, _)| (*f).to_owned())
        .chain(NOT_SCHOOL_DATA.iter().map(|f| (*f).to_owned()))
        .chain(SUBSCRIPTIONS.iter().map(|f| (*f).to_owned()))
        .collect();
    let missing: Vec<&String> = needing.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "fields taking ids that the cross-tenant sweep does not call: {missing:?}"
    );
}

/// Writes that take no id, as a viewer would try them.
const WRITES_WITHOUT_IDS: &[(&str, &str)] = &[
    (
        "createStudent",
        "mutation { createStudent(input: { studentTz: \"000000042\", firstName: \"x\", lastName: \"y\" }) { id } }",
    ),
    (
        "createTeacher",
        "mutation { createTeacher(input: { firstName: \"x\", lastName: \"y\" }) { id } }",
    ),
    (
        "createSubject",
        "mutation { createSubject(input: { name: \"x\" }) { id } }",
    ),
    (
        "createAcademicYear",
        "mutation { createAcademicYear(input: { name: \"x\", startDate: \"2025-09-01\", endDate: \"2026-06-20\" }) { id } }",
    ),
    (
        "createGuardian",
        "mutation { createGuardian(input: { firstName: \"x\", lastName: \"y\", studentIds: [] }) { id } }",
    ),
    (
        "resetSchoolData",
        "mutation { resetSchoolData(confirmSlug: \"first-school\") }",
    ),
    (
        "createApiToken",
        "mutation { createApiToken(input: { name: \"x\", role: VIEWER }) { token } }",
    ),
    (
        "createUser",
        "mutation { createUser(input: { email: \"x@example.org\", fullName: \"x\", role: ADMIN }) { role } }",
    ),
    (
        "addSchoolDomain",
        "mutation { addSchoolDomain(host: \"x.example.org\") { host } }",
    ),
    (
        "removeSchoolDomain",
        "mutation { removeSchoolDomain(host: \"x.example.org\") }",
    ),
    (
        "createSchool",
        "mutation { createSchool(input: { name: \"x\", slug: \"x-school\" }) { id } }",
    ),
    ("exportOneRoster", "mutation { exportOneRoster { url } }"),
    (
        "updateSchoolConfiguration",
        "mutation { updateSchoolConfiguration(input: { passMark: 50 }) { passMark } }",
    ),
    (
        "trainModel",
        "mutation { trainModel(target: FINAL_SCORE) { id } }",
    ),
    (
        "setUserActive",
        "mutation { setUserActive(userId: \"0194c6b2-7c3e-7000-8000-000000000000\", active: false) }",
    ),
];

/// Mutations that take a file (GraphQL multipart request) and no id.
const UPLOADS: &[&str] = &[
    "importStudents",
    "importGrades",
    "importAttendance",
    "importOneRoster",
];

/// Mutations every signed-in user may run on themselves.
const SELF_SERVICE: &[&str] = &[
    "login",
    "changePassword",
    "revokeMySessions",
    "acceptInvitation",
    "declineInvitation",
];

#[tokio::test]
async fn every_mutation_is_in_the_viewer_sweep() {
    let schema = api::graphql::schema_builder().finish();
    let data = schema
        .execute(INTROSPECTION)
        .await
        .data
        .into_json()
        .unwrap();
    let listed: BTreeSet<&str> = CALLS
        .iter()
        .filter(|(_, doc, _)| doc.starts_with("mutation"))
        .map(|(f, _, _)| *f)
        .chain(WRITES_WITHOUT_IDS.iter().map(|(f, _)| *f))
        .chain(UPLOADS.iter().copied())
        .chain(SELF_SERVICE.iter().copied())
        .collect();
    let missing: Vec<&str> = data["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .filter(|name| !listed.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "mutations the viewer sweep does not try: {missing:?}"
    );
}

backend_tests! {
    async fn school_b_ids_are_answered_exactly_like_random_ids_and_b_is_unchanged(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let b = As::in_school(&root, "school-b");
        // School B's records.
        let year = app.ok(&b, "mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2025-09-01\", endDate: \"2026-06-20\" }) { id } }", json!({})).await["createAcademicYear"]["id"].clone();
        let term = app.ok(&b, "mutation($y: UUID!) { createTerm(input: { academicYearId: $y, name: \"A\", startDate: \"2025-09-01\", endDate: \"2026-01-31\" }) { id } }", json!({ "y": year })).await["createTerm"]["id"].clone();
        let subject = app.ok(&b, "mutation { createSubject(input: { name: \"math\" }) { id } }", json!({})).await["createSubject"]["id"].clone();
        let teacher = app.ok(&b, "mutation { createTeacher(input: { firstName: \"t\", lastName: \"t\" }) { id } }", json!({})).await["createTeacher"]["id"].clone();
        let class = app.ok(&b, "mutation($y: UUID!, $t: UUID!) { createClass(input: { academicYearId: $y, name: \"b1\", teacherIds: [$t] }) { id } }", json!({ "y": year, "t": teacher })).await["createClass"]["id"].clone();
        let student = app.ok(&b, "mutation($c: UUID!) { createStudent(input: { studentTz: \"039337423\", firstName: \"b\", lastName: \"b\", classId: $c }) { id } }", json!({ "c": class })).await["createStudent"]["id"].clone();
        app.ok(&b, "mutation($s: UUID!, $sub: UUID!, $t: UUID!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: 90, gradedOn: \"2025-10-01\" }) { id } }", json!({ "s": student, "sub": subject, "t": term })).await;
        app.ok(&b, "mutation($s: UUID!) { recordAttendance(input: { studentId: $s, date: \"2025-10-01\", status: PRESENT }) { id } }", json!({ "s": student })).await;
        let api_token = app.ok(&b, "mutation { createApiToken(input: { name: \"b\", role: VIEWER }) { apiToken { id } } }", json!({})).await["createApiToken"]["apiToken"]["id"].clone();
        let guardian = app.ok(&b, "mutation($s: UUID!) { createGuardian(input: { firstName: \"g\", lastName: \"g\", studentIds: [$s] }) { id } }", json!({ "s": student })).await["createGuardian"]["id"].clone();
        let enrollment = app.ok(&b, "mutation($c: UUID!, $s: UUID!) { enrollStudent(classId: $c, studentId: $s) { id } }", json!({ "c": class, "s": student })).await["enrollStudent"]["id"].clone();
        let user = app.add_member(&root, "school-b", "b-teacher@example.org", "TEACHER").await;
        let (_, imported) = app.upload(&b, "mutation($file: Upload!) { importStudents(file: $file) { id } }", json!({}), "s.csv", b"student_tz,first_name,last_name\n123456782,b,b\n".to_vec()).await;
        let import_log = imported["data"]["importStudents"]["id"].clone();
        assert!(import_log.is_string(), "{imported}");
        let b_ids = json!({ "year": year, "term": term, "subject": subject, "teacher": teacher, "class": class,
                            "student": student, "api_token": api_token, "user": user,
                            "guardian": guardian, "enrollment": enrollment, "import_log": import_log });

        // School A has the same shapes of data, so that "found in A" can't explain a difference.
        let a_admin = app.member_token(&root, FIRST_SCHOOL, "a-admin@example.org", "ADMIN").await;
        let a = As::in_school(&a_admin, FIRST_SCHOOL);

        let snapshot = |conn: &sea_orm::DatabaseConnection| {
            let conn = conn.clone();
            async move {
                (
                    entity::student::Entity::find().all(&conn).await.unwrap(),
                    entity::grade::Entity::find().all(&conn).await.unwrap(),
                    entity::attendance_record::Entity::find().all(&conn).await.unwrap(),
                    entity::class::Entity::find().all(&conn).await.unwrap(),
                    entity::term::Entity::find().all(&conn).await.unwrap(),
                    entity::api_token::Entity::find().all(&conn).await.unwrap(),
                    entity::membership::Entity::find().all(&conn).await.unwrap(),
                    entity::guardian::Entity::find().all(&conn).await.unwrap(),
                    entity::enrollment::Entity::find().all(&conn).await.unwrap(),
                    entity::academic_year::Entity::find().all(&conn).await.unwrap(),
                    entity::student_guardian::Entity::find().all(&conn).await.unwrap(),
                    entity::import_log::Entity::find().all(&conn).await.unwrap(),
                )
            }
        };
        let before = snapshot(&app.db.conn).await;
        for (field, document, vars) in CALLS {
            let theirs: serde_json::Map<String, Value> = vars.iter().map(|(v, key)| ((*v).to_owned(), b_ids[*key].clone())).collect();
            let random: serde_json::Map<String, Value> = vars.iter().map(|(v, _)| ((*v).to_owned(), json!(uuid::Uuid::now_v7()))).collect();
            let (s1, with_b) = app.gql(&a, document, Value::Object(theirs)).await;
            let (s2, with_random) = app.gql(&a, document, Value::Object(random)).await;
            assert_eq!(s1, s2, "{field}: {with_b} vs {with_random}");
            assert_eq!(with_b["data"], with_random["data"], "{field}: {with_b} vs {with_random}");
            assert_eq!(code(&with_b), code(&with_random), "{field}: {with_b} vs {with_random}");
            assert_eq!(with_b["errors"][0]["message"], with_random["errors"][0]["message"], "{field}");
            assert_eq!(with_b["errors"][0]["extensions"], with_random["errors"][0]["extensions"], "{field}");
        }
        assert!(before == snapshot(&app.db.conn).await, "school B's rows are unchanged");
    }

    async fn a_viewer_is_refused_every_write(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let viewer = app.member_token(&root, FIRST_SCHOOL, "viewer@example.org", "VIEWER").await;
        let who = As::token(&viewer);
        let before = entity::audit_log::Entity::find().all(&app.db.conn).await.unwrap().len();
        for (field, document, vars) in CALLS.iter().filter(|(_, doc, _)| doc.starts_with("mutation")) {
            let vars: serde_json::Map<String, Value> = vars.iter().map(|(v, _)| ((*v).to_owned(), json!(uuid::Uuid::now_v7()))).collect();
            let (_, body) = app.gql(&who, document, Value::Object(vars)).await;
            assert_eq!(code(&body), "FORBIDDEN", "{field}: {body}");
        }
        for (field, document) in WRITES_WITHOUT_IDS {
            let (_, body) = app.gql(&who, document, json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN", "{field}: {body}");
        }
        for field in UPLOADS {
            let document = format!("mutation($file: Upload!) {{ {field}(file: $file) {{ id }} }}");
            let (_, body) = app.upload(&who, &document, json!({}), "s.csv", b"student_tz,first_name,last_name\n123456782,a,b\n".to_vec()).await;
            assert_eq!(code(&body), "FORBIDDEN", "{field}: {body}");
        }
        assert_eq!(entity::audit_log::Entity::find().all(&app.db.conn).await.unwrap().len(), before, "nothing was written");
        assert_eq!(entity::student::Entity::find().all(&app.db.conn).await.unwrap().len(), 0);
    }
}
