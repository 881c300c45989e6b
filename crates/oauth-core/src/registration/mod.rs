//! Dynamic client registration (RFC 7591) and client registration management
//! (RFC 7592).
//!
//! Served when [`Endpoints::registration`](crate::Endpoints::registration) names a path
//! (the default is `None`: closed, no endpoint, nothing advertised). `POST path`
//! registers a client; `GET`, `PUT` and `DELETE path/{client_id}` (the *client
//! configuration endpoint*, `registration_client_uri` = issuer origin + path + `/` +
//! client id) read, replace and delete it with its registration access token.
//!
//! Who may register is the [`RegistrationPolicy`]
//! ([`ConfigBuilder::registration`](crate::ConfigBuilder::registration)): with a path and
//! no policy, registration is [open](RegistrationPolicy::open) (and a warning is logged
//! at build time); [`RegistrationPolicy::initial_access_tokens`] protects it. A policy
//! that contradicts the path (an open policy without a path, or
//! [`RegistrationPolicy::closed`] with one) does not build.
//!
//! The [`Machine`] parses, validates and decides; the store work is asked for through
//! [`RegistrationStep`] and [`ConfigurationStep`], each answered by `answer_from` in the
//! driver.
//!
//! # Decisions
//!
//! - **Request format.** Only `POST` with `Content-Type: application/json` (parameters
//!   such as `charset` ignored) registers; anything else is 400 `invalid_client_metadata`,
//!   as is a body that is not one JSON object: RFC 7591 §3.2.2 defines no other code for a
//!   malformed request, and the client learns which of its two codes to fix. A body over
//!   [`max_body_bytes`](crate::ConfigBuilder::max_body_bytes) is 413.
//! - **Duplicate members.** `serde_json` keeps the last of two equal keys silently; the
//!   top-level object is read member by member instead, and a repeated member (after
//!   JSON unescaping) is 400 `invalid_client_metadata`, because two readers of one
//!   request must not see two different registrations. Nested values are only ever
//!   arrays of strings, so nothing deeper needs the check.
//! - **Unknown members are ignored** and not returned (RFC 7591 §2, §3.1); so are
//!   `jwks`, `jwks_uri` (no method here uses keys; both together are refused, §2),
//!   `software_statement` (not supported: never verified, so never applied),
//!   `application_type` and every member only the server sets (`client_id`,
//!   `client_secret`, `client_id_issued_at`, ... on registration). `null` and empty
//!   strings or arrays count as absent.
//! - **Values.** Redirect URIs follow
//!   [`validate_for_registration`](crate::redirect_uri::validate_for_registration)
//!   (`invalid_redirect_uri`); grant types ⊆ {`authorization_code`, `refresh_token`,
//!   `client_credentials`}; response types ⊆ {`code`}, and `code` exactly when the
//!   authorization code grant is registered (RFC 7591 §2.1; an omitted `response_types`
//!   is derived from the grant types, so a client-credentials client gets `[]` rather
//!   than an inconsistent `["code"]`); `token_endpoint_auth_method` ∈
//!   {`client_secret_basic` (the default, RFC 7591 §2), `client_secret_post`, `none`};
//!   `none` with `client_credentials` is refused; `scope` ⊆ the offered scopes (an
//!   omitted scope registers every scope offered *at registration time*, stored
//!   explicitly, so scopes the host adds later are not granted to existing clients);
//!   `client_uri`, `logo_uri`, `tos_uri`, `policy_uri` (and their language-tagged
//!   variants, RFC 7591 §2.2) must be https URLs; text members must not contain control
//!   or bidirectional-override characters (a name shown on the consent page must read as
//!   it is). Lists are bounded: at most [`MAX_REDIRECT_URIS`] redirect URIs,
//!   [`MAX_CONTACTS`] contacts, [`MAX_GRANT_TYPES`] grant types, [`MAX_RESPONSE_TYPES`]
//!   response types and [`MAX_LOCALIZED_MEMBERS`] language-tagged members, counted before
//!   repeats are removed; more is 400 `invalid_client_metadata` (registration is often
//!   open to anyone, so its work is bounded by more than the body size).
//! - **Credentials.** The client id is drawn by the server
//!   ([`Machine::register_client`]); a confidential client gets a secret, returned once
//!   and stored only as its keyed digest; every client gets a registration access token
//!   (`oa2reg_…`), also stored only as its keyed digest. `client_secret_expires_at` is 0
//!   (never) unless [`RegistrationPolicy::client_secret_lifetime`] is set.
//! - **Reading** (`GET`) returns the metadata as stored: no `client_secret` and no
//!   `registration_access_token`, because only their digests exist.
//! - **Updating** (`PUT`) replaces the metadata (omitted members take their defaults,
//!   RFC 7592 §2.2), with one exception: an omitted `scope` keeps the client's current
//!   scope (less any scope the server no longer offers), not every offered scope. The
//!   body must carry `client_id` equal to the path's, must not carry
//!   `registration_access_token`, `registration_client_uri`, `client_secret_expires_at` or
//!   `client_id_issued_at`, and a `client_secret`, if sent, must be the current one.
//! - **Updates never widen.** An update asking for a `scope` or a grant type the client is
//!   not registered for now is 400 `invalid_client_metadata` (RFC 7592 §2.2 lets the
//!   server refuse or replace values), before the hook runs. Otherwise a client whose
//!   registration was narrowed (by the hook, for the initial access token it presented)
//!   could undo that with its registration access token, which the initial access token
//!   policy never sees. Narrowing is always allowed, so a client that narrowed itself
//!   needs a new registration to widen again; the host can still widen a client through
//!   the hook's [`RegistrationVerdict::Adjust`] (its explicit decision) or by updating the
//!   record itself. The hook sees updates with the label of the initial access token the
//!   client registered with ([`ClientMetadata::initial_access_token_label`]), as it saw
//!   the registration.
//! - **Credentials on update.** The secret and the registration access token are **not
//!   rotated** on update: a client whose response is lost keeps working credentials
//!   (RFC 7592 §3 makes rotation optional), and neither is ever sent anywhere but to its
//!   owner. The client type cannot change (`none` ⇄ a secret method is 400), so one client
//!   id never acts as both types (OAuth 2.1 §2.1): a public client updating must repeat
//!   `"none"`.
//! - **Deleting** (`DELETE`) removes the client with
//!   [`Store::delete_client`](crate::Store::delete_client), which cascades to all its
//!   grants, codes and tokens; 204. [`RegistrationPolicy::allow_client_deletion`] can turn
//!   it off (then 405).
//! - **Authentication.** The management requests need `Authorization: Bearer` with the
//!   client's registration access token, compared as keyed digests in constant time; a
//!   missing one is 401 with a bare `Bearer` challenge, a wrong one, or one of a deleted
//!   client, 401 `invalid_token` (RFC 6750 §3.1). An initial access token, when the policy
//!   requires one, is checked the same way at registration.
//! - **Policy.** [`RegistrationHook::review`] sees each validated registration or update
//!   and may accept it, reject it (400 `invalid_client_metadata`, with the fixed
//!   description; the host's code goes to the log) or adjust it (the adjusted metadata is
//!   validated again: a hook cannot register what the rules refuse).
//!   [`RegistrationHook::allows`] may forbid a read, update or delete (403, RFC 7592
//!   §2).
//!
//! Rate limiting an open registration endpoint (checklist DCR-16) is the host's or the
//! glue's job: it needs per-address state the machine does not have.

pub(crate) mod client_metadata;
mod steps;

use std::fmt;
use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, Request, StatusCode};

use crate::bearer::{BearerError, Challenge};
use crate::clients::NewClient;
use crate::crypto::{parse_token, Keyring, TokenHash, TokenKind};
use crate::error::{ConfigError, Reason};
use crate::machine::Machine;
use crate::model::{AuthMethod, Client, ClientId, ClientMetadata, GrantType};
use crate::response::{empty_no_store, registration_error, HttpResponse};
use crate::scope::Scope;
use crate::secret::Secret;
use crate::time::UnixTime;

pub use steps::{
    ClientDeletion, ClientInsertion, ClientUpdate, ConfigurationLookup, ConfigurationStep,
    RegistrationStep,
};

use client_metadata::{check, is_json_content_type, parse_members, parse_registration};
use steps::ManagementRequest;

/// The least length of a host-supplied initial access token, in bytes.
pub const MIN_INITIAL_ACCESS_TOKEN_LEN: usize = 32;

/// The most `redirect_uris` a registration may list (repeats included); more is 400
/// `invalid_client_metadata`.
pub const MAX_REDIRECT_URIS: usize = 32;
/// The most `contacts` a registration may list (repeats included).
pub const MAX_CONTACTS: usize = 16;
/// The most `grant_types` a registration may list (repeats included).
pub const MAX_GRANT_TYPES: usize = 8;
/// The most `response_types` a registration may list (repeats included).
pub const MAX_RESPONSE_TYPES: usize = 8;
/// The most language-tagged members (`client_name#fr`, ...) a registration may carry.
pub const MAX_LOCALIZED_MEMBERS: usize = 64;

/// The longest client-secret lifetime a policy may set: ten years, in seconds.
const MAX_SECRET_LIFETIME: u64 = 10 * 365 * 24 * 3600;

/// Client metadata after validation: what a registration or an update will store, as the
/// [`RegistrationHook`] sees it. A hook that adjusts a registration returns a modified
/// clone of the value it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientRegistration {
    /// `redirect_uris`, each valid for registration.
    pub redirect_uris: Vec<String>,
    /// `token_endpoint_auth_method` (default `client_secret_basic`).
    pub token_endpoint_auth_method: AuthMethod,
    /// `grant_types` (default `authorization_code`); `response_types` follows from them.
    pub grant_types: Vec<GrantType>,
    /// `scope`: the scopes the client may request; `None` only when the server offers
    /// none.
    pub scope: Option<Scope>,
    /// `client_name`.
    pub client_name: Option<String>,
    /// The descriptive members (URIs, contacts, software id and version, localized
    /// variants).
    pub metadata: ClientMetadata,
}

impl ClientRegistration {
    /// The `response_types` this registration implies: `code` exactly when the
    /// authorization code grant is registered (RFC 7591 §2.1).
    #[must_use]
    pub fn response_types(&self) -> &'static [&'static str] {
        response_types(&self.grant_types)
    }
}

pub(crate) fn response_types(grant_types: &[GrantType]) -> &'static [&'static str] {
    if grant_types.contains(&GrantType::AuthorizationCode) {
        &["code"]
    } else {
        &[]
    }
}

/// Which registration request the [`RegistrationHook`] is reviewing.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum RegistrationOperation<'a> {
    /// A new client (RFC 7591).
    Register,
    /// An update of this client (RFC 7592 §2.2), as it is stored now. The update reaching
    /// the hook never asks for more than this registration has: a `scope` or
    /// `grant_types` beyond the current ones was already refused, and an update without
    /// `scope` keeps the current one. What the hook returns as
    /// [`Adjust`](RegistrationVerdict::Adjust) is the host's own decision and may differ.
    Update(&'a Client),
}

/// The circumstances of a reviewed registration.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RegistrationContext<'a> {
    /// Registration or update.
    pub operation: RegistrationOperation<'a>,
    /// The label of the initial access token the client registered with, when the policy
    /// required one: the token presented, on registration; the one recorded at
    /// registration ([`ClientMetadata::initial_access_token_label`]), on an update. `None`
    /// for a client registered without one (or before labels were recorded).
    pub initial_access_token: Option<&'a str>,
    /// The time of the request.
    pub now: UnixTime,
}

/// The host's answer to a reviewed registration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RegistrationVerdict {
    /// Register (or update) as requested.
    Accept,
    /// Register these values instead (for example a narrower scope). They are validated
    /// again like a request; a hook that returns invalid metadata gets a 500
    /// `server_error` and an error in the log. The metadata's
    /// [`initial_access_token_label`](ClientMetadata::initial_access_token_label) is the
    /// server's and is restored, whatever the hook returns. On an update, this is the one
    /// way to give a client more `scope` or `grant_types` than it has.
    Adjust(Box<ClientRegistration>),
    /// Refuse: 400 `invalid_client_metadata` with a fixed description. The host's code is
    /// logged, never sent.
    Reject(&'static str),
}

/// A request at the client configuration endpoint (RFC 7592 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagementOperation {
    /// `GET`.
    Read,
    /// `PUT`.
    Update,
    /// `DELETE`.
    Delete,
}

/// The host's registration policy: reviews registrations and management requests.
///
/// Called synchronously on the request path, after the request was authenticated and
/// validated and before anything is stored. Keep it pure and cheap.
pub trait RegistrationHook: Send + Sync + 'static {
    /// Accepts, adjusts or rejects a validated registration or update.
    fn review(
        &self,
        registration: &ClientRegistration,
        context: &RegistrationContext<'_>,
    ) -> RegistrationVerdict;

    /// Whether the authenticated owner of `client` may perform `operation`; `false` is
    /// 403 (RFC 7592 §2). Every operation is allowed by default.
    fn allows(&self, operation: ManagementOperation, client: &Client) -> bool {
        let _ = (operation, client);
        true
    }
}

impl<F> RegistrationHook for F
where
    F: Fn(&ClientRegistration, &RegistrationContext<'_>) -> RegistrationVerdict
        + Send
        + Sync
        + 'static,
{
    fn review(
        &self,
        registration: &ClientRegistration,
        context: &RegistrationContext<'_>,
    ) -> RegistrationVerdict {
        self(registration, context)
    }
}

#[derive(Clone)]
enum PolicyAccess {
    Closed,
    Open,
    InitialAccessTokens(Vec<(String, Secret)>),
}

/// Who may register clients, and how registered clients are treated. Default:
/// [`closed`](RegistrationPolicy::closed).
#[derive(Clone)]
#[must_use]
pub struct RegistrationPolicy {
    access: PolicyAccess,
    hook: Option<Arc<dyn RegistrationHook>>,
    client_secret_lifetime: u64,
    client_deletion: bool,
}

impl fmt::Debug for RegistrationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = match &self.access {
            PolicyAccess::Closed => "closed".to_owned(),
            PolicyAccess::Open => "open".to_owned(),
            PolicyAccess::InitialAccessTokens(tokens) => {
                let labels: Vec<&str> = tokens.iter().map(|(label, _)| label.as_str()).collect();
                format!("initial access tokens {labels:?}")
            }
        };
        f.debug_struct("RegistrationPolicy")
            .field("access", &access)
            .field("hook", &self.hook.is_some())
            .field("client_secret_lifetime", &self.client_secret_lifetime)
            .field("client_deletion", &self.client_deletion)
            .finish()
    }
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        RegistrationPolicy::closed()
    }
}

impl RegistrationPolicy {
    fn with_access(access: PolicyAccess) -> Self {
        RegistrationPolicy {
            access,
            hook: None,
            client_secret_lifetime: 0,
            client_deletion: true,
        }
    }

    /// No dynamic registration (the default): no endpoint is served.
    pub fn closed() -> Self {
        Self::with_access(PolicyAccess::Closed)
    }

    /// Anyone may register a client. Pair it with a [`hook`](Self::hook) that restricts
    /// what such clients may ask for, and with rate limiting in front of the endpoint.
    pub fn open() -> Self {
        Self::with_access(PolicyAccess::Open)
    }

    /// Registration requires one of these initial access tokens as a Bearer credential
    /// (RFC 7591 §3). Each comes with a label, which the hook sees and the log shows. The
    /// tokens come from the host (at least [`MIN_INITIAL_ACCESS_TOKEN_LEN`] bytes of
    /// `token68` characters); only their keyed digests are kept.
    pub fn initial_access_tokens<I, L>(tokens: I) -> Self
    where
        I: IntoIterator<Item = (L, Secret)>,
        L: Into<String>,
    {
        Self::with_access(PolicyAccess::InitialAccessTokens(
            tokens
                .into_iter()
                .map(|(label, token)| (label.into(), token))
                .collect(),
        ))
    }

    /// The host's review of each registration and update.
    pub fn hook(mut self, hook: Arc<dyn RegistrationHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// How long a dynamically registered client's secret is valid, in seconds; 0 (the
    /// default) for never. At most ten years.
    pub fn client_secret_lifetime(mut self, seconds: u64) -> Self {
        self.client_secret_lifetime = seconds;
        self
    }

    /// Whether clients may delete themselves with `DELETE` (default `true`); when
    /// `false`, the request is 405 (RFC 7592 §2.3).
    pub fn allow_client_deletion(mut self, allow: bool) -> Self {
        self.client_deletion = allow;
        self
    }

    /// Whether this is the [closed](Self::closed) policy: no dynamic registration.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.access, PolicyAccess::Closed)
    }

    /// Checks the policy (`None`: the host set none) against the configuration and
    /// digests the initial access tokens under `keyring`.
    pub(crate) fn settle(
        policy: Option<Self>,
        keyring: &Keyring,
        endpoint_configured: bool,
    ) -> Result<Settings, ConfigError> {
        let policy = match policy {
            Some(policy) => policy,
            // The registration path is the switch (see `Endpoints::registration`).
            None if endpoint_configured => RegistrationPolicy::open(),
            None => RegistrationPolicy::closed(),
        };
        policy.into_settings(keyring, endpoint_configured)
    }

    fn into_settings(
        self,
        keyring: &Keyring,
        endpoint_configured: bool,
    ) -> Result<Settings, ConfigError> {
        let access = match self.access {
            PolicyAccess::Closed => Access::Closed,
            PolicyAccess::Open => Access::Open,
            PolicyAccess::InitialAccessTokens(tokens) => {
                if tokens.is_empty() {
                    return Err(ConfigError::InvalidRegistrationPolicy(
                        "no initial access token given",
                    ));
                }
                let mut digests = Vec::with_capacity(tokens.len());
                for (label, token) in tokens {
                    let value = token.expose();
                    if value.len() < MIN_INITIAL_ACCESS_TOKEN_LEN || !is_token68(value) {
                        return Err(ConfigError::InvalidRegistrationPolicy(
                            "initial access tokens must be at least 32 token68 characters",
                        ));
                    }
                    digests.push((label, TokenHash::compute(keyring.primary(), value)));
                }
                Access::InitialAccessTokens(digests)
            }
        };
        let open = !matches!(access, Access::Closed);
        if open != endpoint_configured {
            return Err(ConfigError::InvalidRegistrationPolicy(
                "a registration policy other than closed needs a registration path, and a \
                 registration path needs a policy other than closed",
            ));
        }
        if self.client_secret_lifetime > MAX_SECRET_LIFETIME {
            return Err(ConfigError::InvalidRegistrationPolicy(
                "client secret lifetime above ten years",
            ));
        }
        if matches!(access, Access::Open) && self.hook.is_none() {
            tracing::warn!(
                "open dynamic registration without a review hook: any client may register \
                 for every offered scope"
            );
        }
        Ok(Settings {
            access,
            hook: self.hook,
            client_secret_lifetime: self.client_secret_lifetime,
            client_deletion: self.client_deletion,
        })
    }
}

/// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[derive(Clone)]
pub(crate) enum Access {
    Closed,
    Open,
    InitialAccessTokens(Vec<(String, TokenHash)>),
}

/// The registration policy as the machine applies it.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) access: Access,
    pub(crate) hook: Option<Arc<dyn RegistrationHook>>,
    pub(crate) client_secret_lifetime: u64,
    pub(crate) client_deletion: bool,
}

/// The bearer credential of the `Authorization` header, if any: `Ok(None)` without the
/// header or with another scheme. Never read from the body or the query.
fn bearer_credential(headers: &HeaderMap) -> Result<Option<&str>, Reason> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Reason::DuplicateAuthorizationHeader);
    }
    let value = value.to_str().map_err(|_| Reason::MalformedBearerRequest)?;
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = rest.trim_start_matches(' ');
            if is_token68(token) {
                Ok(Some(token))
            } else {
                Err(Reason::MalformedBearerRequest)
            }
        }
        _ => Ok(None),
    }
}

/// Verifies `presented` against a stored digest in constant time.
fn digest_matches(keyring: &Keyring, digest: &crate::model::SecretDigest, presented: &str) -> bool {
    keyring
        .by_id(&digest.key_id)
        .is_some_and(|key| TokenHash::compute(key, presented).ct_eq(&digest.hash))
}

impl Machine {
    fn registration_settings(&self) -> Option<&Settings> {
        let settings = &self.config.registration;
        let served = !matches!(settings.access, Access::Closed)
            && self.config.endpoints.registration.is_some();
        served.then_some(settings)
    }

    /// A 401 or 400 with an RFC 6750 `Bearer` challenge; `None` for a request that
    /// carried no credential (the challenge then has no `error`).
    fn bearer_refusal(&self, reason: Option<Reason>) -> HttpResponse {
        if let Some(reason) = reason {
            self.event(crate::events::SecurityEvent::RegistrationCredentialRejected { reason });
        }
        BearerError {
            reason,
            required_scope: None,
            challenge: Challenge::for_resource(&self.config.realm, None),
        }
        .into_response()
    }

    /// Starts handling a request at the registration endpoint (RFC 7591 §3).
    pub fn registration_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> RegistrationStep<'_> {
        match self.start_registration(request, now) {
            Ok(insertion) => RegistrationStep::NeedsInsert(insertion),
            Err(response) => RegistrationStep::Respond(response),
        }
    }

    #[allow(
        clippy::result_large_err,
        reason = "the error is the final response, built once per refused request"
    )]
    fn start_registration<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> Result<ClientInsertion<'_>, HttpResponse> {
        let Some(settings) = self.registration_settings() else {
            return Err(empty_no_store(StatusCode::NOT_FOUND));
        };
        let fail = |reason: Reason| {
            tracing::debug!(?reason, "registration refused");
            registration_error(reason, "POST")
        };
        if request.method() != Method::POST {
            return Err(fail(Reason::MethodNotAllowed));
        }
        let label = match &settings.access {
            Access::Closed => return Err(empty_no_store(StatusCode::NOT_FOUND)),
            Access::Open => None,
            Access::InitialAccessTokens(tokens) => {
                match bearer_credential(request.headers()) {
                    Err(reason) => return Err(self.bearer_refusal(Some(reason))),
                    Ok(None) => return Err(self.bearer_refusal(None)),
                    Ok(Some(presented)) => {
                        let digest = TokenHash::compute(self.config.keyring.primary(), presented);
                        let mut found = None;
                        for (label, expected) in tokens {
                            // Every configured token is compared, matched or not.
                            if expected.ct_eq(&digest) && found.is_none() {
                                found = Some(label.as_str());
                            }
                        }
                        match found {
                            Some(label) => Some(label),
                            None => {
                                return Err(
                                    self.bearer_refusal(Some(Reason::InitialAccessTokenInvalid))
                                )
                            }
                        }
                    }
                }
            }
        };
        let body = request.body().as_ref();
        if body.len() > self.config.max_body_bytes {
            return Err(fail(Reason::BodyTooLarge));
        }
        if !is_json_content_type(request.headers()) {
            return Err(fail(Reason::RegistrationWrongContentType));
        }
        let members = parse_members(body).map_err(fail)?;
        let mut parsed = parse_registration(&members, &self.config.scopes).map_err(fail)?;
        parsed.registration.metadata.initial_access_token_label = label.map(str::to_owned);
        check(&parsed.registration, &self.config.scopes).map_err(fail)?;
        let context = RegistrationContext {
            operation: RegistrationOperation::Register,
            initial_access_token: label,
            now,
        };
        let registration = self.review(parsed.registration, &context).map_err(fail)?;
        self.new_registered_client(registration, now).map_err(fail)
    }

    /// Applies the host's hook to a validated registration. The result carries the
    /// context's initial access token label, whatever the hook returned.
    fn review(
        &self,
        registration: ClientRegistration,
        context: &RegistrationContext<'_>,
    ) -> Result<ClientRegistration, Reason> {
        let mut reviewed = match &self.config.registration.hook {
            None => registration,
            Some(hook) => match hook.review(&registration, context) {
                RegistrationVerdict::Accept => registration,
                RegistrationVerdict::Reject(code) => {
                    tracing::info!(policy = code, "registration refused by the host's policy");
                    return Err(Reason::RegistrationRefusedByPolicy);
                }
                RegistrationVerdict::Adjust(adjusted) => {
                    if let Err(reason) = check(&adjusted, &self.config.scopes) {
                        tracing::error!(
                            ?reason,
                            "the registration hook returned metadata that breaks the registration rules"
                        );
                        return Err(Reason::InternalFailure);
                    }
                    *adjusted
                }
            },
        };
        reviewed.metadata.initial_access_token_label =
            context.initial_access_token.map(str::to_owned);
        Ok(reviewed)
    }

    /// Draws the client id, secret and registration access token of a new client.
    fn new_registered_client(
        &self,
        registration: ClientRegistration,
        now: UnixTime,
    ) -> Result<ClientInsertion<'_>, Reason> {
        let ClientRegistration {
            redirect_uris,
            token_endpoint_auth_method,
            grant_types,
            scope,
            client_name,
            metadata,
        } = registration;
        let new = NewClient {
            id: None,
            auth_method: token_endpoint_auth_method,
            redirect_uris,
            grant_types,
            scope,
            name: client_name,
        };
        let registered = self.register_client(new, now).map_err(|misuse| {
            // The metadata passed `check`, which is stricter: only the random source can
            // fail here.
            tracing::error!(error = %misuse, "registering a validated client failed");
            Reason::InternalFailure
        })?;
        let registration_token = self.new_token(TokenKind::RegistrationAccessToken)?;
        let mut client = registered.client;
        client.metadata = metadata;
        client.registration_token = Some(self.config.keyring.digest_secret(&registration_token));
        let lifetime = self.config.registration.client_secret_lifetime;
        if client.secret.is_some() && lifetime > 0 {
            client.secret_expires_at = Some(now.plus(lifetime));
        }
        Ok(ClientInsertion {
            machine: self,
            client,
            secret: registered.secret,
            registration_token,
            attempts: 1,
        })
    }

    /// Starts handling a request at the client configuration endpoint (RFC 7592 §2):
    /// `GET`, `PUT` or `DELETE` of `{registration path}/{client_id}`.
    pub fn client_configuration_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> ConfigurationStep<'_> {
        match self.start_configuration(request, now) {
            Ok(lookup) => ConfigurationStep::NeedsClient(lookup),
            Err(response) => ConfigurationStep::Respond(response),
        }
    }

    #[allow(
        clippy::result_large_err,
        reason = "the error is the final response, built once per refused request"
    )]
    fn start_configuration<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> Result<ConfigurationLookup<'_>, HttpResponse> {
        let Some(settings) = self.registration_settings() else {
            return Err(empty_no_store(StatusCode::NOT_FOUND));
        };
        let Some(client_id) = self.configured_client_id(request.uri().path()) else {
            return Err(empty_no_store(StatusCode::NOT_FOUND));
        };
        let allow = if settings.client_deletion {
            "GET, PUT, DELETE"
        } else {
            "GET, PUT"
        };
        let method = request.method();
        let operation = if method == Method::GET {
            ManagementRequest::Read
        } else if method == Method::PUT {
            let body = request.body().as_ref();
            if body.len() > self.config.max_body_bytes {
                return Err(registration_error(Reason::BodyTooLarge, allow));
            }
            ManagementRequest::Update {
                body: body.to_vec(),
                json: is_json_content_type(request.headers()),
            }
        } else if method == Method::DELETE && settings.client_deletion {
            ManagementRequest::Delete
        } else {
            return Err(registration_error(Reason::MethodNotAllowed, allow));
        };
        let token = match bearer_credential(request.headers()) {
            Err(reason) => return Err(self.bearer_refusal(Some(reason))),
            Ok(None) => return Err(self.bearer_refusal(None)),
            Ok(Some(token)) => token,
        };
        // A credential of another shape is refused before any store lookup.
        let Some(token) = parse_token(TokenKind::RegistrationAccessToken, token) else {
            return Err(self.bearer_refusal(Some(Reason::RegistrationAccessTokenInvalid)));
        };
        Ok(ConfigurationLookup {
            machine: self,
            now,
            client_id,
            token: Secret::new(token),
            operation,
        })
    }

    /// The client id of a client configuration URI: one non-empty, percent-decoded path
    /// segment after the registration path.
    fn configured_client_id(&self, path: &str) -> Option<ClientId> {
        let base = self.config.endpoints.registration.as_deref()?;
        let segment = path.strip_prefix(base)?.strip_prefix('/')?;
        if segment.is_empty() || segment.contains('/') {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .ok()?;
        if decoded.is_empty() || decoded.chars().any(char::is_control) {
            return None;
        }
        Some(ClientId::new(decoded.into_owned()))
    }
}
