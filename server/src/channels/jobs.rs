//! The channels' durable job queue, the same on both targets: what a job is ([`Job`]), how it
//! fails ([`JobError`], [`Retry`], [`backoff`]) and what it runs with ([`Ctx`], [`Deps`]). A
//! leaf: the channels that run jobs import it, and [`super::runner`] claims and dispatches
//! them (natively from tokio tasks, on Workers from the project's `Knowledge` object's alarm).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::store::{ChannelStore, NewJob};
use crate::chat::answer::{self, ProjectKnowledge, Question};
use crate::config::ChannelsConfig;
use crate::knowledge::Knowledge;
use crate::platform::http::{HttpClient, HttpError};
use crate::platform::sql::{Sql, SqlError};
use crate::rag::Assistant;

/// How long a claimed job is its runner's before another may take it over (ms).
pub const LEASE_MS: i64 = 5 * 60 * 1000;
/// The longest wait between attempts (ms) `backoff` returns; the configured
/// `retry_max_ms` may lower it.
pub const MAX_BACKOFF_MS: i64 = 60 * 60 * 1000;
/// Done jobs are kept this long (ms), so that a redelivery within Meta's 7 days of retries is
/// still recognised.
pub const KEEP_DONE_MS: i64 = 8 * 24 * 60 * 60 * 1000;

/// A unit of channel work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Answer (or acknowledge) one incoming WhatsApp message.
    WhatsappMessage {
        /// The message.
        message: super::whatsapp::payload::Incoming,
    },
    /// Re-index the files a push changed, at its commit.
    GithubPush {
        /// The pushed commit.
        commit: String,
        /// Markdown files to fetch and index.
        upsert: Vec<String>,
        /// Markdown files to remove.
        removed: Vec<String>,
    },
    /// Compare the whole branch with what was synced.
    GithubSync,
    /// Put a communicator message in its conversation.
    CommGroup {
        /// The stored message's id.
        message: i64,
    },
    /// Analyse a conversation as of a message.
    CommAnalyze {
        /// The conversation.
        conversation: i64,
        /// Its newest incoming message when queued (a newer one supersedes the job).
        upto: i64,
    },
    /// Draft a reply to a conversation.
    CommDraft {
        /// The conversation.
        conversation: i64,
        /// Its newest incoming message when queued.
        upto: i64,
        /// The operator's note, when regenerating.
        note: Option<String>,
    },
    /// Send an approved draft.
    CommSend {
        /// The draft.
        draft: i64,
    },
    /// Ask Telegram for a polling bot's updates.
    TelegramPoll,
}

impl Job {
    /// The job's kind, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::WhatsappMessage { .. } => "whatsapp_message",
            Job::GithubPush { .. } => "github_push",
            Job::GithubSync => "github_sync",
            Job::CommGroup { .. } => "comm_group",
            Job::CommAnalyze { .. } => "comm_analyze",
            Job::CommDraft { .. } => "comm_draft",
            Job::CommSend { .. } => "comm_send",
            Job::TelegramPoll => "telegram_poll",
        }
    }

    /// Stores the job for `project`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn enqueue<S: Sql>(
        &self,
        store: &ChannelStore<S>,
        project: &str,
        lane: Option<String>,
        dedupe: Option<String>,
        now_ms: i64,
    ) -> Result<bool, SqlError> {
        let payload = serde_json::to_string(self).map_err(|e| SqlError::Shape(e.to_string()))?;
        store.jobs().enqueue(
            &NewJob {
                project,
                kind: self.kind(),
                lane,
                dedupe,
                payload,
            },
            now_ms,
        )
    }
}

/// When a failed job may run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// After the usual backoff.
    Backoff,
    /// Not before this time (Unix ms), as a rate limit asked.
    At(i64),
    /// Never: it cannot succeed as it is (bad settings, a refused request).
    Never,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// What happened (logged, kept on the job), with the platform's error code when it gave one.
    pub message: String,
    /// When to try again.
    pub retry: Retry,
}

impl JobError {
    /// A failure worth retrying later.
    pub fn transient(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retry: Retry::Backoff,
        }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retry: Retry::Never,
        }
    }
}

impl From<SqlError> for JobError {
    fn from(e: SqlError) -> Self {
        JobError::transient(e.to_string())
    }
}

impl From<HttpError> for JobError {
    fn from(e: HttpError) -> Self {
        JobError::transient(e.to_string())
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where files received from platforms are kept (a folder natively, R2 on Workers).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`.
    ///
    /// # Errors
    /// A message when the store cannot be written.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), String>;
}

/// What jobs reach outside the project: the providers, outbound HTTP, blobs, the platforms'
/// endpoints.
pub struct Deps<'a> {
    /// The language model and embedder.
    pub assistant: &'a Assistant,
    /// Outbound HTTP (the Graph API, GitHub).
    pub http: &'a dyn HttpClient,
    /// Received files.
    pub blobs: &'a dyn BlobStore,
    /// The platforms' base URLs and retry timing.
    pub endpoints: &'a ChannelsConfig,
    /// Chat sessions, for the team's replies to widget visitors (`None` where unreachable).
    pub sessions: Option<&'a dyn crate::chat::SessionHub>,
    /// AI Search, for projects that retrieve through it (`None` where the platform lacks it).
    pub ai_search: Option<&'a dyn crate::chat::answer::AiSearch>,
}

/// One project's side of a job: its channel tables and its knowledge.
pub struct Ctx<'a, S, K> {
    /// The project.
    pub project: &'a str,
    /// Its channel tables.
    pub store: &'a ChannelStore<S>,
    /// Its knowledge.
    pub knowledge: &'a Knowledge<K>,
    /// The outside world.
    pub deps: &'a Deps<'a>,
}

impl<S: Sql, K: Sql> Ctx<'_, S, K> {
    /// The whole answer to `question` from the project's knowledge (or the AI Search instance
    /// it names), through the same pipeline as the widget's answers, given the conversation so
    /// far and the channel's own `instructions` (added after the project's system prompt).
    ///
    /// # Errors
    /// [`JobError`] (retried) when retrieval or the model fails.
    pub async fn answer(
        &self,
        instructions: Option<&str>,
        context: Option<&str>,
        history: &[crate::providers::Message],
        question: &str,
    ) -> Result<crate::rag::AnswerSummary, JobError> {
        let retriever = ProjectKnowledge {
            project: self.project,
            knowledge: self.knowledge,
            ai_search: self.deps.ai_search,
        };
        let question = Question {
            text: question,
            history,
            instructions,
            context,
        };
        answer::whole(self.deps.assistant, &retriever, question)
            .await
            .map_err(|e| JobError::transient(e.to_string()))
    }

    /// The project's settings for channel `kind`, or a permanent error when it has none.
    ///
    /// # Errors
    /// [`JobError`].
    pub fn config<T: serde::de::DeserializeOwned>(&self, kind: &str) -> Result<T, JobError> {
        let raw = self
            .store
            .settings()
            .config(self.project, kind)?
            .ok_or_else(|| {
                JobError::permanent(format!("the project has no {kind} settings any more"))
            })?;
        serde_json::from_str(&raw)
            .map_err(|e| JobError::permanent(format!("the {kind} settings are unreadable: {e}")))
    }
}

/// The delay before attempt `attempts + 1` (ms): `base`, doubling, at most an hour.
pub fn backoff(base_ms: u64, attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 30) - 1;
    (base_ms as i64)
        .saturating_mul(1_i64 << exp)
        .min(MAX_BACKOFF_MS)
}

/// What running one job did (for logs where `tracing` has no subscriber: Workers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The job.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// The attempt this was.
    pub attempts: i64,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it runs again, if it failed and will (Unix ms).
    pub retry_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_an_hour() {
        assert_eq!(backoff(2000, 1), 2000);
        assert_eq!(backoff(2000, 2), 4000);
        assert_eq!(backoff(2000, 5), 32_000);
        assert_eq!(backoff(2000, 40), MAX_BACKOFF_MS);
    }

    #[test]
    fn jobs_round_trip_through_their_payload() {
        let j = Job::GithubPush {
            commit: "abc".into(),
            upsert: vec!["docs/a.md".into()],
            removed: vec![],
        };
        let s = serde_json::to_string(&j).unwrap();
        assert!(s.contains("\"kind\":\"github_push\""));
        assert_eq!(serde_json::from_str::<Job>(&s).unwrap(), j);
    }
}
