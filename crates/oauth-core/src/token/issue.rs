//! Issuing access and refresh tokens: new credentials, their records, and the response.

use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::crypto::{PropsKey, TokenKind};
use crate::error::Reason;
use crate::machine::Machine;
use crate::model::{
    AccessTokenRecord, Client, ClientType, GrantId, IssuedTokens, RefreshTokenRecord,
};
use crate::resource::ResourceSet;
use crate::scope::Scope;
use crate::secret::Secret;
use crate::time::UnixTime;

/// The body of a successful token response, holding the only plaintext copies of the
/// credentials.
pub(crate) struct TokenResponse {
    access_token: Secret,
    access_expires_at: UnixTime,
    /// The time the response is for (`expires_in` is counted from it).
    now: UnixTime,
    refresh_token: Option<Secret>,
    scope: Scope,
}

/// A token response kept for the refresh grace: sealed, never stored in the clear.
#[derive(serde::Serialize, serde::Deserialize)]
struct GraceCopy {
    access_token: String,
    access_expires_at: UnixTime,
    refresh_token: Option<String>,
    scope: Scope,
}

impl TokenResponse {
    /// The response serialized for sealing (see `grant::refresh_token`).
    pub(crate) fn to_grace_copy(&self) -> Result<Vec<u8>, Reason> {
        serde_json::to_vec(&GraceCopy {
            access_token: self.access_token.expose().to_owned(),
            access_expires_at: self.access_expires_at,
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            scope: self.scope.clone(),
        })
        .map_err(|_| Reason::InternalFailure)
    }

    /// The same response again, answered at `now`.
    pub(crate) fn from_grace_copy(bytes: &[u8], now: UnixTime) -> Result<Self, Reason> {
        let copy: GraceCopy = serde_json::from_slice(bytes).map_err(|_| Reason::InternalFailure)?;
        Ok(TokenResponse {
            access_token: Secret::new(copy.access_token),
            access_expires_at: copy.access_expires_at,
            now,
            refresh_token: copy.refresh_token.map(Secret::new),
            scope: copy.scope,
        })
    }

    /// The refresh token of this response, if any.
    pub(crate) fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("access_token".into(), json!(self.access_token.expose()));
        body.insert("token_type".into(), json!("Bearer"));
        body.insert(
            "expires_in".into(),
            json!(self.now.seconds_until(self.access_expires_at)),
        );
        if let Some(refresh) = &self.refresh_token {
            body.insert("refresh_token".into(), json!(refresh.expose()));
        }
        // OAuth 2.1 §3.2.3: always sent, so a narrowed grant is visible to the client.
        if !self.scope.is_empty() {
            body.insert("scope".into(), json!(self.scope.to_string()));
        }
        Value::Object(body)
    }
}

/// What to issue.
pub(crate) struct Issue<'a> {
    pub(crate) client: &'a Client,
    pub(crate) grant_id: &'a GrantId,
    pub(crate) grant_expires_at: UnixTime,
    /// The access token's scope and audience.
    pub(crate) scope: Scope,
    pub(crate) audience: ResourceSet,
    /// The refresh token's scope and resources, when one is to be issued.
    pub(crate) refresh: Option<(Scope, ResourceSet)>,
    /// The grant's data key, to wrap for each new credential.
    pub(crate) props_key: Option<&'a PropsKey>,
}

/// Draws the credentials and builds their records and the response.
pub(crate) fn issue_tokens(
    machine: &Machine,
    now: UnixTime,
    issue: Issue<'_>,
) -> Result<(IssuedTokens, TokenResponse), Reason> {
    let config = &machine.config;
    let wrap = |kind: TokenKind, credential: &Secret| {
        issue
            .props_key
            .map(|key| {
                key.wrap(
                    &config.keyring,
                    kind,
                    credential.expose(),
                    issue.grant_id.as_str(),
                    config.random.as_ref(),
                )
            })
            .transpose()
            .map_err(|_| Reason::InternalFailure)
    };

    let access_token = machine.new_token(TokenKind::AccessToken)?;
    let access_expires = now
        .plus(config.lifetimes.access_token)
        .min(issue.grant_expires_at);
    let access = AccessTokenRecord {
        hash: machine.hash(&access_token),
        grant_id: issue.grant_id.clone(),
        client_id: issue.client.id.clone(),
        scope: issue.scope.clone(),
        audience: issue.audience,
        props_key: wrap(TokenKind::AccessToken, &access_token)?,
        issued_at: now,
        expires_at: access_expires,
    };

    let (refresh, refresh_token) = match issue.refresh {
        Some((scope, resources)) => {
            let token = machine.new_token(TokenKind::RefreshToken)?;
            let lifetime = match issue.client.client_type() {
                ClientType::Public => config.lifetimes.public_refresh_token,
                ClientType::Confidential => config.lifetimes.refresh_token,
            };
            let record = RefreshTokenRecord {
                hash: machine.hash(&token),
                grant_id: issue.grant_id.clone(),
                client_id: issue.client.id.clone(),
                scope,
                resources,
                props_key: wrap(TokenKind::RefreshToken, &token)?,
                issued_at: now,
                grant_expires_at: issue.grant_expires_at,
                expires_at: now.plus(lifetime).min(issue.grant_expires_at),
            };
            (Some(record), Some(token))
        }
        None => (None, None),
    };

    let response = TokenResponse {
        access_token,
        access_expires_at: access_expires,
        now,
        refresh_token,
        scope: issue.scope,
    };
    Ok((IssuedTokens { access, refresh }, response))
}

/// Whether a refresh token may ever be issued to `client`: the server issues them and the
/// client is registered for the `refresh_token` grant (OAuth 2.1 §3.2.3, RFC 9700
/// §4.14.2). It is also what exempts `offline_access` from the client's registered scope
/// ([`client_allows`](crate::scope::client_allows)): such a request asks only for what the
/// client may get anyway.
pub(crate) fn refresh_eligible(config: &Config, client: &Client) -> bool {
    config.issue_refresh_tokens && client.allows_grant(crate::model::GrantType::RefreshToken)
}

/// Whether a refresh token is issued to `client` for a grant of `scope`: only to
/// [eligible](refresh_eligible) clients, and, when the server requires it, only when the
/// approved scope contains `offline_access` (OpenID Connect Core §11; MCP 2026-07-28
/// "Refresh Tokens" leaves the choice to the server).
pub(crate) fn refresh_allowed(machine: &Machine, client: &Client, scope: &Scope) -> bool {
    let config = &machine.config;
    refresh_eligible(config, client)
        && (!config.refresh_requires_offline_access || scope.contains(crate::scope::OFFLINE_ACCESS))
}
