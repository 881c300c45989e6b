//! The MCP endpoint: JSON-RPC over HTTP POST, protected per the MCP authorization profile.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;

/// A loopback callback on another name than the server's host (`127.0.0.1`): over plain
/// http, a callback on the server's own host would receive its cookies.
const REDIRECT: &str = "http://localhost:9/callback";

async fn server_and_token<F: Starter>(scope: &str) -> (TestServer, String) {
    let server = TestServer::start_with::<F>(&["--store", "memory"]).await;
    let client_id = server.register("MCP client", REDIRECT).await;
    let tokens = tokens_for(&server, &client_id, REDIRECT, scope).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    (server, token)
}

/// A POST to the MCP endpoint with the access token `token`, its body yet to set.
fn authorized_post(server: &TestServer, token: &str) -> reqwest::RequestBuilder {
    server.client().post(server.url("/mcp")).bearer_auth(token)
}

async fn call(server: &TestServer, token: &str, message: Value) -> Value {
    let response = mcp_post(server, Some(token), &message).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// A scenario: see the tests of the same name.
pub async fn mcp_answers_initialize_ping_and_tools_list<F: Starter>() {
    let (server, token) = server_and_token::<F>("mcp:tools").await;
    let init = call(&server, &token, json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }))
    .await;
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    assert_eq!(init["result"]["serverInfo"]["name"], F::NAME);

    let unknown_version = call(&server, &token, json!({
        "jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {"protocolVersion": "1999-01-01"},
    }))
    .await;
    assert_eq!(unknown_version["result"]["protocolVersion"], "2025-11-25");

    let ping = call(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}),
    )
    .await;
    assert_eq!(ping, json!({"jsonrpc": "2.0", "id": "p", "result": {}}));

    let list = call(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
    .await;
    let tool = &list["result"]["tools"][0];
    assert_eq!(tool["name"], "whoami");
    assert!(tool["description"].is_string());
    assert_eq!(tool["inputSchema"]["type"], "object");

    let missing = call(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": 4, "method": "resources/list"}),
    )
    .await;
    assert_eq!(missing["error"]["code"], -32601);
    let bad_tool = call(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "nope"}}),
    )
    .await;
    assert_eq!(bad_tool["error"]["code"], -32602);
}

/// A scenario: see the tests of the same name.
pub async fn mcp_accepts_notifications_with_202_and_no_body<F: Starter>() {
    let (server, token) = server_and_token::<F>("mcp:tools").await;
    let response = mcp_post(
        &server,
        Some(&token),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.bytes().await.unwrap().is_empty());
    // A response to a server request is accepted the same way.
    let answer = json!({"jsonrpc": "2.0", "id": 9, "result": {}});
    let response = mcp_post(&server, Some(&token), &answer).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

/// A scenario: see the tests of the same name.
pub async fn mcp_refuses_null_or_fractional_ids_and_messages_without_jsonrpc_2_0<F: Starter>() {
    let (server, token) = server_and_token::<F>("mcp:tools").await;
    for message in [
        json!({"jsonrpc": "2.0", "id": null, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}),
        json!({"id": 1, "method": "ping"}),
        json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": 7}),
        json!({"jsonrpc": "2.0", "id": 1}),
    ] {
        let answer = call(&server, &token, message.clone()).await;
        assert_eq!(answer["error"]["code"], -32600, "{message}");
    }
}

/// A scenario: see the tests of the same name.
pub async fn mcp_rejects_malformed_messages_batches_and_unknown_protocol_versions<F: Starter>() {
    let (server, token) = server_and_token::<F>("mcp:tools").await;
    let http = server.client();
    let garbage = authorized_post(&server, &token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    // JSON-RPC errors travel in a 200 answer.
    assert_eq!(garbage.status(), StatusCode::OK);
    let garbage: Value = garbage.json().await.unwrap();
    assert_eq!(garbage["error"]["code"], -32700);
    let batch = call(
        &server,
        &token,
        json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
    )
    .await;
    assert_eq!(batch["error"]["code"], -32600);
    let version = authorized_post(&server, &token)
        .header("mcp-protocol-version", "1999-01-01")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(version.status(), StatusCode::BAD_REQUEST);
    let huge = authorized_post(&server, &token)
        .body(vec![b' '; 65 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let stream = http
        .get(server.url("/mcp"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(stream.headers()["allow"], "POST");
}

/// A scenario: see the tests of the same name.
pub async fn mcp_without_token_gets_401_with_resource_metadata_and_scope<F: Starter>() {
    let (server, _) = server_and_token::<F>("mcp:tools").await;
    let response = mcp_post(
        &server,
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    let metadata = server.url("/.well-known/oauth-protected-resource/mcp");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata}\"")),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"mcp:tools profile\""),
        "{challenge}"
    );
    let prm = get_json(&server.client(), &metadata).await;
    assert_eq!(prm["resource"], server.url("/mcp"));
    assert_eq!(prm["authorization_servers"], json!([server.base]));
}

/// A scenario: see the tests of the same name.
pub async fn mcp_refuses_a_bad_token_as_invalid_token_and_a_narrow_one_as_insufficient_scope<
    F: Starter,
>() {
    let (server, profile_only) = server_and_token::<F>("profile").await;
    let bad = mcp_post(
        &server,
        Some("not-a-token"),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    let narrow = mcp_post(
        &server,
        Some(&profile_only),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    )
    .await;
    assert_insufficient_scope(&narrow, "mcp:tools");
}

/// A scenario: see the tests of the same name.
pub async fn mcp_refuses_a_token_from_another_authorization_server<F: Starter>() {
    // Another server, with its own key and store, issues a token for its own MCP URL.
    // (The audience check for a token of this server's store issued for another resource
    // is the core's: `mcp_profile::mcp_19_a_token_for_another_resource_is_rejected`.)
    let (server, _) = server_and_token::<F>("mcp:tools").await;
    let (_other, foreign) = server_and_token::<F>("mcp:tools").await;
    let response = mcp_post(
        &server,
        Some(&foreign),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// A scenario: see the tests of the same name.
pub async fn mcp_refuses_requests_for_another_host_name<F: Starter>() {
    let (server, token) = server_and_token::<F>("mcp:tools").await;
    let response = authorized_post(&server, &token)
        .header("host", "rebound.example")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
