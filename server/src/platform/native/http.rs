//! The outbound HTTP port over reqwest (rustls), with connect and read timeouts.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use crate::platform::http::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// A reqwest client with Outpost's timeouts.
#[derive(Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    /// A client that gives up when connecting takes longer than `connect`, or when no byte
    /// arrives for `read` (which bounds both a slow first token and a stalled stream).
    ///
    /// # Errors
    /// [`HttpError::Other`] when the TLS backend cannot be initialised.
    pub fn new(connect: Duration, read: Duration) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect)
            .read_timeout(read)
            .user_agent(concat!("outpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Other(e.to_string()))?;
        Ok(ReqwestClient { client })
    }
}

/// reqwest's error with its URL left out (it may carry a secret: see [`HttpError::redacted`]).
fn map_err(e: reqwest::Error) -> HttpError {
    let e = e.without_url();
    if e.is_timeout() {
        HttpError::Timeout
    } else if e.is_connect() {
        HttpError::Connect(error_chain(&e))
    } else {
        HttpError::Other(error_chain(&e))
    }
}

/// The error and its sources ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[async_trait]
impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| HttpError::Other(e.to_string()))?;
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let url = request.url.clone();
        let response = builder
            .body(request.body)
            .send()
            .await
            .map_err(|e| map_err(e).redacted(&url))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .bytes_stream()
            .map(move |r| r.map_err(|e| map_err(e).redacted(&url)))
            .boxed();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_request_names_no_secret_of_its_url() {
        // Nothing listens on port 9 of this machine: the connection is refused.
        let url = "http://127.0.0.1:9/bot123456:AAsecret-token/sendMessage";
        let client = ReqwestClient::new(Duration::from_secs(2), Duration::from_secs(2)).unwrap();
        let Err(e) = client
            .send(HttpRequest {
                method: "POST".into(),
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
            })
            .await
        else {
            panic!("nothing listens there");
        };
        let text = e.to_string();
        assert!(!text.contains("AAsecret"), "{text}");
        assert!(
            text.contains("onnect") || text.contains("refused"),
            "{text}"
        );
    }
}
