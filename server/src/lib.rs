//! Outpost's backend: an embeddable assistant that answers from a project's own documents.
//!
//! The core (knowledge, retrieval, answers, providers) is plain Rust over ports, so it builds for
//! the native target and for `wasm32-unknown-unknown` (Cloudflare Workers) alike; the native
//! adapters and the `outpost` CLI are behind the `native` feature.
//!
//! # Layout
//! - [`config`]: the one configuration struct and its keys.
//! - [`project`]: project ids, the tenant key.
//! - [`knowledge`]: documents, chunks, FTS5 and vector retrieval, fused; one project per store.
//! - [`providers`]: the language model and embedder ports, with the offline extractive model
//!   and the OpenAI-compatible clients.
//! - [`rag`]: retrieval-augmented answers with citations, and retrieval evaluation.
//! - [`platform`]: the ports (SQL, HTTP) and their native adapters.
//! - `cli` (native): the `outpost` command.

pub mod config;
pub mod knowledge;
pub mod platform;
pub mod project;
pub mod providers;
pub mod rag;

#[cfg(feature = "native")]
pub mod cli;
