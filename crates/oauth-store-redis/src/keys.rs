//! Key names, the escaping of ids into them, and the encoding of times and TTLs.
//!
//! The layout (see the crate documentation for the whole table) puts every record of one
//! grant under the hash tag `{g:<grant>}`, so that in a Redis Cluster they share one slot.
//! Ids come from clients and hosts and may contain any character, so they are escaped
//! before they become part of a key: `A-Z a-z 0-9 _ . -` are kept and every other byte
//! becomes `%XX`. The escaping is injective (`%` itself is escaped), so two ids never
//! share a key, and an escaped id never contains `:`, `{` or `}`, so it can neither end a
//! hash tag early nor pose as another part of the layout. The Lua scripts build key names
//! the same way from the same escaped tags (`src/lua/common.lua`).

use oauth_core::{TokenHash, UnixTime};

/// The longest key prefix accepted.
pub const MAX_PREFIX_LEN: usize = 64;

/// The longest TTL set on a key, in milliseconds (2^52 ms, about 142,000 years): a
/// saturated "never" expiry is capped here, where every TTL is still exact as a Lua
/// number and far from Redis's own limit.
const MAX_TTL_MS: u64 = 1 << 52;

/// Whether `prefix` is a valid key prefix: 1 to [`MAX_PREFIX_LEN`] characters of
/// `A-Z a-z 0-9 _ . -`. Every key of a store is `<prefix>:...`, so without `:` in
/// prefixes no store's keys can ever fall inside another's (`a` and `a:b` would overlap);
/// without braces a prefix can never become a hash tag; without glob characters
/// `<prefix>:*` matches exactly the store's keys.
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix.bytes().all(oauth_core::store_codec::is_key_safe)
}

/// Escapes an id for use inside a key (see the module documentation).
pub(crate) use oauth_core::store_codec::escape_key_part as escape;

/// A hash as the 64 lower-case hex digits that name its keys.
pub(crate) fn hex(hash: &TokenHash) -> String {
    hash.to_hex()
}

/// A time as the scripts compare it: 20 zero-padded decimal digits (every `u64` fits),
/// so that comparisons are exact and need no 64-bit integers in Lua.
pub(crate) fn time(t: UnixTime) -> String {
    format!("{:020}", t.0)
}

/// Parses a time written by [`time`].
pub(crate) fn parse_time(text: &[u8]) -> Option<UnixTime> {
    std::str::from_utf8(text)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .map(UnixTime)
}

/// The TTL, in milliseconds, of a record valid from `base` until `expires_at`: its
/// remaining lifetime, at least 1 ms (a record stored already expired vanishes at once;
/// reads never return it either way) and at most `MAX_TTL_MS`.
///
/// TTLs are relative, not absolute (`PEXPIRE`, not `PEXPIREAT`): the record lives on the
/// Redis server exactly as long as it is valid for the caller, whatever the offset
/// between the caller's clock (which `now` and every `expires_at` come from) and the
/// server's. An absolute expiry would delete records early or late by that offset.
pub(crate) fn ttl_ms(expires_at: UnixTime, base: UnixTime) -> String {
    let ms = base
        .seconds_until(expires_at)
        .saturating_mul(1000)
        .clamp(1, MAX_TTL_MS);
    ms.to_string()
}

/// The key names of one store.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`, which the caller validated.
    pub(crate) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// The prefix, passed to every script as `ARGV[1]`.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `P:{c:<client>}:client`: the client record.
    pub(crate) fn client(&self, client: &str) -> String {
        format!("{}:{{c:{}}}:client", self.prefix, escape(client))
    }

    /// `P:{g:<grant>}:grant`: the grant record.
    pub(crate) fn grant(&self, grant_tag: &str) -> String {
        format!("{}:{{g:{grant_tag}}}:grant", self.prefix)
    }

    /// `P:loc:<kind>:<hash>`: the pointer from a hash to its grant.
    pub(crate) fn locator(&self, kind: &str, hash: &TokenHash) -> String {
        format!("{}:loc:{kind}:{}", self.prefix, hex(hash))
    }

    /// `P:loc:<kind>:<hex>`: the pointer of a hash given as hex.
    #[cfg(feature = "cluster")]
    pub(crate) fn locator_hex(&self, kind: &str, hash_hex: &str) -> String {
        format!("{}:loc:{kind}:{hash_hex}", self.prefix)
    }

    /// `P:{u:<user>}:grants`: the user's grant index.
    pub(crate) fn user_index(&self, user_tag: &str) -> String {
        format!("{}:{{u:{user_tag}}}:grants", self.prefix)
    }

    /// `P:{c:<client>}:grants`: the client's grant index.
    pub(crate) fn client_index(&self, client_tag: &str) -> String {
        format!("{}:{{c:{client_tag}}}:grants", self.prefix)
    }

    /// `P:once:<namespace>:<key>`: a one-time marker.
    pub(crate) fn once(&self, namespace_tag: &str, key_hex: &str) -> String {
        format!("{}:once:{namespace_tag}:{key_hex}", self.prefix)
    }

    /// `P:expiry`: the expiry index that `purge_expired` walks.
    pub(crate) fn expiry(&self) -> String {
        format!("{}:expiry", self.prefix)
    }

    /// The `SCAN MATCH` pattern of exactly this store's keys (the prefix holds no glob
    /// characters).
    pub(crate) fn pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_injective_and_never_yields_layout_characters() {
        let ids = [
            "", "a", "a%", "%25", "a:b", "a{b}", "a%3Ab", "é", "a b", "A-z_0.9", "}", "{",
        ];
        let escaped: Vec<String> = ids.iter().map(|id| escape(id)).collect();
        for (i, a) in escaped.iter().enumerate() {
            assert!(!a.contains([':', '{', '}', ' ']), "{a}");
            for (j, b) in escaped.iter().enumerate() {
                assert_eq!(i == j, a == b, "{:?} and {:?} collide", ids[i], ids[j]);
            }
        }
        assert_eq!(escape("user@example.com"), "user%40example.com");
        assert_eq!(escape("A-z_0.9"), "A-z_0.9");
    }

    #[test]
    fn prefixes_are_checked() {
        for good in [
            "oauth",
            "tenant-a.oauth",
            "a.b_c",
            &"x".repeat(MAX_PREFIX_LEN),
        ] {
            assert!(valid_prefix(good), "{good}");
        }
        for bad in [
            "",
            "a{b}",
            "a:b",
            "a?",
            "a b",
            "a*",
            "é",
            "a\n",
            &"x".repeat(MAX_PREFIX_LEN + 1),
        ] {
            assert!(!valid_prefix(bad), "{bad:?}");
        }
    }

    #[test]
    fn times_round_trip_and_sort_as_numbers() {
        for t in [0, 1, 999, 1_000_000, u64::MAX] {
            let text = time(UnixTime(t));
            assert_eq!(text.len(), 20);
            assert_eq!(parse_time(text.as_bytes()), Some(UnixTime(t)));
        }
        assert!(time(UnixTime(9)) < time(UnixTime(10)));
        assert_eq!(parse_time(b""), None);
        assert_eq!(parse_time(b"-1"), None);
        assert_eq!(parse_time(b"1e3"), None);
    }

    #[test]
    fn ttls_are_the_remaining_lifetime_bounded() {
        assert_eq!(ttl_ms(UnixTime(160), UnixTime(100)), "60000");
        assert_eq!(ttl_ms(UnixTime(100), UnixTime(100)), "1");
        assert_eq!(ttl_ms(UnixTime(50), UnixTime(100)), "1");
        assert_eq!(
            ttl_ms(UnixTime(u64::MAX), UnixTime(0)),
            (1u64 << 52).to_string()
        );
    }

    #[test]
    fn keys_carry_hash_tags_per_grant_user_and_client() {
        let keys = Keys::new("p");
        assert_eq!(keys.grant("g1"), "p:{g:g1}:grant");
        assert_eq!(keys.client("c:1"), "p:{c:c%3A1}:client");
        assert_eq!(keys.client_index("c%3A1"), "p:{c:c%3A1}:grants");
        assert_eq!(keys.user_index("u"), "p:{u:u}:grants");
        assert_eq!(
            keys.locator("at", &TokenHash([0xab; 32])),
            format!("p:loc:at:{}", "ab".repeat(32))
        );
        assert_eq!(keys.pattern(), "p:*");
    }
}
