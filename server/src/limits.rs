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

/// Sockets one client address may hold open at once (native).
pub const SOCKETS_PER_ADDRESS: u32 = 128;
/// Sockets the server holds open at once in all (native).
pub const SOCKETS_MAX: u32 = 20_000;

/// What else a visitor writes besides questions; each kind has its own limits per visitor and
/// per project ([`Write::quotas`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Write {
    /// A new session (`POST …/sessions`).
    Session,
    /// A request to talk to a person (each one queues analysis and draft model calls).
    Handoff,
    /// A rating of an answer.
    Feedback,
}

impl Write {
    /// Per visitor: a minute's allowance and a burst; per project: a minute's allowance, in
    /// step with the project's question limit `project_questions` (600 by default: 6,000 new
    /// sessions, 600 handoffs, 6,000 ratings a minute; a tenth of each at once, since a busy
    /// site's visitors arrive in bursts).
    pub fn quotas(self, project_questions: u32) -> (u32, u32, u32) {
        let times = |n: u32| project_questions.saturating_mul(n);
        match self {
            Write::Session => (10, 5, times(10)),
            Write::Handoff => (3, 2, times(1)),
            Write::Feedback => (30, 10, times(10)),
        }
    }
}

/// What a visitor's request spends of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spend {
    /// A question (an ask or a retry: both ask the model).
    Question,
    /// Another write.
    Write(Write),
}

/// Where a visitor's questions and writes are counted: the process's own [`Limits`] natively;
/// on Workers the project's one Durable Object, so that a visitor's and a project's limits
/// hold across isolates.
#[async_trait::async_trait]
pub trait Gate: Send + Sync {
    /// Whether `visitor` of `project` may spend `what` now.
    ///
    /// # Errors
    /// The whole seconds to wait.
    async fn admit(&self, what: Spend, project: &str, visitor: &str) -> Result<(), u64>;
}

#[async_trait::async_trait]
impl Gate for Limits {
    async fn admit(&self, what: Spend, project: &str, visitor: &str) -> Result<(), u64> {
        self.check(what, project, visitor)
    }
}

/// The most sessions one visitor may open in a project, ever (each is stored).
pub const SESSIONS_PER_VISITOR: u32 = 200;

/// A limit per visitor of a project and one per project, the visitor's checked first.
struct PerVisitor {
    visitor: Keyed<(String, String)>,
    project: Keyed<String>,
}

impl PerVisitor {
    fn new(per_minute: u32, burst: u32, project_per_minute: u32) -> Self {
        PerVisitor {
            visitor: RateLimiter::new(
                Quota::per_minute(nz(per_minute)).allow_burst(nz(burst)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
            project: RateLimiter::new(
                Quota::per_minute(nz(project_per_minute)).allow_burst(nz(project_per_minute / 10)),
                DefaultKeyedStateStore::default(),
                WallClock,
            ),
        }
    }

    /// The visitor's own limit first: what it refuses costs the project nothing, so one visitor
    /// in a loop cannot use up everybody else's budget.
    fn check(&self, project: &str, visitor: &str) -> Result<(), u64> {
        let clock = WallClock;
        let wait = |nu: governor::NotUntil<_>| nu.wait_time_from(clock.now()).as_secs().max(1);
        self.visitor
            .check_key(&(project.to_owned(), visitor.to_owned()))
            .map_err(wait)?;
        self.project.check_key(&project.to_owned()).map_err(wait)?;
        // Keep memory bounded under many distinct visitors.
        if self.visitor.len() > 100_000 {
            self.visitor.retain_recent();
        }
        Ok(())
    }
}

/// The limiters.
pub struct Limits {
    sockets: std::sync::Arc<SocketCount>,
    sessions: PerVisitor,
    handoffs: PerVisitor,
    feedback: PerVisitor,
    questions: PerVisitor,
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
        let writes = |w: Write| {
            let (per_minute, burst, project) = w.quotas(project_per_minute);
            PerVisitor::new(per_minute, burst, project)
        };
        Limits {
            sockets: std::sync::Arc::new(SocketCount::new(SOCKETS_PER_ADDRESS, SOCKETS_MAX)),
            sessions: writes(Write::Session),
            handoffs: writes(Write::Handoff),
            feedback: writes(Write::Feedback),
            questions: PerVisitor::new(user_per_minute, user_burst, project_per_minute),
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

    /// The same limits with at most `per_address` sockets open per client address and `total`
    /// in all.
    #[must_use]
    pub fn with_sockets(mut self, per_address: u32, total: u32) -> Self {
        self.sockets = std::sync::Arc::new(SocketCount::new(per_address, total));
        self
    }

    /// A place for one more socket from `addr`, held until the permit is dropped; `Err` with a
    /// sentence when that address, or the server, holds as many as it may.
    ///
    /// # Errors
    /// Why not, for the client.
    pub fn open_socket(&self, addr: &str) -> Result<SocketPermit, String> {
        self.sockets.open(addr)
    }

    /// Whether `visitor` of `project` may spend `what` now, counted here; `Err(seconds)` to
    /// wait otherwise. Requests reach it through a [`Gate`].
    ///
    /// # Errors
    /// The whole seconds to wait.
    pub fn check(&self, what: Spend, project: &str, visitor: &str) -> Result<(), u64> {
        match what {
            Spend::Question => &self.questions,
            Spend::Write(Write::Session) => &self.sessions,
            Spend::Write(Write::Handoff) => &self.handoffs,
            Spend::Write(Write::Feedback) => &self.feedback,
        }
        .check(project, visitor)
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
}

/// Open sockets, per client address and in all.
#[derive(Debug)]
struct SocketCount {
    per_address: u32,
    total: u32,
    open: std::sync::Mutex<(std::collections::HashMap<String, u32>, u32)>,
}

impl SocketCount {
    fn new(per_address: u32, total: u32) -> Self {
        SocketCount {
            per_address,
            total,
            open: std::sync::Mutex::default(),
        }
    }

    fn open(self: &std::sync::Arc<Self>, addr: &str) -> Result<SocketPermit, String> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (by_addr, all) = &mut *open;
        if *all >= self.total {
            return Err(format!(
                "The server holds its most sockets ({}); try again later.",
                self.total
            ));
        }
        let mine = by_addr.entry(addr.to_owned()).or_insert(0);
        if *mine >= self.per_address {
            return Err(format!(
                "At most {} sockets may be open from one address.",
                self.per_address
            ));
        }
        *mine += 1;
        *all += 1;
        Ok(SocketPermit {
            count: self.clone(),
            addr: addr.to_owned(),
        })
    }
}

/// One open socket's place; dropping it frees the place.
#[derive(Debug)]
pub struct SocketPermit {
    count: std::sync::Arc<SocketCount>,
    addr: String,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut open = self.count.open.lock().unwrap_or_else(|e| e.into_inner());
        let (by_addr, all) = &mut *open;
        *all = all.saturating_sub(1);
        if let Some(n) = by_addr.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                by_addr.remove(&self.addr);
            }
        }
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
    fn writes_are_limited_per_kind_per_visitor_then_per_project() {
        let l = Limits::default();
        let handoffs = (0..10)
            .filter(|_| l.check(Spend::Write(Write::Handoff), "p", "v").is_ok())
            .count();
        assert_eq!(handoffs, 2);
        assert!(
            l.check(Spend::Write(Write::Feedback), "p", "v").is_ok(),
            "another kind"
        );
        assert!(
            l.check(Spend::Write(Write::Handoff), "p", "w").is_ok(),
            "another visitor"
        );
        assert!(
            l.check(Spend::Write(Write::Handoff), "q", "v").is_ok(),
            "another project"
        );
        // The project's own allowance: 600 a minute, 60 at once.
        let many = (0..100)
            .filter(|i| {
                l.check(Spend::Write(Write::Handoff), "r", &format!("v{i}"))
                    .is_ok()
            })
            .count();
        assert_eq!(many, 60);
    }

    #[test]
    fn sockets_are_capped_per_address_and_in_all_and_freed_when_closed() {
        let l = Limits::default().with_sockets(2, 3);
        let a1 = l.open_socket("a").unwrap();
        let _a2 = l.open_socket("a").unwrap();
        assert!(l.open_socket("a").unwrap_err().contains("one address"));
        let _b1 = l.open_socket("b").unwrap();
        assert!(l.open_socket("c").unwrap_err().contains("most sockets"));
        drop(a1);
        assert!(l.open_socket("a").is_ok());
    }

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
            .filter(|_| l.check(Spend::Question, "p", "loop").is_ok())
            .count();
        assert_eq!(accepted, 2);
        for other in ["a", "b", "c", "d"] {
            assert!(
                l.check(Spend::Question, "p", other).is_ok(),
                "{other} may ask"
            );
        }
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let l = Limits::new(6, 2, 1000);
        assert!(l.check(Spend::Question, "p", "u").is_ok());
        assert!(l.check(Spend::Question, "p", "u").is_ok());
        let wait = l.check(Spend::Question, "p", "u").unwrap_err();
        assert!((1..=10).contains(&wait), "{wait}");
        assert!(
            l.check(Spend::Question, "p", "other").is_ok(),
            "per visitor"
        );
    }
}
