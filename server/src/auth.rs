//! Visitor identity: HS256 JWTs minted by the site's backend with the project's secret.
//!
//! The project comes from the verified token, never from the client's say-so: a token is checked
//! against the secret of the project it is presented for, and its `project` claim must name that
//! same project.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The audience every Outpost identity token must carry.
pub const AUDIENCE: &str = "outpost";

/// Clock skew tolerated on `exp` and `nbf`, in seconds (RFC 7519 allows "a few minutes"; less is
/// safer).
pub const LEEWAY_SECS: u64 = 30;

/// Tokens longer than this are refused before any parsing: a real one is a few hundred bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The claims of an identity token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The visitor's id on the site.
    pub sub: String,
    /// The project the token is for.
    pub project: String,
    /// Expiry, Unix seconds (required).
    pub exp: u64,
    /// Not valid before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Audience: must be [`AUDIENCE`].
    pub aud: String,
}

/// Why a token was refused. Each maps to a 401 with a message the widget can show.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AuthError {
    /// No token was given.
    #[error("an identity token is required")]
    Missing,
    /// The token expired.
    #[error("the identity token has expired")]
    Expired,
    /// The token is not valid yet.
    #[error("the identity token is not valid yet")]
    NotYetValid,
    /// Signature, algorithm, audience, shape or size is wrong.
    #[error("the identity token is invalid")]
    Invalid,
    /// The token is for another project.
    #[error("the identity token is for another project")]
    WrongProject,
    /// The token expires further in the future than the project allows (seconds).
    #[error(
        "the identity token lives too long: this project takes tokens that expire within {} s",
        .0
    )]
    TooLongLived(u64),
}

impl AuthError {
    /// The code a client receives ([`outpost_protocol::codes`]), on a socket and over HTTP.
    pub fn code(&self) -> &'static str {
        use outpost_protocol::codes;
        match self {
            AuthError::Missing => codes::MISSING_TOKEN,
            AuthError::Expired => codes::TOKEN_EXPIRED,
            AuthError::NotYetValid => codes::TOKEN_NOT_YET_VALID,
            AuthError::Invalid => codes::INVALID_TOKEN,
            AuthError::WrongProject => codes::WRONG_PROJECT,
            AuthError::TooLongLived(_) => codes::TOKEN_TOO_LONG_LIVED,
        }
    }
}

/// Verifies `token` with the secret of `project`, for it, within its longest token lifetime.
///
/// # Errors
/// [`AuthError`] naming the reason.
pub fn verify(token: &str, project: &crate::registry::Project) -> Result<Claims, AuthError> {
    verify_with(
        token,
        project.secret.as_bytes(),
        &project.id,
        project.settings.token_max_lifetime_secs,
    )
}

fn verify_with(
    token: &str,
    secret: &[u8],
    project: &str,
    max_lifetime: u64,
) -> Result<Claims, AuthError> {
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Invalid);
    }
    let r = decode(token, secret)?;
    let now = crate::platform::now_unix().max(0) as f64;
    let leeway = LEEWAY_SECS as f64;
    let (Some(exp), Some(sub), Some(aud)) = (r.exp, r.sub, r.aud) else {
        return Err(AuthError::Invalid);
    };
    if !aud.names(AUDIENCE) {
        return Err(AuthError::Invalid);
    }
    if exp + leeway < now {
        return Err(AuthError::Expired);
    }
    if r.nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(AuthError::NotYetValid);
    }
    let claims = Claims {
        sub,
        project: r.project.unwrap_or_default(),
        exp: exp.max(0.0) as u64,
        nbf: r.nbf.map(|n| n.max(0.0) as u64),
        iat: r.iat.map(|n| n.max(0.0) as u64),
        aud: AUDIENCE.into(),
    };
    if claims.project != project {
        return Err(AuthError::WrongProject);
    }
    let now = now as u64;
    if claims.exp > now + max_lifetime + LEEWAY_SECS {
        return Err(AuthError::TooLongLived(max_lifetime));
    }
    if claims.sub.is_empty() || claims.sub.len() > 256 {
        return Err(AuthError::Invalid);
    }
    Ok(claims)
}

/// The claims of `token` if its signature is `secret`'s, not yet checked.
fn decode(token: &str, secret: &[u8]) -> Result<Received, AuthError> {
    // jsonwebtoken checks the signature and the algorithm; the claims are checked by the
    // caller, as RFC 7519 allows them: `aud` a string or an array, NumericDates with a
    // fraction (as `Date.now() / 1000` or Python's `time.time()` make them). jsonwebtoken
    // reads `exp` and `nbf` as integers only.
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Received>(token, &DecodingKey::from_secret(secret), &v)
        .map(|d| d.claims)
        .map_err(|_| AuthError::Invalid)
}

/// The `sub` of every anonymous visitor's token begins with this (a site's own visitor ids
/// cannot be renewed as anonymous ones).
pub const ANONYMOUS_PREFIX: &str = "anon-";

/// How long after it expired an anonymous visitor's token may still be renewed, keeping its
/// visitor (and their conversations): 30 days.
pub const RENEWAL_WINDOW_SECS: u64 = 30 * 24 * 60 * 60;

/// How long an anonymous visitor's token lives (or the project's longest token lifetime, when
/// shorter): an hour, renewed by the loader before it ends.
pub const ANONYMOUS_TOKEN_SECS: u64 = 60 * 60;

/// The anonymous visitor whose earlier token `previous` is, if it can be renewed: signed with
/// `project`'s secret for it, an anonymous `sub`, expired at most [`RENEWAL_WINDOW_SECS`] ago.
pub fn renewable(previous: &str, project: &crate::registry::Project) -> Option<String> {
    if previous.is_empty() || previous.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let r = decode(previous, project.secret.as_bytes()).ok()?;
    let now = crate::platform::now_unix().max(0) as f64;
    let fresh = r.exp? + RENEWAL_WINDOW_SECS as f64 >= now;
    let ours = r.project.as_deref() == Some(project.id.as_str())
        && r.aud.is_some_and(|a| a.names(AUDIENCE));
    let sub = r.sub?;
    let anonymous = sub.starts_with(ANONYMOUS_PREFIX) && sub.len() <= 64;
    (fresh && ours && anonymous).then_some(sub)
}

/// A token for an anonymous visitor of `project`: `sub` (a new random one when `None`),
/// valid [`ANONYMOUS_TOKEN_SECS`] or the project's longest lifetime.
///
/// # Errors
/// Only if the JWT library fails to serialize.
pub fn mint_anonymous(
    project: &crate::registry::Project,
    sub: Option<String>,
) -> Result<Claims, jsonwebtoken::errors::Error> {
    let now = crate::platform::now_unix().max(0) as u64;
    // 128 random bits from the platform's source (the OS natively, crypto on Workers).
    let sub =
        sub.unwrap_or_else(|| format!("{ANONYMOUS_PREFIX}{}", &crate::registry::new_salt()[..32]));
    Ok(Claims {
        sub,
        project: project.id.clone(),
        exp: now + ANONYMOUS_TOKEN_SECS.min(project.settings.token_max_lifetime_secs),
        nbf: None,
        iat: Some(now),
        aud: AUDIENCE.into(),
    })
}

/// The claims as a token carries them, before they are checked.
#[derive(Deserialize)]
struct Received {
    sub: Option<String>,
    project: Option<String>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    aud: Option<Audience>,
}

/// `aud`: one audience or several (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn names(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(all) => all.iter().any(|a| a == audience),
        }
    }
}

/// Mints a token (for `outpost token`, the demo page and tests; a site mints its own).
///
/// # Errors
/// Only if the JWT library fails to serialize, which it does not for these claims.
pub fn mint(claims: &Claims, secret: &[u8]) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// The fewest characters a secret that Outpost checks must have: a shared secret anyone could
/// guess, or try against a webhook, protects nothing.
pub const MIN_SECRET_CHARS: usize = 32;

/// Checks that `value` (the setting `name`) is a strong secret; a sentence saying why not.
///
/// # Errors
/// When it is shorter than [`MIN_SECRET_CHARS`] or one character repeated.
pub fn strong_secret(name: &str, value: &str) -> Result<(), String> {
    let v = value.trim();
    let mut chars = v.chars();
    let first = chars.next();
    if v.chars().count() < MIN_SECRET_CHARS || chars.all(|c| Some(c) == first) {
        return Err(format!(
            "{name} must be at least {MIN_SECRET_CHARS} random characters \
             (for example the output of `openssl rand -hex 32`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-test-secret-of-reasonable-length";

    fn verify(token: &str, secret: &[u8], project: &str) -> Result<Claims, AuthError> {
        verify_with(
            token,
            secret,
            project,
            crate::registry::DEFAULT_TOKEN_LIFETIME_SECS,
        )
    }

    #[test]
    fn a_project_sets_the_longest_token_lifetime() {
        let mut p = crate::registry::Project::new(
            "acme",
            std::str::from_utf8(SECRET).unwrap(),
            vec!["https://acme.test".into()],
        );
        let two_hours = mint(
            &Claims {
                exp: now() + 7200,
                ..claims()
            },
            SECRET,
        )
        .unwrap();
        assert!(super::verify(&two_hours, &p).is_ok(), "24 h by default");
        p.settings.token_max_lifetime_secs = 3600;
        let refused = super::verify(&two_hours, &p).unwrap_err();
        assert_eq!(refused, AuthError::TooLongLived(3600));
        assert!(refused.to_string().contains("3600 s"), "{refused}");
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn claims() -> Claims {
        Claims {
            sub: "u1".into(),
            project: "acme".into(),
            exp: now() + 600,
            nbf: None,
            iat: Some(now()),
            aud: AUDIENCE.into(),
        }
    }

    #[test]
    fn a_good_token_verifies() {
        let t = mint(&claims(), SECRET).unwrap();
        assert_eq!(verify(&t, SECRET, "acme").unwrap().sub, "u1");
    }

    #[test]
    fn bad_tokens_say_why() {
        let t = mint(
            &Claims {
                exp: now() - 120,
                ..claims()
            },
            SECRET,
        )
        .unwrap();
        assert_eq!(verify(&t, SECRET, "acme"), Err(AuthError::Expired));
        let t = mint(
            &Claims {
                exp: now() - 10,
                ..claims()
            },
            SECRET,
        )
        .unwrap();
        assert!(verify(&t, SECRET, "acme").is_ok(), "within the leeway");
        let t = mint(
            &Claims {
                nbf: Some(now() + 300),
                ..claims()
            },
            SECRET,
        )
        .unwrap();
        assert_eq!(verify(&t, SECRET, "acme"), Err(AuthError::NotYetValid));
        let t = mint(
            &Claims {
                aud: "other".into(),
                ..claims()
            },
            SECRET,
        )
        .unwrap();
        assert_eq!(verify(&t, SECRET, "acme"), Err(AuthError::Invalid));
        let t = mint(&claims(), b"another-secret").unwrap();
        assert_eq!(verify(&t, SECRET, "acme"), Err(AuthError::Invalid));
        let t = mint(&claims(), SECRET).unwrap();
        assert_eq!(verify(&t, SECRET, "globex"), Err(AuthError::WrongProject));
        assert_eq!(verify("", SECRET, "acme"), Err(AuthError::Missing));
        assert_eq!(verify("a.b.c", SECRET, "acme"), Err(AuthError::Invalid));
        assert_eq!(
            verify(&"x".repeat(5000), SECRET, "acme"),
            Err(AuthError::Invalid)
        );
    }

    /// Tokens as standard libraries make them: `aud` an array (jose, PyJWT with a list),
    /// NumericDates with a fraction (`Date.now() / 1000`, `time.time()`).
    #[test]
    fn tokens_in_every_form_rfc_7519_allows_verify() {
        let sign = |claims: serde_json::Value| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(SECRET),
            )
            .unwrap()
        };
        let now = now() as f64 + 0.25;
        let t = sign(serde_json::json!({
            "sub": "u1", "project": "acme", "aud": ["other", "outpost"],
            "exp": now + 600.5, "iat": now, "nbf": now - 1.5,
        }));
        let c = verify(&t, SECRET, "acme").unwrap();
        assert_eq!((c.sub.as_str(), c.exp), ("u1", (now + 600.5) as u64));
        let t = sign(serde_json::json!({
            "sub": "u1", "project": "acme", "aud": ["other"], "exp": now + 600.0,
        }));
        assert_eq!(verify(&t, SECRET, "acme"), Err(AuthError::Invalid));
        let t = sign(serde_json::json!({
            "sub": "u1", "project": "acme", "aud": "outpost", "exp": now - 120.5,
        }));
        assert_eq!(verify(&t, SECRET, "acme"), Err(AuthError::Expired));
        for missing in ["sub", "aud", "exp"] {
            let mut claims = serde_json::json!({
                "sub": "u1", "project": "acme", "aud": "outpost", "exp": now + 60.0,
            });
            claims.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                verify(&sign(claims), SECRET, "acme"),
                Err(AuthError::Invalid),
                "{missing}"
            );
        }
    }

    #[test]
    fn alg_none_is_refused() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(serde_json::to_string(&claims()).unwrap());
        assert_eq!(
            verify(&format!("{header}.{body}."), SECRET, "acme"),
            Err(AuthError::Invalid)
        );
    }
}
