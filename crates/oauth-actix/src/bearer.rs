//! Bearer-protected routes: an extractor for one handler, a middleware for a resource or
//! scope.
//!
//! Both read the token from the `Authorization` header only (RFC 6750 §2.1; the
//! form-body method of §2.2 would consume the handler's body) and answer a failure with
//! the core's complete RFC 6750 / RFC 9728 response: 401 with a `WWW-Authenticate`
//! challenge naming the protected resource metadata, 403 `insufficient_scope` naming the
//! scope needed, 400 for a malformed request (two `Authorization` headers, say), 503 when
//! the store failed.

use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_core::future::LocalBoxFuture;
use oauth_core::bearer::BearerError;
use oauth_core::resource::Resource;
use oauth_core::{Access, BearerRequirement, Provider, Store};

use crate::convert::{core_request, core_response, status, Unrepresentable};
use crate::provider::registered;

/// The validated bearer token of a request: `Bearer(access, _)` in a handler's arguments
/// (the second field only carries the store type, `Bearer<MyStore>`).
///
/// The provider is the application's `web::Data<Provider<S>>`
/// (`App::app_data(web::Data::from(provider))`; without it, a 500 saying you forgot to
/// register the provider, [`ProviderMissing`](crate::ProviderMissing)), which holds
/// exactly one resource; with several, protect the routes with
/// [`RequireBearer::for_resource`] and take [`Access`] from the request extensions
/// (`web::ReqData<Access>`). Behind a [`RequireBearer`] middleware, the extractor reuses
/// the access the middleware validated.
///
/// A rejection is a [`BearerRejection`] (inside `actix_web::Error`), answered with the
/// core's challenge.
#[derive(Clone, Debug)]
pub struct Bearer<S: Store>(pub Access, pub std::marker::PhantomData<fn() -> S>);

impl<S: Store> Bearer<S> {
    /// The validated access.
    #[must_use]
    pub fn into_inner(self) -> Access {
        self.0
    }
}

/// Why a bearer-protected request was refused: the complete RFC 6750 response.
#[derive(Debug)]
pub struct BearerRejection(pub BearerError);

impl std::fmt::Display for BearerRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl ResponseError for BearerRejection {
    fn status_code(&self) -> StatusCode {
        status(self.0.status())
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        core_response(self.0.clone().into_response())
    }
}

impl<S: Store> FromRequest for Bearer<S> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        if let Some(access) = request.extensions().get::<Access>() {
            let access = access.clone();
            return Box::pin(ready(Ok(Bearer(access, std::marker::PhantomData))));
        }
        let request = request.clone();
        Box::pin(async move {
            let provider = registered::<S>(&request)?;
            let access = provider
                .authenticate(&core_request(&request, &[][..])?)
                .await
                .map_err(BearerRejection)?;
            Ok(Bearer(access, std::marker::PhantomData))
        })
    }
}

/// A middleware that admits only requests with a valid bearer token (and the scopes it
/// requires), and puts the [`Access`] into the request extensions for the handler
/// (`web::ReqData<Access>`, or [`Bearer`]).
///
/// Wrap a resource or a scope with it. On a `web::resource`, other paths are untouched;
/// on a `web::scope`, it also guards the scope's unmatched paths (their 404 becomes a 401
/// for a request without a token), so prefer resources, or scopes whose every path is
/// protected. Wrap a CORS middleware *outside* it (a later `.wrap`, which actix runs
/// first), so that preflights are answered and a browser client can read the 401's
/// `WWW-Authenticate` challenge; in the other order both fail without CORS headers.
///
/// The middleware holds its provider; the handler's extractors find theirs in the
/// application data.
///
/// ```
/// # use std::sync::Arc;
/// # use actix_web::{web, App};
/// # use oauth_core::{Access, Provider};
/// # use oauth_store_memory::MemoryStore;
/// # fn app(provider: Arc<Provider<MemoryStore>>) {
/// App::new().service(
///     web::resource("/api/notes")
///         .wrap(oauth_actix::RequireBearer::new(provider).scope("notes:read"))
///         .get(|access: web::ReqData<Access>| async move {
///             format!("notes of {:?}", access.user_id)
///         }),
/// )
/// # ;
/// # }
/// ```
#[derive(Debug)]
#[must_use]
pub struct RequireBearer<S: Store> {
    provider: Arc<Provider<S>>,
    requirement: BearerRequirement,
}

impl<S: Store> Clone for RequireBearer<S> {
    fn clone(&self) -> Self {
        RequireBearer {
            provider: Arc::clone(&self.provider),
            requirement: self.requirement.clone(),
        }
    }
}

/// Why [`RequireBearer`] refused a request.
enum Refusal {
    Bearer(BearerError),
    Unrepresentable(Unrepresentable),
}

impl Refusal {
    fn into_response(self) -> HttpResponse {
        match self {
            Refusal::Bearer(error) => core_response(error.into_response()),
            Refusal::Unrepresentable(error) => error.error_response(),
        }
    }
}

impl<S: Store> RequireBearer<S> {
    /// Validates tokens for the provider's one configured resource.
    pub fn new(provider: Arc<Provider<S>>) -> Self {
        RequireBearer {
            provider,
            requirement: BearerRequirement::new(),
        }
    }

    /// Validates tokens for `resource`, one of the provider's resources (audience check).
    pub fn for_resource(provider: Arc<Provider<S>>, resource: Resource) -> Self {
        RequireBearer {
            provider,
            requirement: BearerRequirement::for_resource(resource),
        }
    }

    /// Also requires `scope` (one or several space-delimited scopes; calling it again
    /// adds to the requirement); a token without it gets 403 `insufficient_scope` naming
    /// every scope required.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.requirement = self.requirement.scope(scope);
        self
    }

    async fn check(&self, request: &HttpRequest) -> Result<Access, Refusal> {
        let request = core_request(request, &[][..]).map_err(Refusal::Unrepresentable)?;
        self.provider
            .authenticate_with(&request, &self.requirement)
            .await
            .map_err(Refusal::Bearer)
    }
}

impl<S, Svc, B> Transform<Svc, ServiceRequest> for RequireBearer<S>
where
    S: Store,
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireBearerService<S, Svc>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(RequireBearerService {
            policy: Rc::new(self.clone()),
            service: Rc::new(service),
        }))
    }
}

/// The service of [`RequireBearer`].
#[derive(Debug)]
pub struct RequireBearerService<S: Store, Svc> {
    policy: Rc<RequireBearer<S>>,
    service: Rc<Svc>,
}

impl<S, Svc, B> Service<ServiceRequest> for RequireBearerService<S, Svc>
where
    S: Store,
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let policy = Rc::clone(&self.policy);
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            match policy.check(request.request()).await {
                Ok(access) => {
                    request.extensions_mut().insert(access);
                    Ok(service.call(request).await?.map_into_left_body())
                }
                Err(refusal) => Ok(request
                    .into_response(refusal.into_response())
                    .map_into_right_body()),
            }
        })
    }
}
