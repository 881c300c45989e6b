//! Starting the server: what it prints, what it refuses, the development modes.
//!
//! The scenarios are `example-support`'s (`testing::startup`), run by both examples.

mod common;

example_support::startup_tests!(common::Axum);
