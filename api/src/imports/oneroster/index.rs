//! The school's existing records of one table, findable by sourcedId and natural key
//! ([`Index`]), what a file makes of them ([`Changes`]), and writing those changes ([`apply`]).

use std::collections::HashMap;

use chrono::Utc;
use entity::academic_year;
use entity::assessment;
use entity::class;
use entity::enrollment;
use entity::enums::RecordStatus;
use entity::grade;
use entity::guardian;
use entity::student;
use entity::subject;
use entity::teacher;
use entity::tenant::TenantScoped;
use entity::tenant::TenantTx;
use entity::term;
use sea_orm::{ActiveModelBehavior, ActiveModelTrait, DbErr, EntityTrait, IntoActiveModel};

use crate::imports::RowAction;

/// The existing records of one table, findable by sourcedId (external id or our id) and by
/// natural key.
pub(super) struct Index<M> {
    pub(super) models: Vec<M>,
    by_sourced: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
}

impl<M> Index<M> {
    pub(super) fn new(
        models: Vec<M>,
        id: impl Fn(&M) -> String,
        external: impl Fn(&M) -> Option<&str>,
        key: impl Fn(&M) -> Option<String>,
    ) -> Self {
        let mut by_sourced = HashMap::new();
        let mut by_key = HashMap::new();
        for (n, m) in models.iter().enumerate() {
            by_sourced.insert(id(m), n);
            if let Some(k) = key(m) {
                by_key.insert(k, n);
            }
        }
        // An external id wins over an id that happens to be spelled the same.
        for (n, m) in models.iter().enumerate() {
            if let Some(e) = external(m) {
                by_sourced.insert(e.to_owned(), n);
            }
        }
        Self {
            models,
            by_sourced,
            by_key,
        }
    }

    pub(super) fn get(&self, sourced: &str) -> Option<&M> {
        self.by_sourced.get(sourced).map(|n| &self.models[*n])
    }

    /// The record a row is about: by sourcedId, else by natural key; `Err` when the two name
    /// different records.
    pub(super) fn find(&self, sourced: &str, key: Option<&str>) -> Result<Option<&M>, ()> {
        let a = self.by_sourced.get(sourced);
        let b = key.and_then(|k| self.by_key.get(k));
        match (a, b) {
            (Some(a), Some(b)) if a != b => Err(()),
            (Some(n), _) | (None, Some(n)) => Ok(Some(&self.models[*n])),
            (None, None) => Ok(None),
        }
    }
}

/// New and changed records of one table.
pub(super) struct Changes<M> {
    pub(super) inserts: Vec<M>,
    pub(super) updates: Vec<M>,
}

impl<M> Default for Changes<M> {
    fn default() -> Self {
        Self {
            inserts: Vec::new(),
            updates: Vec::new(),
        }
    }
}

impl<M: PartialEq> Changes<M> {
    /// Queues `next` (the record as the row says it should be) and says what that is.
    pub(super) fn decide(
        &mut self,
        current: Option<&M>,
        mut next: M,
        touch: impl Fn(&mut M),
    ) -> RowAction {
        match current {
            None => {
                self.inserts.push(next);
                RowAction::Insert
            }
            Some(c) if *c == next => RowAction::Unchanged,
            Some(_) => {
                touch(&mut next);
                self.updates.push(next);
                RowAction::Update
            }
        }
    }
}

pub(super) async fn apply<A>(
    tx: &TenantTx,
    changes: Changes<<A::Entity as EntityTrait>::Model>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    A::Entity: TenantScoped,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    for model in changes.updates {
        crate::imports::write_back(tx, model.into_active_model(), "record").await?;
    }
    let inserts: Vec<A> = changes
        .inserts
        .into_iter()
        .map(|m| m.into_active_model().reset_all())
        .collect();
    for chunk in crate::imports::students::chunks::<A::Entity, _>(inserts) {
        tx.insert_many(chunk).await?;
    }
    Ok(())
}

/// The external id a record keeps or gets: a row naming the record by our own id keeps what it
/// had (our export names records without an external id by their id).
pub(super) fn external_id<M: Record>(current: Option<&M>, sourced: &str) -> Option<String> {
    match current {
        Some(c) if c.id_text() == sourced => c.external().map(str::to_owned),
        _ => Some(sourced.to_owned()),
    }
}

/// What the importer needs of the records that carry a sourcedId and a status.
pub(super) trait Record: Clone + PartialEq {
    fn id_text(&self) -> String;
    fn external(&self) -> Option<&str>;
    fn touch(&mut self, at: chrono::DateTime<Utc>);
    fn retire(&mut self);
}

macro_rules! records {
    ($($module:ident),* $(,)?) => {$(
        impl Record for $module::Model {
            fn id_text(&self) -> String {
                self.id.to_string()
            }
            fn external(&self) -> Option<&str> {
                self.external_id.as_deref()
            }
            fn touch(&mut self, at: chrono::DateTime<Utc>) {
                self.updated_at = at;
            }
            fn retire(&mut self) {
                self.status = RecordStatus::ToBeDeleted;
            }
        }
    )*};
}

records!(
    academic_year,
    term,
    subject,
    class,
    student,
    teacher,
    guardian,
    enrollment,
    assessment,
    grade
);

impl<M: Record> Changes<M> {
    /// A delta row marking `sourced` to be deleted: the record's status changes; a record the
    /// school does not have is skipped.
    pub(super) fn retire(
        &mut self,
        index: &Index<M>,
        sourced: &str,
        now: chrono::DateTime<Utc>,
    ) -> RowAction {
        match index.get(sourced) {
            Some(current) => {
                let mut next = current.clone();
                next.retire();
                self.decide(Some(current), next, |m| m.touch(now))
            }
            None => RowAction::Skipped,
        }
    }
}

/// A row's record of `$model`: id, timestamps and external id kept from the `current` record
/// when there is one and new otherwise, status ACTIVE, then the row's own fields.
macro_rules! record {
    ($module:ident::$model:ident, $id:ty, $current:expr, ($school:expr, $now:expr, $sourced:expr), { $($rest:tt)* }) => {
        $module::$model {
            school_id: $school,
            id: $current.map_or_else(<$id>::generate, |c| c.id),
            created_at: $current.map_or($now, |c| c.created_at),
            updated_at: $current.map_or($now, |c| c.updated_at),
            external_id: $crate::imports::oneroster::index::external_id($current, $sourced),
            status: entity::enums::RecordStatus::Active,
            $($rest)*
        }
    };
}
pub(super) use record;
