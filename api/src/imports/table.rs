//! Reading an uploaded file into a polars frame of text columns: CSV in UTF-8 (with or without a
//! byte-order mark) or Windows-1255, or the first sheet of an XLSX workbook. Headers are mapped
//! to our column names (English or Hebrew), and every cell is cleaned (bidi controls removed,
//! trimmed). Nothing here touches the database.

use std::io::Cursor;

use calamine::{Data, Reader};
use polars::prelude::*;

use crate::rules::clean_text;

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
/// ignored; a missing required column is an error. Memory stays within a small multiple of the
/// file: the header's width is checked before any frame is built, an XLSX sheet is read cell by
/// cell (never as its declared rectangle), and only the recognised columns are kept.
pub fn read(
    file_name: &str,
    bytes: &[u8],
    columns: &[Spec],
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

/// How much of an XLSX workbook's unpacked budget its shared strings may take (they are held in
/// memory while the sheet is read): one part in this many.
pub const SHARED_STRINGS_SHARE: u64 = 10;

fn unreadable(file_name: &str, e: impl std::fmt::Display) -> FileError {
    FileError::new(
        "UNREADABLE_FILE",
        format!("{file_name} is neither CSV nor a readable XLSX workbook ({e})"),
    )
}

/// Unpacks every member of the workbook into nothing, counting: declared sizes can lie, so the
/// bytes are counted as they come, and reading stops one byte past the limit. The members may
/// hold `max_unpacked` bytes together, the shared strings a tenth of that.
fn check_unpacked(bytes: &[u8], file_name: &str, max_unpacked: u64) -> Result<(), FileError> {
    let max_shared = max_unpacked / SHARED_STRINGS_SHARE;
    use std::io::Read;
    let mut archive =
        ::zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(file_name, e))?;
    let mut total = 0u64;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| unreadable(file_name, e))?;
        let shared_strings = entry
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"));
        let budget = if shared_strings {
            max_shared.min(max_unpacked - total)
        } else {
            max_unpacked - total
        };
        let read = std::io::copy(&mut (&mut entry).take(budget + 1), &mut std::io::sink())
            .map_err(|e| unreadable(file_name, e))?;
        if read > budget {
            return Err(FileError::new(
                "TOO_LARGE",
                if shared_strings {
                    format!("the workbook's shared strings unpack to more than {max_shared} bytes")
                } else {
                    format!("the workbook unpacks to more than {max_unpacked} bytes")
                },
            ));
        }
        total += read;
    }
    Ok(())
}

fn open_xlsx<'a>(
    bytes: &'a [u8],
    file_name: &str,
) -> Result<calamine::Xlsx<Cursor<&'a [u8]>>, FileError> {
    calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(file_name, e))
}

fn first_sheet(book: &calamine::Xlsx<Cursor<&[u8]>>) -> Result<String, FileError> {
    book.sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| FileError::new("EMPTY_FILE", "the workbook has no sheets"))
}

/// Refuses a sheet whose declared rectangle has more rows or columns than a file may.
fn check_dimensions(dimensions: calamine::Dimensions, max_rows: usize) -> Result<(), FileError> {
    let (start, end) = (dimensions.start, dimensions.end);
    let columns = (end.1 as usize + 1).saturating_sub(start.1 as usize);
    let rows = (end.0 as usize + 1).saturating_sub(start.0 as usize);
    if columns > MAX_COLUMNS {
        return Err(too_many_columns(columns, false));
    }
    if rows > max_rows.saturating_add(1) {
        return Err(too_many_rows(rows.saturating_sub(1), max_rows));
    }
    Ok(())
}

/// The recognised columns of a file: for each spec it matched, its cells in row order (row `i`
/// is the `i`-th row after the header), and how many rows there are once trailing blank rows
/// are dropped.
struct Columns {
    specs: Vec<(&'static str, Vec<Option<String>>)>,
    height: usize,
}

/// Where each of `columns` sits among `header`'s cells (`None`: absent), or the first required
/// one that is missing.
fn positions(
    header: &[(usize, String)],
    columns: &[Spec],
) -> Result<Vec<Option<usize>>, FileError> {
    let keys: Vec<(usize, String)> = header.iter().map(|(i, h)| (*i, header_key(h))).collect();
    columns
        .iter()
        .map(|column| {
            let mut matching = keys.iter().filter(|(_, k)| {
                k == column.name || column.aliases.iter().any(|a| header_key(a) == *k)
            });
            let position = matching.next().map(|(i, _)| *i);
            if let Some((again, _)) = matching.next() {
                // Two columns for one field: which one is meant cannot be guessed.
                let name = |i: usize| {
                    header
                        .iter()
                        .find(|(at, _)| *at == i)
                        .map_or_else(String::new, |(_, h)| h.trim().to_owned())
                };
                return Err(FileError {
                    code: "DUPLICATE_COLUMN",
                    column: Some(column.name.to_owned()),
                    message: format!(
                        "columns {} ({}) and {} ({}) are both {}: keep one of them",
                        position.map_or(0, |p| p + 1),
                        name(position.unwrap_or(0)),
                        again + 1,
                        name(*again),
                        column.name
                    ),
                });
            }
            if position.is_none() && column.required {
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
            Ok(position)
        })
        .collect()
}

/// Reads the first sheet cell by cell. The declared rectangle is checked first; then every
/// cell's position is checked as it comes (a declaration can lie), and only the cells of
/// recognised columns are kept.
fn read_xlsx(
    bytes: &[u8],
    file_name: &str,
    columns: &[Spec],
    max_rows: usize,
    max_unpacked: u64,
) -> Result<Columns, FileError> {
    check_unpacked(bytes, file_name, max_unpacked)?;
    let mut book = open_xlsx(bytes, file_name)?;
    let sheet = first_sheet(&book)?;
    let mut cells = book
        .worksheet_cells_reader(&sheet)
        .map_err(|e| unreadable(file_name, e))?;
    check_dimensions(cells.dimensions(), max_rows)?;
    // The header is the first row that holds anything; the cells come row by row.
    let mut header_row: Option<u32> = None;
    let mut header: Vec<(usize, String)> = Vec::new();
    let mut wanted: Option<Vec<Option<usize>>> = None;
    let mut kept: Vec<Vec<Option<String>>> = Vec::new();
    let mut first_column = u32::MAX;
    let mut height = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable(file_name, e))? {
        let (row, column) = cell.get_position();
        let Some(text) = cell_text(&Data::from(cell.get_value().clone())) else {
            continue;
        };
        first_column = first_column.min(column);
        if (column - first_column) as usize >= MAX_COLUMNS {
            return Err(too_many_columns(
                (column - first_column) as usize + 1,
                false,
            ));
        }
        let header_row = *header_row.get_or_insert(row);
        if row == header_row {
            header.push((column as usize, text));
            continue;
        }
        let wanted = match &mut wanted {
            Some(wanted) => wanted,
            None => {
                let found = positions(&header, columns)?;
                kept = vec![Vec::new(); found.len()];
                wanted.insert(found)
            }
        };
        let index = (row - header_row - 1) as usize;
        if index >= max_rows {
            return Err(too_many_rows(index + 1, max_rows));
        }
        if !text.trim().is_empty() {
            height = height.max(index + 1);
        }
        if let Some(slot) = wanted.iter().position(|w| *w == Some(column as usize)) {
            let cells = &mut kept[slot];
            if cells.len() <= index {
                cells.resize(index + 1, None);
            }
            cells[index] = Some(text);
        }
    }
    if header_row.is_none() {
        return Err(FileError::new("EMPTY_FILE", "the first sheet is empty"));
    }
    let wanted = match wanted {
        Some(wanted) => wanted,
        None => {
            let found = positions(&header, columns)?;
            kept = vec![Vec::new(); found.len()];
            found
        }
    };
    let specs = columns
        .iter()
        .zip(wanted)
        .zip(kept)
        .filter(|((_, w), _)| w.is_some())
        .map(|((spec, _), mut cells)| {
            cells.resize(height, None);
            (spec.name, cells)
        })
        .collect();
    Ok(Columns { specs, height })
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
fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, FileError> {
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
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => {
            let (text, had_errors) = encoding_rs::WINDOWS_1255.decode_without_bom_handling(bytes);
            if had_errors {
                return Err(FileError::new(
                    "ENCODING",
                    "the file is neither UTF-8 nor Windows-1255 text",
                ));
            }
            text
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

/// How many cells the first record of `bytes` has, counting no further than `stop`. Quotes are
/// honoured, so a quoted separator or line break does not count; comma, semicolon and tab all
/// separate (the most frequent of them is the separator), so this is an upper bound.
fn header_width(bytes: &[u8], stop: usize) -> usize {
    let (mut commas, mut semicolons, mut tabs) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
        if commas.max(semicolons).max(tabs) >= stop {
            break;
        }
    }
    commas.max(semicolons).max(tabs) + 1
}

fn read_csv(bytes: &[u8], columns: &[Spec], max_rows: usize) -> Result<Table, FileError> {
    // A header of a million separators would become a million columns: count first.
    let width = header_width(bytes, MAX_COLUMNS + 1);
    if width > MAX_COLUMNS {
        return Err(too_many_columns(width, true));
    }
    let text = decode(bytes)?;
    let separator = sniff_separator(&text);
    let frame = CsvReadOptions::default()
        .with_has_header(false)
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(false)
        .map_parse_options(|o| o.with_separator(separator).with_missing_is_null(true))
        .into_reader_with_file_handle(Cursor::new(text.as_bytes()))
        .finish()
        .map_err(|e| {
            tracing::debug!(error = %e, "a CSV file could not be parsed");
            if let Some(line) = unclosed_quote(&text) {
                FileError::new(
                    "UNCLOSED_QUOTE",
                    format!(
                        "line {line}: a cell opens a quote (\") that is never closed; \
                         a quote inside a quoted cell is written twice (\"\")"
                    ),
                )
            } else if e.to_string().contains("more fields") {
                FileError::new(
                    "TOO_MANY_COLUMNS",
                    "a row has more cells than the header has columns",
                )
            } else {
                FileError::new(
                    "UNREADABLE_FILE",
                    "the CSV cannot be read: check that every row has the header's columns \
                     and that quotes around cells are balanced",
                )
            }
        })?;
    if frame.height() == 0 {
        return Err(FileError::new("EMPTY_FILE", "the file is empty"));
    }
    if frame.width() > MAX_COLUMNS {
        return Err(too_many_columns(frame.width(), false));
    }
    let texts: Vec<&StringChunked> = frame
        .columns()
        .iter()
        .filter_map(|c| c.as_materialized_series().str().ok())
        .collect();
    let header: Vec<(usize, String)> = texts
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.get(0).unwrap_or_default().to_owned()))
        .collect();
    let wanted = positions(&header, columns)?;
    // Trailing blank lines are not rows: the height ends at the last row with any text.
    let rows = frame.height() - 1;
    let height = texts
        .iter()
        .filter_map(|c| {
            (1..=rows)
                .rev()
                .find(|&r| c.get(r).is_some_and(|v| !v.trim().is_empty()))
        })
        .max()
        .unwrap_or(0);
    if height > max_rows {
        return Err(too_many_rows(height, max_rows));
    }
    if height == 0 {
        return Err(no_rows());
    }
    // Each recognised column is cleaned straight from the frame's cells into a new column: no
    // copy of the file's cells is made on the way.
    let mut series = Vec::new();
    for (spec, position) in columns.iter().zip(wanted) {
        let Some(column) = position.and_then(|p| texts.get(p)) else {
            continue;
        };
        series.push(clean_column(spec.name, || {
            (1..=height).map(|r| column.get(r))
        })?);
    }
    table(height, series)
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

/// The line on which a quote opens that the file never closes, if any (quotes are counted as
/// a CSV parser reads them: a doubled quote inside a quoted cell stays inside it).
fn unclosed_quote(text: &str) -> Option<usize> {
    let (mut line, mut opened_at, mut quoted) = (1usize, 0usize, false);
    for c in text.chars() {
        match c {
            '"' if quoted => quoted = false,
            '"' => {
                quoted = true;
                opened_at = line;
            }
            '\n' => line += 1,
            _ => {}
        }
    }
    quoted.then_some(opened_at)
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

/// Checks the cells and builds the frame: every cell cleaned, none too long.
fn finish(columns: Columns) -> Result<Table, FileError> {
    if columns.height == 0 {
        return Err(no_rows());
    }
    let mut series = Vec::with_capacity(columns.specs.len());
    for (name, cells) in &columns.specs {
        series.push(clean_column(name, || cells.iter().map(Option::as_deref))?);
    }
    table(columns.height, series)
}

fn no_rows() -> FileError {
    FileError::new("NO_ROWS", "the file has a header but no rows")
}

/// The cells `cells()` gives, cleaned, as the text column `name`; refuses a cell over
/// [`MAX_CELL_CHARS`]. The cells are read twice (checked, then cleaned) rather than copied.
fn clean_column<'a, I>(name: &'static str, cells: impl Fn() -> I) -> Result<Column, FileError>
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

fn table(height: usize, series: Vec<Column>) -> Result<Table, FileError> {
    let frame = DataFrame::new(height, series)
        .map_err(|e| FileError::new("UNREADABLE_FILE", e.to_string()))?;
    Ok(Table { frame })
}
