//! Record builders shared by the clauses and by each backend's own tests.
//!
//! Every builder fills every field (props, wrapped keys, PKCE challenge, resources), so a
//! backend that drops or mangles a column fails the equality checks of the suite. Hashes
//! and ids are random, so records built for one test never collide with another's, even
//! when two tests share one server. Times are explicit [`UnixTime`] values around
//! [`NOW`]; nothing here reads a clock.

use std::sync::atomic::{AtomicU64, Ordering};

use oauth_core::crypto::{KeyId, SealedProps, WrappedPropsKey};
use oauth_core::model::{
    AccessTokenRecord, AuthMethod, Client, ClientId, ClientMetadata, CodeRecord, GrantId,
    GrantRecord, GrantType, IssuedTokens, RefreshTokenRecord, SecretDigest, Subject, UserId,
};
use oauth_core::pkce::{CodeChallenge, CodeChallengeMethod};
use oauth_core::resource::{Resource, ResourceSet};
use oauth_core::scope::Scope;
use oauth_core::store::OnceKey;
use oauth_core::{TokenHash, UnixTime};
use rand_core::{OsRng, RngCore};

/// The fixed "current time" of the suite: records expire relative to it.
pub const NOW: UnixTime = UnixTime(1_000_000);

/// Lifetime of an authorization code built by [`code_for`], in seconds.
pub const CODE_TTL: u64 = 600;
/// Lifetime of an access token built by [`access_for`], in seconds.
pub const ACCESS_TTL: u64 = 3_600;
/// Lifetime of a refresh token built by [`refresh_for`], in seconds.
pub const REFRESH_TTL: u64 = 86_400;
/// Lifetime of a grant built by [`user_grant`] or [`client_grant`], in seconds.
pub const GRANT_TTL: u64 = 30 * 86_400;

/// 32 random bytes from the OS RNG, mixed with a process-wide counter so that two
/// values drawn in one process always differ.
#[must_use]
pub fn random_bytes() -> [u8; 32] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes();
    for (b, c) in bytes.iter_mut().zip(n) {
        *b ^= c;
    }
    bytes
}

/// A fresh random token hash.
#[must_use]
pub fn token_hash() -> TokenHash {
    TokenHash(random_bytes())
}

/// A short random hex label, to make ids unique across tests sharing a server.
#[must_use]
pub fn unique(prefix: &str) -> String {
    let bytes = random_bytes();
    let hex: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// A fresh random client id.
#[must_use]
pub fn client_id() -> ClientId {
    ClientId::new(unique("client"))
}

/// A fresh random user id.
#[must_use]
pub fn user_id() -> UserId {
    UserId::new(unique("user"))
}

/// A fresh random grant id.
#[must_use]
pub fn grant_id() -> GrantId {
    GrantId::new(unique("grant"))
}

/// The scope used by the builders: `read write`.
#[must_use]
pub fn scope() -> Scope {
    Scope::parse("read write").unwrap()
}

/// The resources used by the builders: one canonical resource.
#[must_use]
pub fn resources() -> ResourceSet {
    std::iter::once(Resource::parse("https://api.example.com/mcp").unwrap()).collect()
}

/// A confidential client with every optional field set (RFC 7591 metadata and a
/// registration access token digest included).
#[must_use]
pub fn client(id: &ClientId) -> Client {
    Client {
        id: id.clone(),
        auth_method: AuthMethod::ClientSecretBasic,
        secret: Some(SecretDigest {
            key_id: KeyId::new("test-key").unwrap(),
            hash: token_hash(),
        }),
        secret_expires_at: Some(NOW.plus(GRANT_TTL)),
        redirect_uris: vec![
            "https://app.example.com/callback".to_owned(),
            "http://127.0.0.1/callback".to_owned(),
        ],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        scope: Some(scope()),
        name: Some("Test client".to_owned()),
        created_at: NOW,
        metadata: ClientMetadata {
            client_uri: Some("https://app.example.com/".to_owned()),
            logo_uri: Some("https://app.example.com/logo.png".to_owned()),
            tos_uri: Some("https://app.example.com/tos".to_owned()),
            policy_uri: Some("https://app.example.com/privacy".to_owned()),
            contacts: vec!["ops@app.example.com".to_owned()],
            software_id: Some("4NRB1-0XZABZI9E6-5SM3R".to_owned()),
            software_version: Some("2.1".to_owned()),
            localized: [
                ("client_name#fr".to_owned(), "Client de test".to_owned()),
                (
                    "tos_uri#de-CH".to_owned(),
                    "https://app.example.com/de/tos".to_owned(),
                ),
            ]
            .into_iter()
            .collect(),
            initial_access_token_label: Some("partner".to_owned()),
        },
        registration_token: Some(SecretDigest {
            key_id: KeyId::new("test-key").unwrap(),
            hash: token_hash(),
        }),
    }
}

/// A grant that `user` gave `client` at [`NOW`], expiring [`GRANT_TTL`] later.
#[must_use]
pub fn user_grant(user: &UserId, client: &ClientId) -> GrantRecord {
    GrantRecord {
        id: grant_id(),
        subject: Subject::User(user.clone()),
        client_id: client.clone(),
        scope: scope(),
        resources: resources(),
        props: Some(SealedProps(random_bytes().to_vec())),
        created_at: NOW,
        expires_at: NOW.plus(GRANT_TTL),
    }
}

/// A client-credentials grant of `client` (subject: the client itself).
#[must_use]
pub fn client_grant(client: &ClientId) -> GrantRecord {
    GrantRecord {
        id: grant_id(),
        subject: Subject::Client,
        client_id: client.clone(),
        scope: scope(),
        resources: resources(),
        props: None,
        created_at: NOW,
        expires_at: NOW.plus(GRANT_TTL),
    }
}

/// A fresh code under `grant`, expiring at `expires_at`.
#[must_use]
pub fn code_expiring(grant: &GrantRecord, expires_at: UnixTime) -> CodeRecord {
    CodeRecord {
        hash: token_hash(),
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        redirect_uri: "https://app.example.com/callback".to_owned(),
        redirect_uri_in_request: true,
        challenge: Some(CodeChallenge {
            method: CodeChallengeMethod::S256,
            value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        }),
        scope: grant.scope.clone(),
        resources: grant.resources.clone(),
        props_key: Some(WrappedPropsKey(random_bytes().to_vec())),
        grant_expires_at: grant.expires_at,
        expires_at,
    }
}

/// A fresh code under `grant`, expiring [`CODE_TTL`] after [`NOW`].
#[must_use]
pub fn code_for(grant: &GrantRecord) -> CodeRecord {
    code_expiring(grant, NOW.plus(CODE_TTL))
}

/// A fresh access token under `grant`, issued at [`NOW`], expiring at `expires_at`.
#[must_use]
pub fn access_expiring(grant: &GrantRecord, expires_at: UnixTime) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: token_hash(),
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        scope: grant.scope.clone(),
        audience: grant.resources.clone(),
        props_key: Some(WrappedPropsKey(random_bytes().to_vec())),
        issued_at: NOW,
        expires_at,
    }
}

/// A fresh access token under `grant`, expiring [`ACCESS_TTL`] after [`NOW`].
#[must_use]
pub fn access_for(grant: &GrantRecord) -> AccessTokenRecord {
    access_expiring(grant, NOW.plus(ACCESS_TTL))
}

/// A fresh refresh token under `grant`, issued at [`NOW`], expiring at `expires_at`.
#[must_use]
pub fn refresh_expiring(grant: &GrantRecord, expires_at: UnixTime) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: token_hash(),
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        scope: grant.scope.clone(),
        resources: grant.resources.clone(),
        props_key: Some(WrappedPropsKey(random_bytes().to_vec())),
        issued_at: NOW,
        grant_expires_at: grant.expires_at,
        expires_at,
    }
}

/// A fresh refresh token under `grant`, expiring [`REFRESH_TTL`] after [`NOW`].
#[must_use]
pub fn refresh_for(grant: &GrantRecord) -> RefreshTokenRecord {
    refresh_expiring(grant, NOW.plus(REFRESH_TTL))
}

/// A fresh access token and refresh token under `grant`.
#[must_use]
pub fn tokens_for(grant: &GrantRecord) -> IssuedTokens {
    IssuedTokens {
        access: access_for(grant),
        refresh: Some(refresh_for(grant)),
    }
}

/// Fresh tokens as a redemption of `code` issues them: an access token and a refresh
/// token under the code's grant, for the code's client.
#[must_use]
pub fn tokens_for_code(code: &CodeRecord) -> IssuedTokens {
    let mut tokens = tokens_for(&user_grant(&user_id(), &code.client_id));
    tokens.access.grant_id = code.grant_id.clone();
    if let Some(refresh) = tokens.refresh.as_mut() {
        refresh.grant_id = code.grant_id.clone();
    }
    tokens
}

/// A fresh access token under `grant`, without a refresh token.
#[must_use]
pub fn access_only_for(grant: &GrantRecord) -> IssuedTokens {
    IssuedTokens {
        access: access_for(grant),
        refresh: None,
    }
}

/// A fresh one-time marker in `namespace`.
#[must_use]
pub fn once_key(namespace: &'static str) -> OnceKey {
    OnceKey {
        namespace,
        key: random_bytes(),
    }
}
