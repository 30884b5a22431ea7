//! The analytics cache: answers keyed by (school, the school's data version, query and
//! arguments), least recently used evicted first once the entries weigh more than the budget.
//! A write to a school bumps its version, so its old answers are never served again (they age
//! out); no other school's entries are touched.
//!
//! Each school has a share: its entries never weigh more than the per-school budget (its own
//! least recent go first), and when the whole cache is over its budget the entries that go are
//! the least recent of the school holding the most. So one school asking for ever new answers
//! only ever evicts its own, while the others stay within their shares.

use std::{
    any::Any,
    collections::HashMap,
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
    school_budget: usize,
}

struct Inner {
    entries: LruCache<Key, (Entry, usize)>,
    weight: usize,
    by_school: HashMap<SchoolId, usize>,
}

impl Inner {
    /// Drops `school`'s least recently used entry; false when it has none.
    fn evict_from(&mut self, school: SchoolId) -> bool {
        let Some(key) = self
            .entries
            .iter()
            .rev()
            .find(|(k, _)| k.0 == school)
            .map(|(k, _)| k.clone())
        else {
            return false;
        };
        if let Some((_, w)) = self.entries.pop(&key) {
            self.forget(school, w);
        }
        true
    }

    fn forget(&mut self, school: SchoolId, weight: usize) {
        self.weight -= weight;
        if let Some(held) = self.by_school.get_mut(&school) {
            *held -= weight;
            if *held == 0 {
                self.by_school.remove(&school);
            }
        }
    }
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
    /// A cache holding at most `budget` bytes of answers (by their estimated size), at most
    /// `school_budget` of them one school's.
    pub fn new(budget: usize, school_budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                weight: 0,
                by_school: HashMap::new(),
            }),
            budget,
            school_budget: school_budget.min(budget),
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

    /// Keeps `entry` (weighing about `weight` bytes), evicting the least recently used of the
    /// same school, then, while the cache is over its budget, of the school holding the most.
    pub fn put(&self, school: SchoolId, version: i64, query: &str, entry: Entry, weight: usize) {
        if weight > self.school_budget {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some((_, old)) = inner
            .entries
            .put((school, version, query.to_owned()), (entry, weight))
        {
            inner.forget(school, old);
        }
        inner.weight += weight;
        *inner.by_school.entry(school).or_default() += weight;
        while inner
            .by_school
            .get(&school)
            .is_some_and(|w| *w > self.school_budget)
        {
            if !inner.evict_from(school) {
                break;
            }
        }
        while inner.weight > self.budget {
            let Some(largest) = inner
                .by_school
                .iter()
                .max_by_key(|(_, w)| **w)
                .map(|(s, _)| *s)
            else {
                break;
            };
            if !inner.evict_from(largest) {
                break;
            }
        }
    }

    /// The bytes `school`'s answers take.
    pub fn school_usage(&self, school: SchoolId) -> usize {
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.by_school.get(&school).copied())
            .unwrap_or_default()
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
        let cache = AnalyticsCache::new(100, 100);
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
        // Over budget: a holds the most, so a's least recently used entry goes, although b's
        // was used less recently.
        cache.put(a, 2, "overview", Arc::new(3_u32), 40);
        assert!(cache.get(a, 1, "overview").is_none());
        assert!(cache.get(b, 1, "overview").is_some());
        assert!(cache.get(a, 2, "overview").is_some());
        assert_eq!(cache.usage(), (2, 80));
        cache.put(a, 3, "huge", Arc::new(0_u32), 101);
        assert_eq!(
            cache.usage(),
            (2, 80),
            "an entry over the whole budget is not kept"
        );
    }

    #[test]
    fn a_school_filling_the_cache_evicts_only_its_own_answers() {
        let cache = AnalyticsCache::new(100, 50);
        let (a, b, c) = (
            SchoolId::generate(),
            SchoolId::generate(),
            SchoolId::generate(),
        );
        cache.put(b, 1, "overview", Arc::new(1_u32), 30);
        cache.put(c, 1, "overview", Arc::new(1_u32), 30);
        for i in 0..1_000 {
            cache.put(a, i, "overview", Arc::new(0_u32), 20);
        }
        assert!(cache.get(b, 1, "overview").is_some(), "b keeps its answer");
        assert!(cache.get(c, 1, "overview").is_some(), "c keeps its answer");
        assert_eq!(cache.school_usage(a), 40, "a is held to its share");
        assert!(cache.get(a, 999, "overview").is_some());
        assert!(cache.get(a, 997, "overview").is_none());
        // Over the whole budget (120 of 100), the school holding the most (b, 50) gives way.
        cache.put(b, 2, "overview", Arc::new(1_u32), 20);
        assert!(cache.get(b, 1, "overview").is_none());
        assert!(cache.get(b, 2, "overview").is_some());
        assert_eq!(
            (cache.school_usage(a), cache.school_usage(c)),
            (40, 30),
            "the others keep theirs"
        );
        assert_eq!(cache.usage().1, 90);
    }
}
