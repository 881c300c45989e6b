//! OAuth 2.1 §3.2 (token endpoint), §3.2.2-§3.2.4 and Appendix B: the rules every token request obeys whatever its grant — POST only, strict form encoding, repeated and unknown parameters, credentials never in the URI, the success and error response formats, `Cache-Control: no-store`, bounded bodies, and no panic on malformed input.

mod common;

use common::*;
use http::{HeaderMap, Request, StatusCode};
use oauth_core::model::{AuthMethod, GrantType};
use serde_json::Value;

/// A confidential client with the client-credentials grant: the shortest path to a token.
async fn cc_client(h: &Harness) -> (String, String) {
    let (client, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    (client.id.as_str().to_owned(), secret.expose().to_owned())
}

/// No token of any kind in a response body.
fn assert_no_token(body: &Value) {
    for key in ["access_token", "refresh_token", "id_token"] {
        assert!(body.get(key).is_none(), "{key} in {body}");
    }
}

/// A complete OAuth error response: the status, the code, `no-store`, JSON, no token.
fn assert_error(
    (status, body, headers): &(StatusCode, Value, HeaderMap),
    expected_status: StatusCode,
    expected_error: &str,
) {
    assert_eq!(*status, expected_status, "{body}");
    assert_eq!(error_of(body), expected_error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(headers["content-type"], "application/json");
    assert_no_token(body);
}

// ---------------------------------------------------------------------------------------
// O21-2, O21-4: unknown and repeated parameters
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_2_unknown_token_parameters_are_ignored() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("foo", "bar"),
                // Unknown parameters are never read, so repeating them is no error either.
                ("x-extension", "1"),
                ("x-extension", "2"),
            ],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());

    // The same for the code grant.
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", client.id.as_str()),
                ("code_verifier", VERIFIER),
                ("foo", "bar"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_4_grant_type_twice_is_invalid_request() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let response = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            Some((&id, &secret)),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn o21_4_other_repeated_parameters_are_invalid_request_and_do_not_burn_the_code() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", id),
        ("code_verifier", VERIFIER),
    ];
    for repeated in ["code", "redirect_uri", "client_id", "code_verifier"] {
        let mut pairs = base.to_vec();
        let value = base.iter().find(|(n, _)| *n == repeated).unwrap().1;
        pairs.push((repeated, value));
        let response = h.token(&pairs, None).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // An empty repeat is still a repeat on the wire.
    let mut pairs = base.to_vec();
    pairs.push(("code_verifier", ""));
    assert_error(
        &h.token(&pairs, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // None of them consumed the code.
    let (status, body, _) = h.token(&base, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------------------------------------------------------------------------------------
// O21-6, O21-7: POST with a form body only
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_6_get_is_405_with_allow_post_no_token_and_no_store() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let query = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", &secret),
    ]);
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri(format!("https://as.example/token?{query}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query.clone().into_bytes())
            .unwrap();
        let response = h.token_raw(&request).await;
        assert_error(&response, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        assert_eq!(response.2["allow"], "POST", "{method}");
    }
}

#[tokio::test]
async fn o21_7_json_body_is_invalid_request() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let json = serde_json::json!({
        "grant_type": "client_credentials",
        "client_id": id,
        "client_secret": secret,
    })
    .to_string();
    let request = raw_token_request(json.as_bytes(), &[("content-type", "application/json")]);
    assert_error(
        &h.token_raw(&request).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    // A form body under another or no content type is refused too.
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", &secret),
    ]);
    for headers in [
        &[("content-type", "text/plain")][..],
        &[("content-type", "multipart/form-data; boundary=x")][..],
        &[][..],
    ] {
        let request = raw_token_request(body.as_bytes(), headers);
        assert_error(
            &h.token_raw(&request).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}

#[tokio::test]
async fn o21_7_form_content_type_with_charset_and_any_case_is_accepted() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let body = form(&[("grant_type", "client_credentials")]);
    for content_type in [
        "application/x-www-form-urlencoded;charset=UTF-8",
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-URLEncoded",
    ] {
        let request = raw_token_request(
            body.as_bytes(),
            &[
                ("content-type", content_type),
                ("authorization", &basic_header(&id, &secret)),
            ],
        );
        let (status, body, _) = h.token_raw(&request).await;
        assert_eq!(status, StatusCode::OK, "{content_type}: {body}");
    }
}

#[tokio::test]
async fn o21_7_form_decoding_vector_v3_in_a_client_secret() {
    // V-3: U+0020 U+0025 U+0026 U+002B U+00A3 U+20AC, form-encoded on the wire.
    let (h, keys) = Harness::with_keys(|b| b);
    h.import_client(
        &keys,
        "v3-client",
        Some(" %&+£€"),
        AuthMethod::ClientSecretPost,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let body = b"grant_type=client_credentials&client_id=v3-client\
                 &client_secret=+%25%26%2B%C2%A3%E2%82%AC";
    let request = raw_token_request(
        body,
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    let (status, response, _) = h.token_raw(&request).await;
    assert_eq!(status, StatusCode::OK, "{response}");

    // Not decoding `+` (or decoding `%2B` to a space) gives another secret.
    let wrong = b"grant_type=client_credentials&client_id=v3-client\
                  &client_secret=%2B%25%26%2B%C2%A3%E2%82%AC";
    let request = raw_token_request(
        wrong,
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    assert_error(
        &h.token_raw(&request).await,
        StatusCode::BAD_REQUEST,
        "invalid_client",
    );
}

// ---------------------------------------------------------------------------------------
// O21-10, O21-51: the success response
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_10_no_refresh_token_key_when_none_is_issued() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let (status, body, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let object = body.as_object().unwrap();
    assert!(!object.contains_key("refresh_token"), "{body}");
    assert!(
        object.values().all(|v| !v.is_null()),
        "absent values are left out, never null: {body}"
    );

    // And with the refresh grant turned off server-wide, the code flow too.
    let h = Harness::with(|b| b.issue_refresh_tokens(false));
    let (_, body) = h.public_tokens().await;
    let object = body.as_object().unwrap();
    assert!(!object.contains_key("refresh_token"), "{body}");
    assert!(object.values().all(|v| !v.is_null()), "{body}");
}

/// OAuth 2.1 §3.2.3: 200, JSON, `access_token`, `token_type`, `expires_in`, `scope`.
fn assert_token_response_schema((status, body, headers): &(StatusCode, Value, HeaderMap)) {
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    let object = body.as_object().unwrap();
    assert!(!str_of(body, "access_token").is_empty());
    assert!(str_of(body, "token_type").eq_ignore_ascii_case("bearer"));
    assert!(body["expires_in"].as_u64().is_some_and(|e| e > 0), "{body}");
    if let Some(refresh) = object.get("refresh_token") {
        assert!(!refresh.as_str().unwrap().is_empty());
    }
    if let Some(scope) = object.get("scope") {
        let scope = scope.as_str().unwrap();
        assert!(!scope.is_empty() && !scope.contains("  "), "{body}");
    }
    let allowed = [
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
    ];
    for key in object.keys() {
        assert!(allowed.contains(&key.as_str()), "unexpected {key}: {body}");
    }
}

#[tokio::test]
async fn o21_51_token_response_schema_for_every_grant() {
    let h = Harness::new();

    // authorization_code
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let response = h.redeem_public(client.id.as_str(), &code).await;
    assert_token_response_schema(&response);
    assert_eq!(response.1["token_type"], "Bearer");
    assert_eq!(response.1["expires_in"], 3600);
    assert_eq!(response.1["scope"], "read");

    // refresh_token
    let refresh = str_of(&response.1, "refresh_token").to_owned();
    let response = h.refresh(client.id.as_str(), &refresh, &[]).await;
    assert_token_response_schema(&response);
    assert!(response.1["refresh_token"].is_string());

    // client_credentials
    let (id, secret) = cc_client(&h).await;
    let response = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read write"),
            ],
            Some((&id, &secret)),
        )
        .await;
    assert_token_response_schema(&response);
    assert_eq!(response.1["scope"], "read write");
}

// ---------------------------------------------------------------------------------------
// O21-15: no credentials in the URI
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_15_client_secret_in_the_query_is_refused_without_a_token() {
    let h = Harness::new();
    let (client, secret) = h
        .register(oauth_core::NewClient {
            auth_method: AuthMethod::ClientSecretPost,
            ..oauth_core::NewClient::confidential(
                vec![REDIRECT.to_owned()],
                vec![GrantType::ClientCredentials],
            )
        })
        .await;
    let id = client.id.as_str();
    let secret = secret.unwrap();
    let secret = secret.expose();
    let body = form(&[("grant_type", "client_credentials")]);

    // Credentials only in the query.
    let query = form(&[("client_id", id), ("client_secret", secret)]);
    let request = Request::post(format!("https://as.example/token?{query}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone().into_bytes())
        .unwrap();
    assert_error(
        &h.token_raw(&request).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    // A valid body does not make a secret in the query acceptable.
    let full = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ]);
    let query = form(&[("client_secret", secret)]);
    let request = Request::post(format!("https://as.example/token?{query}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(full.clone().into_bytes())
        .unwrap();
    assert_error(
        &h.token_raw(&request).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    // The same body without the query succeeds.
    let request = raw_token_request(
        full.as_bytes(),
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(h.token_raw(&request).await.0, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// O21-52: no-store everywhere
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_52_success_and_every_error_response_are_no_store() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;

    let success = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(success.0, StatusCode::OK);
    assert_eq!(success.2["cache-control"], "no-store");
    assert_eq!(success.2["pragma"], "no-cache");

    let errors = [
        h.token(
            &[("grant_type", "client_credentials")],
            Some((&id, "wrong")),
        )
        .await,
        h.token(&[("grant_type", "nope")], Some((&id, &secret)))
            .await,
        h.token(
            &[("grant_type", "client_credentials"), ("scope", "unknown")],
            Some((&id, &secret)),
        )
        .await,
        h.token(
            &[("grant_type", "authorization_code"), ("code", "x")],
            Some((&id, &secret)),
        )
        .await,
        h.token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "oa2rt_unknown"),
                ("client_id", "nobody"),
            ],
            None,
        )
        .await,
    ];
    for (status, body, headers) in &errors {
        assert!(status.is_client_error(), "{status} {body}");
        assert_eq!(headers["cache-control"], "no-store", "{body}");
        assert_eq!(headers["pragma"], "no-cache", "{body}");
        assert_no_token(body);
    }
}

// ---------------------------------------------------------------------------------------
// O21-53, O21-54: the error codes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_53_missing_grant_type_is_invalid_request() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    assert_error(
        &h.token(&[("scope", "read")], Some((&id, &secret))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // Empty is absent (O21-3).
    assert_error(
        &h.token(&[("grant_type", "")], Some((&id, &secret))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn o21_53_unknown_grant_type_is_unsupported_grant_type() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    for grant_type in [
        "foo",
        "implicit",
        "Client_Credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        assert_error(
            &h.token(&[("grant_type", grant_type)], Some((&id, &secret)))
                .await,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        );
    }
}

#[tokio::test]
async fn o21_53_client_not_registered_for_the_grant_is_unauthorized_client() {
    let h = Harness::new();
    // A confidential client registered for the code grant only.
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    assert_error(
        &h.token(
            &[("grant_type", "client_credentials")],
            Some((client.id.as_str(), secret.expose())),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    );
    // A client-credentials-only client cannot redeem codes or refresh.
    let (id, secret) = cc_client(&h).await;
    for grant_type in ["authorization_code", "refresh_token"] {
        assert_error(
            &h.token(&[("grant_type", grant_type)], Some((&id, &secret)))
                .await,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        );
    }
}

#[tokio::test]
async fn o21_53_bad_code_is_invalid_grant() {
    let h = Harness::new();
    let client = h.public_client().await;
    assert_error(
        &h.redeem_public(client.id.as_str(), "oa2c_not-a-code").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn o21_54_password_grant_is_unsupported_grant_type() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    assert_error(
        &h.token(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "hunter2"),
            ],
            Some((&id, &secret)),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    );
    // Also for a public client, and without any client at all.
    let client = h.public_client().await;
    for pairs in [
        vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "hunter2"),
            ("client_id", client.id.as_str()),
        ],
        vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "hunter2"),
        ],
    ] {
        assert_error(
            &h.token(&pairs, None).await,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Bounded bodies and malformed input
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn body_over_the_limit_is_413_invalid_request() {
    let h = Harness::with(|b| b.max_body_bytes(256));
    let (id, secret) = cc_client(&h).await;
    let padding = "p".repeat(256);
    let (status, body, headers) = h
        .token(
            &[("grant_type", "client_credentials"), ("pad", &padding)],
            Some((&id, &secret)),
        )
        .await;
    assert_error(
        &(status, body, headers),
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
    );
    // Exactly at the limit it succeeds; one byte more is refused.
    let basic = basic_header(&id, &secret);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("authorization", basic.as_str()),
    ];
    let prefix = "grant_type=client_credentials&pad=";
    let at_limit = format!("{prefix}{}", "p".repeat(256 - prefix.len()));
    assert_eq!(at_limit.len(), 256);
    let request = raw_token_request(at_limit.as_bytes(), &headers);
    let (status, body, _) = h.token_raw(&request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let over = format!("{at_limit}p");
    let request = raw_token_request(over.as_bytes(), &headers);
    assert_error(
        &h.token_raw(&request).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
    );

    // The default limit (16 KiB) holds without configuration.
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let padding = "p".repeat(16 * 1024);
    assert_error(
        &h.token(
            &[("grant_type", "client_credentials"), ("pad", &padding)],
            Some((&id, &secret)),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
    );
}

#[tokio::test]
async fn too_many_parameters_are_invalid_request() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let names: Vec<String> = (0..100).map(|i| format!("p{i}")).collect();
    let mut pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    pairs.push(("grant_type", "client_credentials"));
    assert_error(
        &h.token(&pairs, Some((&id, &secret))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn invalid_utf8_and_malformed_percent_escapes_are_invalid_request() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h).await;
    let basic = basic_header(&id, &secret);
    let bodies: [&[u8]; 10] = [
        b"grant_type=client_credentials&scope=%FF",
        b"grant_type=client_credentials&scope=%C3%28",
        b"grant_type=client_credentials&scope=\xff\xfe",
        b"grant_type=client_credentials&scope=%",
        b"grant_type=client_credentials&scope=%4",
        b"grant_type=client_credentials&scope=%zz",
        b"grant_type=client_credentials&scope=%%41",
        b"grant_type=client_credentials&%g0=1",
        b"grant_type=client_%63redentials%",
        b"grant_type=%ED%A0%80",
    ];
    for body in bodies {
        let request = raw_token_request(
            body,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", &basic),
            ],
        );
        let response = h.token_raw(&request).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn malformed_basic_credentials_are_invalid_client_never_a_panic() {
    let h = Harness::new();
    let (id, _) = cc_client(&h).await;
    let not_utf8 = format!("Basic {}", base64_of(b"id:%FF"));
    let bad_escape = format!("Basic {}", base64_of(b"id:%zz"));
    let no_colon = format!("Basic {}", base64_of(id.as_bytes()));
    let empty_id = format!("Basic {}", base64_of(b":secret"));
    for header in [
        "Basic",
        "Basic ",
        "Basic !!!!",
        "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3===",
        not_utf8.as_str(),
        bad_escape.as_str(),
        no_colon.as_str(),
        empty_id.as_str(),
    ] {
        let request = raw_token_request(
            b"grant_type=client_credentials",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", header),
            ],
        );
        let response = h.token_raw(&request).await;
        assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(
            response.2.contains_key("www-authenticate"),
            "{header}: a client that used the Authorization header gets a challenge"
        );
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn arbitrary_bodies_and_authorization_headers_never_panic_nor_issue_tokens() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = Harness::new();
    let (id, secret) = runtime.block_on(cc_client(&h));
    let basic = basic_header(&id, &secret);
    let config = ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        junk in proptest::collection::vec(any::<u8>(), 0..200),
        prefix in prop_oneof![
            Just(String::new()),
            Just("grant_type=client_credentials&".to_owned()),
            Just("grant_type=authorization_code&code=".to_owned()),
            Just("grant_type=refresh_token&refresh_token=".to_owned()),
        ],
        authorization in prop_oneof![
            Just(None),
            Just(Some(basic.clone())),
            "[ -~]{0,40}".prop_map(Some),
        ],
    )| {
        let mut body = prefix.into_bytes();
        body.extend_from_slice(&junk);
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(value) = authorization.as_deref() {
            headers.push(("authorization", value));
        }
        let request = raw_token_request(&body, &headers);
        let (status, body, headers) = runtime.block_on(h.token_raw(&request));
        prop_assert_eq!(&headers["cache-control"], "no-store");
        if status == StatusCode::OK {
            // Only an authenticated client-credentials request can succeed.
            prop_assert!(authorization.as_deref() == Some(basic.as_str()));
        } else {
            prop_assert!(status.is_client_error(), "{} {}", status, body);
            prop_assert!(body["error"].is_string());
            prop_assert!(body.get("access_token").is_none());
        }
    });
}
