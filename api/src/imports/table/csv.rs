//! CSV in UTF-8 (with or without a byte-order mark) or Windows-1255, with its separator sniffed.

use polars::prelude::*;

use super::*;

/// Decodes CSV bytes: UTF-8 (a byte-order mark is dropped), else Windows-1255 as Hebrew Excel
/// saves it. Text with NUL bytes or other control characters is binary, not CSV.
pub(crate) fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, FileError> {
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
pub(crate) fn header_width(bytes: &[u8], stop: usize) -> usize {
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

pub(crate) fn read_csv(
    bytes: &[u8],
    columns: Wanted<'_>,
    max_rows: usize,
) -> Result<Table, FileError> {
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
    let found = positions(&header, columns)?;
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
    for (name, position) in found.names.iter().zip(&found.at) {
        let Some(column) = position.and_then(|p| texts.get(p)) else {
            continue;
        };
        series.push(clean_column(name, || (1..=height).map(|r| column.get(r)))?);
    }
    table(height, series, found)
}

/// The line on which a quote opens that the file never closes, if any (quotes are counted as
/// a CSV parser reads them: a doubled quote inside a quoted cell stays inside it).
pub(crate) fn unclosed_quote(text: &str) -> Option<usize> {
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
pub(crate) fn sniff_separator(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let count = |c: char| first.matches(c).count();
    [(b';', count(';')), (b'\t', count('\t'))]
        .into_iter()
        .filter(|(_, n)| *n > count(','))
        .max_by_key(|(_, n)| *n)
        .map_or(b',', |(sep, _)| sep)
}
