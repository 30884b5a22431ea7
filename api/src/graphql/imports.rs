//! Imports over GraphQL: `importStudents`, `importGrades`, `importAttendance` take a file
//! (GraphQL multipart request) and answer with its `ImportLog`; `importLogs` and `importLog(id)`
//! read the logs back.

use std::io::Read;

use async_graphql::{Context, Enum, Object, SimpleObject, Subscription, Upload};
use chrono::{DateTime, Utc};
use entity::{enums, ids::ImportLogId, import_log};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::import_options::{ImportColumn, ImportOptions, OneRosterImportOptions, layout, mapping};
use super::{
    context::{scoped, state},
    pagination::{Page, page},
};
use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    imports::{self, ImportKind, ImportMode as Mode, ImportOptions as Options, table},
};

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ImportStatus {
    /// Accepted, not started.
    Pending,
    /// Being read or written.
    Running,
    /// Every row was valid (and, unless a dry run, written or already up to date).
    Succeeded,
    /// The valid rows were written; the others are listed in `errors`.
    Partial,
    /// Nothing was written: the file or some rows were bad, or the import was interrupted.
    Failed,
}

impl From<enums::ImportStatus> for ImportStatus {
    fn from(status: enums::ImportStatus) -> Self {
        match status {
            enums::ImportStatus::Pending => Self::Pending,
            enums::ImportStatus::Running => Self::Running,
            enums::ImportStatus::Succeeded => Self::Succeeded,
            enums::ImportStatus::Partial => Self::Partial,
            enums::ImportStatus::Failed => Self::Failed,
        }
    }
}

/// What to do when some rows are bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
pub enum ImportMode {
    /// Write nothing unless every row is valid (the default).
    #[default]
    AllOrNothing,
    /// Write the valid rows and report the others.
    ValidRows,
}

/// One problem found in an imported file.
#[derive(Debug, Clone, SimpleObject)]
pub struct ImportRowError {
    /// The line of the file (the header is line 1); 0 when the whole file is refused.
    pub row: i32,
    /// The column concerned, by our name (e.g. `student_tz`), if any.
    pub column: Option<String>,
    /// A stable code, e.g. `INVALID_TZ`, `UNKNOWN_STUDENT`, `DUPLICATE_ROW`, `MISSING_COLUMN`.
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
}

/// The record of one import: what was asked, what happened, and every problem found.
#[derive(Debug, Clone)]
pub struct ImportLog(pub import_log::Model);

/// The record of one import: what was asked, what happened, and every problem found.
#[Object]
impl ImportLog {
    /// The import's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// STUDENTS, GRADES or ATTENDANCE.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The uploaded file's name.
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Where it stands.
    async fn status(&self) -> ImportStatus {
        self.0.status.into()
    }
    /// How the file's headers were read: each header and the field it was taken as (null: not
    /// used); empty until the file is read, and for OneRoster packages.
    async fn columns(&self) -> Vec<ImportColumn> {
        let Some(serde_json::Value::Array(columns)) = &self.0.columns else {
            return Vec::new();
        };
        columns
            .iter()
            .filter_map(|c| {
                Some(ImportColumn {
                    header: c["header"].as_str()?.to_owned(),
                    field: c["field"].as_str().map(str::to_owned),
                })
            })
            .collect()
    }
    /// Whether it only validated.
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }
    /// ALL_OR_NOTHING or VALID_ROWS.
    async fn mode(&self) -> &str {
        &self.0.mode
    }
    /// Data rows in the file.
    async fn rows_total(&self) -> i32 {
        self.0.rows_total
    }
    /// Rows validated so far.
    async fn rows_processed(&self) -> i32 {
        self.0.rows_processed
    }
    /// Rows written (new or changed records).
    async fn rows_ok(&self) -> i32 {
        self.0.rows_ok
    }
    /// Rows with errors.
    async fn rows_failed(&self) -> i32 {
        self.0.rows_failed
    }
    /// Rows whose records already said the same (a re-imported file changes nothing).
    async fn rows_unchanged(&self) -> i32 {
        self.0.rows_unchanged
    }
    /// A one-line summary.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// The problems found, by row (at most 1,000 are kept).
    #[graphql(complexity = "crate::graphql::limits::list_cost(None, 1_000, child_complexity)")]
    async fn errors(&self) -> Vec<ImportRowError> {
        self.0
            .errors
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| ImportRowError {
                row: e["row"]
                    .as_i64()
                    .and_then(|r| i32::try_from(r).ok())
                    .unwrap_or(0),
                column: e["column"].as_str().map(str::to_owned),
                code: e["code"].as_str().unwrap_or_default().to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
    /// When it started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

/// Reading import logs.
#[derive(Debug, Default)]
pub struct ImportsQuery;

#[Object]
impl ImportsQuery {
    /// The school's imports, oldest first.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn import_logs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
    ) -> ApiResult<Page<ImportLog>> {
        let (tenant, tx) = scoped(ctx, Permission::ImportsRun).await?;
        let events = &state(ctx)?.import_events;
        let school = tenant.school_id();
        page(&tx, tx.find::<import_log::Entity>(), first, after, |log| {
            ImportLog(events.freshest(school, log))
        })
        .await
    }

    /// One import by id.
    async fn import_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The import's id.")] id: Uuid,
    ) -> ApiResult<Option<ImportLog>> {
        let (tenant, tx) = scoped(ctx, Permission::ImportsRun).await?;
        let events = &state(ctx)?.import_events;
        Ok(tx
            .get::<import_log::Entity>(ImportLogId(id))
            .await?
            .map(|log| ImportLog(events.freshest(tenant.school_id(), log))))
    }
}

async fn run(
    ctx: &Context<'_>,
    kind: ImportKind,
    file: Upload,
    options: Option<ImportOptions>,
    org: Option<String>,
) -> ApiResult<ImportLog> {
    let tenant = super::context::require(ctx, Permission::ImportsRun).await?;
    let mut options = options.unwrap_or_default();
    let wide = layout(kind, options.layout, options.wide.take())?;
    let columns = mapping(kind, wide.is_some(), options.columns.take())?;
    let state = state(ctx)?;
    let max_bytes = state.config.import_max_bytes;
    let upload = file
        .value(ctx)
        .map_err(|e| ApiError::bad_field("file", format!("the upload could not be read: {e}")))?;
    let file_name = upload.filename.clone();
    let mut content = upload.content;
    let size = content.metadata().map(|m| m.len()).unwrap_or(0);
    let too_big = || {
        ApiError::bad_field(
            "file",
            format!("the file is larger than the limit of {max_bytes} bytes"),
        )
    };
    if usize::try_from(size).map_or(true, |s| s > max_bytes) {
        return Err(too_big());
    }
    let mut bytes = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        content
            .by_ref()
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    if bytes.len() > max_bytes {
        return Err(too_big());
    }
    // What can be told without parsing (an XLSX's unpacked and declared size, a CSV header's
    // width) is checked before the import starts, and answered as bad input.
    if kind != ImportKind::OneRoster {
        let max_rows = state.config.import_max_rows;
        let max_unpacked = max_bytes.saturating_mul(UNPACKED_FACTOR) as u64;
        let name = file_name.clone();
        let (checked, result) = tokio::task::spawn_blocking(move || {
            let result = table::precheck(&name, &bytes, max_rows, max_unpacked);
            (bytes, result)
        })
        .await
        .map_err(ApiError::internal)?;
        result.map_err(|e| ApiError::bad_field("file", e.message))?;
        bytes = checked;
    }
    let options_background = options.background.unwrap_or(false);
    let options = Options {
        dry_run: options.dry_run.unwrap_or(false),
        mode: match options.mode.unwrap_or_default() {
            ImportMode::AllOrNothing => Mode::AllOrNothing,
            ImportMode::ValidRows => Mode::ValidRows,
        },
        max_rows: state.config.import_max_rows,
        max_unpacked_bytes: state
            .config
            .import_max_bytes
            .saturating_mul(UNPACKED_FACTOR),
        org: org.map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()),
        columns,
        wide,
    };
    let background = options_background;
    // An import is heavy work: it waits for one of the school's permits, and holds it until it
    // ends (in the background too).
    let permit = state.budgets.heavy(tenant.school_id()).await?;
    let db = state.db.clone();
    let events = state.import_events.clone();
    let school = tenant.school_id();
    let log = imports::start(
        &db,
        &events,
        school,
        &tenant.actor,
        kind,
        &file_name,
        &options,
    )
    .await?;
    // The import runs in its own task: a client that goes away does not cut it off half-way
    // (its transaction would roll back, but its log would stay RUNNING).
    let started = (log.clone(), tenant.actor.clone());
    let task = tokio::spawn(async move {
        let done = imports::complete(&db, &events, school, started, kind, bytes, options).await;
        drop(permit);
        done
    });
    if background {
        return Ok(ImportLog(log));
    }
    let log = task.await.map_err(ApiError::internal)??;
    Ok(ImportLog(log))
}

/// Running imports.
#[derive(Debug, Default)]
pub struct ImportsMutation;

#[Object]
impl ImportsMutation {
    /// Imports students from CSV (UTF-8 or Windows-1255) or XLSX. Columns, by English name or
    /// Hebrew header: student_tz (ת.ז), first_name (שם פרטי), last_name (שם משפחה),
    /// grade_level (שכבה), class (כיתה, a class of the current year), birth_date (תאריך לידה),
    /// email, external_id. Students are matched by external_id, else by national id; empty
    /// cells keep what a student already has.
    async fn import_students(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file (GraphQL multipart request).")] file: Upload,
        #[graphql(desc = "Dry run and mode.")] options: Option<ImportOptions>,
    ) -> ApiResult<ImportLog> {
        run(ctx, ImportKind::Students, file, options, None).await
    }

    /// Imports grades. Columns: student_tz (ת.ז), subject (מקצוע, by name or code), term
    /// (מחצית), score (ציון), max_score (default 100), date (תאריך, inside the term), category,
    /// assessment (created when new), comment, external_id. A grade is matched by external_id,
    /// else by student, subject, term and assessment.
    async fn import_grades(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file (GraphQL multipart request).")] file: Upload,
        #[graphql(desc = "Dry run and mode.")] options: Option<ImportOptions>,
    ) -> ApiResult<ImportLog> {
        run(ctx, ImportKind::Grades, file, options, None).await
    }

    /// Imports attendance. Columns: student_tz (ת.ז), date (תאריך, inside a term), status
    /// (נוכחות: PRESENT/נוכח, ABSENT/חיסור, LATE/איחור, EXCUSED/מוצדק), period (0 = the whole
    /// day, the default), note. A record is matched by student, date and period.
    async fn import_attendance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file (GraphQL multipart request).")] file: Upload,
        #[graphql(desc = "Dry run and mode.")] options: Option<ImportOptions>,
    ) -> ApiResult<ImportLog> {
        run(ctx, ImportKind::Attendance, file, options, None).await
    }

    /// Imports a OneRoster 1.2 (or 1.1) CSV package: a zip of `manifest.csv` and the CSV files
    /// at its root, each `bulk` or `delta` as the manifest says. academicSessions become school
    /// years and terms, courses subjects, classes classes, users with a student / teacher /
    /// guardian role at this school's org students (national id as `{tz:…}` in userIds),
    /// teachers and guardians, enrollments enrollments and class teachers, lineItems
    /// assessments, results grades. Records are matched by sourcedId, else by natural key;
    /// rows of other orgs are skipped, and nothing is ever written outside this school. No
    /// login account is created from a file. The unpacked files may hold at most ten times the
    /// upload limit.
    async fn import_one_roster(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The zip (GraphQL multipart request).")] file: Upload,
        #[graphql(desc = "Dry run, mode and this school's org.")] options: Option<
            OneRosterImportOptions,
        >,
    ) -> ApiResult<ImportLog> {
        let (options, org) = options.unwrap_or_default().into();
        run(ctx, ImportKind::OneRoster, file, Some(options), org).await
    }
}

/// How many times the upload limit a OneRoster package or an XLSX workbook may hold once
/// unpacked.
const UNPACKED_FACTOR: usize = 10;

fn finished(status: enums::ImportStatus) -> bool {
    !matches!(
        status,
        enums::ImportStatus::Pending | enums::ImportStatus::Running
    )
}

/// Following imports as they run.
#[derive(Debug, Default)]
pub struct ImportsSubscription;

/// The root subscription, over WebSocket at `/graphql/ws`.
#[Subscription(name = "Subscription")]
impl ImportsSubscription {
    /// An import's log now, then each time it moves on (rows processed, and its end); the stream
    /// ends when the import does. Another school's import id is answered like a missing one.
    async fn import_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The import's id.")] id: Uuid,
    ) -> Result<impl Stream<Item = ImportLog> + use<>, ApiError> {
        let (tenant, tx) = scoped(ctx, Permission::ImportsRun).await?;
        let school = tenant.school_id();
        // Subscribe first, so nothing between the read and the subscription is missed.
        let updates = state(ctx)?.import_events.subscribe();
        let current = tx
            .get::<import_log::Entity>(ImportLogId(id))
            .await?
            .ok_or(ApiError::NotFound("import"))?;
        tx.commit().await?;
        let id = current.id;
        let first = futures_util::stream::iter([ImportLog(current.clone())]);
        let rest = futures_util::stream::unfold(
            (updates, finished(current.status)),
            move |(mut updates, done)| async move {
                if done {
                    return None;
                }
                loop {
                    match updates.recv().await {
                        Ok((s, log)) if s == school && log.id == id => {
                            let done = finished(log.status);
                            return Some((ImportLog(log), (updates, done)));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        );
        Ok(first.chain(rest))
    }
}
