//! How an import is asked for: its options (dry run, mode, background, the user's column
//! mapping, a wide sheet's layout), checked before any work starts.

use crate::graphql::scalars::Date;
use async_graphql::{Enum, InputObject, SimpleObject};

use super::imports::ImportMode;
use crate::error::{ApiError, ApiResult};
use crate::imports::{self, ImportKind};

/// How to run an import.
#[derive(Debug, Clone, Default, InputObject)]
pub struct ImportOptions {
    /// Validate and report only; write nothing (default false).
    pub dry_run: Option<bool>,
    /// All or nothing (default), or the valid rows.
    pub mode: Option<ImportMode>,
    /// Answer at once with the log (`RUNNING`) and import in the background; follow it with
    /// `importProgress(id)` or `importLog(id)` (default false: answer when done).
    pub background: Option<bool>,
    /// File headers to read as the given fields, before any name or alias (at most 200); a dry
    /// run's `columns` shows how the file's headers were read.
    pub columns: Option<Vec<ColumnMappingInput>>,
    /// How the file lays out its data (default LONG: one row per grade or record).
    pub layout: Option<ImportLayout>,
    /// How a WIDE sheet is read: what every column shares, and attendance symbols.
    pub wide: Option<WideLayoutInput>,
}

/// How an import file lays out its data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
pub enum ImportLayout {
    /// One row per grade or attendance record.
    #[default]
    Long,
    /// One row per student: one column per assessment or subject (grades), or per date
    /// (attendance); each filled cell is one grade or record.
    Wide,
}

/// What every column of a wide sheet shares.
#[derive(Debug, Clone, Default, InputObject)]
pub struct WideLayoutInput {
    /// Grades: the subject of every column; without it each column's header names a subject
    /// (and with it, each header names an assessment).
    pub subject: Option<String>,
    /// Grades: the date of every grade (required for grades).
    pub date: Option<Date>,
    /// Grades: the term; without it, the school's term holding the date.
    pub term: Option<String>,
    /// Grades: the kind of work; without it, guessed from each header (מבחן, בוחן, סופי, exam,
    /// quiz, final, …).
    pub category: Option<crate::graphql::roster::GradeCategory>,
    /// Grades: the most a score could be (default 100).
    pub max_score: Option<f64>,
    /// Attendance: cell symbols read as statuses, before the default map (at most 50).
    pub symbols: Option<Vec<AttendanceSymbolInput>>,
}

/// An attendance cell's symbol and the status it means.
#[derive(Debug, Clone, InputObject)]
pub struct AttendanceSymbolInput {
    /// The symbol as the sheet writes it (compared without case or surrounding space).
    pub symbol: String,
    /// The status it means.
    pub status: crate::graphql::roster::AttendanceStatus,
}

/// Checks the layout options of an import of `kind`, before any work starts.
pub(crate) fn layout(
    kind: ImportKind,
    layout: Option<ImportLayout>,
    wide: Option<WideLayoutInput>,
) -> ApiResult<Option<imports::wide::Wide>> {
    if layout.unwrap_or_default() == ImportLayout::Long {
        return Ok(None);
    }
    if !matches!(kind, ImportKind::Grades | ImportKind::Attendance) {
        return Err(ApiError::bad_field(
            "options.layout",
            "WIDE is for grade and attendance files",
        ));
    }
    let wide = wide.unwrap_or_default();
    let symbols = wide.symbols.unwrap_or_default();
    if symbols.len() > 50
        || symbols
            .iter()
            .any(|s| s.symbol.trim().is_empty() || s.symbol.chars().count() > 20)
    {
        return Err(ApiError::bad_field(
            "options.wide.symbols",
            "at most 50 symbols of 1 to 20 characters",
        ));
    }
    if kind == ImportKind::Grades && wide.date.is_none() {
        return Err(ApiError::bad_field(
            "options.wide.date",
            "a wide gradebook needs the date of its grades",
        ));
    }
    // Given once, copied into every row: held to the name rule first.
    let name = |field: &str, t: Option<String>| {
        t.map(|t| crate::rules::Name::parse(&t).map(crate::rules::Name::into_string))
            .transpose()
            .map_err(|b| ApiError::bad_field(field, b.message))
    };
    Ok(Some(imports::wide::Wide {
        subject: name("options.wide.subject", wide.subject)?,
        date: wide.date.map(|d| d.0),
        term: name("options.wide.term", wide.term)?,
        category: wide.category.map(Into::into),
        max_score: wide.max_score,
        symbols: symbols
            .into_iter()
            .map(|s| (s.symbol, s.status.into()))
            .collect(),
    }))
}

/// A file header read as one of the import's fields.
#[derive(Debug, Clone, InputObject)]
pub struct ColumnMappingInput {
    /// The header as the file writes it (compared without case, spaces or bidi marks).
    pub header: String,
    /// The field, by our name: e.g. `student_tz`, `first_name`, `score`, `date`.
    pub field: String,
}

/// A header of an imported file and the field it was read as.
#[derive(Debug, Clone, SimpleObject)]
pub struct ImportColumn {
    /// The header as the file writes it.
    pub header: String,
    /// The field it was read as; null when the import did not use it.
    pub field: Option<String>,
}

/// The most entries of `columns`.
pub(crate) const MAX_MAPPED_COLUMNS: usize = 200;

/// Checks a `columns` option against the fields of `kind`, before any work starts.
pub(crate) fn mapping(
    kind: ImportKind,
    wide: bool,
    columns: Option<Vec<ColumnMappingInput>>,
) -> ApiResult<Vec<(String, String)>> {
    let columns = columns.unwrap_or_default();
    if columns.len() > MAX_MAPPED_COLUMNS {
        return Err(ApiError::bad_field(
            "options.columns",
            format!("at most {MAX_MAPPED_COLUMNS} entries"),
        ));
    }
    // A wide sheet is read for the student's id and names; its other headers are dates or
    // assessments.
    let fields = if wide {
        imports::wide::SPECS
    } else {
        imports::fields(kind)
    };
    // A package's files are named with the field: `users.csv:identifier`.
    let known = |field: &str| {
        if kind == ImportKind::OneRoster {
            imports::oneroster::known_field(field)
        } else {
            fields.iter().any(|f| f.name == field)
        }
    };
    let mut errors = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if c.header.trim().is_empty() || c.header.chars().count() > 200 {
            errors.push(crate::error::FieldError::new(
                format!("options.columns[{i}].header"),
                "must be 1 to 200 characters",
            ));
        }
        if !known(&c.field) {
            let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
            let expected = if kind == ImportKind::OneRoster {
                "a file's column, as file.csv:column (e.g. users.csv:identifier)".to_owned()
            } else {
                format!("one of {}", names.join(", "))
            };
            errors.push(crate::error::FieldError::new(
                format!("options.columns[{i}].field"),
                format!("is not a field of this import; {expected}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_fields(errors));
    }
    Ok(columns.into_iter().map(|c| (c.header, c.field)).collect())
}

/// How to run a OneRoster import.
#[derive(Debug, Clone, Default, InputObject)]
pub struct OneRosterImportOptions {
    /// Validate and report only; write nothing (default false).
    pub dry_run: Option<bool>,
    /// All or nothing (default), or the valid rows.
    pub mode: Option<ImportMode>,
    /// Answer at once with the log (`RUNNING`) and import in the background (default false).
    pub background: Option<bool>,
    /// The sourcedId of the org in `orgs.csv` that is this school; needed when the package
    /// holds several schools (a district's package). Rows of other orgs are skipped.
    pub org_sourced_id: Option<String>,
    /// File headers to read as the given columns, with the field written `file.csv:column`
    /// (e.g. `{ header: "NationalId", field: "users.csv:identifier" }`; at most 200).
    pub columns: Option<Vec<ColumnMappingInput>>,
}

impl From<OneRosterImportOptions> for (ImportOptions, Option<String>) {
    fn from(o: OneRosterImportOptions) -> Self {
        (
            ImportOptions {
                dry_run: o.dry_run,
                mode: o.mode,
                background: o.background,
                columns: o.columns,
                layout: None,
                wide: None,
            },
            o.org_sourced_id,
        )
    }
}
