//! Registering clients from the host (programmatic registration; RFC 7591 dynamic
//! registration builds on the same checks).

use crate::crypto::{Keyring, TokenHash, TokenKind};
use crate::error::ApiMisuse;
use crate::machine::Machine;
use crate::model::{AuthMethod, Client, ClientId, GrantType, SecretDigest};
use crate::redirect_uri::validate_for_registration;
use crate::scope::Scope;
use crate::secret::Secret;
use crate::time::UnixTime;

/// A client the host wants to register.
#[derive(Clone, Debug)]
pub struct NewClient {
    /// The id to use; `None` draws a random one (recommended).
    pub id: Option<ClientId>,
    /// How it authenticates; `AuthMethod::None` registers a public client.
    pub auth_method: AuthMethod,
    /// Its redirect URIs (checked against the registration rules).
    pub redirect_uris: Vec<String>,
    /// The grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes it may request; `None` for all the server offers.
    pub scope: Option<Scope>,
    /// Its display name.
    pub name: Option<String>,
}

impl NewClient {
    /// A public client using the authorization code and refresh grants (a native app or
    /// a single-page app; the MCP client default).
    #[must_use]
    pub fn public(redirect_uris: Vec<String>) -> Self {
        NewClient {
            id: None,
            auth_method: AuthMethod::None,
            redirect_uris,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scope: None,
            name: None,
        }
    }

    /// A confidential client using `client_secret_basic` and the given grants.
    #[must_use]
    pub fn confidential(redirect_uris: Vec<String>, grant_types: Vec<GrantType>) -> Self {
        NewClient {
            id: None,
            auth_method: AuthMethod::ClientSecretBasic,
            redirect_uris,
            grant_types,
            scope: None,
            name: None,
        }
    }
}

/// A registered client and, for a confidential client, its secret: the only time the
/// secret exists in plain text.
#[derive(Debug)]
pub struct RegisteredClient {
    /// The stored record (with the secret's keyed hash only).
    pub client: Client,
    /// The secret to hand to the client once.
    pub secret: Option<Secret>,
}

impl Keyring {
    /// The keyed digest of a client secret, under the primary key. For importing clients
    /// whose secrets already exist; new secrets come from [`Machine::register_client`].
    #[must_use]
    pub fn digest_secret(&self, secret: &Secret) -> SecretDigest {
        let key = self.primary();
        SecretDigest {
            key_id: key.id.clone(),
            hash: TokenHash::compute(key, secret.expose()),
        }
    }
}

impl Machine {
    /// Validates a registration and draws the client id and secret.
    pub fn register_client(
        &self,
        new: NewClient,
        now: UnixTime,
    ) -> Result<RegisteredClient, ApiMisuse> {
        for uri in &new.redirect_uris {
            validate_for_registration(uri)
                .map_err(|_| ApiMisuse::InvalidClient("redirect URI not allowed"))?;
        }
        if new.grant_types.is_empty() {
            return Err(ApiMisuse::InvalidClient("no grant type"));
        }
        if new.grant_types.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
            return Err(ApiMisuse::InvalidClient(
                "the authorization code grant needs a redirect URI",
            ));
        }
        if new.auth_method == AuthMethod::None
            && new.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(ApiMisuse::InvalidClient(
                "public clients cannot use client_credentials",
            ));
        }
        if let Some(scope) = &new.scope {
            if !scope.is_subset_of(&self.config.scopes) {
                return Err(ApiMisuse::InvalidClient("scope not offered by the server"));
            }
        }
        let id = match new.id {
            // With client ID metadata documents on, such an id is never looked up in the
            // store: a client registered under it could not be used.
            Some(id)
                if self.config.client_metadata_documents
                    && crate::client_metadata_document::is_client_id_url(id.as_str()) =>
            {
                return Err(ApiMisuse::InvalidClient(
                    "an id beginning with https: names a client ID metadata document",
                ))
            }
            Some(id) if !id.as_str().is_empty() => id,
            Some(_) => return Err(ApiMisuse::InvalidClient("empty client id")),
            None => ClientId::new(
                self.new_id()
                    .map_err(|_| ApiMisuse::InvalidClient("random source failed"))?,
            ),
        };
        let secret = match new.auth_method {
            AuthMethod::None => None,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => Some(
                self.new_token(TokenKind::ClientSecret)
                    .map_err(|_| ApiMisuse::InvalidClient("random source failed"))?,
            ),
        };
        let client = Client {
            id,
            auth_method: new.auth_method,
            secret: secret
                .as_ref()
                .map(|s| self.config.keyring.digest_secret(s)),
            secret_expires_at: None,
            redirect_uris: new.redirect_uris,
            grant_types: new.grant_types,
            scope: new.scope,
            name: new.name,
            created_at: now,
            metadata: crate::model::ClientMetadata::default(),
            registration_token: None,
        };
        Ok(RegisteredClient { client, secret })
    }
}
