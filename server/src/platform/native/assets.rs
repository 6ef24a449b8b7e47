//! Static assets natively: the loader (`/embed.js`), the widget page (`/widget/{project}`, with a
//! strict CSP whose `frame-ancestors` are the project's allowed origins) and its files
//! (`/widget/pkg/*`), all built by `cargo xtask` into one folder.

use std::path::PathBuf;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;

use crate::http::{AppError, AppState, project};

/// The widget page. Everything it loads is a file of its own: no inline script or style, so
/// its CSP can forbid both.
const WIDGET_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Assistant</title>
<link rel="stylesheet" href="/widget/pkg/widget.css">
<link rel="modulepreload" href="/widget/pkg/outpost_app.js">
<script type="module" src="/widget/pkg/boot.js"></script>
</head>
<body></body>
</html>
"#;

/// The widget page's Content-Security-Policy, for a project whose allowed embedders are
/// `frame_ancestors`.
pub fn widget_csp(frame_ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors {frame_ancestors}"
    )
}

/// The asset routes, serving files from `dir`.
pub fn routes(dir: PathBuf) -> Router<AppState> {
    let embed = dir.join("embed.js");
    Router::new()
        .route(
            "/embed.js",
            get(move || {
                let embed = embed.clone();
                async move {
                    match tokio::fs::read(&embed).await {
                        Ok(bytes) => (
                            [
                                (
                                    header::CONTENT_TYPE,
                                    HeaderValue::from_static("text/javascript; charset=utf-8"),
                                ),
                                (
                                    header::CACHE_CONTROL,
                                    HeaderValue::from_static("public, max-age=300"),
                                ),
                            ],
                            bytes,
                        )
                            .into_response(),
                        Err(_) => {
                            AppError::not_found("embed.js (build it with `cargo xtask serve`)")
                                .into_response()
                        }
                    }
                }
            }),
        )
        .route("/widget/{project}", get(widget_page))
        .nest_service("/widget/pkg", ServeDir::new(dir.join("widget")))
}

async fn widget_page(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> Result<Response, AppError> {
    let project = project(&state, &project_id).await?;
    let csp = HeaderValue::from_str(&widget_csp(&project.frame_ancestors()))
        .map_err(AppError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CONTENT_SECURITY_POLICY, csp),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        WIDGET_PAGE,
    )
        .into_response())
}
