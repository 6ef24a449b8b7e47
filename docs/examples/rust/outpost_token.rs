//! An Outpost visitor token, minted by your Rust backend with jsonwebtoken
//! (`cargo add jsonwebtoken --features rust_crypto` and `cargo add serde --features derive`).
//! Mint one for the signed-in user on each page load and put it in the script tag's
//! `data-token` (or hand it to `Outpost.identify`).

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Serialize;

#[derive(Serialize)]
struct OutpostClaims<'a> {
    /// Your own stable id for the visitor: their conversations follow it across devices.
    sub: &'a str,
    project: &'a str,
    aud: &'a str,
    iat: u64,
    /// At most the project's token lifetime (24 hours unless `--token-lifetime` says otherwise).
    exp: u64,
}

/// A token for `visitor_id` of `project`, signed with the project's `secret`, valid `minutes`.
pub fn outpost_token(
    visitor_id: &str,
    project: &str,
    secret: &str,
    minutes: u64,
) -> jsonwebtoken::errors::Result<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let claims = OutpostClaims {
        sub: visitor_id,
        project,
        aud: "outpost",
        iat: now,
        exp: now + minutes * 60,
    };
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}
