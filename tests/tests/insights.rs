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
    let subject = SubjectId::generate();
    subject::Entity::insert(subject::ActiveModel {
        school_id: Set(school),
        id: Set(subject),
        created_at: Set(now),
        updated_at: Set(now),
        external_id: Set(None),
        status: Set(RecordStatus::Active),
        name: Set("math".into()),
        code: Set(None),
    })
    .exec(db)
    .await
    .unwrap();
    for i in 0..graded + ungraded {
        let student = StudentId::generate();
        let tz = format!("{:08}", 30_000_000 + i);
        let sum = api::domain::weighted_digit_sum(tz.chars().filter_map(|c| c.to_digit(10)));
        student::Entity::insert(student::ActiveModel {
            school_id: Set(school),
            id: Set(student),
            created_at: Set(now),
            updated_at: Set(now),
            external_id: Set(None),
            status: Set(RecordStatus::Active),
            student_tz: Set(format!("{tz}{}", (10 - sum % 10) % 10)),
            first_name: Set(format!("s{i}")),
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
        let (attended, prior, negative) = features(i, incidents);
        let grade = |score: f64, is_final: bool| grade::ActiveModel {
            school_id: Set(school),
            id: Set(GradeId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            external_id: Set(None),
            status: Set(RecordStatus::Active),
            student_id: Set(student),
            subject_id: Set(subject),
            term_id: Set(term),
            assessment_id: Set(None),
            class_id: Set(None),
            teacher_id: Set(None),
            category: Set(None),
            score: Set(score),
            max_score: Set(100.0),
            graded_on: Set(start),
            is_final: Set(is_final),
            comment: Set(None),
        };
        let mut grades = vec![grade(prior, false)];
        if i < graded {
            grades.push(grade(final_score(rule, i, incidents), true));
        }
        grade::Entity::insert_many(grades).exec(db).await.unwrap();
        let records: Vec<attendance_record::ActiveModel> = (0..20)
            .map(|d| attendance_record::ActiveModel {
                school_id: Set(school),
                id: Set(AttendanceRecordId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                student_id: Set(student),
                class_id: Set(None),
                date: Set(start + Duration::days(d)),
                period: Set(0),
                status: Set(if d < attended {
                    AttendanceStatus::Present
                } else {
                    AttendanceStatus::Absent
                }),
                note: Set(None),
                recorded_by_teacher_id: Set(None),
            })
            .collect();
        attendance_record::Entity::insert_many(records)
            .exec(db)
            .await
            .unwrap();
        // A positive note never counts; negative incidents do.
        let mut notes: Vec<incident::ActiveModel> = (0..negative)
            .map(|_| incident(school, student, true))
            .collect();
        notes.push(incident(school, student, false));
        incident::Entity::insert_many(notes).exec(db).await.unwrap();
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
