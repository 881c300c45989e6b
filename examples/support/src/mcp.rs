//! A minimal MCP server (Streamable HTTP transport, stateless, JSON responses only):
//! `initialize`, `ping`, `tools/list` and `tools/call` with one tool, `whoami`.
//! Notifications and responses from the client are accepted with 202.
//!
//! Authorization follows the MCP profile, in the framework's bearer middleware: a request
//! without a valid token for this endpoint's URL (the audience) is answered 401 with
//! `resource_metadata`, and one without the `mcp:tools` scope 403 `insufficient_scope`.
//! Before that, the `Host` header must be this server's ([`check_host`]: DNS rebinding,
//! MCP "Security Warning"). The functions here answer with `http` types; the framework
//! sends them as they are.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use oauth_core::model::UserId;
use oauth_core::response::HttpResponse;
use oauth_core::Access;
use serde_json::{json, Value};

use crate::app::Flavor;

/// Largest JSON-RPC message accepted.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Protocol revisions this endpoint speaks.
const PROTOCOL_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The newest of them, offered when the client asks for one we do not speak.
const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// The refusal of a request for another host than this server's `authority`, or `None`
/// to go on: a page on a rebound DNS name must not reach the endpoint. Both names of the
/// host a request can carry must be ours when present, and one must be: the `Host`
/// header, and the authority of the request target (`target`: an absolute-form URI, or
/// HTTP/2's `:authority`). The comparison is exact (case aside): behind a proxy that
/// rewrites `Host`, configure the proxy to keep it, or requests are refused (403).
#[must_use]
pub fn check_host(
    target: Option<&str>,
    headers: &HeaderMap,
    authority: &str,
) -> Option<HttpResponse> {
    let ours = |name: &[u8]| name.eq_ignore_ascii_case(authority.as_bytes());
    let host = headers.get(HOST).map(HeaderValue::as_bytes);
    let named = target.is_some() || host.is_some();
    let host_ok =
        named && target.is_none_or(|target| ours(target.as_bytes())) && host.is_none_or(ours);
    (!host_ok).then(|| text(StatusCode::FORBIDDEN, "unexpected Host"))
}

/// The answer to `GET` (a server-sent event stream) and `DELETE` (session end): this
/// stateless server offers neither.
#[must_use]
pub fn no_stream() -> HttpResponse {
    let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    response
}

/// One JSON-RPC message (`body`), from the bearer of `access`.
#[must_use]
pub fn endpoint(flavor: Flavor, access: &Access, headers: &HeaderMap, body: &[u8]) -> HttpResponse {
    if let Some(version) = headers.get("mcp-protocol-version") {
        if !PROTOCOL_VERSIONS.iter().any(|v| version == v) {
            return text(StatusCode::BAD_REQUEST, "unsupported MCP-Protocol-Version");
        }
    }
    let message: Value = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(_) => return reply(error(&Value::Null, PARSE_ERROR, "parse error")),
    };
    let Some(object) = message.as_object() else {
        // Batches were removed from the protocol in 2025-06-18.
        return reply(error(
            &Value::Null,
            INVALID_REQUEST,
            "expected one JSON-RPC object",
        ));
    };
    let id = object.get("id");
    let Some(method) = object.get("method") else {
        // A response to a request we never send: accepted, no body (as notifications).
        return if id.is_some() && (object.contains_key("result") || object.contains_key("error")) {
            empty(StatusCode::ACCEPTED)
        } else {
            reply(error(&Value::Null, INVALID_REQUEST, "no method"))
        };
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return reply(error(
            id.unwrap_or(&Value::Null),
            INVALID_REQUEST,
            "jsonrpc must be \"2.0\"",
        ));
    }
    let Some(method) = method.as_str() else {
        return reply(error(
            id.unwrap_or(&Value::Null),
            INVALID_REQUEST,
            "method must be a string",
        ));
    };
    let Some(id) = id else {
        // A notification: accepted, no body.
        return empty(StatusCode::ACCEPTED);
    };
    if !(id.is_string() || id.is_i64() || id.is_u64()) {
        // MCP: the id is a string or an integer, never null.
        return reply(error(
            &Value::Null,
            INVALID_REQUEST,
            "id must be a string or an integer",
        ));
    }
    let params = object.get("params").unwrap_or(&Value::Null);
    reply(match method {
        "initialize" => result(id, initialize(flavor, params)),
        "ping" => result(id, json!({})),
        "tools/list" => result(id, json!({ "tools": [whoami_tool()] })),
        "tools/call" => match params.get("name").and_then(Value::as_str) {
            Some("whoami") => result(id, whoami(access)),
            _ => error(id, INVALID_PARAMS, "unknown tool"),
        },
        _ => error(id, METHOD_NOT_FOUND, "method not found"),
    })
}

/// The requested revision if spoken, otherwise the newest (the client then decides).
fn initialize(flavor: Flavor, params: &Value) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = requested
        .filter(|r| PROTOCOL_VERSIONS.contains(r))
        .unwrap_or(LATEST_PROTOCOL_VERSION);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": { "listChanged": false } },
        "serverInfo": { "name": flavor.name, "version": env!("CARGO_PKG_VERSION") },
    })
}

fn whoami_tool() -> Value {
    json!({
        "name": "whoami",
        "description": "Tells who the access token speaks for, through which client, with which scope.",
        "inputSchema": { "type": "object", "properties": {}, "additionalProperties": false },
    })
}

fn whoami(access: &Access) -> Value {
    let user = access.user_id.as_ref().map_or("(no user)", UserId::as_str);
    let text = format!(
        "You are {user}, through client {}, with scope \"{}\".",
        access.client_id.as_str(),
        access.scope
    );
    json!({ "content": [{ "type": "text", "text": text }], "isError": false })
}

fn result(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

fn reply(message: Value) -> HttpResponse {
    let mut response = Response::new(Bytes::from(message.to_string()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

fn text(status: StatusCode, message: &'static str) -> HttpResponse {
    let mut response = Response::new(Bytes::from_static(message.as_bytes()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "127.0.0.1:8080";

    fn host(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn check_host_accepts_our_name_in_host_or_target_and_refuses_any_other() {
        let none = HeaderMap::new();
        assert!(check_host(None, &host(OURS), OURS).is_none());
        assert!(check_host(None, &host("127.0.0.1:8080".to_uppercase().as_str()), OURS).is_none());
        assert!(
            check_host(Some(OURS), &none, OURS).is_none(),
            "HTTP/2: :authority only"
        );
        assert!(check_host(Some(OURS), &host(OURS), OURS).is_none());
        for (target, headers) in [
            (None, host("rebound.example")),
            (None, none.clone()),
            // Absolute form naming another host, with our Host header (and the reverse).
            (Some("rebound.example"), host(OURS)),
            (Some(OURS), host("rebound.example")),
            (Some("rebound.example"), none.clone()),
        ] {
            let refused = check_host(target, &headers, OURS).expect("refused");
            assert_eq!(
                refused.status(),
                StatusCode::FORBIDDEN,
                "{target:?} {headers:?}"
            );
        }
    }
}
