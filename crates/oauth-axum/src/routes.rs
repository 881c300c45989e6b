//! The protocol endpoints as an axum [`Router`], with CORS for the endpoint group.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{NestedPath, State};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use http::{Request, StatusCode};
use oauth_core::{Provider, ServedPath, Store};

use crate::body::{bounded, glue_response, into_axum};
use crate::CorsPolicy;

/// Builds the router of the protocol endpoints: token, revocation, introspection,
/// registration and client configuration (when enabled), authorization server metadata
/// and the protected resource metadata of each configured resource (and at the root
/// `/.well-known/oauth-protected-resource` when the core serves one there), at the paths
/// of the provider's configuration.
///
/// Merge it into the application's router at the root ([`Router::merge`]); to serve the
/// endpoints under a prefix, configure their paths (and the issuer) instead. Do not
/// [`nest`](Router::nest) it: axum strips the prefix before routing, so the provider
/// would answer `/auth/token` as `/token` while its metadata advertises the configured
/// URLs, without the prefix. A nested router therefore answers every request with an
/// empty 500 (`no-store`) and logs an error, without handing the request to the
/// provider. The authorization endpoint is the host's own route, with its login and
/// consent pages ([`AuthorizationRequest`](crate::AuthorizationRequest)).
///
/// Only with the `router` feature (on by default), the one part of this crate that
/// needs `axum` itself rather than `axum-core`.
#[derive(Debug)]
#[must_use]
pub struct ProtocolRouter<S: Store> {
    provider: Arc<Provider<S>>,
    cors: CorsPolicy,
}

impl<S: Store> ProtocolRouter<S> {
    /// The endpoints of `provider`, open to any origin.
    pub fn new(provider: Arc<Provider<S>>) -> Self {
        ProtocolRouter {
            provider,
            cors: CorsPolicy::AnyOrigin,
        }
    }

    /// The CORS policy of the protocol endpoints.
    pub fn cors(mut self, policy: CorsPolicy) -> Self {
        self.cors = policy;
        self
    }

    /// The paths this router answers: the core's
    /// [`served_paths`](oauth_core::Machine::served_paths), as axum route patterns.
    #[must_use]
    pub fn paths(&self) -> Vec<String> {
        self.provider
            .machine()
            .served_paths()
            .into_iter()
            .filter_map(|path| match path {
                ServedPath::Exact(path) => Some(path),
                ServedPath::Below(path) => Some(format!("{path}/{{client_id}}")),
                other => {
                    tracing::error!(?other, "a kind of served path this glue cannot route");
                    None
                }
            })
            .collect()
    }

    /// The router, usable with any application state.
    pub fn build<T>(self) -> Router<T>
    where
        T: Clone + Send + Sync + 'static,
    {
        // Each path is a service route, not a method router: a host route at the same
        // path then panics at startup when merged, instead of silently taking over some
        // of its methods.
        let mut router = Router::new();
        for path in self.paths() {
            let service = any(endpoint::<S>).with_state(Arc::clone(&self.provider));
            router = router.route_service(&path, service);
        }
        // `route_layer`: CORS for the protocol paths only. With `layer` the router's
        // fallback would get it too, so a host that builds on this router would answer
        // preflights for every unknown path.
        match self.cors.layer() {
            Some(cors) => router.route_layer(cors),
            None => router,
        }
    }
}

/// Every protocol endpoint: bound the body, let the provider answer (a body that could
/// not be read whole never reaches it).
///
/// A request routed through [`Router::nest`] (axum marks it with [`NestedPath`]) never
/// reaches the provider either: its path has lost the prefix, so the provider would serve
/// endpoints other than the ones its metadata advertises. That is the server's
/// misconfiguration, not the client's fault: 500, and an error for the operator.
async fn endpoint<S: Store>(
    State(provider): State<Arc<Provider<S>>>,
    request: Request<Body>,
) -> Response {
    if let Some(nested) = request.extensions().get::<NestedPath>() {
        tracing::error!(
            nested_at = nested.as_str(),
            "ProtocolRouter is nested, so axum stripped the prefix and the provider would \
             serve other URLs than its metadata advertises; refusing the request. Merge it at \
             the root (Router::merge) and configure the endpoint paths instead"
        );
        return glue_response(StatusCode::INTERNAL_SERVER_ERROR);
    }
    match bounded(request, provider.config().max_body_bytes()).await {
        Ok(request) => into_axum(provider.handle(&request).await),
        Err(failure) => failure.into_response(),
    }
}
