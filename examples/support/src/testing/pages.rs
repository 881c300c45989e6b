//! The login, consent and "authorized apps" pages over real HTTP: what a browser sees,
//! and what a forged, replayed or cross-site form gets.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;

/// A loopback callback on another name than the server's host (`127.0.0.1`): over plain
/// http, a callback on the server's own host would receive its cookies.
const REDIRECT: &str = "http://localhost:9/callback";

async fn server_and_client<F: Starter>() -> (TestServer, String) {
    let server = TestServer::start_with::<F>(&["--store", "memory"]).await;
    let client_id = server.register("Demo client", REDIRECT).await;
    (server, client_id)
}

/// The login page `browser` gets for an authorization request of `client_id`.
async fn login_page(browser: &Browser, client_id: &str) -> Page {
    browser
        .get(&AuthorizeRequest::new(client_id, REDIRECT).path())
        .await
}

/// The consent page `browser` gets for an authorization request of `client_id`, once
/// signed in as the demo user.
async fn consent_page(browser: &Browser, client_id: &str) -> Page {
    let login = login_page(browser, client_id).await;
    browser.sign_in(&login, USER, PASSWORD).await
}

/// A scenario: see the tests of the same name.
pub async fn anonymous_authorization_request_shows_login_then_consent_with_client_host_and_scopes<
    F: Starter,
>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    let request = AuthorizeRequest::new(&client_id, REDIRECT);
    let login = browser.get(&request.path()).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.html.contains("Sign in") && login.html.contains("Demo client"));
    assert!(login.location().is_none());
    let consent = browser.sign_in(&login, USER, PASSWORD).await;
    assert_eq!(consent.status, StatusCode::OK);
    for shown in [
        "Demo client",
        &client_id,
        "After you decide, you are sent to <strong>localhost</strong>",
        "a program on this computer",
        "mcp:tools",
        "profile",
        &server.url("/mcp"),
    ] {
        assert!(consent.html.contains(shown), "consent page lacks {shown}");
    }
    // The consent form may lead to the client's redirect origin, nowhere else.
    let csp = consent.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' http://localhost:9"),
        "{csp}"
    );
    assert_page_headers(&consent);
    assert_page_headers(&login);
}

/// The headers every HTML page carries: no framing, no referrer, no caching.
fn assert_page_headers(page: &Page) {
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
}

/// A scenario: see the tests of the same name.
pub async fn every_page_and_error_page_carries_the_anti_framing_headers<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    assert_page_headers(&browser.get("/").await);
    assert_page_headers(&browser.get("/login").await);
    let duplicated = browser.get("/login?return_to=a&return_to=b").await;
    assert_eq!(duplicated.status, StatusCode::BAD_REQUEST);
    assert_page_headers(&duplicated);
    let unknown_client = AuthorizeRequest::new("nobody", REDIRECT);
    assert_page_headers(&browser.get(&unknown_client.path()).await);
    let forged = browser.post("/logout", &[("csrf", "x")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_page_headers(&forged);
    let malformed = browser.post("/consent", &[("csrf", "x")]).await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_page_headers(&malformed);
    consent_page(&browser, &client_id).await;
    assert_page_headers(&browser.get("/account").await);
}

/// A scenario: see the tests of the same name.
pub async fn a_redirect_to_the_servers_own_host_over_plain_http_is_refused_so_cookies_stay_home<
    F: Starter,
>() {
    // The server is http://127.0.0.1:<port>; browsers send its cookies to every port of
    // 127.0.0.1, so a callback there would receive the user's session.
    let server = TestServer::start_with::<F>(&["--store", "memory"]).await;
    let same_host = "http://127.0.0.1:9/callback";
    let client_id = server.register("Same-host client", same_host).await;
    let browser = server.browser();
    let login = browser
        .get(&AuthorizeRequest::new(&client_id, same_host).path())
        .await;
    assert_not_redirected(&login, StatusCode::BAD_REQUEST);
    assert!(login.html.contains("Redirect refused"), "{}", login.html);
    // Over https the cookies are `Secure` and never go to an http callback: allowed.
    let tls = TestServer::start_with::<F>(&["--store", "memory", "--tls-self-signed"]).await;
    let client_id = tls.register("Same-host client", same_host).await;
    let query = tls
        .browser()
        .authorize(
            &AuthorizeRequest::new(&client_id, same_host),
            USER,
            PASSWORD,
        )
        .await;
    assert!(param(&query, "code").is_some());
}

/// A scenario: see the tests of the same name.
pub async fn state_changing_forms_refuse_a_missing_or_foreign_csrf_token<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let tokens = tokens_for(&server, &client_id, REDIRECT, "profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let browser = server.browser();
    let consent = consent_page(&browser, &client_id).await;
    let ticket = consent.hidden("ticket");
    let grant = browser.get("/account").await.hidden("grant");
    let foreign = server.browser().get("/login").await.hidden("csrf");
    for csrf in ["", foreign.as_str()] {
        let consent = browser
            .post(
                "/consent",
                &[("csrf", csrf), ("ticket", &ticket), ("decision", "approve")],
            )
            .await;
        assert_eq!(consent.status, StatusCode::FORBIDDEN);
        let revoke = browser
            .post("/account/revoke", &[("csrf", csrf), ("grant", &grant)])
            .await;
        assert_eq!(revoke.status, StatusCode::FORBIDDEN);
        let logout = browser.post("/logout", &[("csrf", csrf)]).await;
        assert_eq!(logout.status, StatusCode::FORBIDDEN);
    }
    // Nothing happened: still signed in, the grant and its token alive.
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    assert_eq!(
        bearer_get(&server, "/api/me", access).await.status(),
        StatusCode::OK
    );
}

/// A scenario: see the tests of the same name.
pub async fn a_name_with_too_many_failed_logins_is_locked_even_for_the_right_password<
    F: Starter,
>() {
    let (server, _) = server_and_client::<F>().await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    for _ in 0..10 {
        let wrong = browser.sign_in(&login, USER, "wrong password").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    let locked = browser.sign_in(&login, USER, PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    // Another user is not affected.
    let other = browser.sign_in(&login, OTHER_USER, OTHER_PASSWORD).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
}

/// A scenario: see the tests of the same name.
pub async fn approval_redirects_with_code_state_and_iss_and_the_code_redeems_once<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let request = AuthorizeRequest::new(&client_id, REDIRECT);
    let query = server.browser().authorize(&request, USER, PASSWORD).await;
    assert_eq!(param(&query, "state"), Some(request.state.as_str()));
    assert_eq!(param(&query, "iss"), Some(server.base.as_str()));
    let code = param(&query, "code").unwrap();
    assert_eq!(request.redeem(&server, code).await.status(), StatusCode::OK);
    let replay = request.redeem(&server, code).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

/// A scenario: see the tests of the same name.
pub async fn deny_redirects_access_denied_with_state<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    let request = AuthorizeRequest::new(&client_id, REDIRECT);
    let login = browser.get(&request.path()).await;
    let consent = browser.sign_in(&login, USER, PASSWORD).await;
    let denied = browser.decide(&consent, "deny").await;
    assert_eq!(denied.status, StatusCode::SEE_OTHER);
    let query = redirect_query(&denied, REDIRECT);
    assert_eq!(param(&query, "error"), Some("access_denied"));
    assert_eq!(param(&query, "state"), Some(request.state.as_str()));
    assert_eq!(param(&query, "code"), None);
}

/// A scenario: see the tests of the same name.
pub async fn consent_ticket_completes_once<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    let consent = consent_page(&browser, &client_id).await;
    assert_eq!(
        browser.decide(&consent, "approve").await.status,
        StatusCode::SEE_OTHER
    );
    let again = browser.decide(&consent, "approve").await;
    assert_not_redirected(&again, StatusCode::BAD_REQUEST);
}

/// A scenario: see the tests of the same name.
pub async fn wrong_password_shows_the_login_form_again_without_saying_which_part_was_wrong<
    F: Starter,
>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    let login = login_page(&browser, &client_id).await;
    let wrong = browser.sign_in(&login, USER, "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("Wrong user name or password."));
    let unknown = browser.sign_in(&login, "mallory", "not the password").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.html.contains("Wrong user name or password."));
    // The pending request survives a failed attempt.
    let consent = browser.sign_in(&wrong, USER, PASSWORD).await;
    assert_eq!(consent.status, StatusCode::OK);
    assert!(consent.html.contains("Allow"));
}

/// A scenario: see the tests of the same name.
pub async fn forms_without_the_browsers_csrf_token_are_refused<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    let login = login_page(&browser, &client_id).await;
    let ticket = login.hidden("ticket");
    let forged = browser
        .post(
            "/login",
            &[
                ("csrf", "AAAA"),
                ("username", USER),
                ("password", PASSWORD),
                ("ticket", &ticket),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Another browser's token does not work either.
    let other = server.browser();
    let other_login = other.get("/login").await;
    let crossed = browser
        .post(
            "/login",
            &[
                ("csrf", &other_login.hidden("csrf")),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
}

/// A scenario: see the tests of the same name.
pub async fn cross_site_form_posts_are_refused_even_with_a_valid_token<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    let consent = consent_page(&browser, &client_id).await;
    let form = [
        ("csrf", consent.hidden("csrf")),
        ("ticket", consent.hidden("ticket")),
        ("decision", "approve".to_owned()),
    ];
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = browser
            .client
            .post(server.url("/consent"))
            .header(header, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{header}: {value}"
        );
    }
    // The same form from our own origin still works: nothing was consumed.
    assert_eq!(
        browser.decide(&consent, "approve").await.status,
        StatusCode::SEE_OTHER
    );
}

/// A scenario: see the tests of the same name.
pub async fn ticket_from_another_browser_is_refused<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let victim = server.browser();
    let login = login_page(&victim, &client_id).await;
    let stolen_ticket = login.hidden("ticket");
    // The attacker signs in in their own browser and submits the victim's ticket.
    let attacker = server.browser();
    let signed_in = attacker.sign_in_fresh(OTHER_USER, OTHER_PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let account = attacker.get("/account").await;
    let response = attacker
        .post(
            "/consent",
            &[
                ("csrf", &account.hidden("csrf")),
                ("ticket", &stolen_ticket),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_not_redirected(&response, StatusCode::BAD_REQUEST);
}

/// A scenario: see the tests of the same name.
pub async fn untrusted_redirect_uri_or_unknown_client_is_shown_as_a_page_never_redirected<
    F: Starter,
>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    let mut request = AuthorizeRequest::new(&client_id, "https://evil.example/callback");
    let page = browser.get(&request.path()).await;
    assert_not_redirected(&page, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("Authorization request refused"));
    request.client_id = "no-such-client".to_owned();
    request.redirect_uri = REDIRECT.to_owned();
    let page = browser.get(&request.path()).await;
    assert_not_redirected(&page, StatusCode::BAD_REQUEST);
    // Signed in or not, the answer is the same.
    browser.sign_in_fresh(USER, PASSWORD).await;
    let page = browser.get(&request.path()).await;
    assert_not_redirected(&page, StatusCode::BAD_REQUEST);
}

/// A scenario: see the tests of the same name.
pub async fn client_error_is_redirected_only_after_the_user_signs_in<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let browser = server.browser();
    // No PKCE challenge: an error for the client (invalid_request), at a valid redirect URI.
    let request = AuthorizeRequest::new(&client_id, REDIRECT);
    let path = request
        .path()
        .replace(&format!("&code_challenge={}", request.pkce.challenge), "");
    let login = browser.get(&path).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.location().is_none(),
        "an anonymous visitor is never redirected"
    );
    assert!(login.html.contains("Sign in"));
    // Signed in, the browser goes back to the request by a new navigation (a page that
    // moves on by itself): a redirect chain from the login form would be held to the
    // login page's CSP `form-action`, which does not include the client.
    let back = browser.sign_in(&login, USER, PASSWORD).await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.location().is_none());
    let refresh = format!("content=\"0;url={}\"", path.replace('&', "&amp;"));
    assert!(back.html.contains(&refresh), "{}", back.html);
    let redirect = browser.get(&path).await;
    let query = redirect_query(&redirect, REDIRECT);
    assert_eq!(param(&query, "error"), Some("invalid_request"));
    assert_eq!(param(&query, "state"), Some(request.state.as_str()));
}

/// A scenario: see the tests of the same name.
pub async fn login_return_to_only_leads_to_this_servers_pages<F: Starter>() {
    let (server, _) = server_and_client::<F>().await;
    for target in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/authorize/../x",
    ] {
        let browser = server.browser();
        let login = browser.get("/login").await;
        let csrf = login.hidden("csrf");
        let response = browser
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", USER),
                    ("password", PASSWORD),
                    ("return_to", target),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert_eq!(response.location().as_deref(), Some("/account"), "{target}");
    }
}

/// A scenario: see the tests of the same name.
pub async fn login_issues_a_new_session_cookie_each_time_and_logout_ends_it<F: Starter>() {
    let (server, _) = server_and_client::<F>().await;
    let browser = server.browser();
    let session_cookie = |page: &Page| {
        page.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("session="))
            .unwrap()
    };
    let first = browser.sign_in_fresh(USER, PASSWORD).await;
    let second = browser.sign_in_fresh(USER, PASSWORD).await;
    let (first, second) = (session_cookie(&first), session_cookie(&second));
    assert_ne!(first, second);
    assert!(first.contains("HttpOnly") && first.contains("SameSite=Lax"));
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    let out = browser
        .post("/logout", &[("csrf", &account.hidden("csrf"))])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = browser.get("/account").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(
        after.location().as_deref(),
        Some("/login?return_to=/account")
    );
    // Replayed by hand, neither old session cookie works: the first ended at the second
    // login (no fixation), the second at logout. The server forgot them, not just the
    // browser.
    let browser_cookie = browser.cookie("browser").unwrap();
    for session in [&first, &second] {
        let pair = session.split(';').next().unwrap();
        let replay = server
            .client()
            .get(server.url("/account"))
            .header("cookie", format!("browser={browser_cookie}; {pair}"))
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), StatusCode::SEE_OTHER, "{pair} still works");
    }
}

/// A scenario: see the tests of the same name.
pub async fn authorized_apps_page_lists_the_grant_and_revoking_it_kills_its_tokens<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let tokens = tokens_for(&server, &client_id, REDIRECT, "mcp:tools profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        bearer_get(&server, "/api/me", access).await.status(),
        StatusCode::OK
    );

    let browser = server.browser();
    let login = browser.get("/login?return_to=/account").await;
    let back = browser.sign_in(&login, USER, PASSWORD).await;
    assert_eq!(back.location().as_deref(), Some("/account"));
    let account = browser.get("/account").await;
    assert!(account.html.contains("Demo client"), "{}", account.html);
    let grant = account.hidden("grant");
    let revoked = browser
        .post(
            "/account/revoke",
            &[("csrf", &account.hidden("csrf")), ("grant", &grant)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(!browser.get("/account").await.html.contains("Demo client"));
    assert_eq!(
        bearer_get(&server, "/api/me", access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = server
        .refresh(tokens["refresh_token"].as_str().unwrap(), &client_id)
        .await;
    assert_eq!(refresh.status(), StatusCode::BAD_REQUEST);
}

/// A scenario: see the tests of the same name.
pub async fn a_user_cannot_revoke_another_users_grant<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let tokens = tokens_for(&server, &client_id, REDIRECT, "profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let alice = server.browser();
    alice.sign_in_fresh(USER, PASSWORD).await;
    let alices_grant = alice.get("/account").await.hidden("grant");

    let bob = server.browser();
    bob.sign_in_fresh(OTHER_USER, OTHER_PASSWORD).await;
    let bobs_page = bob.get("/account").await;
    let response = bob
        .post(
            "/account/revoke",
            &[
                ("csrf", &bobs_page.hidden("csrf")),
                ("grant", &alices_grant),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bearer_get(&server, "/api/me", access).await.status(),
        StatusCode::OK
    );
}

/// A scenario: see the tests of the same name.
pub async fn oversized_or_malformed_forms_get_an_error_page<F: Starter>() {
    let (server, _) = server_and_client::<F>().await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    let csrf = login.hidden("csrf");
    let huge = "x".repeat(64 * 1024);
    let response = browser
        .post(
            "/login",
            &[("csrf", &csrf), ("username", USER), ("password", &huge)],
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    let duplicated = browser
        .client
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={csrf}&username=alice&username=bob&password=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicated.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicated
        .text()
        .await
        .unwrap()
        .contains("The form could not be read."));
}

/// A scenario: see the tests of the same name.
pub async fn api_requires_a_token_with_the_profile_scope<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let none = server
        .client()
        .get(server.url("/api/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let challenge = none.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    let tokens = tokens_for(&server, &client_id, REDIRECT, "mcp:tools").await;
    let mcp_only = bearer_get(&server, "/api/me", tokens["access_token"].as_str().unwrap()).await;
    assert_insufficient_scope(&mcp_only, "profile");
}

/// A scenario: see the tests of the same name.
pub async fn default_scope_applies_when_the_request_names_none<F: Starter>() {
    let (server, client_id) = server_and_client::<F>().await;
    let mut request = AuthorizeRequest::new(&client_id, REDIRECT);
    request.scope = String::new();
    let path = request.path().replace("&scope=", "");
    let browser = server.browser();
    let login = browser.get(&path).await;
    let consent = browser.sign_in(&login, USER, PASSWORD).await;
    let query = redirect_query(&browser.decide(&consent, "approve").await, REDIRECT);
    let tokens = request.redeem_query(&server, &query).await;
    assert_eq!(tokens["scope"], "mcp:tools profile");
    assert!(
        tokens["refresh_token"].is_string(),
        "public clients get refresh tokens"
    );
}

/// A scenario: see the tests of the same name.
pub async fn with_require_offline_access_only_an_offline_access_grant_gets_a_refresh_token<
    F: Starter,
>() {
    let server =
        TestServer::start_with::<F>(&["--store", "memory", "--require-offline-access"]).await;
    let client_id = server.register("Offline client", REDIRECT).await;
    let online = tokens_for(&server, &client_id, REDIRECT, "mcp:tools").await;
    assert!(online["access_token"].is_string(), "{online}");
    assert!(online.get("refresh_token").is_none(), "{online}");
    let offline = tokens_for(&server, &client_id, REDIRECT, "mcp:tools offline_access").await;
    assert!(offline["refresh_token"].is_string(), "{offline}");
    assert_eq!(offline["scope"], "mcp:tools offline_access");
}
