//! The shared store conformance suite on the fault-injecting backend declaring the
//! smallest commits a backend may ([`oauth_store_kv::MIN_COMMIT_LEN`] entries) and
//! refusing any longer one, with one commit in four aborted: no operation, purge and
//! revocation sweeps included, may exceed what the backend declares.

mod common;

oauth_store_testkit::conformance_tests!(async || common::fresh_small_store());
