//! Per-school budgets, so that one school's load cannot make another school wait: cost points
//! per minute (every query's price, computed before it runs, is charged to its school), and a
//! cap on the heavy work (imports, trainings, cold analytics, exports) a school may run at once.
//! Each school has its own bucket and its own permits; nothing one school does draws on
//! another's.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use entity::ids::SchoolId;
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

type CostLimiter = RateLimiter<
    SchoolId,
    DefaultKeyedStateStore<SchoolId>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// The per-school budgets of the running service.
pub struct Budgets {
    cost: CostLimiter,
    per_minute: u32,
    heavy: Mutex<HashMap<SchoolId, Arc<Semaphore>>>,
    heavy_per_school: usize,
    heavy_wait: Duration,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets")
            .field("per_minute", &self.per_minute)
            .field("heavy_per_school", &self.heavy_per_school)
            .field("heavy_wait", &self.heavy_wait)
            .finish_non_exhaustive()
    }
}

/// What a query was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// The points the query cost.
    pub cost: u64,
    /// The points the school has left in this minute's budget.
    pub remaining: u64,
    /// The school's budget per minute.
    pub per_minute: u64,
}

/// Work a school runs under one of its heavy-work permits; the permit is returned on drop.
#[derive(Debug)]
pub struct HeavyPermit(#[allow(dead_code)] OwnedSemaphorePermit);

impl Budgets {
    /// Budgets of `per_minute` cost points and `heavy_per_school` concurrent heavy jobs per
    /// school; a job waits at most `heavy_wait` for a permit.
    pub fn new(per_minute: u32, heavy_per_school: usize, heavy_wait: Duration) -> Self {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            cost: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            per_minute,
            heavy: Mutex::new(HashMap::new()),
            heavy_per_school: heavy_per_school.max(1),
            heavy_wait,
        }
    }

    /// Charges `cost` points to `school`, or answers `RATE_LIMITED` with the seconds until the
    /// school's bucket holds them again. A refused query is not charged.
    pub fn charge(&self, school: SchoolId, cost: u64) -> Result<Charge, ApiError> {
        let points = u32::try_from(cost.max(1)).unwrap_or(u32::MAX);
        let points = NonZeroU32::new(points).unwrap_or(NonZeroU32::MIN);
        match self.cost.check_key_n(&school, points) {
            Ok(Ok(snapshot)) => Ok(Charge {
                cost,
                remaining: u64::from(snapshot.remaining_burst_capacity()),
                per_minute: u64::from(self.per_minute),
            }),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.cost.clock().now());
                Err(ApiError::RateLimited {
                    retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                })
            }
            // More than a whole minute's budget: the cost limit keeps this from happening.
            Err(_) => Err(ApiError::RateLimited {
                retry_after_secs: 60,
            }),
        }
    }

    /// Waits (at most the configured time) for one of `school`'s heavy-work permits; when none
    /// frees up, answers `RATE_LIMITED`.
    pub async fn heavy(&self, school: SchoolId) -> Result<HeavyPermit, ApiError> {
        let semaphore = {
            let mut heavy = self.heavy.lock().map_err(ApiError::internal)?;
            heavy
                .entry(school)
                .or_insert_with(|| Arc::new(Semaphore::new(self.heavy_per_school)))
                .clone()
        };
        match tokio::time::timeout(self.heavy_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HeavyPermit(permit)),
            Ok(Err(e)) => Err(ApiError::internal(e)),
            Err(_) => Err(ApiError::RateLimited {
                retry_after_secs: self.heavy_wait.as_secs().max(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_school_is_charged_from_its_own_bucket() {
        let budgets = Budgets::new(1_000, 1, Duration::from_millis(10));
        let (a, b) = (SchoolId::generate(), SchoolId::generate());
        let charge = budgets.charge(a, 600).unwrap();
        assert_eq!((charge.cost, charge.remaining), (600, 400));
        let Err(ApiError::RateLimited { retry_after_secs }) = budgets.charge(a, 600) else {
            panic!("the second charge is over a's budget")
        };
        assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}");
        assert_eq!(budgets.charge(b, 1_000).unwrap().remaining, 0);
    }

    #[tokio::test]
    async fn heavy_permits_are_per_school_and_time_out() {
        let budgets = Budgets::new(1_000, 1, Duration::from_millis(20));
        let (a, b) = (SchoolId::generate(), SchoolId::generate());
        let held = budgets.heavy(a).await.unwrap();
        assert!(matches!(
            budgets.heavy(a).await,
            Err(ApiError::RateLimited { .. })
        ));
        budgets.heavy(b).await.unwrap();
        drop(held);
        budgets.heavy(a).await.unwrap();
    }
}
