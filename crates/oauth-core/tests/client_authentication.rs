//! OAuth 2.1 §2.4 and §3.2.1 (client authentication at the token endpoint): `client_secret_basic` with form-decoded id and secret, `client_secret_post`, `none`, one method per request, the registered method enforced, and 401 `invalid_client` with a `Basic` challenge when the `Authorization` header was used (§3.2.4).

mod common;

use common::*;
use http::{HeaderMap, StatusCode};
use oauth_core::model::{AuthMethod, GrantType};
use oauth_core::{Keyring, NewClient};
use serde_json::Value;

/// RFC 6749 §2.3.1 / OAuth 2.1 §2.4.1 example client (V-2).
const V2_ID: &str = "s6BhdRkqt3";
const V2_SECRET: &str = "7Fjfp0ZBr1KtDRbnfVdmIw";
const V2_HEADER: &str = "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3";

/// The client: every character that percent- or form-encoding could get wrong.
const SPECIAL_ID: &str = "client-1+x%:é";
const SPECIAL_SECRET: &str = "s3cr3t-+%:ü€";

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

fn assert_invalid_client_with_challenge((status, body, headers): &(StatusCode, Value, HeaderMap)) {
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_of(body), "invalid_client", "{body}");
    assert_eq!(
        headers["www-authenticate"],
        "Basic realm=\"https://as.example\""
    );
    assert!(body.get("access_token").is_none());
    assert_eq!(headers["cache-control"], "no-store");
}

fn assert_invalid_client_without_challenge(
    (status, body, headers): &(StatusCode, Value, HeaderMap),
) {
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(body), "invalid_client", "{body}");
    assert!(
        headers.get("www-authenticate").is_none(),
        "no Basic challenge for a client that did not use the Authorization header"
    );
    assert!(body.get("access_token").is_none());
}

/// A harness with an imported client (id, secret and method chosen by the test).
async fn with_imported(
    id: &str,
    secret: Option<&str>,
    method: AuthMethod,
    grants: Vec<GrantType>,
) -> (Harness, Keyring) {
    let (h, keys) = Harness::with_keys(|b| b);
    h.import_client(&keys, id, secret, method, grants).await;
    (h, keys)
}

/// A client-credentials request with `Authorization: <authorization>` sent verbatim.
async fn cc_with_header(h: &Harness, authorization: &str) -> (StatusCode, Value, HeaderMap) {
    let request = raw_token_request(
        b"grant_type=client_credentials",
        &[FORM, ("authorization", authorization)],
    );
    h.token_raw(&request).await
}

/// A client-credentials request with the (already encoded) body sent verbatim.
async fn cc_with_body(h: &Harness, body: &str) -> (StatusCode, Value, HeaderMap) {
    let request = raw_token_request(
        format!("grant_type=client_credentials&{body}").as_bytes(),
        &[FORM],
    );
    h.token_raw(&request).await
}

/// Every byte as `%XX` (upper or lower hex): what some clients send for Basic parts.
fn percent_encode_all(value: &str, lower: bool) -> String {
    value
        .bytes()
        .map(|b| {
            if lower {
                format!("%{b:02x}")
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// O21-12, O21-13, O21-20: confidential clients must authenticate
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_12_confidential_client_without_credentials_is_never_downgraded_to_public() {
    let h = Harness::new();
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    // What a public client would send: client_id and the verifier, no secret.
    let response = h.redeem_public(id, &code).await;
    assert_invalid_client_without_challenge(&response);
    // The code was not burnt by the failed attempt: the real client still redeems it.
    let (status, body, _) = h.redeem_basic(id, secret.expose(), &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_13_client_id_alone_never_authenticates_a_confidential_client() {
    let h = Harness::new();
    let (client, _) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let response = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client.id.as_str()),
            ],
            None,
        )
        .await;
    assert_invalid_client_without_challenge(&response);
    // An empty secret is an absent secret (O21-3), not an empty password that matches.
    let response = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client.id.as_str()),
                ("client_secret", ""),
            ],
            None,
        )
        .await;
    assert_invalid_client_without_challenge(&response);
}

#[tokio::test]
async fn o21_20_confidential_client_without_any_authentication_is_invalid_client() {
    let h = Harness::new();
    let (client, _, body) = h.confidential_tokens().await;
    // No client_id, no header: nobody identified itself.
    let response = h.token(&[("grant_type", "client_credentials")], None).await;
    assert_invalid_client_without_challenge(&response);
    // Its own refresh token with only its client_id: still unauthenticated.
    let response = h
        .refresh(client.id.as_str(), str_of(&body, "refresh_token"), &[])
        .await;
    assert_invalid_client_without_challenge(&response);
}

#[tokio::test]
async fn o21_20_public_client_sending_a_bogus_secret_is_invalid_client() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    // In the body ...
    let mut pairs = base.to_vec();
    pairs.extend([("client_id", id), ("client_secret", "bogus")]);
    assert_invalid_client_without_challenge(&h.token(&pairs, None).await);
    // ... and in a Basic header: verified, not silently ignored.
    assert_invalid_client_with_challenge(&h.token(&base, Some((id, "bogus"))).await);
    // The code survives both attempts.
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------------------------------------------------------------------------------------
// O21-14, O21-16: the two secret methods
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_14_client_secret_post_authenticates() {
    let h = Harness::new();
    let (client, secret) = h
        .register(NewClient {
            auth_method: AuthMethod::ClientSecretPost,
            ..NewClient::confidential(
                vec![REDIRECT.to_owned()],
                vec![GrantType::ClientCredentials, GrantType::AuthorizationCode],
            )
        })
        .await;
    let secret = secret.unwrap();
    let id = client.id.as_str();
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret.expose()),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // And for the code grant.
    let code = h.obtain_code(id).await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", id),
                ("client_secret", secret.expose()),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_16_basic_vector_v2_authenticates() {
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let (status, body, _) = cc_with_header(&h, V2_HEADER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The scheme is case-insensitive (RFC 7617 §2, RFC 9110 §11.1).
    let lower = V2_HEADER.replacen("Basic", "basic", 1);
    let (status, body, _) = cc_with_header(&h, &lower).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The second V-2 secret is another client's: refused.
    assert_invalid_client_with_challenge(
        &cc_with_header(&h, "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW").await,
    );
}

#[tokio::test]
async fn o21_16_basic_secret_is_form_decoded_before_comparison() {
    let (h, _) = with_imported(
        "form-client",
        Some("a+b:c%"),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let (status, body, _) = cc_with_header(&h, &basic_header("form-client", "a%2Bb%3Ac%25")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Undecoded, `+` is a space and `c%` a malformed escape: neither is the secret.
    assert_invalid_client_with_challenge(
        &cc_with_header(&h, &basic_header("form-client", "a+b%3Ac%25")).await,
    );
    assert_invalid_client_with_challenge(
        &cc_with_header(&h, &basic_header("form-client", "a+b:c%")).await,
    );
}

#[tokio::test]
async fn o21_16_plus_in_a_basic_part_decodes_to_a_space() {
    let (h, _) = with_imported(
        "space client",
        Some("pass word"),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    for (id, secret) in [
        ("space+client", "pass+word"),
        ("space%20client", "pass%20word"),
    ] {
        let (status, body, _) = cc_with_header(&h, &basic_header(id, secret)).await;
        assert_eq!(status, StatusCode::OK, "{id}:{secret}: {body}");
    }
}

// ---------------------------------------------------------------------------------------
// The issue: ids and secrets with `-`, `+`, `%`, `:` and non-ASCII characters
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn special_character_id_and_secret_authenticate_with_basic_in_every_encoding() {
    let (h, _) = with_imported(
        SPECIAL_ID,
        Some(SPECIAL_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let encodings = [
        // application/x-www-form-urlencoded, as the harness (and RFC 6749 §2.3.1) encodes.
        (
            "client-1%2Bx%25%3A%C3%A9".to_owned(),
            "s3cr3t-%2B%25%3A%C3%BC%E2%82%AC".to_owned(),
        ),
        // `-` encoded as %2D, as some clients do.
        (
            "client%2D1%2Bx%25%3A%C3%A9".to_owned(),
            "s3cr3t%2D%2B%25%3A%C3%BC%E2%82%AC".to_owned(),
        ),
        // Lower-case hex.
        (
            "client-1%2bx%25%3a%c3%a9".to_owned(),
            "s3cr3t-%2b%25%3a%c3%bc%e2%82%ac".to_owned(),
        ),
        // Every byte percent-encoded, upper and lower case.
        (
            percent_encode_all(SPECIAL_ID, false),
            percent_encode_all(SPECIAL_SECRET, false),
        ),
        (
            percent_encode_all(SPECIAL_ID, true),
            percent_encode_all(SPECIAL_SECRET, true),
        ),
        // Non-ASCII left as raw UTF-8 (only the reserved characters encoded).
        (
            "client-1%2Bx%25%3Aé".to_owned(),
            "s3cr3t-%2B%25%3Aü€".to_owned(),
        ),
    ];
    for (id, secret) in &encodings {
        let (status, body, _) = cc_with_header(&h, &basic_header(id, secret)).await;
        assert_eq!(status, StatusCode::OK, "{id}:{secret}: {body}");
    }
    // The harness's own encoder (form-urlencoding each part) agrees.
    let (status, body, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((SPECIAL_ID, SPECIAL_SECRET)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A body client_id naming the same client, encoded differently, agrees with Basic.
    let request = raw_token_request(
        b"grant_type=client_credentials&client_id=client%2D1%2Bx%25%3A%C3%A9",
        &[
            FORM,
            (
                "authorization",
                &basic_header(&encodings[0].0, &encodings[0].1),
            ),
        ],
    );
    let (status, body, _) = h.token_raw(&request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // One character off in the secret is refused.
    assert_invalid_client_with_challenge(
        &cc_with_header(
            &h,
            &basic_header(&encodings[0].0, "s3cr3t-%2B%25%3A%C3%BC%E2%82%AD"),
        )
        .await,
    );
}

#[tokio::test]
async fn special_character_id_and_secret_authenticate_in_the_form_body() {
    let (h, _) = with_imported(
        SPECIAL_ID,
        Some(SPECIAL_SECRET),
        AuthMethod::ClientSecretPost,
        vec![GrantType::ClientCredentials],
    )
    .await;
    for body in [
        "client_id=client-1%2Bx%25%3A%C3%A9&client_secret=s3cr3t-%2B%25%3A%C3%BC%E2%82%AC"
            .to_owned(),
        "client_id=client%2D1%2Bx%25%3A%C3%A9&client_secret=s3cr3t%2D%2B%25%3A%C3%BC%E2%82%AC"
            .to_owned(),
        format!(
            "client_id={}&client_secret={}",
            percent_encode_all(SPECIAL_ID, true),
            percent_encode_all(SPECIAL_SECRET, false)
        ),
        form(&[("client_id", SPECIAL_ID), ("client_secret", SPECIAL_SECRET)]),
    ] {
        let (status, response, _) = cc_with_body(&h, &body).await;
        assert_eq!(status, StatusCode::OK, "{body}: {response}");
    }
    // `+` undecoded in the body is a space: another secret.
    assert_invalid_client_without_challenge(
        &cc_with_body(
            &h,
            "client_id=client-1%2Bx%25%3A%C3%A9&client_secret=s3cr3t-+%25%3A%C3%BC%E2%82%AC",
        )
        .await,
    );
}

#[tokio::test]
async fn special_character_client_id_completes_the_code_flow_with_basic() {
    let (h, keys) = Harness::with_keys(|b| b);
    h.import_client(
        &keys,
        SPECIAL_ID,
        Some(SPECIAL_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
    )
    .await;
    let code = h.obtain_code(SPECIAL_ID).await;
    let (status, body, _) = h.redeem_basic(SPECIAL_ID, SPECIAL_SECRET, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    assert_eq!(access.client_id.as_str(), SPECIAL_ID);
    let (status, body, _) = h
        .refresh_basic(
            SPECIAL_ID,
            SPECIAL_SECRET,
            str_of(&body, "refresh_token"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------------------------------------------------------------------------------------
// O21-17, O21-18: one method, and the failure responses
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_17_basic_plus_body_secret_is_invalid_request() {
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let request = raw_token_request(
        format!("grant_type=client_credentials&client_secret={V2_SECRET}").as_bytes(),
        &[FORM, ("authorization", V2_HEADER)],
    );
    let (status, body, headers) = h.token_raw(&request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_request");
    assert!(body.get("access_token").is_none());
    assert_eq!(headers["cache-control"], "no-store");

    // Basic plus a client assertion, too.
    let request = raw_token_request(
        b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJ.x.y",
        &[FORM, ("authorization", V2_HEADER)],
    );
    let (status, body, _) = h.token_raw(&request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_request");

    // Basic plus a body client_id naming another client.
    let request = raw_token_request(
        b"grant_type=client_credentials&client_id=someone-else",
        &[FORM, ("authorization", V2_HEADER)],
    );
    let (status, body, _) = h.token_raw(&request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_request");
}

#[tokio::test]
async fn o21_18_wrong_basic_password_is_401_with_a_basic_challenge() {
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    assert_invalid_client_with_challenge(
        &cc_with_header(&h, &basic_header(V2_ID, "7Fjfp0ZBr1KtDRbnfVdmIW")).await,
    );
    // An unknown client through Basic looks exactly the same.
    let unknown = cc_with_header(&h, &basic_header("nobody", V2_SECRET)).await;
    assert_invalid_client_with_challenge(&unknown);
    let wrong = cc_with_header(&h, &basic_header(V2_ID, "nope")).await;
    assert_eq!(
        wrong.1, unknown.1,
        "the body does not tell whether the client exists"
    );
}

#[tokio::test]
async fn o21_18_realm_of_the_challenge_is_configurable() {
    let (h, keys) = Harness::with_keys(|b| b.realm("tenant-1"));
    h.import_client(
        &keys,
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let (status, _, headers) = cc_with_header(&h, &basic_header(V2_ID, "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"tenant-1\"");
}

#[tokio::test]
async fn o21_18_wrong_body_secret_is_400_invalid_client_without_basic_challenge() {
    let (h, _) = with_imported(
        "post-client",
        Some("right"),
        AuthMethod::ClientSecretPost,
        vec![GrantType::ClientCredentials],
    )
    .await;
    assert_invalid_client_without_challenge(
        &cc_with_body(&h, "client_id=post-client&client_secret=wrong").await,
    );
    assert_invalid_client_without_challenge(
        &cc_with_body(&h, "client_id=nobody&client_secret=right").await,
    );
    let (status, body, _) = cc_with_body(&h, "client_id=post-client&client_secret=right").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_18_malformed_authorization_header_is_401_with_a_basic_challenge() {
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    for header in [
        "Basic not-base64!",
        "Bearer czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3",
        "Basic czZCaGRSa3F0Mw==", // no colon
    ] {
        assert_invalid_client_with_challenge(&cc_with_header(&h, header).await);
    }
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let request = raw_token_request(
        b"grant_type=client_credentials",
        &[
            FORM,
            ("authorization", V2_HEADER),
            ("authorization", V2_HEADER),
        ],
    );
    let (status, body, _) = h.token_raw(&request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_request");
}

// ---------------------------------------------------------------------------------------
// O21-22: the registered method is enforced
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_22_basic_client_using_client_secret_post_is_invalid_client() {
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    assert_invalid_client_without_challenge(
        &cc_with_body(&h, &format!("client_id={V2_ID}&client_secret={V2_SECRET}")).await,
    );
    // The right secret by the registered method works.
    assert_eq!(cc_with_header(&h, V2_HEADER).await.0, StatusCode::OK);
}

#[tokio::test]
async fn o21_22_post_client_using_basic_is_invalid_client() {
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::ClientSecretPost,
        vec![GrantType::ClientCredentials],
    )
    .await;
    assert_invalid_client_with_challenge(&cc_with_header(&h, V2_HEADER).await);
    let (status, body, _) =
        cc_with_body(&h, &format!("client_id={V2_ID}&client_secret={V2_SECRET}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_22_client_registered_as_none_presenting_a_secret_is_refused() {
    // A public client record that (say, imported from elsewhere) still has a secret digest:
    // the registered method `none` decides, the secret is never a way in.
    let (h, _) = with_imported(
        V2_ID,
        Some(V2_SECRET),
        AuthMethod::None,
        vec![GrantType::AuthorizationCode],
    )
    .await;
    let code = h.obtain_code(V2_ID).await;
    assert_invalid_client_with_challenge(&h.redeem_basic(V2_ID, V2_SECRET, &code, &[]).await);
    let response = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", V2_ID),
                ("client_secret", V2_SECRET),
            ],
            None,
        )
        .await;
    assert_invalid_client_without_challenge(&response);
    // As `none` it redeems.
    let (status, body, _) = h.redeem_public(V2_ID, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn expired_client_secret_is_invalid_client() {
    use oauth_core::Store as _;
    let (h, keys) = Harness::with_keys(|b| b);
    let mut client = h
        .import_client(
            &keys,
            V2_ID,
            Some(V2_SECRET),
            AuthMethod::ClientSecretBasic,
            vec![GrantType::ClientCredentials],
        )
        .await;
    client.secret_expires_at = Some(oauth_core::UnixTime(START + 100));
    h.provider.store().put_client(&client).await.unwrap();
    assert_eq!(cc_with_header(&h, V2_HEADER).await.0, StatusCode::OK);
    h.advance(100);
    assert_invalid_client_with_challenge(&cc_with_header(&h, V2_HEADER).await);
}

// ---------------------------------------------------------------------------------------
// O21-23: a secret never stands in for PKCE
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_23_client_with_a_secret_is_still_held_to_pkce() {
    let h = Harness::new();
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let id = client.id.as_str();
    // The authorization request without a challenge is refused by default ...
    let refused = h
        .begin_with(id, &[("code_challenge", ""), ("code_challenge_method", "")])
        .await
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        Some(oauth_core::Reason::CodeChallengeRequired)
    );
    // ... and a correct secret does not excuse a missing verifier at the token endpoint.
    let code = h.obtain_code(id).await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
            Some((id, secret.expose())),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_grant");
}
