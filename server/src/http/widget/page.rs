//! The widget page (`/widget/{project}`): a static shell whose strict CSP names the project's
//! allowed origins in `frame-ancestors`. Its files (`/widget/pkg/*`) are static assets.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use outpost_app::strings;

use crate::http::extract::Query;
use crate::http::{AppError, AppState, project};

/// The widget page. Everything it loads is a file of its own: no inline script or style, so
/// its CSP can forbid both. `{origins}` is replaced by the project's allowed origins: the widget
/// accepts its `config` only from one of them ([`outpost_protocol::config_accepted`]).
const WIDGET_PAGE: &str = r#"<!doctype html>
<html lang="{lang}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="outpost-origins" content="{origins}">
<meta name="outpost-strings" content='{strings}'>
<title>Assistant</title>
<link rel="stylesheet" href="/widget/pkg/widget.css">
<link rel="modulepreload" href="/widget/pkg/outpost_app.js">
<script type="module" src="/widget/pkg/boot.js"></script>
{challenge}</head>
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

/// A static page shell with its Content-Security-Policy and the headers every page of ours
/// carries (no sniffing, no referrer, revalidated).
pub fn shell(csp: HeaderValue, page: &'static str) -> Response {
    (
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
        page,
    )
        .into_response()
}

/// `GET /widget/{project}`.
pub async fn widget_page(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let project = project(&state, &project_id).await?;
    let mut csp = widget_csp(&project.frame_ancestors());
    // A public project that wants a challenge: Turnstile's script, and its frame.
    let challenge = match (&project.settings.turnstile, project.settings.public) {
        (Some(keys), true) => {
            let base = state.turnstile.base();
            let origin = origin_of(base);
            csp = csp.replace(
                "'wasm-unsafe-eval';",
                &format!("'wasm-unsafe-eval' {origin};"),
            );
            csp.push_str(&format!("; frame-src {origin}"));
            format!(
                "<meta name=\"outpost-turnstile\" content=\"{}\">\n\
                 <script src=\"/widget/pkg/challenge.js\"></script>\n\
                 <script src=\"{}/turnstile/v0/api.js?render=explicit\" async></script>\n",
                outpost_protocol::escape_html(&keys.site_key),
                outpost_protocol::escape_html(base)
            )
        }
        _ => String::new(),
    };
    let csp = HeaderValue::from_str(&csp).map_err(AppError::internal)?;
    let origins = outpost_protocol::escape_html(&project.allowed_origins.join(" "));
    let locale = strings::negotiate(q.lang.as_deref().unwrap_or_default());
    let page = WIDGET_PAGE
        .replace("{challenge}", &challenge)
        .replace("{origins}", &origins)
        .replace("{lang}", locale)
        .replace(
            "{dir}",
            if strings::is_rtl(locale) {
                "rtl"
            } else {
                "ltr"
            },
        )
        // In a single-quoted attribute, the JSON's many double quotes stay as they are (the
        // page is part of the widget's weight); `&` and `'` are escaped.
        .replace(
            "{strings}",
            &strings_json(&project, locale)
                .replace('&', "&amp;")
                .replace('\'', "&#39;"),
        );
    let mut response = shell(csp, "");
    *response.body_mut() = axum::body::Body::from(page);
    Ok(response)
}

/// The origin (`scheme://host[:port]`) of `url`.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The widget page's query: the visitor's language, as the loader found it.
#[derive(serde::Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

/// The widget's words in `locale`, with the project's own greeting and placeholder for it.
fn strings_json(project: &crate::registry::Project, locale: &str) -> String {
    let mut table: serde_json::Map<String, serde_json::Value> = strings::table(locale)
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).into()))
        .collect();
    if let Some(own) = project.settings.locales.get(locale) {
        if let Some(g) = &own.greeting {
            table.insert(strings::key::GREETING.into(), g.as_str().into());
        }
        if let Some(p) = &own.placeholder {
            table.insert(strings::key::PLACEHOLDER.into(), p.as_str().into());
        }
    }
    serde_json::Value::Object(table).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_origin_is_read_from_a_url() {
        assert_eq!(
            super::origin_of("https://challenges.cloudflare.com"),
            "https://challenges.cloudflare.com"
        );
        assert_eq!(
            super::origin_of("http://127.0.0.1:9/turnstile"),
            "http://127.0.0.1:9"
        );
    }

    /// The challenge script speaks the loader's frames, and renders with the action the
    /// server checks.
    #[test]
    fn the_challenge_script_speaks_the_protocol() {
        let js = include_str!("../../../../app/challenge.js");
        assert!(js.contains(&format!("\"{}\"", outpost_protocol::EMBED_CHANNEL)));
        assert!(js.contains("\"challenge\""));
        assert!(outpost_protocol::EmbedMessage::type_names().contains(&"challenge"));
        assert!(js.contains(&format!("\"{}\"", crate::turnstile::ACTION)));
    }
}
