//! Criterion benchmarks of the provider on the SQLite store, next to the memory store and
//! the SHA-256 floor measured in the same run (docs/performance.md, "SQLite store").
//!
//! The provider is built, and the two operations are measured, exactly as in
//! `crates/oauth-core/benches/core.rs`: `bearer/authenticate` is `Provider::authenticate`
//! on one valid token, `token/code-exchange` is `Provider::token` redeeming a fresh
//! authorization code with PKCE, minted outside the timed routine (`iter_batched`). Each
//! store is measured under a current-thread runtime (as core.rs) and a multi-thread one,
//! both driven by `block_on` from the bench thread. Every SQLite store is a fresh file in
//! `CARGO_TARGET_TMPDIR`.
//!
//! Run: `cargo bench -p oauth-store-sqlite --bench provider -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{Request, StatusCode};
use oauth_core::model::UserId;
use oauth_core::{
    Approval, Clock, Decision, Issuer, KeyId, Keyring, NewClient, OsRandom, Provider, SecureRandom,
    Store, UnixTime,
};
use oauth_store_memory::MemoryStore;
use oauth_store_sqlite::{Durability, SqliteStore, SqliteStoreOptions};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

// ---- the provider, as crates/oauth-core/tests/common/mod.rs builds it ----

const ISSUER: &str = "https://as.example";
const RESOURCE: &str = "https://api.example/mcp";
const REDIRECT: &str = "https://client.example/cb";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const START: u64 = 1_800_000_000;

#[derive(Debug)]
struct FixedClock(UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

fn test_keyring() -> Keyring {
    let mut secret = [0u8; 32];
    OsRandom.fill(&mut secret).unwrap();
    Keyring::from_secret(KeyId::new("test").unwrap(), &secret).unwrap()
}

struct Harness<S> {
    provider: Provider<S>,
}

impl<S: Store> Harness<S> {
    fn new(store: S) -> Self {
        let provider = Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .scopes(["read", "write", "admin"])
            .default_scope(["read"])
            .resource(RESOURCE)
            .clock(Arc::new(FixedClock(UnixTime(START))))
            .store(store)
            .build()
            .unwrap();
        Harness { provider }
    }

    /// A public client with `REDIRECT`, authorization code and refresh; its id.
    async fn public_client(&self) -> String {
        let registered = self
            .provider
            .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
            .await
            .unwrap();
        registered.client.id.as_str().to_owned()
    }

    /// Runs the authorization endpoint with the usual PKCE request; returns the code.
    async fn obtain_code(&self, client_id: &str) -> String {
        let query = form(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        let request = Request::get(format!("{ISSUER}/authorize?{query}"))
            .body(Vec::new())
            .unwrap();
        let pending = self.provider.begin_authorization(&request).await.unwrap();
        let response = self
            .provider
            .complete_authorization(
                pending,
                Decision::Approve(Approval::new(UserId::new("alice"))),
            )
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap();
        let params: HashMap<String, String> = url::Url::parse(location)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        params["code"].clone()
    }

    /// A new public client's access token, through the full flow.
    async fn access_token(&self) -> String {
        let client_id = self.public_client().await;
        let code = self.obtain_code(&client_id).await;
        let response = self
            .provider
            .token(&code_exchange_request(&client_id, &code))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn code_exchange_request(client_id: &str, code: &str) -> Request<Vec<u8>> {
    Request::post(format!("{ISSUER}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", client_id),
                ("code_verifier", VERIFIER),
            ])
            .into_bytes(),
        )
        .unwrap()
}

fn bearer_request(token: &str) -> Request<Vec<u8>> {
    Request::get(RESOURCE)
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap()
}

// ---- runtimes and stores ----

/// The runtime flavours measured. core.rs uses a current-thread runtime without drivers;
/// sqlx needs Tokio's timer (pool acquire timeouts), so both flavours here enable it.
#[derive(Clone, Copy)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current-thread",
            Flavor::MultiThread => "multi-thread",
        }
    }

    fn runtime(self) -> Runtime {
        match self {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        }
        .enable_all()
        .build()
        .unwrap()
    }
}

const FLAVORS: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

/// Where the database files go; emptied once per run.
fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("provider-bench")
}

fn fresh_sqlite(rt: &Runtime, durability: Durability) -> SqliteStore {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = scratch().join(format!("{}.db", NEXT.fetch_add(1, Ordering::Relaxed)));
    rt.block_on(SqliteStoreOptions::new(path).durability(durability).open())
        .unwrap()
}

fn memory(_: &Runtime) -> MemoryStore {
    MemoryStore::new()
}

fn sqlite_full(rt: &Runtime) -> SqliteStore {
    fresh_sqlite(rt, Durability::Full)
}

fn sqlite_normal(rt: &Runtime) -> SqliteStore {
    fresh_sqlite(rt, Durability::Normal)
}

// ---- the benchmarks ----

/// The crypto floor every figure is read against (as in core.rs).
fn crypto_floor(c: &mut Criterion) {
    let verifier = [b'a'; 43];
    c.bench_function("floor/sha256(43 B)", |b| {
        b.iter(|| black_box(Sha256::digest(black_box(&verifier))))
    });
}

/// `block_on` of a ready future, per runtime flavour: paid once per iteration below.
fn runtime_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("runtime/block_on(ready)");
    for flavor in FLAVORS {
        let rt = flavor.runtime();
        group.bench_function(flavor.name(), |b| {
            b.iter(|| rt.block_on(async { black_box(1u8) }))
        });
    }
    group.finish();
}

fn bearer_one<S: Store>(c: &mut Criterion, flavor: Flavor, store: &str, make: fn(&Runtime) -> S) {
    let rt = flavor.runtime();
    // sqlx hands a pooled connection back by spawning a task: drop inside the runtime.
    let _in_runtime = rt.enter();
    let h = Harness::new(make(&rt));
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

/// `Provider::authenticate` on a valid token: one store read (`access_token`).
fn bearer(c: &mut Criterion) {
    for flavor in FLAVORS {
        bearer_one(c, flavor, "memory", memory);
        bearer_one(c, flavor, "sqlite-full", sqlite_full);
        bearer_one(c, flavor, "sqlite-normal", sqlite_normal);
    }
}

/// Codes for the exchange benchmark come from a harness (with a fresh store) that is
/// replaced every `CODES_PER_HARNESS` codes, as in core.rs.
const CODES_PER_HARNESS: usize = 5_000;

struct CodeSource<S> {
    make: fn(&Runtime) -> S,
    harness: Rc<Harness<S>>,
    client_id: String,
    issued: usize,
}

impl<S: Store> CodeSource<S> {
    fn new(rt: &Runtime, make: fn(&Runtime) -> S) -> Self {
        let harness = Rc::new(Harness::new(make(rt)));
        let client_id = rt.block_on(harness.public_client());
        CodeSource {
            make,
            harness,
            client_id,
            issued: 0,
        }
    }

    /// A fresh code and the token request that redeems it.
    fn next(&mut self, rt: &Runtime) -> (Rc<Harness<S>>, Request<Vec<u8>>) {
        if self.issued == CODES_PER_HARNESS {
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

fn code_exchange_one<S: Store>(
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

/// A full code exchange through `Provider::token`: reads the client and the code, then
/// one write transaction (`consume_code`: mark the code, insert both tokens).
fn code_exchange(c: &mut Criterion) {
    for flavor in FLAVORS {
        code_exchange_one(c, flavor, "memory", memory);
        code_exchange_one(c, flavor, "sqlite-full", sqlite_full);
        code_exchange_one(c, flavor, "sqlite-normal", sqlite_normal);
    }
}

/// What one statement costs through sqlx, to read the figures above by: `SELECT 1` on
/// the store's pool (acquire, the query, the release) and on a connection already held
/// (the query's round trip to the worker thread alone).
fn sqlx_round_trip(c: &mut Criterion) {
    let rt = Flavor::CurrentThread.runtime();
    let _in_runtime = rt.enter();
    let mut group = c.benchmark_group("sqlx/select-1");
    let select = "SELECT 1";
    let store = sqlite_normal(&rt);
    group.bench_function("pool", |b| {
        b.iter(|| {
            rt.block_on(
                oauth_store_sqlite::sqlx::query_scalar::<_, i64>(select).fetch_one(store.pool()),
            )
            .unwrap()
        })
    });
    let mut held = rt.block_on(store.pool().acquire()).unwrap();
    group.bench_function("held-connection", |b| {
        b.iter(|| {
            rt.block_on(
                oauth_store_sqlite::sqlx::query_scalar::<_, i64>(select).fetch_one(&mut *held),
            )
            .unwrap()
        })
    });
    group.finish();
}

fn clean_scratch(_: &mut Criterion) {
    let _ = std::fs::remove_dir_all(scratch());
    std::fs::create_dir_all(scratch()).unwrap();
}

criterion_group!(
    benches,
    clean_scratch,
    crypto_floor,
    runtime_floor,
    sqlx_round_trip,
    bearer,
    code_exchange
);
criterion_main!(benches);
