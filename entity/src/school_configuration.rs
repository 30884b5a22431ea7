//! A school's settings (one row per school).

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A school's settings (one row per school).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "school_configurations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SchoolConfigurationId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub score_min: f64,
    pub score_max: f64,
    pub pass_mark: f64,
    pub chronic_absence_pct: f64,
    pub chronic_absence_min_days: i32,
    pub risk_thresholds: Json,
    pub branding: Json,
    pub subscription_tier: String,
    pub feature_flags: Json,
    pub timezone: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
