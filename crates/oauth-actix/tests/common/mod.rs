//! What the glue tests add to the shared harness of `oauth_glue_scenarios` (providers,
//! constants, request pairs, clients and codes obtained through the core, header
//! assertions; re-exported here): requests built with `actix_web::test::TestRequest`,
//! responses taken apart (their headers as `http::HeaderMap`, which the shared
//! assertions read), and request payloads that count how much of them the glue reads.
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

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use bytes::Bytes;
use futures_core::Stream;
use http::HeaderMap;
use oauth_actix::ProtocolService;
use oauth_core::model::Client;
use oauth_core::Provider;
use oauth_store_memory::MemoryStore;
use serde_json::Value;

pub(crate) use oauth_glue_scenarios::harness::*;
pub(crate) use oauth_glue_scenarios::{TestProvider, ISSUER, OTHER_RESOURCE, RESOURCE};

pub(crate) type Request = actix_http::Request;

/// actix's headers (of `http` 0.2) as an `http::HeaderMap`, every value in order.
pub(crate) fn http_headers(headers: &actix_web::http::header::HeaderMap) -> HeaderMap {
    let mut converted = HeaderMap::new();
    for (name, value) in headers {
        converted.append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).expect("a header name"),
            http::HeaderValue::from_bytes(value.as_bytes()).expect("a header value"),
        );
    }
    converted
}

/// The provider as the extractors find it.
pub(crate) fn data(provider: &TestProvider) -> web::Data<Provider<MemoryStore>> {
    web::Data::from(Arc::clone(provider))
}

/// An app serving the protocol endpoints of `provider`, with the default CORS policy.
pub(crate) async fn protocol(
    provider: &TestProvider,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    let service = ProtocolService::new(Arc::clone(provider));
    test::init_service(actix_web::App::new().configure(|cfg| service.configure(cfg))).await
}

/// A response taken apart: status, headers, whole body.
pub(crate) type Parts = (StatusCode, HeaderMap, Bytes);

/// Sends one request through `app`, and takes the response apart.
pub(crate) async fn send<S, B>(app: &S, request: Request) -> Parts
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, request).await;
    let status = response.status();
    let headers = http_headers(response.headers());
    let body = test::read_body(response).await;
    (status, headers, body)
}

/// Sends one request through `app`, and reads the response's body as JSON (`Null` when
/// it is empty).
pub(crate) async fn send_json<S, B>(app: &S, request: Request) -> (StatusCode, HeaderMap, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, headers, bytes) = send(app, request).await;
    (status, headers, json_or_null(status.as_str(), &bytes))
}

/// Sends one request through `app`, and reads the response's body as UTF-8.
pub(crate) async fn send_text<S, B>(app: &S, request: Request) -> (StatusCode, HeaderMap, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, headers, bytes) = send(app, request).await;
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// A form POST to `path` (with `Content-Length`, as a client sends it).
pub(crate) fn form_post(path: &str, pairs: &[(&str, &str)]) -> Request {
    TestRequest::post()
        .uri(path)
        .insert_header(("content-type", FORM))
        .set_payload(form(pairs))
        .to_request()
}

/// A request with `method` to `uri`, no body.
pub(crate) fn empty(method: Method, uri: &str) -> Request {
    TestRequest::default().method(method).uri(uri).to_request()
}

/// `GET uri` with `Authorization: Bearer token`.
pub(crate) fn bearer_get(uri: &str, token: &str) -> Request {
    TestRequest::get()
        .uri(uri)
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request()
}

/// The token request that redeems `code` for the public client `client_id`.
pub(crate) fn code_redemption(client_id: &str, code: &str) -> Request {
    form_post("/token", &redemption_pairs(client_id, code))
}

/// The full flow for a new public client, the code redeemed through the protocol
/// endpoints: (client, token response body).
pub(crate) async fn tokens_via_app(
    provider: &TestProvider,
    user: &str,
    overrides: &[(&str, &str)],
) -> (Client, Value) {
    let client = public_client(provider).await;
    let code = obtain_code(provider, client.id.as_str(), user, overrides).await;
    let app = protocol(provider).await;
    let (status, _, body) = send_json(&app, code_redemption(client.id.as_str(), &code)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (client, body)
}

/// An access token for `alice` with `scope`, from a new public client.
pub(crate) async fn access_token(provider: &TestProvider, scope: &str) -> (Client, String) {
    let (client, body) = tokens_via_app(provider, "alice", &[("scope", scope)]).await;
    (client, body["access_token"].as_str().unwrap().to_owned())
}

// ---- payloads that count what the glue pulls ----

/// A request payload of `chunks` chunks of `chunk` each, or of given items (an `Err` is
/// a failure of the stream), that counts how many items were pulled. It has no length:
/// it arrives as a chunked body does (the request's `Content-Length` header, if any, is
/// only a claim).
pub(crate) struct CountingPayload {
    items: VecDeque<Result<Bytes, PayloadError>>,
    repeat: Option<(Bytes, usize)>,
    pulled: Arc<AtomicUsize>,
}

impl CountingPayload {
    /// `count` chunks of `chunk`.
    pub(crate) fn repeat(chunk: Bytes, count: usize) -> (Self, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let payload = CountingPayload {
            items: VecDeque::new(),
            repeat: Some((chunk, count)),
            pulled: Arc::clone(&pulled),
        };
        (payload, pulled)
    }

    /// These items, in order.
    pub(crate) fn items(items: Vec<Result<Bytes, PayloadError>>) -> (Self, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let payload = CountingPayload {
            items: items.into(),
            repeat: None,
            pulled: Arc::clone(&pulled),
        };
        (payload, pulled)
    }
}

impl Stream for CountingPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = match &mut this.repeat {
            Some((chunk, remaining)) if *remaining > 0 => {
                *remaining -= 1;
                Some(Ok(chunk.clone()))
            }
            Some(_) => None,
            None => this.items.pop_front(),
        };
        if next.is_some() {
            this.pulled.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(next)
    }
}

/// `request` with `payload` as its body.
pub(crate) fn with_payload(request: TestRequest, payload: CountingPayload) -> Request {
    let stream: actix_http::BoxedPayloadStream = Box::pin(payload);
    let (request, _) = request
        .to_request()
        .replace_payload(Payload::Stream { payload: stream });
    request
}

/// Items pulled so far.
pub(crate) fn pulled(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}
