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
    login_name: Keyed<(String, String)>,
    login_addr: Keyed<String>,
    login_all: Keyed<()>,
}

/// Console sign-in attempts per minute for one operator name from one address (bursts of 5).
pub const LOGIN_PER_MINUTE: u32 = 10;
/// Console sign-in attempts per minute from one address, whatever the names (bursts of 20).
pub const LOGIN_PER_ADDRESS_PER_MINUTE: u32 = 60;
/// Console sign-in attempts per minute in all (bursts of 60): a bound on the hashing work a
/// flood from many addresses can ask for.
pub const LOGIN_TOTAL_PER_MINUTE: u32 = 600;

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
            login_name: RateLimiter::new(
                Quota::per_minute(nz(LOGIN_PER_MINUTE)).allow_burst(nz(5)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
            login_addr: RateLimiter::new(
                Quota::per_minute(nz(LOGIN_PER_ADDRESS_PER_MINUTE)).allow_burst(nz(20)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
            login_all: RateLimiter::new(
                Quota::per_minute(nz(LOGIN_TOTAL_PER_MINUTE)).allow_burst(nz(60)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
        }
    }

    /// Whether someone at `addr` may try to sign in as operator `name` now; `Err(seconds)` to
    /// wait otherwise. Guessing is slowed per name and address, per address, and in all; the
    /// narrowest limit is checked first, so an attempt it refuses costs the wider ones nothing,
    /// and failing sign-ins from one address does not lock the operator out elsewhere.
    ///
    /// # Errors
    /// The whole seconds to wait.
    pub fn check_login(&self, name: &str, addr: &str) -> Result<(), u64> {
        let clock = WallClock;
        let wait = |nu: governor::NotUntil<_>| nu.wait_time_from(clock.now()).as_secs().max(1);
        if self.login_name.len() > 10_000 {
            self.login_name.retain_recent();
        }
        if self.login_addr.len() > 10_000 {
            self.login_addr.retain_recent();
        }
        self.login_name
            .check_key(&(name.to_owned(), addr.to_owned()))
            .map_err(wait)?;
        self.login_addr.check_key(&addr.to_owned()).map_err(wait)?;
        self.login_all.check_key(&()).map_err(wait)
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
    fn sign_ins_are_limited_per_name_and_address_per_address_and_in_all() {
        let l = Limits::default();
        // One address guessing one name: 5 at once.
        let tried = (0..20).filter(|_| l.check_login("ana", "10.0.0.1").is_ok());
        assert_eq!(tried.count(), 5);
        // The same name from elsewhere is not locked out.
        assert!(l.check_login("ana", "10.0.0.2").is_ok());
        // One address trying many names: 20 at once in all (5 were spent above).
        let tried = (0..40).filter(|i| l.check_login(&format!("n{i}"), "10.0.0.1").is_ok());
        assert_eq!(tried.count(), 15);
        // Many addresses: 60 at once in all (21 spent).
        let tried = (0..100).filter(|i| l.check_login("bo", &format!("10.1.0.{i}")).is_ok());
        assert_eq!(tried.count(), 39);
    }

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
