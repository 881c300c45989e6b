//! The login, consent and "authorized apps" pages over real HTTP: what a browser sees,
//! and what a forged, replayed or cross-site form gets.
//!
//! The scenarios are `example-support`'s (`testing::pages`), run by both examples.

mod common;

example_support::page_tests!(common::Actix);
