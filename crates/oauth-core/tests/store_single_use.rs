//! OAuth 2.1 §4.1.3 (a code is used once) and §4.3.1 (refresh rotation) hold only on a
//! store whose conditional writes are atomic. A store that declares it cannot keep them
//! (`SingleUse::NotGuaranteed`, for example a key-value backend without compare-and-swap)
//! is refused by the provider unless the host accepts it by name, and a host that drives
//! the machine itself gets a store failure for every single-use step on it.

mod common;

use std::ops::ControlFlow;

use common::*;
use http::StatusCode;
use oauth_core::model::UserId;
use oauth_core::{
    Approval, AuthorizationError, Clock, Config, ConfigError, Decision, Issuer, Keyring, Machine,
    Provider, SingleUse, Store, SystemClock,
};
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::flow;
use oauth_store_testkit::instrumented::InstrumentedStore;

fn issuer() -> Issuer {
    Issuer::new(ISSUER).unwrap()
}

fn store_without_single_use() -> InstrumentedStore<MemoryStore> {
    InstrumentedStore::new(MemoryStore::new()).declaring_no_single_use()
}

#[test]
fn provider_refuses_a_store_without_atomic_single_use_by_default() {
    let built = Provider::builder(issuer())
        .keys(test_keyring())
        .store(store_without_single_use())
        .build();
    assert!(
        matches!(built, Err(ConfigError::StoreWithoutAtomicSingleUse)),
        "{built:?}"
    );

    let config = Config::builder(issuer())
        .keys(test_keyring())
        .build()
        .unwrap();
    let new = Provider::new(config, store_without_single_use());
    assert!(
        matches!(new, Err(ConfigError::StoreWithoutAtomicSingleUse)),
        "{new:?}"
    );
}

#[test]
fn refusal_of_a_store_without_atomic_single_use_names_the_setting_that_accepts_it() {
    let message = ConfigError::StoreWithoutAtomicSingleUse.to_string();
    assert!(
        message.contains("accept_store_without_atomic_single_use"),
        "{message}"
    );
}

#[test]
fn provider_accepts_a_store_without_atomic_single_use_only_when_the_host_names_the_setting() {
    let declined = Provider::builder(issuer())
        .keys(test_keyring())
        .store(store_without_single_use())
        .accept_store_without_atomic_single_use(false)
        .build();
    assert!(matches!(
        declined,
        Err(ConfigError::StoreWithoutAtomicSingleUse)
    ));

    let accepted = Provider::builder(issuer())
        .keys(test_keyring())
        .store(store_without_single_use())
        .accept_store_without_atomic_single_use(true)
        .build()
        .expect("accepted by name");
    assert!(accepted.config().accepts_store_without_atomic_single_use());

    let config = Config::builder(issuer())
        .keys(test_keyring())
        .accept_store_without_atomic_single_use(true)
        .build()
        .unwrap();
    assert!(Provider::new(config, store_without_single_use()).is_ok());
}

#[test]
fn provider_accepts_an_atomic_store_without_any_setting() {
    let store = InstrumentedStore::new(MemoryStore::new());
    assert_eq!(store.single_use(), SingleUse::Atomic);
    let provider = Provider::builder(issuer())
        .keys(test_keyring())
        .store(store)
        .build()
        .expect("an atomic store needs no opt-in");
    assert!(!provider.config().accepts_store_without_atomic_single_use());

    let config = Config::builder(issuer())
        .keys(test_keyring())
        .build()
        .unwrap();
    assert!(Provider::new(config, MemoryStore::new()).is_ok());
}

#[test]
fn a_wrapping_store_answers_what_the_wrapped_store_declares() {
    let wrapped = InstrumentedStore::new(store_without_single_use());
    assert_eq!(wrapped.single_use(), SingleUse::NotGuaranteed);
    assert_eq!(
        InstrumentedStore::new(MemoryStore::new()).single_use(),
        SingleUse::Atomic
    );
}

/// A machine configured as `flow::provider`, with `keys`, driven by the host itself
/// (no `Provider`), without the opt-in.
fn machine_without_the_opt_in(keys: Keyring) -> Machine {
    Machine::new(
        Config::builder(Issuer::new(flow::ISSUER).unwrap())
            .keys(keys)
            .scopes(["read", "write"])
            .default_scope(["read"])
            .resource(flow::RESOURCE)
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn a_host_driving_the_machine_gets_503_for_single_use_steps_on_a_store_without_atomic_single_use(
) {
    // A provider that accepted the store sets up a client and a code; a host driving a
    // machine that did not accept it must not redeem the code on that store.
    let keys = test_keyring();
    let accepting = flow::provider_builder()
        .keys(keys.clone())
        .accept_store_without_atomic_single_use(true)
        .store(store_without_single_use())
        .build()
        .unwrap();
    let client_id = flow::public_client(&accepting).await;
    let code = flow::obtain_code(&accepting, &client_id).await;
    let machine = machine_without_the_opt_in(keys);

    let request = flow::code_exchange_request(&client_id, &code);
    let mut step = machine.token_request(&request, SystemClock.now());
    let response = loop {
        match step.answer_from(accepting.store()).await {
            ControlFlow::Continue(next) => step = next,
            ControlFlow::Break(response) => break response,
        }
    };
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!accepting
        .store()
        .writes()
        .iter()
        .any(|write| write.starts_with("ConsumeCode")));
    // The code was not redeemed: the accepting provider still redeems it once.
    flow::exchange(&accepting, &client_id, &code).await;

    // Completing an authorization records a one-time marker first: refused the same way.
    let query = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", flow::REDIRECT),
        ("code_challenge", flow::CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ];
    let grants_written = |store: &InstrumentedStore<MemoryStore>| {
        store
            .writes()
            .iter()
            .filter(|write| write.starts_with("CreateGrantWithCode"))
            .count()
    };
    let before = grants_written(accepting.store());
    let pending = accepting
        .begin_authorization(&Harness::authorize_request(&query))
        .await
        .unwrap();
    let decision = Decision::Approve(Approval::new(UserId::new("alice")));
    let mut step = machine.complete_authorization(pending, decision, SystemClock.now());
    let result = loop {
        match step.answer_from(accepting.store()).await {
            ControlFlow::Continue(next) => step = next,
            ControlFlow::Break(result) => break result,
        }
    };
    // The redirect URI is validated by then: the error goes back to the client.
    assert!(
        matches!(result, Err(AuthorizationError::Redirect(_))),
        "{result:?}"
    );
    assert_eq!(grants_written(accepting.store()), before);
}
