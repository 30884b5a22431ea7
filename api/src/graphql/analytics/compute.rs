//! Computing figures in the school's scope, through the analytics cache.

use std::sync::Arc;

use async_graphql::Context;
use entity::{
    ids::{ClassId, SubjectId, TermId},
    tenant::TenantTx,
};
use uuid::Uuid;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult},
    graphql::context::{heavy_work, loaders, require, state, tenant},
    insights::analytics::{self, Filters, Settings},
};

/// Runs `compute` in the school's scope unless the answer for `key` at the school's data
/// version is cached; caches what it computes. The version is the one read when the request was
/// resolved (so a cached answer needs no database round trip), else the one the computing
/// transaction reads: an answer is never older than the request.
pub(super) async fn cached<T>(
    ctx: &Context<'_>,
    key: String,
    weight: impl Fn(&T) -> usize,
    compute: impl AsyncFnOnce(&TenantTx, &Settings) -> ApiResult<T>,
) -> ApiResult<Arc<T>>
where
    T: Send + Sync + 'static,
{
    let tenant = require(ctx, Permission::StudentsRead).await?;
    let cache = &state(ctx)?.analytics_cache;
    let school = tenant.school_id();
    let hit = |version| {
        cache
            .get(school, version, &key)
            .and_then(|e| e.downcast::<T>().ok())
    };
    // The version read with the request's user and school: a hit costs no round trip.
    if let Some(hit) = hit(tenant.data_version) {
        return Ok(hit);
    }
    // Computing is heavy work: it waits for one of the school's permits.
    let _permit = heavy_work(ctx, school).await?;
    let tx = TenantTx::begin(&state(ctx)?.db, school).await?;
    let settings = analytics::settings(&tx).await?;
    // A write may have landed since the request was resolved.
    if let Some(hit) = hit(settings.version) {
        tx.commit().await?;
        return Ok(hit);
    }
    tx.plan_for_parameters().await?;
    let value = Arc::new(compute(&tx, &settings).await?);
    tx.commit().await?;
    let size = weight(&value);
    cache.put(school, settings.version, &key, value.clone(), size);
    Ok(value)
}

/// Each id filter must name a record of this school (another school's id is answered like a
/// missing one).
pub(super) async fn check(tx: &TenantTx, filters: &Filters) -> ApiResult<()> {
    if let Some(id) = filters.subject
        && tx.get::<entity::subject::Entity>(id).await?.is_none()
    {
        return Err(ApiError::NotFound("subject"));
    }
    if let Some(id) = filters.class
        && tx.get::<entity::class::Entity>(id).await?.is_none()
    {
        return Err(ApiError::NotFound("class"));
    }
    if let Some(id) = filters.term
        && tx.get::<entity::term::Entity>(id).await?.is_none()
    {
        return Err(ApiError::NotFound("term"));
    }
    Ok(())
}

pub(super) fn filters(subject: Option<Uuid>, class: Option<Uuid>, term: Option<Uuid>) -> Filters {
    Filters {
        subject: subject.map(SubjectId),
        class: class.map(ClassId),
        term: term.map(TermId),
    }
}

/// The school's ABC scores, once per request, from the cache at the request's data version when
/// they are there.
pub(super) async fn risk_table(ctx: &Context<'_>) -> ApiResult<Arc<analytics::RiskTable>> {
    let (state, tenant, loaders) = (state(ctx)?, tenant(ctx).await?, loaders(ctx)?);
    let cached = loaders.risks_ready()
        || state
            .analytics_cache
            .get(
                tenant.school_id(),
                tenant.data_version,
                analytics::RISKS_KEY,
            )
            .is_some();
    // Computing the scores is heavy work: it waits for one of the school's permits.
    let _permit = match cached {
        true => None,
        false => heavy_work(ctx, tenant.school_id()).await?,
    };
    Ok(loaders
        .risks(&state.analytics_cache, tenant.data_version)
        .await?)
}
