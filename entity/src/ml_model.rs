//! A trained per-school model.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A trained per-school model.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ml_models")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: MlModelId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub target: String,
    pub coefficients: Json,
    pub intercept: f64,
    pub n_train: i32,
    pub metrics: Json,
    pub dropped_features: Json,
    pub trained_at: DateTimeUtc,
    pub trained_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
