//! A minimal MCP server (Streamable HTTP transport, stateless, JSON responses only):
//! `initialize`, `ping`, `tools/list` and `tools/call` with one tool, `whoami`.
//! Notifications and responses from the client are accepted with 202.
//!
//! Authorization follows the MCP profile: `RequireBearer` answers a request without a
//! valid token for this endpoint's URL (the audience) with 401 and `resource_metadata`,
//! and one without the `mcp:tools` scope with 403 `insufficient_scope`. Before that, the
//! `Host` header must be this server's (DNS rebinding, MCP "Security Warning").

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, StatusCode};
use oauth_axum::Bearer;
use oauth_core::model::UserId;
use oauth_core::{Access, Store};
use serde_json::{json, Value};

use crate::app::AppState;

/// Largest JSON-RPC message accepted.
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Protocol revisions this endpoint speaks.
const PROTOCOL_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The newest of them, offered when the client asks for one we do not speak.
const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// Refuses a request whose `Host` is not this server's: a page on a rebound DNS name
/// must not reach the endpoint. The comparison is exact (case aside): behind a proxy
/// that rewrites `Host`, configure the proxy to keep it, or requests are refused (403).
pub(crate) async fn check_host<S: Store>(
    State(app): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let host_ok = request.headers().get(HOST).is_some_and(|host| {
        host.as_bytes()
            .eq_ignore_ascii_case(app.authority.as_bytes())
    });
    if !host_ok {
        return (StatusCode::FORBIDDEN, "unexpected Host").into_response();
    }
    next.run(request).await
}

/// `GET` (a server-sent event stream) and `DELETE` (session end): this stateless server
/// offers neither.
pub(crate) async fn no_stream() -> Response {
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    response
}

/// One JSON-RPC message.
pub(crate) async fn endpoint<S: Store>(
    Bearer(access, _): Bearer<S>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(version) = headers.get("mcp-protocol-version") {
        if !PROTOCOL_VERSIONS.iter().any(|v| version == v) {
            return (StatusCode::BAD_REQUEST, "unsupported MCP-Protocol-Version").into_response();
        }
    }
    let message: Value = match serde_json::from_slice(&body) {
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
            StatusCode::ACCEPTED.into_response()
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
        return StatusCode::ACCEPTED.into_response();
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
        "initialize" => result(id, initialize(params)),
        "ping" => result(id, json!({})),
        "tools/list" => result(id, json!({ "tools": [whoami_tool()] })),
        "tools/call" => match params.get("name").and_then(Value::as_str) {
            Some("whoami") => result(id, whoami(&access)),
            _ => error(id, INVALID_PARAMS, "unknown tool"),
        },
        _ => error(id, METHOD_NOT_FOUND, "method not found"),
    })
}

/// The requested revision if spoken, otherwise the newest (the client then decides).
fn initialize(params: &Value) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = requested
        .filter(|r| PROTOCOL_VERSIONS.contains(r))
        .unwrap_or(LATEST_PROTOCOL_VERSION);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": { "listChanged": false } },
        "serverInfo": { "name": "example-axum-server", "version": env!("CARGO_PKG_VERSION") },
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

fn reply(message: Value) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        message.to_string(),
    )
        .into_response()
}
