//! The ABC early-warning score of every student, and the school's table of them.

use std::collections::{BTreeMap, HashMap};

use entity::{
    attendance_record, grade,
    ids::{StudentId, SubjectId},
    incident, student, subject,
    tenant::TenantTx,
};
use sea_orm::{
    DbErr,
    sea_query::{Expr, ExprTrait, Func},
};

use super::{RiskThresholds, Settings, absences, normalised, settings};

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

/// What the ABC scores are computed from, each read with one grouped query.
struct Inputs {
    /// Every student of the school.
    students: Vec<(StudentId,)>,
    /// (absences, records) by student.
    attendance: HashMap<StudentId, (i64, i64)>,
    /// (negative incidents, suspensions) by student.
    incidents: HashMap<StudentId, (i64, i64)>,
    /// Subject names.
    subjects: HashMap<SubjectId, String>,
    /// (subject, sum of normalised scores, grades) by student.
    grades: BTreeMap<StudentId, Vec<(SubjectId, f64, i64)>>,
}

impl Inputs {
    async fn read(tx: &TenantTx) -> Result<Self, DbErr> {
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
        let suspension =
            Expr::case(Expr::col(incident::Column::IsSuspension).eq(true), 1).finally(0);
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
        Ok(Self {
            students,
            attendance,
            incidents,
            subjects,
            grades,
        })
    }
}

/// Attendance points for a student's (absences, records), with the reason when there are any.
fn attendance_score(
    t: &RiskThresholds,
    counts: Option<&(i64, i64)>,
    reasons: &mut Vec<String>,
) -> u8 {
    match counts {
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
    }
}

/// Behaviour points for a student's (negative incidents, suspensions), with the reasons.
fn behaviour_score(
    t: &RiskThresholds,
    (negative, suspensions): (i64, i64),
    reasons: &mut Vec<String>,
) -> u8 {
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
    behaviour
}

/// Course points for a student's grades by subject (subject, sum of normalised scores, grades),
/// with the reasons.
fn course_score(
    settings: &Settings,
    subjects: &HashMap<SubjectId, String>,
    rows: &[(SubjectId, f64, i64)],
    reasons: &mut Vec<String>,
) -> u8 {
    let t = settings.risk;
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

/// The ABC score of every student of the school, in four grouped queries.
pub async fn risks(tx: &TenantTx, settings: &Settings) -> Result<Vec<Risk>, DbErr> {
    let t = settings.risk;
    let Inputs {
        students,
        attendance,
        incidents,
        subjects,
        grades,
    } = Inputs::read(tx).await?;
    let mut out = Vec::with_capacity(students.len());
    for (student,) in students {
        let mut reasons = Vec::new();
        let attendance_points = attendance_score(&t, attendance.get(&student), &mut reasons);
        let counts = incidents.get(&student).copied().unwrap_or((0, 0));
        let behaviour = behaviour_score(&t, counts, &mut reasons);
        let course = match grades.get(&student) {
            None => 0,
            Some(rows) => course_score(settings, &subjects, rows, &mut reasons),
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
    cache: &crate::insights::cache::AnalyticsCache,
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
