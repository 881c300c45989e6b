//! The document cache: bounded in entries, each entry with an expiry derived from the
//! response's HTTP caching headers within the configured bounds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AGE, CACHE_CONTROL};
use http::HeaderMap;

/// Documents by Client Identifier URL, until their expiry. Time is an argument, so the
/// rules are tested without waiting.
#[derive(Debug)]
pub(crate) struct DocumentCache {
    entries: HashMap<String, Entry>,
    capacity: usize,
}

#[derive(Debug)]
struct Entry {
    body: Bytes,
    expires: Instant,
}

impl DocumentCache {
    /// An empty cache holding at most `capacity` documents (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        DocumentCache {
            entries: HashMap::new(),
            capacity,
        }
    }

    /// The fresh document cached for `url`, if any; an expired one is dropped.
    pub(crate) fn get(&mut self, url: &str, now: Instant) -> Option<Bytes> {
        let fresh = self.entries.get(url).map(|entry| entry.expires > now)?;
        if fresh {
            self.entries.get(url).map(|entry| entry.body.clone())
        } else {
            self.entries.remove(url);
            None
        }
    }

    /// Keeps `body` for `url` during `ttl` (nothing for a zero `ttl`). When the cache is
    /// full, expired entries go first, then the one expiring soonest: work proportional
    /// to the capacity, and only when the cache is full.
    pub(crate) fn insert(&mut self, url: &str, body: Bytes, ttl: Duration, now: Instant) {
        if self.capacity == 0 || ttl.is_zero() {
            return;
        }
        let Some(expires) = now.checked_add(ttl) else {
            return;
        };
        if !self.entries.contains_key(url) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, entry| entry.expires > now);
            if self.entries.len() >= self.capacity {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.expires)
                    .map(|(url, _)| url.clone());
                if let Some(soonest) = soonest {
                    self.entries.remove(&soonest);
                }
            }
        }
        self.entries.insert(url.to_owned(), Entry { body, expires });
    }

    /// Drops the document cached for `url`.
    pub(crate) fn remove(&mut self, url: &str) {
        self.entries.remove(url);
    }

    /// How many documents are cached (expired ones included until they are touched).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// How long a response may be reused by its own headers (RFC 9111 §4.2.1), before the
/// configured bounds apply: `no-store` and `no-cache` mean zero; otherwise the smallest
/// `max-age` minus the `Age` already spent. `None` when the response says nothing (or
/// says it in a way that cannot be read, which counts as nothing).
pub(crate) fn freshness(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age: Option<u64> = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") {
                // RFC 9111 §1.2.2: a value too large to represent is as large as possible.
                let seconds = argument
                    .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
                    .map(|a| a.parse::<u64>().unwrap_or(u64::MAX));
                match seconds {
                    Some(seconds) => {
                        max_age = Some(max_age.map_or(seconds, |known| known.min(seconds)));
                    }
                    // An invalid max-age makes the response stale (RFC 9111 §4.2.1).
                    None => return Some(Duration::ZERO),
                }
            }
        }
    }
    let age = headers
        .get(AGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    max_age.map(|max_age| Duration::from_secs(max_age.saturating_sub(age)))
}

/// The time a document is kept: its own freshness within `[min, max]`, or `min` when it
/// says nothing. The lower bound wins over `no-store`, as the draft lets a server set its
/// own bounds (§ "Metadata Caching"); a host that wants `no-store` honoured sets `min` to
/// zero.
pub(crate) fn cache_ttl(headers: &HeaderMap, min: Duration, max: Duration) -> Duration {
    freshness(headers).unwrap_or(min).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    const MIN: Duration = Duration::from_secs(60);
    const MAX: Duration = Duration::from_secs(3600);

    #[test]
    fn max_age_is_respected_within_the_bounds() {
        let ttl = |pairs: &[(&str, &str)]| cache_ttl(&headers(pairs), MIN, MAX).as_secs();
        assert_eq!(ttl(&[("cache-control", "max-age=600")]), 600);
        assert_eq!(ttl(&[("cache-control", "public, max-age=\"600\"")]), 600);
        assert_eq!(ttl(&[("cache-control", "max-age=5")]), 60);
        assert_eq!(ttl(&[("cache-control", "max-age=999999")]), 3600);
        assert_eq!(
            ttl(&[("cache-control", "max-age=99999999999999999999999")]),
            3600
        );
        assert_eq!(ttl(&[]), 60);
        assert_eq!(ttl(&[("cache-control", "no-store")]), 60);
        assert_eq!(
            ttl(&[("cache-control", "max-age=600"), ("age", "500")]),
            100
        );
        assert_eq!(ttl(&[("cache-control", "max-age=600, max-age=300")]), 300);
        assert_eq!(
            ttl(&[
                ("cache-control", "max-age=600"),
                ("cache-control", "no-cache")
            ]),
            60
        );
        assert_eq!(ttl(&[("cache-control", "max-age=abc")]), 60);
        // A host honouring no-store sets the lower bound to zero.
        assert_eq!(
            cache_ttl(
                &headers(&[("cache-control", "no-store")]),
                Duration::ZERO,
                MAX
            ),
            Duration::ZERO
        );
    }

    #[test]
    fn entries_expire() {
        let mut cache = DocumentCache::new(4);
        let t0 = Instant::now();
        cache.insert("a", Bytes::from_static(b"A"), Duration::from_secs(10), t0);
        assert_eq!(
            cache.get("a", t0 + Duration::from_secs(9)).as_deref(),
            Some(&b"A"[..])
        );
        assert_eq!(cache.get("a", t0 + Duration::from_secs(10)), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn zero_ttl_and_zero_capacity_cache_nothing() {
        let t0 = Instant::now();
        let mut cache = DocumentCache::new(4);
        cache.insert("a", Bytes::from_static(b"A"), Duration::ZERO, t0);
        assert_eq!(cache.get("a", t0), None);
        let mut off = DocumentCache::new(0);
        off.insert("a", Bytes::from_static(b"A"), Duration::from_secs(10), t0);
        assert_eq!(off.get("a", t0), None);
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_the_soonest_to_expire() {
        let t0 = Instant::now();
        let mut cache = DocumentCache::new(2);
        cache.insert(
            "short",
            Bytes::from_static(b"1"),
            Duration::from_secs(5),
            t0,
        );
        cache.insert(
            "long",
            Bytes::from_static(b"2"),
            Duration::from_secs(50),
            t0,
        );
        cache.insert("new", Bytes::from_static(b"3"), Duration::from_secs(20), t0);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("short", t0), None);
        assert!(cache.get("long", t0).is_some());
        assert!(cache.get("new", t0).is_some());
        // Later, "new" has expired and makes room without evicting "long".
        let t1 = t0 + Duration::from_secs(30);
        cache.insert(
            "newer",
            Bytes::from_static(b"4"),
            Duration::from_secs(20),
            t1,
        );
        assert!(cache.get("long", t1).is_some());
        assert!(cache.get("newer", t1).is_some());
        // Replacing an entry never evicts another.
        cache.insert(
            "long",
            Bytes::from_static(b"5"),
            Duration::from_secs(20),
            t1,
        );
        assert_eq!(cache.len(), 2);
        cache.remove("long");
        assert_eq!(cache.get("long", t1), None);
    }
}
