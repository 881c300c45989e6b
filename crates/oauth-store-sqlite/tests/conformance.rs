//! The shared store conformance suite (`oauth-store-testkit`), each test on a fresh
//! database file, races included.

mod common;

oauth_store_testkit::conformance_tests!(async || common::fresh_store().await);
