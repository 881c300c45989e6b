//! An MCP server protected by the library, with its authorization server in the same
//! process: the host code `docs/mcp.md` walks through, then an MCP client that knows only
//! the MCP server's URL and finds everything else by discovery.
//!
//! Run with `cargo run -p oauth-core --example mcp_server`.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use oauth_core::mcp::{McpProfile, RedirectTarget};
use oauth_core::model::UserId;
use oauth_core::{Approval, Decision, Issuer, KeyId, Keyring, OsRandom, Provider, SecureRandom};
use oauth_store_memory::MemoryStore;
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error>;

/// The MCP server's canonical URI (MCP "Canonical Server URI").
const MCP_SERVER: &str = "https://mcp.example.com/mcp";

// ---- docs/mcp.md, section 1: the provider ----
/// The provider: an authorization server for the MCP server at `MCP_SERVER`.
fn provider(secret: &[u8]) -> Result<Provider<MemoryStore>, BoxError> {
    let provider = Provider::builder(Issuer::new("https://auth.example.com")?)
        .keys(Keyring::from_secret(KeyId::new("2026-11")?, secret)?)
        .store(MemoryStore::new())
        .mcp(
            McpProfile::new(MCP_SERVER)
                .scopes(["mcp:tools", "mcp:resources", "mcp:admin"])
                .default_scope(["mcp:tools", "mcp:resources"])
                .scope_implies("mcp:admin", ["mcp:tools", "mcp:resources"]),
        )
        .build()?;
    Ok(provider)
}

// ---- docs/mcp.md, section 3: the host's routes ----
/// The host's routes. Glue crates (axum, actix-web) do this in one line; here it is by hand.
async fn route(provider: &Provider<MemoryStore>, request: Request<Vec<u8>>) -> Response<Bytes> {
    match request.uri().path() {
        // The MCP endpoint: the resource server side.
        "/mcp" => mcp_endpoint(provider, &request).await,
        // The authorization endpoint needs the host's login and consent pages.
        "/authorize" => authorize(provider, &request).await,
        // Everything the RFCs define: metadata, token, registration, revocation,
        // introspection. Unknown paths answer 404.
        _ => provider.handle(&request).await,
    }
}

/// The MCP endpoint: authenticate, then require the scope the JSON-RPC method needs.
async fn mcp_endpoint(
    provider: &Provider<MemoryStore>,
    request: &Request<Vec<u8>>,
) -> Response<Bytes> {
    // 401 with `resource_metadata` and `scope` when the token is missing or bad.
    let access = match provider.authenticate(request).await {
        Ok(access) => access,
        Err(rejected) => return rejected.into_response(),
    };
    let call: Value = serde_json::from_slice(request.body()).unwrap_or(Value::Null);
    let needs = match call["method"].as_str() {
        Some(method) if method.starts_with("resources/") => "mcp:resources",
        Some("tools/call") if call["params"]["name"] == "delete_everything" => "mcp:admin",
        _ => "mcp:tools",
    };
    // 403 `insufficient_scope` naming the scope; `mcp:admin` implies the other two.
    if let Err(denied) = access.require_scope(needs) {
        return denied.into_response();
    }
    let user = access.user_id.as_ref().map(UserId::as_str).unwrap_or("-");
    let result = json!({ "jsonrpc": "2.0", "id": call["id"], "result": { "user": user } });
    Response::new(Bytes::from(result.to_string()))
}

/// The authorization endpoint. A real host checks its session cookie, shows its login
/// page if there is none, then a consent page carrying `provider.seal_ticket(...)`, and
/// completes when the form comes back (`provider.resume_authorization(...)`). This demo
/// has one user who is always logged in and approves everything.
async fn authorize(
    provider: &Provider<MemoryStore>,
    request: &Request<Vec<u8>>,
) -> Response<Bytes> {
    let user = UserId::new("alice");
    match provider.begin_authorization(request).await {
        Ok(pending) => {
            // What MCP asks the consent page to show: who asks, for what, and where the
            // code goes (with a warning for `localhost`, which any local program can use).
            if let Some(target) = RedirectTarget::of(&pending) {
                println!(
                    "consent: {} asks for `{}`; redirect to {}{}",
                    pending
                        .client_name()
                        .unwrap_or(pending.client_id().as_str()),
                    pending.scope(),
                    target.host,
                    if target.loopback {
                        " (a program on this computer)"
                    } else {
                        ""
                    },
                );
            }
            let decision = Decision::Approve(Approval::new(user.clone()));
            match provider.complete_authorization(pending, decision).await {
                Ok(redirect) => redirect,
                Err(error) => error.into_response(Some(&user)),
            }
        }
        Err(error) => error.into_response(Some(&user)),
    }
}

// ---- an MCP client that knows only `MCP_SERVER` ----

fn header_param(response: &Response<Bytes>, name: &str) -> Option<String> {
    let header = response.headers().get("www-authenticate")?.to_str().ok()?;
    header
        .strip_prefix("Bearer ")?
        .split(", ")
        .find_map(|param| {
            let (key, value) = param.split_once('=')?;
            (key == name).then(|| value.trim_matches('"').to_owned())
        })
}

fn json_body(response: &Response<Bytes>) -> Result<Value, BoxError> {
    Ok(serde_json::from_slice(response.body())?)
}

fn text<'a>(value: &'a Value, name: &str) -> Result<&'a str, BoxError> {
    value[name]
        .as_str()
        .ok_or_else(|| format!("no {name} in {value}").into())
}

fn form(url: &str, pairs: &[(&str, &str)]) -> Result<Request<Vec<u8>>, BoxError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())?)
}

fn mcp_call(token: Option<&str>, method: &str) -> Result<Request<Vec<u8>>, BoxError> {
    let mut request = Request::post(MCP_SERVER).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method });
    Ok(request.body(body.to_string().into_bytes())?)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut secret = [0u8; 32];
    OsRandom.fill(&mut secret)?;
    let provider = provider(&secret)?;
    let get = |url: &str| Request::get(url).body(Vec::new());

    // 1. The MCP request without a token: 401 naming the metadata and the scope.
    let response = route(&provider, mcp_call(None, "tools/list")?).await;
    println!(
        "{} {:?}",
        response.status(),
        response.headers().get("www-authenticate")
    );
    let resource_metadata = header_param(&response, "resource_metadata").ok_or("no metadata")?;
    let scope = header_param(&response, "scope").unwrap_or_default();

    // 2. Protected resource metadata, then the authorization server metadata (RFC 8414).
    let prm = json_body(&route(&provider, get(&resource_metadata)?).await)?;
    let issuer = prm["authorization_servers"][0]
        .as_str()
        .ok_or("no server")?;
    let issuer_url = url::Url::parse(issuer)?;
    let metadata_url = format!(
        "{}/.well-known/oauth-authorization-server{}",
        issuer_url.origin().ascii_serialization(),
        issuer_url.path().trim_end_matches('/')
    );
    let asm = json_body(&route(&provider, get(&metadata_url)?).await)?;

    // 3. Dynamic registration of a public client with a localhost redirect.
    let registration = json!({
        "client_name": "Example MCP client",
        "redirect_uris": ["http://localhost:3000/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    });
    let request = Request::post(text(&asm, "registration_endpoint")?)
        .header("content-type", "application/json")
        .body(registration.to_string().into_bytes())?;
    let client = json_body(&route(&provider, request).await)?;
    let client_id = text(&client, "client_id")?;

    // 4. Authorization with PKCE (RFC 7636 Appendix B values) and `resource`.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let redirect_uri = "http://localhost:61234/callback";
    let mut authorize = url::Url::parse(text(&asm, "authorization_endpoint")?)?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &format!("{scope} offline_access"))
        .append_pair("state", "xyz")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", MCP_SERVER);
    let redirect = route(&provider, get(authorize.as_str())?).await;
    let location = url::Url::parse(redirect.headers()["location"].to_str()?)?;
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;

    // 5. Token request, then the MCP calls.
    let request = form(
        text(&asm, "token_endpoint")?,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("code_verifier", verifier),
            ("resource", MCP_SERVER),
        ],
    )?;
    let tokens = json_body(&route(&provider, request).await)?;
    let token = text(&tokens, "access_token")?;
    println!(
        "token scope `{}`, refresh token: {}",
        text(&tokens, "scope")?,
        tokens.get("refresh_token").is_some()
    );
    for method in ["tools/list", "resources/read"] {
        let response = route(&provider, mcp_call(Some(token), method)?).await;
        println!(
            "{method}: {} {}",
            response.status(),
            String::from_utf8_lossy(response.body())
        );
        if response.status() != StatusCode::OK {
            return Err(format!("{method} failed").into());
        }
    }
    Ok(())
}
