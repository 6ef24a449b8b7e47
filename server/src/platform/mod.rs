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

#[cfg(feature = "native")]
pub mod native;
