//! Native adapters: SQLite files through rusqlite, outbound HTTP through reqwest, documents from
//! the filesystem, session actors, the WebSocket route, static assets, metrics, the server, and
//! the wiring of configured providers.

pub mod assets;
pub mod channels;
pub mod fs;
pub mod hashing;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod server;
pub mod sqlite;
pub mod telemetry;
pub mod ws;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, EmbeddingsConfig, LlmConfig, OpenAiConfig};
use crate::knowledge::{Knowledge, KnowledgeError};
use crate::project::ProjectId;
use crate::providers::extractive::Extractive;
use crate::providers::openai::{Endpoint, OpenAiChat, OpenAiEmbedder};
use crate::providers::{Embedder, LanguageModel};
use crate::rag::Assistant;
use http::ReqwestClient;
use sqlite::SqliteFile;

/// How long connecting to a provider may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite file that holds `project`'s knowledge under `data_dir`.
pub fn knowledge_path(data_dir: &Path, project: &ProjectId) -> PathBuf {
    data_dir.join("knowledge").join(format!("{project}.sqlite"))
}

/// Opens (creating when `create`) `project`'s knowledge under `data_dir`. `Ok(None)` when it
/// does not exist and `create` is false.
///
/// # Errors
/// [`KnowledgeError`] when the file cannot be opened or its schema applied.
pub fn open_knowledge(
    data_dir: &Path,
    project: &ProjectId,
    create: bool,
) -> Result<Option<Knowledge<SqliteFile>>, KnowledgeError> {
    let path = knowledge_path(data_dir, project);
    if !create && !path.exists() {
        return Ok(None);
    }
    if let Some(parent) = path.parent() {
        fs::private_dir(parent).map_err(|e| {
            crate::platform::sql::SqlError::Database(format!("{}: {e}", parent.display()))
        })?;
    }
    Ok(Some(Knowledge::open(SqliteFile::open(&path)?)?))
}

fn endpoint(c: &OpenAiConfig, http: &Arc<ReqwestClient>) -> Endpoint {
    Endpoint {
        base_url: c.base_url.clone(),
        api_key: c.api_key.clone(),
        http: http.clone(),
    }
}

/// Builds the assistant the configuration asks for.
///
/// # Errors
/// A message when the HTTP client cannot be created.
pub fn assistant(config: &Config) -> Result<Assistant, String> {
    let http = Arc::new(
        ReqwestClient::new(
            CONNECT_TIMEOUT,
            Duration::from_secs(config.provider_timeout_secs),
        )
        .map_err(|e| e.to_string())?,
    );
    let mut llm: Arc<dyn LanguageModel> = match &config.llm {
        LlmConfig::Extractive => Arc::new(Extractive),
        LlmConfig::OpenAi(c) => Arc::new(OpenAiChat::new(endpoint(c, &http), c.model.clone())),
        LlmConfig::WorkersAi(_) => {
            return Err("OUTPOST_LLM=workers-ai needs the Workers AI binding: it runs on Cloudflare Workers only (natively use \"openai\" with Cloudflare's OpenAI-compatible endpoint)".into());
        }
    };
    if config.stream_pace_ms > 0 {
        llm = Arc::new(Paced {
            inner: llm,
            pace: Duration::from_millis(config.stream_pace_ms),
        });
    }
    let embedder: Option<Arc<dyn Embedder>> = match &config.embeddings {
        EmbeddingsConfig::None => None,
        EmbeddingsConfig::OpenAi(c) => Some(Arc::new(OpenAiEmbedder::new(
            endpoint(c, &http),
            c.model.clone(),
        ))),
        EmbeddingsConfig::WorkersAi(_) => {
            return Err("OUTPOST_EMBEDDINGS=workers-ai runs on Cloudflare Workers only".into());
        }
    };
    Ok(Assistant::new(llm, embedder))
}

/// A language model whose pieces are spaced at least `pace` apart (a tokio timer, hence native).
pub struct Paced {
    /// The model.
    pub inner: Arc<dyn LanguageModel>,
    /// Least time between pieces.
    pub pace: Duration,
}

#[async_trait::async_trait]
impl LanguageModel for Paced {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn stream(
        &self,
        request: crate::providers::CompletionRequest,
    ) -> Result<crate::providers::TokenStream, crate::providers::ProviderError> {
        use futures::StreamExt;
        let pace = self.pace;
        let inner = self.inner.stream(request).await?;
        Ok(inner
            .then(move |piece| async move {
                tokio::time::sleep(pace).await;
                piece
            })
            .boxed())
    }
}

pub use crate::platform::now_unix;
