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
    /// An anonymous visitor token of a public project (minted or renewed).
    Token,
}

/// A rate per minute for one kind of spending, per visitor, per client address and per
/// project; what a project leaves unset is the deployment's default ([`Limits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rates {
    /// Per visitor (the token's `sub`), per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_visitor: Option<u32>,
    /// Per client address, per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_address: Option<u32>,
    /// For the whole project, per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_project: Option<u32>,
}

/// A project's own limits (`outpost project --limit`, the admin API's `limits`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectLimits {
    /// Questions (asks and retries).
    pub questions: Rates,
    /// New conversations.
    pub sessions: Rates,
    /// Anonymous visitor tokens (public projects).
    pub tokens: Rates,
    /// The most questions the project answers in a UTC day; unset: no budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_questions: Option<u32>,
}

impl ProjectLimits {
    /// The highest rate a project may set, per minute (a larger number is a typo).
    pub const MAX_RATE: u32 = 1_000_000;

    /// Every rate by name, as `--limit` names it (`questions`, `per_address`, its value).
    pub fn rates(&self) -> [(&'static str, &'static str, Option<u32>); 9] {
        let mut out = [("", "", None); 9];
        let kinds = [
            ("questions", self.questions),
            ("sessions", self.sessions),
            ("tokens", self.tokens),
        ];
        for (i, (kind, r)) in kinds.into_iter().enumerate() {
            for (j, (level, n)) in [
                ("per_visitor", r.per_visitor),
                ("per_address", r.per_address),
                ("per_project", r.per_project),
            ]
            .into_iter()
            .enumerate()
            {
                out[i * 3 + j] = (kind, level, n);
            }
        }
        out
    }

    /// What in these limits cannot work, in a sentence.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), String> {
        for (kind, level, n) in self.rates() {
            if n.is_some_and(|n| n == 0 || n > Self::MAX_RATE) {
                return Err(format!(
                    "limits.{kind}.{level} must be 1 to {} a minute",
                    Self::MAX_RATE
                ));
            }
        }
        if self.daily_questions == Some(0) {
            return Err(
                "limits.daily_questions must be at least 1 (leave it out for no budget)".into(),
            );
        }
        Ok(())
    }
}

/// Who spends: the project (with its limits), the visitor, and the client's address when the
/// request has one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caller {
    /// The project's id.
    pub project: String,
    /// Whether the project is public: its visitors are anonymous, so the limits per address
    /// apply by default.
    pub public: bool,
    /// The project's own limits.
    pub limits: ProjectLimits,
    /// The visitor (a token's `sub`); empty for a first token.
    pub visitor: String,
    /// The client's address ([`crate::http::extract::ClientAddr`]), when known.
    pub addr: Option<String>,
}

/// Why a spending was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refused {
    /// A rate limit: the whole seconds to wait.
    Wait(u64),
    /// The project answered its daily budget of questions (the number); it renews at midnight
    /// UTC.
    Budget(u32),
}

/// The seconds from `now_unix` to the next midnight UTC, when daily budgets renew.
pub fn secs_to_midnight(now_unix: i64) -> u64 {
    (86_400 - now_unix.rem_euclid(86_400)) as u64
}

/// Whether `caller` may spend `what` now: the rates of `limits`, then, for a question, the
/// project's daily budget against the questions it answered today (`answered_today`, read
/// only when the project has a budget). The one decision both targets' gates make.
///
/// # Errors
/// [`Refused`] saying why.
pub fn decide(
    limits: &Limits,
    what: Spend,
    caller: &Caller,
    answered_today: impl FnOnce() -> u64,
) -> Result<(), Refused> {
    if what == Spend::Question
        && let Some(budget) = caller.limits.daily_questions
        && answered_today() >= u64::from(budget)
    {
        return Err(Refused::Budget(budget));
    }
    limits.check(what, caller).map_err(Refused::Wait)
}

/// Where a visitor's questions and writes are counted: the process's own [`Limits`] natively;
/// on Workers the project's one Durable Object, so that a visitor's and a project's limits
/// hold across isolates.
#[async_trait::async_trait]
pub trait Gate: Send + Sync {
    /// Whether `caller` may spend `what` now ([`decide`]).
    ///
    /// # Errors
    /// [`Refused`] saying why.
    async fn admit(&self, what: Spend, caller: &Caller) -> Result<(), Refused>;
}

/// The rates alone, counted here, without a daily budget (that is read next to the project's
/// knowledge: [`crate::knowledge::Knowledge::admit`]); for tests and tools that have no
/// knowledge.
#[async_trait::async_trait]
impl Gate for Limits {
    async fn admit(&self, what: Spend, caller: &Caller) -> Result<(), Refused> {
        self.check(what, caller).map_err(Refused::Wait)
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

/// Limiters for any quota, made as quotas appear: projects set their own rates, and governor
/// fixes a limiter's quota, so each (rate, burst) has its own keyed limiter. Keys name the
/// kind, the level and who (`q|a|acme|203.0.113.5`), so projects sharing a quota share a
/// limiter but never a count.
/// A rate per minute and a burst.
type RateBurst = (u32, u32);

#[derive(Default)]
struct Meters(
    std::sync::Mutex<std::collections::HashMap<RateBurst, std::sync::Arc<Keyed<String>>>>,
);

impl Meters {
    fn check(&self, (per_minute, burst): (u32, u32), key: String) -> Result<(), u64> {
        let limiter = {
            let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
            all.entry((per_minute, burst))
                .or_insert_with(|| {
                    std::sync::Arc::new(RateLimiter::new(
                        Quota::per_minute(nz(per_minute)).allow_burst(nz(burst)),
                        DefaultKeyedStateStore::default(),
                        WallClock,
                    ))
                })
                .clone()
        };
        let clock = WallClock;
        let result = limiter
            .check_key(&key)
            .map_err(|nu| nu.wait_time_from(clock.now()).as_secs().max(1));
        // Keep memory bounded under many distinct visitors and addresses.
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        result
    }
}

/// A burst for a rate per visitor or per address: a quarter of the minute's allowance, at
/// least 5 (or the whole allowance, when smaller).
fn burst(per_minute: u32) -> u32 {
    (per_minute / 4).max(per_minute.min(5))
}

/// Questions per minute from one client address, by default, in a public project (its
/// visitors are anonymous: one address can make many of them).
pub const PUBLIC_QUESTIONS_PER_ADDRESS: u32 = 60;
/// New conversations per minute from one client address, by default, in a public project.
pub const PUBLIC_SESSIONS_PER_ADDRESS: u32 = 30;
/// Anonymous tokens per minute one client address may get, by default.
pub const TOKENS_PER_ADDRESS: u32 = 30;
/// Renewals per minute of one anonymous visitor's token, by default.
pub const TOKENS_PER_VISITOR: u32 = 6;

/// The limiters.
pub struct Limits {
    sockets: std::sync::Arc<SocketCount>,
    handoffs: PerVisitor,
    feedback: PerVisitor,
    meters: Meters,
    user_per_minute: u32,
    user_burst: u32,
    project_per_minute: u32,
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
            handoffs: writes(Write::Handoff),
            feedback: writes(Write::Feedback),
            meters: Meters::default(),
            user_per_minute,
            user_burst,
            project_per_minute,
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

    /// Whether `caller` may spend `what` now, counted here; `Err(seconds)` to wait otherwise.
    /// Requests reach it through a [`Gate`] ([`decide`]). The narrowest limit is checked
    /// first (visitor, then address, then project): what it refuses costs the wider ones
    /// nothing, so one visitor in a loop cannot use up everybody else's allowance.
    ///
    /// # Errors
    /// The whole seconds to wait.
    pub fn check(&self, what: Spend, caller: &Caller) -> Result<(), u64> {
        let (kind, [visitor, address, project]) = match what {
            Spend::Write(Write::Handoff) => {
                return self.handoffs.check(&caller.project, &caller.visitor);
            }
            Spend::Write(Write::Feedback) => {
                return self.feedback.check(&caller.project, &caller.visitor);
            }
            Spend::Question => ("q", self.plan(what, caller)),
            Spend::Write(Write::Session) => ("s", self.plan(what, caller)),
            Spend::Token => ("t", self.plan(what, caller)),
        };
        if let Some(q) = visitor
            && !caller.visitor.is_empty()
        {
            let key = format!("{kind}|v|{}|{}", caller.project, caller.visitor);
            self.meters.check(q, key)?;
        }
        if let (Some(q), Some(addr)) = (address, &caller.addr) {
            self.meters
                .check(q, format!("{kind}|a|{}|{addr}", caller.project))?;
        }
        if let Some(q) = project {
            self.meters
                .check(q, format!("{kind}|p|{}", caller.project))?;
        }
        Ok(())
    }

    /// The (rate, burst) per visitor, per address and per project for `what` in `caller`'s
    /// project: its own rates, else the deployment's. Limits per address apply by default
    /// only to public projects (a signed project's visitors are vouched for by its site, and
    /// many may share an office's address).
    fn plan(&self, what: Spend, caller: &Caller) -> [Option<(u32, u32)>; 3] {
        let (own, visitor, address, project) = match what {
            Spend::Question => (
                caller.limits.questions,
                (self.user_per_minute, self.user_burst),
                PUBLIC_QUESTIONS_PER_ADDRESS,
                self.project_per_minute,
            ),
            Spend::Write(Write::Session) => {
                let (v, b, p) = Write::Session.quotas(self.project_per_minute);
                (
                    caller.limits.sessions,
                    (v, b),
                    PUBLIC_SESSIONS_PER_ADDRESS,
                    p,
                )
            }
            _ => (
                caller.limits.tokens,
                (TOKENS_PER_VISITOR, burst(TOKENS_PER_VISITOR)),
                TOKENS_PER_ADDRESS,
                self.project_per_minute,
            ),
        };
        let per_address = own
            .per_address
            .or((caller.public || what == Spend::Token).then_some(address));
        let per_project = own.per_project.unwrap_or(project);
        [
            Some(own.per_visitor.map_or(visitor, |n| (n, burst(n)))),
            per_address.map(|n| (n, burst(n))),
            Some((per_project, (per_project / 10).max(1))),
        ]
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

    fn who(project: &str, visitor: &str) -> Caller {
        Caller {
            project: project.into(),
            public: false,
            limits: ProjectLimits::default(),
            visitor: visitor.into(),
            addr: None,
        }
    }

    #[test]
    fn public_projects_limit_addresses_and_projects_set_their_own_rates() {
        let l = Limits::default();
        let from = |visitor: &str, addr: &str, public: bool| Caller {
            public,
            addr: Some(addr.into()),
            ..who("pub", visitor)
        };
        // A public project: one address making up a new visitor for each question gets the
        // address's burst (60 a minute, 15 at once), then nothing; another address is served.
        let asked = (0..100)
            .filter(|i| {
                l.check(
                    Spend::Question,
                    &from(&format!("v{i}"), "198.51.100.1", true),
                )
                .is_ok()
            })
            .count();
        assert_eq!(asked, 15);
        assert!(
            l.check(Spend::Question, &from("w", "198.51.100.2", true))
                .is_ok()
        );
        // A signed project has no limit per address unless it sets one.
        let signed = (0..100)
            .filter(|i| {
                l.check(
                    Spend::Question,
                    &Caller {
                        project: "signed".into(),
                        ..from(&format!("v{i}"), "198.51.100.1", false)
                    },
                )
                .is_ok()
            })
            .count();
        assert_eq!(
            signed, 60,
            "the project's own burst (600 a minute, 60 at once)"
        );
        // A project's own rates.
        let own = ProjectLimits {
            tokens: Rates {
                per_address: Some(2),
                ..Rates::default()
            },
            ..ProjectLimits::default()
        };
        let minted = (0..10)
            .filter(|_| {
                l.check(
                    Spend::Token,
                    &Caller {
                        project: "own".into(),
                        limits: own,
                        ..from("", "198.51.100.3", true)
                    },
                )
                .is_ok()
            })
            .count();
        assert_eq!(minted, 2);
    }

    #[test]
    fn a_daily_budget_refuses_questions_once_answered() {
        let l = Limits::default();
        let mut c = who("p", "v");
        assert_eq!(
            decide(&l, Spend::Question, &c, || unreachable!(
                "no budget, no read"
            )),
            Ok(())
        );
        c.limits.daily_questions = Some(3);
        assert_eq!(decide(&l, Spend::Question, &c, || 2), Ok(()));
        assert_eq!(
            decide(&l, Spend::Question, &c, || 3),
            Err(Refused::Budget(3))
        );
        assert_eq!(
            decide(&l, Spend::Write(Write::Session), &c, || 3),
            Ok(()),
            "only questions"
        );
        assert_eq!(secs_to_midnight(86_400 * 5 + 3600), 82_800);
    }

    #[test]
    fn writes_are_limited_per_kind_per_visitor_then_per_project() {
        let l = Limits::default();
        let handoffs = (0..10)
            .filter(|_| {
                l.check(Spend::Write(Write::Handoff), &who("p", "v"))
                    .is_ok()
            })
            .count();
        assert_eq!(handoffs, 2);
        assert!(
            l.check(Spend::Write(Write::Feedback), &who("p", "v"))
                .is_ok(),
            "another kind"
        );
        assert!(
            l.check(Spend::Write(Write::Handoff), &who("p", "w"))
                .is_ok(),
            "another visitor"
        );
        assert!(
            l.check(Spend::Write(Write::Handoff), &who("q", "v"))
                .is_ok(),
            "another project"
        );
        // The project's own allowance: 600 a minute, 60 at once.
        let many = (0..100)
            .filter(|i| {
                l.check(Spend::Write(Write::Handoff), &who("r", &format!("v{i}")))
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
            .filter(|_| l.check(Spend::Question, &who("p", "loop")).is_ok())
            .count();
        assert_eq!(accepted, 2);
        for other in ["a", "b", "c", "d"] {
            assert!(
                l.check(Spend::Question, &who("p", other)).is_ok(),
                "{other} may ask"
            );
        }
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let l = Limits::new(6, 2, 1000);
        assert!(l.check(Spend::Question, &who("p", "u")).is_ok());
        assert!(l.check(Spend::Question, &who("p", "u")).is_ok());
        let wait = l.check(Spend::Question, &who("p", "u")).unwrap_err();
        assert!((1..=10).contains(&wait), "{wait}");
        assert!(
            l.check(Spend::Question, &who("p", "other")).is_ok(),
            "per visitor"
        );
    }
}
