//! Writing CSV files (RFC 4180, rows sorted) and the cells they hold.

use std::collections::HashMap;

use super::Files;

/// One CSV file: its header and rows.
pub(super) struct Csv {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    pub(super) fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The file: RFC 4180 (the `csv` crate quotes a field with a comma, quote or line break),
    /// lines ending CRLF, rows sorted.
    pub(super) fn render(mut self) -> Vec<u8> {
        self.rows.sort();
        let mut out = Vec::new();
        let mut writer = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(&mut out);
        // Written into memory, with rows of any width allowed: nothing can fail.
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        for record in std::iter::once(header).chain(self.rows) {
            if let Err(e) = writer.write_record(&record) {
                tracing::error!(error = %e, "cannot write a CSV row");
            }
        }
        if let Err(e) = writer.flush() {
            tracing::error!(error = %e, "cannot write a CSV file");
        }
        drop(writer);
        out
    }
}

/// Adds a file with rows (OneRoster allows no file that has only its header).
pub(super) fn add(files: &mut Files, name: &'static str, csv: Csv) {
    if !csv.rows.is_empty() {
        files.insert(name, csv.render());
    }
}

pub(super) fn sourced(external: &Option<String>, id: impl ToString) -> String {
    external.clone().unwrap_or_else(|| id.to_string())
}

/// The sourcedId of record `id` in `map`.
pub(super) fn name<K: std::hash::Hash + Eq>(map: &HashMap<K, String>, id: K) -> String {
    map.get(&id).cloned().unwrap_or_default()
}

pub(super) fn opt(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub(super) fn grade_code(level: Option<i32>) -> String {
    level.map(|g| format!("{g:02}")).unwrap_or_default()
}
