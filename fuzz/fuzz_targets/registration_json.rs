//! Arbitrary bytes as the JSON body of a dynamic registration request (RFC 7591 §3.1),
//! through `Provider::registration_endpoint` with the open policy.
//!
//! Oracles:
//! - never panics; every response has `Cache-Control: no-store`;
//! - 201, 400 or 413 (exactly for a body over the limit); never 5xx from a healthy store;
//! - a 201's JSON has a non-empty `client_id`, a `registration_access_token`, a
//!   `client_secret` exactly for a confidential client, and echoes exactly the requested
//!   redirect URIs (repeats removed, in order), each of which passes
//!   `redirect_uri::validate_for_registration`; the client it describes is in the store
//!   with those URIs; a client of the authorization code grant has at least one;
//! - an error is 400 with `invalid_client_metadata` or `invalid_redirect_uri` (or 413),
//!   and `invalid_redirect_uri` only when the redirect URIs are the problem.
#![no_main]

use http::header::CONTENT_TYPE;
use http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use oauth_core::model::ClientId;
use oauth_core::redirect_uri::validate_for_registration;
use oauth_core::Store as _;
use oauth_fuzz::{
    assert_no_store, block_on, forget_client, provider, ISSUER, MAX_BODY_BYTES, NOW,
    REGISTRATION_PATH, SCOPES,
};
use serde_json::Value;

/// The requested redirect URIs as RFC 7591 reads them: `Some(list)` when the member is
/// absent, `null` or an array of strings; `None` when it is anything else.
fn requested_redirect_uris(request: Option<&Value>) -> Option<Vec<String>> {
    match request.and_then(|r| r.get("redirect_uris")) {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Some(_) => None,
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fuzz_target!(|body: &[u8]| {
    let request = Request::post(format!("{ISSUER}{REGISTRATION_PATH}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_vec())
        .expect("request");
    let response = block_on(provider().registration_endpoint(&request));
    let status = response.status();
    assert_no_store(&response, "registration endpoint");
    assert!(
        matches!(status.as_u16(), 201 | 400 | 413),
        "unexpected status {status} for {body:?}"
    );
    assert_eq!(
        status == StatusCode::PAYLOAD_TOO_LARGE,
        body.len() > MAX_BODY_BYTES,
        "413 exactly for an oversized body"
    );
    let json: Value = serde_json::from_slice(response.body())
        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {response:?}"));
    // The request as plain JSON (only meaningful when the core accepted it as an object).
    let sent: Option<Value> = serde_json::from_slice(body).ok();
    let sent_uris = requested_redirect_uris(sent.as_ref());

    if status != StatusCode::CREATED {
        let error = json["error"].as_str().unwrap_or_default();
        if status == StatusCode::BAD_REQUEST {
            assert!(
                matches!(error, "invalid_client_metadata" | "invalid_redirect_uri"),
                "registration error {error:?} for {body:?}"
            );
        } else {
            assert!(!error.is_empty(), "413 without an error code: {json}");
        }
        if error == "invalid_redirect_uri" {
            let uris_at_fault = match &sent_uris {
                None => true,
                Some(uris) => {
                    uris.is_empty() || uris.iter().any(|u| validate_for_registration(u).is_err())
                }
            };
            assert!(
                uris_at_fault,
                "invalid_redirect_uri although every redirect URI is valid: {body:?}"
            );
        }
        return;
    }

    // 201: the client information response (RFC 7591 §3.2.1).
    let client_id = json["client_id"].as_str().unwrap_or_default().to_owned();
    assert!(!client_id.is_empty(), "201 without client_id: {json}");
    assert!(json["registration_access_token"].is_string(), "{json}");
    assert_eq!(json["client_id_issued_at"], Value::from(NOW.0), "{json}");
    let method = json["token_endpoint_auth_method"]
        .as_str()
        .unwrap_or_default();
    let requested_method = sent
        .as_ref()
        .and_then(|s| s.get("token_endpoint_auth_method"))
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("client_secret_basic");
    assert_eq!(method, requested_method, "{json}");
    assert_eq!(
        json.get("client_secret").is_some(),
        method != "none",
        "a client secret exactly for a confidential client: {json}"
    );

    let echoed: Vec<String> = match json.get("redirect_uris") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().expect("redirect URI is a string").to_owned())
            .collect(),
        Some(other) => panic!("redirect_uris is not an array: {other}"),
    };
    for uri in &echoed {
        assert!(
            validate_for_registration(uri).is_ok(),
            "registered an invalid redirect URI {uri:?} from {body:?}"
        );
    }
    let sent_uris = sent_uris.expect("201 for a request with malformed redirect_uris");
    assert_eq!(
        echoed,
        dedup(sent_uris),
        "echoed redirect URIs for {body:?}"
    );
    let grants = json["grant_types"].as_array().cloned().unwrap_or_default();
    if grants.iter().any(|g| g == "authorization_code") {
        assert!(
            !echoed.is_empty(),
            "code client without redirect URI: {json}"
        );
    }
    if let Some(scope) = json.get("scope") {
        let scope = scope.as_str().expect("scope is a string");
        assert!(
            scope.split(' ').all(|s| SCOPES.contains(&s)),
            "registered scope {scope:?} beyond the offered ones"
        );
    }

    let stored = block_on(
        provider()
            .store()
            .client(&ClientId::new(client_id.as_str())),
    )
    .expect("store")
    .expect("the registered client is stored");
    assert_eq!(stored.redirect_uris, echoed);
    forget_client(&client_id);
});
