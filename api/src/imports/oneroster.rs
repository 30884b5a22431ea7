//! Importing a OneRoster 1.1/1.2 CSV package (DESIGN §6, `reference/oneroster-1.2-csv.md`):
//! the package is opened safely ([`super::package`]), each file is read into a polars frame, and
//! its rows are mapped onto our tables:
//!
//! | OneRoster | ours |
//! |---|---|
//! | the school's org | the school the import runs in (never another) |
//! | academicSessions `schoolYear` / other types | academic years / terms |
//! | courses | subjects |
//! | classes | classes (the year of their first session) |
//! | users with a student / teacher / parent-guardian-relative role at the org | students (`{tz:…}` in `userIds`) / teachers / guardians |
//! | enrollments `student` / `teacher` | enrollments / class teachers |
//! | categories + lineItems | assessments |
//! | results | grades |
//!
//! Records are matched by `sourcedId` (our `external_id`, or our own id for records we
//! exported), else by their natural key; rows of other orgs are skipped. A few facts OneRoster
//! has no column for travel in `metadata.sds.*` columns, so our own export reads back losslessly.
//! No login account is made from a file: roles decide what kind of person a user is.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use entity::{
    academic_year, assessment, class, class_teacher, enrollment,
    enums::{ClassKind, GradeCategory, RecordStatus},
    grade, guardian,
    ids::*,
    student, student_guardian, subject, teacher,
    tenant::{TenantScoped, TenantTx},
    term,
};
use sea_orm::{ActiveModelBehavior, ActiveModelTrait, DbErr, EntityTrait, IntoActiveModel};

use super::{
    Outcome, Problems, RowAction,
    package::{self, Processing},
    parse,
    table::{self, FileError, Spec, Table, header_key},
};
use crate::rules::{StudentTz, is_plausible_email};

/// Our namespace for extension columns (`metadata.sds.<field>`).
pub const NS: &str = "metadata.sds.";

/// The sourcedId of the course our export gives homeroom classes (they teach no subject).
pub const HOMEROOM_COURSE: &str = "sds.homeroom";

const fn col(name: &'static str, required: bool) -> Spec {
    Spec {
        name,
        required,
        aliases: &[],
    }
}

const COMMON: [Spec; 3] = [
    col("sourcedid", true),
    col("status", false),
    col("datelastmodified", false),
];

/// The columns read from each file (names as [`header_key`] makes them).
fn columns(file: &str) -> Vec<Spec> {
    let own: &[Spec] = match file {
        "orgs.csv" => &[
            col("name", true),
            col("type", true),
            col("identifier", false),
            col("parentsourcedid", false),
        ],
        "academicSessions.csv" => &[
            col("title", true),
            col("type", true),
            col("startdate", true),
            col("enddate", true),
            col("parentsourcedid", false),
            col("schoolyear", false),
            col("metadata_sds_iscurrent", false),
        ],
        "courses.csv" => &[
            col("title", true),
            col("coursecode", false),
            col("orgsourcedid", true),
            col("metadata_sds_homeroom", false),
        ],
        "classes.csv" => &[
            col("title", true),
            col("grades", false),
            col("coursesourcedid", true),
            col("classtype", true),
            col("schoolsourcedid", true),
            col("termsourcedids", true),
        ],
        "users.csv" => &[
            col("orgsourcedids", false),
            col("role", false),
            col("userids", false),
            col("givenname", true),
            col("familyname", true),
            col("email", false),
            col("phone", false),
            col("agentsourcedids", false),
            col("grades", false),
            col("metadata_sds_classsourcedid", false),
            col("metadata_sds_primaryagentsourcedids", false),
            col("metadata_sds_relationship", false),
        ],
        "roles.csv" => &[
            col("usersourcedid", true),
            col("roletype", false),
            col("role", true),
            col("orgsourcedid", true),
        ],
        "demographics.csv" => &[col("birthdate", false), col("sex", false)],
        "enrollments.csv" => &[
            col("classsourcedid", true),
            col("schoolsourcedid", true),
            col("usersourcedid", true),
            col("role", true),
            col("primary", false),
            col("begindate", false),
            col("enddate", false),
        ],
        "categories.csv" => &[col("title", true)],
        "lineItems.csv" => &[
            col("title", true),
            col("assigndate", false),
            col("classsourcedid", false),
            col("categorysourcedid", false),
            col("academicsessionsourcedid", true),
            col("resultvaluemax", false),
            col("schoolsourcedid", false),
            col("metadata_sds_subjectsourcedid", false),
            col("metadata_sds_virtual", false),
        ],
        "results.csv" => &[
            col("lineitemsourcedid", true),
            col("studentsourcedid", true),
            col("scorestatus", false),
            col("score", false),
            col("scoredate", true),
            col("comment", false),
            col("classsourcedid", false),
            col("metadata_sds_isfinal", false),
            col("metadata_sds_category", false),
            col("metadata_sds_maxscore", false),
            col("metadata_sds_teachersourcedid", false),
        ],
        _ => &[],
    };
    COMMON.iter().chain(own).copied().collect()
}

/// The files we read, in the order their rows are applied.
const READ: &[&str] = &[
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "roles.csv",
    "demographics.csv",
    "users.csv",
    "enrollments.csv",
    "categories.csv",
    "lineItems.csv",
    "results.csv",
];

/// A package read into frames.
#[derive(Debug)]
pub struct Source {
    /// `1.1` or `1.2`.
    pub version: String,
    files: BTreeMap<&'static str, (Processing, Table)>,
}

/// Opens and reads a package (blocking: run it off the async workers).
pub fn read(bytes: &[u8], max_bytes: usize, max_rows: usize) -> Result<Source, FileError> {
    let mut opened = package::open(bytes, max_bytes)?;
    let mut files = BTreeMap::new();
    for name in READ {
        let Some((processing, data)) = opened.files.remove(*name) else {
            continue;
        };
        let table =
            table::read(name, &data, &columns(name), max_rows, max_bytes as u64).map_err(|e| {
                FileError {
                    code: e.code,
                    column: e.column.map(|c| format!("{name}:{c}")),
                    message: format!("{name}: {}", e.message),
                }
            })?;
        files.insert(*name, (processing, table));
    }
    Ok(Source {
        version: opened.version,
        files,
    })
}

/// One file's rows while they are checked: what each row will do and what is wrong with it.
struct Sheet<'a> {
    name: &'static str,
    table: Option<&'a Table>,
    delta: bool,
    problems: Problems,
    actions: Vec<RowAction>,
}

impl<'a> Sheet<'a> {
    fn new(source: &'a Source, name: &'static str) -> Self {
        let file = source.files.get(name);
        Self {
            name,
            table: file.map(|(_, t)| t),
            delta: file.is_some_and(|(p, _)| *p == Processing::Delta),
            problems: Problems::default(),
            actions: Vec::new(),
        }
    }

    fn height(&self) -> usize {
        self.table.map_or(0, Table::height)
    }

    fn has(&self, column: &str) -> bool {
        self.table
            .is_some_and(|t| t.column(&header_key(column)).is_some())
    }

    fn cell(&self, column: &str, i: usize) -> Option<&'a str> {
        self.table?.cell(&header_key(column), i)
    }

    /// A cell that may clear a value: `None` when the file has no such column (keep what the
    /// record has), `Some(None)` when the cell is empty.
    fn field(&self, column: &str, i: usize) -> Option<Option<&'a str>> {
        self.has(column).then(|| self.cell(column, i))
    }

    fn bad(&mut self, i: usize, column: &str, code: &'static str, message: impl Into<String>) {
        let column = format!("{}:{column}", self.name);
        self.problems.add(i, &column, code, message);
    }

    fn required(&mut self, i: usize, column: &str) -> Option<&'a str> {
        let value = self.cell(column, i);
        if value.is_none() {
            self.bad(i, column, "REQUIRED", "must not be empty");
        }
        value
    }

    fn text(&mut self, i: usize, column: &str, max: usize) -> Option<String> {
        let value = self.required(i, column)?;
        if value.chars().count() > max {
            self.bad(i, column, "TOO_LONG", format!("at most {max} characters"));
            return None;
        }
        Some(value.to_owned())
    }

    fn date(&mut self, i: usize, column: &str) -> Option<Option<NaiveDate>> {
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

    fn deleted(&self, i: usize) -> bool {
        self.delta
            && self
                .cell("status", i)
                .is_some_and(|s| s.eq_ignore_ascii_case("tobedeleted"))
    }

    /// The row's `sourcedId`, once per file.
    fn sourced_id(&mut self, i: usize, seen: &mut HashMap<String, usize>) -> Option<String> {
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
    fn target<'m, M>(
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
    fn act(&mut self, i: usize, action: RowAction) {
        if self.actions.len() <= i {
            self.actions.resize(i + 1, RowAction::Skipped);
        }
        self.actions[i] = if self.problems.failed(i) {
            RowAction::Failed
        } else {
            action
        };
    }

    fn finish(mut self) -> (Vec<RowAction>, Problems) {
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
fn list(text: Option<&str>) -> Vec<&str> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn flag(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.eq_ignore_ascii_case("true") || t == "1")
}

/// The `{type:value}` entries of a `userIds` cell.
fn user_ids(text: Option<&str>) -> Vec<(String, String)> {
    list(text)
        .into_iter()
        .filter_map(|item| {
            let inner = item.trim_start_matches('{').trim_end_matches('}');
            let (kind, value) = inner.split_once(':')?;
            Some((kind.trim().to_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

/// A CEDS grade (`01`–`12`) as our grade level.
fn grade_level(text: &str) -> Option<i32> {
    parse::integer(text).filter(|g| (1..=12).contains(g))
}

/// The existing records of one table, findable by sourcedId (external id or our id) and by
/// natural key.
struct Index<M> {
    models: Vec<M>,
    by_sourced: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
}

impl<M> Index<M> {
    fn new(
        models: Vec<M>,
        id: impl Fn(&M) -> String,
        external: impl Fn(&M) -> Option<&str>,
        key: impl Fn(&M) -> Option<String>,
    ) -> Self {
        let mut by_sourced = HashMap::new();
        let mut by_key = HashMap::new();
        for (n, m) in models.iter().enumerate() {
            by_sourced.insert(id(m), n);
            if let Some(k) = key(m) {
                by_key.insert(k, n);
            }
        }
        // An external id wins over an id that happens to be spelled the same.
        for (n, m) in models.iter().enumerate() {
            if let Some(e) = external(m) {
                by_sourced.insert(e.to_owned(), n);
            }
        }
        Self {
            models,
            by_sourced,
            by_key,
        }
    }

    fn get(&self, sourced: &str) -> Option<&M> {
        self.by_sourced.get(sourced).map(|n| &self.models[*n])
    }

    /// The record a row is about: by sourcedId, else by natural key; `Err` when the two name
    /// different records.
    fn find(&self, sourced: &str, key: Option<&str>) -> Result<Option<&M>, ()> {
        let a = self.by_sourced.get(sourced);
        let b = key.and_then(|k| self.by_key.get(k));
        match (a, b) {
            (Some(a), Some(b)) if a != b => Err(()),
            (Some(n), _) | (None, Some(n)) => Ok(Some(&self.models[*n])),
            (None, None) => Ok(None),
        }
    }
}

/// New and changed records of one table.
struct Changes<M> {
    inserts: Vec<M>,
    updates: Vec<M>,
}

impl<M> Default for Changes<M> {
    fn default() -> Self {
        Self {
            inserts: Vec::new(),
            updates: Vec::new(),
        }
    }
}

impl<M: PartialEq> Changes<M> {
    /// Queues `next` (the record as the row says it should be) and says what that is.
    fn decide(&mut self, current: Option<&M>, mut next: M, touch: impl Fn(&mut M)) -> RowAction {
        match current {
            None => {
                self.inserts.push(next);
                RowAction::Insert
            }
            Some(c) if *c == next => RowAction::Unchanged,
            Some(_) => {
                touch(&mut next);
                self.updates.push(next);
                RowAction::Update
            }
        }
    }
}

async fn apply<A>(
    tx: &TenantTx,
    changes: Changes<<A::Entity as EntityTrait>::Model>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    A::Entity: TenantScoped,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    for model in changes.updates {
        super::write_back(tx, model.into_active_model(), "record").await?;
    }
    let inserts: Vec<A> = changes
        .inserts
        .into_iter()
        .map(|m| m.into_active_model().reset_all())
        .collect();
    for chunk in super::students::chunks::<A::Entity, _>(inserts) {
        tx.insert_many(chunk).await?;
    }
    Ok(())
}

/// What the school's records become, table by table.
#[derive(Default)]
struct Plan {
    years: Changes<academic_year::Model>,
    terms: Changes<term::Model>,
    subjects: Changes<subject::Model>,
    classes: Changes<class::Model>,
    students: Changes<student::Model>,
    teachers: Changes<teacher::Model>,
    guardians: Changes<guardian::Model>,
    links: Changes<student_guardian::Model>,
    enrollments: Changes<enrollment::Model>,
    class_teachers: Changes<class_teacher::Model>,
    assessments: Changes<assessment::Model>,
    grades: Changes<grade::Model>,
}

/// What an academic session is to us.
#[derive(Clone, Copy)]
enum Session {
    Year(AcademicYearId),
    Term(TermId, AcademicYearId),
}

/// A student's birth date and sex cells (each `None` when demographics.csv lacks the column).
type Demographics<'a> = (Option<Option<&'a str>>, Option<Option<&'a str>>);

/// A student row's guardians: (row, student, agentSourcedIds, our primaries if the file says).
type Agents = (usize, StudentId, Vec<String>, Option<Vec<String>>);

/// What kind of person a user is at the school.
#[derive(Clone, Debug, PartialEq)]
enum Person {
    Student,
    Teacher,
    Guardian(String),
}

/// Validates a package against the school and writes it when `write` says so.
pub async fn import(
    tx: &TenantTx,
    source: &Source,
    org: Option<&str>,
    write: impl Fn(&Problems) -> bool,
    progress: &super::Progress<'_>,
) -> Result<(Outcome, bool), ImportFailure> {
    let org = our_org(source, org)?;
    let now = Utc::now();
    let mut plan = Plan::default();
    let mut sheets: Vec<(Vec<RowAction>, Problems, &'static str)> = Vec::new();
    fn done(sheets: &mut Vec<(Vec<RowAction>, Problems, &'static str)>, sheet: Sheet<'_>) {
        let name = sheet.name;
        let (actions, problems) = sheet.finish();
        sheets.push((actions, problems, name));
    }

    // Academic sessions: school years first, then terms (their year by parent or school year).
    let years = Index::new(
        tx.all(tx.find::<academic_year::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(header_key(&m.name)),
    );
    let terms = Index::new(
        tx.all(tx.find::<term::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(format!("{}/{}", m.academic_year_id, header_key(&m.name))),
    );
    let mut sessions: HashMap<String, Session> = HashMap::new();
    for y in &years.models {
        sessions.insert(
            y.external_id.clone().unwrap_or_else(|| y.id.to_string()),
            Session::Year(y.id),
        );
    }
    for t in &terms.models {
        sessions.insert(
            t.external_id.clone().unwrap_or_else(|| t.id.to_string()),
            Session::Term(t.id, t.academic_year_id),
        );
    }
    {
        let mut sheet = Sheet::new(source, "academicSessions.csv");
        let mut seen = HashMap::new();
        let mut keys = HashMap::new();
        let mut current_years = Vec::new();
        let (year_rows, term_rows): (Vec<usize>, Vec<usize>) =
            (0..sheet.height()).partition(|i| sheet.cell("type", *i) == Some("schoolYear"));
        // Pass 1: years.
        for i in year_rows {
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            if sheet.deleted(i) {
                let action = plan.years.retire(&years, &sourced, now);
                sheet.act(i, action);
                continue;
            }
            let name = sheet.text(i, "title", 100);
            let start = sheet.date(i, "startDate").flatten();
            let end = sheet.date(i, "endDate").flatten();
            if sheet.cell("startDate", i).is_none() {
                sheet.bad(i, "startDate", "REQUIRED", "must not be empty");
            }
            if sheet.cell("endDate", i).is_none() {
                sheet.bad(i, "endDate", "REQUIRED", "must not be empty");
            }
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                sheet.bad(i, "endDate", "INVALID_RANGE", "ends before it starts");
            }
            let (Some(name), Some(start), Some(end)) = (name, start, end) else {
                continue;
            };
            let key = header_key(&name);
            let Some(current) = sheet.target(
                i,
                (&mut keys, key),
                (&years, &sourced),
                "title",
                (
                    "another school year on row {} has this title",
                    "another school year of this school has this title",
                ),
            ) else {
                continue;
            };
            let is_current = sheet
                .field("metadata.sds.isCurrent", i)
                .map_or(current.is_some_and(|c| c.is_current), flag);
            let id = current.map_or_else(AcademicYearId::generate, |c| c.id);
            let next = academic_year::Model {
                school_id: tx.school_id(),
                id,
                created_at: current.map_or(now, |c| c.created_at),
                updated_at: current.map_or(now, |c| c.updated_at),
                external_id: external_id(current, &sourced),
                status: RecordStatus::Active,
                name,
                start_date: start,
                end_date: end,
                is_current,
            };
            if is_current {
                current_years.push(id);
            }
            let action = plan.years.decide(current, next, |m| m.updated_at = now);
            sessions.insert(sourced, Session::Year(id));
            sheet.act(i, action);
        }
        // One current year per school: a file that names one makes the others not current.
        if let Some(current) = current_years.last() {
            for y in years
                .models
                .iter()
                .filter(|y| y.is_current && y.id != *current)
            {
                if plan.years.updates.iter().any(|u| u.id == y.id) {
                    for u in plan.years.updates.iter_mut().filter(|u| u.id == y.id) {
                        u.is_current = false;
                    }
                } else {
                    plan.years.updates.push(academic_year::Model {
                        is_current: false,
                        updated_at: now,
                        ..y.clone()
                    });
                }
            }
        }
        // Pass 2: terms.
        let year_of_school_year: HashMap<i32, AcademicYearId> = plan
            .years
            .inserts
            .iter()
            .chain(&plan.years.updates)
            .chain(&years.models)
            .map(|y| (chrono::Datelike::year(&y.end_date), y.id))
            .collect();
        for i in term_rows {
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            if sheet.deleted(i) {
                let action = plan.terms.retire(&terms, &sourced, now);
                sheet.act(i, action);
                continue;
            }
            match sheet.cell("type", i) {
                Some("term" | "semester" | "gradingPeriod") => {}
                _ => sheet.bad(
                    i,
                    "type",
                    "INVALID_VALUE",
                    "must be schoolYear, term, semester or gradingPeriod",
                ),
            }
            let name = sheet.text(i, "title", 100);
            let start = sheet.date(i, "startDate").flatten();
            let end = sheet.date(i, "endDate").flatten();
            for column in ["startDate", "endDate"] {
                if sheet.cell(column, i).is_none() {
                    sheet.bad(i, column, "REQUIRED", "must not be empty");
                }
            }
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                sheet.bad(i, "endDate", "INVALID_RANGE", "ends before it starts");
            }
            // The year: the parent session (or its year), else the school year it ends in.
            let year = match sheet.cell("parentSourcedId", i) {
                Some(parent) => match sessions.get(parent) {
                    Some(Session::Year(y) | Session::Term(_, y)) => Some(*y),
                    None => {
                        sheet.bad(
                            i,
                            "parentSourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{parent} is no school year of this package or school"),
                        );
                        None
                    }
                },
                None => {
                    let year = sheet
                        .cell("schoolYear", i)
                        .and_then(parse::integer)
                        .and_then(|y| year_of_school_year.get(&y).copied());
                    if year.is_none() {
                        sheet.bad(
                            i,
                            "schoolYear",
                            "UNKNOWN_REFERENCE",
                            "the session names no parent, and no school year ends in its schoolYear",
                        );
                    }
                    year
                }
            };
            let (Some(name), Some(start), Some(end), Some(year)) = (name, start, end, year) else {
                continue;
            };
            let key = format!("{year}/{}", header_key(&name));
            let Some(current) = sheet.target(
                i,
                (&mut keys, key),
                (&terms, &sourced),
                "title",
                (
                    "row {} has a term of this title in the same year",
                    "another term of that year has this title",
                ),
            ) else {
                continue;
            };
            let id = current.map_or_else(TermId::generate, |c| c.id);
            let next = term::Model {
                school_id: tx.school_id(),
                id,
                created_at: current.map_or(now, |c| c.created_at),
                updated_at: current.map_or(now, |c| c.updated_at),
                external_id: external_id(current, &sourced),
                status: RecordStatus::Active,
                academic_year_id: year,
                name,
                start_date: start,
                end_date: end,
            };
            let action = plan.terms.decide(current, next, |m| m.updated_at = now);
            sessions.insert(sourced, Session::Term(id, year));
            sheet.act(i, action);
        }
        done(&mut sheets, sheet);
    }

    // Courses → subjects (our homeroom course is no subject).
    let subjects = Index::new(
        tx.all(tx.find::<subject::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(header_key(&m.name)),
    );
    let mut courses: HashMap<String, Option<SubjectId>> = subjects
        .models
        .iter()
        .map(|s| {
            (
                s.external_id.clone().unwrap_or_else(|| s.id.to_string()),
                Some(s.id),
            )
        })
        .collect();
    courses.insert(HOMEROOM_COURSE.to_owned(), None);
    {
        let mut sheet = Sheet::new(source, "courses.csv");
        let mut seen = HashMap::new();
        let mut keys = HashMap::new();
        for i in 0..sheet.height() {
            if sheet.cell("orgSourcedId", i) != Some(org.as_str()) {
                sheet.act(i, RowAction::Skipped);
                continue;
            }
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            if flag(sheet.cell("metadata.sds.homeroom", i)) {
                courses.insert(sourced, None);
                sheet.act(i, RowAction::Unchanged);
                continue;
            }
            if sheet.deleted(i) {
                let action = plan.subjects.retire(&subjects, &sourced, now);
                sheet.act(i, action);
                continue;
            }
            let Some(name) = sheet.text(i, "title", 100) else {
                continue;
            };
            let key = header_key(&name);
            let Some(current) = sheet.target(
                i,
                (&mut keys, key),
                (&subjects, &sourced),
                "title",
                (
                    "row {} has a course of this title",
                    "another subject of this school has this name",
                ),
            ) else {
                continue;
            };
            let id = current.map_or_else(SubjectId::generate, |c| c.id);
            let code = sheet.field("courseCode", i).map_or_else(
                || current.and_then(|c| c.code.clone()),
                |v| v.map(str::to_owned),
            );
            let next = subject::Model {
                school_id: tx.school_id(),
                id,
                created_at: current.map_or(now, |c| c.created_at),
                updated_at: current.map_or(now, |c| c.updated_at),
                external_id: external_id(current, &sourced),
                status: RecordStatus::Active,
                name,
                code,
            };
            let action = plan.subjects.decide(current, next, |m| m.updated_at = now);
            courses.insert(sourced, Some(id));
            sheet.act(i, action);
        }
        done(&mut sheets, sheet);
    }

    // Classes.
    let class_index = Index::new(
        tx.all(tx.find::<class::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(format!("{}/{}", m.academic_year_id, header_key(&m.name))),
    );
    let mut classes: HashMap<String, (ClassId, ClassKind, Option<SubjectId>)> = class_index
        .models
        .iter()
        .map(|c| {
            (
                c.external_id.clone().unwrap_or_else(|| c.id.to_string()),
                (c.id, c.kind, c.subject_id),
            )
        })
        .collect();
    {
        let mut sheet = Sheet::new(source, "classes.csv");
        let mut seen = HashMap::new();
        let mut keys = HashMap::new();
        for i in 0..sheet.height() {
            if sheet.cell("schoolSourcedId", i) != Some(org.as_str()) {
                sheet.act(i, RowAction::Skipped);
                continue;
            }
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            if sheet.deleted(i) {
                let action = plan.classes.retire(&class_index, &sourced, now);
                sheet.act(i, action);
                continue;
            }
            let name = sheet.text(i, "title", 100);
            let kind = match sheet.cell("classType", i) {
                Some("homeroom") => Some(ClassKind::Homeroom),
                Some("scheduled") => Some(ClassKind::Scheduled),
                _ => {
                    sheet.bad(
                        i,
                        "classType",
                        "INVALID_VALUE",
                        "must be homeroom or scheduled",
                    );
                    None
                }
            };
            let subject = match sheet.required(i, "courseSourcedId") {
                Some(c) => match courses.get(c) {
                    Some(s) => Some(*s),
                    None => {
                        sheet.bad(
                            i,
                            "courseSourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{c} is no valid course of this package or school"),
                        );
                        None
                    }
                },
                None => None,
            };
            let year = {
                let terms_of = list(sheet.cell("termSourcedIds", i));
                let year = terms_of.iter().find_map(|t| match sessions.get(*t) {
                    Some(Session::Year(y) | Session::Term(_, y)) => Some(*y),
                    None => None,
                });
                if year.is_none() {
                    sheet.bad(
                        i,
                        "termSourcedIds",
                        "UNKNOWN_REFERENCE",
                        "names no valid academic session of this package or school",
                    );
                }
                year
            };
            let grade = match sheet.cell("grades", i).map(|g| list(Some(g))) {
                Some(g) if !g.is_empty() => match grade_level(g[0]) {
                    Some(level) => Some(Some(level)),
                    None => {
                        sheet.bad(i, "grades", "INVALID_GRADE_LEVEL", "must be 01 to 12");
                        None
                    }
                },
                _ => Some(None),
            };
            let (Some(name), Some(kind), Some(subject), Some(year), Some(grade)) =
                (name, kind, subject, year, grade)
            else {
                continue;
            };
            let key = format!("{year}/{}", header_key(&name));
            let Some(current) = sheet.target(
                i,
                (&mut keys, key),
                (&class_index, &sourced),
                "title",
                (
                    "row {} has a class of this title in the same year",
                    "another class of that year has this title",
                ),
            ) else {
                continue;
            };
            let id = current.map_or_else(ClassId::generate, |c| c.id);
            let next = class::Model {
                school_id: tx.school_id(),
                id,
                created_at: current.map_or(now, |c| c.created_at),
                updated_at: current.map_or(now, |c| c.updated_at),
                external_id: external_id(current, &sourced),
                status: RecordStatus::Active,
                academic_year_id: year,
                name,
                kind,
                grade_level: grade,
                subject_id: subject,
            };
            let action = plan.classes.decide(current, next, |m| m.updated_at = now);
            classes.insert(sourced, (id, kind, subject));
            sheet.act(i, action);
        }
        done(&mut sheets, sheet);
    }

    // Who is what at the school: roles.csv (1.2) or the user's own role (1.1).
    let mut roles: HashMap<String, (bool, String)> = HashMap::new();
    {
        let sheet = Sheet::new(source, "roles.csv");
        for i in 0..sheet.height() {
            let (Some(user), Some(role)) = (sheet.cell("userSourcedId", i), sheet.cell("role", i))
            else {
                continue;
            };
            if sheet.cell("orgSourcedId", i) != Some(org.as_str()) || sheet.deleted(i) {
                continue;
            }
            let primary = sheet.cell("roleType", i) == Some("primary");
            let entry = roles
                .entry(user.to_owned())
                .or_insert((primary, role.to_owned()));
            if primary && !entry.0 {
                *entry = (true, role.to_owned());
            }
        }
    }
    let demographics: HashMap<String, Demographics<'_>> = {
        let sheet = Sheet::new(source, "demographics.csv");
        (0..sheet.height())
            .filter_map(|i| {
                Some((
                    sheet.cell("sourcedId", i)?.to_owned(),
                    (sheet.field("birthDate", i), sheet.field("sex", i)),
                ))
            })
            .collect()
    };
    // Homerooms by enrollment, for students whose class the file does not name otherwise.
    let homeroom_of: HashMap<String, ClassId> = {
        let sheet = Sheet::new(source, "enrollments.csv");
        (0..sheet.height())
            .filter(|i| sheet.cell("role", *i) == Some("student") && !sheet.deleted(*i))
            .filter_map(|i| {
                let (class, kind, _) = classes.get(sheet.cell("classSourcedId", i)?)?;
                (*kind == ClassKind::Homeroom)
                    .then(|| Some((sheet.cell("userSourcedId", i)?.to_owned(), *class)))
                    .flatten()
            })
            .collect()
    };

    // Users → students, teachers, guardians.
    let student_index = Index::new(
        tx.all(tx.find::<student::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(m.student_tz.clone()),
    );
    let teacher_index = Index::new(
        tx.all(tx.find::<teacher::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |_| None,
    );
    let guardian_index = Index::new(
        tx.all(tx.find::<guardian::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| m.guardian_tz.clone(),
    );
    let mut students: HashMap<String, StudentId> = student_index
        .models
        .iter()
        .map(|s| {
            (
                s.external_id.clone().unwrap_or_else(|| s.id.to_string()),
                s.id,
            )
        })
        .collect();
    let mut teachers: HashMap<String, TeacherId> = teacher_index
        .models
        .iter()
        .map(|s| {
            (
                s.external_id.clone().unwrap_or_else(|| s.id.to_string()),
                s.id,
            )
        })
        .collect();
    let mut guardians: HashMap<String, (GuardianId, Option<String>)> = HashMap::new();
    // Each student row's guardians, linked once every user is known: (row, student, agents, primaries).
    let mut agents: Vec<Agents> = Vec::new();
    let users_sheet = {
        let mut sheet = Sheet::new(source, "users.csv");
        let mut seen = HashMap::new();
        let mut tzs = HashMap::new();
        for i in 0..sheet.height() {
            let role = if source.version == "1.1" {
                let orgs = list(sheet.cell("orgSourcedIds", i));
                orgs.contains(&org.as_str())
                    .then(|| sheet.cell("role", i).map(str::to_owned))
                    .flatten()
            } else {
                sheet
                    .cell("sourcedId", i)
                    .and_then(|u| roles.get(u))
                    .map(|(_, r)| r.clone())
            };
            let person = match role.as_deref() {
                Some("student") => Person::Student,
                Some("teacher") => Person::Teacher,
                Some(r @ ("guardian" | "parent" | "relative")) => Person::Guardian(r.to_owned()),
                // Administrators, aides, counsellors… and users of other orgs are not kept.
                _ => {
                    sheet.act(i, RowAction::Skipped);
                    continue;
                }
            };
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            if sheet.deleted(i) {
                let action = match person {
                    Person::Student => plan.students.retire(&student_index, &sourced, now),
                    Person::Teacher => plan.teachers.retire(&teacher_index, &sourced, now),
                    Person::Guardian(_) => plan.guardians.retire(&guardian_index, &sourced, now),
                };
                sheet.act(i, action);
                continue;
            }
            let first_name = sheet.text(i, "givenName", 200);
            let last_name = sheet.text(i, "familyName", 200);
            let email = sheet.field("email", i).map(|e| e.map(str::to_owned));
            if let Some(Some(e)) = &email
                && !is_plausible_email(e)
            {
                sheet.bad(i, "email", "INVALID_EMAIL", "is not an email address");
            }
            let phone = sheet.field("phone", i).map(|p| p.map(str::to_owned));
            let ids = user_ids(sheet.cell("userIds", i));
            let tz_text = ids.iter().find(|(k, _)| k == "tz").map(|(_, v)| v.clone());
            let tz = match tz_text.as_deref().map(StudentTz::parse) {
                None => None,
                Some(Ok(tz)) => Some(tz.into_string()),
                Some(Err(e)) => {
                    sheet.bad(i, "userIds", "INVALID_TZ", e.to_string());
                    None
                }
            };
            if let Some(tz) = &tz
                && let Some(first) = tzs.insert(tz.clone(), i)
            {
                sheet.bad(
                    i,
                    "userIds",
                    "DUPLICATE_ROW",
                    format!("row {} has the same national id", first + 2),
                );
            }
            let (Some(first_name), Some(last_name)) = (first_name, last_name) else {
                continue;
            };
            match person {
                Person::Student => {
                    let Some(tz) = tz else {
                        if tz_text.is_none() {
                            sheet.bad(
                                i,
                                "userIds",
                                "REQUIRED",
                                "a student needs a national id, as {tz:123456782}",
                            );
                        }
                        continue;
                    };
                    let Ok(current) = student_index.find(&sourced, Some(&tz)) else {
                        sheet.bad(
                            i,
                            "userIds",
                            "CONFLICT",
                            "another student of this school has this national id",
                        );
                        continue;
                    };
                    let grade = match list(sheet.cell("grades", i)).first() {
                        Some(g) => match grade_level(g) {
                            Some(level) => Some(level),
                            None => {
                                sheet.bad(i, "grades", "INVALID_GRADE_LEVEL", "must be 01 to 12");
                                continue;
                            }
                        },
                        None if sheet.has("grades") => None,
                        None => current.and_then(|c| c.grade_level),
                    };
                    let class_id = match sheet.cell("metadata.sds.classSourcedId", i) {
                        Some(c) => match classes.get(c) {
                            Some((id, _, _)) => Some(*id),
                            None => {
                                sheet.bad(
                                    i,
                                    "metadata.sds.classSourcedId",
                                    "UNKNOWN_REFERENCE",
                                    format!("{c} is no valid class of this package or school"),
                                );
                                continue;
                            }
                        },
                        None if sheet.has("metadata.sds.classSourcedId") => None,
                        None => homeroom_of
                            .get(&sourced)
                            .copied()
                            .or_else(|| current.and_then(|c| c.class_id)),
                    };
                    let (birth, sex) = demographics.get(&sourced).copied().unwrap_or((None, None));
                    let birth_date = match birth {
                        None => current.and_then(|c| c.birth_date),
                        Some(None) => None,
                        Some(Some(text)) => match parse::date(text) {
                            Some(d) => Some(d),
                            None => {
                                sheet.bad(
                                    i,
                                    "demographics.birthDate",
                                    "INVALID_DATE",
                                    "must be YYYY-MM-DD",
                                );
                                continue;
                            }
                        },
                    };
                    let gender = match sex {
                        None => current.and_then(|c| c.gender.clone()),
                        Some(None) => None,
                        Some(Some(s)) => match s.to_lowercase().as_str() {
                            "female" => Some("FEMALE".to_owned()),
                            "male" => Some("MALE".to_owned()),
                            "other" | "unspecified" => Some("OTHER".to_owned()),
                            _ => {
                                sheet.bad(
                                    i,
                                    "demographics.sex",
                                    "INVALID_VALUE",
                                    "must be female, male, other or unspecified",
                                );
                                continue;
                            }
                        },
                    };
                    let id = current.map_or_else(StudentId::generate, |c| c.id);
                    let next = student::Model {
                        school_id: tx.school_id(),
                        id,
                        created_at: current.map_or(now, |c| c.created_at),
                        updated_at: current.map_or(now, |c| c.updated_at),
                        external_id: external_id(current, &sourced),
                        status: RecordStatus::Active,
                        student_tz: tz,
                        first_name,
                        last_name,
                        grade_level: grade,
                        class_id,
                        birth_date,
                        gender,
                        email: email.unwrap_or_else(|| current.and_then(|c| c.email.clone())),
                    };
                    let action = plan.students.decide(current, next, |m| m.updated_at = now);
                    students.insert(sourced, id);
                    let listed: Vec<String> = list(sheet.cell("agentSourcedIds", i))
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    let primaries = sheet
                        .field("metadata.sds.primaryAgentSourcedIds", i)
                        .map(|p| list(p).into_iter().map(str::to_owned).collect::<Vec<_>>());
                    if sheet.has("agentSourcedIds") {
                        agents.push((i, id, listed, primaries));
                    }
                    sheet.act(i, action);
                }
                Person::Teacher => {
                    let Ok(current) = teacher_index.find(&sourced, None) else {
                        continue;
                    };
                    let id = current.map_or_else(TeacherId::generate, |c| c.id);
                    let next = teacher::Model {
                        school_id: tx.school_id(),
                        id,
                        created_at: current.map_or(now, |c| c.created_at),
                        updated_at: current.map_or(now, |c| c.updated_at),
                        external_id: external_id(current, &sourced),
                        status: RecordStatus::Active,
                        first_name,
                        last_name,
                        email: email.unwrap_or_else(|| current.and_then(|c| c.email.clone())),
                        phone: phone.unwrap_or_else(|| current.and_then(|c| c.phone.clone())),
                    };
                    let action = plan.teachers.decide(current, next, |m| m.updated_at = now);
                    teachers.insert(sourced, id);
                    sheet.act(i, action);
                }
                Person::Guardian(role) => {
                    if tz.is_none() && tz_text.is_some() {
                        continue;
                    }
                    let Ok(current) = guardian_index.find(&sourced, tz.as_deref()) else {
                        sheet.bad(
                            i,
                            "userIds",
                            "CONFLICT",
                            "another guardian of this school has this national id",
                        );
                        continue;
                    };
                    let id = current.map_or_else(GuardianId::generate, |c| c.id);
                    let next = guardian::Model {
                        school_id: tx.school_id(),
                        id,
                        created_at: current.map_or(now, |c| c.created_at),
                        updated_at: current.map_or(now, |c| c.updated_at),
                        external_id: external_id(current, &sourced),
                        status: RecordStatus::Active,
                        first_name,
                        last_name,
                        guardian_tz: if sheet.has("userIds") {
                            tz
                        } else {
                            current.and_then(|c| c.guardian_tz.clone())
                        },
                        phone: phone.unwrap_or_else(|| current.and_then(|c| c.phone.clone())),
                        email: email.unwrap_or_else(|| current.and_then(|c| c.email.clone())),
                    };
                    let action = plan.guardians.decide(current, next, |m| m.updated_at = now);
                    // Our own column says it exactly (also "none"); else the role says it.
                    let relationship = sheet
                        .field("metadata.sds.relationship", i)
                        .map_or(Some(role), |r| r.map(str::to_owned));
                    guardians.insert(sourced, (id, relationship));
                    sheet.act(i, action);
                }
            }
        }
        sheet
    };
    // Guardians of students: linked by agentSourcedIds.
    let mut users_sheet = users_sheet;
    {
        let existing = tx.all(tx.find::<student_guardian::Entity>()).await?;
        let links: HashMap<(StudentId, GuardianId), &student_guardian::Model> = existing
            .iter()
            .map(|l| ((l.student_id, l.guardian_id), l))
            .collect();
        for (i, student, listed, primaries) in agents {
            let mut changed = false;
            for (n, agent) in listed.iter().enumerate() {
                let Some((guardian, relationship)) = guardians.get(agent).cloned().or_else(|| {
                    guardian_index
                        .get(agent)
                        .map(|g| (g.id, Some("guardian".to_owned())))
                }) else {
                    users_sheet.bad(
                        i,
                        "agentSourcedIds",
                        "UNKNOWN_REFERENCE",
                        format!("{agent} is no guardian of this package or school"),
                    );
                    continue;
                };
                let is_primary = match &primaries {
                    Some(p) => p.contains(agent),
                    None => n == 0,
                };
                let current = links.get(&(student, guardian)).copied();
                let next = student_guardian::Model {
                    school_id: tx.school_id(),
                    id: current.map_or_else(StudentGuardianId::generate, |c| c.id),
                    created_at: current.map_or(now, |c| c.created_at),
                    updated_at: current.map_or(now, |c| c.updated_at),
                    student_id: student,
                    guardian_id: guardian,
                    relationship,
                    is_primary,
                };
                changed |= plan.links.decide(current, next, |m| m.updated_at = now)
                    != RowAction::Unchanged;
            }
            if changed && users_sheet.actions.get(i) == Some(&RowAction::Unchanged) {
                users_sheet.act(i, RowAction::Update);
            }
        }
    }
    done(&mut sheets, users_sheet);

    // Enrollments → enrollments (students) and class teachers (teachers).
    {
        let enrollment_index = Index::new(
            tx.all(tx.find::<enrollment::Entity>()).await?,
            |m| m.id.to_string(),
            |m| m.external_id.as_deref(),
            |m| Some(format!("{}/{}", m.class_id, m.student_id)),
        );
        let class_teacher_index = Index::new(
            tx.all(tx.find::<class_teacher::Entity>()).await?,
            |m| m.id.to_string(),
            |_| None,
            |m| Some(format!("{}/{}", m.class_id, m.teacher_id)),
        );
        let mut sheet = Sheet::new(source, "enrollments.csv");
        let mut seen = HashMap::new();
        let mut keys = HashMap::new();
        for i in 0..sheet.height() {
            let role = sheet.cell("role", i);
            if sheet.cell("schoolSourcedId", i) != Some(org.as_str())
                || !matches!(role, Some("student" | "teacher"))
            {
                sheet.act(i, RowAction::Skipped);
                continue;
            }
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            let class = sheet
                .required(i, "classSourcedId")
                .and_then(|c| classes.get(c).map(|(id, _, _)| *id));
            if class.is_none()
                && let Some(c) = sheet.cell("classSourcedId", i)
            {
                sheet.bad(
                    i,
                    "classSourcedId",
                    "UNKNOWN_REFERENCE",
                    format!("{c} is no valid class of this package or school"),
                );
            }
            let user = sheet.required(i, "userSourcedId");
            if role == Some("student") {
                let student = user.and_then(|u| students.get(u).copied());
                if student.is_none()
                    && let Some(u) = user
                {
                    sheet.bad(
                        i,
                        "userSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{u} is no valid student of this package or school"),
                    );
                }
                let begin = sheet.date(i, "beginDate");
                let end = sheet.date(i, "endDate");
                let (Some(class), Some(student), Some(begin), Some(end)) =
                    (class, student, begin, end)
                else {
                    continue;
                };
                if let (Some(b), Some(e)) = (begin, end)
                    && e < b
                {
                    sheet.bad(i, "endDate", "INVALID_RANGE", "ends before it begins");
                    continue;
                }
                let key = format!("{class}/{student}");
                if let Some(first) = keys.insert(key.clone(), i) {
                    sheet.bad(
                        i,
                        "userSourcedId",
                        "DUPLICATE_ROW",
                        format!(
                            "row {} enrols the same student in the same class",
                            first + 2
                        ),
                    );
                    continue;
                }
                if sheet.deleted(i) {
                    let action = plan.enrollments.retire(&enrollment_index, &sourced, now);
                    sheet.act(i, action);
                    continue;
                }
                let Ok(current) = enrollment_index.find(&sourced, Some(&key)) else {
                    sheet.bad(
                        i,
                        "sourcedId",
                        "CONFLICT",
                        "names another enrollment of this school",
                    );
                    continue;
                };
                let next = enrollment::Model {
                    school_id: tx.school_id(),
                    id: current.map_or_else(EnrollmentId::generate, |c| c.id),
                    created_at: current.map_or(now, |c| c.created_at),
                    updated_at: current.map_or(now, |c| c.updated_at),
                    external_id: external_id(current, &sourced),
                    status: RecordStatus::Active,
                    class_id: class,
                    student_id: student,
                    begin_date: begin,
                    end_date: end,
                };
                let action = plan
                    .enrollments
                    .decide(current, next, |m| m.updated_at = now);
                sheet.act(i, action);
            } else {
                let teacher = user.and_then(|u| teachers.get(u).copied());
                if teacher.is_none()
                    && let Some(u) = user
                {
                    sheet.bad(
                        i,
                        "userSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{u} is no valid teacher of this package or school"),
                    );
                }
                let (Some(class), Some(teacher)) = (class, teacher) else {
                    continue;
                };
                let key = format!("{class}/{teacher}");
                if let Some(first) = keys.insert(key.clone(), i) {
                    sheet.bad(
                        i,
                        "userSourcedId",
                        "DUPLICATE_ROW",
                        format!("row {} names the same teacher of the same class", first + 2),
                    );
                    continue;
                }
                if sheet.deleted(i) {
                    sheet.act(i, RowAction::Skipped);
                    continue;
                }
                let current = class_teacher_index
                    .find(&sourced, Some(&key))
                    .ok()
                    .flatten();
                let role = if sheet.cell("primary", i) == Some("false") {
                    "SECONDARY"
                } else {
                    "PRIMARY"
                };
                let next = class_teacher::Model {
                    school_id: tx.school_id(),
                    id: current.map_or_else(ClassTeacherId::generate, |c| c.id),
                    created_at: current.map_or(now, |c| c.created_at),
                    updated_at: current.map_or(now, |c| c.updated_at),
                    class_id: class,
                    teacher_id: teacher,
                    role: role.to_owned(),
                };
                let action = plan
                    .class_teachers
                    .decide(current, next, |m| m.updated_at = now);
                sheet.act(i, action);
            }
        }
        done(&mut sheets, sheet);
    }

    // Categories → our grade categories, by title.
    let mut categories: HashMap<String, GradeCategory> = [
        ("exam", GradeCategory::Exam),
        ("quiz", GradeCategory::Quiz),
        ("homework", GradeCategory::Homework),
        ("project", GradeCategory::Project),
        ("final", GradeCategory::Final),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    {
        let mut sheet = Sheet::new(source, "categories.csv");
        for i in 0..sheet.height() {
            let (Some(sourced), Some(title)) = (sheet.cell("sourcedId", i), sheet.cell("title", i))
            else {
                sheet.bad(
                    i,
                    "title",
                    "REQUIRED",
                    "a category needs a sourcedId and a title",
                );
                continue;
            };
            match super::grades::category(title) {
                Some(c) => {
                    categories.insert(sourced.to_owned(), c);
                }
                None => sheet.bad(
                    i,
                    "title",
                    "UNKNOWN_CATEGORY",
                    "must be exam, quiz, homework, project or final",
                ),
            }
        }
        // Categories are a vocabulary, not records: only their problems count.
        let (_, problems) = sheet.finish();
        sheets.push((Vec::new(), problems, "categories.csv"));
    }

    // Line items → assessments (a "virtual" one of ours carries grades without an assessment).
    let assessment_index = Index::new(
        tx.all(tx.find::<assessment::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| {
            Some(format!(
                "{}/{}/{}",
                m.subject_id,
                m.term_id,
                header_key(&m.title)
            ))
        },
    );
    // sourcedId → (assessment, subject, term, class, category, max score)
    type Item = (
        Option<AssessmentId>,
        SubjectId,
        TermId,
        Option<ClassId>,
        Option<GradeCategory>,
        f64,
    );
    let mut items: HashMap<String, Item> = assessment_index
        .models
        .iter()
        .map(|a| {
            (
                a.external_id.clone().unwrap_or_else(|| a.id.to_string()),
                (
                    Some(a.id),
                    a.subject_id,
                    a.term_id,
                    a.class_id,
                    Some(a.category),
                    a.max_score,
                ),
            )
        })
        .collect();
    // Line items of other orgs: their results are skipped too.
    let mut foreign_items: HashSet<String> = HashSet::new();
    {
        let mut sheet = Sheet::new(source, "lineItems.csv");
        let mut seen = HashMap::new();
        let mut keys = HashMap::new();
        for i in 0..sheet.height() {
            if sheet
                .cell("schoolSourcedId", i)
                .is_some_and(|s| s != org.as_str())
            {
                foreign_items.extend(sheet.cell("sourcedId", i).map(str::to_owned));
                sheet.act(i, RowAction::Skipped);
                continue;
            }
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            if sheet.deleted(i) {
                let action = plan.assessments.retire(&assessment_index, &sourced, now);
                sheet.act(i, action);
                continue;
            }
            let title = sheet.text(i, "title", 200);
            let term = match sheet.required(i, "academicSessionSourcedId") {
                Some(s) => match sessions.get(s) {
                    Some(Session::Term(t, _)) => Some(*t),
                    _ => {
                        sheet.bad(
                            i,
                            "academicSessionSourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{s} is no valid term of this package or school"),
                        );
                        None
                    }
                },
                None => None,
            };
            let class = match sheet.cell("classSourcedId", i) {
                None => Some(None),
                Some(c) => match classes.get(c) {
                    Some(found) => Some(Some(*found)),
                    None => {
                        sheet.bad(
                            i,
                            "classSourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{c} is no valid class of this package or school"),
                        );
                        None
                    }
                },
            };
            let subject = match sheet.cell("metadata.sds.subjectSourcedId", i) {
                Some(c) => courses.get(c).copied().flatten(),
                None => class.flatten().and_then(|(_, _, s)| s),
            };
            if subject.is_none() && class.is_some() {
                sheet.bad(
                    i,
                    "classSourcedId",
                    "NO_SUBJECT",
                    "the line item's class teaches no known subject",
                );
            }
            let category = match sheet.cell("categorySourcedId", i) {
                None => Some(None),
                Some(c) => match categories.get(c) {
                    Some(found) => Some(Some(*found)),
                    None => {
                        sheet.bad(
                            i,
                            "categorySourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{c} is no category of this package"),
                        );
                        None
                    }
                },
            };
            let max_score = match sheet.cell("resultValueMax", i) {
                None => Some(100.0),
                Some(m) => match parse::number(m).filter(|m| *m > 0.0) {
                    Some(m) => Some(m),
                    None => {
                        sheet.bad(
                            i,
                            "resultValueMax",
                            "INVALID_NUMBER",
                            "must be a number above 0",
                        );
                        None
                    }
                },
            };
            let date = sheet.date(i, "assignDate");
            let (
                Some(title),
                Some(term),
                Some(class),
                Some(subject),
                Some(category),
                Some(max_score),
                Some(date),
            ) = (title, term, class, subject, category, max_score, date)
            else {
                continue;
            };
            let class_id = class.map(|(id, _, _)| id);
            if flag(sheet.cell("metadata.sds.virtual", i)) {
                items.insert(
                    sourced,
                    (None, subject, term, class_id, category, max_score),
                );
                sheet.act(i, RowAction::Unchanged);
                continue;
            }
            let key = format!("{subject}/{term}/{}", header_key(&title));
            let Some(current) = sheet.target(
                i,
                (&mut keys, key),
                (&assessment_index, &sourced),
                "title",
                (
                    "row {} has an assessment of this title for the same subject and term",
                    "another assessment of this subject and term has this title",
                ),
            ) else {
                continue;
            };
            let category = category
                .or(current.map(|c| c.category))
                .unwrap_or(GradeCategory::Exam);
            let id = current.map_or_else(AssessmentId::generate, |c| c.id);
            let next = assessment::Model {
                school_id: tx.school_id(),
                id,
                created_at: current.map_or(now, |c| c.created_at),
                updated_at: current.map_or(now, |c| c.updated_at),
                external_id: external_id(current, &sourced),
                status: RecordStatus::Active,
                subject_id: subject,
                term_id: term,
                class_id,
                title,
                category,
                max_score,
                assessment_date: date,
            };
            let action = plan
                .assessments
                .decide(current, next, |m| m.updated_at = now);
            items.insert(
                sourced,
                (Some(id), subject, term, class_id, Some(category), max_score),
            );
            sheet.act(i, action);
        }
        done(&mut sheets, sheet);
    }

    // Results → grades.
    {
        let existing = tx.all(tx.find::<grade::Entity>()).await?;
        let grade_index = Index::new(
            existing,
            |m| m.id.to_string(),
            |m| m.external_id.as_deref(),
            |m| {
                m.assessment_id
                    .map(|a| format!("{}/{}/{}/{a}", m.student_id, m.subject_id, m.term_id))
            },
        );
        let mut sheet = Sheet::new(source, "results.csv");
        let mut seen = HashMap::new();
        let mut keys = HashMap::new();
        for i in 0..sheet.height() {
            if sheet
                .cell("lineItemSourcedId", i)
                .is_some_and(|l| foreign_items.contains(l))
            {
                sheet.act(i, RowAction::Skipped);
                continue;
            }
            let item = sheet
                .cell("lineItemSourcedId", i)
                .and_then(|l| items.get(l).copied());
            if item.is_none() && sheet.cell("lineItemSourcedId", i).is_some() {
                // A line item of another org, or one that failed: the row cannot be placed.
                let l = sheet.cell("lineItemSourcedId", i).unwrap_or_default();
                sheet.bad(
                    i,
                    "lineItemSourcedId",
                    "UNKNOWN_REFERENCE",
                    format!("{l} is no valid line item of this package or school"),
                );
            }
            let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
                continue;
            };
            if sheet.deleted(i) {
                let action = plan.grades.retire(&grade_index, &sourced, now);
                sheet.act(i, action);
                continue;
            }
            let student = match sheet.required(i, "studentSourcedId") {
                Some(s) => match students.get(s) {
                    Some(id) => Some(*id),
                    None => {
                        sheet.bad(
                            i,
                            "studentSourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{s} is no valid student of this package or school"),
                        );
                        None
                    }
                },
                None => None,
            };
            let Some((assessment, subject, term, item_class, item_category, item_max)) = item
            else {
                continue;
            };
            let max_score = match sheet.cell("metadata.sds.maxScore", i) {
                None => Some(item_max),
                Some(m) => parse::number(m).filter(|m| *m > 0.0).or_else(|| {
                    sheet.bad(
                        i,
                        "metadata.sds.maxScore",
                        "INVALID_NUMBER",
                        "must be a number above 0",
                    );
                    None
                }),
            };
            let score = match sheet.cell("score", i) {
                None => {
                    if matches!(
                        sheet.cell("scoreStatus", i),
                        Some("exempt" | "not submitted")
                    ) {
                        sheet.act(i, RowAction::Skipped);
                    } else {
                        sheet.bad(i, "score", "REQUIRED", "a graded result needs a score");
                    }
                    continue;
                }
                Some(s) => match (parse::number(s), max_score) {
                    (Some(s), Some(m)) if (0.0..=m).contains(&s) => Some(s),
                    _ => {
                        sheet.bad(
                            i,
                            "score",
                            "OUT_OF_RANGE",
                            format!(
                                "must be a number from 0 to {}",
                                max_score.unwrap_or(item_max)
                            ),
                        );
                        None
                    }
                },
            };
            let graded_on = sheet.date(i, "scoreDate").flatten();
            if sheet.cell("scoreDate", i).is_none() {
                sheet.bad(i, "scoreDate", "REQUIRED", "must not be empty");
            }
            let class_id = match sheet.field("classSourcedId", i) {
                None => Some(item_class),
                Some(None) => Some(None),
                Some(Some(c)) => match classes.get(c) {
                    Some((id, _, _)) => Some(Some(*id)),
                    None => {
                        sheet.bad(
                            i,
                            "classSourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{c} is no valid class of this package or school"),
                        );
                        None
                    }
                },
            };
            let teacher_id = match sheet.cell("metadata.sds.teacherSourcedId", i) {
                None => Some(None),
                Some(t) => match teachers.get(t) {
                    Some(id) => Some(Some(*id)),
                    None => {
                        sheet.bad(
                            i,
                            "metadata.sds.teacherSourcedId",
                            "UNKNOWN_REFERENCE",
                            format!("{t} is no valid teacher of this package or school"),
                        );
                        None
                    }
                },
            };
            let category = match sheet.field("metadata.sds.category", i) {
                None => Some(item_category),
                Some(None) => Some(None),
                Some(Some(c)) => match super::grades::category(c) {
                    Some(c) => Some(Some(c)),
                    None => {
                        sheet.bad(
                            i,
                            "metadata.sds.category",
                            "UNKNOWN_CATEGORY",
                            "must be exam, quiz, homework, project or final",
                        );
                        None
                    }
                },
            };
            let (
                Some(student),
                Some(score),
                Some(max_score),
                Some(graded_on),
                Some(class_id),
                Some(teacher_id),
                Some(category),
            ) = (
                student, score, max_score, graded_on, class_id, teacher_id, category,
            )
            else {
                continue;
            };
            let is_final = match sheet.cell("metadata.sds.isFinal", i) {
                Some(f) => flag(Some(f)),
                None => category == Some(GradeCategory::Final),
            };
            let key = assessment.map(|a| format!("{student}/{subject}/{term}/{a}"));
            if let Some(key) = &key
                && let Some(first) = keys.insert(key.clone(), i)
            {
                sheet.bad(
                    i,
                    "studentSourcedId",
                    "DUPLICATE_ROW",
                    format!(
                        "row {} grades the same student on the same line item",
                        first + 2
                    ),
                );
                continue;
            }
            let Ok(current) = grade_index.find(&sourced, key.as_deref()) else {
                sheet.bad(
                    i,
                    "sourcedId",
                    "CONFLICT",
                    "names another grade of this school",
                );
                continue;
            };
            let next = grade::Model {
                school_id: tx.school_id(),
                id: current.map_or_else(GradeId::generate, |c| c.id),
                created_at: current.map_or(now, |c| c.created_at),
                updated_at: current.map_or(now, |c| c.updated_at),
                external_id: external_id(current, &sourced),
                status: RecordStatus::Active,
                student_id: student,
                subject_id: subject,
                term_id: term,
                assessment_id: assessment,
                class_id,
                teacher_id,
                category,
                score,
                max_score,
                graded_on,
                is_final,
                comment: sheet.field("comment", i).map_or_else(
                    || current.and_then(|c| c.comment.clone()),
                    |c| c.map(str::to_owned),
                ),
            };
            let action = plan.grades.decide(current, next, |m| m.updated_at = now);
            sheet.act(i, action);
        }
        done(&mut sheets, sheet);
    }

    // The outcome, file by file; then the writes, in the order the tables refer to each other.
    let mut outcome = Outcome::default();
    let mut all = Problems::default();
    let mut any = false;
    for (actions, problems, name) in sheets {
        let count = |a: RowAction| actions.iter().filter(|x| **x == a).count();
        outcome.rows_total += actions.len();
        outcome.rows_unchanged += count(RowAction::Unchanged);
        outcome.rows_skipped += count(RowAction::Skipped);
        outcome.rows_ok += count(RowAction::Insert) + count(RowAction::Update);
        outcome.rows_failed += problems.failed.len();
        any |= problems.any();
        let mut errors = problems.errors;
        errors.sort_by_key(|e| e.row);
        for e in &mut errors {
            e.message = format!("{name} line {}: {}", e.row, e.message);
        }
        all.errors.extend(errors);
    }
    if any {
        all.failed.insert(0);
    }
    outcome.errors = all.errors.clone();
    let written = write(&all);
    if !written {
        outcome.rows_ok = 0;
        return Ok((outcome, false));
    }
    progress.set_total(outcome.rows_total);
    apply::<academic_year::ActiveModel>(tx, plan.years).await?;
    apply::<term::ActiveModel>(tx, plan.terms).await?;
    apply::<subject::ActiveModel>(tx, plan.subjects).await?;
    apply::<class::ActiveModel>(tx, plan.classes).await?;
    apply::<teacher::ActiveModel>(tx, plan.teachers).await?;
    apply::<guardian::ActiveModel>(tx, plan.guardians).await?;
    apply::<student::ActiveModel>(tx, plan.students).await?;
    apply::<student_guardian::ActiveModel>(tx, plan.links).await?;
    apply::<enrollment::ActiveModel>(tx, plan.enrollments).await?;
    apply::<class_teacher::ActiveModel>(tx, plan.class_teachers).await?;
    apply::<assessment::ActiveModel>(tx, plan.assessments).await?;
    apply::<grade::ActiveModel>(tx, plan.grades).await?;
    progress.advance(outcome.rows_total);
    Ok((outcome, true))
}

/// The external id a record keeps or gets: a row naming the record by our own id keeps what it
/// had (our export names records without an external id by their id).
fn external_id<M: Record>(current: Option<&M>, sourced: &str) -> Option<String> {
    match current {
        Some(c) if c.id_text() == sourced => c.external().map(str::to_owned),
        _ => Some(sourced.to_owned()),
    }
}

/// What the importer needs of the records that carry a sourcedId and a status.
trait Record: Clone + PartialEq {
    fn id_text(&self) -> String;
    fn external(&self) -> Option<&str>;
    fn touch(&mut self, at: chrono::DateTime<Utc>);
    fn retire(&mut self);
}

macro_rules! records {
    ($($module:ident),* $(,)?) => {$(
        impl Record for $module::Model {
            fn id_text(&self) -> String {
                self.id.to_string()
            }
            fn external(&self) -> Option<&str> {
                self.external_id.as_deref()
            }
            fn touch(&mut self, at: chrono::DateTime<Utc>) {
                self.updated_at = at;
            }
            fn retire(&mut self) {
                self.status = RecordStatus::ToBeDeleted;
            }
        }
    )*};
}

records!(
    academic_year,
    term,
    subject,
    class,
    student,
    teacher,
    guardian,
    enrollment,
    assessment,
    grade
);

impl<M: Record> Changes<M> {
    /// A delta row marking `sourced` to be deleted: the record's status changes; a record the
    /// school does not have is skipped.
    fn retire(&mut self, index: &Index<M>, sourced: &str, now: chrono::DateTime<Utc>) -> RowAction {
        match index.get(sourced) {
            Some(current) => {
                let mut next = current.clone();
                next.retire();
                self.decide(Some(current), next, |m| m.touch(now))
            }
            None => RowAction::Skipped,
        }
    }
}

/// Why a package cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The package does not say which org is this school.
    #[error(transparent)]
    File(#[from] FileError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The org of the package that is this school: the one named, else the only `school` org.
fn our_org(source: &Source, named: Option<&str>) -> Result<String, FileError> {
    let orgs = source.files.get("orgs.csv").map(|(_, t)| t);
    let sourced = |i| orgs.and_then(|t| t.cell("sourcedid", i));
    let height = orgs.map_or(0, Table::height);
    if let Some(named) = named {
        if orgs.is_none() || (0..height).any(|i| sourced(i) == Some(named)) {
            return Ok(named.to_owned());
        }
        return Err(FileError {
            code: "UNKNOWN_ORG",
            column: Some("orgSourcedId".into()),
            message: format!("orgs.csv has no org {named}"),
        });
    }
    let schools: HashSet<&str> = (0..height)
        .filter(|i| orgs.and_then(|t| t.cell("type", *i)) == Some("school"))
        .filter_map(sourced)
        .collect();
    match schools.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(FileError {
            code: "UNKNOWN_ORG",
            column: Some("orgSourcedId".into()),
            message: "the package holds no school org; name one with orgSourcedId".into(),
        }),
        _ => Err(FileError {
            code: "AMBIGUOUS_ORG",
            column: Some("orgSourcedId".into()),
            message: "the package holds several schools; name this school's org with orgSourcedId"
                .into(),
        }),
    }
}
