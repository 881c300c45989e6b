//! The shared store conformance suite on the fault-injecting in-process backend, which
//! aborts one commit in four (`common::CONFORMANCE_CONFLICT_PPM`) as an optimistic
//! transaction would: every clause, races included, must still hold through the store's
//! bounded compare-and-swap retries (`common::CONFORMANCE_MAX_ATTEMPTS`).

mod common;

oauth_store_testkit::conformance_tests!(async || common::fresh_faulty_store());
