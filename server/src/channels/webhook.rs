//! What webhook channels share: the `X-Hub-Signature-256` check (Meta's WhatsApp webhooks and
//! GitHub's use the same scheme: `sha256=<hex HMAC-SHA256(secret, raw body)>`), done over the
//! raw bytes before anything is parsed, in constant time (`hmac`'s `verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` (the `X-Hub-Signature-256` value) signs `body` with `secret`.
pub fn hub_signature_ok(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Whether a shared secret someone presented equals the expected one: compared as SHA-256
/// digests, byte by byte without stopping early, so the time taken says nothing about where
/// they differ (admin tokens, verify tokens, Telegram's secret token).
pub fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::Digest;
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

pub use crate::auth::{MIN_SECRET_CHARS, strong_secret};

/// The `X-Hub-Signature-256` value for `body` (what a sender computes; used by tests and stubs).
pub fn hub_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published test vector (validating-webhook-deliveries).
    #[test]
    fn githubs_test_vector_verifies_and_anything_else_does_not() {
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(hub_signature(secret, body), good);
        assert!(hub_signature_ok(secret, body, Some(good)));
        assert!(!hub_signature_ok(secret, b"Hello, World?", Some(good)));
        assert!(!hub_signature_ok(b"another secret", body, Some(good)));
        assert!(!hub_signature_ok(secret, body, None));
        assert!(!hub_signature_ok(secret, body, Some("sha1=757107ea")));
        assert!(!hub_signature_ok(secret, body, Some("sha256=zz")));
        assert!(!hub_signature_ok(
            secret,
            body,
            Some(&good[..good.len() - 2])
        ));
    }
}
