//! What the glue tests add to the shared harness of `oauth_glue_scenarios` (providers,
//! constants, request pairs, clients and codes obtained through the core, header
//! assertions; re-exported here): requests and responses as axum types, the protocol
//! router, and request bodies that count how much of them the glue reads.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test file uses a different part of the harness"
)]

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::Response;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use http_body::{Frame, SizeHint};
use oauth_axum::ProtocolRouter;
use oauth_core::model::Client;
use serde_json::Value;
use tower::ServiceExt as _;

pub(crate) use oauth_glue_scenarios::harness::*;
pub(crate) use oauth_glue_scenarios::{TestProvider, ISSUER, OTHER_RESOURCE, RESOURCE};

/// The protocol router of `provider`, with the default CORS policy.
pub(crate) fn protocol(provider: &TestProvider) -> Router {
    ProtocolRouter::new(Arc::clone(provider)).build()
}

/// Sends one request through `router`.
pub(crate) async fn send(router: Router, request: Request<Body>) -> Response {
    router.oneshot(request).await.unwrap()
}

/// A response taken apart: status, headers, whole body.
pub(crate) async fn parts(response: Response) -> (StatusCode, HeaderMap, Bytes) {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, bytes)
}

/// A response taken apart with a JSON body (`Null` when the body is empty).
pub(crate) async fn json_parts(response: Response) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, bytes) = parts(response).await;
    (status, headers, json_or_null(status.as_str(), &bytes))
}

/// A response taken apart with a UTF-8 body.
pub(crate) async fn text_parts(response: Response) -> (StatusCode, HeaderMap, String) {
    let (status, headers, bytes) = parts(response).await;
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// A form POST to `path`, as a client sends it (origin-form URI, as hyper delivers it).
pub(crate) fn form_post(path: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    Request::post(path)
        .header("content-type", FORM)
        .body(Body::from(form(pairs)))
        .unwrap()
}

/// A request with `method` to `uri`, no body.
pub(crate) fn empty(method: http::Method, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}

/// `GET uri` with `Authorization: Bearer token`.
pub(crate) fn bearer_get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// The token request that redeems `code` for the public client `client_id`.
pub(crate) fn code_redemption(client_id: &str, code: &str) -> Request<Body> {
    form_post("/token", &redemption_pairs(client_id, code))
}

/// The full flow for a new public client, the code redeemed through the protocol router:
/// (client, token response body).
pub(crate) async fn tokens_via_router(
    provider: &TestProvider,
    user: &str,
    overrides: &[(&str, &str)],
) -> (Client, Value) {
    let client = public_client(provider).await;
    let code = obtain_code(provider, client.id.as_str(), user, overrides).await;
    let response = send(
        protocol(provider),
        code_redemption(client.id.as_str(), &code),
    )
    .await;
    let (status, _, body) = json_parts(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (client, body)
}

/// An access token for `alice` with `scope`, from a new public client.
pub(crate) async fn access_token(provider: &TestProvider, scope: &str) -> (Client, String) {
    let (client, body) = tokens_via_router(provider, "alice", &[("scope", scope)]).await;
    (client, body["access_token"].as_str().unwrap().to_owned())
}

// ---- bodies that count what the glue pulls ----

/// A request body of `chunks` frames of `chunk` each, that counts how many frames were
/// pulled, optionally announcing an exact (possibly false) size and failing after some
/// frames.
pub(crate) struct CountingBody {
    frames: VecDeque<Result<Bytes, std::io::Error>>,
    repeat: Option<(Bytes, usize)>,
    pulled: Arc<AtomicUsize>,
    exact_size: Option<u64>,
}

impl CountingBody {
    /// `count` frames of `chunk`.
    pub(crate) fn repeat(chunk: Bytes, count: usize) -> (Self, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = CountingBody {
            frames: VecDeque::new(),
            repeat: Some((chunk, count)),
            pulled: Arc::clone(&pulled),
            exact_size: None,
        };
        (body, pulled)
    }

    /// These frames, in order (an `Err` is a failure of the stream).
    pub(crate) fn frames(frames: Vec<Result<Bytes, std::io::Error>>) -> (Self, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = CountingBody {
            frames: frames.into(),
            repeat: None,
            pulled: Arc::clone(&pulled),
            exact_size: None,
        };
        (body, pulled)
    }

    /// Announces an exact size of `bytes` (`size_hint`), true or not.
    pub(crate) fn claiming(mut self, bytes: u64) -> Self {
        self.exact_size = Some(bytes);
        self
    }
}

impl http_body::Body for CountingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        let next = match &mut this.repeat {
            Some((chunk, remaining)) if *remaining > 0 => {
                *remaining -= 1;
                Some(Ok(chunk.clone()))
            }
            Some(_) => None,
            None => this.frames.pop_front(),
        };
        if next.is_some() {
            this.pulled.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(next.map(|frame| frame.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_size {
            Some(bytes) => SizeHint::with_exact(bytes),
            None => SizeHint::default(),
        }
    }
}

/// Frames pulled so far.
pub(crate) fn pulled(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}
