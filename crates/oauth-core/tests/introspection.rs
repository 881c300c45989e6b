//! RFC 7662 §2 (token introspection): only authenticated confidential clients may ask, at
//! `/introspect`; a token is active only for its own client and for the resource servers
//! of its audience; anything else is exactly `{"active":false}`; a store failure is 503.

mod common;

use std::collections::BTreeSet;

use common::*;
use http::{Request, StatusCode};
use oauth_core::model::{AuthMethod, GrantType, UserId};
use oauth_core::{
    Approval, ConfigError, Decision, Issuer, Keyring, NewClient, Provider, ProviderBuilder,
};
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::instrumented::Op;
use serde_json::Value;

const OTHER_RESOURCE: &str = "https://files.example/api";
const RS: (&str, &str) = ("rs-mcp", "rs-mcp-secret");
const RS_OTHER: (&str, &str) = ("rs-files", "rs-files-secret");
const INACTIVE: &[u8] = br#"{"active":false}"#;

fn access(body: &Value) -> &str {
    str_of(body, "access_token")
}

fn refresh(body: &Value) -> &str {
    str_of(body, "refresh_token")
}

fn keys_of(body: &Value) -> BTreeSet<&str> {
    body.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// A harness serving `RESOURCE` and `OTHER_RESOURCE`, with the resource server `RS`
/// declared for `RESOURCE` and `RS_OTHER` for `OTHER_RESOURCE` (both confidential,
/// client_secret_basic, no grants).
async fn with_resource_servers(
    configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
) -> (Harness, Keyring) {
    let (h, keys) = Harness::with_keys(|b| {
        configure(
            b.resource(OTHER_RESOURCE)
                .introspection_resource(RS.0, RESOURCE)
                .introspection_resource(RS_OTHER.0, OTHER_RESOURCE),
        )
    });
    for (id, secret) in [RS, RS_OTHER] {
        h.import_client(
            &keys,
            id,
            Some(secret),
            AuthMethod::ClientSecretBasic,
            vec![],
        )
        .await;
    }
    (h, keys)
}

/// The body of an introspection answer, with the status and `no-store` checked.
async fn introspect(h: &Harness, who: (&str, &str), token: &str) -> Value {
    let (status, body, headers) = h.introspect_basic(who.0, who.1, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "application/json");
    body
}

/// Asserts that `who` gets exactly `{"active":false}` for `token`.
async fn assert_inactive(h: &Harness, who: (&str, &str), token: &str) {
    let response = h.introspect_response(&[("token", token)], Some(who)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.body().as_ref(),
        INACTIVE,
        "{}",
        String::from_utf8_lossy(response.body())
    );
}

// ---- INT-1: the request ----

#[tokio::test]
async fn int_1_token_is_required_and_appears_once() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let who = Some((client.id.as_str(), secret.expose()));
    for pairs in [
        vec![],
        vec![("token", "")],
        vec![("token", access(&body)), ("token", access(&body))],
        vec![
            ("token", access(&body)),
            ("token_type_hint", "access_token"),
            ("token_type_hint", "refresh_token"),
        ],
    ] {
        let (status, error, headers) = response_parts(&h.introspect_response(&pairs, who).await);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{pairs:?}");
        assert_eq!(error_of(&error), "invalid_request", "{pairs:?}");
        assert_eq!(headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn int_1_only_a_form_post_is_accepted() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let query = form(&[("token", access(&body))]);
    let get = Request::get(format!("{ISSUER}/introspect?{query}"))
        .header(
            "authorization",
            basic_header(client.id.as_str(), secret.expose()),
        )
        .body(Vec::new())
        .unwrap();
    let response = h.provider.handle(&get).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let json = Request::post(format!("{ISSUER}/introspect"))
        .header(
            "authorization",
            basic_header(client.id.as_str(), secret.expose()),
        )
        .header("content-type", "application/json")
        .body(format!(r#"{{"token":"{}"}}"#, access(&body)).into_bytes())
        .unwrap();
    let (status, error, _) = response_parts(&h.provider.handle(&json).await);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&error), "invalid_request");
}

#[tokio::test]
async fn int_1_a_wrong_or_unknown_token_type_hint_still_finds_the_token() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let who = Some((client.id.as_str(), secret.expose()));
    for (token, hint) in [
        (access(&body), "refresh_token"),
        (refresh(&body), "access_token"),
        (access(&body), "foo"),
        (refresh(&body), "foo"),
    ] {
        let (status, answer, _) = response_parts(
            &h.introspect_response(&[("token", token), ("token_type_hint", hint)], who)
                .await,
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["active"], true, "{hint}: {answer}");
    }
}

// ---- INT-2 / INT-7: authenticated callers only ----

#[tokio::test]
async fn int_2_a_caller_without_client_authentication_is_refused() {
    let h = Harness::new();
    let (_client, _secret, body) = h.confidential_tokens().await;
    // No credentials at all: invalid_client. 400, as at the token endpoint: a 401 needs
    // a challenge, and a body credential has no scheme to challenge with.
    let (status, error, headers) = response_parts(
        &h.introspect_response(&[("token", access(&body))], None)
            .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&error), "invalid_client");
    assert!(headers.get("www-authenticate").is_none());
    assert!(error.get("active").is_none(), "{error}");
}

#[tokio::test]
async fn int_2_a_public_client_is_refused_as_unauthenticated() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    // Even for its own token: a client id alone authenticates nobody.
    let (status, error, headers) = response_parts(
        &h.introspect_response(
            &[("token", access(&body)), ("client_id", client.id.as_str())],
            None,
        )
        .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&error), "invalid_client");
    assert!(headers.get("www-authenticate").is_none());
    assert!(error.get("active").is_none(), "{error}");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn int_7_failed_basic_authentication_is_401_with_a_basic_challenge() {
    let h = Harness::new();
    let (client, _secret, body) = h.confidential_tokens().await;
    for who in [(client.id.as_str(), "wrong"), ("no-such-client", "x")] {
        let (status, error, headers) = response_parts(
            &h.introspect_response(&[("token", access(&body))], Some(who))
                .await,
        );
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{who:?}");
        assert_eq!(error_of(&error), "invalid_client");
        assert_eq!(
            headers["www-authenticate"],
            "Basic realm=\"https://as.example\""
        );
        assert_eq!(headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn int_7_a_bearer_token_is_not_introspection_authorization() {
    // This server authorizes introspection by client authentication only; a bearer
    // access token in the Authorization header is not a client credential.
    let h = Harness::new();
    let (_client, _secret, body) = h.confidential_tokens().await;
    let mut request = client_form_request("/introspect", &[("token", access(&body))], None);
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", access(&body)).parse().unwrap(),
    );
    let (status, error, headers) = response_parts(&h.provider.handle(&request).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&error), "invalid_client");
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
}

// ---- INT-3: the active answer ----

#[tokio::test]
async fn int_3_an_access_token_introspected_by_its_own_client() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let answer = introspect(&h, (client.id.as_str(), secret.expose()), access(&body)).await;
    assert_eq!(
        keys_of(&answer),
        BTreeSet::from([
            "active",
            "scope",
            "client_id",
            "sub",
            "exp",
            "iat",
            "aud",
            "iss",
            "token_type"
        ]),
        "{answer}"
    );
    assert_eq!(answer["active"], true);
    assert_eq!(answer["scope"], "read");
    assert_eq!(answer["client_id"], client.id.as_str());
    assert_eq!(answer["sub"], "alice");
    let now = h.now().0;
    assert_eq!(answer["iat"], now);
    assert_eq!(
        answer["exp"],
        now + h.provider.config().lifetimes().access_token
    );
    assert_eq!(answer["aud"], RESOURCE);
    assert_eq!(answer["iss"], ISSUER);
    assert_eq!(answer["token_type"], "Bearer");
}

#[tokio::test]
async fn int_3_a_client_credentials_token_has_no_sub() {
    let h = Harness::new();
    let (client, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read write"),
            ],
            Some((client.id.as_str(), secret.expose())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer = introspect(&h, (client.id.as_str(), secret.expose()), access(&body)).await;
    assert_eq!(answer["active"], true);
    assert!(answer.get("sub").is_none(), "{answer}");
    assert_eq!(answer["client_id"], client.id.as_str());
    assert_eq!(answer["scope"], "read write");
    assert_eq!(answer["token_type"], "Bearer");
}

#[tokio::test]
async fn int_3_a_refresh_token_introspected_by_its_own_client() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let answer = introspect(&h, (client.id.as_str(), secret.expose()), refresh(&body)).await;
    assert_eq!(
        keys_of(&answer),
        BTreeSet::from(["active", "scope", "client_id", "exp", "iat", "iss"]),
        "{answer}"
    );
    assert_eq!(answer["client_id"], client.id.as_str());
    assert_eq!(answer["scope"], "read");
    assert_eq!(
        answer["exp"],
        h.now().0 + h.provider.config().lifetimes().refresh_token
    );
}

#[tokio::test]
async fn int_3_several_audiences_are_an_array() {
    let (h, _keys) = with_resource_servers(|b| b).await;
    let client = h
        .register(NewClient::confidential(
            vec![REDIRECT.to_owned()],
            vec![GrantType::ClientCredentials],
        ))
        .await;
    let secret = client.1.unwrap();
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("resource", RESOURCE),
                ("resource", OTHER_RESOURCE),
            ],
            Some((client.0.id.as_str(), secret.expose())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer = introspect(&h, (client.0.id.as_str(), secret.expose()), access(&body)).await;
    let mut aud: Vec<&str> = answer["aud"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    aud.sort_unstable();
    assert_eq!(aud, vec![RESOURCE, OTHER_RESOURCE]);
}

// ---- INT-4 / INT-5 / INT-6: inactive, and nothing else ----

#[tokio::test]
async fn int_4_unknown_and_malformed_values_are_inactive() {
    let h = Harness::new();
    let (client, secret, _body) = h.confidential_tokens().await;
    let code = h.obtain_code(client.id.as_str()).await;
    for value in [
        "a random string",
        "oa2at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "oa2rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "oa2at_short",
        code.as_str(),
    ] {
        assert_inactive(&h, (client.id.as_str(), secret.expose()), value).await;
    }
}

#[tokio::test]
async fn int_4_expired_tokens_are_inactive() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let who = (client.id.as_str(), secret.expose());
    h.advance(h.provider.config().lifetimes().access_token);
    assert_inactive(&h, who, access(&body)).await;
    // The refresh token outlives it, until its own expiry.
    assert_eq!(introspect(&h, who, refresh(&body)).await["active"], true);
    h.advance(h.provider.config().lifetimes().refresh_token);
    assert_inactive(&h, who, refresh(&body)).await;
}

#[tokio::test]
async fn int_4_revoked_and_rotated_tokens_are_inactive() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let id = client.id.as_str();
    let who = (id, secret.expose());
    let (status, rotated, _) = h
        .refresh_basic(id, secret.expose(), refresh(&body), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    // The retired refresh token.
    assert_inactive(&h, who, refresh(&body)).await;
    // A revoked access token (the first one), while its sibling is still active.
    assert_eq!(
        h.revoke_basic(id, secret.expose(), access(&body)).await,
        StatusCode::OK
    );
    assert_inactive(&h, who, access(&body)).await;
    assert_eq!(introspect(&h, who, access(&rotated)).await["active"], true);
}

#[tokio::test]
async fn int_4_another_clients_token_is_inactive_exactly_like_an_unknown_one() {
    let h = Harness::new();
    let (_owner, _owner_secret, body) = h.confidential_tokens().await;
    let (other, other_secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let who = (other.id.as_str(), other_secret.expose());
    assert_inactive(&h, who, access(&body)).await;
    assert_inactive(&h, who, refresh(&body)).await;
}

#[tokio::test]
async fn int_5_the_inactive_answer_is_exactly_active_false() {
    let h = Harness::new();
    let (client, secret, _body) = h.confidential_tokens().await;
    let response = h
        .introspect_response(
            &[("token", "oa2at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")],
            Some((client.id.as_str(), secret.expose())),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), INACTIVE);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn int_6_a_revoked_grant_makes_its_tokens_inactive() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let who = (client.id.as_str(), secret.expose());
    let grant = h.bearer(access(&body)).await.unwrap().grant_id;
    h.provider.revoke_grant(&grant).await.unwrap();
    assert_inactive(&h, who, access(&body)).await;
    assert_inactive(&h, who, refresh(&body)).await;
}

#[tokio::test]
async fn int_6_revoking_the_refresh_token_makes_the_grants_access_token_inactive() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let who = (client.id.as_str(), secret.expose());
    assert_eq!(
        h.revoke_basic(who.0, who.1, refresh(&body)).await,
        StatusCode::OK
    );
    assert_inactive(&h, who, access(&body)).await;
}

// ---- INT-8: no-store everywhere ----

#[tokio::test]
async fn int_8_every_answer_is_no_store() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let who = Some((client.id.as_str(), secret.expose()));
    let responses = [
        h.introspect_response(&[("token", access(&body))], who)
            .await,
        h.introspect_response(&[("token", "unknown")], who).await,
        h.introspect_response(&[], who).await,
        h.introspect_response(&[("token", access(&body))], Some((client.id.as_str(), "x")))
            .await,
    ];
    for response in &responses {
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
    }
}

// ---- INT-10: resource servers see the tokens of their audience ----

#[tokio::test]
async fn int_10_a_resource_server_introspects_the_access_tokens_of_its_audience_only() {
    let (h, _keys) = with_resource_servers(|b| b).await;
    let (client, body) = h.public_tokens_for(&[RESOURCE]).await;
    let answer = introspect(&h, RS, access(&body)).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], client.id.as_str());
    assert_eq!(answer["sub"], "alice");
    assert_eq!(answer["aud"], RESOURCE);
    // The resource server of another audience learns nothing.
    assert_inactive(&h, RS_OTHER, access(&body)).await;
    // Nor does a resource server see the refresh token, which is never sent to it.
    assert_inactive(&h, RS, refresh(&body)).await;
}

#[tokio::test]
async fn int_10_a_confidential_client_not_declared_a_resource_server_sees_only_its_own_tokens() {
    let (h, _keys) = with_resource_servers(|b| b).await;
    let (_client, body) = h.public_tokens_for(&[RESOURCE]).await;
    let (bystander, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    assert_inactive(&h, (bystander.id.as_str(), secret.expose()), access(&body)).await;
}

#[tokio::test]
async fn int_10_a_token_for_both_audiences_is_active_for_both_resource_servers() {
    let (h, _keys) = with_resource_servers(|b| b).await;
    let (_client, body) = h.public_tokens_for(&[RESOURCE, OTHER_RESOURCE]).await;
    for rs in [RS, RS_OTHER] {
        assert_eq!(introspect(&h, rs, access(&body)).await["active"], true);
    }
}

#[test]
fn int_10_a_resource_server_must_be_declared_for_a_configured_resource() {
    for (client_id, resource) in [("rs", "https://unknown.example"), ("rs", "not a uri")] {
        let built = Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .resource(RESOURCE)
            .introspection_resource(client_id, resource)
            .store(MemoryStore::new())
            .build();
        assert_eq!(
            built.unwrap_err(),
            ConfigError::InvalidResource,
            "{client_id} {resource}"
        );
    }
    // The same resource spelled differently is the same audience (RFC 8707 mapping).
    assert!(Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .resource(RESOURCE)
        .introspection_resource("rs", "HTTPS://API.EXAMPLE/mcp")
        .store(MemoryStore::new())
        .build()
        .is_ok());
}

// ---- Store failures, routing ----

#[tokio::test]
async fn a_store_failure_is_503_never_an_answer_about_the_token() {
    for (op, kind) in [
        (Op::Client, "access"),
        (Op::AccessToken, "access"),
        (Op::FindRefresh, "refresh"),
    ] {
        let p = instrumented_provider(|b| b);
        let registered = p
            .register_client(NewClient::confidential(
                vec![REDIRECT.to_owned()],
                vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ))
            .await
            .unwrap();
        let id = registered.client.id.to_string();
        let secret = registered.secret.unwrap();
        let pairs = Harness::code_request_pairs(&id);
        let pending = p
            .begin_authorization(&Harness::authorize_request(&borrow_pairs(&pairs)))
            .await
            .unwrap();
        let redirect = p
            .complete_authorization(
                pending,
                Decision::Approve(Approval::new(UserId::new("alice"))),
            )
            .await
            .unwrap();
        let code = location_params(&redirect)["code"].clone();
        let tokens = p
            .token(&token_request(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
                Some((&id, secret.expose())),
            ))
            .await;
        let body: Value = serde_json::from_slice(tokens.body()).unwrap();
        let token = if kind == "refresh" {
            refresh(&body)
        } else {
            access(&body)
        };
        let request = client_form_request(
            "/introspect",
            &[("token", token)],
            Some((&id, secret.expose())),
        );
        p.store().fail(op);
        let (status, error, headers) = response_parts(&p.handle(&request).await);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{op:?}");
        assert_eq!(error_of(&error), "temporarily_unavailable");
        assert!(error.get("active").is_none());
        assert_eq!(headers["cache-control"], "no-store");
        p.store().heal();
        let (status, answer, _) = response_parts(&p.handle(&request).await);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["active"], true, "{op:?}");
    }
}

#[tokio::test]
async fn the_configured_introspection_path_is_routed() {
    let h = Harness::with(|b| {
        b.endpoints(oauth_core::Endpoints {
            introspection: "/oauth/introspect".to_owned(),
            ..oauth_core::Endpoints::default()
        })
    });
    let (client, secret, body) = h.confidential_tokens().await;
    let who = Some((client.id.as_str(), secret.expose()));
    let pairs = [("token", access(&body))];
    assert_eq!(
        h.introspect_response(&pairs, who).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, answer, _) = response_parts(
        &h.provider
            .handle(&client_form_request("/oauth/introspect", &pairs, who))
            .await,
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["active"], true);
}

#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl oauth_core::EventSink for Recorder {
    fn record(&self, event: &oauth_core::SecurityEvent<'_>) {
        if let oauth_core::SecurityEvent::ClientAuthenticationFailed { client_id, reason } = event {
            self.0
                .lock()
                .unwrap()
                .push(format!("auth_failed {client_id} {reason:?}"));
        }
    }
}

#[tokio::test]
async fn refused_introspection_callers_reach_the_event_sink_for_throttling() {
    let recorder = std::sync::Arc::new(Recorder::default());
    let sink = recorder.clone();
    let h = Harness::with(move |b| b.events(sink));
    let (public, body) = h.public_tokens().await;
    let (confidential, _secret, _) = h.confidential_tokens().await;
    let token = access(&body);
    h.introspect_response(&[("token", token), ("client_id", public.id.as_str())], None)
        .await;
    h.introspect_response(
        &[("token", token)],
        Some((confidential.id.as_str(), "wrong")),
    )
    .await;
    assert_eq!(
        *recorder.0.lock().unwrap(),
        vec![
            format!("auth_failed {} PublicClientIntrospection", public.id),
            format!("auth_failed {} ClientSecretMismatch", confidential.id),
        ]
    );
}
