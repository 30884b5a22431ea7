//! results.csv → grades.

use std::collections::HashMap;

use entity::enums::GradeCategory;
use entity::enums::RecordStatus;
use entity::grade;
use entity::ids::ClassId;
use entity::ids::GradeId;
use entity::ids::StudentId;
use entity::ids::TeacherId;
use sea_orm::DbErr;

use super::Run;
use super::assessments::Items;
use super::index::Index;
use super::index::external_id;
use super::sheet::Sheet;
use super::sheet::flag;
use crate::imports::{RowAction, parse};

/// The results file while it is checked, with the school's grades and the package's line items.
struct Results<'a> {
    sheet: Sheet<'a>,
    seen: HashMap<String, usize>,
    /// `student/subject/term/assessment` keys of the file, by the row that has them.
    keys: HashMap<String, usize>,
    index: Index<grade::Model>,
    items: Items,
}

/// Results → grades.
pub(super) async fn check(run: &mut Run<'_>, items: Items) -> Result<(), DbErr> {
    let tx = run.tx;
    let existing = tx.all(tx.find::<grade::Entity>()).await?;
    let index = Index::new(
        existing,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| {
            m.assessment_id
                .map(|a| format!("{}/{}/{}/{a}", m.student_id, m.subject_id, m.term_id))
        },
    );
    let mut file = Results {
        sheet: Sheet::new(run.source, "results.csv"),
        seen: HashMap::new(),
        keys: HashMap::new(),
        index,
        items,
    };
    for i in 0..file.sheet.height() {
        file.row(run, i);
    }
    run.done(file.sheet);
    Ok(())
}

impl Results<'_> {
    /// One result row (one of another org's line item is skipped).
    fn row(&mut self, run: &mut Run<'_>, i: usize) {
        let now = run.now;
        if self
            .sheet
            .cell("lineItemSourcedId", i)
            .is_some_and(|l| self.items.foreign.contains(l))
        {
            self.sheet.act(i, RowAction::Skipped);
            return;
        }
        let item = self
            .sheet
            .cell("lineItemSourcedId", i)
            .and_then(|l| self.items.items.get(l).copied());
        if item.is_none() && self.sheet.cell("lineItemSourcedId", i).is_some() {
            // A line item of another org, or one that failed: the row cannot be placed.
            let l = self.sheet.cell("lineItemSourcedId", i).unwrap_or_default();
            self.sheet.bad(
                i,
                "lineItemSourcedId",
                "UNKNOWN_REFERENCE",
                format!("{l} is no valid line item of this package or school"),
            );
        }
        let Some(sourced) = self.sheet.sourced_id(i, &mut self.seen) else {
            return;
        };
        if self.sheet.deleted(i) {
            let action = run.plan.grades.retire(&self.index, &sourced, now);
            self.sheet.act(i, action);
            return;
        }
        let student = self.student(run, i);
        let Some((assessment, subject, term, item_class, item_category, item_max)) = item else {
            return;
        };
        let max_score = self.max_score(i, item_max);
        let Ok(score) = self.score(i, max_score, item_max) else {
            return;
        };
        let graded_on = self.sheet.date(i, "scoreDate").flatten();
        if self.sheet.cell("scoreDate", i).is_none() {
            self.sheet
                .bad(i, "scoreDate", "REQUIRED", "must not be empty");
        }
        let class_id = self.class(run, i, item_class);
        let teacher_id = self.teacher(run, i);
        let category = self.category(i, item_category);
        let (
            Some(student),
            Some(score),
            Some(max_score),
            Some(graded_on),
            Some(class_id),
            Some(teacher_id),
            Some(category),
        ) = (
            student, score, max_score, graded_on, class_id, teacher_id, category,
        )
        else {
            return;
        };
        let is_final = match self.sheet.cell("metadata.sds.isFinal", i) {
            Some(f) => flag(Some(f)),
            None => category == Some(GradeCategory::Final),
        };
        let key = assessment.map(|a| format!("{student}/{subject}/{term}/{a}"));
        if let Some(key) = &key
            && let Some(first) = self.keys.insert(key.clone(), i)
        {
            self.sheet.bad(
                i,
                "studentSourcedId",
                "DUPLICATE_ROW",
                format!(
                    "row {} grades the same student on the same line item",
                    first + 2
                ),
            );
            return;
        }
        let Ok(current) = self.index.find(&sourced, key.as_deref()) else {
            self.sheet.bad(
                i,
                "sourcedId",
                "CONFLICT",
                "names another grade of this school",
            );
            return;
        };
        let next = grade::Model {
            school_id: run.tx.school_id(),
            id: current.map_or_else(GradeId::generate, |c| c.id),
            created_at: current.map_or(now, |c| c.created_at),
            updated_at: current.map_or(now, |c| c.updated_at),
            external_id: external_id(current, &sourced),
            status: RecordStatus::Active,
            student_id: student,
            subject_id: subject,
            term_id: term,
            assessment_id: assessment,
            class_id,
            teacher_id,
            category,
            score,
            max_score,
            graded_on,
            is_final,
            comment: self.sheet.field("comment", i).map_or_else(
                || current.and_then(|c| c.comment.clone()),
                |c| c.map(str::to_owned),
            ),
        };
        let action = run
            .plan
            .grades
            .decide(current, next, |m| m.updated_at = now);
        self.sheet.act(i, action);
    }

    /// The graded student (required).
    fn student(&mut self, run: &Run<'_>, i: usize) -> Option<StudentId> {
        match self.sheet.required(i, "studentSourcedId") {
            Some(s) => match run.students.get(s) {
                Some(id) => Some(*id),
                None => {
                    self.sheet.bad(
                        i,
                        "studentSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{s} is no valid student of this package or school"),
                    );
                    None
                }
            },
            None => None,
        }
    }

    /// The grade's highest score: the row's, else its line item's.
    fn max_score(&mut self, i: usize, item_max: f64) -> Option<f64> {
        match self.sheet.cell("metadata.sds.maxScore", i) {
            None => Some(item_max),
            Some(m) => parse::number(m).filter(|m| *m > 0.0).or_else(|| {
                self.sheet.bad(
                    i,
                    "metadata.sds.maxScore",
                    "INVALID_NUMBER",
                    "must be a number above 0",
                );
                None
            }),
        }
    }

    /// The score, `None` when it is no number from 0 to the highest score; `Err` when the row
    /// has none (then the row is done: skipped when its status says exempt or not submitted,
    /// else failed).
    fn score(
        &mut self,
        i: usize,
        max_score: Option<f64>,
        item_max: f64,
    ) -> Result<Option<f64>, ()> {
        match self.sheet.cell("score", i) {
            None => {
                if matches!(
                    self.sheet.cell("scoreStatus", i),
                    Some("exempt" | "not submitted")
                ) {
                    self.sheet.act(i, RowAction::Skipped);
                } else {
                    self.sheet
                        .bad(i, "score", "REQUIRED", "a graded result needs a score");
                }
                Err(())
            }
            Some(s) => Ok(match (parse::number(s), max_score) {
                (Some(s), Some(m)) if (0.0..=m).contains(&s) => Some(s),
                _ => {
                    self.sheet.bad(
                        i,
                        "score",
                        "OUT_OF_RANGE",
                        format!(
                            "must be a number from 0 to {}",
                            max_score.unwrap_or(item_max)
                        ),
                    );
                    None
                }
            }),
        }
    }

    /// The grade's class: the row's (which may clear it), else its line item's.
    fn class(
        &mut self,
        run: &Run<'_>,
        i: usize,
        item_class: Option<ClassId>,
    ) -> Option<Option<ClassId>> {
        match self.sheet.field("classSourcedId", i) {
            None => Some(item_class),
            Some(None) => Some(None),
            Some(Some(c)) => match run.classes.get(c) {
                Some((id, _, _)) => Some(Some(*id)),
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

    /// The grading teacher, if the row names one.
    fn teacher(&mut self, run: &Run<'_>, i: usize) -> Option<Option<TeacherId>> {
        match self.sheet.cell("metadata.sds.teacherSourcedId", i) {
            None => Some(None),
            Some(t) => match run.teachers.get(t) {
                Some(id) => Some(Some(*id)),
                None => {
                    self.sheet.bad(
                        i,
                        "metadata.sds.teacherSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{t} is no valid teacher of this package or school"),
                    );
                    None
                }
            },
        }
    }

    /// The grade's category: the row's (which may clear it), else its line item's.
    fn category(
        &mut self,
        i: usize,
        item_category: Option<GradeCategory>,
    ) -> Option<Option<GradeCategory>> {
        match self.sheet.field("metadata.sds.category", i) {
            None => Some(item_category),
            Some(None) => Some(None),
            Some(Some(c)) => match crate::imports::grades::category(c) {
                Some(c) => Some(Some(c)),
                None => {
                    self.sheet.bad(
                        i,
                        "metadata.sds.category",
                        "UNKNOWN_CATEGORY",
                        "must be exam, quiz, homework, project or final",
                    );
                    None
                }
            },
        }
    }
}
