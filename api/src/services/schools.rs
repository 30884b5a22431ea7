//! Creating schools (superadmin work and the first-run bootstrap).

use chrono::Utc;
use entity::{ids::*, school, school_configuration, tenant::TenantTx};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, SqlErr};
use serde_json::json;

use crate::error::{ApiError, ApiResult, FieldError};

/// Checks a school's name and slug; slugs are lower-case words joined by hyphens.
pub fn validate(name: &str, slug: &str) -> ApiResult<(String, String)> {
    let slug = slug.trim().to_owned();
    let mut errors = Vec::new();
    let name = match crate::rules::Name::parse(name) {
        Ok(name) => name.into_string(),
        Err(broken) => {
            errors.push(FieldError::broken("input.name", broken));
            String::new()
        }
    };
    let well_formed = (2..=63).contains(&slug.len())
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !well_formed || slug.parse::<uuid::Uuid>().is_ok() {
        errors.push(FieldError::new(
            "input.slug",
            "must be 2 to 63 lower-case letters, digits and single hyphens",
        ));
    }
    if errors.is_empty() {
        Ok((name, slug))
    } else {
        Err(ApiError::bad_fields(errors))
    }
}

/// Creates a school and its default configuration in `tx`.
pub async fn create(tx: &DatabaseTransaction, name: &str, slug: &str) -> ApiResult<school::Model> {
    let (name, slug) = validate(name, slug)?;
    let now = Utc::now();
    let school = school::ActiveModel {
        id: Set(SchoolId::generate()),
        name: Set(name),
        slug: Set(slug),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict {
            field: "input.slug".into(),
            message: "a school with this slug already exists".into(),
        },
        _ => ApiError::from(e),
    })?;
    let scoped = TenantTx::nested(tx, school.id).await?;
    scoped
        .insert(school_configuration::ActiveModel {
            id: Set(SchoolConfigurationId::generate()),
            score_min: Set(0.0),
            score_max: Set(100.0),
            pass_mark: Set(55.0),
            chronic_absence_pct: Set(10.0),
            chronic_absence_min_days: Set(20),
            risk_thresholds: Set(json!({})),
            branding: Set(json!({})),
            subscription_tier: Set("STANDARD".into()),
            feature_flags: Set(json!({})),
            timezone: Set("Asia/Jerusalem".into()),
            ..Default::default()
        })
        .await?;
    scoped.commit().await?;
    Ok(school)
}
