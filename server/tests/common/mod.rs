//! Helpers shared by the integration tests: a local OpenAI-compatible stub server.
#![allow(dead_code)]

pub mod channels;
pub mod chaos;
pub mod communicator;
pub mod openai_stub;
pub mod platform_stub;
pub mod public;
pub mod server;
pub mod suite;
pub mod turnstile_stub;
pub mod wrangler;
