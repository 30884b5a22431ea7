//! Imports (DESIGN §6): a school's file is read into a polars frame, every row is validated
//! against the school's data, and the valid rows are written in one transaction of that school.
//! The `ImportLog` row is written in its own transactions, so it survives a failed import and
//! tells what happened.

pub mod attendance;
pub mod grades;
mod lease;
pub mod oneroster;
pub mod package;
pub mod parse;
mod runner;
pub mod students;
pub mod table;
pub mod wide;

pub use lease::*;
pub use runner::*;

use std::collections::BTreeSet;

use entity::tenant::TenantTx;
use sea_orm::{DbErr, IntoActiveModel};
use serde::Serialize;

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

/// What an importer works with: the school's transaction, the file, whether to write given
/// the problems found, and where to report progress.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    /// The school's transaction.
    pub tx: &'a TenantTx,
    /// The file, read.
    pub table: &'a table::Table,
    /// Whether to write, once every row is checked.
    pub write: &'a (dyn Fn(&Problems) -> bool + Sync),
    /// Where rows written are counted.
    pub progress: &'a Progress<'a>,
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("rows", &self.table.height())
            .finish_non_exhaustive()
    }
}

/// The fields a file of `kind` is read for (none for a OneRoster package, whose files have
/// their own).
pub fn fields(kind: ImportKind) -> &'static [table::Spec] {
    match kind {
        ImportKind::Students => students::COLUMNS,
        ImportKind::Grades => grades::COLUMNS,
        ImportKind::Attendance => attendance::COLUMNS,
        ImportKind::OneRoster => &[],
    }
}

/// The headers a student's first name is also known by.
pub const FIRST_NAME_ALIASES: &[&str] = &["שם פרטי", "given_name", "givenName"];

/// The headers a student's last name is also known by.
pub const LAST_NAME_ALIASES: &[&str] = &["שם משפחה", "family_name", "familyName"];

/// The column of a record's id in the school's source system (OneRoster `sourcedId`).
pub const EXTERNAL_ID: table::Spec = table::Spec {
    name: "external_id",
    required: false,
    aliases: &["מזהה חיצוני", "sourced_id", "sourcedId"],
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
    /// (file header, field) pairs read before names and aliases.
    pub columns: Vec<(String, String)>,
    /// The file is a wide sheet (one row per student), read this way.
    pub wide: Option<wide::Wide>,
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
    /// What the log should also say (e.g. where a package's national ids were found).
    pub notes: Vec<String>,
    /// Each header of the file and the field it was read as.
    pub columns: Vec<table::Header>,
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
            notes: Vec::new(),
            columns: Vec::new(),
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
