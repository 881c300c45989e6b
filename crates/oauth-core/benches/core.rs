//! Criterion benchmarks of the provider on the memory store, with the crypto floor measured
//! in the same run so results can be read as multiples of one SHA-256 (docs/performance.md).
//!
//! Run: `cargo bench -p oauth-core --bench core -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "a benchmark binary")]

#[path = "../tests/common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{token_request, Harness, REDIRECT, VERIFIER};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hmac::{Hmac, Mac};
use http::{Request, StatusCode};
use oauth_core::model::UserId;
use oauth_core::{Approval, Decision, OsRandom, Secret, SecureRandom};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn bearer_request(token: &str) -> Request<Vec<u8>> {
    Request::get("https://api.example/mcp")
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap()
}

/// The runtime's own cost: `block_on` of a future that is ready at once. Every provider
/// benchmark below pays it once per iteration.
fn runtime_floor(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("runtime/block_on(ready)", |b| {
        b.iter(|| rt.block_on(async { black_box(1u8) }))
    });
}

/// `Provider::authenticate` on a valid token: extraction, shape check, keyed hash, one
/// store lookup, expiry and audience checks.
fn bearer(c: &mut Criterion) {
    let rt = runtime();
    let h = Harness::new();
    let (_, body) = rt.block_on(h.public_tokens());
    let request = bearer_request(body["access_token"].as_str().unwrap());
    assert!(rt.block_on(h.provider.authenticate(&request)).is_ok());
    c.bench_function("bearer/authenticate", |b| {
        b.iter(|| {
            rt.block_on(h.provider.authenticate(black_box(&request)))
                .unwrap()
        })
    });

    // The same with props on the grant: adds unwrapping the data key and opening props.
    let client = rt.block_on(h.public_client());
    let code = rt.block_on(async {
        let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
        let response = h
            .provider
            .complete_authorization(
                pending,
                Decision::Approve(Approval {
                    props: Some(serde_json::json!({ "upstream": "token-for-the-upstream-api" })),
                    ..Approval::new(UserId::new("alice"))
                }),
            )
            .await
            .unwrap();
        common::location_params(&response)["code"].clone()
    });
    let (_, body, _) = rt.block_on(h.redeem_public(client.id.as_str(), &code));
    let request = bearer_request(body["access_token"].as_str().unwrap());
    assert!(rt
        .block_on(h.provider.authenticate(&request))
        .unwrap()
        .props
        .is_some());
    c.bench_function("bearer/authenticate+props", |b| {
        b.iter(|| {
            rt.block_on(h.provider.authenticate(black_box(&request)))
                .unwrap()
        })
    });

    // No token at all: the 401 path without a store call, up to the complete response
    // (rendering the challenge derives the RFC 9728 metadata URL).
    let anonymous = Request::get("https://api.example/mcp")
        .body(Vec::new())
        .unwrap();
    c.bench_function("bearer/no-token-401-response", |b| {
        b.iter(|| {
            rt.block_on(h.provider.authenticate(black_box(&anonymous)))
                .unwrap_err()
                .into_response()
        })
    });
}

/// Codes for the exchange benchmark come from a harness that is replaced every
/// `CODES_PER_HARNESS` codes, so the memory store stays small and the measurement does
/// not drift with its size.
const CODES_PER_HARNESS: usize = 5_000;

struct CodeSource {
    harness: Rc<Harness>,
    client_id: String,
    issued: usize,
}

impl CodeSource {
    fn new(rt: &Runtime) -> Self {
        let harness = Rc::new(Harness::new());
        let client = rt.block_on(harness.public_client());
        CodeSource {
            harness,
            client_id: client.id.as_str().to_owned(),
            issued: 0,
        }
    }

    /// A fresh code and the token request that redeems it.
    fn next(&mut self, rt: &Runtime) -> (Rc<Harness>, Request<Vec<u8>>) {
        if self.issued == CODES_PER_HARNESS {
            *self = CodeSource::new(rt);
        }
        self.issued += 1;
        let code = rt.block_on(self.harness.obtain_code(&self.client_id));
        let request = token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &self.client_id),
                ("code_verifier", VERIFIER),
            ],
            None,
        );
        (self.harness.clone(), request)
    }
}

/// A full code exchange through `Provider::token`: parse, client lookup, code lookup, PKCE,
/// consume, two new credentials with their keyed hashes, persist, JSON response.
fn code_exchange(c: &mut Criterion) {
    let rt = runtime();
    let source = RefCell::new(CodeSource::new(&rt));
    let (h, request) = source.borrow_mut().next(&rt);
    assert_eq!(
        rt.block_on(h.provider.token(&request)).status(),
        StatusCode::OK
    );
    c.bench_function("token/code-exchange", |b| {
        b.iter_batched(
            || source.borrow_mut().next(&rt),
            |(h, request)| {
                let response = rt.block_on(h.provider.token(&request));
                debug_assert_eq!(response.status(), StatusCode::OK);
                (response, h)
            },
            BatchSize::SmallInput,
        )
    });
}

/// A fresh credential as the machine draws one (32 bytes from the OS RNG, base64url,
/// type prefix; `generate_token` is crate-private, so this mirrors it) plus its keyed hash
/// through the public `Keyring::digest_secret` (the same `TokenHash::compute`).
fn token_generation(c: &mut Criterion) {
    let keyring = common::test_keyring();
    c.bench_function("token/generate+keyed-hash", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 32];
            OsRandom.fill(&mut bytes).unwrap();
            let mut token = String::with_capacity(6 + 43);
            token.push_str("oa2at_");
            URL_SAFE_NO_PAD.encode_string(bytes, &mut token);
            let secret = Secret::new(token);
            black_box(keyring.digest_secret(&secret))
        })
    });
}

/// The crypto floor: one of each primitive the library is built from.
fn crypto_floor(c: &mut Criterion) {
    let verifier = [b'a'; 43];
    c.bench_function("floor/sha256(43 B)", |b| {
        b.iter(|| black_box(Sha256::digest(black_box(&verifier))))
    });

    let key = [7u8; 32];
    let token = [b't'; 49]; // the length of an `oa2at_` credential
    c.bench_function("floor/hmac-sha256(49 B)", |b| {
        b.iter(|| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(black_box(&key)).unwrap();
            mac.update(black_box(&token));
            black_box(mac.finalize().into_bytes())
        })
    });

    let plaintext = [3u8; 32];
    let nonce = [9u8; 12];
    let cipher = Aes256Gcm::new((&key).into());
    c.bench_function("floor/aes-256-gcm-seal(32 B)", |b| {
        b.iter(|| {
            black_box(
                cipher
                    .encrypt(
                        Nonce::from_slice(black_box(&nonce)),
                        Payload {
                            msg: black_box(&plaintext),
                            aad: b"context",
                        },
                    )
                    .unwrap(),
            )
        })
    });
    c.bench_function("floor/aes-256-gcm-key-setup+seal(32 B)", |b| {
        b.iter(|| {
            let cipher = Aes256Gcm::new(black_box(&key).into());
            black_box(
                cipher
                    .encrypt(
                        Nonce::from_slice(black_box(&nonce)),
                        Payload {
                            msg: black_box(&plaintext),
                            aad: b"context",
                        },
                    )
                    .unwrap(),
            )
        })
    });

    c.bench_function("floor/os-rng(32 B)", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 32];
            #[allow(
                clippy::disallowed_methods,
                clippy::disallowed_types,
                reason = "measuring the OS RNG itself, the floor under OsRandom"
            )]
            {
                use rand_core::RngCore;
                rand_core::OsRng.try_fill_bytes(&mut bytes).unwrap();
            }
            black_box(bytes)
        })
    });
}

criterion_group!(
    benches,
    crypto_floor,
    runtime_floor,
    token_generation,
    bearer,
    code_exchange
);
criterion_main!(benches);
