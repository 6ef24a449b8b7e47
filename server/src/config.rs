//! Configuration: one struct, read from environment variables natively and from `[vars]` and
//! secrets on Workers, with the same keys.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `OUTPOST_DATA_DIR` | `.outpost/data` | where the native target keeps its SQLite files |
//! | `OUTPOST_LLM` | `extractive` | `extractive` (offline), `openai` (any OpenAI-compatible API) or `workers-ai` (the Workers AI binding; Workers only) |
//! | `OUTPOST_LLM_BASE_URL` | `https://api.openai.com/v1` | the API's base URL, version included |
//! | `OUTPOST_LLM_API_KEY` | none | bearer key (a secret) |
//! | `OUTPOST_LLM_MODEL` | `gpt-4o-mini` | chat model |
//! | `OUTPOST_EMBEDDINGS` | `none` | `none` (BM25 only), `openai` or `workers-ai` (Workers only) |
//! | `OUTPOST_EMBEDDINGS_BASE_URL` | the LLM's base URL | embeddings API base URL |
//! | `OUTPOST_EMBEDDINGS_API_KEY` | the LLM's key | bearer key (a secret) |
//! | `OUTPOST_EMBEDDINGS_MODEL` | `text-embedding-3-small` | embeddings model |
//! | `OUTPOST_PROVIDER_TIMEOUT_SECS` | `30` | longest wait for a provider's first or next byte |
//! | `OUTPOST_ADMIN_TOKEN` | none | operators' bearer token for `/v1/admin/*` (a secret); the admin API is off without it |
//! | `OUTPOST_RATE_USER_PER_MINUTE` | `20` | questions per minute one visitor may ask |
//! | `OUTPOST_RATE_USER_BURST` | `5` | questions one visitor may ask at once |
//! | `OUTPOST_RATE_PROJECT_PER_MINUTE` | `600` | questions per minute for a whole project |
//! | `OUTPOST_STREAM_PACE_MS` | `0` | least time between two streamed pieces (smooths bursts; the demo sets it so the offline model reads like typing) |

use thiserror::Error;

/// The default OpenAI-compatible base URL.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Which language model answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmConfig {
    /// The offline extractive model.
    Extractive,
    /// An OpenAI-compatible chat-completions API.
    OpenAi(OpenAiConfig),
    /// The Workers AI binding `AI` (Workers only), with this model.
    WorkersAi(String),
}

/// Which embedder, if any, embeds chunks and questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingsConfig {
    /// None: retrieval is BM25 only.
    None,
    /// An OpenAI-compatible embeddings API.
    OpenAi(OpenAiConfig),
    /// The Workers AI binding `AI` (Workers only), with this model.
    WorkersAi(String),
}

/// Where an OpenAI-compatible API is.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// Base URL including the version (`.../v1`).
    pub base_url: String,
    /// Bearer key, if any.
    pub api_key: Option<String>,
    /// Model name.
    pub model: String,
}

impl std::fmt::Debug for OpenAiConfig {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("model", &self.model)
            .finish()
    }
}

/// Everything Outpost reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Native data folder.
    pub data_dir: String,
    /// The language model.
    pub llm: LlmConfig,
    /// The embedder.
    pub embeddings: EmbeddingsConfig,
    /// Provider timeout in seconds.
    pub provider_timeout_secs: u64,
    /// Least milliseconds between streamed pieces (0: as they come).
    pub stream_pace_ms: u64,
    /// The operators' bearer token for the admin API.
    pub admin_token: Option<String>,
    /// Questions per minute per visitor, the visitor's burst, questions per minute per project.
    pub rate_limits: (u32, u32, u32),
    /// Where the channels' platforms are, and how their jobs retry.
    pub channels: ChannelsConfig,
}

/// The WhatsApp Graph API and GitHub endpoints (tests point them at local stubs), and the
/// channel jobs' timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelsConfig {
    /// The Graph API base, with its version (`OUTPOST_WHATSAPP_API_URL`).
    pub whatsapp_api_url: String,
    /// GitHub's REST API base (`OUTPOST_GITHUB_API_URL`).
    pub github_api_url: String,
    /// GitHub's web base, for links to files at a commit (`OUTPOST_GITHUB_WEB_URL`).
    pub github_web_url: String,
    /// Telegram's Bot API base (`OUTPOST_TELEGRAM_API_URL`).
    pub telegram_api_url: String,
    /// Slack's Web API base (`OUTPOST_SLACK_API_URL`).
    pub slack_api_url: String,
    /// Seconds between two `getUpdates` of bots in polling mode, natively; 0 turns it off
    /// (`OUTPOST_TELEGRAM_POLL_SECS`; Workers poll from the cron trigger).
    pub telegram_poll_secs: u64,
    /// The first retry's delay; each next one doubles (`OUTPOST_JOB_RETRY_BASE_MS`).
    pub retry_base_ms: u64,
    /// The longest wait between two attempts (`OUTPOST_JOB_RETRY_MAX_MS`, default an hour).
    pub retry_max_ms: u64,
    /// Attempts before a job is dead (`OUTPOST_JOB_MAX_ATTEMPTS`, default 10).
    pub max_attempts: u64,
    /// Seconds between scheduled full syncs of GitHub docs, natively; 0 turns it off
    /// (`OUTPOST_GITHUB_SYNC_INTERVAL_SECS`; Workers use the cron trigger instead).
    pub sync_interval_secs: u64,
}

/// The Graph API version Outpost speaks.
pub const DEFAULT_WHATSAPP_API_URL: &str = "https://graph.facebook.com/v21.0";

/// A configuration value that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// The key.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// Reads the configuration through `get` (an environment lookup natively, the Worker's
    /// vars on Workers). Empty values count as unset.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first key whose value is not understood.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let llm_base =
            get("OUTPOST_LLM_BASE_URL").unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.into());
        let llm_key = get("OUTPOST_LLM_API_KEY");
        let llm = match get("OUTPOST_LLM").as_deref().unwrap_or("extractive") {
            "extractive" => LlmConfig::Extractive,
            "openai" => LlmConfig::OpenAi(OpenAiConfig {
                base_url: llm_base.clone(),
                api_key: llm_key.clone(),
                model: get("OUTPOST_LLM_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
            }),
            "workers-ai" => LlmConfig::WorkersAi(
                get("OUTPOST_LLM_MODEL")
                    .unwrap_or_else(|| crate::providers::workers_ai::DEFAULT_MODEL.into()),
            ),
            other => {
                return Err(ConfigError {
                    key: "OUTPOST_LLM",
                    message: format!(
                        "unknown provider {other:?}; use \"extractive\", \"openai\" or \"workers-ai\""
                    ),
                });
            }
        };
        let embeddings = match get("OUTPOST_EMBEDDINGS").as_deref().unwrap_or("none") {
            "none" => EmbeddingsConfig::None,
            "openai" => EmbeddingsConfig::OpenAi(OpenAiConfig {
                base_url: get("OUTPOST_EMBEDDINGS_BASE_URL").unwrap_or(llm_base),
                api_key: get("OUTPOST_EMBEDDINGS_API_KEY").or(llm_key),
                model: get("OUTPOST_EMBEDDINGS_MODEL")
                    .unwrap_or_else(|| "text-embedding-3-small".into()),
            }),
            "workers-ai" => {
                EmbeddingsConfig::WorkersAi(get("OUTPOST_EMBEDDINGS_MODEL").unwrap_or_else(|| {
                    crate::providers::workers_ai::DEFAULT_EMBEDDINGS_MODEL.into()
                }))
            }
            other => {
                return Err(ConfigError {
                    key: "OUTPOST_EMBEDDINGS",
                    message: format!(
                        "unknown provider {other:?}; use \"none\", \"openai\" or \"workers-ai\""
                    ),
                });
            }
        };
        let provider_timeout_secs = match get("OUTPOST_PROVIDER_TIMEOUT_SECS") {
            None => 30,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError {
                    key: "OUTPOST_PROVIDER_TIMEOUT_SECS",
                    message: format!("{v:?} is not a positive number of seconds"),
                })?,
        };
        let stream_pace_ms = match get("OUTPOST_STREAM_PACE_MS") {
            None => 0,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| ConfigError {
                    key: "OUTPOST_STREAM_PACE_MS",
                    message: format!("{v:?} is not a number of milliseconds up to 10000"),
                })?,
        };
        let number = |key: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| ConfigError {
                        key,
                        message: format!("{v:?} is not a positive whole number"),
                    }),
            }
        };
        use crate::limits::{PROJECT_PER_MINUTE, USER_BURST, USER_PER_MINUTE};
        let rate_limits = (
            number("OUTPOST_RATE_USER_PER_MINUTE", USER_PER_MINUTE)?,
            number("OUTPOST_RATE_USER_BURST", USER_BURST)?,
            number("OUTPOST_RATE_PROJECT_PER_MINUTE", PROJECT_PER_MINUTE)?,
        );
        let millis = |key: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| ConfigError {
                    key,
                    message: format!("{v:?} is not a whole number"),
                }),
            }
        };
        let url = |key: &'static str, default: &str| -> Result<String, ConfigError> {
            let v = get(key).unwrap_or_else(|| default.into());
            if v.starts_with("https://") || v.starts_with("http://") {
                Ok(v.trim_end_matches('/').to_owned())
            } else {
                Err(ConfigError {
                    key,
                    message: format!("{v:?} is not an http(s) URL"),
                })
            }
        };
        let channels = ChannelsConfig {
            whatsapp_api_url: url("OUTPOST_WHATSAPP_API_URL", DEFAULT_WHATSAPP_API_URL)?,
            github_api_url: url("OUTPOST_GITHUB_API_URL", "https://api.github.com")?,
            github_web_url: url("OUTPOST_GITHUB_WEB_URL", "https://github.com")?,
            telegram_api_url: url("OUTPOST_TELEGRAM_API_URL", "https://api.telegram.org")?,
            slack_api_url: url("OUTPOST_SLACK_API_URL", "https://slack.com/api")?,
            telegram_poll_secs: millis("OUTPOST_TELEGRAM_POLL_SECS", 30)?,
            retry_base_ms: millis("OUTPOST_JOB_RETRY_BASE_MS", 2_000)?.max(1),
            retry_max_ms: millis("OUTPOST_JOB_RETRY_MAX_MS", 3_600_000)?.max(1),
            max_attempts: millis("OUTPOST_JOB_MAX_ATTEMPTS", 10)?.max(1),
            sync_interval_secs: millis("OUTPOST_GITHUB_SYNC_INTERVAL_SECS", 3_600)?,
        };
        Ok(Config {
            channels,
            stream_pace_ms,
            rate_limits,
            admin_token: get("OUTPOST_ADMIN_TOKEN"),
            data_dir: get("OUTPOST_DATA_DIR").unwrap_or_else(|| ".outpost/data".into()),
            llm,
            embeddings,
            provider_timeout_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_are_offline() {
        let c = cfg(&[]).expect("valid");
        assert_eq!(c.llm, LlmConfig::Extractive);
        assert_eq!(c.embeddings, EmbeddingsConfig::None);
        assert_eq!(c.provider_timeout_secs, 30);
    }

    #[test]
    fn embeddings_inherit_the_llm_endpoint() {
        let c = cfg(&[
            ("OUTPOST_LLM", "openai"),
            ("OUTPOST_LLM_BASE_URL", "http://127.0.0.1:9/v1"),
            ("OUTPOST_LLM_API_KEY", "sk-test"),
            ("OUTPOST_EMBEDDINGS", "openai"),
        ])
        .expect("valid");
        let EmbeddingsConfig::OpenAi(e) = c.embeddings else {
            panic!("openai")
        };
        assert_eq!(e.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(e.api_key.as_deref(), Some("sk-test"));
        assert!(!format!("{e:?}").contains("sk-test"), "keys are not logged");
    }

    #[test]
    fn unknown_values_are_named() {
        assert_eq!(
            cfg(&[("OUTPOST_LLM", "gpt")]).unwrap_err().key,
            "OUTPOST_LLM"
        );
        assert_eq!(
            cfg(&[("OUTPOST_PROVIDER_TIMEOUT_SECS", "soon")])
                .unwrap_err()
                .key,
            "OUTPOST_PROVIDER_TIMEOUT_SECS"
        );
    }
}
