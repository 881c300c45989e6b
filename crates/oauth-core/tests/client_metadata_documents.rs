//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document; MCP
//! 2025-11-25 "Client ID Metadata Documents"): a `client_id` that is an https URL is
//! resolved through its document, fetched by the provider's `ClientMetadataFetcher`.
//! Here a stub fetcher serves documents from a map; the real fetcher (transport, SSRF
//! guard, cache) is tested in `oauth-client-metadata-fetch`.

mod common;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::StatusCode;
use oauth_core::client_metadata_document::{ClientIdUrl, ClientMetadataFetcher, FetchError};
use oauth_core::model::AuthMethod;
use oauth_core::{
    AuthorizationError, ConfigError, EventSink, Issuer, NewClient, Provider, Reason, SecurityEvent,
    StoreAndFetcher,
};
use oauth_store_memory::MemoryStore;
use serde_json::{json, Value};

use common::*;

/// The client's id: the URL of its document.
const CLIENT: &str = "https://app.example/oauth/client.json";

/// What the stub answers for a URL.
#[derive(Clone)]
enum Answer {
    Document(String),
    Status(u16),
    Redirect(u16),
    Timeout,
    /// The fetcher has too many fetches in flight.
    Busy,
    /// The connection was refused.
    Unreachable,
    /// The resolver failed for now (not "no such name").
    DnsFailure,
    /// The name does not exist.
    NoSuchHost,
}

/// A fetcher serving documents from a map, counting fetches and recording the size bound
/// it was given.
#[derive(Default)]
struct StubFetcher {
    answers: Mutex<HashMap<String, Answer>>,
    fetches: AtomicUsize,
    max_bytes: Mutex<Vec<usize>>,
}

impl StubFetcher {
    fn serve(&self, url: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(url.to_owned(), answer);
    }

    fn serve_json(&self, url: &str, document: &Value) {
        self.serve(url, Answer::Document(document.to_string()));
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl ClientMetadataFetcher for StubFetcher {
    async fn fetch(&self, url: &ClientIdUrl, max_bytes: usize) -> Result<Bytes, FetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.max_bytes.lock().unwrap().push(max_bytes);
        let answer = self.answers.lock().unwrap().get(url.as_str()).cloned();
        match answer {
            Some(Answer::Document(body)) if body.len() > max_bytes => {
                Err(FetchError::TooLarge(max_bytes))
            }
            Some(Answer::Document(body)) => Ok(Bytes::from(body)),
            Some(Answer::Status(status)) => Err(FetchError::Status(status)),
            Some(Answer::Redirect(status)) => Err(FetchError::Redirect(status)),
            Some(Answer::Timeout) => Err(FetchError::Timeout),
            Some(Answer::Busy) => Err(FetchError::Busy),
            Some(Answer::Unreachable) => Err(FetchError::Connection(Box::new(
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            ))),
            Some(Answer::DnsFailure) => Err(FetchError::Resolve(std::io::Error::other(
                "temporary failure in name resolution",
            ))),
            Some(Answer::NoSuchHost) => Err(FetchError::Resolve(std::io::Error::from(
                std::io::ErrorKind::NotFound,
            ))),
            None => Err(FetchError::Status(404)),
        }
    }
}

/// A valid document for `url`: a public client for the code and refresh grants with the
/// harness's usual redirect URI.
fn document(url: &str) -> Value {
    json!({
        "client_id": url,
        "client_name": "Example MCP client",
        "client_uri": "https://app.example",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none"
    })
}

/// `document(url)` with `changes` merged in (a `null` removes the member).
fn document_with(url: &str, changes: &Value) -> Value {
    let mut document = document(url);
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            document.as_object_mut().unwrap().remove(name);
        } else {
            document[name] = value.clone();
        }
    }
    document
}

/// A harness with client ID metadata documents on, served by a stub that knows `CLIENT`.
fn harness() -> (Harness, Arc<StubFetcher>) {
    let fetcher = Arc::new(StubFetcher::default());
    fetcher.serve_json(CLIENT, &document(CLIENT));
    let h = Harness::with({
        let fetcher = fetcher.clone();
        move |b| {
            b.client_id_metadata_documents(true)
                .client_metadata_fetcher(fetcher)
        }
    });
    (h, fetcher)
}

/// The reason an authorization request for `client_id` (the usual PKCE request) fails
/// with, after checking that it is an error page and not a redirect.
async fn refused(h: &Harness, client_id: &str) -> Reason {
    expect_fatal(h.begin_with(client_id, &[]).await)
}

/// A token request for the refresh grant as the public client `client_id`, where no
/// code or token is needed to see how the client is treated.
async fn token_as(h: &Harness, client_id: &str) -> (StatusCode, Value) {
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", client_id),
            ],
            None,
        )
        .await;
    (status, body)
}

#[tokio::test]
async fn cimd_full_authorization_code_flow_with_pkce_refresh_and_revocation() {
    let (h, fetcher) = harness();
    let pending = h.begin_with(CLIENT, &[]).await.unwrap();
    assert_eq!(pending.client_id().as_str(), CLIENT);
    assert_eq!(pending.client_name(), Some("Example MCP client"));
    assert!(pending.is_client_id_metadata_document());

    let response = h.approve(pending, "alice").await;
    let params = location_params(&response);
    assert_eq!(params["iss"], ISSUER);
    let code = params["code"].clone();

    let (status, body, headers) = h.redeem_public(CLIENT, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    assert_eq!(access.client_id.as_str(), CLIENT);
    assert_eq!(access.user_id.unwrap().as_str(), "alice");

    // Refresh: rotated, as for any public client (MCP: the AS rotates refresh tokens of
    // public clients).
    let refresh = str_of(&body, "refresh_token").to_owned();
    let (status, refreshed, _) = h.refresh(CLIENT, &refresh, &[]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let new_refresh = str_of(&refreshed, "refresh_token").to_owned();
    assert_ne!(new_refresh, refresh);
    assert!(h.bearer(str_of(&refreshed, "access_token")).await.is_ok());

    // Revocation by the same client (RFC 7009): the grant ends.
    assert_eq!(h.revoke_public(CLIENT, &new_refresh).await, StatusCode::OK);
    assert!(h.bearer(str_of(&refreshed, "access_token")).await.is_err());
    let (status, body, _) = h.refresh(CLIENT, &new_refresh, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");

    // Every request that names the client asked for its document: authorization, code
    // redemption, refresh, revocation, refresh. The stub never caches.
    assert_eq!(fetcher.fetches(), 5);
    // The client was never stored.
    use oauth_core::Store as _;
    let stored = h
        .provider
        .store()
        .client(&oauth_core::model::ClientId::new(CLIENT))
        .await
        .unwrap();
    assert!(stored.is_none());
}

#[tokio::test]
async fn cimd_the_document_client_is_public_and_authenticates_with_its_id_alone() {
    let (h, _) = harness();
    let code = h.obtain_code(CLIENT).await;
    // A secret from a client that cannot have one is refused (OAuth 2.1 §2.4).
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", CLIENT),
                ("client_secret", "guess"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
    // The code is intact: the genuine redemption works.
    let (status, body, _) = h.redeem_public(CLIENT, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn cimd_a_pending_authorization_resumed_from_its_ticket_refetches_the_document() {
    let (h, fetcher) = harness();
    let pending = h.begin_with(CLIENT, &[]).await.unwrap();
    let binding = [7u8; 32];
    let ticket = h.provider.seal_ticket(&pending, &binding).unwrap();
    let resumed = h
        .provider
        .resume_authorization(&ticket, &binding)
        .await
        .unwrap();
    assert_eq!(resumed.client_id().as_str(), CLIENT);
    assert_eq!(fetcher.fetches(), 2);

    // The document no longer lists the redirect URI: the ticket is refused, never sent
    // to the URI the client withdrew.
    fetcher.serve_json(
        CLIENT,
        &document_with(
            CLIENT,
            &json!({"redirect_uris": ["https://client.example/other"]}),
        ),
    );
    let result = h.provider.resume_authorization(&ticket, &binding).await;
    assert_eq!(expect_fatal(result), Reason::RedirectUriMismatch);
}

#[tokio::test]
async fn cimd_1_invalid_client_identifier_urls_are_refused_before_any_fetch() {
    let (h, fetcher) = harness();
    for bad in [
        "https://app.example",
        "https://u:p@app.example/c.json",
        "https://app.example/x/../c.json",
        "https://app.example/./c.json",
        "https://app.example/c.json#f",
        "HTTPS://app.example/c.json",
        "https://app.example/c json",
    ] {
        assert_eq!(refused(&h, bad).await, Reason::ClientIdUrlInvalid, "{bad}");
        let (status, body) = token_as(&h, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_of(&body), "invalid_client", "{bad}");
    }
    assert_eq!(fetcher.fetches(), 0);

    // A port and a query are allowed (a query is only discouraged).
    for good in [
        "https://app.example:8443/client.json",
        "https://app.example/client.json?v=2",
    ] {
        fetcher.serve_json(good, &document(good));
        assert!(h.begin_with(good, &[]).await.is_ok(), "{good}");
    }
}

#[tokio::test]
async fn cimd_2_only_a_200_counts_and_a_redirect_is_a_failure() {
    let (h, fetcher) = harness();
    for answer in [
        Answer::Redirect(302),
        Answer::Redirect(301),
        Answer::Status(404),
        Answer::Status(500),
    ] {
        fetcher.serve(CLIENT, answer);
        let before = fetcher.fetches();
        assert_eq!(refused(&h, CLIENT).await, Reason::ClientMetadataFetchFailed);
        // One fetch, never a second one to follow anything.
        assert_eq!(fetcher.fetches(), before + 1);
    }
    // An unknown URL (404 from the stub) is refused at the token endpoint too.
    let (status, body) = token_as(&h, "https://unknown.example/c.json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
}

#[tokio::test]
async fn cimd_3_the_documents_client_id_must_equal_the_url_exactly() {
    let (h, fetcher) = harness();
    for other in [
        "https://app.example/oauth/client.json/",
        "https://app.example:443/oauth/client.json",
        "https://APP.example/oauth/client.json",
        "https://evil.example/oauth/client.json",
    ] {
        fetcher.serve_json(CLIENT, &document(other));
        assert_eq!(
            refused(&h, CLIENT).await,
            Reason::ClientMetadataClientIdMismatch,
            "{other}"
        );
    }
    fetcher.serve_json(CLIENT, &document_with(CLIENT, &json!({"client_id": 7})));
    assert_eq!(
        refused(&h, CLIENT).await,
        Reason::ClientMetadataClientIdMismatch
    );
    // The token endpoint refuses it likewise.
    fetcher.serve_json(CLIENT, &document("https://app.example/oauth/client.json/"));
    let (status, body) = token_as(&h, CLIENT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
}

#[tokio::test]
async fn cimd_4_a_valid_json_object_with_client_id_client_name_and_redirect_uris() {
    let (h, fetcher) = harness();
    for missing in ["client_id", "client_name", "redirect_uris"] {
        fetcher.serve_json(CLIENT, &document_with(CLIENT, &json!({ missing: null })));
        assert_eq!(
            refused(&h, CLIENT).await,
            Reason::ClientMetadataMissingMember,
            "{missing}"
        );
    }
    fetcher.serve_json(
        CLIENT,
        &document_with(CLIENT, &json!({"redirect_uris": []})),
    );
    assert_eq!(
        refused(&h, CLIENT).await,
        Reason::ClientMetadataMissingMember
    );
    for body in [
        "not json",
        "[]",
        "\"https://app.example/oauth/client.json\"",
        "{\"client_id\":",
    ] {
        fetcher.serve(CLIENT, Answer::Document(body.to_owned()));
        assert_eq!(
            refused(&h, CLIENT).await,
            Reason::ClientMetadataMalformed,
            "{body}"
        );
    }
    // A repeated member would let two readers see two documents.
    let repeated = format!(
        r#"{{"client_id":"{CLIENT}","client_name":"A","client_name":"B","redirect_uris":["{REDIRECT}"]}}"#
    );
    fetcher.serve(CLIENT, Answer::Document(repeated));
    assert_eq!(refused(&h, CLIENT).await, Reason::ClientMetadataMalformed);
}

#[tokio::test]
async fn cimd_5_the_redirect_uri_must_match_one_of_the_documents_exactly() {
    let (h, fetcher) = harness();
    for wrong in [
        "https://client.example/cb/",
        "https://client.example/CB",
        "https://client.example/cb?x=1",
        "https://evil.example/cb",
    ] {
        let result = h.begin_with(CLIENT, &[("redirect_uri", wrong)]).await;
        assert_eq!(expect_fatal(result), Reason::RedirectUriMismatch, "{wrong}");
    }
    // Redirect URIs that break the registration rules make the document invalid.
    fetcher.serve_json(
        CLIENT,
        &document_with(
            CLIENT,
            &json!({"redirect_uris": ["http://client.example/cb"]}),
        ),
    );
    assert_eq!(
        refused(&h, CLIENT).await,
        Reason::ClientMetadataInvalidRedirectUri
    );
    // The loopback rule applies (O21-29): the port of a loopback IP literal may vary.
    fetcher.serve_json(
        CLIENT,
        &document_with(
            CLIENT,
            &json!({"redirect_uris": ["http://127.0.0.1/callback"]}),
        ),
    );
    let pending = h
        .begin_with(
            CLIENT,
            &[("redirect_uri", "http://127.0.0.1:49152/callback")],
        )
        .await
        .unwrap();
    assert_eq!(pending.redirect_uri(), "http://127.0.0.1:49152/callback");
}

#[tokio::test]
async fn cimd_6_documents_with_shared_secrets_are_refused() {
    let (h, fetcher) = harness();
    for change in [
        json!({"token_endpoint_auth_method": "client_secret_basic"}),
        json!({"token_endpoint_auth_method": "client_secret_post"}),
        json!({"token_endpoint_auth_method": "client_secret_jwt"}),
        json!({"client_secret": "s3cret"}),
        json!({"client_secret_expires_at": 0}),
        json!({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
    ] {
        fetcher.serve_json(CLIENT, &document_with(CLIENT, &change));
        assert_eq!(
            refused(&h, CLIENT).await,
            Reason::ClientMetadataSecret,
            "{change}"
        );
        let (status, body) = token_as(&h, CLIENT).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{change}");
        assert_eq!(error_of(&body), "invalid_client", "{change}");
    }
    // Without a method the client is public (`none`): no secret can exist.
    fetcher.serve_json(
        CLIENT,
        &document_with(CLIENT, &json!({"token_endpoint_auth_method": null})),
    );
    assert!(h.begin_with(CLIENT, &[]).await.is_ok());
}

#[tokio::test]
async fn cimd_7_a_private_key_jwt_client_is_refused_since_it_cannot_authenticate_here() {
    let (h, fetcher) = harness();
    fetcher.serve_json(
        CLIENT,
        &document_with(
            CLIENT,
            &json!({
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": "https://app.example/jwks.json"
            }),
        ),
    );
    assert_eq!(
        refused(&h, CLIENT).await,
        Reason::ClientMetadataUnsupportedAuthMethod
    );
    // A token request without an assertion is invalid_client (400: the client used no
    // Authorization header, OAuth 2.1 §3.2.4).
    let (status, body) = token_as(&h, CLIENT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
    // With an assertion too: JWT client authentication is not implemented.
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", CLIENT),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", "eyJ.eyJ.sig"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
}

#[tokio::test]
async fn cimd_8_special_use_ip_literals_are_refused_before_any_fetch() {
    let (h, fetcher) = harness();
    for url in [
        "https://10.0.0.1/c.json",
        "https://127.0.0.1/c.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/c.json",
        "https://[fc00::1]/c.json",
        "https://[::ffff:7f00:1]/c.json",
        "https://192.168.1.10:8443/c.json",
    ] {
        assert_eq!(refused(&h, url).await, Reason::ClientIdUrlInvalid, "{url}");
    }
    assert_eq!(fetcher.fetches(), 0);
}

#[tokio::test]
async fn cimd_9_documents_over_the_size_bound_are_refused() {
    let (h, fetcher) = harness();
    // A valid document of about 6 kB.
    let padded = document_with(CLIENT, &json!({"software_version": "1".repeat(6000)}));
    assert!(padded.to_string().len() > 5 * 1024);
    fetcher.serve_json(CLIENT, &padded);
    assert_eq!(refused(&h, CLIENT).await, Reason::ClientMetadataTooLarge);
    // The fetcher was told the bound (5 KiB by default), so it can stop reading early.
    assert!(fetcher
        .max_bytes
        .lock()
        .unwrap()
        .iter()
        .all(|max| *max == 5 * 1024));

    // A fetcher that ignores the bound gains nothing: the machine checks it too.
    struct Careless;
    #[async_trait::async_trait]
    impl ClientMetadataFetcher for Careless {
        async fn fetch(&self, url: &ClientIdUrl, _: usize) -> Result<Bytes, FetchError> {
            let padded =
                document_with(url.as_str(), &json!({"software_version": "1".repeat(6000)}));
            Ok(Bytes::from(padded.to_string()))
        }
    }
    let careless = Harness::with(|b| {
        b.client_id_metadata_documents(true)
            .client_metadata_fetcher(Arc::new(Careless))
    });
    assert_eq!(
        refused(&careless, CLIENT).await,
        Reason::ClientMetadataTooLarge
    );

    // The bound is configurable.
    let roomy = Harness::with(|b| {
        b.client_id_metadata_documents(true)
            .client_id_metadata_document_max_bytes(16 * 1024)
            .client_metadata_fetcher(Arc::new(Careless))
    });
    assert!(roomy.begin_with(CLIENT, &[]).await.is_ok());
    for out_of_range in [0, 255, 64 * 1024 + 1] {
        let built = Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .client_id_metadata_documents(true)
            .client_id_metadata_document_max_bytes(out_of_range)
            .client_metadata_fetcher(Arc::new(Careless))
            .store(MemoryStore::new())
            .build();
        assert_eq!(
            built.unwrap_err(),
            ConfigError::InvalidClientMetadataDocumentMaxBytes
        );
    }
}

#[tokio::test]
async fn cimd_10_a_failed_fetch_is_not_remembered_by_the_machine() {
    let (h, fetcher) = harness();
    fetcher.serve(CLIENT, Answer::Status(500));
    assert_eq!(refused(&h, CLIENT).await, Reason::ClientMetadataFetchFailed);
    // The next request asks again, and succeeds.
    fetcher.serve_json(CLIENT, &document(CLIENT));
    assert!(h.begin_with(CLIENT, &[]).await.is_ok());
    assert_eq!(fetcher.fetches(), 2);
}

#[tokio::test]
async fn cimd_11_a_failed_fetch_aborts_the_authorization_request_with_an_error_page() {
    let (h, fetcher) = harness();
    // The client's fault (a 404) is a 400 page; a timeout, nobody's fault in particular,
    // a 503 page (F3).
    for (answer, reason, status) in [
        (
            Answer::Status(404),
            Reason::ClientMetadataFetchFailed,
            StatusCode::BAD_REQUEST,
        ),
        (
            Answer::Timeout,
            Reason::ClientMetadataUnavailable,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ] {
        fetcher.serve(CLIENT, answer);
        let result = h.begin_with(CLIENT, &[]).await;
        let Err(error @ AuthorizationError::Fatal(_)) = result else {
            panic!("expected an error page, got {result:?}");
        };
        assert_eq!(error.reason(), Some(reason));
        // Even for a logged-in user: the redirect URI is unknown without the document.
        let page = error.into_response(Some(&oauth_core::model::UserId::new("alice")));
        assert!(page.headers().get("location").is_none());
        assert_eq!(page.status(), status);
    }
}

#[tokio::test]
async fn cimd_12_metadata_advertises_support_exactly_when_on() {
    let (h, _) = harness();
    let (status, body, _) = h
        .get("https://as.example/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["client_id_metadata_document_supported"], true);
    assert!(
        h.provider
            .machine()
            .authorization_server_metadata()
            .client_id_metadata_document_supported
    );

    let off = Harness::new();
    let (_, body, _) = off
        .get("https://as.example/.well-known/oauth-authorization-server")
        .await;
    assert!(
        body.get("client_id_metadata_document_supported").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn cimd_13_the_consent_page_gets_the_client_id_host_and_the_redirect_host() {
    let (h, fetcher) = harness();
    let pending = h.begin_with(CLIENT, &[]).await.unwrap();
    assert_eq!(pending.client_id_host(), Some("app.example"));
    assert_eq!(
        pending.redirect_uri_host().as_deref(),
        Some("client.example")
    );
    assert!(!pending.redirect_uris_loopback_only());

    // Every redirect URI on loopback: the page should warn (MCP "Localhost Redirect URI
    // Risks").
    fetcher.serve_json(
        CLIENT,
        &document_with(
            CLIENT,
            &json!({"redirect_uris": ["http://127.0.0.1/cb", "http://localhost:3000/cb"]}),
        ),
    );
    let pending = h
        .begin_with(CLIENT, &[("redirect_uri", "http://127.0.0.1:5555/cb")])
        .await
        .unwrap();
    assert_eq!(pending.redirect_uri_host().as_deref(), Some("127.0.0.1"));
    assert!(pending.redirect_uris_loopback_only());

    // A client registered here is not a document client.
    let stored = h.public_client().await;
    let pending = h.begin_with(stored.id.as_str(), &[]).await.unwrap();
    assert!(!pending.is_client_id_metadata_document());
    assert_eq!(pending.client_id_host(), None);
}

#[tokio::test]
async fn cimd_15_ids_this_server_chooses_never_start_with_https() {
    let (h, _) = harness();
    for _ in 0..256 {
        let client = h.public_client().await;
        assert!(!client.id.as_str().starts_with("https://"), "{}", client.id);
        assert!(!oauth_core::client_metadata_document::is_client_id_url(
            client.id.as_str()
        ));
    }
    // Nor may the host choose one while the feature is on: it could never be used.
    let mut new = NewClient::public(vec![REDIRECT.to_owned()]);
    new.id = Some(oauth_core::model::ClientId::new(
        "https://mine.example/c.json",
    ));
    assert!(h.provider.register_client(new).await.is_err());
}

#[tokio::test]
async fn cimd_16_a_changed_document_takes_effect_at_the_next_request() {
    let (h, fetcher) = harness();
    let code = h.obtain_code(CLIENT).await;
    let (status, body, _) = h.redeem_public(CLIENT, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The client withdraws the refresh grant from its document.
    fetcher.serve_json(
        CLIENT,
        &document_with(CLIENT, &json!({"grant_types": ["authorization_code"]})),
    );
    let (status, refused, _) = h.refresh(CLIENT, str_of(&body, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&refused), "unauthorized_client");
}

#[tokio::test]
async fn the_documents_scope_restricts_the_client_to_offered_scopes() {
    let (h, fetcher) = harness();
    // `files:admin` is not offered here: dropped, not an error.
    fetcher.serve_json(
        CLIENT,
        &document_with(CLIENT, &json!({"scope": "read files:admin"})),
    );
    assert!(h.begin_with(CLIENT, &[("scope", "read")]).await.is_ok());
    let (reason, _) = expect_redirect(h.begin_with(CLIENT, &[("scope", "write")]).await);
    assert_eq!(reason, Reason::ScopeNotAllowed);
}

#[tokio::test]
async fn introspection_is_refused_to_a_document_client_as_to_any_public_client() {
    let (h, _) = harness();
    let response = h
        .introspect_response(&[("token", "x"), ("client_id", CLIENT)], None)
        .await;
    let (status, body, _) = response_parts(&response);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
}

#[tokio::test]
async fn feature_off_a_url_client_id_is_an_ordinary_unknown_client() {
    let fetcher = Arc::new(StubFetcher::default());
    fetcher.serve_json(CLIENT, &document(CLIENT));
    let h = Harness::with({
        let fetcher = fetcher.clone();
        move |b| b.client_metadata_fetcher(fetcher)
    });
    assert_eq!(refused(&h, CLIENT).await, Reason::UnknownClient);
    let (status, body) = token_as(&h, CLIENT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
    assert_eq!(fetcher.fetches(), 0);

    // A client the host registered under such an id is looked up in the store as usual.
    let mut new = NewClient::public(vec![REDIRECT.to_owned()]);
    new.id = Some(oauth_core::model::ClientId::new(CLIENT));
    let registered = h.provider.register_client(new).await.unwrap();
    assert_eq!(registered.client.auth_method, AuthMethod::None);
    assert!(h.begin_with(CLIENT, &[]).await.is_ok());
    assert_eq!(fetcher.fetches(), 0);
}

#[tokio::test]
async fn enabling_documents_without_a_fetcher_does_not_build() {
    let built = Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .client_id_metadata_documents(true)
        .store(MemoryStore::new())
        .build();
    assert_eq!(
        built.unwrap_err(),
        ConfigError::MissingClientMetadataFetcher
    );
}

#[tokio::test]
async fn a_host_driving_the_machine_answers_with_its_own_fetcher_or_fails_closed() {
    let (h, fetcher) = harness();
    let machine = h.provider.machine();
    let store = h.provider.store();
    let request = Harness::authorize_request(&borrow_pairs(&Harness::code_request_pairs(CLIENT)));

    // With a store and a fetcher.
    let both = StoreAndFetcher::new(store, Some(fetcher.as_ref() as &dyn ClientMetadataFetcher));
    let mut step = machine.authorization_request(&request, h.now());
    let result = loop {
        match step.answer_from(&both).await {
            ControlFlow::Continue(next) => step = next,
            ControlFlow::Break(result) => break result,
        }
    };
    assert!(result.is_ok());

    // With the store alone, the metadata step fails closed.
    let mut step = machine.authorization_request(&request, h.now());
    let result = loop {
        match step.answer_from(store).await {
            ControlFlow::Continue(next) => step = next,
            ControlFlow::Break(result) => break result,
        }
    };
    assert_eq!(expect_fatal(result), Reason::ClientMetadataFetchFailed);
}

#[tokio::test]
async fn grant_types_default_to_the_code_grant_as_in_dynamic_registration() {
    let (h, fetcher) = harness();
    fetcher.serve_json(
        CLIENT,
        &document_with(CLIENT, &json!({"grant_types": null})),
    );
    let code = h.obtain_code(CLIENT).await;
    let (status, body, _) = h.redeem_public(CLIENT, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // No refresh grant in the document: no refresh token.
    assert!(body.get("refresh_token").is_none(), "{body}");
}

// ---- F3: whose fault a failed fetch is; F5: introspection never fetches ----

/// The failed client authentications reported to the event sink: (client id, reason).
#[derive(Default)]
struct AuthFailures(Mutex<Vec<(String, Reason)>>);

impl EventSink for AuthFailures {
    fn record(&self, event: &SecurityEvent<'_>) {
        if let SecurityEvent::ClientAuthenticationFailed { client_id, reason } = event {
            self.0
                .lock()
                .unwrap()
                .push((client_id.as_str().to_owned(), *reason));
        }
    }
}

impl AuthFailures {
    fn take(&self) -> Vec<(String, Reason)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// [`harness`] with the failed client authentications recorded.
fn recording_harness() -> (Harness, Arc<StubFetcher>, Arc<AuthFailures>) {
    let fetcher = Arc::new(StubFetcher::default());
    fetcher.serve_json(CLIENT, &document(CLIENT));
    let failures = Arc::new(AuthFailures::default());
    let h = Harness::with({
        let fetcher = fetcher.clone();
        let failures = failures.clone();
        move |b| {
            b.client_id_metadata_documents(true)
                .client_metadata_fetcher(fetcher)
                .events(failures)
        }
    });
    (h, fetcher, failures)
}

#[tokio::test]
async fn cimd_f3_a_fetch_failure_that_is_not_the_clients_fault_is_503_without_an_authentication_failure(
) {
    let (h, fetcher, failures) = recording_harness();
    let code = h.obtain_code(CLIENT).await;
    for answer in [
        Answer::Busy,
        Answer::Timeout,
        Answer::Unreachable,
        Answer::DnsFailure,
    ] {
        fetcher.serve(CLIENT, answer);
        // Authorization endpoint: an error page, 503.
        let result = h.begin_with(CLIENT, &[]).await;
        let Err(error @ AuthorizationError::Fatal(_)) = result else {
            panic!("expected an error page, got {result:?}");
        };
        assert_eq!(error.reason(), Some(Reason::ClientMetadataUnavailable));
        assert_eq!(
            error.into_response(None).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        // Token endpoint (the code is not touched: the client was never authenticated).
        let (status, body, headers) = h.redeem_public(CLIENT, &code).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error_of(&body), "temporarily_unavailable");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers.get("www-authenticate").is_none());
        // Revocation endpoint.
        let response = h
            .revoke_response(&[("token", "x"), ("client_id", CLIENT)], None)
            .await;
        let (status, body, _) = response_parts(&response);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error_of(&body), "temporarily_unavailable");
        // Nothing was reported as a failed authentication of the client.
        assert_eq!(failures.take(), vec![]);
    }
    // Once the document is reachable again, the very same code is redeemed.
    fetcher.serve_json(CLIENT, &document(CLIENT));
    let (status, body, _) = h.redeem_public(CLIENT, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn cimd_f3_an_invalid_document_or_a_refusing_server_stays_invalid_client_and_is_reported() {
    let (h, fetcher, failures) = recording_harness();
    let oversized = document_with(CLIENT, &json!({"software_version": "1".repeat(6000)}));
    for (answer, reason) in [
        (
            Answer::Document(document("https://app.example/other.json").to_string()),
            Reason::ClientMetadataClientIdMismatch,
        ),
        (
            Answer::Document("not json".to_owned()),
            Reason::ClientMetadataMalformed,
        ),
        (
            Answer::Document(oversized.to_string()),
            Reason::ClientMetadataTooLarge,
        ),
        (Answer::Redirect(302), Reason::ClientMetadataFetchFailed),
        (Answer::Status(404), Reason::ClientMetadataFetchFailed),
        (Answer::Status(500), Reason::ClientMetadataFetchFailed),
        (Answer::NoSuchHost, Reason::ClientMetadataFetchFailed),
    ] {
        fetcher.serve(CLIENT, answer);
        assert_eq!(refused(&h, CLIENT).await, reason);
        let (status, body) = token_as(&h, CLIENT).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reason:?}");
        assert_eq!(error_of(&body), "invalid_client", "{reason:?}");
        let response = h
            .revoke_response(&[("token", "x"), ("client_id", CLIENT)], None)
            .await;
        let (status, body, _) = response_parts(&response);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reason:?}");
        assert_eq!(error_of(&body), "invalid_client", "{reason:?}");
        assert_eq!(
            failures.take(),
            vec![(CLIENT.to_owned(), reason), (CLIENT.to_owned(), reason)]
        );
    }
}

#[tokio::test]
async fn cimd_f5_introspection_refuses_a_url_client_id_before_any_fetch() {
    let (h, fetcher, failures) = recording_harness();
    // In the body, and in an Authorization header (with a made-up secret).
    let response = h
        .introspect_response(&[("token", "x"), ("client_id", CLIENT)], None)
        .await;
    let (status, body, _) = response_parts(&response);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_client");
    let response = h
        .introspect_response(&[("token", "x")], Some((CLIENT, "guess")))
        .await;
    let (status, body, headers) = response_parts(&response);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body), "invalid_client");
    assert!(headers.contains_key("www-authenticate"));
    // No outbound request, whatever the document would have said.
    assert_eq!(fetcher.fetches(), 0);
    // Refused like any public client, and reported as such.
    assert_eq!(
        failures.take(),
        vec![
            (CLIENT.to_owned(), Reason::PublicClientIntrospection),
            (CLIENT.to_owned(), Reason::PublicClientIntrospection)
        ]
    );
    // An id the server would refuse anyway (an unreachable document) changes nothing.
    fetcher.serve(CLIENT, Answer::Timeout);
    let response = h
        .introspect_response(&[("token", "x"), ("client_id", CLIENT)], None)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fetcher.fetches(), 0);
}
