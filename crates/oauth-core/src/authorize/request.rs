//! Parsing and validating an authorization request.

use bytes::Bytes;
use http::{Method, Request};

use super::{error_redirect, AuthorizationError, PendingAuthorization};
use crate::client_metadata_document::{
    is_loopback_redirect, ClientIdUrl, ClientSource, FetchError,
};
use crate::error::{Reason, StoreError};
use crate::machine::Machine;
use crate::model::{Client, ClientId, ClientType, GrantType};
use crate::params::Params;
use crate::pkce::{self, PkceError};
use crate::redirect_uri::{match_redirect_uri, ValidatedRedirectUri};
use crate::resource;
use crate::scope;
use crate::time::UnixTime;

/// What the authorization endpoint needs next.
#[must_use = "a step must be answered or its result used"]
#[non_exhaustive]
pub enum AuthorizeStep<'m> {
    /// Look up the client: [`Store::client`](crate::Store::client).
    NeedsClient(AuthorizeClientLookup<'m>),
    /// Fetch the client's metadata document (its `client_id` is an https URL and client
    /// ID metadata documents are on):
    /// [`ClientMetadataFetcher::fetch`](crate::ClientMetadataFetcher::fetch).
    NeedsClientMetadata(AuthorizeClientMetadataLookup<'m>),
    /// Validation is complete.
    Done(Result<PendingAuthorization, AuthorizationError>),
}

/// What is being validated: a fresh request, or a ticket being resumed.
pub(crate) enum Source {
    Request { params: Params, after_post: bool },
    Ticket(Box<super::ticket::TicketPayload>),
}

/// Asks for the client named by the authorization request.
pub struct AuthorizeClientLookup<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) now: UnixTime,
    pub(crate) client_id: ClientId,
    pub(crate) source: Source,
}

impl<'m> AuthorizeClientLookup<'m> {
    /// The client to look up.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<Option<Client>, StoreError>) -> AuthorizeStep<'m> {
        let client = match answer {
            Ok(Some(client)) => client,
            Ok(None) => {
                return AuthorizeStep::Done(Err(AuthorizationError::Fatal(Reason::UnknownClient)))
            }
            Err(e) => {
                tracing::error!(error = %e, "store failed during an authorization request");
                return AuthorizeStep::Done(Err(AuthorizationError::Fatal(
                    Reason::StoreUnavailable,
                )));
            }
        };
        AuthorizeStep::Done(proceed(self.machine, self.now, &client, self.source, None))
    }
}

/// Asks for the metadata document of the client named by the authorization request (or
/// the resumed ticket): its `client_id` is a Client Identifier URL.
pub struct AuthorizeClientMetadataLookup<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) now: UnixTime,
    pub(crate) url: ClientIdUrl,
    pub(crate) source: Source,
}

impl<'m> AuthorizeClientMetadataLookup<'m> {
    /// The document to fetch: the client id.
    #[must_use]
    pub fn url(&self) -> &ClientIdUrl {
        &self.url
    }

    /// The most bytes of the document to read; a longer one is an error.
    #[must_use]
    pub fn max_bytes(&self) -> usize {
        self.machine.client_metadata_document_max_bytes()
    }

    /// Continues with the fetcher's answer: the document is validated and becomes the
    /// client, or the request ends with an error page (the redirect URI cannot be trusted
    /// without the document; draft § "Metadata Discovery Errors").
    pub fn resume(self, fetched: Result<Bytes, FetchError>) -> AuthorizeStep<'m> {
        let client = match self
            .machine
            .client_from_fetched(&self.url, fetched, self.now)
        {
            Ok(client) => client,
            Err(reason) => return AuthorizeStep::Done(fatal(reason)),
        };
        AuthorizeStep::Done(proceed(
            self.machine,
            self.now,
            &client,
            self.source,
            Some(&self.url),
        ))
    }
}

/// Validates the request (or the resumed ticket) against its client, which came from the
/// store or, with `document`, from that metadata document.
fn proceed(
    machine: &Machine,
    now: UnixTime,
    client: &Client,
    source: Source,
    document: Option<&ClientIdUrl>,
) -> Result<PendingAuthorization, AuthorizationError> {
    let shown = ClientDisplay::of(client, document);
    match source {
        Source::Request { params, after_post } => {
            validate_request(machine, now, client, &params, after_post, shown)
        }
        Source::Ticket(payload) => super::ticket::revalidate(machine, client, *payload, shown),
    }
}

/// What the consent page should show about where the client comes from and where the
/// response goes (draft § "OAuth Phishing Attacks"; MCP "Localhost Redirect URI Risks").
pub(crate) struct ClientDisplay {
    pub(crate) client_id_host: Option<String>,
    pub(crate) redirect_uris_loopback_only: bool,
}

impl ClientDisplay {
    fn of(client: &Client, document: Option<&ClientIdUrl>) -> Self {
        ClientDisplay {
            client_id_host: document.map(|url| url.host().to_owned()),
            redirect_uris_loopback_only: !client.redirect_uris.is_empty()
                && client
                    .redirect_uris
                    .iter()
                    .all(|uri| is_loopback_redirect(uri)),
        }
    }
}

fn fatal<T>(reason: Reason) -> Result<T, AuthorizationError> {
    Err(AuthorizationError::Fatal(reason))
}

impl Machine {
    /// Starts validating an authorization request (GET with a query, or POST with a form
    /// body, OAuth 2.1 §3.1).
    pub fn authorization_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> AuthorizeStep<'_> {
        match self.parse_authorization_request(request) {
            Ok((client_id, params, after_post)) => {
                self.authorize_client(now, client_id, Source::Request { params, after_post })
            }
            Err(reason) => AuthorizeStep::Done(fatal(reason)),
        }
    }

    /// Asks for the client of a request or ticket: from the store, or from its metadata
    /// document when its id is a Client Identifier URL (and the feature is on).
    pub(crate) fn authorize_client(
        &self,
        now: UnixTime,
        client_id: ClientId,
        source: Source,
    ) -> AuthorizeStep<'_> {
        match self.client_source(client_id) {
            ClientSource::Store(client_id) => AuthorizeStep::NeedsClient(AuthorizeClientLookup {
                machine: self,
                now,
                client_id,
                source,
            }),
            ClientSource::Document(url) => {
                AuthorizeStep::NeedsClientMetadata(AuthorizeClientMetadataLookup {
                    machine: self,
                    now,
                    url,
                    source,
                })
            }
            ClientSource::Invalid(reason) => AuthorizeStep::Done(fatal(reason)),
        }
    }

    fn parse_authorization_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<(ClientId, Params, bool), Reason> {
        let (raw, after_post) = match *request.method() {
            Method::GET => (request.uri().query().unwrap_or("").as_bytes(), false),
            Method::POST => {
                let body = request.body().as_ref();
                if body.len() > self.config.max_body_bytes {
                    return Err(Reason::BodyTooLarge);
                }
                (body, true)
            }
            _ => return Err(Reason::MethodNotAllowed),
        };
        if raw.len() > self.config.max_body_bytes {
            return Err(Reason::BodyTooLarge);
        }
        // Until the client and redirect URI are known good, every failure is fatal.
        let params = Params::parse(raw)?;
        let client_id = params.single("client_id")?.ok_or(Reason::MissingClientId)?;
        params.single("redirect_uri")?;
        Ok((ClientId::new(client_id), params, after_post))
    }
}

/// The checks after the client is known: redirect URI first (fatal), then the rest
/// (redirected).
fn validate_request(
    machine: &Machine,
    now: UnixTime,
    client: &Client,
    params: &Params,
    after_post: bool,
    shown: ClientDisplay,
) -> Result<PendingAuthorization, AuthorizationError> {
    let config = &machine.config;
    let requested_redirect = params
        .single("redirect_uri")
        .map_err(AuthorizationError::Fatal)?;
    let redirect_uri = match_redirect_uri(
        &client.redirect_uris,
        requested_redirect,
        config.redirect_matching,
    )
    .map_err(AuthorizationError::Fatal)?;

    // From here on the redirect URI is trusted. A repeated `state` cannot be echoed, so
    // that error goes back without one.
    let (state, state_error) = match params.single("state") {
        Ok(state) => (state, None),
        Err(reason) => (None, Some(reason)),
    };
    let fail = |reason| {
        Err(error_redirect(
            &redirect_uri,
            state,
            config.issuer.as_str(),
            reason,
            after_post,
        ))
    };
    if let Some(reason) = state_error {
        return fail(reason);
    }
    match validate_parameters(machine, client, params) {
        Err(reason) => fail(reason),
        Ok(validated) => Ok(PendingAuthorization {
            id: match machine.new_id() {
                Ok(id) => id,
                Err(reason) => return fail(reason),
            },
            client_id: client.id.clone(),
            client_name: client.name.clone(),
            redirect_uri_in_request: requested_redirect.is_some(),
            redirect_uri,
            scope: validated.scope,
            resources: validated.resources,
            state: state.map(str::to_owned),
            challenge: validated.challenge,
            expires_at: now.plus(config.lifetimes.ticket),
            client_id_host: shown.client_id_host,
            redirect_uris_loopback_only: shown.redirect_uris_loopback_only,
        }),
    }
}

struct Validated {
    scope: crate::scope::Scope,
    resources: crate::resource::ResourceSet,
    challenge: Option<crate::pkce::CodeChallenge>,
}

fn validate_parameters(
    machine: &Machine,
    client: &Client,
    params: &Params,
) -> Result<Validated, Reason> {
    let config = &machine.config;
    match params.single("response_type")? {
        None => return Err(Reason::MissingResponseType),
        Some("code") => {}
        // `token`, `id_token`, hybrids: OAuth 2.1 has no implicit flow (§10.1).
        Some(_) => return Err(Reason::UnsupportedResponseType),
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(Reason::GrantTypeNotAllowed);
    }
    let scope = scope::resolve(
        params.single("scope")?,
        &config.scopes,
        config.default_scope.as_ref(),
        scope::ClientScope::of(config, client),
        scope::ScopeRequest::Authorization,
    )?;
    let resources = resource::resolve(
        params.all("resource"),
        &config.resources,
        config.require_resource,
    )?;
    let challenge = pkce::parse_challenge(
        params.single("code_challenge")?,
        params.single("code_challenge_method")?,
        config.pkce.allow_plain,
    )
    .map_err(|e| match e {
        PkceError::MalformedChallenge | PkceError::MethodWithoutChallenge => {
            Reason::MalformedCodeChallenge
        }
        PkceError::UnsupportedMethod | PkceError::MalformedVerifier => {
            Reason::UnsupportedChallengeMethod
        }
    })?;
    let pkce_required = match client.client_type() {
        ClientType::Public => true,
        ClientType::Confidential => config.pkce.require_for_confidential_clients,
    };
    if challenge.is_none() && pkce_required {
        return Err(Reason::CodeChallengeRequired);
    }
    Ok(Validated {
        scope,
        resources,
        challenge,
    })
}

/// Re-checks the redirect URI of a resumed request against the client's current
/// registration: a URI removed since the request was made is no longer trusted.
pub(crate) fn rematch_redirect(
    machine: &Machine,
    client: &Client,
    uri: &str,
    was_in_request: bool,
) -> Result<ValidatedRedirectUri, Reason> {
    let requested = was_in_request.then_some(uri);
    let matched = match_redirect_uri(
        &client.redirect_uris,
        requested,
        machine.config.redirect_matching,
    )?;
    if matched.as_str() == uri {
        Ok(matched)
    } else {
        Err(Reason::RedirectUriMismatch)
    }
}
