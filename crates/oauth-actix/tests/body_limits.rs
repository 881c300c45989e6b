//! Bodies are bounded before they are read: the glue reads at most `max_body_bytes + 1`
//! bytes from the payload stream, whatever `Content-Length` claims, and the core answers
//! an oversized body as the endpoint's RFC says (413 `invalid_request` at the token
//! endpoint). actix's own payload limits (`PayloadConfig`, `FormConfig`, `JsonConfig`)
//! never answer instead.

mod common;

use std::sync::Arc;

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpResponse};
use bytes::Bytes;
use common::*;
use http::HeaderMap;
use oauth_actix::{AuthorizationRequest, ProtocolService};
use oauth_store_memory::MemoryStore;
use serde_json::Value;

const CHUNK: usize = 8 * 1024;
/// 64 MiB in 8 KiB chunks.
const CHUNKS: usize = 64 * 1024 * 1024 / CHUNK;

fn chunk() -> Bytes {
    Bytes::from(vec![b'a'; CHUNK])
}

/// A token request, its body to be attached.
fn token_post() -> TestRequest {
    TestRequest::post()
        .uri("/token")
        .insert_header(("content-type", FORM))
}

/// The core's answer to an oversized token request.
fn assert_token_body_too_large(status: StatusCode, headers: &HeaderMap, body: &Value) {
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(header(headers, "content-type"), "application/json");
    assert_eq!(header(headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "request body too large");
}

/// The largest number of `CHUNK`-sized chunks needed to see `max + 1` bytes.
fn chunks_for(max: usize) -> usize {
    (max + 1).div_ceil(CHUNK)
}

/// A valid code redemption for a new public client, and the client's id and the code.
async fn valid_redemption(provider: &TestProvider) -> (String, String, String) {
    let client = public_client(provider).await;
    let code = obtain_code(provider, client.id.as_str(), "alice", &[]).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", client.id.as_str()),
        ("code_verifier", VERIFIER),
    ]);
    (body, client.id.as_str().to_owned(), code)
}

#[actix_web::test]
async fn body_larger_than_max_body_bytes_is_refused_with_the_cores_413() {
    let provider = provider();
    let app = protocol(&provider).await;
    let request = token_post()
        .set_payload(vec![b'a'; DEFAULT_MAX_BODY + 1])
        .to_request();
    let (status, headers, body) = send_json(&app, request).await;
    assert_token_body_too_large(status, &headers, &body);
}

#[actix_web::test]
async fn body_of_exactly_max_body_bytes_reaches_the_core_whole() {
    // A configured limit, and a valid code redemption padded with an unknown parameter
    // to exactly that many bytes: the core sees the whole body and redeems the code.
    const MAX: usize = 2048;
    let provider = provider_with(|b| b.max_body_bytes(MAX));
    let app = protocol(&provider).await;
    let (valid, _, _) = valid_redemption(&provider).await;
    let padding = "p".repeat(MAX - valid.len() - "&pad=".len());
    let body = format!("{valid}&pad={padding}");
    assert_eq!(body.len(), MAX);

    let request = token_post().set_payload(body.clone()).to_request();
    let (status, _, tokens) = send_json(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].is_string());

    // One byte more is refused before parsing.
    let request = token_post().set_payload(format!("{body}p")).to_request();
    let (status, headers, body) = send_json(&app, request).await;
    assert_token_body_too_large(status, &headers, &body);
}

#[actix_web::test]
async fn streamed_oversized_body_without_content_length_is_cut_after_max_body_bytes_plus_one() {
    let provider = provider();
    let app = protocol(&provider).await;
    let (payload, counter) = CountingPayload::repeat(chunk(), CHUNKS);
    let (status, headers, body) = send_json(&app, with_payload(token_post(), payload)).await;
    assert_token_body_too_large(status, &headers, &body);
    let pulled = pulled(&counter);
    assert!(
        pulled <= chunks_for(DEFAULT_MAX_BODY),
        "{pulled} chunks of {CHUNKS} pulled"
    );
    assert!(pulled >= 2, "{pulled}");
}

#[actix_web::test]
async fn body_whose_content_length_lies_is_cut_at_the_limit() {
    let provider = provider();
    let app = protocol(&provider).await;
    // Declares 16 bytes, sends 64 MiB.
    let (payload, counter) = CountingPayload::repeat(chunk(), CHUNKS);
    let request = token_post().insert_header(("content-length", "16"));
    let (status, headers, body) = send_json(&app, with_payload(request, payload)).await;
    assert_token_body_too_large(status, &headers, &body);
    let pulled = pulled(&counter);
    assert!(
        pulled <= chunks_for(DEFAULT_MAX_BODY),
        "{pulled} chunks of {CHUNKS} pulled"
    );
}

#[actix_web::test]
async fn body_declaring_a_content_length_above_the_limit_is_read_only_up_to_the_limit() {
    // Declares (and sends) 64 MiB: the glue reads no further than the limit, and the
    // core answers from what it saw, as for any oversized body.
    let provider = provider();
    let app = protocol(&provider).await;
    let (payload, counter) = CountingPayload::repeat(chunk(), CHUNKS);
    let request = token_post().insert_header(("content-length", (CHUNK * CHUNKS).to_string()));
    let (status, headers, body) = send_json(&app, with_payload(request, payload)).await;
    assert_token_body_too_large(status, &headers, &body);
    assert!(pulled(&counter) <= chunks_for(DEFAULT_MAX_BODY));
}

#[actix_web::test]
async fn body_bound_follows_the_configured_max_body_bytes() {
    const MAX: usize = 100 * 1024;
    let provider = provider_with(|b| b.max_body_bytes(MAX));
    let app = protocol(&provider).await;
    let (payload, counter) = CountingPayload::repeat(chunk(), CHUNKS);
    let (status, headers, body) = send_json(&app, with_payload(token_post(), payload)).await;
    assert_token_body_too_large(status, &headers, &body);
    let pulled = pulled(&counter);
    assert!(pulled <= chunks_for(MAX), "{pulled}");
    // The glue did read up to the configured limit, not a fixed one.
    assert!(pulled * CHUNK > MAX, "{pulled}");
}

#[actix_web::test]
async fn registration_body_is_bounded_too() {
    let provider = registration_provider();
    let app = protocol(&provider).await;
    let (payload, counter) = CountingPayload::repeat(chunk(), CHUNKS);
    let request = TestRequest::post()
        .uri("/register")
        .insert_header(("content-type", "application/json"));
    let (status, headers, body) = send_json(&app, with_payload(request, payload)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "invalid_request");
    assert!(pulled(&counter) <= chunks_for(DEFAULT_MAX_BODY));
}

#[actix_web::test]
async fn actix_payload_limits_never_answer_for_the_protocol_endpoints() {
    // actix's own limits, registered tiny by the host for its other routes, do not
    // apply: the glue reads the payload stream itself.
    let provider = provider();
    let service = ProtocolService::new(Arc::clone(&provider));
    let app = test::init_service(
        App::new()
            .app_data(web::PayloadConfig::new(8))
            .app_data(web::FormConfig::default().limit(8))
            .app_data(web::JsonConfig::default().limit(8))
            .configure(|cfg| service.configure(cfg)),
    )
    .await;
    let (valid, _, _) = valid_redemption(&provider).await;
    let request = token_post().set_payload(valid).to_request();
    let (status, _, tokens) = send_json(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // Nor do actix's defaults (`PayloadConfig`: 256 KiB) below a larger configured limit:
    // a 300 KiB token request is the core's to answer (here, redeemed).
    const MAX: usize = 1024 * 1024;
    let provider = provider_with(|b| b.max_body_bytes(MAX));
    let app = protocol(&provider).await;
    let (valid, _, _) = valid_redemption(&provider).await;
    let body = format!("{valid}&pad={}", "p".repeat(300 * 1024));
    let request = token_post().set_payload(body).to_request();
    let (status, _, tokens) = send_json(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

/// A host authorization route that renders the outcome's reason.
async fn authorization_app(
    provider: &TestProvider,
) -> impl actix_web::dev::Service<
    Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    async fn authorize(request: AuthorizationRequest<MemoryStore>) -> HttpResponse {
        match request.into_result() {
            Ok(pending) => HttpResponse::Ok().body(format!("ok {}", pending.client_id())),
            Err(error) => {
                let reason = format!("{:?}", error.reason());
                let mut response = oauth_actix::authorization_error_response(error, None);
                response.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static("x-test-reason"),
                    actix_web::http::header::HeaderValue::from_str(&reason).unwrap(),
                );
                response
            }
        }
    }
    test::init_service(
        App::new()
            .app_data(data(provider))
            .service(web::resource("/authorize").get(authorize).post(authorize)),
    )
    .await
}

fn authorize_post() -> TestRequest {
    TestRequest::post()
        .uri("/authorize")
        .insert_header(("content-type", FORM))
}

#[actix_web::test]
async fn authorization_post_body_is_bounded_and_refused_as_too_large() {
    let provider = provider();
    let app = authorization_app(&provider).await;
    let (payload, counter) = CountingPayload::repeat(chunk(), CHUNKS);
    let (status, headers, text) = send_text(&app, with_payload(authorize_post(), payload)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(header(&headers, "x-test-reason"), "Some(BodyTooLarge)");
    assert!(!headers.contains_key("location"));
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert!(pulled(&counter) <= chunks_for(DEFAULT_MAX_BODY));
}

#[actix_web::test]
async fn authorization_request_ignores_actix_form_limits() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = test::init_service(
        App::new()
            .app_data(data(&provider))
            .app_data(web::PayloadConfig::new(8))
            .app_data(web::FormConfig::default().limit(8))
            .route(
                "/authorize",
                web::post().to(|request: AuthorizationRequest<MemoryStore>| async move {
                    match request.into_result() {
                        Ok(pending) => format!("ok {}", pending.client_id()),
                        Err(error) => format!("error {error}"),
                    }
                }),
            ),
    )
    .await;
    let request = authorize_post()
        .set_payload(authorization_query(client.id.as_str(), &[]))
        .to_request();
    let (status, _, text) = send_text(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, format!("ok {}", client.id));
}

#[actix_web::test]
async fn body_that_fails_mid_stream_is_never_processed() {
    // The first chunk is a complete, valid code redemption; then the stream fails (the
    // client went away). The request was not received whole, so the code must not be
    // redeemed on its behalf.
    let provider = provider();
    let app = protocol(&provider).await;
    let (valid, client_id, code) = valid_redemption(&provider).await;
    let (payload, _) = CountingPayload::items(vec![
        Ok(Bytes::from(valid)),
        Err(PayloadError::Incomplete(None)),
    ]);
    let (status, headers, bytes) = send(&app, with_payload(token_post(), payload)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bytes:?}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(bytes.is_empty(), "{bytes:?}");

    // The code is still good for the complete request.
    let (status, _, tokens) = send_json(&app, code_redemption(&client_id, &code)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[actix_web::test]
async fn authorization_body_that_fails_mid_stream_is_a_fatal_error() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = authorization_app(&provider).await;
    let (payload, _) = CountingPayload::items(vec![
        Ok(Bytes::from(authorization_query(client.id.as_str(), &[]))),
        Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "peer went away",
        ))),
    ]);
    let (status, headers, text) = send_text(&app, with_payload(authorize_post(), payload)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(header(&headers, "x-test-reason"), "Some(MalformedEncoding)");
    assert!(!headers.contains_key("location"));
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert!(!text.starts_with("ok"), "{text}");
}

#[actix_web::test]
async fn payload_overflow_error_is_answered_413_and_never_processed() {
    // A payload that a limit below the glue cut (actix's `PayloadError::Overflow`): a
    // valid code redemption arrives in the first chunk, then the limit trips. The
    // answer is a too-large body, never a truncated request that the core processes.
    let provider = provider();
    let app = protocol(&provider).await;
    let (valid, client_id, code) = valid_redemption(&provider).await;
    let (payload, counter) = CountingPayload::items(vec![
        Ok(Bytes::from(format!("{valid}&pad="))),
        Err(PayloadError::Overflow),
        Ok(Bytes::from(vec![b'p'; 4096])),
    ]);
    let (status, headers, bytes) = send(&app, with_payload(token_post(), payload)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{bytes:?}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(bytes.is_empty(), "{bytes:?}");
    assert_eq!(pulled(&counter), 2);

    // The code is still good for the complete request.
    let (status, _, tokens) = send_json(&app, code_redemption(&client_id, &code)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}
