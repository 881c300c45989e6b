//! # oauth-store-testkit
//!
//! The one conformance suite every [`Store`](oauth_core::Store) backend runs. Each clause
//! of the contract in [`oauth_core::store`] is a public async function that takes a
//! *store factory* and panics (as a test does) when the store breaks the clause; races
//! included. A backend uses this crate as a dev-dependency and never copies it, so every
//! backend is held to the same, current suite.
//!
//! ## Running the suite
//!
//! In the backend's `tests/conformance.rs`:
//!
//! ```ignore
//! oauth_store_testkit::conformance_tests!(async || MyStore::connect_isolated().await);
//! ```
//!
//! [`conformance_tests!`] expands to one
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per clause, named after
//! the clause, so a failure names the broken rule. The calling crate needs `tokio` (with
//! the `macros` and `rt-multi-thread` features) as a dev-dependency.
//!
//! ## The factory
//!
//! A factory is anything callable as `AsyncFn() -> S` where `S: Store`: an async
//! closure, a closure returning a future, or an `async fn`. Every call must return a
//! fresh store that shares no records with any other store it returned, for example a
//! new in-memory store, or a handle on a shared server with a fresh key prefix or
//! schema. Clauses call it once (twice for the isolation clause) and build all records
//! with random hashes and ids (see [`fixtures`]), so tests of one backend may run in
//! parallel against one server.
//!
//! Clauses need a multi-threaded tokio runtime (the race clauses spawn tasks).
//!
//! ## Conventions
//!
//! Time is explicit: records expire relative to [`fixtures::NOW`] and every call passes
//! `now`; nothing here reads a clock. A record is expired at and after its `expires_at`.
//! Records are compared whole, so a backend that loses a field fails.
//!
//! ## Clauses
//!
//! Clients: [`client_put_get_replace_delete`],
//! [`insert_client_never_replaces_an_existing_client`],
//! [`replace_client_never_resurrects_a_deleted_client`],
//! [`delete_client_cascades_to_grants_codes_and_tokens`].
//!
//! Grants and codes: [`create_grant_with_code_then_find_code_is_active`],
//! [`consume_code_once_then_tombstone_until_expiry`], [`expired_code_is_never_returned`],
//! [`concurrent_consume_code_has_exactly_one_winner`].
//!
//! Access tokens: [`store_tokens_under_existing_grant`], [`store_tokens_with_new_grant`],
//! [`access_token_returns_token_with_grant_until_expiry`],
//! [`access_token_is_gone_after_revoke_grant`],
//! [`access_token_is_gone_after_revoke_access_token`].
//!
//! Refresh tokens: [`find_refresh_active_retired_not_found`],
//! [`rotate_refresh_stores_successor_and_retires_old`],
//! [`rotate_retired_refresh_is_reuse_and_stores_nothing`],
//! [`rotate_unknown_or_expired_refresh_is_not_found`],
//! [`concurrent_rotate_refresh_has_exactly_one_winner`],
//! [`refresh_grace_is_claimable_once_until_its_end`],
//! [`concurrent_grace_claims_have_exactly_one_winner`].
//!
//! Revocation: [`revoke_grant_cascades_and_is_idempotent`],
//! [`revoke_grant_leaves_other_grants_untouched`],
//! [`grants_for_user_lists_unexpired_grants`],
//! [`revoke_user_grants_revokes_only_that_user`].
//!
//! One-time markers: [`insert_once_is_new_once_until_expiry`],
//! [`concurrent_insert_once_has_exactly_one_winner`].
//!
//! Housekeeping: [`purge_expired_removes_only_expired_within_limit`],
//! [`stores_from_factory_are_isolated`].
//!
//! ## The protocol model
//!
//! [`protocol`] is a different kind of check: not of a store, but of the whole server. It
//! drives a [`Provider`](oauth_core::Provider) on the memory store through random (or
//! fuzzed) sequences of protocol operations and checks, after every step, that codes are
//! redeemed once, that revoked, rotated and expired credentials stay dead, that nothing
//! outlives its grant, that no response leaks a secret and that the server never fails.
//! The crate's `tests/protocol_state_machine.rs` runs it under proptest, and the
//! `protocol` target of `fuzz/` under libFuzzer.
#![forbid(unsafe_code)]
// This crate is test code: a clause reports a broken contract by panicking, exactly as
// `assert!` does in a test, and indexes fixed-size fixture vectors it just built.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed check must panic, as in any #[test]"
)]

#[cfg(feature = "bench")]
pub mod bench;
mod clients;
mod codes;
pub mod fixtures;
pub mod flow;
mod grace;
mod housekeeping;
pub mod instrumented;
mod once;
pub mod protocol;
mod refresh;
mod revocation;
pub mod scratch;
mod support;
mod tokens;

pub use clients::{
    client_put_get_replace_delete, delete_client_cascades_to_grants_codes_and_tokens,
    insert_client_never_replaces_an_existing_client,
    replace_client_never_resurrects_a_deleted_client,
};
pub use codes::{
    client_and_code_agrees_with_client_and_find_code,
    concurrent_consume_code_has_exactly_one_winner, consume_code_once_then_tombstone_until_expiry,
    create_grant_with_code_then_find_code_is_active, expired_code_is_never_returned,
    CONSUME_RACERS, CONSUME_ROUNDS,
};
pub use grace::{
    concurrent_grace_claims_have_exactly_one_winner, refresh_grace_is_claimable_once_until_its_end,
    GRACE_RACERS,
};
pub use housekeeping::{
    purge_expired_removes_only_expired_within_limit, stores_from_factory_are_isolated,
};
pub use once::{
    concurrent_insert_once_has_exactly_one_winner, insert_once_is_new_once_until_expiry,
    ONCE_RACERS, ONCE_ROUNDS,
};
pub use refresh::{
    concurrent_rotate_refresh_has_exactly_one_winner, find_refresh_active_retired_not_found,
    rotate_refresh_stores_successor_and_retires_old,
    rotate_retired_refresh_is_reuse_and_stores_nothing,
    rotate_unknown_or_expired_refresh_is_not_found, ROTATE_RACERS, ROTATE_ROUNDS,
};
pub use revocation::{
    grants_for_user_lists_unexpired_grants, revoke_grant_cascades_and_is_idempotent,
    revoke_grant_leaves_other_grants_untouched, revoke_user_grants_revokes_only_that_user,
};
pub use tokens::{
    access_token_is_gone_after_revoke_access_token, access_token_is_gone_after_revoke_grant,
    access_token_returns_token_with_grant_until_expiry, store_tokens_under_existing_grant,
    store_tokens_with_new_grant,
};

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// clause of the suite, each named after its clause and calling it with the factory.
///
/// The argument is an expression evaluating to a store factory (see the
/// [crate documentation](crate)); it is evaluated once per test. The calling crate needs
/// `tokio` as a dev-dependency.
///
/// ```ignore
/// oauth_store_testkit::conformance_tests!(async || MemoryStore::new());
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests! {
            factory: $factory;
            client_put_get_replace_delete,
            insert_client_never_replaces_an_existing_client,
            replace_client_never_resurrects_a_deleted_client,
            delete_client_cascades_to_grants_codes_and_tokens,
            create_grant_with_code_then_find_code_is_active,
            consume_code_once_then_tombstone_until_expiry,
            expired_code_is_never_returned,
            client_and_code_agrees_with_client_and_find_code,
            concurrent_consume_code_has_exactly_one_winner,
            store_tokens_under_existing_grant,
            store_tokens_with_new_grant,
            access_token_returns_token_with_grant_until_expiry,
            access_token_is_gone_after_revoke_grant,
            access_token_is_gone_after_revoke_access_token,
            find_refresh_active_retired_not_found,
            rotate_refresh_stores_successor_and_retires_old,
            rotate_retired_refresh_is_reuse_and_stores_nothing,
            rotate_unknown_or_expired_refresh_is_not_found,
            concurrent_rotate_refresh_has_exactly_one_winner,
            refresh_grace_is_claimable_once_until_its_end,
            concurrent_grace_claims_have_exactly_one_winner,
            revoke_grant_cascades_and_is_idempotent,
            revoke_grant_leaves_other_grants_untouched,
            grants_for_user_lists_unexpired_grants,
            revoke_user_grants_revokes_only_that_user,
            insert_once_is_new_once_until_expiry,
            concurrent_insert_once_has_exactly_one_winner,
            purge_expired_removes_only_expired_within_limit,
            stores_from_factory_are_isolated,
        }
    };
}

/// Implementation detail of [`conformance_tests!`]: one test per listed clause.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    (factory: $factory:expr; $($clause:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $clause() {
                $crate::$clause($factory).await;
            }
        )*
    };
}
