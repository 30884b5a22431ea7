//! Imports (DESIGN §6): a school's file is read into a polars frame, every row is validated
//! against the school's data, and the valid rows are written in one transaction of that school.
//! The `ImportLog` row is written in its own transactions, so it survives a failed import and
//! tells what happened.

pub mod attendance;
pub mod grades;
pub mod oneroster;
pub mod package;
pub mod parse;
pub mod students;
pub mod table;

use std::collections::BTreeSet;

use chrono::Utc;
use entity::{
    enums::ImportStatus,
    ids::{ImportLogId, SchoolId},
    import_log,
    tenant::TenantTx,
};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, IntoActiveModel, TryIntoModel};
use serde::Serialize;

use crate::tenant::Actor;

/// The national-id column every file has, by its English and Hebrew names.
pub const STUDENT_TZ: table::Spec = table::Spec {
    name: "student_tz",
    required: true,
    aliases: &[
        "ת.ז",
        "ת\"ז",
        "תז",
        "תעודת זהות",
        "מספר זהות",
        "tz",
        "national_id",
    ],
};

/// The student of row `i` by its national id, or the row's problem (missing, invalid, or not a
/// student of this school).
pub fn student_of(
    table: &table::Table,
    i: usize,
    students: &std::collections::HashMap<String, entity::ids::StudentId>,
    problems: &mut Problems,
) -> Option<entity::ids::StudentId> {
    match table
        .cell("student_tz", i)
        .map(crate::rules::StudentTz::parse)
    {
        None => {
            problems.add(i, "student_tz", "REQUIRED", "the national id is missing");
            None
        }
        Some(Err(e)) => {
            problems.add(i, "student_tz", "INVALID_TZ", e.to_string());
            None
        }
        Some(Ok(tz)) => {
            let id = students.get(tz.as_str()).copied();
            if id.is_none() {
                problems.add(
                    i,
                    "student_tz",
                    "UNKNOWN_STUDENT",
                    "no student of this school has this national id",
                );
            }
            id
        }
    }
}

/// The school's students a file names (each once), for narrowing what is loaded to match rows.
pub fn students_in(
    table: &table::Table,
    students: &std::collections::HashMap<String, entity::ids::StudentId>,
) -> Vec<entity::ids::StudentId> {
    (0..table.height())
        .filter_map(|i| table.cell("student_tz", i))
        .filter_map(|text| crate::rules::StudentTz::parse(text).ok())
        .filter_map(|tz| students.get(tz.as_str()).copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Students (the roster).
    Students,
    /// Grades.
    Grades,
    /// Attendance.
    Attendance,
    /// A OneRoster CSV package (zip).
    OneRoster,
}

impl ImportKind {
    /// The value stored in `import_logs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Students => "STUDENTS",
            ImportKind::Grades => "GRADES",
            ImportKind::Attendance => "ATTENDANCE",
            ImportKind::OneRoster => "ONE_ROSTER",
        }
    }
}

/// What to do with the valid rows when some rows are bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Write nothing unless every row is valid.
    AllOrNothing,
    /// Write the valid rows and report the others.
    ValidRows,
}

impl ImportMode {
    /// The value stored in `import_logs.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::AllOrNothing => "ALL_OR_NOTHING",
            ImportMode::ValidRows => "VALID_ROWS",
        }
    }
}

/// How an import is run.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Validate and report only.
    pub dry_run: bool,
    /// All or nothing, or the valid rows.
    pub mode: ImportMode,
    /// The most data rows a file may have.
    pub max_rows: usize,
    /// The most bytes a package's files may hold once unpacked.
    pub max_unpacked_bytes: usize,
    /// OneRoster: the sourcedId of the org that is this school (default: the package's only
    /// school org).
    pub org: Option<String>,
}

/// One problem with one row (or, with row 0, the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The line of the file (the header is line 1); 0 for the whole file.
    pub row: usize,
    /// Our name of the column concerned, if any.
    pub column: Option<String>,
    /// A stable code, e.g. `INVALID_TZ`.
    pub code: &'static str,
    /// What is wrong, for a person (never a health detail).
    pub message: String,
}

/// The most row errors kept on an import log.
pub const MAX_STORED_ERRORS: usize = 1_000;

/// What one row will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    /// A new record.
    Insert,
    /// An existing record changes.
    Update,
    /// An existing record already says this.
    Unchanged,
    /// The row is bad.
    Failed,
    /// The row is not for us (another org's record, or a kind of record we do not keep).
    Skipped,
}

/// What each row will do: rows with problems fail, rows matching no record insert, rows matching
/// a record update it unless `same` says the record already holds the row.
pub fn classify<R, M>(
    problems: &Problems,
    rows: &[Option<(R, Option<&M>)>],
    same: impl Fn(&M, &R) -> bool,
) -> Vec<RowAction> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| match row {
            _ if problems.failed(i) => RowAction::Failed,
            None => RowAction::Failed,
            Some((_, None)) => RowAction::Insert,
            Some((row, Some(current))) if same(current, row) => RowAction::Unchanged,
            Some(_) => RowAction::Update,
        })
        .collect()
}

/// Writes a changed record back whole (every column, as the import computed it).
pub async fn write_back<A>(tx: &TenantTx, model: A, what: &'static str) -> Result<(), DbErr>
where
    A: sea_orm::ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    A::Entity: entity::tenant::TenantScoped,
    <A::Entity as sea_orm::EntityTrait>::Model: IntoActiveModel<A>,
{
    tx.update(model.reset_all())
        .await
        .map(|_| ())
        .map_err(db_error(what))
}

/// A tenant-layer error as a database error (a record gone is `RecordNotFound`).
fn db_error(what: &'static str) -> impl Fn(entity::tenant::TenantError) -> DbErr {
    move |e| match e {
        entity::tenant::TenantError::Db(e) => e,
        entity::tenant::TenantError::NotFound => DbErr::RecordNotFound(what.into()),
    }
}

/// The result of validating and (maybe) writing a file.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Data rows in the file.
    pub rows_total: usize,
    /// Rows written (new or changed).
    pub rows_ok: usize,
    /// Rows already up to date.
    pub rows_unchanged: usize,
    /// Rows with errors.
    pub rows_failed: usize,
    /// Rows not for this school (other orgs' records, kinds of records we do not keep).
    pub rows_skipped: usize,
    /// The errors, in row order.
    pub errors: Vec<RowError>,
}

/// Collects errors by row while a file is validated.
#[derive(Debug, Default)]
pub struct Problems {
    errors: Vec<RowError>,
    failed: BTreeSet<usize>,
}

impl Problems {
    /// Keeps the value of a rule that held, or records the cell that broke it (the code is the
    /// one the API gives for the same value).
    pub fn take<T>(
        &mut self,
        index: usize,
        column: &str,
        checked: Result<T, crate::rules::Broken>,
    ) -> Option<T> {
        match checked {
            Ok(value) => Some(value),
            Err(broken) => {
                self.add(index, column, broken.code, broken.message);
                None
            }
        }
    }

    /// Records a problem with data row `index` (0-based) in `column`.
    pub fn add(
        &mut self,
        index: usize,
        column: &str,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.failed.insert(index);
        self.errors.push(RowError {
            row: index + 2,
            column: Some(column.to_owned()),
            code,
            message: message.into(),
        });
    }

    /// Whether data row `index` has a problem.
    pub fn failed(&self, index: usize) -> bool {
        self.failed.contains(&index)
    }

    /// Whether any row has a problem.
    pub fn any(&self) -> bool {
        !self.failed.is_empty()
    }

    /// Builds the outcome from each row's action.
    pub fn outcome(mut self, actions: &[RowAction], written: bool) -> Outcome {
        self.errors.sort_by_key(|e| e.row);
        let count = |a: RowAction| actions.iter().filter(|x| **x == a).count();
        let changed = count(RowAction::Insert) + count(RowAction::Update);
        Outcome {
            rows_total: actions.len(),
            rows_ok: if written { changed } else { 0 },
            rows_unchanged: count(RowAction::Unchanged),
            rows_failed: self.failed.len(),
            rows_skipped: count(RowAction::Skipped),
            errors: self.errors,
        }
    }
}

/// Why an import could not run at all (the file is refused, or the database failed).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole is unusable.
    #[error(transparent)]
    File(#[from] table::FileError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The latest state of each running import, by school and log id.
type Running = std::collections::HashMap<(SchoolId, ImportLogId), import_log::Model>;

/// Live updates of running imports, for the `importProgress` subscription and for reading a
/// running import's log. Every update names its school; subscribers see only their own
/// school's.
#[derive(Debug, Clone)]
pub struct ImportEvents {
    sender: tokio::sync::broadcast::Sender<(SchoolId, import_log::Model)>,
    running: std::sync::Arc<std::sync::Mutex<Running>>,
    /// This instance's name in the leases of the imports it runs.
    instance: String,
}

impl Default for ImportEvents {
    fn default() -> Self {
        Self {
            sender: tokio::sync::broadcast::channel(1024).0,
            running: Default::default(),
            instance: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// How long an import's lease lasts without renewal.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(60);
/// How often a running import renews its lease.
pub const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(15);

impl ImportEvents {
    /// Events of the instance named `instance` in import leases.
    pub fn for_instance(instance: String) -> Self {
        Self {
            instance,
            ..Self::default()
        }
    }

    /// This instance's name in import leases.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Sends `log` of `school` to current subscribers, and keeps it while the import runs.
    pub fn publish(&self, school: SchoolId, log: &import_log::Model) {
        if let Ok(mut running) = self.running.lock() {
            if matches!(log.status, ImportStatus::Running | ImportStatus::Pending) {
                running.insert((school, log.id), log.clone());
            } else {
                running.remove(&(school, log.id));
            }
        }
        // No subscriber is not an error.
        let _ = self.sender.send((school, log.clone()));
    }

    /// Updates from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<(SchoolId, import_log::Model)> {
        self.sender.subscribe()
    }

    /// `stored` (a log `school` read in its own scope), with the progress of the import if it
    /// is still running in this process: the stored row is updated only when the import ends.
    pub fn freshest(&self, school: SchoolId, stored: import_log::Model) -> import_log::Model {
        if stored.status != ImportStatus::Running {
            return stored;
        }
        self.running
            .lock()
            .ok()
            .and_then(|running| running.get(&(school, stored.id)).cloned())
            .unwrap_or(stored)
    }
}

/// Reports rows written while an import runs (at most every 200 ms).
#[derive(Debug)]
pub struct Progress<'a> {
    events: &'a ImportEvents,
    school: SchoolId,
    log: std::sync::Mutex<(import_log::Model, std::time::Instant)>,
}

impl Progress<'_> {
    /// Notes that `rows` more rows were handled.
    pub fn advance(&self, rows: usize) {
        if let Ok(mut guard) = self.log.lock() {
            let (log, last) = &mut *guard;
            log.rows_processed = log.rows_processed.saturating_add(count(rows));
            if last.elapsed() >= std::time::Duration::from_millis(200) {
                *last = std::time::Instant::now();
                self.events.publish(self.school, log);
            }
        }
    }

    fn set_total(&self, rows: usize) {
        if let Ok(mut guard) = self.log.lock() {
            guard.0.rows_total = count(rows);
            self.events.publish(self.school, &guard.0);
        }
    }
}

/// Runs an import of `bytes` for `school` and returns its log: [`start`], then [`complete`].
/// The file's problems are in the log, not an error: only a database failure is.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    db: &DatabaseConnection,
    events: &ImportEvents,
    school: SchoolId,
    actor: &Actor,
    kind: ImportKind,
    file_name: &str,
    bytes: Vec<u8>,
    options: ImportOptions,
) -> Result<import_log::Model, DbErr> {
    let log = start(db, events, school, actor, kind, file_name, &options).await?;
    complete(
        db,
        events,
        school,
        (log, actor.clone()),
        kind,
        bytes,
        options,
    )
    .await
}

/// Writes the import's log, `RUNNING`, in its own transaction, and announces it.
pub async fn start(
    db: &DatabaseConnection,
    events: &ImportEvents,
    school: SchoolId,
    actor: &Actor,
    kind: ImportKind,
    file_name: &str,
    options: &ImportOptions,
) -> Result<import_log::Model, DbErr> {
    let now = Utc::now();
    let log = {
        let tx = TenantTx::begin_write(db, school).await?;
        let log = tx
            .insert(import_log::ActiveModel {
                id: Set(ImportLogId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                kind: Set(kind.as_str().to_owned()),
                // The name comes from the client's form: control characters are dropped, so
                // both backends can store it.
                file_name: Set(crate::rules::clean_text(
                    &file_name.replace(|c: char| c.is_control(), ""),
                )
                .unwrap_or_else(|| "upload".to_owned())
                .chars()
                .take(200)
                .collect()),
                status: Set(ImportStatus::Running),
                dry_run: Set(options.dry_run),
                mode: Set(options.mode.as_str().to_owned()),
                errors: Set(serde_json::json!([])),
                started_by: Set(match actor {
                    Actor::User(u) => Some(u.id),
                    Actor::ApiToken(_) => None,
                }),
                started_at: Set(Some(now)),
                lease_owner: Set(Some(events.instance().to_owned())),
                lease_expires_at: Set(Some(now + lease())),
                ..Default::default()
            })
            .await?;
        tx.commit().await?;
        log
    };
    events.publish(school, &log);
    Ok(log)
}

/// Reads, validates and writes the file of the import `log` (from [`start`]), then records and
/// announces the outcome.
pub async fn complete(
    db: &DatabaseConnection,
    events: &ImportEvents,
    school: SchoolId,
    (log, actor): (import_log::Model, Actor),
    kind: ImportKind,
    bytes: Vec<u8>,
    options: ImportOptions,
) -> Result<import_log::Model, DbErr> {
    let progress = Progress {
        events,
        school,
        log: std::sync::Mutex::new((log.clone(), std::time::Instant::now())),
    };
    let file_name = log.file_name.clone();
    // The lease is renewed while the import runs, in a task of its own.
    let renewal = tokio::spawn(renew_lease(
        db.clone(),
        school,
        log.id,
        events.instance().to_owned(),
    ));
    let result = import(db, school, kind, &file_name, bytes, &options, &progress).await;
    renewal.abort();
    // The rows an import wrote and its final log commit together, in the import's own
    // transaction: a crash before that commit leaves neither (the log stays RUNNING and is
    // marked failed at the next start), a crash after it leaves both.
    let (result, tx, wrote) = match result {
        Ok((outcome, Some(tx))) => (Ok(outcome), Ok(tx), true),
        Ok((outcome, None)) => (Ok(outcome), TenantTx::begin_write(db, school).await, false),
        Err(e) => (Err(e), TenantTx::begin_write(db, school).await, false),
    };
    let tx = match tx {
        Ok(tx) => tx,
        Err(e) => {
            // No turn to write the outcome in: whoever watches this import is told now; the
            // log is marked failed at the next start (nothing of the import was committed).
            let mut failed = log;
            failed.status = ImportStatus::Failed;
            failed.rows_ok = 0;
            failed.message = Some("the import could not be finished; nothing was written".into());
            events.publish(school, &failed);
            return Err(e);
        }
    };
    let mut row = log.into_active_model();
    match &result {
        Ok(outcome) => {
            let status = if outcome.rows_failed == 0 {
                ImportStatus::Succeeded
            } else if outcome.rows_ok + outcome.rows_unchanged > 0
                && options.mode == ImportMode::ValidRows
            {
                ImportStatus::Partial
            } else {
                ImportStatus::Failed
            };
            row.status = Set(status);
            row.rows_total = Set(count(outcome.rows_total));
            row.rows_processed = Set(count(outcome.rows_total));
            row.rows_ok = Set(count(outcome.rows_ok));
            row.rows_failed = Set(count(outcome.rows_failed));
            row.rows_unchanged = Set(count(outcome.rows_unchanged));
            row.errors = Set(errors_json(&outcome.errors));
            row.message = Set(Some(summary(outcome, &options)));
        }
        Err(ImportError::File(e)) => {
            row.status = Set(ImportStatus::Failed);
            row.errors = Set(errors_json(&[RowError {
                row: 0,
                column: e.column.clone(),
                code: e.code,
                message: e.message.clone(),
            }]));
            row.message = Set(Some(e.message.clone()));
        }
        Err(ImportError::Db(e)) => {
            tracing::error!(error = %e, "import failed in the database");
            row.status = Set(ImportStatus::Failed);
            row.message = Set(Some(
                "the import failed inside the database; nothing was written".to_owned(),
            ));
        }
    }
    row.finished_at = Set(Some(Utc::now()));
    row.updated_at = Set(Utc::now());
    let failed = row.clone();
    let log = match tx.update(row).await {
        // An import that wrote rows is on the audit log, in the same transaction.
        Ok(log) if wrote => {
            let action = format!("import.{}", kind.as_str().to_lowercase().replace('_', ""));
            let entry = crate::services::audit::Entry::new(&action)
                .on("import_log", log.id)
                .details(serde_json::json!({ "rowsOk": log.rows_ok, "file": log.file_name }));
            match crate::services::audit::write(&tx, Some(&actor), entry).await {
                Ok(()) => tx.commit().await.map(|()| log),
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e)
                }
            }
        }
        Ok(log) => tx.commit().await.map(|()| log),
        Err(e) => {
            // End this transaction (and its writer turn) before anything else is tried.
            let _ = tx.rollback().await;
            Err(db_error("import log")(e))
        }
    };
    let log = match log {
        Ok(log) => log,
        Err(e) => {
            // Nothing of the import committed: say so in a transaction of its own.
            tracing::error!(error = %e, "an import's last commit failed");
            let mut failed = failed;
            failed.status = Set(ImportStatus::Failed);
            failed.rows_ok = Set(0);
            failed.message = Set(Some(
                "the import failed inside the database; nothing was written".to_owned(),
            ));
            match record_failure(db, school, failed.clone()).await {
                Ok(log) => log,
                Err(e) => {
                    // The log stays RUNNING in the database until the next start marks it
                    // failed; whoever watches this import is told now.
                    if let Ok(model) = failed.try_into_model() {
                        events.publish(school, &model);
                    }
                    return Err(e);
                }
            }
        }
    };
    events.publish(school, &log);
    Ok(log)
}

async fn record_failure(
    db: &DatabaseConnection,
    school: SchoolId,
    failed: import_log::ActiveModel,
) -> Result<import_log::Model, DbErr> {
    let tx = TenantTx::begin_write(db, school).await?;
    let log = tx.update(failed).await.map_err(db_error("import log"))?;
    tx.commit().await?;
    Ok(log)
}

fn lease() -> chrono::Duration {
    chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::minutes(1))
}

/// Renews the lease of the import `log` every [`LEASE_RENEWAL`] for as long as it runs here
/// (the caller aborts this task when the import ends).
async fn renew_lease(db: DatabaseConnection, school: SchoolId, log: ImportLogId, instance: String) {
    use sea_orm::{ColumnTrait, sea_query::Expr};
    loop {
        tokio::time::sleep(LEASE_RENEWAL).await;
        let renewed = async {
            let tx = TenantTx::begin_write(&db, school).await?;
            tx.update_where::<import_log::Entity>(
                vec![(
                    import_log::Column::LeaseExpiresAt,
                    Expr::value(Utc::now() + lease()),
                )],
                sea_orm::Condition::all()
                    .add(import_log::Column::Id.eq(log))
                    .add(import_log::Column::Status.eq(ImportStatus::Running))
                    .add(import_log::Column::LeaseOwner.eq(instance.clone())),
            )
            .await?;
            tx.commit().await
        };
        if let Err(e) = renewed.await {
            tracing::warn!(error = %e, "an import's lease could not be renewed");
        }
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn errors_json(errors: &[RowError]) -> serde_json::Value {
    serde_json::to_value(&errors[..errors.len().min(MAX_STORED_ERRORS)])
        .unwrap_or_else(|_| serde_json::json!([]))
}

fn summary(outcome: &Outcome, options: &ImportOptions) -> String {
    let verb = if options.dry_run {
        "would write"
    } else {
        "wrote"
    };
    let written = if options.dry_run {
        outcome
            .rows_total
            .saturating_sub(outcome.rows_failed + outcome.rows_unchanged + outcome.rows_skipped)
    } else {
        outcome.rows_ok
    };
    let mut text = format!(
        "{} rows: {verb} {written}, {} unchanged, {} with errors",
        outcome.rows_total, outcome.rows_unchanged, outcome.rows_failed
    );
    if outcome.rows_skipped > 0 {
        text.push_str(&format!(
            ", {} skipped (other organisations, or records this service does not keep)",
            outcome.rows_skipped
        ));
    }
    if outcome.rows_failed > 0 && options.mode == ImportMode::AllOrNothing && !options.dry_run {
        text.push_str("; nothing was written (all or nothing)");
    }
    text
}

/// Reads, validates and (unless told not to) writes, in one transaction. When rows were
/// written, that transaction is returned uncommitted, for the log to commit with them.
async fn import(
    db: &DatabaseConnection,
    school: SchoolId,
    kind: ImportKind,
    file_name: &str,
    bytes: Vec<u8>,
    options: &ImportOptions,
    progress: &Progress<'_>,
) -> Result<(Outcome, Option<TenantTx>), ImportError> {
    if kind == ImportKind::OneRoster {
        return import_package(db, school, bytes, options, progress).await;
    }
    let specs = match kind {
        ImportKind::Students => students::COLUMNS,
        ImportKind::Grades => grades::COLUMNS,
        ImportKind::Attendance => attendance::COLUMNS,
        ImportKind::OneRoster => &[],
    };
    let name = file_name.to_owned();
    let (max_rows, max_unpacked) = (options.max_rows, options.max_unpacked_bytes as u64);
    let started = std::time::Instant::now();
    // polars runs its own threads and must not run on an async worker.
    let table = tokio::task::spawn_blocking(move || {
        table::read(&name, &bytes, specs, max_rows, max_unpacked)
    })
    .await
    .map_err(|e| DbErr::Custom(format!("the file reader stopped: {e}")))??;
    let read = started.elapsed();
    progress.set_total(table.height());
    let tx = begin(db, school, options).await?;
    let write = |problems: &Problems| {
        !options.dry_run && (options.mode == ImportMode::ValidRows || !problems.any())
    };
    let (outcome, written) = match kind {
        ImportKind::Students => students::import(&tx, &table, write, progress).await?,
        ImportKind::Grades => grades::import(&tx, &table, write, progress).await?,
        ImportKind::Attendance => attendance::import(&tx, &table, write, progress).await?,
        ImportKind::OneRoster => (Outcome::default(), false),
    };
    tracing::info!(
        kind = kind.as_str(),
        rows = outcome.rows_total,
        written = outcome.rows_ok,
        read_ms = read.as_millis() as u64,
        process_ms = (started.elapsed() - read).as_millis() as u64,
        "import checked and written, not yet committed"
    );
    finish(tx, outcome, written).await
}

/// The import's transaction: a dry run only reads, so it never takes SQLite's writer turn
/// (and never holds up another school's writes); a real import takes it before it checks the
/// rows, so what it checked is what it writes over.
async fn begin(
    db: &DatabaseConnection,
    school: SchoolId,
    options: &ImportOptions,
) -> Result<TenantTx, DbErr> {
    if options.dry_run {
        TenantTx::begin(db, school).await
    } else {
        TenantTx::begin_write(db, school).await
    }
}

/// The import's transaction, kept for the log when it wrote rows, else rolled back.
async fn finish(
    tx: TenantTx,
    outcome: Outcome,
    written: bool,
) -> Result<(Outcome, Option<TenantTx>), ImportError> {
    if written {
        Ok((outcome, Some(tx)))
    } else {
        tx.rollback().await?;
        Ok((outcome, None))
    }
}

/// Reads a OneRoster package, validates it and (unless told not to) writes it, in one
/// transaction.
async fn import_package(
    db: &DatabaseConnection,
    school: SchoolId,
    bytes: Vec<u8>,
    options: &ImportOptions,
    progress: &Progress<'_>,
) -> Result<(Outcome, Option<TenantTx>), ImportError> {
    let (max_unpacked, max_rows) = (options.max_unpacked_bytes, options.max_rows);
    let source =
        tokio::task::spawn_blocking(move || oneroster::read(&bytes, max_unpacked, max_rows))
            .await
            .map_err(|e| DbErr::Custom(format!("the file reader stopped: {e}")))??;
    let tx = begin(db, school, options).await?;
    let write = |problems: &Problems| {
        !options.dry_run && (options.mode == ImportMode::ValidRows || !problems.any())
    };
    let (outcome, written) =
        match oneroster::import(&tx, &source, options.org.as_deref(), write, progress).await {
            Ok(done) => done,
            Err(oneroster::ImportFailure::File(e)) => return Err(ImportError::File(e)),
            Err(oneroster::ImportFailure::Db(e)) => return Err(ImportError::Db(e)),
        };
    finish(tx, outcome, written).await
}

/// Marks imports left `RUNNING` by a stopped instance as failed: those whose lease has expired
/// (an import another live instance runs renews its lease and is left alone). School by school,
/// each in its own scope, so it runs under row-level security as the runtime role. Called at
/// start-up, before the server takes requests, and every minute while it serves; returns how
/// many there were. Such an import's rows were never committed: they commit only together with
/// the log's final state.
///
/// `restarted` is this instance's own name at start-up (the imports it left before a restart
/// are failed too); `None` while serving, when its own imports are running.
pub async fn fail_interrupted(
    db: &DatabaseConnection,
    restarted: Option<&str>,
) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, Condition, sea_query::Expr};
    let left_behind = |now: chrono::DateTime<Utc>| {
        let expired = Condition::any()
            .add(import_log::Column::LeaseExpiresAt.is_null())
            .add(import_log::Column::LeaseExpiresAt.lt(now));
        Condition::all()
            .add(import_log::Column::Status.eq(ImportStatus::Running))
            .add(match restarted {
                // This instance's own from before a restart: it runs none yet.
                Some(me) => expired.add(import_log::Column::LeaseOwner.eq(me)),
                None => expired,
            })
    };
    let mut failed = 0;
    for school in crate::platform::school_ids(db).await? {
        // Read first: a school with nothing left behind costs no write (on SQLite, no turn).
        let read = TenantTx::begin(db, school).await?;
        let found = read
            .count(
                read.find::<import_log::Entity>()
                    .filter(left_behind(Utc::now())),
            )
            .await?;
        read.commit().await?;
        if found == 0 {
            continue;
        }
        let tx = TenantTx::begin_write(db, school).await?;
        let now = Utc::now();
        failed += tx
            .update_where::<import_log::Entity>(
                vec![
                    (
                        import_log::Column::Status,
                        Expr::value(ImportStatus::Failed),
                    ),
                    (
                        import_log::Column::Message,
                        Expr::value(
                            "the server stopped while this import ran; nothing of it was written",
                        ),
                    ),
                    (import_log::Column::FinishedAt, Expr::value(now)),
                    (import_log::Column::UpdatedAt, Expr::value(now)),
                ],
                left_behind(now),
            )
            .await?;
        tx.commit().await?;
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(
        school: SchoolId,
        id: ImportLogId,
        status: ImportStatus,
        processed: i32,
    ) -> import_log::Model {
        import_log::Model {
            school_id: school,
            id,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            kind: "GRADES".into(),
            file_name: "g.csv".into(),
            status,
            dry_run: false,
            mode: "ALL_OR_NOTHING".into(),
            rows_total: 100,
            rows_processed: processed,
            rows_ok: 0,
            rows_failed: 0,
            rows_unchanged: 0,
            errors: serde_json::json!([]),
            message: None,
            started_by: None,
            started_at: None,
            finished_at: None,
            lease_owner: None,
            lease_expires_at: None,
        }
    }

    #[test]
    fn a_running_imports_log_reads_with_its_live_progress_in_its_own_school_only() {
        let events = ImportEvents::default();
        let (a, b, id) = (
            SchoolId::generate(),
            SchoolId::generate(),
            ImportLogId::generate(),
        );
        let stored = log(a, id, ImportStatus::Running, 0);
        events.publish(a, &log(a, id, ImportStatus::Running, 40));
        assert_eq!(events.freshest(a, stored.clone()).rows_processed, 40);
        // The same id read as another school's row is not overlaid.
        assert_eq!(
            events
                .freshest(b, log(b, id, ImportStatus::Running, 0))
                .rows_processed,
            0
        );
        // Once the import ends, the stored row is the truth.
        events.publish(a, &log(a, id, ImportStatus::Succeeded, 100));
        assert_eq!(events.freshest(a, stored).rows_processed, 0);
    }
}
