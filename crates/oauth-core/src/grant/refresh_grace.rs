//! The optional refresh-token grace (DESIGN §5): the successor response of a rotation,
//! sealed under a key that needs both the server secret and the *retired* token, kept by
//! the store beside the tombstone for at most a minute and handed out at most once.
//!
//! So a client whose refresh response was lost can retry with the previous token and get
//! the very same successor, while a thief holding only a retired token gets nothing the
//! client has not already been given, and anything beyond the one retry, or after the
//! successor moved on, still revokes the grant.

use crate::crypto::{open, seal, KeyId, Purpose, SubkeyPurpose};
use crate::error::Reason;
use crate::machine::Machine;
use crate::model::GrantId;
use crate::secret::Secret;
use crate::store::RefreshGrace;
use crate::time::UnixTime;
use crate::token::issue::TokenResponse;

fn grace_key(subkey: &[u8; 32], retired: &Secret) -> [u8; 32] {
    crate::crypto::hmac(subkey, &[b"oa2rt\0", retired.expose().as_bytes()])
}

fn context(grant_id: &GrantId) -> Vec<u8> {
    [b"refresh-grace\0".as_slice(), grant_id.as_str().as_bytes()].concat()
}

/// Seals `response` for the grace of the token `retired`, when the server allows one.
pub(crate) fn keep(
    machine: &Machine,
    now: UnixTime,
    retired: &Secret,
    grant_id: &GrantId,
    response: &TokenResponse,
) -> Result<Option<RefreshGrace>, Reason> {
    let seconds = machine.config.refresh_grace;
    if seconds == 0 {
        return Ok(None);
    }
    let key = machine.config.keyring.primary();
    let sealed = seal(
        &grace_key(key.subkey(SubkeyPurpose::RefreshGrace), retired),
        &key.id,
        Purpose::RefreshGrace,
        &context(grant_id),
        &response.to_grace_copy()?,
        machine.config.random.as_ref(),
    )
    .map_err(|_| Reason::InternalFailure)?;
    Ok(Some(RefreshGrace {
        sealed_successor: sealed,
        until: now.plus(seconds),
    }))
}

/// Whether the server keeps graces at all.
pub(crate) fn enabled(machine: &Machine) -> bool {
    machine.config.refresh_grace > 0
}

/// Whether a token retired at `retired_at` may still be answered from its grace.
pub(crate) fn within(machine: &Machine, retired_at: UnixTime, now: UnixTime) -> bool {
    let seconds = machine.config.refresh_grace;
    seconds > 0 && !retired_at.plus(seconds).is_expired_at(now)
}

/// Opens a claimed grace with the retired token that was presented.
pub(crate) fn reopen(
    machine: &Machine,
    now: UnixTime,
    retired: &Secret,
    grant_id: &GrantId,
    sealed: &[u8],
) -> Result<TokenResponse, Reason> {
    let keyring = &machine.config.keyring;
    let key_for = |kid: &KeyId| {
        keyring
            .by_id(kid)
            .map(|k| grace_key(k.subkey(SubkeyPurpose::RefreshGrace), retired))
    };
    let copy = open(sealed, Purpose::RefreshGrace, &context(grant_id), key_for)
        .map_err(|_| Reason::InternalFailure)?;
    TokenResponse::from_grace_copy(&copy, now)
}
