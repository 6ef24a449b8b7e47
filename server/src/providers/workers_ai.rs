//! Cloudflare Workers AI, by its binding (`env.AI.run`): the request bodies and the answers'
//! formats. Only the binding call itself is platform code (in the Cloudflare adapter); what
//! goes in and out is here, tested on recorded frames, because the binding cannot run without
//! a Cloudflare account.
//!
//! - Text generation streams Server-Sent Events: `data: {"response":"New"}` frames, then
//!   `data: [DONE]`. Frames may carry other fields (`p`, `usage`); frames without `response`
//!   add nothing.
//! - Embeddings (`@cf/baai/bge-*`): input `{text: [..≤100]}`, output `{shape, data: [[..]]}`.

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use serde::Deserialize;
use serde_json::Value;

use super::{Message, ProviderError, TokenStream};

/// The default text model.
pub const DEFAULT_MODEL: &str = "@cf/meta/llama-3.1-8b-instruct";
/// The default embeddings model (384 dimensions).
pub const DEFAULT_EMBEDDINGS_MODEL: &str = "@cf/baai/bge-small-en-v1.5";
/// Texts per embeddings call (the binding's limit).
pub const EMBED_BATCH: usize = 100;

/// The input of a streamed chat answer. Typed, not a `serde_json::Value`: the binding's input
/// goes through `serde_wasm_bindgen`, which turns JSON maps into JavaScript `Map`s.
#[derive(Debug, serde::Serialize)]
pub struct ChatInput<'a> {
    /// The prompt.
    pub messages: &'a [Message],
    /// Always `true`: answers stream.
    pub stream: bool,
}

/// The input of an embeddings call (typed, as [`ChatInput`]).
#[derive(Debug, serde::Serialize)]
pub struct EmbedInput<'a> {
    /// At most [`EMBED_BATCH`] texts.
    pub text: &'a [String],
}

/// The input of a streamed chat answer.
pub fn chat_input(messages: &[Message]) -> ChatInput<'_> {
    ChatInput {
        messages,
        stream: true,
    }
}

/// The input of an embeddings call.
pub fn embed_input(texts: &[String]) -> EmbedInput<'_> {
    EmbedInput { text: texts }
}

#[derive(Deserialize)]
struct Frame {
    #[serde(default)]
    response: Option<String>,
}

/// One `data` payload of the stream: `Ok(None)` at `[DONE]`.
///
/// # Errors
/// [`ProviderError::Protocol`] for a payload that is not JSON.
pub fn parse_frame(data: &str) -> Result<Option<String>, ProviderError> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(None);
    }
    let f: Frame = serde_json::from_str(data)
        .map_err(|e| ProviderError::Protocol(format!("bad Workers AI frame: {e}")))?;
    Ok(Some(f.response.unwrap_or_default()))
}

/// The answer pieces of a streamed body (as the binding's `ReadableStream` delivers it).
pub fn token_stream<E: std::fmt::Display + Send + 'static>(
    body: BoxStream<'static, Result<Bytes, E>>,
) -> TokenStream {
    let events = body.eventsource();
    stream::unfold((events, false), |(mut events, done)| async move {
        if done {
            return None;
        }
        loop {
            match events.next().await {
                None => return None,
                Some(Err(e)) => {
                    let e = ProviderError::Unreachable(e.to_string());
                    return Some((Err(e), (events, true)));
                }
                Some(Ok(ev)) => match parse_frame(&ev.data) {
                    Ok(None) => return None,
                    Ok(Some(t)) if t.is_empty() => continue,
                    Ok(Some(t)) => return Some((Ok(t), (events, false))),
                    Err(e) => return Some((Err(e), (events, true))),
                },
            }
        }
    })
    .boxed()
}

#[derive(Deserialize)]
struct EmbedOutput {
    data: Vec<Vec<f32>>,
}

/// The vectors of an embeddings answer, checked against the number of texts sent.
///
/// # Errors
/// [`ProviderError::Protocol`] when the answer is not an embeddings output of that length.
pub fn parse_embeddings(output: &Value, expected: usize) -> Result<Vec<Vec<f32>>, ProviderError> {
    let out: EmbedOutput = serde_json::from_value(output.clone())
        .map_err(|e| ProviderError::Protocol(format!("bad Workers AI embeddings: {e}")))?;
    if out.data.len() != expected {
        return Err(ProviderError::Protocol(format!(
            "{} vectors for {expected} texts",
            out.data.len()
        )));
    }
    Ok(out.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Frames as the binding streams them (workers-ai/get-started/streaming), cut across
    /// chunk boundaries as a network would.
    const RECORDED: &str = "data: {\"response\":\"Keys\"}\n\ndata: {\"response\":\" rotate\",\"p\":\"abc\"}\n\ndata: {\"response\":\" every 90 days [1].\"}\n\ndata: {\"response\":\"\",\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":7,\"total_tokens\":57}}\n\ndata: [DONE]\n\n";

    #[tokio::test]
    async fn a_recorded_stream_gives_its_pieces_in_order_and_stops_at_done() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = RECORDED
            .as_bytes()
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let pieces: Vec<String> = token_stream(stream::iter(chunks).boxed())
            .map(|r| r.unwrap())
            .collect()
            .await;
        assert_eq!(pieces, ["Keys", " rotate", " every 90 days [1]."]);
    }

    #[test]
    fn bad_frames_and_embeddings_are_protocol_errors() {
        assert!(matches!(
            parse_frame("{oops"),
            Err(ProviderError::Protocol(_))
        ));
        assert_eq!(parse_frame("[DONE]").unwrap(), None);
        let out =
            json!({"shape": [2, 3], "data": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "pooling": "mean"});
        assert_eq!(parse_embeddings(&out, 2).unwrap()[1], vec![0.4, 0.5, 0.6]);
        assert!(parse_embeddings(&out, 3).is_err());
        assert!(parse_embeddings(&json!({"error": "x"}), 1).is_err());
    }

    #[test]
    fn inputs_have_the_bindings_shapes() {
        let m = vec![Message {
            role: super::super::Role::User,
            content: "hi".into(),
        }];
        assert_eq!(
            serde_json::to_value(chat_input(&m)).unwrap(),
            json!({"messages": [{"role": "user", "content": "hi"}], "stream": true})
        );
        assert_eq!(
            serde_json::to_value(embed_input(&["a".into()])).unwrap(),
            json!({"text": ["a"]})
        );
    }
}
