//! What the example servers' HTTP tests share: a server on a random loopback port in its
//! own temporary directory, a cookie-keeping "browser" client, PKCE, form scraping.
//!
//! Each server's tests name their server with a [`Starter`], and get the scenarios that
//! every example must pass ([`pages`], [`mcp`], [`oauth2_client`], [`startup`],
//! [`restart`], [`connections`]) as `#[tokio::test]`s from the macros
//! [`page_tests!`](crate::page_tests), [`mcp_tests!`](crate::mcp_tests),
//! [`oauth2_client_tests!`](crate::oauth2_client_tests),
//! [`startup_tests!`](crate::startup_tests), [`restart_tests!`](crate::restart_tests) and
//! [`connection_tests!`](crate::connection_tests); what differs between the frameworks
//! (how long shutdown may wait for an idle connection) stays in each server's tests.
//! Helpers for tests: they panic on anything unexpected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::future::Future;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth_core::{OsRandom, SecureRandom};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::server::RunningServer;

pub mod connections;
pub mod mcp;
pub mod oauth2_client;
pub mod pages;
pub mod restart;
pub mod startup;

/// How the tests start one example server.
pub trait Starter {
    /// The server's name (its binary's, and its MCP `serverInfo.name`).
    const NAME: &'static str;

    /// The server binary (`env!("CARGO_BIN_EXE_<name>")`, which only the server's own
    /// tests can name).
    fn binary() -> &'static str;

    /// Parses `args` (the program name first) as the server's command line (panics if
    /// it does not parse) and starts the server.
    fn try_start(
        args: Vec<String>,
    ) -> impl Future<Output = Result<RunningServer, crate::StartError>>;

    /// As [`Starter::try_start`], and panics if the server does not start.
    fn start(args: Vec<String>) -> impl Future<Output = RunningServer> {
        async move { Self::try_start(args).await.unwrap() }
    }
}

/// The demo user every test server knows.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery";
/// A second user.
pub const OTHER_USER: &str = "bob";
pub const OTHER_PASSWORD: &str = "staple battery horse";

/// Random base64url text with `bytes` bytes of entropy.
pub fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRandom.fill(&mut buffer).unwrap();
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A fresh temporary directory.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("example-server-{}", random(9)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The flags every test server gets: a random port, files in `dir`, two users.
pub fn base_args(dir: &Path) -> Vec<String> {
    [
        "server",
        "--addr",
        "127.0.0.1:0",
        "--database",
        dir.join("oauth.db").to_str().unwrap(),
        "--dev-key-file",
        dir.join("server.key").to_str().unwrap(),
        "--dev-cert-file",
        dir.join("cert.pem").to_str().unwrap(),
        "--user",
        &format!("{USER}:{PASSWORD}"),
        "--user",
        &format!("{OTHER_USER}:{OTHER_PASSWORD}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A running test server and what a client needs to reach it.
pub struct TestServer {
    /// The in-process server (`None` for one running in a child process).
    pub running: Option<RunningServer>,
    pub base: String,
    pub dir: PathBuf,
    /// The self-signed certificate, when started with TLS.
    pub cert: Option<reqwest::Certificate>,
}

impl TestServer {
    /// Starts a server whose files live in `dir`, with the base flags plus `extra`:
    /// `start` parses the command line (program name first) and starts the server.
    pub async fn launch<F, Fut>(dir: PathBuf, extra: &[&str], start: F) -> TestServer
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = RunningServer>,
    {
        let mut args = base_args(&dir);
        args.extend(extra.iter().map(|s| s.to_string()));
        let server = start(args).await;
        let base = server.base_url().to_owned();
        let cert = server
            .generated_certificate()
            .map(|path| reqwest::Certificate::from_pem(&std::fs::read(path).unwrap()).unwrap());
        TestServer {
            running: Some(server),
            base,
            dir,
            cert,
        }
    }

    /// Starts a server of `F` with the base flags plus `extra`, in a new temporary
    /// directory.
    pub async fn start_with<F: Starter>(extra: &[&str]) -> TestServer {
        Self::start_in_with::<F>(temp_dir(), extra).await
    }

    /// Starts a server of `F` whose files live in `dir`.
    pub async fn start_in_with<F: Starter>(dir: PathBuf, extra: &[&str]) -> TestServer {
        Self::launch(dir, extra, F::start).await
    }

    /// A server started some other way (a child process), reached at `base`.
    pub fn external(base: &str, dir: PathBuf) -> TestServer {
        TestServer {
            running: None,
            base: base.to_owned(),
            dir,
            cert: None,
        }
    }

    /// The in-process server's start banner.
    pub fn banner(&self) -> String {
        self.running.as_ref().unwrap().banner()
    }

    /// Shuts the in-process server down gracefully.
    pub async fn stop(self) {
        self.running.unwrap().shutdown().await.unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn builder(&self) -> reqwest::ClientBuilder {
        let mut builder = Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(cert) = &self.cert {
            builder = builder
                .tls_built_in_root_certs(false)
                .add_root_certificate(cert.clone());
        }
        builder
    }

    /// A client without cookies (an OAuth client or an API caller).
    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// A "browser": keeps cookies, follows no redirects (the tests read them).
    pub fn browser(&self) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            client: self
                .builder()
                .cookie_provider(std::sync::Arc::clone(&jar))
                .build()
                .unwrap(),
            base: self.base.clone(),
            jar,
        }
    }

    /// Redeems `refresh_token` of the public client `client_id` at the token endpoint.
    pub async fn refresh(&self, refresh_token: &str, client_id: &str) -> Response {
        self.client()
            .post(self.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client_id),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Registers a public client for the authorization-code and refresh grants.
    pub async fn register(&self, name: &str, redirect_uri: &str) -> String {
        let response = self
            .client()
            .post(self.url("/register"))
            .json(&registration(name, redirect_uri))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }
}

/// A dynamic registration request (RFC 7591) for a public client of the
/// authorization-code and refresh grants.
pub fn registration(name: &str, redirect_uri: &str) -> Value {
    json!({
        "client_name": name,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    })
}

/// A PKCE pair (RFC 7636): a 256-bit verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// An authorization request for `client_id`.
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub pkce: Pkce,
}

impl AuthorizeRequest {
    pub fn new(client_id: &str, redirect_uri: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope: "mcp:tools profile".to_owned(),
            state: random(16),
            pkce: Pkce::new(),
        }
    }

    pub fn path(&self) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &self.pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        format!("/authorize?{query}")
    }

    /// Redeems the code of `query` (the redirect's query pairs) at the token endpoint:
    /// the token response.
    pub async fn redeem_query(&self, server: &TestServer, query: &[(String, String)]) -> Value {
        self.redeem(server, param(query, "code").unwrap())
            .await
            .json()
            .await
            .unwrap()
    }

    /// Redeems `code` at the token endpoint.
    pub async fn redeem(&self, server: &TestServer, code: &str) -> Response {
        server
            .client()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("client_id", &self.client_id),
                ("code_verifier", &self.pkce.verifier),
            ])
            .send()
            .await
            .unwrap()
    }
}

/// A cookie-keeping client that reads pages and submits their forms.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

/// A page as the browser got it.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// The value of the hidden input `name`.
    pub fn hidden(&self, name: &str) -> String {
        hidden(&self.html, name).unwrap_or_else(|| panic!("no {name} in {}", self.html))
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// The value of the hidden input `name` in `html` (as `maud` renders it), unescaped as
/// a browser would.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

impl Browser {
    /// The value of the cookie `name` the browser holds for the server.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header.to_str().unwrap().split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    async fn page(response: Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.get(url).send().await.unwrap()).await
    }

    /// Submits a form to `path` as a same-origin page would.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(
            self.client
                .post(format!("{}{path}", self.base))
                .header("origin", &self.base)
                .header("sec-fetch-site", "same-origin")
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Signs in from the login page `page`.
    pub async fn sign_in(&self, page: &Page, user: &str, password: &str) -> Page {
        let csrf = page.hidden("csrf");
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("username", user),
            ("password", password),
        ];
        let ticket = hidden(&page.html, "ticket");
        if let Some(ticket) = &ticket {
            form.push(("ticket", ticket));
        }
        let return_to = hidden(&page.html, "return_to");
        if let Some(return_to) = &return_to {
            form.push(("return_to", return_to));
        }
        self.post("/login", &form).await
    }

    /// Signs in from a fresh login page.
    pub async fn sign_in_fresh(&self, user: &str, password: &str) -> Page {
        let login = self.get("/login").await;
        self.sign_in(&login, user, password).await
    }

    /// Answers the consent page `page` with `decision` (`approve` or `deny`).
    pub async fn decide(&self, page: &Page, decision: &str) -> Page {
        let csrf = page.hidden("csrf");
        let ticket = page.hidden("ticket");
        self.post(
            "/consent",
            &[("csrf", &csrf), ("ticket", &ticket), ("decision", decision)],
        )
        .await
    }

    /// The whole page flow for `request`: login (as `user`) and approval. Returns the
    /// redirect's query parameters.
    pub async fn authorize(
        &self,
        request: &AuthorizeRequest,
        user: &str,
        password: &str,
    ) -> Vec<(String, String)> {
        let login = self.get(&request.path()).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.html);
        let consent = self.sign_in(&login, user, password).await;
        assert_eq!(consent.status, StatusCode::OK, "{}", consent.html);
        let redirect = self.decide(&consent, "approve").await;
        assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.html);
        redirect_query(&redirect, &request.redirect_uri)
    }
}

/// The query of a redirect to `redirect_uri`.
pub fn redirect_query(page: &Page, redirect_uri: &str) -> Vec<(String, String)> {
    let location = page.location().expect("a redirect");
    assert!(
        location.starts_with(&format!("{redirect_uri}?")),
        "{location}"
    );
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The value of `name` in query pairs.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A bearer GET.
pub async fn bearer_get(server: &TestServer, path: &str, token: &str) -> Response {
    server
        .client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// A GET of `url` with `client`: the JSON answer.
pub async fn get_json(client: &Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// `/api/me` with the access token `token`: the JSON answer.
pub async fn api_me(server: &TestServer, token: &str) -> Value {
    bearer_get(server, "/api/me", token)
        .await
        .json()
        .await
        .unwrap()
}

/// Asserts that `response` refuses a token for lack of `scope`: 403 with an
/// `insufficient_scope` challenge naming it.
pub fn assert_insufficient_scope(response: &Response, scope: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains(scope),
        "{challenge}"
    );
}

/// Asserts that `page` is an answer of `status` that leads nowhere (no redirect).
pub fn assert_not_redirected(page: &Page, status: StatusCode) {
    assert_eq!(page.status, status, "{}", page.html);
    assert!(page.location().is_none(), "{:?}", page.location());
}

/// One JSON-RPC message to the MCP endpoint.
pub async fn mcp_post(server: &TestServer, token: Option<&str>, message: &Value) -> Response {
    let mut request = server
        .client()
        .post(server.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(message);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Runs the page flow and redeems the code: the token response.
pub async fn tokens_for(
    server: &TestServer,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
) -> Value {
    let mut request = AuthorizeRequest::new(client_id, redirect_uri);
    request.scope = scope.to_owned();
    let query = server.browser().authorize(&request, USER, PASSWORD).await;
    let code = param(&query, "code").unwrap();
    let response = request.redeem(server, code).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The scenarios of [`pages`](crate::testing::pages), as `#[tokio::test]`s for the server of `$starter` (a
/// [`Starter`](crate::testing::Starter)).
#[macro_export]
macro_rules! page_tests {
    ($starter:ty) => {
        #[tokio::test]
        async fn anonymous_authorization_request_shows_login_then_consent_with_client_host_and_scopes() {
            $crate::testing::pages::anonymous_authorization_request_shows_login_then_consent_with_client_host_and_scopes::<$starter>().await
        }
        #[tokio::test]
        async fn every_page_and_error_page_carries_the_anti_framing_headers() {
            $crate::testing::pages::every_page_and_error_page_carries_the_anti_framing_headers::<$starter>().await
        }
        #[tokio::test]
        async fn a_redirect_to_the_servers_own_host_over_plain_http_is_refused_so_cookies_stay_home() {
            $crate::testing::pages::a_redirect_to_the_servers_own_host_over_plain_http_is_refused_so_cookies_stay_home::<$starter>().await
        }
        #[tokio::test]
        async fn state_changing_forms_refuse_a_missing_or_foreign_csrf_token() {
            $crate::testing::pages::state_changing_forms_refuse_a_missing_or_foreign_csrf_token::<$starter>().await
        }
        #[tokio::test]
        async fn a_name_with_too_many_failed_logins_is_locked_even_for_the_right_password() {
            $crate::testing::pages::a_name_with_too_many_failed_logins_is_locked_even_for_the_right_password::<$starter>().await
        }
        #[tokio::test]
        async fn approval_redirects_with_code_state_and_iss_and_the_code_redeems_once() {
            $crate::testing::pages::approval_redirects_with_code_state_and_iss_and_the_code_redeems_once::<$starter>().await
        }
        #[tokio::test]
        async fn deny_redirects_access_denied_with_state() {
            $crate::testing::pages::deny_redirects_access_denied_with_state::<$starter>().await
        }
        #[tokio::test]
        async fn consent_ticket_completes_once() {
            $crate::testing::pages::consent_ticket_completes_once::<$starter>().await
        }
        #[tokio::test]
        async fn wrong_password_shows_the_login_form_again_without_saying_which_part_was_wrong() {
            $crate::testing::pages::wrong_password_shows_the_login_form_again_without_saying_which_part_was_wrong::<$starter>().await
        }
        #[tokio::test]
        async fn forms_without_the_browsers_csrf_token_are_refused() {
            $crate::testing::pages::forms_without_the_browsers_csrf_token_are_refused::<$starter>().await
        }
        #[tokio::test]
        async fn cross_site_form_posts_are_refused_even_with_a_valid_token() {
            $crate::testing::pages::cross_site_form_posts_are_refused_even_with_a_valid_token::<$starter>().await
        }
        #[tokio::test]
        async fn ticket_from_another_browser_is_refused() {
            $crate::testing::pages::ticket_from_another_browser_is_refused::<$starter>().await
        }
        #[tokio::test]
        async fn untrusted_redirect_uri_or_unknown_client_is_shown_as_a_page_never_redirected() {
            $crate::testing::pages::untrusted_redirect_uri_or_unknown_client_is_shown_as_a_page_never_redirected::<$starter>().await
        }
        #[tokio::test]
        async fn client_error_is_redirected_only_after_the_user_signs_in() {
            $crate::testing::pages::client_error_is_redirected_only_after_the_user_signs_in::<$starter>().await
        }
        #[tokio::test]
        async fn login_return_to_only_leads_to_this_servers_pages() {
            $crate::testing::pages::login_return_to_only_leads_to_this_servers_pages::<$starter>().await
        }
        #[tokio::test]
        async fn login_issues_a_new_session_cookie_each_time_and_logout_ends_it() {
            $crate::testing::pages::login_issues_a_new_session_cookie_each_time_and_logout_ends_it::<$starter>().await
        }
        #[tokio::test]
        async fn authorized_apps_page_lists_the_grant_and_revoking_it_kills_its_tokens() {
            $crate::testing::pages::authorized_apps_page_lists_the_grant_and_revoking_it_kills_its_tokens::<$starter>().await
        }
        #[tokio::test]
        async fn a_user_cannot_revoke_another_users_grant() {
            $crate::testing::pages::a_user_cannot_revoke_another_users_grant::<$starter>().await
        }
        #[tokio::test]
        async fn oversized_or_malformed_forms_get_an_error_page() {
            $crate::testing::pages::oversized_or_malformed_forms_get_an_error_page::<$starter>().await
        }
        #[tokio::test]
        async fn api_requires_a_token_with_the_profile_scope() {
            $crate::testing::pages::api_requires_a_token_with_the_profile_scope::<$starter>().await
        }
        #[tokio::test]
        async fn default_scope_applies_when_the_request_names_none() {
            $crate::testing::pages::default_scope_applies_when_the_request_names_none::<$starter>().await
        }
        #[tokio::test]
        async fn with_require_offline_access_only_an_offline_access_grant_gets_a_refresh_token() {
            $crate::testing::pages::with_require_offline_access_only_an_offline_access_grant_gets_a_refresh_token::<$starter>().await
        }
    };
}

/// The scenarios of [`mcp`](crate::testing::mcp), as `#[tokio::test]`s for the server of `$starter` (a
/// [`Starter`](crate::testing::Starter)).
#[macro_export]
macro_rules! mcp_tests {
    ($starter:ty) => {
        #[tokio::test]
        async fn mcp_answers_initialize_ping_and_tools_list() {
            $crate::testing::mcp::mcp_answers_initialize_ping_and_tools_list::<$starter>().await
        }
        #[tokio::test]
        async fn mcp_accepts_notifications_with_202_and_no_body() {
            $crate::testing::mcp::mcp_accepts_notifications_with_202_and_no_body::<$starter>().await
        }
        #[tokio::test]
        async fn mcp_refuses_null_or_fractional_ids_and_messages_without_jsonrpc_2_0() {
            $crate::testing::mcp::mcp_refuses_null_or_fractional_ids_and_messages_without_jsonrpc_2_0::<$starter>().await
        }
        #[tokio::test]
        async fn mcp_rejects_malformed_messages_batches_and_unknown_protocol_versions() {
            $crate::testing::mcp::mcp_rejects_malformed_messages_batches_and_unknown_protocol_versions::<$starter>().await
        }
        #[tokio::test]
        async fn mcp_without_token_gets_401_with_resource_metadata_and_scope() {
            $crate::testing::mcp::mcp_without_token_gets_401_with_resource_metadata_and_scope::<$starter>().await
        }
        #[tokio::test]
        async fn mcp_refuses_a_bad_token_as_invalid_token_and_a_narrow_one_as_insufficient_scope() {
            $crate::testing::mcp::mcp_refuses_a_bad_token_as_invalid_token_and_a_narrow_one_as_insufficient_scope::<$starter>().await
        }
        #[tokio::test]
        async fn mcp_refuses_a_token_from_another_authorization_server() {
            $crate::testing::mcp::mcp_refuses_a_token_from_another_authorization_server::<$starter>().await
        }
        #[tokio::test]
        async fn mcp_refuses_requests_for_another_host_name() {
            $crate::testing::mcp::mcp_refuses_requests_for_another_host_name::<$starter>().await
        }
    };
}

/// The scenario of [`oauth2_client`](crate::testing::oauth2_client), as `#[tokio::test]`s for the server of `$starter` (a
/// [`Starter`](crate::testing::Starter)).
#[macro_export]
macro_rules! oauth2_client_tests {
    ($starter:ty) => {
        #[tokio::test]
        async fn oauth2_crate_client_completes_discovery_registration_code_refresh_and_revocation() {
            $crate::testing::oauth2_client::oauth2_crate_client_completes_discovery_registration_code_refresh_and_revocation::<$starter>().await
        }
    };
}

/// The scenarios of [`startup`](crate::testing::startup), as `#[tokio::test]`s for the server of `$starter` (a
/// [`Starter`](crate::testing::Starter)).
#[macro_export]
macro_rules! startup_tests {
    ($starter:ty) => {
        #[tokio::test]
        async fn banner_prints_the_urls_and_generated_demo_credentials() {
            $crate::testing::startup::banner_prints_the_urls_and_generated_demo_credentials::<$starter>().await
        }
        #[tokio::test]
        async fn without_a_key_a_server_with_a_public_issuer_refuses_to_start() {
            $crate::testing::startup::without_a_key_a_server_with_a_public_issuer_refuses_to_start::<$starter>().await
        }
        #[tokio::test]
        async fn plain_http_is_refused_for_a_non_loopback_issuer_and_issuers_with_a_path() {
            $crate::testing::startup::plain_http_is_refused_for_a_non_loopback_issuer_and_issuers_with_a_path::<$starter>().await
        }
        #[tokio::test]
        async fn auto_consent_is_refused_unless_the_issuer_is_loopback_and_the_user_exists() {
            $crate::testing::startup::auto_consent_is_refused_unless_the_issuer_is_loopback_and_the_user_exists::<$starter>().await
        }
        #[tokio::test]
        async fn development_modes_are_refused_on_a_non_loopback_address_even_with_a_loopback_issuer() {
            $crate::testing::startup::development_modes_are_refused_on_a_non_loopback_address_even_with_a_loopback_issuer::<$starter>().await
        }
        #[tokio::test]
        async fn an_https_issuer_behind_a_plain_listener_gets_secure_host_cookies_and_hsts() {
            $crate::testing::startup::an_https_issuer_behind_a_plain_listener_gets_secure_host_cookies_and_hsts::<$starter>().await
        }
        #[tokio::test]
        async fn tls_with_a_plain_http_issuer_is_refused() {
            $crate::testing::startup::tls_with_a_plain_http_issuer_is_refused::<$starter>().await
        }
        #[tokio::test]
        async fn auto_consent_answers_a_valid_request_with_code_state_and_iss_and_still_validates() {
            $crate::testing::startup::auto_consent_answers_a_valid_request_with_code_state_and_iss_and_still_validates::<$starter>().await
        }
        #[tokio::test]
        async fn the_redis_store_option_serves_the_whole_flow() {
            $crate::testing::startup::the_redis_store_option_serves_the_whole_flow::<$starter>().await
        }
        #[tokio::test]
        async fn the_key_value_store_option_serves_the_whole_flow_and_keeps_tokens_in_its_file() {
            $crate::testing::startup::the_key_value_store_option_serves_the_whole_flow_and_keeps_tokens_in_its_file::<$starter>().await
        }
    };
}

/// The scenarios of [`restart`](crate::testing::restart), as `#[tokio::test]`s for the server of `$starter` (a
/// [`Starter`](crate::testing::Starter)).
#[macro_export]
macro_rules! restart_tests {
    ($starter:ty) => {
        #[tokio::test]
        async fn tokens_survive_a_restart_on_the_same_sqlite_file() {
            $crate::testing::restart::tokens_survive_a_restart_on_the_same_sqlite_file::<$starter>()
                .await
        }
        #[tokio::test]
        async fn a_restart_with_another_key_accepts_none_of_the_old_tokens() {
            $crate::testing::restart::a_restart_with_another_key_accepts_none_of_the_old_tokens::<
                $starter,
            >()
            .await
        }
    };
}

/// The scenarios of [`connections`](crate::testing::connections) that every example passes
/// alike, as `#[tokio::test]`s for the server of `$starter` (a
/// [`Starter`](crate::testing::Starter)).
#[macro_export]
macro_rules! connection_tests {
    ($starter:ty) => {
        #[tokio::test]
        async fn a_client_that_never_finishes_its_headers_is_disconnected() {
            $crate::testing::connections::a_client_that_never_finishes_its_headers_is_disconnected::<
                $starter,
            >()
            .await
        }
    };
}
