//! The MCP profile (`ConfigBuilder::mcp`, checklist group MCP): one test family per row of
//! the checklist's §19, on a provider configured with nothing but the issuer, the keys and
//! `McpProfile`. The end-to-end discovery flow is `mcp_discovery_flow.rs`.
//!
//! Rows not tested here: MCP-6's document rules are the CIMD rows
//! (`client_metadata_documents.rs`; here only that the profile switches them on); MCP-21 (consent per dynamically registered client in an MCP *proxy*) is the host's
//! consent page; and the CORS side of the endpoints belongs to the glue crates.

mod common;

use std::sync::Arc;

use common::*;
use http::{Request, StatusCode};
use oauth_core::mcp::{RedirectTarget, DEFAULT_REGISTRATION_PATH};
use oauth_core::model::{GrantType, UserId};
use oauth_core::resource::Resource;
use oauth_core::{
    Approval, ClientIdUrl, ClientMetadataFetcher, ConfigError, Decision, Endpoints, FetchError,
    Issuer, Lifetimes, McpProfile, NewClient, OfflineAccess, PkcePolicy, Provider, ProviderBuilder,
    Reason, RegistrationPolicy, Scope, Secret,
};
use oauth_store_memory::MemoryStore;
use serde_json::{json, Value};

/// The MCP server of these tests: the harness's `RESOURCE`, so `Harness::bearer` calls it.
const MCP: &str = RESOURCE;

fn profile() -> McpProfile {
    McpProfile::new(MCP).scopes(["files:read", "files:write"])
}

/// A harness with the issuer `ISSUER`, the keys, and the MCP profile (then `configure`).
fn mcp_with(
    profile: McpProfile,
    configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
) -> Harness {
    Harness::bare(ISSUER, |b| configure(b.mcp(profile)))
}

fn mcp() -> Harness {
    mcp_with(profile(), |b| b)
}

fn build_error(
    configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
) -> ConfigError {
    let builder = Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .store(MemoryStore::new());
    configure(builder).build().unwrap_err()
}

async fn get_json(h: &Harness, url: &str) -> (StatusCode, Value) {
    let response = h
        .provider
        .handle(&Request::get(url).body(Vec::new()).unwrap())
        .await;
    let (status, body, _) = response_parts(&response);
    (status, body)
}

async fn as_metadata(h: &Harness) -> Value {
    let url = h.provider.machine().authorization_server_metadata_url();
    let (status, body) = get_json(h, &url).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    body
}

async fn prm(h: &Harness) -> Value {
    let url = Resource::parse(MCP).unwrap().metadata_url().unwrap();
    let (status, body) = get_json(h, &url).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    body
}

fn strings<'a>(body: &'a Value, name: &str) -> Vec<&'a str> {
    body[name]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

async fn register_json(h: &Harness, body: Value) -> (StatusCode, Value) {
    let request = registration_request(
        &serde_json::to_vec(&body).unwrap(),
        &[("content-type", "application/json")],
    );
    let (status, body, _) = response_parts(&h.provider.handle(&request).await);
    (status, body)
}

/// The `WWW-Authenticate` header of a rejected MCP request.
async fn challenge_of(h: &Harness, request: Request<Vec<u8>>) -> (StatusCode, String) {
    let error = h.provider.authenticate(&request).await.unwrap_err();
    let response = error.into_response();
    let header = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), header)
}

fn mcp_request(token: Option<&str>) -> Request<Vec<u8>> {
    let mut request = Request::post(MCP).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(b"{}".to_vec()).unwrap()
}

/// Full code flow for a public client asking for `scope`, approved as asked (or with
/// `approved`): the token response.
async fn public_tokens_with_scope(h: &Harness, scope: &str, approved: Option<&str>) -> Value {
    let client = h.public_client().await;
    let pending = h
        .begin_with(client.id.as_str(), &[("scope", scope)])
        .await
        .unwrap();
    let mut approval = Approval::new(UserId::new("alice"));
    approval.scope = approved.map(|s| Scope::parse(s).unwrap());
    let response = h
        .provider
        .complete_authorization(pending, Decision::Approve(approval))
        .await
        .unwrap();
    let code = location_params(&response)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

// ---- MCP-1: OAuth 2.1 for confidential and public clients ----

#[tokio::test]
async fn mcp_1_public_and_confidential_clients_complete_the_code_flow_under_the_profile() {
    let h = mcp();
    let (_, public) = h.public_tokens().await;
    assert!(h.bearer(str_of(&public, "access_token")).await.is_ok());

    let (client, secret, confidential) = h.confidential_tokens().await;
    assert!(h
        .bearer(str_of(&confidential, "access_token"))
        .await
        .is_ok());
    // The confidential client must still authenticate: its id alone is not enough (400,
    // as no `Authorization` header was tried), and a wrong secret is 401.
    let code = h.obtain_code(client.id.as_str()).await;
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_client");
    let (status, body, _) = h
        .redeem_basic(client.id.as_str(), "not-the-secret", &code, &[])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body, _) = h
        .redeem_basic(client.id.as_str(), secret.expose(), &code, &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---- MCP-2: RFC 8414 discovery at the path-inserted URL ----

#[tokio::test]
async fn mcp_2_v8_tenant_issuer_metadata_is_at_the_path_inserted_url() {
    let h = Harness::bare("https://auth.example.com/tenant1", |b| b.mcp(profile()));
    let (status, body) = get_json(
        &h,
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(str_of(&body, "issuer"), "https://auth.example.com/tenant1");
    // MCP clients try the RFC 8414 URL first; the OpenID Connect variants are not served
    // (this is not an OpenID Provider), and the root URL would be another issuer's.
    for other in [
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
        "https://auth.example.com/.well-known/oauth-authorization-server",
    ] {
        let (status, _) = get_json(&h, other).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    }
}

// ---- MCP-3: code_challenge_methods_supported ----

#[tokio::test]
async fn mcp_3_code_challenge_methods_supported_is_published_as_s256() {
    let body = as_metadata(&mcp()).await;
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
}

// ---- MCP-4: S256 only, and the profile refuses a weakened PKCE policy ----

#[tokio::test]
async fn mcp_4_a_weakened_pkce_policy_does_not_build_in_either_order() {
    let weak = [
        PkcePolicy {
            allow_plain: true,
            ..PkcePolicy::default()
        },
        PkcePolicy {
            require_for_confidential_clients: false,
            ..PkcePolicy::default()
        },
    ];
    for pkce in weak {
        assert!(matches!(
            build_error(|b| b.mcp(profile()).pkce(pkce)),
            ConfigError::McpProfile(_)
        ));
        assert!(matches!(
            build_error(|b| b.pkce(pkce).mcp(profile())),
            ConfigError::McpProfile(_)
        ));
    }
}

#[tokio::test]
async fn mcp_4_plain_and_missing_challenges_are_refused() {
    let h = mcp();
    let client = h.public_client().await;
    let (reason, _) = expect_redirect(
        h.begin_with(
            client.id.as_str(),
            &[
                ("code_challenge_method", "plain"),
                ("code_challenge", VERIFIER),
            ],
        )
        .await,
    );
    assert_eq!(reason, Reason::UnsupportedChallengeMethod);
    let (reason, _) = expect_redirect(
        h.begin_with(
            client.id.as_str(),
            &[("code_challenge", ""), ("code_challenge_method", "")],
        )
        .await,
    );
    assert_eq!(reason, Reason::CodeChallengeRequired);
    // Confidential clients too.
    let (confidential, _) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let (reason, _) = expect_redirect(
        h.begin_with(
            confidential.id.as_str(),
            &[("code_challenge", ""), ("code_challenge_method", "")],
        )
        .await,
    );
    assert_eq!(reason, Reason::CodeChallengeRequired);
}

// ---- MCP-5: dynamic registration, open by default, can be turned off ----

#[tokio::test]
async fn mcp_5_native_client_registers_at_the_advertised_endpoint_by_default() {
    let h = mcp();
    let metadata = as_metadata(&h).await;
    assert_eq!(
        str_of(&metadata, "registration_endpoint"),
        format!("{ISSUER}{DEFAULT_REGISTRATION_PATH}")
    );
    let (status, body) = register_json(
        &h,
        json!({
            "redirect_uris": ["http://localhost:3000/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "native",
            "client_name": "MCP Inspector",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("client_secret").is_none());
    assert!(
        body.get("application_type").is_none(),
        "ignored, not echoed"
    );
}

#[tokio::test]
async fn mcp_5_dynamic_registration_can_be_turned_off_or_protected() {
    for closed in [
        profile().dynamic_registration(false),
        profile().registration_policy(RegistrationPolicy::closed()),
    ] {
        let h = mcp_with(closed, |b| b);
        assert!(as_metadata(&h).await.get("registration_endpoint").is_none());
        let (status, _) = register_json(&h, json!({ "redirect_uris": [REDIRECT] })).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    let token = "initial-access-token-0123456789abcdefghij";
    let protected = profile().registration_policy(RegistrationPolicy::initial_access_tokens([(
        "ops",
        Secret::new(token.to_owned()),
    )]));
    let h = mcp_with(protected, |b| b);
    let (status, _) = register_json(&h, json!({ "redirect_uris": [REDIRECT] })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let request = registration_request(
        &serde_json::to_vec(&json!({ "redirect_uris": [REDIRECT] })).unwrap(),
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {token}")),
        ],
    );
    assert_eq!(
        h.provider.handle(&request).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn mcp_5_a_configured_registration_path_and_policy_are_kept() {
    let h = Harness::bare(ISSUER, |b| {
        b.endpoints(Endpoints {
            registration: Some("/oauth/register".into()),
            ..Endpoints::default()
        })
        .mcp(profile())
    });
    assert_eq!(
        str_of(&as_metadata(&h).await, "registration_endpoint"),
        format!("{ISSUER}/oauth/register")
    );
    // A policy set before the profile is the host's choice: closed stays closed.
    let h = Harness::bare(ISSUER, |b| {
        b.registration(RegistrationPolicy::closed()).mcp(profile())
    });
    assert!(as_metadata(&h).await.get("registration_endpoint").is_none());
}

// ---- MCP-6: client ID metadata documents, on once the host supplies a fetcher ----

/// The client of an MCP client ID metadata document (the example of MCP 2025-11-25).
const CIMD_CLIENT: &str = "https://app.example.com/oauth/client-metadata.json";

/// A fetcher serving one document: `CIMD_CLIENT`'s.
struct OneDocument;

#[async_trait::async_trait]
impl ClientMetadataFetcher for OneDocument {
    async fn fetch(
        &self,
        url: &ClientIdUrl,
        _max_bytes: usize,
    ) -> Result<bytes::Bytes, FetchError> {
        if url.as_str() != CIMD_CLIENT {
            return Err(FetchError::Status(404));
        }
        let document = json!({
            "client_id": CIMD_CLIENT,
            "client_name": "Example MCP Client",
            "redirect_uris": ["http://127.0.0.1:3000/callback", "http://localhost:3000/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        Ok(bytes::Bytes::from(document.to_string()))
    }
}

#[tokio::test]
async fn mcp_6_the_profile_turns_client_id_metadata_documents_on_with_a_fetcher() {
    let h = mcp_with(profile(), |b| {
        b.client_metadata_fetcher(Arc::new(OneDocument))
    });
    assert!(h.provider.config().client_id_metadata_documents());
    assert_eq!(
        as_metadata(&h).await["client_id_metadata_document_supported"],
        true
    );
    // An MCP client with no registration at all: its URL is its client id, and its
    // `localhost` redirect may use any port.
    let redirect_uri = "http://localhost:51234/callback";
    let pending = h
        .begin_with(CIMD_CLIENT, &[("redirect_uri", redirect_uri)])
        .await
        .unwrap();
    assert_eq!(pending.client_name(), Some("Example MCP Client"));
    let code = location_params(&h.approve(pending, "alice").await)["code"].clone();
    let (status, tokens, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("client_id", CIMD_CLIENT),
                ("code_verifier", VERIFIER),
                ("resource", MCP),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(h.bearer(str_of(&tokens, "access_token")).await.is_ok());
    // A redirect URI the document does not list is refused, never redirected to.
    assert_eq!(
        expect_fatal(
            h.begin_with(CIMD_CLIENT, &[("redirect_uri", "https://evil.example/cb")])
                .await
        ),
        Reason::RedirectUriMismatch
    );
}

#[tokio::test]
async fn mcp_6_without_a_fetcher_or_when_declined_no_documents_are_resolved() {
    for h in [
        mcp(),
        mcp_with(profile().client_id_metadata_documents(false), |b| {
            b.client_metadata_fetcher(Arc::new(OneDocument))
        }),
    ] {
        assert!(!h.provider.config().client_id_metadata_documents());
        assert!(as_metadata(&h)
            .await
            .get("client_id_metadata_document_supported")
            .is_none());
        // Dynamic registration remains the way in.
        assert!(as_metadata(&h).await.get("registration_endpoint").is_some());
    }
}

// ---- MCP-7: the consent page can show where the code goes ----

#[tokio::test]
async fn mcp_7_consent_page_gets_the_redirect_host_and_a_localhost_flag() {
    let h = mcp();
    let (status, body) = register_json(
        &h,
        json!({
            "redirect_uris": ["http://localhost:3000/callback"],
            "token_endpoint_auth_method": "none",
            "client_name": "Local tool",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pending = h
        .begin_with(
            str_of(&body, "client_id"),
            &[("redirect_uri", "http://localhost:3000/callback")],
        )
        .await
        .unwrap();
    let target = RedirectTarget::of(&pending).unwrap();
    assert_eq!(target.host, "localhost");
    assert!(target.loopback);

    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    let target = RedirectTarget::of(&pending).unwrap();
    assert_eq!(target.host, "client.example");
    assert!(!target.loopback);
}

// ---- MCP-8: refresh tokens of public clients rotate ----

#[tokio::test]
async fn mcp_8_public_client_refresh_tokens_rotate_and_reuse_revokes_the_grant() {
    let h = mcp();
    let (client, tokens) = h.public_tokens().await;
    let first = str_of(&tokens, "refresh_token").to_owned();
    let (status, second, _) = h.refresh(client.id.as_str(), &first, &[]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let second_rt = str_of(&second, "refresh_token").to_owned();
    assert_ne!(second_rt, first);
    let (status, third, _) = h.refresh(client.id.as_str(), &second_rt, &[]).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_ne!(str_of(&third, "refresh_token"), second_rt);

    // The retired token is rejected, and its reuse revokes the grant.
    let (status, body, _) = h.refresh(client.id.as_str(), &first, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    assert!(h.bearer(str_of(&third, "access_token")).await.is_err());
    let (status, _, _) = h
        .refresh(client.id.as_str(), str_of(&third, "refresh_token"), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

// ---- MCP-9: short-lived access tokens ----

#[tokio::test]
async fn mcp_9_access_tokens_are_short_lived() {
    let h = mcp();
    let (_, tokens) = h.public_tokens().await;
    assert!(tokens["expires_in"].as_u64().unwrap() <= 3600);
    let too_long = Lifetimes {
        access_token: 24 * 3600 + 1,
        ..Lifetimes::default()
    };
    assert_eq!(
        build_error(|b| b.mcp(profile()).lifetimes(too_long)),
        ConfigError::InvalidLifetime("access_token")
    );
}

// ---- MCP-10: HTTPS endpoints; redirect URIs localhost or https ----

#[tokio::test]
async fn mcp_10_endpoints_are_https_and_http_redirects_only_for_loopback() {
    assert_eq!(
        Issuer::new("http://auth.example.com"),
        Err(ConfigError::InvalidIssuer)
    );
    assert!(matches!(
        build_error(|b| b.mcp(McpProfile::new("http://mcp.example.com/mcp"))),
        ConfigError::McpProfile(_)
    ));
    let h = mcp();
    let metadata = as_metadata(&h).await;
    for member in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        assert!(
            str_of(&metadata, member).starts_with("https://"),
            "{member}"
        );
    }
    let (status, body) =
        register_json(&h, json!({ "redirect_uris": ["http://client.example/cb"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_redirect_uri");
    for loopback in [
        "http://localhost:3000/callback",
        "http://127.0.0.1:3000/callback",
    ] {
        let (status, body) = register_json(
            &h,
            json!({ "redirect_uris": [loopback], "token_endpoint_auth_method": "none" }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{loopback}: {body}");
    }
}

// ---- MCP-11: exact redirect-URI validation, localhost port exception (C-6) ----

#[tokio::test]
async fn mcp_11_redirect_uris_match_exactly_except_the_loopback_port() {
    let h = mcp();
    let client = h
        .register(NewClient::public(vec![
            "http://localhost:3000/callback".into(),
            REDIRECT.into(),
        ]))
        .await
        .0;
    let id = client.id.as_str();
    // The port of a loopback redirect may vary, `localhost` included under the profile.
    for allowed in [
        "http://localhost:49152/callback",
        "http://localhost/callback",
    ] {
        let pending = h.begin_with(id, &[("redirect_uri", allowed)]).await;
        assert!(pending.is_ok(), "{allowed}");
    }
    // Everything else is fatal: never redirected to.
    for refused in [
        "http://localhost:3000/callback/evil",
        "http://localhost.evil.example:3000/callback",
        "https://client.example/cb/evil",
        "https://client.example/cb?x=1",
        "https://CLIENT.example/cb",
    ] {
        assert_eq!(
            expect_fatal(h.begin_with(id, &[("redirect_uri", refused)]).await),
            Reason::RedirectUriMismatch,
            "{refused}"
        );
    }
}

#[tokio::test]
async fn mcp_11_without_the_profile_localhost_keeps_its_port() {
    let h = Harness::bare(ISSUER, |b| b.scopes(["read"]).default_scope(["read"]));
    let client = h
        .register(NewClient::public(vec![
            "http://localhost:3000/callback".into()
        ]))
        .await
        .0;
    assert_eq!(
        expect_fatal(
            h.begin_with(
                client.id.as_str(),
                &[("redirect_uri", "http://localhost:49152/callback")]
            )
            .await
        ),
        Reason::RedirectUriMismatch
    );
}

// ---- MCP-12: `resource` at both endpoints, canonical audience ----

#[tokio::test]
async fn mcp_12_resource_with_upper_case_scheme_and_host_binds_the_canonical_audience() {
    let h = mcp();
    let client = h.public_client().await;
    let upper = "HTTPS://API.EXAMPLE/mcp";
    let code = h
        .obtain_code_with(client.id.as_str(), &[("resource", upper)])
        .await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", client.id.as_str()),
                ("code_verifier", VERIFIER),
                ("resource", upper),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    assert_eq!(
        access
            .audience
            .iter()
            .map(Resource::as_str)
            .collect::<Vec<_>>(),
        [MCP]
    );
}

#[tokio::test]
async fn mcp_12_a_request_without_resource_gets_the_mcp_server_and_others_are_refused() {
    let h = mcp();
    let (_, tokens) = h.public_tokens().await;
    let access = h.bearer(str_of(&tokens, "access_token")).await.unwrap();
    assert!(access.audience.contains(&Resource::parse(MCP).unwrap()));
    let client = h.public_client().await;
    let (reason, response) = expect_redirect(
        h.begin_with(
            client.id.as_str(),
            &[("resource", "https://other.example/mcp")],
        )
        .await,
    );
    assert_eq!(reason, Reason::UnknownResource);
    assert_eq!(location_params(&response)["error"], "invalid_target");
}

// ---- MCP-13: `iss` in every authorization response ----

#[tokio::test]
async fn mcp_13_iss_in_success_and_error_responses_and_advertised() {
    let h = mcp();
    assert_eq!(
        as_metadata(&h).await["authorization_response_iss_parameter_supported"],
        true
    );
    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    let params = location_params(&h.approve(pending, "alice").await);
    assert_eq!(params["iss"], ISSUER);
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    let (_, denied) = expect_redirect(h.deny(pending).await);
    let params = location_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["iss"], ISSUER);
    let (_, response) = expect_redirect(
        h.begin_with(client.id.as_str(), &[("scope", "unknown")])
            .await,
    );
    assert_eq!(location_params(&response)["iss"], ISSUER);
}

// ---- MCP-14: `offline_access` ----

#[tokio::test]
async fn mcp_14_offline_access_is_offered_by_the_as_and_never_by_the_resource() {
    let h = mcp();
    assert!(strings(&as_metadata(&h).await, "scopes_supported").contains(&"offline_access"));
    let prm = prm(&h).await;
    assert_eq!(
        strings(&prm, "scopes_supported"),
        ["files:read", "files:write"]
    );
    let (_, challenge) = challenge_of(&h, mcp_request(None)).await;
    assert!(
        challenge.contains("scope=\"files:read files:write\""),
        "{challenge}"
    );
    assert!(!challenge.contains("offline_access"));
    // Even a host that requires it at the resource never names it in the challenge.
    let (_, tokens) = h.public_tokens().await;
    let access = h.bearer(str_of(&tokens, "access_token")).await.unwrap();
    let denied = access
        .require_scope("offline_access files:admin")
        .unwrap_err()
        .challenge();
    assert!(!denied.contains("offline_access"), "{denied}");
}

#[tokio::test]
async fn mcp_14_offered_offline_access_is_accepted_from_any_client_and_the_grant_type_decides() {
    let h = mcp();
    // A client that registered a narrower scope may still ask for offline_access.
    let (status, registered) = register_json(
        &h,
        json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "files:read",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let id = str_of(&registered, "client_id");
    let code = h
        .obtain_code_with(id, &[("scope", "files:read offline_access")])
        .await;
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_some());
    // Registered for the refresh grant: a refresh token without asking.
    let (_, tokens) = h.public_tokens().await;
    assert!(tokens.get("refresh_token").is_some());
    // Not registered for it: none, even when asking.
    let (status, registered) = register_json(
        &h,
        json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let id = str_of(&registered, "client_id");
    let code = h
        .obtain_code_with(id, &[("scope", "files:read offline_access")])
        .await;
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn mcp_14_offline_access_is_exempt_only_for_clients_that_may_get_refresh_tokens() {
    let h = mcp();
    // Registered `files:read` without the refresh grant: `offline_access` is outside its
    // registration like any other scope, so the request is refused, not silently widened.
    let (status, registered) = register_json(
        &h,
        json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "scope": "files:read",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let id = str_of(&registered, "client_id");
    let (reason, response) = expect_redirect(
        h.begin_with(id, &[("scope", "files:read offline_access")])
            .await,
    );
    assert_eq!(reason, Reason::ScopeNotAllowed);
    assert_eq!(location_params(&response)["error"], "invalid_scope");
    assert!(h.begin_with(id, &[("scope", "files:read")]).await.is_ok());
    // A client-credentials token never carries it: ignored, and the response says so.
    let (status, registered) = register_json(
        &h,
        json!({
            "grant_types": ["client_credentials", "refresh_token"],
            "scope": "files:read",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "files:read offline_access"),
            ],
            Some((
                str_of(&registered, "client_id"),
                str_of(&registered, "client_secret"),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "files:read");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn mcp_14_required_offline_access_issues_refresh_tokens_only_when_approved() {
    let h = mcp_with(profile().offline_access(OfflineAccess::Required), |b| b);
    let asked = public_tokens_with_scope(&h, "files:read offline_access", None).await;
    assert!(asked.get("refresh_token").is_some(), "{asked}");
    let not_asked = public_tokens_with_scope(&h, "files:read", None).await;
    assert!(not_asked.get("refresh_token").is_none(), "{not_asked}");
    // The consent page withholds it by approving less.
    let withheld =
        public_tokens_with_scope(&h, "files:read offline_access", Some("files:read")).await;
    assert!(withheld.get("refresh_token").is_none(), "{withheld}");
    // Rotation keeps the refresh token's scope, so the chain goes on.
    let client = h.public_client().await;
    let code = h
        .obtain_code_with(
            client.id.as_str(),
            &[("scope", "files:read offline_access")],
        )
        .await;
    let (_, tokens, _) = h.redeem_public(client.id.as_str(), &code).await;
    let (status, refreshed, _) = h
        .refresh(client.id.as_str(), str_of(&tokens, "refresh_token"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_some());
}

#[tokio::test]
async fn mcp_14_offline_access_can_be_left_out() {
    let h = mcp_with(profile().offline_access(OfflineAccess::NotOffered), |b| b);
    assert!(!strings(&as_metadata(&h).await, "scopes_supported").contains(&"offline_access"));
    let client = h.public_client().await;
    let (reason, _) = expect_redirect(
        h.begin_with(
            client.id.as_str(),
            &[("scope", "files:read offline_access")],
        )
        .await,
    );
    assert_eq!(reason, Reason::ScopeNotAllowed);
    // Requiring it without offering it could never issue a refresh token.
    assert_eq!(
        build_error(|b| b
            .mcp(profile().offline_access(OfflineAccess::NotOffered))
            .refresh_tokens_require_offline_access(true)),
        ConfigError::InvalidScope
    );
}

// ---- MCP-15: the MCP server's protected resource metadata ----

#[tokio::test]
async fn mcp_15_resource_metadata_names_this_authorization_server() {
    let h = mcp();
    let prm = prm(&h).await;
    assert_eq!(str_of(&prm, "resource"), MCP);
    assert_eq!(strings(&prm, "authorization_servers"), [ISSUER]);
    assert_eq!(strings(&prm, "bearer_methods_supported"), ["header"]);
}

// ---- MCP-16: the 401 names the metadata; both well-known URLs answer ----

#[tokio::test]
async fn mcp_16_v8_challenge_names_the_metadata_and_both_well_known_urls_answer() {
    let h = mcp();
    let (status, challenge) = challenge_of(&h, mcp_request(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let url = "https://api.example/.well-known/oauth-protected-resource/mcp";
    assert!(
        challenge.contains(&format!("resource_metadata=\"{url}\"")),
        "{challenge}"
    );
    for url in [
        url,
        "https://api.example/.well-known/oauth-protected-resource",
    ] {
        let (status, body) = get_json(&h, url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(str_of(&body, "resource"), MCP);
    }
}

// ---- MCP-17: `scope` in the 401; 403 insufficient_scope names every needed scope ----

#[tokio::test]
async fn mcp_17_the_401_names_the_default_scope_and_the_403_every_needed_scope() {
    let h = mcp_with(
        McpProfile::new(MCP)
            .scopes(["files:read", "files:write", "files:delete"])
            .default_scope(["files:read"]),
        |b| b,
    );
    let (_, challenge) = challenge_of(&h, mcp_request(None)).await;
    assert!(challenge.contains("scope=\"files:read\""), "{challenge}");
    let (status, challenge) = challenge_of(&h, mcp_request(Some("oa2at_bogus"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("scope=\"files:read\""), "{challenge}");

    let (_, tokens) = h.public_tokens().await;
    let access = h.bearer(str_of(&tokens, "access_token")).await.unwrap();
    assert_eq!(access.scope, Scope::parse("files:read").unwrap());
    let denied = access
        .require_scope("files:write files:delete")
        .unwrap_err();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let challenge = denied.challenge();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"files:delete files:write\""),
        "{challenge}"
    );
    assert!(challenge.contains("resource_metadata=\""), "{challenge}");
    assert!(challenge.contains("error_description=\""), "{challenge}");
}

// ---- MCP-18: scope hierarchies ----

#[tokio::test]
async fn mcp_18_a_broader_scope_satisfies_the_narrower_ones_it_implies() {
    let h = mcp_with(
        McpProfile::new(MCP)
            .scopes(["files:read", "files:write", "files:admin"])
            .scope_implies("files:write", ["files:read"])
            .scope_implies("files:admin", ["files:write"])
            .default_scope(["files:write"]),
        |b| b,
    );
    let (_, tokens) = h.public_tokens().await;
    let access = h.bearer(str_of(&tokens, "access_token")).await.unwrap();
    assert_eq!(
        access.scope,
        Scope::parse("files:write").unwrap(),
        "never widened"
    );
    assert!(access.require_scope("files:read").is_ok());
    assert!(access.require_scope("files:read files:write").is_ok());
    let denied = access.require_scope("files:admin").unwrap_err();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let admin = public_tokens_with_scope(&h, "files:admin", None).await;
    let access = h.bearer(str_of(&admin, "access_token")).await.unwrap();
    assert!(access.require_scope("files:read").is_ok(), "transitive");
}

#[tokio::test]
async fn mcp_18_a_hierarchy_names_only_offered_scopes_and_never_offline_access() {
    assert_eq!(
        build_error(|b| b.mcp(profile().scope_implies("files:write", ["files:unknown"]))),
        ConfigError::InvalidScope
    );
    assert_eq!(
        build_error(|b| b.mcp(profile().scope_implies("files:write", ["offline_access"]))),
        ConfigError::InvalidScope
    );
}

// ---- MCP-19: only tokens for this MCP server ----

#[tokio::test]
async fn mcp_19_a_token_for_another_resource_is_rejected() {
    let other = "https://other.example/api";
    let h = mcp_with(profile(), |b| b.resource(other));
    let mcp_resource = h.provider.config().mcp_resource().unwrap().clone();
    assert_eq!(mcp_resource.as_str(), MCP);
    let (_, tokens) = h.public_tokens_for(&[other]).await;
    let token = str_of(&tokens, "access_token");
    assert!(h.bearer_for(token, other).await.is_ok());
    let error = h
        .provider
        .authenticate_for(&mcp_request(Some(token)), Some(&mcp_resource))
        .await
        .unwrap_err();
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error.reason, Some(Reason::AccessTokenWrongAudience));
}

// ---- MCP-20: status codes at the MCP server ----

#[tokio::test]
async fn mcp_20_status_codes_are_401_403_and_400() {
    let h = mcp();
    let (_, tokens) = h.public_tokens().await;
    let token = str_of(&tokens, "access_token");
    let (status, _) = challenge_of(&h, mcp_request(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token");
    let (status, _) = challenge_of(&h, mcp_request(Some("oa2at_expired-or-bogus"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "invalid token");
    let malformed = Request::post(MCP)
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    let (status, _) = challenge_of(&h, malformed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "malformed request");
    let access = h.bearer(token).await.unwrap();
    assert_eq!(
        access.require_scope("files:admin").unwrap_err().status(),
        StatusCode::FORBIDDEN
    );
    // An expired token is 401 too.
    h.advance(3601);
    let (status, _) = challenge_of(&h, mcp_request(Some(token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired token");
}

// ---- MCP-22: the 2025-03-26 fallback paths at the authorization base URL ----

#[tokio::test]
async fn mcp_22_legacy_default_paths_answer_at_the_authorization_base_url() {
    let h = mcp();
    // `/token` and `/register` are served by the provider at the issuer's origin;
    // `/authorize` is the host's route (begin_authorization), at the default path too.
    let metadata = as_metadata(&h).await;
    assert_eq!(
        str_of(&metadata, "authorization_endpoint"),
        format!("{ISSUER}/authorize")
    );
    assert_eq!(
        str_of(&metadata, "token_endpoint"),
        format!("{ISSUER}/token")
    );
    let (status, body) = register_json(
        &h,
        json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body, _) = h.token(&[("grant_type", "authorization_code")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "answered, not 404: {body}");
}

// ---- the preset itself ----

#[tokio::test]
async fn mcp_profile_adds_to_earlier_settings_and_fills_only_what_is_unset() {
    let h = Harness::bare(ISSUER, |b| {
        b.scopes(["profile"])
            .default_scope(["profile"])
            .mcp(profile())
    });
    let config = h.provider.config();
    assert_eq!(
        config.scopes(),
        &Scope::parse("profile files:read files:write offline_access").unwrap()
    );
    assert_eq!(config.resources().iter().count(), 1);
    assert_eq!(
        config.challenge_scope(),
        Some(&Scope::parse("profile").unwrap())
    );
    assert!(config.registration_enabled());
    // What the profile sets explicitly replaces an earlier value.
    let h = Harness::bare(ISSUER, |b| {
        b.default_scope(["files:write"])
            .mcp(profile().default_scope(["files:read"]))
    });
    assert_eq!(
        h.provider.config().challenge_scope(),
        Some(&Scope::parse("files:read").unwrap())
    );
    let (_, tokens) = h.public_tokens().await;
    assert_eq!(str_of(&tokens, "scope"), "files:read");
    // Without scopes, tokens carry none and a 401 names none.
    let h = mcp_with(McpProfile::new(MCP), |b| b);
    let (_, challenge) = challenge_of(&h, mcp_request(None)).await;
    assert!(!challenge.contains("scope="), "{challenge}");
    let (_, tokens) = h.public_tokens().await;
    assert!(tokens.get("scope").is_none(), "{tokens}");
}
