//! `analytics { … }` and `Student.risk` (DESIGN §7): computed in the school's scope, pushed
//! down to SQL, cached per (school, data version, query and arguments).

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};
use entity::ids::{StudentId, TermId};
use uuid::Uuid;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    graphql::{
        context::{loaders, require, scoped, state},
        loaders::load_error,
        roster::types::Student,
    },
    insights::analytics::{self, Overview, Risk},
};

/// The school at a glance.
#[derive(Debug, Clone, SimpleObject)]
pub struct SchoolOverview {
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

impl From<&Overview> for SchoolOverview {
    fn from(o: &Overview) -> Self {
        Self {
            student_count: o.student_count,
            teacher_count: o.teacher_count,
            class_count: o.class_count,
            average_score: o.average_score,
            pass_rate: o.pass_rate,
            attendance_rate: o.attendance_rate,
            chronic_absence_rate: o.chronic_absence_rate,
        }
    }
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

#[Object]
impl Analytics {
    /// Counts, average score, pass rate, attendance and chronic absence; of one term if given
    /// (its grades, and attendance within its dates).
    async fn overview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this term.")] term_id: Option<Uuid>,
    ) -> ApiResult<SchoolOverview> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let settings = analytics::settings(&tx).await?;
        let cache = &state(ctx)?.analytics_cache;
        let school = tenant.school_id();
        let term = term_id.map(TermId);
        let key = format!(
            "overview:{}",
            term.map(|t| t.to_string()).unwrap_or_default()
        );
        if let Some(hit) = cache
            .get(school, settings.version, &key)
            .and_then(|e| e.downcast::<Overview>().ok())
        {
            tx.commit().await?;
            return Ok(hit.as_ref().into());
        }
        if let Some(term) = term
            && tx.get::<entity::term::Entity>(term).await?.is_none()
        {
            return Err(ApiError::NotFound("term"));
        }
        let overview = Arc::new(analytics::overview(&tx, &settings, term).await?);
        tx.commit().await?;
        cache.put(school, settings.version, &key, overview.clone(), 256);
        Ok(overview.as_ref().into())
    }

    /// The students most at risk by the ABC score, highest total first (ties: more attendance
    /// points, then by student id). Students scoring 0 are left out.
    async fn at_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
    ) -> ApiResult<Vec<RiskScore>> {
        let table = loaders(ctx)?.risks(&state(ctx)?.analytics_cache).await?;
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
        let first = usize::try_from(first.unwrap_or(20).clamp(0, 100)).unwrap_or(20);
        Ok(rows
            .into_iter()
            .take(first)
            .map(|r| RiskScore(r.clone()))
            .collect())
    }
}

/// The ABC score of one student (for `Student.risk`).
pub async fn of_student(ctx: &Context<'_>, student: StudentId) -> ApiResult<Option<RiskScore>> {
    let table = loaders(ctx)?.risks(&state(ctx)?.analytics_cache).await?;
    Ok(table.by_student.get(&student).cloned().map(RiskScore))
}
