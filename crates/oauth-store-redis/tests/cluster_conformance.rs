//! The shared store conformance suite (`oauth-store-testkit`) against a real Redis
//! Cluster (three masters, `scripts/start-redis-cluster`), each test on a fresh prefix.
//! The cluster refuses any script that touches keys outside the slot of its first key,
//! so this also checks that every script the store runs stays in one slot.

mod common;

oauth_store_testkit::conformance_tests!(async || common::TestStore::cluster(1).await);
