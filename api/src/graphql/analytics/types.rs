//! The output types of `analytics { … }` and `Student.risk`.

use crate::graphql::scalars::Date;
use async_graphql::{Context, Enum, Object, SimpleObject};

use crate::graphql::loaders::one;
use crate::{
    error::ApiResult,
    graphql::{
        context::loaders,
        roster::{AttendanceStatus, Class, Student, Subject, Teacher, Term},
    },
    insights::analytics::{Overview, Risk},
};

/// The school at a glance.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
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

impl From<Overview> for SchoolOverview {
    fn from(o: Overview) -> Self {
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
    pub week_start: Date,
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
        one(&loaders(ctx)?.student, Some(self.0.student), Student).await
    }
}
