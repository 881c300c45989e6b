//! What the client-authenticated endpoints share: the token endpoint (OAuth 2.1 §3.2),
//! revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1).
//!
//! Each is a form POST from a client that authenticates exactly as at the token endpoint
//! (RFC 7009 §2.1 and RFC 7662 §2.1 defer to it). So one parser checks the envelope (POST
//! only, body limit, form content type, no client credentials in the URI, strict form
//! parameters, the presented client), and one step, [`ClientLookup`], looks the client up
//! and authenticates it: a failure is reported to the event sink and answered with
//! `invalid_client`, 401 with a `Basic` challenge when the `Authorization` header was used
//! and 400 otherwise (OAuth 2.1 §3.2.4); a store failure is 503. Each endpoint only adds
//! its own parameters and what comes after authentication.

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Method, Request};

use crate::client_auth::{authenticate, presented_client, PresentedClient};
use crate::client_metadata_document::{ClientIdUrl, ClientSource, FetchError};
use crate::error::{Reason, StoreError};
use crate::events::SecurityEvent;
use crate::machine::Machine;
use crate::model::{Client, ClientId};
use crate::params::{is_form_content_type, Params};
use crate::response::{token_error, HttpResponse};
use crate::time::UnixTime;

/// A parsed request of a client-authenticated endpoint whose client has not been
/// authenticated yet.
pub(crate) struct Unauthenticated<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) now: UnixTime,
    pub(crate) params: Params,
    pub(crate) presented: PresentedClient,
}

/// A request of a client-authenticated endpoint from an authenticated client.
pub(crate) struct Authenticated<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) now: UnixTime,
    pub(crate) params: Params,
    pub(crate) client: Client,
    pub(crate) used_authorization_header: bool,
}

impl Authenticated<'_> {
    /// Refuses the authenticated client all the same (for example a public client at an
    /// endpoint only confidential clients may call): reported to the event sink like any
    /// failed authentication, and answered with `reason` (an `invalid_client` reason).
    pub(crate) fn reject_client(&self, reason: Reason) -> HttpResponse {
        authentication_failed(
            self.machine,
            &self.client.id,
            reason,
            self.used_authorization_header,
        )
    }
}

/// Asks for the client named by a request of a client-authenticated endpoint:
/// [`Store::client`](crate::Store::client). `R` is the endpoint's own part of the request,
/// held until the client is authenticated, and each endpoint's `resume` continues with it:
/// [`TokenRequest`](crate::token::TokenRequest),
/// [`RevocationRequest`](crate::revocation::RevocationRequest) or
/// [`IntrospectionRequest`](crate::introspection::IntrospectionRequest).
pub struct ClientLookup<'m, R> {
    pub(crate) request: Unauthenticated<'m>,
    pub(crate) endpoint: R,
}

impl<'m, R> ClientLookup<'m, R> {
    /// The client to look up.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.request.presented.id
    }

    /// Authenticates the presented client against the store's answer, or the client
    /// its metadata document describes (OAuth 2.1 §2.4, §3.2.1): the authenticated request
    /// and the endpoint's part, or the refusal.
    pub(crate) fn authenticate(
        self,
        answer: impl Into<ClientAnswer>,
    ) -> Result<(Authenticated<'m>, R), Refusal> {
        let ClientLookup { request, endpoint } = self;
        let used_header = request.presented.used_authorization_header();
        let checked = match answer.into() {
            ClientAnswer::Store(Err(e)) => {
                return Err(Refusal(Box::new(store_failure(
                    request.machine,
                    &e,
                    used_header,
                ))))
            }
            ClientAnswer::Store(Ok(None)) => Err(Reason::UnknownClient),
            // The document could not be fetched through nobody's fault in particular
            // (fetcher busy, timeout, connection failure): 503, and no failed
            // authentication is reported, so that a flood of made-up client ids cannot get
            // a legitimate client refused as unauthenticated or throttled.
            ClientAnswer::Document(Err(Reason::ClientMetadataUnavailable)) => {
                return Err(Refusal(Box::new(error_response(
                    request.machine,
                    Reason::ClientMetadataUnavailable,
                    used_header,
                ))))
            }
            ClientAnswer::Document(Err(reason)) => Err(reason),
            ClientAnswer::Store(Ok(Some(client))) | ClientAnswer::Document(Ok(client)) => {
                authenticate(
                    &client,
                    &request.presented,
                    &request.machine.config.keyring,
                    request.now,
                )
                .map(|()| client)
            }
        };
        match checked {
            Ok(client) => Ok((
                Authenticated {
                    machine: request.machine,
                    now: request.now,
                    params: request.params,
                    client,
                    used_authorization_header: used_header,
                },
                endpoint,
            )),
            Err(reason) => Err(Refusal(Box::new(authentication_failed(
                request.machine,
                &request.presented.id,
                reason,
                used_header,
            )))),
        }
    }
}

/// Where the client of a client-authenticated request was found.
pub(crate) enum ClientAnswer {
    /// The store's answer.
    Store(Result<Option<Client>, StoreError>),
    /// The client its metadata document describes, or why there is none.
    Document(Result<Client, Reason>),
}

impl From<Result<Option<Client>, StoreError>> for ClientAnswer {
    fn from(answer: Result<Option<Client>, StoreError>) -> Self {
        ClientAnswer::Store(answer)
    }
}

/// Where a client-authenticated request finds its client.
pub(crate) enum ClientQuestion<'m, R> {
    /// In the store.
    Store(ClientLookup<'m, R>),
    /// In its metadata document.
    Document(ClientMetadataLookup<'m, R>),
    /// Nowhere: the request is refused with this response.
    Refused(HttpResponse),
}

impl<'m, R> ClientLookup<'m, R> {
    /// Whether the presented client is looked up in the store or described by its
    /// metadata document (a Client Identifier URL, with the feature on). An invalid
    /// Client Identifier URL is refused here like any failed authentication.
    pub(crate) fn route(self) -> ClientQuestion<'m, R> {
        let machine = self.request.machine;
        match machine.client_source(self.request.presented.id.clone()) {
            ClientSource::Store(_) => ClientQuestion::Store(self),
            ClientSource::Document(url) => {
                ClientQuestion::Document(ClientMetadataLookup { lookup: self, url })
            }
            ClientSource::Invalid(reason) => ClientQuestion::Refused(authentication_failed(
                machine,
                &self.request.presented.id,
                reason,
                self.request.presented.used_authorization_header(),
            )),
        }
    }
}

/// Asks for the metadata document of the client of a client-authenticated request (its
/// `client_id` is a Client Identifier URL):
/// [`ClientMetadataFetcher::fetch`](crate::ClientMetadataFetcher::fetch). Each endpoint's
/// `resume` continues like its [`ClientLookup`]'s, with the client the document
/// describes: a public client, so it authenticates with `client_id` alone. A fetch that
/// fails through the client's fault or an invalid document is `invalid_client`; a fetch
/// that fails otherwise ([`FetchError::is_transient`]) is 503 `temporarily_unavailable`.
pub struct ClientMetadataLookup<'m, R> {
    pub(crate) lookup: ClientLookup<'m, R>,
    pub(crate) url: ClientIdUrl,
}

impl<'m, R> ClientMetadataLookup<'m, R> {
    /// The document to fetch: the client id.
    #[must_use]
    pub fn url(&self) -> &ClientIdUrl {
        &self.url
    }

    /// The most bytes of the document to read; a longer one is an error.
    #[must_use]
    pub fn max_bytes(&self) -> usize {
        self.lookup
            .request
            .machine
            .client_metadata_document_max_bytes()
    }

    /// Refuses the client without fetching its document, like any failed authentication
    /// (reported to the event sink), with `reason` (an `invalid_client` reason): for an
    /// endpoint that no client described by a document may call.
    pub(crate) fn refuse(self, reason: Reason) -> HttpResponse {
        let presented = &self.lookup.request.presented;
        authentication_failed(
            self.lookup.request.machine,
            &presented.id,
            reason,
            presented.used_authorization_header(),
        )
    }

    /// The client lookup to continue, and the client the fetched document describes.
    pub(crate) fn answer(
        self,
        fetched: Result<Bytes, FetchError>,
    ) -> (ClientLookup<'m, R>, ClientAnswer) {
        let request = &self.lookup.request;
        let client = request
            .machine
            .client_from_fetched(&self.url, fetched, request.now);
        (self.lookup, ClientAnswer::Document(client))
    }
}

/// A request refused while its client was authenticated: the complete error response,
/// boxed so that the success path stays small.
pub(crate) struct Refusal(Box<HttpResponse>);

impl Refusal {
    /// The response to send.
    pub(crate) fn into_response(self) -> HttpResponse {
        *self.0
    }
}

/// A failed client authentication: reported to the event sink (the host throttles on it,
/// OAuth 2.1 §2.4.1), then answered.
fn authentication_failed(
    machine: &Machine,
    client_id: &ClientId,
    reason: Reason,
    used_header: bool,
) -> HttpResponse {
    machine.event(SecurityEvent::ClientAuthenticationFailed { client_id, reason });
    error_response(machine, reason, used_header)
}

/// The JSON error response of a client-authenticated endpoint (OAuth 2.1 §3.2.4):
/// `invalid_client` is 401 with a `Basic` challenge only when the client used the
/// `Authorization` header.
pub(crate) fn error_response(machine: &Machine, reason: Reason, used_header: bool) -> HttpResponse {
    tracing::debug!(?reason, "request refused");
    token_error(reason, used_header, &machine.config.realm)
}

/// 503 `temporarily_unavailable` for a store failure, with the failure logged: never a
/// false success.
pub(crate) fn store_failure(
    machine: &Machine,
    error: &StoreError,
    used_header: bool,
) -> HttpResponse {
    tracing::error!(error = %error, source = ?std::error::Error::source(error), "store failed during a client-authenticated request");
    error_response(machine, Reason::StoreUnavailable, used_header)
}

/// The error response for a request refused before it was parsed. A client that tried
/// the `Authorization` header, even with a malformed value, gets its 401 with a `Basic`
/// challenge (OAuth 2.1 §3.2.4).
pub(crate) fn refused<B>(machine: &Machine, request: &Request<B>, reason: Reason) -> HttpResponse {
    error_response(
        machine,
        reason,
        request.headers().contains_key(AUTHORIZATION),
    )
}

/// Client credentials in the request URI are refused (OAuth 2.1 §2.4.1).
fn has_credentials_in_query<B>(request: &Request<B>) -> bool {
    request.uri().query().is_some_and(|query| {
        Params::parse(query.as_bytes()).map_or(true, |params| {
            ["client_secret", "client_assertion"]
                .iter()
                .any(|name| params.contains(name))
        })
    })
}

impl Machine {
    /// Parses a request of a client-authenticated endpoint: POST only, the body limit,
    /// the form content type, no client credentials in the URI, strict form parameters;
    /// then `endpoint` reads the endpoint's own parameters (so their errors come before
    /// client errors, as they always have at the token endpoint); then the presented
    /// client, which is required.
    pub(crate) fn client_request<B: AsRef<[u8]>, R>(
        &self,
        request: &Request<B>,
        now: UnixTime,
        endpoint: impl FnOnce(&Params) -> Result<R, Reason>,
    ) -> Result<ClientLookup<'_, R>, Reason> {
        if request.method() != Method::POST {
            return Err(Reason::MethodNotAllowed);
        }
        let body = request.body().as_ref();
        if body.len() > self.config.max_body_bytes {
            return Err(Reason::BodyTooLarge);
        }
        if !is_form_content_type(request.headers()) {
            return Err(Reason::WrongContentType);
        }
        if has_credentials_in_query(request) {
            return Err(Reason::CredentialsInQuery);
        }
        let params = Params::parse(body)?;
        let endpoint = endpoint(&params)?;
        let presented =
            presented_client(request.headers(), &params)?.ok_or(Reason::MissingClientId)?;
        Ok(ClientLookup {
            request: Unauthenticated {
                machine: self,
                now,
                params,
                presented,
            },
            endpoint,
        })
    }
}
