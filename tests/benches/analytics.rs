//! The analytics and training benchmark (PostgreSQL): a school of 10,000 students with
//! 1,000,000 grades and 200,000 attendance records, `analytics { overview }` over HTTP cold
//! (the school's data version moved, so the cache misses) and cached, against the same
//! aggregates as hand-written SQL on the same connection pool; then `ml::train` on 100,000
//! students.
//!
//! `cargo bench -p tests --bench analytics` (PostgreSQL at TEST_DATABASE_URL).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::time::{Duration, Instant};

use api::insights::{Features, ml};
use entity::ids::StudentId;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use tests::{As, Backend, spawn_app_with};

/// The allocator the `api` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STUDENTS: i64 = 10_000;
const GRADES_PER_STUDENT: i64 = 100;
const DAYS: i64 = 20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Runs each statement of `sql` in turn on `conn`.
async fn run_all(conn: &impl ConnectionTrait, sql: &[String]) {
    for statement in sql {
        conn.query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            statement.clone(),
        ))
        .await
        .unwrap();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = spawn_app_with(Backend::Postgres, &[]).await;
    let root = app.root().await;
    let school = app.create_school(&root, "bench").await;
    // A member of the school, as a school's own users are (a superadmin's every request in a
    // school is audited: measured separately below).
    let member = app
        .member_token(&root, "bench", "admin@bench.test", "ADMIN")
        .await;
    let who = As::in_school(&member, "bench");
    let superadmin = As::in_school(&root, "bench");
    let db = &app.db.conn;
    let exec = |sql: String| async move {
        db.execute_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql))
            .await
            .unwrap();
    };
    let started = Instant::now();
    let s = format!("'{school}'::uuid");
    exec(format!("INSERT INTO academic_years (school_id, id, created_at, updated_at, status, name, start_date, end_date, is_current) VALUES ({s}, gen_random_uuid(), now(), now(), 'ACTIVE', '2025-2026', '2025-09-01', '2026-06-20', true)")).await;
    exec(format!("INSERT INTO terms (school_id, id, created_at, updated_at, status, academic_year_id, name, start_date, end_date) SELECT {s}, gen_random_uuid(), now(), now(), 'ACTIVE', id, 'a', '2025-09-01', '2026-01-31' FROM academic_years WHERE school_id = {s}")).await;
    exec(format!("INSERT INTO subjects (school_id, id, created_at, updated_at, status, name) SELECT {s}, gen_random_uuid(), now(), now(), 'ACTIVE', 'subject ' || g FROM generate_series(1, 10) g")).await;
    exec(format!("INSERT INTO students (school_id, id, created_at, updated_at, status, student_tz, first_name, last_name) SELECT {s}, gen_random_uuid(), now(), now(), 'ACTIVE', lpad(g::text, 9, '0'), 's' || g, 'x' FROM generate_series(1, {STUDENTS}) g")).await;
    exec(format!(
        "WITH subs AS (SELECT array_agg(id ORDER BY name) AS ids FROM subjects WHERE school_id = {s}),
              t AS (SELECT id FROM terms WHERE school_id = {s})
         INSERT INTO grades (school_id, id, created_at, updated_at, status, student_id, subject_id, term_id, score, max_score, graded_on, is_final)
         SELECT {s}, gen_random_uuid(), now(), now(), 'ACTIVE', st.id, subs.ids[(g % 10) + 1], t.id,
                (g * 37 + length(st.first_name) * 13) % 101, 100, DATE '2025-09-01' + (g % 120), g = {GRADES_PER_STUDENT}
         FROM students st CROSS JOIN generate_series(1, {GRADES_PER_STUDENT}) g CROSS JOIN subs CROSS JOIN t
         WHERE st.school_id = {s}"
    ))
    .await;
    exec(format!(
        "INSERT INTO attendance_records (school_id, id, created_at, updated_at, student_id, date, period, status)
         SELECT {s}, gen_random_uuid(), now(), now(), st.id, DATE '2025-09-01' + d, 0,
                CASE WHEN (d + length(st.first_name)) % 11 = 0 THEN 'ABSENT' WHEN d % 7 = 0 THEN 'LATE' ELSE 'PRESENT' END
         FROM students st CROSS JOIN generate_series(1, {DAYS}) d WHERE st.school_id = {s}"
    ))
    .await;
    // Settle the freshly written tables before timing: visibility map, statistics, and no
    // checkpoint of the seeding's writes in the middle of a sample.
    exec("VACUUM ANALYZE".to_owned()).await;
    exec("CHECKPOINT".to_owned()).await;
    println!(
        "seeded {STUDENTS} students, {} grades, {} attendance records in {:.1} s",
        STUDENTS * GRADES_PER_STUDENT,
        STUDENTS * DAYS,
        started.elapsed().as_secs_f64()
    );

    // The same aggregates, hand-written, on the same pool.
    let raw = [
        format!("SELECT count(*) FROM students WHERE school_id = {s}"),
        format!("SELECT count(*) FROM teachers WHERE school_id = {s}"),
        format!("SELECT count(*) FROM classes WHERE school_id = {s}"),
        format!(
            "SELECT sum(score * 100.0 / max_score), count(id), sum(CASE WHEN score * 100.0 / max_score >= 55 THEN 1 ELSE 0 END) FROM grades WHERE school_id = {s}"
        ),
        format!(
            "SELECT student_id, sum(CASE WHEN status IN ('ABSENT', 'EXCUSED') THEN 1 ELSE 0 END), count(id) FROM attendance_records WHERE school_id = {s} GROUP BY student_id"
        ),
    ];
    let run_raw = async |rls: bool| {
        let t = Instant::now();
        if rls {
            // The same statements as the service's role, in a transaction bound to the school:
            // what row-level security adds.
            let tx = sea_orm::TransactionTrait::begin(db).await.unwrap();
            for setup in [
                format!("SET LOCAL ROLE {}", migration::RUNTIME_ROLE),
                format!("SELECT set_config('app.school_id', '{school}', true)"),
            ] {
                tx.execute_raw(Statement::from_string(sea_orm::DbBackend::Postgres, setup))
                    .await
                    .unwrap();
            }
            run_all(&tx, &raw).await;
            tx.commit().await.unwrap();
        } else {
            run_all(db, &raw).await;
        }
        t.elapsed()
    };
    let query = "{ analytics { overview { studentCount averageScore passRate attendanceRate chronicAbsenceRate } } }";
    // Interleaved, so that whatever else the machine does falls on all three alike.
    let (mut raw_times, mut rls_times, mut cold) = (Vec::new(), Vec::new(), Vec::new());
    let mut answer = json!(null);
    for _ in 0..21 {
        raw_times.push(run_raw(false).await);
        rls_times.push(run_raw(true).await);
        exec(format!(
            "UPDATE school_data_versions SET data_version = data_version + 1 WHERE school_id = {s}"
        ))
        .await;
        let t = Instant::now();
        answer = app.ok(&who, query, json!({})).await;
        cold.push(t.elapsed());
    }
    // The cached answer and, interleaved with it so both meet the same machine, what every
    // authenticated request costs before any resolver runs (HTTP, the token, the user, school
    // and membership), then the same cached answer as the superadmin, each request audited.
    // 50 requests of each first, not counted: the machine settles after the cold runs.
    let (mut cached, mut baseline, mut audited) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..250 {
        let t = Instant::now();
        let again = app.ok(&who, query, json!({})).await;
        let cached_time = t.elapsed();
        assert_eq!(again, answer);
        let t = Instant::now();
        app.ok(&who, "{ __typename }", json!({})).await;
        let baseline_time = t.elapsed();
        let t = Instant::now();
        app.ok(&superadmin, query, json!({})).await;
        let audited_time = t.elapsed();
        if round >= 50 {
            cached.push(cached_time);
            baseline.push(baseline_time);
            audited.push(audited_time);
        }
    }
    // The one statement a cached answer costs: the request's user, school, membership and data
    // version.
    let mut resolutions = Vec::new();
    let member_id = api::platform::user_by_email(db, "admin@bench.test")
        .await
        .unwrap()
        .unwrap()
        .id;
    let choice = api::platform::SchoolChoice::Slug("bench".to_owned());
    for _ in 0..1000 {
        let t = Instant::now();
        let found = api::platform::user_in_school(&app.state.db, member_id, Some(&choice))
            .await
            .unwrap();
        resolutions.push(t.elapsed());
        assert!(found.is_some_and(|(_, school)| school.is_some()));
    }
    let mut cache_lookups = Vec::new();
    let school_id = school.parse().unwrap();
    for _ in 0..1000 {
        let t = Instant::now();
        let hit = app
            .state
            .analytics_cache
            .get(school_id, i64::MAX, "overview:||");
        cache_lookups.push(t.elapsed());
        assert!(hit.is_none());
    }
    println!("{answer}");
    let (raw_m, rls_m, cold_m) = (median(raw_times), median(rls_times), median(cold));
    println!("overview, hand-written SQL (median of 21): {}", ms(raw_m));
    println!(
        "the same SQL as the service's role under row-level security (median of 21): {} = {:.2}x",
        ms(rls_m),
        rls_m.as_secs_f64() / raw_m.as_secs_f64()
    );
    println!(
        "overview over HTTP, cold (median of 21): {} = {:.2}x the SQL",
        ms(cold_m),
        cold_m.as_secs_f64() / raw_m.as_secs_f64()
    );
    println!(
        "overview over HTTP, cached (median of 200): {}",
        ms(median(cached))
    );
    println!(
        "overview over HTTP, cached, as a superadmin (audited; median of 200): {}",
        ms(median(audited))
    );
    println!(
        "an authenticated `{{ __typename }}` over HTTP (median of 200): {}",
        ms(median(baseline))
    );
    println!(
        "the statement resolving user, school, membership and data version (median of 1000): {}",
        ms(median(resolutions))
    );
    println!(
        "cache lookup in process (median of 1000): {}",
        ms(median(cache_lookups))
    );

    // Training on 100,000 students (the fit alone: features as the service builds them).
    let rows: Vec<Features> = (0..100_000_usize)
        .map(|i| {
            let rate = 50.0 + ((i * 37) % 51) as f64;
            let prior = 40.0 + ((i * 53) % 61) as f64;
            let incidents = ((i * 7) % 6) as f64;
            let noise = (((i * 7919) % 23) as f64 - 11.0) * 0.7;
            Features {
                student: StudentId(uuid::Uuid::from_u128(i as u128)),
                attendance_rate: Some(rate),
                prior_average: Some(prior),
                negative_incidents: incidents,
                final_score: Some(20.0 + 0.4 * rate + 0.3 * prior - 2.0 * incidents + noise),
            }
        })
        .collect();
    let mut fits = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let trained = ml::train(&rows).unwrap();
        fits.push(t.elapsed());
        assert_eq!(trained.train.n, 100_000);
    }
    println!(
        "train on 100,000 students (median of 7): {}",
        ms(median(fits))
    );
}
