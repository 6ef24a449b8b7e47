//! Session ids a server can tell from forged ones without looking anything up: 24 random hex
//! digits and 8 of an HMAC-SHA256 of them and the project, keyed with the deployment's session
//! salt (stored with the projects). On Workers a session's id names its Durable Object, so a
//! request for a made-up id is refused before any object is reached (or created).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Random hex digits in an id.
const RANDOM_HEX: usize = 24;
/// Hex digits of its signature.
const MAC_HEX: usize = 8;

fn mac(salt: &str, project: &str, random: &str) -> String {
    let mut m =
        Hmac::<Sha256>::new_from_slice(salt.as_bytes()).expect("HMAC takes keys of any length");
    m.update(project.as_bytes());
    m.update(b"/");
    m.update(random.as_bytes());
    hex::encode(&m.finalize().into_bytes()[..MAC_HEX / 2])
}

/// A new session id of `project`, signed with the deployment's session `salt`.
pub fn new(salt: &str, project: &str) -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut b = [0u8; RANDOM_HEX / 2];
    OsRng.fill_bytes(&mut b);
    let random = hex::encode(b);
    let signature = mac(salt, project, &random);
    format!("{random}{signature}")
}

/// Whether `id` is a session id this deployment made for `project`.
pub fn authentic(id: &str, salt: &str, project: &str) -> bool {
    if id.len() != RANDOM_HEX + MAC_HEX || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let (random, signature) = id.split_at(RANDOM_HEX);
    crate::channels::webhook::same_secret(signature, &mac(salt, project, random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_told_from_forged_ones() {
        let id = new("salt", "acme");
        assert_eq!(id.len(), 32);
        assert!(authentic(&id, "salt", "acme"));
        assert!(!authentic(&id, "salt", "globex"), "another project's");
        assert!(
            !authentic(&id, "another salt", "acme"),
            "another deployment's"
        );
        assert!(!authentic(&"0".repeat(32), "salt", "acme"));
        assert!(!authentic("short", "salt", "acme"));
        let mut flipped = id.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(!authentic(
            &String::from_utf8(flipped).unwrap(),
            "salt",
            "acme"
        ));
        assert_ne!(new("salt", "acme"), id, "random");
    }
}
