//! One GET over an established connection: HTTP/1.1 with hyper's low-level client, which
//! never follows redirects, never pools and never resolves anything.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use oauth_core::client_metadata_document::{ClientIdUrl, FetchError};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::cache::cache_ttl;

/// The most bytes of response head (status line and headers) read.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What a successful exchange gives: the body and how long it may be cached.
pub(crate) struct Fetched {
    pub(crate) body: Bytes,
    pub(crate) ttl: Duration,
}

/// The cache bounds, for computing [`Fetched::ttl`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct TtlBounds {
    pub(crate) min: Duration,
    pub(crate) max: Duration,
}

pub(crate) fn connection_error(
    error: impl std::error::Error + Send + Sync + 'static,
) -> FetchError {
    FetchError::Connection(Box::new(error))
}

/// Whether the response's media type is JSON: `application/json` or a more specific
/// `application/...+json` (draft § "Client ID Metadata Document"), parameters ignored.
fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Some(media_type) = value.to_str().ok().and_then(|v| v.split(';').next()) else {
        return false;
    };
    let media_type = media_type.trim().to_ascii_lowercase();
    media_type == "application/json"
        || media_type
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.len() > "+json".len() && subtype.ends_with("+json"))
}

/// Sends `GET url` over `io` and reads a 200 JSON response of at most `max_bytes`, whose
/// head (status line and headers) must arrive within `first_byte`.
pub(crate) async fn get<IO>(
    io: IO,
    url: &ClientIdUrl,
    user_agent: &HeaderValue,
    max_bytes: usize,
    bounds: TtlBounds,
    first_byte: Duration,
) -> Result<Fetched, FetchError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake(TokioIo::new(io))
        .await
        .map_err(connection_error)?;
    let authority = HeaderValue::from_str(url.authority()).map_err(connection_error)?;
    let request = Request::get(url.path_and_query())
        .header(HOST, authority)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .header(USER_AGENT, user_agent.clone())
        .header(CONNECTION, HeaderValue::from_static("close"))
        .body(Empty::<Bytes>::new())
        .map_err(connection_error)?;
    let exchange = async move {
        // `send_request` completes when the response's head has been read.
        let response = tokio::time::timeout(first_byte, sender.send_request(request))
            .await
            .map_err(|_| FetchError::Timeout)?
            .map_err(connection_error)?;
        read(response, max_bytes, bounds).await
    };
    // The connection is driven here, in this task, rather than spawned: when the caller
    // gives up (the timeout), dropping this future closes the socket.
    let mut connection = std::pin::pin!(connection);
    let mut exchange = std::pin::pin!(exchange);
    tokio::select! {
        biased;
        result = &mut exchange => result,
        ended = &mut connection => {
            ended.map_err(connection_error)?;
            exchange.await
        }
    }
}

async fn read(
    response: http::Response<hyper::body::Incoming>,
    max_bytes: usize,
    bounds: TtlBounds,
) -> Result<Fetched, FetchError> {
    let status = response.status();
    if status.is_redirection() {
        return Err(FetchError::Redirect(status.as_u16()));
    }
    if status != StatusCode::OK {
        return Err(FetchError::Status(status.as_u16()));
    }
    let headers = response.headers();
    if !is_json(headers) {
        return Err(FetchError::NotJson);
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_bytes as u64) {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let ttl = cache_ttl(headers, bounds.min, bounds.max);
    let mut body = response.into_body();
    let mut document = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(connection_error)?;
        if let Ok(data) = frame.into_data() {
            if document.len().saturating_add(data.len()) > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            document.extend_from_slice(&data);
        }
    }
    Ok(Fetched {
        body: Bytes::from(document),
        ttl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        let check = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(CONTENT_TYPE, value.parse().unwrap());
            }
            is_json(&headers)
        };
        assert!(check(&["application/json"]));
        assert!(check(&["Application/JSON; charset=utf-8"]));
        assert!(check(&["application/client-metadata+json"]));
        assert!(!check(&[]));
        assert!(!check(&["text/html"]));
        assert!(!check(&["text/json"]));
        assert!(!check(&["application/+json"]));
        assert!(!check(&["application/jsonp"]));
        assert!(!check(&["application/json", "application/json"]));
    }
}
