//! Importing the roster: one row per student, matched to existing students by external id,
//! else by national id (TZ).

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{academic_year, class, enums::RecordStatus, ids::*, student, tenant::TenantTx};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, IntoActiveModel, Order};

use super::{Outcome, Problems, RowAction, parse, table::Spec, table::Table};
use crate::rules::{Email, GradeLevel, Name, StudentTz};

/// The columns of a students file.
pub const COLUMNS: &[Spec] = &[
    super::STUDENT_TZ,
    Spec::required("first_name", super::FIRST_NAME_ALIASES),
    Spec::required("last_name", super::LAST_NAME_ALIASES),
    Spec::optional("grade_level", &["שכבה", "grade"]),
    Spec::optional("class", &["כיתה", "class_name", "homeroom"]),
    Spec::optional("birth_date", &["תאריך לידה", "birthdate", "date_of_birth"]),
    Spec::optional("email", &["דוא\"ל", "דואל", "אימייל", "e-mail"]),
    super::EXTERNAL_ID,
];

/// One valid row, ready to write.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    tz: String,
    first_name: String,
    last_name: String,
    grade_level: Option<i32>,
    class_id: Option<ClassId>,
    birth_date: Option<NaiveDate>,
    email: Option<String>,
    external_id: Option<String>,
}

/// The classes students are placed in: those of the current academic year (else the latest).
async fn homerooms(tx: &TenantTx) -> Result<HashMap<String, ClassId>, DbErr> {
    let years = tx
        .all(
            tx.find::<academic_year::Entity>()
                .order_by(academic_year::Column::StartDate, Order::Desc),
        )
        .await?;
    let Some(year) = years
        .iter()
        .find(|y| y.is_current)
        .or_else(|| years.first())
    else {
        return Ok(HashMap::new());
    };
    Ok(tx
        .all(
            tx.find::<class::Entity>()
                .filter(class::Column::AcademicYearId.eq(year.id)),
        )
        .await?
        .into_iter()
        .map(|c| (super::table::header_key(&c.name), c.id))
        .collect())
}

/// The school's students, findable by national id and by external id.
struct Existing<'a> {
    by_tz: HashMap<&'a str, &'a student::Model>,
    by_external: HashMap<&'a str, &'a student::Model>,
}

/// What was seen so far: the first row of each national id and external id.
#[derive(Default)]
struct Seen {
    tz: HashMap<String, usize>,
    external: HashMap<String, usize>,
}

/// Notes a repeat of `key` (first seen on another row) as a duplicate row.
fn repeated(
    problems: &mut Problems,
    seen: &mut HashMap<String, usize>,
    i: usize,
    (column, what, key): (&str, &str, &str),
) {
    if let Some(first) = seen.insert(key.to_owned(), i) {
        problems.add(
            i,
            column,
            "DUPLICATE_ROW",
            format!("{what} is also on row {}", first + 2),
        );
    }
}

/// Checks row `i` against [`crate::rules`] and the school's classes; `None` when its national
/// id is unusable.
fn check_row(
    table: &Table,
    i: usize,
    classes: &HashMap<String, ClassId>,
    seen: &mut Seen,
    problems: &mut Problems,
) -> Option<Row> {
    let tz = match table.cell("student_tz", i) {
        None => {
            problems.add(i, "student_tz", "REQUIRED", "the national id is missing");
            None
        }
        Some(text) => problems
            .take(i, "student_tz", StudentTz::checked(text))
            .map(StudentTz::into_string),
    };
    if let Some(tz) = &tz {
        repeated(
            problems,
            &mut seen.tz,
            i,
            ("student_tz", "this student", tz),
        );
    }
    let mut name = |column: &str| {
        problems
            .take(
                i,
                column,
                Name::parse(table.cell(column, i).unwrap_or_default()),
            )
            .map_or_else(String::new, Name::into_string)
    };
    let first_name = name("first_name");
    let last_name = name("last_name");
    let grade_level = table.cell("grade_level", i).and_then(|text| {
        problems
            .take(
                i,
                "grade_level",
                GradeLevel::from_number(parse::integer(text)),
            )
            .map(GradeLevel::get)
    });
    let class_id = table.cell("class", i).and_then(|text| {
        let id = classes.get(&super::table::header_key(text)).copied();
        if id.is_none() {
            problems.add(
                i,
                "class",
                "UNKNOWN_CLASS",
                format!("no class named {text} in the current academic year"),
            );
        }
        id
    });
    let birth_date = table
        .cell("birth_date", i)
        .and_then(|text| match parse::date(text) {
            Some(d) if d <= Utc::now().date_naive() => Some(d),
            _ => {
                problems.add(
                    i,
                    "birth_date",
                    "INVALID_DATE",
                    "must be a past date, yyyy-mm-dd or dd/mm/yyyy",
                );
                None
            }
        });
    let email = problems
        .take(i, "email", Email::optional(table.cell("email", i)))
        .flatten()
        .map(Email::into_string);
    let external_id = table.cell("external_id", i).map(str::to_owned);
    if let Some(ext) = &external_id {
        repeated(
            problems,
            &mut seen.external,
            i,
            ("external_id", "this external id", ext),
        );
    }
    Some(Row {
        tz: tz?,
        first_name,
        last_name,
        grade_level,
        class_id,
        birth_date,
        email,
        external_id,
    })
}

/// The record `row` is about: by external id, else by national id; the two must agree.
fn target<'a>(
    existing: &Existing<'a>,
    row: &Row,
    i: usize,
    problems: &mut Problems,
) -> Option<&'a student::Model> {
    let by_ext = row
        .external_id
        .as_deref()
        .and_then(|e| existing.by_external.get(e).copied());
    let by_id = existing.by_tz.get(row.tz.as_str()).copied();
    match (by_ext, by_id) {
        (Some(a), Some(b)) if a.id != b.id => {
            problems.add(
                i,
                "student_tz",
                "CONFLICT",
                "another student of this school has this national id",
            );
            None
        }
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// Validates every row of `table`, then writes the valid ones when `write` says so.
pub async fn import(job: super::Job<'_>) -> Result<(Outcome, bool), DbErr> {
    let super::Job {
        tx,
        table,
        write,
        progress,
    } = job;
    let all = tx.all(tx.find::<student::Entity>()).await?;
    let existing = Existing {
        by_tz: all.iter().map(|s| (s.student_tz.as_str(), s)).collect(),
        by_external: all
            .iter()
            .filter_map(|s| s.external_id.as_deref().map(|e| (e, s)))
            .collect(),
    };
    let classes = homerooms(tx).await?;
    let mut problems = Problems::default();
    let mut seen = Seen::default();
    let rows: Vec<Option<(Row, Option<&student::Model>)>> = (0..table.height())
        .map(|i| {
            let row = check_row(table, i, &classes, &mut seen, &mut problems)?;
            let current = target(&existing, &row, i, &mut problems);
            Some((row, current))
        })
        .collect();
    let actions = super::classify(&problems, &rows, |current, row| {
        merged(current, row) == *current
    });
    let written = write(&problems);
    if written {
        save(tx, &rows, &actions, progress).await?;
    }
    Ok((problems.outcome(&actions, written), written))
}

/// Writes the rows `actions` says to: updates first, then the new rows a chunk at a time (only
/// one chunk of active models is held at once).
async fn save(
    tx: &TenantTx,
    rows: &[Option<(Row, Option<&student::Model>)>],
    actions: &[RowAction],
    progress: &super::Progress<'_>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let new_student = |row: &Row| student::ActiveModel {
        id: Set(StudentId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        external_id: Set(row.external_id.clone()),
        status: Set(RecordStatus::Active),
        student_tz: Set(row.tz.clone()),
        first_name: Set(row.first_name.clone()),
        last_name: Set(row.last_name.clone()),
        grade_level: Set(row.grade_level),
        class_id: Set(row.class_id),
        birth_date: Set(row.birth_date),
        gender: Set(None),
        email: Set(row.email.clone()),
        ..Default::default()
    };
    // Updates first, then the new rows a chunk at a time: only one chunk of active models
    // is held at once.
    let mut inserts = Vec::new();
    for (row, action) in rows.iter().zip(actions) {
        match (row, action) {
            (Some((row, None)), RowAction::Insert) => inserts.push(row),
            (Some((row, Some(current))), RowAction::Update) => {
                let mut next = merged(current, row);
                next.updated_at = now;
                super::write_back(tx, next.into_active_model(), "student").await?;
                progress.advance(1);
            }
            _ => {}
        }
    }
    for chunk in inserts.chunks(chunk_size::<student::Entity>()) {
        let n = chunk.len();
        tx.insert_many(chunk.iter().map(|row| new_student(row)).collect())
            .await?;
        progress.advance(n);
    }
    Ok(())
}

/// `current` with the row's values; cells the file leaves empty keep what the record has.
fn merged(current: &student::Model, row: &Row) -> student::Model {
    let mut next = current.clone();
    next.student_tz = row.tz.clone();
    next.first_name = row.first_name.clone();
    next.last_name = row.last_name.clone();
    next.grade_level = row.grade_level.or(current.grade_level);
    next.class_id = row.class_id.or(current.class_id);
    next.birth_date = row.birth_date.or(current.birth_date);
    next.email = row.email.clone().or_else(|| current.email.clone());
    next.external_id = row
        .external_id
        .clone()
        .or_else(|| current.external_id.clone());
    if next.status == RecordStatus::ToBeDeleted {
        next.status = RecordStatus::Active;
    }
    next
}

/// Bind parameters per multi-row insert: under SQLite's limit (32,766) and PostgreSQL's (65,535).
pub const INSERT_PARAMETERS: usize = 30_000;

/// How many rows of entity `E` fit one multi-row insert.
pub fn chunk_size<E: sea_orm::EntityTrait>() -> usize {
    use sea_orm::Iterable;
    (INSERT_PARAMETERS / E::Column::iter().count().max(1)).max(1)
}

/// Splits `rows` of entity `E` into chunks that each fit one multi-row insert.
pub fn chunks<E: sea_orm::EntityTrait, T>(rows: Vec<T>) -> Vec<Vec<T>> {
    let size = chunk_size::<E>();
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.push(rows.by_ref().take(size).collect());
    }
    out
}
