//! OAuth 2.1 §4.1.3 (a code is used once) and §4.3.1 (refresh rotation) hold only on a
//! store whose conditional writes are atomic. A store that declares it cannot keep them
//! (`SingleUse::NotGuaranteed`, for example a key-value backend without compare-and-swap)
//! is refused by the provider unless the host accepts it by name.

mod common;

use common::*;
use oauth_core::Store;
use oauth_core::{Config, ConfigError, Issuer, Provider, SingleUse};
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::instrumented::InstrumentedStore;

fn issuer() -> Issuer {
    Issuer::new(ISSUER).unwrap()
}

fn store_declaring(single_use: SingleUse) -> InstrumentedStore<MemoryStore> {
    InstrumentedStore::new(MemoryStore::new()).declaring(single_use)
}

#[test]
fn provider_refuses_a_store_without_atomic_single_use_by_default() {
    let built = Provider::builder(issuer())
        .keys(test_keyring())
        .store(store_declaring(SingleUse::NotGuaranteed))
        .build();
    assert!(
        matches!(built, Err(ConfigError::StoreWithoutAtomicSingleUse)),
        "{built:?}"
    );

    let config = Config::builder(issuer())
        .keys(test_keyring())
        .build()
        .unwrap();
    let new = Provider::new(config, store_declaring(SingleUse::NotGuaranteed));
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
        .store(store_declaring(SingleUse::NotGuaranteed))
        .accept_store_without_atomic_single_use(false)
        .build();
    assert!(matches!(
        declined,
        Err(ConfigError::StoreWithoutAtomicSingleUse)
    ));

    let accepted = Provider::builder(issuer())
        .keys(test_keyring())
        .store(store_declaring(SingleUse::NotGuaranteed))
        .accept_store_without_atomic_single_use(true)
        .build()
        .expect("accepted by name");
    assert!(accepted.config().accepts_store_without_atomic_single_use());

    let config = Config::builder(issuer())
        .keys(test_keyring())
        .accept_store_without_atomic_single_use(true)
        .build()
        .unwrap();
    assert!(Provider::new(config, store_declaring(SingleUse::NotGuaranteed)).is_ok());
}

#[test]
fn provider_accepts_an_atomic_store_without_any_setting() {
    let store = store_declaring(SingleUse::Atomic);
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
    let wrapped = InstrumentedStore::new(store_declaring(SingleUse::NotGuaranteed));
    assert_eq!(wrapped.single_use(), SingleUse::NotGuaranteed);
    assert_eq!(
        InstrumentedStore::new(MemoryStore::new()).single_use(),
        SingleUse::Atomic
    );
}
