//! The HTML pages, rendered with `maud` (every interpolated value is escaped). No
//! JavaScript: every action is a plain form.

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Small inline stylesheet (the page CSP allows inline styles, nothing external).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;\
padding:0 1rem;line-height:1.5;color:#222}h1{font-size:1.4rem}\
label{display:block;margin:.6rem 0 .2rem}input[type=text],input[type=password]{width:100%;\
padding:.4rem;box-sizing:border-box}button{padding:.45rem 1.1rem;margin:.8rem .5rem 0 0;\
cursor:pointer}.error{color:#a00}.muted{color:#666;font-size:.9rem}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;\
border-bottom:1px solid #ddd;vertical-align:top}code{background:#f3f3f3;padding:0 .2rem}\
header{display:flex;justify-content:space-between;align-items:baseline}header button{margin:0 0 0 .6rem}";

/// Who is logged in, for the header (with the logout form's CSRF token).
pub(crate) struct Header<'a> {
    pub(crate) user: Option<&'a str>,
    pub(crate) csrf: &'a str,
}

fn layout(title: &str, header: &Header<'_>, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/" { "OAuth 2.1 example server" }
                    @if let Some(user) = header.user {
                        form method="post" action="/logout" {
                            span.muted { "Signed in as " strong { (user) } " · " }
                            a href="/account" { "Authorized apps" }
                            input type="hidden" name="csrf" value=(header.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
    .into_string()
}

/// The home page: what this server is and where things are; `glue` names the web
/// framework's glue crate (`oauth-axum`, `oauth-actix`).
pub(crate) fn home(base: &str, glue: &str, header: &Header<'_>) -> String {
    let metadata = format!("{base}/.well-known/oauth-authorization-server");
    let resource_metadata = format!("{base}/.well-known/oauth-protected-resource/mcp");
    layout(
        "OAuth 2.1 example server",
        header,
        html! {
            h1 { "OAuth 2.1 example server" }
            p { "An authorization server with a protected API and MCP endpoint, built on "
                code { "oauth-core" } " and " code { (glue) } "." }
            table {
                tr { th { "Authorization server metadata" } td { a href=(metadata) { (metadata) } } }
                tr { th { "MCP endpoint" } td { code { (base) "/mcp" } } }
                tr { th { "Protected resource metadata" } td { a href=(resource_metadata) { (resource_metadata) } } }
                tr { th { "Demo API" } td { code { (base) "/api/me" } } }
            }
            p { a href="/account" { "Your authorized apps" } }
        },
    )
}

/// What the login form carries through: the pending authorization's ticket, or the
/// page to return to.
pub(crate) struct LoginView<'a> {
    pub(crate) csrf: &'a str,
    pub(crate) ticket: Option<&'a str>,
    pub(crate) return_to: Option<&'a str>,
    pub(crate) client: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
}

/// The login page.
pub(crate) fn login(view: &LoginView<'_>) -> String {
    let header = Header {
        user: None,
        csrf: view.csrf,
    };
    layout(
        "Sign in",
        &header,
        html! {
            h1 { "Sign in" }
            @if let Some(client) = view.client {
                p { strong { (client) } " asks to access your account. Sign in to continue." }
            }
            @if let Some(error) = view.error {
                p.error role="alert" { (error) }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(view.csrf);
                @if let Some(ticket) = view.ticket {
                    input type="hidden" name="ticket" value=(ticket);
                }
                @if let Some(return_to) = view.return_to {
                    input type="hidden" name="return_to" value=(return_to);
                }
                label for="username" { "User name" }
                input #username type="text" name="username" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button #sign-in type="submit" { "Sign in" }
            }
        },
    )
}

/// What the consent page shows about the request.
pub(crate) struct ConsentView<'a> {
    pub(crate) user: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) ticket: &'a str,
    pub(crate) client_name: Option<&'a str>,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_host: Option<String>,
    pub(crate) loopback: bool,
    pub(crate) scopes: Vec<&'a str>,
    pub(crate) resources: Vec<&'a str>,
}

/// What a scope lets the client do, in words.
fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "mcp:tools" => "List and call the tools of this server's MCP endpoint",
        "profile" => "Read your user name (the demo API)",
        "offline_access" => "Keep access when you are away (refresh tokens)",
        _ => "A permission this server defines",
    }
}

/// The consent page: who asks, where the answer goes, for what; Approve or Deny.
pub(crate) fn consent(view: &ConsentView<'_>) -> String {
    let header = Header {
        user: Some(view.user),
        csrf: view.csrf,
    };
    layout(
        "Authorize access",
        &header,
        html! {
            h1 {
                "Allow "
                @match view.client_name { Some(name) => strong { (name) }, None => code { (view.client_id) } }
                " to access your account?"
            }
            @if view.client_name.is_some() {
                p.muted { "The name is the application's own claim. Client ID: " code { (view.client_id) } }
            }
            p {
                "After you decide, you are sent to "
                strong { (view.redirect_host.as_deref().unwrap_or("the application")) }
                @if view.loopback { " (a program on this computer)" }
                "."
            }
            h2 { "It asks to" }
            ul {
                @for scope in &view.scopes {
                    li { (describe_scope(scope)) " " span.muted { "(" code { (scope) } ")" } }
                }
            }
            @if !view.resources.is_empty() {
                p { "For use with: "
                    @for (i, resource) in view.resources.iter().enumerate() {
                        @if i > 0 { ", " }
                        code { (resource) }
                    }
                }
            }
            form method="post" action="/consent" {
                input type="hidden" name="csrf" value=(view.csrf);
                input type="hidden" name="ticket" value=(view.ticket);
                button #approve type="submit" name="decision" value="approve" { "Approve" }
                button #deny type="submit" name="decision" value="deny" { "Deny" }
            }
        },
    )
}

/// One grant on the "authorized apps" page.
pub(crate) struct GrantView {
    pub(crate) id: String,
    pub(crate) client: String,
    pub(crate) scope: String,
    pub(crate) resources: String,
    pub(crate) since: String,
}

/// The user's authorized apps, each with a Revoke button.
pub(crate) fn account(user: &str, csrf: &str, grants: &[GrantView]) -> String {
    let header = Header {
        user: Some(user),
        csrf,
    };
    layout(
        "Authorized apps",
        &header,
        html! {
            h1 { "Authorized apps" }
            @if grants.is_empty() {
                p { "No application has access to your account." }
            } @else {
                table {
                    tr { th { "Application" } th { "Access" } th { "Since" } th {} }
                    @for grant in grants {
                        tr {
                            td { (grant.client) }
                            td { code { (grant.scope) } @if !grant.resources.is_empty() { br; span.muted { (grant.resources) } } }
                            td { (grant.since) }
                            td {
                                form method="post" action="/account/revoke" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="grant" value=(grant.id);
                                    button type="submit" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A page that moves on to `target` by itself (`<meta http-equiv="refresh">`), with a
/// link as well. Used after a form submission instead of a redirect chain that leaves the
/// site: browsers apply the submitting page's CSP `form-action` to every redirect that
/// follows a submission, but not to a new navigation.
pub(crate) fn continue_to(target: &str) -> String {
    let refresh = format!("0;url={target}");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content=(refresh);
                title { "Continue" }
            }
            body {
                p { a #continue href=(target) { "Continue" } }
            }
        }
    }
    .into_string()
}

/// An error page: what went wrong, never a redirect.
pub(crate) fn error(title: &str, message: &str) -> String {
    let header = Header {
        user: None,
        csrf: "",
    };
    layout(
        title,
        &header,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "Home" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_page_names_the_glue_crate() {
        let header = Header {
            user: None,
            csrf: "",
        };
        let page = home("http://127.0.0.1:8081", "oauth-actix", &header);
        assert!(page.contains("<code>oauth-actix</code>"), "{page}");
        assert!(page.contains("http://127.0.0.1:8081/mcp"));
    }

    #[test]
    fn pages_escape_what_clients_and_requests_supply() {
        let view = ConsentView {
            user: "alice",
            csrf: "c",
            ticket: "t\"><script>",
            client_name: Some("<script>alert(1)</script>"),
            client_id: "id",
            redirect_host: Some("evil\"host".to_owned()),
            loopback: false,
            scopes: vec!["<b>"],
            resources: vec!["https://x/<i>"],
        };
        let page = consent(&view);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<b>"));
        assert!(!page.contains("<i>"));
    }

    #[test]
    fn consent_page_shows_client_redirect_host_scopes_and_resource() {
        let view = ConsentView {
            user: "alice",
            csrf: "c",
            ticket: "t",
            client_name: Some("Inspector"),
            client_id: "client-1",
            redirect_host: Some("127.0.0.1".to_owned()),
            loopback: true,
            scopes: vec!["mcp:tools", "profile"],
            resources: vec!["http://127.0.0.1:8080/mcp"],
        };
        let page = consent(&view);
        for expected in [
            "Inspector",
            "client-1",
            "127.0.0.1",
            "a program on this computer",
            "mcp:tools",
            "profile",
            "http://127.0.0.1:8080/mcp",
            "value=\"approve\"",
            "value=\"deny\"",
        ] {
            assert!(page.contains(expected), "{expected} missing");
        }
    }
}
