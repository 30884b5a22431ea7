//! Importing grades: one row per grade, matched to existing grades by external id, else by
//! their natural key: (student, subject, term, assessment) for a grade of a named assessment,
//! else (student, subject, date, category), so a student's several grades in one subject and
//! term are told apart by when they were given and what kind of work they were for.
//! Assessments the file names and the school lacks are created. Without a term column, each
//! row's term is the school's term holding its date.

mod lookup;

use lookup::{Index, Known, subject_of, term_of};
use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::assessment;
use entity::enums::GradeCategory;
use entity::enums::RecordStatus;
use entity::grade;
use entity::ids::*;
use entity::tenant::TenantTx;
use sea_orm::{ActiveValue::Set, DbErr, IntoActiveModel};

use super::Outcome;
use super::Problems;
use super::RowAction;
use super::parse;
use super::students::chunk_size;
use super::table::Spec;
use super::table::Table;
use super::table::header_key;
use crate::rules::{self, MaxScore};

/// The columns of a grades file.
pub const COLUMNS: &[Spec] = &[
    super::STUDENT_TZ,
    Spec::required("subject", &["מקצוע", "subject_name", "course"]),
    Spec::optional("term", &["מחצית", "סמסטר", "תקופה", "term_name"]),
    Spec::required("score", &["ציון", "grade", "mark"]),
    Spec::optional("max_score", &["ציון מרבי", "out_of"]),
    Spec::required("date", &["תאריך", "graded_on", "score_date"]),
    Spec::optional("category", &["סוג", "type"]),
    Spec::optional(
        "assessment",
        &["מטלה", "מבחן", "assessment_title", "line_item"],
    ),
    Spec::optional(
        "is_final",
        &["final", "final_flag", "סופי", "is_final_grade"],
    ),
    Spec::optional("comment", &["הערה", "note"]),
    super::EXTERNAL_ID,
];

pub(super) fn category(text: &str) -> Option<GradeCategory> {
    Some(match header_key(text).as_str() {
        "exam" | "test" | "מבחן" => GradeCategory::Exam,
        "quiz" | "בוחן" => GradeCategory::Quiz,
        "homework" | "שיעורי_בית" | "שב" => GradeCategory::Homework,
        "project" | "עבודה" | "פרויקט" => GradeCategory::Project,
        "final" | "סופי" | "ציון_סופי" => GradeCategory::Final,
        _ => return None,
    })
}

/// Keys per `IN (…)` lookup.
const LOOKUP_CHUNK: usize = 5_000;

/// One valid row, ready to write.
#[derive(Debug, Clone)]
struct Row {
    student: StudentId,
    subject: SubjectId,
    term: TermId,
    assessment: Option<String>,
    score: f64,
    max_score: f64,
    graded_on: NaiveDate,
    category: Option<GradeCategory>,
    is_final: Option<bool>,
    comment: Option<String>,
    external_id: Option<String>,
}

/// A grade's natural key: of a named assessment in a term, or of a date and kind of work.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// (student, subject, term, assessment title key).
    Assessment(StudentId, SubjectId, TermId, String),
    /// (student, subject, date, category).
    Dated(StudentId, SubjectId, NaiveDate, Option<GradeCategory>),
}

impl Key {
    fn of_row(row: &Row) -> Self {
        match &row.assessment {
            Some(title) => Key::Assessment(row.student, row.subject, row.term, title.clone()),
            None => Key::Dated(row.student, row.subject, row.graded_on, row.category),
        }
    }
}

/// The maximum and the score of a row (see [`rules::MaxScore`]).
fn scores(table: &Table, i: usize, problems: &mut Problems) -> (Option<f64>, Option<f64>) {
    let max = match table.cell("max_score", i) {
        None => Some(MaxScore::new(None)),
        Some(text) => parse::number(text).map(|m| MaxScore::new(Some(m))),
    }
    .unwrap_or_else(|| MaxScore::new(Some(f64::NAN)));
    let max = problems.take(i, "max_score", max);
    let score = match table.cell("score", i).map(parse::number) {
        Some(Some(s)) => match max {
            Some(max) => problems.take(i, "score", max.score(s)),
            None => Some(s),
        },
        _ => {
            problems.add(i, "score", "INVALID_NUMBER", "must be a number");
            None
        }
    };
    (max.map(MaxScore::get), score)
}

/// The kind of work a row names, if any.
fn category_of(table: &Table, i: usize, problems: &mut Problems) -> Option<GradeCategory> {
    let text = table.cell("category", i)?;
    let c = self::category(text);
    if c.is_none() {
        problems.add(
            i,
            "category",
            "INVALID_CATEGORY",
            "must be EXAM, QUIZ, HOMEWORK, PROJECT or FINAL",
        );
    }
    c
}

/// Checks row `i`; `None` when it cannot be written.
fn check_row(
    known: &Known,
    table: &Table,
    i: usize,
    seen: &mut HashMap<Key, usize>,
    problems: &mut Problems,
) -> Option<Row> {
    let student = super::student_of(table, i, &known.students, problems);
    let subject = subject_of(known, table, i, problems);
    let graded_on = match table.cell("date", i).map(parse::date) {
        Some(Some(d)) => Some(d),
        _ => {
            problems.add(
                i,
                "date",
                "INVALID_DATE",
                "must be a date, yyyy-mm-dd or dd/mm/yyyy",
            );
            None
        }
    };
    let term = term_of(known, table, i, graded_on, problems);
    let (max_score, score) = scores(table, i, problems);
    let category = category_of(table, i, problems);
    let is_final = table.cell("is_final", i).and_then(|text| {
        let flag = parse::flag(text);
        if flag.is_none() {
            problems.add(
                i,
                "is_final",
                "INVALID_FLAG",
                "must be yes or no (true/false, 1/0, כן/לא)",
            );
        }
        flag
    });
    // An assessment's title keeps to the name rule (it is created when new).
    let assessment = table.cell("assessment", i).and_then(|text| {
        problems
            .take(i, "assessment", rules::Name::parse(text))
            .map(|name| header_key(&name.into_string()))
    });
    let (student, subject, term, score, max_score, graded_on) =
        (student?, subject?, term?, score?, max_score?, graded_on?);
    let row = Row {
        student,
        subject,
        term: term.id,
        assessment,
        score,
        max_score,
        graded_on,
        category,
        is_final,
        comment: table.cell("comment", i).map(str::to_owned),
        external_id: table.cell("external_id", i).map(str::to_owned),
    };
    if let Some(first) = seen.insert(Key::of_row(&row), i) {
        let what = if row.assessment.is_some() {
            "in this subject, term and assessment"
        } else {
            "in this subject on this date for this kind of work"
        };
        problems.add(
            i,
            "student_tz",
            "DUPLICATE_ROW",
            format!("row {} already grades this student {what}", first + 2),
        );
    }
    Some(row)
}

/// Validates every row of `table`, then writes the valid ones when `write` says so.
pub async fn import(job: super::Job<'_>) -> Result<(Outcome, bool), DbErr> {
    let super::Job {
        tx,
        table,
        write,
        progress,
    } = job;
    tracing::debug!("grades: loading the school's records");
    let known = Known::load(tx).await?;
    let existing = known.grades(tx, table).await?;
    let index = Index::new(&known, &existing);
    let mut problems = Problems::default();
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let rows: Vec<Option<(Row, Option<&grade::Model>)>> = (0..table.height())
        .map(|i| {
            let row = check_row(&known, table, i, &mut seen, &mut problems)?;
            let key = Key::of_row(&row);
            let target = row
                .external_id
                .as_deref()
                .and_then(|e| index.by_external.get(e).copied())
                .or_else(|| index.by_key.get(&key).copied());
            Some((row, target))
        })
        .collect();
    let actions = super::classify(&problems, &rows, same);
    let written = write(&problems);
    tracing::debug!(rows = rows.len(), "grades validated");
    if written {
        let assessments = new_assessments(tx, table, &known, &rows, &actions).await?;
        save(tx, &rows, &actions, &assessments, progress).await?;
    }
    Ok((problems.outcome(&actions, written), written))
}

type Rows<'a> = [Option<(Row, Option<&'a grade::Model>)>];

/// Creates the assessments the file names that the school lacks; returns every assessment's id
/// by (subject, term, title key).
async fn new_assessments(
    tx: &TenantTx,
    table: &Table,
    known: &Known,
    rows: &Rows<'_>,
    actions: &[RowAction],
) -> Result<HashMap<(SubjectId, TermId, String), AssessmentId>, DbErr> {
    let now = Utc::now();
    let mut ids: HashMap<(SubjectId, TermId, String), AssessmentId> = known
        .assessments
        .iter()
        .map(|(k, a)| (k.clone(), a.id))
        .collect();
    // Each title as the file first writes it, found in one pass.
    let mut originals: HashMap<String, &str> = HashMap::new();
    for i in 0..table.height() {
        if let Some(text) = table.cell("assessment", i) {
            originals.entry(header_key(text)).or_insert(text);
        }
    }
    let mut new = Vec::new();
    for (row, action) in rows.iter().zip(actions) {
        if let (Some((row, _)), RowAction::Insert | RowAction::Update) = (row, action)
            && let Some(title) = &row.assessment
            && let std::collections::hash_map::Entry::Vacant(slot) =
                ids.entry((row.subject, row.term, title.clone()))
        {
            let id = AssessmentId::generate();
            slot.insert(id);
            let original = originals.get(title).copied().unwrap_or(title.as_str());
            new.push(assessment::ActiveModel {
                id: Set(id),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(RecordStatus::Active),
                subject_id: Set(row.subject),
                term_id: Set(row.term),
                class_id: Set(None),
                title: Set(original.to_owned()),
                category: Set(row.category.unwrap_or(GradeCategory::Exam)),
                max_score: Set(row.max_score),
                assessment_date: Set(Some(row.graded_on)),
                ..Default::default()
            });
        }
    }
    tx.insert_many(new).await?;
    Ok(ids)
}

fn new_grade(
    row: &Row,
    assessment_id: Option<AssessmentId>,
    now: chrono::DateTime<Utc>,
) -> grade::ActiveModel {
    grade::ActiveModel {
        id: Set(GradeId::generate()),
        created_at: Set(now),
        updated_at: Set(now),
        external_id: Set(row.external_id.clone()),
        status: Set(RecordStatus::Active),
        student_id: Set(row.student),
        subject_id: Set(row.subject),
        term_id: Set(row.term),
        assessment_id: Set(assessment_id),
        class_id: Set(None),
        teacher_id: Set(None),
        category: Set(row.category),
        score: Set(row.score),
        max_score: Set(row.max_score),
        graded_on: Set(row.graded_on),
        is_final: Set(row
            .is_final
            .unwrap_or(row.category == Some(GradeCategory::Final))),
        comment: Set(row.comment.clone()),
        ..Default::default()
    }
}

/// Writes the rows `actions` says to: updates first, then the new rows a chunk at a time (only
/// one chunk of active models is held at once).
async fn save(
    tx: &TenantTx,
    rows: &Rows<'_>,
    actions: &[RowAction],
    assessments: &HashMap<(SubjectId, TermId, String), AssessmentId>,
    progress: &super::Progress<'_>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let mut inserts = Vec::new();
    for (row, action) in rows.iter().zip(actions) {
        let Some((row, current)) = row else { continue };
        let assessment_id = row
            .assessment
            .as_ref()
            .and_then(|t| assessments.get(&(row.subject, row.term, t.clone())))
            .copied();
        match (action, current) {
            (RowAction::Insert, _) => inserts.push((row, assessment_id)),
            (RowAction::Update, Some(current)) => {
                let mut next = (*current).clone();
                apply(&mut next, row);
                next.updated_at = now;
                super::write_back(tx, next.into_active_model(), "grade").await?;
                progress.advance(1);
            }
            _ => {}
        }
    }
    for chunk in inserts.chunks(chunk_size::<grade::Entity>()) {
        let n = chunk.len();
        let models = chunk
            .iter()
            .map(|(row, assessment)| new_grade(row, *assessment, now))
            .collect();
        tx.insert_many(models).await?;
        progress.advance(n);
    }
    Ok(())
}

fn apply(current: &mut grade::Model, row: &Row) {
    current.score = row.score;
    current.max_score = row.max_score;
    current.graded_on = row.graded_on;
    if row.category.is_some() {
        current.category = row.category;
        current.is_final = row.category == Some(GradeCategory::Final);
    }
    if let Some(is_final) = row.is_final {
        current.is_final = is_final;
    }
    if row.comment.is_some() {
        current.comment = row.comment.clone();
    }
    if row.external_id.is_some() {
        current.external_id = row.external_id.clone();
    }
}

fn same(current: &grade::Model, row: &Row) -> bool {
    let mut next = current.clone();
    apply(&mut next, row);
    next == *current
}
