//! What a grades file refers to, looked up once per import: the school's students, subjects,
//! terms (by name, and those holding a date) and assessments, and its grades by natural key.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::assessment;
use entity::enums::RecordStatus;
use entity::grade;
use entity::ids::*;
use entity::student;
use entity::subject;
use entity::tenant::TenantTx;
use entity::term;
use sea_orm::{ColumnTrait, DbErr};

use super::Key;
use super::LOOKUP_CHUNK;
use crate::imports::Problems;
use crate::imports::table::Table;
use crate::imports::table::header_key;
use crate::rules;

/// What the school has that a grades file refers to.
pub(crate) struct Known {
    pub(super) students: HashMap<String, StudentId>,
    pub(super) subjects: HashMap<String, SubjectId>,
    /// The school's terms in use.
    pub(super) terms: Vec<term::Model>,
    /// The terms by name (as [`header_key`] makes it): indices into `terms`.
    pub(super) terms_by_name: HashMap<String, Vec<usize>>,
    /// The terms holding a date, once worked out for that date: indices into `terms`.
    pub(super) holding: std::sync::Mutex<HashMap<NaiveDate, Vec<usize>>>,
    pub(super) assessments: HashMap<(SubjectId, TermId, String), assessment::Model>,
}

impl Known {
    pub(super) async fn load(tx: &TenantTx) -> Result<Self, DbErr> {
        let students = tx
            .all(tx.find::<student::Entity>())
            .await?
            .into_iter()
            .map(|s| (s.student_tz, s.id))
            .collect();
        let mut subjects = HashMap::new();
        for s in tx.all(tx.find::<subject::Entity>()).await? {
            if let Some(code) = &s.code {
                subjects.insert(header_key(code), s.id);
            }
            subjects.insert(header_key(&s.name), s.id);
        }
        let terms: Vec<term::Model> = tx
            .all(
                tx.find::<term::Entity>()
                    .filter(term::Column::Status.eq(RecordStatus::Active)),
            )
            .await?;
        let mut terms_by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in terms.iter().enumerate() {
            terms_by_name
                .entry(header_key(&t.name))
                .or_default()
                .push(i);
        }
        let assessments = tx
            .all(tx.find::<assessment::Entity>())
            .await?
            .into_iter()
            .map(|a| ((a.subject_id, a.term_id, header_key(&a.title)), a))
            .collect();
        Ok(Self {
            students,
            subjects,
            terms,
            terms_by_name,
            holding: std::sync::Mutex::default(),
            assessments,
        })
    }

    /// The grades this file can match: those of its students, or with its external ids, in id
    /// order.
    pub(super) async fn grades(
        &self,
        tx: &TenantTx,
        table: &Table,
    ) -> Result<Vec<grade::Model>, DbErr> {
        let file_students = crate::imports::students_in(table, &self.students);
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
        Ok(existing)
    }
}

/// The school's grades, findable by natural key and by external id.
pub(crate) struct Index<'a> {
    pub(super) by_key: HashMap<Key, &'a grade::Model>,
    pub(super) by_external: HashMap<&'a str, &'a grade::Model>,
}

impl<'a> Index<'a> {
    pub(super) fn new(known: &Known, existing: &'a [grade::Model]) -> Self {
        let titles: HashMap<AssessmentId, String> = known
            .assessments
            .iter()
            .map(|((_, _, title), a)| (a.id, title.clone()))
            .collect();
        let mut by_key = HashMap::new();
        let mut by_external = HashMap::new();
        for g in existing {
            let key = match g.assessment_id.and_then(|a| titles.get(&a).cloned()) {
                Some(title) => Key::Assessment(g.student_id, g.subject_id, g.term_id, title),
                None => Key::Dated(g.student_id, g.subject_id, g.graded_on, g.category),
            };
            by_key.entry(key).or_insert(g);
            if let Some(ext) = &g.external_id {
                by_external.insert(ext.as_str(), g);
            }
        }
        Self {
            by_key,
            by_external,
        }
    }
}

/// The subject a row names, by name or code.
pub(crate) fn subject_of(
    known: &Known,
    table: &Table,
    i: usize,
    problems: &mut Problems,
) -> Option<SubjectId> {
    let Some(text) = table.cell("subject", i) else {
        problems.add(i, "subject", "REQUIRED", "the subject is missing");
        return None;
    };
    let id = known.subjects.get(&header_key(text)).copied();
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

/// The term a row names; when several years have one of that name, the one holding the date.
pub(crate) fn term_of<'k>(
    known: &'k Known,
    table: &Table,
    i: usize,
    graded_on: Option<NaiveDate>,
    problems: &mut Problems,
) -> Option<&'k term::Model> {
    let Some(text) = table.cell("term", i) else {
        return graded_on.and_then(|date| term_holding(known, i, date, problems));
    };
    let named: Vec<&term::Model> = known
        .terms_by_name
        .get(&header_key(text))
        .map(|at| at.iter().map(|i| &known.terms[*i]).collect())
        .unwrap_or_default();
    let holding = graded_on.and_then(|d| {
        named
            .iter()
            .find(|t| rules::date_in_term(d, t.start_date, t.end_date).is_ok())
            .copied()
    });
    match (named.as_slice(), holding, graded_on) {
        ([], _, _) => {
            problems.add(
                i,
                "term",
                "UNKNOWN_TERM",
                format!("the school has no term named {text}"),
            );
            None
        }
        (_, Some(t), _) => Some(t),
        ([only], None, Some(date)) => {
            problems.take(
                i,
                "date",
                rules::date_in_term(date, only.start_date, only.end_date),
            );
            None
        }
        (_, None, Some(_)) => {
            problems.add(
                i,
                "date",
                "DATE_OUTSIDE_TERM",
                format!("no term named {text} holds this date"),
            );
            None
        }
        (_, None, None) => None,
    }
}

/// The one term of the school that holds `date` (a row without a term names none).
pub(crate) fn term_holding<'k>(
    known: &'k Known,
    i: usize,
    date: NaiveDate,
    problems: &mut Problems,
) -> Option<&'k term::Model> {
    let at: Vec<usize> = known
        .holding
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(date)
        .or_insert_with(|| {
            (0..known.terms.len())
                .filter(|&k| {
                    let t = &known.terms[k];
                    rules::date_in_term(date, t.start_date, t.end_date).is_ok()
                })
                .collect()
        })
        .clone();
    let holding: Vec<&term::Model> = at.iter().map(|k| &known.terms[*k]).collect();
    match holding.as_slice() {
        [only] => Some(only),
        [] => {
            problems.add(
                i,
                "date",
                "DATE_OUTSIDE_TERM",
                format!("no term of the school holds {date}; add a term column or the term"),
            );
            None
        }
        [..] => {
            problems.add(
                i,
                "date",
                "AMBIGUOUS_TERM",
                format!("{date} falls in {} terms; add a term column", holding.len()),
            );
            None
        }
    }
}
