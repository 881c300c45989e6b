//! # oauth-store-memory
//!
//! An in-memory [`Store`] for tests, demos and single-process servers. Everything is
//! lost when the process exits.
//!
//! Every operation is one critical section under one [`std::sync::Mutex`], and nothing
//! is awaited while the lock is held, so each operation is atomic: of concurrent
//! redemptions of one code exactly one wins, a refresh rotation retires the old token and
//! stores its successor in one step, and `insert_once` is a true insert-if-absent.
//!
//! The store keeps real indexes, so work is proportional to what an operation touches:
//! codes and tokens by grant, grants by user and by client, and every expiring record by
//! `(expires_at, kind, key)` in an ordered index that [`Store::purge_expired`] walks from
//! the oldest entry, stopping at the limit.
//!
//! Redeemed codes stay as tombstones (the record, marked used) and retired refresh tokens
//! as tombstones of their grant, client and retirement time, each until the record's own
//! expiry. A code or token whose grant has expired reads as absent; purging an expired
//! grant removes the records under it too, each counted against the limit.
//!
//! Writes that would corrupt the indexes are refused with a [`StoreError`] and change
//! nothing: tokens or a code naming another grant than the one they are stored under,
//! an id or hash that exists already, and tokens for a grant that no longer exists
//! (revoked while they were being issued; storing them would report a false success).
//!
//! A poisoned lock (a panic in another thread while it held the lock) is reported as a
//! [`StoreError`], never as a panic.
//!
//! # Example
//!
//! ```
//! use oauth_core::store::{CodeLookup, OnceKey};
//! use oauth_core::{Store, TokenHash, UnixTime};
//! use oauth_store_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), oauth_core::StoreError> {
//! let store = MemoryStore::new();
//! let now = UnixTime(1_700_000_000);
//!
//! // A one-time marker is new once, until it expires.
//! let marker = OnceKey { namespace: "ticket", key: [7; 32] };
//! assert!(store.insert_once(marker, now.plus(60), now).await?);
//! assert!(!store.insert_once(marker, now.plus(60), now).await?);
//! assert!(store.insert_once(marker, now.plus(120), now.plus(60)).await?);
//!
//! // Unknown codes are simply not found.
//! let code = TokenHash([1; 32]);
//! assert_eq!(store.find_code(&code, now).await?, CodeLookup::NotFound);
//!
//! // The store is usable behind `dyn Store`, as the provider holds it.
//! let shared: std::sync::Arc<dyn Store> = std::sync::Arc::new(store);
//! assert_eq!(shared.purge_expired(now.plus(1_000), 100).await?, 1);
//! # Ok(())
//! # }
//! ```
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

mod state;

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use oauth_core::model::{
    AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens, UserId,
};
use oauth_core::store::{
    CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{Store, StoreError, StoreErrorKind, TokenHash, UnixTime};

use state::State;

/// An in-memory [`Store`]: one mutex, real indexes, bounded purge.
///
/// Each value is its own isolated store; share one between tasks with an
/// [`Arc`](std::sync::Arc).
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Enters the critical section, turning a poisoned lock into a [`StoreError`].
    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| {
            StoreError::new(
                StoreErrorKind::Other,
                "memory store lock poisoned by a panic in another thread",
            )
        })
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Records stay out of logs; the store only says what it is.
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for MemoryStore {
    /// Every write is decided under the one lock.
    fn single_use(&self) -> oauth_core::SingleUse {
        oauth_core::SingleUse::Atomic
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(self.lock()?.client(id))
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.lock()?.put_client(client);
        Ok(())
    }

    async fn replace_client(&self, client: &Client) -> Result<bool, StoreError> {
        Ok(self.lock()?.replace_client(client))
    }

    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        Ok(self.lock()?.insert_client(client))
    }

    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        self.lock()?.delete_client(id);
        Ok(())
    }

    async fn create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        self.lock()?.create_grant_with_code(grant, code)
    }

    async fn find_code(&self, hash: &TokenHash, now: UnixTime) -> Result<CodeLookup, StoreError> {
        Ok(self.lock()?.find_code(hash, now))
    }

    async fn consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.lock()?.consume_code(hash, issued, now)
    }

    async fn grant(&self, id: &GrantId, now: UnixTime) -> Result<Option<GrantRecord>, StoreError> {
        Ok(self.lock()?.live_grant(id, now).cloned())
    }

    async fn grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        Ok(self.lock()?.grants_for_user(user, now))
    }

    async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        self.lock()?.revoke_grant(id);
        Ok(())
    }

    async fn revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError> {
        self.lock()?.revoke_user_grants(user);
        Ok(())
    }

    async fn store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        self.lock()?.store_tokens(new_grant, tokens)
    }

    async fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        Ok(self.lock()?.access_token(hash, now))
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.lock()?.remove_access(hash);
        Ok(())
    }

    async fn find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError> {
        Ok(self.lock()?.find_refresh(hash, now))
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        self.lock()?.rotate_refresh(old, successor, grace, now)
    }

    async fn claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.claim_refresh_grace(retired, now))
    }

    async fn insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(self.lock()?.insert_once(key, expires_at, now))
    }

    async fn purge_expired(&self, now: UnixTime, limit: usize) -> Result<usize, StoreError> {
        Ok(self.lock()?.purge_expired(now, limit))
    }
}

#[cfg(test)]
mod tests;
