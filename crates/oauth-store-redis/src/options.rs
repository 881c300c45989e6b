//! How a [`RedisStore`] is configured and connected.

use std::sync::Arc;
use std::time::Duration;

use crate::conn::{Conn, ConnectError, Target};
use crate::keys::{valid_prefix, Keys};
use crate::scripts::Scripts;
use crate::{OpenError, RedisStore};

/// The key prefix used when none is set.
pub const DEFAULT_PREFIX: &str = "oauth";

/// Options for [`RedisStore`]: the server, the key prefix and the deadlines. Built with
/// [`RedisStoreOptions::new`] (a URL), [`RedisStoreOptions::with_client`] or, with the
/// `cluster` feature, `RedisStoreOptions::cluster` (the nodes of a Redis Cluster), then
/// [`connect`](Self::connect)ed (or [`connect_lazy`](Self::connect_lazy)).
#[derive(Debug)]
#[must_use]
pub struct RedisStoreOptions {
    endpoint: Endpoint,
    prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
}

/// What the options connect to.
enum Endpoint {
    Single(redis::Client),
    #[cfg(feature = "cluster")]
    Cluster(Vec<redis::ConnectionInfo>),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Connection details may carry a password: only the kind and node count.
        match self {
            Endpoint::Single(_) => f.write_str("Single"),
            #[cfg(feature = "cluster")]
            Endpoint::Cluster(nodes) => write!(f, "Cluster({} nodes)", nodes.len()),
        }
    }
}

impl RedisStoreOptions {
    /// A store on the server at `url` (`redis://[user:password@]host[:port][/db]`), with
    /// the defaults: prefix [`DEFAULT_PREFIX`], a 2 s timeout per operation, 1 s per
    /// connection attempt. The URL is parsed here; nothing is connected yet.
    pub fn new(url: &str) -> Result<Self, OpenError> {
        redis::Client::open(url)
            .map(Self::with_client)
            .map_err(OpenError::InvalidUrl)
    }

    /// A store through a client the host configured (credentials, database, RESP
    /// version).
    pub fn with_client(client: redis::Client) -> Self {
        Self::with_endpoint(Endpoint::Single(client))
    }

    /// A store on a Redis Cluster, reached through any of `nodes` (`redis://host:port`
    /// URLs; the client discovers the others from the slot map). Every operation then
    /// runs as single-slot steps (see the crate documentation, "Cluster"). The URLs are
    /// parsed here; nothing is connected yet.
    ///
    /// The cluster client's own retries are off: it would send a script again after a
    /// lost connection, when the script may have run. The store sends a command again
    /// only after a `MOVED` or `ASK` answer, which says it did not run; `TRYAGAIN`,
    /// `CLUSTERDOWN` and an unreachable node are [`StoreErrorKind::Unavailable`].
    ///
    /// [`StoreErrorKind::Unavailable`]: oauth_core::StoreErrorKind::Unavailable
    #[cfg(feature = "cluster")]
    pub fn cluster<I, S>(nodes: I) -> Result<Self, OpenError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        use redis::IntoConnectionInfo as _;
        let nodes = nodes
            .into_iter()
            .map(|url| url.as_ref().into_connection_info())
            .collect::<Result<Vec<_>, _>>()
            .map_err(OpenError::InvalidUrl)?;
        if nodes.is_empty() {
            return Err(OpenError::InvalidUrl(redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "a cluster needs at least one node",
            ))));
        }
        Ok(Self::with_endpoint(Endpoint::Cluster(nodes)))
    }

    fn with_endpoint(endpoint: Endpoint) -> Self {
        RedisStoreOptions {
            endpoint,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
        }
    }

    /// Puts every key of the store under `<prefix>:`, so that several stores (several
    /// providers, tenants or test runs) share one server without seeing each other's
    /// records. 1 to [`MAX_PREFIX_LEN`](crate::MAX_PREFIX_LEN) characters of
    /// `A-Z a-z 0-9 _ . -`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The deadline of every operation, from its start to the server's answer, including
    /// waiting for a connection or a reconnection (default 2 s). Past it, the operation
    /// fails as unavailable and the provider answers 503.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The deadline of one attempt to open a TCP connection (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    fn build(self) -> Result<RedisStore, OpenError> {
        if !valid_prefix(&self.prefix) {
            return Err(OpenError::InvalidPrefix);
        }
        let target = match self.endpoint {
            Endpoint::Single(client) => Target::Single(client),
            #[cfg(feature = "cluster")]
            Endpoint::Cluster(nodes) => Target::Cluster(
                redis::cluster::ClusterClientBuilder::new(nodes)
                    .connection_timeout(self.connect_timeout)
                    .response_timeout(self.timeout)
                    .retries(0)
                    .build()
                    .map_err(OpenError::InvalidUrl)?,
            ),
        };
        let scripts = Arc::new(Scripts::new());
        let conn = Conn::new(target, self.timeout, self.connect_timeout, scripts.clone());
        Ok(RedisStore::assemble(Keys::new(&self.prefix), conn, scripts))
    }

    /// Connects now: opens the connection, checks that the server is Redis 7 or newer
    /// (or a compatible server such as Valkey) and never evicts keys, and loads the
    /// scripts, within the timeout. A server that cannot be reached is an error here, so a misconfigured
    /// deployment fails at startup.
    pub async fn connect(self) -> Result<RedisStore, OpenError> {
        let store = self.build()?;
        store.conn().connect().await.map_err(|error| match error {
            ConnectError::Redis(error) => OpenError::Connect(error),
            ConnectError::Unsupported(version) => OpenError::UnsupportedServer { version },
            ConnectError::Eviction(policy) => OpenError::EvictionPolicy { policy },
        })?;
        Ok(store)
    }

    /// A store that connects on its first operation, and retries on the next one if that
    /// fails: a server that starts while Redis is down answers 503 until Redis is back,
    /// rather than failing to start. Only the options are checked here.
    pub fn connect_lazy(self) -> Result<RedisStore, OpenError> {
        self.build()
    }
}
