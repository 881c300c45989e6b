//! The [`Store`] implementation: reads, decisions, and conditional commits retried in a
//! bounded compare-and-swap loop.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use oauth_core::model::{
    AccessTokenRecord, AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord,
    IssuedTokens, UserId,
};
use oauth_core::store::{
    CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{SingleUse, Store, StoreError, StoreErrorKind, TokenHash, UnixTime};

use crate::backend::{Commit, CommitOutcome, Key, KvBackend};
use crate::codec::{decode, encode, StoredCode, StoredGrace, StoredOnce, StoredRefresh};
use crate::keys::{escape, time, Child, Keys};
use crate::{Inner, KvStore};

/// What one attempt of an operation decided.
pub(crate) enum Plan<T> {
    /// Nothing to write: the answer is final.
    Done(T),
    /// The answer, if this commit applies.
    Commit(Commit, T),
}

pub(crate) fn conflict(message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Conflict, message)
}

pub(crate) fn misuse(message: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Other, message)
}

/// A grant read with the exact bytes it was stored as (the bytes conditions compare).
pub(crate) struct Read<T> {
    pub(crate) record: T,
    pub(crate) bytes: Vec<u8>,
}

impl<B: KvBackend> Inner<B> {
    /// The value under `key`, if any.
    pub(crate) async fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.backend.get(key).await?.map(|entry| entry.value))
    }

    /// The values under `keys`, in order.
    pub(crate) async fn read_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let entries = self.backend.get_many(keys).await?;
        if entries.len() != keys.len() {
            return Err(StoreError::new(
                StoreErrorKind::Corrupt,
                "the key-value backend answered get_many with the wrong number of entries",
            ));
        }
        Ok(entries.into_iter().map(|e| e.map(|e| e.value)).collect())
    }

    /// Commits `commit`. A backend error is returned as is: the outcome is unknown, so it
    /// is never retried.
    pub(crate) async fn commit(&self, commit: &Commit) -> Result<CommitOutcome, StoreError> {
        debug_assert!(
            commit.len() <= self.max_commit_len,
            "a commit of {} entries; the backend takes {}",
            commit.len(),
            self.max_commit_len
        );
        Ok(self.backend.commit(commit).await?)
    }

    /// The compare-and-swap loop: plans, commits, and on a conflict plans again from fresh
    /// reads, at most `max_attempts` times.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        op: &'static str,
        mut plan: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Plan<T>, StoreError>>,
    {
        for attempt in 1..=self.max_attempts {
            match plan().await? {
                Plan::Done(answer) => return Ok(answer),
                Plan::Commit(commit, answer) => match self.commit(&commit).await? {
                    CommitOutcome::Applied => return Ok(answer),
                    CommitOutcome::Conflict => {
                        tracing::debug!(op, attempt, "conditional commit conflicted; re-reading");
                        tokio::task::yield_now().await;
                    }
                },
            }
        }
        tracing::warn!(
            op,
            attempts = self.max_attempts,
            "gave up after conflicting commits"
        );
        Err(conflict(format!(
            "{op}: every one of {} conditional commits conflicted",
            self.max_attempts
        )))
    }

    // ---- reading records ----

    pub(crate) async fn read_grant(
        &self,
        id: &str,
    ) -> Result<Option<Read<GrantRecord>>, StoreError> {
        let Some(bytes) = self.read(&self.keys.grant(id)).await? else {
            return Ok(None);
        };
        let record: GrantRecord = decode(&bytes, "grant")?;
        if record.id.as_str() != id {
            return Err(StoreError::new(
                StoreErrorKind::Corrupt,
                "a stored grant is filed under another id",
            ));
        }
        Ok(Some(Read { record, bytes }))
    }

    /// The grant if it exists and is unexpired at `now`.
    async fn live_grant(
        &self,
        id: &GrantId,
        now: UnixTime,
    ) -> Result<Option<Read<GrantRecord>>, StoreError> {
        Ok(self
            .read_grant(id.as_str())
            .await?
            .filter(|g| !g.record.expires_at.is_expired_at(now)))
    }

    async fn grant_exists(&self, id: &GrantId) -> Result<bool, StoreError> {
        Ok(self.read(&self.keys.grant(id.as_str())).await?.is_some())
    }

    // ---- what commits write ----

    /// Writes a grant with its user, client and expiry index entries.
    fn put_grant(&self, commit: &mut Commit, grant: &GrantRecord) -> Result<(), StoreError> {
        let keys = &self.keys;
        let id = grant.id.as_str();
        let exp = Some(grant.expires_at);
        let stamp = time(grant.expires_at).into_bytes();
        commit.put(keys.grant(id), encode(grant)?, exp);
        if let Some(user) = grant.subject.user() {
            let entry = Keys::index_entry(&keys.user_grants(user.as_str()), &escape(id));
            commit.put(entry, stamp.clone(), exp);
        }
        let entry = Keys::index_entry(&keys.client_grants(grant.client_id.as_str()), &escape(id));
        commit.put(entry, stamp, exp);
        commit.put(keys.expiry_grant(grant.expires_at, id), Vec::new(), exp);
        Ok(())
    }

    /// Writes a code or token with its child and expiry index entries.
    fn put_child(
        &self,
        commit: &mut Commit,
        grant: &GrantId,
        kind: Child,
        hash: &TokenHash,
        value: Vec<u8>,
        expires_at: UnixTime,
    ) {
        let keys = &self.keys;
        let exp = Some(expires_at);
        commit.put(keys.child(kind, hash), value, exp);
        commit.put(
            keys.grant_child(grant.as_str(), kind, hash),
            time(expires_at).into_bytes(),
            exp,
        );
        commit.put(
            keys.expiry_child(expires_at, kind, &hash.to_hex()),
            Vec::new(),
            exp,
        );
    }

    /// Checks that `tokens` may be stored under `grant` and adds them to `commit`,
    /// conditioned on their keys being free. Fails with a conflict if a key is taken.
    async fn add_tokens(
        &self,
        commit: &mut Commit,
        grant: &GrantId,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        let refresh_grant = tokens.refresh.as_ref().map(|r| &r.grant_id);
        if tokens.access.grant_id != *grant || refresh_grant.is_some_and(|g| g != grant) {
            return Err(misuse("the tokens name another grant than the one given"));
        }
        let mut taken = vec![self.keys.child(Child::Access, &tokens.access.hash)];
        if let Some(refresh) = &tokens.refresh {
            taken.push(self.keys.child(Child::Refresh, &refresh.hash));
        }
        let found = self.read_many(&taken).await?;
        if found.first().is_some_and(Option::is_some) {
            return Err(conflict("an access token with this hash exists already"));
        }
        if found.get(1).is_some_and(Option::is_some) {
            return Err(conflict("a refresh token with this hash exists already"));
        }
        for key in taken {
            commit.expect_absent(key);
        }
        let access = &tokens.access;
        self.put_child(
            commit,
            grant,
            Child::Access,
            &access.hash,
            encode(access)?,
            access.expires_at,
        );
        if let Some(refresh) = &tokens.refresh {
            let stored = StoredRefresh::Active {
                token: refresh.clone(),
            };
            self.put_child(
                commit,
                grant,
                Child::Refresh,
                &refresh.hash,
                encode(&stored)?,
                refresh.expires_at,
            );
        }
        Ok(())
    }

    // ---- plans ----

    async fn plan_consume(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<Plan<ConsumeOutcome>, StoreError> {
        let code_key = self.keys.child(Child::Code, hash);
        let Some(bytes) = self.read(&code_key).await? else {
            return Ok(Plan::Done(ConsumeOutcome::NotFound));
        };
        let stored: StoredCode = decode(&bytes, "code")?;
        if stored.code.expires_at.is_expired_at(now) {
            return Ok(Plan::Done(ConsumeOutcome::NotFound));
        }
        let grant_id = stored.code.grant_id.clone();
        if stored.used {
            // A tombstone lives as long as its grant's record does.
            return Ok(Plan::Done(if self.grant_exists(&grant_id).await? {
                ConsumeOutcome::AlreadyUsed { grant_id }
            } else {
                ConsumeOutcome::NotFound
            }));
        }
        let Some(grant) = self.live_grant(&grant_id, now).await? else {
            return Ok(Plan::Done(ConsumeOutcome::NotFound));
        };
        let mut commit = Commit::new();
        commit
            .expect_value(code_key.clone(), bytes)
            .expect_value(self.keys.grant(grant_id.as_str()), grant.bytes);
        self.add_tokens(&mut commit, &grant_id, issued).await?;
        let tombstone = StoredCode {
            used: true,
            code: stored.code,
        };
        // Same key, same expiry: the index entries stay as they are.
        commit.put(
            code_key,
            encode(&tombstone)?,
            Some(tombstone.code.expires_at),
        );
        Ok(Plan::Commit(commit, ConsumeOutcome::Consumed))
    }

    async fn plan_rotate(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<Plan<RotateOutcome>, StoreError> {
        let old_key = self.keys.child(Child::Refresh, old);
        let Some(bytes) = self.read(&old_key).await? else {
            return Ok(Plan::Done(RotateOutcome::NotFound));
        };
        let stored: StoredRefresh = decode(&bytes, "refresh token")?;
        if stored.expires_at().is_expired_at(now) {
            return Ok(Plan::Done(RotateOutcome::NotFound));
        }
        let token = match stored {
            StoredRefresh::Retired { grant_id, .. } => {
                return Ok(Plan::Done(if self.grant_exists(&grant_id).await? {
                    RotateOutcome::Reused { grant_id }
                } else {
                    RotateOutcome::NotFound
                }));
            }
            StoredRefresh::Active { token } => token,
        };
        let Some(grant) = self.live_grant(&token.grant_id, now).await? else {
            return Ok(Plan::Done(RotateOutcome::NotFound));
        };
        let mut commit = Commit::new();
        commit
            .expect_value(old_key.clone(), bytes)
            .expect_value(self.keys.grant(token.grant_id.as_str()), grant.bytes);
        self.add_tokens(&mut commit, &token.grant_id, successor)
            .await?;
        let tombstone = StoredRefresh::Retired {
            grant_id: token.grant_id,
            client_id: token.client_id,
            retired_at: now,
            expires_at: token.expires_at,
            grace: grace.map(StoredGrace::from),
        };
        commit.put(old_key, encode(&tombstone)?, Some(token.expires_at));
        Ok(Plan::Commit(commit, RotateOutcome::Rotated))
    }

    async fn plan_claim_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Plan<Option<Vec<u8>>>, StoreError> {
        let key = self.keys.child(Child::Refresh, retired);
        let Some(bytes) = self.read(&key).await? else {
            return Ok(Plan::Done(None));
        };
        let StoredRefresh::Retired {
            grant_id,
            client_id,
            retired_at,
            expires_at,
            grace: Some(grace),
        } = decode(&bytes, "refresh token")?
        else {
            return Ok(Plan::Done(None));
        };
        // Only while the grant exists: a revoked grant's successor is of no use to anyone.
        let Some(grant) = self.read_grant(grant_id.as_str()).await? else {
            return Ok(Plan::Done(None));
        };
        let taken = StoredRefresh::Retired {
            grant_id,
            client_id,
            retired_at,
            expires_at,
            grace: None,
        };
        let mut commit = Commit::new();
        commit
            .expect_value(key.clone(), bytes)
            .expect_value(self.keys.grant(taken.grant_id().as_str()), grant.bytes)
            .put(key, encode(&taken)?, Some(expires_at));
        // The grace is taken either way, so a late claim cannot be followed by a claim at
        // an earlier `now`; it is handed out only before `until`.
        let answer = (!grace.until.is_expired_at(now)).then_some(grace.sealed_successor);
        Ok(Plan::Commit(commit, answer))
    }

    async fn plan_insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<Plan<bool>, StoreError> {
        let marker = self.keys.once(key.namespace, &key.key);
        let mut commit = Commit::new();
        match self.read(&marker).await? {
            Some(bytes) => {
                let previous: StoredOnce = decode(&bytes, "one-time marker")?;
                if !previous.expires_at.is_expired_at(now) {
                    return Ok(Plan::Done(false));
                }
                commit
                    .expect_value(marker.clone(), bytes)
                    .delete(
                        self.keys
                            .expiry_once(previous.expires_at, key.namespace, &key.key),
                    );
            }
            None => {
                commit.expect_absent(marker.clone());
            }
        }
        commit
            .put(
                marker,
                encode(&StoredOnce { expires_at })?,
                Some(expires_at),
            )
            .put(
                self.keys.expiry_once(expires_at, key.namespace, &key.key),
                Vec::new(),
                Some(expires_at),
            );
        Ok(Plan::Commit(commit, true))
    }

    /// Conditions a new grant on its client's record as read (`found`): on its exact
    /// bytes, so that a `delete_client` committed meanwhile makes the commit conflict
    /// (and its index scan, after the client is gone, cannot miss the grant); on its
    /// absence if there is none. A client seen by an earlier attempt (`seen`) and gone
    /// now was deleted meanwhile: the grant is refused.
    fn condition_on_client(
        &self,
        commit: &mut Commit,
        grant: &GrantRecord,
        found: Option<Vec<u8>>,
        seen: &AtomicBool,
    ) -> Result<(), StoreError> {
        let key = self.keys.client(grant.client_id.as_str());
        match found {
            Some(bytes) => {
                seen.store(true, Ordering::Relaxed);
                commit.expect_value(key, bytes);
            }
            None if seen.load(Ordering::Relaxed) => {
                return Err(conflict(
                    "the client was deleted while a grant for it was being created",
                ));
            }
            None => {
                commit.expect_absent(key);
            }
        }
        Ok(())
    }

    async fn plan_store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
        client_seen: &AtomicBool,
    ) -> Result<Plan<()>, StoreError> {
        let mut commit = Commit::new();
        let grant_id = match new_grant {
            Some(grant) => {
                let key = self.keys.grant(grant.id.as_str());
                let mut found = self
                    .read_many(&[key.clone(), self.keys.client(grant.client_id.as_str())])
                    .await?
                    .into_iter();
                if found.next().flatten().is_some() {
                    return Err(conflict("a grant with this id exists already"));
                }
                commit.expect_absent(key);
                self.condition_on_client(&mut commit, grant, found.next().flatten(), client_seen)?;
                self.put_grant(&mut commit, grant)?;
                &grant.id
            }
            None => {
                let grant_id = &tokens.access.grant_id;
                let Some(grant) = self.read_grant(grant_id.as_str()).await? else {
                    // Revoked (or purged) between the decision to issue and this write:
                    // storing the tokens would report a false success.
                    return Err(conflict("the grant no longer exists"));
                };
                commit.expect_value(self.keys.grant(grant_id.as_str()), grant.bytes);
                grant_id
            }
        };
        self.add_tokens(&mut commit, grant_id, tokens).await?;
        Ok(Plan::Commit(commit, ()))
    }

    async fn plan_create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
        client_seen: &AtomicBool,
    ) -> Result<Plan<()>, StoreError> {
        let grant_key = self.keys.grant(grant.id.as_str());
        let code_key = self.keys.child(Child::Code, &code.hash);
        let client_key = self.keys.client(grant.client_id.as_str());
        let mut found = self
            .read_many(&[grant_key.clone(), code_key.clone(), client_key])
            .await?
            .into_iter();
        if found.next().flatten().is_some() {
            return Err(conflict("a grant with this id exists already"));
        }
        if found.next().flatten().is_some() {
            return Err(conflict("a code with this hash exists already"));
        }
        let mut commit = Commit::new();
        commit.expect_absent(grant_key).expect_absent(code_key);
        self.condition_on_client(&mut commit, grant, found.next().flatten(), client_seen)?;
        self.put_grant(&mut commit, grant)?;
        let stored = StoredCode {
            used: false,
            code: code.clone(),
        };
        self.put_child(
            &mut commit,
            &grant.id,
            Child::Code,
            &code.hash,
            encode(&stored)?,
            code.expires_at,
        );
        Ok(Plan::Commit(commit, ()))
    }

    /// The escaped grant ids listed in the index under `prefix` (user or client).
    pub(crate) async fn scan_index(&self, prefix: &[u8]) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let mut cursor: Option<Key> = None;
        loop {
            let page = self
                .backend
                .scan(prefix, cursor.as_deref(), self.batch.max(16))
                .await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            cursor = Some(last.clone());
            for (key, _) in &page {
                match Keys::parse_index_entry(prefix, key) {
                    Some(id) => ids.push(id.to_owned()),
                    // Skipped, so that one damaged entry does not stop every revocation
                    // or listing at the same place (the grant it would name, if any, is
                    // reached through its own index entries).
                    None => tracing::warn!("skipping a malformed key of a grant index"),
                }
            }
        }
        Ok(ids)
    }
}

#[async_trait]
impl<B: KvBackend> Store for KvStore<B> {
    /// What the backend's [`Capabilities`](crate::Capabilities) allow: atomic only on
    /// compare-and-swap commits with linearizable reads.
    fn single_use(&self) -> SingleUse {
        if self.inner.single_use {
            SingleUse::Atomic
        } else {
            SingleUse::NotGuaranteed
        }
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let inner = &self.inner;
        match inner.read(&inner.keys.client(id.as_str())).await? {
            Some(bytes) => decode(&bytes, "client").map(Some),
            None => Ok(None),
        }
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let inner = &self.inner;
        let value = encode(client)?;
        inner
            .run("put_client", || async {
                let mut commit = Commit::new();
                commit.put(inner.keys.client(client.id.as_str()), value.clone(), None);
                Ok(Plan::Commit(commit, ()))
            })
            .await
    }

    async fn replace_client(&self, client: &Client) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let key = inner.keys.client(client.id.as_str());
        let value = encode(client)?;
        inner
            .run("replace_client", || async {
                let Some(current) = inner.read(&key).await? else {
                    return Ok(Plan::Done(false));
                };
                let mut commit = Commit::new();
                commit
                    .expect_value(key.clone(), current)
                    .put(key.clone(), value.clone(), None);
                Ok(Plan::Commit(commit, true))
            })
            .await
    }

    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let key = inner.keys.client(client.id.as_str());
        let value = encode(client)?;
        inner
            .run("insert_client", || async {
                if inner.read(&key).await?.is_some() {
                    return Ok(Plan::Done(false));
                }
                let mut commit = Commit::new();
                commit
                    .expect_absent(key.clone())
                    .put(key.clone(), value.clone(), None);
                Ok(Plan::Commit(commit, true))
            })
            .await
    }

    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        // Grant creation is conditioned on the client's record: a creation that read the
        // client before this delete conflicts and is refused, and one committed before it
        // is in the index scanned after it. No grant outlives its client.
        let inner = &self.inner;
        inner
            .run("delete_client", || async {
                let mut commit = Commit::new();
                commit.delete(inner.keys.client(id.as_str()));
                Ok(Plan::Commit(commit, ()))
            })
            .await?;
        // Then every grant of the client, each with everything under it.
        let index = inner.keys.client_grants(id.as_str());
        for grant in inner.scan_index(&index).await? {
            inner.revoke_escaped(&grant, &index).await?;
        }
        Ok(())
    }

    async fn create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        if code.grant_id != grant.id {
            return Err(misuse("the code names another grant than the one created"));
        }
        let inner = &self.inner;
        let client_seen = AtomicBool::new(false);
        inner
            .run("create_grant_with_code", || {
                inner.plan_create_grant_with_code(grant, code, &client_seen)
            })
            .await
    }

    async fn find_code(&self, hash: &TokenHash, now: UnixTime) -> Result<CodeLookup, StoreError> {
        let inner = &self.inner;
        let Some(bytes) = inner.read(&inner.keys.child(Child::Code, hash)).await? else {
            return Ok(CodeLookup::NotFound);
        };
        let stored: StoredCode = decode(&bytes, "code")?;
        if stored.code.expires_at.is_expired_at(now) {
            return Ok(CodeLookup::NotFound);
        }
        if stored.used {
            return Ok(if inner.grant_exists(&stored.code.grant_id).await? {
                CodeLookup::Used(stored.code)
            } else {
                CodeLookup::NotFound
            });
        }
        Ok(match inner.live_grant(&stored.code.grant_id, now).await? {
            Some(_) => CodeLookup::Active(stored.code),
            None => CodeLookup::NotFound,
        })
    }

    async fn consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let inner = &self.inner;
        inner
            .run("consume_code", || inner.plan_consume(hash, issued, now))
            .await
    }

    async fn grant(&self, id: &GrantId, now: UnixTime) -> Result<Option<GrantRecord>, StoreError> {
        Ok(self.inner.live_grant(id, now).await?.map(|g| g.record))
    }

    async fn grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let inner = &self.inner;
        let index = inner.keys.user_grants(user.as_str());
        let ids = inner.scan_index(&index).await?;
        let keys: Vec<Key> = ids.iter().map(|id| inner.keys.grant_escaped(id)).collect();
        let mut grants = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(inner.batch.max(16)) {
            for bytes in inner.read_many(chunk).await?.into_iter().flatten() {
                let grant: GrantRecord = decode(&bytes, "grant")?;
                // The index is re-checked against the grant itself.
                if grant.subject.user() == Some(user) && !grant.expires_at.is_expired_at(now) {
                    grants.push(grant);
                }
            }
        }
        grants.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(grants)
    }

    async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        self.inner.revoke(id.as_str()).await.map(|_| ())
    }

    async fn revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError> {
        // Every grant whose creation committed before the index scan below is revoked. A
        // grant committed after the scan is ordered after this revocation (there is no
        // user record to condition creation on, and none is needed: the user still
        // exists), as with any store.
        let inner = &self.inner;
        let index = inner.keys.user_grants(user.as_str());
        for grant in inner.scan_index(&index).await? {
            inner.revoke_escaped(&grant, &index).await?;
        }
        Ok(())
    }

    async fn store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let client_seen = AtomicBool::new(false);
        inner
            .run("store_tokens", || {
                inner.plan_store_tokens(new_grant, tokens, &client_seen)
            })
            .await
    }

    async fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        let inner = &self.inner;
        let Some(bytes) = inner.read(&inner.keys.child(Child::Access, hash)).await? else {
            return Ok(None);
        };
        let token: AccessTokenRecord = decode(&bytes, "access token")?;
        if token.expires_at.is_expired_at(now) {
            return Ok(None);
        }
        Ok(inner
            .live_grant(&token.grant_id, now)
            .await?
            .map(|grant| AccessTokenWithGrant {
                token,
                grant: grant.record,
            }))
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let inner = &self.inner;
        let key = inner.keys.child(Child::Access, hash);
        inner
            .run("revoke_access_token", || async {
                let Some(bytes) = inner.read(&key).await? else {
                    return Ok(Plan::Done(()));
                };
                let token: AccessTokenRecord = decode(&bytes, "access token")?;
                let mut commit = Commit::new();
                // The index keys come from these bytes: delete only if they still hold.
                commit
                    .expect_value(key.clone(), bytes)
                    .delete(key.clone())
                    .delete(
                        inner
                            .keys
                            .grant_child(token.grant_id.as_str(), Child::Access, hash),
                    )
                    .delete(inner.keys.expiry_child(
                        token.expires_at,
                        Child::Access,
                        &hash.to_hex(),
                    ));
                Ok(Plan::Commit(commit, ()))
            })
            .await
    }

    async fn find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError> {
        let inner = &self.inner;
        let Some(bytes) = inner.read(&inner.keys.child(Child::Refresh, hash)).await? else {
            return Ok(RefreshLookup::NotFound);
        };
        let stored: StoredRefresh = decode(&bytes, "refresh token")?;
        if stored.expires_at().is_expired_at(now) {
            return Ok(RefreshLookup::NotFound);
        }
        match stored {
            StoredRefresh::Retired {
                grant_id,
                client_id,
                retired_at,
                ..
            } => Ok(if inner.grant_exists(&grant_id).await? {
                RefreshLookup::Retired {
                    grant_id,
                    client_id,
                    retired_at,
                }
            } else {
                RefreshLookup::NotFound
            }),
            StoredRefresh::Active { token } => {
                Ok(match inner.live_grant(&token.grant_id, now).await? {
                    Some(_) => RefreshLookup::Active(token),
                    None => RefreshLookup::NotFound,
                })
            }
        }
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        let inner = &self.inner;
        inner
            .run("rotate_refresh", || {
                inner.plan_rotate(old, successor, grace, now)
            })
            .await
    }

    async fn claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = &self.inner;
        inner
            .run("claim_refresh_grace", || {
                inner.plan_claim_grace(retired, now)
            })
            .await
    }

    async fn insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let inner = &self.inner;
        inner
            .run("insert_once", || {
                inner.plan_insert_once(key, expires_at, now)
            })
            .await
    }

    async fn purge_expired(&self, now: UnixTime, limit: usize) -> Result<usize, StoreError> {
        self.inner.purge_expired(now, limit).await
    }
}
