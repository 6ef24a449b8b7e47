//! Anonymous visitors of public projects: `POST /v1/projects/{project}/visitor_token` hands a
//! page of one of the project's allowed origins a short-lived token for a new random visitor,
//! or renews the token it had (same visitor, so reloads keep the conversation). The limits
//! per address, per visitor and per project are counted first; a project with Turnstile keys
//! wants a solved challenge for a new visitor. Everything after it is the signed path:
//! sessions, history, resume and handoff see an ordinary token.
//!
//! The `Origin` check keeps other sites' pages out (a browser sets `Origin`; a page cannot);
//! a script outside a browser can say any origin, which is what the limits and the challenge
//! are for (docs/embedding.md, "Public or signed").

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use outpost_protocol::codes;
use serde::Deserialize;
use serde_json::json;

use crate::auth;
use crate::chat::socket::refusal;
use crate::http::extract::{ClientAddr, EmbeddingPage};
use crate::http::{AppError, AppState, json_body};
use crate::limits::Spend;
use crate::turnstile::Rejected;

/// What the loader sends: the token it had (to renew it), and a solved challenge's answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TokenRequest {
    previous: Option<String>,
    challenge: Option<String>,
}

/// `POST /v1/projects/{project}/visitor_token`: `{"token", "visitor", "expires_in"}`.
pub(crate) async fn visitor_token(
    EmbeddingPage { project }: EmbeddingPage,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    if !project.settings.public {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            codes::NOT_PUBLIC,
            format!(
                "Project {} is not public: its site signs each visitor's token \
                 (data-token). To embed it without a backend, make it public: \
                 outpost project {} --public.",
                project.id, project.id
            ),
        ));
    }
    // The loader posts `text/plain` (no preflight); the body is JSON all the same.
    let request: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        json_body(&body)?
    };
    let renewed = request
        .previous
        .as_deref()
        .and_then(|p| auth::renewable(p, &project));
    let visitor = renewed.as_deref().unwrap_or("");
    state
        .gate
        .admit(Spend::Token, &project.caller(visitor, Some(&addr)))
        .await
        .map_err(|r| refusal(r, "new visitors from this address"))?;
    // A new visitor solves the challenge once; renewing their token needs no other.
    if let (Some(keys), None) = (&project.settings.turnstile, &renewed) {
        let Some(answer) = request.challenge.filter(|c| !c.is_empty()) else {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                codes::CHALLENGE_REQUIRED,
                "Solve the challenge first: this project wants one before it lets a new visitor in.",
            ));
        };
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(hostname)
            .unwrap_or_default();
        let remote = (addr != "unknown").then_some(addr.as_str());
        state
            .turnstile
            .verify(&keys.secret, &answer, remote, host)
            .await
            .map_err(|e| match e {
                Rejected::Unreachable(_) => AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::UNAVAILABLE,
                    e.to_string(),
                ),
                _ => AppError::new(
                    StatusCode::FORBIDDEN,
                    codes::CHALLENGE_FAILED,
                    e.to_string(),
                ),
            })?;
    }
    let claims = auth::mint_anonymous(&project, renewed).map_err(AppError::internal)?;
    let token = auth::mint(&claims, project.secret.as_bytes()).map_err(AppError::internal)?;
    let expires_in = claims
        .exp
        .saturating_sub(crate::platform::now_unix().max(0) as u64);
    let mut resp = Json(json!({
        "token": token,
        "visitor": claims.sub,
        "expires_in": expires_in,
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The host of a `Host` header (`docs.example.com:8080` → `docs.example.com`; `[::1]:80` →
/// `[::1]`).
fn hostname(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_is_read_without_its_port() {
        assert_eq!(super::hostname("docs.example.com:8080"), "docs.example.com");
        assert_eq!(super::hostname("docs.example.com"), "docs.example.com");
        assert_eq!(super::hostname("[::1]:80"), "[::1]");
        assert_eq!(super::hostname("[::1]"), "[::1]");
    }
}
