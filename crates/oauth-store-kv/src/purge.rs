//! Bounded purge of expired records through the expiry index `P/ix/<t>/...`.
//!
//! The index is scanned from its first key, which is the oldest expiry (times are
//! zero-padded, and grants rank before their children within a second). Each round plans
//! one commit of at most the backend's `max_commit_len` conditions and writes, counting
//! what each entry actually costs, and stops before an entry that would not fit:
//!
//! - a code or token goes with its index entries, conditioned on its exact bytes (the
//!   bytes its index keys were derived from);
//! - a one-time marker likewise, and only if it still holds the expiry the index names
//!   (a concurrent `insert_once` may have replaced it);
//! - an expired grant is purged as revocation does it, grant first: its record and its
//!   user and client index entries go in one commit conditioned on its exact bytes (the
//!   round ends there), so nothing can be added under it any more; then its child index
//!   is swept in bounded commits, each child counted. The grant's own expiry-index entry
//!   stays until the sweep is done: a purge that stops (at its limit, or on an error)
//!   meets it again, finds the grant gone and finishes the sweep first.
//!
//! An index entry whose record is gone or has moved on is removed without being counted.
//! A damaged entry (a malformed key, a record of a format this code cannot read) is
//! logged by kind, without contents, and its index entry dropped, so that it never stops
//! every later purge at the same place. The loop stops at the first unexpired entry, at
//! the limit, or when a round finds nothing to do.

use oauth_core::model::{AccessTokenRecord, GrantId, GrantRecord};
use oauth_core::{StoreError, UnixTime};

use crate::backend::{Commit, Key, KvBackend};
use crate::codec::{decode, StoredCode, StoredOnce, StoredRefresh};
use crate::keys::{escape, Child, Expiring};
use crate::store::Plan;
use crate::Inner;

/// What one purge round did.
pub(crate) struct Round {
    /// Records deleted (counted against the limit).
    removed: usize,
    /// Whether the round wrote anything (stale index entries count here, not above).
    progressed: bool,
    /// A purged grant whose children are to be swept: its escaped id and its
    /// expiry-index key.
    sweep: Option<(String, Key)>,
}

/// One step of the sweep of a purged grant's children.
enum Step {
    /// Deleted a page of children, this many of which existed.
    Swept(usize),
    /// Children are left, and no budget to delete them.
    OutOfBudget,
    /// Nothing left: the grant's expiry-index entry is gone too (`true`: deleted by this
    /// step), or the grant exists again under that id and the entry is its own.
    Finished(bool),
}

/// Appends `part` to `commit`.
fn append(commit: &mut Commit, part: Commit) {
    commit.conditions.extend(part.conditions);
    commit.writes.extend(part.writes);
}

impl<B: KvBackend> Inner<B> {
    pub(crate) async fn purge_expired(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        while removed < limit {
            let budget = limit - removed;
            let round = self
                .run("purge_expired", || self.plan_purge(now, budget))
                .await?;
            removed += round.removed;
            let mut progressed = round.progressed;
            if let Some((escaped, ix_key)) = round.sweep {
                let (swept, wrote) = self
                    .sweep_purged_grant(&escaped, &ix_key, limit - removed)
                    .await?;
                removed += swept;
                progressed |= wrote;
            }
            if !progressed {
                break;
            }
        }
        Ok(removed)
    }

    async fn plan_purge(&self, now: UnixTime, budget: usize) -> Result<Plan<Round>, StoreError> {
        let keys = &self.keys;
        let page = self
            .backend
            .scan(&keys.expiry_index(), None, self.batch)
            .await?;
        let mut commit = Commit::new();
        let mut removed = 0;
        let mut sweep = None;
        for (ix_key, _) in page {
            if removed >= budget {
                break;
            }
            let mut part = Commit::new();
            // Whether the entry's record is deleted (and counted), and whether the round
            // ends with it (a grant, whose children are swept after the commit).
            let mut counts = false;
            let mut grant_sweep = None;
            match keys.parse_expiry(&ix_key) {
                None => {
                    tracing::warn!("purge: dropping a malformed key of the expiry index");
                    part.delete(ix_key);
                }
                Some((at, _)) if !at.is_expired_at(now) => break,
                Some((at, Expiring::Grant(escaped))) => {
                    let grant_key = keys.grant_escaped(&escaped);
                    let Some(bytes) = self.read(&grant_key).await? else {
                        // Purged earlier, its sweep unfinished: finish it first.
                        sweep = Some((escaped, ix_key));
                        break;
                    };
                    match decode::<GrantRecord>(&bytes, "grant") {
                        Err(_) => {
                            tracing::warn!(
                                "purge: a grant cannot be decoded; dropping its expiry-index entry"
                            );
                            part.delete(ix_key);
                        }
                        Ok(grant)
                            if grant.expires_at != at || escape(grant.id.as_str()) != escaped =>
                        {
                            // The record is not the one this entry was written for.
                            part.delete(ix_key);
                        }
                        Ok(grant) => {
                            part.expect_value(grant_key, bytes);
                            self.delete_grant_record(&mut part, &grant);
                            counts = true;
                            grant_sweep = Some((escaped, ix_key));
                        }
                    }
                }
                Some((at, Expiring::Child(kind, hex))) => {
                    let record_key = keys.child_hex(kind, &hex);
                    match self.read(&record_key).await? {
                        None => {
                            part.delete(ix_key);
                        }
                        Some(bytes) => match child_grant(kind, &bytes) {
                            Err(_) => {
                                tracing::warn!(
                                    kind = kind.tag(),
                                    "purge: a record cannot be decoded; dropping its expiry-index entry"
                                );
                                part.delete(ix_key);
                            }
                            Ok((_, expires)) if expires != at => {
                                // The record is not the one this entry was written for.
                                part.delete(ix_key);
                            }
                            Ok((grant, _)) => {
                                let mut child_index = keys.grant_children(grant.as_str());
                                child_index
                                    .extend_from_slice(format!("{}/{hex}", kind.tag()).as_bytes());
                                part.expect_value(record_key.clone(), bytes)
                                    .delete(record_key)
                                    .delete(child_index)
                                    .delete(ix_key);
                                counts = true;
                            }
                        },
                    }
                }
                Some((at, Expiring::Once(namespace, hex))) => {
                    let marker = keys.once_escaped(&namespace, &hex);
                    match self.read(&marker).await? {
                        None => {
                            part.delete(ix_key);
                        }
                        Some(bytes) => match decode::<StoredOnce>(&bytes, "one-time marker") {
                            Err(_) => {
                                tracing::warn!(
                                    "purge: a one-time marker cannot be decoded; dropping its expiry-index entry"
                                );
                                part.delete(ix_key);
                            }
                            Ok(stored) if stored.expires_at != at => {
                                // Re-inserted since; its own entry is elsewhere in the index.
                                part.delete(ix_key);
                            }
                            Ok(_) => {
                                part.expect_value(marker.clone(), bytes)
                                    .delete(marker)
                                    .delete(ix_key);
                                counts = true;
                            }
                        },
                    }
                }
            }
            if commit.len() + part.len() > self.max_commit_len {
                break;
            }
            append(&mut commit, part);
            if counts {
                removed += 1;
            }
            if grant_sweep.is_some() {
                sweep = grant_sweep;
                break;
            }
        }
        let progressed = !commit.is_empty();
        let round = Round {
            removed,
            progressed,
            sweep,
        };
        Ok(if progressed {
            Plan::Commit(commit, round)
        } else {
            Plan::Done(round)
        })
    }

    /// Deletes the children of purged grant `escaped` (absent now), at most `budget` of
    /// them, then, if none is left, its expiry-index entry `ix_key` (also with no
    /// budget: it is not a record). Returns how many children existed and
    /// were deleted, and whether anything was written.
    async fn sweep_purged_grant(
        &self,
        escaped: &str,
        ix_key: &[u8],
        budget: usize,
    ) -> Result<(usize, bool), StoreError> {
        let grant_key = self.keys.grant_escaped(escaped);
        let prefix = self.keys.grant_children_escaped(escaped);
        let mut removed = 0;
        let mut wrote = false;
        loop {
            let remaining = budget - removed;
            let step = self
                .run("purge_expired", || async {
                    if self.read(&grant_key).await?.is_some() {
                        // A grant of that id exists again: the entry is its own.
                        return Ok(Plan::Done(Step::Finished(false)));
                    }
                    // At least one entry, to see whether any is left.
                    let page = self
                        .backend
                        .scan(&prefix, None, self.batch.min(remaining).max(1))
                        .await?;
                    // Every commit requires the grant to be absent: no child can be
                    // added under it meanwhile.
                    let mut commit = Commit::new();
                    commit.expect_absent(grant_key.clone());
                    if page.is_empty() {
                        commit.delete(ix_key.to_vec());
                        return Ok(Plan::Commit(commit, Step::Finished(true)));
                    }
                    if remaining == 0 {
                        return Ok(Plan::Done(Step::OutOfBudget));
                    }
                    let records = self.delete_children(&prefix, &page, &mut commit);
                    let existed = self
                        .read_many(&records)
                        .await?
                        .iter()
                        .filter(|r| r.is_some())
                        .count();
                    Ok(Plan::Commit(commit, Step::Swept(existed)))
                })
                .await?;
            match step {
                Step::Finished(deleted) => return Ok((removed, wrote || deleted)),
                Step::OutOfBudget => return Ok((removed, wrote)),
                Step::Swept(n) => {
                    removed += n;
                    wrote = true;
                }
            }
        }
    }
}

/// The grant and expiry of a stored code or token.
fn child_grant(kind: Child, bytes: &[u8]) -> Result<(GrantId, UnixTime), StoreError> {
    Ok(match kind {
        Child::Code => {
            let stored: StoredCode = decode(bytes, "code")?;
            (stored.code.grant_id, stored.code.expires_at)
        }
        Child::Access => {
            let token: AccessTokenRecord = decode(bytes, "access token")?;
            (token.grant_id, token.expires_at)
        }
        Child::Refresh => {
            let stored: StoredRefresh = decode(bytes, "refresh token")?;
            (stored.grant_id().clone(), stored.expires_at())
        }
    })
}
