//! What the integration tests share: the server, isolated stores that clean up after
//! themselves, raw access for inspection, and a provider on the store.
//!
//! Tests run against the Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`). Each
//! store gets a random prefix drawn from the OS RNG, so tests run in parallel on one
//! server without seeing each other, and its keys are removed (`SCAN` + `UNLINK` of the
//! prefix) when the test's store is dropped, pass or fail. A server that cannot be
//! reached fails the test with a message saying so: these tests never skip.
//!
//! The cluster tests use the Redis Cluster whose nodes `REDIS_CLUSTER_NODES` lists
//! (comma-separated URLs; default the three masters `scripts/start-redis-cluster` starts
//! on 127.0.0.1:7000-7002), with the same isolation and clean-up, node by node.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a part of this module"
)]

pub mod provider;
pub mod races;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use oauth_core::model::{
    AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens, UserId,
};
use oauth_core::store::{
    CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{Store, StoreError, TokenHash, UnixTime};
use oauth_store_redis::redis;
use oauth_store_redis::{RedisStore, RedisStoreOptions};
use rand_core::{OsRng, RngCore};

/// The server the tests use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh random key prefix (OS RNG).
pub fn fresh_prefix() -> String {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("oauth-test-{hex}")
}

fn unreachable(error: impl std::fmt::Display) -> ! {
    panic!(
        "Redis is not reachable at {} ({error}): these tests need a real server. Start one \
         (`redis-server --port 6379`, as .ci/run does) or point REDIS_URL at one.",
        redis_url()
    )
}

/// A connected store under `prefix`, with a timeout generous enough for a loaded
/// machine. Panics with a clear message if the server cannot be reached.
pub async fn connect(prefix: &str) -> RedisStore {
    RedisStoreOptions::new(&redis_url())
        .unwrap()
        .prefix(prefix)
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_or_else(|error| unreachable(error))
}

/// The nodes of the test cluster.
pub fn cluster_nodes() -> Vec<String> {
    std::env::var("REDIS_CLUSTER_NODES")
        .unwrap_or_else(|_| {
            "redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002".to_owned()
        })
        .split(',')
        .map(|node| node.trim().to_owned())
        .filter(|node| !node.is_empty())
        .collect()
}

fn cluster_unreachable(error: impl std::fmt::Display) -> ! {
    panic!(
        "the Redis Cluster is not reachable at {:?} ({error}): these tests need a real \
         cluster. Start one with `./scripts/start-redis-cluster` (as scripts/check does) or \
         point REDIS_CLUSTER_NODES at one.",
        cluster_nodes()
    )
}

/// A connected cluster store under `prefix`. Panics with a clear message if the cluster
/// cannot be reached.
pub async fn connect_cluster(prefix: &str) -> RedisStore {
    let store = RedisStoreOptions::cluster(cluster_nodes())
        .unwrap()
        .prefix(prefix)
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_or_else(|error| cluster_unreachable(error));
    assert!(store.is_cluster());
    store
}

/// A raw cluster connection (routed by slot), for inspecting keys.
pub async fn raw_cluster() -> redis::cluster_async::ClusterConnection {
    redis::cluster::ClusterClient::new(cluster_nodes())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap_or_else(|error| cluster_unreachable(error))
}

/// The masters of the test cluster, as `redis://host:port` URLs: the listed nodes (the
/// test cluster has no replicas).
pub fn cluster_masters() -> Vec<String> {
    cluster_nodes()
}

/// Every key under `prefix` in the cluster, sorted (a `SCAN` of each node).
pub async fn cluster_keys_of(prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for node in cluster_masters() {
        let mut conn = redis::Client::open(node.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|error| cluster_unreachable(error));
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}:*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            keys.extend(batch);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
    }
    keys.sort();
    keys
}

/// Removes every key under `prefix` from every node of the cluster, one key per
/// `UNLINK` (keys of several slots cannot share one); errors are ignored.
pub fn clean_up_cluster(prefix: &str) {
    for node in cluster_masters() {
        let Ok(client) = redis::Client::open(node.as_str()) else {
            continue;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
            continue;
        };
        let mut cursor: u64 = 0;
        while let Ok((next, batch)) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query::<(u64, Vec<String>)>(&mut conn)
        {
            if !batch.is_empty() {
                let mut pipe = redis::pipe();
                for key in &batch {
                    pipe.cmd("UNLINK").arg(key).ignore();
                }
                let _: Result<(), _> = pipe.query(&mut conn);
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
    }
}

/// Removes a prefix's keys from the cluster when dropped.
pub struct ClusterCleanup(pub String);

impl Drop for ClusterCleanup {
    fn drop(&mut self) {
        clean_up_cluster(&self.0);
    }
}

/// A raw connection to the server, for inspecting and manipulating keys.
pub async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|error| unreachable(error))
}

/// Every key under `prefix`, sorted.
pub async fn keys_of(prefix: &str) -> Vec<String> {
    let mut conn = raw().await;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    keys.sort();
    keys
}

/// Removes every key under `prefix` (`SCAN` + `UNLINK`), synchronously, so that it can
/// run from `Drop`; errors are ignored (a test that failed to reach Redis says so itself).
pub fn clean_up(prefix: &str) {
    let Ok(client) = redis::Client::open(redis_url()) else {
        return;
    };
    let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
        return;
    };
    let mut cursor: u64 = 0;
    loop {
        let Ok((next, batch)): Result<(u64, Vec<String>), _> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query(&mut conn)
        else {
            return;
        };
        if !batch.is_empty() {
            let _: Result<i64, _> = redis::cmd("UNLINK").arg(&batch).query(&mut conn);
        }
        cursor = next;
        if cursor == 0 {
            return;
        }
    }
}

/// Removes a prefix's keys when dropped.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        clean_up(&self.0);
    }
}

/// A store for the conformance suite: one or two [`RedisStore`]s (two connection
/// managers, as two instances of a server would have) on one fresh prefix. Calls
/// alternate between the stores, so racing tasks go through both connections. The
/// prefix's keys are removed when it is dropped.
pub struct TestStore {
    stores: Vec<RedisStore>,
    next: AtomicUsize,
    _cleanup: Option<Cleanup>,
    _cluster_cleanup: Option<ClusterCleanup>,
}

impl TestStore {
    /// One store on a fresh prefix.
    pub async fn one() -> Self {
        Self::with(1).await
    }

    /// Two stores (two connections) on one fresh prefix.
    pub async fn two() -> Self {
        Self::with(2).await
    }

    async fn with(n: usize) -> Self {
        let prefix = fresh_prefix();
        let mut stores = Vec::new();
        for _ in 0..n {
            stores.push(connect(&prefix).await);
        }
        TestStore {
            stores,
            next: AtomicUsize::new(0),
            _cleanup: Some(Cleanup(prefix)),
            _cluster_cleanup: None,
        }
    }

    /// `n` stores (`n` cluster connections) on one fresh prefix in the test cluster.
    pub async fn cluster(n: usize) -> Self {
        let prefix = fresh_prefix();
        let mut stores = Vec::new();
        for _ in 0..n {
            stores.push(connect_cluster(&prefix).await);
        }
        TestStore {
            stores,
            next: AtomicUsize::new(0),
            _cleanup: None,
            _cluster_cleanup: Some(ClusterCleanup(prefix)),
        }
    }

    fn pick(&self) -> &RedisStore {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.stores.len();
        &self.stores[i]
    }
}

#[async_trait]
impl Store for TestStore {
    fn single_use(&self) -> oauth_core::SingleUse {
        // Every connection is to the same kind of store; none is picked (that would move
        // the round robin).
        RedisStore::single_use(&self.stores[0])
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.pick().client(id).await
    }
    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.pick().put_client(client).await
    }
    async fn replace_client(&self, client: &Client) -> Result<bool, StoreError> {
        self.pick().replace_client(client).await
    }
    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        self.pick().insert_client(client).await
    }
    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        self.pick().delete_client(id).await
    }
    async fn create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        self.pick().create_grant_with_code(grant, code).await
    }
    async fn find_code(&self, hash: &TokenHash, now: UnixTime) -> Result<CodeLookup, StoreError> {
        self.pick().find_code(hash, now).await
    }
    async fn client_and_code(
        &self,
        id: &ClientId,
        code: &TokenHash,
        now: UnixTime,
    ) -> oauth_core::store::ClientAndCode {
        self.pick().client_and_code(id, code, now).await
    }
    async fn consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.pick().consume_code(hash, issued, now).await
    }
    async fn grant(&self, id: &GrantId, now: UnixTime) -> Result<Option<GrantRecord>, StoreError> {
        self.pick().grant(id, now).await
    }
    async fn grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        self.pick().grants_for_user(user, now).await
    }
    async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        self.pick().revoke_grant(id).await
    }
    async fn revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError> {
        self.pick().revoke_user_grants(user).await
    }
    async fn store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        self.pick().store_tokens(new_grant, tokens).await
    }
    async fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        self.pick().access_token(hash, now).await
    }
    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.pick().revoke_access_token(hash).await
    }
    async fn find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError> {
        self.pick().find_refresh(hash, now).await
    }
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        self.pick().rotate_refresh(old, successor, grace, now).await
    }
    async fn claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.pick().claim_refresh_grace(retired, now).await
    }
    async fn insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.pick().insert_once(key, expires_at, now).await
    }
    async fn purge_expired(&self, now: UnixTime, limit: usize) -> Result<usize, StoreError> {
        self.pick().purge_expired(now, limit).await
    }
}

/// How long the expiry tests wait for one-second lifetimes to pass on the server.
pub const EXPIRY_WAIT: Duration = Duration::from_millis(1_500);

/// The wall clock: expiry tests write records that the server's own clock expires.
pub fn wall_clock() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// The number of members of the sorted set `key`, read on `conn`.
pub async fn zcard(conn: &mut impl redis::aio::ConnectionLike, key: &str) -> usize {
    redis::cmd("ZCARD")
        .arg(key)
        .query_async(conn)
        .await
        .unwrap()
}
