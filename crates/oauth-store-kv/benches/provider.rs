//! Criterion benchmarks of the provider on the key-value store over redb, next to the
//! memory store and the floors measured in the same run (docs/performance.md,
//! "Key-value store (redb)"). The benchmarks themselves are the testkit's
//! (`oauth_store_testkit::bench`), shared by every store; every redb store is a fresh
//! file in `CARGO_TARGET_TMPDIR`. `redb/commit` is one durable conditional commit of one
//! small key through the backend (the floor of every write), `redb/get` one read, each
//! through `spawn_blocking`.
//!
//! Run: `cargo bench -p oauth-store-kv --bench provider -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use oauth_store_kv::{Commit, KvBackend, KvStore, RedbBackend};
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::bench::{self, Flavor, FLAVORS};
use tokio::runtime::Runtime;

/// Where the database files go; emptied once per run.
fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("provider-bench")
}

fn fresh_backend(rt: &Runtime) -> RedbBackend {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = scratch().join(format!("{}.redb", NEXT.fetch_add(1, Ordering::Relaxed)));
    rt.block_on(RedbBackend::open(path)).unwrap()
}

fn memory(_: &Runtime) -> MemoryStore {
    MemoryStore::new()
}

fn kv_redb(rt: &Runtime) -> KvStore<RedbBackend> {
    KvStore::new(fresh_backend(rt)).unwrap()
}

/// `Provider::authenticate` on a valid token: two reads (the token, then its grant).
fn bearer(c: &mut Criterion) {
    for flavor in FLAVORS {
        bench::bearer(c, flavor, "memory", memory);
        bench::bearer(c, flavor, "kv-redb", kv_redb);
    }
}

/// A full code exchange through `Provider::token`: reads the client and the code, then
/// `consume_code` (reads, then one durable conditional commit of the tombstone, both
/// tokens and their index entries).
fn code_exchange(c: &mut Criterion) {
    for flavor in FLAVORS {
        bench::code_exchange(c, flavor, "memory", memory);
        bench::code_exchange(c, flavor, "kv-redb", kv_redb);
    }
}

/// What the backend costs on its own: one durable conditional commit of one small key,
/// and one read.
fn redb_floor(c: &mut Criterion) {
    let rt = Flavor::CurrentThread.runtime();
    let backend = fresh_backend(&rt);
    let key = b"bench/key".to_vec();
    rt.block_on(backend.put(key.clone(), b"v".to_vec(), None))
        .unwrap();
    let mut group = c.benchmark_group("redb");
    group.bench_function("commit", |b| {
        b.iter(|| {
            let mut commit = Commit::new();
            commit
                .expect_value(key.clone(), b"v".to_vec())
                .put(key.clone(), b"v".to_vec(), None);
            rt.block_on(backend.commit(&commit)).unwrap()
        })
    });
    group.bench_function("get", |b| {
        b.iter(|| rt.block_on(backend.get(black_box(&key))).unwrap())
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
    redb_floor,
    bearer,
    code_exchange
);
criterion_main!(benches);
