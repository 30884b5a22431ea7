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
    in_flight: Mutex<HashMap<SchoolId, Arc<Semaphore>>>,
    in_flight_per_school: usize,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets")
            .field("per_minute", &self.per_minute)
            .field("heavy_per_school", &self.heavy_per_school)
            .field("heavy_wait", &self.heavy_wait)
            .field("in_flight_per_school", &self.in_flight_per_school)
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

/// One of a school's places for a request in execution; returned on drop.
#[derive(Debug)]
pub struct Admission(#[allow(dead_code)] OwnedSemaphorePermit);

/// The semaphore of `school` in `map`, made with `permits` on first use.
fn semaphore(
    map: &Mutex<HashMap<SchoolId, Arc<Semaphore>>>,
    school: SchoolId,
    permits: usize,
) -> Result<Arc<Semaphore>, ApiError> {
    let mut map = map.lock().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(map
        .entry(school)
        .or_insert_with(|| Arc::new(Semaphore::new(permits)))
        .clone())
}

impl Budgets {
    /// Budgets of `per_minute` cost points, `heavy_per_school` concurrent heavy jobs (a job
    /// waits at most `heavy_wait` for a permit) and `in_flight_per_school` requests in execution
    /// per school.
    pub fn new(
        per_minute: u32,
        heavy_per_school: usize,
        heavy_wait: Duration,
        in_flight_per_school: usize,
    ) -> Self {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            cost: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            per_minute,
            heavy: Mutex::new(HashMap::new()),
            heavy_per_school: heavy_per_school.max(1),
            heavy_wait,
            in_flight: Mutex::new(HashMap::new()),
            in_flight_per_school: in_flight_per_school.max(1),
        }
    }

    /// Waits for one of `school`'s places for a request in execution: a school's requests never
    /// hold more of the shared connections and cores than that, however many it sends; the
    /// others wait their turn (within the request's time limit).
    pub async fn admit(&self, school: SchoolId) -> Result<Admission, ApiError> {
        let semaphore = semaphore(&self.in_flight, school, self.in_flight_per_school)?;
        let permit = semaphore
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        Ok(Admission(permit))
    }

    /// One of `school`'s places for a request in execution if one is free now (see
    /// [`Budgets::admit`]).
    pub fn try_admit(&self, school: SchoolId) -> Option<Admission> {
        semaphore(&self.in_flight, school, self.in_flight_per_school)
            .ok()?
            .try_acquire_owned()
            .ok()
            .map(Admission)
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
        let semaphore = semaphore(&self.heavy, school, self.heavy_per_school)?;
        match tokio::time::timeout(self.heavy_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HeavyPermit(permit)),
            Ok(Err(e)) => Err(ApiError::internal(e)),
            Err(_) => Err(ApiError::RateLimited {
                retry_after_secs: self.heavy_wait.as_secs().max(1),
            }),
        }
    }
}

/// The threads expensive queries run on, apart from the server's own: however many schools
/// send expensive queries at once, they share these threads, and everyday requests keep the
/// server's threads.
pub struct HeavyLane(Option<tokio::runtime::Runtime>);

impl std::fmt::Debug for HeavyLane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeavyLane").finish_non_exhaustive()
    }
}

impl HeavyLane {
    /// A lane of `threads` threads.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("heavy-lane")
            .enable_all()
            .build()?;
        Ok(Self(Some(runtime)))
    }

    /// Runs `work` on the lane and waits for it.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T, ApiError> {
        match &self.0 {
            Some(runtime) => runtime.spawn(work).await.map_err(ApiError::internal),
            None => Err(ApiError::internal("the heavy lane has stopped")),
        }
    }
}

impl Drop for HeavyLane {
    fn drop(&mut self) {
        // The server may stop inside another runtime, where a runtime cannot be dropped
        // blocking.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_school_is_charged_from_its_own_bucket() {
        let budgets = Budgets::new(1_000, 1, Duration::from_millis(10), 1);
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
        let budgets = Budgets::new(1_000, 1, Duration::from_millis(20), 1);
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

    #[tokio::test]
    async fn the_heavy_lane_runs_work_on_its_own_threads() {
        let lane = HeavyLane::new(1).unwrap();
        let name = lane
            .run(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("heavy-lane"));
    }

    #[tokio::test]
    async fn a_school_waits_for_its_own_places_only() {
        let budgets = Budgets::new(1_000, 1, Duration::from_millis(20), 2);
        let (a, b) = (SchoolId::generate(), SchoolId::generate());
        let _first = budgets.admit(a).await.unwrap();
        let second = budgets.admit(a).await.unwrap();
        let third = tokio::time::timeout(Duration::from_millis(50), budgets.admit(a)).await;
        assert!(third.is_err(), "a third request of a waits");
        tokio::time::timeout(Duration::from_millis(50), budgets.admit(b))
            .await
            .expect("b does not wait for a")
            .unwrap();
        drop(second);
        tokio::time::timeout(Duration::from_millis(50), budgets.admit(a))
            .await
            .expect("a place of a freed up")
            .unwrap();
    }
}
