//! `analytics { … }` and `Student.risk` (DESIGN §7): computed in the school's scope, pushed
//! down to SQL, cached per (school, data version, query and arguments).

mod compute;
mod types;

use crate::graphql::scalars::Date;
use async_graphql::{Context, Object};
use entity::{
    grade,
    ids::{ClassId, StudentId, SubjectId, TeacherId, TermId},
};
use sea_orm::sea_query::Expr;
use uuid::Uuid;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    graphql::{
        context::{loaders, require},
        loaders::load_error,
        roster::{AttendanceStatus, Class, Student, Subject, Teacher, Term},
    },
    insights::analytics::{self, Overview, Risk},
};
use compute::{cached, check, filters, risk_table};

pub use types::{
    AttendanceSummary, ChronicAbsentee, ClassAverage, GradeBin, Granularity, RiskScore, RiskTier,
    SchoolOverview, StatusCount, SubjectAverage, TeacherAverage, TrendPoint, WeekAttendance,
};

/// The entry to analytics.
#[derive(Debug, Default)]
pub struct AnalyticsQuery;

/// The entry to analytics.
#[Object]
impl AnalyticsQuery {
    /// The school's analytics (permission `students:read`).
    async fn analytics(&self, ctx: &Context<'_>) -> ApiResult<Analytics> {
        require(ctx, Permission::StudentsRead).await?;
        Ok(Analytics)
    }
}

/// School analytics: figures over this school's data only, cached until its data changes.
#[derive(Debug, Clone, Copy)]
pub struct Analytics;

/// School analytics: figures over this school's data only, cached until its data changes.
#[Object]
impl Analytics {
    /// Counts, average score, pass rate, attendance and chronic absence; of one term if given
    /// (its grades, and attendance within its dates).
    async fn overview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this term.")] term_id: Option<Uuid>,
    ) -> ApiResult<SchoolOverview> {
        let f = filters(None, None, term_id);
        let overview = cached(
            ctx,
            format!("overview:{}", f.key()),
            |_: &Overview| 256,
            async |tx, settings| {
                check(tx, &f).await?;
                Ok(analytics::overview(tx, settings, f.term).await?)
            },
        )
        .await?;
        Ok(overview.as_ref().clone().into())
    }

    /// Grades by normalised score (0–100) in bins of `binSize` points (default 10): `[start,
    /// end)`, the last bin closed; empty bins included.
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn grade_distribution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Bin width in points (1–100, default 10).")] bin_size: Option<f64>,
        #[graphql(desc = "Only this subject.")] subject_id: Option<Uuid>,
        #[graphql(desc = "Only grades given in this class.")] class_id: Option<Uuid>,
        #[graphql(desc = "Only this term.")] term_id: Option<Uuid>,
    ) -> ApiResult<Vec<GradeBin>> {
        let size = bin_size.unwrap_or(10.0);
        if !(1.0..=100.0).contains(&size) {
            return Err(ApiError::bad_field("binSize", "must be from 1 to 100"));
        }
        let f = filters(subject_id, class_id, term_id);
        let bins = cached(
            ctx,
            format!("distribution:{size}:{}", f.key()),
            |b: &Vec<analytics::Bin>| 64 + b.len() * 24,
            async |tx, _| {
                check(tx, &f).await?;
                Ok(analytics::distribution(tx, &f, size).await?)
            },
        )
        .await?;
        Ok(bins
            .iter()
            .map(|b| GradeBin {
                start: b.start,
                end: b.end,
                count: b.count,
            })
            .collect())
    }

    /// The average grade of each subject (of a class or term, if given).
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn subject_averages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only grades given in this class.")] class_id: Option<Uuid>,
        #[graphql(desc = "Only this term.")] term_id: Option<Uuid>,
    ) -> ApiResult<Vec<SubjectAverage>> {
        let f = filters(None, class_id, term_id);
        let rows = cached(
            ctx,
            format!("subjects:{}", f.key()),
            |r: &Vec<analytics::Average<SubjectId>>| 64 + r.len() * 48,
            async |tx, _| {
                check(tx, &f).await?;
                Ok(analytics::averages(tx, &f, Expr::col(grade::Column::SubjectId)).await?)
            },
        )
        .await?;
        let loaders = loaders(ctx)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.iter() {
            out.push(SubjectAverage {
                subject: loaders
                    .subject
                    .load_one(r.key)
                    .await
                    .map_err(load_error)?
                    .map(Subject),
                average: r.average,
                count: r.count,
            });
        }
        Ok(out)
    }

    /// The average grade given in each class (grades recorded for a class).
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn class_averages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this subject.")] subject_id: Option<Uuid>,
        #[graphql(desc = "Only this term.")] term_id: Option<Uuid>,
    ) -> ApiResult<Vec<ClassAverage>> {
        let f = filters(subject_id, None, term_id);
        let rows = cached(
            ctx,
            format!("classes:{}", f.key()),
            |r: &Vec<analytics::Average<ClassId>>| 64 + r.len() * 48,
            async |tx, _| {
                check(tx, &f).await?;
                Ok(analytics::averages(tx, &f, Expr::col(grade::Column::ClassId)).await?)
            },
        )
        .await?;
        let loaders = loaders(ctx)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.iter() {
            out.push(ClassAverage {
                class: loaders
                    .class
                    .load_one(r.key)
                    .await
                    .map_err(load_error)?
                    .map(Class),
                average: r.average,
                count: r.count,
            });
        }
        Ok(out)
    }

    /// The average grade each teacher gave (grades that name their teacher).
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn teacher_averages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this subject.")] subject_id: Option<Uuid>,
        #[graphql(desc = "Only this term.")] term_id: Option<Uuid>,
    ) -> ApiResult<Vec<TeacherAverage>> {
        let f = filters(subject_id, None, term_id);
        let rows = cached(
            ctx,
            format!("teachers:{}", f.key()),
            |r: &Vec<analytics::Average<TeacherId>>| 64 + r.len() * 48,
            async |tx, _| {
                check(tx, &f).await?;
                Ok(analytics::averages(tx, &f, Expr::col(grade::Column::TeacherId)).await?)
            },
        )
        .await?;
        let loaders = loaders(ctx)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.iter() {
            out.push(TeacherAverage {
                teacher: loaders
                    .teacher
                    .load_one(r.key)
                    .await
                    .map_err(load_error)?
                    .map(Teacher),
                average: r.average,
                count: r.count,
            });
        }
        Ok(out)
    }

    /// The average grade by month or term, oldest first.
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "MONTH or TERM.")] granularity: Granularity,
        #[graphql(desc = "Only this subject.")] subject_id: Option<Uuid>,
        #[graphql(desc = "Only grades given in this class.")] class_id: Option<Uuid>,
    ) -> ApiResult<Vec<TrendPoint>> {
        let f = filters(subject_id, class_id, None);
        let loaders = loaders(ctx)?;
        match granularity {
            Granularity::Month => {
                let rows = cached(
                    ctx,
                    format!("trend:month:{}", f.key()),
                    |r: &Vec<analytics::Average<String>>| 64 + r.len() * 48,
                    async |tx, _| {
                        check(tx, &f).await?;
                        Ok(analytics::averages(tx, &f, analytics::grade_month(tx)).await?)
                    },
                )
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| TrendPoint {
                        period: r.key.clone(),
                        term: None,
                        average: r.average,
                        count: r.count,
                    })
                    .collect())
            }
            Granularity::Term => {
                let rows = cached(
                    ctx,
                    format!("trend:term:{}", f.key()),
                    |r: &Vec<analytics::Average<TermId>>| 64 + r.len() * 48,
                    async |tx, _| {
                        check(tx, &f).await?;
                        Ok(analytics::averages(tx, &f, Expr::col(grade::Column::TermId)).await?)
                    },
                )
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows.iter() {
                    let term = loaders.term.load_one(r.key).await.map_err(load_error)?;
                    out.push((
                        term.as_ref().map(|t| t.start_date),
                        TrendPoint {
                            period: term.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
                            term: term.map(Term),
                            average: r.average,
                            count: r.count,
                        },
                    ));
                }
                out.sort_by_key(|(start, _)| *start);
                Ok(out.into_iter().map(|(_, p)| p).collect())
            }
        }
    }

    /// Attendance between two dates (inclusive; open-ended if left out), of a class if given:
    /// records by status and by week.
    async fn attendance_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day.")] from: Option<Date>,
        #[graphql(desc = "Last day.")] to: Option<Date>,
        #[graphql(desc = "Only records taken in this class.")] class_id: Option<Uuid>,
    ) -> ApiResult<AttendanceSummary> {
        let f = filters(None, class_id, None);
        let (from, to) = (from.map(|d| d.0), to.map(|d| d.0));
        let summary = cached(
            ctx,
            format!("attendance:{from:?}:{to:?}:{}", f.key()),
            |s: &analytics::AttendanceSummary| 128 + s.by_week.len() * 32,
            async |tx, _| {
                check(tx, &f).await?;
                Ok(analytics::attendance_summary(tx, from, to, f.class).await?)
            },
        )
        .await?;
        Ok(AttendanceSummary {
            by_status: summary
                .by_status
                .iter()
                .map(|(s, n)| StatusCount {
                    status: status(s),
                    count: *n,
                })
                .collect(),
            by_week: summary
                .by_week
                .iter()
                .map(|(d, a, b)| WeekAttendance {
                    week_start: Date(*d),
                    attended: *a,
                    absent: *b,
                })
                .collect(),
        })
    }

    /// Students with at least the school's minimum of recorded days (default 20) whose absence
    /// rate is at least `thresholdPct` (default: the school's chronic threshold, 10%), worst
    /// first.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn chronic_absentees(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "Absence rate in percent (0–100).")] threshold_pct: Option<f64>,
    ) -> ApiResult<Vec<ChronicAbsentee>> {
        let first =
            usize::try_from(crate::graphql::pagination::page_size(first)?).unwrap_or(usize::MAX);
        if threshold_pct.is_some_and(|t| !(0.0..=100.0).contains(&t)) {
            return Err(ApiError::bad_field("thresholdPct", "must be from 0 to 100"));
        }
        let rows = cached(
            ctx,
            format!("chronic:{threshold_pct:?}"),
            |r: &Vec<analytics::Absentee>| 64 + r.len() * 48,
            async |tx, settings| {
                let threshold = threshold_pct.unwrap_or(settings.chronic_absence_pct);
                Ok(analytics::chronic_absentees(tx, settings, threshold).await?)
            },
        )
        .await?;
        let loaders = loaders(ctx)?;
        let mut out = Vec::new();
        for a in rows.iter().take(first) {
            out.push(ChronicAbsentee {
                student: loaders
                    .student
                    .load_one(a.student)
                    .await
                    .map_err(load_error)?
                    .map(Student),
                recorded: a.recorded,
                absent: a.absent,
                absence_rate: a.rate,
            });
        }
        Ok(out)
    }

    /// The students most at risk by the ABC score, highest total first (ties: more attendance
    /// points, then by student id). Students scoring 0 are left out.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn at_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
    ) -> ApiResult<Vec<RiskScore>> {
        let first =
            usize::try_from(crate::graphql::pagination::page_size(first)?).unwrap_or(usize::MAX);
        let table = risk_table(ctx).await?;
        let mut rows: Vec<&Risk> = table
            .by_student
            .values()
            .filter(|r| r.total() > 0)
            .collect();
        rows.sort_by(|a, b| {
            b.total()
                .cmp(&a.total())
                .then(b.attendance.cmp(&a.attendance))
                .then(a.student.cmp(&b.student))
        });
        Ok(rows
            .into_iter()
            .take(first)
            .map(|r| RiskScore(r.clone()))
            .collect())
    }
}

fn status(text: &str) -> AttendanceStatus {
    match text {
        "PRESENT" => AttendanceStatus::Present,
        "LATE" => AttendanceStatus::Late,
        "ABSENT" => AttendanceStatus::Absent,
        _ => AttendanceStatus::Excused,
    }
}

/// The ABC score of one student (for `Student.risk`).
pub async fn of_student(ctx: &Context<'_>, student: StudentId) -> ApiResult<Option<RiskScore>> {
    let table = risk_table(ctx).await?;
    Ok(table.by_student.get(&student).cloned().map(RiskScore))
}
