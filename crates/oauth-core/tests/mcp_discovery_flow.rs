//! The whole MCP authorization flow, black box, as an MCP client sees it: it knows nothing
//! but the MCP server's URL, and every further URL comes from the previous response.
//!
//! unauthenticated MCP request → 401 with `resource_metadata` → protected resource
//! metadata (RFC 9728) → authorization server metadata at the URL RFC 8414 §3.1 builds
//! from `authorization_servers[0]` → dynamic registration of a public client (RFC 7591)
//! → authorization with PKCE and `resource` → token → the MCP request succeeds → refresh →
//! introspection by the MCP server's own confidential client → revocation → the bearer
//! token is rejected.
//!
//! The provider is reached only through `Provider::handle` (every protocol endpoint),
//! `begin_authorization` / `complete_authorization` (the host's authorization route) and
//! `authenticate` (the MCP server's bearer check).

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use common::test_keyring;
use http::{Request, Response, StatusCode};
use oauth_core::mcp::RedirectTarget;
use oauth_core::model::{ClientId, GrantType, UserId};
use oauth_core::{
    Approval, Decision, Issuer, McpProfile, NewClient, Provider, SecureRandom as _, UnixTime,
};
use oauth_store_memory::MemoryStore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The one thing the MCP client is told: where the MCP server is.
const MCP_SERVER: &str = "https://mcp.example.com/mcp";
/// A tenant issuer with a path, so that the RFC 8414 URL construction matters.
const ISSUER: &str = "https://auth.example.com/tenant1";
/// The MCP server's own confidential client, allowed to introspect tokens for it.
const RESOURCE_SERVER: &str = "mcp-server";

/// The host: a provider with the MCP profile, and the MCP server's own confidential client
/// registered (its id declared for introspection; its secret drawn by the server).
async fn host() -> (Provider<MemoryStore>, String) {
    let provider = Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .store(MemoryStore::new())
        .mcp(McpProfile::new(MCP_SERVER).scopes(["mcp:tools", "mcp:resources"]))
        .introspection_resource(RESOURCE_SERVER, MCP_SERVER)
        .build()
        .unwrap();
    // A confidential client needs some grant; the resource server uses none of them.
    let mut rs = NewClient::confidential(Vec::new(), vec![GrantType::ClientCredentials]);
    rs.id = Some(ClientId::new(RESOURCE_SERVER));
    let registered = provider.register_client(rs).await.unwrap();
    let secret = registered.secret.unwrap().expose().to_owned();
    (provider, secret)
}

/// What the MCP server does with every request: authenticate, then check the scope the
/// operation needs; the library builds the error response.
async fn mcp_server(
    provider: &Provider<MemoryStore>,
    request: &Request<Vec<u8>>,
    needs: &str,
) -> Response<Bytes> {
    match provider.authenticate(request).await {
        Ok(access) => match access.require_scope(needs) {
            Ok(()) => Response::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            )),
            Err(denied) => denied.into_response(),
        },
        Err(rejected) => rejected.into_response(),
    }
}

fn get(url: &str) -> Request<Vec<u8>> {
    Request::get(url).body(Vec::new()).unwrap()
}

fn mcp_call(token: Option<&str>) -> Request<Vec<u8>> {
    let mut request = Request::post(MCP_SERVER).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request
        .body(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec())
        .unwrap()
}

fn form_post(url: &str, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> Request<Vec<u8>> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let mut request =
        Request::post(url).header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header("authorization", format!("Basic {encoded}"));
    }
    request.body(body.into_bytes()).unwrap()
}

fn json_of(response: &Response<Bytes>) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", response.body()))
}

fn str_at<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string {name} in {value}"))
}

/// The value of `name` in a `WWW-Authenticate: Bearer a="x", b="y"` header.
fn challenge_param(response: &Response<Bytes>, name: &str) -> Option<String> {
    let header = response.headers().get("www-authenticate")?.to_str().ok()?;
    let params = header.strip_prefix("Bearer ")?;
    params.split(", ").find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key == name).then(|| value.trim_matches('"').to_owned())
    })
}

/// RFC 8414 §3.1: the well-known string inserted between the issuer's host and path.
fn authorization_server_metadata_url(issuer: &str) -> String {
    let url = url::Url::parse(issuer).unwrap();
    let path = url.path().trim_end_matches('/');
    format!(
        "{}/.well-known/oauth-authorization-server{path}",
        url.origin().ascii_serialization()
    )
}

fn pkce_pair() -> (String, String) {
    let mut bytes = [0u8; 32];
    oauth_core::OsRandom.fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

#[tokio::test]
async fn mcp_discovery_registration_authorization_refresh_introspection_revocation() {
    let (provider, rs_secret) = host().await;

    // 1. The MCP request without a token: 401, naming the metadata and the scope.
    let response = mcp_server(&provider, &mcp_call(None), "mcp:tools").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let resource_metadata = challenge_param(&response, "resource_metadata")
        .expect("the 401 names the protected resource metadata (RFC 9728 §5.1)");
    let challenged_scope = challenge_param(&response, "scope")
        .expect("the 401 names the scope to ask for (MCP scope selection)");
    assert!(
        challenge_param(&response, "error").is_none(),
        "no token, no error code"
    );

    // 2. Protected resource metadata, at exactly the URL the challenge named.
    let response = provider.handle(&get(&resource_metadata)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let prm = json_of(&response);
    assert_eq!(str_at(&prm, "resource"), MCP_SERVER, "RFC 9728 §3.3");
    let scopes_supported: Vec<&str> = prm["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(!scopes_supported.contains(&"offline_access"));
    let authorization_server = prm["authorization_servers"][0]
        .as_str()
        .expect("at least one authorization server (MCP, RFC 9728 §2)")
        .to_owned();

    // 3. Authorization server metadata, at the URL RFC 8414 builds from the issuer.
    let response = provider
        .handle(&get(&authorization_server_metadata_url(
            &authorization_server,
        )))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let asm = json_of(&response);
    assert_eq!(
        str_at(&asm, "issuer"),
        authorization_server,
        "RFC 8414 §3.3"
    );
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(asm["authorization_response_iss_parameter_supported"], true);
    let offers_offline_access = asm["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("offline_access"));
    assert!(offers_offline_access);

    // 4. Dynamic client registration of a public native client.
    let registration = serde_json::to_vec(&json!({
        "client_name": "Example MCP Client",
        "redirect_uris": ["http://localhost:3000/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
        "scope": challenged_scope,
    }))
    .unwrap();
    let response = provider
        .handle(
            &Request::post(str_at(&asm, "registration_endpoint"))
                .header("content-type", "application/json")
                .body(registration)
                .unwrap(),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    let registered = json_of(&response);
    let client_id = str_at(&registered, "client_id").to_owned();
    assert!(registered.get("client_secret").is_none(), "a public client");

    // 5. Authorization: PKCE S256, the MCP server as `resource`, `offline_access` added
    //    because the authorization server lists it (MCP 2026-07-28 "Refresh Tokens"), and
    //    a port other than the registered one (`localhost`, checklist C-6).
    let (verifier, challenge) = pkce_pair();
    let redirect_uri = "http://localhost:54321/callback";
    let requested_scope = format!("{challenged_scope} offline_access");
    let mut authorize = url::Url::parse(str_at(&asm, "authorization_endpoint")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &requested_scope)
        .append_pair("state", "af0ifjsldkj")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", MCP_SERVER);
    let pending = provider
        .begin_authorization(&get(authorize.as_str()))
        .await
        .unwrap();
    assert_eq!(pending.client_name(), Some("Example MCP Client"));
    let target = RedirectTarget::of(&pending).unwrap();
    assert_eq!(target.host, "localhost");
    assert!(
        target.loopback,
        "the consent page warns about a localhost redirect"
    );
    let redirect = provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect_uri));
    let params: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "af0ifjsldkj");
    assert_eq!(params["iss"], authorization_server, "RFC 9207");
    let code = &params["code"];

    // 6. Token request with the verifier and the same `resource`.
    let token_endpoint = str_at(&asm, "token_endpoint").to_owned();
    let response = provider
        .handle(&form_post(
            &token_endpoint,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", &client_id),
                ("code_verifier", &verifier),
                ("resource", MCP_SERVER),
            ],
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens = json_of(&response);
    assert_eq!(str_at(&tokens, "token_type"), "Bearer");
    let access_token = str_at(&tokens, "access_token").to_owned();
    let refresh_token = str_at(&tokens, "refresh_token").to_owned();
    assert!(tokens["expires_in"].as_u64().unwrap() <= 3600);

    // 7. The MCP request with the token succeeds.
    let response = mcp_server(&provider, &mcp_call(Some(&access_token)), "mcp:tools").await;
    assert_eq!(response.status(), StatusCode::OK);
    let access = provider
        .authenticate(&mcp_call(Some(&access_token)))
        .await
        .unwrap();
    assert_eq!(access.client_id.as_str(), client_id);
    assert_eq!(
        access
            .audience
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        [MCP_SERVER]
    );

    // 8. Refresh: a new access token and a new refresh token (rotation).
    let response = provider
        .handle(&form_post(
            &token_endpoint,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
                ("client_id", &client_id),
                ("resource", MCP_SERVER),
            ],
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    let refreshed = json_of(&response);
    let access_token = str_at(&refreshed, "access_token").to_owned();
    let refresh_token_2 = str_at(&refreshed, "refresh_token").to_owned();
    assert_ne!(
        refresh_token_2, refresh_token,
        "public-client refresh tokens rotate"
    );
    let response = mcp_server(&provider, &mcp_call(Some(&access_token)), "mcp:tools").await;
    assert_eq!(response.status(), StatusCode::OK);

    // 9. Introspection by the MCP server's confidential client.
    let introspection_endpoint = str_at(&asm, "introspection_endpoint").to_owned();
    let introspect = |token: String| {
        let request = form_post(
            &introspection_endpoint,
            &[("token", &token)],
            Some((RESOURCE_SERVER, &rs_secret)),
        );
        let provider = &provider;
        async move { json_of(&provider.handle(&request).await) }
    };
    let active = introspect(access_token.clone()).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(str_at(&active, "client_id"), client_id);
    assert_eq!(str_at(&active, "iss"), authorization_server);
    assert_eq!(str_at(&active, "sub"), "alice");
    assert_eq!(str_at(&active, "token_type"), "Bearer");
    assert!(active["aud"].to_string().contains(MCP_SERVER), "{active}");
    let now = UnixTime(active["iat"].as_u64().unwrap());
    assert!(active["exp"].as_u64().unwrap() > now.0);

    // 10. Revocation of the refresh token at the advertised endpoint: the whole grant.
    let response = provider
        .handle(&form_post(
            str_at(&asm, "revocation_endpoint"),
            &[
                ("token", &refresh_token_2),
                ("token_type_hint", "refresh_token"),
                ("client_id", &client_id),
            ],
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // 11. The bearer token is rejected afterwards, with a fresh challenge.
    let response = mcp_server(&provider, &mcp_call(Some(&access_token)), "mcp:tools").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge_param(&response, "error").as_deref(),
        Some("invalid_token")
    );
    assert_eq!(
        challenge_param(&response, "resource_metadata").as_deref(),
        Some(resource_metadata.as_str())
    );
    assert_eq!(
        introspect(access_token).await,
        json!({ "active": false }),
        "RFC 7662 §2.2"
    );
    let response = provider
        .handle(&form_post(
            &token_endpoint,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token_2),
                ("client_id", &client_id),
            ],
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(str_at(&json_of(&response), "error"), "invalid_grant");
}
