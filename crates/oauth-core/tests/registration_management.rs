//! RFC 7592 client registration management (checklist group DCRM): reading, replacing and
//! deleting a dynamically registered client at its client configuration endpoint with its
//! registration access token.

mod common;

use std::sync::Arc;

use common::*;
use http::{Method, StatusCode};
use oauth_core::model::{Client, ClientId};
use oauth_core::{
    ClientRegistration, Endpoints, Issuer, ManagementOperation, Provider, Reason,
    RegistrationContext, RegistrationHook, RegistrationPolicy, RegistrationVerdict, Store as _,
};
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::instrumented::{InstrumentedStore, Op};
use serde_json::{json, Value};

fn confidential() -> Value {
    json!({
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "read write",
        "client_name": "Managed client",
        "logo_uri": "https://client.example/logo.png",
        "contacts": ["ops@client.example"],
        "client_name#fr": "Client géré",
    })
}

fn public() -> Value {
    json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    })
}

/// The update a client sends: `metadata` with its `client_id`.
fn update_of(registered: &Value, mut metadata: Value) -> Value {
    metadata["client_id"] = registered["client_id"].clone();
    metadata
}

async fn request(
    h: &Harness,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value, http::HeaderMap) {
    response_parts(
        &h.provider
            .handle(&configuration_request(method, uri, token, body))
            .await,
    )
}

fn assert_invalid_token(status: StatusCode, headers: &http::HeaderMap) {
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

async fn stored(h: &Harness, registered: &Value) -> Option<Client> {
    h.provider
        .store()
        .client(&ClientId::new(str_of(registered, "client_id")))
        .await
        .unwrap()
}

// ---- DCRM-1 ----

#[tokio::test]
async fn dcrm_1_registration_response_carries_the_management_credentials() {
    let h = Harness::open_registration();
    let body = h.registered(&confidential()).await;
    let uri = str_of(&body, "registration_client_uri");
    assert_eq!(uri, format!("{REGISTER}/{}", str_of(&body, "client_id")));
    assert!(str_of(&body, "registration_access_token").starts_with("oa2reg_"));
    // The stored record keeps only the token's keyed digest.
    let client = stored(&h, &body).await.unwrap();
    assert!(client.registration_token.is_some());
}

#[tokio::test]
async fn dcrm_1_configuration_uri_is_the_issuer_origin_and_the_registration_path() {
    let h = Harness::bare("https://auth.example.com:8443/tenant1", |b| {
        b.scopes(["read"])
            .endpoints(Endpoints {
                registration: Some("/tenant1/oauth/register".into()),
                ..Default::default()
            })
            .registration(RegistrationPolicy::open())
    });
    let body = serde_json::to_vec(&public()).unwrap();
    let request = http::Request::post("https://auth.example.com:8443/tenant1/oauth/register")
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let (status, registered, _) = response_parts(&h.provider.handle(&request).await);
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let uri = str_of(&registered, "registration_client_uri");
    assert_eq!(
        uri,
        format!(
            "https://auth.example.com:8443/tenant1/oauth/register/{}",
            str_of(&registered, "client_id")
        )
    );
    let (status, read, _) = h.configure(Method::GET, &registered, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
}

// ---- DCRM-2 ----

#[tokio::test]
async fn dcrm_2_the_configuration_endpoint_requires_the_registration_access_token() {
    let h = Harness::open_registration();
    let mine = h.registered(&confidential()).await;
    let other = h.registered(&confidential()).await;
    let uri = str_of(&mine, "registration_client_uri");

    // No credential: a bare challenge.
    let (status, _, headers) = request(&h, Method::GET, uri, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");

    // Another client's token, a token of another kind, a forged one: invalid_token.
    let secret = str_of(&mine, "client_secret").to_owned();
    let forged = format!("oa2reg_{}", "A".repeat(43));
    for token in [
        str_of(&other, "registration_access_token"),
        secret.as_str(),
        forged.as_str(),
    ] {
        for method in [Method::GET, Method::DELETE] {
            let (status, _, headers) = request(&h, method, uri, Some(token), None).await;
            assert_invalid_token(status, &headers);
        }
    }

    // A Basic credential is not a bearer one; a token in the query is never read.
    let response = h
        .provider
        .handle(
            &http::Request::get(uri)
                .header(
                    "authorization",
                    basic_header(str_of(&mine, "client_id"), &secret),
                )
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let with_query = format!(
        "{uri}?access_token={}",
        str_of(&mine, "registration_access_token")
    );
    let (status, _, _) = request(&h, Method::GET, &with_query, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Two Authorization headers: a malformed request.
    let token = format!("Bearer {}", str_of(&mine, "registration_access_token"));
    let response = h
        .provider
        .handle(
            &http::Request::get(uri)
                .header("authorization", &token)
                .header("authorization", &token)
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Nothing was deleted by the refused requests.
    assert!(stored(&h, &mine).await.is_some());
}

#[tokio::test]
async fn dcrm_2_clients_registered_by_the_host_cannot_be_managed() {
    let h = Harness::open_registration();
    let client = h.public_client().await;
    let uri = format!("{REGISTER}/{}", client.id);
    let forged = format!("oa2reg_{}", "A".repeat(43));
    let (status, _, headers) = request(&h, Method::DELETE, &uri, Some(&forged), None).await;
    assert_invalid_token(status, &headers);
    assert!(h
        .provider
        .store()
        .client(&client.id)
        .await
        .unwrap()
        .is_some());
}

// ---- DCRM-3 ----

#[tokio::test]
async fn dcrm_3_read_returns_the_current_configuration_without_credentials() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    let (status, read, headers) = h.configure(Method::GET, &registered, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(read["client_id"], registered["client_id"]);
    assert_eq!(
        read["registration_client_uri"],
        registered["registration_client_uri"]
    );
    // Only digests are stored: neither credential can be shown again.
    assert!(read.get("client_secret").is_none(), "{read}");
    assert!(read.get("registration_access_token").is_none(), "{read}");
    assert_eq!(read["client_secret_expires_at"], json!(0));
    let mut expected = registered.clone();
    let expected = expected.as_object_mut().unwrap();
    expected.remove("client_secret");
    expected.remove("registration_access_token");
    assert_eq!(read.as_object().unwrap(), expected);
}

// ---- DCRM-4 ----

#[tokio::test]
async fn dcrm_4_a_client_that_no_longer_exists_is_401() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    h.provider
        .store()
        .delete_client(&ClientId::new(str_of(&registered, "client_id")))
        .await
        .unwrap();
    for _ in 0..2 {
        let (status, _, headers) = h.configure(Method::GET, &registered, None).await;
        assert_invalid_token(status, &headers);
    }
    let (status, _, headers) = h
        .configure(
            Method::PUT,
            &registered,
            Some(&update_of(&registered, confidential())),
        )
        .await;
    assert_invalid_token(status, &headers);
    // The update did not bring it back.
    assert!(stored(&h, &registered).await.is_none());
}

// ---- DCRM-5 ----

struct ReadOnly;

impl RegistrationHook for ReadOnly {
    fn review(&self, _: &ClientRegistration, _: &RegistrationContext<'_>) -> RegistrationVerdict {
        RegistrationVerdict::Accept
    }

    fn allows(&self, operation: ManagementOperation, _: &Client) -> bool {
        operation == ManagementOperation::Read
    }
}

#[tokio::test]
async fn dcrm_5_an_operation_the_policy_forbids_is_403() {
    let h = Harness::with_registration(RegistrationPolicy::open().hook(Arc::new(ReadOnly)));
    let registered = h.registered(&confidential()).await;
    let (status, _, _) = h.configure(Method::GET, &registered, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut update = update_of(&registered, confidential());
    update["client_name"] = json!("Renamed");
    let (status, body, headers) = h.configure(Method::PUT, &registered, Some(&update)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let (status, _, _) = h.configure(Method::DELETE, &registered, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let client = stored(&h, &registered).await.unwrap();
    assert_eq!(client.name.as_deref(), Some("Managed client"));
}

#[tokio::test]
async fn dcrm_5_only_an_authenticated_request_reaches_the_policy() {
    let h = Harness::with_registration(RegistrationPolicy::open().hook(Arc::new(ReadOnly)));
    let registered = h.registered(&confidential()).await;
    let forged = format!("oa2reg_{}", "A".repeat(43));
    let (status, _, _) = request(
        &h,
        Method::DELETE,
        str_of(&registered, "registration_client_uri"),
        Some(&forged),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// ---- DCRM-6 ----

#[tokio::test]
async fn dcrm_6_put_replaces_the_metadata_and_omitted_members_are_removed() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    let update = update_of(
        &registered,
        json!({
            "redirect_uris": ["https://client.example/new-cb"],
            "client_name": "Renamed",
        }),
    );
    let (status, body, headers) = h.configure(Method::PUT, &registered, Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["client_id"], registered["client_id"]);
    assert_eq!(str_of(&body, "client_name"), "Renamed");
    for removed in ["logo_uri", "contacts", "client_name#fr"] {
        assert!(body.get(removed).is_none(), "{removed} in {body}");
    }
    // Omitted members take their defaults again (RFC 7592 §2.2), except `scope`, which
    // keeps the registered one: the registration default (every offered scope) would
    // widen the client.
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    assert_eq!(str_of(&body, "scope"), "read write");
    assert_eq!(
        str_of(&body, "token_endpoint_auth_method"),
        "client_secret_basic"
    );
    // The credentials are kept, not rotated, and not shown.
    assert!(body.get("client_secret").is_none());
    assert!(body.get("registration_access_token").is_none());
    assert_eq!(
        body["client_id_issued_at"],
        registered["client_id_issued_at"]
    );

    let (_, read, _) = h.configure(Method::GET, &registered, None).await;
    assert_eq!(read, body);
    let client = stored(&h, &registered).await.unwrap();
    assert_eq!(client.redirect_uris, ["https://client.example/new-cb"]);
    assert!(client.metadata.logo_uri.is_none());
    assert!(client.metadata.localized.is_empty());
}

#[tokio::test]
async fn dcrm_6_client_id_must_be_present_and_equal() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    let other = h.registered(&confidential()).await;
    for client_id in [Value::Null, json!(""), other["client_id"].clone(), json!(7)] {
        let mut update = confidential();
        if !client_id.is_null() {
            update["client_id"] = client_id.clone();
        }
        let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{client_id}: {body}");
        assert_eq!(error_of(&body), "invalid_client_metadata");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationClientIdMismatch.description()
        );
    }
    // The other client was not touched through this one's token.
    let untouched = stored(&h, &other).await.unwrap();
    assert_eq!(untouched.name.as_deref(), Some("Managed client"));
}

#[tokio::test]
async fn dcrm_6_members_only_the_server_sets_are_refused() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    for member in [
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
    ] {
        let mut update = update_of(&registered, confidential());
        update[member] = registered[member].clone();
        let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{member}: {body}");
        assert_eq!(error_of(&body), "invalid_client_metadata");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationServerMemberInRequest.description()
        );
    }
}

#[tokio::test]
async fn dcrm_6_client_secret_must_match_and_cannot_be_chosen() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    let id = str_of(&registered, "client_id");
    let secret = str_of(&registered, "client_secret");
    for wrong in [
        json!("my-own-secret"),
        json!(format!("{secret}x")),
        json!(1),
    ] {
        let mut update = update_of(&registered, confidential());
        update["client_secret"] = wrong.clone();
        let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong}: {body}");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationClientSecretMismatch.description()
        );
    }
    let mut update = update_of(&registered, confidential());
    update["client_secret"] = json!(secret);
    let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The original secret still authenticates; a chosen one never does.
    let (status, token, _) = h
        .token(&[("grant_type", "client_credentials")], Some((id, secret)))
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let (status, _, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((id, "my-own-secret")),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A public client has no secret to match.
    let public_client = h.registered(&public()).await;
    let mut update = update_of(&public_client, public());
    update["client_secret"] = json!("anything");
    let (status, _, _) = h
        .configure(Method::PUT, &public_client, Some(&update))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn dcrm_6_the_client_type_cannot_change() {
    let h = Harness::open_registration();
    let public_client = h.registered(&public()).await;
    // Omitting the method resets it to client_secret_basic: a type change.
    let mut update = update_of(&public_client, public());
    update
        .as_object_mut()
        .unwrap()
        .remove("token_endpoint_auth_method");
    let (status, body, _) = h
        .configure(Method::PUT, &public_client, Some(&update))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationClientTypeChange.description()
    );
    let confidential_client = h.registered(&confidential()).await;
    let mut update = update_of(&confidential_client, confidential());
    update["token_endpoint_auth_method"] = json!("none");
    update["grant_types"] = json!(["authorization_code"]);
    let (status, _, _) = h
        .configure(Method::PUT, &confidential_client, Some(&update))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Within one type the method may change; the secret is kept.
    update["token_endpoint_auth_method"] = json!("client_secret_post");
    let (status, body, _) = h
        .configure(Method::PUT, &confidential_client, Some(&update))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = str_of(&confidential_client, "client_id");
    let secret = str_of(&confidential_client, "client_secret");
    let code = h.obtain_code(id).await;
    let (status, token, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", id),
                ("client_secret", secret),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
}

// ---- DCRM-7 ----

#[tokio::test]
async fn dcrm_7_updates_are_validated_like_registrations() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    let cases = [
        (
            "logo_uri",
            json!("http://client.example/logo.png"),
            "invalid_client_metadata",
        ),
        (
            "redirect_uris",
            json!(["https://client.example/cb#f"]),
            "invalid_redirect_uri",
        ),
        ("redirect_uris", json!([]), "invalid_redirect_uri"),
        (
            "grant_types",
            json!(["password"]),
            "invalid_client_metadata",
        ),
        ("scope", json!("read delete"), "invalid_client_metadata"),
        (
            "redirect_uris",
            json!((0..33)
                .map(|i| format!("https://client.example/cb{i}"))
                .collect::<Vec<_>>()),
            "invalid_client_metadata",
        ),
    ];
    for (member, value, code) in cases {
        let mut update = update_of(&registered, confidential());
        update[member] = value.clone();
        let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{member}: {value}");
        assert_eq!(error_of(&body), code, "{member}: {value}");
    }
    // Nothing was changed by the refused updates.
    let client = stored(&h, &registered).await.unwrap();
    assert_eq!(client.redirect_uris, [REDIRECT]);
    assert_eq!(
        client.metadata.logo_uri.as_deref(),
        Some("https://client.example/logo.png")
    );
    // Other request shapes.
    let request = http::Request::put(str_of(&registered, "registration_client_uri"))
        .header(
            "authorization",
            format!(
                "Bearer {}",
                str_of(&registered, "registration_access_token")
            ),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"client_name=x".to_vec())
        .unwrap();
    let (status, body, _) = response_parts(&h.provider.handle(&request).await);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client_metadata");
}

#[tokio::test]
async fn dcrm_7_the_update_applies_at_once() {
    let h = Harness::open_registration();
    let registered = h.registered(&public()).await;
    let id = str_of(&registered, "client_id");
    let mut update = update_of(&registered, public());
    update["redirect_uris"] = json!(["https://client.example/new-cb"]);
    update["scope"] = json!("read");
    let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(str_of(&body, "scope"), "read");
    assert_eq!(
        expect_fatal(h.begin_with(id, &[]).await),
        Reason::RedirectUriMismatch
    );
    let pending = h
        .begin_with(
            id,
            &[
                ("redirect_uri", "https://client.example/new-cb"),
                ("scope", "read"),
            ],
        )
        .await;
    assert!(pending.is_ok());
}

#[tokio::test]
async fn dcrm_7_the_hook_reviews_updates_too() {
    let h = Harness::with_registration(RegistrationPolicy::open().hook(Arc::new(
        |registration: &ClientRegistration, context: &RegistrationContext<'_>| {
            match context.operation {
                oauth_core::RegistrationOperation::Update(current)
                    if registration.client_name != current.name =>
                {
                    RegistrationVerdict::Reject("rename-forbidden")
                }
                _ => RegistrationVerdict::Accept,
            }
        },
    )));
    let registered = h.registered(&confidential()).await;
    let mut update = update_of(&registered, confidential());
    update["client_name"] = json!("Renamed");
    let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationRefusedByPolicy.description()
    );
    let (status, _, _) = h
        .configure(
            Method::PUT,
            &registered,
            Some(&update_of(&registered, confidential())),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Initial access tokens of the narrowing scenario (test values, secrets nowhere).
const IAT_LOW: &str = "iat-low-0123456789abcdefghijklmnopqrstuvwxyz";
const IAT_HIGH: &str = "iat-high-0123456789abcdefghijklmnopqrstuvwxyz";

/// What the narrowing hook saw: whether it was an update, and the label.
type Seen = Arc<std::sync::Mutex<Vec<(bool, Option<String>)>>>;

/// Registration protected by two initial access tokens, `low` and `high`, with a hook that
/// narrows every `low` registration (and update) to `read` and the code grant, and tries
/// to forge the stored label while at it.
fn narrowing_harness() -> (Harness, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let hook = move |registration: &ClientRegistration, context: &RegistrationContext<'_>| {
        let update = matches!(
            context.operation,
            oauth_core::RegistrationOperation::Update(_)
        );
        log.lock()
            .unwrap()
            .push((update, context.initial_access_token.map(str::to_owned)));
        if context.initial_access_token != Some("low") {
            return RegistrationVerdict::Accept;
        }
        let mut narrowed = registration.clone();
        narrowed.scope = Some(oauth_core::Scope::parse("read").unwrap());
        narrowed.grant_types = vec![oauth_core::model::GrantType::AuthorizationCode];
        narrowed.metadata.initial_access_token_label = Some("forged".to_owned());
        RegistrationVerdict::Adjust(Box::new(narrowed))
    };
    let policy = RegistrationPolicy::initial_access_tokens([
        ("low", oauth_core::Secret::new(IAT_LOW.to_owned())),
        ("high", oauth_core::Secret::new(IAT_HIGH.to_owned())),
    ])
    .hook(Arc::new(hook));
    (Harness::with_registration(policy), seen)
}

async fn register_with_token(h: &Harness, token: &str, metadata: &Value) -> Value {
    let body = serde_json::to_vec(metadata).unwrap();
    let authorization = format!("Bearer {token}");
    let request = registration_request(
        &body,
        &[
            ("content-type", "application/json"),
            ("authorization", &authorization),
        ],
    );
    let (status, registered, _) = response_parts(&h.provider.handle(&request).await);
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    registered
}

#[tokio::test]
async fn dcrm_6_dcrm_7_a_registration_the_hook_narrowed_cannot_be_widened_by_update() {
    let (h, seen) = narrowing_harness();
    // Registered with the `low` token, asking for everything: narrowed to `read`.
    let registered = register_with_token(&h, IAT_LOW, &public()).await;
    assert_eq!(str_of(&registered, "scope"), "read");
    assert_eq!(registered["grant_types"], json!(["authorization_code"]));
    // The label is stored (the server's, not the hook's forgery) and never shown.
    let client = stored(&h, &registered).await.unwrap();
    assert_eq!(
        client.metadata.initial_access_token_label.as_deref(),
        Some("low")
    );
    let (_, read, _) = h.configure(Method::GET, &registered, None).await;
    let members = read.as_object().unwrap();
    assert!(
        members
            .iter()
            .all(|(name, value)| !name.contains("initial_access") && value != "low"),
        "{read}"
    );

    // PUT without `scope` keeps `read` (not every offered scope), and the hook sees the
    // update with the label the client registered with. A label in the body is ignored.
    let mut update = update_of(
        &registered,
        json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "client_name": "Renamed",
            "initial_access_token_label": "high",
        }),
    );
    let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(str_of(&body, "scope"), "read");
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&(true, Some("low".to_owned())))
    );
    let client = stored(&h, &registered).await.unwrap();
    assert_eq!(
        client.metadata.initial_access_token_label.as_deref(),
        Some("low")
    );

    // PUT asking for `admin` (or `read write`), or adding the refresh grant: 400, and the
    // hook is not even asked.
    let asked = seen.lock().unwrap().len();
    for (member, value) in [
        ("scope", json!("admin")),
        ("scope", json!("read write")),
        (
            "grant_types",
            json!(["authorization_code", "refresh_token"]),
        ),
    ] {
        update[member] = value.clone();
        let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{member}: {body}");
        assert_eq!(error_of(&body), "invalid_client_metadata");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationUpdateWidens.description()
        );
        update.as_object_mut().unwrap().remove(member);
    }
    assert_eq!(seen.lock().unwrap().len(), asked);
    let client = stored(&h, &registered).await.unwrap();
    assert_eq!(client.scope.unwrap().to_string(), "read");
    assert_eq!(
        client.grant_types,
        [oauth_core::model::GrantType::AuthorizationCode]
    );

    // The restriction holds where it matters.
    let id = str_of(&registered, "client_id");
    let (reason, _) = expect_redirect(h.begin_with(id, &[("scope", "write")]).await);
    assert_eq!(reason, Reason::ScopeNotAllowed);

    // A `high` client is not narrowed, and its updates carry its own label.
    let high = register_with_token(&h, IAT_HIGH, &public()).await;
    assert_eq!(str_of(&high, "scope"), "admin read write");
    let (status, _, _) = h
        .configure(Method::PUT, &high, Some(&update_of(&high, public())))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&(true, Some("high".to_owned())))
    );
}

#[tokio::test]
async fn dcrm_7_updates_may_narrow_but_never_widen() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    // Narrowing scope and grant types is an ordinary update.
    let mut update = update_of(&registered, confidential());
    update["scope"] = json!("read");
    update["grant_types"] = json!(["client_credentials"]);
    update.as_object_mut().unwrap().remove("redirect_uris");
    let (status, body, _) = h.configure(Method::PUT, &registered, Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(str_of(&body, "scope"), "read");
    assert_eq!(body["grant_types"], json!(["client_credentials"]));
    // Widening again is refused; the default grant type (`authorization_code`, when
    // `grant_types` is omitted) is a widening too.
    for (member, value) in [
        ("scope", json!("read write")),
        (
            "grant_types",
            json!(["client_credentials", "refresh_token"]),
        ),
    ] {
        let mut widened = update.clone();
        widened[member] = value.clone();
        let (status, body, _) = h.configure(Method::PUT, &registered, Some(&widened)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{member}: {body}");
        assert_eq!(
            body["error_description"],
            Reason::RegistrationUpdateWidens.description()
        );
    }
    let mut defaulted = update_of(&registered, confidential());
    defaulted.as_object_mut().unwrap().remove("grant_types");
    defaulted["scope"] = json!("read");
    let (status, body, _) = h
        .configure(Method::PUT, &registered, Some(&defaulted))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error_description"],
        Reason::RegistrationUpdateWidens.description()
    );
    // Without a hook, no label: open registration stores none.
    let client = stored(&h, &registered).await.unwrap();
    assert_eq!(client.metadata.initial_access_token_label, None);
    assert_eq!(client.scope.unwrap().to_string(), "read");
}

// ---- DCRM-8 ----

#[tokio::test]
async fn dcrm_8_delete_invalidates_the_client_its_credentials_and_its_tokens() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    let id = str_of(&registered, "client_id").to_owned();
    let secret = str_of(&registered, "client_secret").to_owned();
    let (status, cc, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cc}");
    let code = h.obtain_code(&id).await;
    let (status, tokens, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    let (status, body, headers) = h.configure(Method::DELETE, &registered, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    assert_eq!(headers["cache-control"], "no-store");

    // The id, the secret and the registration access token are dead ...
    assert!(stored(&h, &registered).await.is_none());
    assert_eq!(
        expect_fatal(h.begin_with(&id, &[]).await),
        Reason::UnknownClient
    );
    let (status, body, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, headers) = h.configure(Method::GET, &registered, None).await;
    assert_invalid_token(status, &headers);
    let (status, _, _) = h.configure(Method::DELETE, &registered, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // ... and so is everything issued to the client.
    for access in [str_of(&cc, "access_token"), str_of(&tokens, "access_token")] {
        assert!(h.bearer(access).await.is_err());
    }
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", str_of(&tokens, "refresh_token")),
            ],
            Some((&id, &secret)),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
    assert!(body.get("access_token").is_none());
}

// ---- DCRM-9 ----

#[tokio::test]
async fn dcrm_9_delete_can_be_turned_off_and_is_then_405() {
    let h = Harness::with_registration(RegistrationPolicy::open().allow_client_deletion(false));
    let registered = h.registered(&confidential()).await;
    let (status, body, headers) = h.configure(Method::DELETE, &registered, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(headers["allow"], "GET, PUT");
    assert!(stored(&h, &registered).await.is_some());
    let (status, _, _) = h.configure(Method::GET, &registered, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn other_methods_and_malformed_paths_are_refused() {
    let h = Harness::open_registration();
    let registered = h.registered(&confidential()).await;
    let uri = str_of(&registered, "registration_client_uri");
    let token = str_of(&registered, "registration_access_token");
    for method in [Method::POST, Method::PATCH] {
        let (status, _, headers) = request(&h, method, uri, Some(token), None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers["allow"], "GET, PUT, DELETE");
    }
    for path in [
        format!("{REGISTER}/"),
        format!("{uri}/extra"),
        format!("{REGISTER}/%FF"),
    ] {
        let (status, _, _) = request(&h, Method::GET, &path, Some(token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // `/registerX` is not under the registration path.
    let (status, _, _) = request(
        &h,
        Method::GET,
        "https://as.example/registerX",
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---- store failures ----

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

#[tokio::test]
async fn store_failures_are_503_and_change_nothing() {
    let provider = instrumented();
    let body = serde_json::to_vec(&confidential()).unwrap();
    let response = provider
        .handle(&registration_request(
            &body,
            &[("content-type", "application/json")],
        ))
        .await;
    let (status, registered, _) = response_parts(&response);
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let uri = str_of(&registered, "registration_client_uri");
    let token = str_of(&registered, "registration_access_token");
    let mut update = update_of(&registered, confidential());
    update["client_name"] = json!("Renamed");

    for (op, method, body) in [
        (Op::Client, Method::GET, None),
        (Op::ReplaceClient, Method::PUT, Some(&update)),
        (Op::DeleteClient, Method::DELETE, None),
    ] {
        provider.store().fail(op);
        let response = provider
            .handle(&configuration_request(
                method.clone(),
                uri,
                Some(token),
                body,
            ))
            .await;
        let (status, error, _) = response_parts(&response);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{method}: {error}");
        assert_eq!(error_of(&error), "temporarily_unavailable");
        provider.store().heal();
    }
    let client = provider
        .store()
        .client(&ClientId::new(str_of(&registered, "client_id")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.name.as_deref(), Some("Managed client"));
}

#[tokio::test]
async fn an_update_racing_a_deletion_never_resurrects_the_client() {
    use oauth_core::registration::ConfigurationStep;
    let h = Harness::open_registration();
    let body = h
        .registered(&json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
        .await;
    let uri = str_of(&body, "registration_client_uri").to_owned();
    let token = str_of(&body, "registration_access_token").to_owned();
    let client_id = oauth_core::model::ClientId::new(str_of(&body, "client_id"));
    let update = json!({
        "client_id": client_id.as_str(),
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "client_name": "Renamed"
    });
    let request = configuration_request(Method::PUT, &uri, Some(&token), Some(&update));
    let machine = h.provider.machine();
    let store = h.provider.store();
    // The update is validated against the client as it was...
    let mut step = machine.client_configuration_request(&request, h.now());
    while !matches!(step, ConfigurationStep::NeedsUpdate(_)) {
        step = match step.answer_from(store).await {
            std::ops::ControlFlow::Continue(next) => next,
            std::ops::ControlFlow::Break(response) => {
                panic!("finished early: {}", response.status())
            }
        };
    }
    // ...then the client is deleted before the update is written.
    store.delete_client(&client_id).await.unwrap();
    let response = loop {
        step = match step.answer_from(store).await {
            std::ops::ControlFlow::Continue(next) => next,
            std::ops::ControlFlow::Break(response) => break response,
        };
    };
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        store.client(&client_id).await.unwrap(),
        None,
        "the deleted client stays deleted"
    );
}
