//! Grades read with only the columns a query selects.
//!
//! A page of 42,000 grades that asks for `score` and `subject { name }` needs three of the
//! table's eighteen columns; decoding the rest (timestamps, texts, five ids) was a fifth of the
//! request. When a `grades` list's selection is plain (see [`crate::graphql::flat`]) and reads
//! only the fields below, its rows come from [`GradeLines`], which selects just those columns
//! and decodes them by position.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{ScalarType, Value, dataloader::Loader, resolver_utils::enum_value};
use chrono::NaiveDate;
use entity::{enums::GradeCategory, grade, ids::*};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, Order, QueryResult};

use crate::graphql::flat::{Flat, Pick, or_null};
use crate::graphql::loaders::LoadError;

/// Which of the optional columns a selection reads (a set of bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Columns(u8);

impl Columns {
    const ID: u8 = 1;
    const SUBJECT: u8 = 1 << 1;
    const SCORE: u8 = 1 << 2;
    const MAX_SCORE: u8 = 1 << 3;
    const CATEGORY: u8 = 1 << 4;
    const GRADED_ON: u8 = 1 << 5;
    const IS_FINAL: u8 = 1 << 6;

    /// The columns `picks` read, or `None` when a pick needs more than a grade line holds (or
    /// the subject is selected twice, which the one pass leaves to the executor).
    pub fn of(picks: &[Pick<'_>]) -> Option<Self> {
        if crate::graphql::flat::selections_of(picks, "subject") > 1 {
            return None;
        }
        let mut bits = 0;
        for pick in picks {
            bits |= match pick {
                Pick::Typename(_) => 0,
                Pick::Own(_, name) => match *name {
                    "id" => Self::ID,
                    "score" => Self::SCORE,
                    "maxScore" => Self::MAX_SCORE,
                    "normalizedScore" => Self::SCORE | Self::MAX_SCORE,
                    "category" => Self::CATEGORY,
                    "gradedOn" => Self::GRADED_ON,
                    "isFinal" => Self::IS_FINAL,
                    _ => return None,
                },
                Pick::Nested(_, "subject", _) => Self::SUBJECT,
                Pick::Nested(..) => return None,
            };
        }
        Some(Self(bits))
    }

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// The table's columns, in the order a line is decoded: the student first.
    fn list(self) -> Vec<grade::Column> {
        let mut out = vec![grade::Column::StudentId];
        for (bit, column) in [
            (Self::ID, grade::Column::Id),
            (Self::SUBJECT, grade::Column::SubjectId),
            (Self::SCORE, grade::Column::Score),
            (Self::MAX_SCORE, grade::Column::MaxScore),
            (Self::CATEGORY, grade::Column::Category),
            (Self::GRADED_ON, grade::Column::GradedOn),
            (Self::IS_FINAL, grade::Column::IsFinal),
        ] {
            if self.has(bit) {
                out.push(column);
            }
        }
        out
    }
}

/// The columns of one grade a selection reads; the others are `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GradeLine {
    id: Option<GradeId>,
    /// The grade's subject.
    pub subject_id: Option<SubjectId>,
    score: Option<f64>,
    max_score: Option<f64>,
    category: Option<Option<GradeCategory>>,
    graded_on: Option<NaiveDate>,
    is_final: Option<bool>,
}

impl GradeLine {
    /// Decodes a row selected with `columns.list()` (the student first).
    fn decode(row: &QueryResult, columns: Columns) -> Result<(StudentId, Self), DbErr> {
        let mut at = 0;
        let mut next = || {
            at += 1;
            at
        };
        let student = row.try_get_by_index(0)?;
        let mut line = Self::default();
        if columns.has(Columns::ID) {
            line.id = Some(row.try_get_by_index(next())?);
        }
        if columns.has(Columns::SUBJECT) {
            line.subject_id = Some(row.try_get_by_index(next())?);
        }
        if columns.has(Columns::SCORE) {
            line.score = Some(row.try_get_by_index(next())?);
        }
        if columns.has(Columns::MAX_SCORE) {
            line.max_score = Some(row.try_get_by_index(next())?);
        }
        if columns.has(Columns::CATEGORY) {
            line.category = Some(row.try_get_by_index(next())?);
        }
        if columns.has(Columns::GRADED_ON) {
            line.graded_on = Some(row.try_get_by_index(next())?);
        }
        if columns.has(Columns::IS_FINAL) {
            line.is_final = Some(row.try_get_by_index(next())?);
        }
        Ok((student, line))
    }
}

impl Flat for GradeLine {
    const TYPE: &'static str = "Grade";

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "id" => self.id?.into_uuid().to_value(),
            "score" => self.score?.to_value(),
            "maxScore" => self.max_score?.to_value(),
            "normalizedScore" => {
                let (score, max) = (self.score?, self.max_score?);
                crate::graphql::roster::normalized(score, max).to_value()
            }
            "category" => or_null(self.category?, |c| {
                enum_value(crate::graphql::roster::GradeCategory::from(c))
            }),
            "gradedOn" => self.graded_on?.to_value(),
            "isFinal" => Value::Boolean(self.is_final?),
            _ => return None,
        })
    }
}

/// A student's grade lines with the given columns, oldest first (as the full rows are).
#[allow(missing_debug_implementations)]
pub struct GradeLines {
    pub(crate) db: DatabaseConnection,
    pub(crate) school: SchoolId,
}

impl Loader<(StudentId, Columns)> for GradeLines {
    type Value = Arc<[GradeLine]>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(StudentId, Columns)],
    ) -> Result<HashMap<(StudentId, Columns), Arc<[GradeLine]>>, LoadError> {
        // One statement for the batch, with every column any key asks for: the lines of one
        // student are the same rows whatever its fields' selections.
        let columns = keys
            .iter()
            .fold(Columns::default(), |all, (_, c)| Columns(all.0 | c.0));
        let students: std::collections::HashSet<StudentId> = keys.iter().map(|(s, _)| *s).collect();
        let tx = entity::tenant::TenantTx::begin(&self.db, self.school).await?;
        let mut lines: HashMap<StudentId, Arc<[GradeLine]>> = HashMap::new();
        // By student, so a student's lines are one run: no hashing per row.
        let select = tx
            .find::<grade::Entity>()
            .filter(grade::Column::StudentId.is_in(students))
            .order_by(grade::Column::StudentId, Order::Asc)
            .order_by(grade::Column::GradedOn, Order::Asc)
            .order_by(grade::Column::Id, Order::Asc);
        let mut run: Option<(StudentId, Vec<GradeLine>)> = None;
        tx.each_row(select, &columns.list(), |row| {
            let (student, line) = GradeLine::decode(row, columns)?;
            match &mut run {
                Some((current, lines)) if *current == student => lines.push(line),
                _ => {
                    if let Some((done, done_lines)) = run.replace((student, vec![line])) {
                        lines.insert(done, Arc::from(done_lines));
                    }
                }
            }
            Ok(())
        })
        .await?;
        if let Some((done, done_lines)) = run {
            lines.insert(done, Arc::from(done_lines));
        }
        let out = keys
            .iter()
            .filter_map(|key| Some((*key, lines.get(&key.0)?.clone())))
            .collect();
        tx.commit().await?;
        Ok(out)
    }
}
