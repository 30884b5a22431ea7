//! categories.csv → our grade categories, and lineItems.csv → assessments.

use std::collections::{HashMap, HashSet};

use entity::assessment;
use entity::enums::ClassKind;
use entity::enums::GradeCategory;
use entity::ids::AssessmentId;
use entity::ids::ClassId;
use entity::ids::SubjectId;
use entity::ids::TermId;
use sea_orm::DbErr;

use super::Run;
use super::Session;
use super::index::Index;
use super::index::record;
use super::sheet::Sheet;
use super::sheet::flag;
use crate::imports::{RowAction, parse, table::header_key};

/// A line item: (assessment, subject, term, class, category, max score).
pub(super) type Item = (
    Option<AssessmentId>,
    SubjectId,
    TermId,
    Option<ClassId>,
    Option<GradeCategory>,
    f64,
);

/// What the line items leave for the results.
pub(super) struct Items {
    /// sourcedId → (assessment, subject, term, class, category, max score)
    pub(super) items: HashMap<String, Item>,
    /// Line items of other orgs: their results are skipped too.
    pub(super) foreign: HashSet<String>,
}

/// Categories → our grade categories, by title.
pub(super) fn categories(run: &mut Run<'_>) -> HashMap<String, GradeCategory> {
    let mut categories: HashMap<String, GradeCategory> = [
        ("exam", GradeCategory::Exam),
        ("quiz", GradeCategory::Quiz),
        ("homework", GradeCategory::Homework),
        ("project", GradeCategory::Project),
        ("final", GradeCategory::Final),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut sheet = Sheet::new(run.source, "categories.csv");
    for i in 0..sheet.height() {
        let (Some(sourced), Some(title)) = (sheet.cell("sourcedId", i), sheet.cell("title", i))
        else {
            sheet.bad(
                i,
                "title",
                "REQUIRED",
                "a category needs a sourcedId and a title",
            );
            continue;
        };
        match crate::imports::grades::category(title) {
            Some(c) => {
                categories.insert(sourced.to_owned(), c);
            }
            None => sheet.bad(
                i,
                "title",
                "UNKNOWN_CATEGORY",
                "must be exam, quiz, homework, project or final",
            ),
        }
    }
    // Categories are a vocabulary, not records: only their problems count.
    let (_, problems) = sheet.finish();
    run.sheets.push((Vec::new(), problems, "categories.csv"));
    categories
}

/// The line items file while it is checked, with the school's assessments.
struct LineItems<'a> {
    sheet: Sheet<'a>,
    seen: HashMap<String, usize>,
    keys: HashMap<String, usize>,
    index: Index<assessment::Model>,
    categories: HashMap<String, GradeCategory>,
    items: HashMap<String, Item>,
    foreign: HashSet<String>,
}

/// Line items → assessments (a "virtual" one of ours carries grades without an assessment).
pub(super) async fn line_items(
    run: &mut Run<'_>,
    categories: HashMap<String, GradeCategory>,
) -> Result<Items, DbErr> {
    let tx = run.tx;
    let index = Index::new(
        tx.all(tx.find::<assessment::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| {
            Some(format!(
                "{}/{}/{}",
                m.subject_id,
                m.term_id,
                header_key(&m.title)
            ))
        },
    );
    let items: HashMap<String, Item> = index
        .models
        .iter()
        .map(|a| {
            (
                a.external_id.clone().unwrap_or_else(|| a.id.to_string()),
                (
                    Some(a.id),
                    a.subject_id,
                    a.term_id,
                    a.class_id,
                    Some(a.category),
                    a.max_score,
                ),
            )
        })
        .collect();
    let mut file = LineItems {
        sheet: Sheet::new(run.source, "lineItems.csv"),
        seen: HashMap::new(),
        keys: HashMap::new(),
        index,
        categories,
        items,
        foreign: HashSet::new(),
    };
    for i in 0..file.sheet.height() {
        file.row(run, i);
    }
    run.done(file.sheet);
    Ok(Items {
        items: file.items,
        foreign: file.foreign,
    })
}

impl LineItems<'_> {
    /// One line item row (another school's is skipped, and so are its results).
    fn row(&mut self, run: &mut Run<'_>, i: usize) {
        let now = run.now;
        if self
            .sheet
            .cell("schoolSourcedId", i)
            .is_some_and(|s| s != run.org.as_str())
        {
            self.foreign
                .extend(self.sheet.cell("sourcedId", i).map(str::to_owned));
            self.sheet.act(i, RowAction::Skipped);
            return;
        }
        let Some(sourced) = self.sheet.sourced_id(i, &mut self.seen) else {
            return;
        };
        if self.sheet.deleted(i) {
            let action = run.plan.assessments.retire(&self.index, &sourced, now);
            self.sheet.act(i, action);
            return;
        }
        let title = self.sheet.name(i, "title");
        let term = self.term(run, i);
        let class = self.class(run, i);
        let subject = match self.sheet.cell("metadata.sds.subjectSourcedId", i) {
            Some(c) => run.courses.get(c).copied().flatten(),
            None => class.flatten().and_then(|(_, _, s)| s),
        };
        if subject.is_none() && class.is_some() {
            self.sheet.bad(
                i,
                "classSourcedId",
                "NO_SUBJECT",
                "the line item's class teaches no known subject",
            );
        }
        let category = self.category(i);
        let max_score = self.max_score(i);
        let date = self.sheet.date(i, "assignDate");
        let (
            Some(title),
            Some(term),
            Some(class),
            Some(subject),
            Some(category),
            Some(max_score),
            Some(date),
        ) = (title, term, class, subject, category, max_score, date)
        else {
            return;
        };
        let class_id = class.map(|(id, _, _)| id);
        if flag(self.sheet.cell("metadata.sds.virtual", i)) {
            self.items.insert(
                sourced,
                (None, subject, term, class_id, category, max_score),
            );
            self.sheet.act(i, RowAction::Unchanged);
            return;
        }
        let key = format!("{subject}/{term}/{}", header_key(&title));
        let Some(current) = self.sheet.target(
            i,
            (&mut self.keys, key),
            (&self.index, &sourced),
            "title",
            (
                "row {} has an assessment of this title for the same subject and term",
                "another assessment of this subject and term has this title",
            ),
        ) else {
            return;
        };
        let category = category
            .or(current.map(|c| c.category))
            .unwrap_or(GradeCategory::Exam);
        let next = record!(assessment::Model, AssessmentId, current, (run.tx.school_id(), now, &sourced), {
            subject_id: subject,
            term_id: term,
            class_id,
            title,
            category,
            max_score,
            assessment_date: date,
        });
        let id = next.id;
        let action = run
            .plan
            .assessments
            .decide(current, next, |m| m.updated_at = now);
        self.items.insert(
            sourced,
            (Some(id), subject, term, class_id, Some(category), max_score),
        );
        self.sheet.act(i, action);
    }

    /// The line item's term (required).
    fn term(&mut self, run: &Run<'_>, i: usize) -> Option<TermId> {
        match self.sheet.required(i, "academicSessionSourcedId") {
            Some(s) => match run.sessions.get(s) {
                Some(Session::Term(t, _)) => Some(*t),
                _ => {
                    self.sheet.bad(
                        i,
                        "academicSessionSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{s} is no valid term of this package or school"),
                    );
                    None
                }
            },
            None => None,
        }
    }

    /// The line item's class, if it names one.
    fn class(
        &mut self,
        run: &Run<'_>,
        i: usize,
    ) -> Option<Option<(ClassId, ClassKind, Option<SubjectId>)>> {
        match self.sheet.cell("classSourcedId", i) {
            None => Some(None),
            Some(c) => match run.classes.get(c) {
                Some(found) => Some(Some(*found)),
                None => {
                    self.sheet.bad(
                        i,
                        "classSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{c} is no valid class of this package or school"),
                    );
                    None
                }
            },
        }
    }

    /// The line item's category, if it names one.
    fn category(&mut self, i: usize) -> Option<Option<GradeCategory>> {
        match self.sheet.cell("categorySourcedId", i) {
            None => Some(None),
            Some(c) => match self.categories.get(c) {
                Some(found) => Some(Some(*found)),
                None => {
                    self.sheet.bad(
                        i,
                        "categorySourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{c} is no category of this package"),
                    );
                    None
                }
            },
        }
    }

    /// The line item's highest score (100 unless it says).
    fn max_score(&mut self, i: usize) -> Option<f64> {
        match self.sheet.cell("resultValueMax", i) {
            None => Some(100.0),
            Some(m) => match parse::number(m).filter(|m| *m > 0.0) {
                Some(m) => Some(m),
                None => {
                    self.sheet.bad(
                        i,
                        "resultValueMax",
                        "INVALID_NUMBER",
                        "must be a number above 0",
                    );
                    None
                }
            },
        }
    }
}
