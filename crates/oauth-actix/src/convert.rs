//! The one place where actix's types meet the core's.
//!
//! actix-web 4 (through `actix-http` 3) is built on `http` 0.2; `oauth-core` speaks
//! `http` 1.x. The two crates' types are distinct but validate alike (the same grammar
//! for methods, URIs, header names and values), so every conversion here copies bytes
//! and re-validates them; a failure cannot happen for a value the other version accepted,
//! and is still handled, never unwrapped:
//!
//! - a request that cannot be represented is [`Unrepresentable`]: it is not processed
//!   (dropping one of its headers, say a second `Authorization`, would change what it
//!   means), and is answered 400;
//! - a response that cannot be represented becomes a 500 with `no-store`, never a
//!   response missing one of the core's headers (`Cache-Control: no-store`, a
//!   challenge).
//!
//! The unit tests below round-trip method, URI, version, every header (repeated ones, in
//! order, and non-UTF-8 values), status and body.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::http::header::{
    HeaderName as ActixHeaderName, HeaderValue as ActixHeaderValue, CACHE_CONTROL,
};
use actix_web::http::{StatusCode as ActixStatus, Version as ActixVersion};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use oauth_core::response::HttpResponse as CoreResponse;

/// A request that the core's `http` types would not accept (a method, URI or header that
/// `http` 1.x refuses); never handed to the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unrepresentable(&'static str);

impl std::fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request's {} cannot be represented", self.0)
    }
}

impl ResponseError for Unrepresentable {
    fn status_code(&self) -> ActixStatus {
        ActixStatus::BAD_REQUEST
    }

    /// 400, no body, `no-store`: the request was not understood, nothing was processed.
    fn error_response(&self) -> HttpResponse<BoxBody> {
        tracing::debug!(error = %self, "request refused before the core");
        HttpResponse::build(self.status_code())
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish()
    }
}

/// The request as the core reads it: `request`'s method, URI, version and every header
/// (repeated ones in their order), with `body`.
pub(crate) fn core_request<B>(
    request: &HttpRequest,
    body: B,
) -> Result<http::Request<B>, Unrepresentable> {
    let head = request.head();
    let mut converted = http::Request::new(body);
    *converted.method_mut() = http::Method::from_bytes(head.method.as_str().as_bytes())
        .map_err(|_| Unrepresentable("method"))?;
    *converted.uri_mut() =
        http::Uri::try_from(head.uri.to_string()).map_err(|_| Unrepresentable("URI"))?;
    *converted.version_mut() = version(head.version);
    let headers = converted.headers_mut();
    for (name, value) in head.headers.iter() {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes())
            .map_err(|_| Unrepresentable("header name"))?;
        let mut converted = http::HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| Unrepresentable("header value"))?;
        converted.set_sensitive(value.is_sensitive());
        headers.append(name, converted);
    }
    Ok(converted)
}

fn version(version: ActixVersion) -> http::Version {
    match version {
        ActixVersion::HTTP_09 => http::Version::HTTP_09,
        ActixVersion::HTTP_10 => http::Version::HTTP_10,
        ActixVersion::HTTP_2 => http::Version::HTTP_2,
        ActixVersion::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

/// A status of the core as actix's.
pub(crate) fn status(status: http::StatusCode) -> ActixStatus {
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}

/// An actix status as the core's.
pub(crate) fn core_status(status: ActixStatus) -> http::StatusCode {
    http::StatusCode::from_u16(status.as_u16()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// The core's response as an actix response, for the responses a handler gets from the
/// core itself: the redirect of
/// [`Provider::complete_authorization`](oauth_core::Provider::complete_authorization),
/// say. Status, every header and the body, unchanged.
#[must_use]
pub fn core_response(response: CoreResponse) -> HttpResponse {
    actix_response(response, false)
}

/// The core's response as an actix response: its status, every header (repeated ones in
/// their order), its body.
///
/// To a `HEAD` request (`head`), the core answers with the `GET` response's headers,
/// its `Content-Length` included, and no body (RFC 9110 §9.3.2). actix writes the
/// `Content-Length` of the body it is given, and would announce 0, which RFC 9110 §8.6
/// forbids (the value must be what `GET` would have sent); so such a response gets an
/// empty body that declares the core's length, and actix's HTTP/1 writer, which never
/// writes a body to `HEAD`, sends that length.
pub(crate) fn actix_response(response: CoreResponse, head: bool) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let body = match declared {
        Some(length) if head && body.is_empty() => BoxBody::new(DeclaredLength(length)),
        _ => BoxBody::new(body),
    };
    let mut converted = HttpResponse::with_body(status(parts.status), body);
    if converted.status().as_u16() != parts.status.as_u16() {
        return unrepresentable_response("status");
    }
    let headers = converted.headers_mut();
    for (name, value) in &parts.headers {
        let Ok(name) = ActixHeaderName::from_bytes(name.as_str().as_bytes()) else {
            return unrepresentable_response("header name");
        };
        let Ok(mut converted) = ActixHeaderValue::from_bytes(value.as_bytes()) else {
            return unrepresentable_response("header value");
        };
        converted.set_sensitive(value.is_sensitive());
        headers.append(name, converted);
    }
    converted
}

/// The answer when the core's response cannot be represented: 500, `no-store`. Never a
/// part of the response without the rest.
fn unrepresentable_response(part: &'static str) -> HttpResponse {
    tracing::error!(
        part,
        "the core's response cannot be represented in actix's types"
    );
    HttpResponse::build(ActixStatus::INTERNAL_SERVER_ERROR)
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish()
}

/// The body of a response to `HEAD`: none, but the length `GET` would have sent.
#[derive(Debug)]
struct DeclaredLength(u64);

impl MessageBody for DeclaredLength {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.0)
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Bytes, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

/// A method of the core as actix's (the core never answers with one; for tests).
#[cfg(test)]
fn actix_method(method: &http::Method) -> actix_web::http::Method {
    actix_web::http::Method::from_bytes(method.as_str().as_bytes()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    /// A non-UTF-8 (obs-text) header value: valid in both `http` versions.
    const LATIN1: &[u8] = b"caf\xe9 \xff";

    fn sample_request() -> http::Request<Bytes> {
        http::Request::builder()
            .method(http::Method::POST)
            .uri("/token?x=1&y=%20z")
            .version(http::Version::HTTP_11)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "Bearer one")
            .header("authorization", "Bearer two")
            .header("x-latin1", http::HeaderValue::from_bytes(LATIN1).unwrap())
            .header("x-repeated", "a")
            .header("x-repeated", "b")
            .header("x-repeated", "c")
            .body(Bytes::from_static(b"grant_type=authorization_code&code=x"))
            .unwrap()
    }

    /// `request` as actix receives it.
    fn actix_request(request: &http::Request<Bytes>) -> HttpRequest {
        let mut test = TestRequest::default()
            .method(actix_method(request.method()))
            .uri(&request.uri().to_string());
        for (name, value) in request.headers() {
            test = test.append_header((
                ActixHeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                ActixHeaderValue::from_bytes(value.as_bytes()).unwrap(),
            ));
        }
        test.to_http_request()
    }

    /// Every value of every header, grouped by name (the order within a name matters; the
    /// order across names is not kept by actix's map and means nothing in HTTP).
    fn by_name(headers: &http::HeaderMap) -> Vec<(String, Vec<Vec<u8>>)> {
        let mut names: Vec<String> = headers.keys().map(|n| n.as_str().to_owned()).collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let values = headers
                    .get_all(name.as_str())
                    .iter()
                    .map(|v| v.as_bytes().to_vec())
                    .collect();
                (name, values)
            })
            .collect()
    }

    #[test]
    fn request_round_trips_method_uri_version_every_header_and_body() {
        let original = sample_request();
        let actix = actix_request(&original);
        let body = original.body().clone();
        let converted = core_request(&actix, body).unwrap();
        assert_eq!(converted.method(), original.method());
        assert_eq!(converted.uri(), original.uri());
        assert_eq!(converted.uri().query(), Some("x=1&y=%20z"));
        assert_eq!(converted.version(), original.version());
        assert_eq!(by_name(converted.headers()), by_name(original.headers()));
        assert_eq!(
            converted
                .headers()
                .get_all("authorization")
                .iter()
                .collect::<Vec<_>>(),
            ["Bearer one", "Bearer two"]
        );
        assert_eq!(converted.headers()["x-latin1"].as_bytes(), LATIN1);
        assert_eq!(converted.body(), original.body());
    }

    #[test]
    fn request_round_trips_every_method_and_uri_form() {
        for (method, uri) in [
            (http::Method::GET, "/.well-known/oauth-authorization-server"),
            (
                http::Method::HEAD,
                "/.well-known/oauth-protected-resource/mcp",
            ),
            (http::Method::OPTIONS, "/token"),
            (http::Method::PUT, "/register/abc%2Fdef?q"),
            (http::Method::DELETE, "/register/client-1"),
            (http::Method::PATCH, "/register/client-1"),
            (
                http::Method::from_bytes(b"PROPFIND").unwrap(),
                "http://as.example:8080/token?a=b",
            ),
        ] {
            let original = http::Request::builder()
                .method(method.clone())
                .uri(uri)
                .body(Bytes::new())
                .unwrap();
            let converted = core_request(&actix_request(&original), Bytes::new()).unwrap();
            assert_eq!(converted.method(), &method, "{uri}");
            assert_eq!(converted.uri().to_string(), uri);
            assert!(converted.headers().is_empty(), "{:?}", converted.headers());
        }
    }

    #[test]
    fn request_versions_are_kept() {
        for (actix, core) in [
            (ActixVersion::HTTP_10, http::Version::HTTP_10),
            (ActixVersion::HTTP_11, http::Version::HTTP_11),
            (ActixVersion::HTTP_2, http::Version::HTTP_2),
        ] {
            let request = TestRequest::default().version(actix).to_http_request();
            assert_eq!(core_request(&request, ()).unwrap().version(), core);
        }
    }

    /// `response` back in the core's types, with its whole body.
    async fn core_of(response: HttpResponse) -> http::Response<Bytes> {
        let mut back = http::Response::new(Bytes::new());
        *back.status_mut() = http::StatusCode::from_u16(response.status().as_u16()).unwrap();
        for (name, value) in response.headers() {
            back.headers_mut().append(
                http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        *back.body_mut() = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        back
    }

    #[actix_web::test]
    async fn response_round_trips_status_every_header_and_body() {
        let original = http::Response::builder()
            .status(http::StatusCode::UNAUTHORIZED)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .header("www-authenticate", "Bearer realm=\"a\"")
            .header("www-authenticate", "Basic realm=\"b\"")
            .header("x-latin1", http::HeaderValue::from_bytes(LATIN1).unwrap())
            .body(Bytes::from_static(br#"{"error":"invalid_client"}"#))
            .unwrap();
        let back = core_of(actix_response(original.clone(), false)).await;
        assert_eq!(back.status(), original.status());
        assert_eq!(by_name(back.headers()), by_name(original.headers()));
        assert_eq!(
            back.headers()
                .get_all("www-authenticate")
                .iter()
                .collect::<Vec<_>>(),
            ["Bearer realm=\"a\"", "Basic realm=\"b\""]
        );
        assert_eq!(back.body(), original.body());
    }

    #[actix_web::test]
    async fn response_round_trips_every_status_the_core_answers() {
        for code in [
            200, 201, 204, 302, 303, 400, 401, 403, 404, 405, 413, 500, 503,
        ] {
            let mut original = http::Response::new(Bytes::new());
            *original.status_mut() = http::StatusCode::from_u16(code).unwrap();
            let back = core_of(actix_response(original, false)).await;
            assert_eq!(back.status().as_u16(), code);
            assert!(back.body().is_empty());
        }
    }

    #[actix_web::test]
    async fn response_to_head_declares_the_get_length_without_a_body() {
        let mut original = http::Response::new(Bytes::new());
        original
            .headers_mut()
            .insert("content-length", http::HeaderValue::from_static("321"));
        let response = actix_response(original.clone(), true);
        assert_eq!(response.body().size(), BodySize::Sized(321));
        let back = core_of(response).await;
        assert_eq!(back.headers()["content-length"], "321");
        assert!(back.body().is_empty());

        // Not a HEAD: the body is what it is, and actix writes its own length.
        let response = actix_response(original, false);
        assert_eq!(response.body().size(), BodySize::Sized(0));
    }

    #[test]
    fn statuses_map_one_to_one() {
        for code in 100..=999 {
            let core = http::StatusCode::from_u16(code).unwrap();
            assert_eq!(status(core).as_u16(), code);
            assert_eq!(core_status(status(core)), core);
        }
    }
}
