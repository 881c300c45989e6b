//! Bounds on password checking: Argon2 costs 19 MiB and tens of milliseconds per check,
//! so only a few run at once (more are answered 503 at once), and a user name with too
//! many recent failures is locked for a while (429), whether or not it exists.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Password checks running at once.
const MAX_PARALLEL_CHECKS: usize = 4;
/// Failures per user name within [`WINDOW`] before the name is locked.
const MAX_FAILURES: u32 = 10;
/// How long failures count, and how long a lock lasts.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names tracked at most (beyond it, expired entries are dropped; if none, new names
/// are not tracked rather than letting memory grow).
const MAX_TRACKED: usize = 10_000;

struct Failures {
    count: u32,
    since: Instant,
}

/// The login gate.
pub(crate) struct LoginGate {
    checks: Arc<Semaphore>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Default for LoginGate {
    fn default() -> Self {
        LoginGate {
            checks: Arc::new(Semaphore::new(MAX_PARALLEL_CHECKS)),
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginGate {
    /// Whether `name` has failed too often lately.
    pub(crate) fn locked(&self, name: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures
            .get(name)
            .is_some_and(|f| f.count >= MAX_FAILURES && f.since.elapsed() < WINDOW)
    }

    /// A slot for one password check, or `None` when all are busy.
    pub(crate) fn permit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.checks).try_acquire_owned().ok()
    }

    /// Records a failed attempt for `name`.
    pub(crate) fn failed(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = failures.get_mut(name) {
            if entry.since.elapsed() >= WINDOW {
                *entry = Failures {
                    count: 0,
                    since: Instant::now(),
                };
            }
            entry.count = entry.count.saturating_add(1);
            return;
        }
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, f| f.since.elapsed() < WINDOW);
            if failures.len() >= MAX_TRACKED {
                return;
            }
        }
        failures.insert(
            name.to_owned(),
            Failures {
                count: 1,
                since: Instant::now(),
            },
        );
    }

    /// Clears `name`'s failures after a successful login.
    pub(crate) fn succeeded(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_locked_after_too_many_failures_known_or_not() {
        let gate = LoginGate::default();
        for _ in 0..MAX_FAILURES - 1 {
            gate.failed("alice");
            gate.failed("nobody");
        }
        assert!(!gate.locked("alice") && !gate.locked("nobody"));
        gate.failed("alice");
        gate.failed("nobody");
        assert!(gate.locked("alice") && gate.locked("nobody"));
        assert!(!gate.locked("bob"));
        gate.succeeded("alice");
        assert!(!gate.locked("alice"));
    }

    #[test]
    fn only_a_few_password_checks_run_at_once() {
        let gate = LoginGate::default();
        let held: Vec<_> = (0..MAX_PARALLEL_CHECKS)
            .map(|_| gate.permit().unwrap())
            .collect();
        assert!(gate.permit().is_none());
        drop(held);
        assert!(gate.permit().is_some());
    }
}
