//! The outbound HTTP port, with streamed response bodies.
//!
//! Providers (LLM, embeddings) speak HTTP through this trait so that the same provider code runs
//! natively (reqwest) and on Workers (`fetch`). Timeouts are the adapter's job: natively a
//! connect timeout and a read timeout between body chunks, which also bounds a slow first token.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use thiserror::Error;

/// An outbound request. Bodies are small JSON documents, so they are sent whole.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A `POST` with a JSON body.
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A response whose body arrives as a stream of byte chunks.
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Response headers, names lowercase (rate-limit and retry hints are read from them).
    pub headers: Vec<(String, String)>,
    /// The body, chunk by chunk as the network delivers it.
    pub body: BoxStream<'static, Result<Bytes, HttpError>>,
}

impl HttpResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads the whole body.
    ///
    /// # Errors
    /// The first error the body stream yields.
    pub async fn bytes(self) -> Result<Vec<u8>, HttpError> {
        use futures::StreamExt;
        let mut out = Vec::new();
        let mut body = self.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

/// Why an outbound request failed before a status code could be read, or mid-body.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum HttpError {
    /// Nothing arrived within the adapter's timeout (connect, first byte, or between chunks).
    #[error("timed out")]
    Timeout,
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// Anything else the client reports.
    #[error("{0}")]
    Other(String),
}

impl HttpError {
    /// The same error without `url`'s path, query or credentials in its text: some platforms put
    /// a secret in the URL (Telegram's bot token is a path segment), and error texts are stored
    /// where operators read them, logged and traced. Every adapter passes its errors through
    /// this at the port's boundary.
    #[must_use]
    pub fn redacted(self, url: &str) -> HttpError {
        let redact = |text: String| redact_url(&text, url);
        match self {
            HttpError::Timeout => HttpError::Timeout,
            HttpError::Connect(m) => HttpError::Connect(redact(m)),
            HttpError::Other(m) => HttpError::Other(redact(m)),
        }
    }
}

/// `text` with every appearance of `url`, or of its path and query, replaced by the URL's
/// origin and `/…`.
pub fn redact_url(text: &str, url: &str) -> String {
    let (origin, rest) = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            // Credentials before the host go too.
            let host = after[..end].rsplit('@').next().unwrap_or("");
            (format!("{}://{host}", &url[..i]), &after[end..])
        }
        None => (String::new(), url),
    };
    let mut out = text.replace(url, &format!("{origin}/…"));
    if rest.len() > 1 {
        out = out.replace(rest, "/…");
    }
    out
}

/// Sends HTTP requests.
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `request` and returns as soon as the status line and headers are in.
    ///
    /// # Errors
    /// [`HttpError`] when no response could be had.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

#[cfg(test)]
mod redaction {
    use super::*;

    #[test]
    fn a_secret_in_a_url_never_reaches_an_error_text() {
        let url = "https://api.telegram.org/bot123456:AAsecret/sendMessage?x=1";
        let e = HttpError::Connect(format!("error sending request for url ({url}): refused"))
            .redacted(url);
        assert_eq!(
            e.to_string(),
            "connection failed: error sending request for url (https://api.telegram.org/…): refused"
        );
        let e =
            HttpError::Other("GET /bot123456:AAsecret/sendMessage?x=1 failed".into()).redacted(url);
        assert!(!e.to_string().contains("AAsecret"), "{e}");
        let e = HttpError::Other("at https://u:pw@h.example/p".into())
            .redacted("https://u:pw@h.example/p");
        assert_eq!(e.to_string(), "at https://h.example/…");
    }
}
