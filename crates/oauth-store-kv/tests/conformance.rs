//! The shared store conformance suite (`oauth-store-testkit`) on the redb backend, each
//! test on a fresh database file, races included.

mod common;

oauth_store_testkit::conformance_tests!(async || common::fresh_redb_store().await);
