//! Conversions between axum and `http` types, with the body bounded before it is read.

use axum_core::body::Body;
use axum_core::response::Response;
use bytes::{Bytes, BytesMut};
#[cfg(feature = "router")]
use http::header::CACHE_CONTROL;
use http::Request;
#[cfg(feature = "router")]
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, LengthLimitError};
use oauth_core::response::HttpResponse;
use oauth_core::Reason;

/// Why a request body could not be read whole. Such a request is never handed to the
/// core: a form cut where the stream failed can still parse, as a different request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFailure {
    /// A length limit below the glue (a `Limited` body, as tower-http's
    /// `RequestBodyLimitLayer` makes) refused the body.
    TooLarge,
    /// The body failed (the connection broke, a malformed chunked encoding).
    Failed,
}

impl BodyFailure {
    fn of(error: &axum_core::Error) -> BodyFailure {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(error) = source {
            if error.is::<LengthLimitError>() {
                return BodyFailure::TooLarge;
            }
            source = error.source();
        }
        BodyFailure::Failed
    }

    /// The protocol reason, for the authorization endpoint's outcome.
    pub(crate) fn reason(self) -> Reason {
        match self {
            BodyFailure::TooLarge => Reason::BodyTooLarge,
            BodyFailure::Failed => Reason::MalformedEncoding,
        }
    }

    /// The response of a protocol endpoint: 413 or 400, as a [`glue_response`].
    #[cfg(feature = "router")]
    pub(crate) fn into_response(self) -> Response {
        glue_response(match self {
            BodyFailure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyFailure::Failed => StatusCode::BAD_REQUEST,
        })
    }
}

/// A protocol endpoint's answer that the glue gives itself, never the core: `status`, no
/// body, `no-store` (as axum's own body extractors answer a body they could not buffer).
/// Only the protocol router answers for itself, so only it needs this.
#[cfg(feature = "router")]
pub(crate) fn glue_response(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Reads at most `max + 1` bytes of `request`'s body and returns the request with them.
///
/// The core checks every body against its own limit (`Config::max_body_bytes`) before
/// parsing and answers an oversized one as the endpoint's RFC says; it needs only to see
/// that there is more than `max`, so nothing beyond `max + 1` bytes is ever buffered,
/// whatever `Content-Length` claims. A body that fails before that is a
/// [`BodyFailure`]: the request was not received whole, and is not processed.
pub(crate) async fn bounded(
    request: Request<Body>,
    max: usize,
) -> Result<Request<Bytes>, BodyFailure> {
    let (parts, mut body) = request.into_parts();
    let mut buffer = BytesMut::new();
    let cap = max.saturating_add(1);
    while buffer.len() < cap {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = cap - buffer.len();
                    buffer.extend_from_slice(data.get(..room).unwrap_or(&data));
                }
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "request body failed while being read");
                return Err(BodyFailure::of(&error));
            }
            None => break,
        }
    }
    Ok(Request::from_parts(parts, buffer.freeze()))
}

/// The core's response as an axum response.
pub(crate) fn into_axum(response: HttpResponse) -> Response {
    response.map(Body::from)
}
