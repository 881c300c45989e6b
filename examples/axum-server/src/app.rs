//! The axum side of the server: the router (the shared pages, the protected API and MCP
//! endpoint, and `oauth-axum`'s protocol endpoints), the extractors and middleware the
//! pages use, and the sending of the shared handlers' [`Reply`]s.

use std::ops::Deref;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{
    DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, OriginalUri, Query, Request, State,
};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use example_support::flow::{self, ConsentForm, CsrfOnly, LoginForm, ReturnTo, RevokeForm};
use example_support::{
    api, bad_form, bad_query, cookie_leak_page, mcp, Answer, App, Reply, Visitor, MAX_FORM_BYTES,
    MCP_SCOPE, PROFILE_SCOPE, REQUEST_TIMEOUT,
};
use http::header::{LOCATION, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};
use oauth_axum::{AuthorizationRequest, Bearer, CorsPolicy, Page, ProtocolRouter, RequireBearer};
use oauth_core::{Provider, Store};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The handlers' state: the shared [`App`].
pub(crate) struct AppState<S: Store>(pub(crate) Arc<App<S>>);

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState(Arc::clone(&self.0))
    }
}

impl<S: Store> Deref for AppState<S> {
    type Target = App<S>;
    fn deref(&self) -> &App<S> {
        &self.0
    }
}

/// `oauth-axum`'s extractors find the provider in the application state.
impl<S: Store> FromRef<AppState<S>> for Arc<Provider<S>> {
    fn from_ref(state: &AppState<S>) -> Self {
        Arc::clone(state.provider())
    }
}

/// Sends a shared handler's answer: pages through `oauth-axum`'s [`Page`] (the pages'
/// security headers), the core's responses as they are, and the cookies it sets.
fn respond(reply: Reply) -> Response {
    let (answer, cookies) = reply.into_parts();
    let mut response = match answer {
        Answer::Page { status, html } => Page::error(status, html).into_response(),
        Answer::Consent { html, pending } => Page::consent(html, &pending).into_response(),
        Answer::SeeOther(path) => Redirect::to(&path).into_response(),
        Answer::Core(response) => (*response).map(Body::from),
    };
    for cookie in cookies {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// Identifies the visitor of every page route, gives a new browser its cookie, and
/// refuses a redirect that would hand the cookies to another port of this host.
async fn visitor<S: Store>(
    State(app): State<AppState<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let (visitor, set) = match app.visit(request.headers()) {
        Ok(visited) => visited,
        Err(refused) => return respond(refused),
    };
    request.extensions_mut().insert(visitor);
    let mut response = next.run(request).await;
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok());
    if location.is_some_and(|location| app.leaks_cookies(location)) {
        response = respond(cookie_leak_page());
    }
    if let Some(set) = set {
        response.headers_mut().append(SET_COOKIE, set);
    }
    response
}

/// A form body, with a malformed one (missing or duplicated fields, bad encoding)
/// answered by an error page.
pub(crate) struct PageForm<T>(pub(crate) T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(value)) => Ok(PageForm(value)),
            Err(rejection) => Err(respond(bad_form(rejection.status()))),
        }
    }
}

/// A query string, with a malformed one answered by an error page.
pub(crate) struct PageQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for PageQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(PageQuery(value)),
            Err(rejection) => Err(respond(bad_query(rejection.status()))),
        }
    }
}

/// The whole application.
pub(crate) fn router<S: Store>(state: AppState<S>) -> Router {
    let provider = Arc::clone(state.provider());
    let authorization_path = provider.config().endpoints().authorization.clone();

    let pages = Router::new()
        .route("/", get(home::<S>))
        .route(
            &authorization_path,
            get(authorize::<S>).post(authorize::<S>),
        )
        .route("/login", get(login_page::<S>).post(login::<S>))
        .route("/consent", post(consent::<S>))
        .route("/logout", post(logout::<S>))
        .route("/account", get(account::<S>))
        .route("/account/revoke", post(revoke::<S>))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .route_layer(middleware::from_fn_with_state(state.clone(), visitor::<S>));

    let cors = CorsPolicy::AnyOrigin.layer();
    let mut api = Router::new()
        .route("/api/me", get(me::<S>))
        .route_layer(RequireBearer::new(Arc::clone(&provider)).scope(PROFILE_SCOPE));
    let mut mcp = Router::new()
        .route(
            "/mcp",
            post(mcp_endpoint::<S>).get(no_stream).delete(no_stream),
        )
        .route_layer(RequireBearer::new(Arc::clone(&provider)).scope(MCP_SCOPE))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            check_host::<S>,
        ))
        .layer(DefaultBodyLimit::max(mcp::MAX_MESSAGE_BYTES));
    if let Some(cors) = cors {
        api = api.layer(cors.clone());
        mcp = mcp.layer(cors);
    }

    let hsts = state.hsts();
    pages
        .merge(api)
        .merge(mcp)
        .with_state(state)
        .merge(ProtocolRouter::new(provider).build())
        .layer(middleware::map_response(move |mut response: Response| {
            let hsts = hsts.clone();
            async move {
                if let Some(hsts) = hsts {
                    response
                        .headers_mut()
                        .insert(STRICT_TRANSPORT_SECURITY, hsts);
                }
                response
            }
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // The path only: queries carry `state`, challenges and the like.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

async fn home<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
) -> Response {
    respond(flow::home(&app, &visitor))
}

/// The authorization endpoint (GET or POST, OAuth 2.1 §4.1.1).
async fn authorize<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    AuthorizationRequest(result, _): AuthorizationRequest<S>,
) -> Response {
    // A GET can be replayed after login; a POST's body is gone.
    let replay = (method == Method::GET)
        .then(|| uri.path_and_query().map(|pq| pq.as_str().to_owned()))
        .flatten();
    respond(flow::authorize(&app, &visitor, replay.as_deref(), result).await)
}

async fn login_page<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
    PageQuery(query): PageQuery<ReturnTo>,
) -> Response {
    respond(flow::login_page(&app, &visitor, &query))
}

async fn login<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    respond(flow::login(&app, &visitor, &headers, form).await)
}

async fn consent<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
    headers: HeaderMap,
    PageForm(form): PageForm<ConsentForm>,
) -> Response {
    respond(flow::consent(&app, &visitor, &headers, form).await)
}

async fn logout<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
    headers: HeaderMap,
    PageForm(form): PageForm<CsrfOnly>,
) -> Response {
    respond(flow::logout(&app, &visitor, &headers, &form))
}

async fn account<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
) -> Response {
    respond(flow::account(&app, &visitor).await)
}

async fn revoke<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
    headers: HeaderMap,
    PageForm(form): PageForm<RevokeForm>,
) -> Response {
    respond(flow::revoke(&app, &visitor, &headers, &form).await)
}

/// The demo API. `RequireBearer` has already checked the token and the `profile` scope.
async fn me<S: Store>(Bearer(access, _): Bearer<S>) -> Json<serde_json::Value> {
    Json(api::me(&access))
}

/// Refuses a request whose `Host` is not this server's (DNS rebinding).
async fn check_host<S: Store>(
    State(app): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let target = request.uri().authority().map(|target| target.as_str());
    if let Some(refused) = mcp::check_host(target, request.headers(), app.authority()) {
        return refused.map(Body::from);
    }
    next.run(request).await
}

/// `GET` and `DELETE` on the MCP endpoint: no streams, no sessions.
async fn no_stream() -> Response {
    mcp::no_stream().map(Body::from)
}

/// One JSON-RPC message to the MCP endpoint.
async fn mcp_endpoint<S: Store>(
    State(app): State<AppState<S>>,
    Bearer(access, _): Bearer<S>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mcp::endpoint(app.flavor(), &access, &headers, &body).map(Body::from)
}
