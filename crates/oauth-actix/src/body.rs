//! Request bodies, bounded before they are read.
//!
//! The glue reads the raw payload stream itself (`web::Payload`), never through actix's
//! `Bytes`, `Form` or `Json` extractors: those apply actix's own limits (`PayloadConfig`,
//! 256 KiB by default; `FormConfig`, 16 KiB; `JsonConfig`, 2 MiB) and answer with actix's
//! own errors, so the same request would get a different answer than through the axum
//! glue, and a limit other than the configured one. Here the only limit is the
//! provider's [`max_body_bytes`](oauth_core::Config::max_body_bytes), and the answer to
//! an oversized body is the core's.

use std::future::poll_fn;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_LENGTH};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use oauth_core::Reason;

/// Why a request body could not be read whole. Such a request is never handed to the
/// core: a form cut where the stream failed can still parse, as a different request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFailure {
    /// A length limit below the glue refused the body (actix's `PayloadError::Overflow`,
    /// as a host's own payload limit raises it).
    TooLarge,
    /// The body failed (the connection broke, a malformed chunked encoding).
    Failed,
}

impl BodyFailure {
    fn of(error: &PayloadError) -> BodyFailure {
        match error {
            PayloadError::Overflow => BodyFailure::TooLarge,
            _ => BodyFailure::Failed,
        }
    }

    /// The protocol reason, for the authorization endpoint's outcome.
    pub(crate) fn reason(self) -> Reason {
        match self {
            BodyFailure::TooLarge => Reason::BodyTooLarge,
            BodyFailure::Failed => Reason::MalformedEncoding,
        }
    }

    /// The response of a protocol endpoint: 413 or 400, no body, `no-store` (as the axum
    /// glue answers a body it could not read whole).
    pub(crate) fn into_response(self) -> HttpResponse {
        let status = match self {
            BodyFailure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyFailure::Failed => StatusCode::BAD_REQUEST,
        };
        HttpResponse::build(status)
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish()
    }
}

/// Reads at most `max + 1` bytes of `payload`.
///
/// The core checks every body against its own limit (`Config::max_body_bytes`) before
/// parsing and answers an oversized one as the endpoint's RFC says; it needs only to see
/// that there is more than `max`, so nothing beyond `max + 1` bytes is ever buffered,
/// and no more is pulled from the stream, whatever `Content-Length` claims (the glue
/// does not trust it either way: a body longer than it declares is cut at the limit, and
/// one that declares more than the limit is read only up to it). A body that fails
/// before that is a [`BodyFailure`]: the request was not received whole, and is not
/// processed. So is one that ends before the length `request` declares: actix-http
/// reports such a body as failed, and the check here keeps that true whatever the
/// version underneath (releases before 3.12 ended it cleanly).
pub(crate) async fn bounded(
    request: &HttpRequest,
    mut payload: Payload,
    max: usize,
) -> Result<Bytes, BodyFailure> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let mut buffer = BytesMut::new();
    let cap = max.saturating_add(1);
    while buffer.len() < cap {
        match poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
            Some(Ok(data)) => {
                let room = cap - buffer.len();
                buffer.extend_from_slice(data.get(..room).unwrap_or(&data));
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "request body failed while being read");
                return Err(BodyFailure::of(&error));
            }
            None => break,
        }
    }
    let short = declared.is_some_and(|declared| (buffer.len() as u64) < declared);
    if short && buffer.len() < cap {
        tracing::debug!("request body ended before its declared length");
        return Err(BodyFailure::Failed);
    }
    Ok(buffer.freeze())
}
