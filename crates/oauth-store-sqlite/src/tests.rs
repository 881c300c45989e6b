//! The shared conformance suite against a fresh database file per store.
