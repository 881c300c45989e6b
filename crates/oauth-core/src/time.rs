//! Wall-clock time as the machine sees it: a value passed in, never read.
//!
//! Expiry is persisted and compared across processes, so the unit is wall-clock
//! seconds since the Unix epoch rather than a monotonic instant.

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (UTC), as supplied by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// This instant plus `seconds`, saturating instead of overflowing.
    #[must_use]
    pub fn plus(self, seconds: u64) -> UnixTime {
        UnixTime(self.0.saturating_add(seconds))
    }

    /// Seconds from `self` until `later`, or zero if `later` is not after `self`.
    #[must_use]
    pub fn seconds_until(self, later: UnixTime) -> u64 {
        later.0.saturating_sub(self.0)
    }

    /// Whether a record that expires at `self` is expired at `now`.
    ///
    /// A record is valid strictly before its expiry and expired at and after it.
    #[must_use]
    pub fn is_expired_at(self, now: UnixTime) -> bool {
        now >= self
    }
}

/// A source of the current wall-clock time for the driver.
///
/// The machine never calls this; the [`Provider`](crate::Provider) reads it once per
/// request and passes the value down. Tests inject a manual clock.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one sanctioned clock read: SystemClock is the driver's default Clock"
    )]
    fn now(&self) -> UnixTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixTime(since_epoch.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_expired_exactly_at_its_expiry() {
        let expiry = UnixTime(100);
        assert!(!expiry.is_expired_at(UnixTime(99)));
        assert!(expiry.is_expired_at(UnixTime(100)));
        assert!(expiry.is_expired_at(UnixTime(101)));
    }

    #[test]
    fn plus_saturates() {
        assert_eq!(UnixTime(u64::MAX).plus(5), UnixTime(u64::MAX));
        assert_eq!(UnixTime(1).seconds_until(UnixTime(0)), 0);
    }
}
