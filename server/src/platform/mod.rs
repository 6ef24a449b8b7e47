//! Ports: what differs between the native target and Cloudflare Workers.
//!
//! The core (knowledge, RAG, providers) talks only to these traits. Each has a native adapter in
//! [`native`] (rusqlite, reqwest) and, in a later step, a Cloudflare adapter (Durable Object
//! SQLite, `fetch`). Nothing outside `platform/` names a platform crate.
//!
//! # Layout
//! - [`sql`]: the SQL port; the schema and queries are written once against it.
//! - [`http`]: outbound HTTP with streamed response bodies (LLM and embedding providers).
//! - [`native`]: the adapters for one machine (feature `native`).

pub mod http;
pub mod sql;

/// Milliseconds since the Unix epoch, from the platform's clock (`std::time` natively; the
/// JavaScript clock on wasm32, where `std::time` panics).
pub fn now_millis() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    (now_millis() / 1000) as i64
}

#[cfg(feature = "native")]
pub mod native;

// The Workers adapter binds JavaScript objects (a `Send` wrapper, a transmuted callback): the
// only unsafe code of the workspace.
#[cfg(all(feature = "cloudflare", target_arch = "wasm32"))]
#[allow(unsafe_code)]
pub mod cloudflare;
