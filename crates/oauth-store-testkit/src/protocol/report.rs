//! What a run reports: the invariant a step broke, or counts of what it observed.

use std::fmt;

use super::model::{RevokedBy, Status};
use super::op::Op;

/// The invariants the harness checks after every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// (a) A code was redeemed successfully twice.
    CodeRedeemedTwice,
    /// (a) After a code was replayed, a token it (or its grant) issued still works.
    ReplayedCodeTokenLive,
    /// (b) A token works after its own revocation, its grant's revocation, or its expiry.
    DeadTokenAccepted,
    /// (c) A rotated refresh token was accepted again, or its reuse did not end the grant.
    RetiredRefreshAccepted,
    /// (d) A response carries a secret it must not (a client secret, a code or token
    /// other than the ones it issues, a PKCE verifier, a secret of the grant's props).
    SecretLeaked,
    /// (e) A server error (5xx, `temporarily_unavailable`, a store error) with a store
    /// that never fails.
    ServerError,
    /// (f) A credential expires after its grant, or works after its grant ended.
    OutlivesGrant,
    /// The server refused or answered what the protocol says it must accept or answer
    /// otherwise (a live token refused, a missing field, a wrong status): the model's
    /// prediction failed, which keeps the safety invariants from passing vacuously.
    ModelMismatch,
}

impl Invariant {
    /// The invariant broken when a credential in `status` is accepted.
    pub(crate) fn for_accepted(status: Status) -> Invariant {
        match status {
            Status::GrantRevoked(RevokedBy::CodeReplay) => Invariant::ReplayedCodeTokenLive,
            Status::GrantRevoked(RevokedBy::RefreshReuse) | Status::Retired => {
                Invariant::RetiredRefreshAccepted
            }
            Status::GrantExpired => Invariant::OutlivesGrant,
            Status::GrantRevoked(_) | Status::Revoked | Status::Expired | Status::Live => {
                Invariant::DeadTokenAccepted
            }
        }
    }
}

/// A broken invariant: the step, the operation and what was observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The 1-based index of the step in the run (for the final sweep: the last step's).
    pub step: usize,
    /// The operation of that step; `None` for the final sweep after the last step.
    pub op: Option<Op>,
    /// The invariant.
    pub invariant: Invariant,
    /// What happened.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} ({:?}): {:?}: {}",
            self.step, self.op, self.invariant, self.detail
        )
    }
}

impl std::error::Error for Violation {}

/// What a run observed: evidence that the checks ran on real events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Operations applied.
    pub steps: usize,
    /// Operations skipped for want of a candidate (no client, no code, ...).
    pub skipped: usize,
    /// Clients registered.
    pub clients: usize,
    /// Codes issued (approved authorizations).
    pub codes_issued: usize,
    /// Authorizations denied (no code, `access_denied`).
    pub denials: usize,
    /// Codes redeemed for tokens.
    pub codes_redeemed: usize,
    /// Valid replays of redeemed codes, refused, that revoked the grant.
    pub code_replays: usize,
    /// Redemptions refused without effect (wrong verifier or client, expired, revoked).
    pub redemptions_refused: usize,
    /// Refresh-token rotations.
    pub rotations: usize,
    /// Reuses of rotated refresh tokens, refused, that revoked the grant.
    pub refresh_reuses: usize,
    /// Refreshes refused without effect (another client, expired, revoked).
    pub refreshes_refused: usize,
    /// Access tokens revoked at the revocation endpoint.
    pub access_revocations: usize,
    /// Grants revoked through one of their refresh tokens at the revocation endpoint.
    pub refresh_revocations: usize,
    /// Revocation requests that (rightly) changed nothing.
    pub revocations_without_effect: usize,
    /// Grants revoked by the host (`revoke_grant` after `grants_for_user`).
    pub host_revocations: usize,
    /// Introspection answers `active: true`.
    pub introspected_active: usize,
    /// Introspection answers `{"active":false}`.
    pub introspected_inactive: usize,
    /// Introspection requests refused (public or unknown caller).
    pub introspections_refused: usize,
    /// Bearer requests accepted.
    pub bearer_accepted: usize,
    /// Bearer requests refused.
    pub bearer_refused: usize,
    /// Replays of seen values ([`Op::Replay`]).
    pub replays: usize,
    /// Dead credentials confirmed refused, by why they are dead: their grant revoked by
    /// a code replay.
    pub refused_after_code_replay: usize,
    /// ... their grant revoked by a refresh-token reuse.
    pub refused_after_refresh_reuse: usize,
    /// ... revoked themselves, or their grant revoked by a revocation request or the
    /// host.
    pub refused_after_revocation: usize,
    /// ... retired by a rotation (introspection and the token endpoint).
    pub refused_after_rotation: usize,
    /// ... expired by their own lifetime.
    pub refused_after_expiry: usize,
    /// ... ended with their grant, before their own lifetime.
    pub refused_after_grant_expiry: usize,
    /// Responses searched for leaked secrets.
    pub responses_checked: usize,
}

impl Stats {
    pub(crate) fn count_refused(&mut self, status: Status) {
        let counter = match status {
            Status::Live => return,
            Status::GrantRevoked(RevokedBy::CodeReplay) => &mut self.refused_after_code_replay,
            Status::GrantRevoked(RevokedBy::RefreshReuse) => &mut self.refused_after_refresh_reuse,
            Status::GrantRevoked(_) | Status::Revoked => &mut self.refused_after_revocation,
            Status::Retired => &mut self.refused_after_rotation,
            Status::Expired => &mut self.refused_after_expiry,
            Status::GrantExpired => &mut self.refused_after_grant_expiry,
        };
        *counter += 1;
    }

    /// Adds the counts of another run.
    pub fn add(&mut self, other: &Stats) {
        let Stats {
            steps,
            skipped,
            clients,
            codes_issued,
            denials,
            codes_redeemed,
            code_replays,
            redemptions_refused,
            rotations,
            refresh_reuses,
            refreshes_refused,
            access_revocations,
            refresh_revocations,
            revocations_without_effect,
            host_revocations,
            introspected_active,
            introspected_inactive,
            introspections_refused,
            bearer_accepted,
            bearer_refused,
            replays,
            refused_after_code_replay,
            refused_after_refresh_reuse,
            refused_after_revocation,
            refused_after_rotation,
            refused_after_expiry,
            refused_after_grant_expiry,
            responses_checked,
        } = other;
        self.steps += steps;
        self.skipped += skipped;
        self.clients += clients;
        self.codes_issued += codes_issued;
        self.denials += denials;
        self.codes_redeemed += codes_redeemed;
        self.code_replays += code_replays;
        self.redemptions_refused += redemptions_refused;
        self.rotations += rotations;
        self.refresh_reuses += refresh_reuses;
        self.refreshes_refused += refreshes_refused;
        self.access_revocations += access_revocations;
        self.refresh_revocations += refresh_revocations;
        self.revocations_without_effect += revocations_without_effect;
        self.host_revocations += host_revocations;
        self.introspected_active += introspected_active;
        self.introspected_inactive += introspected_inactive;
        self.introspections_refused += introspections_refused;
        self.bearer_accepted += bearer_accepted;
        self.bearer_refused += bearer_refused;
        self.replays += replays;
        self.refused_after_code_replay += refused_after_code_replay;
        self.refused_after_refresh_reuse += refused_after_refresh_reuse;
        self.refused_after_revocation += refused_after_revocation;
        self.refused_after_rotation += refused_after_rotation;
        self.refused_after_expiry += refused_after_expiry;
        self.refused_after_grant_expiry += refused_after_grant_expiry;
        self.responses_checked += responses_checked;
    }
}
