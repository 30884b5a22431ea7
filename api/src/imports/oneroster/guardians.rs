//! Students' guardians, linked by users.csv's `agentSourcedIds` once every user is known.

use std::collections::HashMap;

use entity::guardian;
use entity::ids::GuardianId;
use entity::ids::StudentGuardianId;
use entity::ids::StudentId;
use entity::student_guardian;
use sea_orm::DbErr;

use super::{Run, index::Index, sheet::Sheet};
use crate::imports::RowAction;

/// A student row's guardians: (row, student, agentSourcedIds, our primaries if the file says).
pub(super) type Agents = (usize, StudentId, Vec<String>, Option<Vec<String>>);

/// What users.csv leaves for linking its students to their guardians.
pub(super) struct Pending<'a> {
    /// The users file, done once the links are checked.
    pub(super) sheet: Sheet<'a>,
    /// The file's guardians by sourcedId: (guardian, relationship).
    pub(super) guardians: HashMap<String, (GuardianId, Option<String>)>,
    /// The school's guardians.
    pub(super) index: Index<guardian::Model>,
    /// Each student row's guardians, linked once every user is known: (row, student, agents,
    /// primaries).
    pub(super) agents: Vec<Agents>,
}

/// Guardians of students: linked by agentSourcedIds.
pub(super) async fn link(run: &mut Run<'_>, pending: Pending<'_>) -> Result<(), DbErr> {
    let Pending {
        mut sheet,
        guardians,
        index,
        agents,
    } = pending;
    let (tx, now) = (run.tx, run.now);
    let existing = tx.all(tx.find::<student_guardian::Entity>()).await?;
    let links: HashMap<(StudentId, GuardianId), &student_guardian::Model> = existing
        .iter()
        .map(|l| ((l.student_id, l.guardian_id), l))
        .collect();
    for (i, student, listed, primaries) in agents {
        let mut changed = false;
        for (n, agent) in listed.iter().enumerate() {
            let Some((guardian, relationship)) = guardians.get(agent).cloned().or_else(|| {
                index
                    .get(agent)
                    .map(|g| (g.id, Some("guardian".to_owned())))
            }) else {
                sheet.bad(
                    i,
                    "agentSourcedIds",
                    "UNKNOWN_REFERENCE",
                    format!("{agent} is no guardian of this package or school"),
                );
                continue;
            };
            let is_primary = match &primaries {
                Some(p) => p.contains(agent),
                None => n == 0,
            };
            let current = links.get(&(student, guardian)).copied();
            let next = student_guardian::Model {
                school_id: tx.school_id(),
                id: current.map_or_else(StudentGuardianId::generate, |c| c.id),
                created_at: current.map_or(now, |c| c.created_at),
                updated_at: current.map_or(now, |c| c.updated_at),
                student_id: student,
                guardian_id: guardian,
                relationship,
                is_primary,
            };
            changed |= run.plan.links.decide(current, next, |m| m.updated_at = now)
                != RowAction::Unchanged;
        }
        if changed && sheet.actions.get(i) == Some(&RowAction::Unchanged) {
            sheet.act(i, RowAction::Update);
        }
    }
    run.done(sheet);
    Ok(())
}
