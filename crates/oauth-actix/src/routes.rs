//! The protocol endpoints, mounted with [`App::configure`](actix_web::App::configure),
//! with CORS for the endpoint group.

use std::sync::Arc;

use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use oauth_core::{Provider, ServedPath, Store};

use crate::body::bounded;
use crate::convert::{actix_response, core_request};
use crate::cors::CorsPolicy;

/// The protocol endpoints: token, revocation, introspection, registration and client
/// configuration (when enabled), authorization server metadata and the protected
/// resource metadata of each configured resource (and at the root
/// `/.well-known/oauth-protected-resource` when the core serves one there), at the paths
/// of the provider's configuration.
///
/// Mount it at the application's root with [`ProtocolService::configure`] (in
/// [`App::configure`](actix_web::App::configure)). The routes match the request's path
/// exactly as received, byte for byte (not actix's percent-decoded path), as the core
/// compares it; other paths fall through to the application's other services, and the
/// CORS policy applies to the served paths only (never to the application's other
/// routes, nor to its 404 for an unknown path). Do not
/// mount it in a `web::scope`: the metadata advertises the configured URLs, and only
/// those are answered. Configure the paths instead. The authorization endpoint is the
/// host's own route, with its login and consent pages
/// ([`AuthorizationRequest`](crate::AuthorizationRequest)).
///
/// actix does not refuse two services at one path as axum does (the first registered
/// wins): give the host's own routes other paths than [`ProtocolService::paths`].
///
/// ```
/// # use std::sync::Arc;
/// # use actix_web::App;
/// # use oauth_core::Provider;
/// # use oauth_store_memory::MemoryStore;
/// use oauth_actix::{CorsPolicy, ProtocolService};
/// # fn app(provider: Arc<Provider<MemoryStore>>) {
/// let protocol = ProtocolService::new(provider).cors(CorsPolicy::AnyOrigin);
/// App::new().configure(|cfg| protocol.configure(cfg))
/// # ;
/// # }
/// ```
#[derive(Debug)]
#[must_use]
pub struct ProtocolService<S: Store> {
    provider: Arc<Provider<S>>,
    cors: CorsPolicy,
}

impl<S: Store> Clone for ProtocolService<S> {
    fn clone(&self) -> Self {
        ProtocolService {
            provider: Arc::clone(&self.provider),
            cors: self.cors.clone(),
        }
    }
}

impl<S: Store> ProtocolService<S> {
    /// The endpoints of `provider`, open to any origin.
    pub fn new(provider: Arc<Provider<S>>) -> Self {
        ProtocolService {
            provider,
            cors: CorsPolicy::AnyOrigin,
        }
    }

    /// The CORS policy of the protocol endpoints.
    pub fn cors(mut self, policy: CorsPolicy) -> Self {
        self.cors = policy;
        self
    }

    /// The paths this service answers: the core's
    /// [`served_paths`](oauth_core::Machine::served_paths), an endpoint below a path as
    /// `{path}/{client_id}` (one more non-empty segment).
    #[must_use]
    pub fn paths(&self) -> Vec<String> {
        self.served()
            .into_iter()
            .filter_map(|path| match path {
                ServedPath::Exact(path) => Some(path),
                ServedPath::Below(path) => Some(format!("{path}/{{client_id}}")),
                _ => None,
            })
            .collect()
    }

    /// The core's served paths this glue can route.
    fn served(&self) -> Vec<ServedPath> {
        self.provider
            .machine()
            .served_paths()
            .into_iter()
            .filter(|path| match path {
                ServedPath::Exact(_) | ServedPath::Below(_) => true,
                other => {
                    tracing::error!(?other, "a kind of served path this glue cannot route");
                    false
                }
            })
            .collect()
    }

    /// Registers the endpoints in `cfg`: one resource, matching exactly the served
    /// paths, wrapped in the CORS policy's middleware. For
    /// `App::new().configure(|cfg| protocol.configure(cfg))`; it takes `&self` so that
    /// one `ProtocolService` serves every worker's `App` (`HttpServer::new(move || ..)`).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let guard = ServedPaths(self.served().into());
        let provider = Arc::clone(&self.provider);
        // Matching is the guard's: the pattern accepts every path, so that none of
        // actix's pattern syntax (`{`, `}`, a trailing `*`) or path decoding applies to
        // the configured paths. A request whose path is not served falls through.
        let resource = web::resource("/{path:.*}")
            .guard(guard)
            .wrap(self.cors.middleware())
            .route(
                web::route().to(move |request: HttpRequest, payload: web::Payload| {
                    endpoint(Arc::clone(&provider), request, payload)
                }),
            );
        cfg.service(resource);
    }
}

/// Admits exactly the served paths, compared with the request's path as received.
struct ServedPaths(Arc<[ServedPath]>);

impl Guard for ServedPaths {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        let path = ctx.head().uri.path();
        self.0.iter().any(|served| match served {
            ServedPath::Exact(exact) => path == exact,
            ServedPath::Below(parent) => path
                .strip_prefix(parent.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|segment| !segment.is_empty() && !segment.contains('/')),
            _ => false,
        })
    }
}

/// Every protocol endpoint: bound the body, let the provider answer (a body that could
/// not be read whole never reaches it).
async fn endpoint<S: Store>(
    provider: Arc<Provider<S>>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match bounded(
        &request,
        payload.into_inner(),
        provider.config().max_body_bytes(),
    )
    .await
    {
        Ok(body) => body,
        Err(failure) => return failure.into_response(),
    };
    match core_request(&request, body) {
        Ok(core) => actix_response(
            provider.handle(&core).await,
            request.method() == Method::HEAD,
        ),
        Err(unrepresentable) => unrepresentable.error_response(),
    }
}
