//! The actix-web side of the server: the routes (the shared pages, the protected API and
//! MCP endpoint, and `oauth-actix`'s protocol service), the middleware the pages use, the
//! conversions between actix's `http` 0.2 types and the `http` 1.x types
//! `example-support` speaks, and the sending of the shared handlers' [`Reply`]s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{
    HeaderMap as ActixHeaderMap, HeaderValue as ActixHeaderValue, CONTENT_TYPE, LOCATION,
    SET_COOKIE, STRICT_TRANSPORT_SECURITY,
};
use actix_web::http::{ConnectionType, Method, StatusCode as ActixStatus};
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, Error, HttpMessage, HttpRequest, HttpResponse, Route};
use example_support::flow::{self, ConsentForm, CsrfOnly, LoginForm, ReturnTo, RevokeForm};
use example_support::{
    api, bad_form, bad_query, cookie_leak_page, error_page, mcp, Answer, App, Reply, Visitor,
    MAX_FORM_BYTES, MCP_SCOPE, PROFILE_SCOPE, REQUEST_TIMEOUT,
};
use http::StatusCode;
use oauth_actix::{
    core_response, AuthorizationRequest, Bearer, CorsPolicy, Page, ProtocolService, RequireBearer,
};
use oauth_core::Store;
use serde::de::DeserializeOwned;
use tracing::Instrument;

/// Set once the server is asked to stop: responses then end their connection
/// (`Connection: close`), so that graceful shutdown waits only for idle ones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stopping(Arc<AtomicBool>);

impl Stopping {
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The whole application, for one worker: `app`'s routes with the layers every response
/// goes through (tracing, the request timeout, HSTS, `Connection: close` when stopping).
pub(crate) fn configure<S: Store>(app: &Arc<App<S>>, cfg: &mut web::ServiceConfig) {
    let provider = Arc::clone(app.provider());
    cfg.app_data(web::Data::from(Arc::clone(app)))
        .app_data(web::Data::from(Arc::clone(&provider)));
    pages::<S>(cfg, &provider.config().endpoints().authorization);

    // The demo API and the MCP endpoint: CORS outside the bearer check, so that a
    // browser client's preflight is answered and it can read a 401's challenge.
    cfg.service(
        web::resource("/api/me")
            .route(get_or_head().to(me::<S>))
            .wrap(RequireBearer::new(Arc::clone(&provider)).scope(PROFILE_SCOPE))
            .wrap(CorsPolicy::AnyOrigin.middleware()),
    );
    let authority: Arc<str> = Arc::from(app.authority());
    cfg.service(
        web::resource("/mcp")
            .app_data(web::PayloadConfig::new(mcp::MAX_MESSAGE_BYTES))
            .route(web::post().to(mcp_endpoint::<S>))
            .route(get_or_head().to(no_stream))
            .route(web::delete().to(no_stream))
            .wrap(RequireBearer::new(Arc::clone(&provider)).scope(MCP_SCOPE))
            .wrap(from_fn(
                move |request: ServiceRequest, next: Next<EitherBody<BoxBody>>| {
                    check_host(Arc::clone(&authority), request, next)
                },
            ))
            .wrap(CorsPolicy::AnyOrigin.middleware()),
    );

    let protocol = ProtocolService::new(provider).cors(CorsPolicy::AnyOrigin);
    protocol.configure(cfg);
}

/// `GET` (and `HEAD`, as axum routes them).
fn get_or_head() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// The pages: each resource identifies its visitor first ([`visit`]). The body limit is
/// [`read_form`]'s.
fn pages<S: Store>(cfg: &mut web::ServiceConfig, authorization_path: &str) {
    cfg.service(
        web::resource("/")
            .route(get_or_head().to(home::<S>))
            .wrap(from_fn(visit::<S>)),
    )
    .service(
        web::resource(authorization_path)
            .route(get_or_head().to(authorize::<S>))
            .route(web::post().to(authorize::<S>))
            .wrap(from_fn(visit::<S>)),
    )
    .service(
        web::resource("/login")
            .route(get_or_head().to(login_page::<S>))
            .route(web::post().to(login::<S>))
            .wrap(from_fn(visit::<S>)),
    )
    .service(
        web::resource("/consent")
            .route(web::post().to(consent::<S>))
            .wrap(from_fn(visit::<S>)),
    )
    .service(
        web::resource("/logout")
            .route(web::post().to(logout::<S>))
            .wrap(from_fn(visit::<S>)),
    )
    .service(
        web::resource("/account")
            .route(get_or_head().to(account::<S>))
            .wrap(from_fn(visit::<S>)),
    )
    .service(
        web::resource("/account/revoke")
            .route(web::post().to(revoke::<S>))
            .wrap(from_fn(visit::<S>)),
    );
}

/// The layers around every response, outermost first: a span per request (method and
/// path only: queries carry `state`, challenges and the like), 408 after
/// [`REQUEST_TIMEOUT`], `Strict-Transport-Security` when the issuer calls for it, and
/// `Connection: close` once stopping.
pub(crate) async fn around(
    hsts: Option<ActixHeaderValue>,
    stopping: Stopping,
    request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let span = tracing::info_span!("request", method = %request.method(), path = %request.path());
    let started = Instant::now();
    async move {
        // A request handed on cannot be kept (actix routes it by mutating it in place),
        // so the 408 is an error whose response is exactly that, and gets no HSTS: as in
        // the axum example, where the timeout layer is outside the HSTS one.
        let response = match tokio::time::timeout(REQUEST_TIMEOUT, next.call(request)).await {
            Ok(response) => response,
            Err(_) => Err(InternalError::from_response(
                "request timed out",
                HttpResponse::new(ActixStatus::REQUEST_TIMEOUT),
            )
            .into()),
        };
        let mut response = match response {
            Ok(response) => response,
            Err(error) => {
                tracing::info!(%error, latency = ?started.elapsed(), "request failed");
                return Err(error);
            }
        };
        if let Some(hsts) = hsts {
            response
                .headers_mut()
                .insert(STRICT_TRANSPORT_SECURITY, hsts);
        }
        if stopping.is_set() {
            response
                .response_mut()
                .head_mut()
                .set_connection_type(ConnectionType::Close);
        }
        tracing::info!(
            latency = ?started.elapsed(),
            status = response.status().as_u16(),
            "finished processing request"
        );
        Ok(response)
    }
    .instrument(span)
    .await
}

/// A request's headers as `http` 1.x's, every one in its order; `None` if one cannot be
/// represented (which the two crates' alike validation rules out, and is still refused
/// rather than dropped: a dropped `Origin` would weaken the form checks).
fn http_headers(headers: &ActixHeaderMap) -> Option<http::HeaderMap> {
    let mut converted = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(value.as_bytes()).ok()?;
        converted.append(name, value);
    }
    Some(converted)
}

/// An `http` 1.x status as actix's.
fn actix_status(status: StatusCode) -> ActixStatus {
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}

/// Sends a shared handler's answer: pages through `oauth-actix`'s [`Page`] (the pages'
/// security headers), the core's responses as they are, and the cookies it sets.
fn respond(reply: Reply) -> HttpResponse {
    let (answer, cookies) = reply.into_parts();
    let mut response = match answer {
        Answer::Page { status, html } => {
            HttpResponse::from(Page::error(actix_status(status), html))
        }
        Answer::Consent { html, pending } => HttpResponse::from(Page::consent(html, &pending)),
        Answer::SeeOther(path) => match ActixHeaderValue::from_str(&path) {
            Ok(location) => {
                let mut response = HttpResponse::new(ActixStatus::SEE_OTHER);
                response.headers_mut().insert(LOCATION, location);
                response
            }
            Err(_) => return HttpResponse::InternalServerError().finish(),
        },
        Answer::Core(response) => core_response(*response),
    };
    for cookie in cookies {
        match ActixHeaderValue::from_bytes(cookie.as_bytes()) {
            Ok(cookie) => response.headers_mut().append(SET_COOKIE, cookie),
            // Never sent without a cookie it sets (a login without its session).
            Err(_) => return HttpResponse::InternalServerError().finish(),
        }
    }
    response
}

/// What [`visit`] found out about a page request, for its handler.
#[derive(Clone)]
struct Visit {
    visitor: Visitor,
    headers: http::HeaderMap,
}

/// Identifies the visitor of every page route, gives a new browser its cookie, and
/// refuses a redirect that would hand the cookies to another port of this host.
async fn visit<S: Store>(
    request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(app) = request.app_data::<web::Data<App<S>>>().cloned() else {
        tracing::error!("the application is not registered");
        return Ok(request.into_response(HttpResponse::InternalServerError().finish()));
    };
    let Some(headers) = http_headers(request.headers()) else {
        let refused = error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The request could not be read.",
        );
        return Ok(request.into_response(respond(refused)));
    };
    let (visitor, set) = match app.visit(&headers) {
        Ok(visited) => visited,
        Err(refused) => return Ok(request.into_response(respond(refused))),
    };
    request.extensions_mut().insert(Visit { visitor, headers });
    let mut response = next.call(request).await?;
    let leaks = response
        .headers()
        .get(LOCATION)
        .and_then(|location| location.to_str().ok())
        .is_some_and(|location| app.leaks_cookies(location));
    if leaks {
        response = response.into_response(respond(cookie_leak_page()));
    }
    if let Some(set) = set {
        match ActixHeaderValue::from_bytes(set.as_bytes()) {
            Ok(set) => response.headers_mut().append(SET_COOKIE, set),
            Err(_) => {
                response = response.into_response(HttpResponse::InternalServerError().finish())
            }
        }
    }
    Ok(response)
}

/// A form body: `application/x-www-form-urlencoded` (else 415), at most
/// [`MAX_FORM_BYTES`] (else 413), each field once (else 422), answered by an error page
/// as the axum example's form reader does.
async fn read_form<T: DeserializeOwned>(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<T, Reply> {
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(bad_form(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let body = match payload.to_bytes_limited(MAX_FORM_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(bad_form(StatusCode::BAD_REQUEST)),
        Err(_) => return Err(bad_form(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    serde_urlencoded::from_bytes(&body).map_err(|_| bad_form(StatusCode::UNPROCESSABLE_ENTITY))
}

async fn home<S: Store>(app: web::Data<App<S>>, visit: web::ReqData<Visit>) -> HttpResponse {
    respond(flow::home(&app, &visit.visitor))
}

/// The authorization endpoint (GET or POST, OAuth 2.1 §4.1.1).
async fn authorize<S: Store>(
    app: web::Data<App<S>>,
    visit: web::ReqData<Visit>,
    request: HttpRequest,
    AuthorizationRequest(result, _): AuthorizationRequest<S>,
) -> HttpResponse {
    // A GET can be replayed after login; a POST's body is gone.
    let replay = (request.method() == Method::GET)
        .then(|| {
            request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
        })
        .flatten();
    respond(flow::authorize(&app, &visit.visitor, replay.as_deref(), result).await)
}

async fn login_page<S: Store>(
    app: web::Data<App<S>>,
    visit: web::ReqData<Visit>,
    request: HttpRequest,
) -> HttpResponse {
    match serde_urlencoded::from_str::<ReturnTo>(request.query_string()) {
        Ok(query) => respond(flow::login_page(&app, &visit.visitor, &query)),
        Err(_) => respond(bad_query(StatusCode::BAD_REQUEST)),
    }
}

async fn login<S: Store>(
    app: web::Data<App<S>>,
    visit: web::ReqData<Visit>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let form: LoginForm = match read_form(&request, payload).await {
        Ok(form) => form,
        Err(refused) => return respond(refused),
    };
    respond(flow::login(&app, &visit.visitor, &visit.headers, form).await)
}

async fn consent<S: Store>(
    app: web::Data<App<S>>,
    visit: web::ReqData<Visit>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let form: ConsentForm = match read_form(&request, payload).await {
        Ok(form) => form,
        Err(refused) => return respond(refused),
    };
    respond(flow::consent(&app, &visit.visitor, &visit.headers, form).await)
}

async fn logout<S: Store>(
    app: web::Data<App<S>>,
    visit: web::ReqData<Visit>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let form: CsrfOnly = match read_form(&request, payload).await {
        Ok(form) => form,
        Err(refused) => return respond(refused),
    };
    respond(flow::logout(&app, &visit.visitor, &visit.headers, &form))
}

async fn account<S: Store>(app: web::Data<App<S>>, visit: web::ReqData<Visit>) -> HttpResponse {
    respond(flow::account(&app, &visit.visitor).await)
}

async fn revoke<S: Store>(
    app: web::Data<App<S>>,
    visit: web::ReqData<Visit>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let form: RevokeForm = match read_form(&request, payload).await {
        Ok(form) => form,
        Err(refused) => return respond(refused),
    };
    respond(flow::revoke(&app, &visit.visitor, &visit.headers, &form).await)
}

/// The demo API. `RequireBearer` has already checked the token and the `profile` scope.
async fn me<S: Store>(Bearer(access, _): Bearer<S>) -> HttpResponse {
    HttpResponse::Ok().json(api::me(&access))
}

/// Refuses a request whose host is not this server's (DNS rebinding): the `Host` header,
/// and the request target's authority (absolute form, or HTTP/2's `:authority`, which
/// actix keeps in the URI).
async fn check_host<B: MessageBody + 'static>(
    authority: Arc<str>,
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(headers) = http_headers(request.headers()) else {
        return Ok(request.into_response(HttpResponse::BadRequest().finish()));
    };
    let target = request.uri().authority().map(|target| target.as_str());
    if let Some(refused) = mcp::check_host(target, &headers, &authority) {
        return Ok(request.into_response(core_response(refused)));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// `GET` and `DELETE` on the MCP endpoint: no streams, no sessions.
async fn no_stream() -> HttpResponse {
    core_response(mcp::no_stream())
}

/// One JSON-RPC message to the MCP endpoint.
async fn mcp_endpoint<S: Store>(
    app: web::Data<App<S>>,
    Bearer(access, _): Bearer<S>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(headers) = http_headers(request.headers()) else {
        return HttpResponse::BadRequest().finish();
    };
    core_response(mcp::endpoint(app.flavor(), &access, &headers, &body))
}
