//! The protocol endpoints as an axum [`Router`], with CORS for the endpoint group.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Method, Request};
use oauth_core::{Provider, ServedPath, Store};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::body::{bounded, into_axum};

/// Which browser origins may call an endpoint group from JavaScript (CORS).
///
/// Never applied to the authorization endpoint: it is navigated to, not fetched, and
/// its pages rely on the user's cookies.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum CorsPolicy {
    /// Any origin. Safe for the protocol endpoints and bearer-protected APIs: they never
    /// rely on cookies (no `Access-Control-Allow-Credentials`), a browser client
    /// authenticates with what it sends explicitly. The default.
    #[default]
    AnyOrigin,
    /// Only these origins (`https://app.example`, exactly as browsers send `Origin`:
    /// scheme, host, port, no trailing slash). `*` and `null` in the list are ignored.
    Origins(Vec<HeaderValue>),
    /// No CORS headers: only same-origin JavaScript may call.
    SameOriginOnly,
}

impl CorsPolicy {
    /// The `tower-http` layer for this policy: `GET`, `HEAD`, `POST`, `PUT`, `DELETE`;
    /// request headers `Authorization`, `Content-Type`, `Accept`, `MCP-Protocol-Version`;
    /// `WWW-Authenticate`
    /// exposed (so a browser client can read a bearer challenge); `Vary: Origin` always;
    /// never credentials. `None` for [`CorsPolicy::SameOriginOnly`].
    #[must_use]
    pub fn layer(&self) -> Option<CorsLayer> {
        let origins = match self {
            CorsPolicy::AnyOrigin => AllowOrigin::any(),
            // `*` is not an origin (tower-http would panic on it): an allow-list never
            // contains it; use `AnyOrigin` for that. `null` is the origin of sandboxed
            // frames and local files, never one to trust.
            CorsPolicy::Origins(list) => AllowOrigin::list(
                list.iter()
                    .filter(|origin| *origin != "*" && *origin != "null")
                    .cloned(),
            ),
            CorsPolicy::SameOriginOnly => return None,
        };
        Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([
                    Method::GET,
                    Method::HEAD,
                    Method::POST,
                    Method::PUT,
                    Method::DELETE,
                ])
                .allow_headers([
                    AUTHORIZATION,
                    CONTENT_TYPE,
                    ACCEPT,
                    // Browser MCP clients send it during discovery (MCP 2025-06-18).
                    HeaderName::from_static("mcp-protocol-version"),
                ])
                .expose_headers([WWW_AUTHENTICATE])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

/// Builds the router of the protocol endpoints: token, revocation, introspection,
/// registration and client configuration (when enabled), authorization server metadata
/// and the protected resource metadata of each configured resource (and at the root
/// `/.well-known/oauth-protected-resource` when the core serves one there), at the paths
/// of the provider's configuration.
///
/// Merge it into the application's router at the root ([`Router::merge`]). Do not
/// `nest` it: the metadata would then advertise the configured URLs while the endpoints
/// answer under the prefix. Configure the paths instead. The authorization
/// endpoint is the host's own route, with its login and consent pages
/// ([`AuthorizationRequest`](crate::AuthorizationRequest)).
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
async fn endpoint<S: Store>(
    State(provider): State<Arc<Provider<S>>>,
    request: Request<Body>,
) -> Response {
    match bounded(request, provider.config().max_body_bytes()).await {
        Ok(request) => into_axum(provider.handle(&request).await),
        Err(failure) => failure.into_response(),
    }
}
