//! RFC 7591 dynamic client registration (checklist group DCR): the registration endpoint
//! through `Provider::handle`, its policy hooks, and a registered client used end to end.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use http::{Method, StatusCode};
use oauth_core::model::ClientId;
use oauth_core::registration::MIN_INITIAL_ACCESS_TOKEN_LEN;
use oauth_core::{
    ClientRegistration, ConfigError, Endpoints, Issuer, Provider, Reason, RegistrationContext,
    RegistrationPolicy, RegistrationVerdict, Scope, Secret, SecureRandom, Store as _,
};
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::instrumented::{InstrumentedStore, Op};
use serde_json::{json, Value};

/// A host-supplied initial access token (test value, not a secret anywhere).
const IAT: &str = "iat-test-0123456789abcdefghijklmnopqrstuvwxyz";

fn minimal() -> Value {
    json!({ "redirect_uris": [REDIRECT] })
}

fn public(extra: Value) -> Value {
    let mut body = json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

fn strings(body: &Value, name: &str) -> Vec<String> {
    body[name]
        .as_array()
        .unwrap_or_else(|| panic!("no array {name} in {body}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn post(h: &Harness, body: &[u8], headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let (status, body, _) = response_parts(
        &h.provider
            .handle(&registration_request(body, headers))
            .await,
    );
    (status, body)
}

fn assert_error(status: StatusCode, body: &Value, code: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(body), code, "{body}");
}

// ---- DCR-1: POST application/json ----

#[tokio::test]
async fn dcr_1_registration_is_a_json_post() {
    let h = Harness::open_registration();
    let json_body = serde_json::to_vec(&minimal()).unwrap();
    let (status, body) = post(&h, &json_body, &[("content-type", "application/json")]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = post(
        &h,
        &json_body,
        &[("content-type", "application/json; charset=utf-8")],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A form-encoded body, or no media type at all: invalid_client_metadata (RFC 7591
    // §3.2.2 has no other code for a malformed request).
    let form_body = form(&[("redirect_uris", REDIRECT)]);
    let (status, body) = post(
        &h,
        form_body.as_bytes(),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_error(status, &body, "invalid_client_metadata");
    let (status, body) = post(&h, &json_body, &[]).await;
    assert_error(status, &body, "invalid_client_metadata");
    let (status, body) = post(&h, &json_body, &[("content-type", "text/plain")]).await;
    assert_error(status, &body, "invalid_client_metadata");
}

#[tokio::test]
async fn dcr_1_other_methods_are_405() {
    let h = Harness::open_registration();
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let request = http::Request::builder()
            .method(method.clone())
            .uri(REGISTER)
            .body(Vec::new())
            .unwrap();
        let (status, body, headers) = response_parts(&h.provider.handle(&request).await);
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers["allow"], "POST");
        assert_eq!(error_of(&body), "invalid_request");
    }
}

#[tokio::test]
async fn dcr_1_body_is_size_limited_and_must_be_one_json_object() {
    let h = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".into()),
            ..Default::default()
        })
        .registration(RegistrationPolicy::open())
        .max_body_bytes(256)
    });
    let long_name = "x".repeat(300);
    let body =
        serde_json::to_vec(&json!({ "redirect_uris": [REDIRECT], "client_name": long_name }))
            .unwrap();
    let (status, _) = post(&h, &body, &[("content-type", "application/json")]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    for malformed in [
        &b"[]"[..],
        b"\"redirect_uris\"",
        b"{\"redirect_uris\": [",
        b"{} {}",
        b"",
        b"\xff\xfe",
    ] {
        let (status, body) = post(&h, malformed, &[("content-type", "application/json")]).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn dcr_1_repeated_members_are_refused() {
    let h = Harness::open_registration();
    let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"scope":"read","scope":"admin"}}"#);
    let (status, response) =
        post(&h, body.as_bytes(), &[("content-type", "application/json")]).await;
    assert_error(status, &response, "invalid_client_metadata");
    assert_eq!(
        response["error_description"],
        Reason::RegistrationDuplicateMember.description()
    );
    // Equal after unescaping is equal.
    let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"redirect_uri\u0073":[]}}"#);
    let (status, response) =
        post(&h, body.as_bytes(), &[("content-type", "application/json")]).await;
    assert_error(status, &response, "invalid_client_metadata");
}

// ---- DCR-2: initial access token ----

fn protected(hook: Option<Arc<dyn oauth_core::RegistrationHook>>) -> Harness {
    let mut policy =
        RegistrationPolicy::initial_access_tokens([("partner", Secret::new(IAT.to_owned()))]);
    if let Some(hook) = hook {
        policy = policy.hook(hook);
    }
    Harness::with_registration(policy)
}

#[tokio::test]
async fn dcr_2_protected_registration_needs_the_initial_access_token() {
    let labels: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen = labels.clone();
    let h = protected(Some(Arc::new(
        move |_: &ClientRegistration, context: &RegistrationContext<'_>| {
            seen.lock()
                .unwrap()
                .push(context.initial_access_token.map(str::to_owned));
            RegistrationVerdict::Accept
        },
    )));
    let body = serde_json::to_vec(&minimal()).unwrap();
    let json = ("content-type", "application/json");

    // No token: a bare challenge.
    let response = h
        .provider
        .handle(&registration_request(&body, &[json]))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");

    // Wrong tokens, and other schemes: invalid_token.
    let wrong = format!("Bearer {}x", IAT);
    let basic = basic_header("partner", IAT);
    for authorization in [wrong.as_str(), "Bearer oa2reg_abc"] {
        let response = h
            .provider
            .handle(&registration_request(
                &body,
                &[json, ("authorization", authorization)],
            ))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization}"
        );
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    let response = h
        .provider
        .handle(&registration_request(
            &body,
            &[json, ("authorization", &basic)],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        labels.lock().unwrap().is_empty(),
        "the hook ran unauthenticated"
    );

    // The right token, scheme case-insensitive.
    let right = format!("bearer {IAT}");
    let response = h
        .provider
        .handle(&registration_request(
            &body,
            &[json, ("authorization", &right)],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(*labels.lock().unwrap(), vec![Some("partner".to_owned())]);
}

#[tokio::test]
async fn dcr_2_initial_access_token_is_checked_before_the_body() {
    let h = protected(None);
    let response = h
        .provider
        .handle(&registration_request(
            b"not json",
            &[("content-type", "text/plain")],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn dcr_2_several_tokens_may_be_configured_and_weak_ones_are_refused() {
    let h = Harness::with_registration(RegistrationPolicy::initial_access_tokens([
        ("a", Secret::new(IAT.to_owned())),
        ("b", Secret::new(format!("{IAT}-second"))),
    ]));
    for token in [IAT.to_owned(), format!("{IAT}-second")] {
        let body = serde_json::to_vec(&minimal()).unwrap();
        let response = h
            .provider
            .handle(&registration_request(
                &body,
                &[
                    ("content-type", "application/json"),
                    ("authorization", &format!("Bearer {token}")),
                ],
            ))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    let build = |policy: RegistrationPolicy| {
        Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .endpoints(Endpoints {
                registration: Some("/register".into()),
                ..Default::default()
            })
            .registration(policy)
            .store(MemoryStore::new())
            .build()
            .map(|_| ())
    };
    let short = "x".repeat(MIN_INITIAL_ACCESS_TOKEN_LEN - 1);
    for policy in [
        RegistrationPolicy::initial_access_tokens([("short", Secret::new(short))]),
        RegistrationPolicy::initial_access_tokens([("space", Secret::new(format!("{IAT} x")))]),
        RegistrationPolicy::initial_access_tokens(Vec::<(&str, Secret)>::new()),
    ] {
        assert!(
            matches!(
                build(policy),
                Err(ConfigError::InvalidRegistrationPolicy(_))
            ),
            "weak initial access tokens must not build"
        );
    }
}

// ---- DCR-3: 201 with every effective value ----

#[tokio::test]
async fn dcr_3_success_is_201_with_all_effective_metadata_and_no_store() {
    let h = Harness::open_registration();
    let (status, body, headers) = h.register_json(&minimal()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(headers["content-type"], "application/json");

    let client_id = str_of(&body, "client_id");
    assert!(!client_id.is_empty());
    assert_eq!(body["client_id_issued_at"], json!(START));
    assert!(str_of(&body, "client_secret").starts_with("oa2cs_"));
    assert_eq!(body["client_secret_expires_at"], json!(0));
    assert!(str_of(&body, "registration_access_token").starts_with("oa2reg_"));
    assert_eq!(
        str_of(&body, "registration_client_uri"),
        format!("{REGISTER}/{client_id}")
    );
    assert_eq!(
        str_of(&body, "token_endpoint_auth_method"),
        "client_secret_basic"
    );
    assert_eq!(strings(&body, "grant_types"), ["authorization_code"]);
    assert_eq!(strings(&body, "response_types"), ["code"]);
    assert_eq!(strings(&body, "redirect_uris"), [REDIRECT]);
    // No scope requested: every offered scope, stated explicitly.
    assert_eq!(str_of(&body, "scope"), "admin read write");
    for value in body.as_object().unwrap().values() {
        assert!(!value.is_null(), "{body}");
    }

    // Ids are unique.
    let other = h.registered(&minimal()).await;
    assert_ne!(other["client_id"], body["client_id"]);
}

#[tokio::test]
async fn dcr_3_every_kept_member_is_echoed() {
    let h = Harness::open_registration();
    let request = json!({
        "redirect_uris": [REDIRECT, "http://127.0.0.1/cb"],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types": ["code"],
        "scope": "read write",
        "client_name": "Example <client>",
        "client_uri": "https://client.example/",
        "logo_uri": "https://client.example/logo.png",
        "tos_uri": "https://client.example/tos",
        "policy_uri": "https://client.example/privacy",
        "contacts": ["ops@client.example"],
        "software_id": "4NRB1-0XZABZI9E6-5SM3R",
        "software_version": "2.1",
    });
    let body = h.registered(&request).await;
    for (name, value) in request.as_object().unwrap() {
        assert_eq!(&body[name], value, "{name}");
    }
}

#[tokio::test]
async fn dcr_3_configured_secret_lifetime_is_reported_and_enforced() {
    let h = Harness::with_registration(RegistrationPolicy::open().client_secret_lifetime(3600));
    let body = h
        .registered(&json!({
            "grant_types": ["client_credentials"],
            "scope": "read",
        }))
        .await;
    assert_eq!(body["client_secret_expires_at"], json!(START + 3600));
    let id = str_of(&body, "client_id");
    let secret = str_of(&body, "client_secret");
    let (status, token, _) = h
        .token(&[("grant_type", "client_credentials")], Some((id, secret)))
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    h.advance(3600);
    let (status, token, _) = h
        .token(&[("grant_type", "client_credentials")], Some((id, secret)))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
    assert_eq!(error_of(&token), "invalid_client");
}

// ---- DCR-4: unknown members dropped ----

#[tokio::test]
async fn dcr_4_unknown_metadata_is_ignored_and_not_returned() {
    let h = Harness::open_registration();
    let body = h
        .registered(&public(json!({
            "foo": "bar",
            "nested": { "a": [1, 2, { "b": null }] },
            "jwks_uri": "https://client.example/jwks",
            "application_type": "web",
            "client_name#": "bad tag, not a localized member",
            "scope#fr": "not localizable",
            "client_id_issued_at": 1,
            "client_secret_expires_at": 1,
            "registration_access_token": "oa2reg_chosen",
        })))
        .await;
    for dropped in [
        "foo",
        "nested",
        "jwks_uri",
        "application_type",
        "client_name#",
        "scope#fr",
    ] {
        assert!(body.get(dropped).is_none(), "{dropped} in {body}");
    }
    assert_eq!(body["client_id_issued_at"], json!(START));
    assert_ne!(body["registration_access_token"], "oa2reg_chosen");
}

#[tokio::test]
async fn mcp_5_native_application_type_with_loopback_redirect_registers() {
    let h = Harness::open_registration();
    let body = h
        .registered(&json!({
            "application_type": "native",
            "redirect_uris": ["http://127.0.0.1:33418/callback", "http://localhost:33418/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "MCP Inspector",
        }))
        .await;
    assert!(body.get("client_secret").is_none());
}

// ---- DCR-5, DCR-6: refused values and the error format ----

#[tokio::test]
async fn dcr_5_unsupported_values_are_refused_not_silently_replaced() {
    let h = Harness::open_registration();
    let cases = [
        json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt" }),
        json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_jwt" }),
        json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "tls_client_auth" }),
        json!({ "redirect_uris": [REDIRECT], "grant_types": ["password"] }),
        json!({ "redirect_uris": [REDIRECT], "grant_types": ["implicit"] }),
        json!({ "redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"] }),
        json!({ "redirect_uris": [REDIRECT], "response_types": ["token"] }),
        json!({ "redirect_uris": [REDIRECT], "response_types": ["code id_token"] }),
        json!({ "redirect_uris": [REDIRECT], "scope": "read delete" }),
        json!({ "redirect_uris": [REDIRECT], "scope": "read  write" }),
        json!({ "redirect_uris": [REDIRECT], "scope": "re\"ad" }),
    ];
    for case in cases {
        let (status, body, _) = h.register_json(&case).await;
        assert_error(status, &body, "invalid_client_metadata");
        assert!(body.get("client_id").is_none(), "{case}");
    }
}

#[tokio::test]
async fn dcr_5_members_of_the_wrong_type_are_refused() {
    let h = Harness::open_registration();
    for (name, value) in [
        ("grant_types", json!("authorization_code")),
        ("response_types", json!("code")),
        ("token_endpoint_auth_method", json!(["none"])),
        ("scope", json!(["read"])),
        ("client_name", json!(7)),
        ("client_name", json!("line\nbreak")),
        ("client_name", json!("Trusted\u{202E}exe.app")),
        ("contacts", json!("ops@client.example")),
        ("contacts", json!([1])),
        ("contacts", json!([""])),
        ("software_version", json!(2.1)),
        ("client_name#fr", json!({ "text": "x" })),
    ] {
        let mut request = minimal();
        request[name] = value.clone();
        let (status, body, _) = h.register_json(&request).await;
        assert_error(status, &body, "invalid_client_metadata");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationMalformedMember.description(),
            "{name}: {value}"
        );
    }
}

#[tokio::test]
async fn dcr_5_client_information_uris_must_be_https() {
    let h = Harness::open_registration();
    for name in [
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "logo_uri#fr",
    ] {
        for bad in [
            "http://client.example/",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "/relative",
            "https://user:pw@client.example/",
        ] {
            let mut request = minimal();
            request[name] = json!(bad);
            let (status, body, _) = h.register_json(&request).await;
            assert_error(status, &body, "invalid_client_metadata");
            assert_eq!(
                body["error_description"],
                Reason::RegistrationInvalidUri.description(),
                "{name}: {bad}"
            );
        }
    }
}

#[tokio::test]
async fn dcr_6_errors_are_400_json_with_a_registered_code_and_fixed_description() {
    let h = Harness::open_registration();
    let (status, body, headers) = h
        .register_json(&json!({ "redirect_uris": ["https://client.example/cb#frag"] }))
        .await;
    assert_error(status, &body, "invalid_redirect_uri");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationInvalidRedirectUri.description()
    );
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");

    let (status, body, _) = h
        .register_json(&json!({ "redirect_uris": [REDIRECT], "grant_types": ["password"] }))
        .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationUnsupportedGrantType.description()
    );
    assert_eq!(
        Reason::RegistrationInvalidRedirectUri.code().as_str(),
        "invalid_redirect_uri"
    );
    assert_eq!(
        Reason::RegistrationRefusedByPolicy.code().as_str(),
        "invalid_client_metadata"
    );
    // No request data in the description.
    let (_, body, _) = h
        .register_json(&json!({ "redirect_uris": ["javascript:alert('pwned')"] }))
        .await;
    assert!(!body.to_string().contains("pwned"), "{body}");
}

// ---- DCR-7, DCR-8: redirect URIs ----

#[tokio::test]
async fn dcr_7_the_code_grant_needs_redirect_uris() {
    let h = Harness::open_registration();
    for request in [
        json!({}),
        json!({ "grant_types": ["authorization_code"] }),
        json!({ "grant_types": ["authorization_code"], "redirect_uris": [] }),
        json!({ "token_endpoint_auth_method": "none", "response_types": ["code"] }),
    ] {
        let (status, body, _) = h.register_json(&request).await;
        assert_error(status, &body, "invalid_redirect_uri");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationRedirectUriRequired.description()
        );
    }
    // A client that uses no redirect flow needs none.
    let body = h
        .registered(&json!({ "grant_types": ["client_credentials"] }))
        .await;
    assert!(body.get("redirect_uris").is_none());
}

#[tokio::test]
async fn dcr_8_every_redirect_uri_is_validated() {
    let h = Harness::open_registration();
    let bad = [
        json!("https://client.example/cb#frag"),
        json!("https://client.example/cb#"),
        json!("/cb"),
        json!("cb"),
        json!(""),
        json!("http://client.example/cb"),
        json!("http://127.0.0.1.evil.example/cb"),
        json!("javascript:alert(1)"),
        json!("JavaScript:alert(1)"),
        json!("data:text/html,<script>alert(1)</script>"),
        json!("vbscript:x"),
        json!("file:///etc/passwd"),
        json!("myapp:/cb"),
        json!("https://*.client.example/cb"),
        json!("https://client.example/*"),
        json!("https://user:pw@client.example/cb"),
        json!("https://client.example/c b"),
        json!(42),
        json!(null),
    ];
    for uri in bad {
        let (status, body, _) = h
            .register_json(&json!({ "redirect_uris": [REDIRECT, uri.clone()] }))
            .await;
        assert_error(status, &body, "invalid_redirect_uri");
        assert!(body.get("client_id").is_none(), "{uri}");
    }
    let (status, body, _) = h.register_json(&json!({ "redirect_uris": REDIRECT })).await;
    assert_error(status, &body, "invalid_redirect_uri");

    let good = [
        "https://client.example/cb?tenant=1",
        "http://127.0.0.1:8080/cb",
        "http://[::1]/cb",
        "http://localhost:3000/cb",
        "com.example.app:/oauth2redirect",
    ];
    let body = h.registered(&json!({ "redirect_uris": good })).await;
    assert_eq!(strings(&body, "redirect_uris"), good);
}

// ---- DCR-9, DCR-10, DCR-11 ----

#[tokio::test]
async fn dcr_9_defaults_are_applied_and_echoed() {
    let h = Harness::open_registration();
    let body = h.registered(&minimal()).await;
    assert_eq!(
        str_of(&body, "token_endpoint_auth_method"),
        "client_secret_basic"
    );
    assert_eq!(strings(&body, "grant_types"), ["authorization_code"]);
    assert_eq!(strings(&body, "response_types"), ["code"]);
    // `null` and empty values count as absent.
    let body = h
        .registered(&json!({
            "redirect_uris": [REDIRECT],
            "grant_types": [],
            "response_types": null,
            "token_endpoint_auth_method": "",
            "scope": null,
            "client_name": "",
        }))
        .await;
    assert_eq!(
        str_of(&body, "token_endpoint_auth_method"),
        "client_secret_basic"
    );
    assert_eq!(strings(&body, "grant_types"), ["authorization_code"]);
    assert_eq!(strings(&body, "response_types"), ["code"]);
    assert!(body.get("client_name").is_none());
}

#[tokio::test]
async fn dcr_10_inconsistent_grant_and_response_types_are_refused() {
    let h = Harness::open_registration();
    let (status, body, _) = h
        .register_json(&json!({
            "grant_types": ["client_credentials"],
            "response_types": ["code"],
        }))
        .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationInconsistentResponseTypes.description()
    );
    // Without response_types, they follow the grant types: none for client credentials.
    let body = h
        .registered(&json!({ "grant_types": ["client_credentials"] }))
        .await;
    assert_eq!(body["response_types"], json!([]));
    let body = h
        .registered(&json!({
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        }))
        .await;
    assert_eq!(strings(&body, "response_types"), ["code"]);
}

#[tokio::test]
async fn dcr_11_jwks_and_jwks_uri_together_are_refused() {
    let h = Harness::open_registration();
    let mut request = minimal();
    request["jwks"] = json!({ "keys": [] });
    request["jwks_uri"] = json!("https://client.example/jwks");
    let (status, body, _) = h.register_json(&request).await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationJwksConflict.description()
    );
    // One of them alone is ignored (no method here uses client keys).
    request["jwks_uri"] = Value::Null;
    let body = h.registered(&request).await;
    assert!(body.get("jwks").is_none());
}

// ---- DCR-12: software statements (not supported) ----

#[tokio::test]
async fn dcr_12_software_statements_are_ignored_never_applied() {
    let h = Harness::open_registration();
    // An unsigned statement claiming another name and an admin scope.
    let statement = "eyJhbGciOiJub25lIn0.eyJjbGllbnRfbmFtZSI6IkV2aWwiLCJzY29wZSI6ImFkbWluIn0.";
    let body = h
        .registered(&json!({
            "redirect_uris": [REDIRECT],
            "client_name": "Honest",
            "scope": "read",
            "software_statement": statement,
        }))
        .await;
    assert_eq!(str_of(&body, "client_name"), "Honest");
    assert_eq!(str_of(&body, "scope"), "read");
    assert!(body.get("software_statement").is_none());
}

// ---- DCR-13: public clients ----

#[tokio::test]
async fn dcr_13_public_clients_get_no_secret() {
    let h = Harness::open_registration();
    let body = h.registered(&public(json!({}))).await;
    assert!(body.get("client_secret").is_none(), "{body}");
    assert!(body.get("client_secret_expires_at").is_none(), "{body}");
    assert_eq!(str_of(&body, "token_endpoint_auth_method"), "none");
    assert!(str_of(&body, "registration_access_token").starts_with("oa2reg_"));
    let stored = h
        .provider
        .store()
        .client(&ClientId::new(str_of(&body, "client_id")))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.secret.is_none());

    // Public clients cannot use client credentials (OAuth 2.1 §2.4, §4.2).
    let (status, body, _) = h
        .register_json(&json!({
            "token_endpoint_auth_method": "none",
            "grant_types": ["client_credentials"],
        }))
        .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationPublicClientCredentials.description()
    );
}

// ---- DCR-14: language tags ----

#[tokio::test]
async fn dcr_14_language_tagged_members_round_trip() {
    let h = Harness::open_registration();
    let request = json!({
        "redirect_uris": [REDIRECT],
        "client_name": "My Example",
        "client_name#fr": "Mon exemple",
        "client_name#ja-Jpan-JP": "クライアント名",
        "tos_uri#de-CH": "https://client.example/de/tos",
        "logo_uri#en": "https://client.example/en/logo.png",
    });
    let body = h.registered(&request).await;
    for (name, value) in request.as_object().unwrap() {
        assert_eq!(&body[name], value, "{name}");
    }
    let (status, read, _) = h.configure(Method::GET, &body, None).await;
    assert_eq!(status, StatusCode::OK);
    for (name, value) in request.as_object().unwrap() {
        assert_eq!(&read[name], value, "{name}");
    }
}

// ---- DCR-15: the server chooses the client id and secret ----

#[tokio::test]
async fn dcr_15_o21_77_client_cannot_choose_its_id_or_secret() {
    let h = Harness::open_registration();
    let existing = h.registered(&minimal()).await;
    let existing_id = str_of(&existing, "client_id");
    for chosen in ["chosen-id", "alice", existing_id] {
        let mut request = minimal();
        request["client_id"] = json!(chosen);
        request["client_secret"] = json!("my-own-secret");
        request["redirect_uris"] = json!(["https://evil.example/cb"]);
        let body = h.registered(&request).await;
        assert_ne!(str_of(&body, "client_id"), chosen);
        assert_ne!(str_of(&body, "client_secret"), "my-own-secret");
    }
    let store = h.provider.store();
    assert!(store
        .client(&ClientId::new("chosen-id"))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .client(&ClientId::new("alice"))
        .await
        .unwrap()
        .is_none());
    let unchanged = store
        .client(&ClientId::new(existing_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.redirect_uris, [REDIRECT]);
}

// ---- DCR-16: restricted scopes for dynamically registered clients ----

/// A review that registers at most `read` and refuses `admin`.
fn least_privilege(
    registration: &ClientRegistration,
    _: &RegistrationContext<'_>,
) -> RegistrationVerdict {
    let requested = registration.scope.clone().unwrap_or_default();
    if requested.contains("admin") {
        return RegistrationVerdict::Reject("admin-scope-requested");
    }
    let mut adjusted = registration.clone();
    adjusted.scope = Some(Scope::parse("read").unwrap());
    RegistrationVerdict::Adjust(Box::new(adjusted))
}

#[tokio::test]
async fn dcr_16_o21_78_dynamically_registered_clients_get_restricted_scopes() {
    let h = Harness::with_registration(RegistrationPolicy::open().hook(Arc::new(least_privilege)));
    let body = h
        .registered(&public(json!({ "scope": "read write" })))
        .await;
    assert_eq!(str_of(&body, "scope"), "read");
    let client_id = str_of(&body, "client_id").to_owned();

    let (status, body, _) = h
        .register_json(&public(json!({ "scope": "read admin" })))
        .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationRefusedByPolicy.description()
    );
    assert!(
        !body.to_string().contains("admin-scope"),
        "host code leaked"
    );

    // The restriction holds at the authorization endpoint.
    let (reason, _) = expect_redirect(h.begin_with(&client_id, &[("scope", "write")]).await);
    assert_eq!(reason, Reason::ScopeNotAllowed);
    assert!(h.begin_with(&client_id, &[("scope", "read")]).await.is_ok());
}

#[tokio::test]
async fn dcr_5_dcr_16_over_long_metadata_lists_are_refused() {
    use oauth_core::registration::{
        MAX_CONTACTS, MAX_GRANT_TYPES, MAX_LOCALIZED_MEMBERS, MAX_REDIRECT_URIS, MAX_RESPONSE_TYPES,
    };
    // A body limit far above the default, so only the list bounds stand in the way.
    let h = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".into()),
            ..Default::default()
        })
        .registration(RegistrationPolicy::open())
        .max_body_bytes(4 * 1024 * 1024)
    });
    let uris = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| format!("https://client.example/cb{i}"))
            .collect()
    };
    let contacts =
        |n: usize| -> Vec<String> { (0..n).map(|i| format!("ops{i}@client.example")).collect() };
    // At the bound: accepted.
    let mut localized = json!({ "redirect_uris": uris(MAX_REDIRECT_URIS) });
    for i in 0..MAX_LOCALIZED_MEMBERS {
        localized[format!("client_name#x-{i}")] = json!("Name");
    }
    localized["contacts"] = json!(contacts(MAX_CONTACTS));
    let body = h.registered(&localized).await;
    assert_eq!(strings(&body, "redirect_uris").len(), MAX_REDIRECT_URIS);

    // One over: refused, whatever the list.
    let mut too_many_localized = minimal();
    for i in 0..=MAX_LOCALIZED_MEMBERS {
        too_many_localized[format!("client_name#x-{i}")] = json!("Name");
    }
    let cases = [
        json!({ "redirect_uris": uris(MAX_REDIRECT_URIS + 1) }),
        json!({ "redirect_uris": [REDIRECT], "contacts": contacts(MAX_CONTACTS + 1) }),
        json!({
            "redirect_uris": [REDIRECT],
            "grant_types": vec!["authorization_code"; MAX_GRANT_TYPES + 1],
        }),
        json!({
            "redirect_uris": [REDIRECT],
            "response_types": vec!["code"; MAX_RESPONSE_TYPES + 1],
        }),
        too_many_localized,
        // Repeats count: the bound is checked before they are removed, so a huge list of
        // one value costs no more than a short one.
        json!({ "redirect_uris": vec![REDIRECT; 100_000] }),
    ];
    for metadata in cases {
        let (status, body, _) = h.register_json(&metadata).await;
        assert_error(status, &body, "invalid_client_metadata");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationTooManyValues.description()
        );
    }
}

#[tokio::test]
async fn dcr_5_repeated_list_values_are_kept_once_in_order() {
    let h = Harness::open_registration();
    let other = "https://client.example/other";
    let body = h
        .registered(&json!({
            "redirect_uris": [other, REDIRECT, other, REDIRECT],
            "contacts": ["b@client.example", "a@client.example", "b@client.example"],
        }))
        .await;
    assert_eq!(strings(&body, "redirect_uris"), [other, REDIRECT]);
    assert_eq!(
        strings(&body, "contacts"),
        ["b@client.example", "a@client.example"]
    );
}

#[tokio::test]
async fn a_hook_that_adjusts_into_invalid_metadata_is_a_server_error() {
    let h = Harness::with_registration(RegistrationPolicy::open().hook(Arc::new(
        |registration: &ClientRegistration, _: &RegistrationContext<'_>| {
            let mut adjusted = registration.clone();
            adjusted.redirect_uris = vec!["javascript:alert(1)".to_owned()];
            RegistrationVerdict::Adjust(Box::new(adjusted))
        },
    )));
    let (status, body, _) = h.register_json(&minimal()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(error_of(&body), "server_error");
}

// ---- policy and configuration ----

#[tokio::test]
async fn registration_is_closed_by_default() {
    let h = Harness::new();
    let body = serde_json::to_vec(&minimal()).unwrap();
    let response = h
        .provider
        .handle(&registration_request(
            &body,
            &[("content-type", "application/json")],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Driven directly, the machine answers 404 too.
    let response = h
        .provider
        .registration_endpoint(&registration_request(
            &body,
            &[("content-type", "application/json")],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!h.provider.config().registration_enabled());
}

#[tokio::test]
async fn a_policy_contradicting_the_endpoint_does_not_build() {
    let build = |registration: Option<String>, policy: RegistrationPolicy| {
        Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .endpoints(Endpoints {
                registration,
                ..Default::default()
            })
            .registration(policy)
            .store(MemoryStore::new())
            .build()
            .map(|p| p.config().registration_enabled())
    };
    assert!(matches!(
        build(None, RegistrationPolicy::open()),
        Err(ConfigError::InvalidRegistrationPolicy(_))
    ));
    assert!(matches!(
        build(Some("/register".into()), RegistrationPolicy::closed()),
        Err(ConfigError::InvalidRegistrationPolicy(_))
    ));
    assert!(matches!(
        build(
            Some("/register".into()),
            RegistrationPolicy::open().client_secret_lifetime(11 * 365 * 24 * 3600)
        ),
        Err(ConfigError::InvalidRegistrationPolicy(_))
    ));
    assert_eq!(
        build(Some("/register".into()), RegistrationPolicy::open()),
        Ok(true)
    );
    assert_eq!(build(None, RegistrationPolicy::closed()), Ok(false));
    // A registration path without a policy: open.
    let h = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".into()),
            ..Default::default()
        })
    });
    assert!(h.provider.config().registration_enabled());
    assert_eq!(h.register_json(&minimal()).await.0, StatusCode::CREATED);
}

// ---- store behaviour ----

fn instrumented() -> Provider<InstrumentedStore<MemoryStore>> {
    Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .scopes(["read", "write"])
        .endpoints(Endpoints {
            registration: Some("/register".into()),
            ..Default::default()
        })
        .registration(RegistrationPolicy::open())
        .store(InstrumentedStore::new(MemoryStore::new()))
        .build()
        .unwrap()
}

async fn register_with<S: oauth_core::Store>(
    provider: &Provider<S>,
    metadata: &Value,
) -> (StatusCode, Value) {
    let body = serde_json::to_vec(metadata).unwrap();
    let response = provider
        .handle(&registration_request(
            &body,
            &[("content-type", "application/json")],
        ))
        .await;
    let (status, body, _) = response_parts(&response);
    (status, body)
}

#[tokio::test]
async fn the_stored_client_never_holds_the_secret_or_registration_token() {
    let provider = instrumented();
    let (status, body) = register_with(&provider, &minimal()).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = str_of(&body, "client_secret");
    let token = str_of(&body, "registration_access_token");
    // An update goes through the store too.
    let mut update = minimal();
    update["client_id"] = body["client_id"].clone();
    update["client_secret"] = json!(secret);
    update["client_name"] = json!("Renamed");
    let response = provider
        .handle(&configuration_request(
            Method::PUT,
            str_of(&body, "registration_client_uri"),
            Some(token),
            Some(&update),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let writes = provider.store().writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes[0].starts_with("InsertClient"), "{writes:?}");
    assert!(writes[1].starts_with("ReplaceClient"), "{writes:?}");
    for write in &writes {
        assert!(!write.contains(secret), "plaintext secret stored: {write}");
        assert!(!write.contains(token), "plaintext token stored: {write}");
        assert!(!write.contains(&secret["oa2cs_".len()..]), "{write}");
        assert!(!write.contains(&token["oa2reg_".len()..]), "{write}");
    }
}

#[tokio::test]
async fn a_store_failure_is_503_never_a_false_success() {
    let provider = instrumented();
    provider.store().fail(Op::InsertClient);
    let (status, body) = register_with(&provider, &minimal()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_of(&body), "temporarily_unavailable");
    assert!(body.get("client_id").is_none());
}

/// A random source that always returns the same bytes: every drawn id collides.
#[derive(Debug)]
struct Stuck;

impl SecureRandom for Stuck {
    fn fill(&self, dest: &mut [u8]) -> Result<(), oauth_core::RandomError> {
        dest.fill(7);
        Ok(())
    }
}

#[tokio::test]
async fn an_id_collision_never_replaces_the_existing_client() {
    let h = Harness::with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".into()),
            ..Default::default()
        })
        .registration(RegistrationPolicy::open())
        .random(Arc::new(Stuck))
    });
    let first = h.registered(&minimal()).await;
    let (status, body, _) = h
        .register_json(&json!({ "redirect_uris": ["https://evil.example/cb"] }))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let stored = h
        .provider
        .store()
        .client(&ClientId::new(str_of(&first, "client_id")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.redirect_uris, [REDIRECT]);
}

// ---- the whole flow, black box ----

#[tokio::test]
async fn registered_public_client_completes_the_code_flow_and_is_gone_after_delete() {
    let h = Harness::open_registration();
    // 1. Register over HTTP, as an MCP client does.
    let registered = h
        .registered(&json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "Flow test",
        }))
        .await;
    let client_id = str_of(&registered, "client_id").to_owned();

    // 2. Authorization code with PKCE, then the token endpoint.
    let code = h.obtain_code(&client_id).await;
    let (status, tokens, _) = h.redeem_public(&client_id, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = str_of(&tokens, "access_token").to_owned();
    let refresh = str_of(&tokens, "refresh_token").to_owned();
    let granted = h.bearer(&access).await.unwrap();
    assert_eq!(granted.client_id.as_str(), client_id);
    let (status, refreshed, _) = h.refresh(&client_id, &refresh, &[]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access = str_of(&refreshed, "access_token").to_owned();
    let refresh = str_of(&refreshed, "refresh_token").to_owned();
    assert!(h.bearer(&access).await.is_ok());
    let pending_code = h.obtain_code(&client_id).await;

    // 3. Delete the client through its configuration endpoint.
    let (status, body, headers) = h.configure(Method::DELETE, &registered, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    assert_eq!(headers["cache-control"], "no-store");

    // 4. Nothing it was issued works any more.
    let rejected = h.bearer(&access).await.unwrap_err();
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    let (status, body, _) = h.refresh(&client_id, &refresh, &[]).await;
    assert!(status.is_client_error(), "{body}");
    assert!(body.get("access_token").is_none());
    let (status, body, _) = h.redeem_public(&client_id, &pending_code).await;
    assert!(status.is_client_error(), "{body}");
    assert_eq!(
        expect_fatal(h.begin_with(&client_id, &[]).await),
        Reason::UnknownClient
    );
    let (status, _, _) = h.configure(Method::GET, &registered, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
