//! Cloudflare Turnstile's server-side check (`siteverify`), for public projects that want a
//! solved challenge before they hand a visitor a token. The request and its answer are as
//! Cloudflare documents them; the base URL is configurable so that tests answer it locally
//! (`OUTPOST_TURNSTILE_URL`).

use std::sync::Arc;

use serde::Deserialize;

use crate::platform::http::{HttpClient, HttpRequest};

/// The action the widget renders its challenge with, checked in the answer (a token solved on
/// another page of the same site key is refused).
pub const ACTION: &str = "visitor-token";

/// The longest answer token Turnstile issues (characters).
pub const MAX_RESPONSE_CHARS: usize = 2048;

/// Verifies challenge answers with `siteverify`.
#[derive(Clone)]
pub struct Siteverify {
    http: Arc<dyn HttpClient>,
    base: String,
}

/// What `siteverify` answers.
#[derive(Debug, Deserialize)]
struct Answer {
    success: bool,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

/// Why an answer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// Turnstile said no (its error codes).
    #[error("the challenge was not solved ({0})")]
    Failed(String),
    /// Solved, but for another host or action.
    #[error("the challenge was solved for {0}, not for this assistant")]
    Elsewhere(String),
    /// `siteverify` could not be asked, or answered something else.
    #[error("the challenge could not be checked: {0}")]
    Unreachable(String),
}

impl Siteverify {
    /// Verifies against `base` (`https://challenges.cloudflare.com`) through `http`.
    pub fn new(http: Arc<dyn HttpClient>, base: impl Into<String>) -> Self {
        Siteverify {
            http,
            base: base.into(),
        }
    }

    /// The base URL (`https://challenges.cloudflare.com`): the widget page loads
    /// `/turnstile/v0/api.js` under it.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Checks `response` (the widget's token) with the project's `secret`; the visitor's
    /// `remoteip` when known. The answer must be a success for `hostname` (this server's, as
    /// the request named it) and [`ACTION`].
    ///
    /// # Errors
    /// [`Rejected`] saying why.
    pub async fn verify(
        &self,
        secret: &str,
        response: &str,
        remoteip: Option<&str>,
        hostname: &str,
    ) -> Result<(), Rejected> {
        if response.is_empty() || response.chars().count() > MAX_RESPONSE_CHARS {
            return Err(Rejected::Failed("invalid-input-response".into()));
        }
        let mut body = serde_json::json!({"secret": secret, "response": response});
        if let Some(ip) = remoteip {
            body["remoteip"] = ip.into();
        }
        let url = format!("{}/turnstile/v0/siteverify", self.base);
        let resp = self
            .http
            .send(HttpRequest::post_json(url, &body))
            .await
            .map_err(|e| Rejected::Unreachable(e.to_string()))?;
        let status = resp.status;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Rejected::Unreachable(e.to_string()))?;
        let answer: Answer = serde_json::from_slice(&bytes)
            .map_err(|e| Rejected::Unreachable(format!("status {status}: {e}")))?;
        if !answer.success {
            return Err(Rejected::Failed(if answer.error_codes.is_empty() {
                "no reason given".into()
            } else {
                answer.error_codes.join(", ")
            }));
        }
        let host = answer.hostname.unwrap_or_default();
        if !host.eq_ignore_ascii_case(hostname) {
            return Err(Rejected::Elsewhere(host));
        }
        match answer.action.as_deref() {
            Some(ACTION) => Ok(()),
            other => Err(Rejected::Elsewhere(format!(
                "the action {:?}",
                other.unwrap_or_default()
            ))),
        }
    }
}
