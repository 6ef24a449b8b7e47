//! Who may call a route, as axum extractors: a handler names its caller among its arguments, and
//! the route table ([`super::routes`]) lists the same for every route. A request that fails
//! the check is answered with the extractor's [`AppError`] before the handler runs.
//!
//! - [`Visitor`]: a visitor of the project in the path, with a verified identity token.
//! - [`Admin`]: the admin token (`OUTPOST_ADMIN_TOKEN`); [`AdminProject`]: the admin, on a
//!   project that exists.
//! - [`Operator`]: the admin, or a signed-in operator of the project in the path.
//!
//! Signed webhooks have no extractor: their signature is checked by their channel against the
//! project's secret, next to the project's channel tables ([`crate::channels::hooks::handle`]).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::console::Caller;
use super::{AppError, AppState, admin, bearer, console, project};
use crate::auth::Claims;
use crate::registry::Project;

/// The `{project}` segment of the request's path.
async fn path_project(parts: &mut Parts, state: &AppState) -> Result<String, AppError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| AppError::bad_request(e.body_text()))?;
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

/// The admin: `Authorization: Bearer <OUTPOST_ADMIN_TOKEN>` (the API is off without one).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        admin::admin_only(state, &parts.headers)?;
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
            admin::operated_project(state, &parts.headers, &id).await?,
        ))
    }
}

/// The admin, or an operator of the project in the path signed in to the console (a cookie
/// `POST` must then be JSON).
pub struct Operator(pub Caller);

impl FromRequestParts<AppState> for Operator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = path_project(parts, state).await?;
        Ok(Operator(
            console::authorize(state, &parts.method, &parts.headers, &id).await?,
        ))
    }
}
