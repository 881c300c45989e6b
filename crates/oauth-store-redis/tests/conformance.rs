//! The shared store conformance suite (`oauth-store-testkit`) against a real Redis, each
//! test on a fresh random prefix, races included.

mod common;

oauth_store_testkit::conformance_tests!(async || common::TestStore::one().await);
