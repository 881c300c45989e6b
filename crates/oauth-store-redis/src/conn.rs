//! The connection: made lazily, shared, bounded in time, and counted.
//!
//! One [`ConnectionManager`] (a multiplexed connection that reconnects in the
//! background) serves every operation of a store. It is made by the first operation
//! that needs it (or by [`RedisStoreOptions::connect`](crate::RedisStoreOptions::connect)),
//! which also checks the server version and loads every script; a failed attempt is
//! retried by the next operation.
//!
//! Every operation runs under one deadline, the store's timeout, covering everything it
//! waits for: making the connection, waiting for a reconnection, and the answer. When it
//! passes, the operation fails as [`StoreErrorKind::Unavailable`]. The driver never
//! retries a command on its own, and neither does the store: a script whose answer was
//! lost may or may not have run, and only an error is a truthful report of that.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oauth_core::{StoreError, StoreErrorKind};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use tokio::sync::OnceCell;

use crate::error::classify;
use crate::scripts::Scripts;

/// The oldest server accepted: the scripts use Redis 7 shebang flags.
const MIN_MAJOR_VERSION: u32 = 7;

/// Why the first connection could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("connecting to Redis failed")]
    Redis(#[from] RedisError),
    #[error("the Redis server is version {0}; this store needs 7.0 or newer")]
    Unsupported(String),
    #[error("the Redis server may evict keys (maxmemory-policy {0}); this store needs noeviction")]
    Eviction(String),
}

/// The shared connection of one store.
pub(crate) struct Conn {
    client: redis::Client,
    config: ConnectionManagerConfig,
    manager: OnceCell<ConnectionManager>,
    timeout: Duration,
    scripts: Arc<Scripts>,
    requests: Arc<AtomicU64>,
}

impl Conn {
    pub(crate) fn new(
        client: redis::Client,
        timeout: Duration,
        connect_timeout: Duration,
        scripts: Arc<Scripts>,
    ) -> Self {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(connect_timeout)
            .set_response_timeout(timeout)
            // Reconnection attempts run in the background; an operation waits for them
            // only until its own deadline.
            .set_number_of_retries(2)
            .set_factor(10)
            .set_max_delay(500);
        Conn {
            client,
            config,
            manager: OnceCell::new(),
            timeout,
            scripts,
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests sent so far (each is one round trip).
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The connection, made (with the version check and the scripts loaded) on first use.
    async fn manager(&self) -> Result<ConnectionManager, ConnectError> {
        self.manager
            .get_or_try_init(|| async {
                let mut manager =
                    ConnectionManager::new_with_config(self.client.clone(), self.config.clone())
                        .await?;
                let mut pipe = redis::pipe();
                pipe.cmd("INFO").arg("server").arg("memory");
                for source in &self.scripts.sources {
                    pipe.cmd("SCRIPT").arg("LOAD").arg(source).ignore();
                }
                let (info,): (String,) = pipe.query_async(&mut manager).await?;
                check_version(&info)?;
                check_eviction(&info)?;
                Ok(manager)
            })
            .await
            .cloned()
    }

    /// Connects (if not connected yet) within the timeout.
    pub(crate) async fn connect(&self) -> Result<(), ConnectError> {
        match tokio::time::timeout(self.timeout, self.manager()).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(ConnectError::Redis(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connecting to Redis timed out",
            )))),
        }
    }

    /// Runs one operation on the connection, within the store's timeout.
    pub(crate) async fn run<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: FnOnce(Counted) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let work = async {
            let manager = self.manager().await.map_err(|error| match error {
                ConnectError::Redis(error) => classify(error),
                refused @ (ConnectError::Unsupported(_) | ConnectError::Eviction(_)) => {
                    StoreError::with_source(
                        StoreErrorKind::Other,
                        "the Redis server is not configured for this store",
                        refused,
                    )
                }
            })?;
            let conn = Counted {
                inner: manager,
                requests: Arc::clone(&self.requests),
            };
            operation(conn).await.map_err(classify)
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "Redis did not answer within the store's timeout",
            )),
        }
    }
}

/// Checks `INFO server` for a supported version (Redis, or Valkey, which reports a
/// compatible `redis_version`).
fn check_version(info: &str) -> Result<(), ConnectError> {
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .map(str::trim)
        .unwrap_or("unknown");
    let major = version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok());
    match major {
        Some(major) if major >= MIN_MAJOR_VERSION => Ok(()),
        _ => Err(ConnectError::Unsupported(version.to_owned())),
    }
}

/// Checks `INFO memory` that the server never evicts keys. An evicted tombstone would let
/// a replayed code go unnoticed, and an evicted index would let a revocation miss tokens:
/// every key of the store but a client's has a TTL, so every `volatile-*` policy could
/// pick them. A server without a memory limit (`maxmemory:0`) never evicts.
fn check_eviction(info: &str) -> Result<(), ConnectError> {
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
    };
    let limited = field("maxmemory:").is_some_and(|max| max != "0");
    match field("maxmemory_policy:") {
        Some(policy) if limited && policy != "noeviction" => {
            Err(ConnectError::Eviction(policy.to_owned()))
        }
        _ => Ok(()),
    }
}

/// The connection with every request counted: the store's round-trip counter.
#[derive(Clone)]
pub(crate) struct Counted {
    inner: ConnectionManager,
    requests: Arc<AtomicU64>,
}

impl ConnectionLike for Counted {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        // A pipeline is one round trip.
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_before_7_are_refused() {
        assert!(check_version("# Server\r\nredis_version:7.0.15\r\n").is_ok());
        assert!(check_version("redis_version:8.2.1").is_ok());
        assert!(matches!(
            check_version("redis_version:6.2.14"),
            Err(ConnectError::Unsupported(v)) if v == "6.2.14"
        ));
        assert!(check_version("no version").is_err());
    }

    #[test]
    fn servers_that_may_evict_keys_are_refused() {
        let info = |max: &str, policy: &str| {
            format!("# Memory\r\nmaxmemory:{max}\r\nmaxmemory_policy:{policy}\r\n")
        };
        assert!(check_eviction(&info("0", "allkeys-lru")).is_ok());
        assert!(check_eviction(&info("1073741824", "noeviction")).is_ok());
        assert!(matches!(
            check_eviction(&info("1073741824", "volatile-ttl")),
            Err(ConnectError::Eviction(p)) if p == "volatile-ttl"
        ));
        assert!(check_eviction(&info("1073741824", "allkeys-lru")).is_err());
    }
}
