//! Criterion benchmarks of the provider on the Redis store, next to the memory store
//! measured in the same run (docs/performance.md, "Redis store").
//!
//! As in `crates/oauth-store-sqlite/benches/provider.rs`: `bearer/authenticate` is
//! `Provider::authenticate` on one valid token, `token/code-exchange` is `Provider::token`
//! redeeming a fresh authorization code with PKCE, minted outside the timed routine
//! (`iter_batched`). Each store is measured under a current-thread and a multi-thread
//! runtime, driven by `block_on` from the bench thread. `redis/ping` is one `PING` on the
//! store's connection: the floor of any operation that needs the server.
//!
//! Before measuring, the round trips of each provider operation are counted with the
//! store's request counter and printed (`round trips: ...`).
//!
//! The Redis server is `REDIS_URL` (default `redis://127.0.0.1:6379`); every store gets a
//! random prefix, and every key written is removed at the end.
//!
//! Run: `cargo bench -p oauth-store-redis --bench provider -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{Request, StatusCode};
use oauth_core::model::UserId;
use oauth_core::{
    Approval, Clock, Decision, Issuer, KeyId, Keyring, NewClient, OsRandom, Provider, SecureRandom,
    Store, UnixTime,
};
use oauth_store_memory::MemoryStore;
use oauth_store_redis::{redis, RedisStore, RedisStoreOptions};
use rand_core::{OsRng, RngCore};
use tokio::runtime::Runtime;

// ---- the provider, as crates/oauth-core/benches/core.rs builds it ----

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

    async fn public_client(&self) -> String {
        let registered = self
            .provider
            .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
            .await
            .unwrap();
        registered.client.id.as_str().to_owned()
    }

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

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Every prefix used, removed at the end.
static PREFIXES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn fresh_redis(rt: &Runtime) -> RedisStore {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    let prefix = format!(
        "oauth-bench-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    PREFIXES.lock().unwrap().push(prefix.clone());
    rt.block_on(
        RedisStoreOptions::new(&redis_url())
            .unwrap()
            .prefix(prefix)
            .connect(),
    )
    .unwrap_or_else(|error| panic!("Redis is not reachable at {}: {error}", redis_url()))
}

fn memory(_: &Runtime) -> MemoryStore {
    MemoryStore::new()
}

fn clean_up(_: &mut Criterion) {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    for prefix in PREFIXES.lock().unwrap().drain(..) {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query(&mut conn)
            .unwrap();
        for chunk in keys.chunks(1000) {
            let _: i64 = redis::cmd("UNLINK").arg(chunk).query(&mut conn).unwrap();
        }
    }
}

// ---- round trips, counted ----

fn round_trips(_: &mut Criterion) {
    let rt = Flavor::CurrentThread.runtime();
    let store = fresh_redis(&rt);
    let h = Harness::new(store.clone());
    let client_id = rt.block_on(h.public_client());
    let code = rt.block_on(h.obtain_code(&client_id));
    let before = store.round_trips();
    let response = rt.block_on(h.provider.token(&code_exchange_request(&client_id, &code)));
    let exchange = store.round_trips() - before;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let request = bearer_request(body["access_token"].as_str().unwrap());
    let before = store.round_trips();
    rt.block_on(h.provider.authenticate(&request)).unwrap();
    let bearer = store.round_trips() - before;
    println!("round trips: token/code-exchange: {exchange}");
    println!("round trips: bearer/authenticate: {bearer}");
}

// ---- the benchmarks ----

fn redis_ping(c: &mut Criterion) {
    let rt = Flavor::CurrentThread.runtime();
    let _in_runtime = rt.enter();
    let mut conn = rt
        .block_on(
            redis::Client::open(redis_url())
                .unwrap()
                .get_multiplexed_async_connection(),
        )
        .unwrap();
    c.bench_function("redis/ping", |b| {
        b.iter(|| {
            let pong: String = rt
                .block_on(redis::cmd("PING").query_async(&mut conn))
                .unwrap();
            pong
        })
    });
}

fn bearer_one<S: Store>(c: &mut Criterion, flavor: Flavor, store: &str, make: fn(&Runtime) -> S) {
    let rt = flavor.runtime();
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
        bearer_one(c, flavor, "redis", fresh_redis);
    }
}

/// Codes come from a harness (with a fresh store) replaced every `CODES_PER_HARNESS`.
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

/// A full code exchange through `Provider::token`: three store calls (client, code,
/// redemption), each one `EVALSHA` or `GET`.
fn code_exchange(c: &mut Criterion) {
    for flavor in FLAVORS {
        code_exchange_one(c, flavor, "memory", memory);
        code_exchange_one(c, flavor, "redis", fresh_redis);
    }
}

criterion_group!(
    benches,
    round_trips,
    redis_ping,
    bearer,
    code_exchange,
    clean_up
);
criterion_main!(benches);
