//! The channels through which people reach the assistant, a module each.
//!
//! Domain code only: each takes parsed, verified input and returns what to do; the HTTP side of
//! every channel (routes, auth, request bodies) is in [`crate::http`].
//!
//! # Layout
//! - [`webhook`]: the `X-Hub-Signature-256` check shared by webhook channels.
//! - [`hooks`]: what the webhook channels and their operators' calls ask of a project's
//!   channel store ([`hooks::ChannelRequest`], [`hooks::handle`]).
//! - [`store`]: the channels' tables: settings, durable jobs, WhatsApp contacts and replies,
//!   GitHub files synced.
//! - [`jobs`]: the durable job queue: jobs, their context, failures and backoff (a leaf).
//! - [`runner`]: claims due jobs and hands each to its channel.
//! - [`whatsapp`]: WhatsApp users answered from the knowledge through the Graph API.
//! - [`github`]: the knowledge kept in sync with Markdown docs in a GitHub repository.
//! - [`communicator`]: the operator's inbox; so far its message model and the Telegram and
//!   Slack webhooks read and verified (issue 6).

pub mod communicator;
pub mod github;
pub mod hooks;
pub mod jobs;
pub mod runner;
pub mod store;
pub mod webhook;
pub mod whatsapp;
