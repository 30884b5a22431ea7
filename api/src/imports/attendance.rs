//! Importing attendance: one row per student, date and period (0 = the whole day).

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{attendance_record, enums::AttendanceStatus, ids::*, student, tenant::TenantTx, term};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, IntoActiveModel};

use crate::rules::{self, Period};

use super::Outcome;
use super::Problems;
use super::RowAction;
use super::parse;
use super::students::chunk_size;
use super::table::Spec;
use super::table::Table;
use super::table::header_key;

/// The columns of an attendance file.
pub const COLUMNS: &[Spec] = &[
    super::STUDENT_TZ,
    Spec::required("date", &["תאריך", "day"]),
    Spec::required("status", &["נוכחות", "סטטוס", "attendance"]),
    Spec::optional("period", &["שעה", "שיעור", "lesson"]),
    Spec::optional("note", &["הערה", "comment"]),
];

/// A status in English or Hebrew.
pub fn status(text: &str) -> Option<AttendanceStatus> {
    Some(match header_key(text).as_str() {
        "present" | "נוכח" | "נוכחת" | "נוכחות" => AttendanceStatus::Present,
        "absent" | "חיסור" | "נעדר" | "נעדרה" | "חסר" | "חסרה" => {
            AttendanceStatus::Absent
        }
        "late" | "איחור" | "מאחר" | "מאחרת" => AttendanceStatus::Late,
        "excused" | "מוצדק" | "חיסור_מוצדק" | "מוצדקת" => {
            AttendanceStatus::Excused
        }
        _ => return None,
    })
}

#[derive(Debug, Clone)]
struct Row {
    student: StudentId,
    date: NaiveDate,
    period: i32,
    status: AttendanceStatus,
    note: Option<String>,
}

type Key = (StudentId, NaiveDate, i32);

/// The records a file can match: its students', between its first and last date.
async fn existing(
    tx: &TenantTx,
    table: &Table,
    students: &HashMap<String, StudentId>,
) -> Result<Vec<attendance_record::Model>, DbErr> {
    let file_students = super::students_in(table, students);
    let dates: Vec<NaiveDate> = (0..table.height())
        .filter_map(|i| table.cell("date", i).and_then(parse::date))
        .collect();
    let mut existing = Vec::new();
    if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
        for chunk in file_students.chunks(5_000) {
            let select = tx
                .find::<attendance_record::Entity>()
                .filter(attendance_record::Column::StudentId.is_in(chunk.iter().copied()))
                .filter(attendance_record::Column::Date.between(*first, *last));
            existing.extend(tx.all(select).await?);
        }
    }
    Ok(existing)
}

/// A row's date: a school day, inside one of the school's terms.
fn date_of(
    table: &Table,
    i: usize,
    terms: &[term::Model],
    problems: &mut Problems,
) -> Option<NaiveDate> {
    let Some(Some(d)) = table.cell("date", i).map(parse::date) else {
        problems.add(
            i,
            "date",
            "INVALID_DATE",
            "must be a date, yyyy-mm-dd or dd/mm/yyyy",
        );
        return None;
    };
    if terms
        .iter()
        .any(|t| rules::date_in_term(d, t.start_date, t.end_date).is_ok())
    {
        Some(d)
    } else {
        problems.add(
            i,
            "date",
            "DATE_OUTSIDE_TERM",
            "must fall inside one of the school's terms",
        );
        None
    }
}

/// Checks row `i`; `None` when it cannot be written.
fn check_row(
    table: &Table,
    i: usize,
    (students, terms): (&HashMap<String, StudentId>, &[term::Model]),
    seen: &mut HashMap<Key, usize>,
    problems: &mut Problems,
) -> Option<Row> {
    let student = super::student_of(table, i, students, problems);
    let date = date_of(table, i, terms, problems);
    let status = match table.cell("status", i).map(status) {
        Some(Some(s)) => Some(s),
        _ => {
            problems.add(
                i,
                "status",
                "INVALID_STATUS",
                "must be PRESENT, ABSENT, LATE or EXCUSED (נוכח, חיסור, איחור, מוצדק)",
            );
            None
        }
    };
    let period = match table.cell("period", i) {
        None => Some(0),
        Some(text) => problems
            .take(i, "period", Period::new(parse::integer(text)))
            .map(Period::get),
    };
    let (student, date, status, period) = (student?, date?, status?, period?);
    if let Some(first) = seen.insert((student, date, period), i) {
        problems.add(
            i,
            "student_tz",
            "DUPLICATE_ROW",
            format!(
                "row {} already records this student on this date and period",
                first + 2
            ),
        );
    }
    Some(Row {
        student,
        date,
        period,
        status,
        note: table.cell("note", i).map(str::to_owned),
    })
}

/// Validates every row of `table`, then writes the valid ones when `write` says so.
pub async fn import(job: super::Job<'_>) -> Result<(Outcome, bool), DbErr> {
    let super::Job {
        tx,
        table,
        write,
        progress,
    } = job;
    let students: HashMap<String, StudentId> = tx
        .all(tx.find::<student::Entity>())
        .await?
        .into_iter()
        .map(|s| (s.student_tz, s.id))
        .collect();
    let terms = tx.all(tx.find::<term::Entity>()).await?;
    let existing = existing(tx, table, &students).await?;
    let by_key: HashMap<Key, &attendance_record::Model> = existing
        .iter()
        .map(|r| ((r.student_id, r.date, r.period), r))
        .collect();
    let mut problems = Problems::default();
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let rows: Vec<Option<(Row, Option<&attendance_record::Model>)>> = (0..table.height())
        .map(|i| {
            let row = check_row(table, i, (&students, &terms), &mut seen, &mut problems)?;
            let current = by_key.get(&(row.student, row.date, row.period)).copied();
            Some((row, current))
        })
        .collect();
    let actions = super::classify(&problems, &rows, |current, row| {
        current.status == row.status && (row.note.is_none() || row.note == current.note)
    });
    let written = write(&problems);
    if written {
        save(tx, &rows, &actions, progress).await?;
    }
    Ok((problems.outcome(&actions, written), written))
}

fn new_record(row: &Row, now: chrono::DateTime<Utc>) -> attendance_record::ActiveModel {
    attendance_record::ActiveModel {
        id: Set(AttendanceRecordId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        student_id: Set(row.student),
        class_id: Set(None),
        date: Set(row.date),
        period: Set(row.period),
        status: Set(row.status),
        note: Set(row.note.clone()),
        recorded_by_teacher_id: Set(None),
        ..Default::default()
    }
}

/// Writes the rows `actions` says to: updates first, then the new rows a chunk at a time (only
/// one chunk of active models is held at once).
async fn save(
    tx: &TenantTx,
    rows: &[Option<(Row, Option<&attendance_record::Model>)>],
    actions: &[RowAction],
    progress: &super::Progress<'_>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let mut inserts = Vec::new();
    for (row, action) in rows.iter().zip(actions) {
        let Some((row, current)) = row else { continue };
        match (action, current) {
            (RowAction::Insert, _) => inserts.push(row),
            (RowAction::Update, Some(current)) => {
                let mut next = (*current).clone();
                next.status = row.status;
                if row.note.is_some() {
                    next.note = row.note.clone();
                }
                next.updated_at = now;
                super::write_back(tx, next.into_active_model(), "attendance").await?;
                progress.advance(1);
            }
            _ => {}
        }
    }
    for chunk in inserts.chunks(chunk_size::<attendance_record::Entity>()) {
        let n = chunk.len();
        tx.insert_many(chunk.iter().map(|row| new_record(row, now)).collect())
            .await?;
        progress.advance(n);
    }
    Ok(())
}
