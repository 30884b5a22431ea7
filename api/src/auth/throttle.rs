//! Throttling of password checks (logins and password changes), in a sliding window.
//!
//! An attempt is **reserved before the password hash is checked**: it counts from that moment,
//! so parallel attempts cannot slip past the limit between the check and the verdict, and only a
//! successful check gives it back. Three counters, each keyed so that no one can lock out
//! someone else:
//! - per (email, client): after 3 attempts each further one must wait twice as long as the last
//!   (1 s, 2 s, …), and after 5 none until the oldest leaves the window;
//! - per client: at most 50 attempts in the window, whatever the emails;
//! - per email, from all clients together: backoff only (after 20 attempts, 1 s, 2 s, … up to
//!   one attempt a minute), never a lock — and a client that signed in as that email before
//!   (in the last 30 days) is exempt from it, so strangers guessing a user's password slow
//!   down guessing without keeping the user out.
//!
//! Kept in process memory: each instance throttles on its own, which bounds guessing per
//! instance; a shared store is the next step when several instances serve logins.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// How one counter limits attempts.
#[derive(Debug, Clone, Copy)]
struct Rule {
    /// Attempts allowed in the window before backoff starts.
    free: usize,
    /// Attempts after which none is allowed until the oldest leaves the window (`None`: never).
    lock: Option<usize>,
    /// The longest wait backoff asks for between two attempts.
    cap: Duration,
}

/// Password-check counters.
#[derive(Debug)]
pub struct LoginThrottle {
    window: Duration,
    pair: Rule,
    client: Rule,
    email: Rule,
    attempts: Mutex<HashMap<String, Vec<Instant>>>,
    /// (email, client) pairs that signed in successfully, and when.
    known: Mutex<HashMap<String, Instant>>,
    verifications: AtomicU64,
}

/// How long a client that signed in as an email stays exempt from that email's backoff.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// The most (email, client) pairs remembered as known.
const MAX_KNOWN: usize = 100_000;

/// An attempt that was let through: it counts as a failure unless [`Attempt::succeed`] is
/// called.
#[must_use = "an attempt counts as a failure unless it succeeds"]
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    keys: [String; 3],
    at: Instant,
}

impl Attempt<'_> {
    /// The password was right: this attempt no longer counts, nor do the earlier failures of
    /// this email from this client.
    pub fn succeed(self) {
        let mut map = self
            .throttle
            .attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.remove(&self.keys[0]);
        let mut known = self
            .throttle
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_KNOWN {
            let now = Instant::now();
            known.retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
        }
        if known.len() < MAX_KNOWN {
            known.insert(self.keys[0].clone(), Instant::now());
        }
        drop(known);
        for key in &self.keys[1..] {
            if let Some(times) = map.get_mut(key)
                && let Some(i) = times.iter().position(|t| *t == self.at)
            {
                times.remove(i);
            }
        }
    }
}

impl LoginThrottle {
    /// The service's limits, in a window of `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            pair: Rule {
                free: 3,
                lock: Some(5),
                cap: window,
            },
            client: Rule {
                free: 50,
                lock: Some(50),
                cap: window,
            },
            email: Rule {
                free: 20,
                lock: None,
                cap: Duration::from_secs(60),
            },
            attempts: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
            verifications: AtomicU64::new(0),
        }
    }

    fn keys(email: &str, client: &str) -> [String; 3] {
        let email = email.trim().to_lowercase();
        [
            format!("pair:{email}\u{1f}{client}"),
            format!("client:{client}"),
            format!("email:{email}"),
        ]
    }

    /// How long `times` (attempts in the window, oldest first) must still wait under `rule`.
    fn wait(&self, rule: Rule, times: &[Instant], now: Instant) -> Duration {
        let n = times.len();
        if let Some(lock) = rule.lock
            && n >= lock
            && let Some(oldest) = times.first()
        {
            return self.window.saturating_sub(now.duration_since(*oldest));
        }
        if n >= rule.free
            && let Some(last) = times.last()
        {
            let exponent = u32::try_from(n - rule.free).unwrap_or(u32::MAX).min(20);
            let spacing = Duration::from_secs(1u64 << exponent).min(rule.cap);
            return spacing.saturating_sub(now.duration_since(*last));
        }
        Duration::ZERO
    }

    /// Reserves an attempt to check `email`'s password from `client`, or `Err(seconds to
    /// wait)`. The reservation is made under one lock with the check, so parallel attempts see
    /// each other.
    pub fn reserve(&self, email: &str, client: &str) -> Result<Attempt<'_>, u64> {
        let now = Instant::now();
        let keys = Self::keys(email, client);
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory: forget keys whose attempts have all left the window.
        if map.len() > 100_000 {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < self.window));
        }
        let known = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&keys[0])
            .is_some_and(|at| now.duration_since(*at) < KNOWN_FOR);
        let mut wait = Duration::ZERO;
        for (i, (key, rule)) in keys
            .iter()
            .zip([self.pair, self.client, self.email])
            .enumerate()
        {
            if i == 2 && known {
                continue;
            }
            if let Some(times) = map.get_mut(key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                wait = wait.max(self.wait(rule, times, now));
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        for key in &keys {
            map.entry(key.clone()).or_default().push(now);
        }
        self.verifications.fetch_add(1, Ordering::Relaxed);
        Ok(Attempt {
            throttle: self,
            keys,
            at: now,
        })
    }

    /// How many password checks were let through since start (for tests and metrics).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    #[test]
    fn one_client_is_slowed_then_stopped_for_one_email() {
        let t = LoginThrottle::new(WINDOW);
        for _ in 0..3 {
            drop(t.reserve("a@x.org", "10.0.0.1").unwrap());
        }
        // The fourth must wait a second after the third.
        assert_eq!(t.reserve("a@x.org", "10.0.0.1").unwrap_err(), 1);
        // Another client is not held up by this one.
        assert!(t.reserve("A@x.org", "10.0.0.2").is_ok());
    }

    #[test]
    fn parallel_attempts_see_each_other() {
        let t = LoginThrottle::new(WINDOW);
        let let_through = (0..50)
            .filter_map(|_| t.reserve("a@x.org", "10.0.0.1").ok())
            .count();
        assert_eq!(let_through, 3);
        assert_eq!(t.verifications(), 3);
    }

    #[test]
    fn a_success_gives_the_attempt_back() {
        let t = LoginThrottle::new(WINDOW);
        drop(t.reserve("a@x.org", "10.0.0.1").unwrap());
        drop(t.reserve("a@x.org", "10.0.0.1").unwrap());
        t.reserve("a@x.org", "10.0.0.1").unwrap().succeed();
        for _ in 0..3 {
            drop(t.reserve("a@x.org", "10.0.0.1").unwrap());
        }
    }

    #[test]
    fn strangers_slow_down_guessing_one_email_but_never_lock_it() {
        let t = LoginThrottle::new(WINDOW);
        for i in 0..20 {
            drop(t.reserve("a@x.org", &format!("10.0.1.{i}")).unwrap());
        }
        // The 21st attempt, from anywhere, waits a second — not the window.
        let wait = t.reserve("a@x.org", "10.0.2.1").unwrap_err();
        assert_eq!(wait, 1);
        assert!(
            t.reserve("b@x.org", "10.0.2.1").is_ok(),
            "other emails are not affected"
        );
    }

    #[test]
    fn a_client_that_signed_in_before_is_not_held_up_by_strangers() {
        let t = LoginThrottle::new(WINDOW);
        t.reserve("a@x.org", "10.9.9.9").unwrap().succeed();
        for i in 0..25 {
            drop(t.reserve("a@x.org", &format!("10.0.1.{i}")));
        }
        assert!(
            t.reserve("a@x.org", "10.0.2.1").is_err(),
            "a stranger waits"
        );
        assert!(
            t.reserve("a@x.org", "10.9.9.9").is_ok(),
            "the user's own client does not"
        );
    }

    #[test]
    fn one_client_guessing_many_emails_is_stopped() {
        let t = LoginThrottle::new(WINDOW);
        for i in 0..50 {
            drop(t.reserve(&format!("user{i}@x.org"), "10.0.0.1").unwrap());
        }
        assert!(t.reserve("new@x.org", "10.0.0.1").is_err());
        assert!(t.reserve("new@x.org", "10.0.0.2").is_ok());
    }
}
