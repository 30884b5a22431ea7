//! Wide sheets as teachers keep them in Excel, turned into the long rows the grade and
//! attendance importers read: one row per student (national id, names) and one column per date
//! (attendance) or per assessment or subject (grades). Each filled cell becomes one long row, so
//! every rule, limit and guarantee of the long layout holds; errors name the cell by the sheet's
//! line and the column's header.

use chrono::NaiveDate;
use entity::enums::AttendanceStatus;
use entity::enums::GradeCategory;

use super::RowError;
use super::parse;
use super::table::FileError;
use super::table::Header;
use super::table::Spec;
use super::table::Table;

/// How a wide sheet is read.
#[derive(Clone, Debug, Default)]
pub struct Wide {
    /// Grades: the subject of every column; without it each column's header names a subject.
    pub subject: Option<String>,
    /// Grades: the date of every grade (required).
    pub date: Option<NaiveDate>,
    /// Grades: the term; without it, the term holding the date.
    pub term: Option<String>,
    /// Grades: the kind of work; without it, guessed from each header (מבחן, בוחן, סופי, …).
    pub category: Option<GradeCategory>,
    /// Grades: the most a score could be (default 100).
    pub max_score: Option<f64>,
    /// Attendance: cell symbols read as statuses, before the default map.
    pub symbols: Vec<(String, AttendanceStatus)>,
}

/// The columns a wide sheet is read for; every other header is a date or an assessment.
pub const SPECS: &[Spec] = &[
    super::STUDENT_TZ,
    Spec::optional("first_name", super::FIRST_NAME_ALIASES),
    Spec::optional("last_name", super::LAST_NAME_ALIASES),
];

/// Where a long row came from: the sheet's line and the column's header (shared by the
/// column's cells).
pub type Origin = (usize, std::sync::Arc<str>);

/// The fields of the long rows whose value a wide sheet's cell (or its column's header) gives:
/// an error in one of them is the cell's.
const CELL_FIELDS: &[&str] = &[
    "status",
    "date",
    "score",
    "subject",
    "assessment",
    "category",
];

/// The attendance symbols read by default (compared without case or surrounding space);
/// words (present, נוכח, …) are read as in the long layout.
pub const SYMBOLS: &[(&str, AttendanceStatus)] = &[
    ("v", AttendanceStatus::Present),
    ("✓", AttendanceStatus::Present),
    ("✔", AttendanceStatus::Present),
    ("+", AttendanceStatus::Present),
    ("נ", AttendanceStatus::Present),
    ("x", AttendanceStatus::Absent),
    ("✗", AttendanceStatus::Absent),
    ("-", AttendanceStatus::Absent),
    ("ח", AttendanceStatus::Absent),
    ("l", AttendanceStatus::Late),
    ("א", AttendanceStatus::Late),
    ("e", AttendanceStatus::Excused),
    ("מ", AttendanceStatus::Excused),
];

fn status_word(status: AttendanceStatus) -> &'static str {
    match status {
        AttendanceStatus::Present => "PRESENT",
        AttendanceStatus::Late => "LATE",
        AttendanceStatus::Absent => "ABSENT",
        AttendanceStatus::Excused => "EXCUSED",
    }
}

/// A cell's status: the user's symbols, then the default ones; else the cell as written (the
/// attendance importer reads words, and refuses anything else naming the cell).
fn status(text: &str, wide: &Wide) -> String {
    let key = text.trim().to_lowercase();
    wide.symbols
        .iter()
        .find(|(symbol, _)| symbol.trim().to_lowercase() == key)
        .map(|(_, status)| *status)
        .or_else(|| SYMBOLS.iter().find(|(s, _)| *s == key).map(|(_, s)| *s))
        .map_or_else(|| text.to_owned(), |s| status_word(s).to_owned())
}

/// A kind of work as a cell of the long layout writes it.
fn category_word(category: GradeCategory) -> &'static str {
    match category {
        GradeCategory::Exam => "EXAM",
        GradeCategory::Quiz => "QUIZ",
        GradeCategory::Homework => "HOMEWORK",
        GradeCategory::Project => "PROJECT",
        GradeCategory::Final => "FINAL",
    }
}

/// A kind of work guessed from an assessment's header.
fn category_of(header: &str) -> Option<&'static str> {
    let h = header.to_lowercase();
    [
        ("סופי", "FINAL"),
        ("final", "FINAL"),
        ("בוחן", "QUIZ"),
        ("quiz", "QUIZ"),
        ("מבחן", "EXAM"),
        ("exam", "EXAM"),
        ("test", "EXAM"),
        ("עבודה", "PROJECT"),
        ("project", "PROJECT"),
        ("שיעורי בית", "HOMEWORK"),
        ("homework", "HOMEWORK"),
    ]
    .iter()
    .find(|(word, _)| h.contains(word))
    .map(|(_, c)| *c)
}

/// The long rows being built: each column's cells, and where each row came from.
struct Long {
    columns: Vec<(&'static str, Vec<Option<String>>)>,
    origin: Vec<Origin>,
}

impl Long {
    fn new(names: &[&'static str]) -> Self {
        Self {
            columns: names.iter().map(|n| (*n, Vec::new())).collect(),
            origin: Vec::new(),
        }
    }

    fn push(
        &mut self,
        cells: Vec<Option<String>>,
        origin: Origin,
        max_rows: usize,
    ) -> Result<(), FileError> {
        if self.origin.len() >= max_rows {
            return Err(FileError::new(
                "TOO_MANY_ROWS",
                format!("the sheet has more than {max_rows} filled cells; the limit is {max_rows}"),
            ));
        }
        for ((_, column), cell) in self.columns.iter_mut().zip(cells) {
            column.push(cell);
        }
        self.origin.push(origin);
        Ok(())
    }

    fn finish(self, headers: Vec<Header>) -> Result<(Table, Vec<Origin>), FileError> {
        if self.origin.is_empty() {
            return Err(FileError::new("NO_ROWS", "the sheet has no filled cells"));
        }
        let table = Table::from_columns(self.origin.len(), self.columns, headers)?;
        Ok((table, self.origin))
    }
}

/// The sheet's headers, with the columns read as `field` marked so.
fn headers(table: &Table, field: &'static str, read: impl Fn(&str) -> bool) -> Vec<Header> {
    table
        .headers
        .iter()
        .map(|(header, f)| {
            let f = f.or_else(|| read(header).then_some(field));
            (header.clone(), f)
        })
        .collect()
}

/// The sheet's other columns once: each header (shared), refusing a header twice.
fn columns(table: &Table) -> Result<Vec<(&str, std::sync::Arc<str>)>, FileError> {
    let mut seen = std::collections::HashSet::new();
    table
        .others
        .iter()
        .map(|(name, header)| {
            if !seen.insert(super::table::header_key(header)) {
                return Err(FileError::new(
                    "DUPLICATE_COLUMN",
                    format!("the column {header} appears twice: keep one of them"),
                ));
            }
            Ok((name.as_str(), std::sync::Arc::from(header.as_str())))
        })
        .collect()
}

/// A wide attendance sheet: one column per date, cells holding symbols or words. Other columns
/// are not read (the log's `columns` shows them unused).
pub fn attendance(
    table: &Table,
    wide: &Wide,
    max_rows: usize,
) -> Result<(Table, Vec<Origin>), FileError> {
    let dates: Vec<(&str, std::sync::Arc<str>, NaiveDate)> = columns(table)?
        .into_iter()
        .filter_map(|(name, header)| parse::date(&header).map(|d| (name, header, d)))
        .collect();
    if dates.is_empty() {
        return Err(FileError::new(
            "NO_DATE_COLUMNS",
            "a wide attendance sheet has a column per date (yyyy-mm-dd or dd/mm/yyyy); none found",
        ));
    }
    let mut long = Long::new(&["student_tz", "date", "status"]);
    for i in 0..table.height() {
        for (name, header, date) in &dates {
            let Some(cell) = table.cell(name, i) else {
                continue;
            };
            let cells = vec![
                table.cell("student_tz", i).map(str::to_owned),
                Some(date.to_string()),
                Some(status(cell, wide)),
            ];
            long.push(cells, (i + 2, header.clone()), max_rows)?;
        }
    }
    long.finish(headers(table, "date", |h| parse::date(h).is_some()))
}

/// A wide gradebook: one column per assessment (with the subject given) or per subject, cells
/// holding scores; the date (and optionally the term, kind of work and maximum) given once.
pub fn grades(
    table: &Table,
    wide: &Wide,
    max_rows: usize,
) -> Result<(Table, Vec<Origin>), FileError> {
    let Some(date) = wide.date else {
        return Err(FileError::new(
            "MISSING_DATE",
            "a wide gradebook needs the date of its grades (options.wide.date)",
        ));
    };
    let others = columns(table)?;
    if others.is_empty() {
        return Err(FileError::new(
            "NO_SCORE_COLUMNS",
            "a wide gradebook has a column per assessment or subject; none found",
        ));
    }
    let names = [
        "student_tz",
        "subject",
        "assessment",
        "score",
        "max_score",
        "date",
        "term",
        "category",
    ];
    let mut long = Long::new(&names);
    for i in 0..table.height() {
        for (name, header) in &others {
            let Some(cell) = table.cell(name, i) else {
                continue;
            };
            let (subject, assessment) = match &wide.subject {
                Some(subject) => (subject.clone(), Some(header.to_string())),
                None => (header.to_string(), None),
            };
            let category = wide
                .category
                .map(category_word)
                .or_else(|| category_of(header))
                .map(str::to_owned);
            let cells = vec![
                table.cell("student_tz", i).map(str::to_owned),
                Some(subject),
                assessment,
                Some(cell.to_owned()),
                wide.max_score.map(|m| m.to_string()),
                Some(date.to_string()),
                wide.term.clone(),
                category,
            ];
            long.push(cells, (i + 2, header.clone()), max_rows)?;
        }
    }
    long.finish(headers(table, "score", |_| true))
}

/// Names each error by the sheet's cell: its line, and for the cell's own values the column's
/// header; a row number quoted in a message (a duplicate's first row) becomes a line too.
pub fn place(errors: &mut [RowError], origin: &[Origin]) {
    let line = |row: usize| row.checked_sub(2).and_then(|i| origin.get(i));
    for error in errors {
        let Some((at, header)) = line(error.row) else {
            continue;
        };
        error.row = *at;
        if error
            .column
            .as_deref()
            .is_some_and(|c| CELL_FIELDS.contains(&c))
        {
            error.column = Some(header.to_string());
        }
        if let Some(rest) = error.message.strip_prefix("row ")
            && let Some((number, tail)) = rest.split_once(' ')
            && let Some((first, first_header)) = number.parse().ok().and_then(line)
        {
            error.message = format!("line {first} ({first_header}) {tail}");
        }
    }
}
