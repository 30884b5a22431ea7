//! The calendar: academic years and terms, their GraphQL types and inputs.

use crate::graphql::scalars::Date;
use async_graphql::{Context, InputObject, Object};
use entity::{academic_year, ids::*, term};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::graphql::context::loaders;
use crate::graphql::limits;
use crate::graphql::limits::nested;
use crate::graphql::loaders::{first_of, one};
use crate::services;

/// An academic year of the school.
#[derive(Debug, Clone)]
pub struct AcademicYear(pub academic_year::Model);

/// An academic year of the school.
#[Object]
impl AcademicYear {
    /// The year's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The year's name, e.g. 2025-2026.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// First day.
    async fn start_date(&self) -> Date {
        Date(self.0.start_date)
    }
    /// Last day.
    async fn end_date(&self) -> Date {
        Date(self.0.end_date)
    }
    /// Whether this is the current year.
    async fn is_current(&self) -> bool {
        self.0.is_current
    }
    /// The year's terms, in order.
    #[graphql(complexity = "limits::list_cost(first, nested::YEAR_TERMS, child_complexity)")]
    async fn terms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 10).")] first: Option<i32>,
    ) -> ApiResult<Vec<Term>> {
        let first = limits::nested_first(first, nested::YEAR_TERMS)?;
        first_of(&loaders(ctx)?.terms_by_year, self.0.id, first, Term).await
    }
}

/// A term (semester) of an academic year.
#[derive(Debug, Clone)]
pub struct Term(pub term::Model);

/// A term (semester) of an academic year.
#[Object]
impl Term {
    /// The term's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The term's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// First day.
    async fn start_date(&self) -> Date {
        Date(self.0.start_date)
    }
    /// Last day.
    async fn end_date(&self) -> Date {
        Date(self.0.end_date)
    }
    /// The academic year.
    async fn academic_year(&self, ctx: &Context<'_>) -> ApiResult<Option<AcademicYear>> {
        one(
            &loaders(ctx)?.academic_year,
            Some(self.0.academic_year_id),
            AcademicYear,
        )
        .await
    }
}

/// A new academic year.
#[derive(Debug, InputObject)]
pub struct CreateAcademicYearInput {
    /// The year's name, e.g. 2025-2026 (unique in the school).
    pub name: String,
    /// First day.
    pub start_date: Date,
    /// Last day.
    pub end_date: Date,
    /// Whether it is the current year (the school's other years stop being current).
    pub is_current: Option<bool>,
}

/// Changes to an academic year; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateAcademicYearInput {
    /// The year's name (unique in the school).
    pub name: Option<String>,
    /// First day; every term of the year must stay inside it.
    pub start_date: Option<Date>,
    /// Last day; every term of the year must stay inside it.
    pub end_date: Option<Date>,
    /// Makes this the current year (the school's other years stop being current).
    pub is_current: Option<bool>,
}

/// A new term.
#[derive(Debug, InputObject)]
pub struct CreateTermInput {
    /// The academic year.
    pub academic_year_id: Uuid,
    /// The term's name (unique in the year).
    pub name: String,
    /// First day (inside the year).
    pub start_date: Date,
    /// Last day (inside the year).
    pub end_date: Date,
}

/// Changes to a term; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateTermInput {
    /// The term's name (unique in its year).
    pub name: Option<String>,
    /// First day (inside the year).
    pub start_date: Option<Date>,
    /// Last day (inside the year).
    pub end_date: Option<Date>,
}

impl From<CreateAcademicYearInput> for services::calendar::NewYear {
    fn from(input: CreateAcademicYearInput) -> Self {
        Self {
            name: input.name,
            start_date: input.start_date.0,
            end_date: input.end_date.0,
            is_current: input.is_current.unwrap_or(false),
        }
    }
}

impl From<UpdateAcademicYearInput> for services::calendar::YearChanges {
    fn from(input: UpdateAcademicYearInput) -> Self {
        Self {
            name: input.name,
            start_date: input.start_date.map(|d| d.0),
            end_date: input.end_date.map(|d| d.0),
            is_current: input.is_current,
        }
    }
}

impl From<CreateTermInput> for services::calendar::NewTerm {
    fn from(input: CreateTermInput) -> Self {
        Self {
            year: AcademicYearId(input.academic_year_id),
            name: input.name,
            start_date: input.start_date.0,
            end_date: input.end_date.0,
        }
    }
}

impl From<UpdateTermInput> for services::calendar::TermChanges {
    fn from(input: UpdateTermInput) -> Self {
        Self {
            name: input.name,
            start_date: input.start_date.map(|d| d.0),
            end_date: input.end_date.map(|d| d.0),
        }
    }
}
