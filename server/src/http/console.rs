//! The operators' console: its page (`/console`, a Leptos app of its own), sign-in, and who
//! may use the communicator's routes.
//!
//! Operators are people who answer the inbox of some projects. The admin creates them
//! (`PUT /v1/admin/operators/{name}` with a password and the projects they see); they sign in
//! at `POST /v1/console/login` and get a session cookie (`outpost_console`: an HS256 JWT,
//! `HttpOnly`, `SameSite=Strict`, 12 hours) whose key is derived from the admin token. Each
//! request looks the operator up again, so removing a project (or the operator) takes effect at
//! once, and the token carries a fingerprint of the password hash, so changing the password
//! signs every session out. Passwords are stored as Argon2id hashes; sign-in attempts are
//! limited per name.
//!
//! The communicator's routes (inbox, conversations, drafts, approval, the dead-letter view)
//! accept either the admin token or an operator's session for one of their projects
//! ([`authorize`]). A cookie-authenticated `POST` must be JSON (`Content-Type:
//! application/json`), which a cross-site form cannot send.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use outpost_protocol::console;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::extract::{Admin, path_project};
use super::{AppError, AppState};
use crate::registry::Operator;

/// The admin, or an operator of the project in the path signed in to the console (a cookie
/// `POST` must then be JSON).
pub struct OperatorOrAdmin(pub Caller);

impl FromRequestParts<AppState> for OperatorOrAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = path_project(parts, state).await?;
        Ok(OperatorOrAdmin(
            authorize(state, &parts.method, &parts.headers, &id).await?,
        ))
    }
}

/// The session cookie's name.
pub const COOKIE: &str = "outpost_console";
/// How long a session lasts (seconds).
pub const SESSION_SECS: u64 = 12 * 60 * 60;
/// The audience of console session tokens (never accepted as a visitor's token).
const AUDIENCE: &str = "outpost-console";
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// The console page: a static shell; everything it loads is a file of its own.
const CONSOLE_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outpost console</title>
<link rel="stylesheet" href="/console/pkg/console.css">
<link rel="modulepreload" href="/console/pkg/outpost_app.js">
<script type="module" src="/console/pkg/boot.js"></script>
</head>
<body></body>
</html>
"#;

/// The console's Content-Security-Policy: its own files only, never framed.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

#[derive(Debug, Serialize, Deserialize)]
struct SessionClaims {
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    /// When it was issued, in milliseconds: signing out ends every session issued before.
    #[serde(default)]
    ims: u64,
    /// A fingerprint of the password hash: a new password ends older sessions.
    pwd: String,
}

/// The key under which the time (ms) an operator last signed out is kept.
fn signed_out_key(name: &str) -> String {
    format!("signed_out:{name}")
}

/// Who is calling a communicator route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The admin token.
    Admin,
    /// A signed-in operator.
    Operator(String),
}

/// The session signing key: HKDF-SHA256 of the admin token with a random salt stored with the
/// projects, so the console needs no secret of its own (and is off without a strong admin
/// token, like the admin API), a cookie cannot be checked against guessed admin tokens without
/// the salt, and a new admin token ends every session.
async fn session_key(state: &AppState) -> Result<Option<Vec<u8>>, AppError> {
    let Some(admin) = state.admin_token.as_deref() else {
        return Ok(None);
    };
    if crate::auth::strong_secret(crate::config::keys::ADMIN_TOKEN, admin).is_err() {
        return Ok(None);
    }
    let salt = state
        .projects
        .salt(crate::registry::CONSOLE_SALT)
        .await
        .map_err(AppError::internal)?;
    let salt = hex::decode(salt).map_err(AppError::internal)?;
    let mut key = vec![0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(&salt), admin.as_bytes())
        .expand(b"outpost console sessions v2", &mut key)
        .map_err(|e| AppError::internal(e.to_string()))?;
    Ok(Some(key))
}

fn fingerprint(hash: &str) -> String {
    hex::encode(&Sha256::digest(hash.as_bytes())[..8])
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(COOKIE)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_owned)
        })
}

/// The operator whose session `headers` carry, if it is valid and they still exist.
async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<Operator>, AppError> {
    let Some(token) = cookie_value(headers) else {
        return Ok(None);
    };
    let Some(key) = session_key(state).await? else {
        return Ok(None);
    };
    if token.len() > crate::auth::MAX_TOKEN_BYTES {
        return Ok(None);
    }
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = crate::auth::LEEWAY_SECS;
    v.set_audience(&[AUDIENCE]);
    v.set_required_spec_claims(&["exp", "aud", "sub"]);
    let Ok(data) =
        jsonwebtoken::decode::<SessionClaims>(&token, &DecodingKey::from_secret(&key), &v)
    else {
        return Ok(None);
    };
    let signed_out = state
        .projects
        .meta(&signed_out_key(&data.claims.sub))
        .await
        .map_err(AppError::internal)?
        .and_then(|t| t.parse::<u64>().ok());
    if signed_out.is_some_and(|t| data.claims.ims <= t) {
        return Ok(None);
    }
    let op = state
        .projects
        .operator(&data.claims.sub)
        .await
        .map_err(AppError::internal)?;
    Ok(op.filter(|o| fingerprint(&o.password_hash) == data.claims.pwd))
}

fn unauthorized() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        outpost_protocol::codes::UNAUTHORIZED,
        "Sign in to the console, or use the admin token.",
    )
}

/// Who may act on `project`'s communicator: the admin (bearer token) or an operator of the
/// project (session cookie; a `POST` must then be JSON).
///
/// # Errors
/// 401 without a valid credential, 403 for an operator of other projects, 404 for a project
/// that does not exist, 415 for a cookie `POST` that is not JSON.
pub async fn authorize(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    project: &str,
) -> Result<Caller, AppError> {
    if headers.contains_key(header::AUTHORIZATION) {
        super::extract::operated_project(state, headers, project).await?;
        return Ok(Caller::Admin);
    }
    let Some(op) = session(state, headers).await? else {
        return Err(unauthorized());
    };
    if !op.projects.iter().any(|p| p == project) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            outpost_protocol::codes::FORBIDDEN,
            "This project's inbox is not yours.",
        ));
    }
    if method == Method::POST {
        json_content_type(headers)?;
    }
    crate::http::project(state, project).await?;
    Ok(Caller::Operator(op.name))
}

/// 415 unless the request says its body is JSON (which a cross-site form cannot send).
fn json_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if json {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            outpost_protocol::codes::UNSUPPORTED_MEDIA_TYPE,
            "Send JSON (Content-Type: application/json).",
        ))
    }
}

pub(crate) async fn page() -> Response {
    super::widget::page::shell(HeaderValue::from_static(CONSOLE_CSP), CONSOLE_PAGE)
}

/// The session cookie: always `Secure` (browsers keep such cookies for `http://localhost` and
/// `127.0.0.1` too, so local use works), never set from a header a proxy or client controls.
fn set_cookie(value: &str, max_age: u64) -> HeaderValue {
    let s =
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={max_age}");
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) async fn login(
    State(state): State<AppState>,
    addr: super::extract::ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let Some(key) = session_key(&state).await? else {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            outpost_protocol::codes::CONSOLE_DISABLED,
            "The console is off: set OUTPOST_ADMIN_TOKEN (32 or more random characters) to turn it on.",
        ));
    };
    // JSON only: a cross-site form can send `text/plain` that parses as JSON, and would sign a
    // victim's browser into the sender's account.
    json_content_type(&headers)?;
    let b: outpost_protocol::console::Login = super::json_body(&body)?;
    if b.name.is_empty() || b.name.len() > 100 || b.password.len() > 1000 {
        return Err(AppError::bad_request("name and password are required"));
    }
    if let Err(wait) = state.limits.check_login(&b.name, &addr.0) {
        let mut e = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            outpost_protocol::codes::RATE_LIMITED,
            "Too many sign-in attempts; wait a little.",
        );
        e.retry_after = Some(wait);
        return Err(e);
    }
    let op = state
        .projects
        .operator(&b.name)
        .await
        .map_err(AppError::internal)?;
    // Every attempt checks a hash (a decoy when the name is unknown): a wrong name costs the
    // same time as a wrong password, so names cannot be listed by timing.
    let hash = op.as_ref().map_or_else(
        || crate::passwords::decoy().to_owned(),
        |o| o.password_hash.clone(),
    );
    let matches = state.hashing.verify(b.password, hash).await;
    let Some(op) = op.filter(|_| matches) else {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            outpost_protocol::codes::BAD_CREDENTIALS,
            "The name or the password is wrong.",
        ));
    };
    let now = crate::platform::now_unix() as u64;
    let claims = SessionClaims {
        sub: op.name.clone(),
        aud: AUDIENCE.into(),
        exp: now + SESSION_SECS,
        iat: now,
        ims: crate::platform::now_millis(),
        pwd: fingerprint(&op.password_hash),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key),
    )
    .map_err(AppError::internal)?;
    Ok((
        [(header::SET_COOKIE, set_cookie(&token, SESSION_SECS))],
        axum::Json(json!({"name": op.name, "projects": op.projects})),
    )
        .into_response())
}

/// Signs out: every session of the operator issued until now ends (on every device), and the
/// cookie is cleared.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(op) = session(&state, &headers).await? {
        state
            .projects
            .set_meta(
                &signed_out_key(&op.name),
                &crate::platform::now_millis().to_string(),
            )
            .await
            .map_err(AppError::internal)?;
    }
    Ok((
        [(header::SET_COOKIE, set_cookie("", 0))],
        axum::Json(json!({"ok": true})),
    )
        .into_response())
}

pub(crate) async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let op = session(&state, &headers).await?.ok_or_else(unauthorized)?;
    let mut projects = Vec::new();
    for p in &op.projects {
        if let Ok(Some(project)) = state.projects.get(p).await {
            projects.push(console::ProjectRef {
                id: project.id,
                title: project.title,
            });
        }
    }
    let me = console::Me {
        name: op.name,
        projects,
    };
    Ok(axum::Json(me).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorBody {
    password: String,
    projects: Vec<String>,
}

/// Whether `name` may name an operator (2–64 of `A-Za-z0-9._@-`).
pub fn valid_operator_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

fn operator_name(raw: &str) -> Result<String, AppError> {
    if valid_operator_name(raw) {
        Ok(raw.to_owned())
    } else {
        Err(AppError::bad_request(
            "an operator name has 2-64 characters of A-Z, a-z, 0-9, '.', '_', '@' and '-'",
        ))
    }
}

pub(crate) async fn put_operator(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let name = operator_name(&raw)?;
    let b: OperatorBody = super::json_body(&body)?;
    if b.password.chars().count() < MIN_PASSWORD {
        return Err(AppError::bad_request(format!(
            "the password must have at least {MIN_PASSWORD} characters"
        )));
    }
    for p in &b.projects {
        crate::http::project(&state, p).await?;
    }
    let op = Operator {
        name: name.clone(),
        password_hash: state
            .hashing
            .hash(b.password)
            .await
            .map_err(AppError::internal)?,
        projects: b.projects,
    };
    state
        .projects
        .put_operator(&name, Some(&op))
        .await
        .map_err(AppError::internal)?;
    Ok(axum::Json(json!({"name": op.name, "projects": op.projects})).into_response())
}

pub(crate) async fn get_operator(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, AppError> {
    let op = state
        .projects
        .operator(&operator_name(&raw)?)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("this operator"))?;
    Ok(axum::Json(json!({"name": op.name, "projects": op.projects})).into_response())
}

pub(crate) async fn delete_operator(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, AppError> {
    let name = operator_name(&raw)?;
    state
        .projects
        .put_operator(&name, None)
        .await
        .map_err(AppError::internal)?;
    Ok(axum::Json(json!({"ok": true})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; outpost_console=tok.en.x; b=2"),
        );
        assert_eq!(cookie_value(&h).as_deref(), Some("tok.en.x"));
        let c = set_cookie("v", 60);
        let s = c.to_str().unwrap();
        assert!(
            s.contains("HttpOnly") && s.contains("SameSite=Strict") && s.contains("; Secure;"),
            "Secure whatever the request's headers say: {s}"
        );
    }
}
