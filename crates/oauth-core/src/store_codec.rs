//! What stores that keep records as bytes under string keys share (the Redis and the
//! key-value stores): the versioned JSON encoding of records, and the escaping of ids
//! inside keys. Pure functions; each store documents its own key layout.
//!
//! **Records** are `{"v":<format>,"record":<record>}`. The version is read first, on its
//! own, so that a record written by a newer format is refused as
//! [`StoreErrorKind::Corrupt`] rather than half-understood; older formats are read here.
//! Only the allow-listed fields of the [`model`](crate::model) types are stored: hashes,
//! never raw credentials; props sealed. Errors never include record contents: a decoding
//! failure names the kind of record.
//!
//! **Ids** (client, user, grant ids, namespaces) come from outside and may hold any
//! character: [`escape_key_part`] keeps `A-Z a-z 0-9 _ . -` and writes every other byte
//! as `%XX`, which is injective (`%` itself is escaped) and never yields a separator
//! (`:`, `/`), a hash-tag brace or a glob character.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreErrorKind};

/// The record format this code writes. Bump it (and keep reading the older ones)
/// whenever the stored shape of a record changes.
pub const RECORD_FORMAT: u32 = 1;

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

/// Encodes a record in the current format ([`RECORD_FORMAT`]).
pub fn encode_record<T: Serialize>(record: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&Out {
        v: RECORD_FORMAT,
        record,
    })
    .map_err(|_| {
        StoreError::new(
            StoreErrorKind::Other,
            "a record could not be encoded as JSON",
        )
    })
}

/// Decodes a record of format 1 up to [`RECORD_FORMAT`]; `what` names the kind of record
/// in the error.
pub fn decode_record<T: DeserializeOwned>(
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

/// Whether `b` stands for itself in a key: `A-Z a-z 0-9 _ . -`.
#[must_use]
pub fn is_key_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// `id` as it stands inside a key: [`is_key_safe`] bytes kept, every other byte `%XX`.
#[must_use]
pub fn escape_key_part(id: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if is_key_safe(b) {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
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
        let bytes = encode_record(&Thing { a: 7 }).unwrap();
        assert_eq!(bytes, br#"{"v":1,"record":{"a":7}}"#);
        assert_eq!(
            decode_record::<Thing>(&bytes, "thing").unwrap(),
            Thing { a: 7 }
        );
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
            let err = decode_record::<Thing>(bad, "thing").unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Corrupt);
            assert!(!err.to_string().contains("secret-ish"), "{err}");
        }
    }

    #[test]
    fn escaped_ids_keep_safe_bytes_and_never_collide() {
        assert_eq!(escape_key_part("client-1_a.b"), "client-1_a.b");
        assert_eq!(escape_key_part("a:b/{c}*%"), "a%3Ab%2F%7Bc%7D%2A%25");
        assert_eq!(escape_key_part("é"), "%C3%A9");
        let ids = ["a%3Ab", "a:b", "a/b", "a%2Fb", ""];
        let escaped: Vec<String> = ids.iter().map(|id| escape_key_part(id)).collect();
        for (i, a) in escaped.iter().enumerate() {
            for (j, b) in escaped.iter().enumerate() {
                assert_eq!(i == j, a == b, "{} ~ {}", ids[i], ids[j]);
            }
        }
    }
}
