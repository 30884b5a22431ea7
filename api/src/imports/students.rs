//! Importing the roster: one row per student, matched to existing students by external id,
//! else by national id (TZ).

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{academic_year, class, enums::RecordStatus, ids::*, student, tenant::TenantTx};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, IntoActiveModel, Order};

use super::{Outcome, Problems, RowAction, parse, table::Spec, table::Table};
use crate::rules::{StudentTz, is_plausible_email};

/// The columns of a students file.
pub const COLUMNS: &[Spec] = &[
    super::STUDENT_TZ,
    Spec {
        name: "first_name",
        required: true,
        aliases: &["שם פרטי", "given_name", "givenName"],
    },
    Spec {
        name: "last_name",
        required: true,
        aliases: &["שם משפחה", "family_name", "familyName"],
    },
    Spec {
        name: "grade_level",
        required: false,
        aliases: &["שכבה", "grade"],
    },
    Spec {
        name: "class",
        required: false,
        aliases: &["כיתה", "class_name", "homeroom"],
    },
    Spec {
        name: "birth_date",
        required: false,
        aliases: &["תאריך לידה", "birthdate", "date_of_birth"],
    },
    Spec {
        name: "email",
        required: false,
        aliases: &["דוא\"ל", "דואל", "אימייל", "e-mail"],
    },
    Spec {
        name: "external_id",
        required: false,
        aliases: &["מזהה חיצוני", "sourced_id", "sourcedId"],
    },
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

/// Validates every row of `table`, then writes the valid ones when `write` says so.
pub async fn import(
    tx: &TenantTx,
    table: &Table,
    write: impl Fn(&Problems) -> bool,
    progress: &super::Progress<'_>,
) -> Result<(Outcome, bool), DbErr> {
    let existing = tx.all(tx.find::<student::Entity>()).await?;
    let by_tz: HashMap<&str, &student::Model> = existing
        .iter()
        .map(|s| (s.student_tz.as_str(), s))
        .collect();
    let by_external: HashMap<&str, &student::Model> = existing
        .iter()
        .filter_map(|s| s.external_id.as_deref().map(|e| (e, s)))
        .collect();
    let classes = homerooms(tx).await?;

    let mut problems = Problems::default();
    let mut rows: Vec<Option<(Row, Option<&student::Model>)>> = Vec::with_capacity(table.height());
    let mut seen_tz: HashMap<String, usize> = HashMap::new();
    let mut seen_external: HashMap<String, usize> = HashMap::new();
    for i in 0..table.height() {
        let tz = match table.cell("student_tz", i) {
            None => {
                problems.add(i, "student_tz", "REQUIRED", "the national id is missing");
                None
            }
            Some(text) => match StudentTz::parse(text) {
                Ok(tz) => Some(tz.into_string()),
                Err(e) => {
                    problems.add(i, "student_tz", "INVALID_TZ", e.to_string());
                    None
                }
            },
        };
        if let Some(tz) = &tz
            && let Some(first) = seen_tz.insert(tz.clone(), i)
        {
            problems.add(
                i,
                "student_tz",
                "DUPLICATE_ROW",
                format!("this student is also on row {}", first + 2),
            );
        }
        let mut name = |column: &str| match table.cell(column, i) {
            Some(text) if text.chars().count() <= 200 => text.to_owned(),
            Some(_) => {
                problems.add(i, column, "TOO_LONG", "at most 200 characters");
                String::new()
            }
            None => {
                problems.add(i, column, "REQUIRED", "must not be empty");
                String::new()
            }
        };
        let first_name = name("first_name");
        let last_name = name("last_name");
        let grade_level = table.cell("grade_level", i).and_then(|text| {
            match parse::integer(text).filter(|g| (1..=12).contains(g)) {
                Some(g) => Some(g),
                None => {
                    problems.add(
                        i,
                        "grade_level",
                        "INVALID_GRADE_LEVEL",
                        "must be a whole number from 1 to 12",
                    );
                    None
                }
            }
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
        let email = table.cell("email", i).map(str::to_owned);
        if email.as_deref().is_some_and(|e| !is_plausible_email(e)) {
            problems.add(i, "email", "INVALID_EMAIL", "is not an email address");
        }
        let external_id = table.cell("external_id", i).map(str::to_owned);
        if let Some(ext) = &external_id
            && let Some(first) = seen_external.insert(ext.clone(), i)
        {
            problems.add(
                i,
                "external_id",
                "DUPLICATE_ROW",
                format!("this external id is also on row {}", first + 2),
            );
        }
        let Some(tz) = tz else {
            rows.push(None);
            continue;
        };
        // The record this row is about: by external id, else by TZ; the two must agree.
        let by_ext = external_id
            .as_deref()
            .and_then(|e| by_external.get(e).copied());
        let by_id = by_tz.get(tz.as_str()).copied();
        let target = match (by_ext, by_id) {
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
        };
        rows.push(Some((
            Row {
                tz,
                first_name,
                last_name,
                grade_level,
                class_id,
                birth_date,
                email,
                external_id,
            },
            target,
        )));
    }

    let actions = super::classify(&problems, &rows, |current, row| {
        merged(current, row) == *current
    });
    let written = write(&problems);
    if written {
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
        for (row, action) in rows.iter().zip(&actions) {
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
    }
    Ok((problems.outcome(&actions, written), written))
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
