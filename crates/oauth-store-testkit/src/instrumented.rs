//! An instrumented [`Store`] wrapper for testing callers: it injects faults and records
//! every write.
//!
//! `InstrumentedStore` delegates to an inner store. Operations switched on with
//! [`InstrumentedStore::fail`] fail with a [`StoreErrorKind::Unavailable`] error before
//! reaching the inner store, so a failed call never has an effect. Every record passed to
//! a write is also kept as JSON ([`InstrumentedStore::writes`]), so a test can check what
//! a caller persists (for example, that no client secret from a request is ever stored).

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use oauth_core::model::{
    AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens, UserId,
};
use oauth_core::store::{
    CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{SingleUse, Store, StoreError, StoreErrorKind, TokenHash, UnixTime};

/// The operations of [`Store`], by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// [`Store::client`].
    Client,
    /// [`Store::put_client`].
    PutClient,
    /// [`Store::insert_client`].
    InsertClient,
    /// [`Store::replace_client`].
    ReplaceClient,
    /// [`Store::delete_client`].
    DeleteClient,
    /// [`Store::create_grant_with_code`].
    CreateGrantWithCode,
    /// [`Store::find_code`].
    FindCode,
    /// [`Store::consume_code`].
    ConsumeCode,
    /// [`Store::grant`].
    Grant,
    /// [`Store::grants_for_user`].
    GrantsForUser,
    /// [`Store::revoke_grant`].
    RevokeGrant,
    /// [`Store::revoke_user_grants`].
    RevokeUserGrants,
    /// [`Store::store_tokens`].
    StoreTokens,
    /// [`Store::access_token`].
    AccessToken,
    /// [`Store::revoke_access_token`].
    RevokeAccessToken,
    /// [`Store::find_refresh`].
    FindRefresh,
    /// [`Store::rotate_refresh`].
    RotateRefresh,
    /// [`Store::claim_refresh_grace`].
    ClaimRefreshGrace,
    /// [`Store::insert_once`].
    InsertOnce,
    /// [`Store::purge_expired`].
    PurgeExpired,
}

/// A store that fails chosen operations and records every write.
#[derive(Debug, Default)]
pub struct InstrumentedStore<S> {
    inner: S,
    failing: Mutex<HashSet<Op>>,
    ignoring: Mutex<HashSet<Op>>,
    writes: Mutex<Vec<String>>,
    /// Whether [`Store::single_use`] answers `NotGuaranteed` whatever the wrapped store
    /// answers.
    without_single_use: bool,
}

impl<S: Store> InstrumentedStore<S> {
    /// Wraps `inner`; nothing fails until [`InstrumentedStore::fail`] is called.
    pub fn new(inner: S) -> Self {
        InstrumentedStore {
            inner,
            failing: Mutex::new(HashSet::new()),
            ignoring: Mutex::new(HashSet::new()),
            writes: Mutex::new(Vec::new()),
            without_single_use: false,
        }
    }

    /// Makes [`Store::single_use`] answer [`SingleUse::NotGuaranteed`]: a store that
    /// declares it cannot keep single use, to prove the provider refuses it. A wrapper
    /// can only weaken what it wraps, never claim more.
    #[must_use]
    pub fn declaring_no_single_use(mut self) -> Self {
        self.without_single_use = true;
        self
    }

    /// Makes `op` fail from now on.
    pub fn fail(&self, op: Op) {
        self.failing.lock().unwrap().insert(op);
    }

    /// Makes the revocation `op` ([`Op::RevokeGrant`], [`Op::RevokeUserGrants`],
    /// [`Op::RevokeAccessToken`] or [`Op::DeleteClient`]) report success without doing
    /// anything from now on: a store that lies, to prove that a checker notices a
    /// revocation that silently did not happen. Other operations are unaffected.
    pub fn ignore(&self, op: Op) {
        self.ignoring.lock().unwrap().insert(op);
    }

    /// Makes every operation succeed, and really happen, again.
    pub fn heal(&self) {
        self.failing.lock().unwrap().clear();
        self.ignoring.lock().unwrap().clear();
    }

    fn ignores(&self, op: Op) -> bool {
        self.ignoring.lock().unwrap().contains(&op)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Every record passed to a write so far, as JSON, in call order.
    pub fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }

    fn record(&self, op: Op, records: &[&dyn erased::Record]) {
        let mut writes = self.writes.lock().unwrap();
        for record in records {
            writes.push(format!("{op:?} {}", record.to_json()));
        }
    }

    fn check(&self, op: Op) -> Result<(), StoreError> {
        if self.failing.lock().unwrap().contains(&op) {
            Err(StoreError::with_source(
                StoreErrorKind::Unavailable,
                format!("injected fault in {op:?}"),
                std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset"),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl<S: Store> Store for InstrumentedStore<S> {
    fn single_use(&self) -> SingleUse {
        if self.without_single_use {
            SingleUse::NotGuaranteed
        } else {
            self.inner.single_use()
        }
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.check(Op::Client)?;
        self.inner.client(id).await
    }
    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.check(Op::PutClient)?;
        self.record(Op::PutClient, &[client]);
        self.inner.put_client(client).await
    }
    async fn replace_client(&self, client: &Client) -> Result<bool, StoreError> {
        self.check(Op::ReplaceClient)?;
        self.record(Op::ReplaceClient, &[client]);
        self.inner.replace_client(client).await
    }
    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        self.check(Op::InsertClient)?;
        self.record(Op::InsertClient, &[client]);
        self.inner.insert_client(client).await
    }
    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        self.check(Op::DeleteClient)?;
        if self.ignores(Op::DeleteClient) {
            return Ok(());
        }
        self.inner.delete_client(id).await
    }
    async fn create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        self.check(Op::CreateGrantWithCode)?;
        self.record(Op::CreateGrantWithCode, &[grant, code]);
        self.inner.create_grant_with_code(grant, code).await
    }
    async fn find_code(&self, hash: &TokenHash, now: UnixTime) -> Result<CodeLookup, StoreError> {
        self.check(Op::FindCode)?;
        self.inner.find_code(hash, now).await
    }
    async fn consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.check(Op::ConsumeCode)?;
        self.record(Op::ConsumeCode, &[&issued.access]);
        if let Some(refresh) = &issued.refresh {
            self.record(Op::ConsumeCode, &[refresh]);
        }
        self.inner.consume_code(hash, issued, now).await
    }
    async fn grant(&self, id: &GrantId, now: UnixTime) -> Result<Option<GrantRecord>, StoreError> {
        self.check(Op::Grant)?;
        self.inner.grant(id, now).await
    }
    async fn grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        self.check(Op::GrantsForUser)?;
        self.inner.grants_for_user(user, now).await
    }
    async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        self.check(Op::RevokeGrant)?;
        if self.ignores(Op::RevokeGrant) {
            return Ok(());
        }
        self.inner.revoke_grant(id).await
    }
    async fn revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError> {
        self.check(Op::RevokeUserGrants)?;
        if self.ignores(Op::RevokeUserGrants) {
            return Ok(());
        }
        self.inner.revoke_user_grants(user).await
    }
    async fn store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        self.check(Op::StoreTokens)?;
        if let Some(grant) = new_grant {
            self.record(Op::StoreTokens, &[grant]);
        }
        self.record(Op::StoreTokens, &[&tokens.access]);
        if let Some(refresh) = &tokens.refresh {
            self.record(Op::StoreTokens, &[refresh]);
        }
        self.inner.store_tokens(new_grant, tokens).await
    }
    async fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        self.check(Op::AccessToken)?;
        self.inner.access_token(hash, now).await
    }
    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.check(Op::RevokeAccessToken)?;
        if self.ignores(Op::RevokeAccessToken) {
            return Ok(());
        }
        self.inner.revoke_access_token(hash).await
    }
    async fn find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError> {
        self.check(Op::FindRefresh)?;
        self.inner.find_refresh(hash, now).await
    }
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        self.check(Op::RotateRefresh)?;
        self.record(Op::RotateRefresh, &[&successor.access]);
        if let Some(refresh) = &successor.refresh {
            self.record(Op::RotateRefresh, &[refresh]);
        }
        self.inner.rotate_refresh(old, successor, grace, now).await
    }
    async fn claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.check(Op::ClaimRefreshGrace)?;
        self.inner.claim_refresh_grace(retired, now).await
    }
    async fn insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.check(Op::InsertOnce)?;
        self.inner.insert_once(key, expires_at, now).await
    }
    async fn purge_expired(&self, now: UnixTime, limit: usize) -> Result<usize, StoreError> {
        self.check(Op::PurgeExpired)?;
        self.inner.purge_expired(now, limit).await
    }
}

mod erased {
    //! Records of any type, serialized for the write log.

    pub(super) trait Record {
        fn to_json(&self) -> String;
    }

    impl<T: serde::Serialize> Record for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|e| format!("<unserializable: {e}>"))
        }
    }
}
