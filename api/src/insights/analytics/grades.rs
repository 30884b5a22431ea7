//! Grade figures: the distribution by score and averages by subject, class, teacher or period.

use entity::{
    grade,
    ids::{SubjectId, TermId},
    tenant::TenantTx,
};
use sea_orm::{
    ColumnTrait, DbErr,
    sea_query::{Expr, ExprTrait, Func, SimpleExpr},
};

use super::normalised;

/// Which grades a figure is over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Filters {
    /// Only this subject.
    pub subject: Option<SubjectId>,
    /// Only grades given in this class.
    pub class: Option<entity::ids::ClassId>,
    /// Only this term.
    pub term: Option<TermId>,
}

impl Filters {
    /// A stable text of the filters, for cache keys.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.subject.map(|x| x.to_string()).unwrap_or_default(),
            self.class.map(|x| x.to_string()).unwrap_or_default(),
            self.term.map(|x| x.to_string()).unwrap_or_default()
        )
    }

    fn grades(&self, tx: &TenantTx) -> entity::tenant::TenantSelect<grade::Entity> {
        let mut select = tx.find::<grade::Entity>();
        if let Some(s) = self.subject {
            select = select.filter(grade::Column::SubjectId.eq(s));
        }
        if let Some(c) = self.class {
            select = select.filter(grade::Column::ClassId.eq(c));
        }
        if let Some(t) = self.term {
            select = select.filter(grade::Column::TermId.eq(t));
        }
        select
    }
}

/// `floor(x)` as a 64-bit integer on either backend.
fn floor_int(tx: &TenantTx, x: SimpleExpr) -> SimpleExpr {
    match tx.backend() {
        sea_orm::DbBackend::Postgres => Func::cust("FLOOR").arg(x).cast_as("BIGINT"),
        _ => x.cast_as("INTEGER"),
    }
}

/// One bin of a grade distribution: `[start, end)`, the last one closed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    /// Lower bound.
    pub start: f64,
    /// Upper bound.
    pub end: f64,
    /// Grades in the bin.
    pub count: i64,
}

/// Grades by normalised score in bins of `size` points, from 0 to 100 (empty bins included).
pub async fn distribution(tx: &TenantTx, filters: &Filters, size: f64) -> Result<Vec<Bin>, DbErr> {
    let index = floor_int(tx, normalised().div(size));
    let rows: Vec<(i64, i64)> = tx
        .aggregate(
            filters.grades(tx),
            vec![
                (index, "bin"),
                (Func::count(Expr::col(grade::Column::Id)).into(), "n"),
            ],
            // By position: the expression carries bind parameters, and PostgreSQL does not
            // see two copies with different parameter numbers as the same expression.
            vec![Expr::cust("1")],
        )
        .await?;
    let bins = (100.0 / size).ceil().max(1.0) as i64;
    let mut out: Vec<Bin> = (0..bins)
        .map(|i| Bin {
            start: i as f64 * size,
            end: ((i + 1) as f64 * size).min(100.0),
            count: 0,
        })
        .collect();
    for (i, n) in rows {
        // 100 (and anything above the scale) falls in the last, closed bin.
        let i = usize::try_from(i.clamp(0, bins - 1)).unwrap_or(0);
        out[i].count += n;
    }
    Ok(out)
}

/// An average over a group of grades.
#[derive(Debug, Clone, PartialEq)]
pub struct Average<K> {
    /// The group: a subject, class, teacher or term id, or a month `YYYY-MM`.
    pub key: K,
    /// The average normalised score.
    pub average: f64,
    /// Grades in the group.
    pub count: i64,
}

/// Average normalised score by the value of `by` (rows whose `by` is null are left out),
/// ordered by key.
pub async fn averages<K>(
    tx: &TenantTx,
    filters: &Filters,
    by: SimpleExpr,
) -> Result<Vec<Average<K>>, DbErr>
where
    K: sea_orm::TryGetable + Ord,
{
    let rows: Vec<(Option<K>, f64, i64)> = tx
        .aggregate(
            filters.grades(tx),
            vec![
                (by, "key"),
                (Func::sum(normalised()).into(), "total"),
                (Func::count(Expr::col(grade::Column::Id)).into(), "n"),
            ],
            // By position (see `distribution`).
            vec![Expr::cust("1")],
        )
        .await?;
    let mut out: Vec<Average<K>> = rows
        .into_iter()
        .filter_map(|(key, total, n)| {
            Some(Average {
                key: key?,
                average: total / n as f64,
                count: n,
            })
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The month (`YYYY-MM`) a grade was given, on either backend.
pub fn grade_month(tx: &TenantTx) -> SimpleExpr {
    match tx.backend() {
        sea_orm::DbBackend::Postgres => Func::cust("TO_CHAR")
            .arg(Expr::col(grade::Column::GradedOn))
            .arg("YYYY-MM")
            .into(),
        _ => Func::cust("STRFTIME")
            .arg("%Y-%m")
            .arg(Expr::col(grade::Column::GradedOn))
            .into(),
    }
}
