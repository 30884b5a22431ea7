//! Attendance: one record per student, date and period; a roll call sets a whole class's at once.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::attendance_record;
use entity::class;
use entity::enums;
use entity::ids::AttendanceRecordId;
use entity::ids::ClassId;
use entity::ids::StudentId;
use entity::student;
use entity::tenant::TenantTx;
use sea_orm::{ActiveValue::Set, ColumnTrait, IntoActiveModel};
use serde_json::json;

use super::audit;
use super::checks::Fields;
use super::checks::removal_error;
use crate::error::ApiResult;
use crate::rules::Period;
use crate::rules::clean_text;
use crate::tenant::Actor;

/// The most entries in one roll call.
pub const MAX_ROLL_CALL: usize = 200;

/// Where and when attendance is taken.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// The date (a school day: inside a term).
    pub date: NaiveDate,
    /// The period, 0 (the whole day) to 12; `None` is 0.
    pub period: Option<i32>,
    /// The class.
    pub class: Option<ClassId>,
}

/// One student's mark.
#[derive(Debug)]
pub struct Mark {
    /// The student.
    pub student: StudentId,
    /// The status.
    pub status: enums::AttendanceStatus,
    /// A note.
    pub note: Option<String>,
}

async fn check_slot(tx: &TenantTx, fields: &mut Fields, slot: Slot) -> ApiResult<i32> {
    fields.date_in_a_term(tx, "input.date", slot.date).await?;
    let period = fields.take("input.period", Period::new(Some(slot.period.unwrap_or(0))));
    Ok(period.map_or(0, Period::get))
}

async fn existing(
    tx: &TenantTx,
    students: &[StudentId],
    date: NaiveDate,
    period: i32,
) -> ApiResult<Vec<attendance_record::Model>> {
    Ok(tx
        .all(
            tx.find::<attendance_record::Entity>()
                .filter(attendance_record::Column::StudentId.is_in(students.iter().copied()))
                .filter(attendance_record::Column::Date.eq(date))
                .filter(attendance_record::Column::Period.eq(period)),
        )
        .await?)
}

fn new_row(
    slot: Slot,
    period: i32,
    mark: &Mark,
    now: DateTime<Utc>,
) -> attendance_record::ActiveModel {
    attendance_record::ActiveModel {
        id: Set(AttendanceRecordId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        student_id: Set(mark.student),
        class_id: Set(slot.class),
        date: Set(slot.date),
        period: Set(period),
        status: Set(mark.status),
        note: Set(mark.note.as_deref().and_then(clean_text)),
        ..Default::default()
    }
}

async fn restate(
    tx: &TenantTx,
    current: attendance_record::Model,
    slot: Slot,
    mark: &Mark,
    now: DateTime<Utc>,
) -> ApiResult<attendance_record::Model> {
    let mut row = current.into_active_model();
    row.status = Set(mark.status);
    row.note = Set(mark.note.as_deref().and_then(clean_text));
    row.class_id = Set(slot.class);
    row.updated_at = Set(now);
    tx.update(row)
        .await
        .map_err(removal_error("attendance record"))
}

/// Records attendance (recording again replaces the status).
pub async fn record(
    tx: &TenantTx,
    actor: &Actor,
    slot: Slot,
    mark: Mark,
) -> ApiResult<attendance_record::Model> {
    let mut fields = Fields::new();
    fields
        .must_exist::<student::Entity>(tx, "input.studentId", Some(mark.student))
        .await?;
    fields
        .must_exist::<class::Entity>(tx, "input.classId", slot.class)
        .await?;
    let period = check_slot(tx, &mut fields, slot).await?;
    fields.done()?;
    let now = Utc::now();
    let current = existing(tx, &[mark.student], slot.date, period).await?;
    let row = match current.into_iter().next() {
        Some(current) => restate(tx, current, slot, &mark, now).await?,
        None => tx.insert(new_row(slot, period, &mark, now)).await?,
    };
    let entry = audit::Entry::new("attendance.record")
        .on("student", row.student_id)
        .details(json!({ "date": row.date, "period": row.period }));
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Takes a roll call: sets many students' attendance for one date and period (all or nothing).
pub async fn record_roll_call(
    tx: &TenantTx,
    actor: &Actor,
    slot: Slot,
    marks: Vec<Mark>,
) -> ApiResult<Vec<attendance_record::Model>> {
    let mut fields = Fields::new();
    let period = check_slot(tx, &mut fields, slot).await?;
    if marks.is_empty() || marks.len() > MAX_ROLL_CALL {
        fields.push(
            "input.records",
            format!("must hold 1 to {MAX_ROLL_CALL} entries"),
        );
    }
    fields
        .must_exist::<class::Entity>(tx, "input.classId", slot.class)
        .await?;
    let ids: Vec<StudentId> = marks.iter().map(|m| m.student).collect();
    fields
        .students_exist(
            tx,
            ("input.records", ".studentId"),
            &ids,
            "appears twice in this roll call",
        )
        .await?;
    fields.done()?;
    let mut current: HashMap<StudentId, attendance_record::Model> =
        existing(tx, &ids, slot.date, period)
            .await?
            .into_iter()
            .map(|r| (r.student_id, r))
            .collect();
    let now = Utc::now();
    let mut new_rows = Vec::new();
    for mark in &marks {
        match current.remove(&mark.student) {
            Some(row) => {
                restate(tx, row, slot, mark, now).await?;
            }
            None => new_rows.push(new_row(slot, period, mark, now)),
        }
    }
    tx.insert_many(new_rows).await?;
    let entry = audit::Entry::new("attendance.roll_call")
        .details(json!({ "date": slot.date, "period": period, "students": ids }));
    audit::write(tx, Some(actor), entry).await?;
    existing(tx, &ids, slot.date, period).await
}
