//! Latency and statement count of the nested query
//! `classes(first: 30) { students { grades { subject { name } } } }` on the demo data (one demo
//! school: 600 students, 24 classes, about 42,000 grades), over HTTP against a running server.
//!
//! `cargo bench -p tests --bench nested` (SQLite; `BENCH_BACKEND=postgres` for PostgreSQL at
//! `TEST_DATABASE_URL`). `BENCH_ITERATIONS` sets the number of timed requests (default 100).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use serde_json::json;

/// The allocator the `api` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tests::{Backend, spawn_app};

const NESTED: &str = "{ classes(first: 30) { nodes { name students { firstName grades { score subject { name } } } } } }";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backend = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let app = spawn_app(backend).await;
    let started = Instant::now();
    let school =
        api::services::demo::create_school(&app.state.db, "תיכון הרצל", "herzl-demo", 600, 1)
            .await
            .unwrap()
            .expect("a fresh database");
    println!(
        "demo school loaded: {} rows in {:.1?} ({backend:?})",
        school.rows,
        started.elapsed()
    );
    let who = app.demo_admin(&school, "herzl-demo").await;
    let token = who.token.clone().unwrap();

    // Warm up, and check the shape once.
    let data = app.ok(&who, NESTED, json!({})).await;
    let classes = data["classes"]["nodes"].as_array().unwrap();
    let students: usize = classes
        .iter()
        .map(|c| c["students"].as_array().unwrap().len())
        .sum();
    let grades: usize = classes
        .iter()
        .flat_map(|c| c["students"].as_array().unwrap())
        .map(|s| s["grades"].as_array().unwrap().len())
        .sum();
    for _ in 0..3 {
        app.ok(&who, NESTED, json!({})).await;
    }

    let mut times = Vec::with_capacity(iterations);
    let before = app.state.statements.load(Ordering::SeqCst);
    for _ in 0..iterations {
        let start = Instant::now();
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header("x-school-id", "herzl-demo")
            .json(&json!({ "query": NESTED }))
            .send()
            .await
            .unwrap();
        let body = response.bytes().await.unwrap();
        times.push(start.elapsed());
        assert!(body.len() > 1000);
    }
    let statements =
        (app.state.statements.load(Ordering::SeqCst) - before) as f64 / iterations as f64;
    times.sort();

    // The floor: the same rows fetched straight through SeaORM, no GraphQL, no HTTP.
    let mut fetches = Vec::with_capacity(10);
    for _ in 0..10 {
        use sea_orm::EntityTrait;
        let start = Instant::now();
        let conn = &app.db.conn;
        let rows = entity::class::Entity::find().all(conn).await.unwrap().len()
            + entity::student::Entity::find()
                .all(conn)
                .await
                .unwrap()
                .len()
            + entity::grade::Entity::find().all(conn).await.unwrap().len()
            + entity::subject::Entity::find()
                .all(conn)
                .await
                .unwrap()
                .len();
        fetches.push(start.elapsed());
        assert!(rows > grades);
    }
    fetches.sort();
    println!("query: {NESTED}");
    println!(
        "rows: {} classes, {students} students, {grades} grades",
        classes.len()
    );
    println!(
        "{iterations} requests: p50 {:.1?}, p95 {:.1?}, min {:.1?}, max {:.1?}; {statements:.1} SQL statements per request",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[0],
        times[times.len() - 1],
    );
    println!(
        "the same rows fetched through SeaORM alone (all four tables, no GraphQL): p50 {:.1?}",
        percentile(&fetches, 0.5)
    );
}
