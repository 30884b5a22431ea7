//! The school calendar: academic years and their terms.

use chrono::{NaiveDate, Utc};
use entity::academic_year;
use entity::enums;
use entity::ids::AcademicYearId;
use entity::ids::TermId;
use entity::tenant::TenantTx;
use entity::term;
use sea_orm::{ActiveValue::Set, ColumnTrait, IntoActiveModel};

use super::audit;
use super::checks::Fields;
use super::checks::change;
use super::checks::conflict_or_internal;
use super::checks::removal_error;
use super::checks::remove;
use super::checks::update_error;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::tenant::Actor;

const YEAR_CLASH: &str = "an academic year with this name";
const TERM_CLASH: &str = "a term with this name in this year";

/// A new academic year, as given.
#[derive(Debug)]
pub struct NewYear {
    /// The name (unique in the school).
    pub name: String,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day.
    pub end_date: NaiveDate,
    /// Whether it is the current year.
    pub is_current: bool,
}

/// Changes to an academic year; `None` leaves a field as it is.
#[derive(Debug)]
pub struct YearChanges {
    /// The name.
    pub name: Option<String>,
    /// First day.
    pub start_date: Option<NaiveDate>,
    /// Last day.
    pub end_date: Option<NaiveDate>,
    /// Whether it is the current year.
    pub is_current: Option<bool>,
}

/// A new term, as given.
#[derive(Debug)]
pub struct NewTerm {
    /// Its academic year.
    pub year: AcademicYearId,
    /// The name (unique in the year).
    pub name: String,
    /// First day (inside the year).
    pub start_date: NaiveDate,
    /// Last day (inside the year).
    pub end_date: NaiveDate,
}

/// Changes to a term; `None` leaves a field as it is.
#[derive(Debug)]
pub struct TermChanges {
    /// The name.
    pub name: Option<String>,
    /// First day.
    pub start_date: Option<NaiveDate>,
    /// Last day.
    pub end_date: Option<NaiveDate>,
}

async fn audited(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    kind: &str,
    id: impl Into<uuid::Uuid>,
) -> ApiResult<()> {
    audit::write(tx, Some(actor), audit::Entry::new(action).on(kind, id)).await?;
    Ok(())
}

/// Marks every other year of the school as not current.
async fn clear_current_year(tx: &TenantTx, except: AcademicYearId) -> ApiResult<()> {
    let current = tx
        .all(
            tx.find::<academic_year::Entity>()
                .filter(academic_year::Column::IsCurrent.eq(true))
                .filter(academic_year::Column::Id.ne(except)),
        )
        .await?;
    let now = Utc::now();
    for year in current {
        let mut row = year.into_active_model();
        row.is_current = Set(false);
        row.updated_at = Set(now);
        tx.update(row)
            .await
            .map_err(removal_error("academic year"))?;
    }
    Ok(())
}

/// Adds an academic year.
pub async fn create_year(
    tx: &TenantTx,
    actor: &Actor,
    new: NewYear,
) -> ApiResult<academic_year::Model> {
    let mut fields = Fields::new();
    let name = fields.name("input.name", &new.name);
    fields.date_range("input.endDate", new.start_date, new.end_date);
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(academic_year::ActiveModel {
            id: Set(AcademicYearId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(enums::RecordStatus::Active),
            name: Set(name),
            start_date: Set(new.start_date),
            end_date: Set(new.end_date),
            is_current: Set(new.is_current),
            ..Default::default()
        })
        .await
        .map_err(|e| conflict_or_internal(e, "input.name", YEAR_CLASH))?;
    if row.is_current {
        clear_current_year(tx, row.id).await?;
    }
    audited(tx, actor, "academic_year.create", "academic_year", row.id).await?;
    Ok(row)
}

/// Changes an academic year's name, dates or whether it is the current one; its terms must
/// stay inside its dates.
pub async fn update_year(
    tx: &TenantTx,
    actor: &Actor,
    id: AcademicYearId,
    changes: YearChanges,
) -> ApiResult<academic_year::Model> {
    let apply = async |fields: &mut Fields, row: &mut academic_year::ActiveModel| {
        let start = changes.start_date.unwrap_or(*row.start_date.as_ref());
        let end = changes.end_date.unwrap_or(*row.end_date.as_ref());
        fields.date_range("input.endDate", start, end);
        let terms = tx
            .all(
                tx.find::<term::Entity>()
                    .filter(term::Column::AcademicYearId.eq(id)),
            )
            .await?;
        if let Some(outside) = terms
            .iter()
            .find(|t| t.start_date < start || t.end_date > end)
        {
            fields.push(
                if outside.start_date < start {
                    "input.startDate"
                } else {
                    "input.endDate"
                },
                format!("term {} would fall outside the year", outside.name),
            );
        }
        if let Some(name) = &changes.name {
            row.name = Set(fields.name("input.name", name));
        }
        row.start_date = Set(start);
        row.end_date = Set(end);
        if let Some(is_current) = changes.is_current {
            row.is_current = Set(is_current);
        }
        Ok(())
    };
    let refused = update_error("academic year", "input.name", YEAR_CLASH);
    let what = (id, "academic_year", "academic year");
    let updated = change(tx, actor, what, apply, refused).await?;
    if changes.is_current == Some(true) {
        clear_current_year(tx, updated.id).await?;
    }
    Ok(updated)
}

/// Removes an academic year (with its terms) that no class refers to.
pub async fn delete_year(tx: &TenantTx, actor: &Actor, id: AcademicYearId) -> ApiResult<()> {
    remove::<academic_year::Entity>(tx, actor, id, ("academic_year", "academic year")).await
}

/// Checks that a term from `start` to `end` lies inside `year`.
fn inside_year(
    fields: &mut Fields,
    year: Option<&academic_year::Model>,
    start: NaiveDate,
    end: NaiveDate,
) {
    fields.date_range("input.endDate", start, end);
    if let Some(year) = year
        && (start < year.start_date || end > year.end_date)
    {
        fields.push(
            "input.startDate",
            "the term must lie inside its academic year",
        );
    }
}

/// Adds a term to an academic year.
pub async fn create_term(tx: &TenantTx, actor: &Actor, new: NewTerm) -> ApiResult<term::Model> {
    let mut fields = Fields::new();
    let name = fields.name("input.name", &new.name);
    let year = fields
        .must_exist::<academic_year::Entity>(tx, "input.academicYearId", Some(new.year))
        .await?;
    inside_year(&mut fields, year.as_ref(), new.start_date, new.end_date);
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(term::ActiveModel {
            id: Set(TermId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            status: Set(enums::RecordStatus::Active),
            academic_year_id: Set(new.year),
            name: Set(name),
            start_date: Set(new.start_date),
            end_date: Set(new.end_date),
            ..Default::default()
        })
        .await
        .map_err(|e| conflict_or_internal(e, "input.name", TERM_CLASH))?;
    audited(tx, actor, "term.create", "term", row.id).await?;
    Ok(row)
}

/// Changes a term's name or dates (which must stay inside its academic year).
pub async fn update_term(
    tx: &TenantTx,
    actor: &Actor,
    id: TermId,
    changes: TermChanges,
) -> ApiResult<term::Model> {
    let apply = async |fields: &mut Fields, row: &mut term::ActiveModel| {
        let year = tx
            .get::<academic_year::Entity>(*row.academic_year_id.as_ref())
            .await?
            .ok_or(ApiError::NotFound("term"))?;
        let start = changes.start_date.unwrap_or(*row.start_date.as_ref());
        let end = changes.end_date.unwrap_or(*row.end_date.as_ref());
        inside_year(fields, Some(&year), start, end);
        if let Some(name) = &changes.name {
            row.name = Set(fields.name("input.name", name));
        }
        row.start_date = Set(start);
        row.end_date = Set(end);
        Ok(())
    };
    let refused = update_error("term", "input.name", TERM_CLASH);
    change(tx, actor, (id, "term", "term"), apply, refused).await
}

/// Removes a term that no grade or assessment refers to.
pub async fn delete_term(tx: &TenantTx, actor: &Actor, id: TermId) -> ApiResult<()> {
    remove::<term::Entity>(tx, actor, id, ("term", "term")).await
}
