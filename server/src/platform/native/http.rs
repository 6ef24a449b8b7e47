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

fn map_err(e: reqwest::Error) -> HttpError {
    if e.is_timeout() {
        HttpError::Timeout
    } else if e.is_connect() {
        HttpError::Connect(e.to_string())
    } else {
        HttpError::Other(e.to_string())
    }
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
        let response = builder.body(request.body).send().await.map_err(map_err)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response.bytes_stream().map(|r| r.map_err(map_err)).boxed();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
