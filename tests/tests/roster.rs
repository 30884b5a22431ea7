//! The core school API: building a roster, reading it back nested, validation, limits.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests, code, spawn_app};

/// Ids of a small school calendar and roster made through the API.
struct Roster {
    term: String,
    subject: String,
    class: String,
    teacher: String,
    students: Vec<String>,
}

async fn build_roster(app: &TestApp, who: &As) -> Roster {
    let year = app.ok(who, "mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2025-09-01\", endDate: \"2026-06-20\", isCurrent: true }) { id } }", json!({})).await;
    let year = year["createAcademicYear"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let term = app.ok(who, "mutation($y: UUID!) { createTerm(input: { academicYearId: $y, name: \"סמסטר א׳\", startDate: \"2025-09-01\", endDate: \"2026-01-31\" }) { id } }", json!({ "y": year })).await;
    let subject = app
        .ok(
            who,
            "mutation { createSubject(input: { name: \"מתמטיקה\", code: \"MATH\" }) { id } }",
            json!({}),
        )
        .await;
    let teacher = app
        .ok(
            who,
            "mutation { createTeacher(input: { firstName: \"דנה\", lastName: \"לוי\" }) { id } }",
            json!({}),
        )
        .await;
    let teacher = teacher["createTeacher"]["id"].as_str().unwrap().to_owned();
    let class = app.ok(who, "mutation($y: UUID!, $t: UUID!) { createClass(input: { academicYearId: $y, name: \"ז׳2\", gradeLevel: 7, teacherIds: [$t] }) { id } }", json!({ "y": year, "t": teacher })).await;
    let class = class["createClass"]["id"].as_str().unwrap().to_owned();
    let mut students = Vec::new();
    for (tz, first) in [("039337423", "נועה"), ("000000018", "יעל"), ("26", "אורי")] {
        let s = app.ok(who, "mutation($tz: String!, $f: String!, $c: UUID!) { createStudent(input: { studentTz: $tz, firstName: $f, lastName: \"כהן\", gradeLevel: 7, classId: $c }) { id studentTz } }",
            json!({ "tz": tz, "f": first, "c": class })).await;
        students.push(s["createStudent"]["id"].as_str().unwrap().to_owned());
    }
    Roster {
        term: term["createTerm"]["id"].as_str().unwrap().to_owned(),
        subject: subject["createSubject"]["id"].as_str().unwrap().to_owned(),
        class,
        teacher,
        students,
    }
}

fn fields_of(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["fields"]
        .as_array()
        .map_or_else(Vec::new, |fields| {
            fields
                .iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
}

backend_tests! {
    async fn a_school_builds_its_roster_and_reads_it_back_nested(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        for (i, student) in r.students.iter().enumerate() {
            app.ok(&who, "mutation($s: UUID!, $sub: UUID!, $t: UUID!, $score: Float!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: $score, gradedOn: \"2025-11-03\", category: EXAM }) { normalizedScore } }",
                json!({ "s": student, "sub": r.subject, "t": r.term, "score": 70.0 + i as f64 })).await;
            app.ok(&who, "mutation($s: UUID!) { recordAttendance(input: { studentId: $s, date: \"2025-11-03\", status: PRESENT }) { id } }", json!({ "s": student })).await;
        }
        let data = app.ok(&who, "query($c: UUID!) { class(id: $c) { name gradeLevel kind teachers { firstName } academicYear { name terms { name } }
            students { firstName studentTz class { name } grades { score normalizedScore subject { name } term { name } } attendance { status } } } }",
            json!({ "c": r.class })).await;
        let class = &data["class"];
        assert_eq!(class["name"], "ז׳2");
        assert_eq!(class["kind"], "HOMEROOM");
        assert_eq!(class["teachers"], json!([{ "firstName": "דנה" }]));
        assert_eq!(class["academicYear"]["terms"], json!([{ "name": "סמסטר א׳" }]));
        let students = class["students"].as_array().unwrap();
        assert_eq!(students.len(), 3);
        let tzs: Vec<&str> = students.iter().map(|s| s["studentTz"].as_str().unwrap()).collect();
        assert!(tzs.contains(&"000000026"), "short ids are zero-padded: {tzs:?}");
        for s in students {
            assert_eq!(s["class"]["name"], "ז׳2");
            assert_eq!(s["grades"][0]["subject"]["name"], "מתמטיקה");
            assert_eq!(s["attendance"], json!([{ "status": "PRESENT" }]));
        }
        let teacher = app.ok(&who, "query($t: UUID!) { teacher(id: $t) { classes { name } } }", json!({ "t": r.teacher })).await;
        assert_eq!(teacher["teacher"]["classes"], json!([{ "name": "ז׳2" }]));
        let by_tz = app.ok(&who, "{ studentByTz(studentTz: \"39337423\") { firstName } }", json!({})).await;
        assert_eq!(by_tz["studentByTz"]["firstName"], "נועה");
        let search = app.ok(&who, "{ students(filter: { search: \"יע\" }) { totalCount nodes { firstName } } }", json!({})).await;
        assert_eq!(search["students"]["nodes"], json!([{ "firstName": "יעל" }]));
    }

    async fn bad_input_lists_every_bad_field_and_writes_nothing(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let (_, body) = app.gql(&who, "mutation { createStudent(input: { studentTz: \"039337422\", firstName: \" \", lastName: \"כהן\", gradeLevel: 13, classId: \"0194c6b2-7c3e-7000-8000-000000000000\" }) { id } }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(fields_of(&body), ["input.studentTz", "input.firstName", "input.gradeLevel", "input.classId"]);
        assert_eq!(entity::student::Entity::find().count(&app.db.conn).await.unwrap(), 0);

        let r = build_roster(&app, &who).await;
        let (_, dup) = app.gql(&who, "mutation { createStudent(input: { studentTz: \"039337423\", firstName: \"x\", lastName: \"y\" }) { id } }", json!({})).await;
        assert_eq!(code(&dup), "CONFLICT");
        assert_eq!(dup["errors"][0]["extensions"]["field"], "input.studentTz");

        let grade = "mutation($s: UUID!, $sub: UUID!, $t: UUID!, $score: Float!, $on: Date!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: $score, gradedOn: $on }) { id } }";
        let (_, body) = app.gql(&who, grade, json!({ "s": r.students[0], "sub": r.subject, "t": r.term, "score": 101.0, "on": "2026-03-01" })).await;
        assert_eq!(fields_of(&body), ["input.score", "input.gradedOn"], "{body}");
        let (_, body) = app.gql(&who, grade, json!({ "s": r.students[0], "sub": r.subject, "t": r.term, "score": -1.0, "on": "2025-10-01" })).await;
        assert_eq!(fields_of(&body), ["input.score"]);
        assert_eq!(entity::grade::Entity::find().count(&app.db.conn).await.unwrap(), 0);
    }

    async fn attendance_is_one_record_per_student_date_and_period(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        let record = "mutation($s: UUID!, $st: AttendanceStatus!) { recordAttendance(input: { studentId: $s, date: \"2025-11-03\", status: $st }) { id status } }";
        let first = app.ok(&who, record, json!({ "s": r.students[0], "st": "ABSENT" })).await;
        let again = app.ok(&who, record, json!({ "s": r.students[0], "st": "EXCUSED" })).await;
        assert_eq!(first["recordAttendance"]["id"], again["recordAttendance"]["id"]);
        assert_eq!(again["recordAttendance"]["status"], "EXCUSED");
        let list = app.ok(&who, "{ attendance(filter: { status: EXCUSED }) { totalCount } }", json!({})).await;
        let (_, summer) = app.gql(&who, "mutation($s: UUID!) { recordAttendance(input: { studentId: $s, date: \"2026-08-01\", status: ABSENT }) { id } }", json!({ "s": r.students[0] })).await;
        assert_eq!(fields_of(&summer), ["input.date"], "{summer}");
        assert_eq!(list["attendance"]["totalCount"], 1);
    }

    async fn deleting_a_student_is_soft_unless_hard_is_asked(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        app.ok(&who, "mutation($s: UUID!) { deleteStudent(id: $s) }", json!({ "s": r.students[0] })).await;
        let listed = app.ok(&who, "{ students { totalCount } all: students(filter: { includeDeleted: true }) { totalCount } }", json!({})).await;
        assert_eq!((listed["students"]["totalCount"].as_u64(), listed["all"]["totalCount"].as_u64()), (Some(2), Some(3)));
        let soft = app.ok(&who, "query($s: UUID!) { student(id: $s) { status } }", json!({ "s": r.students[0] })).await;
        assert_eq!(soft["student"]["status"], "TO_BE_DELETED");
        app.ok(&who, "mutation($s: UUID!) { deleteStudent(id: $s, hard: true) }", json!({ "s": r.students[0] })).await;
        let (_, gone) = app.gql(&who, "query($s: UUID!) { student(id: $s) { status } }", json!({ "s": r.students[0] })).await;
        assert_eq!(code(&gone), "NOT_FOUND");
    }

    async fn pages_are_capped_at_100_and_cursors_walk_the_whole_list(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        build_roster(&app, &who).await;
        let (_, body) = app.gql(&who, "{ students(first: 101) { totalCount } }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
        let q = "query($a: String) { students(first: 2, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }";
        let p1 = app.ok(&who, q, json!({ "a": null })).await;
        let p2 = app.ok(&who, q, json!({ "a": p1["students"]["pageInfo"]["endCursor"] })).await;
        assert_eq!(p1["students"]["totalCount"], 3);
        assert_eq!(p1["students"]["nodes"].as_array().unwrap().len(), 2);
        assert_eq!(p2["students"]["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(p2["students"]["pageInfo"]["hasNextPage"], false);
        let (_, bad) = app.gql(&who, "{ students(after: \"not-a-cursor\") { totalCount } }", json!({})).await;
        assert_eq!(code(&bad), "BAD_USER_INPUT");
    }

    async fn over_limit_queries_are_refused_before_they_run(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let deep = format!("{{ classes {{ nodes {{ {} name {} }} }} }}", "students { class { ".repeat(6), "} } ".repeat(6));
        let (_, body) = app.gql(&who, &deep, json!({})).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        let aliases: String = (0..31).map(|i| format!("a{i}: apiVersion ")).collect();
        let (_, body) = app.gql(&who, &format!("{{ {aliases} }}"), json!({})).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        // 25 × (1 + 100 × (1 + 11 + (1 + 200) + (1 + 200))) = 1,035,025 fields: over 1,000,000.
        let wide: String = (0..25)
            .map(|i| format!("s{i}: students(first: 100) {{ nodes {{ id firstName lastName studentTz gradeLevel birthDate email createdAt updatedAt status externalId grades {{ score }} attendance {{ status }} }} }} "))
            .collect();
        let (_, body) = app.gql(&who, &format!("{{ {wide} }}"), json!({})).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        let (_, body) = app.gql(&who, "{ noSuchField }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }

    async fn viewers_read_teachers_record_and_only_writers_change_the_roster(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let r = build_roster(&app, &As::token(&root)).await;
        let teacher = app.member_token(&root, FIRST_SCHOOL, "t@example.org", "TEACHER").await;
        let viewer = app.member_token(&root, FIRST_SCHOOL, "v@example.org", "VIEWER").await;
        for token in [&teacher, &viewer] {
            app.ok(&As::token(token), "{ students { totalCount } classes { totalCount } grades { totalCount } }", json!({})).await;
            let (_, body) = app.gql(&As::token(token), "mutation { createStudent(input: { studentTz: \"000000034\", firstName: \"a\", lastName: \"b\" }) { id } }", json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN");
        }
        let grade = "mutation($s: UUID!, $sub: UUID!, $t: UUID!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: 80, gradedOn: \"2025-10-01\" }) { id } }";
        let vars = json!({ "s": r.students[0], "sub": r.subject, "t": r.term });
        app.ok(&As::token(&teacher), grade, vars.clone()).await;
        let (_, body) = app.gql(&As::token(&viewer), grade, vars).await;
        assert_eq!(code(&body), "FORBIDDEN");
    }

    async fn resetting_a_school_deletes_its_data_and_nothing_of_another_school(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        build_roster(&app, &As::token(&root)).await;
        build_roster(&app, &As::in_school(&root, "school-b")).await;
        let teacher = app.member_token(&root, FIRST_SCHOOL, "t@example.org", "TEACHER").await;

        let (_, body) = app.gql(&As::token(&teacher), "mutation { resetSchoolData(confirmSlug: \"first-school\") }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN");
        let (_, body) = app.gql(&As::token(&root), "mutation { resetSchoolData(confirmSlug: \"school-b\") }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "the slug must be the active school's");

        let done = app.ok(&As::token(&root), "mutation { resetSchoolData(confirmSlug: \"first-school\") }", json!({})).await;
        assert!(done["resetSchoolData"].as_u64().unwrap() >= 7);
        let a = app.ok(&As::token(&root), "{ students { totalCount } classes { totalCount } teachers { totalCount } academicYears { id } me { role } }", json!({})).await;
        assert_eq!((a["students"]["totalCount"].as_u64(), a["classes"]["totalCount"].as_u64(), a["teachers"]["totalCount"].as_u64()), (Some(0), Some(0), Some(0)));
        assert_eq!(a["academicYears"], json!([]));
        assert_eq!(a["me"]["role"], "ADMIN", "memberships are kept");
        let b = app.ok(&As::in_school(&root, "school-b"), "{ students { totalCount } classes { totalCount } }", json!({})).await;
        assert_eq!((b["students"]["totalCount"].as_u64(), b["classes"]["totalCount"].as_u64()), (Some(3), Some(1)));
        app.ok(&As::token(&teacher), "{ me { role } }", json!({})).await;
    }

    async fn guardians_incidents_and_enrollments_hang_off_the_student(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        app.ok(&who, "mutation($s: UUID!) { createGuardian(input: { firstName: \"רחל\", lastName: \"כהן\", phone: \"050-1234567\", studentIds: [$s], relationship: \"אם\" }) { id } }", json!({ "s": r.students[0] })).await;
        app.ok(&who, "mutation($s: UUID!, $t: UUID!) { recordIncident(input: { studentId: $s, occurredOn: \"2025-11-10\", category: \"disruption\", severity: \"medium\", reportedByTeacherId: $t }) { severity } }", json!({ "s": r.students[0], "t": r.teacher })).await;
        app.ok(&who, "mutation($c: UUID!, $s: UUID!) { enrollStudent(classId: $c, studentId: $s) { id } }", json!({ "c": r.class, "s": r.students[0] })).await;
        let (_, twice) = app.gql(&who, "mutation($c: UUID!, $s: UUID!) { enrollStudent(classId: $c, studentId: $s) { id } }", json!({ "c": r.class, "s": r.students[0] })).await;
        assert_eq!(code(&twice), "CONFLICT");
        let data = app.ok(&who, "query($s: UUID!) { student(id: $s) { guardians { relationship guardian { firstName phone } } incidents { category severity isNegative } enrollments { class { name } } } }", json!({ "s": r.students[0] })).await;
        let s = &data["student"];
        assert_eq!(s["guardians"], json!([{ "relationship": "אם", "guardian": { "firstName": "רחל", "phone": "050-1234567" } }]));
        assert_eq!(s["incidents"], json!([{ "category": "disruption", "severity": "MEDIUM", "isNegative": true }]));
        assert_eq!(s["enrollments"], json!([{ "class": { "name": "ז׳2" } }]));
        let (_, bad) = app.gql(&who, "mutation($s: UUID!) { recordIncident(input: { studentId: $s, occurredOn: \"2025-11-10\", category: \" \", severity: \"extreme\" }) { id } }", json!({ "s": r.students[0] })).await;
        assert_eq!(fields_of(&bad), ["input.category", "input.severity"]);
    }

    async fn health_records_need_health_read_and_every_read_is_audited(backend) {
        use sea_orm::{ColumnTrait, QueryFilter};
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        app.ok(&who, "mutation($s: UUID!) { recordHealthRecord(input: { studentId: $s, kind: \"allergy\", title: \"בוטנים\" }) { kind } }", json!({ "s": r.students[0] })).await;
        let teacher = app.member_token(&root, FIRST_SCHOOL, "t@example.org", "TEACHER").await;
        let (_, body) = app.gql(&As::token(&teacher), "query($s: UUID!) { student(id: $s) { firstName healthRecords { title } } }", json!({ "s": r.students[0] })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let reads = || entity::audit_log::Entity::find().filter(entity::audit_log::Column::Action.eq("health.read")).all(&app.db.conn);
        assert!(reads().await.unwrap().is_empty(), "a refused read is not a read");

        let data = app.ok(&who, "{ students { nodes { healthRecords { title kind } } } }", json!({})).await;
        let titles: Vec<&Value> = data["students"]["nodes"].as_array().unwrap().iter().flat_map(|n| n["healthRecords"].as_array().unwrap()).collect();
        assert_eq!(titles, [&json!({ "title": "בוטנים", "kind": "ALLERGY" })]);
        let audited = reads().await.unwrap();
        assert_eq!(audited.len(), 1, "one entry per request");
        assert_eq!(audited[0].details.as_ref().unwrap()["students"].as_array().unwrap().len(), 3, "naming every student read");
        assert!(!audited[0].details.as_ref().unwrap().to_string().contains("בוטנים"), "never the contents");
    }

    async fn a_roll_call_is_all_or_nothing_and_replaces_earlier_statuses(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        let call = "mutation($c: UUID!, $rs: [RollCallEntry!]!) { recordAttendanceBatch(input: { date: \"2025-11-04\", classId: $c, records: $rs }) { status } }";
        let entries = |statuses: [&str; 3]| json!(r.students.iter().zip(statuses).map(|(s, st)| json!({ "studentId": s, "status": st })).collect::<Vec<_>>());
        let first = app.ok(&who, call, json!({ "c": r.class, "rs": entries(["PRESENT", "ABSENT", "LATE"]) })).await;
        assert_eq!(first["recordAttendanceBatch"].as_array().unwrap().len(), 3);
        app.ok(&who, call, json!({ "c": r.class, "rs": entries(["PRESENT", "EXCUSED", "LATE"]) })).await;
        let counts = app.ok(&who, "{ all: attendance { totalCount } excused: attendance(filter: { status: EXCUSED }) { totalCount } }", json!({})).await;
        assert_eq!((counts["all"]["totalCount"].as_u64(), counts["excused"]["totalCount"].as_u64()), (Some(3), Some(1)));

        // One bad entry: nothing is written, and the bad entries are named.
        let mut bad = entries(["ABSENT", "ABSENT", "ABSENT"]);
        bad[1]["studentId"] = json!(uuid::Uuid::now_v7());
        bad[2]["studentId"] = bad[0]["studentId"].clone();
        let (_, body) = app.gql(&who, call, json!({ "c": r.class, "rs": bad })).await;
        assert_eq!(fields_of(&body), ["input.records[1].studentId", "input.records[2].studentId"]);
        let absent = app.ok(&who, "{ attendance(filter: { status: ABSENT }) { totalCount } }", json!({})).await;
        assert_eq!(absent["attendance"]["totalCount"], 0);
    }

    async fn staff_classes_and_subjects_change_and_go_only_when_nothing_refers_to_them(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        let t2 = app.ok(&who, "mutation { createTeacher(input: { firstName: \"רון\", lastName: \"גל\" }) { id } }", json!({})).await["createTeacher"]["id"].clone();
        let class = app.ok(&who, "mutation($c: UUID!, $t: UUID!) { updateClass(id: $c, input: { name: \"ז׳3\", teacherIds: [$t] }) { name teachers { firstName } } }", json!({ "c": r.class, "t": t2 })).await;
        assert_eq!(class["updateClass"], json!({ "name": "ז׳3", "teachers": [{ "firstName": "רון" }] }));
        let teacher = app.ok(&who, "mutation($t: UUID!) { updateTeacher(id: $t, input: { email: \"dana@school.example\" }) { email } }", json!({ "t": r.teacher })).await;
        assert_eq!(teacher["updateTeacher"]["email"], "dana@school.example");
        app.ok(&who, "mutation($t: UUID!) { deleteTeacher(id: $t) }", json!({ "t": r.teacher })).await;
        let subject = app.ok(&who, "mutation($s: UUID!) { updateSubject(id: $s, input: { code: \"MTH\" }) { code } }", json!({ "s": r.subject })).await;
        assert_eq!(subject["updateSubject"]["code"], "MTH");

        app.ok(&who, "mutation($s: UUID!, $sub: UUID!, $t: UUID!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: 80, gradedOn: \"2025-10-01\" }) { id } }", json!({ "s": r.students[0], "sub": r.subject, "t": r.term })).await;
        for (query, id) in [("mutation($i: UUID!) { deleteSubject(id: $i) }", &r.subject), ("mutation($i: UUID!) { deleteClass(id: $i) }", &r.class), ("mutation($i: UUID!) { deleteTerm(id: $i) }", &r.term)] {
            let (_, body) = app.gql(&who, query, json!({ "i": id })).await;
            assert_eq!(code(&body), "CONFLICT", "{query}: {body}");
        }
        let (_, missing) = app.gql(&who, "mutation($i: UUID!) { deleteClass(id: $i) }", json!({ "i": uuid::Uuid::now_v7() })).await;
        assert_eq!(code(&missing), "NOT_FOUND");
    }

    async fn every_write_bumps_its_schools_data_version_and_no_other(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        app.create_school(&root, "school-b").await;
        let version = |slug: &'static str| {
            let app = &app;
            let root = root.clone();
            async move {
                let data = app.ok(&As::in_school(&root, slug), "{ school { configuration { dataVersion } } }", json!({})).await;
                data["school"]["configuration"]["dataVersion"].as_i64().unwrap()
            }
        };
        let (a0, b0) = (version(FIRST_SCHOOL).await, version("school-b").await);
        let r = build_roster(&app, &As::token(&root)).await;
        let a1 = version(FIRST_SCHOOL).await;
        assert!(a1 > a0, "writes bump the version: {a0} -> {a1}");
        app.ok(&As::token(&root), "{ students { totalCount } }", json!({})).await;
        assert_eq!(version(FIRST_SCHOOL).await, a1, "reads do not");
        app.ok(&As::token(&root), "mutation($s: UUID!, $sub: UUID!, $t: UUID!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: 80, gradedOn: \"2025-10-01\" }) { id } }", json!({ "s": r.students[0], "sub": r.subject, "t": r.term })).await;
        assert_eq!(version(FIRST_SCHOOL).await, a1 + 1, "one bump per write");
        assert_eq!(version("school-b").await, b0, "another school's version never moves");
    }

    async fn assessments_history_and_lists_of_guardians_and_incidents(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        let created = app.ok(&who, "mutation($s: UUID!, $t: UUID!, $c: UUID!) { createAssessment(input: { subjectId: $s, termId: $t, classId: $c, title: \"מבחן 1\", category: EXAM, maxScore: 40, assessmentDate: \"2025-11-20\" }) { title maxScore subject { name } term { name } } }",
            json!({ "s": r.subject, "t": r.term, "c": r.class })).await;
        assert_eq!(created["createAssessment"], json!({ "title": "מבחן 1", "maxScore": 40.0, "subject": { "name": "מתמטיקה" }, "term": { "name": "סמסטר א׳" } }));
        let (_, late) = app.gql(&who, "mutation($s: UUID!, $t: UUID!) { createAssessment(input: { subjectId: $s, termId: $t, title: \"x\", category: QUIZ, assessmentDate: \"2026-05-01\" }) { id } }", json!({ "s": r.subject, "t": r.term })).await;
        assert_eq!(fields_of(&late), ["input.assessmentDate"]);
        app.ok(&who, "mutation($s: UUID!) { addAcademicHistory(input: { studentId: $s, yearLabel: \"2024-2025\", previousSchool: \"אורט\", subjectName: \"מתמטיקה\", finalScore: 91 }) { id } }", json!({ "s": r.students[1] })).await;
        let (_, bad) = app.gql(&who, "mutation($s: UUID!) { addAcademicHistory(input: { studentId: $s, yearLabel: \"x\", finalScore: 120, gradeLevel: 0 }) { id } }", json!({ "s": r.students[1] })).await;
        assert_eq!(fields_of(&bad), ["input.gradeLevel", "input.finalScore"]);
        app.ok(&who, "mutation($s: UUID!) { createGuardian(input: { firstName: \"שרה\", lastName: \"לוי\", studentIds: [$s] }) { id } }", json!({ "s": r.students[2] })).await;
        app.ok(&who, "mutation($s: UUID!) { recordIncident(input: { studentId: $s, occurredOn: \"2025-11-10\", category: \"late\" }) { id } }", json!({ "s": r.students[2] })).await;
        let lists = app.ok(&who, "query($s: UUID!) { assessments { totalCount } guardians(search: \"שר\") { nodes { lastName } } incidents(filter: { studentId: $s }) { totalCount } student(id: $s) { academicHistory { yearLabel } } }", json!({ "s": r.students[2] })).await;
        assert_eq!(lists["assessments"]["totalCount"], 1);
        assert_eq!(lists["guardians"]["nodes"], json!([{ "lastName": "לוי" }]));
        assert_eq!(lists["incidents"]["totalCount"], 1);
        assert_eq!(lists["student"]["academicHistory"], json!([]));
        let history = app.ok(&who, "query($s: UUID!) { student(id: $s) { academicHistory { previousSchool finalScore } } }", json!({ "s": r.students[1] })).await;
        assert_eq!(history["student"]["academicHistory"], json!([{ "previousSchool": "אורט", "finalScore": 91.0 }]));
    }

    async fn guardians_enrollments_and_terms_can_be_changed_or_removed(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        let guardian = app.ok(&who, "mutation($s: UUID!) { createGuardian(input: { firstName: \"g\", lastName: \"g\", studentIds: [$s] }) { id } }", json!({ "s": r.students[0] })).await["createGuardian"]["id"].clone();
        let enrollment = app.ok(&who, "mutation($c: UUID!, $s: UUID!) { enrollStudent(classId: $c, studentId: $s) { id } }", json!({ "c": r.class, "s": r.students[0] })).await["enrollStudent"]["id"].clone();
        app.ok(&who, "mutation($g: UUID!, $e: UUID!) { deleteGuardian(id: $g) deleteEnrollment(id: $e) }", json!({ "g": guardian, "e": enrollment })).await;
        let after = app.ok(&who, "query($s: UUID!) { student(id: $s) { guardians { relationship } enrollments { id } } }", json!({ "s": r.students[0] })).await;
        assert_eq!(after["student"], json!({ "guardians": [], "enrollments": [] }));
        let term = app.ok(&who, "mutation($t: UUID!) { updateTerm(id: $t, input: { name: \"מחצית א׳\", endDate: \"2026-02-05\" }) { name endDate } }", json!({ "t": r.term })).await;
        assert_eq!(term["updateTerm"], json!({ "name": "מחצית א׳", "endDate": "2026-02-05" }));
        let (_, outside) = app.gql(&who, "mutation($t: UUID!) { updateTerm(id: $t, input: { endDate: \"2026-07-30\" }) { name } }", json!({ "t": r.term })).await;
        assert_eq!(fields_of(&outside), ["input.startDate"], "{outside}");
    }

    async fn guardians_enrollments_and_years_are_updated_in_place(backend) {
        let app = spawn_app(backend).await;
        let root = app.root().await;
        let who = As::token(&root);
        let r = build_roster(&app, &who).await;
        let guardian = app.ok(&who, "mutation($s: UUID!) { createGuardian(input: { firstName: \"רחל\", lastName: \"כהן\", studentIds: [$s], relationship: \"אם\" }) { id } }", json!({ "s": r.students[0] })).await["createGuardian"]["id"].clone();
        let changed = app.ok(&who, "mutation($g: UUID!, $a: UUID!, $b: UUID!) { updateGuardian(id: $g, input: { phone: \"052-7654321\", email: \"rachel@example.org\", guardianTz: \"39337423\", studentIds: [$a, $b], relationship: \"סבתא\" }) { firstName phone email } }",
            json!({ "g": guardian, "a": r.students[1], "b": r.students[2] })).await;
        assert_eq!(changed["updateGuardian"], json!({ "firstName": "רחל", "phone": "052-7654321", "email": "rachel@example.org" }));
        let links = app.ok(&who, "{ students { nodes { firstName guardians { relationship guardian { firstName } } } } }", json!({})).await;
        let linked: Vec<(&str, usize, Option<&str>)> = links["students"]["nodes"].as_array().unwrap().iter()
            .map(|s| (s["firstName"].as_str().unwrap(), s["guardians"].as_array().unwrap().len(), s["guardians"][0]["relationship"].as_str()))
            .collect();
        assert_eq!(linked, [("נועה", 0, None), ("יעל", 1, Some("סבתא")), ("אורי", 1, Some("סבתא"))], "links replaced, relationship set on each");

        let enrollment = app.ok(&who, "mutation($c: UUID!, $s: UUID!) { enrollStudent(classId: $c, studentId: $s) { id } }", json!({ "c": r.class, "s": r.students[0] })).await["enrollStudent"]["id"].clone();
        let e = app.ok(&who, "mutation($e: UUID!) { updateEnrollment(id: $e, input: { beginDate: \"2025-09-01\" }) { beginDate endDate } }", json!({ "e": enrollment })).await;
        assert_eq!(e["updateEnrollment"], json!({ "beginDate": "2025-09-01", "endDate": null }));
        let e = app.ok(&who, "mutation($e: UUID!) { updateEnrollment(id: $e, input: { endDate: \"2026-01-15\" }) { beginDate endDate } }", json!({ "e": enrollment })).await;
        assert_eq!(e["updateEnrollment"], json!({ "beginDate": "2025-09-01", "endDate": "2026-01-15" }), "fields left out stay");

        let next = app.ok(&who, "mutation { createAcademicYear(input: { name: \"2026-2027\", startDate: \"2026-09-01\", endDate: \"2027-06-20\" }) { id } }", json!({})).await["createAcademicYear"]["id"].clone();
        let current = || app.ok(&who, "{ academicYears { name isCurrent } }", json!({}));
        assert_eq!(current().await["academicYears"], json!([{ "name": "2026-2027", "isCurrent": false }, { "name": "2025-2026", "isCurrent": true }]));
        let y = app.ok(&who, "mutation($y: UUID!) { updateAcademicYear(id: $y, input: { name: \"תשפ״ז\", isCurrent: true, endDate: \"2027-06-30\" }) { name endDate isCurrent } }", json!({ "y": next })).await;
        assert_eq!(y["updateAcademicYear"], json!({ "name": "תשפ״ז", "endDate": "2027-06-30", "isCurrent": true }));
        assert_eq!(current().await["academicYears"], json!([{ "name": "תשפ״ז", "isCurrent": true }, { "name": "2025-2026", "isCurrent": false }]), "only one current year");
    }
}
