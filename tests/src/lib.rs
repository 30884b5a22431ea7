//! Test support for the black-box suite: a fresh database per test (cloned from a migrated
//! template, on SQLite and PostgreSQL), a running server on a free port, and a reader of the
//! migrated catalog.
//!
//! Every test in `tests/tests/` is written once with [`backend_tests!`] and runs on both
//! backends; the test names say which (`…::sqlite::…`, `…::postgres::…`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

pub mod catalog;
mod db;
pub mod fixtures;

pub use db::{Backend, TestDb};

use std::net::SocketAddr;

use api::{app::Application, config::Config};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Writes every test once for each backend:
///
/// ```ignore
/// backend_tests! {
///     async fn health_answers(backend) { let app = spawn_app(backend).await; … }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $backend = $crate::Backend::Sqlite;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $backend = $crate::Backend::Postgres;
                    $body
                }
            )*
        }
    };
}

/// Turns on server logs for a test run when `TEST_LOG` is set.
fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        api::telemetry::init(api::config::LogFormat::Pretty, "debug,sqlx=warn,hyper=info");
    }
}

/// A server running on a free port over its own fresh database.
#[derive(Debug)]
pub struct TestApp {
    /// The database the server uses (dropped after the server stops).
    pub db: TestDb,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// An HTTP client.
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Starts a server on `backend` with a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    init_test_logging();
    let db = TestDb::new(backend).await;
    let url = db.url.clone();
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "BIND_ADDR" => Some("127.0.0.1:0".to_owned()),
        "JWT_SECRET" => Some("test-secret-that-is-long-enough-for-hs256".to_owned()),
        _ => None,
    })
    .expect("test configuration is valid");
    let app = Application::build(config)
        .await
        .expect("application builds");
    let addr = app.local_addr().expect("bound");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        db,
        addr,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
    }
}

impl TestApp {
    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL request and returns the HTTP status and the JSON body.
    pub async fn graphql(&self, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
