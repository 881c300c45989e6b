//! CORS by endpoint group: the policy and its actix middleware.
//!
//! Why not the `actix-cors` crate: it answers differently. A preflight or a request from
//! an origin outside its list is refused with an error response (400 "Origin is not
//! allowed to make this request") instead of being answered without CORS headers (the
//! browser then refuses; same-origin and non-browser callers are unaffected); its
//! `Vary` and wildcard handling differ from `tower-http`'s. The axum glue's policy
//! (`tower-http`'s `CorsLayer` as `oauth-axum` configures it) is reproduced here to the
//! byte, per the Fetch standard's CORS protocol (§3.2), in the few lines it takes.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN,
    VARY,
};
use actix_web::http::Method;
use actix_web::{Error, HttpResponse};
use futures_core::future::LocalBoxFuture;

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
    /// scheme, host, port, no trailing slash; compared byte for byte). `*` and `null` in
    /// the list are ignored.
    Origins(Vec<HeaderValue>),
    /// No CORS headers: only same-origin JavaScript may call.
    SameOriginOnly,
}

impl CorsPolicy {
    /// The actix middleware for this policy: `GET`, `HEAD`, `POST`, `PUT`, `DELETE`;
    /// request headers `Authorization`, `Content-Type`, `Accept`, `MCP-Protocol-Version`;
    /// `WWW-Authenticate` exposed (so a browser client can read a bearer challenge);
    /// preflights cached for 600 seconds; `Vary: Origin` always; never credentials. For
    /// [`CorsPolicy::SameOriginOnly`], a middleware that changes nothing.
    ///
    /// Every `OPTIONS` request to what it wraps is answered as a preflight (200, no
    /// body), and never reaches the handler; other responses get the CORS headers added.
    /// A host can put the same policy on its own API: wrap the CORS middleware *outside*
    /// [`RequireBearer`](crate::RequireBearer) (actix runs the last `wrap` first), so
    /// preflights are answered and a browser client can read the 401's challenge.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use actix_web::{web, App};
    /// # use oauth_core::Provider;
    /// # use oauth_store_memory::MemoryStore;
    /// use oauth_actix::{CorsPolicy, RequireBearer};
    /// # fn app(provider: Arc<Provider<MemoryStore>>) {
    /// App::new().service(
    ///     web::resource("/api/ping")
    ///         .wrap(RequireBearer::new(provider))
    ///         .wrap(CorsPolicy::AnyOrigin.middleware())
    ///         .get(|| async { "pong" }),
    /// )
    /// # ;
    /// # }
    /// ```
    pub fn middleware(&self) -> CorsMiddleware {
        let allow = match self {
            CorsPolicy::AnyOrigin => Allow::Any,
            // `*` is not an origin: an allow-list never contains it; use `AnyOrigin` for
            // that. `null` is the origin of sandboxed frames and local files, never one
            // to trust.
            CorsPolicy::Origins(list) => Allow::List(
                list.iter()
                    .filter(|origin| *origin != "*" && *origin != "null")
                    .cloned()
                    .collect(),
            ),
            CorsPolicy::SameOriginOnly => Allow::Nothing,
        };
        CorsMiddleware {
            allow: Arc::new(allow),
        }
    }
}

#[derive(Debug)]
enum Allow {
    Any,
    List(Vec<HeaderValue>),
    Nothing,
}

impl Allow {
    /// `Access-Control-Allow-Origin` for a request from `origin`: `*` for any, the
    /// origin itself when listed, nothing otherwise (the browser then refuses).
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match self {
            Allow::Any => Some(HeaderValue::from_static("*")),
            Allow::List(list) => origin.filter(|origin| list.contains(origin)).cloned(),
            Allow::Nothing => None,
        }
    }
}

/// The headers every CORS answer carries: the response varies with the origin and the
/// preflight's request headers, even when the origin is not allowed (so no cache serves
/// it to another origin).
fn vary() -> HeaderValue {
    HeaderValue::from_static(
        "origin, access-control-request-method, access-control-request-headers",
    )
}

/// The headers of a preflight's answer (Fetch §3.2.3).
fn preflight_headers(headers: &mut HeaderMap, allow_origin: Option<HeaderValue>) {
    headers.insert(VARY, vary());
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,HEAD,POST,PUT,DELETE"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        // Browser MCP clients send `MCP-Protocol-Version` during discovery (MCP 2025-06-18).
        HeaderValue::from_static("authorization,content-type,accept,mcp-protocol-version"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    if let Some(origin) = allow_origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
}

/// The headers added to an actual response: `Vary` added to the response's own, the
/// others replacing any the response had.
fn response_headers(headers: &mut HeaderMap, allow_origin: Option<HeaderValue>) {
    headers.append(VARY, vary());
    if let Some(origin) = allow_origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("www-authenticate"),
    );
}

/// The middleware of a [`CorsPolicy`] ([`CorsPolicy::middleware`]); `wrap` a resource or
/// scope with it.
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsMiddleware {
    allow: Arc<Allow>,
}

impl<Svc, B> Transform<Svc, ServiceRequest> for CorsMiddleware
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CorsService<Svc>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(CorsService {
            allow: Arc::clone(&self.allow),
            service,
        }))
    }
}

/// The service of [`CorsMiddleware`].
#[derive(Debug)]
pub struct CorsService<Svc> {
    allow: Arc<Allow>,
    service: Svc,
}

impl<Svc, B> Service<ServiceRequest> for CorsService<Svc>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        if matches!(*self.allow, Allow::Nothing) {
            let response = self.service.call(request);
            return Box::pin(async move { Ok(response.await?.map_into_left_body()) });
        }
        let allow_origin = self.allow.allow_origin(request.headers().get(ORIGIN));
        if request.method() == Method::OPTIONS {
            let mut preflight = HttpResponse::Ok().finish();
            preflight_headers(preflight.headers_mut(), allow_origin);
            let response = request.into_response(preflight).map_into_right_body();
            return Box::pin(ready(Ok(response)));
        }
        let response = self.service.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            response_headers(response.headers_mut(), allow_origin);
            Ok(response.map_into_left_body())
        })
    }
}
