//! Bodies are bounded before they are read: the glue reads at most `max_body_bytes + 1`
//! bytes, whatever `Content-Length` or the body's size hint claim, and the core answers an
//! oversized body as the endpoint's RFC says (413 `invalid_request` at the token
//! endpoint).

mod common;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::*;
use http::{Request, StatusCode};
use oauth_axum::AuthorizationRequest;
use oauth_store_memory::MemoryStore;

const CHUNK: usize = 8 * 1024;
/// 64 MiB in 8 KiB chunks.
const CHUNKS: usize = 64 * 1024 * 1024 / CHUNK;

fn chunk() -> Bytes {
    Bytes::from(vec![b'a'; CHUNK])
}

/// A token request whose body is `body`.
fn token_post(body: Body) -> Request<Body> {
    Request::post("/token")
        .header("content-type", FORM)
        .body(body)
        .unwrap()
}

/// The core's answer to an oversized token request.
async fn assert_token_body_too_large(response: Response) {
    let (status, headers, body) = json_parts(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "request body too large");
}

/// The largest number of `CHUNK`-sized frames needed to see `max + 1` bytes.
fn frames_for(max: usize) -> usize {
    (max + 1).div_ceil(CHUNK)
}

#[tokio::test]
async fn streamed_oversized_body_is_read_only_up_to_max_body_bytes_plus_one() {
    let provider = provider();
    let (body, counter) = CountingBody::repeat(chunk(), CHUNKS);
    let response = send(protocol(&provider), token_post(Body::new(body))).await;
    assert_token_body_too_large(response).await;
    let pulled = pulled(&counter);
    assert!(
        pulled <= frames_for(DEFAULT_MAX_BODY),
        "{pulled} frames of {CHUNKS} pulled"
    );
    assert!(pulled >= 2, "{pulled}");
}

#[tokio::test]
async fn body_whose_content_length_lies_is_cut_at_the_limit() {
    let provider = provider();
    // Declares 16 bytes (header and size hint), sends 64 MiB.
    let (body, counter) = CountingBody::repeat(chunk(), CHUNKS);
    let request = Request::post("/token")
        .header("content-type", FORM)
        .header("content-length", "16")
        .body(Body::new(body.claiming(16)))
        .unwrap();
    assert_token_body_too_large(send(protocol(&provider), request).await).await;
    let pulled = pulled(&counter);
    assert!(
        pulled <= frames_for(DEFAULT_MAX_BODY),
        "{pulled} frames of {CHUNKS} pulled"
    );
}

#[tokio::test]
async fn body_bound_follows_the_configured_max_body_bytes() {
    const MAX: usize = 100 * 1024;
    let provider = provider_with(|b| b.max_body_bytes(MAX));
    let (body, counter) = CountingBody::repeat(chunk(), CHUNKS);
    assert_token_body_too_large(send(protocol(&provider), token_post(Body::new(body))).await).await;
    let pulled = pulled(&counter);
    assert!(pulled <= frames_for(MAX), "{pulled}");
    // The glue did read up to the configured limit, not a fixed one.
    assert!(pulled * CHUNK > MAX, "{pulled}");
}

#[tokio::test]
async fn registration_body_is_bounded_too() {
    let provider = registration_provider();
    let (body, counter) = CountingBody::repeat(chunk(), CHUNKS);
    let request = Request::post("/register")
        .header("content-type", "application/json")
        .body(Body::new(body))
        .unwrap();
    let (status, headers, body) = json_parts(send(protocol(&provider), request).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "invalid_request");
    assert!(pulled(&counter) <= frames_for(DEFAULT_MAX_BODY));
}

/// A host authorization route that renders the outcome's reason.
fn authorization_app(provider: &TestProvider) -> Router {
    async fn authorize(request: AuthorizationRequest<MemoryStore>) -> Response {
        match request.into_result() {
            Ok(pending) => format!("ok {}", pending.client_id()).into_response(),
            Err(error) => {
                let reason = format!("{:?}", error.reason());
                let mut response = oauth_axum::authorization_error_response(error, None);
                response.headers_mut().insert(
                    "x-test-reason",
                    http::HeaderValue::from_str(&reason).unwrap(),
                );
                response
            }
        }
    }
    Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .with_state(Arc::clone(provider))
}

#[tokio::test]
async fn authorization_post_body_is_bounded_and_refused_as_too_large() {
    let provider = provider();
    let (body, counter) = CountingBody::repeat(chunk(), CHUNKS);
    let request = Request::post("/authorize")
        .header("content-type", FORM)
        .body(Body::new(body))
        .unwrap();
    let (status, headers, text) =
        text_parts(send(authorization_app(&provider), request).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(header(&headers, "x-test-reason"), "Some(BodyTooLarge)");
    assert!(headers.get("location").is_none());
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert!(pulled(&counter) <= frames_for(DEFAULT_MAX_BODY));
}

#[tokio::test]
async fn body_that_fails_mid_stream_is_never_processed() {
    // The first frame is a complete, valid code redemption; then the stream fails (the
    // client went away, or a limit layer cut it). The request was not received whole, so
    // the code must not be redeemed on its behalf.
    let provider = provider();
    let client = public_client(&provider).await;
    let code = obtain_code(&provider, client.id.as_str(), "alice", &[]).await;
    let valid = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", client.id.as_str()),
        ("code_verifier", VERIFIER),
    ]);
    let (body, _) = CountingBody::frames(vec![
        Ok(Bytes::from(valid)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "peer went away",
        )),
    ]);
    let (status, headers, bytes) =
        parts(send(protocol(&provider), token_post(Body::new(body))).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bytes:?}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(!String::from_utf8_lossy(&bytes).contains("access_token"));

    // The code is still good for the complete request.
    let (status, _, tokens) = json_parts(
        send(
            protocol(&provider),
            code_redemption(client.id.as_str(), &code),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn authorization_body_that_fails_mid_stream_is_a_fatal_error() {
    let provider = provider();
    let client = public_client(&provider).await;
    let (body, _) = CountingBody::frames(vec![
        Ok(Bytes::from(authorization_query(client.id.as_str(), &[]))),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "peer went away",
        )),
    ]);
    let request = Request::post("/authorize")
        .header("content-type", FORM)
        .body(Body::new(body))
        .unwrap();
    let (status, headers, text) =
        text_parts(send(authorization_app(&provider), request).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(header(&headers, "x-test-reason"), "Some(MalformedEncoding)");
    assert!(headers.get("location").is_none());
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert!(!text.starts_with("ok"), "{text}");
}

#[tokio::test]
async fn limit_layer_error_is_answered_413_and_never_processed() {
    // A host that also limits bodies with a length-limited body (as tower-http's
    // `RequestBodyLimitLayer` does for a body without `Content-Length`), below the
    // provider's limit: a valid code redemption arrives in the first frame, padding
    // follows and trips the limit. The limit's error is a too-large body, never a
    // truncated request that the core would then process.
    let provider = provider();
    let client = public_client(&provider).await;
    let code = obtain_code(&provider, client.id.as_str(), "alice", &[]).await;
    let valid = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", client.id.as_str()),
        ("code_verifier", VERIFIER),
    ]);
    let mut frames = vec![Ok(Bytes::from(format!("{valid}&pad=")))];
    frames.extend((0..100).map(|_| Ok(Bytes::from(vec![b'p'; 4096]))));
    let (body, counter) = CountingBody::frames(frames);
    let limited = http_body_util::Limited::new(body, 1024);
    let response = send(protocol(&provider), token_post(Body::new(limited))).await;
    let (status, headers, bytes) = parts(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{bytes:?}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(!String::from_utf8_lossy(&bytes).contains("access_token"));
    assert_eq!(pulled(&counter), 2);

    // The code is still good for the complete request.
    let (status, _, tokens) = json_parts(
        send(
            protocol(&provider),
            code_redemption(client.id.as_str(), &code),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}
