//! Who may call a route, as axum extractors: a handler names its caller among its arguments, and
//! the route table ([`super::routes`]) lists the same for every route. A request that fails
//! the check is answered with the extractor's [`AppError`] before the handler runs.
//!
//! - [`Visitor`]: a visitor of the project in the path, with a verified identity token.
//! - [`EmbeddingPage`]: a page of one of the allowed origins of the project in the path.
//! - [`Admin`]: the admin token (`OUTPOST_ADMIN_TOKEN`); [`AdminProject`]: the admin, on a
//!   project that exists.
//! - [`super::console::OperatorOrAdmin`]: the admin, or a signed-in operator of the project in the
//!   path (next to the console's sessions).
//!
//! [`ClientAddr`] is not a check but the caller's network address, for limits per address.
//! [`Query`] and [`Path`] are axum's, with their rejections answered like every other error:
//! 400 and the JSON body.
//!
//! Signed webhooks have no extractor: their signature is checked by their channel against the
//! project's secret, next to the project's channel tables ([`crate::channels::hooks::handle`]).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use axum::http::{HeaderMap, StatusCode};

use super::{AppError, AppState, bearer, project};
use crate::auth::Claims;
use crate::project::ProjectId;
use crate::registry::Project;

/// `axum::extract::Query`, a query string it cannot read answered with 400 and the JSON error.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| AppError::bad_request(e.body_text()))
    }
}

/// `axum::extract::Path`, a path it cannot read (an id that is not a number) answered with 400
/// and the JSON error.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| AppError::bad_request(e.body_text()))
    }
}

/// The caller's network address, for limits per address, put in the request's extensions by
/// the platform's entry: natively the TCP peer, on Workers the `CF-Connecting-IP` that
/// Cloudflare's edge sets (a client cannot choose either). `unknown` when neither is there
/// (an in-process test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl ClientAddr {
    /// The client's address for a request from `peer`: `peer` itself, unless it is one of the
    /// `trusted` reverse proxies; then the rightmost address of `X-Forwarded-For` that is not a
    /// trusted proxy (each proxy appends the address it saw, so only the part the trusted ones
    /// wrote can be believed; whatever a client put further left is ignored).
    pub fn behind(
        peer: std::net::IpAddr,
        forwarded_for: Option<&str>,
        trusted: &[std::net::IpAddr],
    ) -> ClientAddr {
        if !trusted.contains(&peer) {
            return ClientAddr(peer.to_string());
        }
        let mut nearest = peer;
        for hop in forwarded_for.unwrap_or_default().rsplit(',') {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) if trusted.contains(&ip) => nearest = ip,
                Ok(ip) => return ClientAddr(ip.to_string()),
                Err(_) => break,
            }
        }
        ClientAddr(nearest.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .cloned()
            .unwrap_or_else(|| ClientAddr("unknown".into())))
    }
}

/// The `{project}` segment of the request's path.
pub(crate) async fn path_project(parts: &mut Parts, state: &AppState) -> Result<String, AppError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state).await?;
    params
        .get("project")
        .cloned()
        .ok_or_else(|| AppError::internal("a route without {project} asks for its project"))
}

/// A visitor of the project in the path: `Authorization: Bearer <identity token>`, verified
/// with the project's secret.
pub struct Visitor {
    /// The project (it exists).
    pub project: Project,
    /// The verified token's claims.
    pub claims: Claims,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = path_project(parts, state).await?;
        let project = project(state, &id).await?;
        let claims = bearer(&parts.headers, &project)?;
        Ok(Visitor { project, claims })
    }
}

/// A page of one of the allowed origins of the project in the path, as the `Origin` header
/// says (a browser sets it; a page cannot): the caller of a public project's visitor tokens.
pub struct EmbeddingPage {
    /// The project (it exists).
    pub project: Project,
}

impl FromRequestParts<AppState> for EmbeddingPage {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = path_project(parts, state).await?;
        let project = project(state, project_id(&id)?.as_str()).await?;
        let origin = parts
            .headers
            .get(axum::http::header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if origin.is_empty() || !project.allows_origin(origin) {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                outpost_protocol::codes::ORIGIN_NOT_ALLOWED,
                format!(
                    "Visitor tokens of project {} are handed only to pages of its allowed \
                     origins{}.",
                    project.id,
                    if origin.is_empty() {
                        String::new()
                    } else {
                        format!(", and {origin} is not one")
                    }
                ),
            ));
        }
        Ok(EmbeddingPage { project })
    }
}

/// The admin: `Authorization: Bearer <OUTPOST_ADMIN_TOKEN>` (the API is off without one).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        admin_only(state, &parts.headers)?;
        Ok(Admin)
    }
}

/// The admin, on the project in the path, which exists.
pub struct AdminProject(pub Project);

impl FromRequestParts<AppState> for AdminProject {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = path_project(parts, state).await?;
        Ok(AdminProject(
            operated_project(state, &parts.headers, &id).await?,
        ))
    }
}

/// Checks the operator's bearer token (compared as SHA-256 digests, so in constant time).
pub fn admin_only(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(expected) = state.admin_token.as_deref() else {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            outpost_protocol::codes::ADMIN_DISABLED,
            "The admin API is off: set OUTPOST_ADMIN_TOKEN to turn it on.",
        ));
    };
    // The native server refuses to start with a weak token; a Worker reads its token per
    // request, so it says so here.
    if let Err(why) = crate::auth::strong_secret(crate::config::keys::ADMIN_TOKEN, expected) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            outpost_protocol::codes::ADMIN_DISABLED,
            format!("The admin API is off: {why}."),
        ));
    }
    let given = super::bearer_token(headers).unwrap_or("");
    if given.is_empty() || !crate::channels::webhook::same_secret(given.trim(), expected) {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            outpost_protocol::codes::INVALID_ADMIN_TOKEN,
            "The admin token is missing or wrong.",
        ));
    }
    Ok(())
}

/// The operator's call on an existing project: the admin token checked, the project found.
pub async fn operated_project(
    state: &AppState,
    headers: &HeaderMap,
    raw: &str,
) -> Result<crate::registry::Project, AppError> {
    admin_only(state, headers)?;
    project(state, project_id(raw)?.as_str()).await
}

pub(crate) fn project_id(raw: &str) -> Result<ProjectId, AppError> {
    ProjectId::parse(raw).map_err(|e| AppError::bad_request(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxy = [ip("10.0.0.1"), ip("10.0.0.2")];
        let at = |peer: &str, xff: Option<&str>| ClientAddr::behind(ip(peer), xff, &proxy).0;
        // No proxy configured, or a peer that is not one: the peer, whatever it claims.
        assert_eq!(
            ClientAddr::behind(ip("203.0.113.5"), Some("1.2.3.4"), &[]).0,
            "203.0.113.5"
        );
        assert_eq!(at("203.0.113.5", Some("1.2.3.4")), "203.0.113.5");
        // Behind the proxy: the address it saw, not what the client prepended.
        assert_eq!(
            at("10.0.0.1", Some("1.2.3.4, 198.51.100.7")),
            "198.51.100.7"
        );
        // Two trusted hops.
        assert_eq!(
            at("10.0.0.1", Some("198.51.100.7, 10.0.0.2")),
            "198.51.100.7"
        );
        // A proxy that sent no header, or garbage: the proxy.
        assert_eq!(at("10.0.0.1", None), "10.0.0.1");
        assert_eq!(at("10.0.0.1", Some("not an address")), "10.0.0.1");
        assert_eq!(at("10.0.0.1", Some("2001:db8::1")), "2001:db8::1");
    }
}
