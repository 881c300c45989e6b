//! The HTTP scenarios every glue passes (`oauth-glue-scenarios`), run against the host
//! app of their contract built with oauth-axum's public API and answered by
//! `Router::oneshot`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::HeaderMap;
use http_body::{Frame, SizeHint};
use oauth_axum::{
    authorization_error_response, AuthorizationRequest, Bearer, CorsPolicy, Page, ProtocolRouter,
    RequireBearer,
};
use oauth_core::resource::Resource;
use oauth_glue_scenarios::harness::{consent_html, describe_access, host_decision};
use oauth_glue_scenarios::{
    App, AppSpec, Cors, Glue, TestProvider, DECISION_HEADER, OTHER_RESOURCE, RESOURCE, USER_HEADER,
};
use oauth_store_memory::MemoryStore;
use tower::ServiceExt as _;

/// oauth-axum under test.
struct Axum;

/// The host app as an axum router.
struct AxumApp(Router);

#[async_trait::async_trait(?Send)]
impl Glue for Axum {
    async fn app(&self, spec: AppSpec) -> Box<dyn App> {
        Box::new(AxumApp(host_app(spec)))
    }
}

#[async_trait::async_trait(?Send)]
impl App for AxumApp {
    async fn send(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        // A body without Content-Length arrives as a stream of unknown length.
        let request = if request.headers().contains_key(http::header::CONTENT_LENGTH) {
            request.map(Body::from)
        } else {
            request.map(|bytes| Body::new(Chunked(bytes)))
        };
        let response = self
            .0
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the response body");
        http::Response::from_parts(parts, bytes)
    }
}

/// A body of unknown length, in 4 KiB frames.
struct Chunked(Bytes);

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.0.is_empty() {
            return Poll::Ready(None);
        }
        let frame = this.0.split_to(this.0.len().min(4096));
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The host app of the contract (see the `oauth_glue_scenarios` crate docs).
fn host_app(spec: AppSpec) -> Router {
    let provider = spec.provider;
    let cors = match spec.cors {
        Cors::AnyOrigin => CorsPolicy::AnyOrigin,
        Cors::Origins(origins) => CorsPolicy::Origins(
            origins
                .iter()
                .map(|origin| origin.parse().expect("an origin"))
                .collect(),
        ),
        Cors::SameOriginOnly => CorsPolicy::SameOriginOnly,
    };
    let resource = |uri: &str| Resource::parse(uri).expect("a resource");
    let api = |path: &str, resource: Resource, scope: &str| -> Router {
        Router::new()
            .route(path, get(describe))
            .route_layer(RequireBearer::for_resource(Arc::clone(&provider), resource).scope(scope))
            .with_state(Arc::clone(&provider))
    };
    let mut app = Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .with_state(Arc::clone(&provider))
        .merge(api("/api/me", resource(RESOURCE), "read"))
        .merge(api("/api/admin", resource(RESOURCE), "admin"));
    if spec.other_resource {
        app = app.merge(api("/files/api", resource(OTHER_RESOURCE), "read"));
    }
    app.merge(ProtocolRouter::new(provider).cors(cors).build())
}

/// `{user} {client} {scope}` of the validated access.
async fn describe(Bearer(access, _): Bearer<MemoryStore>) -> String {
    describe_access(&access)
}

/// The consent page, or the logged-in user's decision, or the error response.
async fn authorize(
    State(provider): State<TestProvider>,
    headers: HeaderMap,
    request: AuthorizationRequest<MemoryStore>,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .map(|value| value.to_str().expect("a visible ASCII header value"))
    };
    let decision = host_decision(header(USER_HEADER), header(DECISION_HEADER));
    match (request.into_result(), decision) {
        (Ok(pending), None) => Page::consent(consent_html(&pending), &pending).into_response(),
        (Ok(pending), Some((user, decision))) => {
            match provider.complete_authorization(pending, decision).await {
                Ok(redirect) => redirect.map(Body::from),
                Err(error) => authorization_error_response(error, Some(&user)),
            }
        }
        (Err(error), decision) => {
            authorization_error_response(error, decision.as_ref().map(|(user, _)| user))
        }
    }
}

oauth_glue_scenarios::scenarios!(#[tokio::test], Axum);
