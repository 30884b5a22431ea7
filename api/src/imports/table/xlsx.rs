//! The first sheet of an XLSX workbook, read cell by cell within the limits checked before it
//! is opened.

use std::io::Cursor;

use calamine::{Data, Reader};

use super::*;

/// How much of an XLSX workbook's unpacked budget its shared strings may take (they are held in
/// memory while the sheet is read): one part in this many.
pub const SHARED_STRINGS_SHARE: u64 = 10;

/// Unpacks every member of the workbook into nothing, counting: declared sizes can lie, so the
/// bytes are counted as they come, and reading stops one byte past the limit. The members may
/// hold `max_unpacked` bytes together, the shared strings a tenth of that.
pub(crate) fn check_unpacked(
    bytes: &[u8],
    file_name: &str,
    max_unpacked: u64,
) -> Result<(), FileError> {
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

pub(crate) fn open_xlsx<'a>(
    bytes: &'a [u8],
    file_name: &str,
) -> Result<calamine::Xlsx<Cursor<&'a [u8]>>, FileError> {
    calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(file_name, e))
}

pub(crate) fn first_sheet(book: &calamine::Xlsx<Cursor<&[u8]>>) -> Result<String, FileError> {
    book.sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| FileError::new("EMPTY_FILE", "the workbook has no sheets"))
}

/// Refuses a sheet whose declared rectangle has more rows or columns than a file may.
pub(crate) fn check_dimensions(
    dimensions: calamine::Dimensions,
    max_rows: usize,
) -> Result<(), FileError> {
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

/// Reads the first sheet cell by cell. The declared rectangle is checked first; then every
/// cell's position is checked as it comes (a declaration can lie), and only the cells of
/// recognised columns are kept.
pub(crate) fn read_xlsx(
    bytes: &[u8],
    file_name: &str,
    columns: Wanted<'_>,
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
    let mut wanted: Option<Found> = None;
    let mut slots: Vec<Option<usize>> = Vec::new();
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
        if wanted.is_none() {
            let found = positions(&header, columns)?;
            kept = vec![Vec::new(); found.at.len()];
            // Each column's slot among the kept ones, looked up by position.
            for (slot, at) in found.at.iter().enumerate() {
                if let Some(at) = *at {
                    if slots.len() <= at {
                        slots.resize(at + 1, None);
                    }
                    slots[at] = Some(slot);
                }
            }
            wanted = Some(found);
        }
        let index = (row - header_row - 1) as usize;
        if index >= max_rows {
            return Err(too_many_rows(index + 1, max_rows));
        }
        if !text.trim().is_empty() {
            height = height.max(index + 1);
        }
        if let Some(slot) = slots.get(column as usize).copied().flatten() {
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
            kept = vec![Vec::new(); found.at.len()];
            found
        }
    };
    let specs = wanted
        .names
        .iter()
        .zip(&wanted.at)
        .zip(kept)
        .filter(|((_, w), _)| w.is_some())
        .map(|((name, _), mut cells)| {
            cells.resize(height, None);
            (name.clone(), cells)
        })
        .collect();
    Ok(Columns {
        specs,
        height,
        found: wanted,
    })
}

/// A spreadsheet cell as text. Formulas are never evaluated: a workbook holds their last
/// computed values, and those are what we read. Dates become ISO dates.
pub(crate) fn cell_text(cell: &Data) -> Option<String> {
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
