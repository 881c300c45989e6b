//! The data behind the lock: records, tombstones and the indexes that keep every
//! operation proportional to what it touches.
//!
//! Invariants (checked by `State::check_invariants` in the tests):
//! - every code, access token and refresh token belongs to a grant present in `grants`,
//!   and that grant's entry lists it; every listed child exists;
//! - `by_user` and `by_client` list exactly the present grants, with no empty sets;
//! - `expiry` holds exactly one `(expires_at, key)` entry per stored record.
//!
//! Methods never panic and never await: they run inside the store's critical section.

use std::collections::{BTreeSet, HashMap, HashSet};

use oauth_core::model::{
    AccessTokenRecord, AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord,
    IssuedTokens, RefreshTokenRecord, UserId,
};
use oauth_core::store::{
    CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{StoreError, StoreErrorKind, TokenHash, UnixTime};

/// The key of an expiring record in the expiry index. The variant order is the purge
/// order among records expiring in the same second: a grant before its children, so a
/// purge that reaches a grant removes its children with it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Expiring {
    Grant(GrantId),
    Code([u8; 32]),
    Access([u8; 32]),
    Refresh([u8; 32]),
    Once(&'static str, [u8; 32]),
}

/// A grant with the index of what was issued under it.
#[derive(Debug)]
pub(crate) struct GrantEntry {
    record: GrantRecord,
    codes: HashSet<TokenHash>,
    access: HashSet<TokenHash>,
    refresh: HashSet<TokenHash>,
}

/// A code; once redeemed, the same record kept as a tombstone until its expiry.
#[derive(Debug)]
pub(crate) struct CodeEntry {
    record: CodeRecord,
    used: bool,
}

impl CodeEntry {
    fn grant_id(&self) -> &GrantId {
        &self.record.grant_id
    }

    fn expires_at(&self) -> UnixTime {
        self.record.expires_at
    }
}

/// A refresh token, or the tombstone it leaves once rotated.
#[derive(Debug)]
pub(crate) enum RefreshEntry {
    Active(RefreshTokenRecord),
    Retired {
        grant_id: GrantId,
        client_id: ClientId,
        retired_at: UnixTime,
        expires_at: UnixTime,
        grace: Option<RefreshGrace>,
    },
}

impl RefreshEntry {
    fn grant_id(&self) -> &GrantId {
        match self {
            RefreshEntry::Active(record) => &record.grant_id,
            RefreshEntry::Retired { grant_id, .. } => grant_id,
        }
    }

    fn expires_at(&self) -> UnixTime {
        match self {
            RefreshEntry::Active(record) => record.expires_at,
            RefreshEntry::Retired { expires_at, .. } => *expires_at,
        }
    }
}

/// Everything the store holds.
#[derive(Debug, Default)]
pub(crate) struct State {
    clients: HashMap<ClientId, Client>,
    grants: HashMap<GrantId, GrantEntry>,
    codes: HashMap<TokenHash, CodeEntry>,
    access: HashMap<TokenHash, AccessTokenRecord>,
    refresh: HashMap<TokenHash, RefreshEntry>,
    once: HashMap<OnceKey, UnixTime>,
    by_user: HashMap<UserId, HashSet<GrantId>>,
    by_client: HashMap<ClientId, HashSet<GrantId>>,
    expiry: BTreeSet<(UnixTime, Expiring)>,
}

fn conflict(message: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Conflict, message)
}

fn misuse(message: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Other, message)
}

/// The grant `id` if it exists and is unexpired at `now`. A free function so that
/// callers can hold a borrow of another field at the same time.
fn live_grant<'a>(
    grants: &'a HashMap<GrantId, GrantEntry>,
    id: &GrantId,
    now: UnixTime,
) -> Option<&'a GrantRecord> {
    grants
        .get(id)
        .map(|entry| &entry.record)
        .filter(|record| !record.expires_at.is_expired_at(now))
}

/// Adds `grant` to the set of `key` in a secondary index.
fn index_insert<K: std::hash::Hash + Eq>(
    index: &mut HashMap<K, HashSet<GrantId>>,
    key: K,
    grant: GrantId,
) {
    index.entry(key).or_default().insert(grant);
}

/// Removes `grant` from the set of `key` in a secondary index, dropping an empty set.
fn index_remove<K: std::hash::Hash + Eq>(
    index: &mut HashMap<K, HashSet<GrantId>>,
    key: &K,
    grant: &GrantId,
) {
    if let Some(set) = index.get_mut(key) {
        set.remove(grant);
        if set.is_empty() {
            index.remove(key);
        }
    }
}

impl State {
    // ---- clients ----

    pub(crate) fn client(&self, id: &ClientId) -> Option<Client> {
        self.clients.get(id).cloned()
    }

    pub(crate) fn put_client(&mut self, client: &Client) {
        self.clients.insert(client.id.clone(), client.clone());
    }

    pub(crate) fn replace_client(&mut self, client: &Client) -> bool {
        match self.clients.get_mut(&client.id) {
            Some(stored) => {
                *stored = client.clone();
                true
            }
            None => false,
        }
    }

    pub(crate) fn insert_client(&mut self, client: &Client) -> bool {
        match self.clients.entry(client.id.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(client.clone());
                true
            }
        }
    }

    pub(crate) fn delete_client(&mut self, id: &ClientId) {
        self.clients.remove(id);
        for grant in self.by_client.remove(id).unwrap_or_default() {
            self.revoke_grant(&grant);
        }
    }

    // ---- grants ----

    pub(crate) fn live_grant(&self, id: &GrantId, now: UnixTime) -> Option<&GrantRecord> {
        live_grant(&self.grants, id, now)
    }

    pub(crate) fn grants_for_user(&self, user: &UserId, now: UnixTime) -> Vec<GrantRecord> {
        let mut grants: Vec<GrantRecord> = self
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|id| self.live_grant(id, now).cloned())
            .collect();
        grants.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        grants
    }

    /// Stores a grant with empty child sets. The caller has checked that the id is free.
    fn insert_grant(&mut self, record: GrantRecord) {
        let id = record.id.clone();
        if let Some(user) = record.subject.user() {
            index_insert(&mut self.by_user, user.clone(), id.clone());
        }
        index_insert(&mut self.by_client, record.client_id.clone(), id.clone());
        self.expiry
            .insert((record.expires_at, Expiring::Grant(id.clone())));
        self.grants.insert(
            id,
            GrantEntry {
                record,
                codes: HashSet::new(),
                access: HashSet::new(),
                refresh: HashSet::new(),
            },
        );
    }

    /// Removes a grant and everything under it; returns how many records went.
    pub(crate) fn revoke_grant(&mut self, id: &GrantId) -> usize {
        let Some(entry) = self.grants.remove(id) else {
            return 0;
        };
        let record = entry.record;
        if let Some(user) = record.subject.user() {
            index_remove(&mut self.by_user, user, id);
        }
        index_remove(&mut self.by_client, &record.client_id, id);
        self.expiry
            .remove(&(record.expires_at, Expiring::Grant(id.clone())));

        let mut removed = 1;
        for hash in &entry.codes {
            removed += usize::from(self.remove_code(hash));
        }
        for hash in &entry.access {
            removed += usize::from(self.remove_access(hash));
        }
        for hash in &entry.refresh {
            removed += usize::from(self.remove_refresh(hash));
        }
        removed
    }

    pub(crate) fn revoke_user_grants(&mut self, user: &UserId) {
        for grant in self.by_user.remove(user).unwrap_or_default() {
            self.revoke_grant(&grant);
        }
    }

    // ---- codes ----

    pub(crate) fn create_grant_with_code(
        &mut self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        if code.grant_id != grant.id {
            return Err(misuse("the code names another grant than the one created"));
        }
        if self.grants.contains_key(&grant.id) {
            return Err(conflict("a grant with this id exists already"));
        }
        if self.codes.contains_key(&code.hash) {
            return Err(conflict("a code with this hash exists already"));
        }
        self.insert_grant(grant.clone());
        self.insert_code(code.clone());
        Ok(())
    }

    /// Stores a code under its grant. The caller has checked that the grant exists and
    /// that the hash is free.
    fn insert_code(&mut self, code: CodeRecord) {
        if let Some(grant) = self.grants.get_mut(&code.grant_id) {
            grant.codes.insert(code.hash);
        }
        self.expiry
            .insert((code.expires_at, Expiring::Code(code.hash.0)));
        self.codes.insert(
            code.hash,
            CodeEntry {
                record: code,
                used: false,
            },
        );
    }

    /// Removes a code or its tombstone from every index; `true` if it was there.
    fn remove_code(&mut self, hash: &TokenHash) -> bool {
        let Some(entry) = self.codes.remove(hash) else {
            return false;
        };
        self.expiry
            .remove(&(entry.expires_at(), Expiring::Code(hash.0)));
        if let Some(grant) = self.grants.get_mut(entry.grant_id()) {
            grant.codes.remove(hash);
        }
        true
    }

    pub(crate) fn find_code(&self, hash: &TokenHash, now: UnixTime) -> CodeLookup {
        match self.codes.get(hash) {
            None => CodeLookup::NotFound,
            Some(entry) if entry.expires_at().is_expired_at(now) => CodeLookup::NotFound,
            Some(entry) if entry.used => CodeLookup::Used(entry.record.clone()),
            Some(entry) => match self.live_grant(entry.grant_id(), now) {
                Some(_) => CodeLookup::Active(entry.record.clone()),
                None => CodeLookup::NotFound,
            },
        }
    }

    pub(crate) fn consume_code(
        &mut self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let grant_id = match self.codes.get(hash) {
            None => return Ok(ConsumeOutcome::NotFound),
            Some(entry) if entry.expires_at().is_expired_at(now) => {
                return Ok(ConsumeOutcome::NotFound)
            }
            Some(entry) if entry.used => {
                return Ok(ConsumeOutcome::AlreadyUsed {
                    grant_id: entry.record.grant_id.clone(),
                })
            }
            Some(entry) => entry.record.grant_id.clone(),
        };
        if live_grant(&self.grants, &grant_id, now).is_none() {
            return Ok(ConsumeOutcome::NotFound);
        }
        self.check_tokens(&grant_id, issued)?;
        // The tombstone is the same record with the same expiry: the indexes are unchanged.
        if let Some(entry) = self.codes.get_mut(hash) {
            entry.used = true;
        }
        self.insert_tokens(issued);
        Ok(ConsumeOutcome::Consumed)
    }

    // ---- tokens ----

    /// Checks that `tokens` can be stored under `grant_id`: they name that grant and
    /// their hashes are free.
    fn check_tokens(&self, grant_id: &GrantId, tokens: &IssuedTokens) -> Result<(), StoreError> {
        let refresh_grant = tokens.refresh.as_ref().map(|r| &r.grant_id);
        if tokens.access.grant_id != *grant_id || refresh_grant.is_some_and(|g| g != grant_id) {
            return Err(misuse("the tokens name another grant than the one given"));
        }
        if self.access.contains_key(&tokens.access.hash) {
            return Err(conflict("an access token with this hash exists already"));
        }
        if let Some(refresh) = &tokens.refresh {
            if self.refresh.contains_key(&refresh.hash) {
                return Err(conflict("a refresh token with this hash exists already"));
            }
        }
        Ok(())
    }

    /// Stores checked tokens under their (existing) grant.
    fn insert_tokens(&mut self, tokens: &IssuedTokens) {
        let access = tokens.access.clone();
        if let Some(grant) = self.grants.get_mut(&access.grant_id) {
            grant.access.insert(access.hash);
            if let Some(refresh) = &tokens.refresh {
                grant.refresh.insert(refresh.hash);
            }
        }
        self.expiry
            .insert((access.expires_at, Expiring::Access(access.hash.0)));
        self.access.insert(access.hash, access);
        if let Some(refresh) = tokens.refresh.clone() {
            self.expiry
                .insert((refresh.expires_at, Expiring::Refresh(refresh.hash.0)));
            self.refresh
                .insert(refresh.hash, RefreshEntry::Active(refresh));
        }
    }

    pub(crate) fn store_tokens(
        &mut self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        match new_grant {
            Some(grant) => {
                if self.grants.contains_key(&grant.id) {
                    return Err(conflict("a grant with this id exists already"));
                }
                self.check_tokens(&grant.id, tokens)?;
                self.insert_grant(grant.clone());
            }
            None => {
                let grant_id = &tokens.access.grant_id;
                if !self.grants.contains_key(grant_id) {
                    // Revoked (or purged) between the decision to issue and this write:
                    // storing the tokens would resurrect them, and reporting success
                    // would be a false one.
                    return Err(conflict("the grant no longer exists"));
                }
                self.check_tokens(grant_id, tokens)?;
            }
        }
        self.insert_tokens(tokens);
        Ok(())
    }

    pub(crate) fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Option<AccessTokenWithGrant> {
        let token = self
            .access
            .get(hash)
            .filter(|token| !token.expires_at.is_expired_at(now))?;
        let grant = self.live_grant(&token.grant_id, now)?;
        Some(AccessTokenWithGrant {
            token: token.clone(),
            grant: grant.clone(),
        })
    }

    /// Removes an access token from every index; `true` if it was there.
    pub(crate) fn remove_access(&mut self, hash: &TokenHash) -> bool {
        let Some(token) = self.access.remove(hash) else {
            return false;
        };
        self.expiry
            .remove(&(token.expires_at, Expiring::Access(hash.0)));
        if let Some(grant) = self.grants.get_mut(&token.grant_id) {
            grant.access.remove(hash);
        }
        true
    }

    /// Removes a refresh token or its tombstone from every index; `true` if it was there.
    fn remove_refresh(&mut self, hash: &TokenHash) -> bool {
        let Some(entry) = self.refresh.remove(hash) else {
            return false;
        };
        self.expiry
            .remove(&(entry.expires_at(), Expiring::Refresh(hash.0)));
        if let Some(grant) = self.grants.get_mut(entry.grant_id()) {
            grant.refresh.remove(hash);
        }
        true
    }

    pub(crate) fn find_refresh(&self, hash: &TokenHash, now: UnixTime) -> RefreshLookup {
        match self.refresh.get(hash) {
            None => RefreshLookup::NotFound,
            Some(entry) if entry.expires_at().is_expired_at(now) => RefreshLookup::NotFound,
            Some(RefreshEntry::Retired {
                grant_id,
                client_id,
                retired_at,
                ..
            }) => RefreshLookup::Retired {
                grant_id: grant_id.clone(),
                client_id: client_id.clone(),
                retired_at: *retired_at,
            },
            Some(RefreshEntry::Active(record)) => match self.live_grant(&record.grant_id, now) {
                Some(_) => RefreshLookup::Active(record.clone()),
                None => RefreshLookup::NotFound,
            },
        }
    }

    pub(crate) fn rotate_refresh(
        &mut self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        let tombstone = match self.refresh.get(old) {
            None => return Ok(RotateOutcome::NotFound),
            Some(entry) if entry.expires_at().is_expired_at(now) => {
                return Ok(RotateOutcome::NotFound)
            }
            Some(RefreshEntry::Retired { grant_id, .. }) => {
                return Ok(RotateOutcome::Reused {
                    grant_id: grant_id.clone(),
                })
            }
            Some(RefreshEntry::Active(record)) => {
                if self.live_grant(&record.grant_id, now).is_none() {
                    return Ok(RotateOutcome::NotFound);
                }
                self.check_tokens(&record.grant_id, successor)?;
                RefreshEntry::Retired {
                    grant_id: record.grant_id.clone(),
                    client_id: record.client_id.clone(),
                    retired_at: now,
                    expires_at: record.expires_at,
                    grace: grace.cloned(),
                }
            }
        };
        // Checked above: the old token is active, its grant live, the successor valid.
        // The tombstone keeps the same expiry, so the expiry index is unchanged.
        if let Some(entry) = self.refresh.get_mut(old) {
            *entry = tombstone;
        }
        self.insert_tokens(successor);
        Ok(RotateOutcome::Rotated)
    }

    pub(crate) fn claim_refresh_grace(
        &mut self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Option<Vec<u8>> {
        match self.refresh.get_mut(retired) {
            Some(RefreshEntry::Retired { grace, .. }) => {
                let live = grace.take()?;
                (!live.until.is_expired_at(now)).then_some(live.sealed_successor)
            }
            _ => None,
        }
    }

    // ---- one-time markers ----

    pub(crate) fn insert_once(
        &mut self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> bool {
        if let Some(previous) = self.once.get(&key).copied() {
            if !previous.is_expired_at(now) {
                return false;
            }
            self.expiry
                .remove(&(previous, Expiring::Once(key.namespace, key.key)));
        }
        self.once.insert(key, expires_at);
        self.expiry
            .insert((expires_at, Expiring::Once(key.namespace, key.key)));
        true
    }

    fn remove_once(&mut self, key: &OnceKey) -> bool {
        let Some(expires_at) = self.once.remove(key) else {
            return false;
        };
        self.expiry
            .remove(&(expires_at, Expiring::Once(key.namespace, key.key)));
        true
    }

    // ---- housekeeping ----

    /// Deletes at most `limit` records expired at `now`, oldest first; returns how many.
    ///
    /// An expired grant goes with everything under it; its children count against the
    /// limit one by one, and the grant itself goes last, so a purge that runs out of
    /// budget halfway resumes with the same grant next time.
    pub(crate) fn purge_expired(&mut self, now: UnixTime, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit {
            let Some((expires_at, key)) = self.expiry.first().cloned() else {
                break;
            };
            if !expires_at.is_expired_at(now) {
                break;
            }
            match key {
                Expiring::Grant(id) => {
                    let budget = limit.saturating_sub(removed);
                    let children = self.children_of(&id, budget);
                    for child in children {
                        removed += usize::from(match child {
                            Child::Code(hash) => self.remove_code(&hash),
                            Child::Access(hash) => self.remove_access(&hash),
                            Child::Refresh(hash) => self.remove_refresh(&hash),
                        });
                    }
                    if removed >= limit {
                        break;
                    }
                    // Every child is gone: the grant goes now. Its index entry is removed
                    // explicitly so the loop always advances.
                    self.expiry
                        .remove(&(expires_at, Expiring::Grant(id.clone())));
                    removed += self.revoke_grant(&id);
                }
                Expiring::Code(hash) => {
                    self.expiry.pop_first();
                    removed += usize::from(self.remove_code(&TokenHash(hash)));
                }
                Expiring::Access(hash) => {
                    self.expiry.pop_first();
                    removed += usize::from(self.remove_access(&TokenHash(hash)));
                }
                Expiring::Refresh(hash) => {
                    self.expiry.pop_first();
                    removed += usize::from(self.remove_refresh(&TokenHash(hash)));
                }
                Expiring::Once(namespace, key) => {
                    self.expiry.pop_first();
                    removed += usize::from(self.remove_once(&OnceKey { namespace, key }));
                }
            }
        }
        removed
    }

    /// Up to `max` of the records issued under grant `id`.
    fn children_of(&self, id: &GrantId, max: usize) -> Vec<Child> {
        let Some(entry) = self.grants.get(id) else {
            return Vec::new();
        };
        let codes = entry.codes.iter().map(|h| Child::Code(*h));
        let access = entry.access.iter().map(|h| Child::Access(*h));
        let refresh = entry.refresh.iter().map(|h| Child::Refresh(*h));
        codes.chain(access).chain(refresh).take(max).collect()
    }
}

/// A record issued under a grant.
enum Child {
    Code(TokenHash),
    Access(TokenHash),
    Refresh(TokenHash),
}

#[cfg(test)]
#[allow(
    clippy::expect_used,
    reason = "test-only invariant checks panic on failure"
)]
impl State {
    /// Panics if an index disagrees with the records (see the module documentation).
    pub(crate) fn check_invariants(&self) {
        let mut expected: BTreeSet<(UnixTime, Expiring)> = BTreeSet::new();
        for (id, entry) in &self.grants {
            assert_eq!(&entry.record.id, id);
            expected.insert((entry.record.expires_at, Expiring::Grant(id.clone())));
            if let Some(user) = entry.record.subject.user() {
                assert!(self.by_user.get(user).is_some_and(|s| s.contains(id)));
            }
            assert!(self
                .by_client
                .get(&entry.record.client_id)
                .is_some_and(|s| s.contains(id)));
            for hash in &entry.codes {
                assert_eq!(self.codes.get(hash).map(CodeEntry::grant_id), Some(id));
            }
            for hash in &entry.access {
                assert_eq!(self.access.get(hash).map(|t| &t.grant_id), Some(id));
            }
            for hash in &entry.refresh {
                assert_eq!(self.refresh.get(hash).map(RefreshEntry::grant_id), Some(id));
            }
        }
        for (hash, entry) in &self.codes {
            let grant = self
                .grants
                .get(entry.grant_id())
                .expect("code without grant");
            assert!(grant.codes.contains(hash));
            expected.insert((entry.expires_at(), Expiring::Code(hash.0)));
        }
        for (hash, token) in &self.access {
            let grant = self
                .grants
                .get(&token.grant_id)
                .expect("token without grant");
            assert!(grant.access.contains(hash));
            expected.insert((token.expires_at, Expiring::Access(hash.0)));
        }
        for (hash, entry) in &self.refresh {
            let grant = self
                .grants
                .get(entry.grant_id())
                .expect("token without grant");
            assert!(grant.refresh.contains(hash));
            expected.insert((entry.expires_at(), Expiring::Refresh(hash.0)));
        }
        for (key, expires_at) in &self.once {
            expected.insert((*expires_at, Expiring::Once(key.namespace, key.key)));
        }
        assert_eq!(self.expiry, expected, "expiry index out of sync");
        for (user, ids) in &self.by_user {
            assert!(!ids.is_empty());
            for id in ids {
                let grant = self
                    .grants
                    .get(id)
                    .expect("user index names a missing grant");
                assert_eq!(grant.record.subject.user(), Some(user));
            }
        }
        for (client, ids) in &self.by_client {
            assert!(!ids.is_empty());
            for id in ids {
                let grant = self
                    .grants
                    .get(id)
                    .expect("client index names a missing grant");
                assert_eq!(&grant.record.client_id, client);
            }
        }
    }

    /// How many records (grants, codes, tokens, markers) are held.
    pub(crate) fn record_count(&self) -> usize {
        self.grants.len()
            + self.codes.len()
            + self.access.len()
            + self.refresh.len()
            + self.once.len()
    }
}
