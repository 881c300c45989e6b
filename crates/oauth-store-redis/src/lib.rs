//! # oauth-store-redis
//!
//! A [`Store`] on Redis (7.0 or newer, or a compatible server such as Valkey): the shared
//! store for many stateless instances of an authorization server.
//!
//! ```no_run
//! use oauth_store_redis::{RedisStore, RedisStoreOptions};
//!
//! # async fn run() -> Result<(), oauth_store_redis::OpenError> {
//! // Connects, checks the server version and loads the scripts.
//! let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//!
//! // Or: a key prefix per tenant, a tighter deadline, and a connection made on first use.
//! let tenant = RedisStoreOptions::new("redis://127.0.0.1:6379")?
//!     .prefix("tenant-a")
//!     .timeout(std::time::Duration::from_millis(500))
//!     .connect_lazy()?;
//! # Ok(()) }
//! ```
//!
//! # What it guarantees
//!
//! - **The contract of [`oauth_core::store`]**, checked by the shared conformance suite of
//!   `oauth-store-testkit` against a real server, races included, and again with every
//!   call alternating between two stores (two connections), as two instances would.
//! - **Atomicity on the server.** Every operation that reads and then writes is one Lua
//!   script, run with `EVALSHA`: redeeming a code (check unused and live, mark used, store
//!   the tokens), rotating a refresh token (check active, retire, store the successor),
//!   claiming a grace, inserting a one-time marker, creating a grant with its code,
//!   revoking. Redis runs a script alone, so of concurrent redemptions of one code exactly
//!   one wins, whichever instance sent them. Scripts check everything before their first
//!   write, because Redis does not roll back a script that fails halfway, and scripts
//!   that write are refused up front when the server is out of memory.
//! - **Tombstones.** A redeemed code stays, marked used, until its own expiry, so a replay
//!   is recognised ([`CodeLookup::Used`]) and the core can revoke what it issued; a
//!   rotated refresh token likewise stays, retired, with its optional grace.
//! - **Cascading revocation** through per-grant indexes maintained in the same script as
//!   the records: revoking a grant deletes exactly its own records (codes, tokens,
//!   tombstones, lookup pointers, index entries); revoking a user's grants or deleting a
//!   client walks that user's or client's index. Idempotent, and never reported as done
//!   unless the script ran.
//! - **Server-side expiry on every record.** Every key but a client's carries a TTL, and
//!   every index a TTL at least as long as its longest-lived member, so nothing outlives
//!   its use even if [`Store::purge_expired`] is never called; writers prune index entries
//!   whose record has expired. Expiry is also checked against the caller's `now` in every
//!   read, so a record is never returned at or after its `expires_at`, whatever the
//!   server's clock says.
//! - **Failures are errors.** A lost connection, a timeout (see
//!   [`RedisStoreOptions::timeout`]), a read-only replica, a server loading its data or
//!   busy with a script: each is a [`StoreError`] (the provider answers 503
//!   `temporarily_unavailable`), never a false success. Nothing is retried behind the
//!   caller's back: a script whose answer was lost may or may not have run.
//! - **Only hashes.** The store receives and keeps keyed hashes of codes and tokens, never
//!   the credentials; props stay sealed. No record content is ever logged, and the
//!   store's `Debug` shows only its prefix.
//!
//! # Key layout
//!
//! Every key starts with the store's prefix `P` (default [`DEFAULT_PREFIX`]). Ids are
//! escaped (`A-Z a-z 0-9 _ . -` kept, any other byte as `%XX`), hashes are 64 hex digits.
//! `E` below is the escaped grant id.
//!
//! | key | type | holds | TTL |
//! | --- | --- | --- | --- |
//! | `P:{g:E}:grant` | hash | the grant (`exp`, `rec`, `user`, `client`) | the grant's lifetime |
//! | `P:{g:E}:code:<hash>` | hash | a code (`exp`, `used`, `rec`); `used=1` is the tombstone | the code's |
//! | `P:{g:E}:at:<hash>` | hash | an access token (`exp`, `rec`) | the token's |
//! | `P:{g:E}:rt:<hash>` | hash | a refresh token (`exp`, `rec`, and once rotated `retired`, `grace`, `grace_until`) | the token's |
//! | `P:{g:E}:kids` | sorted set | the grant's records (`code:<hash>`, ...), scored by expiry | the longest member's |
//! | `P:loc:<kind>:<hash>` | string | the grant `E` of a code, access or refresh token | the record's |
//! | `P:{u:<user>}:grants` | sorted set | a user's grants, scored by expiry | the longest member's |
//! | `P:{c:<client>}:grants` | sorted set | a client's grants, scored by expiry | the longest member's |
//! | `P:{c:<client>}:client` | string | the client | none (clients do not expire) |
//! | `P:once:<namespace>:<hex>` | string | a one-time marker (its expiry) | the marker's |
//! | `P:expiry` | sorted set | every expiring record, scored by expiry, for `purge_expired` | the longest member's |
//! | `P:{g:E}:revoked` | string | cluster only: a revocation found no record of a listed grant | the index's remaining TTL |
//! | `P:{P:expiry}:latest` | sorted set | cluster only: `P:expiry` members by the latest expiry under each | the longest member's |
//!
//! Record values (`rec`, the client) are versioned JSON, `{"v":1,"record":{...}}`; the
//! fields scripts compare (`exp`, `used`, `retired`) sit beside them as 20-digit
//! zero-padded times, compared exactly in Lua.
//!
//! TTLs are relative (`PEXPIRE`): a record lives on the server exactly as long as it is
//! valid for the caller (its `expires_at` minus the `now` of the write, or its issue time
//! for writes that take no `now`), so an offset between the application's clock and the
//! server's can neither delete a record early nor keep it late. The logical expiry,
//! compared with the caller's `now`, is the one that decides; the TTL collects the
//! garbage.
//!
//! ## Cluster
//!
//! The braces are hash tags: all the keys of one grant live in one cluster slot. On one
//! server (standalone, or a primary with replicas) each operation is one script that may
//! touch keys of several slots (the grant's, the `P:loc:` pointer's, the user's and
//! client's indexes, `P:expiry`), so every operation is one round trip.
//!
//! With the `cluster` feature, `RedisStoreOptions::cluster` connects to a Redis
//! Cluster; the layout is the same, and every operation runs as single-slot steps:
//!
//! - every decision (code unused, refresh token active, grant live, hash free under the
//!   grant) is one script on the grant's slot, which stays the only authority: of
//!   concurrent redemptions or rotations exactly one wins, tombstones answer replays;
//! - pointers of new records are written first (`SET NX`: a hash taken anywhere is a
//!   conflict), user, client and expiry index entries are written before the grant-slot
//!   script and removed only after the revocation, so an index never misses a live
//!   grant; everything read through a pointer or an index is re-checked against the
//!   grant's records (a pointer without a record reads as absent);
//! - lookups by hash read the pointer, then run the grant-slot script (two round trips);
//!   redemption and rotation go straight to the grant the issued tokens name, their
//!   pointers and expiry hint written concurrently first (two round trips);
//! - revocations walk the index, revoke each grant on its slot (only if its record names
//!   that user or client), then remove the pointers and index entries; an error at any
//!   step is reported as an error, and a retry completes it;
//! - `P:expiry` holds one entry per grant and per one-time marker, scored by the earliest
//!   expiry under it; purge re-checks each against the grant's own child index, and
//!   writers drop the entries under which everything has expired (their latest expiry is
//!   kept in `P:{P:expiry}:latest`), so it stays bounded without purge;
//! - a revocation walking an index that finds no record of a listed grant leaves
//!   `P:{g:E}:revoked` on the grant's slot (as long as the index lives), so that a
//!   creation racing it fails rather than store a grant no index lists;
//! - an `ASK` answer is followed: the command goes to the node it names after `ASKING`.
//!
//! The cluster refuses a script that touches a key outside the slot of its first key, so
//! running the conformance suite against a real cluster (as this crate's tests do) checks
//! that no step strays. `docs/storage.md` ("Redis store", "Cluster") lists the cost of
//! each operation.
//!
//! # Why `redis` (redis-rs) and not `fred`
//!
//! `redis` is the most widely used Rust client, maintained under the redis-rs
//! organisation, with a small dependency tree when its default features are off: this
//! crate needs only Tokio, scripts and the reconnecting [`redis::aio::ConnectionManager`]
//! (no TLS stack, so no C build). `fred` offers more (pooling, sentinel, client-side
//! caching) than a store of short scripts needs, at the cost of a larger surface. The
//! store uses only `EVALSHA`, `SCRIPT LOAD`, `GET`/`SET` and `HMGET`, so a move to
//! another client would touch `conn.rs` alone. `redis` is re-exported so that a host can
//! build its [`redis::Client`] (credentials, database) with the same version.
//!
//! # Housekeeping
//!
//! Redis expires records on its own. [`Store::purge_expired`] deletes expired records
//! through the expiry index in bounded batches (each script examines at most a fixed
//! number of entries), for hosts that want expired records gone at a known time.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(feature = "cluster")]
mod cluster;
mod codec;
mod conn;
mod error;
mod keys;
mod options;
mod scripts;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use oauth_core::model::{
    AccessTokenRecord, AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord,
    IssuedTokens, RefreshTokenRecord, UserId,
};
use oauth_core::store::{
    ClientAndCode, CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{Store, StoreError, TokenHash, UnixTime};
use redis::ScriptInvocation;

pub use keys::MAX_PREFIX_LEN;
pub use options::{RedisStoreOptions, DEFAULT_PREFIX};
pub use redis;

use codec::{decode, encode};
use conn::Conn;
use error::{conflict, corrupt, misuse};
use keys::{escape, hex, parse_time, time, ttl_ms, Keys};
use scripts::Scripts;

/// Why a store could not be configured or connected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The key prefix is not 1 to [`MAX_PREFIX_LEN`] characters of `A-Z a-z 0-9 _ . -`.
    #[error("invalid key prefix: use 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'")]
    InvalidPrefix,
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL")]
    InvalidUrl(#[source] redis::RedisError),
    /// The server could not be reached, refused the connection or did not answer in time.
    #[error("connecting to Redis failed")]
    Connect(#[source] redis::RedisError),
    /// The server is older than Redis 7.0 (the scripts use its shebang flags).
    #[error("the Redis server is version {version}; this store needs 7.0 or newer")]
    UnsupportedServer {
        /// The version the server reported.
        version: String,
    },
    /// The server has a memory limit and a `maxmemory-policy` other than `noeviction`: it
    /// could evict a tombstone (a replayed code would go unnoticed) or an index (a
    /// revocation would miss tokens). Set `maxmemory-policy noeviction`; a full server
    /// then refuses writes, which the store reports as unavailable.
    #[error("the Redis server may evict keys (maxmemory-policy {policy}); set noeviction")]
    EvictionPolicy {
        /// The policy the server reported.
        policy: String,
    },
}

/// Most records one purge script deletes, so that no script holds the server long.
const PURGE_BATCH: usize = 256;
/// Most expiry-index entries one purge script examines.
const PURGE_EXAMINE: usize = 1024;
/// Most purge scripts one call of `purge_expired` runs.
const PURGE_MAX_SCRIPTS: usize = 64;

/// A [`Store`] on Redis. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    conn: Conn,
    scripts: Arc<Scripts>,
}

impl RedisStore {
    /// Connects to the server at `url` with the default [`RedisStoreOptions`].
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        RedisStoreOptions::new(url)?.connect().await
    }

    fn assemble(keys: Keys, conn: Conn, scripts: Arc<Scripts>) -> Self {
        RedisStore {
            inner: Arc::new(Inner {
                keys,
                conn,
                scripts,
            }),
        }
    }

    fn conn(&self) -> &Conn {
        &self.inner.conn
    }

    /// Whether this store runs against a Redis Cluster (single-slot steps).
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        self.inner.conn.is_cluster()
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        self.inner.keys.prefix()
    }

    /// The `SCAN MATCH` pattern of exactly this store's keys, for operators and tests.
    #[must_use]
    pub fn key_pattern(&self) -> String {
        self.inner.keys.pattern()
    }

    /// How many requests this store (and its clones) has sent to Redis: each is one
    /// network round trip. For metrics, and for tests that pin the cost of an operation.
    #[must_use]
    pub fn round_trips(&self) -> u64 {
        self.inner.conn.requests()
    }

    /// Runs a script, returning its reply as a list of (possibly nil) strings.
    async fn eval(&self, invocation: ScriptInvocation<'_>) -> Result<Reply, StoreError> {
        let fields: Vec<Option<Vec<u8>>> = self
            .conn()
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(Reply(fields))
    }

    /// Runs a script whose reply is a status only: `ok`, or a refusal.
    async fn eval_status(&self, invocation: ScriptInvocation<'_>) -> Result<(), StoreError> {
        let reply = self.eval(invocation).await?;
        match reply.status()? {
            b"ok" => Ok(()),
            _ => Err(reply.refusal()),
        }
    }

    /// Runs one command.
    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        self.conn()
            .run(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// A script invocation with the prefix as `ARGV[1]` and `key` as `KEYS[1]`.
    fn invoke<'a>(&self, script: &'a redis::Script, key: String) -> ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation.key(key).arg(self.inner.keys.prefix());
        invocation
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Records stay out of logs; the store only says what it is.
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.keys.prefix())
            .finish_non_exhaustive()
    }
}

/// A script's reply: a status, then the fields that status carries.
struct Reply(Vec<Option<Vec<u8>>>);

impl Reply {
    fn status(&self) -> Result<&[u8], StoreError> {
        self.field(0)
    }

    fn field(&self, i: usize) -> Result<&[u8], StoreError> {
        self.0
            .get(i)
            .and_then(Option::as_deref)
            .ok_or_else(|| corrupt("a script reply lacks a field (a record misses a part)"))
    }

    /// The answer of a `find_code` script (standalone or grant-slot).
    fn code_lookup(&self) -> Result<CodeLookup, StoreError> {
        self.code_lookup_with_record_at(1)
    }

    /// A code lookup whose record (if any) is field `record`.
    fn code_lookup_with_record_at(&self, record: usize) -> Result<CodeLookup, StoreError> {
        match self.status()? {
            b"notfound" => Ok(CodeLookup::NotFound),
            b"active" => Ok(CodeLookup::Active(decode(self.field(record)?, "code")?)),
            b"used" => Ok(CodeLookup::Used(decode(self.field(record)?, "code")?)),
            _ => Err(self.refusal()),
        }
    }

    /// The answer of the `client_and_code` script: `noclient`, or the code's status, the
    /// client, and the code's record. A code record that cannot be decoded fails the
    /// code's part only.
    fn client_and_code(&self) -> ClientAndCode {
        let client = match self.status() {
            Ok(b"noclient") => Ok(None),
            Ok(b"notfound" | b"active" | b"used") => self
                .field(1)
                .and_then(|bytes| decode(bytes, "client").map(Some)),
            Ok(_) => Err(self.refusal()),
            Err(e) => Err(e),
        };
        let code = match client {
            Ok(Some(_)) => Some(self.code_lookup_with_record_at(2)),
            _ => None,
        };
        ClientAndCode { client, code }
    }

    /// The answer of an `access_token` script: the token and its grant, checked to be
    /// the ones asked for.
    fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        match self.status()? {
            b"notfound" => Ok(None),
            b"ok" => {
                let token: AccessTokenRecord = decode(self.field(1)?, "access token")?;
                let grant: GrantRecord = decode(self.field(2)?, "grant")?;
                if !token.hash.ct_eq(hash) || token.grant_id != grant.id {
                    return Err(corrupt("a stored access token is filed under another key"));
                }
                Ok(Some(AccessTokenWithGrant { token, grant }))
            }
            _ => Err(self.refusal()),
        }
    }

    /// The answer of a `find_refresh` script.
    fn refresh_lookup(&self) -> Result<RefreshLookup, StoreError> {
        match self.status()? {
            b"notfound" => Ok(RefreshLookup::NotFound),
            b"active" => Ok(RefreshLookup::Active(decode(
                self.field(1)?,
                "refresh token",
            )?)),
            b"retired" => {
                let record: RefreshTokenRecord = decode(self.field(1)?, "refresh token")?;
                let retired_at = parse_time(self.field(2)?)
                    .ok_or_else(|| corrupt("a stored retirement time is malformed"))?;
                Ok(RefreshLookup::Retired {
                    grant_id: record.grant_id,
                    client_id: record.client_id,
                    retired_at,
                })
            }
            _ => Err(self.refusal()),
        }
    }

    /// The answer of a `claim_refresh_grace` script.
    fn grace(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match self.status()? {
            b"none" => Ok(None),
            b"grace" => Ok(Some(self.field(1)?.to_vec())),
            _ => Err(self.refusal()),
        }
    }

    /// The error for a `conflict` or `misuse` reply, or a corrupt reply otherwise.
    fn refusal(&self) -> StoreError {
        let message = || {
            self.field(1)
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .unwrap_or_default()
        };
        match self.status() {
            Ok(b"conflict") => conflict(message()),
            Ok(b"misuse") => misuse(message()),
            _ => corrupt("a script answered with an unknown status"),
        }
    }
}

/// In cluster mode, runs the single-slot version of an operation (`crate::cluster`)
/// instead of the one-script version that follows.
macro_rules! in_cluster {
    ($store:expr, $op:ident ( $($arg:expr),* )) => {
        #[cfg(feature = "cluster")]
        if $store.is_cluster() {
            return $store.$op($($arg),*).await;
        }
    };
}

/// Refuses tokens that name another grant than the one they are stored under.
fn check_tokens_name(grant_id: &GrantId, tokens: &IssuedTokens) -> Result<(), StoreError> {
    let refresh_grant = tokens.refresh.as_ref().map(|r| &r.grant_id);
    if tokens.access.grant_id != *grant_id || refresh_grant.is_some_and(|g| g != grant_id) {
        return Err(misuse("the tokens name another grant than the one given"));
    }
    Ok(())
}

/// Appends the eight arguments of `tokens` the scripts read with `put_tokens`. TTLs count
/// from `base` when given (the operation's `now`), else from each token's issue time.
fn push_tokens(
    invocation: &mut ScriptInvocation<'_>,
    tokens: &IssuedTokens,
    base: Option<UnixTime>,
) -> Result<(), StoreError> {
    let access = &tokens.access;
    invocation
        .arg(hex(&access.hash))
        .arg(time(access.expires_at))
        .arg(ttl_ms(access.expires_at, base.unwrap_or(access.issued_at)))
        .arg(encode(access)?);
    match &tokens.refresh {
        Some(refresh) => invocation
            .arg(hex(&refresh.hash))
            .arg(time(refresh.expires_at))
            .arg(ttl_ms(
                refresh.expires_at,
                base.unwrap_or(refresh.issued_at),
            ))
            .arg(encode(refresh)?),
        None => invocation.arg("").arg("").arg("").arg(""),
    };
    Ok(())
}

/// Appends the arguments of a grant the scripts read with `put_grant`: expiry, TTL,
/// record, user tag (empty for a client's own grant) and client tag.
fn push_grant(
    invocation: &mut ScriptInvocation<'_>,
    grant: &GrantRecord,
) -> Result<(), StoreError> {
    invocation
        .arg(time(grant.expires_at))
        .arg(ttl_ms(grant.expires_at, grant.created_at))
        .arg(encode(grant)?)
        .arg(
            grant
                .subject
                .user()
                .map(|u| escape(u.as_str()))
                .unwrap_or_default(),
        )
        .arg(escape(grant.client_id.as_str()));
    Ok(())
}

#[async_trait]
impl Store for RedisStore {
    /// Every conditional write is one Lua script, which Redis runs atomically; in a
    /// cluster a script's keys share one hash slot.
    fn single_use(&self) -> oauth_core::SingleUse {
        oauth_core::SingleUse::Atomic
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let stored: Option<Vec<u8>> = self
            .query(
                redis::cmd("GET")
                    .arg(self.inner.keys.client(id.as_str()))
                    .clone(),
            )
            .await?;
        stored.map(|bytes| decode(&bytes, "client")).transpose()
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.inner.keys.client(client.id.as_str()))
            .arg(encode(client)?);
        let _: () = self.query(cmd).await?;
        Ok(())
    }

    async fn replace_client(&self, client: &Client) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.inner.keys.client(client.id.as_str()))
            .arg(encode(client)?)
            .arg("XX");
        let done: Option<String> = self.query(cmd).await?;
        Ok(done.is_some())
    }

    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.inner.keys.client(client.id.as_str()))
            .arg(encode(client)?)
            .arg("NX");
        let done: Option<String> = self.query(cmd).await?;
        Ok(done.is_some())
    }

    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        in_cluster!(self, c_delete_client(id));
        let tag = escape(id.as_str());
        let mut invocation = self.invoke(
            &self.inner.scripts.delete_client,
            self.inner.keys.client_index(&tag),
        );
        invocation.arg(tag);
        self.eval_status(invocation).await
    }

    async fn create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        if code.grant_id != grant.id {
            return Err(misuse("the code names another grant than the one created"));
        }
        in_cluster!(self, c_create_grant_with_code(grant, code));
        let tag = escape(grant.id.as_str());
        let mut invocation = self.invoke(
            &self.inner.scripts.create_grant_with_code,
            self.inner.keys.grant(&tag),
        );
        invocation.arg(tag);
        push_grant(&mut invocation, grant)?;
        invocation
            .arg(hex(&code.hash))
            .arg(time(code.expires_at))
            .arg(ttl_ms(code.expires_at, grant.created_at))
            .arg(encode(code)?);
        self.eval_status(invocation).await
    }

    async fn find_code(&self, hash: &TokenHash, now: UnixTime) -> Result<CodeLookup, StoreError> {
        in_cluster!(self, c_find_code(hash, now));
        let mut invocation = self.invoke(
            &self.inner.scripts.find_code,
            self.inner.keys.locator("code", hash),
        );
        invocation.arg(hex(hash)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.code_lookup()
    }

    /// One script (one round trip) in standalone mode; when the script fails as a whole
    /// (the server, or a corrupt code reference) the client is read alone, so that the
    /// request still fails on its client first. In a cluster the client and the code live
    /// in different slots: the code is read while the client is, and dropped unawaited
    /// when there is no client.
    async fn client_and_code(
        &self,
        id: &ClientId,
        code: &TokenHash,
        now: UnixTime,
    ) -> ClientAndCode {
        #[cfg(feature = "cluster")]
        if self.is_cluster() {
            return self.c_client_and_code(id, code, now).await;
        }
        let mut invocation = self.invoke(
            &self.inner.scripts.client_and_code,
            self.inner.keys.client(id.as_str()),
        );
        invocation.arg(hex(code)).arg(time(now));
        match self.eval(invocation).await {
            Ok(reply) => reply.client_and_code(),
            Err(failure) => {
                let client = self.client(id).await;
                let code = matches!(client, Ok(Some(_))).then_some(Err(failure));
                ClientAndCode { client, code }
            }
        }
    }

    async fn consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        in_cluster!(self, c_consume_code(hash, issued, now));
        // The tokens must name one grant; the script checks it is the code's.
        check_tokens_name(&issued.access.grant_id, issued)?;
        let mut invocation = self.invoke(
            &self.inner.scripts.consume_code,
            self.inner.keys.locator("code", hash),
        );
        invocation
            .arg(hex(hash))
            .arg(time(now))
            .arg(escape(issued.access.grant_id.as_str()));
        push_tokens(&mut invocation, issued, Some(now))?;
        let reply = self.eval(invocation).await?;
        match reply.status()? {
            b"consumed" => Ok(ConsumeOutcome::Consumed),
            b"notfound" => Ok(ConsumeOutcome::NotFound),
            b"used" => {
                let code: CodeRecord = decode(reply.field(1)?, "code")?;
                Ok(ConsumeOutcome::AlreadyUsed {
                    grant_id: code.grant_id,
                })
            }
            _ => Err(reply.refusal()),
        }
    }

    async fn grant(&self, id: &GrantId, now: UnixTime) -> Result<Option<GrantRecord>, StoreError> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.inner.keys.grant(&escape(id.as_str())))
            .arg("exp")
            .arg("rec");
        let (exp, rec): (Option<Vec<u8>>, Option<Vec<u8>>) = self.query(cmd).await?;
        let (Some(exp), Some(rec)) = (exp, rec) else {
            return Ok(None);
        };
        let exp = parse_time(&exp).ok_or_else(|| corrupt("a stored grant expiry is malformed"))?;
        if exp.is_expired_at(now) {
            return Ok(None);
        }
        decode(&rec, "grant").map(Some)
    }

    async fn grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        in_cluster!(self, c_grants_for_user(user, now));
        let tag = escape(user.as_str());
        let mut invocation = self.invoke(
            &self.inner.scripts.grants_for_user,
            self.inner.keys.user_index(&tag),
        );
        invocation.arg(tag).arg(time(now));
        let reply = self.eval(invocation).await?;
        let mut grants = reply
            .0
            .iter()
            .map(|rec| {
                let rec = rec
                    .as_deref()
                    .ok_or_else(|| corrupt("a stored grant misses its record"))?;
                decode::<GrantRecord>(rec, "grant")
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The index held candidates; the record is the truth.
        grants.retain(|g| g.subject.user() == Some(user) && !g.expires_at.is_expired_at(now));
        grants.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(grants)
    }

    async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        in_cluster!(self, c_revoke_grant(id));
        let tag = escape(id.as_str());
        let mut invocation = self.invoke(
            &self.inner.scripts.revoke_grant,
            self.inner.keys.grant(&tag),
        );
        invocation.arg(tag);
        self.eval_status(invocation).await
    }

    async fn revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError> {
        in_cluster!(self, c_revoke_user_grants(user));
        let tag = escape(user.as_str());
        let mut invocation = self.invoke(
            &self.inner.scripts.revoke_user_grants,
            self.inner.keys.user_index(&tag),
        );
        invocation.arg(tag);
        self.eval_status(invocation).await
    }

    async fn store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        in_cluster!(self, c_store_tokens(new_grant, tokens));
        let grant_id = new_grant.map_or(&tokens.access.grant_id, |grant| &grant.id);
        check_tokens_name(grant_id, tokens)?;
        let tag = escape(grant_id.as_str());
        let mut invocation = self.invoke(
            &self.inner.scripts.store_tokens,
            self.inner.keys.grant(&tag),
        );
        invocation.arg(tag);
        match new_grant {
            Some(grant) => {
                invocation.arg("1");
                push_grant(&mut invocation, grant)?;
            }
            None => {
                invocation.arg("0").arg("").arg("").arg("").arg("").arg("");
            }
        }
        push_tokens(&mut invocation, tokens, None)?;
        // The grant must be live when the tokens are issued.
        invocation.arg(time(tokens.access.issued_at));
        self.eval_status(invocation).await
    }

    async fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        in_cluster!(self, c_access_token(hash, now));
        let mut invocation = self.invoke(
            &self.inner.scripts.access_token,
            self.inner.keys.locator("at", hash),
        );
        invocation.arg(hex(hash)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.access_token(hash)
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        in_cluster!(self, c_revoke_access_token(hash));
        let mut invocation = self.invoke(
            &self.inner.scripts.revoke_access_token,
            self.inner.keys.locator("at", hash),
        );
        invocation.arg(hex(hash));
        self.eval_status(invocation).await
    }

    async fn find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError> {
        in_cluster!(self, c_find_refresh(hash, now));
        let mut invocation = self.invoke(
            &self.inner.scripts.find_refresh,
            self.inner.keys.locator("rt", hash),
        );
        invocation.arg(hex(hash)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.refresh_lookup()
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        in_cluster!(self, c_rotate_refresh(old, successor, grace, now));
        check_tokens_name(&successor.access.grant_id, successor)?;
        let mut invocation = self.invoke(
            &self.inner.scripts.rotate_refresh,
            self.inner.keys.locator("rt", old),
        );
        invocation
            .arg(hex(old))
            .arg(time(now))
            .arg(escape(successor.access.grant_id.as_str()));
        match grace {
            Some(grace) => invocation
                .arg("1")
                .arg(&grace.sealed_successor[..])
                .arg(time(grace.until)),
            None => invocation.arg("0").arg("").arg(""),
        };
        push_tokens(&mut invocation, successor, Some(now))?;
        let reply = self.eval(invocation).await?;
        match reply.status()? {
            b"rotated" => Ok(RotateOutcome::Rotated),
            b"notfound" => Ok(RotateOutcome::NotFound),
            b"reused" => {
                let record: RefreshTokenRecord = decode(reply.field(1)?, "refresh token")?;
                Ok(RotateOutcome::Reused {
                    grant_id: record.grant_id,
                })
            }
            _ => Err(reply.refusal()),
        }
    }

    async fn claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        in_cluster!(self, c_claim_refresh_grace(retired, now));
        let mut invocation = self.invoke(
            &self.inner.scripts.claim_refresh_grace,
            self.inner.keys.locator("rt", retired),
        );
        invocation.arg(hex(retired)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.grace()
    }

    async fn insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        in_cluster!(self, c_insert_once(key, expires_at, now));
        let namespace = escape(key.namespace);
        let key_hex = hex(&TokenHash(key.key));
        let mut invocation = self.invoke(
            &self.inner.scripts.insert_once,
            self.inner.keys.once(&namespace, &key_hex),
        );
        invocation
            .arg(namespace)
            .arg(key_hex)
            .arg(time(expires_at))
            .arg(ttl_ms(expires_at, now))
            .arg(time(now));
        let inserted: i64 = self
            .conn()
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(inserted == 1)
    }

    async fn purge_expired(&self, now: UnixTime, limit: usize) -> Result<usize, StoreError> {
        in_cluster!(self, c_purge_expired(now, limit));
        let mut removed = 0usize;
        for _ in 0..PURGE_MAX_SCRIPTS {
            let budget = limit.saturating_sub(removed).min(PURGE_BATCH);
            if budget == 0 {
                break;
            }
            let mut invocation = self.invoke(&self.inner.scripts.purge, self.inner.keys.expiry());
            invocation.arg(time(now)).arg(budget).arg(PURGE_EXAMINE);
            let (deleted, more): (usize, u8) = self
                .conn()
                .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
                .await?;
            removed = removed.saturating_add(deleted);
            if more == 0 {
                break;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_prefix_only() {
        let store = RedisStoreOptions::new("redis://127.0.0.1:1")
            .unwrap()
            .prefix("tenant")
            .connect_lazy()
            .unwrap();
        assert_eq!(
            format!("{store:?}"),
            r#"RedisStore { prefix: "tenant", .. }"#
        );
    }

    #[test]
    fn invalid_prefixes_and_urls_are_refused() {
        assert!(matches!(
            RedisStoreOptions::new("redis://127.0.0.1:1")
                .unwrap()
                .prefix("a{b}")
                .connect_lazy(),
            Err(OpenError::InvalidPrefix)
        ));
        assert!(matches!(
            RedisStoreOptions::new("http://example.com"),
            Err(OpenError::InvalidUrl(_))
        ));
    }
}
