//! Versioned JSON encoding of stored records.
//!
//! Every record value is `{"v":<format>,"record":<the oauth-core record>}`. The version
//! is read first, on its own, so that a record written by a newer format is refused as
//! `StoreErrorKind::Corrupt` rather than half-understood; older formats are read by
//! this code (see `tests/format.rs` and its committed fixtures). Only the allow-listed
//! fields of the `oauth-core` model types are stored: hashes, never raw credentials; props
//! sealed; nothing copied from a request.
//!
//! Errors never include record contents: a decoding failure names the kind of record,
//! not what it held.

//! The encoding itself is `oauth_core::store_codec`, shared with the key-value store.

pub(crate) use oauth_core::store_codec::{decode_record as decode, encode_record as encode};
