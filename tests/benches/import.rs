//! The import benchmark: generates a grades file of 1,000,000 rows (5,000 students × 10 subjects
//! × 2 terms × 10 assessments), imports it through `importGrades` over HTTP, and compares the
//! time with PostgreSQL's `COPY` of the same rows into a table shaped like `grades`.
//!
//! `cargo bench -p tests --bench import` (PostgreSQL at TEST_DATABASE_URL; `BENCH_BACKEND=sqlite`
//! for SQLite, which has no `COPY`). `BENCH_ROWS` scales it down (a multiple of 1,000).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::{fmt::Write as _, time::Instant};

use serde_json::json;
use tests::{As, Backend, FIRST_SCHOOL, spawn_app_with};

/// The allocator the `api` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SUBJECTS: usize = 10;
const TERMS: [(&str, &str, &str); 2] = [
    ("סמסטר א", "2025-09-01", "2026-01-31"),
    ("סמסטר ב", "2026-02-01", "2026-06-20"),
];
const ASSESSMENTS: usize = 10;

fn tz(n: usize) -> String {
    let prefix = format!("{:08}", 10_000_000 + n);
    let sum = api::rules::weighted_digit_sum(prefix.chars().filter_map(|c| c.to_digit(10)));
    format!("{prefix}{}", (10 - sum % 10) % 10)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backend = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("sqlite") => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let students = rows / (SUBJECTS * TERMS.len() * ASSESSMENTS);
    let app = spawn_app_with(
        backend,
        &[
            ("IMPORT_MAX_BYTES", "1000000000"),
            ("IMPORT_MAX_ROWS", "10000000"),
        ],
    )
    .await;
    let root = app.root().await;
    let admin = app
        .member_token(&root, FIRST_SCHOOL, "bench@example.org", "ADMIN")
        .await;
    let who = As::token(&admin);
    let year = app.ok(&who, "mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2025-09-01\", endDate: \"2026-06-20\", isCurrent: true }) { id } }", json!({})).await["createAcademicYear"]["id"].clone();
    for (name, start, end) in TERMS {
        app.ok(&who, "mutation($y: UUID!, $n: String!, $s: Date!, $e: Date!) { createTerm(input: { academicYearId: $y, name: $n, startDate: $s, endDate: $e }) { id } }",
            json!({ "y": year, "n": name, "s": start, "e": end })).await;
    }
    for s in 0..SUBJECTS {
        app.ok(
            &who,
            "mutation($n: String!) { createSubject(input: { name: $n }) { id } }",
            json!({ "n": format!("subject-{s}") }),
        )
        .await;
    }
    let mut roster = String::from("student_tz,first_name,last_name\n");
    for n in 0..students {
        writeln!(roster, "{},first-{n},last-{n}", tz(n)).unwrap();
    }
    let query = |kind: &str| {
        format!(
            "mutation($file: Upload!) {{ {kind}(file: $file) {{ status rowsTotal rowsOk rowsFailed message }} }}"
        )
    };
    let (_, body) = app
        .upload(
            &who,
            &query("importStudents"),
            json!({}),
            "students.csv",
            roster.into_bytes(),
        )
        .await;
    assert_eq!(
        body["data"]["importStudents"]["status"], "SUCCEEDED",
        "{body}"
    );

    let mut file = String::from("student_tz,subject,term,score,date,assessment\n");
    for n in 0..students {
        let tz = tz(n);
        for s in 0..SUBJECTS {
            for (t, (term, start, _)) in TERMS.iter().enumerate() {
                for a in 0..ASSESSMENTS {
                    let score = (n * 7 + s * 13 + a * 17 + t) % 101;
                    let day = a + 10;
                    let month = &start[..7];
                    writeln!(
                        file,
                        "{tz},subject-{s},{term},{score},{month}-{day},quiz {a}"
                    )
                    .unwrap();
                }
            }
        }
    }
    let bytes = file.into_bytes();
    let size = bytes.len();
    println!(
        "grades file: {rows} rows, {:.1} MB ({backend:?})",
        size as f64 / 1e6
    );
    let started = Instant::now();
    let (status, body) = app
        .upload(&who, &query("importGrades"), json!({}), "grades.csv", bytes)
        .await;
    let elapsed = started.elapsed();
    let log = &body["data"]["importGrades"];
    assert_eq!(status, 200, "{body}");
    assert_eq!(log["status"], "SUCCEEDED", "{body}");
    assert_eq!(log["rowsOk"].as_u64(), Some(rows as u64), "{body}");
    println!(
        "importGrades: {rows} rows in {elapsed:.2?} = {:.0} rows/s (upload, parse, validate, write, commit)",
        rows as f64 / elapsed.as_secs_f64()
    );

    if backend == Backend::Postgres {
        // The same rows, as stored, copied back into `grades` (same indexes, foreign keys and
        // row-level security as the import faced) after deleting them, in a transaction that
        // is rolled back; and into a table with the same columns and indexes but no foreign
        // keys. psql's own timing of each COPY is used.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grades.csv");
        let script = dir.path().join("copy.sql");
        let file = path.display();
        std::fs::write(
            &script,
            format!(
                "\\copy grades TO '{file}' CSV\n\
                 CREATE TABLE grades_copy (LIKE grades INCLUDING ALL);\n\
                 BEGIN;\n\
                 DELETE FROM grades;\n\
                 \\timing on\n\
                 \\copy grades FROM '{file}' CSV\n\
                 \\copy grades_copy FROM '{file}' CSV\n\
                 \\timing off\n\
                 ROLLBACK;\n"
            ),
        )
        .unwrap();
        let out = std::process::Command::new("psql")
            .args([app.db.url.as_str(), "-v", "ON_ERROR_STOP=1", "-q", "-f"])
            .arg(&script)
            .output()
            .expect("psql runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let times: Vec<f64> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("Time: "))
            .filter_map(|l| l.split_whitespace().next())
            .filter_map(|ms| ms.parse().ok())
            .collect();
        let [into_grades, into_plain] = times.as_slice() else {
            panic!("psql timings: {stdout}");
        };
        for (what, ms) in [
            ("grades (its indexes and foreign keys)", into_grades),
            ("a table like grades without foreign keys", into_plain),
        ] {
            println!(
                "COPY of the same {rows} rows into {what}: {:.2}s = {:.0} rows/s; the import took {:.2}x as long",
                ms / 1000.0,
                rows as f64 / (ms / 1000.0),
                elapsed.as_secs_f64() / (ms / 1000.0)
            );
        }
    }
}
