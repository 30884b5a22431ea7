//! Importing attendance: one row per student, date and period (0 = the whole day).

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{attendance_record, enums::AttendanceStatus, ids::*, student, tenant::TenantTx, term};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, IntoActiveModel};

use super::{
    Outcome, Problems, RowAction, parse,
    students::chunk_size,
    table::{Spec, Table, header_key},
};

/// The columns of an attendance file.
pub const COLUMNS: &[Spec] = &[
    super::STUDENT_TZ,
    Spec {
        name: "date",
        required: true,
        aliases: &["תאריך", "day"],
    },
    Spec {
        name: "status",
        required: true,
        aliases: &["נוכחות", "סטטוס", "attendance"],
    },
    Spec {
        name: "period",
        required: false,
        aliases: &["שעה", "שיעור", "lesson"],
    },
    Spec {
        name: "note",
        required: false,
        aliases: &["הערה", "comment"],
    },
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

/// Validates every row of `table`, then writes the valid ones when `write` says so.
pub async fn import(
    tx: &TenantTx,
    table: &Table,
    write: impl Fn(&Problems) -> bool,
    progress: &super::Progress<'_>,
) -> Result<(Outcome, bool), DbErr> {
    let students: HashMap<String, StudentId> = tx
        .all(tx.find::<student::Entity>())
        .await?
        .into_iter()
        .map(|s| (s.student_tz, s.id))
        .collect();
    let terms = tx.all(tx.find::<term::Entity>()).await?;
    // Only the records this file can match: its students, between its first and last date.
    let file_students = super::students_in(table, &students);
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
    let by_key: HashMap<(StudentId, NaiveDate, i32), &attendance_record::Model> = existing
        .iter()
        .map(|r| ((r.student_id, r.date, r.period), r))
        .collect();

    let mut problems = Problems::default();
    let mut rows: Vec<Option<(Row, Option<&attendance_record::Model>)>> =
        Vec::with_capacity(table.height());
    let mut seen: HashMap<(StudentId, NaiveDate, i32), usize> = HashMap::new();
    for i in 0..table.height() {
        let student = super::student_of(table, i, &students, &mut problems);
        let date = match table.cell("date", i).map(parse::date) {
            Some(Some(d)) => {
                if terms.iter().any(|t| t.start_date <= d && d <= t.end_date) {
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
            _ => {
                problems.add(
                    i,
                    "date",
                    "INVALID_DATE",
                    "must be a date, yyyy-mm-dd or dd/mm/yyyy",
                );
                None
            }
        };
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
            Some(text) => {
                let p = parse::integer(text).filter(|p| (0..=12).contains(p));
                if p.is_none() {
                    problems.add(
                        i,
                        "period",
                        "INVALID_PERIOD",
                        "must be a whole number from 0 (the whole day) to 12",
                    );
                }
                p
            }
        };
        let (Some(student), Some(date), Some(status), Some(period)) =
            (student, date, status, period)
        else {
            rows.push(None);
            continue;
        };
        let key = (student, date, period);
        if let Some(first) = seen.insert(key, i) {
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
        rows.push(Some((
            Row {
                student,
                date,
                period,
                status,
                note: table.cell("note", i).map(str::to_owned),
            },
            by_key.get(&key).copied(),
        )));
    }

    let actions = super::classify(&problems, &rows, |current, row| {
        current.status == row.status && (row.note.is_none() || row.note == current.note)
    });
    let written = write(&problems);
    if written {
        let now = Utc::now();
        let new_record = |row: &Row| attendance_record::ActiveModel {
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
        };
        // Updates first, then the new rows a chunk at a time: only one chunk of active models
        // is held at once.
        let mut inserts = Vec::new();
        for (row, action) in rows.iter().zip(&actions) {
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
            tx.insert_many(chunk.iter().map(|row| new_record(row)).collect())
                .await?;
            progress.advance(n);
        }
    }
    Ok((problems.outcome(&actions, written), written))
}
