//! Scopes (OAuth 2.1 §1.4.1): space-delimited, case-sensitive NQCHAR tokens, order-free.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::Config;
use crate::error::Reason;
use crate::model::Client;

/// A set of scope tokens. Order does not matter; case does.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope(BTreeSet<String>);

/// A scope string that does not follow the `scope` ABNF.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed scope")]
pub struct MalformedScope;

/// `NQCHAR = %x21 / %x23-5B / %x5D-7E`: visible ASCII except `"` and `\`.
fn is_nqchar(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl Scope {
    /// Parses `scope-token *( SP scope-token )`. Leading, trailing or doubled spaces and
    /// characters outside NQCHAR are malformed. Repeated tokens collapse.
    pub fn parse(value: &str) -> Result<Scope, MalformedScope> {
        let mut set = BTreeSet::new();
        for token in value.split(' ') {
            if token.is_empty() || !token.bytes().all(is_nqchar) {
                return Err(MalformedScope);
            }
            set.insert(token.to_owned());
        }
        Ok(Scope(set))
    }

    /// A scope from tokens that are known to be well-formed (configuration).
    pub fn from_tokens<I, T>(tokens: I) -> Result<Scope, MalformedScope>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.into();
            if token.is_empty() || !token.bytes().all(is_nqchar) {
                return Err(MalformedScope);
            }
            set.insert(token);
        }
        Ok(Scope(set))
    }

    /// The empty scope.
    #[must_use]
    pub fn empty() -> Scope {
        Scope(BTreeSet::new())
    }

    /// Whether no token is present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `token` is present.
    #[must_use]
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether every token of `self` is in `other`.
    #[must_use]
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The tokens, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens of `self` that are also in `other`.
    #[must_use]
    pub(crate) fn intersection(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }

    /// `self` without `token`.
    #[must_use]
    pub(crate) fn without(mut self, token: &str) -> Scope {
        self.0.remove(token);
        self
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.to_string())
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(Scope::empty());
        }
        Scope::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The scope that asks the authorization server for a refresh token (OpenID Connect Core
/// §11, adopted by MCP 2026-07-28 "Refresh Tokens").
///
/// It is a request to the authorization server, not a permission at a resource, so:
/// protected resource metadata and bearer challenges never carry it (MCP 2026-07-28: a
/// resource server SHOULD NOT list it); a client's registered `scope` does not restrict
/// it when the server offers it and the client may be issued refresh tokens (the server
/// issues them and the client is registered for the `refresh_token` grant), while any
/// other client needs it in its registered `scope` like any other token; a
/// client-credentials request never gets it (it is ignored there); and it never
/// satisfies [`Access::require_scope`](crate::Access::require_scope) through a scope
/// hierarchy.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Which scopes imply which (MCP 2026-07-28 "Step-Up Authorization Flow": servers MUST
/// account for scope hierarchies, where a broader scope implies narrower ones).
///
/// Built from pairs `broader → narrower`; the relation is closed transitively at build
/// time, so `admin → write` and `write → read` make `admin` imply `read` too. Only
/// resource-side checks use it ([`Access::require_scope`](crate::Access::require_scope)):
/// what a token *carries* is never widened, and neither the authorization nor the token
/// endpoint grants a narrower scope the client did not ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ScopeHierarchy(BTreeMap<String, BTreeSet<String>>);

impl ScopeHierarchy {
    /// The transitive closure of `pairs` (`(broader, narrower)`).
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut direct: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (broader, narrower) in pairs {
            if broader != narrower {
                direct
                    .entry(broader.to_owned())
                    .or_default()
                    .insert(narrower.to_owned());
            }
        }
        let mut closed = BTreeMap::new();
        for start in direct.keys() {
            let mut reached: BTreeSet<String> = BTreeSet::new();
            let mut pending: Vec<&String> = direct.get(start).into_iter().flatten().collect();
            while let Some(next) = pending.pop() {
                if next != start && reached.insert(next.clone()) {
                    pending.extend(direct.get(next).into_iter().flatten());
                }
            }
            closed.insert(start.clone(), reached);
        }
        ScopeHierarchy(closed)
    }

    /// Whether `granted`, together with everything its tokens imply, contains every token
    /// of `required`.
    pub(crate) fn satisfies(&self, granted: &Scope, required: &Scope) -> bool {
        required.iter().all(|needed| {
            granted.contains(needed)
                || (needed != OFFLINE_ACCESS
                    && granted.iter().any(|held| {
                        self.0
                            .get(held)
                            .is_some_and(|implied| implied.contains(needed))
                    }))
        })
    }
}

/// What a client's registration contributes to the scope rule: its registered `scope`
/// and whether a refresh token may be issued to it at all.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientScope<'a> {
    /// The registered `scope`; `None` lets the client request every offered scope.
    pub(crate) registered: Option<&'a Scope>,
    /// Whether the server issues refresh tokens and the client is registered for the
    /// `refresh_token` grant ([`refresh_eligible`](crate::token::refresh_eligible)).
    pub(crate) refresh_eligible: bool,
}

impl<'a> ClientScope<'a> {
    /// The rule's view of `client` under `config`.
    pub(crate) fn of(config: &Config, client: &'a Client) -> Self {
        ClientScope {
            registered: client.scope.as_ref(),
            refresh_eligible: crate::token::refresh_eligible(config, client),
        }
    }
}

/// Whether a client may be granted `requested` (already checked against `offered`): the
/// one per-client scope rule (OAuth 2.1 §1.4.1; checklist O21-78), shared by a new
/// authorization request, a resumed ticket and the client-credentials grant.
///
/// Every token must be in the client's registered scope, with one exception:
/// [`OFFLINE_ACCESS`], when the server offers it *and* the client is
/// [refresh-eligible](ClientScope::refresh_eligible). It then asks only for a refresh
/// token the client may be issued anyway, and grants nothing at any resource (MCP
/// 2026-07-28 "Refresh Tokens": clients add it when the server's metadata lists it, so
/// refusing it from a client that registered a narrower `scope` would break them). A
/// client that cannot receive refresh tokens gets no exemption: its registered scope
/// decides, as for any other token.
pub(crate) fn client_allows(requested: &Scope, offered: &Scope, client: ClientScope<'_>) -> bool {
    let Some(registered) = client.registered else {
        return true;
    };
    let offline_access_exempt = client.refresh_eligible && offered.contains(OFFLINE_ACCESS);
    requested.iter().all(|token| {
        registered.contains(token) || (offline_access_exempt && token == OFFLINE_ACCESS)
    })
}

/// Which request a scope is resolved for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScopeRequest {
    /// An authorization request (the authorization code flow).
    Authorization,
    /// A client-credentials token request.
    ClientCredentials,
}

/// Decides the scope of a new authorization or client-credentials request.
///
/// An omitted scope takes the configured default, or is `invalid_scope` without one
/// (OAuth 2.1 §1.4.1). Every token must be offered by the server and allowed for the
/// client by [`client_allows`].
///
/// A client-credentials request never gets [`OFFLINE_ACCESS`]: it is ignored (removed
/// from the request and from the default), as OpenID Connect Core §11 has a server ignore
/// `offline_access` outside flows that return an authorization code, and as this grant
/// issues no refresh token (RFC 6749 §4.4.3). A request naming nothing else counts as one
/// without `scope`. The token response always states the scope granted (OAuth 2.1
/// §3.2.3), so the client sees what was ignored.
pub(crate) fn resolve(
    requested: Option<&str>,
    offered: &Scope,
    default: Option<&Scope>,
    client: ClientScope<'_>,
    request: ScopeRequest,
) -> Result<Scope, Reason> {
    let mut requested = requested
        .map(Scope::parse)
        .transpose()
        .map_err(|_| Reason::MalformedScope)?;
    if request == ScopeRequest::ClientCredentials {
        requested = requested
            .map(|scope| scope.without(OFFLINE_ACCESS))
            .filter(|scope| !scope.is_empty());
    }
    let mut scope = match requested {
        Some(scope) => scope,
        None => default.cloned().ok_or(Reason::ScopeRequired)?,
    };
    if request == ScopeRequest::ClientCredentials {
        scope = scope.without(OFFLINE_ACCESS);
    }
    if !scope.is_subset_of(offered) || !client_allows(&scope, offered, client) {
        return Err(Reason::ScopeNotAllowed);
    }
    Ok(scope)
}

/// Decides the scope of a token derived from an earlier grant or refresh token: omitted
/// means the same scope, and a request may only narrow it (OAuth 2.1 §4.3.1).
pub(crate) fn narrow(requested: Option<&str>, granted: &Scope) -> Result<Scope, Reason> {
    match requested {
        None => Ok(granted.clone()),
        Some(text) => {
            let scope = Scope::parse(text).map_err(|_| Reason::MalformedScope)?;
            if scope.is_subset_of(granted) {
                Ok(scope)
            } else {
                Err(Reason::ScopeWidened)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Scope {
        Scope::parse(text).unwrap()
    }

    const ANY: ClientScope<'static> = ClientScope {
        registered: None,
        refresh_eligible: true,
    };
    const AUTH: ScopeRequest = ScopeRequest::Authorization;
    const CC: ScopeRequest = ScopeRequest::ClientCredentials;

    fn registered(scope: &Scope, refresh_eligible: bool) -> ClientScope<'_> {
        ClientScope {
            registered: Some(scope),
            refresh_eligible,
        }
    }

    #[test]
    fn o21_38_omitted_scope_takes_the_default_or_fails() {
        let offered = s("read write");
        assert_eq!(
            resolve(None, &offered, Some(&s("read")), ANY, AUTH),
            Ok(s("read"))
        );
        assert_eq!(
            resolve(None, &offered, None, ANY, AUTH),
            Err(Reason::ScopeRequired)
        );
    }

    #[test]
    fn o21_39_unknown_or_malformed_scope_is_invalid_scope() {
        let offered = s("read write");
        assert_eq!(
            resolve(Some("admin"), &offered, None, ANY, AUTH),
            Err(Reason::ScopeNotAllowed)
        );
        assert_eq!(
            resolve(Some("a\"b"), &offered, None, ANY, AUTH),
            Err(Reason::MalformedScope)
        );
        assert_eq!(
            Reason::MalformedScope.code(),
            crate::ErrorCode::InvalidScope
        );
    }

    #[test]
    fn o21_78_client_scope_restriction_is_enforced() {
        let offered = s("read write admin");
        let read = s("read");
        for request in [AUTH, CC] {
            assert_eq!(
                resolve(
                    Some("admin"),
                    &offered,
                    None,
                    registered(&read, true),
                    request
                ),
                Err(Reason::ScopeNotAllowed)
            );
            assert_eq!(
                resolve(
                    Some("read"),
                    &offered,
                    None,
                    registered(&read, true),
                    request
                ),
                Ok(s("read"))
            );
        }
        assert!(client_allows(
            &s("read"),
            &offered,
            registered(&read, false)
        ));
        assert!(!client_allows(
            &s("read write"),
            &offered,
            registered(&read, true)
        ));
        assert!(client_allows(&s("read write admin"), &offered, ANY));
    }

    #[test]
    fn mcp_14_offline_access_is_not_restricted_by_the_registered_scope() {
        let offered = s("read write offline_access");
        let read = s("read");
        // Offered, and the client may be issued refresh tokens: exempt.
        assert_eq!(
            resolve(
                Some("read offline_access"),
                &offered,
                None,
                registered(&read, true),
                AUTH
            ),
            Ok(s("read offline_access"))
        );
        // Still only when the server offers it, and never a door to other scopes.
        assert_eq!(
            resolve(
                Some("read offline_access"),
                &s("read write"),
                None,
                registered(&read, true),
                AUTH
            ),
            Err(Reason::ScopeNotAllowed)
        );
        assert_eq!(
            resolve(
                Some("write offline_access"),
                &offered,
                None,
                registered(&read, true),
                AUTH
            ),
            Err(Reason::ScopeNotAllowed)
        );
    }

    #[test]
    fn mcp_14_o21_78_offline_access_is_exempt_only_for_refresh_eligible_clients() {
        let offered = s("read write offline_access");
        let read = s("read");
        // A client that can never get a refresh token: its registered scope decides.
        assert!(!client_allows(
            &s("read offline_access"),
            &offered,
            registered(&read, false)
        ));
        assert_eq!(
            resolve(
                Some("read offline_access"),
                &offered,
                None,
                registered(&read, false),
                AUTH
            ),
            Err(Reason::ScopeNotAllowed)
        );
        // ... unless it registered `offline_access` itself.
        let with_offline = s("read offline_access");
        assert!(client_allows(
            &s("read offline_access"),
            &offered,
            registered(&with_offline, false)
        ));
        // Not offered: no exemption, whatever the client.
        assert!(!client_allows(
            &s("read offline_access"),
            &s("read"),
            registered(&read, true)
        ));
    }

    #[test]
    fn mcp_14_client_credentials_never_get_offline_access() {
        let offered = s("read write offline_access");
        let read = s("read");
        // Ignored, whatever the client's registration says.
        for client in [ANY, registered(&read, true), registered(&read, false)] {
            assert_eq!(
                resolve(Some("read offline_access"), &offered, None, client, CC),
                Ok(s("read"))
            );
        }
        // A request naming nothing else is one without `scope`: the default, or none.
        assert_eq!(
            resolve(Some("offline_access"), &offered, Some(&read), ANY, CC),
            Ok(s("read"))
        );
        assert_eq!(
            resolve(Some("offline_access"), &offered, None, ANY, CC),
            Err(Reason::ScopeRequired)
        );
        // Nor through the default scope.
        assert_eq!(
            resolve(None, &offered, Some(&s("read offline_access")), ANY, CC),
            Ok(s("read"))
        );
        // Ignored even where the server does not offer it; other scopes still checked.
        assert_eq!(
            resolve(Some("read offline_access"), &s("read"), None, ANY, CC),
            Ok(s("read"))
        );
        assert_eq!(
            resolve(Some("admin offline_access"), &offered, None, ANY, CC),
            Err(Reason::ScopeNotAllowed)
        );
    }

    #[test]
    fn mcp_18_scope_hierarchy_is_transitive_and_one_way() {
        let h = ScopeHierarchy::from_pairs([("admin", "write"), ("write", "read")]);
        assert!(h.satisfies(&s("admin"), &s("read")));
        assert!(h.satisfies(&s("admin"), &s("read write")));
        assert!(h.satisfies(&s("write"), &s("read")));
        assert!(!h.satisfies(&s("read"), &s("write")));
        assert!(!h.satisfies(&s("write"), &s("admin")));
        assert!(!h.satisfies(&s("write"), &s("read other")));
        // Cycles terminate, and nothing implies `offline_access`.
        let cycle = ScopeHierarchy::from_pairs([("a", "b"), ("b", "a"), ("a", OFFLINE_ACCESS)]);
        assert!(cycle.satisfies(&s("a"), &s("b")));
        assert!(cycle.satisfies(&s("b"), &s("a")));
        assert!(!cycle.satisfies(&s("a"), &s(OFFLINE_ACCESS)));
        assert!(ScopeHierarchy::default().satisfies(&s("read"), &s("read")));
    }

    #[test]
    fn o21_70_refresh_scope_may_only_narrow() {
        assert_eq!(
            narrow(Some("read write"), &s("read")),
            Err(Reason::ScopeWidened)
        );
        assert_eq!(narrow(None, &s("read")), Ok(s("read")));
        assert_eq!(narrow(Some("read"), &s("read write")), Ok(s("read")));
    }

    #[test]
    fn o21_39_scope_tokens_are_case_sensitive() {
        let s = Scope::parse("read READ").unwrap();
        assert!(s.contains("read") && s.contains("READ"));
        assert_eq!(s.iter().count(), 2);
    }

    #[test]
    fn o21_39_scope_order_does_not_matter() {
        assert_eq!(Scope::parse("read write"), Scope::parse("write read"));
    }

    #[test]
    fn o21_39_scope_rejects_characters_outside_nqchar() {
        for bad in ["a\"b", "a\\b", "a\tb", "é", "a\nb"] {
            assert_eq!(Scope::parse(bad), Err(MalformedScope), "{bad:?}");
        }
    }

    #[test]
    fn o21_39_scope_rejects_empty_tokens() {
        for bad in ["", " a", "a ", "a  b"] {
            assert_eq!(Scope::parse(bad), Err(MalformedScope), "{bad:?}");
        }
    }

    #[test]
    fn scope_serializes_as_a_space_delimited_string() {
        let s = Scope::parse("write read").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"read write\"");
        let back: Scope = serde_json::from_str("\"read write\"").unwrap();
        assert_eq!(back, s);
        let empty: Scope = serde_json::from_str("\"\"").unwrap();
        assert!(empty.is_empty());
    }
}
