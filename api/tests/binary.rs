//! The `api` binary as an operator runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Stdio, time::Duration};

use migration::MigratorTrait;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

const BIN: &str = env!("CARGO_BIN_EXE_api");

/// The binary with an empty environment (only `PATH`), run in `dir`.
fn api(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir)
        .kill_on_drop(true);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_from_an_empty_directory_with_no_configuration_and_creates_its_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    // Only the port is chosen, so that the test can run beside anything else on port 8000.
    let (mut child, base, _log) = serve_logging(dir.path(), &[]).await;

    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = client.get(format!("{base}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let graphiql = client.get(format!("{base}/graphiql")).send().await.unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.unwrap().contains("<html"));
    assert!(
        dir.path().join("data/school.db").is_file(),
        "the default SQLite file is created under ./data/"
    );

    // SIGTERM: the server finishes and exits cleanly.
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn production_without_a_jwt_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = api(dir.path())
        .env("APP_ENV", "production")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JWT_SECRET"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created before the configuration is valid"
    );
}

#[tokio::test]
async fn api_schema_prints_the_checked_in_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = api(dir.path()).arg("schema").output().await.unwrap();
    assert!(out.status.success());
    let checked_in =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql"))
            .unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == checked_in,
        "`api schema` differs from schema.graphql: run `cargo run -p api -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn migrate_up_status_and_down_report_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &'static [&'static str]| {
        let mut cmd = api(dir.path());
        cmd.args(args)
            .env("DATABASE_URL", "sqlite://ops.db?mode=rwc");
        async move {
            let out = cmd.output().await.unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let all = migration::Migrator::migrations().len();
    let count = |status: &str, state: &str| status.lines().filter(|l| l.starts_with(state)).count();
    let status = run(&["migrate", "status"]).await;
    assert_eq!(count(&status, "Pending"), all, "{status}");

    run(&["migrate", "up"]).await;
    let status = run(&["migrate", "status"]).await;
    assert_eq!(count(&status, "Applied"), all, "{status}");

    run(&["migrate", "down"]).await;
    let status = run(&["migrate", "status"]).await;
    assert_eq!(count(&status, "Applied"), all - 1, "{status}");

    run(&["migrate", "down", "--all"]).await;
    let status = run(&["migrate", "status"]).await;
    assert_eq!(count(&status, "Pending"), all, "{status}");
}

#[tokio::test]
async fn api_bootstrap_creates_the_first_superadmin_once_and_shows_a_generated_password() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut cmd = api(dir.path());
        cmd.arg("bootstrap")
            .env("DATABASE_URL", "sqlite://boot.db?mode=rwc");
        cmd
    };
    let first = run().output().await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let banner = String::from_utf8_lossy(&first.stderr);
    assert!(
        banner.contains("admin@localhost") && banner.contains("password:"),
        "{banner}"
    );
    let second = run().output().await.unwrap();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("nothing to do"));
    assert!(
        !String::from_utf8_lossy(&second.stderr).contains("password:"),
        "shown only once"
    );
}

/// Starts the binary on a fresh SQLite file with `env`; returns it, its base URL and its log
/// lines from then on.
async fn serve_logging(
    dir: &Path,
    env: &[(&str, &str)],
) -> (
    tokio::process::Child,
    String,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let mut cmd = api(dir);
    cmd.env("BIND_ADDR", "127.0.0.1:0").stdout(Stdio::piped());
    for (name, value) in env {
        cmd.env(name, value);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server starts within a minute");
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    (child, base, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_give_numeric_latency_the_operation_and_the_callers_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, base, mut log) = serve_logging(dir.path(), &[("LOG_FORMAT", "json")]).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let answer = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({ "query": "query WhichVersion { apiVersion }", "operationName": "WhichVersion" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let line = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = log.recv().await {
            if line.contains("\"answered\"") {
                return line;
            }
        }
        panic!("the log ended")
    })
    .await
    .expect("the request is logged");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(entry["latency_ms"].is_f64(), "{entry}");
    assert_eq!(entry["status"], 200, "{entry}");
    let span = &entry["span"];
    assert_eq!(span["trace_id"], trace, "{entry}");
    assert_eq!(span["parent_span_id"], "00f067aa0ba902b7", "{entry}");
    assert_eq!(span["operation"], "query:apiVersion", "{entry}");
    assert_eq!(span["operation_name"], "WhichVersion", "{entry}");
}

#[tokio::test]
async fn a_postgres_database_that_does_not_exist_is_named_with_what_to_do() {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let Some((server, _)) = server.rsplit_once('/') else {
        panic!("TEST_DATABASE_URL has no database: {server}");
    };
    let dir = tempfile::tempdir().unwrap();
    let out = api(dir.path())
        .env("DATABASE_URL", format!("{server}/no_such_school_db"))
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("the database `no_such_school_db` does not exist")
            && said.contains("createdb no_such_school_db"),
        "{said}"
    );
}
