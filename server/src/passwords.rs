//! Operators' passwords: Argon2id hashes (by the `argon2` crate), and the port that says where
//! the hashing runs.
//!
//! One Argon2id hash takes ~19 MiB and tens of milliseconds of CPU on purpose. Run on the async
//! runtime's threads, a flood of sign-ins would stall every socket and `/health`; so the native
//! server runs it on blocking threads, a few at a time ([`Hashing`]), while Workers run it in
//! the request's own isolate ([`Inline`]), where nothing else waits on it.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Hashes a password (Argon2id, a random salt).
///
/// # Errors
/// A message when hashing fails.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches `hash`.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password matches, of the same parameters as a real one: checked when a name is
/// unknown, so an unknown name costs as much time as a wrong password and names cannot be
/// told apart by timing.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("no password matches this decoy").unwrap_or_default())
}

/// Where hashing and checking run.
#[async_trait::async_trait]
pub trait Hashing: Send + Sync {
    /// [`hash`], somewhere it cannot stall the server.
    ///
    /// # Errors
    /// A message when hashing fails.
    async fn hash(&self, password: String) -> Result<String, String>;
    /// [`verify`], somewhere it cannot stall the server.
    async fn verify(&self, password: String, hash: String) -> bool;
}

/// Hashing on the caller's own thread: for Workers (an isolate per request) and tests.
pub struct Inline;

#[async_trait::async_trait]
impl Hashing for Inline {
    async fn hash(&self, password: String) -> Result<String, String> {
        hash(&password)
    }

    async fn verify(&self, password: String, hash: String) -> bool {
        verify(&password, &hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_and_checked() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
        assert!(!verify("no password matches", decoy()));
        assert!(decoy().starts_with("$argon2id$"));
    }
}
