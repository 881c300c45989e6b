//! The key layout (see the crate documentation for the table) and the escaping of ids.
//!
//! Every key is printable ASCII: `<prefix>/<kind>/...`. Ids come from clients and hosts
//! and may hold any character, so they are escaped before they become part of a key:
//! `A-Z a-z 0-9 _ . -` are kept and every other byte becomes `%XX`. The escaping is
//! injective (`%` itself is escaped) and an escaped id never contains `/`, so a prefix
//! scan of `P/ig/<grant>/` can never reach another grant's entries (`g1/` is not a
//! prefix of `g10/...`), and no id can pose as another part of the layout. Hashes are 64
//! lower-case hex digits; times in keys are 20 zero-padded decimal digits, so that byte
//! order is time order.

use oauth_core::{TokenHash, UnixTime};

/// The longest key prefix accepted.
pub const MAX_PREFIX_LEN: usize = 64;

/// The prefix used when none is set.
pub const DEFAULT_PREFIX: &str = "oauth";

/// Whether `prefix` is 1 to [`MAX_PREFIX_LEN`] characters of `A-Z a-z 0-9 _ . -`:
/// without `/`, no store's keys can fall inside another's (`a` and `a/b` would overlap).
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix.bytes().all(oauth_core::store_codec::is_key_safe)
}

/// Escapes an id for use inside a key (see the module documentation).
pub(crate) use oauth_core::store_codec::escape_key_part as escape;

/// A time as 20 zero-padded decimal digits (every `u64` fits), so byte order is time
/// order.
pub(crate) fn time(t: UnixTime) -> String {
    format!("{:020}", t.0)
}

/// Parses a time written by [`time`].
pub(crate) fn parse_time(text: &[u8]) -> Option<UnixTime> {
    if text.len() != 20 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok().map(UnixTime)
}

/// The kinds of record issued under a grant, as they appear in keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Child {
    Code,
    Access,
    Refresh,
}

impl Child {
    pub(crate) const ALL: [Child; 3] = [Child::Code, Child::Access, Child::Refresh];

    /// The kind's segment in keys.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Child::Code => "code",
            Child::Access => "at",
            Child::Refresh => "rt",
        }
    }

    /// The kind's rank in the expiry index (after grants, `0`).
    fn rank(self) -> char {
        match self {
            Child::Code => '1',
            Child::Access => '2',
            Child::Refresh => '3',
        }
    }

    pub(crate) fn parse(tag: &str) -> Option<Child> {
        Child::ALL.into_iter().find(|c| c.tag() == tag)
    }
}

/// An entry of the expiry index, parsed back from its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expiring {
    /// A grant: its escaped id.
    Grant(String),
    /// A code or token: its hex hash.
    Child(Child, String),
    /// A one-time marker: its escaped namespace and hex key.
    Once(String, String),
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

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, rest: std::fmt::Arguments<'_>) -> Vec<u8> {
        format!("{}/{rest}", self.prefix).into_bytes()
    }

    /// `P/c/<client>`: a client.
    pub(crate) fn client(&self, client: &str) -> Vec<u8> {
        self.key(format_args!("c/{}", escape(client)))
    }

    /// `P/g/<grant>`: a grant.
    pub(crate) fn grant(&self, grant: &str) -> Vec<u8> {
        self.grant_escaped(&escape(grant))
    }

    pub(crate) fn grant_escaped(&self, grant: &str) -> Vec<u8> {
        self.key(format_args!("g/{grant}"))
    }

    /// `P/code/<hex>`, `P/at/<hex>`, `P/rt/<hex>`: a code or token by its hash.
    pub(crate) fn child(&self, kind: Child, hash: &TokenHash) -> Vec<u8> {
        self.child_hex(kind, &hash.to_hex())
    }

    pub(crate) fn child_hex(&self, kind: Child, hex: &str) -> Vec<u8> {
        self.key(format_args!("{}/{hex}", kind.tag()))
    }

    /// `P/once/<namespace>/<hex>`: a one-time marker.
    pub(crate) fn once(&self, namespace: &str, key: &[u8; 32]) -> Vec<u8> {
        self.once_escaped(&escape(namespace), &TokenHash(*key).to_hex())
    }

    pub(crate) fn once_escaped(&self, namespace: &str, hex: &str) -> Vec<u8> {
        self.key(format_args!("once/{namespace}/{hex}"))
    }

    /// `P/ig/<grant>/`: the prefix of a grant's child index.
    pub(crate) fn grant_children(&self, grant: &str) -> Vec<u8> {
        self.grant_children_escaped(&escape(grant))
    }

    pub(crate) fn grant_children_escaped(&self, grant: &str) -> Vec<u8> {
        self.key(format_args!("ig/{grant}/"))
    }

    /// `P/ig/<grant>/<kind>/<hex>`: one entry of a grant's child index.
    pub(crate) fn grant_child(&self, grant: &str, kind: Child, hash: &TokenHash) -> Vec<u8> {
        let mut key = self.grant_children(grant);
        key.extend_from_slice(format!("{}/{}", kind.tag(), hash.to_hex()).as_bytes());
        key
    }

    /// Parses the `<kind>/<hex>` tail of a child-index key under `prefix`.
    pub(crate) fn parse_grant_child<'k>(
        &self,
        prefix: &[u8],
        key: &'k [u8],
    ) -> Option<(Child, &'k str)> {
        let rest = std::str::from_utf8(key.strip_prefix(prefix)?).ok()?;
        let (tag, hex) = rest.split_once('/')?;
        Some((Child::parse(tag)?, hex))
    }

    /// `P/iu/<user>/`: the prefix of a user's grant index.
    pub(crate) fn user_grants(&self, user: &str) -> Vec<u8> {
        self.key(format_args!("iu/{}/", escape(user)))
    }

    /// `P/ic/<client>/`: the prefix of a client's grant index.
    pub(crate) fn client_grants(&self, client: &str) -> Vec<u8> {
        self.key(format_args!("ic/{}/", escape(client)))
    }

    /// An index entry naming the (escaped) `grant` under an index `prefix` (user or
    /// client).
    pub(crate) fn index_entry(prefix: &[u8], grant: &str) -> Vec<u8> {
        let mut key = prefix.to_vec();
        key.extend_from_slice(grant.as_bytes());
        key
    }

    /// The escaped grant id of an index entry under `prefix`.
    pub(crate) fn parse_index_entry<'k>(prefix: &[u8], key: &'k [u8]) -> Option<&'k str> {
        let rest = std::str::from_utf8(key.strip_prefix(prefix)?).ok()?;
        (!rest.is_empty() && !rest.contains('/')).then_some(rest)
    }

    /// `P/ix/`: the expiry index.
    pub(crate) fn expiry_index(&self) -> Vec<u8> {
        self.key(format_args!("ix/"))
    }

    /// `P/ix/<time>/0/<grant>`: a grant in the expiry index. Grants rank first among
    /// records expiring in the same second, so a purge reaches a grant before its
    /// children.
    pub(crate) fn expiry_grant(&self, at: UnixTime, grant: &str) -> Vec<u8> {
        self.key(format_args!("ix/{}/0/{}", time(at), escape(grant)))
    }

    /// `P/ix/<time>/<1|2|3>/<hex>`: a code or token in the expiry index.
    pub(crate) fn expiry_child(&self, at: UnixTime, kind: Child, hex: &str) -> Vec<u8> {
        self.key(format_args!("ix/{}/{}/{hex}", time(at), kind.rank()))
    }

    /// `P/ix/<time>/4/<namespace>/<hex>`: a one-time marker in the expiry index.
    pub(crate) fn expiry_once(&self, at: UnixTime, namespace: &str, key: &[u8; 32]) -> Vec<u8> {
        self.key(format_args!(
            "ix/{}/4/{}/{}",
            time(at),
            escape(namespace),
            TokenHash(*key).to_hex()
        ))
    }

    /// Parses an expiry-index key back into its time and record.
    pub(crate) fn parse_expiry(&self, key: &[u8]) -> Option<(UnixTime, Expiring)> {
        let rest = key.strip_prefix(self.expiry_index().as_slice())?;
        let (at, rest) = (rest.get(..20)?, rest.get(20..)?);
        let at = parse_time(at)?;
        let rest = std::str::from_utf8(rest.strip_prefix(b"/")?).ok()?;
        let (rank, id) = rest.split_once('/')?;
        let expiring = match rank {
            "0" => Expiring::Grant(id.to_owned()),
            "1" => Expiring::Child(Child::Code, id.to_owned()),
            "2" => Expiring::Child(Child::Access, id.to_owned()),
            "3" => Expiring::Child(Child::Refresh, id.to_owned()),
            "4" => {
                let (namespace, hex) = id.split_once('/')?;
                Expiring::Once(namespace.to_owned(), hex.to_owned())
            }
            _ => return None,
        };
        Some((at, expiring))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_injective_and_never_yields_a_separator() {
        let ids = [
            "", "a", "a%", "%25", "a/b", "a%2Fb", "é", "a b", "A-z_0.9", "/", "g1", "g1/",
        ];
        let escaped: Vec<String> = ids.iter().map(|id| escape(id)).collect();
        for (i, a) in escaped.iter().enumerate() {
            assert!(!a.contains(['/', ' ']), "{a}");
            for (j, b) in escaped.iter().enumerate() {
                assert_eq!(i == j, a == b, "{:?} and {:?} collide", ids[i], ids[j]);
            }
        }
        assert_eq!(escape("user@example.com"), "user%40example.com");
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
            "a/b",
            "a b",
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
            assert_eq!(parse_time(text.as_bytes()), Some(UnixTime(t)));
        }
        assert!(time(UnixTime(9)) < time(UnixTime(10)));
        assert_eq!(parse_time(b"1"), None);
        assert_eq!(parse_time(b"0000000000000000000x"), None);
    }

    #[test]
    fn layout_is_as_documented() {
        let keys = Keys::new("p");
        let hash = TokenHash([0xab; 32]);
        let hex = "ab".repeat(32);
        assert_eq!(keys.client("c/1"), b"p/c/c%2F1");
        assert_eq!(keys.grant("g1"), b"p/g/g1");
        assert_eq!(
            keys.child(Child::Code, &hash),
            format!("p/code/{hex}").into_bytes()
        );
        assert_eq!(
            keys.child(Child::Access, &hash),
            format!("p/at/{hex}").into_bytes()
        );
        assert_eq!(
            keys.child(Child::Refresh, &hash),
            format!("p/rt/{hex}").into_bytes()
        );
        assert_eq!(
            keys.once("ticket", &[0xab; 32]),
            format!("p/once/ticket/{hex}").into_bytes()
        );
        assert_eq!(
            keys.grant_child("g1", Child::Access, &hash),
            format!("p/ig/g1/at/{hex}").into_bytes()
        );
        assert_eq!(keys.user_grants("u@x"), b"p/iu/u%40x/");
        assert_eq!(keys.client_grants("c"), b"p/ic/c/");
        assert_eq!(
            keys.expiry_grant(UnixTime(5), "g1"),
            b"p/ix/00000000000000000005/0/g1"
        );
    }

    #[test]
    fn expiry_keys_parse_back_and_sort_grants_first() {
        let keys = Keys::new("p");
        let at = UnixTime(1_700_000_000);
        let hex = "cd".repeat(32);
        let grant = keys.expiry_grant(at, "g/1");
        let code = keys.expiry_child(at, Child::Code, &hex);
        let once = keys.expiry_once(at, "ticket", &[0xcd; 32]);
        assert!(grant < code && code < once);
        assert_eq!(
            keys.parse_expiry(&grant),
            Some((at, Expiring::Grant("g%2F1".to_owned())))
        );
        assert_eq!(
            keys.parse_expiry(&code),
            Some((at, Expiring::Child(Child::Code, hex.clone())))
        );
        assert_eq!(
            keys.parse_expiry(&once),
            Some((at, Expiring::Once("ticket".to_owned(), hex)))
        );
        assert_eq!(keys.parse_expiry(b"p/ix/garbage"), None);
    }

    #[test]
    fn a_grant_prefix_never_reaches_a_longer_grant_id() {
        let keys = Keys::new("p");
        let hash = TokenHash([1; 32]);
        assert!(!keys
            .grant_child("g10", Child::Code, &hash)
            .starts_with(&keys.grant_children("g1")));
        assert!(!Keys::index_entry(&keys.user_grants("u1"), &escape("g"))
            .starts_with(&keys.user_grants("u")));
    }
}
