//! The typed records the machine decides over and the store persists.
//!
//! Records carry keyed hashes, never raw credentials, and only allow-listed fields:
//! nothing here is ever copied wholesale from a request.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{KeyId, SealedProps, TokenHash, WrappedPropsKey};
use crate::pkce::CodeChallenge;
use crate::resource::ResourceSet;
use crate::scope::Scope;
use crate::time::UnixTime;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id.
            #[must_use]
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A client identifier (RFC 6749 §2.2). Public, not a secret.
    ClientId
);
string_id!(
    /// The host's identifier of a resource owner.
    UserId
);
string_id!(
    /// Identifies one grant: what one user allowed one client. Random, server-chosen.
    GrantId
);

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: no authentication, `client_id` only.
    None,
}

impl AuthMethod {
    /// The registered name (RFC 7591 `token_endpoint_auth_method`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// The client types of OAuth 2.1 §2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    /// Holds credentials and authenticates at the token endpoint.
    Confidential,
    /// Cannot keep a credential; identified by `client_id` only and held to PKCE and
    /// refresh-token rotation.
    Public,
}

/// The grant types this library implements (never `password`, never `implicit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`.
    ClientCredentials,
}

impl GrantType {
    /// The registered name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// Parses a registered name; `None` for anything this library does not implement.
    #[must_use]
    pub fn parse(name: &str) -> Option<GrantType> {
        match name {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

/// A keyed hash of a client secret, with the key that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretDigest {
    /// The keyring key whose token-hash subkey produced `hash`.
    pub key_id: KeyId,
    /// `HMAC-SHA256(token-hash subkey, secret)`.
    pub hash: TokenHash,
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The client identifier.
    pub id: ClientId,
    /// How the client authenticates; `None` makes it a public client.
    pub auth_method: AuthMethod,
    /// The keyed hash of the client secret (confidential clients only).
    pub secret: Option<SecretDigest>,
    /// When the secret stops being accepted, if ever.
    pub secret_expires_at: Option<UnixTime>,
    /// Registered redirect URIs, compared by exact string match.
    pub redirect_uris: Vec<String>,
    /// Grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes the client may request; `None` means every scope the server offers.
    pub scope: Option<Scope>,
    /// Human-readable name, shown on the consent page.
    pub name: Option<String>,
    /// When the client was registered.
    pub created_at: UnixTime,
    /// The descriptive RFC 7591 metadata kept for the client (empty for clients
    /// registered by the host). Absent in records written before it existed.
    #[serde(default)]
    pub metadata: ClientMetadata,
    /// The keyed digest of the client's registration access token (RFC 7592), for a
    /// client registered dynamically; `None` for clients the host registered, which
    /// cannot be managed through the client configuration endpoint.
    #[serde(default)]
    pub registration_token: Option<SecretDigest>,
}

/// Descriptive client metadata of RFC 7591 §2: kept, validated and returned, but never
/// used in a protocol decision. The names, URIs and contacts may be shown to users (on the
/// consent page): hosts must escape them like any other client-supplied text.
///
/// One member is not the client's: [`initial_access_token_label`](Self::initial_access_token_label),
/// which the server records at registration for the host's
/// [`RegistrationHook`](crate::RegistrationHook).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// `client_uri`: the client's home page (https).
    #[serde(default)]
    pub client_uri: Option<String>,
    /// `logo_uri`: the client's logo (https).
    #[serde(default)]
    pub logo_uri: Option<String>,
    /// `tos_uri`: the client's terms of service (https).
    #[serde(default)]
    pub tos_uri: Option<String>,
    /// `policy_uri`: the client's privacy policy (https).
    #[serde(default)]
    pub policy_uri: Option<String>,
    /// `contacts`: people responsible for the client (usually e-mail addresses).
    #[serde(default)]
    pub contacts: Vec<String>,
    /// `software_id`: the developer's identifier of the client software.
    #[serde(default)]
    pub software_id: Option<String>,
    /// `software_version`: the version of the client software.
    #[serde(default)]
    pub software_version: Option<String>,
    /// Language-tagged variants of the human-readable members (RFC 7591 §2.2), keyed by
    /// the full member name (`client_name#fr`, `tos_uri#de-CH`, ...).
    #[serde(default)]
    pub localized: BTreeMap<String, String>,
    /// The label of the initial access token the client was registered with (RFC 7591
    /// §3), when the registration policy requires one. Set by the server, never by the
    /// client (a request cannot carry it, and what a hook returns here is replaced); never
    /// returned in a client information response. Updates pass it to the hook again as
    /// [`RegistrationContext::initial_access_token`](crate::RegistrationContext::initial_access_token),
    /// so a policy keyed on the label holds for the client's whole life. `None` for
    /// clients registered without one, by the host, or before the label was recorded.
    #[serde(default)]
    pub initial_access_token_label: Option<String>,
}

impl Client {
    /// The client's type, derived from its authentication method so that one client id
    /// can never act as both types (OAuth 2.1 §2.1).
    #[must_use]
    pub fn client_type(&self) -> ClientType {
        match self.auth_method {
            AuthMethod::None => ClientType::Public,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                ClientType::Confidential
            }
        }
    }

    /// Whether the client registered `grant_type`.
    #[must_use]
    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }
}

/// Who a grant speaks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// A resource owner who approved the client.
    User(UserId),
    /// The client itself (client credentials): kept apart from user ids so a resource
    /// server can always tell the two kinds of token apart (OAuth 2.1 §7.4).
    Client,
}

impl Subject {
    /// The user, if this grant speaks for one.
    #[must_use]
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Subject::User(user) => Some(user),
            Subject::Client => None,
        }
    }
}

/// What one subject allowed one client. Codes and tokens belong to a grant; revoking the
/// grant revokes all of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// The grant id.
    pub id: GrantId,
    /// Who approved.
    pub subject: Subject,
    /// The client the grant is for.
    pub client_id: ClientId,
    /// The approved scope.
    pub scope: Scope,
    /// The approved resources (RFC 8707 audiences).
    pub resources: ResourceSet,
    /// The host's props, encrypted under the grant's data key.
    pub props: Option<SealedProps>,
    /// When the grant was made.
    pub created_at: UnixTime,
    /// When the grant, and with it every refresh token, stops being usable.
    pub expires_at: UnixTime,
}

/// An authorization code, stored under its keyed hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// Keyed hash of the code.
    pub hash: TokenHash,
    /// The grant the code belongs to.
    pub grant_id: GrantId,
    /// The client the code was issued to.
    pub client_id: ClientId,
    /// The redirect URI the code was delivered to.
    pub redirect_uri: String,
    /// Whether the authorization request carried `redirect_uri` explicitly (then the
    /// token request must repeat it, OAuth 2.1 §10.2 / RFC 6749 §4.1.3).
    pub redirect_uri_in_request: bool,
    /// The PKCE challenge the code was bound to.
    pub challenge: Option<CodeChallenge>,
    /// The approved scope.
    pub scope: Scope,
    /// The approved resources.
    pub resources: ResourceSet,
    /// The grant's data key, wrapped for this code.
    pub props_key: Option<WrappedPropsKey>,
    /// When the grant expires; tokens issued from the code never outlive it.
    pub grant_expires_at: UnixTime,
    /// When the code stops being redeemable (its tombstone lives until then too).
    pub expires_at: UnixTime,
}

/// An access token, stored under its keyed hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenRecord {
    /// Keyed hash of the token.
    pub hash: TokenHash,
    /// The grant the token belongs to.
    pub grant_id: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The scope the token carries (possibly narrower than the grant's).
    pub scope: Scope,
    /// The audiences the token is valid for.
    pub audience: ResourceSet,
    /// The grant's data key, wrapped for this token.
    pub props_key: Option<WrappedPropsKey>,
    /// When the token was issued.
    pub issued_at: UnixTime,
    /// When the token expires.
    pub expires_at: UnixTime,
}

/// A refresh token, stored under its keyed hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    /// Keyed hash of the token.
    pub hash: TokenHash,
    /// The grant the token belongs to.
    pub grant_id: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The scope the token may refresh into (OAuth 2.1 §4.3.3: kept across rotation).
    pub scope: Scope,
    /// The resources the token may refresh into.
    pub resources: ResourceSet,
    /// The grant's data key, wrapped for this token.
    pub props_key: Option<WrappedPropsKey>,
    /// When the token was issued.
    pub issued_at: UnixTime,
    /// When the grant expires; rotation never extends a token past it.
    pub grant_expires_at: UnixTime,
    /// When the token expires (never after its grant).
    pub expires_at: UnixTime,
}

/// An access token with the grant it belongs to, as bearer validation needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessTokenWithGrant {
    /// The token.
    pub token: AccessTokenRecord,
    /// Its grant.
    pub grant: GrantRecord,
}

/// Tokens issued together by one token response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The access token.
    pub access: AccessTokenRecord,
    /// The refresh token, when one is issued.
    pub refresh: Option<RefreshTokenRecord>,
}
