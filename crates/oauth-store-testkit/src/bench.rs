//! The provider benchmarks every store runs (feature `bench`), so that figures of
//! different stores in `docs/performance.md` measure the same thing.
//!
//! `bearer/authenticate` is `Provider::authenticate` on one valid token;
//! `token/code-exchange` is `Provider::token` redeeming a fresh authorization code with
//! PKCE, minted outside the timed routine (`iter_batched`). Each store is measured under
//! a current-thread and a multi-thread runtime, both driven by `block_on` from the bench
//! thread. The provider is configured as `crates/oauth-core/benches/core.rs` configures
//! it, so the memory store's figures here and there agree.
//!
//! A store's `benches/provider.rs` supplies constructors and calls [`bearer`] and
//! [`code_exchange`] for each [`Flavor`], next to the memory store and the floors
//! ([`crypto_floor`], [`runtime_floor`]) measured in the same run.

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;

use criterion::{BatchSize, Criterion};
use http::{Request, StatusCode};
use oauth_core::{Clock, Provider, Store, UnixTime};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

use crate::flow::{self, bearer_request, code_exchange_request};

const START: u64 = 1_800_000_000;

#[derive(Debug)]
struct FixedClock(UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

/// A provider on a store under test, at a fixed time (so codes never expire mid-run).
pub struct BenchProvider<S> {
    /// The provider.
    pub provider: Provider<S>,
}

impl<S: Store> BenchProvider<S> {
    /// A provider on `store` ([`flow::provider`]), at a fixed time.
    pub fn new(store: S) -> Self {
        BenchProvider {
            provider: flow::provider(store, Some(Arc::new(FixedClock(UnixTime(START))))),
        }
    }

    /// A new public client; its id.
    pub async fn public_client(&self) -> String {
        flow::public_client(&self.provider).await
    }

    /// An approved authorization's code for `client_id`.
    pub async fn obtain_code(&self, client_id: &str) -> String {
        flow::obtain_code(&self.provider, client_id).await
    }

    /// A new public client's access token, through the whole flow.
    pub async fn access_token(&self) -> String {
        flow::access_token(&self.provider).await
    }
}

/// The runtime flavours measured; both enable Tokio's drivers (stores use timers).
#[derive(Clone, Copy, Debug)]
pub enum Flavor {
    /// `new_current_thread`.
    CurrentThread,
    /// `new_multi_thread`.
    MultiThread,
}

/// Both flavours.
pub const FLAVORS: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

impl Flavor {
    /// The name used in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current-thread",
            Flavor::MultiThread => "multi-thread",
        }
    }

    /// A new runtime of this flavour.
    pub fn runtime(self) -> Runtime {
        match self {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        }
        .enable_all()
        .build()
        .unwrap()
    }
}

/// The crypto floor every figure is read against (as in core.rs).
pub fn crypto_floor(c: &mut Criterion) {
    let verifier = [b'a'; 43];
    c.bench_function("floor/sha256(43 B)", |b| {
        b.iter(|| black_box(Sha256::digest(black_box(&verifier))))
    });
}

/// `block_on` of a ready future, per runtime flavour: paid once per iteration of the
/// store benchmarks.
pub fn runtime_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("runtime/block_on(ready)");
    for flavor in FLAVORS {
        let rt = flavor.runtime();
        group.bench_function(flavor.name(), |b| {
            b.iter(|| rt.block_on(async { black_box(1u8) }))
        });
    }
    group.finish();
}

/// `bearer/authenticate/<flavor>/<store>`: one valid token, one store read.
pub fn bearer<S: Store>(c: &mut Criterion, flavor: Flavor, store: &str, make: fn(&Runtime) -> S) {
    let rt = flavor.runtime();
    // Some stores hand resources back by spawning a task: drop inside the runtime.
    let _in_runtime = rt.enter();
    let h = BenchProvider::new(make(&rt));
    let request = bearer_request(&rt.block_on(h.access_token()));
    assert!(rt.block_on(h.provider.authenticate(&request)).is_ok());
    c.benchmark_group("bearer/authenticate").bench_function(
        format!("{}/{store}", flavor.name()),
        |b| {
            b.iter(|| {
                rt.block_on(h.provider.authenticate(black_box(&request)))
                    .unwrap()
            })
        },
    );
}

/// Codes come from a provider (with a fresh store) replaced every this many codes, as in
/// core.rs, so stores do not grow without bound during a run.
const CODES_PER_PROVIDER: usize = 5_000;

struct CodeSource<S> {
    make: fn(&Runtime) -> S,
    harness: Rc<BenchProvider<S>>,
    client_id: String,
    issued: usize,
}

impl<S: Store> CodeSource<S> {
    fn new(rt: &Runtime, make: fn(&Runtime) -> S) -> Self {
        let harness = Rc::new(BenchProvider::new(make(rt)));
        let client_id = rt.block_on(harness.public_client());
        CodeSource {
            make,
            harness,
            client_id,
            issued: 0,
        }
    }

    /// A fresh code and the token request that redeems it.
    fn next(&mut self, rt: &Runtime) -> (Rc<BenchProvider<S>>, Request<Vec<u8>>) {
        if self.issued == CODES_PER_PROVIDER {
            *self = CodeSource::new(rt, self.make);
        }
        self.issued += 1;
        let code = rt.block_on(self.harness.obtain_code(&self.client_id));
        (
            self.harness.clone(),
            code_exchange_request(&self.client_id, &code),
        )
    }
}

/// `token/code-exchange/<flavor>/<store>`: a full code exchange through
/// `Provider::token` (client lookup, code lookup, atomic redemption).
pub fn code_exchange<S: Store>(
    c: &mut Criterion,
    flavor: Flavor,
    store: &str,
    make: fn(&Runtime) -> S,
) {
    let rt = flavor.runtime();
    let _in_runtime = rt.enter();
    let source = RefCell::new(CodeSource::new(&rt, make));
    let (h, request) = source.borrow_mut().next(&rt);
    assert_eq!(
        rt.block_on(h.provider.token(&request)).status(),
        StatusCode::OK
    );
    c.benchmark_group("token/code-exchange").bench_function(
        format!("{}/{store}", flavor.name()),
        |b| {
            b.iter_batched(
                || source.borrow_mut().next(&rt),
                |(h, request)| {
                    let response = rt.block_on(h.provider.token(&request));
                    debug_assert_eq!(response.status(), StatusCode::OK);
                    (response, h)
                },
                BatchSize::SmallInput,
            )
        },
    );
}
