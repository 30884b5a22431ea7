//! Per-school predictions (DESIGN §8): `trainModel`, `mlModels`, `predictions` and
//! `Student.prediction`. Models are trained and used inside one school only.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{ids::*, ml_model, student, tenant::TenantTx};
use sea_orm::{ActiveValue::Set, Order};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    graphql::{
        context::{heavy_work, loaders, require, scoped},
        loaders::load_error,
        roster::Student,
    },
    insights::{self, Features, ml},
    services::audit,
    tenant::Actor,
};

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ModelTarget {
    /// The student's average over final grades (0–100).
    FinalScore,
}

/// A feature's weight in a model.
#[derive(Debug, Clone, SimpleObject)]
pub struct Coefficient {
    /// `attendanceRate`, `priorAverage` or `negativeIncidents`.
    pub feature: String,
    /// Score points per unit of the feature.
    pub coefficient: f64,
}

/// How well a model predicts a set of students.
#[derive(Debug, Clone, SimpleObject)]
pub struct ModelMetrics {
    /// Students in the set.
    pub n: i32,
    /// Coefficient of determination.
    pub r2: f64,
    /// Root mean squared error, in score points.
    pub rmse: f64,
    /// Mean absolute error, in score points.
    pub mae: f64,
}

fn metrics(value: &serde_json::Value) -> Option<ModelMetrics> {
    let m: ml::Metrics = serde_json::from_value(value.clone()).ok()?;
    Some(ModelMetrics {
        n: i32::try_from(m.n).unwrap_or(i32::MAX),
        r2: m.r2,
        rmse: m.rmse,
        mae: m.mae,
    })
}

/// A model trained on this school's students: `finalScore ~ 1 + attendanceRate + priorAverage
/// + negativeIncidents` (ordinary least squares).
#[derive(Debug, Clone)]
pub struct MlModel(pub ml_model::Model);

/// A model trained on this school's students: `finalScore ~ 1 + attendanceRate + priorAverage
/// + negativeIncidents` (ordinary least squares).
#[Object]
impl MlModel {
    /// The model's id.
    async fn id(&self) -> Uuid {
        self.0.id.into()
    }
    /// What it predicts.
    async fn target(&self) -> ModelTarget {
        ModelTarget::FinalScore
    }
    /// When it was trained.
    async fn trained_at(&self) -> DateTime<Utc> {
        self.0.trained_at
    }
    /// The user who trained it (none for an API token).
    async fn trained_by(&self) -> Option<Uuid> {
        self.0.trained_by.map(Into::into)
    }
    /// Students it was fitted on (all usable students).
    async fn n(&self) -> i32 {
        self.0.n_train
    }
    /// The intercept.
    async fn intercept(&self) -> f64 {
        self.0.intercept
    }
    /// The coefficient of each feature kept.
    async fn coefficients(&self) -> Vec<Coefficient> {
        insights::coefficients(&self.0)
            .into_iter()
            .map(|(j, c)| Coefficient {
                feature: ml::FEATURES[j].to_owned(),
                coefficient: c,
            })
            .collect()
    }
    /// Features left out because they were the same for every student.
    async fn dropped_features(&self) -> Vec<String> {
        serde_json::from_value(self.0.dropped_features.clone()).unwrap_or_default()
    }
    /// R² on the students it was fitted on.
    async fn r2(&self) -> Option<f64> {
        metrics(&self.0.metrics["train"]).map(|m| m.r2)
    }
    /// The fit measured on the students it was fitted on.
    async fn train(&self) -> Option<ModelMetrics> {
        metrics(&self.0.metrics["train"])
    }
    /// A separate fit on 80% of the students (every fifth held out), measured on the other 20%;
    /// null when that fit was not possible.
    async fn holdout(&self) -> Option<ModelMetrics> {
        metrics(&self.0.metrics["holdout"])
    }
}

/// One feature's part in a prediction.
#[derive(Debug, Clone, SimpleObject)]
pub struct Contribution {
    /// The feature.
    pub feature: String,
    /// The student's value.
    pub value: f64,
    /// The model's coefficient.
    pub coefficient: f64,
    /// value × coefficient, in score points.
    pub contribution: f64,
}

/// A predicted final score and why.
#[derive(Debug, Clone)]
pub struct Prediction {
    student: StudentId,
    predicted_score: f64,
    model: ml_model::Model,
    contributions: Vec<Contribution>,
}

impl Prediction {
    /// What `model` predicts for a student with `features` (`None` without every feature).
    pub fn of(model: &ml_model::Model, features: &Features) -> Option<Self> {
        let values = features.values()?;
        let coefficients = insights::coefficients(model);
        let contributions: Vec<Contribution> = coefficients
            .iter()
            .map(|(j, c)| Contribution {
                feature: ml::FEATURES[*j].to_owned(),
                value: values[*j],
                coefficient: *c,
                contribution: values[*j] * c,
            })
            .collect();
        Some(Self {
            student: features.student,
            predicted_score: ml::predict(&coefficients, model.intercept, &values),
            model: model.clone(),
            contributions,
        })
    }
}

/// A predicted final score and why.
#[Object]
impl Prediction {
    /// The predicted final score (0–100 scale; not clamped).
    async fn predicted_score(&self) -> f64 {
        self.predicted_score
    }
    /// The model that made it.
    async fn model(&self) -> MlModel {
        MlModel(self.model.clone())
    }
    /// Each feature's part: the prediction is the model's intercept plus their sum.
    async fn contributions(&self) -> &[Contribution] {
        &self.contributions
    }
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> ApiResult<Option<Student>> {
        Ok(loaders(ctx)?
            .student
            .load_one(self.student)
            .await
            .map_err(load_error)?
            .map(Student))
    }
}

/// Reading models and predictions.
#[derive(Debug, Default)]
pub struct InsightsQuery;

/// Reading models and predictions.
#[Object]
impl InsightsQuery {
    /// The school's models, newest (the active one) first.
    #[graphql(
        complexity = "crate::graphql::limits::list_cost(None, crate::graphql::limits::nested::FLAT, child_complexity)"
    )]
    async fn ml_models(&self, ctx: &Context<'_>) -> ApiResult<Vec<MlModel>> {
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let rows = tx
            .all(
                tx.find::<ml_model::Entity>()
                    .order_by(ml_model::Column::TrainedAt, Order::Desc)
                    .order_by(ml_model::Column::Id, Order::Desc)
                    .limit(100),
            )
            .await?;
        Ok(rows.into_iter().map(MlModel).collect())
    }

    /// Students without a final score yet, ranked by the active model's prediction, lowest
    /// (most at risk) first. Empty while the school has no model.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn predictions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
    ) -> ApiResult<Vec<Prediction>> {
        let first = crate::graphql::pagination::page_size(first)?;
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let Some(model) = insights::active_model(&tx).await? else {
            return Ok(Vec::new());
        };
        let features = insights::features(&tx, None).await?;
        let mut out: Vec<Prediction> = features
            .iter()
            .filter(|f| f.final_score.is_none())
            .filter_map(|f| Prediction::of(&model, f))
            .collect();
        out.sort_by(|a, b| {
            a.predicted_score
                .total_cmp(&b.predicted_score)
                .then(a.student.cmp(&b.student))
        });
        out.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        Ok(out)
    }
}

/// Training models.
#[derive(Debug, Default)]
pub struct InsightsMutation;

/// Training models.
#[Object]
impl InsightsMutation {
    /// Trains a model on this school's students (permission `ml:train`): ordinary least squares
    /// of the final score on attendanceRate, priorAverage and negativeIncidents, fitted on every
    /// student who has them all (at least 30), dropping a feature that is the same for all.
    /// Reports the fit on those students and a holdout fit (80/20). The new model becomes the
    /// active one; older ones stay listed.
    async fn train_model(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to predict.")] target: ModelTarget,
    ) -> ApiResult<MlModel> {
        let ModelTarget::FinalScore = target;
        // Training is heavy work: it waits for one of the school's permits (before it holds a
        // connection).
        let school = require(ctx, Permission::MlTrain).await?.school_id();
        let _permit = heavy_work(ctx, school).await?;
        let tenant = require(ctx, Permission::MlTrain).await?;
        let db = &crate::graphql::context::state(ctx)?.db;
        // Read and fit outside the write transaction: on SQLite the writer's turn is held only
        // for the insert, never for the fit.
        let read = TenantTx::begin(db, school).await?;
        let features = insights::features(&read, None).await?;
        read.commit().await?;
        let fitted = tokio::task::spawn_blocking(move || ml::train(&features))
            .await
            .map_err(ApiError::internal)?;
        let outcome = if fitted.is_ok() { "ok" } else { "failed" };
        let state = crate::graphql::context::state(ctx)?;
        state.metrics.trainings.with_label_values(&[outcome]).inc();
        let trained = fitted.map_err(|e| match e {
            ml::TrainError::Fit(_) => ApiError::internal(e),
            e => ApiError::bad_field("target", e.to_string()),
        })?;
        let now = Utc::now();
        let tx = TenantTx::begin_write(db, school).await?;
        let row = tx
            .insert(ml_model::ActiveModel {
                id: Set(MlModelId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                target: Set(insights::FINAL_SCORE.to_owned()),
                coefficients: Set(json!(
                    trained
                        .coefficients
                        .iter()
                        .map(|(f, c)| json!({ "feature": f, "coefficient": c }))
                        .collect::<Vec<_>>()
                )),
                intercept: Set(trained.intercept),
                n_train: Set(i32::try_from(trained.train.n).unwrap_or(i32::MAX)),
                metrics: Set(json!({ "train": trained.train, "holdout": trained.holdout })),
                dropped_features: Set(json!(trained.dropped)),
                trained_at: Set(now),
                trained_by: Set(match &tenant.actor {
                    Actor::User(u) => Some(u.id),
                    Actor::ApiToken(_) => None,
                }),
                ..Default::default()
            })
            .await?;
        audit::write(
            &tx,
            Some(&tenant.actor),
            audit::Entry::new("ml.train").on("ml_model", row.id),
        )
        .await?;
        tx.commit().await?;
        Ok(MlModel(row))
    }
}

/// The prediction for one student (for `Student.prediction`).
pub async fn of_student(
    ctx: &Context<'_>,
    student: &student::Model,
) -> ApiResult<Option<Prediction>> {
    let loaders = loaders(ctx)?;
    let Some(model) = loaders.active_model().await? else {
        return Ok(None);
    };
    let features = loaders
        .features
        .load_one(student.id)
        .await
        .map_err(load_error)?;
    Ok(features.and_then(|f| Prediction::of(&model, &f)))
}
