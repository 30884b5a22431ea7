//! `updateSchoolConfiguration`: the school's pass mark and its attendance and ABC thresholds.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use entity::tenant::TenantTx;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    graphql::context::{scoped, state},
    insights::analytics,
};

/// The ABC early-warning thresholds (DESIGN §7), from `risk_thresholds`; missing keys take the
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, SimpleObject)]
pub struct RiskThresholds {
    /// Absence rate (%) from which attendance scores 1 point (default 5).
    pub absence_medium_pct: f64,
    /// Absence rate (%) from which attendance scores 2 points (default 10).
    pub absence_high_pct: f64,
    /// Negative incidents from which behaviour scores 1 point (default 1).
    pub incidents_medium: i64,
    /// Negative incidents from which behaviour scores 2 points (default 3; any suspension too).
    pub incidents_high: i64,
    /// Overall average below which course performance scores at least 1 point (default 75).
    pub average_medium: f64,
    /// Overall average below which course performance scores 2 points (default 65).
    pub average_high: f64,
}

impl From<analytics::RiskThresholds> for RiskThresholds {
    fn from(t: analytics::RiskThresholds) -> Self {
        Self {
            absence_medium_pct: t.absence_medium_pct,
            absence_high_pct: t.absence_high_pct,
            incidents_medium: t.incidents_medium,
            incidents_high: t.incidents_high,
            average_medium: t.average_medium,
            average_high: t.average_high,
        }
    }
}

/// Changes to the school's analytics settings; fields left out keep their values.
#[derive(Debug, Clone, Default, InputObject)]
pub struct SchoolConfigurationInput {
    /// Pass mark on the 0–100 scale.
    pub pass_mark: Option<f64>,
    /// Absence rate (%) from which a student is chronically absent.
    pub chronic_absence_pct: Option<f64>,
    /// Recorded days before chronic absence is judged (at least 1).
    pub chronic_absence_min_days: Option<i32>,
    /// Absence rate (%) from which attendance scores 1 ABC point.
    pub absence_medium_pct: Option<f64>,
    /// Absence rate (%) from which attendance scores 2 ABC points.
    pub absence_high_pct: Option<f64>,
    /// Negative incidents from which behaviour scores 1 ABC point.
    pub incidents_medium: Option<i64>,
    /// Negative incidents from which behaviour scores 2 ABC points.
    pub incidents_high: Option<i64>,
    /// Overall average below which course performance scores at least 1 ABC point.
    pub average_medium: Option<f64>,
    /// Overall average below which course performance scores 2 ABC points.
    pub average_high: Option<f64>,
}

/// Changing the school's settings.
#[derive(Debug, Default)]
pub struct ConfigurationMutation;

/// Changing the school's settings.
#[Object]
impl ConfigurationMutation {
    /// Changes the pass mark and the attendance and ABC thresholds of the active school
    /// (permission `school:configure`). Analytics follow at once: the change moves the school's
    /// data version.
    async fn update_school_configuration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: SchoolConfigurationInput,
    ) -> ApiResult<crate::graphql::types::SchoolConfiguration> {
        use sea_orm::{ActiveValue::Set, IntoActiveModel};
        let (_, tx) = scoped(ctx, Permission::SchoolConfigure).await?;
        let row = tx
            .one(tx.find::<entity::school_configuration::Entity>())
            .await?
            .ok_or(ApiError::NotFound("school configuration"))?;
        let current: analytics::RiskThresholds =
            serde_json::from_value(row.risk_thresholds.clone()).unwrap_or_default();
        let t = analytics::RiskThresholds {
            absence_medium_pct: input
                .absence_medium_pct
                .unwrap_or(current.absence_medium_pct),
            absence_high_pct: input.absence_high_pct.unwrap_or(current.absence_high_pct),
            incidents_medium: input.incidents_medium.unwrap_or(current.incidents_medium),
            incidents_high: input.incidents_high.unwrap_or(current.incidents_high),
            average_medium: input.average_medium.unwrap_or(current.average_medium),
            average_high: input.average_high.unwrap_or(current.average_high),
        };
        let pass_mark = input.pass_mark.unwrap_or(row.pass_mark);
        let chronic_pct = input.chronic_absence_pct.unwrap_or(row.chronic_absence_pct);
        let min_days = input
            .chronic_absence_min_days
            .unwrap_or(row.chronic_absence_min_days);
        let mut errors = Vec::new();
        let pct = |x: f64| (0.0..=100.0).contains(&x);
        for (field, ok, message) in [
            ("input.passMark", pct(pass_mark), "must be from 0 to 100"),
            (
                "input.chronicAbsencePct",
                pct(chronic_pct),
                "must be from 0 to 100",
            ),
            (
                "input.chronicAbsenceMinDays",
                (1..=366).contains(&min_days),
                "must be from 1 to 366",
            ),
            (
                "input.absenceMediumPct",
                pct(t.absence_medium_pct),
                "must be from 0 to 100",
            ),
            (
                "input.absenceHighPct",
                pct(t.absence_high_pct) && t.absence_high_pct >= t.absence_medium_pct,
                "must be from 0 to 100 and not below absenceMediumPct",
            ),
            (
                "input.incidentsMedium",
                t.incidents_medium >= 1,
                "must be at least 1",
            ),
            (
                "input.incidentsHigh",
                t.incidents_high >= t.incidents_medium,
                "must not be below incidentsMedium",
            ),
            (
                "input.averageMedium",
                pct(t.average_medium),
                "must be from 0 to 100",
            ),
            (
                "input.averageHigh",
                pct(t.average_high) && t.average_high <= t.average_medium,
                "must be from 0 to 100 and not above averageMedium",
            ),
        ] {
            if !ok {
                errors.push(crate::error::FieldError::new(field, message));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::bad_fields(errors));
        }
        let mut active = row.into_active_model();
        active.pass_mark = Set(pass_mark);
        active.chronic_absence_pct = Set(chronic_pct);
        active.chronic_absence_min_days = Set(min_days);
        active.risk_thresholds = Set(serde_json::json!({
            "absenceMediumPct": t.absence_medium_pct,
            "absenceHighPct": t.absence_high_pct,
            "incidentsMedium": t.incidents_medium,
            "incidentsHigh": t.incidents_high,
            "averageMedium": t.average_medium,
            "averageHigh": t.average_high,
        }));
        active.updated_at = Set(chrono::Utc::now());
        let row = tx.update(active).await.map_err(|e| match e {
            entity::tenant::TenantError::NotFound => ApiError::NotFound("school configuration"),
            entity::tenant::TenantError::Db(e) => e.into(),
        })?;
        tx.commit().await?;
        // The commit moved the data version: read the row as it now stands.
        let tx = TenantTx::begin(&state(ctx)?.db, row.school_id).await?;
        let configuration = crate::graphql::types::SchoolConfiguration::read(&tx).await?;
        tx.commit().await?;
        Ok(configuration)
    }
}
