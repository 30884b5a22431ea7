//! Per-school models: training through the API on seeded schools, predictions with their
//! contributions, and isolation (a model of one school never serves another).

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests seed the database directly, around the tenant layer.

use chrono::{Duration, NaiveDate, Utc};
use entity::{
    academic_year, attendance_record,
    enums::{AttendanceStatus, RecordStatus},
    grade,
    ids::*,
    incident, student, subject, term,
};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tests::{As, TestApp, backend_tests, code};

/// The school's rule in the seeded data: final = intercept + a·rate + b·prior + c·incidents.
#[derive(Clone, Copy)]
struct Rule {
    intercept: f64,
    rate: f64,
    prior: f64,
    incidents: f64,
}

const RULE_A: Rule = Rule {
    intercept: 12.0,
    rate: 0.5,
    prior: 0.25,
    incidents: -1.5,
};
const RULE_B: Rule = Rule {
    intercept: 30.0,
    rate: 0.25,
    prior: 0.5,
    incidents: -2.0,
};

/// The features of seeded student `i`: attended days of 20, prior score, negative incidents.
fn features(i: usize, incidents: bool) -> (i64, f64, i64) {
    let attended = 10 + ((i * 7) % 11) as i64;
    let prior = 40.0 + ((i * 13) % 61) as f64;
    let negative = if incidents { ((i * 5) % 4) as i64 } else { 0 };
    (attended, prior, negative)
}

fn final_score(rule: Rule, i: usize, incidents: bool) -> f64 {
    let (attended, prior, negative) = features(i, incidents);
    rule.intercept
        + rule.rate * (attended * 5) as f64
        + rule.prior * prior
        + rule.incidents * negative as f64
}

/// Seeds `school` with `graded` students who have a final score by `rule` and `ungraded`
/// students who do not (yet).
async fn seed(
    app: &TestApp,
    school: &str,
    rule: Rule,
    graded: usize,
    ungraded: usize,
    incidents: bool,
) {
    let f = Fixture::new(app, school).await;
    for i in 0..graded + ungraded {
        let (attended, prior, negative) = features(i, incidents);
        let mut grades = vec![(f.math, prior, 100.0, false)];
        if i < graded {
            grades.push((f.math, final_score(rule, i, incidents), 100.0, true));
        }
        // A suspension is not a negative incident: the model never counts it.
        let n = u32::try_from(i).unwrap();
        f.student(
            app,
            &format!("s{i}"),
            n,
            &grades,
            20,
            20 - attended,
            negative as usize,
            1,
        )
        .await;
    }
}

fn incident(school: SchoolId, student: StudentId, negative: bool) -> incident::ActiveModel {
    let now = Utc::now();
    incident::ActiveModel {
        school_id: Set(school),
        id: Set(IncidentId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        student_id: Set(student),
        occurred_on: Set(NaiveDate::from_ymd_opt(2025, 10, 1).unwrap()),
        category: Set("conduct".into()),
        severity: Set("LOW".into()),
        is_negative: Set(negative),
        is_suspension: Set(false),
        description: Set(None),
        action_taken: Set(None),
        reported_by_teacher_id: Set(None),
    }
}

const TRAIN: &str = "mutation { trainModel(target: FINAL_SCORE) { id n intercept r2 coefficients { feature coefficient } droppedFeatures train { n r2 rmse mae } holdout { n r2 mae } } }";

async fn school(app: &TestApp, root: &str, slug: &str) -> (As, String) {
    let id = app.create_school(root, slug).await;
    let token = app
        .member_token(root, slug, &format!("admin@{slug}.test"), "ADMIN")
        .await;
    (As::in_school(&token, slug), id)
}

fn assert_rule(model: &Value, rule: Rule) {
    let want = [
        ("attendanceRate", rule.rate),
        ("priorAverage", rule.prior),
        ("negativeIncidents", rule.incidents),
    ];
    let got = model["coefficients"].as_array().unwrap();
    assert_eq!(got.len(), 3, "{model}");
    for (c, (name, value)) in got.iter().zip(want) {
        assert_eq!(c["feature"], name);
        assert!(
            (c["coefficient"].as_f64().unwrap() - value).abs() < 1e-9,
            "{name}: {model}"
        );
    }
    assert!(
        (model["intercept"].as_f64().unwrap() - rule.intercept).abs() < 1e-9,
        "{model}"
    );
}

backend_tests! {
    async fn a_model_learns_the_schools_own_rule_and_predicts_with_reasons(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = school(&app, &root, "school-a").await;
        seed(&app, &a_id, RULE_A, 40, 3, true).await;
        let model = app.ok(&a, TRAIN, json!({})).await["trainModel"].clone();
        assert_rule(&model, RULE_A);
        assert_eq!(model["n"], 40);
        assert_eq!(model["droppedFeatures"], json!([]));
        assert!((model["r2"].as_f64().unwrap() - 1.0).abs() < 1e-9);
        assert_eq!((model["train"]["n"].as_i64(), model["holdout"]["n"].as_i64()), (Some(40), Some(8)));
        assert!(model["holdout"]["mae"].as_f64().unwrap() < 1e-9);

        // The three students without a final score, lowest prediction first, each explained.
        let data = app.ok(&a, "{ predictions(first: 10) { predictedScore model { id } contributions { feature value coefficient contribution } student { firstName prediction { predictedScore } } } }", json!({})).await;
        let predictions = data["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), 3, "{data}");
        let mut expected: Vec<(String, f64)> = (40..43).map(|i| (format!("s{i}"), final_score(RULE_A, i, true))).collect();
        expected.sort_by(|x, y| x.1.total_cmp(&y.1));
        for (p, (name, score)) in predictions.iter().zip(&expected) {
            assert_eq!(&p["student"]["firstName"], name);
            assert_eq!(p["model"]["id"], model["id"]);
            let predicted = p["predictedScore"].as_f64().unwrap();
            assert!((predicted - score).abs() < 1e-9, "{p}");
            let sum: f64 = p["contributions"].as_array().unwrap().iter().map(|c| c["contribution"].as_f64().unwrap()).sum();
            assert!((model["intercept"].as_f64().unwrap() + sum - predicted).abs() < 1e-9);
            assert_eq!(p["student"]["prediction"]["predictedScore"], p["predictedScore"]);
        }
        let (attended, prior, negative) = features(40, true);
        let first = predictions.iter().find(|p| p["student"]["firstName"] == "s40").unwrap();
        assert_eq!(first["contributions"][0]["value"].as_f64(), Some((attended * 5) as f64));
        assert_eq!(first["contributions"][1]["value"].as_f64(), Some(prior));
        assert_eq!(first["contributions"][2]["value"].as_f64(), Some(negative as f64));

        // A newer model becomes the active one; the older stays listed.
        let newer = app.ok(&a, TRAIN, json!({})).await["trainModel"].clone();
        let models = app.ok(&a, "{ mlModels { id } }", json!({})).await["mlModels"].clone();
        assert_eq!(models, json!([{ "id": newer["id"] }, { "id": model["id"] }]));
    }

    async fn models_never_cross_schools(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = school(&app, &root, "school-a").await;
        let (b, b_id) = school(&app, &root, "school-b").await;
        seed(&app, &a_id, RULE_A, 35, 2, true).await;
        seed(&app, &b_id, RULE_B, 31, 2, true).await;
        let model_a = app.ok(&a, TRAIN, json!({})).await["trainModel"].clone();
        assert_rule(&model_a, RULE_A);
        // B sees no model and no prediction until it trains its own, and A's model id is
        // unknown there.
        let data = app.ok(&b, "{ mlModels { id } predictions { predictedScore } students(first: 50) { nodes { prediction { predictedScore } } } }", json!({})).await;
        assert_eq!(data["mlModels"], json!([]));
        assert_eq!(data["predictions"], json!([]));
        assert!(data["students"]["nodes"].as_array().unwrap().iter().all(|n| n["prediction"].is_null()));
        let model_b = app.ok(&b, TRAIN, json!({})).await["trainModel"].clone();
        assert_rule(&model_b, RULE_B);
        assert_eq!(model_b["n"], 31, "trained on B's students only");
        let b_predictions = app.ok(&b, "{ predictions { predictedScore model { id } } }", json!({})).await;
        for p in b_predictions["predictions"].as_array().unwrap() {
            assert_eq!(p["model"]["id"], model_b["id"]);
        }
        let a_models = app.ok(&a, "{ mlModels { id } predictions { model { id } } }", json!({})).await;
        assert_eq!(a_models["mlModels"], json!([{ "id": model_a["id"] }]));
        assert!(a_models["predictions"].as_array().unwrap().iter().all(|p| p["model"]["id"] == model_a["id"]));
    }

    async fn too_few_students_or_a_constant_feature_are_explained(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let (a, a_id) = school(&app, &root, "small").await;
        seed(&app, &a_id, RULE_A, 29, 5, true).await;
        let (_, body) = app.gql(&a, TRAIN, json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("29 students"), "{body}");
        assert_eq!(app.ok(&a, "{ mlModels { id } }", json!({})).await["mlModels"], json!([]));

        let (c, c_id) = school(&app, &root, "calm").await;
        seed(&app, &c_id, RULE_A, 32, 0, false).await;
        let model = app.ok(&c, TRAIN, json!({})).await["trainModel"].clone();
        assert_eq!(model["droppedFeatures"], json!(["negativeIncidents"]));
        assert_eq!(model["coefficients"].as_array().unwrap().len(), 2);
        assert!((model["intercept"].as_f64().unwrap() - RULE_A.intercept).abs() < 1e-9);

        // A viewer may read models but not train them.
        let viewer = app.member_token(&root, "calm", "viewer@calm.test", "VIEWER").await;
        let (_, body) = app.gql(&As::in_school(&viewer, "calm"), TRAIN, json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN");
    }
}

/// The hand-computed analytics fixture: five students, two subjects.
struct Fixture {
    school: SchoolId,
    term: TermId,
    math: SubjectId,
    english: SubjectId,
}

impl Fixture {
    async fn new(app: &TestApp, school: &str) -> Self {
        let school: SchoolId = school.parse().unwrap();
        let now = Utc::now();
        let db = &app.db.conn;
        let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        let year = AcademicYearId::generate();
        academic_year::Entity::insert(academic_year::ActiveModel {
            school_id: Set(school),
            id: Set(year),
            created_at: Set(now),
            updated_at: Set(now),
            external_id: Set(None),
            status: Set(RecordStatus::Active),
            name: Set("2025-2026".into()),
            start_date: Set(start),
            end_date: Set(NaiveDate::from_ymd_opt(2026, 6, 20).unwrap()),
            is_current: Set(true),
        })
        .exec(db)
        .await
        .unwrap();
        let term = TermId::generate();
        term::Entity::insert(term::ActiveModel {
            school_id: Set(school),
            id: Set(term),
            created_at: Set(now),
            updated_at: Set(now),
            external_id: Set(None),
            status: Set(RecordStatus::Active),
            academic_year_id: Set(year),
            name: Set("א".into()),
            start_date: Set(start),
            end_date: Set(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()),
        })
        .exec(db)
        .await
        .unwrap();
        let mut subjects = Vec::new();
        for name in ["math", "English"] {
            let id = SubjectId::generate();
            subject::Entity::insert(subject::ActiveModel {
                school_id: Set(school),
                id: Set(id),
                created_at: Set(now),
                updated_at: Set(now),
                external_id: Set(None),
                status: Set(RecordStatus::Active),
                name: Set(name.into()),
                code: Set(None),
            })
            .exec(db)
            .await
            .unwrap();
            subjects.push(id);
        }
        Self {
            school,
            term,
            math: subjects[0],
            english: subjects[1],
        }
    }

    /// A student with grades (subject, score, max, final), `recorded` attendance records of which
    /// `absent` are absences, `negative` negative incidents and `suspensions` (not negative).
    #[allow(clippy::too_many_arguments)] // One line per fixture student reads best.
    async fn student(
        &self,
        app: &TestApp,
        name: &str,
        n: u32,
        grades: &[(SubjectId, f64, f64, bool)],
        recorded: i64,
        absent: i64,
        negative: usize,
        suspensions: usize,
    ) -> StudentId {
        let now = Utc::now();
        let db = &app.db.conn;
        let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        let student = StudentId::generate();
        let tz = format!("{:08}", 40_000_000 + n);
        let sum = api::rules::weighted_digit_sum(tz.chars().filter_map(|c| c.to_digit(10)));
        student::Entity::insert(student::ActiveModel {
            school_id: Set(self.school),
            id: Set(student),
            created_at: Set(now),
            updated_at: Set(now),
            external_id: Set(None),
            status: Set(RecordStatus::Active),
            student_tz: Set(format!("{tz}{}", (10 - sum % 10) % 10)),
            first_name: Set(name.into()),
            last_name: Set("x".into()),
            grade_level: Set(None),
            class_id: Set(None),
            birth_date: Set(None),
            gender: Set(None),
            email: Set(None),
        })
        .exec(db)
        .await
        .unwrap();
        for (subject, score, max, is_final) in grades {
            grade::Entity::insert(grade::ActiveModel {
                school_id: Set(self.school),
                id: Set(GradeId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                external_id: Set(None),
                status: Set(RecordStatus::Active),
                student_id: Set(student),
                subject_id: Set(*subject),
                term_id: Set(self.term),
                assessment_id: Set(None),
                class_id: Set(None),
                teacher_id: Set(None),
                category: Set(None),
                score: Set(*score),
                max_score: Set(*max),
                graded_on: Set(start),
                is_final: Set(*is_final),
                comment: Set(None),
            })
            .exec(db)
            .await
            .unwrap();
        }
        if recorded > 0 {
            let records: Vec<attendance_record::ActiveModel> = (0..recorded)
                .map(|d| attendance_record::ActiveModel {
                    school_id: Set(self.school),
                    id: Set(AttendanceRecordId::generate()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    student_id: Set(student),
                    class_id: Set(None),
                    date: Set(start + Duration::days(d)),
                    period: Set(0),
                    status: Set(match d {
                        d if d < absent && d % 2 == 0 => AttendanceStatus::Absent,
                        d if d < absent => AttendanceStatus::Excused,
                        d if d % 3 == 0 => AttendanceStatus::Late,
                        _ => AttendanceStatus::Present,
                    }),
                    note: Set(None),
                    recorded_by_teacher_id: Set(None),
                })
                .collect();
            attendance_record::Entity::insert_many(records)
                .exec(db)
                .await
                .unwrap();
        }
        let mut notes: Vec<incident::ActiveModel> = (0..negative)
            .map(|_| incident(self.school, student, true))
            .collect();
        for _ in 0..suspensions {
            let mut s = incident(self.school, student, false);
            s.is_suspension = Set(true);
            notes.push(s);
        }
        if !notes.is_empty() {
            incident::Entity::insert_many(notes).exec(db).await.unwrap();
        }
        student
    }
}

const OVERVIEW: &str = "{ analytics { overview { studentCount teacherCount classCount averageScore passRate attendanceRate chronicAbsenceRate } } }";

mod analytics {
    use super::*;

    backend_tests! {
        async fn analytics_match_the_figures_worked_out_by_hand(backend) {
            let app = tests::spawn_app(backend).await;
            let root = app.root().await;
            let (a, a_id) = school(&app, &root, "school-a").await;
            let f = Fixture::new(&app, &a_id).await;
            let (m, e) = (f.math, f.english);
            // p1: 80, 18/20 = 90 → average 85; 20 days, none absent; no incidents → 0, LOW.
            f.student(&app, "p1", 1, &[(m, 80.0, 100.0, false), (e, 18.0, 20.0, false)], 20, 0, 0, 0).await;
            // p2: 48, 51 → two failing subjects, average 49.5 → course 2; 5 of 40 days absent =
            // 12.5% → 2; 3 negative incidents → 2; total 6, HIGH.
            f.student(&app, "p2", 2, &[(m, 48.0, 100.0, false), (e, 51.0, 100.0, false)], 40, 5, 3, 0).await;
            // p3: 70, 60 → average 65 (not below 65, below 75) → 1; 1 of 20 = 5% → 1; 1 incident → 1;
            // total 3, MEDIUM.
            f.student(&app, "p3", 3, &[(m, 70.0, 100.0, false), (e, 60.0, 100.0, false)], 20, 1, 1, 0).await;
            // p4: 74, 76 → average 75 → 0; 2 of 20 = 10% → 2; a suspension → 2; total 4, MEDIUM.
            f.student(&app, "p4", 4, &[(m, 74.0, 100.0, false), (e, 76.0, 100.0, false)], 20, 2, 0, 1).await;
            // p5: no grades; 19 days, none absent (too few for chronic absence); nothing → 0.
            f.student(&app, "p5", 5, &[], 19, 0, 0, 0).await;

            let overview = app.ok(&a, OVERVIEW, json!({})).await["analytics"]["overview"].clone();
            // Grades: 80 90 48 51 70 60 74 76 → 549 / 8; at or above 55: 6 of 8.
            // Attendance: 119 records, 8 absent. Chronic: p1–p4 have ≥ 20 days; p2 (12.5%) and p4
            // (10%) reach 10%: 2 of 4.
            // JSON numbers are read back to within one unit in the last place.
            let rate = overview["attendanceRate"].as_f64().unwrap();
            assert!((rate - 111.0 / 119.0).abs() < 1e-15, "{rate}");
            let mut overview = overview;
            overview["attendanceRate"] = Value::Null;
            assert_eq!(overview, json!({
                "studentCount": 5, "teacherCount": 0, "classCount": 0,
                "averageScore": 549.0 / 8.0, "passRate": 0.75,
                "attendanceRate": null, "chronicAbsenceRate": 0.5,
            }));
            let term = app.ok(&a, "query($t: UUID!) { analytics { overview(termId: $t) { averageScore } } }", json!({ "t": f.term.to_string() })).await;
            assert_eq!(term["analytics"]["overview"]["averageScore"], json!(549.0 / 8.0));

            let risk = app.ok(&a, "{ analytics { atRisk(first: 10) { student { firstName } attendancePoints behaviourPoints coursePoints total tier reasons } } }", json!({})).await;
            assert_eq!(risk["analytics"]["atRisk"], json!([
                { "student": { "firstName": "p2" }, "attendancePoints": 2, "behaviourPoints": 2, "coursePoints": 2, "total": 6, "tier": "HIGH",
                  "reasons": ["absent 12.5% of 40 days", "3 negative incidents", "2 subjects below 55: math 48, English 51", "average 49.5"] },
                { "student": { "firstName": "p4" }, "attendancePoints": 2, "behaviourPoints": 2, "coursePoints": 0, "total": 4, "tier": "MEDIUM",
                  "reasons": ["absent 10% of 20 days", "a suspension"] },
                { "student": { "firstName": "p3" }, "attendancePoints": 1, "behaviourPoints": 1, "coursePoints": 1, "total": 3, "tier": "MEDIUM",
                  "reasons": ["absent 5% of 20 days", "1 negative incident", "average 65"] },
            ]));
            let figures = app.ok(&a, "{ analytics {
                bins: gradeDistribution { start end count }
                wide: gradeDistribution(binSize: 25) { start end count }
                subjectAverages { subject { name } average count }
                months: trend(granularity: MONTH) { period average count }
                terms: trend(granularity: TERM) { period term { name } average count }
                attendanceSummary { byStatus { status count } }
                firstWeek: attendanceSummary(from: \"2025-09-01\", to: \"2025-09-06\") { byWeek { weekStart attended absent } }
                chronicAbsentees { student { firstName } recorded absent absenceRate }
                atFive: chronicAbsentees(thresholdPct: 5) { student { firstName } }
            } }", json!({})).await["analytics"].clone();
            let counts: Vec<i64> = figures["bins"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).collect();
            assert_eq!(counts, [0, 0, 0, 0, 1, 1, 1, 3, 1, 1]);
            assert_eq!(figures["bins"][9], json!({ "start": 90.0, "end": 100.0, "count": 1 }));
            assert_eq!(figures["wide"], json!([
                { "start": 0.0, "end": 25.0, "count": 0 }, { "start": 25.0, "end": 50.0, "count": 1 },
                { "start": 50.0, "end": 75.0, "count": 4 }, { "start": 75.0, "end": 100.0, "count": 3 },
            ]));
            assert_eq!(figures["subjectAverages"], json!([
                { "subject": { "name": "math" }, "average": 68.0, "count": 4 },
                { "subject": { "name": "English" }, "average": 69.25, "count": 4 },
            ]));
            assert_eq!(figures["months"], json!([{ "period": "2025-09", "average": 68.625, "count": 8 }]));
            assert_eq!(figures["terms"], json!([{ "period": "א", "term": { "name": "א" }, "average": 68.625, "count": 8 }]));
            assert_eq!(figures["attendanceSummary"]["byStatus"], json!([
                { "status": "PRESENT", "count": 73 }, { "status": "LATE", "count": 38 },
                { "status": "ABSENT", "count": 5 }, { "status": "EXCUSED", "count": 3 },
            ]));
            assert_eq!(figures["firstWeek"]["byWeek"], json!([{ "weekStart": "2025-08-31", "attended": 22, "absent": 8 }]));
            assert_eq!(figures["chronicAbsentees"], json!([
                { "student": { "firstName": "p2" }, "recorded": 40, "absent": 5, "absenceRate": 12.5 },
                { "student": { "firstName": "p4" }, "recorded": 20, "absent": 2, "absenceRate": 10.0 },
            ]));
            assert_eq!(figures["atFive"], json!([{ "student": { "firstName": "p2" } }, { "student": { "firstName": "p4" } }, { "student": { "firstName": "p3" } }]));
            let (_, body) = app.gql(&a, "{ analytics { gradeDistribution(binSize: 0) { count } } }", json!({})).await;
            assert_eq!(code(&body), "BAD_USER_INPUT");

            // Thresholds are the school's: a lower pass mark and a higher absence threshold
            // change the figures at once (the change moves the data version).
            let config = app.ok(&a, "mutation { updateSchoolConfiguration(input: { passMark: 50, absenceMediumPct: 6 }) { passMark riskThresholds { absenceMediumPct absenceHighPct } } }", json!({})).await;
            assert_eq!(config["updateSchoolConfiguration"], json!({ "passMark": 50.0, "riskThresholds": { "absenceMediumPct": 6.0, "absenceHighPct": 10.0 } }));
            let after = app.ok(&a, "{ analytics { overview { passRate } atRisk { student { firstName } total tier reasons } } }", json!({})).await["analytics"].clone();
            assert_eq!(after["overview"]["passRate"], 0.875);
            assert_eq!(after["atRisk"], json!([
                { "student": { "firstName": "p2" }, "total": 6, "tier": "HIGH",
                  "reasons": ["absent 12.5% of 40 days", "3 negative incidents", "1 subject below 50: math 48", "average 49.5"] },
                { "student": { "firstName": "p4" }, "total": 4, "tier": "MEDIUM", "reasons": ["absent 10% of 20 days", "a suspension"] },
                { "student": { "firstName": "p3" }, "total": 2, "tier": "LOW", "reasons": ["1 negative incident", "average 65"] },
            ]));

            let students = app.ok(&a, "{ students(first: 10) { nodes { firstName risk { total tier reasons } } } }", json!({})).await;
            let p1 = students["students"]["nodes"].as_array().unwrap().iter().find(|n| n["firstName"] == "p1").unwrap().clone();
            assert_eq!(p1["risk"], json!({ "total": 0, "tier": "LOW", "reasons": [] }));
        }

        async fn a_cached_answer_follows_a_write_made_through_another_instance(backend) {
            let app = tests::spawn_app(backend).await;
            let other = app.another_instance().await;
            let root = app.root().await;
            let (a, a_id) = school(&app, &root, "school-a").await;
            let fa = Fixture::new(&app, &a_id).await;
            fa.student(&app, "a1", 1, &[(fa.math, 80.0, 100.0, false)], 20, 0, 0, 0).await;

            let first = other.ok(&a, OVERVIEW, json!({})).await;
            assert_eq!(first["analytics"]["overview"]["studentCount"], 1);
            let statements = || other.state.statements.load(std::sync::atomic::Ordering::Relaxed);
            let before = statements();
            assert_eq!(other.ok(&a, OVERVIEW, json!({})).await, first);
            assert_eq!(statements() - before, 1, "served from the second instance's cache");

            // A write through the first instance: the second one's next answer includes it.
            app.ok(&a, "mutation { createStudent(input: { studentTz: \"039337423\", firstName: \"a2\", lastName: \"x\" }) { id } }", json!({})).await;
            let after = other.ok(&a, OVERVIEW, json!({})).await;
            assert_eq!(after["analytics"]["overview"]["studentCount"], 2);
            // And the first instance computes its own answer at the same version.
            assert_eq!(app.ok(&a, OVERVIEW, json!({})).await, after);
        }

        async fn cached_answers_follow_their_own_schools_writes_only(backend) {
            let app = tests::spawn_app(backend).await;
            let root = app.root().await;
            let (a, a_id) = school(&app, &root, "school-a").await;
            let (b, b_id) = school(&app, &root, "school-b").await;
            let fa = Fixture::new(&app, &a_id).await;
            fa.student(&app, "a1", 1, &[(fa.math, 80.0, 100.0, false)], 20, 0, 0, 0).await;
            let fb = Fixture::new(&app, &b_id).await;
            fb.student(&app, "b1", 1, &[(fb.math, 40.0, 100.0, false)], 20, 10, 0, 0).await;
            fb.student(&app, "b2", 2, &[(fb.math, 60.0, 100.0, false)], 20, 0, 0, 0).await;

            let statements = || app.state.statements.load(std::sync::atomic::Ordering::Relaxed);
            let before = statements();
            let a1 = app.ok(&a, OVERVIEW, json!({})).await;
            let cold = statements() - before;
            let b1 = app.ok(&b, OVERVIEW, json!({})).await;
            assert_eq!(a1["analytics"]["overview"]["averageScore"], 80.0);
            assert_eq!(b1["analytics"]["overview"]["averageScore"], 50.0, "each school its own figures");
            let before = statements();
            assert_eq!(app.ok(&a, OVERVIEW, json!({})).await, a1);
            let warm = statements() - before;
            assert!(warm < cold, "{warm} vs {cold} statements");
            assert_eq!(warm, 1, "a cached answer costs only the statement that resolves the user, school, membership and data version");
            let at_risk = app.ok(&a, "{ analytics { atRisk { total } } }", json!({})).await;
            let before = statements();
            assert_eq!(app.ok(&a, "{ analytics { atRisk { total } } }", json!({})).await, at_risk);
            assert_eq!(statements() - before, 1, "the cached ABC scores too");

            // A write to B: A's answer stays cached, B's follows.
            app.ok(&b, "mutation { createStudent(input: { studentTz: \"039337423\", firstName: \"b3\", lastName: \"x\" }) { id } }", json!({})).await;
            let before = statements();
            assert_eq!(app.ok(&a, OVERVIEW, json!({})).await, a1);
            assert_eq!(statements() - before, warm, "A's entry was not touched");
            assert_eq!(app.ok(&b, OVERVIEW, json!({})).await["analytics"]["overview"]["studentCount"], 3);
            // A write to A: its answer is recomputed.
            app.ok(&a, "mutation { createStudent(input: { studentTz: \"039337423\", firstName: \"a2\", lastName: \"x\" }) { id } }", json!({})).await;
            assert_eq!(app.ok(&a, OVERVIEW, json!({})).await["analytics"]["overview"]["studentCount"], 2);
            // Another school's term is answered like a missing one.
            let theirs = app.gql(&a, "query($t: UUID!) { analytics { overview(termId: $t) { averageScore } } }", json!({ "t": fb.term.to_string() })).await;
            let missing = app.gql(&a, "query($t: UUID!) { analytics { overview(termId: $t) { averageScore } } }", json!({ "t": uuid::Uuid::now_v7() })).await;
            assert_eq!(theirs, missing);
            assert_eq!(code(&theirs.1), "NOT_FOUND");
            for field in ["gradeDistribution(subjectId: $t) { count }", "subjectAverages(termId: $t) { count }", "trend(granularity: MONTH, classId: $t) { count }"] {
                let query = format!("query($t: UUID!) {{ analytics {{ {field} }} }}");
                let theirs = app.gql(&a, &query, json!({ "t": fb.math.to_string() })).await;
                let missing = app.gql(&a, &query, json!({ "t": uuid::Uuid::now_v7() })).await;
                assert_eq!(theirs, missing, "{field}");
            }
        }
    }
}
