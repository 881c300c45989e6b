//! The storage contract: typed records, atomic outcomes, `now` passed in.
//!
//! Every backend implements [`Store`] and runs the conformance suite in
//! `oauth-store-testkit`, which checks each clause below, races included.
//!
//! # Contract
//!
//! - **No clock, no raw credentials.** Every method that depends on expiry takes `now`;
//!   a store never reads a clock. Credentials arrive only as [`TokenHash`]es.
//! - **Expiry.** A record whose `expires_at` is at or before `now` is never returned;
//!   it behaves as absent. [`Store::purge_expired`] deletes such records in bounded
//!   batches; backends with native TTL may also expire them on their own.
//! - **Atomic consume.** [`Store::consume_code`] is one conditional step that marks the
//!   code used *and* stores the tokens issued from it: of any number of concurrent calls
//!   for one code, exactly one gets [`ConsumeOutcome::Consumed`] and only its tokens are
//!   stored; the rest get [`ConsumeOutcome::AlreadyUsed`] and store nothing. (Issuing in
//!   the same step means a replay that revokes the grant can never fall between the
//!   redemption and the token write: the winner's tokens exist, and are revoked with it.) A consumed code leaves a tombstone
//!   keeping its record until the code's expiry, so a replay is recognised
//!   ([`CodeLookup::Used`]).
//! - **Atomic rotation.** [`Store::rotate_refresh`] is one compare-and-swap: the presented
//!   token is retired and its successor stored together, or nothing happens. Of concurrent
//!   rotations of one token exactly one gets [`RotateOutcome::Rotated`]. A retired token
//!   leaves a tombstone remembering its grant until its expiry.
//! - **Bounded grace (optional).** A rotation may leave a [`RefreshGrace`] with the
//!   tombstone; [`Store::claim_refresh_grace`] hands it out at most once, and never after
//!   its `until`. Of concurrent claims exactly one gets it.
//! - **Insert-if-absent.** [`Store::insert_once`] records a one-time marker and reports
//!   whether it was new; of concurrent inserts of one marker exactly one is new.
//! - **Cascading revocation.** Revoking a grant removes the grant and every code, access
//!   token and refresh token of it (tombstones included); deleting a client or a user's
//!   grants does so for each of their grants. Revocation is idempotent, touches only the
//!   affected records, and its errors propagate: a failed revocation is never reported as
//!   done.
//! - **Grant lifetime.** A code or token whose grant has expired or been revoked reads
//!   as absent, even before its own expiry; purging an expired grant removes what is under
//!   it (each record counts against the purge limit).
//! - **Writes are checked.** Storing tokens or a code under a grant that does not exist
//!   (for example revoked by replay detection while they were being issued), or a record
//!   whose id or hash exists already, fails with [`StoreErrorKind::Conflict`] and changes
//!   nothing: the driver answers 503 rather than report tokens that were never usable.
//! - **One-time markers** are not extended by a second insert while live.
//! - **Isolation.** Each backend namespaces its keys or tables so that two providers, or
//!   two tests, can share one server.
//! - **Errors.** Failures are [`StoreError`]s with their source kept; the driver answers
//!   503 `temporarily_unavailable`, never a false success.
//! - **Declared single use.** [`Store::single_use`] says whether the atomic clauses above
//!   hold. A store on a backend that cannot decide concurrent writes atomically (an
//!   eventually consistent key-value service) says [`SingleUse::NotGuaranteed`], and
//!   the [`Provider`](crate::Provider) refuses it (and a host driving the machine itself
//!   gets a store failure from each single-use step on it) unless the host names
//!   [`ConfigBuilder::accept_store_without_atomic_single_use`](crate::ConfigBuilder::accept_store_without_atomic_single_use).

use async_trait::async_trait;

use crate::crypto::TokenHash;
use crate::error::StoreError;
#[cfg(doc)]
use crate::error::StoreErrorKind;
use crate::model::{
    AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens,
    RefreshTokenRecord, UserId,
};
use crate::time::UnixTime;

/// Whether a store keeps the atomic clauses of the contract: single-use codes, refresh
/// rotation, grace claims and one-time markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SingleUse {
    /// Of concurrent consumes, rotations, grace claims or inserts of one key, exactly
    /// one wins.
    Atomic,
    /// Concurrent calls may each win, for as long as the backend takes to converge: a
    /// code redeemed twice, a refresh token rotated into two successors, a replay that
    /// goes unnoticed. The provider refuses such a store unless the host accepts it by
    /// name ([`ConfigBuilder::accept_store_without_atomic_single_use`](crate::ConfigBuilder::accept_store_without_atomic_single_use)).
    NotGuaranteed,
}

/// What [`Store::client_and_code`] read, each part with its own outcome.
#[derive(Debug)]
pub struct ClientAndCode {
    /// The client, as [`Store::client`] answers.
    pub client: Result<Option<Client>, StoreError>,
    /// The code, as [`Store::find_code`] answers; `None` when it was not read.
    pub code: Option<Result<CodeLookup, StoreError>>,
}

/// What a read of a code found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeLookup {
    /// The code exists, is unexpired and unused.
    Active(CodeRecord),
    /// The code was redeemed already. The tombstone keeps the record, so that a replay
    /// can be validated (client, verifier, redirect URI) before its grant is revoked:
    /// only a replay that would otherwise succeed revokes (OAuth 2.1 §7.5.2).
    Used(CodeRecord),
    /// No such code, or it expired, or its grant was revoked.
    NotFound,
}

/// The outcome of an atomic redemption of a code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived values returned once per call; boxing would allocate on the hot path"
)]
pub enum ConsumeOutcome {
    /// This call redeemed the code, which is now a tombstone, and stored the tokens
    /// issued from it.
    Consumed,
    /// Another call redeemed the code first.
    AlreadyUsed {
        /// The grant the code belonged to.
        grant_id: GrantId,
    },
    /// No such code, or it expired, or its grant was revoked.
    NotFound,
}

/// What a read of a refresh token found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshLookup {
    /// The token exists, is unexpired and not retired.
    Active(RefreshTokenRecord),
    /// The token was rotated already; its tombstone names its grant and client.
    Retired {
        /// The grant the token belonged to.
        grant_id: GrantId,
        /// The client the token was issued to.
        client_id: ClientId,
        /// When it was retired.
        retired_at: UnixTime,
    },
    /// No such token, or it expired, or its grant was revoked.
    NotFound,
}

/// The outcome of an atomic rotation of a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The presented token was retired and the successor tokens stored.
    Rotated,
    /// The presented token had been retired already (by a concurrent rotation or an
    /// earlier one); nothing was stored.
    Reused {
        /// The grant the token belonged to.
        grant_id: GrantId,
    },
    /// No such token, or it expired, or its grant was revoked; nothing was stored.
    NotFound,
}

/// What a rotation leaves behind for an optional, bounded grace period: the successor
/// tokens, sealed so that only the retired token (together with the server key) opens
/// them. Stores keep it opaque, with the retired token's tombstone, until `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshGrace {
    /// The sealed successor response.
    pub sealed_successor: Vec<u8>,
    /// The end of the grace period (at most a minute after the rotation).
    pub until: UnixTime,
}

/// A one-time marker for [`Store::insert_once`]: a namespace and a 256-bit key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OnceKey {
    /// What kind of one-time value this is (for example `ticket`).
    pub namespace: &'static str,
    /// The value's keyed hash.
    pub key: [u8; 32],
}

/// Persistent state of an authorization server.
///
/// See the [module documentation](self) for the contract every method keeps.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether this store keeps the atomic clauses of the contract. A store that wraps
    /// another answers what the wrapped store answers. There is no default, so that no
    /// store claims [`SingleUse::Atomic`] by omission.
    fn single_use(&self) -> SingleUse;

    // ---- clients ----

    /// The client with this id, if registered.
    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;

    /// Inserts or replaces a client (an administrative update).
    async fn put_client(&self, client: &Client) -> Result<(), StoreError>;

    /// Replaces a client only if it exists; `false` (and nothing written) if it does not.
    /// Updates through the registration-management endpoint use this, so an update racing
    /// a deletion can never bring the deleted client back.
    async fn replace_client(&self, client: &Client) -> Result<bool, StoreError>;

    /// Inserts a client only if no client has its id; `false` (and nothing written) if
    /// one does. Registration uses this, so a new registration can never take over an
    /// existing client's id. Of concurrent inserts of one id exactly one is `true`.
    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError>;

    /// Deletes a client and, cascading, every grant of it with their codes and tokens.
    /// Deleting an unknown client succeeds.
    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError>;

    // ---- grants and codes ----

    /// Stores a new grant together with the first code issued under it.
    async fn create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError>;

    /// Reads a code without consuming it.
    async fn find_code(&self, hash: &TokenHash, now: UnixTime) -> Result<CodeLookup, StoreError>;

    /// The client with this id and the code with this hash, read together: the first
    /// question of a code redemption, so that a backend across a network can answer it in
    /// one round trip instead of two. Each part has its own outcome ([`ClientAndCode`]):
    /// the client exactly as [`Store::client`] answers, and the code as
    /// [`Store::find_code`] answers, or `None` when it was not read (no client, or the
    /// client's read failed). A failed code read never fails the client's part: the
    /// request must still fail on its client first, as if the code had not been read.
    ///
    /// The default reads the client, then the code. A backend overrides it only to save
    /// the round trip; the conformance suite checks that the answers agree.
    async fn client_and_code(
        &self,
        id: &ClientId,
        code: &TokenHash,
        now: UnixTime,
    ) -> ClientAndCode {
        let client = self.client(id).await;
        let code = match client {
            Ok(Some(_)) => Some(self.find_code(code, now).await),
            _ => None,
        };
        ClientAndCode { client, code }
    }

    /// Atomically redeems a code and stores the tokens issued from it, under the code's
    /// grant, in the same step. See the module documentation.
    async fn consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError>;

    /// The grant with this id, if it exists and is unexpired.
    async fn grant(&self, id: &GrantId, now: UnixTime) -> Result<Option<GrantRecord>, StoreError>;

    /// The unexpired grants of a user.
    async fn grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError>;

    /// Revokes a grant and everything issued under it. Idempotent.
    async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError>;

    /// Revokes every grant of a user. Idempotent.
    async fn revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError>;

    // ---- tokens ----

    /// Stores tokens issued under an existing grant, or under `new_grant`, which is
    /// created in the same step (client credentials).
    async fn store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError>;

    /// The unexpired access token with this hash, with its grant.
    async fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError>;

    /// Deletes one access token. Idempotent.
    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError>;

    /// Reads a refresh token without rotating it.
    async fn find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError>;

    /// Atomically retires the refresh token `old` and stores `successor` under the same
    /// grant, keeping `grace` (if any) with the tombstone. See the module documentation.
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError>;

    /// Atomically takes the grace left by the rotation of the retired token `retired`:
    /// the sealed successor the first time it is asked for before `until`, `None` after
    /// that, after `until`, for a token rotated without grace, or for any other token.
    async fn claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    // ---- one-time markers and housekeeping ----

    /// Records `key` until `expires_at`; `true` if it was not present (unexpired) before.
    async fn insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Deletes at most `limit` expired records (of any kind) and returns how many.
    async fn purge_expired(&self, now: UnixTime, limit: usize) -> Result<usize, StoreError>;
}
