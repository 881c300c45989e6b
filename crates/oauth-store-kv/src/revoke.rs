//! Cascading revocation in two steps.
//!
//! 1. The grant goes, in one commit, with its user, client and expiry index entries. From
//!    then on nothing can be added under it: every commit that stores a code or token is
//!    conditioned on the grant's exact bytes. Everything still under it reads as absent
//!    (reads check the grant).
//! 2. Its children go through its child index `P/ig/<grant>/`, in commits of bounded
//!    size, until the index is empty.
//!
//! A revocation that fails between or during the steps returns the error (never reported
//! as done); repeating it finishes the job, because step 2 runs whether or not the grant
//! still exists. A damaged child-index entry is dropped (and logged by kind), never
//! stopping the sweep.

use oauth_core::StoreError;

use crate::backend::{Commit, Entry, Key, KvBackend};
use crate::codec::decode;
use crate::keys::{escape, parse_time, Keys};
use crate::store::Plan;
use crate::Inner;
use oauth_core::model::GrantRecord;

impl<B: KvBackend> Inner<B> {
    /// Revokes grant `id` (raw) and everything under it; `true` if the grant existed.
    pub(crate) async fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        self.revoke_grant_escaped(&escape(id)).await
    }

    /// Revokes a grant found in the index under `index` (user or client); if the grant
    /// was gone already, the index entry (a stale hint) goes too.
    pub(crate) async fn revoke_escaped(
        &self,
        escaped: &str,
        index: &[u8],
    ) -> Result<(), StoreError> {
        if !self.revoke_grant_escaped(escaped).await? {
            let entry = Keys::index_entry(index, escaped);
            self.run("revoke_grant", || async {
                let mut commit = Commit::new();
                commit.delete(entry.clone());
                Ok(Plan::Commit(commit, ()))
            })
            .await?;
        }
        Ok(())
    }

    async fn revoke_grant_escaped(&self, escaped: &str) -> Result<bool, StoreError> {
        let grant_key = self.keys.grant_escaped(escaped);
        // Step 1: the grant and its index entries.
        let existed = self
            .run("revoke_grant", || async {
                let Some(bytes) = self.read(&grant_key).await? else {
                    return Ok(Plan::Done(false));
                };
                let grant: GrantRecord = decode(&bytes, "grant")?;
                let mut commit = Commit::new();
                commit.expect_value(grant_key.clone(), bytes);
                self.delete_grant(&mut commit, &grant);
                Ok(Plan::Commit(commit, true))
            })
            .await?;
        // Step 2: everything under it.
        let prefix = self.keys.grant_children_escaped(escaped);
        loop {
            let page = self.backend.scan(&prefix, None, self.batch).await?;
            if page.is_empty() {
                return Ok(existed);
            }
            let mut commit = Commit::new();
            self.delete_children(&prefix, &page, &mut commit);
            self.run("revoke_grant", || async {
                Ok(Plan::Commit(commit.clone(), ()))
            })
            .await?;
        }
    }

    /// Adds to `commit` the deletion of the children listed in `page` (entries of the
    /// child index under `prefix`), each with its child and expiry index entries, and
    /// returns the record keys deleted. A damaged entry never stops the sweep: a
    /// malformed key is dropped alone, and an entry with a malformed expiry goes with its
    /// record but leaves the expiry-index entry to the purge (which drops an entry whose
    /// record is gone); both are logged by kind, without contents.
    pub(crate) fn delete_children(
        &self,
        prefix: &[u8],
        page: &[(Key, Entry)],
        commit: &mut Commit,
    ) -> Vec<Key> {
        let mut records = Vec::with_capacity(page.len());
        for (key, entry) in page {
            let parsed = self
                .keys
                .parse_grant_child(prefix, key)
                .filter(|(_, hex)| is_hash_hex(hex));
            let Some((kind, hex)) = parsed else {
                tracing::warn!("dropping a malformed key of a grant's child index");
                commit.delete(key.clone());
                continue;
            };
            let record = self.keys.child_hex(kind, hex);
            commit.delete(record.clone()).delete(key.clone());
            match parse_time(&entry.value) {
                Some(expires_at) => {
                    commit.delete(self.keys.expiry_child(expires_at, kind, hex));
                }
                None => tracing::warn!(
                    kind = kind.tag(),
                    "a grant's child index entry holds a malformed expiry; \
                     its expiry-index entry is left to the purge"
                ),
            }
            records.push(record);
        }
        records
    }

    /// Adds the deletion of a grant and its index entries to `commit`.
    pub(crate) fn delete_grant(&self, commit: &mut Commit, grant: &GrantRecord) {
        self.delete_grant_record(commit, grant);
        commit.delete(self.keys.expiry_grant(grant.expires_at, grant.id.as_str()));
    }

    /// Adds the deletion of a grant and its user and client index entries (not its
    /// expiry-index entry) to `commit`.
    pub(crate) fn delete_grant_record(&self, commit: &mut Commit, grant: &GrantRecord) {
        let keys = &self.keys;
        let id = escape(grant.id.as_str());
        commit.delete(keys.grant_escaped(&id));
        if let Some(user) = grant.subject.user() {
            commit.delete(Keys::index_entry(&keys.user_grants(user.as_str()), &id));
        }
        commit.delete(Keys::index_entry(
            &keys.client_grants(grant.client_id.as_str()),
            &id,
        ));
    }
}

/// Whether `hex` is a hash as keys hold it: 64 lower-case hex digits.
fn is_hash_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
