//! A noisy neighbour: school B's latency for an everyday query, alone, and while school A runs
//! the most expensive query it is allowed (the nested page, priced just under the limit) as
//! fast as it can from several connections.
//!
//! `cargo bench -p tests --bench neighbour` (SQLite; `BENCH_BACKEND=postgres` for PostgreSQL at
//! `TEST_DATABASE_URL`). `BENCH_ITERATIONS` sets school B's requests per phase (default 2,000),
//! `BENCH_ATTACKERS` school A's connections (default 8); `HEAVY_LANE_THREADS` is passed to the
//! service.
//!
//! The server, school A's clients and school B's client share this process (and its two worker
//! threads), as they share the machine in a deployment.

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

use serde_json::json;

/// The allocator the `api` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tests::{As, Backend, TestApp, spawn_app_with};

/// School A's query: the nested page, priced 904,591 of the 1,000,000 allowed.
const WORST: &str = "{ classes(first: 30) { nodes { name students { firstName lastName grades { score subject { name } } } } } }";
/// School B's query: a page of its students.
const EVERYDAY: &str = "{ students(first: 20) { nodes { firstName lastName studentTz } } }";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn admin_of(app: &TestApp, name: &str, slug: &str, students: usize) -> As {
    let school = api::services::demo::create_school(&app.state.db, name, slug, students, 1)
        .await
        .unwrap()
        .expect("a fresh database");
    app.demo_admin(&school, slug).await
}

async fn send(app: &TestApp, who: &As, query: &str) -> (u16, usize) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(who.token.as_ref().unwrap())
        .header("x-school-id", who.school.as_ref().unwrap())
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().len())
}

/// School B's `iterations` requests, one after another; their latencies, sorted.
async fn school_b(app: &TestApp, b: &As, iterations: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        let (status, bytes) = send(app, b, EVERYDAY).await;
        times.push(start.elapsed());
        assert!(
            status == 200 && bytes > 500,
            "school B was refused: {status}"
        );
    }
    times.sort();
    times
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
    let iterations = setting("BENCH_ITERATIONS", 2_000);
    let attackers = setting("BENCH_ATTACKERS", 8);
    // The service's own settings may be tried from the environment.
    let lane = std::env::var("HEAVY_LANE_THREADS").ok();
    let overrides: Vec<(&str, &str)> = lane
        .as_deref()
        .map(|v| vec![("HEAVY_LANE_THREADS", v)])
        .unwrap_or_default();
    let app = Arc::new(spawn_app_with(backend, &overrides).await);
    let a = admin_of(&app, "תיכון הרצל", "school-a", 600).await;
    let b = admin_of(&app, "תיכון ביאליק", "school-b", 200).await;
    for _ in 0..20 {
        send(&app, &b, EVERYDAY).await;
    }
    let (status, bytes) = send(&app, &a, WORST).await;
    assert_eq!(status, 200);
    println!("school A's query answers {bytes} bytes; {attackers} connections");

    let alone = school_b(&app, &b, iterations).await;

    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..attackers)
        .map(|_| {
            let (app, a, stop) = (app.clone(), a.clone(), stop.clone());
            tokio::spawn(async move {
                let mut outcomes = BTreeMap::<u16, usize>::new();
                while !stop.load(Ordering::Relaxed) {
                    let (status, _) = send(&app, &a, WORST).await;
                    *outcomes.entry(status).or_default() += 1;
                }
                outcomes
            })
        })
        .collect();
    // Let school A's load build up before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let attacked = school_b(&app, &b, iterations).await;
    let window = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = BTreeMap::<u16, usize>::new();
    for task in tasks {
        for (status, n) in task.await.unwrap() {
            *outcomes.entry(status).or_default() += n;
        }
    }
    println!("backend: {backend:?}; school B: {EVERYDAY}");
    for (label, times) in [("alone", &alone), ("beside A", &attacked)] {
        println!(
            "school B {label:>9}: p50 {:.2?}, p99 {:.2?}, max {:.2?} ({} requests)",
            percentile(times, 0.5),
            percentile(times, 0.99),
            times[times.len() - 1],
            times.len()
        );
    }
    println!(
        "ratio beside A / alone: p50 {:.2}×, p99 {:.2}×",
        percentile(&attacked, 0.5).as_secs_f64() / percentile(&alone, 0.5).as_secs_f64(),
        percentile(&attacked, 0.99).as_secs_f64() / percentile(&alone, 0.99).as_secs_f64(),
    );
    println!(
        "school A's answers by HTTP status while B was measured ({window:.1?} and the ramp-up): {outcomes:?}"
    );
}
