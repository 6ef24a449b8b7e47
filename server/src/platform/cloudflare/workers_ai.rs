//! The Workers AI binding (`AI`) as a language model and an embedder. Thin on purpose: the
//! formats are in [`crate::providers::workers_ai`] (tested on recorded frames); this is only
//! the binding call, which needs a Cloudflare account (it does not run under `wrangler dev`
//! offline, so the local configuration never names it).

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use worker::Ai;
use worker::send::{SendFuture, SendWrapper};

use super::fetch::SendStream;
use crate::providers::workers_ai::{
    EMBED_BATCH, chat_input, embed_input, parse_embeddings, token_stream,
};
use crate::providers::{CompletionRequest, Embedder, LanguageModel, ProviderError, TokenStream};

/// The binding's name in wrangler.toml (`[ai] binding = "AI"`).
pub const BINDING: &str = "AI";

fn unreachable(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unreachable(e.to_string())
}

/// A Workers AI text model.
pub struct WorkersAiChat {
    /// The binding.
    pub ai: SendWrapper<Ai>,
    /// The model (`@cf/...`).
    pub model: String,
}

#[async_trait]
impl LanguageModel for WorkersAiChat {
    fn name(&self) -> String {
        format!("workers-ai:{}", self.model)
    }

    async fn stream(&self, request: CompletionRequest) -> Result<TokenStream, ProviderError> {
        SendFuture::new(async {
            let body = self
                .ai
                .run_bytes(&self.model, chat_input(&request.messages))
                .await
                .map_err(unreachable)?;
            let body = SendStream(Box::pin(body))
                .map(|c| c.map(Bytes::from).map_err(|e| e.to_string()))
                .boxed();
            Ok(token_stream(body))
        })
        .await
    }
}

/// A Workers AI embeddings model.
pub struct WorkersAiEmbedder {
    /// The binding.
    pub ai: SendWrapper<Ai>,
    /// The model (`@cf/baai/bge-small-en-v1.5`, ...).
    pub model: String,
}

#[async_trait]
impl Embedder for WorkersAiEmbedder {
    fn model(&self) -> String {
        format!("workers-ai:{}", self.model)
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        SendFuture::new(async {
            let mut out = Vec::with_capacity(texts.len());
            for batch in texts.chunks(EMBED_BATCH) {
                let v: serde_json::Value = self
                    .ai
                    .run(&self.model, embed_input(batch))
                    .await
                    .map_err(unreachable)?;
                out.extend(parse_embeddings(&v, batch.len())?);
            }
            Ok(out)
        })
        .await
    }
}
