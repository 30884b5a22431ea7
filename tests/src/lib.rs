//! Test support for the black-box suite: a fresh database per test (cloned from a migrated
//! template, on SQLite and PostgreSQL), a running server on a free port, and a reader of the
//! migrated catalog.
//!
//! Every test in `tests/tests/` is written once with [`backend_tests!`] and runs on both
//! backends; the test names say which (`…::sqlite::…`, `…::postgres::…`).

// Test support reads and arranges the database directly, around the tenant layer, on purpose.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

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

/// The JWT secret test servers use.
pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
/// The bootstrap superadmin of every test server.
pub const ROOT_EMAIL: &str = "root@example.org";
/// Their password.
pub const ROOT_PASSWORD: &str = "root-password-123";
/// The slug of the school the bootstrap creates.
pub const FIRST_SCHOOL: &str = "first-school";
/// A password for users the tests create.
pub const PASSWORD: &str = "password-for-tests";

/// A server running on a free port over its own fresh database.
#[derive(Debug)]
pub struct TestApp {
    /// The database the server uses (dropped after the last server on it stops).
    pub db: std::sync::Arc<TestDb>,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The server's state (its statement counter, for N+1 tests).
    pub state: api::app::AppState,
    /// An HTTP client.
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

/// The import size limit of test servers (small, so over-limit files are cheap to make).
pub const IMPORT_MAX_BYTES: usize = 2 * 1024 * 1024;
/// The import row limit of test servers.
pub const IMPORT_MAX_ROWS: usize = 5_000;

/// Starts a server on `backend` with a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with some configuration variables set otherwise (benchmarks raise the
/// import limits).
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    init_test_logging();
    start(std::sync::Arc::new(TestDb::new(backend).await), overrides).await
}

/// Starts a server on `db`.
async fn start(db: std::sync::Arc<TestDb>, overrides: &[(&str, &str)]) -> TestApp {
    let url = db.url.clone();
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let config = Config::from_lookup(|name| match name {
        _ if overrides.iter().any(|(k, _)| k == name) => overrides
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone()),
        "DATABASE_URL" => Some(url.clone()),
        "BIND_ADDR" => Some("127.0.0.1:0".to_owned()),
        "JWT_SECRET" => Some(JWT_SECRET.to_owned()),
        "BOOTSTRAP_ADMIN_EMAIL" => Some(ROOT_EMAIL.to_owned()),
        "BOOTSTRAP_ADMIN_PASSWORD" => Some(ROOT_PASSWORD.to_owned()),
        "IMPORT_MAX_BYTES" => Some(IMPORT_MAX_BYTES.to_string()),
        "IMPORT_MAX_ROWS" => Some(IMPORT_MAX_ROWS.to_string()),
        _ => None,
    })
    .expect("test configuration is valid");
    let app = Application::build(config)
        .await
        .expect("application builds");
    let addr = app.local_addr().expect("bound");
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        db,
        addr,
        state,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
    }
}

impl TestApp {
    /// Another instance of the service on the same database (as behind a load balancer): its
    /// own pool, caches and port.
    pub async fn another_instance(&self) -> TestApp {
        start(self.db.clone(), &[]).await
    }

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

/// Who sends a request: credentials and the school header.
#[derive(Debug, Clone, Default)]
pub struct As {
    /// The bearer token, if any.
    pub token: Option<String>,
    /// The `X-School-Id` header, if any.
    pub school: Option<String>,
    /// The `Host` header, if not the default.
    pub host: Option<String>,
}

impl As {
    /// Nobody.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A bearer token, no school header.
    pub fn token(token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..Self::default()
        }
    }

    /// A bearer token with `X-School-Id: school`.
    pub fn in_school(token: &str, school: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            school: Some(school.to_owned()),
            host: None,
        }
    }
}

/// The `extensions.code` of a response's first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no error>")
}

impl TestApp {
    /// Sends a GraphQL request as `who`; returns the HTTP status and the JSON body.
    pub async fn gql(&self, who: &As, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &who.token {
            request = request.bearer_auth(token);
        }
        if let Some(school) = &who.school {
            request = request.header("x-school-id", school);
        }
        if let Some(host) = &who.host {
            request = request.header("host", host);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Sends a GraphQL multipart request (one file, as variable `file`) as `who`.
    pub async fn upload(
        &self,
        who: &As,
        query: &str,
        mut variables: Value,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        variables["file"] = Value::Null;
        let operations = json!({ "query": query, "variables": variables });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
            );
        let mut request = self.client.post(self.url("/graphql")).multipart(form);
        if let Some(token) = &who.token {
            request = request.bearer_auth(token);
        }
        if let Some(school) = &who.school {
            request = request.header("x-school-id", school);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Like [`TestApp::gql`], but panics on any error and returns `data`.
    pub async fn ok(&self, who: &As, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(who, query, variables).await;
        assert!(
            status == 200 && body.get("errors").is_none(),
            "{query}\n-> {status} {body}"
        );
        body["data"].clone()
    }

    /// How many rows `table` holds, counted around the tenant layer (test inspection only).
    pub async fn rows(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let backend = self.db.conn.get_database_backend();
        self.db
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT count(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("a row")
            .try_get::<i64>("", "n")
            .expect("a count")
    }

    /// Signs in; returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let data = self
            .ok(
                &As::anonymous(),
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({ "e": email, "p": password }),
            )
            .await;
        data["login"]["token"].as_str().expect("token").to_owned()
    }

    /// Signs in as the admin of a demo school made with slug `slug`, in that school.
    pub async fn demo_admin(&self, school: &api::services::demo::DemoSchool, slug: &str) -> As {
        let (_, email, password) = school
            .logins
            .iter()
            .find(|(role, _, _)| *role == "ADMIN")
            .expect("a demo school has an admin");
        As::in_school(&self.login(email, password).await, slug)
    }

    /// The bootstrap superadmin's session token.
    pub async fn root(&self) -> String {
        self.login(ROOT_EMAIL, ROOT_PASSWORD).await
    }

    /// Creates a school (as the superadmin); returns its id.
    pub async fn create_school(&self, root: &str, slug: &str) -> String {
        let data = self
            .ok(
                &As::token(root),
                "mutation($s: String!) { createSchool(input: { name: $s, slug: $s }) { id } }",
                json!({ "s": slug }),
            )
            .await;
        data["createSchool"]["id"].as_str().expect("id").to_owned()
    }

    /// Invites `email` into school `school` (id or slug) with `role`, and accepts the invitation
    /// as that person (choosing [`PASSWORD`] when the email is new); returns the user's id.
    pub async fn add_member(&self, root: &str, school: &str, email: &str, role: &str) -> String {
        let data = self
            .ok(
                &As::in_school(root, school),
                "mutation($e: String!, $r: Role!) {
                   createUser(input: { email: $e, fullName: \"Test User\", role: $r }) { code }
                 }",
                json!({ "e": email, "r": role }),
            )
            .await;
        // The person accepts with the code: choosing the password when the email is new,
        // else signed in.
        let code = data["createUser"]["code"].clone();
        let accept = "mutation($c: String!, $p: String) { acceptInvitation(code: $c, password: $p) { user { id } } }";
        let (_, body) = self
            .gql(
                &As::anonymous(),
                accept,
                json!({ "c": code, "p": PASSWORD }),
            )
            .await;
        let accepted = if body["errors"].is_null() {
            body["data"].clone()
        } else {
            let token = self.login(email, PASSWORD).await;
            self.ok(&As::token(&token), accept, json!({ "c": code }))
                .await
        };
        accepted["acceptInvitation"]["user"]["id"]
            .as_str()
            .expect("user id")
            .to_owned()
    }

    /// A member of `school` with `role`, signed in; returns their token.
    pub async fn member_token(&self, root: &str, school: &str, email: &str, role: &str) -> String {
        self.add_member(root, school, email, role).await;
        self.login(email, PASSWORD).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The names of the schema's mutations (tests that must cover every mutation walk this list).
pub async fn mutation_names() -> Vec<String> {
    let schema = api::graphql::schema_builder().finish();
    let data = schema
        .execute("{ __schema { mutationType { fields { name } } } }")
        .await
        .data
        .into_json()
        .expect("introspection answers JSON");
    data["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("a list of fields")
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect()
}

/// The entries of `ids` that `document` declares as variables (`$name:`).
pub fn vars_for(document: &str, ids: &Value) -> Value {
    let vars: serde_json::Map<String, Value> = ids
        .as_object()
        .map(|ids| {
            ids.iter()
                .filter(|(name, _)| document.contains(&format!("${name}:")))
                .map(|(name, id)| (name.clone(), id.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(vars)
}

impl TestApp {
    /// Builds a small school through the API as `who` and returns the ids of what it made:
    /// `year`, `term` (Sept–Jan), `subject`, `other_subject`, `teacher`, `class` (ז׳2),
    /// `student` (039337423, in the class), a second student (000000018), a grade, `guardian`,
    /// `enrollment`, and `missing` (an id nothing has).
    pub async fn roster(&self, who: &As) -> Value {
        let ok = |query: &'static str, vars: Value| async move {
            let data = self.ok(who, query, vars).await;
            let (_, value) = data
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("one field");
            value["id"].clone()
        };
        let year = ok("mutation { createAcademicYear(input: { name: \"2025-2026\", startDate: \"2025-09-01\", endDate: \"2026-06-20\", isCurrent: true }) { id } }", json!({})).await;
        let term = ok("mutation($y: UUID!) { createTerm(input: { academicYearId: $y, name: \"א\", startDate: \"2025-09-01\", endDate: \"2026-01-31\" }) { id } }", json!({ "y": year })).await;
        let subject = ok(
            "mutation { createSubject(input: { name: \"מתמטיקה\" }) { id } }",
            json!({}),
        )
        .await;
        let other_subject = ok(
            "mutation { createSubject(input: { name: \"אנגלית\" }) { id } }",
            json!({}),
        )
        .await;
        let teacher = ok(
            "mutation { createTeacher(input: { firstName: \"דנה\", lastName: \"לוי\" }) { id } }",
            json!({}),
        )
        .await;
        let class = ok("mutation($y: UUID!, $t: UUID!, $s: UUID!) { createClass(input: { academicYearId: $y, name: \"ז׳2\", gradeLevel: 7, subjectId: $s, teacherIds: [$t] }) { id } }", json!({ "y": year, "t": teacher, "s": subject })).await;
        let student = ok("mutation($c: UUID!) { createStudent(input: { studentTz: \"039337423\", firstName: \"נועה\", lastName: \"כהן\", classId: $c }) { id } }", json!({ "c": class })).await;
        ok("mutation { createStudent(input: { studentTz: \"000000018\", firstName: \"יעל\", lastName: \"כהן\" }) { id } }", json!({})).await;
        ok("mutation($s: UUID!, $sub: UUID!, $t: UUID!) { recordGrade(input: { studentId: $s, subjectId: $sub, termId: $t, score: 80, gradedOn: \"2025-10-01\" }) { id } }", json!({ "s": student, "sub": subject, "t": term })).await;
        let guardian = ok("mutation($s: UUID!) { createGuardian(input: { firstName: \"רחל\", lastName: \"כהן\", studentIds: [$s] }) { id } }", json!({ "s": student })).await;
        let enrollment = ok(
            "mutation($c: UUID!, $s: UUID!) { enrollStudent(classId: $c, studentId: $s) { id } }",
            json!({ "c": class, "s": student }),
        )
        .await;
        json!({ "year": year, "term": term, "subject": subject, "other_subject": other_subject,
                "teacher": teacher, "class": class, "student": student, "guardian": guardian,
                "enrollment": enrollment, "missing": uuid::Uuid::now_v7() })
    }
}
