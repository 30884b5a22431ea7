//! classes.csv → classes.

use std::collections::HashMap;

use entity::class;
use entity::enums::ClassKind;
use entity::ids::ClassId;
use sea_orm::DbErr;

use super::Run;
use super::Session;
use super::index::Index;
use super::index::record;
use super::sheet::Sheet;
use super::sheet::grade_level;
use super::sheet::list;
use crate::imports::{RowAction, table::header_key};

/// The classes file while it is checked, with the school's classes.
struct Classes<'a> {
    sheet: Sheet<'a>,
    seen: HashMap<String, usize>,
    keys: HashMap<String, usize>,
    index: Index<class::Model>,
}

/// Classes.
pub(super) async fn check(run: &mut Run<'_>) -> Result<(), DbErr> {
    let tx = run.tx;
    let index = Index::new(
        tx.all(tx.find::<class::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(format!("{}/{}", m.academic_year_id, header_key(&m.name))),
    );
    run.classes = index
        .models
        .iter()
        .map(|c| {
            (
                c.external_id.clone().unwrap_or_else(|| c.id.to_string()),
                (c.id, c.kind, c.subject_id),
            )
        })
        .collect();
    let mut file = Classes {
        sheet: Sheet::new(run.source, "classes.csv"),
        seen: HashMap::new(),
        keys: HashMap::new(),
        index,
    };
    for i in 0..file.sheet.height() {
        file.row(run, i);
    }
    run.done(file.sheet);
    Ok(())
}

impl Classes<'_> {
    /// One class row (another school's is skipped).
    fn row(&mut self, run: &mut Run<'_>, i: usize) {
        let now = run.now;
        if self.sheet.cell("schoolSourcedId", i) != Some(run.org.as_str()) {
            self.sheet.act(i, RowAction::Skipped);
            return;
        }
        let Some(sourced) = self.sheet.sourced_id(i, &mut self.seen) else {
            return;
        };
        if self.sheet.deleted(i) {
            let action = run.plan.classes.retire(&self.index, &sourced, now);
            self.sheet.act(i, action);
            return;
        }
        let name = self.sheet.name(i, "title");
        let kind = match self.sheet.cell("classType", i) {
            Some("homeroom") => Some(ClassKind::Homeroom),
            Some("scheduled") => Some(ClassKind::Scheduled),
            _ => {
                self.sheet.bad(
                    i,
                    "classType",
                    "INVALID_VALUE",
                    "must be homeroom or scheduled",
                );
                None
            }
        };
        let subject = match self.sheet.required(i, "courseSourcedId") {
            Some(c) => match run.courses.get(c) {
                Some(s) => Some(*s),
                None => {
                    self.sheet.bad(
                        i,
                        "courseSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{c} is no valid course of this package or school"),
                    );
                    None
                }
            },
            None => None,
        };
        let year = {
            let terms_of = list(self.sheet.cell("termSourcedIds", i));
            let year = terms_of.iter().find_map(|t| match run.sessions.get(*t) {
                Some(Session::Year(y) | Session::Term(_, y)) => Some(*y),
                None => None,
            });
            if year.is_none() {
                self.sheet.bad(
                    i,
                    "termSourcedIds",
                    "UNKNOWN_REFERENCE",
                    "names no valid academic session of this package or school",
                );
            }
            year
        };
        let grade = match self.sheet.cell("grades", i).map(|g| list(Some(g))) {
            Some(g) if !g.is_empty() => self.sheet.take(i, "grades", grade_level(g[0])).map(Some),
            _ => Some(None),
        };
        let (Some(name), Some(kind), Some(subject), Some(year), Some(grade)) =
            (name, kind, subject, year, grade)
        else {
            return;
        };
        let key = format!("{year}/{}", header_key(&name));
        let Some(current) = self.sheet.target(
            i,
            (&mut self.keys, key),
            (&self.index, &sourced),
            "title",
            (
                "row {} has a class of this title in the same year",
                "another class of that year has this title",
            ),
        ) else {
            return;
        };
        let next = record!(class::Model, ClassId, current, (run.tx.school_id(), now, &sourced), {
            academic_year_id: year,
            name,
            kind,
            grade_level: grade,
            subject_id: subject,
        });
        let id = next.id;
        let action = run
            .plan
            .classes
            .decide(current, next, |m| m.updated_at = now);
        run.classes.insert(sourced, (id, kind, subject));
        self.sheet.act(i, action);
    }
}
