//! Mixed load: `BENCH_SCHOOLS` schools (default 2) × `BENCH_CLIENTS` clients each (default 25),
//! `BENCH_WRITE_PCT` percent writes (default 30: recordGrade, recordAttendance, createStudent in
//! turn), the rest reads (a page of students; a student with grades), for `BENCH_SECONDS`
//! (default 60). Prints, per kind of request, how many were answered, how many failed, p50 and
//! p99, and the process's peak resident memory (server and clients share this process).
//!
//! `cargo bench -p tests --bench load` (SQLite; `BENCH_BACKEND=postgres` for PostgreSQL at
//! `TEST_DATABASE_URL`). `BENCH_WRITE_PCT=100 BENCH_SCHOOLS=1 BENCH_CLIENTS=50` measures 50
//! concurrent writers.
//!
//! A failure is any answer that is not HTTP 200 without errors, except `CONFLICT` (two clients
//! recording attendance for the same student, day and period), counted on its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

/// The allocator the `api` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tests::{As, Backend, TestApp, spawn_app_with};

const STUDENTS_PAGE: &str = "{ students(first: 20) { nodes { id firstName lastName studentTz } } }";
const STUDENT_GRADES: &str = "query($id: UUID!) { student(id: $id) { firstName grades(first: 50) { score subject { name } } } }";
const RECORD_GRADE: &str = "mutation($s: UUID!, $sub: UUID!, $t: UUID!, $score: Float!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: $score, gradedOn: \"2025-10-01\" }) { id } }";
const RECORD_ATTENDANCE: &str = "mutation($s: UUID!, $d: Date!, $p: Int!) { recordAttendance(input: { studentId: $s, date: $d, period: $p, status: LATE }) { id } }";
const CREATE_STUDENT: &str = "mutation($tz: String!) { createStudent(input: { studentTz: $tz, firstName: \"עומס\", lastName: \"בדיקה\" }) { id } }";

/// One school's login and the ids its clients use.
#[derive(Clone)]
struct School {
    who: As,
    students: Vec<Value>,
    subject: Value,
    term: Value,
}

async fn school(app: &TestApp, name: &str, slug: &str) -> School {
    let made = api::services::demo::create_school(&app.state.db, name, slug, 200, 7)
        .await
        .unwrap()
        .expect("a fresh database");
    let who = app.demo_admin(&made, slug).await;
    let data = app
        .ok(
            &who,
            "{ students(first: 100) { nodes { id } } subjects(first: 1) { nodes { id } } terms { id startDate } }",
            json!({}),
        )
        .await;
    School {
        students: data["students"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect(),
        subject: data["subjects"]["nodes"][0]["id"].clone(),
        term: data["terms"][0]["id"].clone(),
        who,
    }
}

/// A national id with a valid check digit, from a counter.
fn national_id(n: u32) -> String {
    let body = format!("{:08}", n % 100_000_000);
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let x = c.to_digit(10).unwrap() * if i % 2 == 0 { 1 } else { 2 };
            x / 10 + x % 10
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[derive(Default)]
struct Tally {
    times: BTreeMap<&'static str, Vec<Duration>>,
    failed: BTreeMap<&'static str, usize>,
    conflicts: usize,
    codes: BTreeMap<String, usize>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backend = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let setting = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let schools = setting("BENCH_SCHOOLS", 2);
    let clients = setting("BENCH_CLIENTS", 25);
    let write_pct = setting("BENCH_WRITE_PCT", 30);
    let seconds = setting("BENCH_SECONDS", 60);
    // The default per-school limits are for production; this measures the database path.
    let app = Arc::new(
        spawn_app_with(
            backend,
            &[
                ("SCHOOL_CONCURRENT_REQUESTS", "64"),
                ("SCHOOL_COST_PER_MINUTE", "2000000000"),
            ],
        )
        .await,
    );
    let mut made = Vec::new();
    for i in 0..schools {
        made.push(school(&app, &format!("בית ספר {i}"), &format!("load-{i}")).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (s, school) in made.iter().enumerate() {
        for c in 0..clients {
            let (app, school, stop) = (app.clone(), school.clone(), stop.clone());
            let client = (s * clients + c) as u32;
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let pick = (client.wrapping_mul(7919).wrapping_add(i.wrapping_mul(104_729))) as usize;
                    let student = &school.students[pick % school.students.len()];
                    let (kind, query, vars) = if pick % 100 < write_pct {
                        match i % 3 {
                            0 => ("recordGrade", RECORD_GRADE, json!({ "s": student, "sub": school.subject, "t": school.term, "score": (pick % 100) as f64 })),
                            1 => {
                                let day = 1 + (i / 3) % 28;
                                ("recordAttendance", RECORD_ATTENDANCE, json!({ "s": student, "d": format!("2025-10-{day:02}"), "p": 1 + client % 12 }))
                            }
                            _ => ("createStudent", CREATE_STUDENT, json!({ "tz": national_id(50_000_000 + client * 100_000 + i) })),
                        }
                    } else if i.is_multiple_of(2) {
                        ("studentsPage", STUDENTS_PAGE, json!({}))
                    } else {
                        ("studentGrades", STUDENT_GRADES, json!({ "id": student }))
                    };
                    let started = Instant::now();
                    let (status, body) = app.gql(&school.who, query, vars).await;
                    tally.times.entry(kind).or_default().push(started.elapsed());
                    if status != 200 || body.get("errors").is_some() {
                        let code = tests::code(&body).to_owned();
                        if code == "CONFLICT" {
                            tally.conflicts += 1;
                        } else {
                            *tally.failed.entry(kind).or_default() += 1;
                            *tally.codes.entry(format!("{status} {code}")).or_default() += 1;
                        }
                    }
                }
                tally
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(seconds as u64)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.unwrap();
        for (kind, times) in tally.times {
            all.times.entry(kind).or_default().extend(times);
        }
        for (kind, n) in tally.failed {
            *all.failed.entry(kind).or_default() += n;
        }
        for (code, n) in tally.codes {
            *all.codes.entry(code).or_default() += n;
        }
        all.conflicts += tally.conflicts;
    }
    println!(
        "backend {backend:?}: {schools} schools × {clients} clients, {write_pct}% writes, {seconds} s"
    );
    let mut total = 0;
    let mut failed = 0;
    for (kind, times) in &mut all.times {
        times.sort();
        let n = times.len();
        let f = all.failed.get(kind).copied().unwrap_or(0);
        total += n;
        failed += f;
        println!(
            "{kind:>16}: {n:>6} answered, {f:>4} failed, {:>7.1}/s, p50 {:>8.2?}, p99 {:>8.2?}",
            n as f64 / seconds as f64,
            percentile(times, 0.5),
            percentile(times, 0.99)
        );
    }
    println!(
        "all: {total} requests, {failed} failed, {} attendance conflicts; failures by answer: {:?}",
        all.conflicts, all.codes
    );
    println!(
        "peak RSS of the process (server and clients): {:.0} MiB",
        peak_rss_mib()
    );
}
