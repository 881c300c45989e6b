//! CORS by endpoint group: a `tower-http` layer, so it needs neither axum's router nor
//! the `router` feature, and bearer-protected APIs get the same policy without it.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

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
