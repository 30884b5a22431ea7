//! The demo school's records: grades, attendance and incidents, all driven by each student's
//! ability. Each function draws from the RNG in the order `create_school` calls it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{attendance_record, enums::*, grade, ids::*, incident};
use rand::{Rng, rngs::SmallRng};
use sea_orm::ActiveValue::Set;

use super::{Pupil, TermSpan};

/// Grades: three assessments per subject per term, and a final grade in the second term.
pub(super) fn grade_rows(
    people: &[Pupil],
    subjects: &[(SubjectId, f64)],
    term_ids: &[TermSpan],
    year_end: NaiveDate,
    now: DateTime<Utc>,
    rng: &mut SmallRng,
) -> Vec<grade::ActiveModel> {
    let mut grades = Vec::new();
    for (student_id, class_id, _, _, ability) in people {
        for (subject_id, effect) in subjects {
            for (t, (term_id, start, _)) in term_ids.iter().enumerate() {
                let mut total = 0.0;
                for (k, category) in [
                    GradeCategory::Quiz,
                    GradeCategory::Homework,
                    GradeCategory::Exam,
                ]
                .into_iter()
                .enumerate()
                {
                    let score: f64 = (ability + effect + rng.random_range(-12.0..12.0))
                        .clamp(20.0, 100.0)
                        .round();
                    total += score;
                    grades.push(grade::ActiveModel {
                        id: Set(GradeId::generate()),
                        created_at: Set(now),
                        updated_at: Set(now),
                        status: Set(RecordStatus::Active),
                        student_id: Set(*student_id),
                        subject_id: Set(*subject_id),
                        term_id: Set(*term_id),
                        class_id: Set(Some(*class_id)),
                        category: Set(Some(category)),
                        score: Set(score),
                        max_score: Set(100.0),
                        graded_on: Set(*start + Duration::days(30 + 40 * k as i64)),
                        is_final: Set(false),
                        ..Default::default()
                    });
                }
                if t == 1 {
                    grades.push(grade::ActiveModel {
                        id: Set(GradeId::generate()),
                        created_at: Set(now),
                        updated_at: Set(now),
                        status: Set(RecordStatus::Active),
                        student_id: Set(*student_id),
                        subject_id: Set(*subject_id),
                        term_id: Set(*term_id),
                        class_id: Set(Some(*class_id)),
                        category: Set(Some(GradeCategory::Final)),
                        score: Set((total / 3.0 + rng.random_range(-4.0..4.0))
                            .clamp(20.0, 100.0)
                            .round()),
                        max_score: Set(100.0),
                        graded_on: Set(year_end - Duration::days(5)),
                        is_final: Set(true),
                        ..Default::default()
                    });
                }
            }
        }
    }
    grades
}

/// Daily attendance on `days` (the first term's school days); weaker students miss more days.
pub(super) fn attendance_rows(
    people: &[Pupil],
    days: &[NaiveDate],
    now: DateTime<Utc>,
    rng: &mut SmallRng,
) -> Vec<attendance_record::ActiveModel> {
    let mut attendance = Vec::new();
    for (student_id, class_id, _, _, ability) in people {
        let absence = ((100.0 - ability) / 400.0).clamp(0.01, 0.2);
        for day in days {
            let roll: f64 = rng.random_range(0.0..1.0);
            let status = if roll < absence * 0.7 {
                AttendanceStatus::Absent
            } else if roll < absence {
                AttendanceStatus::Excused
            } else if roll < absence + 0.04 {
                AttendanceStatus::Late
            } else {
                AttendanceStatus::Present
            };
            attendance.push(attendance_record::ActiveModel {
                id: Set(AttendanceRecordId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                student_id: Set(*student_id),
                class_id: Set(Some(*class_id)),
                date: Set(*day),
                period: Set(0),
                status: Set(status),
                ..Default::default()
            });
        }
    }
    attendance
}

/// Some incidents on `days`, reported by `teachers`, more often for weaker students.
pub(super) fn incident_rows(
    people: &[Pupil],
    days: &[NaiveDate],
    teachers: &[TeacherId],
    now: DateTime<Utc>,
    rng: &mut SmallRng,
) -> Vec<incident::ActiveModel> {
    let mut incidents = Vec::new();
    for (student_id, _, _, _, ability) in people {
        let count = if *ability < 60.0 {
            rng.random_range(0..5)
        } else if rng.random_bool(0.1) {
            1
        } else {
            0
        };
        for _ in 0..count {
            let suspension = rng.random_bool(0.1);
            incidents.push(incident::ActiveModel {
                id: Set(IncidentId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                student_id: Set(*student_id),
                occurred_on: Set(days[rng.random_range(0..days.len())]),
                category: Set([
                    "הפרעה בשיעור",
                    "איחורים חוזרים",
                    "אלימות מילולית",
                    "היעדרות ללא אישור",
                ][rng.random_range(0..4)]
                .into()),
                severity: Set(if suspension { "HIGH" } else { "LOW" }.into()),
                is_negative: Set(true),
                is_suspension: Set(suspension),
                reported_by_teacher_id: Set(Some(teachers[rng.random_range(0..teachers.len())])),
                ..Default::default()
            });
        }
    }
    incidents
}
