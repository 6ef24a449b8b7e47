//! The channels through which people reach the assistant, a module each.
//!
//! # Layout
//! - [`widget_chat`]: the embedded widget's sessions: create, socket, HTTP streaming fallback,
//!   messages, history, and the widget page.
//! - [`admin`]: operators' API: projects and their documents (how docs reach a Worker).
//! - [`webhook`]: the `X-Hub-Signature-256` check shared by webhook channels.
//! - [`hooks`]: the webhook channels' routes (WhatsApp, GitHub) and their operators' calls,
//!   and what each asks of a project's channel store.
//! - [`store`]: the channels' tables: settings, durable jobs, WhatsApp contacts and replies,
//!   GitHub files synced.
//! - [`jobs`]: running the durable jobs, with retries and backoff.
//! - [`whatsapp`]: WhatsApp users answered from the knowledge through the Graph API.
//! - [`github`]: the knowledge kept in sync with Markdown docs in a GitHub repository.
//! - [`communicator`]: the operator's inbox; so far its message model and the Telegram and
//!   Slack webhooks read and verified (issue 6).

pub mod admin;
pub mod communicator;
pub mod console;
pub mod github;
pub mod hooks;
pub mod jobs;
pub mod store;
pub mod webhook;
pub mod whatsapp;
pub mod widget_chat;
