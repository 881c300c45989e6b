//! The whole authorization-code flow in one process, on the memory store: register a
//! client, validate an authorization request, approve it, redeem the code with PKCE, and
//! call the protected API with the access token.
//!
//! Run with `cargo run -p oauth-core --example quickstart`.

use http::Request;
use oauth_core::model::UserId;
use oauth_core::{
    Approval, Decision, Issuer, KeyId, Keyring, NewClient, OsRandom, Provider, SecureRandom,
};
use oauth_store_memory::MemoryStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keys come from the host (an environment variable or a key file in a real server).
    let mut secret = [0u8; 32];
    OsRandom.fill(&mut secret)?;
    let provider = Provider::builder(Issuer::new("https://auth.example.com")?)
        .keys(Keyring::from_secret(KeyId::new("2026-11")?, &secret)?)
        .store(MemoryStore::new())
        .scopes(["read", "write"])
        .default_scope(["read"])
        .resource("https://api.example.com/mcp")
        .build()?;

    // A public client (a native app or an MCP client).
    let client = provider
        .register_client(NewClient::public(vec!["http://127.0.0.1/callback".into()]))
        .await?
        .client;

    // 1. The browser arrives at the authorization endpoint (PKCE S256, RFC 7636 App. B).
    let authorize = Request::get(format!(
        "https://auth.example.com/authorize?response_type=code&client_id={}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A53117%2Fcallback&scope=read%20write&state=af0ifjsldkj\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        client.id
    ))
    .body(Vec::new())?;
    let pending = provider.begin_authorization(&authorize).await?;
    println!(
        "consent: client {} asks for `{}` on {:?}",
        pending.client_id(),
        pending.scope(),
        pending
            .resources()
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
    );

    // 2. The user logs in and approves; the browser is sent back with a code.
    let redirect = provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await?;
    let location = redirect.headers()["location"].to_str()?;
    println!("{} {location}", redirect.status());
    let code = url::Url::parse(location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;

    // 3. The client redeems the code at the token endpoint.
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", "http://127.0.0.1:53117/callback")
        .append_pair("client_id", client.id.as_str())
        .append_pair(
            "code_verifier",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        )
        .finish();
    let token = Request::post("https://auth.example.com/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())?;
    let response = provider.token(&token).await;
    let tokens: serde_json::Value = serde_json::from_slice(response.body())?;
    println!(
        "{} token response with keys {:?}",
        response.status(),
        tokens
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
    );

    // 4. The client calls the API; the resource server validates the bearer token.
    let api = Request::get("https://api.example.com/mcp")
        .header(
            "authorization",
            format!(
                "Bearer {}",
                tokens["access_token"].as_str().ok_or("no token")?
            ),
        )
        .body(Vec::new())?;
    let access = provider.authenticate(&api).await?;
    access.require_scope("write")?;
    println!(
        "API call by {:?} via client {} with scope `{}`",
        access.user_id, access.client_id, access.scope
    );
    Ok(())
}
