//! School analytics (DESIGN §7), computed inside one school's scope with the aggregation in SQL
//! (`GROUP BY` over the scoped tables): the overview and the ABC early-warning score.

use std::collections::{BTreeMap, HashMap};

use entity::{
    attendance_record, class, grade,
    ids::{StudentId, SubjectId, TermId},
    incident, school_configuration, student, subject, teacher,
    tenant::TenantTx,
    term,
};
use sea_orm::{
    ColumnTrait, DbErr,
    sea_query::{Expr, ExprTrait, Func, SimpleExpr},
};
use serde::Deserialize;

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
#[derive(Debug, Clone, Copy, Deserialize, async_graphql::SimpleObject)]
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

/// The school at a glance.
#[derive(Debug, Clone, PartialEq, async_graphql::SimpleObject)]
#[graphql(name = "SchoolOverview")]
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

/// A student's ABC early-warning score.
#[derive(Debug, Clone, PartialEq)]
pub struct Risk {
    /// The student.
    pub student: StudentId,
    /// Attendance points (0–2).
    pub attendance: u8,
    /// Behaviour points (0–2).
    pub behaviour: u8,
    /// Course-performance points (0–2).
    pub course: u8,
    /// Why each point was given.
    pub reasons: Vec<String>,
}

impl Risk {
    /// The sum of the points (0–6).
    pub fn total(&self) -> u8 {
        self.attendance + self.behaviour + self.course
    }

    /// `LOW` (0–2), `MEDIUM` (3–4) or `HIGH` (5–6).
    pub fn tier(&self) -> &'static str {
        match self.total() {
            0..=2 => "LOW",
            3..=4 => "MEDIUM",
            _ => "HIGH",
        }
    }
}

/// A number as people write it: at most one decimal, no trailing `.0`.
fn number(x: f64) -> String {
    let rounded = (x * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// The ABC score of every student of the school, in four grouped queries.
pub async fn risks(tx: &TenantTx, settings: &Settings) -> Result<Vec<Risk>, DbErr> {
    let t = settings.risk;
    let students: Vec<(StudentId,)> = tx
        .aggregate(
            tx.find::<student::Entity>(),
            vec![(Expr::col(student::Column::Id), "id")],
            vec![],
        )
        .await?;
    let attendance: HashMap<StudentId, (i64, i64)> =
        absences(tx, tx.find::<attendance_record::Entity>())
            .await?
            .into_iter()
            .map(|(s, a, n)| (s, (a, n)))
            .collect();
    let suspension = Expr::case(Expr::col(incident::Column::IsSuspension).eq(true), 1).finally(0);
    let negative = Expr::case(Expr::col(incident::Column::IsNegative).eq(true), 1).finally(0);
    let incidents: HashMap<StudentId, (i64, i64)> = tx
        .aggregate::<_, (StudentId, i64, i64)>(
            tx.find::<incident::Entity>(),
            vec![
                (Expr::col(incident::Column::StudentId), "student_id"),
                (Func::sum(negative).into(), "negative"),
                (Func::sum(suspension).into(), "suspensions"),
            ],
            vec![Expr::col(incident::Column::StudentId)],
        )
        .await?
        .into_iter()
        .map(|(s, n, x)| (s, (n, x)))
        .collect();
    let subjects: HashMap<SubjectId, String> = tx
        .all(tx.find::<subject::Entity>())
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut grades: BTreeMap<StudentId, Vec<(SubjectId, f64, i64)>> = BTreeMap::new();
    for (student, subject, total, n) in tx
        .aggregate::<_, (StudentId, SubjectId, f64, i64)>(
            tx.find::<grade::Entity>(),
            vec![
                (Expr::col(grade::Column::StudentId), "student_id"),
                (Expr::col(grade::Column::SubjectId), "subject_id"),
                (Func::sum(normalised()).into(), "total"),
                (Func::count(Expr::col(grade::Column::Id)).into(), "n"),
            ],
            vec![
                Expr::col(grade::Column::StudentId),
                Expr::col(grade::Column::SubjectId),
            ],
        )
        .await?
    {
        grades.entry(student).or_default().push((subject, total, n));
    }

    let mut out = Vec::with_capacity(students.len());
    for (student,) in students {
        let mut reasons = Vec::new();
        let attendance_points = match attendance.get(&student) {
            Some((absent, n)) if *n > 0 => {
                let rate = *absent as f64 * 100.0 / *n as f64;
                let points = if rate >= t.absence_high_pct {
                    2
                } else if rate >= t.absence_medium_pct {
                    1
                } else {
                    0
                };
                if points > 0 {
                    reasons.push(format!("absent {}% of {n} days", number(rate)));
                }
                points
            }
            _ => 0,
        };
        let (negative, suspensions) = incidents.get(&student).copied().unwrap_or((0, 0));
        let behaviour = if negative >= t.incidents_high || suspensions > 0 {
            2
        } else if negative >= t.incidents_medium {
            1
        } else {
            0
        };
        if negative > 0 {
            reasons.push(if negative == 1 {
                "1 negative incident".to_owned()
            } else {
                format!("{negative} negative incidents")
            });
        }
        if suspensions > 0 {
            reasons.push(if suspensions == 1 {
                "a suspension".to_owned()
            } else {
                format!("{suspensions} suspensions")
            });
        }
        let course = match grades.get(&student) {
            None => 0,
            Some(rows) => {
                let (total, n) = rows
                    .iter()
                    .fold((0.0, 0), |(t, c), (_, total, n)| (t + total, c + n));
                let average = total / n as f64;
                let mut failing: Vec<(String, f64)> = rows
                    .iter()
                    .map(|(s, total, n)| {
                        (
                            subjects.get(s).cloned().unwrap_or_default(),
                            total / *n as f64,
                        )
                    })
                    .filter(|(_, avg)| *avg < settings.pass_mark)
                    .collect();
                failing.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                if !failing.is_empty() {
                    let list: Vec<String> = failing
                        .iter()
                        .map(|(s, avg)| format!("{s} {}", number(*avg)))
                        .collect();
                    let count = if failing.len() == 1 {
                        "1 subject".to_owned()
                    } else {
                        format!("{} subjects", failing.len())
                    };
                    reasons.push(format!(
                        "{count} below {}: {}",
                        number(settings.pass_mark),
                        list.join(", ")
                    ));
                }
                let points = if failing.len() >= 2 || average < t.average_high {
                    2
                } else if failing.len() == 1 || average < t.average_medium {
                    1
                } else {
                    0
                };
                if average < t.average_medium {
                    reasons.push(format!("average {}", number(average)));
                }
                points
            }
        };
        out.push(Risk {
            student,
            attendance: attendance_points,
            behaviour,
            course,
            reasons,
        });
    }
    Ok(out)
}

/// Every student's ABC score, by student.
#[derive(Debug, Clone, Default)]
pub struct RiskTable {
    /// Scores by student.
    pub by_student: HashMap<StudentId, Risk>,
}

impl RiskTable {
    /// Roughly the bytes it holds, for the cache's budget.
    pub fn weight(&self) -> usize {
        self.by_student
            .values()
            .map(|r| 96 + r.reasons.iter().map(|x| 24 + x.len()).sum::<usize>())
            .sum::<usize>()
            + 64
    }
}

/// The cache key of the school's ABC scores.
pub const RISKS_KEY: &str = "risks";

/// The school's ABC scores at its current data version: from `cache`, else computed and kept.
pub async fn risk_table(
    tx: &TenantTx,
    cache: &super::cache::AnalyticsCache,
) -> Result<std::sync::Arc<RiskTable>, DbErr> {
    let settings = settings(tx).await?;
    let school = tx.school_id();
    if let Some(hit) = cache
        .get(school, settings.version, RISKS_KEY)
        .and_then(|e| e.downcast::<RiskTable>().ok())
    {
        return Ok(hit);
    }
    tx.plan_for_parameters().await?;
    let table = std::sync::Arc::new(RiskTable {
        by_student: risks(tx, &settings)
            .await?
            .into_iter()
            .map(|r| (r.student, r))
            .collect(),
    });
    cache.put(
        school,
        settings.version,
        RISKS_KEY,
        table.clone(),
        table.weight(),
    );
    Ok(table)
}

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
