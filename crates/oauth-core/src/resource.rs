//! Resource indicators (RFC 8707): which protected resources a token is for.
//!
//! A `resource` value is an absolute URI without a fragment (RFC 8707 §2). To map it to an
//! audience we canonicalise it once: scheme and host lower-cased (the MCP profile asks
//! servers to accept `HTTPS://MCP.EXAMPLE.COM/mcp`), default ports dropped, and an empty
//! path written without a trailing slash. Configured resources go through the same
//! function, so comparison is plain string equality afterwards. Redirect URIs and
//! issuers are never normalised; only audiences are (checklist conflict C-11).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Reason;

/// One canonical resource identifier.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resource(String);

/// Why a `resource` value is not usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidResource {
    /// Not an absolute URI.
    #[error("resource is not an absolute URI")]
    NotAbsolute,
    /// Carries a fragment.
    #[error("resource has a fragment")]
    Fragment,
}

impl Resource {
    /// Parses and canonicalises a resource indicator.
    pub fn parse(value: &str) -> Result<Resource, InvalidResource> {
        let url = url::Url::parse(value).map_err(|_| InvalidResource::NotAbsolute)?;
        if url.fragment().is_some() || value.contains('#') {
            return Err(InvalidResource::Fragment);
        }
        if url.cannot_be_a_base() && !url.scheme().contains(':') && url.host().is_none() {
            // `urn:` style identifiers are absolute URIs too; keep them verbatim.
            return Ok(Resource(url.as_str().to_owned()));
        }
        let mut text = url.as_str().to_owned();
        if url.path() == "/" && url.query().is_none() && text.ends_with('/') {
            text.pop();
        }
        Ok(Resource(text))
    }

    /// The canonical identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The RFC 9728 §3.1 metadata URL of this resource: the well-known path inserted
    /// between the authority and the resource's path.
    #[must_use]
    pub fn metadata_url(&self) -> Option<String> {
        let url = url::Url::parse(&self.0).ok()?;
        let host = url.host_str()?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let path = url.path().trim_end_matches('/');
        // RFC 9728 §3.1: the resource's query, if any, stays on the metadata URL.
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        Some(format!(
            "{}://{}/.well-known/oauth-protected-resource{}{}",
            url.scheme(),
            authority,
            path,
            query
        ))
    }
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Resource({:?})", self.0)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of resources: the audiences of a grant or token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceSet(BTreeSet<Resource>);

impl ResourceSet {
    /// The empty set.
    #[must_use]
    pub fn empty() -> Self {
        ResourceSet(BTreeSet::new())
    }

    /// Whether the set holds no resource.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `resource` is in the set.
    #[must_use]
    pub fn contains(&self, resource: &Resource) -> bool {
        self.0.contains(resource)
    }

    /// Whether every member is also in `other`.
    #[must_use]
    pub fn is_subset_of(&self, other: &ResourceSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The members, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.0.iter()
    }
}

impl FromIterator<Resource> for ResourceSet {
    fn from_iter<I: IntoIterator<Item = Resource>>(iter: I) -> Self {
        ResourceSet(iter.into_iter().collect())
    }
}

/// Decides the audiences of a new authorization or client-credentials request.
///
/// Every requested resource must be one this server serves (RFC 8707 §2, RFC 9700
/// §4.10.2). With none requested, the request fails when `require` is set or when several
/// resources are configured (a token valid at all of them would be accepted by each,
/// against RFC 9700 §2.3); with exactly one configured, that one is the audience.
pub(crate) fn resolve<'a>(
    requested: impl Iterator<Item = &'a str>,
    configured: &ResourceSet,
    require: bool,
) -> Result<ResourceSet, Reason> {
    let requested = parse_all(requested)?;
    if requested.is_empty() {
        let single = configured.iter().nth(1).is_none();
        return if require || !single {
            Err(Reason::ResourceRequired)
        } else {
            Ok(configured.clone())
        };
    }
    if requested.is_subset_of(configured) {
        Ok(requested)
    } else {
        Err(Reason::UnknownResource)
    }
}

/// Decides the audiences of a token derived from a grant or refresh token: omitted means
/// all of the grant's, and a request may only narrow them (RFC 8707 §2.2).
pub(crate) fn narrow<'a>(
    requested: impl Iterator<Item = &'a str>,
    granted: &ResourceSet,
) -> Result<ResourceSet, Reason> {
    let requested = parse_all(requested)?;
    if requested.is_empty() {
        Ok(granted.clone())
    } else if requested.is_subset_of(granted) {
        Ok(requested)
    } else {
        Err(Reason::ResourceWidened)
    }
}

fn parse_all<'a>(values: impl Iterator<Item = &'a str>) -> Result<ResourceSet, Reason> {
    values
        .map(|v| Resource::parse(v).map_err(|_| Reason::MalformedResource))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> ResourceSet {
        values.iter().map(|v| Resource::parse(v).unwrap()).collect()
    }

    #[test]
    fn ri_3_unknown_resource_is_invalid_target() {
        let configured = set(&["https://api.example"]);
        assert_eq!(
            resolve(["https://unknown.example"].into_iter(), &configured, false),
            Err(Reason::UnknownResource)
        );
        assert_eq!(
            Reason::UnknownResource.code(),
            crate::ErrorCode::InvalidTarget
        );
    }

    #[test]
    fn ri_4_no_resource_defaults_or_is_required_by_policy() {
        let one = set(&["https://a.example"]);
        assert_eq!(resolve(std::iter::empty(), &one, false), Ok(one.clone()));
        assert_eq!(
            resolve(std::iter::empty(), &one, true),
            Err(Reason::ResourceRequired)
        );
        let none = ResourceSet::empty();
        assert_eq!(resolve(std::iter::empty(), &none, false), Ok(none.clone()));
    }

    #[test]
    fn bcp_7_several_resources_never_default_to_a_token_valid_at_all_of_them() {
        let configured = set(&["https://a.example", "https://b.example"]);
        assert_eq!(
            resolve(std::iter::empty(), &configured, false),
            Err(Reason::ResourceRequired)
        );
    }

    #[test]
    fn ri_6_token_request_may_narrow_to_one_resource_but_not_widen() {
        let granted = set(&["https://a.example", "https://b.example"]);
        assert_eq!(
            narrow(["https://a.example"].into_iter(), &granted),
            Ok(set(&["https://a.example"]))
        );
        assert_eq!(
            narrow(["https://c.example"].into_iter(), &granted),
            Err(Reason::ResourceWidened)
        );
        assert_eq!(narrow(std::iter::empty(), &granted), Ok(granted.clone()));
    }

    #[test]
    fn ri_1_malformed_resource_is_invalid_target() {
        assert_eq!(
            resolve(["/rel"].into_iter(), &set(&["https://a.example"]), false),
            Err(Reason::MalformedResource)
        );
    }

    #[test]
    fn v8_protected_resource_metadata_url_is_path_aware() {
        let r = Resource::parse("https://resource.example.com/resource1").unwrap();
        assert_eq!(
            r.metadata_url().unwrap(),
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1"
        );
        let root = Resource::parse("https://resource.example.com").unwrap();
        assert_eq!(
            root.metadata_url().unwrap(),
            "https://resource.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn ri_1_resource_must_be_absolute_without_fragment() {
        assert_eq!(Resource::parse("/rel"), Err(InvalidResource::NotAbsolute));
        assert_eq!(Resource::parse("rel"), Err(InvalidResource::NotAbsolute));
        assert_eq!(
            Resource::parse("https://rs.example#f"),
            Err(InvalidResource::Fragment)
        );
        assert_eq!(
            Resource::parse("https://rs.example/#"),
            Err(InvalidResource::Fragment)
        );
    }

    #[test]
    fn ri_1_resource_with_query_is_tolerated() {
        assert!(Resource::parse("https://rs.example/api?v=1").is_ok());
    }

    #[test]
    fn ri_8_resource_scheme_and_host_are_canonicalised_to_lower_case() {
        assert_eq!(
            Resource::parse("HTTPS://MCP.EXAMPLE.COM/mcp")
                .unwrap()
                .as_str(),
            "https://mcp.example.com/mcp"
        );
    }

    #[test]
    fn ri_8_resource_path_case_is_kept() {
        assert_eq!(
            Resource::parse("https://mcp.example.com/MCP")
                .unwrap()
                .as_str(),
            "https://mcp.example.com/MCP"
        );
    }

    #[test]
    fn ri_8_resource_trailing_slash_of_an_empty_path_is_handled_consistently() {
        assert_eq!(
            Resource::parse("https://api.example.com/").unwrap(),
            Resource::parse("https://api.example.com").unwrap()
        );
        assert_eq!(
            Resource::parse("https://api.example.com:443")
                .unwrap()
                .as_str(),
            "https://api.example.com"
        );
        // A non-empty path keeps its slash: `/mcp/` and `/mcp` are different resources.
        assert_ne!(
            Resource::parse("https://api.example.com/mcp/").unwrap(),
            Resource::parse("https://api.example.com/mcp").unwrap()
        );
    }
}
