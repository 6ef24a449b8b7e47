//! The outbound HTTP port over the Workers `fetch` API (LLM and embedding providers).

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use worker::send::SendFuture;
use worker::{Fetch, Headers, Method, Request, RequestInit};

use crate::platform::http::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// `fetch` from the Worker.
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchClient;

/// A stream that is `Send` on wasm32, where there is one thread: JavaScript handles are not
/// `Send`, and the port's streams must be (they are shared with the native target).
pub struct SendStream<S>(pub S);

// SAFETY: wasm32 Workers run one thread per isolate; the value never crosses threads.
unsafe impl<S> Send for SendStream<S> {}

impl<S: Stream + Unpin> Stream for SendStream<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

fn other(e: impl std::fmt::Display) -> HttpError {
    HttpError::Other(e.to_string())
}

#[async_trait]
impl HttpClient for FetchClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = request.url.clone();
        SendFuture::new(async move {
            let headers = Headers::new();
            for (k, v) in &request.headers {
                headers.set(k, v).map_err(other)?;
            }
            let mut init = RequestInit::new();
            init.with_method(Method::from(request.method.clone()))
                .with_headers(headers);
            if !request.body.is_empty() {
                init.with_body(Some(
                    js_sys::Uint8Array::from(request.body.as_slice()).into(),
                ));
            }
            let req = Request::new_with_init(&request.url, &init).map_err(other)?;
            let mut resp = Fetch::Request(req)
                .send()
                .await
                .map_err(|e| HttpError::Connect(e.to_string()))?;
            let status = resp.status_code();
            let headers = resp
                .headers()
                .entries()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            let body = resp.stream().map_err(other)?;
            let body_url = request.url.clone();
            let body = SendStream(Box::pin(body)).map(move |chunk| {
                chunk
                    .map(Bytes::from)
                    .map_err(|e| other(e).redacted(&body_url))
            });
            Ok(HttpResponse {
                status,
                headers,
                body: body.boxed(),
            })
        })
        .await
        .map_err(|e: HttpError| e.redacted(&url))
    }
}
