//! Importing grades: one row per grade, matched to existing grades by external id, else by
//! (student, subject, term, assessment). Assessments the file names and the school lacks are
//! created.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{
    assessment,
    enums::{GradeCategory, RecordStatus},
    grade,
    ids::*,
    student, subject,
    tenant::TenantTx,
    term,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, IntoActiveModel};

use super::{
    Outcome, Problems, RowAction, parse,
    students::chunk_size,
    table::{Spec, Table, header_key},
};

/// The columns of a grades file.
pub const COLUMNS: &[Spec] = &[
    super::STUDENT_TZ,
    Spec {
        name: "subject",
        required: true,
        aliases: &["מקצוע", "subject_name", "course"],
    },
    Spec {
        name: "term",
        required: true,
        aliases: &["מחצית", "סמסטר", "תקופה", "term_name"],
    },
    Spec {
        name: "score",
        required: true,
        aliases: &["ציון", "grade", "mark"],
    },
    Spec {
        name: "max_score",
        required: false,
        aliases: &["ציון מרבי", "out_of"],
    },
    Spec {
        name: "date",
        required: true,
        aliases: &["תאריך", "graded_on", "score_date"],
    },
    Spec {
        name: "category",
        required: false,
        aliases: &["סוג", "type"],
    },
    Spec {
        name: "assessment",
        required: false,
        aliases: &["מטלה", "מבחן", "assessment_title", "line_item"],
    },
    Spec {
        name: "comment",
        required: false,
        aliases: &["הערה", "note"],
    },
    Spec {
        name: "external_id",
        required: false,
        aliases: &["מזהה חיצוני", "sourced_id", "sourcedId"],
    },
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
    comment: Option<String>,
    external_id: Option<String>,
}

type Key = (StudentId, SubjectId, TermId, Option<String>);

/// Validates every row of `table`, then writes the valid ones when `write` says so.
pub async fn import(
    tx: &TenantTx,
    table: &Table,
    write: impl Fn(&Problems) -> bool,
    progress: &super::Progress<'_>,
) -> Result<(Outcome, bool), DbErr> {
    tracing::debug!("grades: loading the school's records");
    let students: HashMap<String, StudentId> = tx
        .all(tx.find::<student::Entity>())
        .await?
        .into_iter()
        .map(|s| (s.student_tz, s.id))
        .collect();
    let mut subjects: HashMap<String, SubjectId> = HashMap::new();
    for s in tx.all(tx.find::<subject::Entity>()).await? {
        if let Some(code) = &s.code {
            subjects.insert(header_key(code), s.id);
        }
        subjects.insert(header_key(&s.name), s.id);
    }
    let terms = tx.all(tx.find::<term::Entity>()).await?;
    let assessments: HashMap<(SubjectId, TermId, String), assessment::Model> = tx
        .all(tx.find::<assessment::Entity>())
        .await?
        .into_iter()
        .map(|a| ((a.subject_id, a.term_id, header_key(&a.title)), a))
        .collect();
    // Only the grades this file can match: those of its students, or with its external ids.
    let file_students = super::students_in(table, &students);
    let file_external: Vec<String> = (0..table.height())
        .filter_map(|i| table.cell("external_id", i).map(str::to_owned))
        .collect();
    let mut existing: HashMap<GradeId, grade::Model> = HashMap::new();
    for chunk in file_students.chunks(LOOKUP_CHUNK) {
        let select = tx
            .find::<grade::Entity>()
            .filter(grade::Column::StudentId.is_in(chunk.iter().copied()));
        existing.extend(tx.all(select).await?.into_iter().map(|g| (g.id, g)));
    }
    for chunk in file_external.chunks(LOOKUP_CHUNK) {
        let select = tx
            .find::<grade::Entity>()
            .filter(grade::Column::ExternalId.is_in(chunk.iter().cloned()));
        existing.extend(tx.all(select).await?.into_iter().map(|g| (g.id, g)));
    }
    let mut existing: Vec<grade::Model> = existing.into_values().collect();
    existing.sort_by_key(|g| g.id);
    let assessment_titles: HashMap<AssessmentId, String> = assessments
        .iter()
        .map(|((_, _, title), a)| (a.id, title.clone()))
        .collect();
    let mut by_key: HashMap<Key, &grade::Model> = HashMap::new();
    let mut by_external: HashMap<&str, &grade::Model> = HashMap::new();
    for g in &existing {
        let title = g
            .assessment_id
            .and_then(|a| assessment_titles.get(&a).cloned());
        by_key
            .entry((g.student_id, g.subject_id, g.term_id, title))
            .or_insert(g);
        if let Some(ext) = &g.external_id {
            by_external.insert(ext, g);
        }
    }

    let mut problems = Problems::default();
    let mut rows: Vec<Option<(Row, Option<&grade::Model>)>> = Vec::with_capacity(table.height());
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for i in 0..table.height() {
        let student = super::student_of(table, i, &students, &mut problems);
        let subject = match table.cell("subject", i) {
            None => {
                problems.add(i, "subject", "REQUIRED", "the subject is missing");
                None
            }
            Some(text) => {
                let id = subjects.get(&header_key(text)).copied();
                if id.is_none() {
                    problems.add(
                        i,
                        "subject",
                        "UNKNOWN_SUBJECT",
                        format!("the school has no subject named {text}"),
                    );
                }
                id
            }
        };
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
        // A term by name; when several years have one of that name, the one holding the date.
        let term = match table.cell("term", i) {
            None => {
                problems.add(i, "term", "REQUIRED", "the term is missing");
                None
            }
            Some(text) => {
                let key = header_key(text);
                let named: Vec<&term::Model> = terms
                    .iter()
                    .filter(|t| header_key(&t.name) == key)
                    .collect();
                let holding = graded_on.and_then(|d| {
                    named
                        .iter()
                        .find(|t| t.start_date <= d && d <= t.end_date)
                        .copied()
                });
                match (named.as_slice(), holding) {
                    ([], _) => {
                        problems.add(
                            i,
                            "term",
                            "UNKNOWN_TERM",
                            format!("the school has no term named {text}"),
                        );
                        None
                    }
                    (_, Some(t)) => Some(t),
                    ([only], None) => {
                        if graded_on.is_some() {
                            problems.add(
                                i,
                                "date",
                                "DATE_OUTSIDE_TERM",
                                format!(
                                    "must fall inside the term ({} to {})",
                                    only.start_date, only.end_date
                                ),
                            );
                        }
                        None
                    }
                    (_, None) => {
                        if graded_on.is_some() {
                            problems.add(
                                i,
                                "date",
                                "DATE_OUTSIDE_TERM",
                                format!("no term named {text} holds this date"),
                            );
                        }
                        None
                    }
                }
            }
        };
        let max_score = match table.cell("max_score", i) {
            None => Some(100.0),
            Some(text) => match parse::number(text).filter(|m| *m > 0.0) {
                Some(m) => Some(m),
                None => {
                    problems.add(i, "max_score", "INVALID_NUMBER", "must be a number above 0");
                    None
                }
            },
        };
        let score = match table.cell("score", i).map(parse::number) {
            Some(Some(s)) => match max_score {
                Some(max) if !(0.0..=max).contains(&s) => {
                    problems.add(
                        i,
                        "score",
                        "SCORE_OUT_OF_RANGE",
                        format!("must be between 0 and {max}"),
                    );
                    None
                }
                _ => Some(s),
            },
            _ => {
                problems.add(i, "score", "INVALID_NUMBER", "must be a number");
                None
            }
        };
        let category = match table.cell("category", i) {
            None => None,
            Some(text) => {
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
        };
        let assessment = table.cell("assessment", i).map(header_key);
        let (Some(student), Some(subject), Some(term), Some(score), Some(max_score), Some(date)) =
            (student, subject, term, score, max_score, graded_on)
        else {
            rows.push(None);
            continue;
        };
        let key = (student, subject, term.id, assessment.clone());
        if let Some(first) = seen.insert(key.clone(), i) {
            problems.add(
                i,
                "student_tz",
                "DUPLICATE_ROW",
                format!(
                    "row {} already grades this student in this subject, term and assessment",
                    first + 2
                ),
            );
        }
        let external_id = table.cell("external_id", i).map(str::to_owned);
        let target = external_id
            .as_deref()
            .and_then(|e| by_external.get(e).copied())
            .or_else(|| by_key.get(&key).copied());
        rows.push(Some((
            Row {
                student,
                subject,
                term: term.id,
                assessment,
                score,
                max_score,
                graded_on: date,
                category,
                comment: table.cell("comment", i).map(str::to_owned),
                external_id,
            },
            target,
        )));
    }

    let actions = super::classify(&problems, &rows, same);
    let written = write(&problems);
    tracing::debug!(rows = rows.len(), "grades validated");
    if written {
        let now = Utc::now();
        // Assessments the file names that the school lacks.
        let mut assessment_ids: HashMap<(SubjectId, TermId, String), AssessmentId> =
            assessments.iter().map(|(k, a)| (k.clone(), a.id)).collect();
        let mut new_assessments = Vec::new();
        for (row, action) in rows.iter().zip(&actions) {
            if let (Some((row, _)), RowAction::Insert | RowAction::Update) = (row, action)
                && let Some(title) = &row.assessment
            {
                let key = (row.subject, row.term, title.clone());
                if let std::collections::hash_map::Entry::Vacant(slot) = assessment_ids.entry(key) {
                    let id = AssessmentId::generate();
                    slot.insert(id);
                    let original = (0..table.height())
                        .find_map(|i| {
                            table
                                .cell("assessment", i)
                                .filter(|t| header_key(t) == *title)
                        })
                        .unwrap_or(title);
                    new_assessments.push(assessment::ActiveModel {
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
        }
        tx.insert_many(new_assessments).await?;
        let new_grade = |row: &Row, assessment_id: Option<AssessmentId>| grade::ActiveModel {
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
            is_final: Set(row.category == Some(GradeCategory::Final)),
            comment: Set(row.comment.clone()),
            ..Default::default()
        };
        // Updates first, then the new rows a chunk at a time: only one chunk of active models
        // is held at once.
        let mut inserts = Vec::new();
        for (row, action) in rows.iter().zip(&actions) {
            let Some((row, current)) = row else { continue };
            let assessment_id = row
                .assessment
                .as_ref()
                .and_then(|t| assessment_ids.get(&(row.subject, row.term, t.clone())))
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
                .map(|(row, assessment)| new_grade(row, *assessment))
                .collect();
            tx.insert_many(models).await?;
            progress.advance(n);
        }
    }
    Ok((problems.outcome(&actions, written), written))
}

fn apply(current: &mut grade::Model, row: &Row) {
    current.score = row.score;
    current.max_score = row.max_score;
    current.graded_on = row.graded_on;
    if row.category.is_some() {
        current.category = row.category;
        current.is_final = row.category == Some(GradeCategory::Final);
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
