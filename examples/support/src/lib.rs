//! # What the example servers share
//!
//! The axum example (`example-axum-server`) and the actix-web example
//! (`example-actix-server`) are the same server on two web frameworks. Everything that
//! does not depend on the framework lives here, so neither copies it:
//!
//! - [`settings`]: the flags and environment variables (each server flattens
//!   [`CommonSettings`] into its own command line, next to its name and address);
//! - [`server`]: issuer, keys (refused outside development mode), demo users, store and
//!   provider, the purge timer, the start banner and graceful shutdown; the framework
//!   plugs in as a [`Frontend`];
//! - [`App`] and [`flow`]: the login, consent and "authorized apps" pages and their forms
//!   (cookies, CSRF, sessions, `Origin`/`Sec-Fetch-Site` checks, login throttling),
//!   answering with a [`Reply`] the framework sends with its glue crate's `Page`;
//! - [`api`] and [`mcp`]: the demo API and the MCP endpoint's JSON-RPC;
//! - [`tls`]: the rustls configuration (a certificate from files, or self-signed);
//! - `testing` (feature `testing`): the HTTP tests' helpers.
//!
//! Its HTTP types are the `http` crate's (1.x).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod api;
mod app;
mod browser;
pub mod flow;
mod keys;
pub mod mcp;
mod pages;
pub mod server;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
pub mod tls;
mod users;

pub use app::{
    bad_form, bad_query, cookie_leak_page, error_page, Answer, App, Flavor, Reply, Visitor,
    HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_FORM_BYTES, MCP_SCOPE, PROFILE_SCOPE, REQUEST_TIMEOUT,
    SHUTDOWN_GRACE,
};
pub use server::{start, Frontend, Listening, RunningServer, StartError};
pub use settings::{CommonSettings, StoreKind};
