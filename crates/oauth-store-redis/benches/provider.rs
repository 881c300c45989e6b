//! Criterion benchmarks of the provider on the Redis store, next to the memory store
//! measured in the same run (docs/performance.md, "Redis store").
//!
//! The benchmarks themselves are the testkit's (`oauth_store_testkit::bench`), shared by
//! every store: `bearer/authenticate` and `token/code-exchange` under a current-thread
//! and a multi-thread runtime. `redis/ping` is one `PING` on a connection: the floor of
//! any operation that needs the server.
//!
//! Before measuring, the round trips of each provider operation are counted with the
//! store's request counter and printed (`round trips: ...`).
//!
//! The Redis server is `REDIS_URL` (default `redis://127.0.0.1:6379`); every store gets a
//! random prefix, and every key written is removed at the end.
//!
//! Run: `cargo bench -p oauth-store-redis --bench provider -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::sync::Mutex;

use criterion::{criterion_group, criterion_main, Criterion};
use http::StatusCode;
use oauth_store_memory::MemoryStore;
use oauth_store_redis::{redis, RedisStore, RedisStoreOptions};
use oauth_store_testkit::bench::{self, BenchProvider, Flavor, FLAVORS};
use oauth_store_testkit::flow::{bearer_request, code_exchange_request};
use rand_core::{OsRng, RngCore};
use tokio::runtime::Runtime;

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
    let h = BenchProvider::new(store.clone());
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

/// `Provider::authenticate` on a valid token: one `EVALSHA`.
fn bearer(c: &mut Criterion) {
    for flavor in FLAVORS {
        bench::bearer(c, flavor, "memory", memory);
        bench::bearer(c, flavor, "redis", fresh_redis);
    }
}

/// A full code exchange through `Provider::token`: three store calls (client, code,
/// redemption), each one `EVALSHA` or `GET`.
fn code_exchange(c: &mut Criterion) {
    for flavor in FLAVORS {
        bench::code_exchange(c, flavor, "memory", memory);
        bench::code_exchange(c, flavor, "redis", fresh_redis);
    }
}

criterion_group!(
    benches,
    round_trips,
    bench::crypto_floor,
    bench::runtime_floor,
    redis_ping,
    bearer,
    code_exchange,
    clean_up
);
criterion_main!(benches);
