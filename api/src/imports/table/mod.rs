//! Reading an uploaded file into a polars frame of text columns: CSV in UTF-8 (with or without a
//! byte-order mark) or Windows-1255, or the first sheet of an XLSX workbook. Headers are mapped
//! to our column names (English or Hebrew), and every cell is cleaned (bidi controls removed,
//! trimmed). Nothing here touches the database.

use std::io::Cursor;

use polars::prelude::*;

use crate::rules::clean_text;

mod csv;
mod xlsx;

use csv::*;
use xlsx::*;

/// The most columns a file may have.
pub const MAX_COLUMNS: usize = 200;
/// The longest cell, in characters.
pub const MAX_CELL_CHARS: usize = 10_000;

/// Why a whole file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FileError {
    /// A stable code, e.g. `EMPTY_FILE`.
    pub code: &'static str,
    /// The column concerned, if any.
    pub column: Option<String>,
    /// What is wrong, for a person.
    pub message: String,
}

impl FileError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            column: None,
            message: message.into(),
        }
    }
}

/// One of our columns: its name and the headers that mean it.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Our name, e.g. `student_tz`.
    pub name: &'static str,
    /// Whether every file must have it.
    pub required: bool,
    /// Other headers accepted for it (compared after [`header_key`]).
    pub aliases: &'static [&'static str],
}

impl Spec {
    /// A required column and its other headers.
    pub const fn required(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Self {
            name,
            required: true,
            aliases,
        }
    }

    /// An optional column and its other headers.
    pub const fn optional(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Self {
            name,
            required: false,
            aliases,
        }
    }
}

/// A file's header cell and the field it was read as (`None`: not used).
pub type Header = (String, Option<&'static str>);

/// The columns a file is read for: our fields, and the user's mapping of the file's headers to
/// fields, which comes before any name or alias.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    /// Our fields.
    pub specs: &'a [Spec],
    /// (file header, field) pairs the user gave.
    pub mapping: &'a [(String, String)],
    /// Keep every other header's column too (a wide sheet's dates or assessments), as
    /// [`Table::others`].
    pub rest: bool,
}

impl<'a> From<&'a [Spec]> for Wanted<'a> {
    fn from(specs: &'a [Spec]) -> Self {
        Self {
            specs,
            mapping: &[],
            rest: false,
        }
    }
}

/// A file read into text columns named by our column names, in file order; row `i` of the frame
/// is line `i + 2` of the file (after the header).
#[derive(Debug)]
pub struct Table {
    /// Each header of the file and the field it was read as.
    pub headers: Vec<Header>,
    /// With [`Wanted::rest`]: the other columns, as (frame column name, the file's header), in
    /// file order.
    pub others: Vec<(String, String)>,
    /// The cells, one `String` column per recognised column.
    pub frame: DataFrame,
}

impl Table {
    /// The number of data rows.
    pub fn height(&self) -> usize {
        self.frame.height()
    }

    /// The cells of column `name`, if the file has it.
    pub fn column(&self, name: &str) -> Option<&StringChunked> {
        self.frame
            .column(name)
            .ok()
            .and_then(|c| c.as_materialized_series().str().ok())
    }

    /// The cell of column `name` in row `row`, if present and not empty.
    pub fn cell<'a>(&'a self, name: &str, row: usize) -> Option<&'a str> {
        self.column(name)?.get(row).filter(|v| !v.is_empty())
    }
}

/// A header as compared with names and aliases: bidi controls and surrounding space removed,
/// lower case, inner spaces, dashes and dots between words folded to `_`, quotes and gereshes dropped.
pub fn header_key(header: &str) -> String {
    let cleaned = clean_text(header).unwrap_or_default().to_lowercase();
    let mut key = String::with_capacity(cleaned.len());
    for c in cleaned.chars() {
        match c {
            ' ' | '-' | '_' | '.' => {
                if !key.ends_with('_') && !key.is_empty() {
                    key.push('_');
                }
            }
            '"' | '\'' | '\u{05F3}' | '\u{05F4}' => {}
            c => key.push(c),
        }
    }
    key.trim_end_matches('_').to_owned()
}

/// Reads `bytes` (named `file_name`) into a [`Table`] with `columns`. Unknown columns are
/// ignored; a missing required column is an error. Memory stays within a small multiple of the
/// file: the header's width is checked before any frame is built, an XLSX sheet is read cell by
/// cell (never as its declared rectangle), and only the recognised columns are kept.
pub fn read(
    file_name: &str,
    bytes: &[u8],
    columns: Wanted<'_>,
    max_rows: usize,
    max_unpacked: u64,
) -> Result<Table, FileError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::new("EMPTY_FILE", "the file is empty"));
    }
    if is_zip(bytes) {
        finish(read_xlsx(
            bytes,
            file_name,
            columns,
            max_rows,
            max_unpacked,
        )?)
    } else {
        read_csv(bytes, columns, max_rows)
    }
}

/// Whether `bytes` is a zip (an XLSX workbook) rather than CSV text.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The structural checks that need no parsing: an XLSX workbook's unpacked size and declared
/// sheet size, or a CSV header's width. They run before an import starts, so a file that could
/// not be read within the limits is refused at once.
pub fn precheck(
    file_name: &str,
    bytes: &[u8],
    max_rows: usize,
    max_unpacked: u64,
) -> Result<(), FileError> {
    if is_zip(bytes) {
        check_unpacked(bytes, file_name, max_unpacked)?;
        let mut book = open_xlsx(bytes, file_name)?;
        let sheet = first_sheet(&book)?;
        let cells = book
            .worksheet_cells_reader(&sheet)
            .map_err(|e| unreadable(file_name, e))?;
        check_dimensions(cells.dimensions(), max_rows)
    } else {
        let width = header_width(bytes, MAX_COLUMNS + 1);
        if width > MAX_COLUMNS {
            return Err(too_many_columns(width, true));
        }
        Ok(())
    }
}

fn unreadable(file_name: &str, e: impl std::fmt::Display) -> FileError {
    FileError::new(
        "UNREADABLE_FILE",
        format!("{file_name} is neither CSV nor a readable XLSX workbook ({e})"),
    )
}

/// The recognised columns of a file: for each spec it matched, its cells in row order (row `i`
/// is the `i`-th row after the header), and how many rows there are once trailing blank rows
/// are dropped.
struct Columns {
    specs: Vec<(String, Vec<Option<String>>)>,
    height: usize,
    found: Found,
}

/// Where a file's columns are: for each column kept (our fields, then with
/// [`Wanted::rest`] every other header), its frame name and its position in the file.
#[derive(Debug, Default)]
struct Found {
    at: Vec<Option<usize>>,
    names: Vec<String>,
    headers: Vec<Header>,
    others: Vec<(String, String)>,
}

/// Where each of `columns` sits among `header`'s cells (`None`: absent), with each header and
/// the field it was read as; or the first required field that is missing. A header the user
/// mapped is read as the field they named, and as nothing else.
fn positions(header: &[(usize, String)], columns: Wanted<'_>) -> Result<Found, FileError> {
    let header = &clean_headers(header)?;
    let mapped: std::collections::HashMap<String, &str> = columns
        .mapping
        .iter()
        .map(|(h, f)| (header_key(h), f.as_str()))
        .collect();
    let keys: Vec<(usize, String)> = header.iter().map(|(i, h)| (*i, header_key(h))).collect();
    let found: Vec<Option<usize>> = columns
        .specs
        .iter()
        .map(|column| {
            // A field the user mapped is read from the mapped header only.
            let field_mapped = mapped.values().any(|f| *f == column.name);
            let mut matching = keys.iter().filter(|(_, k)| match mapped.get(k) {
                Some(field) => *field == column.name,
                None => {
                    !field_mapped
                        && (k == column.name || column.aliases.iter().any(|a| header_key(a) == *k))
                }
            });
            let position = matching.next().map(|(i, _)| *i);
            if let Some((again, _)) = matching.next() {
                return Err(duplicate_column(header, column.name, position, *again));
            }
            if position.is_none() && column.required {
                return Err(missing_column(column, header));
            }
            Ok(position)
        })
        .collect::<Result<_, _>>()?;
    let headers = header
        .iter()
        .map(|(at, text)| {
            let field = columns
                .specs
                .iter()
                .zip(&found)
                .find(|(_, p)| **p == Some(*at))
                .map(|(spec, _)| spec.name);
            (text.trim().to_owned(), field)
        })
        .collect();
    let mut found = Found {
        names: columns.specs.iter().map(|s| s.name.to_owned()).collect(),
        at: found,
        headers,
        others: Vec::new(),
    };
    if columns.rest {
        for ((at, text), (_, field)) in header.iter().zip(&found.headers) {
            let key = header_key(text);
            if field.is_none() && !text.trim().is_empty() && !mapped.contains_key(&key) {
                let name = format!("~{at}");
                found.others.push((name.clone(), text.trim().to_owned()));
                found.names.push(name);
                found.at.push(Some(*at));
            }
        }
    }
    Ok(found)
}

/// The longest header cell, in characters.
pub const MAX_HEADER_CHARS: usize = 200;

/// The header cells cleaned like any cell (bidi marks and surrounding space removed); a header
/// over [`MAX_HEADER_CHARS`] or holding a control character is refused, so nothing later copies
/// or stores an unbounded or unstorable header.
fn clean_headers(header: &[(usize, String)]) -> Result<Vec<(usize, String)>, FileError> {
    header
        .iter()
        .map(|(at, text)| {
            if let Some(c) = crate::rules::unstorable_char(text) {
                return Err(FileError {
                    code: "CONTROL_CHARACTER",
                    column: None,
                    message: format!(
                        "the header of column {} holds the control character U+{:04X}",
                        at + 1,
                        c as u32
                    ),
                });
            }
            let text = clean_text(text).unwrap_or_default();
            if text.chars().count() > MAX_HEADER_CHARS {
                return Err(FileError::new(
                    "HEADER_TOO_LONG",
                    format!(
                        "the header of column {} is longer than {MAX_HEADER_CHARS} characters",
                        at + 1
                    ),
                ));
            }
            Ok((*at, text))
        })
        .collect()
}

/// Two columns for one field: which one is meant cannot be guessed.
fn duplicate_column(
    header: &[(usize, String)],
    field: &str,
    first: Option<usize>,
    again: usize,
) -> FileError {
    let name = |i: usize| {
        header
            .iter()
            .find(|(at, _)| *at == i)
            .map_or_else(String::new, |(_, h)| h.trim().to_owned())
    };
    FileError {
        code: "DUPLICATE_COLUMN",
        column: Some(field.to_owned()),
        message: format!(
            "columns {} ({}) and {} ({}) are both {field}: keep one of them",
            first.map_or(0, |p| p + 1),
            name(first.unwrap_or(0)),
            again + 1,
            name(again),
        ),
    }
}

fn missing_column(column: &Spec, header: &[(usize, String)]) -> FileError {
    let mut found: Vec<String> = header
        .iter()
        .take(20)
        .map(|(_, h)| h.trim().to_owned())
        .collect();
    if header.len() > found.len() {
        found.push("…".to_owned());
    }
    FileError {
        code: "MISSING_COLUMN",
        column: Some(column.name.to_owned()),
        message: format!(
            "the required column {} is missing (accepted headers: {}{}; the file's headers: {}; \
             map one with the `columns` option)",
            column.name,
            column.name,
            column
                .aliases
                .iter()
                .map(|a| format!(", {a}"))
                .collect::<String>(),
            found.join(", ")
        ),
    }
}

fn too_many_columns(width: usize, at_least: bool) -> FileError {
    let width = if at_least {
        format!("more than {}", width - 1)
    } else {
        width.to_string()
    };
    FileError::new(
        "TOO_MANY_COLUMNS",
        format!("the file has {width} columns; the limit is {MAX_COLUMNS}"),
    )
}

fn too_many_rows(rows: usize, max_rows: usize) -> FileError {
    let rows = if rows > max_rows {
        format!("more than {max_rows}")
    } else {
        rows.to_string()
    };
    FileError::new(
        "TOO_MANY_ROWS",
        format!("the file has {rows} rows; the limit is {max_rows}"),
    )
}

/// Checks the cells and builds the frame: every cell cleaned, none too long.
fn finish(columns: Columns) -> Result<Table, FileError> {
    if columns.height == 0 {
        return Err(no_rows());
    }
    let mut series = Vec::with_capacity(columns.specs.len());
    for (name, cells) in &columns.specs {
        series.push(clean_column(name, || cells.iter().map(Option::as_deref))?);
    }
    table(columns.height, series, columns.found)
}

fn no_rows() -> FileError {
    FileError::new("NO_ROWS", "the file has a header but no rows")
}

/// The cells `cells()` gives, cleaned, as the text column `name`; refuses a cell over
/// [`MAX_CELL_CHARS`]. The cells are read twice (checked, then cleaned) rather than copied.
fn clean_column<'a, I>(name: &str, cells: impl Fn() -> I) -> Result<Column, FileError>
where
    I: Iterator<Item = Option<&'a str>>,
{
    let too_long = |c: &str| c.len() > MAX_CELL_CHARS && c.chars().count() > MAX_CELL_CHARS;
    if let Some((i, c)) = cells()
        .enumerate()
        .find_map(|(i, c)| c.and_then(crate::rules::unstorable_char).map(|c| (i, c)))
    {
        return Err(FileError {
            code: "CONTROL_CHARACTER",
            column: Some(name.to_owned()),
            message: format!(
                "row {}, column {name}: a cell holds the control character U+{:04X}, which \
                 cannot be stored",
                i + 2,
                c as u32
            ),
        });
    }
    if let Some(i) = cells().position(|c| c.is_some_and(too_long)) {
        return Err(FileError {
            code: "CELL_TOO_LONG",
            column: Some(name.to_owned()),
            message: format!(
                "row {}: a cell is longer than {MAX_CELL_CHARS} characters",
                i + 2
            ),
        });
    }
    let cleaned =
        StringChunked::from_iter_options(name.into(), cells().map(|c| c.and_then(clean_text)));
    Ok(cleaned.into_series().into_column())
}

fn table(height: usize, series: Vec<Column>, found: Found) -> Result<Table, FileError> {
    let frame = DataFrame::new(height, series)
        .map_err(|e| FileError::new("UNREADABLE_FILE", e.to_string()))?;
    Ok(Table {
        headers: found.headers,
        others: found.others,
        frame,
    })
}

impl Table {
    /// A table of text columns `columns` (name, cells), e.g. a wide sheet turned into long
    /// rows; the cells are not cleaned again.
    pub fn from_columns(
        height: usize,
        columns: Vec<(&'static str, Vec<Option<String>>)>,
        headers: Vec<Header>,
    ) -> Result<Self, FileError> {
        let series = columns
            .into_iter()
            .map(|(name, cells)| {
                StringChunked::from_iter_options(name.into(), cells.into_iter())
                    .into_series()
                    .into_column()
            })
            .collect();
        let found = Found {
            headers,
            ..Found::default()
        };
        table(height, series, found)
    }
}
