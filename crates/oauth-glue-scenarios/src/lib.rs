//! # oauth-glue-scenarios
//!
//! The HTTP-level scenarios every framework glue of `oauth-core` must pass, written once
//! and run against each glue crate (`oauth-axum`, `oauth-actix`), so that parity between
//! them is tested, not claimed.
//!
//! A glue crate implements [`Glue`]: from an [`AppSpec`] it builds the *host app* below
//! with its own public API, and answers requests through the framework's whole stack
//! (routing, extractors, middleware, body limits, CORS), in process. Its test file then
//! expands [`scenarios!`] once, which declares one named test per scenario:
//!
//! ```ignore
//! oauth_glue_scenarios::scenarios!(#[tokio::test], MyGlue);
//! ```
//!
//! The scenarios themselves are in [the `scenarios` module](mod@scenarios), one module
//! per endpoint, built on the [`harness`] (providers, request builders, response
//! assertions, client registration, codes obtained through the app's `/authorize`).
//!
//! ## The host app every glue builds
//!
//! From `spec.provider` (an `Arc<Provider<MemoryStore>>`, configured by the scenario):
//!
//! 1. **Protocol endpoints**: the glue's protocol router / service configuration, with
//!    CORS per `spec.cors` ([`Cors`] maps one to one onto the glue's `CorsPolicy`).
//! 2. **`GET` and `POST /authorize`**: a host route using the glue's authorization-request
//!    extractor, without CORS. With the request header [`USER_HEADER`] absent: a valid
//!    request answers the glue's consent `Page` (`Page::consent`) whose HTML is
//!    `client={client_id} scope={scope}`; an error answers the glue's
//!    `authorization_error_response(error, None)`. With [`USER_HEADER`] present (a
//!    logged-in user of that id): a valid request is completed at once with
//!    `Decision::Approve(Approval::new(user))`, or with `Decision::Deny` when
//!    [`DECISION_HEADER`] is `deny`, and the core's redirect is the response (an error
//!    of the completion answers `authorization_error_response(error, Some(&user))`); an
//!    error answers `authorization_error_response(error, Some(&user))`.
//! 3. **`GET /api/me`**: behind the glue's bearer middleware for the resource
//!    [`RESOURCE`], named explicitly (with [`AppSpec::other_resource`] the provider serves
//!    two resources), requiring scope `read`; the handler reads the access with the
//!    glue's bearer extractor and answers `200` with the text `{user} {client} {scope}`
//!    (user id or `-` when the token has none). No CORS.
//! 4. **`GET /api/admin`**: as `/api/me`, requiring scope `admin`.
//! 5. **`GET /files/api`**: behind the bearer middleware for the resource
//!    [`OTHER_RESOURCE`] (scope `read`), same handler. Only mounted when the provider
//!    serves that resource ([`AppSpec::other_resource`]).
//!
//! Any other path is the framework's 404 (empty body, no `Cache-Control`); another
//! method at `/authorize` (`OPTIONS` included) is the framework's 405.
//!
//! ## What the scenarios expect of CORS
//!
//! Of the protocol endpoints only, never of `/authorize` or the APIs:
//!
//! - [`Cors::AnyOrigin`]: `Access-Control-Allow-Origin: *` (never credentials), on
//!   preflights (answered `200` by the CORS layer, with `Access-Control-Allow-Methods`
//!   including `POST`, `Access-Control-Allow-Headers` including `authorization`,
//!   `content-type`, `accept` and `mcp-protocol-version`, `Access-Control-Max-Age: 600`)
//!   and on actual responses (with `Access-Control-Expose-Headers` including
//!   `www-authenticate`); `Vary` includes `origin` on both.
//! - [`Cors::Origins`]: the same, with the allowed origin echoed instead of `*`. An
//!   unlisted origin gets no `Access-Control-Allow-Origin` (a preflight's status is not
//!   pinned); its actual requests still reach the endpoint and get the core's answer.
//! - [`Cors::SameOriginOnly`]: no `Access-Control-*` header and no `Vary` at all; an
//!   `OPTIONS` request reaches the core (which answers `405`).
#![forbid(unsafe_code)]

use std::sync::Arc;

use bytes::Bytes;
use oauth_core::Provider;
use oauth_store_memory::MemoryStore;

pub mod harness;
pub mod scenarios;
pub mod wire;

/// The provider every scenario configures: the memory store.
pub type TestProvider = Arc<Provider<MemoryStore>>;

/// The issuer of every scenario's provider (unless a scenario names another).
pub const ISSUER: &str = "https://as.example";
/// The provider's default protected resource; `/api/me` and `/api/admin` serve it.
pub const RESOURCE: &str = "https://api.example/mcp";
/// A second protected resource on another origin; `/files/api` serves it.
pub const OTHER_RESOURCE: &str = "https://files.example/api";
/// The header a scenario sends to play a logged-in user at `/authorize`.
pub const USER_HEADER: &str = "x-test-user";
/// With the value `deny`, the user at `/authorize` denies instead of approving.
pub const DECISION_HEADER: &str = "x-test-decision";

/// Which browser origins may call the protocol endpoints (the glue's `CorsPolicy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Cors {
    /// `CorsPolicy::AnyOrigin`.
    #[default]
    AnyOrigin,
    /// `CorsPolicy::Origins` with these origins.
    Origins(Vec<String>),
    /// `CorsPolicy::SameOriginOnly`.
    SameOriginOnly,
}

/// What the glue under test builds its host app from.
#[derive(Clone, Debug)]
pub struct AppSpec {
    /// The provider behind every route.
    pub provider: TestProvider,
    /// CORS of the protocol endpoints.
    pub cors: Cors,
    /// Whether the provider serves [`OTHER_RESOURCE`], so `/files/api` is mounted.
    pub other_resource: bool,
}

/// A host app built by a glue, answering requests through the framework's whole stack.
#[async_trait::async_trait(?Send)]
pub trait App {
    /// Sends one request (origin-form URI, as a server receives it) and returns the
    /// response with its whole body.
    ///
    /// The headers are delivered as given. A request with a `Content-Length` header has
    /// a body of that length; one without it has a body of unknown length (delivered as
    /// a chunked body would be, where the framework's test client allows it).
    async fn send(&self, request: http::Request<Bytes>) -> http::Response<Bytes>;
}

/// A framework glue under test: builds the host app (see the crate docs) for a spec.
#[async_trait::async_trait(?Send)]
pub trait Glue {
    /// Builds the host app of `spec`.
    async fn app(&self, spec: AppSpec) -> Box<dyn App>;
}

/// Declares one test per scenario, each running it against a glue:
/// `oauth_glue_scenarios::scenarios!(#[tokio::test], MyGlue);` expands to
/// `#[tokio::test] async fn <scenario>() { scenarios::<module>::<scenario>(&MyGlue).await }`
/// for every scenario (the attribute is passed in: actix-web tests need
/// `#[actix_web::test]`). The glue expression is evaluated once per test.
///
/// This is the one list of the scenarios; [`SCENARIOS`] is generated from it, and a test
/// of this crate checks it against the scenario modules, so a scenario cannot be left
/// out.
#[macro_export]
macro_rules! scenarios {
    (#[$attr:meta], $glue:expr $(,)?) => {
        $crate::scenarios!(@list tests [#[$attr]] [$glue]);
    };
    (@names) => {
        $crate::scenarios!(@list names [] [])
    };
    (@list $mode:ident $attr:tt $glue:tt) => {
        $crate::scenarios! { @emit $mode $attr $glue
            metadata {
                authorization_server_metadata_is_served_at_the_root_well_known_url,
                authorization_server_metadata_of_an_issuer_with_a_path_is_path_suffixed,
                protected_resource_metadata_is_served_at_the_path_suffixed_well_known_url,
                protected_resource_metadata_of_the_only_resource_is_served_at_the_root_too,
                protected_resource_metadata_of_each_resource_is_served_and_not_the_root,
                configured_endpoint_paths_are_the_served_ones,
                unknown_paths_are_not_found,
            }
            token {
                token_exchanges_an_authorization_code_with_pkce,
                token_with_a_wrong_code_verifier_is_invalid_grant,
                token_refresh_rotates_the_refresh_token,
                token_with_wrong_basic_credentials_is_401_with_a_basic_challenge,
                token_with_wrong_or_missing_body_credentials_is_invalid_client,
                token_authenticates_clients_by_basic_header_and_by_form_body,
                token_with_two_client_authentication_methods_is_invalid_request,
                token_with_two_authorization_headers_is_invalid_request,
                token_with_duplicated_parameter_is_invalid_request,
                token_with_wrong_content_type_is_invalid_request,
                token_oversized_body_with_content_length_is_the_cores_413,
                token_oversized_body_without_content_length_is_the_cores_413,
                token_body_of_exactly_the_configured_limit_is_processed,
                token_with_invalid_utf8_body_is_invalid_request,
                token_get_is_405_with_allow_post,
                token_errors_are_the_cores_json_errors,
                token_with_client_credentials_in_the_query_is_refused,
            }
            revocation {
                revocation_revokes_a_token_with_200_and_an_empty_body,
                revocation_of_an_unknown_token_is_200,
                revocation_requires_client_authentication,
            }
            introspection {
                introspection_shows_a_confidential_clients_own_token_as_active,
                introspection_without_client_authentication_is_refused,
            }
            registration {
                registration_creates_a_client_with_201_and_reads_it_back,
                registration_with_invalid_metadata_is_400,
                registration_oversized_body_is_the_cores_413,
                registration_is_not_served_when_disabled,
            }
            authorize {
                authorize_get_shows_the_consent_page_with_security_headers,
                authorize_post_shows_the_consent_page_with_security_headers,
                authorize_default_scope_applies_when_none_is_requested,
                authorize_unknown_client_is_a_page_without_location,
                authorize_mismatched_redirect_uri_is_a_page_without_location,
                authorize_redirect_class_error_is_a_page_without_user_and_a_302_with_user,
                authorize_redirect_class_error_after_a_post_is_a_303,
                authorize_with_duplicated_parameter_is_invalid_request,
                authorize_approval_redirects_with_code_state_and_iss,
                authorize_denial_redirects_with_access_denied_state_and_iss,
                authorize_oversized_post_body_is_a_page_without_location,
            }
            bearer {
                api_without_token_is_401_with_resource_metadata_challenge,
                api_with_an_invalid_token_is_401_invalid_token,
                bearer_in_query_string_is_refused,
                api_with_a_malformed_bearer_header_is_400_invalid_request,
                api_with_two_authorization_headers_is_400_invalid_request,
                api_with_another_authorization_scheme_is_401_without_error,
                api_with_insufficient_scope_is_403_naming_the_scope,
                api_with_a_valid_token_gives_the_handler_user_client_and_scope,
                api_with_a_token_for_another_audience_is_401_invalid_token,
                api_accepts_the_bearer_scheme_in_any_case,
            }
            cors {
                cors_any_origin_preflight_of_the_token_endpoint_is_allowed,
                cors_any_origin_covers_every_protocol_endpoint,
                cors_any_origin_actual_response_exposes_www_authenticate,
                cors_lets_a_browser_read_the_basic_challenge_of_the_token_endpoint,
                cors_metadata_documents_are_readable_cross_origin,
                cors_listed_origin_is_echoed,
                cors_unlisted_origin_is_not_allowed,
                cors_same_origin_only_adds_no_cors_headers,
                cors_is_never_applied_to_the_authorization_endpoint,
                cors_is_not_applied_to_unknown_paths,
            }
            flow {
                full_code_flow_from_authorization_to_revocation,
            }
        }
    };
    (@emit tests [#[$attr:meta]] [$glue:expr] $($module:ident { $($name:ident),* $(,)? })*) => {
        $($(
            #[$attr]
            async fn $name() {
                $crate::scenarios::$module::$name(&$glue).await;
            }
        )*)*
    };
    (@emit names [] [] $($module:ident { $($name:ident),* $(,)? })*) => {
        &[$($(concat!(stringify!($module), "::", stringify!($name)),)*)*]
    };
}

/// Every scenario, as `module::name`, in the order of [`scenarios!`].
pub const SCENARIOS: &[&str] = scenarios!(@names);

#[cfg(test)]
mod tests {
    use super::*;

    /// A glue that is never run: it only lets the expansion below type-check.
    struct Unused;

    #[async_trait::async_trait(?Send)]
    impl Glue for Unused {
        async fn app(&self, _spec: AppSpec) -> Box<dyn App> {
            unreachable!("only type-checked")
        }
    }

    // Every listed scenario exists with the signature the tests call.
    mod expansion {
        crate::scenarios!(#[allow(dead_code)], super::Unused);
    }

    #[test]
    fn every_scenario_function_is_listed_once_in_the_macro() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/scenarios");
        let mut defined = Vec::new();
        for entry in std::fs::read_dir(dir).expect("the scenario modules") {
            let path = entry.expect("a directory entry").path();
            let module = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a module file name")
                .to_owned();
            if module == "mod" {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("a scenario module");
            for line in source.lines() {
                if let Some(rest) = line.trim_start().strip_prefix("pub async fn ") {
                    let name = rest.split(['(', '<']).next().expect("a name").trim();
                    defined.push(format!("{module}::{name}"));
                }
            }
        }
        defined.sort();
        let mut listed: Vec<String> = SCENARIOS.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        let before = listed.len();
        listed.dedup();
        assert_eq!(
            before,
            listed.len(),
            "a scenario listed twice in scenarios!"
        );
        let missing: Vec<_> = defined.iter().filter(|d| !listed.contains(d)).collect();
        assert!(missing.is_empty(), "not listed in scenarios!: {missing:?}");
        let stale: Vec<_> = listed.iter().filter(|l| !defined.contains(l)).collect();
        assert!(stale.is_empty(), "listed but not defined: {stale:?}");
    }
}
