//! Criterion benchmarks of the provider on the SQLite store, next to the memory store and
//! the floors measured in the same run (docs/performance.md, "SQLite store"). The
//! benchmarks themselves are the testkit's (`oauth_store_testkit::bench`), shared by
//! every store; every SQLite store is a fresh file in `CARGO_TARGET_TMPDIR`.
//!
//! Run: `cargo bench -p oauth-store-sqlite --bench provider -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use oauth_store_memory::MemoryStore;
use oauth_store_sqlite::{Durability, SqliteStore, SqliteStoreOptions};
use oauth_store_testkit::bench::{self, Flavor, FLAVORS};
use tokio::runtime::Runtime;

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

/// `Provider::authenticate` on a valid token: one store read (`access_token`).
fn bearer(c: &mut Criterion) {
    for flavor in FLAVORS {
        bench::bearer(c, flavor, "memory", memory);
        bench::bearer(c, flavor, "sqlite-full", sqlite_full);
        bench::bearer(c, flavor, "sqlite-normal", sqlite_normal);
    }
}

/// A full code exchange through `Provider::token`: reads the client and the code, then
/// one write transaction (`consume_code`: mark the code, insert both tokens).
fn code_exchange(c: &mut Criterion) {
    for flavor in FLAVORS {
        bench::code_exchange(c, flavor, "memory", memory);
        bench::code_exchange(c, flavor, "sqlite-full", sqlite_full);
        bench::code_exchange(c, flavor, "sqlite-normal", sqlite_normal);
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
    bench::crypto_floor,
    bench::runtime_floor,
    sqlx_round_trip,
    bearer,
    code_exchange
);
criterion_main!(benches);
