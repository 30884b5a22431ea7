//! Rows written straight to the database, for tests that check what the database itself
//! enforces. (Tests of the API arrange their data through the API.)

use chrono::NaiveDate;
use entity::{enums::*, ids::*};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DbErr};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// A school with the given slug.
pub async fn school(conn: &DatabaseConnection, slug: &str) -> Result<SchoolId, DbErr> {
    let id = SchoolId::generate();
    entity::school::ActiveModel {
        id: Set(id),
        name: Set(format!("School {slug}")),
        slug: Set(slug.to_owned()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// An academic year 2025–2026 with one term, and a subject: what a grade needs.
pub async fn calendar(
    conn: &DatabaseConnection,
    school: SchoolId,
) -> Result<(AcademicYearId, TermId, SubjectId), DbErr> {
    let year = AcademicYearId::generate();
    entity::academic_year::ActiveModel {
        school_id: Set(school),
        id: Set(year),
        name: Set("2025-2026".into()),
        start_date: Set(date(2025, 9, 1)),
        end_date: Set(date(2026, 6, 20)),
        is_current: Set(true),
        status: Set(RecordStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let term = TermId::generate();
    entity::term::ActiveModel {
        school_id: Set(school),
        id: Set(term),
        academic_year_id: Set(year),
        name: Set("Semester A".into()),
        start_date: Set(date(2025, 9, 1)),
        end_date: Set(date(2026, 1, 31)),
        status: Set(RecordStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let subject = SubjectId::generate();
    entity::subject::ActiveModel {
        school_id: Set(school),
        id: Set(subject),
        name: Set("מתמטיקה".into()),
        code: Set(Some("MATH".into())),
        status: Set(RecordStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok((year, term, subject))
}

/// A student with the given national id.
pub async fn student(
    conn: &DatabaseConnection,
    school: SchoolId,
    tz: &str,
) -> Result<StudentId, DbErr> {
    let id = StudentId::generate();
    entity::student::ActiveModel {
        school_id: Set(school),
        id: Set(id),
        student_tz: Set(tz.to_owned()),
        first_name: Set("נועה".into()),
        last_name: Set("כהן".into()),
        grade_level: Set(Some(7)),
        status: Set(RecordStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// A teacher.
pub async fn teacher(conn: &DatabaseConnection, school: SchoolId) -> Result<TeacherId, DbErr> {
    let id = TeacherId::generate();
    entity::teacher::ActiveModel {
        school_id: Set(school),
        id: Set(id),
        first_name: Set("דנה".into()),
        last_name: Set("לוי".into()),
        status: Set(RecordStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// A homeroom class in `year`.
pub async fn class(
    conn: &DatabaseConnection,
    school: SchoolId,
    year: AcademicYearId,
    name: &str,
) -> Result<ClassId, DbErr> {
    let id = ClassId::generate();
    entity::class::ActiveModel {
        school_id: Set(school),
        id: Set(id),
        academic_year_id: Set(year),
        name: Set(name.to_owned()),
        kind: Set(ClassKind::Homeroom),
        grade_level: Set(Some(7)),
        status: Set(RecordStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// A grade of `student` in `school` (which need not be the student's school: that is the point
/// of the cross-school tests).
pub async fn grade(
    conn: &DatabaseConnection,
    school: SchoolId,
    student: StudentId,
    subject: SubjectId,
    term: TermId,
) -> Result<GradeId, DbErr> {
    let id = GradeId::generate();
    entity::grade::ActiveModel {
        school_id: Set(school),
        id: Set(id),
        student_id: Set(student),
        subject_id: Set(subject),
        term_id: Set(term),
        score: Set(87.5),
        max_score: Set(100.0),
        graded_on: Set(date(2025, 11, 3)),
        is_final: Set(false),
        category: Set(Some(GradeCategory::Exam)),
        status: Set(RecordStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(id)
}
