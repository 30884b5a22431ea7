//! The school's overview, of one term if given.

use entity::{
    attendance_record, class, grade,
    ids::{StudentId, TermId},
    student, teacher,
    tenant::TenantTx,
    term,
};
use sea_orm::{
    ColumnTrait, DbErr,
    sea_query::{Expr, ExprTrait, Func},
};

use super::{Settings, absences, normalised};

/// The school at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Students.
    pub student_count: u64,
    /// Teachers.
    pub teacher_count: u64,
    /// Classes.
    pub class_count: u64,
    /// The average grade, each normalised to 0–100 (`score / maxScore × 100`); null without
    /// grades.
    pub average_score: Option<f64>,
    /// Share (0–1) of grades at or above the school's pass mark; null without grades.
    pub pass_rate: Option<f64>,
    /// Share (0–1) of attendance records that are PRESENT or LATE; null without records.
    pub attendance_rate: Option<f64>,
    /// Share (0–1) of the students with at least the school's minimum of recorded days (each
    /// attendance record counts as one) whose absence rate reaches the school's chronic
    /// threshold; null when no student has enough days.
    pub chronic_absence_rate: Option<f64>,
}

/// The overview, of `term` if given (grades of the term, attendance within its dates).
pub async fn overview(
    tx: &TenantTx,
    settings: &Settings,
    term: Option<TermId>,
) -> Result<Overview, DbErr> {
    let student_count = tx.count(tx.find::<student::Entity>()).await?;
    let teacher_count = tx.count(tx.find::<teacher::Entity>()).await?;
    let class_count = tx.count(tx.find::<class::Entity>()).await?;

    let mut grades = tx.find::<grade::Entity>();
    let mut attendance = tx.find::<attendance_record::Entity>();
    if let Some(term) = term {
        grades = grades.filter(grade::Column::TermId.eq(term));
        match tx.get::<term::Entity>(term).await? {
            Some(t) => {
                attendance = attendance
                    .filter(attendance_record::Column::Date.gte(t.start_date))
                    .filter(attendance_record::Column::Date.lte(t.end_date));
            }
            None => attendance = attendance.filter(Expr::val(1).eq(0)),
        }
    }
    let passed = Expr::case(normalised().gte(settings.pass_mark), 1).finally(0);
    let totals: Vec<(Option<f64>, i64, Option<i64>)> = tx
        .aggregate(
            grades,
            vec![
                (Func::sum(normalised()).into(), "total"),
                (Func::count(Expr::col(grade::Column::Id)).into(), "n"),
                (Func::sum(passed).into(), "passed"),
            ],
            vec![],
        )
        .await?;
    let (total, n, passed) = totals.first().copied().unwrap_or((None, 0, None));
    let (average_score, pass_rate) = if n > 0 {
        (
            Some(total.unwrap_or(0.0) / n as f64),
            Some(passed.unwrap_or(0) as f64 / n as f64),
        )
    } else {
        (None, None)
    };

    let per_student = absences(tx, attendance).await?;
    let recorded: i64 = per_student.iter().map(|(_, _, n)| n).sum();
    let absent_total: i64 = per_student.iter().map(|(_, a, _)| a).sum();
    let attendance_rate =
        (recorded > 0).then(|| (recorded - absent_total) as f64 / recorded as f64);
    let eligible: Vec<&(StudentId, i64, i64)> = per_student
        .iter()
        .filter(|(_, _, n)| *n >= i64::from(settings.chronic_absence_min_days))
        .collect();
    let chronic = eligible
        .iter()
        .filter(|(_, a, n)| *a as f64 * 100.0 / *n as f64 >= settings.chronic_absence_pct)
        .count();
    let chronic_absence_rate =
        (!eligible.is_empty()).then(|| chronic as f64 / eligible.len() as f64);
    Ok(Overview {
        student_count,
        teacher_count,
        class_count,
        average_score,
        pass_rate,
        attendance_rate,
        chronic_absence_rate,
    })
}
