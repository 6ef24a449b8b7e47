//! Static assets natively: the loader (`/embed.js`) and the widget's files (`/widget/pkg/*`),
//! built by `cargo xtask` into one folder. (The widget page itself is in the shared router; on
//! Workers the same files are served by `[assets]`.)

use std::path::PathBuf;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::services::ServeDir;

use crate::http::{AppError, AppState};

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
                            AppError::not_found("embed.js (build it with `cargo xtask build`; `outpost serve --assets <folder>` says where it is)")
                                .into_response()
                        }
                    }
                }
            }),
        )
        .nest_service("/widget/pkg", ServeDir::new(dir.join("widget/pkg")))
        .nest_service("/console/pkg", ServeDir::new(dir.join("console/pkg")))
}
