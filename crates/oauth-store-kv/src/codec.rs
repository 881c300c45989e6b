//! Versioned JSON encoding of stored records.
//!
//! Every record value is `{"v":<format>,"record":<record>}`. The version is read first,
//! on its own, so that a record written by a newer format is refused as
//! `StoreErrorKind::Corrupt` rather than half-understood; older formats are read by this
//! code (`tests/format.rs` reads committed format-1 fixtures). Only the allow-listed
//! fields of the `oauth-core` model are stored: hashes, never raw credentials; props
//! sealed; nothing copied from a request.
//!
//! Because conditional commits compare values byte for byte, a record is encoded once
//! per write and the bytes read are the bytes compared: nothing re-encodes a record to
//! build a condition.
//!
//! Errors never include record contents: a decoding failure names the kind of record.

use oauth_core::model::{ClientId, CodeRecord, GrantId, RefreshTokenRecord};
use oauth_core::store::RefreshGrace;
use oauth_core::UnixTime;
use serde::{Deserialize, Serialize};

// The encoding itself is `oauth_core::store_codec`, shared with the Redis store.
pub(crate) use oauth_core::store_codec::{decode_record as decode, encode_record as encode};

/// A code, and whether it was redeemed (then it is the tombstone, kept whole so that a
/// replay can be validated before its grant is revoked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredCode {
    pub(crate) used: bool,
    pub(crate) code: CodeRecord,
}

/// A refresh token, or the tombstone its rotation left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum StoredRefresh {
    /// Usable.
    Active { token: RefreshTokenRecord },
    /// Rotated: only what replay detection and the grace period need.
    Retired {
        grant_id: GrantId,
        client_id: ClientId,
        retired_at: UnixTime,
        expires_at: UnixTime,
        grace: Option<StoredGrace>,
    },
}

impl StoredRefresh {
    pub(crate) fn grant_id(&self) -> &GrantId {
        match self {
            StoredRefresh::Active { token } => &token.grant_id,
            StoredRefresh::Retired { grant_id, .. } => grant_id,
        }
    }

    pub(crate) fn expires_at(&self) -> UnixTime {
        match self {
            StoredRefresh::Active { token } => token.expires_at,
            StoredRefresh::Retired { expires_at, .. } => *expires_at,
        }
    }
}

/// The grace a rotation left: the sealed successor, until when it may be claimed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredGrace {
    pub(crate) sealed_successor: Vec<u8>,
    pub(crate) until: UnixTime,
}

impl From<&RefreshGrace> for StoredGrace {
    fn from(grace: &RefreshGrace) -> Self {
        StoredGrace {
            sealed_successor: grace.sealed_successor.clone(),
            until: grace.until,
        }
    }
}

/// A one-time marker: only its expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredOnce {
    pub(crate) expires_at: UnixTime,
}
