//! Importing a OneRoster 1.1/1.2 CSV package (DESIGN §6, `reference/oneroster-1.2-csv.md`):
//! the package is opened safely ([`super::package`]), each file is read into a polars frame, and
//! its rows are mapped onto our tables:
//!
//! | OneRoster | ours |
//! |---|---|
//! | the school's org | the school the import runs in (never another) |
//! | academicSessions `schoolYear` / other types | academic years / terms |
//! | courses | subjects |
//! | classes | classes (the year of their first session) |
//! | users with a student / teacher / parent-guardian-relative role at the org | students (`{tz:…}` in `userIds`) / teachers / guardians |
//! | enrollments `student` / `teacher` | enrollments / class teachers |
//! | categories + lineItems | assessments |
//! | results | grades |
//!
//! Records are matched by `sourcedId` (our `external_id`, or our own id for records we
//! exported), else by their natural key; rows of other orgs are skipped. A few facts OneRoster
//! has no column for travel in `metadata.sds.*` columns, so our own export reads back losslessly.
//! No login account is made from a file: roles decide what kind of person a user is.

mod assessments;
mod classes;
mod courses;
mod enrollments;
mod guardians;
mod index;
mod results;
mod sessions;
mod sheet;
mod users;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use entity::academic_year;
use entity::assessment;
use entity::class;
use entity::class_teacher;
use entity::enrollment;
use entity::enums::ClassKind;
use entity::grade;
use entity::guardian;
use entity::ids::*;
use entity::student;
use entity::student_guardian;
use entity::subject;
use entity::teacher;
use entity::tenant::TenantTx;
use entity::term;
use sea_orm::DbErr;

use self::index::Changes;
use self::index::apply;
use self::sheet::Sheet;
use super::Outcome;
use super::Problems;
use super::RowAction;
use super::package;
use super::package::Processing;
use super::table;
use super::table::FileError;
use super::table::Spec;
use super::table::Table;

/// Our namespace for extension columns (`metadata.sds.<field>`).
pub const NS: &str = "metadata.sds.";

/// The sourcedId of the course our export gives homeroom classes (they teach no subject).
pub const HOMEROOM_COURSE: &str = "sds.homeroom";

const fn col(name: &'static str, required: bool) -> Spec {
    Spec {
        name,
        required,
        aliases: &[],
    }
}

/// A column that vendors' packages also name otherwise (singular for plural, OneRoster 1.0
/// names).
const fn alt(name: &'static str, required: bool, aliases: &'static [&'static str]) -> Spec {
    Spec {
        name,
        required,
        aliases,
    }
}

const COMMON: [Spec; 3] = [
    col("sourcedid", true),
    col("status", false),
    col("datelastmodified", false),
];

/// The columns read from each file (names as [`header_key`](table::header_key) makes them).
fn columns(file: &str) -> Vec<Spec> {
    let own: &[Spec] = match file {
        "orgs.csv" => &[
            col("name", true),
            col("type", true),
            col("identifier", false),
            col("parentsourcedid", false),
        ],
        "academicSessions.csv" => &[
            col("title", true),
            col("type", true),
            col("startdate", true),
            col("enddate", true),
            col("parentsourcedid", false),
            col("schoolyear", false),
            col("metadata_sds_iscurrent", false),
        ],
        "courses.csv" => &[
            col("title", true),
            col("coursecode", false),
            alt("orgsourcedid", true, &["schoolsourcedid", "orgsourcedids"]),
            col("metadata_sds_homeroom", false),
        ],
        "classes.csv" => &[
            col("title", true),
            alt("grades", false, &["grade"]),
            col("coursesourcedid", true),
            col("classtype", true),
            col("schoolsourcedid", true),
            alt("termsourcedids", true, &["termsourcedid"]),
        ],
        "users.csv" => &[
            alt("orgsourcedids", false, &["orgsourcedid"]),
            col("role", false),
            alt("userids", false, &["userid"]),
            col("identifier", false),
            col("givenname", true),
            col("familyname", true),
            col("email", false),
            col("phone", false),
            alt("agentsourcedids", false, &["agentsourcedid"]),
            alt("grades", false, &["grade"]),
            col("metadata_sds_classsourcedid", false),
            col("metadata_sds_primaryagentsourcedids", false),
            col("metadata_sds_relationship", false),
        ],
        "roles.csv" => &[
            col("usersourcedid", true),
            col("roletype", false),
            col("role", true),
            col("orgsourcedid", true),
        ],
        "demographics.csv" => &[
            alt("birthdate", false, &["birth_date", "dateofbirth", "dob"]),
            alt("sex", false, &["gender"]),
        ],
        "enrollments.csv" => &[
            col("classsourcedid", true),
            col("schoolsourcedid", true),
            col("usersourcedid", true),
            col("role", true),
            col("primary", false),
            col("begindate", false),
            col("enddate", false),
        ],
        "categories.csv" => &[col("title", true)],
        "lineItems.csv" => &[
            col("title", true),
            col("assigndate", false),
            col("classsourcedid", false),
            col("categorysourcedid", false),
            col("academicsessionsourcedid", true),
            col("resultvaluemax", false),
            col("schoolsourcedid", false),
            col("metadata_sds_subjectsourcedid", false),
            col("metadata_sds_virtual", false),
        ],
        "results.csv" => &[
            col("lineitemsourcedid", true),
            col("studentsourcedid", true),
            col("scorestatus", false),
            col("score", false),
            col("scoredate", true),
            col("comment", false),
            col("classsourcedid", false),
            col("metadata_sds_isfinal", false),
            col("metadata_sds_category", false),
            col("metadata_sds_maxscore", false),
            col("metadata_sds_teachersourcedid", false),
        ],
        _ => &[],
    };
    COMMON.iter().chain(own).copied().collect()
}

/// The files we read, in the order their rows are applied.
const READ: &[&str] = &[
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "roles.csv",
    "demographics.csv",
    "users.csv",
    "enrollments.csv",
    "categories.csv",
    "lineItems.csv",
    "results.csv",
];

/// A package read into frames.
#[derive(Debug)]
pub struct Source {
    /// `1.1` or `1.2`.
    pub version: String,
    files: BTreeMap<&'static str, (Processing, Table)>,
    /// Each file's headers (`users.csv:givenName`) and the field each was read as.
    pub headers: Vec<table::Header>,
}

/// Whether `field` names a column this importer reads, as `file.csv:column` (e.g.
/// `users.csv:identifier`; the column compared as [`header_key`](table::header_key) makes it).
pub fn known_field(field: &str) -> bool {
    field.split_once(':').is_some_and(|(file, column)| {
        READ.contains(&file)
            && columns(file)
                .iter()
                .any(|spec| spec.name == table::header_key(column))
    })
}

/// Opens and reads a package (blocking: run it off the async workers).
///
/// `mapping` holds (file header, `file.csv:column`) pairs the user gave; each file is read with
/// its own.
pub fn read(
    bytes: &[u8],
    max_bytes: usize,
    max_rows: usize,
    mapping: &[(String, String)],
) -> Result<Source, FileError> {
    let mut opened = package::open(bytes, max_bytes)?;
    let mut files = BTreeMap::new();
    let mut headers = Vec::new();
    for name in READ {
        let Some((processing, data)) = opened.files.remove(*name) else {
            continue;
        };
        let own: Vec<(String, String)> = mapping
            .iter()
            .filter_map(|(header, field)| {
                let column = field.strip_prefix(name)?.strip_prefix(':')?;
                Some((header.clone(), table::header_key(column)))
            })
            .collect();
        let specs = columns(name);
        let wanted = table::Wanted {
            specs: &specs,
            mapping: &own,
            rest: false,
        };
        let table = table::read(name, &data, wanted, max_rows, max_bytes as u64).map_err(|e| {
            FileError {
                code: e.code,
                column: e.column.map(|c| format!("{name}:{c}")),
                message: format!("{name}: {}", e.message),
            }
        })?;
        headers.extend(
            table
                .headers
                .iter()
                .map(|(header, field)| (format!("{name}:{header}"), *field)),
        );
        files.insert(*name, (processing, table));
    }
    Ok(Source {
        version: opened.version,
        files,
        headers,
    })
}

/// What the school's records become, table by table.
#[derive(Default)]
struct Plan {
    years: Changes<academic_year::Model>,
    terms: Changes<term::Model>,
    subjects: Changes<subject::Model>,
    classes: Changes<class::Model>,
    students: Changes<student::Model>,
    teachers: Changes<teacher::Model>,
    guardians: Changes<guardian::Model>,
    links: Changes<student_guardian::Model>,
    enrollments: Changes<enrollment::Model>,
    class_teachers: Changes<class_teacher::Model>,
    assessments: Changes<assessment::Model>,
    grades: Changes<grade::Model>,
}

/// What an academic session is to us.
#[derive(Clone, Copy)]
enum Session {
    Year(AcademicYearId),
    Term(TermId, AcademicYearId),
}

/// A checked file: what each row does, its problems, and its name.
type Checked = (Vec<RowAction>, Problems, &'static str);

/// One import while its files are checked, one after the other: what the school's records
/// become, each checked file, and the records of the files checked so far by sourcedId, for the
/// files that refer to them.
struct Run<'a> {
    tx: &'a TenantTx,
    source: &'a Source,
    /// The sourcedId of the org that is this school.
    org: String,
    now: chrono::DateTime<Utc>,
    plan: Plan,
    sheets: Vec<Checked>,
    /// Academic sessions: the school's, then the file's.
    sessions: HashMap<String, Session>,
    /// Courses as subjects (`None` for a homeroom course, which is no subject).
    courses: HashMap<String, Option<SubjectId>>,
    classes: HashMap<String, (ClassId, ClassKind, Option<SubjectId>)>,
    students: HashMap<String, StudentId>,
    teachers: HashMap<String, TeacherId>,
    /// Where students' national ids were found: the field, and how many.
    id_sources: BTreeMap<&'static str, usize>,
}

impl<'a> Run<'a> {
    fn new(tx: &'a TenantTx, source: &'a Source, org: String) -> Self {
        Self {
            tx,
            source,
            org,
            now: Utc::now(),
            plan: Plan::default(),
            sheets: Vec::new(),
            id_sources: BTreeMap::new(),
            sessions: HashMap::new(),
            courses: HashMap::new(),
            classes: HashMap::new(),
            students: HashMap::new(),
            teachers: HashMap::new(),
        }
    }

    /// Keeps a file's rows, checked, for the outcome.
    fn done(&mut self, sheet: Sheet<'_>) {
        let name = sheet.name;
        let (actions, problems) = sheet.finish();
        self.sheets.push((actions, problems, name));
    }
}

/// Validates a package against the school and writes it when `write` says so.
pub async fn import(
    tx: &TenantTx,
    source: &Source,
    org: Option<&str>,
    write: impl Fn(&Problems) -> bool,
    progress: &super::Progress<'_>,
) -> Result<(Outcome, bool), ImportFailure> {
    let org = our_org(source, org)?;
    let mut run = Run::new(tx, source, org);
    sessions::check(&mut run).await?;
    courses::check(&mut run).await?;
    classes::check(&mut run).await?;
    let pending = users::check(&mut run).await?;
    guardians::link(&mut run, pending).await?;
    enrollments::check(&mut run).await?;
    let categories = assessments::categories(&mut run);
    let items = assessments::line_items(&mut run, categories).await?;
    results::check(&mut run, items).await?;

    // The outcome, file by file; then the writes, in the order the tables refer to each other.
    let (mut outcome, all) = tally(run.sheets);
    if !run.id_sources.is_empty() {
        let sources: Vec<String> = run
            .id_sources
            .iter()
            .map(|(field, n)| format!("{field} {n}"))
            .collect();
        outcome
            .notes
            .push(format!("national ids read from {}", sources.join(", ")));
    }
    let written = write(&all);
    if !written {
        outcome.rows_ok = 0;
        return Ok((outcome, false));
    }
    progress.set_total(outcome.rows_total);
    save(tx, run.plan).await?;
    progress.advance(outcome.rows_total);
    Ok((outcome, true))
}

/// The outcome of the checked files, file by file, and all their problems (with row 0 failed
/// when any row failed).
fn tally(sheets: Vec<Checked>) -> (Outcome, Problems) {
    let mut outcome = Outcome::default();
    let mut all = Problems::default();
    let mut any = false;
    for (actions, problems, name) in sheets {
        let count = |a: RowAction| actions.iter().filter(|x| **x == a).count();
        outcome.rows_total += actions.len();
        outcome.rows_unchanged += count(RowAction::Unchanged);
        outcome.rows_skipped += count(RowAction::Skipped);
        outcome.rows_ok += count(RowAction::Insert) + count(RowAction::Update);
        outcome.rows_failed += problems.failed.len();
        any |= problems.any();
        let mut errors = problems.errors;
        errors.sort_by_key(|e| e.row);
        for e in &mut errors {
            e.message = format!("{name} line {}: {}", e.row, e.message);
        }
        all.errors.extend(errors);
    }
    if any {
        all.failed.insert(0);
    }
    outcome.errors = all.errors.clone();
    (outcome, all)
}

/// Writes the plan, in the order the tables refer to each other.
async fn save(tx: &TenantTx, plan: Plan) -> Result<(), DbErr> {
    apply::<academic_year::ActiveModel>(tx, plan.years).await?;
    apply::<term::ActiveModel>(tx, plan.terms).await?;
    apply::<subject::ActiveModel>(tx, plan.subjects).await?;
    apply::<class::ActiveModel>(tx, plan.classes).await?;
    apply::<teacher::ActiveModel>(tx, plan.teachers).await?;
    apply::<guardian::ActiveModel>(tx, plan.guardians).await?;
    apply::<student::ActiveModel>(tx, plan.students).await?;
    apply::<student_guardian::ActiveModel>(tx, plan.links).await?;
    apply::<enrollment::ActiveModel>(tx, plan.enrollments).await?;
    apply::<class_teacher::ActiveModel>(tx, plan.class_teachers).await?;
    apply::<assessment::ActiveModel>(tx, plan.assessments).await?;
    apply::<grade::ActiveModel>(tx, plan.grades).await?;
    Ok(())
}

/// Why a package cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The package does not say which org is this school.
    #[error(transparent)]
    File(#[from] FileError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The org of the package that is this school: the one named, else the only `school` org.
fn our_org(source: &Source, named: Option<&str>) -> Result<String, FileError> {
    let orgs = source.files.get("orgs.csv").map(|(_, t)| t);
    let sourced = |i| orgs.and_then(|t| t.cell("sourcedid", i));
    let height = orgs.map_or(0, Table::height);
    if let Some(named) = named {
        if orgs.is_none() || (0..height).any(|i| sourced(i) == Some(named)) {
            return Ok(named.to_owned());
        }
        return Err(FileError {
            code: "UNKNOWN_ORG",
            column: Some("orgSourcedId".into()),
            message: format!("orgs.csv has no org {named}"),
        });
    }
    let schools: HashSet<&str> = (0..height)
        .filter(|i| orgs.and_then(|t| t.cell("type", *i)) == Some("school"))
        .filter_map(sourced)
        .collect();
    match schools.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(FileError {
            code: "UNKNOWN_ORG",
            column: Some("orgSourcedId".into()),
            message: "the package holds no school org; name one with orgSourcedId".into(),
        }),
        _ => Err(FileError {
            code: "AMBIGUOUS_ORG",
            column: Some("orgSourcedId".into()),
            message: "the package holds several schools; name this school's org with orgSourcedId"
                .into(),
        }),
    }
}
