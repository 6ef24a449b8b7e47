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
//! | `OUTPOST_SOCKETS_PER_ADDRESS` | `128` | chat sockets one client address may hold open (native) |
//! | `OUTPOST_SOCKETS_MAX` | `20000` | chat sockets the server holds open in all (native) |
//! | `OUTPOST_TURNSTILE_URL` | `https://challenges.cloudflare.com` | Cloudflare Turnstile's base: its `siteverify` for the server, its `api.js` for the widget |
//! | `OUTPOST_TRUSTED_PROXIES` | none | comma-separated addresses of reverse proxies whose `X-Forwarded-For` names the client (native) |
//! | `OUTPOST_STREAM_PACE_MS` | `0` | least time between two streamed pieces (smooths bursts; the demo sets it so the offline model reads like typing) |

use thiserror::Error;

/// Every `OUTPOST_*` key Outpost reads, named once. The values are read here ([`Config`],
/// [`Telemetry`], [`Deployment`]) or, for the command line's own flags, by the CLI through
/// these names; docs/configuration.md lists every one (a test holds both).
pub mod keys {
    /// `OUTPOST_ADDR`.
    pub const ADDR: &str = "OUTPOST_ADDR";
    /// `OUTPOST_ADMIN_TOKEN`.
    pub const ADMIN_TOKEN: &str = "OUTPOST_ADMIN_TOKEN";
    /// `OUTPOST_ASSETS_DIR`.
    pub const ASSETS_DIR: &str = "OUTPOST_ASSETS_DIR";
    /// `OUTPOST_DATA_DIR`.
    pub const DATA_DIR: &str = "OUTPOST_DATA_DIR";
    /// `OUTPOST_DEMO_ADDR`.
    pub const DEMO_ADDR: &str = "OUTPOST_DEMO_ADDR";
    /// `OUTPOST_DEMO_TARGET`.
    pub const DEMO_TARGET: &str = "OUTPOST_DEMO_TARGET";
    /// `OUTPOST_EMBEDDINGS`.
    pub const EMBEDDINGS: &str = "OUTPOST_EMBEDDINGS";
    /// `OUTPOST_EMBEDDINGS_API_KEY`.
    pub const EMBEDDINGS_API_KEY: &str = "OUTPOST_EMBEDDINGS_API_KEY";
    /// `OUTPOST_EMBEDDINGS_BASE_URL`.
    pub const EMBEDDINGS_BASE_URL: &str = "OUTPOST_EMBEDDINGS_BASE_URL";
    /// `OUTPOST_EMBEDDINGS_MODEL`.
    pub const EMBEDDINGS_MODEL: &str = "OUTPOST_EMBEDDINGS_MODEL";
    /// `OUTPOST_GITHUB_API_URL`.
    pub const GITHUB_API_URL: &str = "OUTPOST_GITHUB_API_URL";
    /// `OUTPOST_GITHUB_SYNC_INTERVAL_SECS`.
    pub const GITHUB_SYNC_INTERVAL_SECS: &str = "OUTPOST_GITHUB_SYNC_INTERVAL_SECS";
    /// `OUTPOST_GITHUB_WEB_URL`.
    pub const GITHUB_WEB_URL: &str = "OUTPOST_GITHUB_WEB_URL";
    /// `OUTPOST_JOB_MAX_ATTEMPTS`.
    pub const JOB_MAX_ATTEMPTS: &str = "OUTPOST_JOB_MAX_ATTEMPTS";
    /// `OUTPOST_JOB_RETRY_BASE_MS`.
    pub const JOB_RETRY_BASE_MS: &str = "OUTPOST_JOB_RETRY_BASE_MS";
    /// `OUTPOST_JOB_RETRY_MAX_MS`.
    pub const JOB_RETRY_MAX_MS: &str = "OUTPOST_JOB_RETRY_MAX_MS";
    /// `OUTPOST_LLM`.
    pub const LLM: &str = "OUTPOST_LLM";
    /// `OUTPOST_LLM_API_KEY`.
    pub const LLM_API_KEY: &str = "OUTPOST_LLM_API_KEY";
    /// `OUTPOST_LLM_BASE_URL`.
    pub const LLM_BASE_URL: &str = "OUTPOST_LLM_BASE_URL";
    /// `OUTPOST_LLM_MODEL`.
    pub const LLM_MODEL: &str = "OUTPOST_LLM_MODEL";
    /// `OUTPOST_LOG`.
    pub const LOG: &str = "OUTPOST_LOG";
    /// `OUTPOST_LOG_FORMAT`.
    pub const LOG_FORMAT: &str = "OUTPOST_LOG_FORMAT";
    /// `OUTPOST_OTLP_ENDPOINT`.
    pub const OTLP_ENDPOINT: &str = "OUTPOST_OTLP_ENDPOINT";
    /// `OUTPOST_PROVIDER_TIMEOUT_SECS`.
    pub const PROVIDER_TIMEOUT_SECS: &str = "OUTPOST_PROVIDER_TIMEOUT_SECS";
    /// `OUTPOST_RATE_PROJECT_PER_MINUTE`.
    pub const RATE_PROJECT_PER_MINUTE: &str = "OUTPOST_RATE_PROJECT_PER_MINUTE";
    /// `OUTPOST_RATE_USER_BURST`.
    pub const RATE_USER_BURST: &str = "OUTPOST_RATE_USER_BURST";
    /// `OUTPOST_RATE_USER_PER_MINUTE`.
    pub const RATE_USER_PER_MINUTE: &str = "OUTPOST_RATE_USER_PER_MINUTE";
    /// `OUTPOST_SOCKETS_MAX`.
    pub const SOCKETS_MAX: &str = "OUTPOST_SOCKETS_MAX";
    /// `OUTPOST_TRUSTED_PROXIES`.
    pub const TRUSTED_PROXIES: &str = "OUTPOST_TRUSTED_PROXIES";
    /// `OUTPOST_SOCKETS_PER_ADDRESS`.
    pub const SOCKETS_PER_ADDRESS: &str = "OUTPOST_SOCKETS_PER_ADDRESS";
    /// `OUTPOST_SERVICE`.
    pub const SERVICE: &str = "OUTPOST_SERVICE";
    /// `OUTPOST_SERVICES`.
    pub const SERVICES: &str = "OUTPOST_SERVICES";
    /// `OUTPOST_SLACK_API_URL`.
    pub const SLACK_API_URL: &str = "OUTPOST_SLACK_API_URL";
    /// `OUTPOST_STREAM_PACE_MS`.
    pub const STREAM_PACE_MS: &str = "OUTPOST_STREAM_PACE_MS";
    /// `OUTPOST_TELEGRAM_API_URL`.
    pub const TELEGRAM_API_URL: &str = "OUTPOST_TELEGRAM_API_URL";
    /// `OUTPOST_TELEGRAM_POLL_SECS`.
    pub const TELEGRAM_POLL_SECS: &str = "OUTPOST_TELEGRAM_POLL_SECS";
    /// `OUTPOST_TRACE`.
    pub const TRACE: &str = "OUTPOST_TRACE";
    /// `OUTPOST_TURNSTILE_URL`.
    pub const TURNSTILE_URL: &str = "OUTPOST_TURNSTILE_URL";
    /// `OUTPOST_URL`.
    pub const URL: &str = "OUTPOST_URL";
    /// `OUTPOST_WHATSAPP_API_URL`.
    pub const WHATSAPP_API_URL: &str = "OUTPOST_WHATSAPP_API_URL";

    /// All of them.
    pub const ALL: &[&str] = &[
        ADDR,
        ADMIN_TOKEN,
        ASSETS_DIR,
        DATA_DIR,
        DEMO_ADDR,
        DEMO_TARGET,
        EMBEDDINGS,
        EMBEDDINGS_API_KEY,
        EMBEDDINGS_BASE_URL,
        EMBEDDINGS_MODEL,
        GITHUB_API_URL,
        GITHUB_SYNC_INTERVAL_SECS,
        GITHUB_WEB_URL,
        JOB_MAX_ATTEMPTS,
        JOB_RETRY_BASE_MS,
        JOB_RETRY_MAX_MS,
        LLM,
        LLM_API_KEY,
        LLM_BASE_URL,
        LLM_MODEL,
        LOG,
        LOG_FORMAT,
        OTLP_ENDPOINT,
        PROVIDER_TIMEOUT_SECS,
        RATE_PROJECT_PER_MINUTE,
        RATE_USER_BURST,
        RATE_USER_PER_MINUTE,
        SERVICE,
        SERVICES,
        SLACK_API_URL,
        SOCKETS_MAX,
        SOCKETS_PER_ADDRESS,
        STREAM_PACE_MS,
        TELEGRAM_API_URL,
        TELEGRAM_POLL_SECS,
        TRACE,
        TRUSTED_PROXIES,
        TURNSTILE_URL,
        URL,
        WHATSAPP_API_URL,
    ];
}

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
    /// Open chat sockets per client address and in all (native).
    pub socket_caps: (u32, u32),
    /// Reverse proxies whose `X-Forwarded-For` is believed (native).
    pub trusted_proxies: Vec<std::net::IpAddr>,
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
    /// Cloudflare Turnstile's base (`OUTPOST_TURNSTILE_URL`): `siteverify` and the widget's
    /// `api.js` under it.
    pub turnstile_url: String,
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
        let llm_base = get(keys::LLM_BASE_URL).unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.into());
        let llm_key = get(keys::LLM_API_KEY);
        let llm = match get(keys::LLM).as_deref().unwrap_or("extractive") {
            "extractive" => LlmConfig::Extractive,
            "openai" => LlmConfig::OpenAi(OpenAiConfig {
                base_url: llm_base.clone(),
                api_key: llm_key.clone(),
                model: get(keys::LLM_MODEL).unwrap_or_else(|| "gpt-4o-mini".into()),
            }),
            "workers-ai" => LlmConfig::WorkersAi(
                get(keys::LLM_MODEL)
                    .unwrap_or_else(|| crate::providers::workers_ai::DEFAULT_MODEL.into()),
            ),
            other => {
                return Err(ConfigError {
                    key: keys::LLM,
                    message: format!(
                        "unknown provider {other:?}; use \"extractive\", \"openai\" or \"workers-ai\""
                    ),
                });
            }
        };
        let embeddings = match get(keys::EMBEDDINGS).as_deref().unwrap_or("none") {
            "none" => EmbeddingsConfig::None,
            "openai" => EmbeddingsConfig::OpenAi(OpenAiConfig {
                base_url: get(keys::EMBEDDINGS_BASE_URL).unwrap_or(llm_base),
                api_key: get(keys::EMBEDDINGS_API_KEY).or(llm_key),
                model: get(keys::EMBEDDINGS_MODEL)
                    .unwrap_or_else(|| "text-embedding-3-small".into()),
            }),
            "workers-ai" => {
                EmbeddingsConfig::WorkersAi(get(keys::EMBEDDINGS_MODEL).unwrap_or_else(|| {
                    crate::providers::workers_ai::DEFAULT_EMBEDDINGS_MODEL.into()
                }))
            }
            other => {
                return Err(ConfigError {
                    key: keys::EMBEDDINGS,
                    message: format!(
                        "unknown provider {other:?}; use \"none\", \"openai\" or \"workers-ai\""
                    ),
                });
            }
        };
        let provider_timeout_secs = match get(keys::PROVIDER_TIMEOUT_SECS) {
            None => 30,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError {
                    key: keys::PROVIDER_TIMEOUT_SECS,
                    message: format!("{v:?} is not a positive number of seconds"),
                })?,
        };
        let stream_pace_ms = match get(keys::STREAM_PACE_MS) {
            None => 0,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| ConfigError {
                    key: keys::STREAM_PACE_MS,
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
            number(keys::RATE_USER_PER_MINUTE, USER_PER_MINUTE)?,
            number(keys::RATE_USER_BURST, USER_BURST)?,
            number(keys::RATE_PROJECT_PER_MINUTE, PROJECT_PER_MINUTE)?,
        );
        let socket_caps = (
            number(
                keys::SOCKETS_PER_ADDRESS,
                crate::limits::SOCKETS_PER_ADDRESS,
            )?,
            number(keys::SOCKETS_MAX, crate::limits::SOCKETS_MAX)?,
        );
        let trusted_proxies = get(keys::TRUSTED_PROXIES)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| ConfigError {
                    key: keys::TRUSTED_PROXIES,
                    message: format!("{s:?} is not an IP address"),
                })
            })
            .collect::<Result<Vec<std::net::IpAddr>, _>>()?;
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
            whatsapp_api_url: url(keys::WHATSAPP_API_URL, DEFAULT_WHATSAPP_API_URL)?,
            github_api_url: url(keys::GITHUB_API_URL, "https://api.github.com")?,
            github_web_url: url(keys::GITHUB_WEB_URL, "https://github.com")?,
            telegram_api_url: url(keys::TELEGRAM_API_URL, "https://api.telegram.org")?,
            slack_api_url: url(keys::SLACK_API_URL, "https://slack.com/api")?,
            turnstile_url: url(keys::TURNSTILE_URL, "https://challenges.cloudflare.com")?,
            telegram_poll_secs: millis(keys::TELEGRAM_POLL_SECS, 30)?,
            retry_base_ms: millis(keys::JOB_RETRY_BASE_MS, 2_000)?.max(1),
            retry_max_ms: millis(keys::JOB_RETRY_MAX_MS, 3_600_000)?.max(1),
            max_attempts: millis(keys::JOB_MAX_ATTEMPTS, 10)?.max(1),
            sync_interval_secs: millis(keys::GITHUB_SYNC_INTERVAL_SECS, 3_600)?,
        };
        let admin_token = get(keys::ADMIN_TOKEN);
        if let Some(t) = &admin_token {
            crate::auth::strong_secret(keys::ADMIN_TOKEN, t).map_err(|message| ConfigError {
                key: keys::ADMIN_TOKEN,
                message,
            })?;
        }
        Ok(Config {
            channels,
            stream_pace_ms,
            rate_limits,
            socket_caps,
            trusted_proxies,
            admin_token,
            data_dir: get(keys::DATA_DIR).unwrap_or_else(|| ".outpost/data".into()),
            llm,
            embeddings,
            provider_timeout_secs,
        })
    }
}

/// How the native server logs and traces (read before anything else, so that the rest can log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Telemetry {
    /// The log filter (`OUTPOST_LOG`, `tracing` directives; default `warn`).
    pub log: Option<String>,
    /// Logs as JSON lines (`OUTPOST_LOG_FORMAT=json`) rather than text.
    pub json: bool,
    /// Where traces go over OTLP/HTTP (`OUTPOST_OTLP_ENDPOINT`); none: no traces.
    pub otlp_endpoint: Option<String>,
    /// The spans exported (`OUTPOST_TRACE`, `tracing` directives; default `info`).
    pub trace: Option<String>,
}

impl Telemetry {
    /// Reads the telemetry keys through `get`; empty values count as unset.
    ///
    /// # Errors
    /// A sentence naming the key, for a log format other than `text` or `json`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Telemetry, String> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let json = match get(keys::LOG_FORMAT).as_deref().map(str::trim) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(format!(
                    "{}: {other:?} is not a log format; use text or json",
                    keys::LOG_FORMAT
                ));
            }
        };
        Ok(Telemetry {
            log: get(keys::LOG),
            json,
            otlp_endpoint: get(keys::OTLP_ENDPOINT),
            trace: get(keys::TRACE),
        })
    }
}

/// What a Worker is deployed as, read on every request (it needs no other key to answer
/// `/health`, even when the rest of the configuration is wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The service it serves (`OUTPOST_SERVICE`: `outpost` for all of them, or one).
    pub service: String,
    /// The admin API's bearer token (`OUTPOST_ADMIN_TOKEN`).
    pub admin_token: Option<String>,
}

impl Deployment {
    /// Reads the deployment keys through `get`; empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Deployment {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        Deployment {
            service: get(keys::SERVICE).unwrap_or_else(|| "outpost".into()),
            admin_token: get(keys::ADMIN_TOKEN),
        }
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
    fn a_weak_admin_token_is_refused_and_says_what_a_strong_one_is() {
        for weak in [
            "secret",
            "x".repeat(40).as_str(),
            "0123456789abcdef0123456789abcde",
        ] {
            let e = cfg(&[(keys::ADMIN_TOKEN, weak)]).unwrap_err();
            assert_eq!(e.key, keys::ADMIN_TOKEN);
            assert!(e.message.contains("at least 32"), "{}", e.message);
        }
        let c = cfg(&[(keys::ADMIN_TOKEN, "0123456789abcdef0123456789abcdef")]).unwrap();
        assert!(c.admin_token.is_some());
    }

    #[test]
    fn embeddings_inherit_the_llm_endpoint() {
        let c = cfg(&[
            (keys::LLM, "openai"),
            (keys::LLM_BASE_URL, "http://127.0.0.1:9/v1"),
            (keys::LLM_API_KEY, "sk-test"),
            (keys::EMBEDDINGS, "openai"),
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
        assert_eq!(cfg(&[(keys::LLM, "gpt")]).unwrap_err().key, keys::LLM);
        assert_eq!(
            cfg(&[(keys::PROVIDER_TIMEOUT_SECS, "soon")])
                .unwrap_err()
                .key,
            keys::PROVIDER_TIMEOUT_SECS
        );
    }
}
