//! The server binary itself, run as a child process: it prints its banner, stops
//! gracefully on SIGTERM, and a restart on the same SQLite file and key keeps every
//! issued token and refresh token working.
//!
//! The scenarios are `example-support`'s (`testing::restart`), run by both examples.

mod common;

example_support::restart_tests!(common::Actix);
