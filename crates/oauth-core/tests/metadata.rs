//! Discovery: authorization server metadata (RFC 8414 §2, §3) and protected resource metadata (RFC 9728 §2, §3, §5.1), served by `Provider::handle` at their path-aware well-known URLs (checklist V-8) and generated from the configuration alone.

mod common;

use common::*;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use oauth_core::config::Endpoints;
use oauth_core::model::{AuthMethod, GrantType};
use oauth_core::resource::Resource;
use oauth_core::{Issuer, NewClient, PkcePolicy};
use serde_json::Value;

/// The harness's authorization server metadata URL (issuer `https://as.example`).
const AS_METADATA: &str = "https://as.example/.well-known/oauth-authorization-server";
/// The harness's protected resource metadata URL (resource `https://api.example/mcp`).
const PRM_METADATA: &str = "https://api.example/.well-known/oauth-protected-resource/mcp";
/// The root fallback URL of protected resource metadata.
const PRM_ROOT: &str = "https://api.example/.well-known/oauth-protected-resource";

/// The harness's authorization server metadata, after checking the response is a 200.
async fn as_metadata(h: &Harness) -> Value {
    let url = h.provider.machine().authorization_server_metadata_url();
    let (status, body, _) = h.get(&url).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    body
}

/// The names of the members of a JSON object.
fn members(body: &Value) -> Vec<&str> {
    body.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// The strings of the JSON array `body[name]`; panics if it is not one.
fn strings<'a>(body: &'a Value, name: &str) -> Vec<&'a str> {
    body[name]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not an array in {body}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// Every array and value of a JSON document: none is empty or `null` (RFC 8414 §3.2,
/// RFC 9728 §3.2: members with zero values are omitted).
fn assert_no_empty_members(value: &Value) {
    match value {
        Value::Null => panic!("a null member"),
        Value::Array(items) => {
            assert!(!items.is_empty(), "an empty array");
            items.iter().for_each(assert_no_empty_members);
        }
        Value::Object(map) => {
            assert!(!map.is_empty(), "an empty object");
            for (name, member) in map {
                assert!(
                    !matches!(member, Value::String(s) if s.is_empty()),
                    "{name} is an empty string"
                );
                assert_no_empty_members(member);
            }
        }
        _ => {}
    }
}

/// The `resource_metadata` URL of a bearer challenge.
fn resource_metadata_of(challenge: &str) -> String {
    let start = challenge
        .find("resource_metadata=\"")
        .unwrap_or_else(|| panic!("no resource_metadata in {challenge}"))
        + "resource_metadata=\"".len();
    let rest = &challenge[start..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A harness with `resources` as its only protected resources.
fn with_resources(resources: &[&str]) -> Harness {
    let resources: Vec<String> = resources.iter().map(|r| (*r).to_owned()).collect();
    Harness::bare(ISSUER, move |b| {
        resources.into_iter().fold(
            b.scopes(["read", "write"]).default_scope(["read"]),
            |b, r| b.resource(r),
        )
    })
}

/// The `resource` member served at `url`, or the status when it is not a 200.
async fn served_resource(h: &Harness, url: &str) -> Result<String, StatusCode> {
    let (status, body, _) = h.get(url).await;
    if status == StatusCode::OK {
        Ok(str_of(&body, "resource").to_owned())
    } else {
        Err(status)
    }
}

// ---------------------------------------------------------------------------------------
// ASM: RFC 8414 authorization server metadata
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn asm_1_issuer_is_https_without_query_or_fragment() {
    for bad in [
        "http://as",
        "https://as?x=1",
        "https://as#f",
        "https://as/?",
    ] {
        assert!(Issuer::new(bad).is_err(), "{bad} accepted as an issuer");
    }
    let body = as_metadata(&Harness::new()).await;
    let issuer = url::Url::parse(str_of(&body, "issuer")).unwrap();
    assert_eq!(issuer.scheme(), "https");
    assert!(issuer.query().is_none() && issuer.fragment().is_none());
    // O21-1: so every URL the document advertises is https too.
    let open = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".to_owned()),
            ..Endpoints::default()
        })
    });
    let body = as_metadata(&open).await;
    for name in members(&body) {
        if name.ends_with("_endpoint") {
            assert!(str_of(&body, name).starts_with("https://"), "{name}");
        }
    }
}

#[tokio::test]
async fn asm_2_v8_well_known_url_is_inserted_before_the_issuer_path() {
    // V-8 (RFC 8414 §3.1), and the MCP tenant example; a trailing `/` is removed first.
    let vectors = [
        (
            "https://example.com",
            "https://example.com/.well-known/oauth-authorization-server",
        ),
        (
            "https://example.com/",
            "https://example.com/.well-known/oauth-authorization-server",
        ),
        (
            "https://example.com/issuer1",
            "https://example.com/.well-known/oauth-authorization-server/issuer1",
        ),
        (
            "https://example.com/issuer1/",
            "https://example.com/.well-known/oauth-authorization-server/issuer1",
        ),
        (
            "https://auth.example.com/tenant1",
            "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        ),
        (
            "https://auth.example.com:8443/a/b",
            "https://auth.example.com:8443/.well-known/oauth-authorization-server/a/b",
        ),
    ];
    for (issuer, expected) in vectors {
        let h = Harness::bare(issuer, |b| b);
        let machine = h.provider.machine();
        assert_eq!(machine.authorization_server_metadata_url(), expected);
        let path = url::Url::parse(expected).unwrap().path().to_owned();
        assert_eq!(machine.authorization_server_metadata_path(), path);
        let (status, body, _) = h.get(expected).await;
        assert_eq!(status, StatusCode::OK, "{issuer}");
        assert_eq!(str_of(&body, "issuer"), issuer);
    }
}

#[tokio::test]
async fn asm_2_path_aware_issuer_is_not_served_at_other_well_known_urls() {
    let h = Harness::bare("https://example.com/issuer1", |b| b);
    for wrong in [
        // The root: a client that built it expects issuer `https://example.com`.
        "https://example.com/.well-known/oauth-authorization-server",
        // Path-appended (the OpenID Connect style), and a trailing slash.
        "https://example.com/issuer1/.well-known/oauth-authorization-server",
        "https://example.com/.well-known/oauth-authorization-server/issuer1/",
        "https://example.com/.well-known/oauth-authorization-server/issuer12",
        "https://example.com/.well-known/oauth-authorization-server/ISSUER1",
    ] {
        let (status, _, _) = h.get(wrong).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{wrong}");
    }
}

#[tokio::test]
async fn asm_3_success_is_200_application_json_object_and_cacheable() {
    let h = Harness::new();
    let (status, body, headers) = h.get(AS_METADATA).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert!(body.is_object(), "{body}");
    // No secret inside: it may be cached, unlike every token response.
    let cache = headers[CACHE_CONTROL].to_str().unwrap();
    assert!(
        cache.contains("public") && cache.contains("max-age="),
        "{cache}"
    );
    assert!(!cache.contains("no-store"));
}

#[tokio::test]
async fn asm_3_head_gets_the_headers_and_other_methods_get_405() {
    let h = Harness::new();
    let get = h
        .provider
        .handle(&empty_request(Method::GET, AS_METADATA))
        .await;
    let head = h
        .provider
        .handle(&empty_request(Method::HEAD, AS_METADATA))
        .await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.body().is_empty());
    assert_eq!(head.headers()[CONTENT_TYPE], get.headers()[CONTENT_TYPE]);
    assert_eq!(head.headers()[CACHE_CONTROL], get.headers()[CACHE_CONTROL]);
    assert_eq!(
        head.headers()[CONTENT_LENGTH],
        get.body().len().to_string().as_str()
    );
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let (status, _, headers) = h.handle(&empty_request(method.clone(), AS_METADATA)).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers[ALLOW], "GET, HEAD");
    }
}

#[tokio::test]
async fn asm_4_issuer_is_identical_to_the_configured_issuer() {
    for issuer in [
        "https://as.example",
        "https://as.example/",
        "https://as.example/tenant1/",
        "https://As.Example/Tenant1",
    ] {
        let h = Harness::bare(issuer, |b| b);
        let url = h.provider.machine().authorization_server_metadata_url();
        let (status, body, _) = h.get(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(str_of(&body, "issuer").as_bytes(), issuer.as_bytes());
        assert_eq!(
            h.provider.machine().authorization_server_metadata().issuer,
            issuer
        );
    }
}

#[tokio::test]
async fn asm_5_required_members_are_present() {
    let body = as_metadata(&Harness::new()).await;
    assert_eq!(str_of(&body, "issuer"), ISSUER);
    assert_eq!(
        str_of(&body, "authorization_endpoint"),
        "https://as.example/authorize"
    );
    assert_eq!(str_of(&body, "token_endpoint"), "https://as.example/token");
    assert_eq!(strings(&body, "response_types_supported"), ["code"]);
    assert_eq!(strings(&body, "response_modes_supported"), ["query"]);
}

#[tokio::test]
async fn asm_6_members_with_zero_values_are_left_out() {
    // Nothing optional configured: no scopes, no resources, no registration.
    let bare = Harness::bare(ISSUER, |b| b);
    let body = as_metadata(&bare).await;
    assert_no_empty_members(&body);
    for absent in [
        "scopes_supported",
        "protected_resources",
        "registration_endpoint",
    ] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }
    // Everything configured: still nothing empty.
    let full = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".to_owned()),
            ..Endpoints::default()
        })
    });
    assert_no_empty_members(&as_metadata(&full).await);
}

#[tokio::test]
async fn asm_7_grant_types_are_explicit_and_never_implicit() {
    let body = as_metadata(&Harness::new()).await;
    assert_eq!(
        strings(&body, "grant_types_supported"),
        ["authorization_code", "refresh_token", "client_credentials"]
    );
    // A server that issues no refresh tokens does not advertise the grant.
    let no_refresh = Harness::with(|b| b.issue_refresh_tokens(false));
    let body = as_metadata(&no_refresh).await;
    assert_eq!(
        strings(&body, "grant_types_supported"),
        ["authorization_code", "client_credentials"]
    );
    assert!(!body.to_string().contains("implicit"));
    assert!(!body.to_string().contains("password"));
}

#[tokio::test]
async fn asm_8_no_jwt_client_authentication_and_no_signing_algorithms() {
    let body = as_metadata(&Harness::new()).await;
    for name in members(&body) {
        assert!(
            !name.ends_with("_signing_alg_values_supported"),
            "{name}: no JWT is signed or verified"
        );
    }
    for list in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        for method in strings(&body, list) {
            assert!(
                !matches!(method, "private_key_jwt" | "client_secret_jwt"),
                "{list} lists {method}"
            );
        }
    }
}

#[tokio::test]
async fn asm_9_no_jwks_uri_is_published() {
    // No JWT is issued or verified (OIDC and RFC 9068 are later work), so no key set.
    let body = as_metadata(&Harness::new()).await;
    assert!(body.get("jwks_uri").is_none(), "{body}");
}

#[tokio::test]
async fn asm_10_scopes_supported_lists_the_configured_scopes() {
    let body = as_metadata(&Harness::new()).await;
    assert_eq!(
        strings(&body, "scopes_supported"),
        ["admin", "read", "write"]
    );
    let with_offline = Harness::with(|b| b.scopes(["read", "offline_access"]));
    let body = as_metadata(&with_offline).await;
    // The AS offers `offline_access` (MCP-14: clients may ask for it when listed here).
    assert_eq!(
        strings(&body, "scopes_supported"),
        ["offline_access", "read"]
    );
}

#[tokio::test]
async fn asm_11_code_challenge_methods_list_s256_and_plain_only_when_enabled() {
    let body = as_metadata(&Harness::new()).await;
    assert_eq!(strings(&body, "code_challenge_methods_supported"), ["S256"]);
    let lenient = Harness::with(|b| {
        b.pkce(PkcePolicy {
            allow_plain: true,
            ..PkcePolicy::default()
        })
    });
    let body = as_metadata(&lenient).await;
    assert_eq!(
        strings(&body, "code_challenge_methods_supported"),
        ["S256", "plain"]
    );
}

#[tokio::test]
async fn asm_12_every_advertised_token_endpoint_auth_method_works() {
    let h = Harness::new();
    let body = as_metadata(&h).await;
    let methods = strings(&body, "token_endpoint_auth_methods_supported");
    assert_eq!(
        methods,
        ["client_secret_basic", "client_secret_post", "none"],
        "published explicitly, since the default would be client_secret_basic alone"
    );
    for method in methods {
        let status = match method {
            "client_secret_basic" => {
                let (client, secret) = h
                    .confidential_client(vec![GrantType::ClientCredentials])
                    .await;
                h.token(
                    &[("grant_type", "client_credentials")],
                    Some((client.id.as_str(), secret.expose())),
                )
                .await
                .0
            }
            "client_secret_post" => {
                let (client, secret) = h
                    .register(NewClient {
                        auth_method: AuthMethod::ClientSecretPost,
                        ..NewClient::confidential(Vec::new(), vec![GrantType::ClientCredentials])
                    })
                    .await;
                let secret = secret.unwrap();
                h.token(
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", client.id.as_str()),
                        ("client_secret", secret.expose()),
                    ],
                    None,
                )
                .await
                .0
            }
            "none" => {
                let client = h.public_client().await;
                let code = h.obtain_code(client.id.as_str()).await;
                h.redeem_public(client.id.as_str(), &code).await.0
            }
            other => panic!("{other} is advertised but not exercised here"),
        };
        assert_eq!(status, StatusCode::OK, "{method}");
    }
}

#[tokio::test]
async fn asm_12_every_advertised_grant_type_and_challenge_method_works() {
    let h = Harness::new();
    let body = as_metadata(&h).await;
    assert_eq!(strings(&body, "code_challenge_methods_supported"), ["S256"]);
    for grant in strings(&body, "grant_types_supported") {
        let (status, response) = match grant {
            // The harness's code flow uses S256, the advertised challenge method.
            "authorization_code" => {
                let client = h.public_client().await;
                let code = h.obtain_code(client.id.as_str()).await;
                let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
                (status, body)
            }
            "refresh_token" => {
                let (client, tokens) = h.public_tokens().await;
                let (status, body, _) = h
                    .refresh(client.id.as_str(), str_of(&tokens, "refresh_token"), &[])
                    .await;
                (status, body)
            }
            "client_credentials" => {
                let (client, secret) = h
                    .confidential_client(vec![GrantType::ClientCredentials])
                    .await;
                let (status, body, _) = h
                    .token(
                        &[("grant_type", "client_credentials")],
                        Some((client.id.as_str(), secret.expose())),
                    )
                    .await;
                (status, body)
            }
            other => panic!("{other} is advertised but not exercised here"),
        };
        assert_eq!(status, StatusCode::OK, "{grant}: {response}");
    }
    // `iss` is advertised, and every authorization response carries it (RFC 9207).
    assert_eq!(body["authorization_response_iss_parameter_supported"], true);
    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    assert_eq!(
        location_params(&h.approve(pending, "alice").await)["iss"],
        ISSUER
    );
}

#[tokio::test]
async fn asm_13_no_signed_metadata() {
    let body = as_metadata(&Harness::new()).await;
    assert!(body.get("signed_metadata").is_none(), "{body}");
}

#[tokio::test]
async fn asm_14_no_openid_connect_discovery_is_served() {
    // Only RFC 8414 is served, so there is no second document to disagree with it; and
    // advertising OpenID Connect would advertise what is not implemented.
    let h = Harness::bare("https://auth.example.com/tenant1", |b| b);
    for url in [
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
        "https://auth.example.com/.well-known/openid-configuration",
    ] {
        let (status, _, _) = h.get(url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
    }
    let url = "https://auth.example.com/.well-known/oauth-authorization-server/tenant1";
    let (status, body, _) = h.get(url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("userinfo_endpoint").is_none());
    assert!(body.get("id_token_signing_alg_values_supported").is_none());
    assert!(body.get("subject_types_supported").is_none());
}

#[tokio::test]
async fn asm_15_registration_endpoint_appears_only_when_registration_is_enabled() {
    let closed = as_metadata(&Harness::new()).await;
    assert!(closed.get("registration_endpoint").is_none(), "{closed}");
    let open = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".to_owned()),
            ..Endpoints::default()
        })
    });
    let body = as_metadata(&open).await;
    assert_eq!(
        str_of(&body, "registration_endpoint"),
        "https://as.example/register"
    );
}

#[tokio::test]
async fn asm_15_extension_members_match_what_is_implemented() {
    let body = as_metadata(&Harness::new()).await;
    // Implemented: revocation, introspection and RFC 9207 `iss`.
    assert_eq!(
        str_of(&body, "revocation_endpoint"),
        "https://as.example/revoke"
    );
    assert_eq!(
        strings(&body, "revocation_endpoint_auth_methods_supported"),
        ["client_secret_basic", "client_secret_post", "none"]
    );
    assert_eq!(
        str_of(&body, "introspection_endpoint"),
        "https://as.example/introspect"
    );
    assert_eq!(
        strings(&body, "introspection_endpoint_auth_methods_supported"),
        ["client_secret_basic", "client_secret_post"],
        "introspection needs an authenticated caller: no `none`"
    );
    assert_eq!(body["authorization_response_iss_parameter_supported"], true);
    // Not implemented: never advertised.
    for absent in [
        "pushed_authorization_request_endpoint",
        "require_pushed_authorization_requests",
        "device_authorization_endpoint",
        "dpop_signing_alg_values_supported",
        "client_id_metadata_document_supported",
        "tls_client_certificate_bound_access_tokens",
        "mtls_endpoint_aliases",
        "userinfo_endpoint",
        "end_session_endpoint",
    ] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }
    // `protected_resources` (RFC 9728 §4) appears with the configured resources.
    assert_eq!(strings(&body, "protected_resources"), [RESOURCE]);
    let none = as_metadata(&Harness::bare(ISSUER, |b| b)).await;
    assert!(none.get("protected_resources").is_none());
}

#[tokio::test]
async fn endpoint_urls_are_the_issuer_origin_followed_by_the_configured_paths() {
    let h = Harness::bare("https://auth.example.com:8443/tenant1", |b| {
        b.endpoints(Endpoints {
            authorization: "/tenant1/oauth/authorize".to_owned(),
            token: "/tenant1/oauth/token".to_owned(),
            revocation: "/tenant1/oauth/revoke".to_owned(),
            introspection: "/tenant1/oauth/introspect".to_owned(),
            registration: Some("/tenant1/oauth/register".to_owned()),
        })
    });
    let body = as_metadata(&h).await;
    assert_eq!(
        str_of(&body, "issuer"),
        "https://auth.example.com:8443/tenant1"
    );
    for (member, path) in [
        ("authorization_endpoint", "/tenant1/oauth/authorize"),
        ("token_endpoint", "/tenant1/oauth/token"),
        ("revocation_endpoint", "/tenant1/oauth/revoke"),
        ("introspection_endpoint", "/tenant1/oauth/introspect"),
        ("registration_endpoint", "/tenant1/oauth/register"),
    ] {
        assert_eq!(
            str_of(&body, member),
            format!("https://auth.example.com:8443{path}")
        );
    }
    // The paths are absolute on the origin, not appended to the issuer's path.
    let default_paths = as_metadata(&Harness::bare("https://example.com/issuer1", |b| b)).await;
    assert_eq!(
        str_of(&default_paths, "token_endpoint"),
        "https://example.com/token"
    );
}

#[tokio::test]
async fn metadata_is_a_function_of_the_configuration_only() {
    let h = Harness::new();
    let plain = h
        .provider
        .handle(&empty_request(Method::GET, AS_METADATA))
        .await;
    let spoofed = Request::get("/.well-known/oauth-authorization-server?x=1")
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "http")
        .header("forwarded", "host=evil.example;proto=http")
        .body(Vec::new())
        .unwrap();
    let spoofed = h.provider.handle(&spoofed).await;
    assert_eq!(spoofed.status(), StatusCode::OK);
    assert_eq!(plain.body(), spoofed.body(), "byte-identical documents");
    assert!(!String::from_utf8_lossy(spoofed.body()).contains("evil"));
    // Deterministic: another provider with the same configuration says the same bytes.
    let again = Harness::new();
    let other = again
        .provider
        .handle(&empty_request(Method::GET, AS_METADATA))
        .await;
    assert_eq!(plain.body(), other.body());
}

#[tokio::test]
async fn every_url_in_the_metadata_is_served_or_is_the_authorization_endpoint() {
    let h = Harness::new();
    let body = as_metadata(&h).await;
    let endpoints = h.provider.config().endpoints().clone();
    // The authorization endpoint needs the host's login and consent pages, so `handle`
    // does not route it; the advertised URL is the configured path, where the host
    // mounts `begin_authorization`, and that validates a request sent to it.
    let authorize = str_of(&body, "authorization_endpoint");
    assert_eq!(
        url::Url::parse(authorize).unwrap().path(),
        endpoints.authorization
    );
    let client = h.public_client().await;
    let pairs = Harness::code_request_pairs(client.id.as_str());
    let query = form(&borrow_pairs(&pairs));
    let request = Request::get(format!("{authorize}?{query}"))
        .body(Vec::new())
        .unwrap();
    assert!(h.provider.begin_authorization(&request).await.is_ok());
    // The token endpoint answers a (bad) token request as the token endpoint.
    let token = str_of(&body, "token_endpoint");
    let (status, error, headers) = h
        .handle(&raw_token_request_to(
            token,
            b"grant_type=authorization_code",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&error), "invalid_client", "no client identified");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    // The document's own URL, and the protected resource metadata it points to.
    let (status, _, _) = h
        .get(&h.provider.machine().authorization_server_metadata_url())
        .await;
    assert_eq!(status, StatusCode::OK);
    for resource in strings(&body, "protected_resources") {
        let url = Resource::parse(resource).unwrap().metadata_url().unwrap();
        assert_eq!(served_resource(&h, &url).await, Ok(resource.to_owned()));
    }
}

// Revocation, introspection and registration were built concurrently with this file
// (issue 3, by other hands). They answered through `Provider::handle` when it was
// finished, so their advertised URLs are asserted here like the others: if this test
// fails, a URL in the metadata is not served (or the endpoints moved).
#[tokio::test]
async fn every_advertised_management_endpoint_is_served() {
    let h = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".to_owned()),
            ..Endpoints::default()
        })
    });
    let body = as_metadata(&h).await;

    // Registration: a confidential client-credentials client, registered over HTTP.
    let registration = Request::post(str_of(&body, "registration_endpoint"))
        .header("content-type", "application/json")
        .body(br#"{"grant_types":["client_credentials"]}"#.to_vec())
        .unwrap();
    let (status, client, _) = h.handle(&registration).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let basic = Some((
        str_of(&client, "client_id"),
        str_of(&client, "client_secret"),
    ));
    let (status, tokens, _) = h
        .handle(&form_post(
            str_of(&body, "token_endpoint"),
            &[("grant_type", "client_credentials")],
            basic,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = str_of(&tokens, "access_token");

    // Introspection, revocation, introspection again: each at its advertised URL.
    let introspection = || {
        form_post(
            str_of(&body, "introspection_endpoint"),
            &[("token", token)],
            basic,
        )
    };
    let (status, active, _) = h.handle(&introspection()).await;
    assert_eq!(
        (status, &active["active"]),
        (StatusCode::OK, &Value::Bool(true))
    );
    let (status, _, _) = h
        .handle(&form_post(
            str_of(&body, "revocation_endpoint"),
            &[("token", token)],
            basic,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, inactive, _) = h.handle(&introspection()).await;
    assert_eq!(
        (status, &inactive["active"]),
        (StatusCode::OK, &Value::Bool(false))
    );
}

/// A form POST of `pairs` to `url`, with HTTP Basic when `basic` is given.
fn form_post(url: &str, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> Request<Vec<u8>> {
    let mut request = token_request(pairs, basic);
    *request.uri_mut() = url.parse().unwrap();
    request
}

/// A form POST of `body` to `url`.
fn raw_token_request_to(url: &str, body: &[u8]) -> Request<Vec<u8>> {
    Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_vec())
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// PRM: RFC 9728 protected resource metadata
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn prm_1_v8_metadata_is_served_at_the_path_aware_url() {
    let vectors = [
        (
            "https://resource.example.com/resource1",
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
        ),
        (
            "https://resource.example.com",
            "https://resource.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://example.com/public/mcp",
            "https://example.com/.well-known/oauth-protected-resource/public/mcp",
        ),
    ];
    for (resource, expected) in vectors {
        assert_eq!(
            Resource::parse(resource).unwrap().metadata_url().unwrap(),
            expected
        );
        let h = with_resources(&[resource]);
        assert_eq!(served_resource(&h, expected).await, Ok(resource.to_owned()));
    }
}

#[tokio::test]
async fn prm_1_v8_mcp_fallback_order_both_urls_serve_the_resource() {
    // MCP clients try the path-aware URL, then the root.
    let h = with_resources(&["https://example.com/public/mcp"]);
    for url in [
        "https://example.com/.well-known/oauth-protected-resource/public/mcp",
        "https://example.com/.well-known/oauth-protected-resource",
    ] {
        assert_eq!(
            served_resource(&h, url).await,
            Ok("https://example.com/public/mcp".to_owned()),
            "{url}"
        );
    }
    // The harness's resource too, at both URLs.
    let h = Harness::new();
    for url in [PRM_METADATA, PRM_ROOT] {
        assert_eq!(
            served_resource(&h, url).await,
            Ok(RESOURCE.to_owned()),
            "{url}"
        );
    }
}

#[tokio::test]
async fn prm_1_root_fallback_serves_the_root_resource_or_the_only_one() {
    // A resource whose path is `/` owns the root URL, whatever else is configured.
    let h = with_resources(&["https://api.example/mcp", "https://api.example"]);
    assert_eq!(
        served_resource(&h, PRM_ROOT).await,
        Ok("https://api.example".to_owned())
    );
    assert_eq!(
        served_resource(&h, PRM_METADATA).await,
        Ok("https://api.example/mcp".to_owned())
    );
    // Several resources and none at the root: the server cannot tell which one the
    // client meant, so the root is not served (each path-aware URL still is).
    let h = with_resources(&["https://api.example/mcp", "https://api.example/files"]);
    assert_eq!(
        served_resource(&h, PRM_ROOT).await,
        Err(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        served_resource(
            &h,
            "https://api.example/.well-known/oauth-protected-resource/files"
        )
        .await,
        Ok("https://api.example/files".to_owned())
    );
    // No resource at all: nothing is served.
    let h = Harness::bare(ISSUER, |b| b);
    assert_eq!(
        served_resource(&h, PRM_ROOT).await,
        Err(StatusCode::NOT_FOUND)
    );
}

#[tokio::test]
async fn prm_1_unknown_and_ambiguous_metadata_urls_are_404() {
    let h = Harness::new();
    for url in [
        "https://api.example/.well-known/oauth-protected-resource/other",
        "https://api.example/.well-known/oauth-protected-resource/mcp/",
        "https://api.example/.well-known/oauth-protected-resource/MCP",
        "https://api.example/.well-known/oauth-protected-resourcex",
        "https://api.example/.well-known/oauth-protected-resource/mcp?x=1",
    ] {
        assert_eq!(
            served_resource(&h, url).await,
            Err(StatusCode::NOT_FOUND),
            "{url}"
        );
    }
    // Matching is by path (the provider serves one host): two origins with the same
    // path cannot be told apart, so neither is served.
    let h = with_resources(&["https://a.example/mcp", "https://b.example/mcp"]);
    assert_eq!(
        served_resource(
            &h,
            "https://a.example/.well-known/oauth-protected-resource/mcp"
        )
        .await,
        Err(StatusCode::NOT_FOUND)
    );
    // A host routing per origin asks the machine for the one it means.
    let a = Resource::parse("https://a.example/mcp").unwrap();
    let response = h
        .provider
        .machine()
        .protected_resource_metadata_response(&a)
        .unwrap();
    let (status, body, _) = response_parts(&response);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(str_of(&body, "resource"), "https://a.example/mcp");
    // Never for a resource this server does not issue tokens for.
    let foreign = Resource::parse("https://c.example/mcp").unwrap();
    assert!(h
        .provider
        .machine()
        .protected_resource_metadata(&foreign)
        .is_none());
}

#[tokio::test]
async fn prm_1_head_gets_the_headers_and_other_methods_get_405() {
    let h = Harness::new();
    let head = h
        .provider
        .handle(&empty_request(Method::HEAD, PRM_METADATA))
        .await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.body().is_empty());
    assert_eq!(head.headers()[CONTENT_TYPE], "application/json");
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        for url in [PRM_METADATA, PRM_ROOT] {
            let (status, _, headers) = h.handle(&empty_request(method.clone(), url)).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
            assert_eq!(headers[ALLOW], "GET, HEAD");
        }
    }
}

#[tokio::test]
async fn prm_2_resource_is_byte_equal_to_the_configured_identifier() {
    // `/mcp/` and `/mcp` are different identifiers: each is published as configured.
    for resource in ["https://api.example/mcp/", "https://api.example/mcp"] {
        let h = with_resources(&[resource]);
        assert_eq!(
            served_resource(&h, PRM_METADATA).await,
            Ok(resource.to_owned())
        );
    }
    // The canonical form of a root resource has no trailing slash, in the document and
    // in the audience alike.
    let h = with_resources(&["https://api.example/"]);
    assert_eq!(
        served_resource(&h, PRM_ROOT).await,
        Ok("https://api.example".to_owned())
    );
    // A query stays on the metadata URL (RFC 9728 §3.1) and in the identifier.
    let h = with_resources(&[
        "https://api.example/v1?tenant=a",
        "https://api.example/v1?tenant=b",
    ]);
    let base = "https://api.example/.well-known/oauth-protected-resource/v1";
    assert_eq!(
        served_resource(&h, &format!("{base}?tenant=b")).await,
        Ok("https://api.example/v1?tenant=b".to_owned())
    );
    assert_eq!(served_resource(&h, base).await, Err(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn prm_2_resource_equals_the_url_the_challenge_came_from() {
    // A client arriving through a 401 at the resource compares `resource` with the URL
    // it called (RFC 9728 §3.3).
    let h = Harness::new();
    let err = h
        .provider
        .authenticate(&empty_request(Method::GET, RESOURCE))
        .await
        .unwrap_err();
    let url = resource_metadata_of(&err.challenge());
    assert_eq!(served_resource(&h, &url).await, Ok(RESOURCE.to_owned()));
}

#[tokio::test]
async fn prm_3_200_json_with_zero_value_members_left_out() {
    let h = Harness::new();
    let (status, body, headers) = h.get(PRM_METADATA).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert!(!headers[CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("no-store"));
    assert_no_empty_members(&body);
    // No scope configured: no `scopes_supported` at all.
    let h = Harness::bare(ISSUER, |b| b.resource(RESOURCE));
    let (status, body, _) = h.get(PRM_METADATA).await;
    assert_eq!(status, StatusCode::OK);
    assert_no_empty_members(&body);
    assert!(body.get("scopes_supported").is_none(), "{body}");
}

#[tokio::test]
async fn prm_4_authorization_servers_lists_this_issuer() {
    for issuer in ["https://as.example", "https://auth.example.com/tenant1/"] {
        let h = Harness::bare(issuer, |b| b.resource(RESOURCE));
        let (_, body, _) = h.get(PRM_METADATA).await;
        assert_eq!(strings(&body, "authorization_servers"), [issuer]);
        // ... and that issuer's metadata is where a client derives it to be.
        let as_url = h.provider.machine().authorization_server_metadata_url();
        let (status, metadata, _) = h.get(&as_url).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(str_of(&metadata, "issuer"), issuer);
    }
}

#[tokio::test]
async fn prm_5_scopes_supported_when_configured_without_offline_access() {
    let h = Harness::new();
    let (_, body, _) = h.get(PRM_METADATA).await;
    assert_eq!(
        strings(&body, "scopes_supported"),
        ["admin", "read", "write"]
    );
    // `offline_access` asks the AS for refresh tokens; it is no permission at the
    // resource (MCP-14: not in the PRM).
    let h = Harness::with(|b| b.scopes(["read", "offline_access"]));
    let (_, body, _) = h.get(PRM_METADATA).await;
    assert_eq!(strings(&body, "scopes_supported"), ["read"]);
    // `resource_name` is not configurable yet, so it is never published.
    assert!(body.get("resource_name").is_none());
}

#[tokio::test]
async fn prm_6_no_jwks_uri_and_no_signing_algorithms() {
    let (_, body, _) = Harness::new().get(PRM_METADATA).await;
    assert!(body.get("jwks_uri").is_none());
    assert!(body.get("resource_signing_alg_values_supported").is_none());
    for name in members(&body) {
        assert!(!name.contains("alg_values"), "{name}");
    }
}

#[tokio::test]
async fn prm_7_bearer_methods_are_header_only_never_query() {
    let (_, body, _) = Harness::new().get(PRM_METADATA).await;
    assert_eq!(strings(&body, "bearer_methods_supported"), ["header"]);
    // The advertised method works.
    let h = Harness::new();
    let (_, tokens) = h.public_tokens().await;
    assert!(h.bearer(str_of(&tokens, "access_token")).await.is_ok());
}

#[tokio::test]
async fn prm_8_challenge_resource_metadata_is_a_url_the_provider_serves() {
    let cases: &[&[&str]] = &[
        &[RESOURCE],
        &["https://api.example"],
        &["https://api.example/mcp/"],
        &["https://api.example/v1?tenant=a"],
        &["https://api.example/mcp", "https://files.example/api"],
        &["https://example.com/public/mcp"],
    ];
    for resources in cases {
        let h = with_resources(resources);
        for resource in *resources {
            let request = empty_request(Method::GET, resource);
            let parsed = Resource::parse(resource).unwrap();
            let err = h
                .provider
                .authenticate_for(&request, Some(&parsed))
                .await
                .unwrap_err();
            assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
            let url = resource_metadata_of(&err.challenge());
            assert!(url::Url::parse(&url).is_ok(), "absolute URL: {url}");
            assert_eq!(url, parsed.metadata_url().unwrap());
            assert_eq!(
                served_resource(&h, &url).await,
                Ok(parsed.as_str().to_owned()),
                "{url}"
            );
        }
    }
}

#[tokio::test]
async fn prm_9_no_dpop_or_mtls_members_and_plain_bearer_tokens_work() {
    let h = Harness::new();
    let (_, body, _) = h.get(PRM_METADATA).await;
    for absent in [
        "dpop_bound_access_tokens_required",
        "dpop_signing_alg_values_supported",
        "tls_client_certificate_bound_access_tokens",
    ] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }
    let (_, tokens) = h.public_tokens().await;
    assert!(h.bearer(str_of(&tokens, "access_token")).await.is_ok());
}

#[tokio::test]
async fn prm_10_no_signed_metadata() {
    let (_, body, _) = Harness::new().get(PRM_METADATA).await;
    assert!(body.get("signed_metadata").is_none(), "{body}");
}

#[tokio::test]
async fn prm_11_as_metadata_lists_the_protected_resources() {
    let h = with_resources(&["https://api.example/mcp", "https://files.example/api"]);
    let body = as_metadata(&h).await;
    assert_eq!(
        strings(&body, "protected_resources"),
        ["https://api.example/mcp", "https://files.example/api"]
    );
    // Each listed resource's metadata names this server back.
    for resource in strings(&body, "protected_resources") {
        let url = Resource::parse(resource).unwrap().metadata_url().unwrap();
        let (status, prm, _) = h.get(&url).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(str_of(&prm, "resource"), resource);
        assert_eq!(strings(&prm, "authorization_servers"), [ISSUER]);
    }
}

#[tokio::test]
async fn prm_12_tokens_are_audience_restricted_to_the_resource_named() {
    let h = with_resources(&["https://api.example/mcp", "https://files.example/api"]);
    let (_, tokens) = h.public_tokens_for(&["https://api.example/mcp"]).await;
    let token = str_of(&tokens, "access_token");
    assert!(h.bearer_for(token, "https://api.example/mcp").await.is_ok());
    let refused = h
        .bearer_for(token, "https://files.example/api")
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------
// The routes glue crates register
// ---------------------------------------------------------------------------------------

/// The path of a served path, with `abc` as the client id of a `Below` path.
fn concrete(path: &oauth_core::ServedPath) -> String {
    match path {
        oauth_core::ServedPath::Exact(path) => path.clone(),
        oauth_core::ServedPath::Below(path) => format!("{path}/abc"),
        other => panic!("unknown served path {other:?}"),
    }
}

#[tokio::test]
async fn served_paths_are_exactly_the_paths_handle_answers() {
    let h = Harness::bare(ISSUER, |b| {
        b.scopes(["mcp:tools"])
            .mcp(oauth_core::McpProfile::new("https://as.example/mcp"))
    });
    let served = h.provider.machine().served_paths();
    let concrete_paths: Vec<String> = served.iter().map(concrete).collect();
    for expected in [
        "/token",
        "/revoke",
        "/introspect",
        "/register",
        "/register/abc",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        assert!(
            concrete_paths.iter().any(|p| p == expected),
            "{expected} not in {concrete_paths:?}"
        );
    }
    for path in &concrete_paths {
        let (status, _, _) = h.handle(&empty_request(Method::GET, path)).await;
        assert_ne!(
            status,
            StatusCode::NOT_FOUND,
            "{path} is listed but not answered"
        );
    }
    for unserved in [
        "/authorize",
        "/",
        "/tokens",
        "/register/a/b",
        "/.well-known/other",
    ] {
        assert!(
            !concrete_paths.iter().any(|p| p == unserved),
            "{unserved} listed"
        );
        let (status, _, _) = h.handle(&empty_request(Method::GET, unserved)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{unserved} answered but not listed"
        );
    }
}
