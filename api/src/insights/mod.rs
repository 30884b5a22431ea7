//! Insights (DESIGN §7–8): per-student features computed in the school's scope, with the
//! aggregation pushed down to SQL (`GROUP BY` over the scoped tables), and the per-school model.

pub mod analytics;
pub mod cache;
pub mod ml;

use std::collections::BTreeMap;

use entity::{
    attendance_record, grade,
    ids::StudentId,
    incident, ml_model, student,
    tenant::{TenantSelect, TenantTx},
};
use sea_orm::{
    ColumnTrait, DbErr, Order,
    sea_query::{Expr, ExprTrait, Func, SimpleExpr},
};

/// One student's model inputs (DESIGN §8). Scores are normalised to 0–100.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// The student.
    pub student: StudentId,
    /// Attended (present or late) / recorded attendance × 100; `None` without records.
    pub attendance_rate: Option<f64>,
    /// The average of the student's grades that are not final; `None` without any.
    pub prior_average: Option<f64>,
    /// Negative discipline incidents.
    pub negative_incidents: f64,
    /// The average of the student's final grades; `None` without any.
    pub final_score: Option<f64>,
}

impl Features {
    /// The feature values in the order of [`ml::FEATURES`], when the student has them all.
    pub fn values(&self) -> Option<[f64; 3]> {
        Some([
            self.attendance_rate?,
            self.prior_average?,
            self.negative_incidents,
        ])
    }
}

fn normalised_score() -> SimpleExpr {
    Expr::col(grade::Column::Score)
        .mul(100.0)
        .div(Expr::col(grade::Column::MaxScore))
}

/// The features of the school's students (of `only`, if given), ordered by student id. Four
/// grouped queries, whatever the number of students.
pub async fn features(tx: &TenantTx, only: Option<&[StudentId]>) -> Result<Vec<Features>, DbErr> {
    fn narrow<E: entity::tenant::TenantScoped>(
        select: TenantSelect<E>,
        column: impl ColumnTrait,
        only: Option<&[StudentId]>,
    ) -> TenantSelect<E> {
        match only {
            Some(ids) => select.filter(column.is_in(ids.iter().copied())),
            None => select,
        }
    }
    let students: Vec<(StudentId,)> = tx
        .aggregate(
            narrow(tx.find::<student::Entity>(), student::Column::Id, only),
            vec![(Expr::col(student::Column::Id), "id")],
            vec![],
        )
        .await?;
    let mut out: BTreeMap<StudentId, Features> = students
        .into_iter()
        .map(|(id,)| {
            (
                id,
                Features {
                    student: id,
                    attendance_rate: None,
                    prior_average: None,
                    negative_incidents: 0.0,
                    final_score: None,
                },
            )
        })
        .collect();

    let grades: Vec<(StudentId, bool, f64, i64)> = tx
        .aggregate(
            narrow(tx.find::<grade::Entity>(), grade::Column::StudentId, only),
            vec![
                (Expr::col(grade::Column::StudentId), "student_id"),
                (Expr::col(grade::Column::IsFinal), "is_final"),
                (Func::sum(normalised_score()).into(), "total"),
                (Func::count(Expr::col(grade::Column::Id)).into(), "n"),
            ],
            vec![
                Expr::col(grade::Column::StudentId),
                Expr::col(grade::Column::IsFinal),
            ],
        )
        .await?;
    for (student, is_final, total, n) in grades {
        if let Some(f) = out.get_mut(&student)
            && n > 0
        {
            let average = Some(total / n as f64);
            if is_final {
                f.final_score = average;
            } else {
                f.prior_average = average;
            }
        }
    }

    let attended = Expr::case(
        Expr::col(attendance_record::Column::Status).is_in(["PRESENT", "LATE"]),
        1,
    )
    .finally(0);
    let attendance: Vec<(StudentId, i64, i64)> = tx
        .aggregate(
            narrow(
                tx.find::<attendance_record::Entity>(),
                attendance_record::Column::StudentId,
                only,
            ),
            vec![
                (
                    Expr::col(attendance_record::Column::StudentId),
                    "student_id",
                ),
                (Func::sum(attended).into(), "attended"),
                (
                    Func::count(Expr::col(attendance_record::Column::Id)).into(),
                    "n",
                ),
            ],
            vec![Expr::col(attendance_record::Column::StudentId)],
        )
        .await?;
    for (student, attended, n) in attendance {
        if let Some(f) = out.get_mut(&student)
            && n > 0
        {
            f.attendance_rate = Some(attended as f64 * 100.0 / n as f64);
        }
    }

    let incidents: Vec<(StudentId, i64)> = tx
        .aggregate(
            narrow(
                tx.find::<incident::Entity>()
                    .filter(incident::Column::IsNegative.eq(true)),
                incident::Column::StudentId,
                only,
            ),
            vec![
                (Expr::col(incident::Column::StudentId), "student_id"),
                (Func::count(Expr::col(incident::Column::Id)).into(), "n"),
            ],
            vec![Expr::col(incident::Column::StudentId)],
        )
        .await?;
    for (student, n) in incidents {
        if let Some(f) = out.get_mut(&student) {
            f.negative_incidents = n as f64;
        }
    }
    Ok(out.into_values().collect())
}

/// The model target this service trains.
pub const FINAL_SCORE: &str = "FINAL_SCORE";

/// The school's active model: the newest trained for the final score.
pub async fn active_model(tx: &TenantTx) -> Result<Option<ml_model::Model>, DbErr> {
    tx.one(
        tx.find::<ml_model::Entity>()
            .filter(ml_model::Column::Target.eq(FINAL_SCORE))
            .order_by(ml_model::Column::TrainedAt, Order::Desc)
            .order_by(ml_model::Column::Id, Order::Desc)
            .limit(1),
    )
    .await
}

/// A stored model's coefficients: (feature index in [`ml::FEATURES`], coefficient).
pub fn coefficients(model: &ml_model::Model) -> Vec<(usize, f64)> {
    model
        .coefficients
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let name = item.get("feature")?.as_str()?;
                    let index = ml::FEATURES.iter().position(|f| *f == name)?;
                    Some((index, item.get("coefficient")?.as_f64()?))
                })
                .collect()
        })
        .unwrap_or_default()
}
