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

    pub(super) fn render(mut self) -> Vec<u8> {
        self.rows.sort();
        let mut out = String::new();
        line(&mut out, self.header.iter().map(|h| (*h).to_owned()));
        for row in self.rows {
            line(&mut out, row.into_iter());
        }
        out.into_bytes()
    }
}

/// Adds a file with rows (OneRoster allows no file that has only its header).
pub(super) fn add(files: &mut Files, name: &'static str, csv: Csv) {
    if !csv.rows.is_empty() {
        files.insert(name, csv.render());
    }
}

/// One RFC 4180 line: fields with a comma, quote or line break are quoted.
fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    for (n, field) in fields.enumerate() {
        if n > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
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
