//! Rate limits per visitor and per project (GCRA, by `governor`).

use std::num::NonZeroU32;

use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// The wall clock through the platform port: governor's default clock reads `Instant`, which
/// does not exist on wasm32 (Workers).
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(crate::platform::now_millis())
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, WallClock, NoOpMiddleware<Duration>>;

/// Questions per minute one visitor may ask.
pub const USER_PER_MINUTE: u32 = 20;
/// Questions one visitor may ask in a burst.
pub const USER_BURST: u32 = 5;
/// Questions per minute a whole project may receive.
pub const PROJECT_PER_MINUTE: u32 = 600;

/// The limiters.
pub struct Limits {
    user: Keyed<(String, String)>,
    project: Keyed<String>,
    login: Keyed<String>,
}

/// Console sign-in attempts per minute for one operator name (bursts of 5).
pub const LOGIN_PER_MINUTE: u32 = 10;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("max(1) is non-zero")
}

impl Limits {
    /// Limits of `user_per_minute` (bursts of `user_burst`) per visitor and `project_per_minute`
    /// per project.
    pub fn new(user_per_minute: u32, user_burst: u32, project_per_minute: u32) -> Self {
        Limits {
            user: RateLimiter::new(
                Quota::per_minute(nz(user_per_minute)).allow_burst(nz(user_burst)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
            project: RateLimiter::new(
                Quota::per_minute(nz(project_per_minute)).allow_burst(nz(project_per_minute / 10)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
            login: RateLimiter::new(
                Quota::per_minute(nz(LOGIN_PER_MINUTE)).allow_burst(nz(5)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
        }
    }

    /// Whether operator `name` may try to sign in now; `Err(seconds)` to wait otherwise
    /// (password guessing is slowed per name, whoever tries).
    ///
    /// # Errors
    /// The whole seconds to wait.
    pub fn check_login(&self, name: &str) -> Result<(), u64> {
        let clock = WallClock;
        if self.login.len() > 10_000 {
            self.login.retain_recent();
        }
        self.login
            .check_key(&name.to_owned())
            .map_err(|nu| nu.wait_time_from(clock.now()).as_secs().max(1))
    }

    /// Whether `user` of `project` may ask now; `Err(seconds)` to wait otherwise.
    ///
    /// # Errors
    /// The whole seconds to wait before asking again.
    pub fn check_question(&self, project: &str, user: &str) -> Result<(), u64> {
        let clock = WallClock;
        let wait = |nu: governor::NotUntil<_>| nu.wait_time_from(clock.now()).as_secs().max(1);
        // The visitor's own limit first: a question it refuses costs the project nothing, so
        // one visitor asking in a loop cannot use up everybody else's budget.
        self.user
            .check_key(&(project.to_owned(), user.to_owned()))
            .map_err(wait)?;
        self.project.check_key(&project.to_owned()).map_err(wait)?;
        // Keep memory bounded under many distinct visitors.
        if self.user.len() > 100_000 {
            self.user.retain_recent();
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(USER_PER_MINUTE, USER_BURST, PROJECT_PER_MINUTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_a_visitor_is_refused_cost_the_project_nothing() {
        // The project allows 6 at once; one visitor tries 200 times, 2 of which it may ask.
        let l = Limits::new(60, 2, 60);
        let accepted = (0..200)
            .filter(|_| l.check_question("p", "loop").is_ok())
            .count();
        assert_eq!(accepted, 2);
        for other in ["a", "b", "c", "d"] {
            assert!(l.check_question("p", other).is_ok(), "{other} may ask");
        }
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let l = Limits::new(6, 2, 1000);
        assert!(l.check_question("p", "u").is_ok());
        assert!(l.check_question("p", "u").is_ok());
        let wait = l.check_question("p", "u").unwrap_err();
        assert!((1..=10).contains(&wait), "{wait}");
        assert!(l.check_question("p", "other").is_ok(), "per visitor");
    }
}
