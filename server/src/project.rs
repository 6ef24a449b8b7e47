//! Project ids: the tenant key of every piece of knowledge and every session.

use std::fmt;

use thiserror::Error;

/// A project id: 1 to 64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter or
/// digit. Restricted so that it is safe as a file name, a Durable Object name and a URL segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectId(String);

/// A project id that breaks the rules of [`ProjectId`].
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "invalid project id {0:?}: use 1 to 64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"
)]
pub struct InvalidProjectId(pub String);

impl ProjectId {
    /// Checks and wraps `id`.
    ///
    /// # Errors
    /// [`InvalidProjectId`] when `id` breaks the rules.
    pub fn parse(id: &str) -> Result<Self, InvalidProjectId> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && id.as_bytes()[0].is_ascii_alphanumeric();
        if ok {
            Ok(ProjectId(id.to_owned()))
        } else {
            Err(InvalidProjectId(id.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_names() {
        for ok in ["acme", "demo", "a", "team-1_docs"] {
            assert!(ProjectId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../etc",
            "Acme",
            "-x",
            "a b",
            "a/b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(ProjectId::parse(bad).is_err(), "{bad}");
        }
    }
}
