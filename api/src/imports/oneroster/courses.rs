//! courses.csv → subjects.

use std::collections::HashMap;

use entity::{enums::RecordStatus, ids::SubjectId, subject};
use sea_orm::DbErr;

use super::HOMEROOM_COURSE;
use super::Run;
use super::index::Index;
use super::index::external_id;
use super::sheet::Sheet;
use super::sheet::flag;
use crate::imports::{RowAction, table::header_key};

/// Courses → subjects (our homeroom course is no subject).
pub(super) async fn check(run: &mut Run<'_>) -> Result<(), DbErr> {
    let (tx, now) = (run.tx, run.now);
    let subjects = Index::new(
        tx.all(tx.find::<subject::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(header_key(&m.name)),
    );
    run.courses = subjects
        .models
        .iter()
        .map(|s| {
            (
                s.external_id.clone().unwrap_or_else(|| s.id.to_string()),
                Some(s.id),
            )
        })
        .collect();
    run.courses.insert(HOMEROOM_COURSE.to_owned(), None);
    let mut sheet = Sheet::new(run.source, "courses.csv");
    let mut seen = HashMap::new();
    let mut keys = HashMap::new();
    for i in 0..sheet.height() {
        if sheet.cell("orgSourcedId", i) != Some(run.org.as_str()) {
            sheet.act(i, RowAction::Skipped);
            continue;
        }
        let Some(sourced) = sheet.sourced_id(i, &mut seen) else {
            continue;
        };
        if flag(sheet.cell("metadata.sds.homeroom", i)) {
            run.courses.insert(sourced, None);
            sheet.act(i, RowAction::Unchanged);
            continue;
        }
        if sheet.deleted(i) {
            let action = run.plan.subjects.retire(&subjects, &sourced, now);
            sheet.act(i, action);
            continue;
        }
        let Some(name) = sheet.name(i, "title") else {
            continue;
        };
        let key = header_key(&name);
        let Some(current) = sheet.target(
            i,
            (&mut keys, key),
            (&subjects, &sourced),
            "title",
            (
                "row {} has a course of this title",
                "another subject of this school has this name",
            ),
        ) else {
            continue;
        };
        let id = current.map_or_else(SubjectId::generate, |c| c.id);
        let code = sheet.field("courseCode", i).map_or_else(
            || current.and_then(|c| c.code.clone()),
            |v| v.map(str::to_owned),
        );
        let next = subject::Model {
            school_id: tx.school_id(),
            id,
            created_at: current.map_or(now, |c| c.created_at),
            updated_at: current.map_or(now, |c| c.updated_at),
            external_id: external_id(current, &sourced),
            status: RecordStatus::Active,
            name,
            code,
        };
        let action = run
            .plan
            .subjects
            .decide(current, next, |m| m.updated_at = now);
        run.courses.insert(sourced, Some(id));
        sheet.act(i, action);
    }
    run.done(sheet);
    Ok(())
}
