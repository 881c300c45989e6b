//! The shared conformance suite again, with every call alternating between two stores
//! (two connection managers) on one prefix, as two instances of a server would share
//! Redis: the race clauses (consume, rotate, grace claim, insert-once) then race across
//! both connections.

mod common;

oauth_store_testkit::conformance_tests!(async || common::TestStore::two().await);
