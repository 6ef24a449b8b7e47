//! The HTTP layer: one axum router for both targets, its state, and its error type.
//!
//! Every handler has the same shape (state, extractors, typed result); every error is an
//! [`AppError`] that becomes a status code and `{"error": {"code", "message"}}`.
//!
//! # Layout
//! - [`routes`]: the one route table, its services and who may call each route.
//! - [`extract`]: who may call a route, as extractors (visitor, admin, operator).
//! - [`widget`]: the widget's sessions, streaming fallback, history, page and server functions.
//! - [`admin`]: the admin API: projects, documents, settings, usage.
//! - [`channels`]: webhooks and operators' calls on a project's channels.
//! - [`console`]: the operators' console: page, sign-in, operators.
//! - [`cors`]: CORS from each project's allowed origins.

pub mod admin;
pub mod channels;
pub mod console;
pub mod cors;
pub mod extract;
pub mod routes;
pub mod widget;

pub use crate::knowledge::ingest::{FailedDocument, IngestReport};
pub use routes::{Service, router};

use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use outpost_protocol::{ApiError, ApiErrorBody};
use serde_json::json;

use crate::auth::{self, AuthError, Claims};
use crate::chat::{HubError, SessionHub};
use crate::registry::Project;

/// Finds projects (a SQLite table natively, D1 on Workers).
#[async_trait]
pub trait ProjectDirectory: Send + Sync {
    /// The project `id`, if it exists.
    ///
    /// # Errors
    /// A message when the directory cannot be read.
    async fn get(&self, id: &str) -> Result<Option<Project>, String>;

    /// Creates or replaces a project.
    ///
    /// # Errors
    /// A message when the directory cannot be written.
    async fn put(&self, project: &Project) -> Result<(), String>;

    /// Records whether `project` uses channel `kind` (so scheduled work can find it).
    ///
    /// # Errors
    /// A message when the directory cannot be written.
    async fn set_channel(&self, project: &str, kind: &str, on: bool) -> Result<(), String>;

    /// The projects that use channel `kind`.
    ///
    /// # Errors
    /// A message when the directory cannot be read.
    async fn with_channel(&self, kind: &str) -> Result<Vec<String>, String>;

    /// The console operator `name`, if any.
    ///
    /// # Errors
    /// A message when the directory cannot be read.
    async fn operator(&self, name: &str) -> Result<Option<crate::registry::Operator>, String>;

    /// Creates or replaces an operator (`None` password hash: removes `name`).
    ///
    /// # Errors
    /// A message when the directory cannot be written.
    async fn put_operator(
        &self,
        name: &str,
        operator: Option<&crate::registry::Operator>,
    ) -> Result<(), String>;

    /// The random salt under `key` (`registry::CONSOLE_SALT`, `registry::SESSION_SALT`),
    /// stored with the projects and made on first use.
    ///
    /// # Errors
    /// A message when the directory cannot be read or written.
    async fn salt(&self, key: &str) -> Result<String, String>;

    /// Counts a new session of visitor `subject` of `project`; `false` (nothing counted) when
    /// they have opened `cap` already.
    ///
    /// # Errors
    /// A message when the directory cannot be read or written.
    async fn add_session(&self, project: &str, subject: &str, cap: u32) -> Result<bool, String>;

    /// The deployment's own value under `key` (for example when an operator last signed out).
    ///
    /// # Errors
    /// A message when the directory cannot be read.
    async fn meta(&self, key: &str) -> Result<Option<String>, String>;

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// A message when the directory cannot be written.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), String>;
}

/// The directory as the socket protocol reads projects afresh ([`crate::chat::socket::recheck`]).
pub struct FreshProjects<'a>(pub &'a dyn ProjectDirectory);

#[async_trait]
impl crate::chat::socket::Projects for FreshProjects<'_> {
    async fn project(&self, id: &str) -> Option<Project> {
        match self.0.get(id).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(project = id, error = %e, "cannot read the project");
                None
            }
        }
    }
}

/// Projects' documents, for operators (knowledge files natively, one Knowledge Durable Object
/// per project on Workers).
#[async_trait]
pub trait Library: Send + Sync {
    /// Ingests `documents` into `project`'s knowledge.
    ///
    /// # Errors
    /// A message when the knowledge cannot be reached (per-document failures are in the report).
    async fn ingest(
        &self,
        project: &str,
        documents: Vec<crate::knowledge::DocumentInput>,
    ) -> Result<IngestReport, String>;

    /// Accepts `documents` for ingestion later, off the request (Workers: each stored in R2
    /// and queued). `Ok(None)` when this target ingests in the request (the caller then calls
    /// [`Library::ingest`]).
    ///
    /// # Errors
    /// A message when the documents cannot be accepted.
    async fn ingest_later(
        &self,
        _project: &str,
        _documents: Vec<crate::knowledge::DocumentInput>,
    ) -> Result<Option<usize>, String> {
        Ok(None)
    }

    /// Removes the document at `path`; whether it existed.
    ///
    /// # Errors
    /// A message when the knowledge cannot be reached.
    async fn remove(&self, project: &str, path: &str) -> Result<bool, String>;

    /// Sets (or clears, with an empty value) one of `project`'s settings
    /// ([`crate::rag::prompt::SYSTEM_PROMPT_KEY`], [`crate::knowledge::ai_search::SETTING`]).
    ///
    /// # Errors
    /// A message when the knowledge cannot be reached.
    async fn set_setting(&self, project: &str, key: &str, value: &str) -> Result<(), String>;

    /// Whether this target can use Cloudflare AI Search as a project's retrieval: `Err` with
    /// what to do when it cannot.
    ///
    /// # Errors
    /// A sentence for the operator.
    fn ai_search_available(&self) -> Result<(), String> {
        Err("AI Search is a Cloudflare service: set it on the Workers deployment".into())
    }

    /// Runs a channel request next to `project`'s channel store (natively in process; on
    /// Workers in the project's Knowledge object), waking the job runner when it queued work.
    ///
    /// # Errors
    /// A message when the store cannot be reached.
    async fn channel(
        &self,
        project: &str,
        request: crate::channels::hooks::ChannelRequest,
    ) -> Result<crate::channels::hooks::ChannelReply, String>;

    /// What `project` used, day by day (newest first).
    ///
    /// # Errors
    /// A message when the knowledge cannot be reached.
    async fn usage(&self, project: &str) -> Result<Vec<crate::knowledge::UsageDay>, String>;

    /// What `project`'s knowledge holds.
    ///
    /// # Errors
    /// A message when the knowledge cannot be reached.
    async fn stats(&self, project: &str) -> Result<crate::knowledge::Stats, String>;
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Projects.
    pub projects: Arc<dyn ProjectDirectory>,
    /// Chat sessions.
    pub hub: Arc<dyn SessionHub>,
    /// Socket caps and sign-in limits, counted in this process (isolate on Workers).
    pub limits: Arc<crate::limits::Limits>,
    /// Where visitors' questions and writes are counted (this process's [`Self::limits`]
    /// natively; the project's Durable Object on Workers).
    pub gate: Arc<dyn crate::limits::Gate>,
    /// Where operators' passwords are hashed and checked.
    pub hashing: Arc<dyn crate::passwords::Hashing>,
    /// Projects' documents.
    pub library: Arc<dyn Library>,
    /// The operators' bearer token for `/v1/admin/*`; the admin API is off without one.
    pub admin_token: Option<Arc<str>>,
    /// This service's name, for `/health` (`outpost`, or one service deployed on its own).
    pub service: &'static str,
    /// Checks Turnstile challenges for public projects that want one.
    pub turnstile: crate::turnstile::Siteverify,
}

/// An error a handler returns: a status, a machine-readable code and a sentence for a person.
/// Details that could help an attacker are logged, not returned.
#[derive(Debug)]
pub struct AppError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Machine-readable cause.
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
}

impl AppError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429 with a wait: "`what`. Please wait `wait` s."
    pub fn rate_limited(what: &str, wait: u64) -> Self {
        let mut e = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            outpost_protocol::codes::RATE_LIMITED,
            format!("{what}. Please wait {wait} s."),
        );
        e.retry_after = Some(wait);
        e
    }

    /// 404 for a missing thing.
    pub fn not_found(what: &str) -> Self {
        AppError::new(
            StatusCode::NOT_FOUND,
            outpost_protocol::codes::NOT_FOUND,
            format!("{what} was not found"),
        )
    }

    /// 400 for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::new(
            StatusCode::BAD_REQUEST,
            outpost_protocol::codes::BAD_REQUEST,
            message,
        )
    }

    /// 500, with the detail logged only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            outpost_protocol::codes::INTERNAL,
            "Something went wrong on our side. Please try again.",
        )
    }
}

/// The HTTP status of an error with `code` ([`outpost_protocol::codes`]), where a handler only
/// knows the code (the server functions' errors).
pub fn status_of(code: &str) -> StatusCode {
    use outpost_protocol::codes;
    match code {
        codes::NOT_FOUND => StatusCode::NOT_FOUND,
        codes::RATE_LIMITED | codes::TOO_MANY_SESSIONS | codes::DAILY_BUDGET_SPENT => {
            StatusCode::TOO_MANY_REQUESTS
        }
        codes::MISSING_TOKEN
        | codes::INVALID_TOKEN
        | codes::TOKEN_EXPIRED
        | codes::TOKEN_NOT_YET_VALID
        | codes::TOKEN_TOO_LONG_LIVED
        | codes::WRONG_PROJECT
        | codes::UNAUTHORIZED => StatusCode::UNAUTHORIZED,
        codes::FORBIDDEN
        | codes::ORIGIN_NOT_ALLOWED
        | codes::NOT_PUBLIC
        | codes::CHALLENGE_REQUIRED
        | codes::CHALLENGE_FAILED => StatusCode::FORBIDDEN,
        codes::HANDOFF_UNAVAILABLE => StatusCode::CONFLICT,
        codes::INTERNAL | codes::STORAGE_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
        codes::UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        AppError::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
    }
}

impl From<crate::chat::socket::Refusal> for AppError {
    fn from(r: crate::chat::socket::Refusal) -> Self {
        let status = status_of(r.code);
        AppError {
            retry_after: r.retry_after,
            ..AppError::new(status, r.code, r.message)
        }
    }
}

impl From<HubError> for AppError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::NotFound => AppError::not_found("the session"),
            HubError::Storage(d) => AppError::internal(d),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ApiError {
            error: ApiErrorBody {
                code: self.code.into(),
                message: self.message,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// Looks up `project` or answers 404.
///
/// # Errors
/// [`AppError`] 404 when there is no such project, 500 when the directory fails.
pub async fn project(state: &AppState, project: &str) -> Result<Project, AppError> {
    state
        .projects
        .get(project)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("the project"))
}

/// Verifies the `Authorization: Bearer` token of a request for `project`.
///
/// # Errors
/// [`AppError`] 401 naming what is wrong with the token.
pub fn bearer(headers: &HeaderMap, project: &Project) -> Result<Claims, AppError> {
    Ok(auth::verify(bearer_token(headers).unwrap_or(""), project)?)
}

/// The credentials of `Authorization: Bearer <credentials>`, the scheme in any case (RFC 9110
/// §11.1: auth schemes are case-insensitive; some clients write `bearer`).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start();
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// Reads a JSON request body.
///
/// # Errors
/// [`AppError`] 400 naming what is wrong with it.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("bad JSON body: {e}")))
}

/// `GET /health`: the service's name and version.
pub(crate) async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "service": state.service, "version": env!("CARGO_PKG_VERSION")}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            bearer_token(&h).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("BEARER  abc ").as_deref(), Some("abc"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearerabc"), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
