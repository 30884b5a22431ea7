//! The demo school's calendar and people: the year and its terms, subjects, teachers, homeroom
//! classes, students and their guardians. The functions that take the RNG draw from it in the
//! order `create_school` calls them.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    academic_year, class, class_teacher, enums::*, guardian, ids::*, student, student_guardian,
    subject, teacher, tenant::TenantTx, term,
};
use rand::{Rng, rngs::SmallRng};
use sea_orm::ActiveValue::Set;

use super::{Homeroom, Pupil, TermSpan, date, national_id};

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

/// Inserts the year 2025-2026 and its two terms (rows not counted in the demo's figure).
/// Returns the year's id, its last day and the terms.
pub(super) async fn create_calendar(
    tx: &TenantTx,
    now: DateTime<Utc>,
) -> anyhow::Result<(AcademicYearId, NaiveDate, Vec<TermSpan>)> {
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
    Ok((year_id, year_end, term_ids))
}

/// An id and an effect on grades for each subject (one draw per subject).
pub(super) fn subjects(rng: &mut SmallRng) -> Vec<(SubjectId, f64)> {
    SUBJECTS
        .iter()
        .map(|_| (SubjectId::generate(), rng.random_range(-6.0..6.0)))
        .collect()
}

/// The subject rows.
pub(super) fn subject_rows(
    subjects: &[(SubjectId, f64)],
    now: DateTime<Utc>,
) -> Vec<subject::ActiveModel> {
    SUBJECTS
        .iter()
        .zip(subjects)
        .map(|((name, code), (id, _))| subject::ActiveModel {
            id: Set(*id),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(RecordStatus::Active),
            name: Set((*name).into()),
            code: Set(Some((*code).into())),
            ..Default::default()
        })
        .collect()
}

/// The teacher rows, with random names.
pub(super) fn teacher_rows(
    teachers: &[TeacherId],
    slug: &str,
    now: DateTime<Utc>,
    rng: &mut SmallRng,
) -> Vec<teacher::ActiveModel> {
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
        .collect()
}

/// Four homeroom classes per grade level.
pub(super) fn homerooms() -> Vec<Homeroom> {
    let mut classes = Vec::new();
    for (letter, level) in GRADE_LETTERS {
        for n in 1..=4 {
            classes.push((ClassId::generate(), format!("{letter}{n}"), *level));
        }
    }
    classes
}

/// The class rows of the homerooms, in the year `year_id`.
pub(super) fn class_rows(
    classes: &[Homeroom],
    year_id: AcademicYearId,
    now: DateTime<Utc>,
) -> Vec<class::ActiveModel> {
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
        .collect()
}

/// A primary teacher for each class, taking the teachers in turn.
pub(super) fn class_teacher_rows(
    classes: &[Homeroom],
    teachers: &[TeacherId],
    now: DateTime<Utc>,
) -> Vec<class_teacher::ActiveModel> {
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
        .collect()
}

/// `count` students, given the classes in turn, each with a unique national id and then an
/// ability.
pub(super) fn students(classes: &[Homeroom], count: usize, rng: &mut SmallRng) -> Vec<Pupil> {
    let mut seen_ids = std::collections::HashSet::new();
    let mut people = Vec::new();
    for i in 0..count {
        let (class_id, _, level) = &classes[i % classes.len()];
        let mut tz = national_id(rng);
        while !seen_ids.insert(tz.clone()) {
            tz = national_id(rng);
        }
        let ability: f64 = rng.random_range(45.0..98.0);
        people.push((StudentId::generate(), *class_id, *level, tz, ability));
    }
    people
}

/// The student rows, with random names and birth dates.
pub(super) fn student_rows(
    people: &[Pupil],
    now: DateTime<Utc>,
    rng: &mut SmallRng,
) -> Vec<student::ActiveModel> {
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
        .collect()
}

/// One guardian per student, and the links between them.
pub(super) fn guardian_rows(
    people: &[Pupil],
    now: DateTime<Utc>,
    rng: &mut SmallRng,
) -> (
    Vec<guardian::ActiveModel>,
    Vec<student_guardian::ActiveModel>,
) {
    let mut guardians = Vec::new();
    let mut links = Vec::new();
    for (student_id, _, _, _, _) in people {
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
    (guardians, links)
}
