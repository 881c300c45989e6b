//! RFC 7591 client metadata: reading the JSON request, the registration rules, and the
//! client information response.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::Hash;

use http::header::CONTENT_TYPE;
use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::Reason;
use crate::model::{AuthMethod, Client, ClientMetadata, GrantType};
use crate::redirect_uri::validate_for_registration;
use crate::scope::Scope;
use crate::secret::Secret;

use super::{
    response_types, ClientRegistration, MAX_CONTACTS, MAX_GRANT_TYPES, MAX_LOCALIZED_MEMBERS,
    MAX_REDIRECT_URIS, MAX_RESPONSE_TYPES,
};

/// Members that may carry a language tag (RFC 7591 §2.2), and whether each is a URI.
const LOCALIZABLE: &[(&str, bool)] = &[
    ("client_name", false),
    ("client_uri", true),
    ("logo_uri", true),
    ("tos_uri", true),
    ("policy_uri", true),
];

/// Members only the server sets, which an update must not carry (RFC 7592 §2.2).
const SERVER_MEMBERS: &[&str] = &[
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
];

/// Whether the request's media type is `application/json` (parameters ignored).
pub(super) fn is_json_content_type(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// The members of the top-level JSON object, read one by one so that a repeated member
/// is noticed (a plain map would keep the last one silently).
struct Members {
    map: BTreeMap<String, Value>,
    duplicate: bool,
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Members;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Members, A::Error> {
                let mut members = Members {
                    map: BTreeMap::new(),
                    duplicate: false,
                };
                while let Some(name) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    if members.map.insert(name, value).is_some() {
                        members.duplicate = true;
                    }
                }
                Ok(members)
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Parses the body as one JSON object without repeated members.
pub(crate) fn parse_members(body: &[u8]) -> Result<BTreeMap<String, Value>, Reason> {
    let members: Members =
        serde_json::from_slice(body).map_err(|_| Reason::RegistrationMalformedBody)?;
    if members.duplicate {
        return Err(Reason::RegistrationDuplicateMember);
    }
    Ok(members.map)
}

/// A registration request as read, before the cross-member rules of [`check`].
pub(crate) struct ParsedRegistration {
    pub(crate) registration: ClientRegistration,
    /// `client_id`, when it is a string (only an update uses it).
    pub(super) client_id: Option<String>,
    /// `client_secret`, when present and not `null` (only an update uses it).
    pub(super) client_secret: Option<Value>,
    /// Whether a member only the server sets is present (only an update refuses it).
    pub(super) has_server_member: bool,
    /// Whether `scope` was sent (an update without it keeps the client's scope).
    pub(super) scope_given: bool,
}

fn present<'a>(members: &'a BTreeMap<String, Value>, name: &str) -> Option<&'a Value> {
    members.get(name).filter(|v| !v.is_null())
}

/// A string member: absent, `null` and `""` are `None`; another type is `malformed`.
fn string(
    members: &BTreeMap<String, Value>,
    name: &str,
    malformed: Reason,
) -> Result<Option<String>, Reason> {
    match present(members, name) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed),
    }
}

/// An array-of-strings member: absent and `null` are empty; another type, or an item that
/// is not a string, is `malformed`; more than `max` items (repeats included) is
/// [`Reason::RegistrationTooManyValues`], decided before any item is read.
fn strings(
    members: &BTreeMap<String, Value>,
    name: &str,
    malformed: Reason,
    max: usize,
) -> Result<Vec<String>, Reason> {
    match present(members, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() > max => Err(Reason::RegistrationTooManyValues),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or(malformed))
            .collect(),
        Some(_) => Err(malformed),
    }
}

/// `items` without repeats, in first-seen order, in linear time.
fn dedup<T: Eq + Hash + Clone>(items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// A BCP 47 language tag, checked for shape only: alphanumeric subtags of 1 to 8
/// characters separated by `-`, the first alphabetic.
fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 35
        && tag.split('-').enumerate().all(|(i, subtag)| {
            (1..=8).contains(&subtag.len())
                && subtag.bytes().all(|b| b.is_ascii_alphanumeric())
                && (i > 0 || subtag.bytes().all(|b| b.is_ascii_alphabetic()))
        })
}

/// The base member of a language-tagged member name (`client_name#fr` → `client_name`,
/// a URI member or not), or `None` when the name is not one.
fn localized_base(name: &str) -> Option<(&'static str, bool)> {
    let (base, tag) = name.split_once('#')?;
    if !is_language_tag(tag) {
        return None;
    }
    LOCALIZABLE.iter().copied().find(|(b, _)| *b == base)
}

/// Reads the members of a registration or update request into typed values, applying
/// the defaults of RFC 7591 §2. Unknown members are ignored.
pub(crate) fn parse_registration(
    members: &BTreeMap<String, Value>,
    offered: &Scope,
) -> Result<ParsedRegistration, Reason> {
    let malformed = Reason::RegistrationMalformedMember;

    let redirect_uris = dedup(strings(
        members,
        "redirect_uris",
        Reason::RegistrationInvalidRedirectUri,
        MAX_REDIRECT_URIS,
    )?);

    let mut grant_types = Vec::new();
    for name in strings(members, "grant_types", malformed, MAX_GRANT_TYPES)? {
        grant_types.push(GrantType::parse(&name).ok_or(Reason::RegistrationUnsupportedGrantType)?);
    }
    let grant_types = if grant_types.is_empty() {
        vec![GrantType::AuthorizationCode]
    } else {
        dedup(grant_types)
    };

    let requested_response_types =
        strings(members, "response_types", malformed, MAX_RESPONSE_TYPES)?;
    if requested_response_types.iter().any(|t| t != "code") {
        return Err(Reason::RegistrationUnsupportedResponseType);
    }
    // RFC 7591 §2.1: `code` goes with the authorization code grant, and only with it.
    if !requested_response_types.is_empty() && response_types(&grant_types).is_empty() {
        return Err(Reason::RegistrationInconsistentResponseTypes);
    }

    let token_endpoint_auth_method = match string(members, "token_endpoint_auth_method", malformed)?
    {
        None => AuthMethod::ClientSecretBasic,
        Some(name) => match name.as_str() {
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "none" => AuthMethod::None,
            _ => return Err(Reason::RegistrationUnsupportedAuthMethod),
        },
    };

    let requested_scope = string(members, "scope", malformed)?;
    let scope_given = requested_scope.is_some();
    let scope = match requested_scope {
        Some(text) => Some(Scope::parse(&text).map_err(|_| Reason::RegistrationMalformedScope)?),
        None if offered.is_empty() => None,
        None => Some(offered.clone()),
    };

    if present(members, "jwks").is_some() && present(members, "jwks_uri").is_some() {
        return Err(Reason::RegistrationJwksConflict);
    }

    let mut localized = BTreeMap::new();
    for (name, value) in members {
        if localized_base(name).is_none() || value.is_null() {
            continue;
        }
        match value {
            Value::String(text) if text.is_empty() => {}
            Value::String(text) => {
                localized.insert(name.clone(), text.clone());
                if localized.len() > MAX_LOCALIZED_MEMBERS {
                    return Err(Reason::RegistrationTooManyValues);
                }
            }
            _ => return Err(malformed),
        }
    }

    let metadata = ClientMetadata {
        client_uri: string(members, "client_uri", malformed)?,
        logo_uri: string(members, "logo_uri", malformed)?,
        tos_uri: string(members, "tos_uri", malformed)?,
        policy_uri: string(members, "policy_uri", malformed)?,
        contacts: dedup(strings(members, "contacts", malformed, MAX_CONTACTS)?),
        software_id: string(members, "software_id", malformed)?,
        software_version: string(members, "software_version", malformed)?,
        localized,
        // Never the client's to set: the server records it (registration/mod.rs).
        initial_access_token_label: None,
    };

    Ok(ParsedRegistration {
        registration: ClientRegistration {
            redirect_uris,
            token_endpoint_auth_method,
            grant_types,
            scope,
            client_name: string(members, "client_name", malformed)?,
            metadata,
        },
        client_id: present(members, "client_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        client_secret: present(members, "client_secret").cloned(),
        has_server_member: SERVER_MEMBERS
            .iter()
            .any(|name| present(members, name).is_some()),
        scope_given,
    })
}

/// An absolute https URL with a host and no credentials.
fn is_https_url(value: &str) -> bool {
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    url::Url::parse(value).is_ok_and(|url| {
        url.scheme() == "https"
            && url.host().is_some()
            && url.username().is_empty()
            && url.password().is_none()
    })
}

/// Non-empty text without control characters or bidirectional formatting characters
/// (which can make a client name shown on a consent page read as another).
fn is_text(value: &str) -> bool {
    !value.is_empty()
        && !value.chars().any(|c| {
            c.is_control() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
}

/// The value rules of a registration, over typed metadata: run on every request and
/// again on whatever the host's hook returns.
pub(crate) fn check(registration: &ClientRegistration, offered: &Scope) -> Result<(), Reason> {
    if registration.grant_types.is_empty() {
        return Err(Reason::RegistrationUnsupportedGrantType);
    }
    let metadata = &registration.metadata;
    if registration.redirect_uris.len() > MAX_REDIRECT_URIS
        || registration.grant_types.len() > MAX_GRANT_TYPES
        || metadata.contacts.len() > MAX_CONTACTS
        || metadata.localized.len() > MAX_LOCALIZED_MEMBERS
    {
        return Err(Reason::RegistrationTooManyValues);
    }
    for uri in &registration.redirect_uris {
        validate_for_registration(uri).map_err(|_| Reason::RegistrationInvalidRedirectUri)?;
    }
    if registration
        .grant_types
        .contains(&GrantType::AuthorizationCode)
        && registration.redirect_uris.is_empty()
    {
        return Err(Reason::RegistrationRedirectUriRequired);
    }
    if registration.token_endpoint_auth_method == AuthMethod::None
        && registration
            .grant_types
            .contains(&GrantType::ClientCredentials)
    {
        return Err(Reason::RegistrationPublicClientCredentials);
    }
    if let Some(scope) = &registration.scope {
        if !scope.is_subset_of(offered) {
            return Err(Reason::RegistrationScopeNotOffered);
        }
    }
    let uris = [
        &metadata.client_uri,
        &metadata.logo_uri,
        &metadata.tos_uri,
        &metadata.policy_uri,
    ];
    if !uris.iter().copied().flatten().all(|uri| is_https_url(uri)) {
        return Err(Reason::RegistrationInvalidUri);
    }
    for (name, value) in &metadata.localized {
        match localized_base(name) {
            None => return Err(Reason::RegistrationMalformedMember),
            Some((_, true)) if !is_https_url(value) => return Err(Reason::RegistrationInvalidUri),
            Some((_, false)) if !is_text(value) => return Err(Reason::RegistrationMalformedMember),
            Some(_) => {}
        }
    }
    let texts = [
        &registration.client_name,
        &metadata.software_id,
        &metadata.software_version,
    ];
    let texts_ok = texts.iter().copied().flatten().all(|t| is_text(t))
        && metadata.contacts.iter().all(|c| is_text(c));
    if !texts_ok {
        return Err(Reason::RegistrationMalformedMember);
    }
    Ok(())
}

/// The characters escaped in a path segment: controls, space and the delimiters that
/// would end or split the segment.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The client configuration URI of `client` (RFC 7592 §3): the issuer's origin, the
/// registration path, `/`, and the percent-encoded client id.
pub(super) fn registration_client_uri(config: &Config, client: &Client) -> Option<String> {
    let path = config.endpoints.registration.as_deref()?;
    let origin = url::Url::parse(config.issuer.as_str())
        .ok()?
        .origin()
        .ascii_serialization();
    let id = utf8_percent_encode(client.id.as_str(), PATH_SEGMENT);
    Some(format!("{origin}{path}/{id}"))
}

/// Credentials issued by a registration, shown once.
pub(super) struct Issued<'a> {
    pub(super) secret: Option<&'a Secret>,
    pub(super) registration_token: &'a Secret,
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): every registered
/// member with its effective value, and the credentials when they were just issued.
pub(super) fn client_information(
    config: &Config,
    client: &Client,
    issued: Option<&Issued<'_>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |name: &str, value: Value| {
        out.insert(name.to_owned(), value);
    };
    let text = |value: &str| Value::String(value.to_owned());
    let list = |items: &[String]| Value::Array(items.iter().map(|s| text(s)).collect());

    put("client_id", text(client.id.as_str()));
    put("client_id_issued_at", Value::from(client.created_at.0));
    if let Some(secret) = issued.and_then(|i| i.secret) {
        put("client_secret", text(secret.expose()));
    }
    if client.secret.is_some() {
        // RFC 7591 §3.2.1: required whenever a secret exists; 0 means it never expires.
        let expires = client.secret_expires_at.map_or(0, |t| t.0);
        put("client_secret_expires_at", Value::from(expires));
    }
    if let Some(issued) = issued {
        put(
            "registration_access_token",
            text(issued.registration_token.expose()),
        );
    }
    if let Some(uri) = registration_client_uri(config, client) {
        put("registration_client_uri", Value::String(uri));
    }
    put(
        "token_endpoint_auth_method",
        text(client.auth_method.as_str()),
    );
    put(
        "grant_types",
        Value::Array(
            client
                .grant_types
                .iter()
                .map(|g| text(g.as_str()))
                .collect(),
        ),
    );
    // Always present, even empty: an omitted `response_types` means `["code"]`.
    put(
        "response_types",
        Value::Array(
            response_types(&client.grant_types)
                .iter()
                .map(|t| text(t))
                .collect(),
        ),
    );
    if !client.redirect_uris.is_empty() {
        put("redirect_uris", list(&client.redirect_uris));
    }
    if let Some(scope) = client.scope.as_ref().filter(|s| !s.is_empty()) {
        put("scope", Value::String(scope.to_string()));
    }
    let metadata = &client.metadata;
    let optional = [
        ("client_name", &client.name),
        ("client_uri", &metadata.client_uri),
        ("logo_uri", &metadata.logo_uri),
        ("tos_uri", &metadata.tos_uri),
        ("policy_uri", &metadata.policy_uri),
        ("software_id", &metadata.software_id),
        ("software_version", &metadata.software_version),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            put(name, text(value));
        }
    }
    if !metadata.contacts.is_empty() {
        put("contacts", list(&metadata.contacts));
    }
    for (name, value) in &metadata.localized {
        put(name, text(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_noticed_after_unescaping() {
        assert_eq!(
            parse_members(br#"{"scope":"a","scope":"b"}"#),
            Err(Reason::RegistrationDuplicateMember)
        );
        assert_eq!(
            parse_members(br#"{"scope":"a","sc\u006fpe":"b"}"#),
            Err(Reason::RegistrationDuplicateMember)
        );
        assert!(parse_members(br#"{"a":{"x":1},"b":[1,2]}"#).is_ok());
    }

    #[test]
    fn only_a_json_object_is_a_registration() {
        for body in [&b"[]"[..], b"\"x\"", b"1", b"null", b"{", b"{} {}", b"\xff"] {
            assert_eq!(
                parse_members(body),
                Err(Reason::RegistrationMalformedBody),
                "{body:?}"
            );
        }
    }

    #[test]
    fn language_tags_are_checked_for_shape() {
        for good in ["fr", "de-CH", "zh-Hant-TW", "ja-Jpan-JP"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "-",
            "fr-",
            "1fr",
            "fr--CH",
            "toolongsubtag",
            "fr_CH",
            "fr#x",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        assert_eq!(
            localized_base("client_name#fr"),
            Some(("client_name", false))
        );
        assert_eq!(localized_base("tos_uri#de-CH"), Some(("tos_uri", true)));
        assert_eq!(localized_base("scope#fr"), None);
        assert_eq!(localized_base("client_name#"), None);
    }

    #[test]
    fn text_members_refuse_controls_and_bidi_overrides() {
        assert!(is_text("Example client (été)"));
        for bad in [
            "",
            "a\nb",
            "a\u{7}",
            "evil\u{202E}txt.exe",
            "a\u{2066}b",
            "a\u{200F}",
        ] {
            assert!(!is_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn dedup_keeps_the_first_of_each_value_in_order() {
        assert_eq!(dedup(vec![3, 1, 3, 2, 1]), [3, 1, 2]);
        assert_eq!(dedup(Vec::<String>::new()), Vec::<String>::new());
    }

    #[test]
    fn list_bounds_hold_for_what_a_hook_returns_too() {
        let registration = |uris: usize| ClientRegistration {
            redirect_uris: (0..uris)
                .map(|i| format!("https://client.example/cb{i}"))
                .collect(),
            token_endpoint_auth_method: AuthMethod::None,
            grant_types: vec![GrantType::AuthorizationCode],
            scope: None,
            client_name: None,
            metadata: ClientMetadata::default(),
        };
        assert_eq!(
            check(&registration(MAX_REDIRECT_URIS), &Scope::empty()),
            Ok(())
        );
        assert_eq!(
            check(&registration(MAX_REDIRECT_URIS + 1), &Scope::empty()),
            Err(Reason::RegistrationTooManyValues)
        );
        let mut contacts = registration(1);
        contacts.metadata.contacts = vec!["a@client.example".to_owned(); MAX_CONTACTS + 1];
        assert_eq!(
            check(&contacts, &Scope::empty()),
            Err(Reason::RegistrationTooManyValues)
        );
    }

    #[test]
    fn https_urls_only() {
        assert!(is_https_url("https://client.example/logo.png"));
        for bad in [
            "http://client.example/",
            "javascript:alert(1)",
            "https://user@client.example/",
            "/relative",
            "https://client.example/a b",
        ] {
            assert!(!is_https_url(bad), "{bad}");
        }
    }
}
