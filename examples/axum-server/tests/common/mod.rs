//! What the example server's HTTP tests share: a server on a random loopback port in its
//! own temporary directory, a cookie-keeping "browser" client, PKCE, form scraping.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Parser;
use example_axum_server::{start, RunningServer, Settings};
use oauth_core::{OsRandom, SecureRandom};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

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
    let dir = std::env::temp_dir().join(format!("example-axum-server-{}", random(9)));
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
    /// Starts a server with the base flags plus `extra`.
    pub async fn start(extra: &[&str]) -> TestServer {
        Self::start_in(temp_dir(), extra).await
    }

    /// Starts a server whose files live in `dir`.
    pub async fn start_in(dir: PathBuf, extra: &[&str]) -> TestServer {
        let mut args = base_args(&dir);
        args.extend(extra.iter().map(|s| s.to_string()));
        let settings = Settings::try_parse_from(args).unwrap();
        let server = start(settings).await.unwrap();
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

    /// Registers a public client for the authorization-code and refresh grants.
    pub async fn register(&self, name: &str, redirect_uri: &str) -> String {
        let response = self
            .client()
            .post(self.url("/register"))
            .json(&json!({
                "client_name": name,
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }
}

/// A PKCE pair (RFC 7636): a 256-bit verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
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
