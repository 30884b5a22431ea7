//! academicSessions.csv → academic years and terms.

use std::collections::HashMap;

use entity::academic_year;
use entity::ids::AcademicYearId;
use entity::ids::TermId;
use entity::term;
use sea_orm::DbErr;

use super::Run;
use super::Session;
use super::index::Index;
use super::index::record;
use super::sheet::Sheet;
use super::sheet::flag;
use crate::imports::{parse, table::header_key};

/// The academic sessions file while it is checked, with the school's years and terms.
struct Sessions<'a> {
    sheet: Sheet<'a>,
    seen: HashMap<String, usize>,
    keys: HashMap<String, usize>,
    years: Index<academic_year::Model>,
    terms: Index<term::Model>,
    /// The years the file says are current, in row order.
    current_years: Vec<AcademicYearId>,
}

/// Academic sessions: school years first, then terms (their year by parent or school year).
pub(super) async fn check(run: &mut Run<'_>) -> Result<(), DbErr> {
    let tx = run.tx;
    let years = Index::new(
        tx.all(tx.find::<academic_year::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(header_key(&m.name)),
    );
    let terms = Index::new(
        tx.all(tx.find::<term::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(format!("{}/{}", m.academic_year_id, header_key(&m.name))),
    );
    for y in &years.models {
        run.sessions.insert(
            y.external_id.clone().unwrap_or_else(|| y.id.to_string()),
            Session::Year(y.id),
        );
    }
    for t in &terms.models {
        run.sessions.insert(
            t.external_id.clone().unwrap_or_else(|| t.id.to_string()),
            Session::Term(t.id, t.academic_year_id),
        );
    }
    let sheet = Sheet::new(run.source, "academicSessions.csv");
    let (year_rows, term_rows): (Vec<usize>, Vec<usize>) =
        (0..sheet.height()).partition(|i| sheet.cell("type", *i) == Some("schoolYear"));
    let mut file = Sessions {
        sheet,
        seen: HashMap::new(),
        keys: HashMap::new(),
        years,
        terms,
        current_years: Vec::new(),
    };
    // Pass 1: years.
    for i in year_rows {
        file.year(run, i);
    }
    file.one_current_year(run);
    // Pass 2: terms.
    let year_of_school_year: HashMap<i32, AcademicYearId> = run
        .plan
        .years
        .inserts
        .iter()
        .chain(&run.plan.years.updates)
        .chain(&file.years.models)
        .map(|y| (chrono::Datelike::year(&y.end_date), y.id))
        .collect();
    for i in term_rows {
        file.term(run, i, &year_of_school_year);
    }
    run.done(file.sheet);
    Ok(())
}

impl Sessions<'_> {
    /// A school year row.
    fn year(&mut self, run: &mut Run<'_>, i: usize) {
        let now = run.now;
        let Some(sourced) = self.sheet.sourced_id(i, &mut self.seen) else {
            return;
        };
        if self.sheet.deleted(i) {
            let action = run.plan.years.retire(&self.years, &sourced, now);
            self.sheet.act(i, action);
            return;
        }
        let name = self.sheet.name(i, "title");
        let start = self.sheet.date(i, "startDate").flatten();
        let end = self.sheet.date(i, "endDate").flatten();
        if self.sheet.cell("startDate", i).is_none() {
            self.sheet
                .bad(i, "startDate", "REQUIRED", "must not be empty");
        }
        if self.sheet.cell("endDate", i).is_none() {
            self.sheet
                .bad(i, "endDate", "REQUIRED", "must not be empty");
        }
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            self.sheet
                .bad(i, "endDate", "INVALID_RANGE", "ends before it starts");
        }
        let (Some(name), Some(start), Some(end)) = (name, start, end) else {
            return;
        };
        let key = header_key(&name);
        let Some(current) = self.sheet.target(
            i,
            (&mut self.keys, key),
            (&self.years, &sourced),
            "title",
            (
                "another school year on row {} has this title",
                "another school year of this school has this title",
            ),
        ) else {
            return;
        };
        let is_current = self
            .sheet
            .field("metadata.sds.isCurrent", i)
            .map_or(current.is_some_and(|c| c.is_current), flag);
        let next = record!(academic_year::Model, AcademicYearId, current, (run.tx.school_id(), now, &sourced), {
            name,
            start_date: start,
            end_date: end,
            is_current,
        });
        let id = next.id;
        if is_current {
            self.current_years.push(id);
        }
        let action = run.plan.years.decide(current, next, |m| m.updated_at = now);
        run.sessions.insert(sourced, Session::Year(id));
        self.sheet.act(i, action);
    }

    /// One current year per school: a file that names one makes the others not current.
    fn one_current_year(&self, run: &mut Run<'_>) {
        let now = run.now;
        if let Some(current) = self.current_years.last() {
            for y in self
                .years
                .models
                .iter()
                .filter(|y| y.is_current && y.id != *current)
            {
                if run.plan.years.updates.iter().any(|u| u.id == y.id) {
                    for u in run.plan.years.updates.iter_mut().filter(|u| u.id == y.id) {
                        u.is_current = false;
                    }
                } else {
                    run.plan.years.updates.push(academic_year::Model {
                        is_current: false,
                        updated_at: now,
                        ..y.clone()
                    });
                }
            }
        }
    }

    /// A term row (also a semester or grading period).
    fn term(
        &mut self,
        run: &mut Run<'_>,
        i: usize,
        year_of_school_year: &HashMap<i32, AcademicYearId>,
    ) {
        let now = run.now;
        let Some(sourced) = self.sheet.sourced_id(i, &mut self.seen) else {
            return;
        };
        if self.sheet.deleted(i) {
            let action = run.plan.terms.retire(&self.terms, &sourced, now);
            self.sheet.act(i, action);
            return;
        }
        match self.sheet.cell("type", i) {
            Some("term" | "semester" | "gradingPeriod") => {}
            _ => self.sheet.bad(
                i,
                "type",
                "INVALID_VALUE",
                "must be schoolYear, term, semester or gradingPeriod",
            ),
        }
        let name = self.sheet.name(i, "title");
        let start = self.sheet.date(i, "startDate").flatten();
        let end = self.sheet.date(i, "endDate").flatten();
        for column in ["startDate", "endDate"] {
            if self.sheet.cell(column, i).is_none() {
                self.sheet.bad(i, column, "REQUIRED", "must not be empty");
            }
        }
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            self.sheet
                .bad(i, "endDate", "INVALID_RANGE", "ends before it starts");
        }
        // The year: the parent session (or its year), else the school year it ends in.
        let year = match self.sheet.cell("parentSourcedId", i) {
            Some(parent) => match run.sessions.get(parent) {
                Some(Session::Year(y) | Session::Term(_, y)) => Some(*y),
                None => {
                    self.sheet.bad(
                        i,
                        "parentSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{parent} is no school year of this package or school"),
                    );
                    None
                }
            },
            None => {
                let year = self
                    .sheet
                    .cell("schoolYear", i)
                    .and_then(parse::integer)
                    .and_then(|y| year_of_school_year.get(&y).copied());
                if year.is_none() {
                    self.sheet.bad(
                        i,
                        "schoolYear",
                        "UNKNOWN_REFERENCE",
                        "the session names no parent, and no school year ends in its schoolYear",
                    );
                }
                year
            }
        };
        let (Some(name), Some(start), Some(end), Some(year)) = (name, start, end, year) else {
            return;
        };
        let key = format!("{year}/{}", header_key(&name));
        let Some(current) = self.sheet.target(
            i,
            (&mut self.keys, key),
            (&self.terms, &sourced),
            "title",
            (
                "row {} has a term of this title in the same year",
                "another term of that year has this title",
            ),
        ) else {
            return;
        };
        let next = record!(term::Model, TermId, current, (run.tx.school_id(), now, &sourced), {
            academic_year_id: year,
            name,
            start_date: start,
            end_date: end,
        });
        let id = next.id;
        let action = run.plan.terms.decide(current, next, |m| m.updated_at = now);
        run.sessions.insert(sourced, Session::Term(id, year));
        self.sheet.act(i, action);
    }
}
