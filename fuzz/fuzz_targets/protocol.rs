//! The whole protocol, stateful: fuzz input decoded into a sequence of operations
//! (register clients, authorize and deny, redeem codes validly, with a wrong verifier or
//! by another client, redeem them again, refresh with the latest or a retired token,
//! revoke, introspect, revoke a user's grants, call the resource server, move the clock,
//! replay any value seen anywhere) run against a provider on the memory store.
//!
//! Input layout: three bytes per operation (`Op::decode_all` of
//! `oauth_store_testkit::protocol`); a trailing partial operation is padded with zeros.
//! The same decoder feeds the crate's proptest test
//! (`crates/oauth-store-testkit/tests/protocol_state_machine.rs`).
//!
//! Oracles (checked after every operation by `protocol::Harness`, against a model of
//! everything issued): a code yields tokens at most once, and a valid replay revokes
//! everything it issued; no access or refresh token works (bearer, introspection, token
//! endpoint) after its own or its grant's revocation, its rotation, or its expiry, and
//! none outlives its grant; reuse of a rotated refresh token revokes the grant; no
//! response carries a secret other than the ones it issues (client secrets, codes,
//! tokens, verifiers, props); no panic, no 5xx, no store error; and every other answer is
//! the one the model predicts. The clock, key and random source are fixed, so a crashing
//! input reproduces exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth_store_testkit::protocol::{self, Op};

fuzz_target!(|data: &[u8]| {
    let ops = Op::decode_all(data);
    if let Err(v) = protocol::run(&ops) {
        panic!("{v:?}")
    }
});
