//! The driver: answers the machine's steps from a [`Store`], one loop per request.
//!
//! No protocol decision is made here. Every branch below matches a step and calls the
//! store method the step names; what to do with the answer is the machine's business.

use std::ops::ControlFlow;
use std::sync::Arc;

use http::Request;

use crate::authorize::{
    AuthorizationError, AuthorizeStep, CompleteStep, Decision, PendingAuthorization,
};
use crate::bearer::{Access, BearerError, BearerRequirement, BearerStep};
use crate::client_metadata_document::{ClientIdUrl, ClientMetadataFetcher, FetchError};
use crate::clients::{NewClient, RegisteredClient};
use crate::config::{Config, ConfigBuilder, Issuer};
use crate::crypto::Keyring;
use crate::error::{ApiMisuse, ConfigError, Reason, StoreError, StoreErrorKind};
use crate::introspection::IntrospectionStep;
use crate::machine::Machine;
use crate::model::{GrantId, GrantRecord, UserId};
use crate::registration::{ConfigurationStep, RegistrationStep};
use crate::resource::Resource;
use crate::response::HttpResponse;
use crate::revocation::RevocationStep;
use crate::store::{SingleUse, Store};
use crate::time::{Clock, SystemClock, UnixTime};
use crate::token::TokenStep;

/// An OAuth 2.1 authorization server over a [`Store`]: the one-call API.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use oauth_core::{Issuer, KeyId, Keyring, Provider};
/// # let secret_from_env = [7u8; 32];
/// let provider = Provider::builder(Issuer::new("https://auth.example.com")?)
///     .keys(Keyring::from_secret(KeyId::new("2026-11")?, &secret_from_env)?)
///     .store(oauth_store_memory::MemoryStore::new())
///     .scopes(["read", "write"])
///     .resource("https://api.example.com/mcp")
///     .build()?;
/// # let _ = provider; Ok(()) }
/// ```
pub struct Provider<S> {
    pub(crate) machine: Machine,
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    /// Fetches client ID metadata documents (when that feature is on).
    pub(crate) fetcher: Option<Arc<dyn ClientMetadataFetcher>>,
}

impl<S> std::fmt::Debug for Provider<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("config", self.machine.config())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Provider`]; the configuration setters are those of [`ConfigBuilder`].
/// `S` is the store, `()` until [`ProviderBuilder::store`] is called.
#[must_use]
pub struct ProviderBuilder<S> {
    config: ConfigBuilder,
    clock: Arc<dyn Clock>,
    store: S,
    fetcher: Option<Arc<dyn ClientMetadataFetcher>>,
}

macro_rules! forward {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*); )*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $($arg: $ty),*) -> Self {
                self.config = self.config.$name($($arg),*);
                self
            }
        )*
    };
}

impl<S> ProviderBuilder<S> {
    forward! {
        /// See [`ConfigBuilder::keys`].
        fn keys(keyring: Keyring);
        /// See [`ConfigBuilder::random`].
        fn random(random: Arc<dyn crate::SecureRandom>);
        /// See [`ConfigBuilder::events`].
        fn events(events: Arc<dyn crate::events::EventSink>);
        /// See [`ConfigBuilder::resource`].
        fn resource(resource: impl Into<String>);
        /// See [`ConfigBuilder::require_resource`].
        fn require_resource(require: bool);
        /// See [`ConfigBuilder::lifetimes`].
        fn lifetimes(lifetimes: crate::Lifetimes);
        /// See [`ConfigBuilder::pkce`].
        fn pkce(pkce: crate::PkcePolicy);
        /// See [`ConfigBuilder::redirect_matching`].
        fn redirect_matching(options: crate::redirect_uri::MatchOptions);
        /// See [`ConfigBuilder::issue_refresh_tokens`].
        fn issue_refresh_tokens(issue: bool);
        /// See [`ConfigBuilder::refresh_token_grace`].
        fn refresh_token_grace(seconds: u64);
        /// See [`ConfigBuilder::max_body_bytes`].
        fn max_body_bytes(bytes: usize);
        /// See [`ConfigBuilder::token_path`].
        fn token_path(path: impl Into<String>);
        /// See [`ConfigBuilder::endpoints`].
        fn endpoints(endpoints: crate::config::Endpoints);
        /// See [`ConfigBuilder::realm`].
        fn realm(realm: impl Into<String>);
        /// See [`ConfigBuilder::registration`].
        fn registration(policy: crate::registration::RegistrationPolicy);
        /// See [`ConfigBuilder::introspection_resource`].
        fn introspection_resource(client_id: impl Into<String>, resource: impl Into<String>);
        /// See [`ConfigBuilder::accept_store_without_atomic_single_use`].
        fn accept_store_without_atomic_single_use(accept: bool);
    }

    /// See [`ConfigBuilder::scopes`].
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.config = self.config.scopes(scopes);
        self
    }

    /// See [`ConfigBuilder::default_scope`].
    pub fn default_scope<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.config = self.config.default_scope(scopes);
        self
    }

    /// See [`ConfigBuilder::mcp`]: the [MCP profile](crate::mcp).
    pub fn mcp(mut self, profile: crate::mcp::McpProfile) -> Self {
        self.config = self.config.mcp(profile);
        self
    }

    /// See [`ConfigBuilder::challenge_scope`].
    pub fn challenge_scope<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.config = self.config.challenge_scope(scopes);
        self
    }

    /// See [`ConfigBuilder::scope_implies`].
    pub fn scope_implies<I, T>(mut self, broader: impl Into<String>, narrower: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.config = self.config.scope_implies(broader, narrower);
        self
    }

    /// See [`ConfigBuilder::refresh_tokens_require_offline_access`].
    pub fn refresh_tokens_require_offline_access(mut self, require: bool) -> Self {
        self.config = self.config.refresh_tokens_require_offline_access(require);
        self
    }

    /// The clock the driver reads once per request (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store the provider answers its steps from.
    pub fn store<T: Store>(self, store: T) -> ProviderBuilder<T> {
        ProviderBuilder {
            config: self.config,
            clock: self.clock,
            store,
            fetcher: self.fetcher,
        }
    }
}

impl<S: Store> ProviderBuilder<S> {
    /// Checks the configuration and builds the provider. Refuses a store that cannot keep
    /// single use unless the configuration accepts it
    /// ([`ConfigError::StoreWithoutAtomicSingleUse`]).
    pub fn build(self) -> Result<Provider<S>, ConfigError> {
        let mut config = self.config;
        // The MCP profile switches client ID metadata documents on once the host has
        // supplied the fetcher that resolves them (`McpProfile::client_id_metadata_documents`).
        if self.fetcher.is_some() && config.mcp_wants_client_id_metadata_documents() {
            config = config.client_id_metadata_documents(true);
        }
        let config = config.build()?;
        if config.client_metadata_documents && self.fetcher.is_none() {
            return Err(ConfigError::MissingClientMetadataFetcher);
        }
        check_single_use(&config, &self.store)?;
        Ok(Provider {
            machine: Machine::new(config),
            store: self.store,
            clock: self.clock,
            fetcher: self.fetcher,
        })
    }
}

impl Provider<()> {
    /// Starts building a provider for `issuer`: set the keys and the store, then
    /// [`build`](ProviderBuilder::build).
    pub fn builder(issuer: Issuer) -> ProviderBuilder<()> {
        ProviderBuilder {
            config: Config::builder(issuer),
            clock: Arc::new(SystemClock),
            store: (),
            fetcher: None,
        }
    }
}

/// The one rule on stores that cannot keep single use: usable only when the host accepted
/// them by name. Checked when a provider is built and again by every single-use step.
fn single_use_accepted<S: Store + ?Sized>(config: &Config, store: &S) -> bool {
    store.single_use() == SingleUse::Atomic || config.accepts_store_without_atomic_single_use()
}

/// Refuses a store that cannot keep single use unless the host accepted it by name.
fn check_single_use<S: Store>(config: &Config, store: &S) -> Result<(), ConfigError> {
    if !single_use_accepted(config, store) {
        return Err(ConfigError::StoreWithoutAtomicSingleUse);
    }
    if store.single_use() != SingleUse::Atomic {
        tracing::warn!(
            "the store cannot keep single use: authorization codes, refresh tokens and \
             one-time markers may be used more than once under concurrency \
             (accepted by accept_store_without_atomic_single_use)"
        );
    }
    Ok(())
}

impl<S: Store> Provider<S> {
    /// A provider from a finished configuration. Refuses a store that cannot keep single
    /// use unless the configuration accepts it
    /// ([`ConfigError::StoreWithoutAtomicSingleUse`]).
    pub fn new(config: Config, store: S) -> Result<Self, ConfigError> {
        check_single_use(&config, &store)?;
        Ok(Provider {
            machine: Machine::new(config),
            store,
            clock: Arc::new(SystemClock),
            fetcher: None,
        })
    }

    /// The machine, for hosts that drive some steps themselves.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.machine.config()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Handles a request to a protocol endpoint, chosen by path (see
    /// [`Endpoints`](crate::Endpoints)); anything else is 404. The authorization endpoint
    /// is not routed here: it needs the host's login and consent pages
    /// ([`Provider::begin_authorization`]).
    pub async fn handle<B: AsRef<[u8]>>(&self, request: &Request<B>) -> HttpResponse {
        let path = request.uri().path();
        let endpoints = self.config().endpoints();
        if path == endpoints.token {
            return self.token(request).await;
        }
        // route: revocation
        if path == endpoints.revocation {
            return self.revocation(request).await;
        }
        // route: introspection
        if path == endpoints.introspection {
            return self.introspection(request).await;
        }
        // route: registration
        if let Some(registration) = endpoints.registration.as_deref() {
            if path == registration {
                return self.registration_endpoint(request).await;
            }
            if path
                .strip_prefix(registration)
                .is_some_and(|rest| rest.starts_with('/'))
            {
                return self.client_configuration_endpoint(request).await;
            }
        }
        // route: well-known metadata
        if let Some(response) = self.machine.metadata_request(request) {
            return response;
        }
        let mut response = HttpResponse::new(bytes::Bytes::new());
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        response
    }

    /// Handles a token-endpoint request (OAuth 2.1 §3.2).
    pub async fn token<B: AsRef<[u8]>>(&self, request: &Request<B>) -> HttpResponse {
        let mut step = self.machine.token_request(request, self.now());
        loop {
            match step.answer_from(&self.answerer()).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(response) => return response,
            }
        }
    }

    /// Handles a revocation-endpoint request (RFC 7009 §2).
    pub async fn revocation<B: AsRef<[u8]>>(&self, request: &Request<B>) -> HttpResponse {
        let mut step = self.machine.revocation_request(request, self.now());
        loop {
            match step.answer_from(&self.answerer()).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(response) => return response,
            }
        }
    }

    /// Handles an introspection-endpoint request (RFC 7662 §2).
    pub async fn introspection<B: AsRef<[u8]>>(&self, request: &Request<B>) -> HttpResponse {
        let mut step = self.machine.introspection_request(request, self.now());
        loop {
            match step.answer_from(&self.answerer()).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(response) => return response,
            }
        }
    }

    /// Handles a request at the registration endpoint (RFC 7591 §3): registers a client.
    pub async fn registration_endpoint<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> HttpResponse {
        let mut step = self.machine.registration_request(request, self.now());
        loop {
            match step.answer_from(&self.store).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(response) => return response,
            }
        }
    }

    /// Handles a request at the client configuration endpoint (RFC 7592 §2): reads,
    /// replaces or deletes a dynamically registered client.
    pub async fn client_configuration_endpoint<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> HttpResponse {
        let mut step = self
            .machine
            .client_configuration_request(request, self.now());
        loop {
            match step.answer_from(&self.store).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(response) => return response,
            }
        }
    }

    async fn drive_authorize(
        &self,
        mut step: AuthorizeStep<'_>,
    ) -> Result<PendingAuthorization, AuthorizationError> {
        loop {
            match step.answer_from(&self.answerer()).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(result) => return result,
            }
        }
    }

    /// Validates an authorization request (OAuth 2.1 §4.1.1). On success, show login and
    /// consent, carrying [`Provider::seal_ticket`] through the pages; on
    /// [`AuthorizationError::Fatal`] show an error page; otherwise send the redirect.
    pub async fn begin_authorization<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<PendingAuthorization, AuthorizationError> {
        let step = self.machine.authorization_request(request, self.now());
        self.drive_authorize(step).await
    }

    /// Seals a pending authorization into a ticket bound to the user's browser session.
    pub fn seal_ticket(
        &self,
        pending: &PendingAuthorization,
        session_binding: &[u8],
    ) -> Result<String, AuthorizationError> {
        self.machine.seal_ticket(pending, session_binding)
    }

    /// Opens a ticket from the consent form and re-validates it.
    pub async fn resume_authorization(
        &self,
        ticket: &str,
        session_binding: &[u8],
    ) -> Result<PendingAuthorization, AuthorizationError> {
        let step = self
            .machine
            .resume_authorization(ticket, session_binding, self.now());
        self.drive_authorize(step).await
    }

    /// Completes an authorization with the user's decision: the redirect to send back to
    /// the client (303), carrying a code, or `access_denied`.
    pub async fn complete_authorization(
        &self,
        pending: PendingAuthorization,
        decision: Decision,
    ) -> Result<HttpResponse, AuthorizationError> {
        let mut step = self
            .machine
            .complete_authorization(pending, decision, self.now());
        loop {
            match step.answer_from(&self.store).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(result) => return result,
            }
        }
    }

    /// Validates a bearer-protected request for this server's one configured resource
    /// (or, with no resource configured, without an audience check).
    pub async fn authenticate<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<Access, BearerError> {
        let mut resources = self.config().resources().iter();
        match (resources.next(), resources.next()) {
            (only, None) => {
                let only = only.cloned();
                self.authenticate_for(request, only.as_ref()).await
            }
            _ => {
                tracing::error!("several resources are configured: call authenticate_for");
                Err(BearerError::internal(self.config()))
            }
        }
    }

    /// Validates a bearer-protected request for `resource`.
    pub async fn authenticate_for<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        resource: Option<&Resource>,
    ) -> Result<Access, BearerError> {
        let mut step = self.machine.bearer_request(request, resource, self.now());
        loop {
            match step.answer_from(&self.store).await {
                ControlFlow::Continue(next) => step = next,
                ControlFlow::Break(result) => return result,
            }
        }
    }

    /// Validates a bearer-protected request against what its route requires: the token,
    /// for the requirement's resource ([`authenticate_for`](Self::authenticate_for)) or
    /// the provider's one resource ([`authenticate`](Self::authenticate)), then its
    /// scopes ([`Access::require_scope`]).
    pub async fn authenticate_with<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        requirement: &BearerRequirement,
    ) -> Result<Access, BearerError> {
        let access = match requirement.resource() {
            Some(resource) => self.authenticate_for(request, Some(resource)).await?,
            None => self.authenticate(request).await?,
        };
        if let Some(scope) = requirement.required_scope() {
            access.require_scope(scope)?;
        }
        Ok(access)
    }

    /// Registers a client and stores it; the secret in the result is shown once.
    pub async fn register_client(
        &self,
        new: NewClient,
    ) -> Result<RegisteredClient, RegistrationError> {
        let registered = self.machine.register_client(new, self.now())?;
        if !self.store.insert_client(&registered.client).await? {
            return Err(RegistrationError::ClientIdTaken);
        }
        Ok(registered)
    }

    /// The user's unexpired grants (for an "authorized apps" page).
    pub async fn grants_for_user(&self, user: &UserId) -> Result<Vec<GrantRecord>, StoreError> {
        self.store.grants_for_user(user, self.now()).await
    }

    /// Revokes a grant and every code and token issued under it.
    pub async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        tracing::info!(event = "grant_revoked", grant_id = %grant);
        self.store.revoke_grant(grant).await
    }
}

/// Registering a client failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The registration data is invalid.
    #[error(transparent)]
    Invalid(#[from] ApiMisuse),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A client with the requested id exists already; registration never replaces one.
    #[error("a client with this id exists already")]
    ClientIdTaken,
}

impl BearerError {
    fn internal(config: &Config) -> BearerError {
        BearerError {
            reason: Some(Reason::InternalFailure),
            required_scope: None,
            challenge: crate::bearer::Challenge::for_resource(&config.realm, None),
        }
    }
}

// ---- answering one step from a store ----
//
// Each step names the store method that answers it. These methods are the whole driver:
// the `Provider` loops over them, and a host that needs to hold a request between steps
// (or a test interleaving two requests) can call them one at a time.

/// Whether a single-use step (consume, rotate, grace claim, one-time marker) may run on
/// `store`: the rule [`ProviderBuilder::build`] applies once ([`single_use_accepted`]),
/// applied again for hosts that drive the machine themselves and so never build a
/// provider. A refusal is a store failure (503, or an error redirect), never a write.
fn single_use_allowed<S: Store + ?Sized>(machine: &Machine, store: &S) -> Result<(), StoreError> {
    if !single_use_accepted(machine.config(), store) {
        return Err(StoreError::new(
            StoreErrorKind::Other,
            "the store cannot keep single use and the host did not accept that \
             (accept_store_without_atomic_single_use)",
        ));
    }
    Ok(())
}

impl<'m> TokenStep<'m> {
    /// Answers this step from `answerer` (a [`Store`], or a [`StoreAndFetcher`]): the
    /// next step, or the complete response.
    pub async fn answer_from<A: Answerer + ?Sized>(
        self,
        answerer: &A,
    ) -> ControlFlow<HttpResponse, TokenStep<'m>> {
        let store = answerer.store();
        ControlFlow::Continue(match self {
            // A code redemption reads its client and its code together.
            TokenStep::NeedsClient(q) => match q.code_hash() {
                Some(code) => {
                    let answer = store.client_and_code(q.client_id(), &code, q.now()).await;
                    q.resume_with_code(answer)
                }
                None => {
                    let answer = store.client(q.client_id()).await;
                    q.resume(answer)
                }
            },
            TokenStep::NeedsClientMetadata(q) => {
                let answer = answerer.fetch_client_metadata(q.url(), q.max_bytes()).await;
                q.resume(answer)
            }
            TokenStep::NeedsCode(q) => {
                let answer = store.find_code(q.hash(), q.now()).await;
                q.resume(answer)
            }
            TokenStep::NeedsConsume(q) => {
                let answer = match single_use_allowed(q.request.machine, store) {
                    Ok(()) => store.consume_code(q.hash(), q.tokens(), q.now()).await,
                    Err(refused) => Err(refused),
                };
                q.resume(answer)
            }
            TokenStep::NeedsRefresh(q) => {
                let answer = store.find_refresh(q.hash(), q.now()).await;
                q.resume(answer)
            }
            TokenStep::NeedsRotation(q) => {
                let answer = match single_use_allowed(q.request.machine, store) {
                    Ok(()) => {
                        store
                            .rotate_refresh(q.old(), q.successor(), q.grace(), q.now())
                            .await
                    }
                    Err(refused) => Err(refused),
                };
                q.resume(answer)
            }
            TokenStep::NeedsGraceClaim(q) => {
                let answer = match single_use_allowed(q.request.machine, store) {
                    Ok(()) => store.claim_refresh_grace(q.hash(), q.now()).await,
                    Err(refused) => Err(refused),
                };
                q.resume(answer)
            }
            TokenStep::NeedsSuccessorCheck(q) => {
                let answer = store.find_refresh(q.hash(), q.now()).await;
                q.resume(answer)
            }
            TokenStep::NeedsRevocation(q) => {
                let answer = store.revoke_grant(q.grant_id()).await;
                q.resume(answer)
            }
            TokenStep::Persist(q) => {
                let answer = store.store_tokens(q.new_grant(), q.tokens()).await;
                q.resume(answer)
            }
            TokenStep::Respond(response) => return ControlFlow::Break(response),
        })
    }
}

impl<'m> RevocationStep<'m> {
    /// Answers this step from `answerer` (a [`Store`], or a [`StoreAndFetcher`]): the
    /// next step, or the complete response.
    pub async fn answer_from<A: Answerer + ?Sized>(
        self,
        answerer: &A,
    ) -> ControlFlow<HttpResponse, RevocationStep<'m>> {
        let store = answerer.store();
        ControlFlow::Continue(match self {
            RevocationStep::NeedsClient(q) => {
                let answer = store.client(q.client_id()).await;
                q.resume(answer)
            }
            RevocationStep::NeedsClientMetadata(q) => {
                let answer = answerer.fetch_client_metadata(q.url(), q.max_bytes()).await;
                q.resume(answer)
            }
            RevocationStep::NeedsAccessToken(q) => {
                let answer = store.access_token(q.hash(), q.now()).await;
                q.resume(answer)
            }
            RevocationStep::NeedsRefresh(q) => {
                let answer = store.find_refresh(q.hash(), q.now()).await;
                q.resume(answer)
            }
            RevocationStep::NeedsAccessTokenRevocation(q) => {
                let answer = store.revoke_access_token(q.hash()).await;
                q.resume(answer)
            }
            RevocationStep::NeedsGrantRevocation(q) => {
                let answer = store.revoke_grant(q.grant_id()).await;
                q.resume(answer)
            }
            RevocationStep::Respond(response) => return ControlFlow::Break(response),
        })
    }
}

impl<'m> IntrospectionStep<'m> {
    /// Answers this step from `answerer` (a [`Store`], or a [`StoreAndFetcher`]): the
    /// next step, or the complete response.
    pub async fn answer_from<A: Answerer + ?Sized>(
        self,
        answerer: &A,
    ) -> ControlFlow<HttpResponse, IntrospectionStep<'m>> {
        let store = answerer.store();
        ControlFlow::Continue(match self {
            IntrospectionStep::NeedsClient(q) => {
                let answer = store.client(q.client_id()).await;
                q.resume(answer)
            }
            IntrospectionStep::NeedsClientMetadata(q) => {
                let answer = answerer.fetch_client_metadata(q.url(), q.max_bytes()).await;
                q.resume(answer)
            }
            IntrospectionStep::NeedsAccessToken(q) => {
                let answer = store.access_token(q.hash(), q.now()).await;
                q.resume(answer)
            }
            IntrospectionStep::NeedsRefresh(q) => {
                let answer = store.find_refresh(q.hash(), q.now()).await;
                q.resume(answer)
            }
            IntrospectionStep::Respond(response) => return ControlFlow::Break(response),
        })
    }
}

impl<'m> AuthorizeStep<'m> {
    /// Answers this step from `answerer` (a [`Store`], or a [`StoreAndFetcher`]): the
    /// next step, or the validation result.
    pub async fn answer_from<A: Answerer + ?Sized>(
        self,
        answerer: &A,
    ) -> ControlFlow<Result<PendingAuthorization, AuthorizationError>, AuthorizeStep<'m>> {
        let store = answerer.store();
        match self {
            AuthorizeStep::NeedsClient(q) => {
                let answer = store.client(q.client_id()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            AuthorizeStep::NeedsClientMetadata(q) => {
                let answer = answerer.fetch_client_metadata(q.url(), q.max_bytes()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            AuthorizeStep::Done(result) => ControlFlow::Break(result),
        }
    }
}

impl<'m> CompleteStep<'m> {
    /// Answers this step from `store`: the next step, or the final redirect.
    pub async fn answer_from<S: Store + ?Sized>(
        self,
        store: &S,
    ) -> ControlFlow<Result<HttpResponse, AuthorizationError>, CompleteStep<'m>> {
        match self {
            CompleteStep::NeedsMarker(q) => {
                let answer = match single_use_allowed(q.machine(), store) {
                    Ok(()) => store.insert_once(q.key(), q.expires_at(), q.now()).await,
                    Err(refused) => Err(refused),
                };
                ControlFlow::Continue(q.resume(answer))
            }
            CompleteStep::Persist(q) => {
                let answer = store.create_grant_with_code(q.grant(), q.code()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            CompleteStep::Done(result) => ControlFlow::Break(result),
        }
    }
}

impl<'m> BearerStep<'m> {
    /// Answers this step from `store`: the next step, or the validation result.
    pub async fn answer_from<S: Store + ?Sized>(
        self,
        store: &S,
    ) -> ControlFlow<Result<Access, BearerError>, BearerStep<'m>> {
        match self {
            BearerStep::NeedsAccessToken(q) => {
                let answer = store.access_token(q.hash(), q.now()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            BearerStep::Done(result) => ControlFlow::Break(result),
        }
    }
}

impl<'m> RegistrationStep<'m> {
    /// Answers this step from `store`: the next step, or the complete response.
    pub async fn answer_from<S: Store + ?Sized>(
        self,
        store: &S,
    ) -> ControlFlow<HttpResponse, RegistrationStep<'m>> {
        match self {
            RegistrationStep::NeedsInsert(q) => {
                let answer = store.insert_client(q.client()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            RegistrationStep::Respond(response) => ControlFlow::Break(response),
        }
    }
}

impl<'m> ConfigurationStep<'m> {
    /// Answers this step from `store`: the next step, or the complete response.
    pub async fn answer_from<S: Store + ?Sized>(
        self,
        store: &S,
    ) -> ControlFlow<HttpResponse, ConfigurationStep<'m>> {
        match self {
            ConfigurationStep::NeedsClient(q) => {
                let answer = store.client(q.client_id()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            ConfigurationStep::NeedsUpdate(q) => {
                let answer = store.replace_client(q.client()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            ConfigurationStep::NeedsDelete(q) => {
                let answer = store.delete_client(q.client_id()).await;
                ControlFlow::Continue(q.resume(answer))
            }
            ConfigurationStep::Respond(response) => ControlFlow::Break(response),
        }
    }
}

// ---- client ID metadata documents: the fetcher, and what answers the steps ----

impl<S> ProviderBuilder<S> {
    /// See [`ConfigBuilder::client_id_metadata_documents`]. Needs a
    /// [`client_metadata_fetcher`](Self::client_metadata_fetcher), or the build fails with
    /// [`ConfigError::MissingClientMetadataFetcher`].
    pub fn client_id_metadata_documents(mut self, enabled: bool) -> Self {
        self.config = self.config.client_id_metadata_documents(enabled);
        self
    }

    /// See [`ConfigBuilder::client_id_metadata_document_max_bytes`].
    pub fn client_id_metadata_document_max_bytes(mut self, bytes: usize) -> Self {
        self.config = self.config.client_id_metadata_document_max_bytes(bytes);
        self
    }

    /// What fetches client ID metadata documents for the driver (the
    /// `oauth-client-metadata-fetch` crate has a default one). Only used when
    /// [`client_id_metadata_documents`](Self::client_id_metadata_documents) is on.
    pub fn client_metadata_fetcher(mut self, fetcher: Arc<dyn ClientMetadataFetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }
}

impl<S: Store> Provider<S> {
    /// Sets the client metadata fetcher of a provider made with [`Provider::new`] (the
    /// builder checks that one is set when client ID metadata documents are on; `new`
    /// cannot, and without a fetcher every such client is refused).
    #[must_use]
    pub fn with_client_metadata_fetcher(mut self, fetcher: Arc<dyn ClientMetadataFetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// What answers this provider's steps: its store and its fetcher.
    fn answerer(&self) -> StoreAndFetcher<'_, S> {
        StoreAndFetcher {
            store: &self.store,
            fetcher: self.fetcher.as_deref(),
        }
    }
}

/// What answers the machine's steps in `answer_from`: a [`Store`] for every stored datum
/// and, for client ID metadata documents, a [`ClientMetadataFetcher`].
///
/// Every [`Store`] is an `Answerer` without a fetcher (a metadata step then fails closed
/// with [`FetchError::NotConfigured`]); [`StoreAndFetcher`] pairs a store with a fetcher.
#[async_trait::async_trait]
pub trait Answerer: Sync {
    /// The store.
    type Store: Store + ?Sized;

    /// The store that answers the store steps.
    fn store(&self) -> &Self::Store;

    /// The fetcher that answers the `NeedsClientMetadata` steps, if any.
    fn client_metadata_fetcher(&self) -> Option<&dyn ClientMetadataFetcher>;

    /// Fetches a client metadata document with the fetcher, or fails with
    /// [`FetchError::NotConfigured`] without one.
    async fn fetch_client_metadata(
        &self,
        url: &ClientIdUrl,
        max_bytes: usize,
    ) -> Result<bytes::Bytes, FetchError> {
        match self.client_metadata_fetcher() {
            Some(fetcher) => fetcher.fetch(url, max_bytes).await,
            None => Err(FetchError::NotConfigured),
        }
    }
}

impl<S: Store + ?Sized> Answerer for S {
    type Store = S;

    fn store(&self) -> &S {
        self
    }

    fn client_metadata_fetcher(&self) -> Option<&dyn ClientMetadataFetcher> {
        None
    }
}

/// A store and a client metadata fetcher, answering steps together: for a host that
/// drives the machine itself with client ID metadata documents on
/// (`step.answer_from(&StoreAndFetcher::new(&store, Some(&fetcher)))`).
pub struct StoreAndFetcher<'a, S: ?Sized> {
    store: &'a S,
    fetcher: Option<&'a dyn ClientMetadataFetcher>,
}

impl<'a, S: Store + ?Sized> StoreAndFetcher<'a, S> {
    /// `store`, with `fetcher` for the metadata steps.
    #[must_use]
    pub fn new(store: &'a S, fetcher: Option<&'a dyn ClientMetadataFetcher>) -> Self {
        StoreAndFetcher { store, fetcher }
    }
}

impl<S: Store + ?Sized> Answerer for StoreAndFetcher<'_, S> {
    type Store = S;

    fn store(&self) -> &S {
        self.store
    }

    fn client_metadata_fetcher(&self) -> Option<&dyn ClientMetadataFetcher> {
        self.fetcher
    }
}
