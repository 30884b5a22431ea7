//! `api demo`: two demo schools with realistic Hebrew data, so a newcomer has something to query
//! on day one. Deterministic (seeded), with valid national ids; passwords are generated and
//! printed once.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use entity::{
    academic_year, attendance_record, class, class_teacher, enums::*, grade, guardian, ids::*,
    incident, student, student_guardian, subject, teacher, tenant::TenantTx, term,
};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use sea_orm::{ActiveValue::Set, DatabaseConnection};

use crate::{
    auth::{hash_password, random_secret},
    platform,
    services::schools,
};

const FIRST_NAMES: &[&str] = &[
    "נועה",
    "מאיה",
    "תמר",
    "יעל",
    "שירה",
    "אביגיל",
    "רוני",
    "הילה",
    "עדי",
    "ליה",
    "מיכל",
    "אורי",
    "איתי",
    "יונתן",
    "דניאל",
    "עומר",
    "אדם",
    "נועם",
    "איתמר",
    "יואב",
    "אריאל",
    "עידו",
    "אליה",
    "רועי",
    "מוחמד",
    "אחמד",
    "לין",
    "מרים",
];
const LAST_NAMES: &[&str] = &[
    "כהן",
    "לוי",
    "מזרחי",
    "פרץ",
    "ביטון",
    "דהן",
    "אברהם",
    "פרידמן",
    "מלכה",
    "אזולאי",
    "כץ",
    "יוסף",
    "דוד",
    "עמר",
    "אוחיון",
    "חדד",
    "גבאי",
    "בן דוד",
    "שפירא",
    "רוזנברג",
    "חסון",
    "נסים",
    "עזרא",
    "שלום",
];
const SUBJECTS: &[(&str, &str)] = &[
    ("מתמטיקה", "MATH"),
    ("אנגלית", "ENG"),
    ("עברית", "HEB"),
    ("היסטוריה", "HIST"),
    ("תנ״ך", "BIBLE"),
    ("מדעים", "SCI"),
    ("גאוגרפיה", "GEO"),
    ("ספרות", "LIT"),
    ("אזרחות", "CIV"),
    ("חינוך גופני", "PE"),
];
const GRADE_LETTERS: &[(&str, i32)] = &[
    ("ז׳", 7),
    ("ח׳", 8),
    ("ט׳", 9),
    ("י׳", 10),
    ("י״א", 11),
    ("י״ב", 12),
];

/// What `api demo` created in one school.
#[derive(Debug)]
pub struct DemoSchool {
    /// The school's slug.
    pub slug: String,
    /// Logins: (role, email, password).
    pub logins: Vec<(&'static str, String, String)>,
    /// Rows written.
    pub rows: u64,
}

/// A valid 9-digit Israeli id from 8 random digits and the computed check digit.
pub fn national_id(rng: &mut SmallRng) -> String {
    let body: Vec<u32> = (0..8).map(|_| rng.random_range(0..10)).collect();
    let sum = crate::rules::weighted_digit_sum(body.iter().copied());
    let check = (10 - sum % 10) % 10;
    let mut id: String = body
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
        .collect();
    id.push(char::from_digit(check, 10).unwrap_or('0'));
    id
}

fn date(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| anyhow::anyhow!("bad date {y}-{m}-{d}"))
}

/// School days (Sunday to Thursday) from `from` to `to`.
fn school_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        if !matches!(day.weekday(), Weekday::Fri | Weekday::Sat) {
            days.push(day);
        }
        day += Duration::days(1);
    }
    days
}

/// Inserts in batches that keep under every backend's bind-parameter limit.
async fn insert_batched<A>(tx: &TenantTx, rows: Vec<A>) -> anyhow::Result<u64>
where
    A: sea_orm::ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    A::Entity: entity::tenant::TenantScoped,
{
    let mut total = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(1_000).collect();
        total += tx.insert_many(batch).await?;
    }
    Ok(total)
}

/// Creates the demo school `slug` (unless it exists: then `None`) with `students` students.
pub async fn create_school(
    db: &DatabaseConnection,
    name: &str,
    slug: &str,
    students: usize,
    seed: u64,
) -> anyhow::Result<Option<DemoSchool>> {
    if platform::school_by_slug(db, slug).await?.is_some() {
        return Ok(None);
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let outer = entity::writer::begin_write(db).await?;
    let school = schools::create(&outer, name, slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Logins, with generated passwords.
    let mut logins = Vec::new();
    for (role, db_role) in [
        ("ADMIN", Role::Admin),
        ("TEACHER", Role::Teacher),
        ("VIEWER", Role::Viewer),
    ] {
        let email = format!("{}@{slug}.demo", role.to_lowercase());
        let password = random_secret()[..16].to_owned();
        let to_hash = password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(&to_hash))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let user = match platform::user_by_email(&*outer, &email).await? {
            Some(user) => user,
            None => platform::create_user(&*outer, &email, &format!("Demo {role}"), hash).await?,
        };
        platform::add_membership(&*outer, school.id, user.id, db_role).await?;
        logins.push((role, email, password));
    }

    let tx = TenantTx::nested(&outer, school.id).await?;
    let now = Utc::now();
    let mut rows = 0;

    let year_id = AcademicYearId::generate();
    let (year_start, year_end) = (date(2025, 9, 1)?, date(2026, 6, 20)?);
    tx.insert(academic_year::ActiveModel {
        id: Set(year_id),
        created_at: Set(now),
        updated_at: Set(now),
        status: Set(RecordStatus::Active),
        name: Set("תשפ״ו 2025-2026".into()),
        start_date: Set(year_start),
        end_date: Set(year_end),
        is_current: Set(true),
        ..Default::default()
    })
    .await?;
    let terms = [
        ("מחצית א׳", year_start, date(2026, 1, 31)?),
        ("מחצית ב׳", date(2026, 2, 1)?, year_end),
    ];
    let mut term_ids = Vec::new();
    for (name, start, end) in terms {
        let id = TermId::generate();
        tx.insert(term::ActiveModel {
            id: Set(id),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(RecordStatus::Active),
            academic_year_id: Set(year_id),
            name: Set(name.into()),
            start_date: Set(start),
            end_date: Set(end),
            ..Default::default()
        })
        .await?;
        term_ids.push((id, start, end));
    }

    let subjects: Vec<(SubjectId, f64)> = SUBJECTS
        .iter()
        .map(|_| (SubjectId::generate(), rng.random_range(-6.0..6.0)))
        .collect();
    rows += insert_batched(
        &tx,
        SUBJECTS
            .iter()
            .zip(&subjects)
            .map(|((name, code), (id, _))| subject::ActiveModel {
                id: Set(*id),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(RecordStatus::Active),
                name: Set((*name).into()),
                code: Set(Some((*code).into())),
                ..Default::default()
            })
            .collect(),
    )
    .await?;

    let teachers: Vec<TeacherId> = (0..40).map(|_| TeacherId::generate()).collect();
    rows += insert_batched(
        &tx,
        teachers
            .iter()
            .enumerate()
            .map(|(i, id)| teacher::ActiveModel {
                id: Set(*id),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(RecordStatus::Active),
                external_id: Set(Some(format!("T{i:03}"))),
                first_name: Set(FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())].into()),
                last_name: Set(LAST_NAMES[rng.random_range(0..LAST_NAMES.len())].into()),
                email: Set(Some(format!("teacher{i}@{slug}.demo"))),
                ..Default::default()
            })
            .collect(),
    )
    .await?;

    let mut classes = Vec::new();
    for (letter, level) in GRADE_LETTERS {
        for n in 1..=4 {
            classes.push((ClassId::generate(), format!("{letter}{n}"), *level));
        }
    }
    rows += insert_batched(
        &tx,
        classes
            .iter()
            .map(|(id, name, level)| class::ActiveModel {
                id: Set(*id),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(RecordStatus::Active),
                academic_year_id: Set(year_id),
                name: Set(name.clone()),
                kind: Set(ClassKind::Homeroom),
                grade_level: Set(Some(*level)),
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    rows += insert_batched(
        &tx,
        classes
            .iter()
            .enumerate()
            .map(|(i, (id, _, _))| class_teacher::ActiveModel {
                id: Set(ClassTeacherId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                class_id: Set(*id),
                teacher_id: Set(teachers[i % teachers.len()]),
                role: Set("PRIMARY".into()),
                ..Default::default()
            })
            .collect(),
    )
    .await?;

    // Students: an ability per student drives grades, attendance and behaviour together, so
    // analytics and predictions have something real to find.
    let mut seen_ids = std::collections::HashSet::new();
    let mut people = Vec::new();
    for i in 0..students {
        let (class_id, _, level) = &classes[i % classes.len()];
        let mut tz = national_id(&mut rng);
        while !seen_ids.insert(tz.clone()) {
            tz = national_id(&mut rng);
        }
        let ability: f64 = rng.random_range(45.0..98.0);
        people.push((StudentId::generate(), *class_id, *level, tz, ability));
    }
    rows += insert_batched(
        &tx,
        people
            .iter()
            .enumerate()
            .map(|(i, (id, class_id, level, tz, _))| student::ActiveModel {
                id: Set(*id),
                created_at: Set(now),
                updated_at: Set(now),
                external_id: Set(Some(format!("S{i:05}"))),
                status: Set(RecordStatus::Active),
                student_tz: Set(tz.clone()),
                first_name: Set(FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())].into()),
                last_name: Set(LAST_NAMES[rng.random_range(0..LAST_NAMES.len())].into()),
                grade_level: Set(Some(*level)),
                class_id: Set(Some(*class_id)),
                birth_date: date(
                    2026 - 6 - level,
                    rng.random_range(1..=12),
                    rng.random_range(1..=28),
                )
                .ok()
                .map_or(Set(None), |d| Set(Some(d))),
                ..Default::default()
            })
            .collect(),
    )
    .await?;

    // One guardian per student.
    let mut guardians = Vec::new();
    let mut links = Vec::new();
    for (student_id, _, _, _, _) in &people {
        let id = GuardianId::generate();
        guardians.push(guardian::ActiveModel {
            id: Set(id),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(RecordStatus::Active),
            first_name: Set(FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())].into()),
            last_name: Set(LAST_NAMES[rng.random_range(0..LAST_NAMES.len())].into()),
            phone: Set(Some(format!(
                "05{}-{:07}",
                rng.random_range(0..9),
                rng.random_range(0..10_000_000)
            ))),
            ..Default::default()
        });
        links.push(student_guardian::ActiveModel {
            id: Set(StudentGuardianId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            student_id: Set(*student_id),
            guardian_id: Set(id),
            relationship: Set(Some(if rng.random_bool(0.5) { "אם" } else { "אב" }.into())),
            is_primary: Set(true),
            ..Default::default()
        });
    }
    rows += insert_batched(&tx, guardians).await?;
    rows += insert_batched(&tx, links).await?;

    // Grades: three assessments per subject per term, and a final grade in the second term.
    let mut grades = Vec::new();
    for (student_id, class_id, _, _, ability) in &people {
        for (subject_id, effect) in &subjects {
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
    rows += insert_batched(&tx, grades).await?;

    // Daily attendance for the first term; weaker students miss more days.
    let days = school_days(term_ids[0].1, term_ids[0].2);
    let mut attendance = Vec::new();
    for (student_id, class_id, _, _, ability) in &people {
        let absence = ((100.0 - ability) / 400.0).clamp(0.01, 0.2);
        for day in &days {
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
    rows += insert_batched(&tx, attendance).await?;

    // Some incidents, more often for weaker students.
    let mut incidents = Vec::new();
    for (student_id, _, _, _, ability) in &people {
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
    rows += insert_batched(&tx, incidents).await?;

    tx.commit().await?;
    outer.commit().await?;
    Ok(Some(DemoSchool {
        slug: slug.to_owned(),
        logins,
        rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::StudentTz;

    #[test]
    fn generated_national_ids_are_valid() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..1_000 {
            let id = national_id(&mut rng);
            assert!(StudentTz::parse(&id).is_ok() || id == "000000000", "{id}");
        }
    }

    #[test]
    fn school_days_skip_friday_and_saturday() {
        let days = school_days(date(2025, 9, 1).unwrap(), date(2025, 9, 7).unwrap());
        assert_eq!(days.len(), 5);
    }
}
