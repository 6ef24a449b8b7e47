//! CORS from each project's allowed origins: a site listed for project `p` may call
//! `/v1/projects/p/...` from its pages (for example to create sessions from its own code);
//! any other origin gets no CORS headers, and its preflights are refused.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState};

/// How long browsers may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE: u32 = 600;

/// The project id of a `/v1/projects/{project}/...` path.
pub fn project_of(path: &str) -> Option<&str> {
    path.strip_prefix("/v1/projects/")?
        .split('/')
        .next()
        .filter(|p| !p.is_empty())
}

/// The middleware.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let project = project_of(req.uri().path()).map(str::to_owned);
    let (Some(origin), Some(project)) = (origin, project) else {
        return next.run(req).await;
    };
    let allowed =
        matches!(state.projects.get(&project).await, Ok(Some(p)) if p.allows_origin(&origin));
    let value = HeaderValue::from_str(&origin).ok().filter(|_| allowed);
    if req.method() == Method::OPTIONS {
        let Some(value) = value else {
            return AppError::new(
                StatusCode::FORBIDDEN,
                outpost_protocol::codes::ORIGIN_NOT_ALLOWED,
                "This origin may not call this project.",
            )
            .into_response();
        };
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, last-event-id"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(PREFLIGHT_MAX_AGE),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        return resp;
    }
    let mut resp = next.run(req).await;
    if let Some(value) = value {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_read_from_the_path() {
        assert_eq!(project_of("/v1/projects/acme/sessions"), Some("acme"));
        assert_eq!(project_of("/v1/projects/acme"), Some("acme"));
        assert_eq!(project_of("/v1/projects//x"), None);
        assert_eq!(project_of("/health"), None);
    }
}
