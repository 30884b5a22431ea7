//! Running an import: its log (written in transactions of its own, so it survives a failed
//! import), its lease while it runs, its progress events, and marking imports a stopped
//! instance left running as failed.

use chrono::Utc;
use entity::enums::ImportStatus;
use entity::ids::ImportLogId;
use entity::ids::SchoolId;
use entity::import_log;
use entity::tenant::TenantTx;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, IntoActiveModel, TryIntoModel};

use super::*;
use crate::tenant::Actor;

/// The latest state of each running import, by school and log id.
pub(crate) type Running = std::collections::HashMap<(SchoolId, ImportLogId), import_log::Model>;

/// Live updates of running imports, for the `importProgress` subscription and for reading a
/// running import's log. Every update names its school; subscribers see only their own
/// school's.
#[derive(Debug, Clone)]
pub struct ImportEvents {
    sender: tokio::sync::broadcast::Sender<(SchoolId, import_log::Model)>,
    running: std::sync::Arc<std::sync::Mutex<Running>>,
    /// This instance's name in the leases of the imports it runs.
    instance: String,
    /// Imports that ended, by kind and status (for `/metrics`).
    ended: Option<prometheus::IntCounterVec>,
}

impl Default for ImportEvents {
    fn default() -> Self {
        Self {
            sender: tokio::sync::broadcast::channel(1024).0,
            running: Default::default(),
            instance: uuid::Uuid::new_v4().to_string(),
            ended: None,
        }
    }
}

impl ImportEvents {
    /// Events of the instance named `instance` in import leases, counting the imports that
    /// end in `ended`.
    pub fn for_instance(instance: String, ended: prometheus::IntCounterVec) -> Self {
        Self {
            instance,
            ended: Some(ended),
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
            } else if running.remove(&(school, log.id)).is_some()
                && let Some(ended) = &self.ended
            {
                let status = format!("{:?}", log.status).to_ascii_uppercase();
                ended.with_label_values(&[&log.kind, &status]).inc();
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

    pub(crate) fn set_total(&self, rows: usize) {
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

/// Writes what an import found onto its log row: counts, errors, message and how the file's
/// headers were read; or why it failed.
fn record(
    row: &mut import_log::ActiveModel,
    result: &Result<Outcome, ImportError>,
    options: &ImportOptions,
) {
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
            row.message = Set(Some(summary(outcome, options)));
            if !outcome.columns.is_empty() {
                row.columns = Set(Some(columns_json(&outcome.columns)));
            }
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
}

/// How the file's headers were read, for the log: a header is kept to 200 characters, so the
/// log stays small whatever the file's header cells hold.
fn columns_json(columns: &[table::Header]) -> serde_json::Value {
    serde_json::Value::Array(
        columns
            .iter()
            .map(|(header, field)| {
                let header: String = header.chars().take(200).collect();
                serde_json::json!({ "header": header, "field": field })
            })
            .collect(),
    )
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
    record(&mut row, &result, &options);
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

pub(crate) fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(crate) fn errors_json(errors: &[RowError]) -> serde_json::Value {
    serde_json::to_value(&errors[..errors.len().min(MAX_STORED_ERRORS)])
        .unwrap_or_else(|_| serde_json::json!([]))
}

pub(crate) fn summary(outcome: &Outcome, options: &ImportOptions) -> String {
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
    for note in &outcome.notes {
        text.push_str("; ");
        text.push_str(note);
    }
    text
}

/// Reads, validates and (unless told not to) writes, in one transaction. When rows were
/// written, that transaction is returned uncommitted, for the log to commit with them.
pub(crate) async fn import(
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
    let specs = if options.wide.is_some() {
        wide::SPECS
    } else {
        fields(kind)
    };
    let mapping = options.columns.clone();
    let layout = options.wide.clone();
    let name = file_name.to_owned();
    let (max_rows, max_unpacked) = (options.max_rows, options.max_unpacked_bytes as u64);
    let started = std::time::Instant::now();
    // polars runs its own threads and must not run on an async worker.
    let (table, origin) = tokio::task::spawn_blocking(move || {
        let wanted = table::Wanted {
            specs,
            mapping: &mapping,
            rest: layout.is_some(),
        };
        let table = table::read(&name, &bytes, wanted, max_rows, max_unpacked)?;
        let Some(layout) = layout else {
            return Ok((table, None));
        };
        let (long, origin) = match kind {
            ImportKind::Grades => wide::grades(&table, &layout, max_rows)?,
            _ => wide::attendance(&table, &layout, max_rows)?,
        };
        Ok::<_, table::FileError>((long, Some(origin)))
    })
    .await
    .map_err(|e| DbErr::Custom(format!("the file reader stopped: {e}")))??;
    let read = started.elapsed();
    progress.set_total(table.height());
    let tx = begin(db, school, options).await?;
    let write = |problems: &Problems| {
        !options.dry_run && (options.mode == ImportMode::ValidRows || !problems.any())
    };
    let job = Job {
        tx: &tx,
        table: &table,
        write: &write,
        progress,
    };
    let (mut outcome, written) = match kind {
        ImportKind::Students => students::import(job).await?,
        ImportKind::Grades => grades::import(job).await?,
        ImportKind::Attendance => attendance::import(job).await?,
        ImportKind::OneRoster => (Outcome::default(), false),
    };
    outcome.columns = table.headers.clone();
    if let Some(origin) = &origin {
        wide::place(&mut outcome.errors, origin);
    }
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
pub(crate) async fn begin(
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
pub(crate) async fn finish(
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
pub(crate) async fn import_package(
    db: &DatabaseConnection,
    school: SchoolId,
    bytes: Vec<u8>,
    options: &ImportOptions,
    progress: &Progress<'_>,
) -> Result<(Outcome, Option<TenantTx>), ImportError> {
    let (max_unpacked, max_rows) = (options.max_unpacked_bytes, options.max_rows);
    let mapping = options.columns.clone();
    let source = tokio::task::spawn_blocking(move || {
        oneroster::read(&bytes, max_unpacked, max_rows, &mapping)
    })
    .await
    .map_err(|e| DbErr::Custom(format!("the file reader stopped: {e}")))??;
    let tx = begin(db, school, options).await?;
    let write = |problems: &Problems| {
        !options.dry_run && (options.mode == ImportMode::ValidRows || !problems.any())
    };
    let (mut outcome, written) =
        match oneroster::import(&tx, &source, options.org.as_deref(), write, progress).await {
            Ok(done) => done,
            Err(oneroster::ImportFailure::File(e)) => return Err(ImportError::File(e)),
            Err(oneroster::ImportFailure::Db(e)) => return Err(ImportError::Db(e)),
        };
    outcome.columns = source.headers.clone();
    finish(tx, outcome, written).await
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
            columns: None,
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
