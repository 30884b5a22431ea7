//! Validation of every school-data mutation: each is sent bad input and must answer with the
//! right code and the offending fields, and write nothing. The list is checked against the
//! schema, so a new mutation fails this test until it has a bad-input case here.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use std::collections::BTreeSet;

use serde_json::Value;
use tests::{As, TestApp, backend_tests, code};

/// One bad call: the mutation, the document (variables name roster records, see [`Roster`]),
/// the expected code, and for `BAD_USER_INPUT` the fields listed (for `CONFLICT` the field).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const CASES: &[Case] = &[
    (
        "updateSchoolConfiguration",
        "mutation { updateSchoolConfiguration(input: { passMark: 101, chronicAbsenceMinDays: 0, absenceMediumPct: 20, averageHigh: 80 }) { passMark } }",
        "BAD_USER_INPUT",
        &[
            "input.passMark",
            "input.chronicAbsenceMinDays",
            "input.absenceHighPct",
            "input.averageHigh",
        ],
    ),
    (
        "trainModel",
        "mutation { trainModel(target: FINAL_SCORE) { id } }",
        "BAD_USER_INPUT",
        &["target"],
    ),
    (
        "createStudent",
        "mutation { createStudent(input: { studentTz: \"123456789\", firstName: \" \", lastName: \"x\", gradeLevel: 13, email: \"nope\" }) { id } }",
        "BAD_USER_INPUT",
        &[
            "input.studentTz",
            "input.firstName",
            "input.gradeLevel",
            "input.email",
        ],
    ),
    (
        "createStudent",
        "mutation { createStudent(input: { studentTz: \"039337423\", firstName: \"x\", lastName: \"y\" }) { id } }",
        "CONFLICT",
        &["input.studentTz"],
    ),
    (
        "updateStudent",
        "mutation($student: UUID!) { updateStudent(id: $student, input: { studentTz: \"1\", lastName: \"\", gradeLevel: 0, email: \"a@b\" }) { id } }",
        "BAD_USER_INPUT",
        &[
            "input.studentTz",
            "input.lastName",
            "input.gradeLevel",
            "input.email",
        ],
    ),
    (
        "updateStudent",
        "mutation($student: UUID!) { updateStudent(id: $student, input: { studentTz: \"000000018\" }) { id } }",
        "CONFLICT",
        &["input.studentTz"],
    ),
    (
        "deleteStudent",
        "mutation($missing: UUID!) { deleteStudent(id: $missing) }",
        "NOT_FOUND",
        &[],
    ),
    (
        "createTeacher",
        "mutation { createTeacher(input: { firstName: \"\", lastName: \"x\", email: \"x at y\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.firstName", "input.email"],
    ),
    (
        "updateTeacher",
        "mutation($teacher: UUID!) { updateTeacher(id: $teacher, input: { lastName: \" \", email: \"@school.example\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.lastName", "input.email"],
    ),
    (
        "deleteTeacher",
        "mutation($teacher: UUID!) { deleteTeacher(id: $teacher) }",
        "CONFLICT",
        &["id"],
    ),
    (
        "createSubject",
        "mutation { createSubject(input: { name: \"\u{200f} \" }) { id } }",
        "BAD_USER_INPUT",
        &["input.name"],
    ),
    (
        "createSubject",
        "mutation { createSubject(input: { name: \"מתמטיקה\" }) { id } }",
        "CONFLICT",
        &["input.name"],
    ),
    (
        "updateSubject",
        "mutation($other_subject: UUID!) { updateSubject(id: $other_subject, input: { name: \"מתמטיקה\" }) { id } }",
        "CONFLICT",
        &["input.name"],
    ),
    (
        "deleteSubject",
        "mutation($subject: UUID!) { deleteSubject(id: $subject) }",
        "CONFLICT",
        &["id"],
    ),
    (
        "createAcademicYear",
        "mutation { createAcademicYear(input: { name: \" \", startDate: \"2026-09-01\", endDate: \"2026-09-01\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.name", "input.endDate"],
    ),
    (
        "createAcademicYear",
        "mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2026-09-01\", endDate: \"2027-06-20\" }) { id } }",
        "CONFLICT",
        &["input.name"],
    ),
    (
        "updateAcademicYear",
        "mutation($year: UUID!) { updateAcademicYear(id: $year, input: { startDate: \"2025-10-01\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.startDate"],
    ),
    (
        "updateAcademicYear",
        "mutation($year: UUID!) { updateAcademicYear(id: $year, input: { name: \"\", endDate: \"2025-08-01\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.endDate", "input.endDate", "input.name"],
    ),
    (
        "deleteAcademicYear",
        "mutation($year: UUID!) { deleteAcademicYear(id: $year) }",
        "CONFLICT",
        &["id"],
    ),
    (
        "createTerm",
        "mutation($year: UUID!) { createTerm(input: { academicYearId: $year, name: \"ג\", startDate: \"2026-05-01\", endDate: \"2026-07-30\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.startDate"],
    ),
    (
        "createTerm",
        "mutation($missing: UUID!) { createTerm(input: { academicYearId: $missing, name: \"ג\", startDate: \"2026-05-01\", endDate: \"2026-04-01\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.academicYearId", "input.endDate"],
    ),
    (
        "updateTerm",
        "mutation($term: UUID!) { updateTerm(id: $term, input: { name: \" \", startDate: \"2026-02-01\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.endDate", "input.name"],
    ),
    (
        "deleteTerm",
        "mutation($term: UUID!) { deleteTerm(id: $term) }",
        "CONFLICT",
        &["id"],
    ),
    (
        "createClass",
        "mutation($year: UUID!, $missing: UUID!) { createClass(input: { academicYearId: $year, name: \"\", gradeLevel: 0, subjectId: $missing }) { id } }",
        "BAD_USER_INPUT",
        &["input.name", "input.gradeLevel", "input.subjectId"],
    ),
    (
        "createClass",
        "mutation($year: UUID!) { createClass(input: { academicYearId: $year, name: \"ז׳2\" }) { id } }",
        "CONFLICT",
        &["input.name"],
    ),
    (
        "updateClass",
        "mutation($class: UUID!, $missing: UUID!) { updateClass(id: $class, input: { gradeLevel: 13, teacherIds: [$missing] }) { id } }",
        "BAD_USER_INPUT",
        &["input.gradeLevel", "input.teacherIds[0]"],
    ),
    (
        "deleteClass",
        "mutation($class: UUID!) { deleteClass(id: $class) }",
        "CONFLICT",
        &["id"],
    ),
    (
        "recordGrade",
        "mutation($student: UUID!, $subject: UUID!, $term: UUID!) { recordGrade(input: { studentId: $student, subjectId: $subject, termId: $term, score: 101, gradedOn: \"2026-03-01\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.score", "input.gradedOn"],
    ),
    (
        "recordAttendance",
        "mutation($student: UUID!) { recordAttendance(input: { studentId: $student, date: \"2026-03-01\", period: 13, status: ABSENT }) { id } }",
        "BAD_USER_INPUT",
        &["input.date", "input.period"],
    ),
    (
        "recordAttendanceBatch",
        "mutation { recordAttendanceBatch(input: { date: \"2025-10-01\", period: -1, records: [] }) { id } }",
        "BAD_USER_INPUT",
        &["input.period", "input.records"],
    ),
    (
        "createGuardian",
        "mutation { createGuardian(input: { firstName: \"x\", lastName: \" \", guardianTz: \"12\", email: \"x@\", studentIds: [] }) { id } }",
        "BAD_USER_INPUT",
        &[
            "input.lastName",
            "input.guardianTz",
            "input.email",
            "input.studentIds",
        ],
    ),
    (
        "updateGuardian",
        "mutation($guardian: UUID!, $student: UUID!, $missing: UUID!) { updateGuardian(id: $guardian, input: { guardianTz: \"039337422\", studentIds: [$student, $missing, $student] }) { id } }",
        "BAD_USER_INPUT",
        &[
            "input.guardianTz",
            "input.studentIds[1]",
            "input.studentIds[2]",
        ],
    ),
    (
        "updateGuardian",
        "mutation($guardian: UUID!) { updateGuardian(id: $guardian, input: { studentIds: [] }) { id } }",
        "BAD_USER_INPUT",
        &["input.studentIds"],
    ),
    (
        "deleteGuardian",
        "mutation($missing: UUID!) { deleteGuardian(id: $missing) }",
        "NOT_FOUND",
        &[],
    ),
    (
        "enrollStudent",
        "mutation($class: UUID!, $student: UUID!) { enrollStudent(classId: $class, studentId: $student) { id } }",
        "CONFLICT",
        &["studentId"],
    ),
    (
        "updateEnrollment",
        "mutation($enrollment: UUID!) { updateEnrollment(id: $enrollment, input: { beginDate: \"2025-10-01\", endDate: \"2025-09-30\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.endDate"],
    ),
    (
        "deleteEnrollment",
        "mutation($missing: UUID!) { deleteEnrollment(id: $missing) }",
        "NOT_FOUND",
        &[],
    ),
    (
        "recordIncident",
        "mutation($student: UUID!, $missing: UUID!) { recordIncident(input: { studentId: $student, occurredOn: \"2025-11-10\", category: \" \", severity: \"extreme\", reportedByTeacherId: $missing }) { id } }",
        "BAD_USER_INPUT",
        &[
            "input.reportedByTeacherId",
            "input.category",
            "input.severity",
        ],
    ),
    (
        "recordHealthRecord",
        "mutation($missing: UUID!) { recordHealthRecord(input: { studentId: $missing, kind: \"rumour\", title: \"\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.studentId", "input.title", "input.kind"],
    ),
    (
        "createAssessment",
        "mutation($subject: UUID!, $term: UUID!) { createAssessment(input: { subjectId: $subject, termId: $term, title: \"\", category: QUIZ, maxScore: 0, assessmentDate: \"2026-05-01\" }) { id } }",
        "BAD_USER_INPUT",
        &["input.title", "input.maxScore", "input.assessmentDate"],
    ),
    (
        "addAcademicHistory",
        "mutation($student: UUID!) { addAcademicHistory(input: { studentId: $student, yearLabel: \" \", gradeLevel: 13, finalScore: -1 }) { id } }",
        "BAD_USER_INPUT",
        &["input.yearLabel", "input.gradeLevel", "input.finalScore"],
    ),
    (
        "resetSchoolData",
        "mutation { resetSchoolData(confirmSlug: \"another-school\") }",
        "BAD_USER_INPUT",
        &["confirmSlug"],
    ),
];

/// Mutations on users, tokens and schools rather than school data; their bad inputs are tested
/// in `auth.rs`, `tenancy.rs` and `permissions.rs`.
const IDENTITY: &[&str] = &[
    "login",
    "changePassword",
    "revokeMySessions",
    "createSchool",
    "addSchoolDomain",
    "removeSchoolDomain",
    "createUser",
    "updateMembership",
    "removeMembership",
    "setUserActive",
    "createApiToken",
    "revokeApiToken",
    "acceptInvitation",
    "declineInvitation",
];

/// Mutations that take a file; their bad files are tested in `imports.rs`.
const UPLOADS: &[&str] = &[
    "importStudents",
    "importGrades",
    "importAttendance",
    "importOneRoster",
];

/// Mutations that take no input at all.
const NO_INPUT: &[&str] = &["exportOneRoster"];

#[tokio::test]
async fn every_school_data_mutation_has_a_bad_input_case() {
    let covered: BTreeSet<&str> = CASES
        .iter()
        .map(|(m, ..)| *m)
        .chain(IDENTITY.iter().copied())
        .chain(UPLOADS.iter().copied())
        .chain(NO_INPUT.iter().copied())
        .collect();
    let missing: Vec<String> = tests::mutation_names()
        .await
        .into_iter()
        .filter(|name| !covered.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "mutations without a bad-input case: {missing:?}"
    );
}

/// Every row of every tenant table, counted.
async fn rows(app: &TestApp) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for table in migration::TENANT_TABLES {
        counts.push(((*table).to_owned(), app.rows(table).await));
    }
    counts
}

fn fields_of(body: &Value) -> Vec<String> {
    let ext = &body["errors"][0]["extensions"];
    match ext["fields"].as_array() {
        Some(fields) => fields
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect(),
        None => ext["field"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect(),
    }
}

backend_tests! {
    async fn every_bad_input_is_named_and_nothing_is_written(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        // A school admin, not the superadmin, whose every request is itself audited.
        let admin = app.member_token(&root, tests::FIRST_SCHOOL, "admin@example.org", "ADMIN").await;
        let who = As::token(&admin);
        let ids = app.roster(&who).await;
        let before = rows(&app).await;
        let mut wrong = Vec::new();
        for (mutation, document, expected_code, expected_fields) in CASES {
            let (_, body) = app.gql(&who, document, tests::vars_for(document, &ids)).await;
            let fields = fields_of(&body);
            if code(&body) != *expected_code || fields != *expected_fields {
                wrong.push(format!("{mutation}: expected {expected_code} {expected_fields:?}, got {} {fields:?}: {body}", code(&body)));
            }
            assert!(body["data"].is_null() || body["data"][*mutation].is_null(), "{mutation}: {body}");
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert_eq!(rows(&app).await, before, "no bad call wrote anything");
    }
}
