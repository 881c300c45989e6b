//! A provider on a store, and the requests of the authorization-code flow: the
//! testkit's shared ones (`oauth_store_testkit::flow`), on the system clock.

#[allow(unused_imports, reason = "each test binary uses its own part")]
pub use oauth_store_testkit::flow::{
    bearer_request, code_exchange_request, obtain_code, public_client,
};

/// A provider on `store`, on the system clock, with a key from the OS RNG.
pub fn provider<S: oauth_core::Store>(store: S) -> oauth_core::Provider<S> {
    oauth_store_testkit::flow::provider(store, None)
}
