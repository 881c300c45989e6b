//! End to end over real HTTPS on a random loopback port, with a third-party client: the
//! `oauth2` crate drives the protocol (authorization URL with PKCE, code exchange,
//! refresh, revocation) against the example server on its default store (SQLite), and
//! the login and consent pages are answered by submitting their HTML forms.
//!
//! discovery → dynamic registration → login + consent → token → API call → MCP call →
//! refresh (rotation) → revocation → API call rejected.
//!
//! The scenario is `example-support`'s (`testing::oauth2_client`), run by both examples.

mod common;

example_support::oauth2_client_tests!(common::Axum);
