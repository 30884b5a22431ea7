//! Reading an uploaded file into a polars frame of text columns: CSV in UTF-8 (with or without a
//! byte-order mark) or Windows-1255, or the first sheet of an XLSX workbook. Headers are mapped
//! to our column names (English or Hebrew), and every cell is cleaned (bidi controls removed,
//! trimmed). Nothing here touches the database.

use std::io::Cursor;

use calamine::{Data, Reader};
use polars::prelude::*;

use crate::domain::clean_text;

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
    fn new(code: &'static str, message: impl Into<String>) -> Self {
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

/// A file read into text columns named by our column names, in file order; row `i` of the frame
/// is line `i + 2` of the file (after the header).
#[derive(Debug)]
pub struct Table {
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
/// ignored; a missing required column is an error.
pub fn read(
    file_name: &str,
    bytes: &[u8],
    columns: &[Spec],
    max_rows: usize,
) -> Result<Table, FileError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::new("EMPTY_FILE", "the file is empty"));
    }
    let grid = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes, file_name)?
    } else {
        read_csv(bytes)?
    };
    frame(grid, columns, max_rows)
}

/// Raw rows of text, the header first.
type Grid = (Vec<String>, Vec<Vec<Option<String>>>);

fn read_xlsx(bytes: &[u8], file_name: &str) -> Result<Grid, FileError> {
    let unreadable = |e: calamine::Error| {
        FileError::new(
            "UNREADABLE_FILE",
            format!("{file_name} is neither CSV nor a readable XLSX workbook ({e})"),
        )
    };
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| FileError::new("EMPTY_FILE", "the workbook has no sheets"))?
        .map_err(unreadable)?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| FileError::new("EMPTY_FILE", "the first sheet is empty"))?
        .iter()
        .map(cell_text)
        .map(Option::unwrap_or_default)
        .collect();
    let body = rows.map(|r| r.iter().map(cell_text).collect()).collect();
    Ok((header, body))
}

/// A spreadsheet cell as text. Formulas are never evaluated: a workbook holds their last
/// computed values, and those are what we read. Dates become ISO dates.
fn cell_text(cell: &Data) -> Option<String> {
    match cell {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|dt| dt.date().format("%Y-%m-%d").to_string()),
        other => Some(other.to_string()),
    }
}

/// Decodes CSV bytes: UTF-8 (a byte-order mark is dropped), else Windows-1255 as Hebrew Excel
/// saves it. Text with NUL bytes or other control characters is binary, not CSV.
fn decode(bytes: &[u8]) -> Result<String, FileError> {
    // Control bytes other than tab and line ends appear in no CSV: this is binary data.
    let binary = bytes
        .iter()
        .any(|b| matches!(b, 0x00..=0x08 | 0x0B | 0x0C | 0x0E..=0x1A | 0x1C..=0x1F));
    let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    if binary && !utf16 {
        return Err(FileError::new(
            "BINARY_FILE",
            "the file holds binary data, not CSV text",
        ));
    }
    if utf16 {
        return Err(FileError::new(
            "ENCODING",
            "the file is UTF-16; save it as CSV UTF-8 (or Windows-1255)",
        ));
    }
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let (text, had_errors) = encoding_rs::WINDOWS_1255.decode_without_bom_handling(bytes);
            if had_errors {
                return Err(FileError::new(
                    "ENCODING",
                    "the file is neither UTF-8 nor Windows-1255 text",
                ));
            }
            text.into_owned()
        }
    };
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    if controls > 0 {
        return Err(FileError::new(
            "BINARY_FILE",
            "the file holds binary data, not CSV text",
        ));
    }
    Ok(text)
}

fn read_csv(bytes: &[u8]) -> Result<Grid, FileError> {
    let text = decode(bytes)?;
    let separator = sniff_separator(&text);
    let frame = CsvReadOptions::default()
        .with_has_header(false)
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(false)
        .map_parse_options(|o| o.with_separator(separator).with_missing_is_null(true))
        .into_reader_with_file_handle(Cursor::new(text.into_bytes()))
        .finish()
        .map_err(|e| {
            if e.to_string().contains("more fields") {
                FileError::new(
                    "TOO_MANY_COLUMNS",
                    "a row has more cells than the header has columns",
                )
            } else {
                FileError::new("UNREADABLE_FILE", format!("the CSV cannot be read: {e}"))
            }
        })?;
    if frame.height() == 0 {
        return Err(FileError::new("EMPTY_FILE", "the file is empty"));
    }
    if frame.width() > MAX_COLUMNS {
        return Err(too_many_columns(frame.width()));
    }
    let columns: Vec<Vec<Option<String>>> = frame
        .columns()
        .iter()
        .map(|c| {
            c.as_materialized_series()
                .str()
                .map(|s| s.iter().map(|v| v.map(str::to_owned)).collect())
                .unwrap_or_default()
        })
        .collect();
    let height = frame.height();
    let header = columns
        .iter()
        .map(|c| c.first().cloned().flatten().unwrap_or_default())
        .collect();
    let body = (1..height)
        .map(|r| {
            columns
                .iter()
                .map(|c| c.get(r).cloned().flatten())
                .collect()
        })
        .collect();
    Ok((header, body))
}

fn too_many_columns(width: usize) -> FileError {
    FileError::new(
        "TOO_MANY_COLUMNS",
        format!("the file has {width} columns; the limit is {MAX_COLUMNS}"),
    )
}

/// Comma unless the header line has more semicolons or tabs (European and Hebrew Excel).
fn sniff_separator(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let count = |c: char| first.matches(c).count();
    [(b';', count(';')), (b'\t', count('\t'))]
        .into_iter()
        .filter(|(_, n)| *n > count(','))
        .max_by_key(|(_, n)| *n)
        .map_or(b',', |(sep, _)| sep)
}

fn frame(grid: Grid, columns: &[Spec], max_rows: usize) -> Result<Table, FileError> {
    let (header, mut body) = grid;
    if header.len() > MAX_COLUMNS {
        return Err(too_many_columns(header.len()));
    }
    // Trailing blank lines are not rows.
    while body.last().is_some_and(|r| {
        r.iter()
            .all(|c| c.as_deref().is_none_or(|c| c.trim().is_empty()))
    }) {
        body.pop();
    }
    if body.is_empty() {
        return Err(FileError::new(
            "NO_ROWS",
            "the file has a header but no rows",
        ));
    }
    if body.len() > max_rows {
        return Err(FileError::new(
            "TOO_MANY_ROWS",
            format!("the file has {} rows; the limit is {max_rows}", body.len()),
        ));
    }
    let keys: Vec<String> = header.iter().map(|h| header_key(h)).collect();
    let mut series = Vec::new();
    for column in columns {
        let position = keys
            .iter()
            .position(|k| k == column.name || column.aliases.iter().any(|a| header_key(a) == *k));
        let Some(position) = position else {
            if column.required {
                return Err(FileError {
                    code: "MISSING_COLUMN",
                    column: Some(column.name.to_owned()),
                    message: format!(
                        "the required column {} is missing (accepted headers: {}{})",
                        column.name,
                        column.name,
                        column
                            .aliases
                            .iter()
                            .map(|a| format!(", {a}"))
                            .collect::<String>()
                    ),
                });
            }
            continue;
        };
        let mut values = Vec::with_capacity(body.len());
        for (i, row) in body.iter().enumerate() {
            let cell = row.get(position).cloned().flatten();
            if cell
                .as_ref()
                .is_some_and(|c| c.chars().count() > MAX_CELL_CHARS)
            {
                return Err(FileError {
                    code: "CELL_TOO_LONG",
                    column: Some(column.name.to_owned()),
                    message: format!(
                        "row {}: a cell is longer than {MAX_CELL_CHARS} characters",
                        i + 2
                    ),
                });
            }
            values.push(cell.as_deref().and_then(clean_text));
        }
        series.push(Series::new(column.name.into(), values).into_column());
    }
    let frame = DataFrame::new(body.len(), series)
        .map_err(|e| FileError::new("UNREADABLE_FILE", e.to_string()))?;
    Ok(Table { frame })
}
