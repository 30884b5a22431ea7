//! What every write to a school's records checks the same way: its input fields (collected, so
//! every bad field is listed at once), references to other records of the school (another
//! school's id reads exactly like a missing one), and how database refusals are answered.

use std::collections::HashSet;

use chrono::NaiveDate;
use entity::ids::StudentId;
use entity::student;
use entity::tenant::TenantError;
use entity::tenant::TenantScoped;
use entity::tenant::TenantTx;
use entity::term;
use sea_orm::{ColumnTrait, DbErr, SqlErr};

use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::FieldError;
use crate::rules;
use crate::rules::Broken;

/// The bad fields of one input, collected while it is checked.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// Nothing wrong yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of a rule that held, or records the field that broke it.
    pub fn take<T>(&mut self, field: &str, checked: Result<T, Broken>) -> Option<T> {
        checked
            .map_err(|broken| self.0.push(FieldError::broken(field, broken)))
            .ok()
    }

    /// Records a bad field.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// A required name (see [`rules::Name`]); empty when it broke the rule (the write is
    /// refused then anyway).
    pub fn name(&mut self, field: &str, input: &str) -> String {
        self.take(field, rules::Name::parse(input))
            .map(rules::Name::into_string)
            .unwrap_or_default()
    }

    /// An optional email address (see [`rules::Email`]): empty clears it.
    pub fn email(&mut self, field: &str, input: Option<&str>) -> Option<String> {
        self.take(field, rules::Email::optional(input))
            .flatten()
            .map(rules::Email::into_string)
    }

    /// An optional grade level (see [`rules::GradeLevel`]).
    pub fn grade_level(&mut self, field: &str, level: Option<i32>) -> Option<i32> {
        self.take(field, rules::GradeLevel::optional(level))
            .flatten()
            .map(rules::GradeLevel::get)
    }

    /// An optional national id (see [`rules::StudentTz`]): empty clears it.
    pub fn optional_tz(&mut self, field: &str, input: &str) -> Option<String> {
        let text = rules::clean_text(input)?;
        self.take(field, rules::StudentTz::checked(&text))
            .map(rules::StudentTz::into_string)
    }

    /// Checks that `id` names a record of this school; another school's id reads as missing.
    pub async fn must_exist<E: TenantScoped>(
        &mut self,
        tx: &TenantTx,
        field: &str,
        id: Option<E::Id>,
    ) -> ApiResult<Option<E::Model>> {
        let Some(id) = id else { return Ok(None) };
        let found = tx.get::<E>(id).await?;
        if found.is_none() {
            self.push(field, "no such record in this school");
        }
        Ok(found)
    }

    /// Checks that each of `ids` is a student of this school, listed once (`what` says what a
    /// repeat is, e.g. "appears twice"); fields are `{prefix}[i]{suffix}`.
    pub async fn students_exist(
        &mut self,
        tx: &TenantTx,
        (prefix, suffix): (&str, &str),
        ids: &[StudentId],
        repeated: &str,
    ) -> ApiResult<()> {
        let known: HashSet<StudentId> = tx
            .all(
                tx.find::<student::Entity>()
                    .filter(student::Column::Id.is_in(ids.iter().copied())),
            )
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let mut seen = HashSet::new();
        for (i, id) in ids.iter().enumerate() {
            let field = format!("{prefix}[{i}]{suffix}");
            if !known.contains(id) {
                self.push(field, "no such record in this school");
            } else if !seen.insert(*id) {
                self.push(field, repeated.to_owned());
            }
        }
        Ok(())
    }

    /// Checks that `date` falls inside one of the school's terms (attendance is taken on school
    /// days).
    pub async fn date_in_a_term(
        &mut self,
        tx: &TenantTx,
        field: &str,
        date: NaiveDate,
    ) -> ApiResult<()> {
        let term = tx
            .one(
                tx.find::<term::Entity>()
                    .filter(term::Column::StartDate.lte(date))
                    .filter(term::Column::EndDate.gte(date)),
            )
            .await?;
        if term.is_none() {
            self.0.push(FieldError::broken(
                field,
                Broken::new(
                    "DATE_OUTSIDE_TERM",
                    "must fall inside one of the school's terms",
                ),
            ));
        }
        Ok(())
    }

    /// Checks that `date`, when given, falls inside `term`.
    pub fn date_in_term(
        &mut self,
        field: &str,
        term: Option<&term::Model>,
        date: Option<NaiveDate>,
    ) {
        if let (Some(term), Some(date)) = (term, date) {
            self.take(
                field,
                rules::date_in_term(date, term.start_date, term.end_date),
            );
        }
    }

    /// Checks that a period ends after it starts.
    pub fn date_range(&mut self, field: &str, start: NaiveDate, end: NaiveDate) {
        if rules::date_range(start, end).is_err() {
            self.push(field, "must be after startDate");
        }
    }

    /// `Ok` when every field was good; else every bad field, as one `BAD_USER_INPUT`.
    pub fn done(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::bad_fields(self.0))
        }
    }
}

/// A unique-key refusal as a conflict on `field` ("`what` already exists in this school").
pub fn conflict_or_internal(err: DbErr, field: &str, what: &str) -> ApiError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict {
            field: field.to_owned(),
            message: format!("{what} already exists in this school"),
        },
        _ => ApiError::from(err),
    }
}

/// A missing record as `NOT_FOUND` naming `what`, a delete refused by a reference as a conflict.
pub fn removal_error(what: &'static str) -> impl Fn(TenantError) -> ApiError {
    move |e| match e {
        TenantError::NotFound => ApiError::NotFound(what),
        TenantError::Db(e) if is_still_referenced(&e) => ApiError::Conflict {
            field: "id".into(),
            message: format!("this {what} is still referenced by other records"),
        },
        TenantError::Db(e) => ApiError::from(e),
    }
}

/// An update whose unique key clashed as a conflict on `field`; a missing record as `NOT_FOUND`.
pub fn update_error(
    what: &'static str,
    field: &'static str,
    clash: &'static str,
) -> impl Fn(TenantError) -> ApiError {
    move |e| match e {
        TenantError::Db(e) => conflict_or_internal(e, field, clash),
        e => removal_error(what)(e),
    }
}

/// A delete refused by an `ON DELETE RESTRICT` foreign key. SQLite reports it as a constraint
/// trigger (extended code 1811), which SeaORM does not classify as a foreign-key error.
fn is_still_referenced(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    ) || err.to_string().contains("FOREIGN KEY constraint failed")
}

/// Removes record `id` of this school (refused while other records refer to it) and writes the
/// audit entry `{kind}.delete`.
pub async fn remove<E: TenantScoped>(
    tx: &TenantTx,
    actor: &crate::tenant::Actor,
    id: E::Id,
    (kind, what): (&'static str, &'static str),
) -> ApiResult<()>
where
    E::Id: Into<uuid::Uuid>,
{
    tx.delete::<E>(id).await.map_err(removal_error(what))?;
    let action = format!("{kind}.delete");
    super::audit::write(
        tx,
        Some(actor),
        super::audit::Entry::new(&action).on(kind, id),
    )
    .await?;
    Ok(())
}

/// A row with a last-changed time.
pub trait Stamped {
    /// Sets the last-changed time.
    fn stamp(&mut self, at: chrono::DateTime<chrono::Utc>);
}

macro_rules! stamped {
    ($($module:ident),*) => {$(
        impl Stamped for entity::$module::ActiveModel {
            fn stamp(&mut self, at: chrono::DateTime<chrono::Utc>) {
                self.updated_at = sea_orm::ActiveValue::Set(at);
            }
        }
    )*};
}

stamped!(
    student,
    teacher,
    subject,
    class,
    term,
    academic_year,
    guardian
);

/// What every change to one record does: read it (another school's id reads as missing), let
/// `apply` check the input onto it (every bad field listed at once), stamp and write it (a
/// refusal answered by `refused`), and write the audit entry `{kind}.update`.
pub async fn change<A>(
    tx: &TenantTx,
    actor: &crate::tenant::Actor,
    (id, kind, what): (<A::Entity as TenantScoped>::Id, &'static str, &'static str),
    apply: impl AsyncFnOnce(&mut Fields, &mut A) -> ApiResult<()>,
    refused: impl Fn(TenantError) -> ApiError,
) -> ApiResult<<A::Entity as sea_orm::EntityTrait>::Model>
where
    A: sea_orm::ActiveModelTrait + sea_orm::ActiveModelBehavior + Send + Stamped,
    A::Entity: TenantScoped,
    <A::Entity as TenantScoped>::Id: Into<uuid::Uuid>,
    <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::IntoActiveModel;
    let current = tx
        .get::<A::Entity>(id)
        .await?
        .ok_or(ApiError::NotFound(what))?;
    let mut fields = Fields::new();
    let mut row = current.into_active_model();
    apply(&mut fields, &mut row).await?;
    fields.done()?;
    row.stamp(chrono::Utc::now());
    let updated = tx.update(row).await.map_err(refused)?;
    let action = format!("{kind}.update");
    let entry = super::audit::Entry::new(&action).on(kind, id);
    super::audit::write(tx, Some(actor), entry).await?;
    Ok(updated)
}
