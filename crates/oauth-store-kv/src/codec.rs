//! Versioned JSON encoding of stored records.
//!
//! Every record value is `{"v":<format>,"record":<record>}`. The version is read first,
//! on its own, so that a record written by a newer format is refused as
//! [`StoreErrorKind::Corrupt`] rather than half-understood; older formats are read by this
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
use oauth_core::{StoreError, StoreErrorKind, UnixTime};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The format this code writes. Bump it (and keep reading the older ones) whenever the
/// stored shape of a record changes.
pub(crate) const FORMAT: u32 = 1;

#[derive(Serialize)]
struct Out<'a, T> {
    v: u32,
    record: &'a T,
}

#[derive(Deserialize)]
struct Version {
    v: u32,
}

#[derive(Deserialize)]
struct In<T> {
    record: T,
}

/// Encodes a record in the current format.
pub(crate) fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&Out { v: FORMAT, record }).map_err(|_| {
        StoreError::new(
            StoreErrorKind::Other,
            "a record could not be encoded as JSON",
        )
    })
}

/// Decodes a record of format 1 up to [`FORMAT`]; `what` names the kind of record in the
/// error.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, StoreError> {
    let corrupt = |detail: &str| {
        StoreError::new(
            StoreErrorKind::Corrupt,
            format!("a stored {what} record {detail}"),
        )
    };
    let version: Version =
        serde_json::from_slice(bytes).map_err(|_| corrupt("is not versioned JSON"))?;
    match version.v {
        // Format 1 is the current one. A later format adds an arm here that reads format 1
        // into the new shape.
        1 => serde_json::from_slice::<In<T>>(bytes)
            .map(|stored| stored.record)
            .map_err(|_| corrupt("does not match format 1")),
        _ => Err(corrupt("has a format version this code does not know")),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        a: u32,
    }

    #[test]
    fn records_round_trip_with_a_version() {
        let bytes = encode(&Thing { a: 7 }).unwrap();
        assert_eq!(bytes, br#"{"v":1,"record":{"a":7}}"#);
        assert_eq!(decode::<Thing>(&bytes, "thing").unwrap(), Thing { a: 7 });
    }

    #[test]
    fn unknown_versions_and_garbage_are_corrupt_without_contents() {
        for bad in [
            &br#"{"v":2,"record":{"a":7}}"#[..],
            br#"{"v":0,"record":{"a":7}}"#,
            br#"{"record":{"a":7}}"#,
            br#"{"v":1,"record":{"b":"secret-ish"}}"#,
            b"not json",
        ] {
            let err = decode::<Thing>(bad, "thing").unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Corrupt);
            assert!(!err.to_string().contains("secret-ish"), "{err}");
        }
    }
}
