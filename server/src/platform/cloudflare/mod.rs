//! Cloudflare Workers adapters (feature `cloudflare`, wasm32): the same router and session logic
//! as natively, with a Durable Object per chat session ([`session_object`]) and per project
//! knowledge base ([`knowledge_object`]), projects in D1, providers over `fetch`.
//!
//! # Layout
//! - [`entry`]: the `fetch` event: the shared router plus the Workers-only routes.
//! - [`hub`]: the `SessionHub` port over `ChatSession` objects.
//! - [`session_object`]: the `ChatSession` object: the session state machine, hibernating
//!   WebSockets, frames in the object's SQLite.
//! - [`knowledge_object`]: the `Knowledge` object: one project's knowledge, the native schema.
//! - [`directory`]: projects in D1; [`sql`]: the SQL port over DO SQLite and D1 rows;
//!   [`fetch`]: outbound HTTP; [`workers_ai`]: the Workers AI binding's stream format.

pub mod calls;
pub mod directory;
pub mod entry;
pub mod fetch;
pub mod hub;
pub mod knowledge_object;
pub mod session_object;
pub mod sql;
pub mod workers_ai;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use worker::Env;

use crate::config::{Config, EmbeddingsConfig, LlmConfig, OpenAiConfig};
use crate::limits::Limits;
use crate::providers::extractive::Extractive;
use crate::providers::openai::{Endpoint, OpenAiChat, OpenAiEmbedder};
use crate::providers::{CompletionRequest, Embedder, LanguageModel, ProviderError, TokenStream};
use crate::rag::Assistant;

/// Reads a var or secret of the Worker (empty when unset).
pub fn env_value(env: &Env, key: &str) -> Option<String> {
    env.var(key)
        .ok()
        .map(|v| v.to_string())
        .or_else(|| env.secret(key).ok().map(|v| v.to_string()))
        .filter(|v| !v.trim().is_empty())
}

/// The configuration from the Worker's vars and secrets (the same keys as natively).
///
/// # Errors
/// A message naming the key that is not understood.
pub fn config(env: &Env) -> Result<Config, String> {
    Config::from_lookup(|k| env_value(env, k)).map_err(|e| e.to_string())
}

fn endpoint(c: &OpenAiConfig) -> Endpoint {
    Endpoint {
        base_url: c.base_url.clone(),
        api_key: c.api_key.clone(),
        http: Arc::new(fetch::FetchClient),
    }
}

fn ai(env: &Env) -> Result<worker::send::SendWrapper<worker::Ai>, String> {
    env.ai(workers_ai::BINDING)
        .map(worker::send::SendWrapper)
        .map_err(|e| format!("the Workers AI binding `AI` is missing from wrangler.toml: {e}"))
}

/// The embedder the configuration asks for.
///
/// # Errors
/// A message when it needs a binding the Worker lacks.
pub fn embedder(env: &Env, config: &Config) -> Result<Option<Arc<dyn Embedder>>, String> {
    Ok(match &config.embeddings {
        EmbeddingsConfig::None => None,
        EmbeddingsConfig::OpenAi(c) => {
            Some(Arc::new(OpenAiEmbedder::new(endpoint(c), c.model.clone())))
        }
        EmbeddingsConfig::WorkersAi(model) => Some(Arc::new(workers_ai::WorkersAiEmbedder {
            ai: ai(env)?,
            model: model.clone(),
        })),
    })
}

/// The assistant the configuration asks for.
///
/// # Errors
/// A message when it needs a binding the Worker lacks.
pub fn assistant(env: &Env, config: &Config) -> Result<Assistant, String> {
    let mut llm: Arc<dyn LanguageModel> = match &config.llm {
        LlmConfig::Extractive => Arc::new(Extractive),
        LlmConfig::OpenAi(c) => Arc::new(OpenAiChat::new(endpoint(c), c.model.clone())),
        LlmConfig::WorkersAi(model) => Arc::new(workers_ai::WorkersAiChat {
            ai: ai(env)?,
            model: model.clone(),
        }),
    };
    if config.stream_pace_ms > 0 {
        llm = Arc::new(Paced {
            inner: llm,
            pace: Duration::from_millis(config.stream_pace_ms),
        });
    }
    Ok(Assistant::new(llm, embedder(env, config)?))
}

/// Pieces spaced at least `pace` apart, with the Workers timer.
struct Paced {
    inner: Arc<dyn LanguageModel>,
    pace: Duration,
}

#[async_trait::async_trait]
impl LanguageModel for Paced {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn stream(&self, request: CompletionRequest) -> Result<TokenStream, ProviderError> {
        let pace = self.pace;
        let inner = self.inner.stream(request).await?;
        Ok(inner
            .then(move |piece| {
                worker::send::SendFuture::new(async move {
                    worker::Delay::from(pace).await;
                    piece
                })
            })
            .boxed())
    }
}

thread_local! {
    /// Rate limits live as long as the isolate (set from the first request's configuration).
    static LIMITS: std::cell::OnceCell<Arc<Limits>> = const { std::cell::OnceCell::new() };
}

/// The isolate's rate limits, from the configuration's `OUTPOST_RATE_*`.
pub fn limits(env: &Env) -> Arc<Limits> {
    LIMITS.with(|l| {
        l.get_or_init(|| {
            let (u, b, p) = config(env).map(|c| c.rate_limits).unwrap_or((
                crate::limits::USER_PER_MINUTE,
                crate::limits::USER_BURST,
                crate::limits::PROJECT_PER_MINUTE,
            ));
            // Sign-ins are counted here; visitors' questions and writes by the project's
            // Knowledge object ([`knowledge_object::DoGate`]), which sees every isolate's.
            Arc::new(Limits::new(u, b, p))
        })
        .clone()
    })
}

/// The Workers clock: JavaScript's `Date` for timings, the runtime's timer for waits.
pub struct WorkersClock;

impl crate::chat::answer::Clock for WorkersClock {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(worker::send::SendFuture::new(worker::Delay::from(d)))
    }
}

/// 128 random bits in hex (session ids).
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the JavaScript crypto source is available");
    hex::encode(b)
}
