//! Exporting a school as a OneRoster 1.2 bulk CSV package, which [`crate::imports::oneroster`]
//! reads back losslessly. Records are named by their external id (the sourcedId they came with),
//! else by our id; rows are sorted by sourcedId, so the same data gives the same files. Facts
//! OneRoster has no column for travel in `metadata.sds.*` columns.

mod classes;
mod csv;
mod results;
mod roster;
mod sessions;

use std::{
    collections::{BTreeMap, HashMap},
    io::{Cursor, Write},
};

use chrono::NaiveDate;
use entity::{
    academic_year, assessment, class, class_teacher, enrollment, grade, guardian, ids::*, student,
    student_guardian, subject, teacher, tenant::TenantTx, term,
};
use sea_orm::DbErr;

use self::csv::{Csv, sourced};

/// The files of a package by name, each rendered.
type Files = BTreeMap<&'static str, Vec<u8>>;

/// The school's records, table by table.
struct Records {
    years: Vec<academic_year::Model>,
    terms: Vec<term::Model>,
    subjects: Vec<subject::Model>,
    classes: Vec<class::Model>,
    students: Vec<student::Model>,
    teachers: Vec<teacher::Model>,
    guardians: Vec<guardian::Model>,
    links: Vec<student_guardian::Model>,
    enrollments: Vec<enrollment::Model>,
    class_teachers: Vec<class_teacher::Model>,
    assessments: Vec<assessment::Model>,
    grades: Vec<grade::Model>,
}

impl Records {
    async fn load(tx: &TenantTx) -> Result<Self, DbErr> {
        Ok(Self {
            years: tx.all(tx.find::<academic_year::Entity>()).await?,
            terms: tx.all(tx.find::<term::Entity>()).await?,
            subjects: tx.all(tx.find::<subject::Entity>()).await?,
            classes: tx.all(tx.find::<class::Entity>()).await?,
            students: tx.all(tx.find::<student::Entity>()).await?,
            teachers: tx.all(tx.find::<teacher::Entity>()).await?,
            guardians: tx.all(tx.find::<guardian::Entity>()).await?,
            links: tx.all(tx.find::<student_guardian::Entity>()).await?,
            enrollments: tx.all(tx.find::<enrollment::Entity>()).await?,
            class_teachers: tx.all(tx.find::<class_teacher::Entity>()).await?,
            assessments: tx.all(tx.find::<assessment::Entity>()).await?,
            grades: tx.all(tx.find::<grade::Entity>()).await?,
        })
    }
}

/// The sourcedId of each record, by our id (a school year's with its end date).
struct Ids {
    years: HashMap<AcademicYearId, (String, NaiveDate)>,
    terms: HashMap<TermId, String>,
    subjects: HashMap<SubjectId, String>,
    classes: HashMap<ClassId, String>,
    students: HashMap<StudentId, String>,
    teachers: HashMap<TeacherId, String>,
    guardians: HashMap<GuardianId, String>,
    assessments: HashMap<AssessmentId, String>,
}

impl Ids {
    fn new(records: &Records) -> Self {
        Self {
            years: records
                .years
                .iter()
                .map(|y| (y.id, (sourced(&y.external_id, y.id), y.end_date)))
                .collect(),
            terms: records
                .terms
                .iter()
                .map(|t| (t.id, sourced(&t.external_id, t.id)))
                .collect(),
            subjects: records
                .subjects
                .iter()
                .map(|s| (s.id, sourced(&s.external_id, s.id)))
                .collect(),
            classes: records
                .classes
                .iter()
                .map(|c| (c.id, sourced(&c.external_id, c.id)))
                .collect(),
            students: records
                .students
                .iter()
                .map(|s| (s.id, sourced(&s.external_id, s.id)))
                .collect(),
            teachers: records
                .teachers
                .iter()
                .map(|t| (t.id, sourced(&t.external_id, t.id)))
                .collect(),
            guardians: records
                .guardians
                .iter()
                .map(|g| (g.id, sourced(&g.external_id, g.id)))
                .collect(),
            assessments: records
                .assessments
                .iter()
                .map(|a| (a.id, sourced(&a.external_id, a.id)))
                .collect(),
        }
    }
}

/// The school's roster and gradebook as a OneRoster 1.2 bulk zip; `org` is the school's org
/// (its sourcedId and name).
pub async fn package(tx: &TenantTx, org: (&str, &str)) -> Result<Vec<u8>, DbErr> {
    let org_id = org.0;
    let records = Records::load(tx).await?;
    let ids = Ids::new(&records);
    let mut files = Files::new();
    sessions::orgs(&mut files, org);
    sessions::academic_sessions(&mut files, &records, &ids);
    classes::courses(&mut files, &records, org_id);
    classes::classes(&mut files, &records, &ids, org_id);
    roster::users(&mut files, &records, &ids, org_id);
    roster::enrollments(&mut files, &records, &ids, org_id);
    results::categories(&mut files);
    results::line_items(&mut files, &records, &ids, org_id);
    results::results(&mut files, &records, &ids);
    write_zip(files)
}

/// The manifest and the files, zipped.
fn write_zip(files: Files) -> Result<Vec<u8>, DbErr> {
    let mut manifest = Csv::new(&["propertyName", "value"]);
    manifest.push(vec!["manifest.version".into(), "1.0".into()]);
    manifest.push(vec!["oneroster.version".into(), "1.2".into()]);
    manifest.push(vec![
        "source.systemName".into(),
        "school data service".into(),
    ]);
    for name in crate::imports::package::FILES {
        let key = format!("file.{}", name.trim_end_matches(".csv"));
        let mode = if files.contains_key(name) {
            "bulk"
        } else {
            "absent"
        };
        manifest.push(vec![key, mode.into()]);
    }
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zip_error = |e: zip::result::ZipError| DbErr::Custom(format!("the zip: {e}"));
    writer
        .start_file("manifest.csv", options)
        .map_err(zip_error)?;
    writer
        .write_all(&manifest.render())
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    for (name, bytes) in files {
        writer.start_file(name, options).map_err(zip_error)?;
        writer
            .write_all(&bytes)
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    Ok(writer.finish().map_err(zip_error)?.into_inner())
}
