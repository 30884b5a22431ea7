//! Attendance figures: records by status and week, and the chronically absent.

use std::collections::BTreeMap;

use entity::{attendance_record, ids::StudentId, tenant::TenantTx};
use sea_orm::{
    ColumnTrait, DbErr,
    sea_query::{Expr, Func},
};

use super::{Settings, absences};

/// Attendance over a period: records by status, and by week (weeks start on Sunday).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttendanceSummary {
    /// (status, records), every status listed.
    pub by_status: Vec<(&'static str, i64)>,
    /// (the week's Sunday, attended, absent), weeks with records only, in order.
    pub by_week: Vec<(chrono::NaiveDate, i64, i64)>,
}

/// Attendance between `from` and `to` (inclusive), of a class if given.
pub async fn attendance_summary(
    tx: &TenantTx,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    class: Option<entity::ids::ClassId>,
) -> Result<AttendanceSummary, DbErr> {
    let mut select = tx.find::<attendance_record::Entity>();
    if let Some(from) = from {
        select = select.filter(attendance_record::Column::Date.gte(from));
    }
    if let Some(to) = to {
        select = select.filter(attendance_record::Column::Date.lte(to));
    }
    if let Some(class) = class {
        select = select.filter(attendance_record::Column::ClassId.eq(class));
    }
    let rows: Vec<(chrono::NaiveDate, String, i64)> = tx
        .aggregate(
            select,
            vec![
                (Expr::col(attendance_record::Column::Date), "date"),
                (Expr::col(attendance_record::Column::Status), "status"),
                (
                    Func::count(Expr::col(attendance_record::Column::Id)).into(),
                    "n",
                ),
            ],
            vec![
                Expr::col(attendance_record::Column::Date),
                Expr::col(attendance_record::Column::Status),
            ],
        )
        .await?;
    let statuses = ["PRESENT", "LATE", "ABSENT", "EXCUSED"];
    let mut by_status: Vec<(&'static str, i64)> = statuses.iter().map(|s| (*s, 0)).collect();
    let mut weeks: BTreeMap<chrono::NaiveDate, (i64, i64)> = BTreeMap::new();
    for (date, status, n) in rows {
        if let Some(slot) = by_status.iter_mut().find(|(s, _)| *s == status) {
            slot.1 += n;
        }
        let sunday = date
            - chrono::Duration::days(i64::from(
                chrono::Datelike::weekday(&date).num_days_from_sunday(),
            ));
        let week = weeks.entry(sunday).or_default();
        if matches!(status.as_str(), "PRESENT" | "LATE") {
            week.0 += n;
        } else {
            week.1 += n;
        }
    }
    Ok(AttendanceSummary {
        by_status,
        by_week: weeks.into_iter().map(|(d, (a, b))| (d, a, b)).collect(),
    })
}

/// A chronically absent student.
#[derive(Debug, Clone, PartialEq)]
pub struct Absentee {
    /// The student.
    pub student: StudentId,
    /// Attendance records.
    pub recorded: i64,
    /// Absences (absent or excused).
    pub absent: i64,
    /// absent / recorded × 100.
    pub rate: f64,
}

/// Students with at least the school's minimum of recorded days whose absence rate is at least
/// `threshold` (%), worst first.
pub async fn chronic_absentees(
    tx: &TenantTx,
    settings: &Settings,
    threshold: f64,
) -> Result<Vec<Absentee>, DbErr> {
    let rows = absences(tx, tx.find::<attendance_record::Entity>()).await?;
    let mut out: Vec<Absentee> = rows
        .into_iter()
        .filter(|(_, _, n)| *n >= i64::from(settings.chronic_absence_min_days))
        .map(|(student, absent, recorded)| Absentee {
            student,
            recorded,
            absent,
            rate: absent as f64 * 100.0 / recorded as f64,
        })
        .filter(|a| a.rate >= threshold)
        .collect();
    out.sort_by(|a, b| b.rate.total_cmp(&a.rate).then(a.student.cmp(&b.student)));
    Ok(out)
}
