//! Bearer-protected routes: an extractor for one handler, a layer for a whole router.
//!
//! Both read the token from the `Authorization` header only (RFC 6750 §2.1; the
//! form-body method of §2.2 would consume the handler's body) and answer a failure with
//! the core's complete RFC 6750 / RFC 9728 response: 401 with a `WWW-Authenticate`
//! challenge naming the protected resource metadata, 403 `insufficient_scope` naming the
//! scope needed, 400 for a malformed request (two `Authorization` headers, say), 503 when
//! the store failed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::Request;
use oauth_core::bearer::BearerError;
use oauth_core::resource::Resource;
use oauth_core::{Access, BearerRequirement, Provider, Store};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::into_axum;

/// The validated bearer token of a request: `Bearer(access, _)` in a handler's arguments
/// (the second field only carries the store type, `Bearer<MyStore>`).
///
/// The application state must give the provider (`Arc<Provider<S>>: FromRef<State>`),
/// which holds exactly one resource; with several, protect the routes with
/// [`RequireBearer::for_resource`] and take [`Access`] from the request extensions
/// (`Extension<Access>`). Behind a [`RequireBearer`] layer, the extractor reuses the
/// access the layer validated.
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

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        into_axum(self.0.into_response())
    }
}

/// The request as the core reads it for bearer validation: method, URI and headers.
fn header_only(parts: &Parts) -> Request<&'static [u8]> {
    let mut request = Request::new(&[][..]);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.headers_mut() = parts.headers.clone();
    request
}

impl<S, T> FromRequestParts<T> for Bearer<S>
where
    S: Store,
    Arc<Provider<S>>: FromRef<T>,
    T: Send + Sync,
{
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, state: &T) -> Result<Self, Self::Rejection> {
        if let Some(access) = parts.extensions.get::<Access>() {
            return Ok(Bearer(access.clone(), std::marker::PhantomData));
        }
        let provider = Arc::<Provider<S>>::from_ref(state);
        let access = provider
            .authenticate(&header_only(parts))
            .await
            .map_err(BearerRejection)?;
        Ok(Bearer(access, std::marker::PhantomData))
    }
}

/// A layer that admits only requests with a valid bearer token (and the scopes this
/// layer requires), and puts the [`Access`] into the request extensions for the handler.
///
/// Apply it with `route_layer` (so unmatched paths stay 404), and apply a CORS layer
/// *after* it (`.route_layer(RequireBearer::new(..)).layer(cors)`), so that CORS wraps the
/// bearer check: preflights are answered, and a browser client can read the 401's
/// `WWW-Authenticate` challenge. In the other order both fail without CORS headers.
///
/// ```
/// # use std::sync::Arc;
/// # use axum::{routing::get, Extension, Router};
/// # use oauth_core::{Access, Provider};
/// # use oauth_store_memory::MemoryStore;
/// # fn app(provider: Arc<Provider<MemoryStore>>) -> Router {
/// Router::new()
///     .route("/api/notes", get(|Extension(access): Extension<Access>| async move {
///         format!("notes of {:?}", access.user_id)
///     }))
///     .route_layer(oauth_axum::RequireBearer::new(provider).scope("notes:read"))
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

    async fn check(&self, parts: &Parts) -> Result<Access, BearerError> {
        self.provider
            .authenticate_with(&header_only(parts), &self.requirement)
            .await
    }
}

impl<S: Store, I> Layer<I> for RequireBearer<S> {
    type Service = RequireBearerService<S, I>;

    fn layer(&self, inner: I) -> Self::Service {
        RequireBearerService {
            policy: self.clone(),
            inner,
        }
    }
}

/// The service of [`RequireBearer`].
#[derive(Debug)]
pub struct RequireBearerService<S: Store, I> {
    policy: RequireBearer<S>,
    inner: I,
}

impl<S: Store, I: Clone> Clone for RequireBearerService<S, I> {
    fn clone(&self) -> Self {
        RequireBearerService {
            policy: self.policy.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<S, I> Service<Request<Body>> for RequireBearerService<S, I>
where
    S: Store,
    I: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    I::Future: Send + 'static,
{
    type Response = Response;
    type Error = I::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, I::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready service goes with this call; its clone stays for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let policy = self.policy.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match policy.check(&parts).await {
                Ok(access) => {
                    parts.extensions.insert(access);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(error) => Ok(BearerRejection(error).into_response()),
            }
        })
    }
}
