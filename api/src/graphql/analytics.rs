//! `analytics { … }` and `Student.risk` (DESIGN §7): computed in the school's scope, pushed
//! down to SQL, cached per (school, data version, query and arguments).

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::NaiveDate;
use entity::{
    grade,
    ids::{ClassId, StudentId, SubjectId, TeacherId, TermId},
    tenant::TenantTx,
};
use sea_orm::sea_query::Expr;
use uuid::Uuid;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    graphql::{
        context::{heavy_work, loaders, require, scoped, state, tenant},
        loaders::load_error,
        roster::{AttendanceStatus, Class, Student, Subject, Teacher, Term},
    },
    insights::analytics::{self, Filters, Overview, Risk, Settings},
};

/// Runs `compute` in the school's scope unless the answer for `key` at the school's data
/// version is cached; caches what it computes. The version is the one read when the request was
/// resolved (so a cached answer needs no database round trip), else the one the computing
/// transaction reads: an answer is never older than the request.
async fn cached<T>(
    ctx: &Context<'_>,
    key: String,
    weight: impl Fn(&T) -> usize,
    compute: impl AsyncFnOnce(&TenantTx, &Settings) -> ApiResult<T>,
) -> ApiResult<Arc<T>>
where
    T: Send + Sync + 'static,
{
    let tenant = require(ctx, Permission::StudentsRead).await?;
    let cache = &state(ctx)?.analytics_cache;
    let school = tenant.school_id();
    let hit = |version| {
        cache
            .get(school, version, &key)
            .and_then(|e| e.downcast::<T>().ok())
    };
    // The version read with the request's user and school: a hit costs no round trip.
    if let Some(hit) = hit(tenant.data_version) {
        return Ok(hit);
    }
    // Computing is heavy work: it waits for one of the school's permits.
    let _permit = heavy_work(ctx, school).await?;
    let tx = TenantTx::begin(&state(ctx)?.db, school).await?;
    let settings = analytics::settings(&tx).await?;
    // A write may have landed since the request was resolved.
    if let Some(hit) = hit(settings.version) {
        tx.commit().await?;
        return Ok(hit);
    }
    tx.plan_for_parameters().await?;
    let value = Arc::new(compute(&tx, &settings).await?);
    tx.commit().await?;
    let size = weight(&value);
    cache.put(school, settings.version, &key, value.clone(), size);
    Ok(value)
}

/// Each id filter must name a record of this school (another school's id is answered like a
/// missing one).
async fn check(tx: &TenantTx, filters: &Filters) -> ApiResult<()> {
    if let Some(id) = filters.subject
        && tx.get::<entity::subject::Entity>(id).await?.is_none()
    {
        return Err(ApiError::NotFound("subject"));
    }
    if let Some(id) = filters.class
        && tx.get::<entity::class::Entity>(id).await?.is_none()
    {
        return Err(ApiError::NotFound("class"));
    }
    if let Some(id) = filters.term
        && tx.get::<entity::term::Entity>(id).await?.is_none()
    {
        return Err(ApiError::NotFound("term"));
    }
    Ok(())
}

fn filters(subject: Option<Uuid>, class: Option<Uuid>, term: Option<Uuid>) -> Filters {
    Filters {
        subject: subject.map(SubjectId),
        class: class.map(ClassId),
        term: term.map(TermId),
    }
}

/// One bin of a grade distribution: `[start, end)`, the last one closed.
#[derive(Debug, Clone, SimpleObject)]
pub struct GradeBin {
    /// Lower bound (normalised score).
    pub start: f64,
    /// Upper bound.
    pub end: f64,
    /// Grades in the bin.
    pub count: i64,
}

/// The average grade of one subject.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubjectAverage {
    /// The subject.
    pub subject: Option<Subject>,
    /// Average normalised score.
    pub average: f64,
    /// Grades.
    pub count: i64,
}

/// The average grade given in one class.
#[derive(Debug, Clone, SimpleObject)]
pub struct ClassAverage {
    /// The class.
    pub class: Option<Class>,
    /// Average normalised score.
    pub average: f64,
    /// Grades.
    pub count: i64,
}

/// The average grade one teacher gave.
#[derive(Debug, Clone, SimpleObject)]
pub struct TeacherAverage {
    /// The teacher.
    pub teacher: Option<Teacher>,
    /// Average normalised score.
    pub average: f64,
    /// Grades.
    pub count: i64,
}

/// How finely a trend is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Granularity {
    /// By calendar month of the grade's date.
    Month,
    /// By term.
    Term,
}

/// The average grade of one month or term.
#[derive(Debug, Clone, SimpleObject)]
pub struct TrendPoint {
    /// `YYYY-MM`, or the term's name.
    pub period: String,
    /// The term (TERM granularity).
    pub term: Option<Term>,
    /// Average normalised score.
    pub average: f64,
    /// Grades.
    pub count: i64,
}

/// Attendance records of one status.
#[derive(Debug, Clone, SimpleObject)]
pub struct StatusCount {
    /// The status.
    pub status: AttendanceStatus,
    /// Records.
    pub count: i64,
}

/// Attendance of one week.
#[derive(Debug, Clone, SimpleObject)]
pub struct WeekAttendance {
    /// The week's Sunday.
    pub week_start: NaiveDate,
    /// Records PRESENT or LATE.
    pub attended: i64,
    /// Records ABSENT or EXCUSED.
    pub absent: i64,
}

/// Attendance over a period.
#[derive(Debug, Clone, SimpleObject)]
pub struct AttendanceSummary {
    /// Records by status (every status listed).
    pub by_status: Vec<StatusCount>,
    /// Records by week, weeks with records only.
    pub by_week: Vec<WeekAttendance>,
}

/// A chronically absent student.
#[derive(Debug, Clone, SimpleObject)]
pub struct ChronicAbsentee {
    /// The student.
    pub student: Option<Student>,
    /// Attendance records.
    pub recorded: i64,
    /// Absences (ABSENT or EXCUSED).
    pub absent: i64,
    /// absent / recorded × 100.
    pub absence_rate: f64,
}

/// How much attention a student needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum RiskTier {
    /// 0–2 points.
    Low,
    /// 3–4 points.
    Medium,
    /// 5–6 points.
    High,
}

/// A student's ABC early-warning score: attendance, behaviour and course performance, 0–2
/// points each, with the reasons.
#[derive(Debug, Clone)]
pub struct RiskScore(pub Risk);

/// A student's ABC early-warning score: attendance, behaviour and course performance, 0–2
/// points each, with the reasons.
#[Object]
impl RiskScore {
    /// Attendance points: absence rate below 5% → 0, below 10% → 1, else 2 (thresholds are
    /// school settings).
    async fn attendance_points(&self) -> u8 {
        self.0.attendance
    }
    /// Behaviour points: no negative incident → 0, 1–2 → 1, 3 or more or any suspension → 2.
    async fn behaviour_points(&self) -> u8 {
        self.0.behaviour
    }
    /// Course points: no failing subject and average ≥ 75 → 0; one failing subject or average
    /// 65–75 → 1; two or more failing subjects or average below 65 → 2.
    async fn course_points(&self) -> u8 {
        self.0.course
    }
    /// The sum (0–6).
    async fn total(&self) -> u8 {
        self.0.total()
    }
    /// LOW (0–2), MEDIUM (3–4) or HIGH (5–6).
    async fn tier(&self) -> RiskTier {
        match self.0.tier() {
            "LOW" => RiskTier::Low,
            "MEDIUM" => RiskTier::Medium,
            _ => RiskTier::High,
        }
    }
    /// Why, e.g. "absent 12.5% of 40 days", "2 subjects below 55: math 48, English 51".
    async fn reasons(&self) -> &[String] {
        &self.0.reasons
    }
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> ApiResult<Option<Student>> {
        Ok(loaders(ctx)?
            .student
            .load_one(self.0.student)
            .await
            .map_err(load_error)?
            .map(Student))
    }
}

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
    ) -> ApiResult<Overview> {
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
        Ok(overview.as_ref().clone())
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
        #[graphql(desc = "First day.")] from: Option<NaiveDate>,
        #[graphql(desc = "Last day.")] to: Option<NaiveDate>,
        #[graphql(desc = "Only records taken in this class.")] class_id: Option<Uuid>,
    ) -> ApiResult<AttendanceSummary> {
        let f = filters(None, class_id, None);
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
                    week_start: *d,
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

/// The school's ABC scores, once per request, from the cache at the request's data version when
/// they are there.
async fn risk_table(ctx: &Context<'_>) -> ApiResult<Arc<analytics::RiskTable>> {
    let (state, tenant, loaders) = (state(ctx)?, tenant(ctx).await?, loaders(ctx)?);
    let cached = loaders.risks_ready()
        || state
            .analytics_cache
            .get(
                tenant.school_id(),
                tenant.data_version,
                analytics::RISKS_KEY,
            )
            .is_some();
    // Computing the scores is heavy work: it waits for one of the school's permits.
    let _permit = match cached {
        true => None,
        false => heavy_work(ctx, tenant.school_id()).await?,
    };
    Ok(loaders
        .risks(&state.analytics_cache, tenant.data_version)
        .await?)
}

/// The ABC score of one student (for `Student.risk`).
pub async fn of_student(ctx: &Context<'_>, student: StudentId) -> ApiResult<Option<RiskScore>> {
    let table = risk_table(ctx).await?;
    Ok(table.by_student.get(&student).cloned().map(RiskScore))
}

/// Changes to the school's analytics settings; fields left out keep their values.
#[derive(Debug, Clone, Default, async_graphql::InputObject)]
pub struct SchoolConfigurationInput {
    /// Pass mark on the 0–100 scale.
    pub pass_mark: Option<f64>,
    /// Absence rate (%) from which a student is chronically absent.
    pub chronic_absence_pct: Option<f64>,
    /// Recorded days before chronic absence is judged (at least 1).
    pub chronic_absence_min_days: Option<i32>,
    /// Absence rate (%) from which attendance scores 1 ABC point.
    pub absence_medium_pct: Option<f64>,
    /// Absence rate (%) from which attendance scores 2 ABC points.
    pub absence_high_pct: Option<f64>,
    /// Negative incidents from which behaviour scores 1 ABC point.
    pub incidents_medium: Option<i64>,
    /// Negative incidents from which behaviour scores 2 ABC points.
    pub incidents_high: Option<i64>,
    /// Overall average below which course performance scores at least 1 ABC point.
    pub average_medium: Option<f64>,
    /// Overall average below which course performance scores 2 ABC points.
    pub average_high: Option<f64>,
}

/// Changing the school's settings.
#[derive(Debug, Default)]
pub struct ConfigurationMutation;

/// Changing the school's settings.
#[Object]
impl ConfigurationMutation {
    /// Changes the pass mark and the attendance and ABC thresholds of the active school
    /// (permission `school:configure`). Analytics follow at once: the change moves the school's
    /// data version.
    async fn update_school_configuration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: SchoolConfigurationInput,
    ) -> ApiResult<crate::graphql::types::SchoolConfiguration> {
        use sea_orm::{ActiveValue::Set, IntoActiveModel};
        let (_, tx) = scoped(ctx, Permission::SchoolConfigure).await?;
        let row = tx
            .one(tx.find::<entity::school_configuration::Entity>())
            .await?
            .ok_or(ApiError::NotFound("school configuration"))?;
        let current: analytics::RiskThresholds =
            serde_json::from_value(row.risk_thresholds.clone()).unwrap_or_default();
        let t = analytics::RiskThresholds {
            absence_medium_pct: input
                .absence_medium_pct
                .unwrap_or(current.absence_medium_pct),
            absence_high_pct: input.absence_high_pct.unwrap_or(current.absence_high_pct),
            incidents_medium: input.incidents_medium.unwrap_or(current.incidents_medium),
            incidents_high: input.incidents_high.unwrap_or(current.incidents_high),
            average_medium: input.average_medium.unwrap_or(current.average_medium),
            average_high: input.average_high.unwrap_or(current.average_high),
        };
        let pass_mark = input.pass_mark.unwrap_or(row.pass_mark);
        let chronic_pct = input.chronic_absence_pct.unwrap_or(row.chronic_absence_pct);
        let min_days = input
            .chronic_absence_min_days
            .unwrap_or(row.chronic_absence_min_days);
        let mut errors = Vec::new();
        let pct = |x: f64| (0.0..=100.0).contains(&x);
        for (field, ok, message) in [
            ("input.passMark", pct(pass_mark), "must be from 0 to 100"),
            (
                "input.chronicAbsencePct",
                pct(chronic_pct),
                "must be from 0 to 100",
            ),
            (
                "input.chronicAbsenceMinDays",
                (1..=366).contains(&min_days),
                "must be from 1 to 366",
            ),
            (
                "input.absenceMediumPct",
                pct(t.absence_medium_pct),
                "must be from 0 to 100",
            ),
            (
                "input.absenceHighPct",
                pct(t.absence_high_pct) && t.absence_high_pct >= t.absence_medium_pct,
                "must be from 0 to 100 and not below absenceMediumPct",
            ),
            (
                "input.incidentsMedium",
                t.incidents_medium >= 1,
                "must be at least 1",
            ),
            (
                "input.incidentsHigh",
                t.incidents_high >= t.incidents_medium,
                "must not be below incidentsMedium",
            ),
            (
                "input.averageMedium",
                pct(t.average_medium),
                "must be from 0 to 100",
            ),
            (
                "input.averageHigh",
                pct(t.average_high) && t.average_high <= t.average_medium,
                "must be from 0 to 100 and not above averageMedium",
            ),
        ] {
            if !ok {
                errors.push(crate::error::FieldError::new(field, message));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::bad_fields(errors));
        }
        let mut active = row.into_active_model();
        active.pass_mark = Set(pass_mark);
        active.chronic_absence_pct = Set(chronic_pct);
        active.chronic_absence_min_days = Set(min_days);
        active.risk_thresholds = Set(serde_json::json!({
            "absenceMediumPct": t.absence_medium_pct,
            "absenceHighPct": t.absence_high_pct,
            "incidentsMedium": t.incidents_medium,
            "incidentsHigh": t.incidents_high,
            "averageMedium": t.average_medium,
            "averageHigh": t.average_high,
        }));
        active.updated_at = Set(chrono::Utc::now());
        let row = tx.update(active).await.map_err(|e| match e {
            entity::tenant::TenantError::NotFound => ApiError::NotFound("school configuration"),
            entity::tenant::TenantError::Db(e) => e.into(),
        })?;
        tx.commit().await?;
        // The commit moved the data version: read the row as it now stands.
        let tx = TenantTx::begin(&state(ctx)?.db, row.school_id).await?;
        let configuration = crate::graphql::types::SchoolConfiguration::read(&tx).await?;
        tx.commit().await?;
        Ok(configuration)
    }
}
