//! How driver and server failures become [`StoreError`]s.
//!
//! Every failure keeps the driver's error as its source. The kind tells operators what
//! happened; the provider answers 503 `temporarily_unavailable` for every kind, so no
//! failure (a lost connection, a timeout, a replica that cannot write, a server loading
//! its data set or busy with a script) is ever reported as success.

use oauth_core::{StoreError, StoreErrorKind};
use redis::{ErrorKind, RedisError};

/// Maps a driver error to a store error, keeping it as the source.
pub(crate) fn classify(error: RedisError) -> StoreError {
    let (kind, message) = kind_of(&error);
    StoreError::with_source(kind, message, error)
}

fn kind_of(error: &RedisError) -> (StoreErrorKind, &'static str) {
    if error.is_timeout() {
        return (StoreErrorKind::Unavailable, "Redis did not answer in time");
    }
    if error.is_connection_refusal() || error.is_connection_dropped() || error.is_io_error() {
        return (StoreErrorKind::Unavailable, "Redis is unreachable");
    }
    match error.kind() {
        ErrorKind::BusyLoadingError => {
            (StoreErrorKind::Unavailable, "Redis is loading its data set")
        }
        ErrorKind::ReadOnly => (
            StoreErrorKind::Unavailable,
            "Redis is a read-only replica (failover in progress?)",
        ),
        ErrorKind::CrossSlot => (
            StoreErrorKind::Other,
            "Redis refused a request across cluster slots (a bug in the store)",
        ),
        ErrorKind::TryAgain
        | ErrorKind::ClusterDown
        | ErrorKind::ClusterConnectionNotFound
        | ErrorKind::MasterDown
        | ErrorKind::Moved
        | ErrorKind::Ask
        | ErrorKind::NoScriptError => (
            StoreErrorKind::Unavailable,
            "Redis cannot serve the request now",
        ),
        ErrorKind::TypeError | ErrorKind::ParseError => (
            StoreErrorKind::Corrupt,
            "Redis answered with an unexpected reply",
        ),
        _ => match error.code() {
            Some("BUSY") => (
                StoreErrorKind::Unavailable,
                "Redis is busy running a script",
            ),
            Some("OOM" | "MISCONF" | "NOREPLICAS" | "NOTREADY" | "LOADING" | "READONLY") => (
                StoreErrorKind::Unavailable,
                "Redis refuses writes now (memory, persistence or replication)",
            ),
            Some("CORRUPT") => (
                StoreErrorKind::Corrupt,
                "a stored grant reference is malformed",
            ),
            Some("WRONGTYPE") => (
                StoreErrorKind::Corrupt,
                "a key of this store holds a value of the wrong type",
            ),
            _ => (StoreErrorKind::Other, "Redis failed"),
        },
    }
}

/// A caller handed the store records that contradict each other.
pub(crate) fn misuse(message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Other, message)
}

/// A write refused because it would overwrite or orphan a record.
pub(crate) fn conflict(message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Conflict, message)
}

/// A reply or record that does not have the shape the scripts write.
pub(crate) fn corrupt(message: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_refusals_are_unavailable() {
        for error in [
            RedisError::from((ErrorKind::ReadOnly, "readonly")),
            RedisError::from((ErrorKind::BusyLoadingError, "loading")),
            RedisError::from((ErrorKind::TryAgain, "try again")),
            RedisError::from((ErrorKind::ClusterDown, "the cluster is down")),
            RedisError::from((ErrorKind::Moved, "moved")),
            RedisError::from((ErrorKind::Ask, "ask")),
            RedisError::from((ErrorKind::ClusterConnectionNotFound, "no node")),
            RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)),
        ] {
            assert_eq!(classify(error).kind(), StoreErrorKind::Unavailable);
        }
    }

    #[test]
    fn type_errors_are_corrupt() {
        let error = RedisError::from((ErrorKind::TypeError, "unexpected reply"));
        assert_eq!(classify(error).kind(), StoreErrorKind::Corrupt);
    }
}
