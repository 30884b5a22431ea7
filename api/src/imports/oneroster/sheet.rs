//! One file's rows while they are checked ([`Sheet`]), and the helpers that read list, flag,
//! user-id and grade cells.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Source, index::Index};
use crate::imports::Problems;
use crate::imports::RowAction;
use crate::imports::package::Processing;
use crate::imports::parse;
use crate::imports::table::Table;
use crate::imports::table::header_key;

/// One file's rows while they are checked: what each row will do and what is wrong with it.
pub(super) struct Sheet<'a> {
    pub(super) name: &'static str,
    table: Option<&'a Table>,
    delta: bool,
    problems: Problems,
    pub(super) actions: Vec<RowAction>,
}

impl<'a> Sheet<'a> {
    pub(super) fn new(source: &'a Source, name: &'static str) -> Self {
        let file = source.files.get(name);
        Self {
            name,
            table: file.map(|(_, t)| t),
            delta: file.is_some_and(|(p, _)| *p == Processing::Delta),
            problems: Problems::default(),
            actions: Vec::new(),
        }
    }

    pub(super) fn height(&self) -> usize {
        self.table.map_or(0, Table::height)
    }

    pub(super) fn has(&self, column: &str) -> bool {
        self.table
            .is_some_and(|t| t.column(&header_key(column)).is_some())
    }

    pub(super) fn cell(&self, column: &str, i: usize) -> Option<&'a str> {
        self.table?.cell(&header_key(column), i)
    }

    /// A cell that may clear a value: `None` when the file has no such column (keep what the
    /// record has), `Some(None)` when the cell is empty.
    pub(super) fn field(&self, column: &str, i: usize) -> Option<Option<&'a str>> {
        self.has(column).then(|| self.cell(column, i))
    }

    pub(super) fn bad(
        &mut self,
        i: usize,
        column: &str,
        code: &'static str,
        message: impl Into<String>,
    ) {
        let column = format!("{}:{column}", self.name);
        self.problems.add(i, &column, code, message);
    }

    pub(super) fn required(&mut self, i: usize, column: &str) -> Option<&'a str> {
        let value = self.cell(column, i);
        if value.is_none() {
            self.bad(i, column, "REQUIRED", "must not be empty");
        }
        value
    }

    /// Keeps the value of a rule that held, or records the cell that broke it.
    pub(super) fn take<T>(
        &mut self,
        i: usize,
        column: &str,
        checked: Result<T, crate::rules::Broken>,
    ) -> Option<T> {
        checked
            .map_err(|b| self.bad(i, column, b.code, b.message))
            .ok()
    }

    /// A required name (see [`crate::rules::Name`]), the same rule as the API's.
    pub(super) fn name(&mut self, i: usize, column: &str) -> Option<String> {
        let value = self.cell(column, i).unwrap_or_default();
        self.take(i, column, crate::rules::Name::parse(value))
            .map(crate::rules::Name::into_string)
    }

    pub(super) fn date(&mut self, i: usize, column: &str) -> Option<Option<NaiveDate>> {
        match self.cell(column, i) {
            None => Some(None),
            Some(text) => match parse::date(text) {
                Some(d) => Some(Some(d)),
                None => {
                    self.bad(i, column, "INVALID_DATE", "must be a date, YYYY-MM-DD");
                    None
                }
            },
        }
    }

    pub(super) fn deleted(&self, i: usize) -> bool {
        self.delta
            && self
                .cell("status", i)
                .is_some_and(|s| s.eq_ignore_ascii_case("tobedeleted"))
    }

    /// The row's `sourcedId`, once per file.
    pub(super) fn sourced_id(
        &mut self,
        i: usize,
        seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let id = self.required(i, "sourcedId")?.to_owned();
        if id.len() > 255 {
            self.bad(i, "sourcedId", "TOO_LONG", "at most 255 characters");
            return None;
        }
        if let Some(first) = seen.insert(id.clone(), i) {
            self.bad(
                i,
                "sourcedId",
                "DUPLICATE_ROW",
                format!("this sourcedId is also on row {}", first + 2),
            );
            return None;
        }
        Some(id)
    }

    /// The existing record row `i` is about (by sourcedId, else by natural `key`), or `None`
    /// with the row's problem: another row of the file with the same key (`messages.0`, `{}`
    /// standing for its line) or a key naming another record than the sourcedId (`messages.1`).
    pub(super) fn target<'m, M>(
        &mut self,
        i: usize,
        (keys, key): (&mut HashMap<String, usize>, String),
        (index, sourced): (&'m Index<M>, &str),
        column: &str,
        messages: (&str, &str),
    ) -> Option<Option<&'m M>> {
        if let Some(first) = keys.get(&key) {
            let line = (first + 2).to_string();
            self.bad(i, column, "DUPLICATE_ROW", messages.0.replace("{}", &line));
            return None;
        }
        keys.insert(key.clone(), i);
        match index.find(sourced, Some(&key)) {
            Ok(current) => Some(current),
            Err(()) => {
                self.bad(i, column, "CONFLICT", messages.1);
                None
            }
        }
    }

    /// Records what row `i` does (a row with problems fails whatever was decided).
    pub(super) fn act(&mut self, i: usize, action: RowAction) {
        if self.actions.len() <= i {
            self.actions.resize(i + 1, RowAction::Skipped);
        }
        self.actions[i] = if self.problems.failed(i) {
            RowAction::Failed
        } else {
            action
        };
    }

    pub(super) fn finish(mut self) -> (Vec<RowAction>, Problems) {
        let height = self.height();
        self.actions.resize(height, RowAction::Skipped);
        for i in 0..height {
            if self.problems.failed(i) {
                self.actions[i] = RowAction::Failed;
            }
        }
        (self.actions, self.problems)
    }
}

/// A list cell (`"a,b"`, quotes already removed by the CSV reader).
pub(super) fn list(text: Option<&str>) -> Vec<&str> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

pub(super) fn flag(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.eq_ignore_ascii_case("true") || t == "1")
}

/// The `{type:value}` entries of a `userIds` cell.
pub(super) fn user_ids(text: Option<&str>) -> Vec<(String, String)> {
    list(text)
        .into_iter()
        .filter_map(|item| {
            let inner = item.trim_start_matches('{').trim_end_matches('}');
            let (kind, value) = inner.split_once(':')?;
            Some((kind.trim().to_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

/// A CEDS grade (`01`–`12`) as our grade level (see [`crate::rules::GradeLevel`]).
pub(super) fn grade_level(text: &str) -> Result<i32, crate::rules::Broken> {
    crate::rules::GradeLevel::from_number(parse::integer(text)).map(crate::rules::GradeLevel::get)
}
