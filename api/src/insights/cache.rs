//! The analytics cache: answers keyed by (school, the school's data version, query and
//! arguments), least recently used evicted first once the entries weigh more than the budget.
//! A write to a school bumps its version, so its old answers are never served again (they age
//! out); no other school's entries are touched.

use std::{
    any::Any,
    sync::{Arc, Mutex},
};

use entity::ids::SchoolId;
use lru::LruCache;

/// A cached answer.
pub type Entry = Arc<dyn Any + Send + Sync>;

type Key = (SchoolId, i64, String);

/// A size-bounded LRU cache of analytics answers.
#[derive(Debug)]
pub struct AnalyticsCache {
    inner: Mutex<Inner>,
    budget: usize,
}

struct Inner {
    entries: LruCache<Key, (Entry, usize)>,
    weight: usize,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("entries", &self.entries.len())
            .field("weight", &self.weight)
            .finish()
    }
}

impl AnalyticsCache {
    /// A cache holding at most `budget` bytes of answers (by their estimated size).
    pub fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                weight: 0,
            }),
            budget,
        }
    }

    /// The answer for `query` of `school` at data `version`, if cached.
    pub fn get(&self, school: SchoolId, version: i64, query: &str) -> Option<Entry> {
        let mut inner = self.inner.lock().ok()?;
        inner
            .entries
            .get(&(school, version, query.to_owned()))
            .map(|(e, _)| e.clone())
    }

    /// Keeps `entry` (weighing about `weight` bytes), evicting the least recently used.
    pub fn put(&self, school: SchoolId, version: i64, query: &str, entry: Entry, weight: usize) {
        if weight > self.budget {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some((_, old)) = inner
            .entries
            .put((school, version, query.to_owned()), (entry, weight))
        {
            inner.weight -= old;
        }
        inner.weight += weight;
        while inner.weight > self.budget {
            match inner.entries.pop_lru() {
                Some((_, (_, w))) => inner.weight -= w,
                None => break,
            }
        }
    }

    /// (entries, bytes) held.
    pub fn usage(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map(|i| (i.entries.len(), i.weight))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_school_and_version_and_the_least_recent_go_first() {
        let cache = AnalyticsCache::new(100);
        let (a, b) = (SchoolId::generate(), SchoolId::generate());
        cache.put(a, 1, "overview", Arc::new(1_u32), 40);
        cache.put(b, 1, "overview", Arc::new(2_u32), 40);
        let hit = cache.get(a, 1, "overview").unwrap();
        assert_eq!(hit.downcast_ref::<u32>(), Some(&1));
        assert!(
            cache.get(a, 2, "overview").is_none(),
            "a new version misses"
        );
        assert!(cache.get(b, 1, "atRisk").is_none());
        // Over budget: b's entry was used least recently, so it goes.
        cache.put(a, 2, "overview", Arc::new(3_u32), 40);
        assert!(cache.get(b, 1, "overview").is_none());
        assert!(cache.get(a, 1, "overview").is_some());
        assert_eq!(cache.usage(), (2, 80));
        cache.put(a, 3, "huge", Arc::new(0_u32), 101);
        assert_eq!(
            cache.usage(),
            (2, 80),
            "an entry over the whole budget is not kept"
        );
    }
}
