//! Changing guardians, enrollments and academic years.

use std::collections::HashSet;

use async_graphql::{Context, InputObject, Object};
use chrono::{NaiveDate, Utc};
use entity::{
    academic_year, enrollment, guardian, ids::*, student, student_guardian, tenant::TenantTx, term,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, IntoActiveModel};
use uuid::Uuid;

use super::{
    manage::removal_error,
    mutation::{conflict_or_internal, done, optional_email, required_text},
    records::{Enrollment, Guardian},
    types::AcademicYear,
};
use crate::{
    auth::Permission,
    domain::{StudentTz, clean_text},
    error::{ApiError, ApiResult, FieldError},
    graphql::context::scoped,
};

/// Changes to a guardian; fields left out stay as they are. An empty string clears an optional
/// field.
#[derive(Debug, InputObject)]
pub struct UpdateGuardianInput {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// National id (check digit verified).
    pub guardian_tz: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// The students this guardian belongs to (replaces the list; at least one).
    pub student_ids: Option<Vec<Uuid>>,
    /// How the guardian is related, e.g. mother; applies to every link.
    pub relationship: Option<String>,
}

/// Changes to an enrollment; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateEnrollmentInput {
    /// The first day in the class.
    pub begin_date: Option<NaiveDate>,
    /// The last day in the class (not before `beginDate`).
    pub end_date: Option<NaiveDate>,
}

/// Changes to an academic year; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateAcademicYearInput {
    /// The year's name (unique in the school).
    pub name: Option<String>,
    /// First day; every term of the year must stay inside it.
    pub start_date: Option<NaiveDate>,
    /// Last day; every term of the year must stay inside it.
    pub end_date: Option<NaiveDate>,
    /// Makes this the current year (the school's other years stop being current).
    pub is_current: Option<bool>,
}

/// Marks every other year of the school as not current.
pub(super) async fn clear_current_year(tx: &TenantTx, except: AcademicYearId) -> ApiResult<()> {
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

/// Guardian, enrollment and academic-year changes.
#[derive(Debug, Default)]
pub struct UpdatesMutation;

#[Object]
impl UpdatesMutation {
    /// Changes a guardian and, when `studentIds` is given, which students they belong to.
    async fn update_guardian(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The guardian's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateGuardianInput,
    ) -> ApiResult<Guardian> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<guardian::Entity>(GuardianId(id))
            .await?
            .ok_or(ApiError::NotFound("guardian"))?;
        let mut errors = Vec::new();
        let mut row = current.into_active_model();
        if let Some(name) = &input.first_name {
            row.first_name = Set(required_text(&mut errors, "input.firstName", name));
        }
        if let Some(name) = &input.last_name {
            row.last_name = Set(required_text(&mut errors, "input.lastName", name));
        }
        if let Some(tz) = &input.guardian_tz {
            match clean_text(tz) {
                None => row.guardian_tz = Set(None),
                Some(tz) => match StudentTz::parse(&tz) {
                    Ok(tz) => row.guardian_tz = Set(Some(tz.into_string())),
                    Err(e) => errors.push(FieldError::new("input.guardianTz", e.to_string())),
                },
            }
        }
        if let Some(phone) = &input.phone {
            row.phone = Set(clean_text(phone));
        }
        if input.email.is_some() {
            row.email = Set(optional_email(
                &mut errors,
                "input.email",
                input.email.as_deref(),
            ));
        }
        if let Some(students) = &input.student_ids {
            if students.is_empty() {
                errors.push(FieldError::new(
                    "input.studentIds",
                    "a guardian belongs to at least one student",
                ));
            }
            let ids: Vec<StudentId> = students.iter().copied().map(StudentId).collect();
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
            for (i, student) in ids.iter().enumerate() {
                let field = format!("input.studentIds[{i}]");
                if !known.contains(student) {
                    errors.push(FieldError::new(field, "no such record in this school"));
                } else if !seen.insert(*student) {
                    errors.push(FieldError::new(field, "appears twice"));
                }
            }
        }
        done(errors)?;
        let now = Utc::now();
        row.updated_at = Set(now);
        let updated = tx.update(row).await.map_err(removal_error("guardian"))?;
        let relationship = input.relationship.as_deref().map(clean_text);
        if let Some(students) = &input.student_ids {
            let links = tx
                .all(
                    tx.find::<student_guardian::Entity>()
                        .filter(student_guardian::Column::GuardianId.eq(updated.id)),
                )
                .await?;
            let keep: HashSet<StudentId> = students.iter().copied().map(StudentId).collect();
            let mut linked = HashSet::new();
            for link in links {
                if keep.contains(&link.student_id) {
                    linked.insert(link.student_id);
                } else {
                    tx.delete::<student_guardian::Entity>(link.id)
                        .await
                        .map_err(removal_error("guardian"))?;
                }
            }
            let new_links = students
                .iter()
                .map(|s| StudentId(*s))
                .filter(|s| !linked.contains(s))
                .map(|student| student_guardian::ActiveModel {
                    id: Set(StudentGuardianId::generate()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    student_id: Set(student),
                    guardian_id: Set(updated.id),
                    relationship: Set(relationship.clone().flatten()),
                    is_primary: Set(false),
                    ..Default::default()
                })
                .collect();
            tx.insert_many(new_links).await?;
        }
        if let Some(relationship) = relationship {
            let links = tx
                .all(
                    tx.find::<student_guardian::Entity>()
                        .filter(student_guardian::Column::GuardianId.eq(updated.id)),
                )
                .await?;
            for link in links {
                let mut link = link.into_active_model();
                link.relationship = Set(relationship.clone());
                link.updated_at = Set(now);
                tx.update(link).await.map_err(removal_error("guardian"))?;
            }
        }
        tx.commit().await?;
        Ok(Guardian(updated))
    }

    /// Changes the dates of a student's enrollment in a class.
    async fn update_enrollment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enrollment's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateEnrollmentInput,
    ) -> ApiResult<Enrollment> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<enrollment::Entity>(EnrollmentId(id))
            .await?
            .ok_or(ApiError::NotFound("enrollment"))?;
        let begin = input.begin_date.or(current.begin_date);
        let end = input.end_date.or(current.end_date);
        if let (Some(begin), Some(end)) = (begin, end)
            && end < begin
        {
            return Err(ApiError::bad_field(
                "input.endDate",
                "must not be before beginDate",
            ));
        }
        let mut row = current.into_active_model();
        row.begin_date = Set(begin);
        row.end_date = Set(end);
        row.updated_at = Set(Utc::now());
        let updated = tx.update(row).await.map_err(removal_error("enrollment"))?;
        tx.commit().await?;
        Ok(Enrollment(updated))
    }

    /// Changes an academic year's name, dates or whether it is the current one. Its terms must
    /// stay inside its dates.
    async fn update_academic_year(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateAcademicYearInput,
    ) -> ApiResult<AcademicYear> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let current = tx
            .get::<academic_year::Entity>(AcademicYearId(id))
            .await?
            .ok_or(ApiError::NotFound("academic year"))?;
        let mut errors = Vec::new();
        let start = input.start_date.unwrap_or(current.start_date);
        let end = input.end_date.unwrap_or(current.end_date);
        if end <= start {
            errors.push(FieldError::new("input.endDate", "must be after startDate"));
        }
        let terms = tx
            .all(
                tx.find::<term::Entity>()
                    .filter(term::Column::AcademicYearId.eq(current.id)),
            )
            .await?;
        if let Some(outside) = terms
            .iter()
            .find(|t| t.start_date < start || t.end_date > end)
        {
            errors.push(FieldError::new(
                if outside.start_date < start {
                    "input.startDate"
                } else {
                    "input.endDate"
                },
                format!("term {} would fall outside the year", outside.name),
            ));
        }
        let mut row = current.into_active_model();
        if let Some(name) = &input.name {
            row.name = Set(required_text(&mut errors, "input.name", name));
        }
        done(errors)?;
        row.start_date = Set(start);
        row.end_date = Set(end);
        if let Some(is_current) = input.is_current {
            row.is_current = Set(is_current);
        }
        row.updated_at = Set(Utc::now());
        let updated = match tx.update(row).await {
            Ok(updated) => updated,
            Err(entity::tenant::TenantError::Db(e)) => {
                return Err(conflict_or_internal(
                    e,
                    "input.name",
                    "an academic year with this name",
                ));
            }
            Err(e) => return Err(removal_error("academic year")(e)),
        };
        if input.is_current == Some(true) {
            clear_current_year(&tx, updated.id).await?;
        }
        tx.commit().await?;
        Ok(AcademicYear(updated))
    }
}
