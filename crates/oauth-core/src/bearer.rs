//! Bearer tokens at the resource server (OAuth 2.1 §5, RFC 6750, RFC 9728 §5.1).
//!
//! A token is read from the `Authorization` header (scheme case-insensitive, one or more
//! spaces, `token68` syntax) or, for a POST with a single-part form body, from the
//! `access_token` parameter. Never from the query string: a token there is ignored as if
//! absent (OAuth 2.1 §5.1, checklist conflict C-4). A token sent by more than one method
//! is `invalid_request`. Failures produce RFC 6750 challenges with `resource_metadata`
//! (RFC 9728) and, for `insufficient_scope`, the `scope` needed.

use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::crypto::Props;
use crate::error::{ErrorCode, Reason};
use crate::model::{ClientId, GrantId, UserId};
use crate::params::{is_form_content_type, Params};
use crate::resource::{Resource, ResourceSet};
use crate::response::HttpResponse;
use crate::scope::Scope;
use crate::time::UnixTime;

/// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// Reads the bearer token of a request. `Ok(None)` if the request carries none.
pub fn extract<B: AsRef<[u8]>>(request: &Request<B>) -> Result<Option<String>, Reason> {
    let mut headers = request.headers().get_all(AUTHORIZATION).iter();
    let header = headers.next();
    if headers.next().is_some() {
        return Err(Reason::DuplicateAuthorizationHeader);
    }
    let from_header = match header {
        None => None,
        Some(value) => {
            let value = value.to_str().map_err(|_| Reason::MalformedBearerRequest)?;
            match value.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
                    let token = rest.trim_start_matches(' ');
                    if !is_token68(token) {
                        return Err(Reason::MalformedBearerRequest);
                    }
                    Some(token.to_owned())
                }
                // Another scheme (Basic, DPoP, ...): not a bearer credential.
                _ => None,
            }
        }
    };
    // A body that is not a well-formed form cannot carry a second token; with a header
    // token present it is the application's payload, not a credential (RFC 6750 §2.2).
    let from_body = match body_token(request) {
        Err(_) if from_header.is_some() => None,
        other => other?,
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(Reason::MalformedBearerRequest),
        (Some(token), None) | (None, Some(token)) => Ok(Some(token)),
        (None, None) => Ok(None),
    }
}

/// The `access_token` form parameter, only for a POST (never GET) with a single-part
/// `application/x-www-form-urlencoded` all-ASCII body (RFC 6750 §2.2).
fn body_token<B: AsRef<[u8]>>(request: &Request<B>) -> Result<Option<String>, Reason> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return Ok(None);
    }
    let is_form = is_form_content_type(request.headers());
    let body = request.body().as_ref();
    if !is_form || !body.is_ascii() {
        return Ok(None);
    }
    let params = Params::parse(body).map_err(|_| Reason::MalformedBearerRequest)?;
    params
        .single("access_token")
        .map(|t| t.map(str::to_owned))
        .map_err(|_| Reason::MalformedBearerRequest)
}

/// What a bearer-protected request proved: who, for which client, with what scope.
/// `Debug` shows everything but the props, which may hold upstream credentials.
#[derive(Clone)]
#[non_exhaustive]
pub struct Access {
    /// The user the token speaks for; `None` for a client-credentials token, so the
    /// resource server can always tell the two apart.
    pub user_id: Option<UserId>,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The scope the token carries.
    pub scope: Scope,
    /// The audiences the token is valid for.
    pub audience: ResourceSet,
    /// The grant the token belongs to.
    pub grant_id: GrantId,
    /// When the token expires.
    pub expires_at: UnixTime,
    /// The host's props attached to the grant.
    pub props: Option<Props>,
    pub(crate) challenge: Challenge,
    /// The configured scope hierarchy, consulted by [`Access::require_scope`].
    pub(crate) hierarchy: std::sync::Arc<crate::scope::ScopeHierarchy>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("user_id", &self.user_id)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("grant_id", &self.grant_id)
            .field("expires_at", &self.expires_at)
            .field(
                "props",
                &self.props.as_ref().map(|_| crate::crypto::REDACTED),
            )
            .finish_non_exhaustive()
    }
}

/// What a protected route requires of a bearer token: the resource it serves (the
/// provider's one configured resource unless it names another) and the scopes it needs,
/// all of them. Checked by
/// [`Provider::authenticate_with`](crate::Provider::authenticate_with); the glues'
/// `RequireBearer` carry one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct BearerRequirement {
    resource: Option<Resource>,
    scope: Option<String>,
}

impl BearerRequirement {
    /// A token for the provider's one configured resource, any scope.
    pub fn new() -> Self {
        BearerRequirement::default()
    }

    /// A token for `resource` (on a provider that serves several).
    pub fn for_resource(resource: Resource) -> Self {
        BearerRequirement {
            resource: Some(resource),
            scope: None,
        }
    }

    /// Also requires `scope` (space-separated scopes, each required); repeated calls add
    /// up.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        self.scope = Some(match self.scope.take() {
            Some(required) => format!("{required} {scope}"),
            None => scope,
        });
        self
    }

    /// The resource named explicitly, if any.
    #[must_use]
    pub fn resource(&self) -> Option<&Resource> {
        self.resource.as_ref()
    }

    /// The scopes required, space-separated, if any.
    #[must_use]
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl Access {
    /// Requires every token of `scope` (one scope or several, space-delimited) to be part
    /// of the token's scope, or implied by one of its tokens through the configured
    /// [scope hierarchy](crate::ConfigBuilder::scope_implies) (MCP 2026-07-28: a broader
    /// scope implies narrower ones); otherwise a 403 `insufficient_scope` whose challenge
    /// names every scope the operation needs (RFC 6750 §3.1; MCP asks for all of them in
    /// one challenge). A malformed `scope` is never satisfied (the challenge then has no
    /// `scope`, as it cannot be expressed).
    pub fn require_scope(&self, scope: &str) -> Result<(), BearerError> {
        let required = Scope::parse(scope).ok();
        match &required {
            Some(required) if self.hierarchy.satisfies(&self.scope, required) => Ok(()),
            _ => Err(BearerError {
                reason: Some(Reason::InsufficientScope),
                required_scope: required,
                challenge: self.challenge.clone(),
            }),
        }
    }
}

/// The fixed parts of this resource server's challenges: the realm, the resource the
/// request was validated for and the scope a 401 names. The resource's RFC 9728 metadata
/// URL is derived only when a challenge is rendered, so a successful validation never pays
/// for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) realm: String,
    pub(crate) resource: Option<Resource>,
    /// The configured [`challenge_scope`](crate::ConfigBuilder::challenge_scope).
    pub(crate) scope: Option<Scope>,
}

impl Challenge {
    pub(crate) fn for_resource(realm: &str, resource: Option<&Resource>) -> Challenge {
        Challenge {
            realm: realm.to_owned(),
            resource: resource.cloned(),
            scope: None,
        }
    }

    /// The same challenge naming `scope` on 401 answers.
    pub(crate) fn with_scope(mut self, scope: Option<&Scope>) -> Challenge {
        self.scope = scope.cloned();
        self
    }

    fn resource_metadata(&self) -> Option<String> {
        self.resource.as_ref().and_then(Resource::metadata_url)
    }
}

/// The characters RFC 6750 §3 allows in challenge values: `%x20-21 / %x23-5B / %x5D-7E`.
fn is_challenge_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// A rejected bearer request; [`BearerError::into_response`] is the complete RFC 6750
/// answer.
#[derive(Clone, Debug)]
pub struct BearerError {
    /// Why; `None` when the request carried no token at all (then the challenge has no
    /// `error`, RFC 6750 §3.1).
    pub reason: Option<Reason>,
    /// The scope that would have sufficed, for `insufficient_scope`.
    pub required_scope: Option<Scope>,
    pub(crate) challenge: Challenge,
}

impl BearerError {
    /// The HTTP status: 401 without or with a bad token, 400 for a malformed request,
    /// 403 for insufficient scope, 503 when the store failed.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self.reason.map(Reason::code) {
            None | Some(ErrorCode::InvalidToken) => StatusCode::UNAUTHORIZED,
            Some(ErrorCode::InsufficientScope) => StatusCode::FORBIDDEN,
            Some(ErrorCode::TemporarilyUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
            Some(ErrorCode::ServerError) => StatusCode::INTERNAL_SERVER_ERROR,
            Some(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The `WWW-Authenticate` value: `Bearer` with `realm`, `resource_metadata`, and,
    /// when a token was sent, `error` (and `scope` for `insufficient_scope`). A 401 also
    /// names the configured [`challenge_scope`](crate::ConfigBuilder::challenge_scope).
    /// `offline_access` is never named (MCP 2026-07-28: it is no resource's requirement).
    /// Each parameter appears once; values come from configuration or [`Reason`] and keep
    /// only the characters RFC 6750 §3 allows in them (`%x20-21 / %x23-5B / %x5D-7E`: no
    /// `"`, no `\`, no control or non-ASCII character), so the value is always a valid
    /// header.
    #[must_use]
    pub fn challenge(&self) -> String {
        let mut params = vec![("realm", self.challenge.realm.clone())];
        if let Some(url) = self.challenge.resource_metadata() {
            params.push(("resource_metadata", url));
        }
        let named_scope = |scope: &Scope| {
            let named: Vec<&str> = scope
                .iter()
                .filter(|t| *t != crate::scope::OFFLINE_ACCESS)
                .collect();
            (!named.is_empty()).then(|| named.join(" "))
        };
        let mut scope = None;
        if let Some(reason) = self.reason {
            let code = reason.code();
            let error = match code {
                ErrorCode::InvalidToken | ErrorCode::InsufficientScope => code,
                ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => code,
                _ => ErrorCode::InvalidRequest,
            };
            params.push(("error", error.as_str().to_owned()));
            params.push(("error_description", reason.description().to_owned()));
            scope = self.required_scope.as_ref().and_then(named_scope);
        }
        if scope.is_none() && self.status() == StatusCode::UNAUTHORIZED {
            scope = self.challenge.scope.as_ref().and_then(named_scope);
        }
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        let rendered: Vec<String> = params
            .into_iter()
            .map(|(name, value)| {
                let clean: String = value.chars().filter(|c| is_challenge_char(*c)).collect();
                format!("{name}=\"{clean}\"")
            })
            .collect();
        format!("Bearer {}", rendered.join(", "))
    }

    /// The complete response.
    #[must_use]
    pub fn into_response(self) -> HttpResponse {
        let mut response = Response::new(Bytes::new());
        let status = self.status();
        *response.status_mut() = status;
        // A challenge answers missing or failed credentials (RFC 6750 §3); a server-side
        // failure is not one, and its code is not a Bearer error code.
        if !status.is_server_error() {
            if let Ok(value) = HeaderValue::from_str(&self.challenge()) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
        }
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CONTENT_TYPE;

    fn get(auth: Option<&str>, uri: &str) -> Request<Vec<u8>> {
        let mut b = Request::get(uri);
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(Vec::new()).unwrap()
    }

    fn challenge() -> Challenge {
        Challenge {
            realm: "api".to_owned(),
            resource: Some(Resource::parse("https://api.example").unwrap()),
            scope: None,
        }
    }

    #[test]
    fn rs_1_bearer_scheme_is_case_insensitive_with_one_or_more_spaces() {
        for header in ["bEaReR tok", "BEARER tok", "Bearer  tok", "Bearer tok=="] {
            let got = extract(&get(Some(header), "/")).unwrap().unwrap();
            assert!(got.starts_with("tok"), "{header}");
        }
    }

    #[test]
    fn rs_1_token_with_space_is_malformed() {
        assert_eq!(
            extract(&get(Some("Bearer tok with space"), "/")),
            Err(Reason::MalformedBearerRequest)
        );
    }

    #[test]
    fn rs_2_token_in_query_string_is_ignored() {
        assert_eq!(extract(&get(None, "/r?access_token=VALID")), Ok(None));
    }

    #[test]
    fn rs_3_form_body_token_only_for_post_form() {
        let post = Request::post("/")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b"access_token=tok".to_vec())
            .unwrap();
        assert_eq!(extract(&post).unwrap().as_deref(), Some("tok"));
        let get_with_body = Request::get("/")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b"access_token=tok".to_vec())
            .unwrap();
        assert_eq!(extract(&get_with_body), Ok(None));
        let multipart = Request::post("/")
            .header(CONTENT_TYPE, "multipart/form-data; boundary=x")
            .body(b"access_token=tok".to_vec())
            .unwrap();
        assert_eq!(extract(&multipart), Ok(None));
    }

    #[test]
    fn rs_4_token_sent_by_two_methods_is_invalid_request() {
        let both = Request::post("/")
            .header(AUTHORIZATION, "Bearer a")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b"access_token=b".to_vec())
            .unwrap();
        let reason = extract(&both).unwrap_err();
        let err = BearerError {
            reason: Some(reason),
            required_scope: None,
            challenge: challenge(),
        };
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.challenge().contains("error=\"invalid_request\""));
    }

    #[test]
    fn rs_6_rs_7_no_token_gives_a_challenge_with_params_and_no_error() {
        let err = BearerError {
            reason: None,
            required_scope: None,
            challenge: challenge(),
        };
        let c = err.challenge();
        assert!(c.starts_with("Bearer realm=\"api\""));
        assert!(c.contains(
            "resource_metadata=\"https://api.example/.well-known/oauth-protected-resource\""
        ));
        assert!(!c.contains("error"));
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn rs_9_status_codes_by_error() {
        let mk = |r| BearerError {
            reason: Some(r),
            required_scope: None,
            challenge: challenge(),
        };
        assert_eq!(
            mk(Reason::MalformedBearerRequest).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            mk(Reason::AccessTokenInvalid).status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            mk(Reason::InsufficientScope).status(),
            StatusCode::FORBIDDEN
        );
        assert!(mk(Reason::AccessTokenInvalid)
            .challenge()
            .contains("error=\"invalid_token\""));
    }

    #[test]
    fn mcp_17_a_401_names_the_challenge_scope_and_a_403_the_required_one() {
        let with_scope = challenge().with_scope(Some(&Scope::parse("files:read").unwrap()));
        let no_token = BearerError {
            reason: None,
            required_scope: None,
            challenge: with_scope.clone(),
        };
        assert!(no_token.challenge().contains(r#"scope="files:read""#));
        let invalid = BearerError {
            reason: Some(Reason::AccessTokenInvalid),
            required_scope: None,
            challenge: with_scope.clone(),
        };
        assert!(invalid.challenge().contains(r#"scope="files:read""#));
        let insufficient = BearerError {
            reason: Some(Reason::InsufficientScope),
            required_scope: Some(Scope::parse("files:write files:read").unwrap()),
            challenge: with_scope.clone(),
        };
        let c = insufficient.challenge();
        assert!(c.contains(r#"scope="files:read files:write""#), "{c}");
        assert_eq!(c.matches("scope=").count(), 1);
        // Not on a 400: the request was malformed, not unauthenticated.
        let malformed = BearerError {
            reason: Some(Reason::MalformedBearerRequest),
            required_scope: None,
            challenge: with_scope,
        };
        assert!(!malformed.challenge().contains("scope="));
    }

    #[test]
    fn mcp_14_offline_access_is_never_named_in_a_challenge() {
        let only_offline = BearerError {
            reason: None,
            required_scope: None,
            challenge: challenge().with_scope(Some(&Scope::parse("offline_access").unwrap())),
        };
        assert!(!only_offline.challenge().contains("scope="));
        let insufficient = BearerError {
            reason: Some(Reason::InsufficientScope),
            required_scope: Some(Scope::parse("offline_access write").unwrap()),
            challenge: challenge(),
        };
        let c = insufficient.challenge();
        assert!(c.contains(r#"scope="write""#), "{c}");
        assert!(!c.contains("offline_access"));
    }

    #[test]
    fn rs_10_challenge_params_appear_once_without_quotes_or_backslashes() {
        let err = BearerError {
            reason: Some(Reason::InsufficientScope),
            required_scope: Some(Scope::parse("write").unwrap()),
            challenge: Challenge {
                realm: "a\"b\\c".to_owned(),
                resource: None,
                scope: None,
            },
        };
        let c = err.challenge();
        for name in ["realm=", "scope=", "error=", "error_description="] {
            assert_eq!(
                c.matches(&format!(" {name}")).count() + c.matches(&format!(",{name}")).count(),
                1,
                "{name} in {c}"
            );
        }
        let inner: String = c
            .trim_start_matches("Bearer ")
            .replace("\", ", "")
            .replace("=\"", "");
        assert!(!inner.trim_end_matches('"').contains(['"', '\\']), "{c}");
    }
}

mod validation {
    //! Validating a presented access token against the store (RFC 6750, OAuth 2.1 §5.2).

    use http::Request;

    use super::{extract, Access, BearerError, Challenge};
    use crate::crypto::{parse_token, TokenHash, TokenKind};
    use crate::error::{Reason, StoreError};
    use crate::machine::Machine;
    use crate::model::AccessTokenWithGrant;
    use crate::resource::Resource;
    use crate::secret::Secret;
    use crate::time::UnixTime;

    /// What bearer validation needs next.
    #[must_use = "a step must be answered or its result used"]
    #[non_exhaustive]
    pub enum BearerStep<'m> {
        /// Look up the access token: [`Store::access_token`](crate::Store::access_token).
        NeedsAccessToken(AccessTokenLookup<'m>),
        /// Validation is complete.
        Done(Result<Access, BearerError>),
    }

    /// Asks for an access token by its keyed hash.
    pub struct AccessTokenLookup<'m> {
        machine: &'m Machine,
        now: UnixTime,
        challenge: Challenge,
        token: Secret,
        key_index: usize,
        hash: TokenHash,
    }

    impl<'m> AccessTokenLookup<'m> {
        /// The token's keyed hash.
        #[must_use]
        pub fn hash(&self) -> &TokenHash {
            &self.hash
        }

        /// The time of the request.
        #[must_use]
        pub fn now(&self) -> UnixTime {
            self.now
        }

        /// Continues with the store's answer.
        pub fn resume(
            self,
            answer: Result<Option<AccessTokenWithGrant>, StoreError>,
        ) -> BearerStep<'m> {
            let fail = |reason| {
                BearerStep::Done(Err(BearerError {
                    reason: Some(reason),
                    required_scope: None,
                    challenge: self.challenge.clone(),
                }))
            };
            let found = match answer {
                Err(e) => {
                    tracing::error!(error = %e, "store failed during bearer validation");
                    return fail(Reason::StoreUnavailable);
                }
                Ok(None) => {
                    return lookup(
                        self.machine,
                        self.now,
                        self.challenge,
                        self.token,
                        self.key_index + 1,
                    )
                }
                Ok(Some(found)) => found,
            };
            let AccessTokenWithGrant { token, grant } = found;
            if token.expires_at.is_expired_at(self.now)
                || grant.expires_at.is_expired_at(self.now)
                || token.grant_id != grant.id
            {
                return fail(Reason::AccessTokenInvalid);
            }
            // A resource server that names itself accepts only tokens for it; one that names
            // no resource accepts only tokens bound to no audience (RFC 9700 §4.10.2).
            let audience_ok = match &self.challenge.resource {
                Some(resource) => token.audience.contains(resource),
                None => token.audience.is_empty(),
            };
            if !audience_ok {
                return fail(Reason::AccessTokenWrongAudience);
            }
            let props = match (&token.props_key, &grant.props) {
                (Some(wrapped), Some(sealed)) => {
                    let keyring = &self.machine.config.keyring;
                    let opened = wrapped
                        .unwrap(
                            keyring,
                            TokenKind::AccessToken,
                            self.token.expose(),
                            grant.id.as_str(),
                        )
                        .and_then(|key| {
                            sealed.open(&key, grant.id.as_str(), grant.client_id.as_str())
                        });
                    match opened {
                        Ok(props) => Some(props),
                        Err(e) => {
                            tracing::error!(error = %e, grant_id = %grant.id, "grant props did not open");
                            return fail(Reason::InternalFailure);
                        }
                    }
                }
                _ => None,
            };
            BearerStep::Done(Ok(Access {
                user_id: grant.subject.user().cloned(),
                client_id: token.client_id,
                scope: token.scope,
                audience: token.audience,
                grant_id: token.grant_id,
                expires_at: token.expires_at,
                props,
                challenge: self.challenge,
                hierarchy: self.machine.config.scope_hierarchy.clone(),
            }))
        }
    }

    fn lookup(
        machine: &Machine,
        now: UnixTime,
        challenge: Challenge,
        token: Secret,
        key_index: usize,
    ) -> BearerStep<'_> {
        match machine.lookup_hash(token.expose(), key_index) {
            Some(hash) => BearerStep::NeedsAccessToken(AccessTokenLookup {
                machine,
                now,
                challenge,
                token,
                key_index,
                hash,
            }),
            None => BearerStep::Done(Err(BearerError {
                reason: Some(Reason::AccessTokenInvalid),
                required_scope: None,
                challenge,
            })),
        }
    }

    impl Machine {
        /// Starts validating a bearer-protected request for `resource` (this resource
        /// server's identifier). With `None` (a server with no configured resources) only
        /// tokens bound to no audience are accepted: a token meant for some resource never
        /// passes a resource server that does not say which one it is.
        pub fn bearer_request<B: AsRef<[u8]>>(
            &self,
            request: &Request<B>,
            resource: Option<&Resource>,
            now: UnixTime,
        ) -> BearerStep<'_> {
            let challenge = Challenge::for_resource(&self.config.realm, resource)
                .with_scope(self.config.challenge_scope.as_ref());
            let error = |reason| {
                BearerStep::Done(Err(BearerError {
                    reason,
                    required_scope: None,
                    challenge: challenge.clone(),
                }))
            };
            let token = match extract(request) {
                Err(reason) => return error(Some(reason)),
                Ok(None) => return error(None),
                Ok(Some(token)) => token,
            };
            if parse_token(TokenKind::AccessToken, &token).is_none() {
                return error(Some(Reason::AccessTokenInvalid));
            }
            lookup(self, now, challenge, Secret::new(token), 0)
        }
    }
}

pub use validation::{AccessTokenLookup, BearerStep};

impl std::fmt::Display for BearerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            Some(reason) => write!(f, "bearer authentication failed: {reason}"),
            None => f.write_str("bearer authentication required"),
        }
    }
}

impl std::error::Error for BearerError {}
