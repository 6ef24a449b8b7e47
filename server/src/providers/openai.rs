//! OpenAI-compatible providers: streamed chat completions and embeddings.
//!
//! Works with any server that speaks the OpenAI HTTP API (OpenAI, Workers AI's OpenAI endpoint,
//! Ollama, llama.cpp, vLLM). The stream is Server-Sent Events: `data: {chunk}` frames ending with
//! `data: [DONE]`; frames are parsed by `eventsource-stream` and read leniently (some backends
//! send `choices: null` or a usage-only frame).

use std::sync::Arc;

use async_trait::async_trait;
use eventsource_stream::Eventsource;
use futures::{StreamExt, stream};
use serde::Deserialize;
use serde_json::json;

use super::{CompletionRequest, Embedder, LanguageModel, ProviderError, TokenStream};
use crate::platform::http::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// How many texts go in one embeddings request. OpenAI accepts up to 2048; smaller batches keep
/// each request well under providers' body and token limits.
pub const EMBED_BATCH: usize = 64;

/// An error body longer than this is cut in messages: it is for a human, not a dump.
const MAX_ERROR_MESSAGE: usize = 300;

/// Where and how to reach an OpenAI-compatible API.
#[derive(Clone)]
pub struct Endpoint {
    /// The base URL including the version, for example `https://api.openai.com/v1`.
    pub base_url: String,
    /// The bearer key, if the server wants one.
    pub api_key: Option<String>,
    /// The HTTP client to send with.
    pub http: Arc<dyn HttpClient>,
}

impl Endpoint {
    fn request(&self, path: &str, body: &serde_json::Value) -> HttpRequest {
        let url = format!("{}/{}", self.base_url.trim_end_matches('/'), path);
        let mut req = HttpRequest::post_json(url, body);
        if let Some(key) = &self.api_key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        req
    }

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, ProviderError> {
        let resp = self.http.send(req).await.map_err(from_http)?;
        if (200..300).contains(&resp.status) {
            return Ok(resp);
        }
        let status = resp.status;
        let body = resp.bytes().await.unwrap_or_default();
        Err(ProviderError::Status {
            status,
            message: error_message(&body),
        })
    }
}

fn from_http(e: HttpError) -> ProviderError {
    match e {
        HttpError::Timeout => ProviderError::Timeout,
        HttpError::Connect(m) | HttpError::Other(m) => ProviderError::Unreachable(m),
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorDetail {
    Object { message: String },
    Text(String),
}

/// The provider's own error message from an error body: OpenAI's `{"error": {"message"}}`,
/// the `{"error": "..."}` some servers send, or the text itself.
fn error_message(body: &[u8]) -> String {
    let msg = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            error: ErrorDetail::Object { message } | ErrorDetail::Text(message),
        }) => message,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    let mut msg: String = msg.chars().take(MAX_ERROR_MESSAGE).collect();
    if msg.is_empty() {
        msg = "no error message".into();
    }
    msg
}

/// A streamed chat-completions client.
pub struct OpenAiChat {
    endpoint: Endpoint,
    model: String,
}

impl OpenAiChat {
    /// A client for `model` at `endpoint`.
    pub fn new(endpoint: Endpoint, model: impl Into<String>) -> Self {
        OpenAiChat {
            endpoint,
            model: model.into(),
        }
    }
}

#[derive(Deserialize)]
struct ChunkFrame {
    #[serde(default)]
    choices: Option<Vec<ChoiceFrame>>,
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ChoiceFrame {
    #[serde(default)]
    delta: Option<DeltaFrame>,
}

#[derive(Deserialize)]
struct DeltaFrame {
    #[serde(default)]
    content: Option<String>,
}

/// What one SSE `data` payload of a chat stream means.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamFrame {
    /// A piece of answer text (possibly empty, as in the first, role-only frame).
    Text(String),
    /// `[DONE]`: the answer is complete.
    Done,
}

/// Reads one `data` payload of an OpenAI-compatible chat stream.
///
/// # Errors
/// [`ProviderError::Protocol`] for a payload that is not a chunk, [`ProviderError::Status`] for
/// an error frame sent mid-stream.
pub fn parse_stream_data(data: &str) -> Result<StreamFrame, ProviderError> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(StreamFrame::Done);
    }
    let frame: ChunkFrame = serde_json::from_str(data)
        .map_err(|e| ProviderError::Protocol(format!("bad stream chunk: {e}")))?;
    if let Some(ErrorDetail::Object { message } | ErrorDetail::Text(message)) = frame.error {
        return Err(ProviderError::Status {
            status: 200,
            message,
        });
    }
    let text = frame
        .choices
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.delta.and_then(|d| d.content))
        .collect::<String>();
    Ok(StreamFrame::Text(text))
}

#[async_trait]
impl LanguageModel for OpenAiChat {
    fn name(&self) -> String {
        format!("openai:{}", self.model)
    }

    async fn stream(&self, request: CompletionRequest) -> Result<TokenStream, ProviderError> {
        let body = json!({
            "model": self.model,
            "messages": request.messages,
            "stream": true,
            "temperature": 0.2,
        });
        let req = self
            .endpoint
            .request("chat/completions", &body)
            .header("accept", "text/event-stream");
        let resp = self.endpoint.send(req).await?;
        let events = resp.body.eventsource();
        // State: the event stream, and whether the stream has finished (by [DONE] or error).
        let tokens = stream::unfold((events, false), |(mut events, finished)| async move {
            if finished {
                return None;
            }
            loop {
                match events.next().await {
                    None => {
                        let e = ProviderError::Protocol("the stream ended before [DONE]".into());
                        return Some((Err(e), (events, true)));
                    }
                    Some(Err(e)) => {
                        let e = match e {
                            eventsource_stream::EventStreamError::Transport(t) => from_http(t),
                            other => ProviderError::Protocol(other.to_string()),
                        };
                        return Some((Err(e), (events, true)));
                    }
                    Some(Ok(event)) => match parse_stream_data(&event.data) {
                        Ok(StreamFrame::Done) => return None,
                        Ok(StreamFrame::Text(t)) if t.is_empty() => continue,
                        Ok(StreamFrame::Text(t)) => return Some((Ok(t), (events, false))),
                        Err(e) => return Some((Err(e), (events, true))),
                    },
                }
            }
        });
        Ok(tokens.boxed())
    }
}

/// An embeddings client (`POST {base}/embeddings`), batched by [`EMBED_BATCH`].
pub struct OpenAiEmbedder {
    endpoint: Endpoint,
    model: String,
}

impl OpenAiEmbedder {
    /// A client for `model` at `endpoint`.
    pub fn new(endpoint: Endpoint, model: impl Into<String>) -> Self {
        OpenAiEmbedder {
            endpoint,
            model: model.into(),
        }
    }
}

#[derive(Deserialize)]
struct EmbeddingsBody {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    index: usize,
    embedding: Vec<f32>,
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> String {
        self.model.clone()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            let body = json!({ "model": self.model, "input": batch });
            let resp = self
                .endpoint
                .send(self.endpoint.request("embeddings", &body))
                .await?;
            let bytes = resp.bytes().await.map_err(from_http)?;
            let mut parsed: EmbeddingsBody = serde_json::from_slice(&bytes)
                .map_err(|e| ProviderError::Protocol(format!("bad embeddings answer: {e}")))?;
            if parsed.data.len() != batch.len() {
                return Err(ProviderError::Protocol(format!(
                    "{} embeddings for {} inputs",
                    parsed.data.len(),
                    batch.len()
                )));
            }
            parsed.data.sort_by_key(|d| d.index);
            out.extend(parsed.data.into_iter().map(|d| d.embedding));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_role_usage_and_done_frames() {
        let content = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#;
        assert_eq!(
            parse_stream_data(content).unwrap(),
            StreamFrame::Text("Hel".into())
        );
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
        assert_eq!(
            parse_stream_data(role).unwrap(),
            StreamFrame::Text(String::new())
        );
        let usage_null = r#"{"choices":null,"usage":{"prompt_tokens":3,"total_tokens":5}}"#;
        assert_eq!(
            parse_stream_data(usage_null).unwrap(),
            StreamFrame::Text(String::new())
        );
        let usage_empty = r#"{"choices":[],"usage":{"prompt_tokens":3}}"#;
        assert_eq!(
            parse_stream_data(usage_empty).unwrap(),
            StreamFrame::Text(String::new())
        );
        assert_eq!(parse_stream_data(" [DONE]").unwrap(), StreamFrame::Done);
    }

    #[test]
    fn rejects_garbage_and_reports_error_frames() {
        assert!(matches!(
            parse_stream_data("not json"),
            Err(ProviderError::Protocol(_))
        ));
        let err = r#"{"error":{"message":"overloaded","type":"server_error"}}"#;
        assert_eq!(
            parse_stream_data(err).unwrap_err(),
            ProviderError::Status {
                status: 200,
                message: "overloaded".into()
            }
        );
    }

    #[test]
    fn error_messages_come_from_any_common_shape() {
        assert_eq!(
            error_message(br#"{"error":{"message":"bad key","code":"x"}}"#),
            "bad key"
        );
        assert_eq!(
            error_message(br#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(error_message(b"Bad Gateway\n"), "Bad Gateway");
        assert_eq!(error_message(b""), "no error message");
        assert_eq!(
            error_message("x".repeat(1000).as_bytes()).len(),
            MAX_ERROR_MESSAGE
        );
    }
}
