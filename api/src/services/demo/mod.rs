//! `api demo`: two demo schools with realistic Hebrew data, so a newcomer has something to query
//! on day one. Deterministic (seeded), with valid national ids; passwords are generated and
//! printed once.
//!
//! `create_school` runs the steps in order: the school and its logins, then the calendar and
//! people (`roster`), then grades, attendance and incidents (`records`). Every step draws from
//! the one seeded RNG in turn, so the order of the steps is part of the demo data.

mod records;
mod roster;

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use entity::{enums::*, ids::*, tenant::TenantTx};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::{
    auth::{hash_password, random_secret},
    platform,
    services::schools,
};

/// A demo term: its id, first day and last day.
type TermSpan = (TermId, NaiveDate, NaiveDate);

/// A demo homeroom class: its id, name and grade level.
type Homeroom = (ClassId, String, i32);

/// A demo student: id, homeroom class, grade level, national id and ability (45 to 98), which
/// drives their grades, attendance and behaviour together.
type Pupil = (StudentId, ClassId, i32, String, f64);

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
    let logins = create_logins(&outer, school.id, slug).await?;

    let tx = TenantTx::nested(&outer, school.id).await?;
    let now = Utc::now();
    let mut rows = 0;

    // The steps below draw from `rng` in this order: reordering them changes the demo data.
    let (year_id, year_end, term_ids) = roster::create_calendar(&tx, now).await?;
    let subjects = roster::subjects(&mut rng);
    rows += insert_batched(&tx, roster::subject_rows(&subjects, now)).await?;

    let teachers: Vec<TeacherId> = (0..40).map(|_| TeacherId::generate()).collect();
    rows += insert_batched(&tx, roster::teacher_rows(&teachers, slug, now, &mut rng)).await?;

    let classes = roster::homerooms();
    rows += insert_batched(&tx, roster::class_rows(&classes, year_id, now)).await?;
    rows += insert_batched(&tx, roster::class_teacher_rows(&classes, &teachers, now)).await?;

    // Students: an ability per student drives grades, attendance and behaviour together, so
    // analytics and predictions have something real to find.
    let people = roster::students(&classes, students, &mut rng);
    rows += insert_batched(&tx, roster::student_rows(&people, now, &mut rng)).await?;

    // One guardian per student.
    let (guardians, links) = roster::guardian_rows(&people, now, &mut rng);
    rows += insert_batched(&tx, guardians).await?;
    rows += insert_batched(&tx, links).await?;

    let grades = records::grade_rows(&people, &subjects, &term_ids, year_end, now, &mut rng);
    rows += insert_batched(&tx, grades).await?;

    // Daily attendance for the first term; weaker students miss more days.
    let days = school_days(term_ids[0].1, term_ids[0].2);
    let attendance = records::attendance_rows(&people, &days, now, &mut rng);
    rows += insert_batched(&tx, attendance).await?;

    let incidents = records::incident_rows(&people, &days, &teachers, now, &mut rng);
    rows += insert_batched(&tx, incidents).await?;

    tx.commit().await?;
    outer.commit().await?;
    Ok(Some(DemoSchool {
        slug: slug.to_owned(),
        logins,
        rows,
    }))
}

/// Logins, with generated passwords: an admin, a teacher and a viewer of `school` (an account
/// whose email exists already is reused). Returns (role, email, password) for each.
async fn create_logins(
    outer: &DatabaseTransaction,
    school: SchoolId,
    slug: &str,
) -> anyhow::Result<Vec<(&'static str, String, String)>> {
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
        let user = match platform::user_by_email(outer, &email).await? {
            Some(user) => user,
            None => platform::create_user(outer, &email, &format!("Demo {role}"), hash).await?,
        };
        platform::add_membership(outer, school, user.id, db_role).await?;
        logins.push((role, email, password));
    }
    Ok(logins)
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
