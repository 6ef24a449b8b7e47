//! The communicator's protocol pieces that do no I/O (groundwork for issue 6): one model for
//! messages from every platform, and Telegram's and Slack's webhooks read and verified. The
//! routes, the pipeline (grouping, analysis, drafts, sending) and the console come next; they
//! will store their work in the channel job table ([`super::store`]) like WhatsApp and GitHub.
//!
//! # Layout
//! - [`model`]: a normalized incoming message (platform, account, chat/thread, sender, text,
//!   attachments, time, platform id) and its dedupe key.
//! - [`telegram`]: the bot webhook's secret-token check and `Update` reading.
//! - [`slack`]: the Events API's signature and 5-minute window, `url_verification`, and
//!   `event_callback` reading (the bot's own messages dropped).

pub mod model;
pub mod slack;
pub mod telegram;
