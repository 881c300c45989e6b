//! The bounds on fetches in flight: one for the whole fetcher and one per origin
//! (`host:port`), both taken before anything else happens and held until the fetch's
//! last piece of work (the name resolution included) has really finished.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many fetches each origin has in flight; an origin is only listed while it has
/// some, so the map never holds more entries than there are fetches in flight.
#[derive(Debug)]
pub(crate) struct OriginLimits {
    limit: usize,
    in_flight: Mutex<HashMap<(String, u16), usize>>,
}

impl OriginLimits {
    /// At most `limit` fetches to one origin at once.
    pub(crate) fn new(limit: usize) -> Self {
        OriginLimits {
            limit,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// A permit for one more fetch to `host:port`, unless the origin has `limit` already.
    pub(crate) fn try_acquire(self: &Arc<Self>, host: &str, port: u16) -> Option<OriginPermit> {
        let key = (host.to_owned(), port);
        // The lock is never held across anything that can panic; a poisoned one is used
        // as it is rather than turning the limit off.
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = in_flight.entry(key.clone()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(OriginPermit {
            limits: Arc::clone(self),
            key,
        })
    }

    /// How many origins have fetches in flight.
    #[cfg(test)]
    pub(crate) fn origins(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One fetch's share of its origin's limit, given back when dropped.
#[derive(Debug)]
pub(crate) struct OriginPermit {
    limits: Arc<OriginLimits>,
    key: (String, u16),
}

impl Drop for OriginPermit {
    fn drop(&mut self) {
        let mut in_flight = self
            .limits
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = in_flight.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                in_flight.remove(&self.key);
            }
        }
    }
}

/// What a fetch holds while it is in flight: a place under the fetcher's bound and one
/// under its origin's. Whoever owns this value keeps both; moving it into a task that
/// outlives the caller (a name resolution the caller gave up on) keeps the fetch counted
/// until that task ends.
#[derive(Debug)]
pub(crate) struct Permits {
    _global: OwnedSemaphorePermit,
    _origin: OriginPermit,
}

/// Takes both permits for a fetch to `host:port`, or none: `None` when either bound is
/// reached (the caller fails at once rather than queueing).
pub(crate) fn try_acquire(
    global: &Arc<Semaphore>,
    origins: &Arc<OriginLimits>,
    host: &str,
    port: u16,
) -> Option<Permits> {
    let origin = origins.try_acquire(host, port)?;
    let global = Arc::clone(global).try_acquire_owned().ok()?;
    Some(Permits {
        _global: global,
        _origin: origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_origin_has_its_own_bound_within_the_global_one() {
        let global = Arc::new(Semaphore::new(3));
        let origins = Arc::new(OriginLimits::new(2));
        let a1 = try_acquire(&global, &origins, "a.test", 443).unwrap();
        let a2 = try_acquire(&global, &origins, "a.test", 443).unwrap();
        assert!(try_acquire(&global, &origins, "a.test", 443).is_none());
        // Another port is another origin.
        let a_other_port = try_acquire(&global, &origins, "a.test", 8443).unwrap();
        // The global bound is reached: nothing more, and the refused origin permit is
        // given back at once.
        assert!(try_acquire(&global, &origins, "b.test", 443).is_none());
        assert_eq!(origins.origins(), 2);
        drop(a_other_port);
        let b = try_acquire(&global, &origins, "b.test", 443).unwrap();
        drop(a1);
        assert!(try_acquire(&global, &origins, "a.test", 443).is_some());
        drop((a2, b));
        assert_eq!(global.available_permits(), 3);
        assert_eq!(origins.origins(), 0);
    }
}
