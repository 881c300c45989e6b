//! The shared conformance suite on the Redis Cluster again, with every call alternating
//! between two cluster stores (two cluster connections) on one prefix, as two instances
//! of a server would share the cluster: the race clauses race across both.

mod common;

oauth_store_testkit::conformance_tests!(async || common::TestStore::cluster(2).await);
