//! Throttling of failed logins, per email and per client address, in a sliding window.
//!
//! Kept in process memory: each instance throttles on its own, which bounds guessing per
//! instance; a shared store is the next step when several instances serve logins.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failed-login counters.
#[derive(Debug)]
pub struct LoginThrottle {
    window: Duration,
    per_email: usize,
    per_client: usize,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    /// At most `per_email` failures per email and `per_client` per client address in `window`.
    pub fn new(window: Duration, per_email: usize, per_client: usize) -> Self {
        Self {
            window,
            per_email,
            per_client,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, client: &str) -> [(String, bool); 2] {
        [
            (format!("email:{}", email.trim().to_lowercase()), true),
            (format!("client:{client}"), false),
        ]
    }

    /// `Err(seconds to wait)` when either counter is full.
    pub fn check(&self, email: &str, client: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = 0;
        for (key, is_email) in Self::keys(email, client) {
            let limit = if is_email {
                self.per_email
            } else {
                self.per_client
            };
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= limit
                    && let Some(oldest) = times.first()
                {
                    wait = wait.max((self.window - now.duration_since(*oldest)).as_secs().max(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    /// Records a failed attempt.
    pub fn fail(&self, email: &str, client: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory: forget keys whose failures have all expired.
        if map.len() > 100_000 {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < self.window));
        }
        for (key, _) in Self::keys(email, client) {
            map.entry(key).or_default().push(now);
        }
    }

    /// Forgets the email's failures after a successful login.
    pub fn succeed(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("email:{}", email.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_failure_for_one_email_is_refused_whatever_the_client() {
        let t = LoginThrottle::new(Duration::from_secs(900), 5, 100);
        for i in 0..5 {
            assert!(t.check("a@x.org", &format!("10.0.0.{i}")).is_ok());
            t.fail("A@x.org", &format!("10.0.0.{i}"));
        }
        let wait = t.check("a@x.org", "10.0.0.99").unwrap_err();
        assert!(wait > 0 && wait <= 900);
        assert!(
            t.check("b@x.org", "10.0.0.99").is_ok(),
            "other emails are not affected"
        );
        t.succeed("a@x.org");
        assert!(t.check("a@x.org", "10.0.0.99").is_ok());
    }

    #[test]
    fn one_client_guessing_many_emails_is_refused() {
        let t = LoginThrottle::new(Duration::from_secs(900), 5, 3);
        for i in 0..3 {
            t.fail(&format!("user{i}@x.org"), "10.0.0.1");
        }
        assert!(t.check("new@x.org", "10.0.0.1").is_err());
        assert!(t.check("new@x.org", "10.0.0.2").is_ok());
    }
}
