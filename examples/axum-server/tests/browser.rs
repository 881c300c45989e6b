//! The real-browser end-to-end test: headless Chromium, driven over WebDriver
//! (`chromedriver` + `fantoccini`), signs in on the login page, answers the consent page
//! and lands on a client's callback; the test then exchanges the code as the client
//! would, and uses the token.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`): `scripts/install-browser` installs them. Without them the tests
//! fail, they are never skipped.
//!
//! Screenshots of the pages go to `<target>/test-artifacts/browser/` (never committed),
//! together with each test's chromedriver log.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Parser;
use example_axum_server::{start, RunningServer, Settings};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use oauth_core::{OsRandom, SecureRandom};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery";
const SCOPE: &str = "mcp:tools profile";

/// How long any one step may take: page loads, chromedriver's start, the callback.
const STEP: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// The titles of the server's error pages.
const ERROR_PAGES: [&str; 5] = [
    "Form expired",
    "Bad request",
    "Authorization request refused",
    "Unavailable",
    "Not found",
];

/// Random base64url text with `bytes` bytes of entropy, from the OS.
fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRandom.fill(&mut buffer).expect("OS random source");
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("example-axum-browser-{label}-{}", random(9)));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where screenshots and logs go: `<target>/test-artifacts/browser/`, created if needed.
fn artifacts_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir), // an absolute CARGO_TARGET_DIR replaces the base
        None => workspace.join("target"),
    };
    let dir = target.join("test-artifacts").join("browser");
    std::fs::create_dir_all(&dir).expect("create the test artifacts directory");
    dir.canonicalize().unwrap_or(dir)
}

/// Fails (never skips) when the browser is not installed.
fn require_browser() {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "the browser test needs {} (Debian packages `chromium` and `chromium-driver`), \
         missing here: run `scripts/install-browser`",
        missing.join(" and "),
    );
}

fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A `chromedriver` child process in its own process group; dropping it (also during a
/// panic) kills the group, so no Chromium outlives the test.
struct ChromeDriver {
    child: Child,
    url: String,
    log: PathBuf,
    /// Whether the child was seen to exit (and reaped): its id may be reused.
    exited: bool,
}

impl ChromeDriver {
    fn start(test: &str) -> ChromeDriver {
        use std::os::unix::process::CommandExt;

        require_browser();
        let port = free_port();
        let log = artifacts_dir().join(format!("chromedriver-{test}.log"));
        let log_file = std::fs::File::create(&log).expect("create the chromedriver log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file handle"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {CHROMEDRIVER} ({e}): run `scripts/install-browser`")
            });
        let mut driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            exited: false,
        };
        let deadline = Instant::now() + STEP;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        while TcpStream::connect_timeout(&address, POLL).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                driver.exited = true;
                panic!("chromedriver exited with {status}: {}", driver.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within {STEP:?}: {}",
                driver.log_tail()
            );
            std::thread::sleep(POLL);
        }
        driver
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("log {}:\n{tail}", self.log.display())
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        // The group holds chromedriver and the Chromium processes it started; its id is
        // chromedriver's, not yet reaped.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium in a fresh profile, behind its own chromedriver.
struct Browser {
    client: Client,
    // Dropped in this order: the WebDriver client, the driver (killing Chromium), and
    // then the profile directory.
    driver: ChromeDriver,
    _profile: TempDir,
    artifacts: PathBuf,
    test: String,
}

impl Browser {
    async fn start(test: &str) -> Browser {
        let artifacts = artifacts_dir();
        let _ = std::fs::remove_file(artifacts.join(format!("failure-{test}.png")));
        let driver = ChromeDriver::start(test);
        let profile = TempDir::new("profile");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1000,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connecting = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await;
        let client = match connecting {
            Ok(client) => client,
            Err(e) => panic!(
                "Chromium did not start through chromedriver: {e}\n{}",
                driver.log_tail()
            ),
        };
        Browser {
            client,
            driver,
            _profile: profile,
            artifacts,
            test: test.to_owned(),
        }
    }

    async fn goto(&self, url: &str) {
        tokio::time::timeout(STEP, self.client.goto(url))
            .await
            .unwrap_or_else(|_| panic!("loading {url} took more than {STEP:?}"))
            .unwrap_or_else(|e| panic!("loading {url}: {e}"));
    }

    /// Waits for an element matching the CSS `selector`. Fails with what the browser
    /// shows instead after [`STEP`], or at once on one of the server's error pages or a
    /// page with an alert (such as a refused password).
    async fn wait_for(&self, selector: &str) -> Element {
        self.wait_for_element(Locator::Css(selector)).await
    }

    /// As [`Browser::wait_for`], for any locator.
    async fn wait_for_element(&self, locator: Locator<'_>) -> Element {
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(element) = self.client.find(locator).await {
                return element;
            }
            let title = self.client.title().await.unwrap_or_default();
            let refused = ERROR_PAGES.contains(&title.as_str())
                || self.client.find(Locator::Css("[role=alert]")).await.is_ok();
            if refused || Instant::now() >= deadline {
                let waited = if refused {
                    "the server refused"
                } else {
                    "timed out"
                };
                panic!(
                    "waiting for {locator:?}: {waited}; {}",
                    self.failure_report().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Where the browser is and what it shows, with a screenshot saved for a failure
    /// message.
    async fn failure_report(&self) -> String {
        let screenshot = match self.client.screenshot().await {
            Ok(png) => {
                let path = self.artifacts.join(format!("failure-{}.png", self.test));
                match std::fs::write(&path, png) {
                    Ok(()) => path.display().to_string(),
                    Err(e) => format!("<not saved: {e}>"),
                }
            }
            Err(e) => format!("<none: {e}>"),
        };
        format!(
            "the browser is at {} (screenshot {screenshot}) showing:\n{}",
            self.url().await,
            self.text().await
        )
    }

    async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .unwrap_or_else(|e| format!("<unknown: {e}>"))
    }

    /// The visible text of the page.
    async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("<no page: {e}>"),
        }
    }

    /// Saves a PNG of the page as `<artifacts>/<name>` and prints its path.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let path = self.artifacts.join(name);
        std::fs::write(&path, png).expect("write the screenshot");
        println!("screenshot: {}", path.display());
        path
    }

    /// Fills in the login form shown now and submits it.
    async fn sign_in(&self, user: &str, password: &str) {
        self.wait_for("#username")
            .await
            .send_keys(user)
            .await
            .expect("type the user name");
        self.wait_for("#password")
            .await
            .send_keys(password)
            .await
            .expect("type the password");
        self.wait_for("#sign-in")
            .await
            .click()
            .await
            .expect("click Sign in");
    }

    /// Ends the WebDriver session (Chromium quits); the driver is killed on drop.
    async fn close(self) {
        let Browser { client, driver, .. } = self;
        if let Err(e) = client.close().await {
            eprintln!("closing the browser: {e}\n{}", driver.log_tail());
        }
    }
}

/// The authorization server under test, in-process, with an in-memory store.
struct AuthServer {
    server: RunningServer,
    base: String,
    _dir: TempDir,
}

impl AuthServer {
    async fn start() -> AuthServer {
        let dir = TempDir::new("server");
        let key = dir.path().join("server.key");
        let cert = dir.path().join("cert.pem");
        let user = format!("{USER}:{PASSWORD}");
        let settings = Settings::try_parse_from([
            "server",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--user",
            user.as_str(),
            "--dev-key-file",
            key.to_str().expect("UTF-8 temporary path"),
            "--dev-cert-file",
            cert.to_str().expect("UTF-8 temporary path"),
        ])
        .expect("settings");
        let server = start(settings).await.expect("the server starts");
        let base = server.base_url().to_owned();
        AuthServer {
            server,
            base,
            _dir: dir,
        }
    }

    async fn shutdown(self) {
        self.server.shutdown().await.expect("the server shuts down");
    }
}

/// The query parameters of a request to the callback.
type Params = HashMap<String, String>;

/// The client's redirect endpoint: records the query of every request to `/callback`
/// and answers a small page.
struct Callback {
    uri: String,
    received: watch::Receiver<Vec<Params>>,
    server: tokio::task::JoinHandle<()>,
}

impl Callback {
    async fn start() -> Callback {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the callback server");
        let port = listener.local_addr().expect("callback address").port();
        let (record, received) = watch::channel(Vec::new());
        let app = Router::new()
            .route("/callback", get(Self::handle))
            .with_state(Arc::new(record));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("callback server");
        });
        Callback {
            // `localhost`, not the server's `127.0.0.1`: over plain http the server
            // refuses a redirect to its own host, which would receive its cookies.
            uri: format!("http://localhost:{port}/callback"),
            received,
            server,
        }
    }

    async fn handle(
        State(record): State<Arc<watch::Sender<Vec<Params>>>>,
        Query(query): Query<Params>,
    ) -> Html<&'static str> {
        record.send_modify(|all| all.push(query));
        Html("<!DOCTYPE html><title>Callback</title><h1>Callback received</h1><p>You can close this window.</p>")
    }

    /// The first request's query, waiting for it; fails if none comes or if more than
    /// one did.
    async fn wait(&mut self, browser: &Browser) -> Params {
        let arrived =
            tokio::time::timeout(STEP, self.received.wait_for(|all| !all.is_empty())).await;
        let all = match arrived {
            Ok(Ok(all)) => all.clone(),
            _ => panic!(
                "the callback received nothing within {STEP:?}; {}",
                browser.failure_report().await
            ),
        };
        assert_eq!(
            all.len(),
            1,
            "the callback was called more than once: {all:?}"
        );
        all.into_iter().next().expect("one query")
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A registered public client with PKCE, for one authorization request.
struct OAuthClient {
    name: String,
    client_id: String,
    redirect_uri: String,
    verifier: String,
    state: String,
}

impl OAuthClient {
    /// Registers a client (dynamic registration) redirecting to `redirect_uri`.
    async fn register(
        http: &reqwest::Client,
        base: &str,
        name: &str,
        redirect_uri: &str,
    ) -> OAuthClient {
        let response = http
            .post(format!("{base}/register"))
            .json(&json!({
                "client_name": name,
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            }))
            .send()
            .await
            .expect("register");
        let status = response.status();
        let body: Value = response.json().await.expect("registration JSON");
        assert_eq!(status, StatusCode::CREATED, "registration: {body}");
        OAuthClient {
            name: name.to_owned(),
            client_id: body["client_id"].as_str().expect("client_id").to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            verifier: random(32),
            state: random(16),
        }
    }

    /// The authorization request URL (code flow, PKCE S256).
    fn authorize_url(&self, base: &str) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()));
        let mut url = url::Url::parse(&format!("{base}/authorize")).expect("authorize URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", SCOPE)
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Sends the code to the token endpoint.
    async fn redeem(&self, http: &reqwest::Client, base: &str, code: &str) -> reqwest::Response {
        http.post(format!("{base}/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("client_id", &self.client_id),
                ("code_verifier", &self.verifier),
            ])
            .send()
            .await
            .expect("token request")
    }

    /// Exchanges the code at the token endpoint; returns the token response.
    async fn exchange(&self, http: &reqwest::Client, base: &str, code: &str) -> Value {
        let response = self.redeem(http, base, code).await;
        let status = response.status();
        let body: Value = response.json().await.expect("token JSON");
        assert_eq!(status, StatusCode::OK, "token response: {body}");
        body
    }
}

/// `GET /api/me` with the token: the status and the JSON body (if any).
async fn api_me(http: &reqwest::Client, base: &str, access_token: &str) -> (StatusCode, Value) {
    let response = http
        .get(format!("{base}/api/me"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("/api/me");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(STEP)
        .build()
        .expect("HTTP client")
}

/// Everything one test needs: the server, the client's callback, a registered client,
/// the browser.
struct Scene {
    server: AuthServer,
    callback: Callback,
    client: OAuthClient,
    browser: Browser,
    http: reqwest::Client,
}

impl Scene {
    async fn start(test: &str, client_name: &str) -> Scene {
        let server = AuthServer::start().await;
        let callback = Callback::start().await;
        let http = http_client();
        let client = OAuthClient::register(&http, &server.base, client_name, &callback.uri).await;
        let browser = Browser::start(test).await;
        Scene {
            server,
            callback,
            client,
            browser,
            http,
        }
    }

    /// Opens the authorization request, signs in, and checks the consent page; returns
    /// with the consent page shown.
    async fn sign_in_to_consent(&self, screenshots: bool) {
        let browser = &self.browser;
        browser
            .goto(&self.client.authorize_url(&self.server.base))
            .await;
        browser.wait_for("#sign-in").await;
        let login = browser.text().await;
        assert!(login.contains("Sign in"), "not the login page:\n{login}");
        assert!(
            login.contains(&format!("{} asks to access your account", self.client.name)),
            "the login page does not name the client:\n{login}"
        );
        if screenshots {
            browser.screenshot("login.png").await;
        }
        browser.sign_in(USER, PASSWORD).await;

        browser.wait_for("#approve").await;
        browser.wait_for("#deny").await;
        let title = browser.client.title().await.expect("title");
        assert_eq!(title, "Authorize access");
        let heading = browser.wait_for("h1").await.text().await.expect("heading");
        assert_eq!(
            heading,
            format!("Allow {} to access your account?", self.client.name)
        );
        let consent = browser.text().await;
        for expected in [
            format!("Signed in as {USER}"),
            format!("Client ID: {}", self.client.client_id),
            "After you decide, you are sent to localhost (a program on this computer).".to_owned(),
            "(mcp:tools)".to_owned(),
            "(profile)".to_owned(),
            format!("For use with: {}/mcp", self.server.base),
        ] {
            assert!(
                consent.contains(&expected),
                "the consent page lacks {expected:?}:\n{consent}"
            );
        }
        if screenshots {
            browser.screenshot("consent.png").await;
        }
        assert!(
            self.callback.received.borrow().is_empty(),
            "the client was called before the user decided"
        );
    }

    /// Clicks Approve, waits for the callback, checks it, exchanges the code; returns the
    /// code and the token response.
    async fn approve_and_exchange(&mut self) -> (String, Value) {
        self.browser
            .wait_for("#approve")
            .await
            .click()
            .await
            .expect("click Approve");
        let query = self.callback.wait(&self.browser).await;
        assert_eq!(
            query.get("state"),
            Some(&self.client.state),
            "state: {query:?}"
        );
        assert_eq!(query.get("iss"), Some(&self.server.base), "iss: {query:?}");
        assert!(
            !query.contains_key("error"),
            "an error came back: {query:?}"
        );
        let code = query
            .get("code")
            .filter(|code| !code.is_empty())
            .expect("a code")
            .clone();
        // The browser itself ended on the client's page.
        let landed = self
            .browser
            .wait_for("h1")
            .await
            .text()
            .await
            .expect("callback page");
        assert_eq!(landed, "Callback received");
        assert!(self
            .browser
            .url()
            .await
            .starts_with(&format!("{}?", self.callback.uri)));

        let tokens = self
            .client
            .exchange(&self.http, &self.server.base, &code)
            .await;
        assert_eq!(
            tokens["token_type"]
                .as_str()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("bearer")
        );
        assert!(
            tokens["refresh_token"].is_string(),
            "no refresh token: {tokens}"
        );
        (code, tokens)
    }

    async fn finish(self) {
        self.browser.close().await;
        self.server.shutdown().await;
    }
}

fn access_token(tokens: &Value) -> &str {
    tokens["access_token"].as_str().expect("access_token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_signs_in_approves_and_the_client_gets_a_working_token() {
    let started = Instant::now();
    let mut scene = Scene::start("approve", "Browser Test App").await;
    scene.sign_in_to_consent(true).await;
    let (code, tokens) = scene.approve_and_exchange().await;
    scene.browser.screenshot("callback.png").await;

    let (status, me) = api_me(&scene.http, &scene.server.base, access_token(&tokens)).await;
    assert_eq!(status, StatusCode::OK, "/api/me: {me}");
    assert_eq!(me["user"], USER);
    assert_eq!(me["client_id"], scene.client.client_id.as_str());
    let scope = me["scope"].as_str().expect("scope");
    let mut granted: Vec<&str> = scope.split(' ').collect();
    granted.sort_unstable();
    assert_eq!(granted, ["mcp:tools", "profile"]);

    // The code works once; a replay is refused and revokes what it gave (OAuth 2.1 §4.1.3).
    let replay = scene
        .client
        .redeem(&scene.http, &scene.server.base, &code)
        .await;
    assert_eq!(
        replay.status(),
        StatusCode::BAD_REQUEST,
        "a code was redeemed twice"
    );
    let (status, _) = api_me(&scene.http, &scene.server.base, access_token(&tokens)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the token survived its code's replay"
    );
    scene.finish().await;
    println!("approve flow took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_denies_and_the_client_gets_access_denied() {
    let mut scene = Scene::start("deny", "Denied App").await;
    scene.sign_in_to_consent(false).await;
    scene
        .browser
        .wait_for("#deny")
        .await
        .click()
        .await
        .expect("click Deny");
    let query = scene.callback.wait(&scene.browser).await;
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("access_denied"),
        "{query:?}"
    );
    assert_eq!(
        query.get("state"),
        Some(&scene.client.state),
        "state: {query:?}"
    );
    assert_eq!(query.get("iss"), Some(&scene.server.base), "iss: {query:?}");
    assert!(
        !query.contains_key("code"),
        "a code came with the denial: {query:?}"
    );
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_apps_page_lists_the_client_and_revoke_ends_its_access() {
    let mut scene = Scene::start("revoke", "Revocable App").await;
    scene.sign_in_to_consent(false).await;
    let (_, tokens) = scene.approve_and_exchange().await;
    let token = access_token(&tokens);
    assert_eq!(
        api_me(&scene.http, &scene.server.base, token).await.0,
        StatusCode::OK
    );

    // Same browser, still signed in: the account page lists the grant.
    let browser = &scene.browser;
    browser
        .goto(&format!("{}/account", scene.server.base))
        .await;
    let row = format!("//tr[td[normalize-space()='{}']]", scene.client.name);
    let listed = browser.wait_for_element(Locator::XPath(&row)).await;
    let text = listed.text().await.expect("row text");
    assert!(
        text.contains("mcp:tools") && text.contains("profile"),
        "row: {text}"
    );
    browser.screenshot("account.png").await;
    listed
        .find(Locator::XPath(".//button[normalize-space()='Revoke']"))
        .await
        .expect("a Revoke button in the row")
        .click()
        .await
        .expect("click Revoke");

    // Back on the page, now empty.
    browser
        .wait_for_element(Locator::XPath(
            "//p[normalize-space()='No application has access to your account.']",
        ))
        .await;
    assert_eq!(
        browser.url().await,
        format!("{}/account", scene.server.base)
    );

    let (status, body) = api_me(&scene.http, &scene.server.base, token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revoked token still works: {body}"
    );
    let refresh = scene
        .http
        .post(format!("{}/token", scene.server.base))
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().expect("refresh_token"),
            ),
            ("client_id", &scene.client.client_id),
        ])
        .send()
        .await
        .expect("refresh request");
    assert_eq!(
        refresh.status(),
        StatusCode::BAD_REQUEST,
        "the revoked refresh token still works"
    );
    scene.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_for_the_client_reaches_it_after_sign_in_despite_the_login_pages_csp() {
    // A request without a PKCE challenge: an error for the client (invalid_request). An
    // anonymous visitor signs in first; then the browser must actually reach the client,
    // which a redirect chain from the login form would not (its CSP `form-action` does
    // not include the client). Only a real browser enforces that.
    let mut scene = Scene::start("error-after-login", "Erring App").await;
    let url = scene.client.authorize_url(&scene.server.base);
    let without_pkce: String = {
        let mut parsed = url::Url::parse(&url).expect("authorize URL");
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(key, _)| !key.starts_with("code_challenge"))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(kept);
        parsed.into()
    };
    scene.browser.goto(&without_pkce).await;
    scene.browser.wait_for("#sign-in").await;
    assert!(
        scene.callback.received.borrow().is_empty(),
        "an anonymous visitor was sent to the client"
    );
    scene.browser.sign_in(USER, PASSWORD).await;
    let query = scene.callback.wait(&scene.browser).await;
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("invalid_request"),
        "{query:?}"
    );
    assert_eq!(query.get("state"), Some(&scene.client.state), "{query:?}");
    assert!(!query.contains_key("code"), "{query:?}");
    scene.finish().await;
}
