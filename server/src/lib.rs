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
//! - [`auth`]: visitors' identity tokens (HS256 JWT), anonymous ones for public projects.
//! - [`turnstile`]: Cloudflare Turnstile's server-side check.
//! - [`registry`]: projects: secrets, allowed origins, widget look.
//! - [`limits`]: per-visitor and per-project rate limits.
//! - [`passwords`]: operators' password hashes, and where hashing runs.
//! - [`session`]: the chat session as a state machine without I/O, and its storage.
//! - [`chat`]: the session hub port and the answer generator both targets share.
//! - [`render`]: answers from Markdown to safe HTML.
//! - [`http`]: the one router, its state and error type; [`channels`]: a module per channel.
//! - [`platform`]: the ports (SQL, HTTP) and their native adapters (actors, WebSocket, assets).
//! - `cli` (native): the `outpost` command.

pub mod auth;
pub mod channels;
pub mod chat;
pub mod config;
pub mod http;
pub mod knowledge;
pub mod limits;
pub mod passwords;
pub mod platform;
pub mod project;
pub mod providers;
pub mod rag;
pub mod registry;
pub mod render;
pub mod session;
pub mod turnstile;

#[cfg(feature = "native")]
pub mod cli;
