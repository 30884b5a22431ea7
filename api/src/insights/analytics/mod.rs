//! School analytics (DESIGN §7), computed inside one school's scope with the aggregation in SQL
//! (`GROUP BY` over the scoped tables): the overview and the ABC early-warning score.

mod attendance;
mod grades;
mod overview;
mod risk;

use entity::{attendance_record, grade, ids::StudentId, school_configuration, tenant::TenantTx};
use sea_orm::{
    DbErr,
    sea_query::{Expr, ExprTrait, Func, SimpleExpr},
};
use serde::Deserialize;

pub use attendance::{Absentee, AttendanceSummary, attendance_summary, chronic_absentees};
pub use grades::{Average, Bin, Filters, averages, distribution, grade_month};
pub use overview::{Overview, overview};
pub use risk::{RISKS_KEY, Risk, RiskTable, risk_table, risks};

/// The school's settings analytics use, and its data version.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The school's data version (bumped by every write to its data).
    pub version: i64,
    /// Pass mark on the 0–100 scale.
    pub pass_mark: f64,
    /// Absence rate (%) from which a student is chronically absent.
    pub chronic_absence_pct: f64,
    /// Recorded days a student needs before chronic absence is judged.
    pub chronic_absence_min_days: i32,
    /// The ABC thresholds.
    pub risk: RiskThresholds,
}

/// The ABC early-warning thresholds (DESIGN §7), from `risk_thresholds`; missing keys take the
/// defaults.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RiskThresholds {
    /// Absence rate (%) from which attendance scores 1 point (default 5).
    pub absence_medium_pct: f64,
    /// Absence rate (%) from which attendance scores 2 points (default 10).
    pub absence_high_pct: f64,
    /// Negative incidents from which behaviour scores 1 point (default 1).
    pub incidents_medium: i64,
    /// Negative incidents from which behaviour scores 2 points (default 3; any suspension too).
    pub incidents_high: i64,
    /// Overall average below which course performance scores at least 1 point (default 75).
    pub average_medium: f64,
    /// Overall average below which course performance scores 2 points (default 65).
    pub average_high: f64,
}

impl Default for RiskThresholds {
    fn default() -> Self {
        Self {
            absence_medium_pct: 5.0,
            absence_high_pct: 10.0,
            incidents_medium: 1,
            incidents_high: 3,
            average_medium: 75.0,
            average_high: 65.0,
        }
    }
}

/// The settings of the transaction's school.
pub async fn settings(tx: &TenantTx) -> Result<Settings, DbErr> {
    let row = tx
        .one(tx.find::<school_configuration::Entity>())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("school configuration".into()))?;
    Ok(Settings {
        version: tx.data_version().await?,
        pass_mark: row.pass_mark,
        chronic_absence_pct: row.chronic_absence_pct,
        chronic_absence_min_days: row.chronic_absence_min_days,
        risk: serde_json::from_value(row.risk_thresholds).unwrap_or_default(),
    })
}

fn normalised() -> SimpleExpr {
    Expr::col(grade::Column::Score)
        .mul(100.0)
        .div(Expr::col(grade::Column::MaxScore))
}

fn absent() -> SimpleExpr {
    Expr::case(
        Expr::col(attendance_record::Column::Status).is_in(["ABSENT", "EXCUSED"]),
        1,
    )
    .finally(0)
    .into()
}

/// (student, absences, records) of the attendance `select` matches, one row per student.
async fn absences(
    tx: &TenantTx,
    select: entity::tenant::TenantSelect<attendance_record::Entity>,
) -> Result<Vec<(StudentId, i64, i64)>, DbErr> {
    tx.aggregate(
        select,
        vec![
            (
                Expr::col(attendance_record::Column::StudentId),
                "student_id",
            ),
            (Func::sum(absent()).into(), "absent"),
            (
                Func::count(Expr::col(attendance_record::Column::Id)).into(),
                "n",
            ),
        ],
        vec![Expr::col(attendance_record::Column::StudentId)],
    )
    .await
}
