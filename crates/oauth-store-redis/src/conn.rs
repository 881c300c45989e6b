//! The connection: made lazily, shared, bounded in time, and counted.
//!
//! One [`ConnectionManager`] (a multiplexed connection that reconnects in the
//! background) serves every operation of a store; in cluster mode, one cluster connection
//! (a connection per node, routed by the slot map). It is made by the first operation
//! that needs it (or by [`RedisStoreOptions::connect`](crate::RedisStoreOptions::connect)),
//! which also checks the server version (of every node) and loads every script; a failed
//! attempt is retried by the next operation.
//!
//! Every operation runs under one deadline, the store's timeout, covering everything it
//! waits for: making the connection, waiting for a reconnection, and the answer. When it
//! passes, the operation fails as [`StoreErrorKind::Unavailable`]. The driver never
//! retries a command on its own, and neither does the store: a script whose answer was
//! lost may or may not have run, and only an error is a truthful report of that. The one
//! exception is a cluster's `MOVED` or `ASK` answer, which says the command did not run:
//! it is sent again (at most [`REDIRECT_ATTEMPTS`] times in all, within the deadline);
//! after `ASK`, to the node the answer names, preceded by `ASKING`.

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

/// Where a store connects: one server, or (with the `cluster` feature) a Redis Cluster.
pub(crate) enum Target {
    /// One server (standalone, or the primary of a replicated set).
    Single(redis::Client),
    /// A Redis Cluster, reached through any of its nodes.
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster::ClusterClient),
}

/// The live connection: a reconnecting manager for one server, or the cluster client's
/// connection, which follows the slot map and keeps one connection per node.
#[derive(Clone)]
pub(crate) enum Link {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// The shared connection of one store.
pub(crate) struct Conn {
    target: Target,
    config: ConnectionManagerConfig,
    link: OnceCell<Link>,
    timeout: Duration,
    scripts: Arc<Scripts>,
    requests: Arc<AtomicU64>,
}

impl Conn {
    pub(crate) fn new(
        target: Target,
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
            target,
            config,
            link: OnceCell::new(),
            timeout,
            scripts,
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests sent so far (each is one round trip).
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Whether this is a cluster connection (its operations use the single-slot scripts).
    pub(crate) fn is_cluster(&self) -> bool {
        match self.target {
            Target::Single(_) => false,
            #[cfg(feature = "cluster")]
            Target::Cluster(_) => true,
        }
    }

    /// The connection, made (with the version check and the scripts loaded) on first use.
    async fn link(&self) -> Result<Link, ConnectError> {
        self.link
            .get_or_try_init(|| async {
                match &self.target {
                    Target::Single(client) => {
                        let mut manager =
                            ConnectionManager::new_with_config(client.clone(), self.config.clone())
                                .await?;
                        let mut pipe = redis::pipe();
                        pipe.cmd("INFO").arg("server").arg("memory");
                        for source in &self.scripts.sources {
                            pipe.cmd("SCRIPT").arg("LOAD").arg(source).ignore();
                        }
                        let (info,): (String,) = pipe.query_async(&mut manager).await?;
                        check_version(&info)?;
                        check_eviction(&info)?;
                        Ok(Link::Single(manager))
                    }
                    #[cfg(feature = "cluster")]
                    Target::Cluster(client) => {
                        let mut conn = client.get_async_connection().await?;
                        // INFO goes to every node and answers with one text per node;
                        // SCRIPT LOAD goes to every node too.
                        let info: Value = redis::cmd("INFO")
                            .arg("server")
                            .arg("memory")
                            .query_async(&mut conn)
                            .await?;
                        let texts = info_texts(&info);
                        if texts.is_empty() {
                            return Err(ConnectError::Unsupported("unknown".to_owned()));
                        }
                        for text in &texts {
                            check_version(text)?;
                            check_eviction(text)?;
                        }
                        for source in &self.scripts.cluster.sources {
                            let _: Value = redis::cmd("SCRIPT")
                                .arg("LOAD")
                                .arg(source)
                                .query_async(&mut conn)
                                .await?;
                        }
                        Ok(Link::Cluster(conn))
                    }
                }
            })
            .await
            .cloned()
    }

    /// Connects (if not connected yet) within the timeout.
    pub(crate) async fn connect(&self) -> Result<(), ConnectError> {
        match tokio::time::timeout(self.timeout, self.link()).await {
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
            let link = self.link().await.map_err(|error| match error {
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
                inner: link,
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

/// Every text in an `INFO` answer: one string from a server, a map of node to string
/// from a cluster.
#[cfg(feature = "cluster")]
fn info_texts(value: &Value) -> Vec<String> {
    match value {
        Value::BulkString(bytes) => vec![String::from_utf8_lossy(bytes).into_owned()],
        Value::VerbatimString { text, .. } => vec![text.clone()],
        Value::SimpleString(text) => vec![text.clone()],
        Value::Map(pairs) => pairs.iter().flat_map(|(_, v)| info_texts(v)).collect(),
        Value::Array(items) => items.iter().flat_map(info_texts).collect(),
        _ => Vec::new(),
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

/// How often a cluster request answered `MOVED` or `ASK` is sent again. Those answers
/// mean the command did not run, so sending it again is safe; the cluster client's own
/// retries are off (see `RedisStoreOptions::cluster`), because it would also resend a
/// script after a lost connection, when it may have run.
#[cfg(feature = "cluster")]
const REDIRECT_ATTEMPTS: u32 = 4;

/// The node an `ASK` answer names, as host and port.
#[cfg(feature = "cluster")]
fn redirect_target(error: &RedisError) -> Option<(String, u16)> {
    let (address, _slot) = error.redirect_node()?;
    let (host, port) = address.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

/// Sends `cmd` to the node an `ASK` named, preceded by `ASKING` in one pipeline on that
/// node's connection: during a slot migration the importing node serves a key of the slot
/// only to a client that said `ASKING` just before (the slot map still names the other
/// node, so without it every attempt would go back there and be redirected again).
#[cfg(feature = "cluster")]
async fn asking(
    conn: &mut redis::cluster_async::ClusterConnection,
    cmd: &Cmd,
    host: String,
    port: u16,
) -> redis::RedisResult<Value> {
    let mut pipe = redis::pipe();
    pipe.cmd("ASKING").add_command(cmd.clone());
    let route = redis::cluster_routing::SingleNodeRoutingInfo::ByAddress { host, port };
    let values = conn.route_pipeline(&pipe, 1, 1, route).await?;
    values
        .into_iter()
        .next()
        .ok_or_else(|| RedisError::from((redis::ErrorKind::ParseError, "no reply after ASKING")))?
        .extract_error()
}

/// The connection with every request counted: the store's round-trip counter.
#[derive(Clone)]
pub(crate) struct Counted {
    inner: Link,
    requests: Arc<AtomicU64>,
}

impl ConnectionLike for Counted {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match &mut self.inner {
            Link::Single(manager) => manager.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Link::Cluster(conn) => {
                let requests = Arc::clone(&self.requests);
                Box::pin(async move {
                    let mut attempt = 0;
                    // The node an `ASK` named: the command goes there next, after ASKING.
                    let mut ask: Option<(String, u16)> = None;
                    loop {
                        let result = match ask.take() {
                            Some((host, port)) => asking(conn, cmd, host, port).await,
                            None => conn.req_packed_command(cmd).await,
                        };
                        match result {
                            Err(error)
                                if matches!(
                                    error.kind(),
                                    redis::ErrorKind::Moved | redis::ErrorKind::Ask
                                ) && attempt + 1 < REDIRECT_ATTEMPTS =>
                            {
                                attempt += 1;
                                requests.fetch_add(1, Ordering::Relaxed);
                                ask = (error.kind() == redis::ErrorKind::Ask)
                                    .then(|| redirect_target(&error))
                                    .flatten();
                                if ask.is_none() {
                                    // The client refreshes its slot map on MOVED; give it
                                    // a moment, then send the (unexecuted) command again.
                                    tokio::time::sleep(Duration::from_millis(
                                        20 * u64::from(attempt),
                                    ))
                                    .await;
                                }
                            }
                            result => return result,
                        }
                    }
                })
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        // A pipeline is one round trip.
        self.requests.fetch_add(1, Ordering::Relaxed);
        match &mut self.inner {
            Link::Single(manager) => manager.req_packed_commands(cmd, offset, count),
            #[cfg(feature = "cluster")]
            Link::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Link::Single(manager) => manager.get_db(),
            #[cfg(feature = "cluster")]
            Link::Cluster(conn) => conn.get_db(),
        }
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
