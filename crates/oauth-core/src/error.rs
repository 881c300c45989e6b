//! Errors, grouped by who is at fault.
//!
//! - A client's protocol error is a [`Reason`]: a fine-grained cause kept for logs and
//!   metrics, mapped to its registered [`ErrorCode`] in one exhaustive match
//!   ([`Reason::code`]) and ending in a complete RFC error response.
//! - A storage failure is a [`StoreError`] with its source chain kept; the driver answers
//!   503 `temporarily_unavailable`, never a false success.
//! - Misuse of the API by the host is a [`ConfigError`] (at build time) or an
//!   [`ApiMisuse`] (at run time).

use std::error::Error as StdError;
use std::fmt;

/// The error codes registered for OAuth 2.1, RFC 6750 and RFC 8707 responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request` (OAuth 2.1 §3.2.4, §4.1.2.1; RFC 6750 §3.1).
    InvalidRequest,
    /// `invalid_client` (OAuth 2.1 §3.2.4).
    InvalidClient,
    /// `invalid_grant` (OAuth 2.1 §3.2.4).
    InvalidGrant,
    /// `unauthorized_client` (OAuth 2.1 §3.2.4, §4.1.2.1).
    UnauthorizedClient,
    /// `unsupported_grant_type` (OAuth 2.1 §3.2.4).
    UnsupportedGrantType,
    /// `invalid_scope` (OAuth 2.1 §3.2.4, §4.1.2.1).
    InvalidScope,
    /// `invalid_target` (RFC 8707 §2).
    InvalidTarget,
    /// `access_denied` (OAuth 2.1 §4.1.2.1).
    AccessDenied,
    /// `unsupported_response_type` (OAuth 2.1 §4.1.2.1).
    UnsupportedResponseType,
    /// `server_error` (OAuth 2.1 §4.1.2.1).
    ServerError,
    /// `temporarily_unavailable` (OAuth 2.1 §4.1.2.1).
    TemporarilyUnavailable,
    /// `invalid_token` (RFC 6750 §3.1).
    InvalidToken,
    /// `insufficient_scope` (RFC 6750 §3.1).
    InsufficientScope,
    /// `invalid_redirect_uri` (RFC 7591 §3.2.2).
    InvalidRedirectUri,
    /// `invalid_client_metadata` (RFC 7591 §3.2.2).
    InvalidClientMetadata,
}

impl ErrorCode {
    /// The registered string.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fine-grained cause of a protocol error: what logs and metrics see.
///
/// Each reason maps to exactly one [`ErrorCode`] and one fixed `error_description`, both
/// chosen here, so no request data ever reaches a response's error fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    // ---- request syntax ----
    /// The body exceeds the configured limit.
    BodyTooLarge,
    /// The body is not `application/x-www-form-urlencoded`.
    WrongContentType,
    /// The HTTP method is not allowed at this endpoint.
    MethodNotAllowed,
    /// Malformed percent-encoding or invalid UTF-8 in the parameters.
    MalformedEncoding,
    /// Too many parameters.
    TooManyParameters,
    /// A parameter that may appear once appeared more than once.
    DuplicateParameter,
    /// A required parameter is missing (or empty).
    MissingParameter,
    /// A parameter value is malformed.
    MalformedParameter,
    /// Client credentials were sent in the request URI.
    CredentialsInQuery,
    /// More than one `Authorization` header.
    DuplicateAuthorizationHeader,

    // ---- client authentication ----
    /// No client identified itself.
    MissingClientId,
    /// No client has this id.
    UnknownClient,
    /// The client used more than one authentication method.
    MultipleAuthMethods,
    /// The `Authorization` header is not a valid Basic credential.
    MalformedBasicCredentials,
    /// The client used a method other than its registered one.
    AuthMethodMismatch,
    /// The client sent no credentials but must authenticate.
    ClientCredentialsMissing,
    /// The client secret is wrong.
    ClientSecretMismatch,
    /// The client secret has expired.
    ClientSecretExpired,
    /// A public client sent a secret.
    PublicClientSentSecret,
    /// A public client called the introspection endpoint, which only authenticated
    /// (confidential) clients may call (RFC 7662 §2.1).
    PublicClientIntrospection,

    // ---- grant types and policy ----
    /// `grant_type` names nothing this server implements (including `password`).
    UnsupportedGrantType,
    /// The client did not register this grant type.
    GrantTypeNotAllowed,
    /// Client credentials were requested by a public client.
    PublicClientCredentialsGrant,

    // ---- authorization endpoint ----
    /// `response_type` is missing.
    MissingResponseType,
    /// `response_type` is not `code` (implicit and hybrid flows are not implemented).
    UnsupportedResponseType,
    /// No registered redirect URI matches (never redirected).
    RedirectUriMismatch,
    /// Several redirect URIs are registered and none was named (never redirected).
    RedirectUriRequired,
    /// The client has no registered redirect URI (never redirected).
    NoRegisteredRedirectUri,
    /// PKCE is required and no `code_challenge` was sent.
    CodeChallengeRequired,
    /// The `code_challenge` is malformed.
    MalformedCodeChallenge,
    /// The `code_challenge_method` is not supported (including `plain` by default).
    UnsupportedChallengeMethod,
    /// The resource owner denied the request.
    UserDenied,
    /// The pending-authorization ticket is malformed, forged or expired.
    InvalidTicket,
    /// The pending-authorization ticket was completed already.
    TicketReplayed,
    /// The ticket is not bound to this browser session (CSRF).
    TicketBindingMismatch,

    // ---- scope and resources ----
    /// The scope is malformed.
    MalformedScope,
    /// A scope is unknown or not allowed for this client.
    ScopeNotAllowed,
    /// The scope is wider than the grant or token it derives from.
    ScopeWidened,
    /// No scope was requested and no default is configured.
    ScopeRequired,
    /// A `resource` is not an absolute URI without a fragment.
    MalformedResource,
    /// A `resource` is not served by this server.
    UnknownResource,
    /// A `resource` lies outside the grant.
    ResourceWidened,
    /// No resource was requested and one is required.
    ResourceRequired,

    // ---- codes and refresh tokens ----
    /// The code is unknown, expired or revoked.
    CodeNotFound,
    /// The code was redeemed already (its grant is revoked).
    CodeReplayed,
    /// The code was issued to another client.
    CodeClientMismatch,
    /// `redirect_uri` at the token endpoint differs from the authorization request's.
    CodeRedirectUriMismatch,
    /// The code has a challenge and no `code_verifier` was sent.
    CodeVerifierMissing,
    /// A `code_verifier` was sent for a code issued without a challenge (PKCE downgrade).
    CodeVerifierWithoutChallenge,
    /// The verifier does not match the challenge, or is malformed.
    CodeVerifierMismatch,
    /// The refresh token is unknown, expired or revoked.
    RefreshTokenNotFound,
    /// A retired refresh token was presented again (its grant is revoked).
    RefreshTokenReused,
    /// The refresh token was issued to another client.
    RefreshTokenClientMismatch,

    // ---- bearer tokens ----
    /// The access token is unknown, expired or revoked.
    AccessTokenInvalid,
    /// The access token was issued for another resource.
    AccessTokenWrongAudience,
    /// The access token lacks a required scope.
    InsufficientScope,
    /// The bearer token was sent by more than one method, or malformed.
    MalformedBearerRequest,

    // ---- server side ----
    /// The store failed; see the logs for the source chain.
    StoreUnavailable,
    /// The random source or a cryptographic operation failed.
    InternalFailure,

    // ---- dynamic client registration (RFC 7591, RFC 7592) ----
    /// The registration request is not `application/json`.
    RegistrationWrongContentType,
    /// The registration body is not a JSON object (or not JSON, or not UTF-8).
    RegistrationMalformedBody,
    /// A metadata member appears twice in the JSON object.
    RegistrationDuplicateMember,
    /// A metadata member has the wrong JSON type, or text with control characters.
    RegistrationMalformedMember,
    /// A redirect URI breaks the registration rules (or `redirect_uris` is malformed).
    RegistrationInvalidRedirectUri,
    /// The authorization code grant was requested without `redirect_uris`.
    RegistrationRedirectUriRequired,
    /// A grant type this server does not implement (`password`, `implicit`, ...).
    RegistrationUnsupportedGrantType,
    /// A response type other than `code`.
    RegistrationUnsupportedResponseType,
    /// `response_types` does not correspond to `grant_types` (RFC 7591 §2.1).
    RegistrationInconsistentResponseTypes,
    /// A `token_endpoint_auth_method` this server does not implement.
    RegistrationUnsupportedAuthMethod,
    /// A public client (`none`) asked for the client credentials grant.
    RegistrationPublicClientCredentials,
    /// `scope` does not follow the scope syntax.
    RegistrationMalformedScope,
    /// `scope` names a scope this server does not offer.
    RegistrationScopeNotOffered,
    /// `client_uri`, `logo_uri`, `tos_uri` or `policy_uri` is not an https URL.
    RegistrationInvalidUri,
    /// Both `jwks` and `jwks_uri` were sent (RFC 7591 §2).
    RegistrationJwksConflict,
    /// The host's registration policy refused the request.
    RegistrationRefusedByPolicy,
    /// An update's `client_id` is missing or is not the client's (RFC 7592 §2.2).
    RegistrationClientIdMismatch,
    /// An update carries a member only the server sets (RFC 7592 §2.2).
    RegistrationServerMemberInRequest,
    /// An update's `client_secret` is not the client's current secret (RFC 7592 §2.2).
    RegistrationClientSecretMismatch,
    /// An update would turn a public client into a confidential one or back.
    RegistrationClientTypeChange,
    /// An update asks for a scope or a grant type the client is not registered for
    /// (RFC 7592 §2.2 lets the server refuse; a widening needs a new registration).
    RegistrationUpdateWidens,
    /// A list member (`redirect_uris`, `contacts`, `grant_types`, ...) or the set of
    /// language-tagged members holds more values than the server accepts.
    RegistrationTooManyValues,
    /// The initial access token is missing or wrong (RFC 7591 §3).
    InitialAccessTokenInvalid,
    /// The registration access token is wrong, or its client no longer exists
    /// (RFC 7592 §2).
    RegistrationAccessTokenInvalid,

    // ---- client ID metadata documents (draft-ietf-oauth-client-id-metadata-document) ----
    /// The `client_id` begins with `https:` but is not a valid Client Identifier URL.
    ClientIdUrlInvalid,
    /// The client's metadata document could not be fetched, through the fault of its
    /// publisher: any status but 200, a redirect, a response that is not JSON, a host that
    /// does not exist or resolves to a special-use address (SSRF guard); also no fetcher.
    ClientMetadataFetchFailed,
    /// The client's metadata document could not be fetched for a reason that is not the
    /// client's fault: the fetcher is busy, the fetch timed out, the connection failed or
    /// the name could not be resolved for now. 503 `temporarily_unavailable`, and not a
    /// failed client authentication.
    ClientMetadataUnavailable,
    /// The metadata document exceeds the configured size bound.
    ClientMetadataTooLarge,
    /// The metadata document is not one JSON object (or repeats a member, or a member has
    /// the wrong type).
    ClientMetadataMalformed,
    /// The document's `client_id` is not the URL it was fetched from.
    ClientMetadataClientIdMismatch,
    /// The document lacks `client_id`, `client_name` or `redirect_uris`.
    ClientMetadataMissingMember,
    /// The document carries a secret: `client_secret`, `client_secret_expires_at`, a
    /// shared-secret authentication method, or private key material.
    ClientMetadataSecret,
    /// The document declares an authentication method this server does not implement
    /// (`private_key_jwt`, ...).
    ClientMetadataUnsupportedAuthMethod,
    /// A redirect URI of the document breaks the registration rules.
    ClientMetadataInvalidRedirectUri,
    /// The document breaks another registration rule (grant types, URIs, text).
    ClientMetadataInvalid,
}

impl Reason {
    /// The registered error code of this reason: the one place where the mapping lives.
    #[must_use]
    pub fn code(self) -> ErrorCode {
        use ErrorCode as C;
        use Reason as R;
        match self {
            // OAuth 2.1 §3.2.4 / §4.1.2.1: syntax problems are invalid_request.
            R::BodyTooLarge
            | R::WrongContentType
            | R::MethodNotAllowed
            | R::MalformedEncoding
            | R::TooManyParameters
            | R::DuplicateParameter
            | R::MissingParameter
            | R::MalformedParameter
            | R::CredentialsInQuery
            | R::DuplicateAuthorizationHeader
            | R::MultipleAuthMethods
            | R::MissingResponseType
            | R::RedirectUriMismatch
            | R::RedirectUriRequired
            | R::NoRegisteredRedirectUri
            | R::CodeChallengeRequired
            | R::MalformedCodeChallenge
            | R::UnsupportedChallengeMethod
            | R::InvalidTicket
            | R::TicketReplayed
            | R::TicketBindingMismatch
            | R::MalformedBearerRequest
            // OAuth 2.1 §4.1.3 / RFC 9700 §4.8.2 name the downgrade invalid_request (C-2).
            | R::CodeVerifierWithoutChallenge => C::InvalidRequest,
            // OAuth 2.1 §3.2.4: authentication failures are invalid_client.
            R::MissingClientId
            | R::UnknownClient
            | R::MalformedBasicCredentials
            | R::AuthMethodMismatch
            | R::ClientCredentialsMissing
            | R::ClientSecretMismatch
            | R::ClientSecretExpired
            | R::PublicClientSentSecret => C::InvalidClient,
            // RFC 7662 §2.1: a public client cannot authenticate, so it is not authorized.
            R::PublicClientIntrospection => C::InvalidClient,
            R::UnsupportedGrantType => C::UnsupportedGrantType,
            R::GrantTypeNotAllowed | R::PublicClientCredentialsGrant => C::UnauthorizedClient,
            R::UnsupportedResponseType => C::UnsupportedResponseType,
            R::UserDenied => C::AccessDenied,
            R::MalformedScope | R::ScopeNotAllowed | R::ScopeWidened | R::ScopeRequired => {
                C::InvalidScope
            }
            R::MalformedResource
            | R::UnknownResource
            | R::ResourceWidened
            | R::ResourceRequired => C::InvalidTarget,
            // OAuth 2.1 §3.2.4: invalid, expired, revoked, mismatched grants.
            R::CodeNotFound
            | R::CodeReplayed
            | R::CodeClientMismatch
            | R::CodeRedirectUriMismatch
            | R::CodeVerifierMissing
            | R::CodeVerifierMismatch
            | R::RefreshTokenNotFound
            | R::RefreshTokenReused
            | R::RefreshTokenClientMismatch => C::InvalidGrant,
            // RFC 6750 §3.1.
            R::AccessTokenInvalid | R::AccessTokenWrongAudience => C::InvalidToken,
            R::InsufficientScope => C::InsufficientScope,
            R::StoreUnavailable => C::TemporarilyUnavailable,
            // The document server (or the fetcher) could not answer in time: try again.
            R::ClientMetadataUnavailable => C::TemporarilyUnavailable,
            R::InternalFailure => C::ServerError,
            // RFC 7591 §3.2.2: the two registration error codes.
            R::RegistrationInvalidRedirectUri | R::RegistrationRedirectUriRequired => {
                C::InvalidRedirectUri
            }
            R::RegistrationWrongContentType
            | R::RegistrationMalformedBody
            | R::RegistrationDuplicateMember
            | R::RegistrationMalformedMember
            | R::RegistrationUnsupportedGrantType
            | R::RegistrationUnsupportedResponseType
            | R::RegistrationInconsistentResponseTypes
            | R::RegistrationUnsupportedAuthMethod
            | R::RegistrationPublicClientCredentials
            | R::RegistrationMalformedScope
            | R::RegistrationScopeNotOffered
            | R::RegistrationInvalidUri
            | R::RegistrationJwksConflict
            | R::RegistrationRefusedByPolicy
            | R::RegistrationClientIdMismatch
            | R::RegistrationServerMemberInRequest
            | R::RegistrationClientSecretMismatch
            | R::RegistrationClientTypeChange
            | R::RegistrationUpdateWidens
            | R::RegistrationTooManyValues => C::InvalidClientMetadata,
            // RFC 7591 §3 / RFC 7592 §2: bearer credentials of the registration endpoints.
            R::InitialAccessTokenInvalid | R::RegistrationAccessTokenInvalid => C::InvalidToken,
            // The client could not be identified: its metadata document is missing or
            // invalid (OAuth 2.1 §3.2.4; the draft names no code of its own).
            R::ClientIdUrlInvalid
            | R::ClientMetadataFetchFailed
            | R::ClientMetadataTooLarge
            | R::ClientMetadataMalformed
            | R::ClientMetadataClientIdMismatch
            | R::ClientMetadataMissingMember
            | R::ClientMetadataSecret
            | R::ClientMetadataUnsupportedAuthMethod
            | R::ClientMetadataInvalidRedirectUri
            | R::ClientMetadataInvalid => C::InvalidClient,
        }
    }

    /// The `error_description` sent for this reason: fixed text, never request data,
    /// within the allowed characters (%x20-21 / %x23-5B / %x5D-7E).
    #[must_use]
    pub fn description(self) -> &'static str {
        use Reason as R;
        match self {
            R::BodyTooLarge => "request body too large",
            R::WrongContentType => "content type must be application/x-www-form-urlencoded",
            R::MethodNotAllowed => "method not allowed",
            R::MalformedEncoding => "malformed parameter encoding",
            R::TooManyParameters => "too many parameters",
            R::DuplicateParameter => "a parameter was repeated",
            R::MissingParameter => "a required parameter is missing",
            R::MalformedParameter => "a parameter is malformed",
            R::CredentialsInQuery => "client credentials are not accepted in the URI",
            R::DuplicateAuthorizationHeader => "more than one Authorization header",
            R::MissingClientId => "client authentication failed",
            R::UnknownClient => "client authentication failed",
            R::MultipleAuthMethods => "more than one client authentication method",
            R::MalformedBasicCredentials => "client authentication failed",
            R::AuthMethodMismatch => "client authentication failed",
            R::ClientCredentialsMissing => "client authentication failed",
            R::ClientSecretMismatch => "client authentication failed",
            R::ClientSecretExpired => "client authentication failed",
            R::PublicClientSentSecret => "client authentication failed",
            R::PublicClientIntrospection => "client authentication failed",
            R::UnsupportedGrantType => "grant type not supported",
            R::GrantTypeNotAllowed => "client is not allowed this grant type",
            R::PublicClientCredentialsGrant => "public clients cannot use client_credentials",
            R::MissingResponseType => "response_type is required",
            R::UnsupportedResponseType => "only response_type=code is supported",
            R::RedirectUriMismatch => "redirect_uri does not match a registered URI",
            R::RedirectUriRequired => "redirect_uri is required",
            R::NoRegisteredRedirectUri => "client has no registered redirect URI",
            R::CodeChallengeRequired => "code challenge required",
            R::MalformedCodeChallenge => "code_challenge is malformed",
            R::UnsupportedChallengeMethod => "transform algorithm not supported, use S256",
            R::UserDenied => "the resource owner denied the request",
            R::InvalidTicket => "authorization request expired or invalid",
            R::TicketReplayed => "authorization request already completed",
            R::TicketBindingMismatch => "authorization request not bound to this session",
            R::MalformedScope => "scope is malformed",
            R::ScopeNotAllowed => "scope not allowed",
            R::ScopeWidened => "scope exceeds the original grant",
            R::ScopeRequired => "scope is required",
            R::MalformedResource => "resource must be an absolute URI without fragment",
            R::UnknownResource => "resource not served by this server",
            R::ResourceWidened => "resource exceeds the original grant",
            R::ResourceRequired => "resource is required",
            R::CodeNotFound => "authorization code invalid or expired",
            R::CodeReplayed => "authorization code invalid or expired",
            R::CodeClientMismatch => "authorization code invalid or expired",
            R::CodeRedirectUriMismatch => "redirect_uri does not match the authorization request",
            R::CodeVerifierMissing => "code_verifier is required",
            R::CodeVerifierWithoutChallenge => "code_verifier sent but no challenge was used",
            R::CodeVerifierMismatch => "code_verifier does not match the challenge",
            R::RefreshTokenNotFound => "refresh token invalid or expired",
            R::RefreshTokenReused => "refresh token invalid or expired",
            R::RefreshTokenClientMismatch => "refresh token invalid or expired",
            R::AccessTokenInvalid => "access token invalid or expired",
            R::AccessTokenWrongAudience => "access token not valid for this resource",
            R::InsufficientScope => "access token lacks the required scope",
            R::MalformedBearerRequest => "malformed bearer token request",
            R::StoreUnavailable => "service temporarily unavailable",
            R::InternalFailure => "internal server error",
            R::RegistrationWrongContentType => "content type must be application/json",
            R::RegistrationMalformedBody => "request body must be a JSON object",
            R::RegistrationDuplicateMember => "a metadata member was repeated",
            R::RegistrationMalformedMember => "a metadata value is malformed",
            R::RegistrationInvalidRedirectUri => "a redirect URI is not allowed",
            R::RegistrationRedirectUriRequired => {
                "redirect_uris is required for the authorization code grant"
            }
            R::RegistrationUnsupportedGrantType => "grant type not supported",
            R::RegistrationUnsupportedResponseType => "only response type code is supported",
            R::RegistrationInconsistentResponseTypes => "response_types does not match grant_types",
            R::RegistrationUnsupportedAuthMethod => "token_endpoint_auth_method not supported",
            R::RegistrationPublicClientCredentials => {
                "public clients cannot use client_credentials"
            }
            R::RegistrationMalformedScope => "scope is malformed",
            R::RegistrationScopeNotOffered => "scope not offered by this server",
            R::RegistrationInvalidUri => "client, logo, terms and policy URIs must be https URLs",
            R::RegistrationJwksConflict => "jwks and jwks_uri must not both be present",
            R::RegistrationRefusedByPolicy => "client metadata refused by server policy",
            R::RegistrationClientIdMismatch => "client_id does not match the client",
            R::RegistrationServerMemberInRequest => "a member set by the server was sent",
            R::RegistrationClientSecretMismatch => "client_secret does not match",
            R::RegistrationClientTypeChange => "the client type cannot change",
            R::RegistrationUpdateWidens => "an update cannot add scopes or grant types",
            R::RegistrationTooManyValues => "a metadata list has too many values",
            R::InitialAccessTokenInvalid => "initial access token invalid",
            R::RegistrationAccessTokenInvalid => "registration access token invalid",
            R::ClientIdUrlInvalid => "client_id is not a valid client identifier URL",
            R::ClientMetadataFetchFailed => "client metadata document could not be fetched",
            R::ClientMetadataUnavailable => "client metadata document temporarily unavailable",
            R::ClientMetadataTooLarge => "client metadata document too large",
            R::ClientMetadataMalformed => "client metadata document is not a valid JSON object",
            R::ClientMetadataClientIdMismatch => {
                "client metadata document client_id does not match the URL"
            }
            R::ClientMetadataMissingMember => {
                "client metadata document lacks client_id, client_name or redirect_uris"
            }
            R::ClientMetadataSecret => "client metadata document must not carry secrets",
            R::ClientMetadataUnsupportedAuthMethod => {
                "client metadata document token_endpoint_auth_method not supported"
            }
            R::ClientMetadataInvalidRedirectUri => {
                "client metadata document redirect URI not allowed"
            }
            R::ClientMetadataInvalid => "client metadata document is invalid",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.code(), self)
    }
}

/// What kind of storage failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The backend could not be reached or timed out; retrying later may succeed.
    Unavailable,
    /// Contention (busy, locked, too many CAS retries); retrying may succeed.
    Conflict,
    /// A stored record could not be decoded.
    Corrupt,
    /// Anything else.
    Other,
}

/// A storage failure, with its source chain kept.
#[derive(Debug, thiserror::Error)]
#[error("store {kind:?}: {message}")]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A failure of `kind` with a message and no source.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A failure of `kind` caused by `source`.
    pub fn with_source(
        kind: StoreErrorKind,
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

/// The host built an invalid configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not an https URL without query, fragment and credentials, or a
    /// segment of its path starts with `:` or `*` (which routers read as a pattern), so
    /// its metadata path could not be routed verbatim.
    #[error("issuer must be an https URL without query or fragment, and no path segment may start with ':' or '*'")]
    InvalidIssuer,
    /// No keyring was supplied.
    #[error("a keyring is required: keys come from the host")]
    MissingKeyring,
    /// A configured scope is malformed.
    #[error("configured scope is malformed")]
    InvalidScope,
    /// A configured resource is not an absolute URI without fragment, or a segment of its
    /// path starts with `:` or `*` (which routers read as a pattern).
    #[error("configured resource is invalid")]
    InvalidResource,
    /// A lifetime is zero or beyond its allowed bound.
    #[error("lifetime out of bounds: {0}")]
    InvalidLifetime(&'static str),
    /// The bearer `realm` is empty or has characters a quoted challenge value cannot
    /// carry unescaped.
    #[error("realm must be non-empty printable ASCII without '\"' or '\\'")]
    InvalidRealm,
    /// An endpoint path is not a plain absolute path (see [`Endpoints`](crate::Endpoints)),
    /// or two endpoints share one.
    #[error("endpoint paths must be distinct absolute paths without a trailing slash, query, fragment or any of {{ }} * :")]
    InvalidEndpointPath,
    /// The registration policy is inconsistent: an endpoint without a policy that opens
    /// it (or the reverse), a weak or malformed initial access token, or a client-secret
    /// lifetime out of bounds.
    #[error("invalid registration policy: {0}")]
    InvalidRegistrationPolicy(&'static str),
    /// Client ID metadata documents are on, but the provider has no
    /// [`ClientMetadataFetcher`](crate::client_metadata_document::ClientMetadataFetcher).
    #[error("client ID metadata documents need a client metadata fetcher")]
    MissingClientMetadataFetcher,
    /// The size bound of client metadata documents is outside
    /// [`DOCUMENT_MAX_BYTES_RANGE`](crate::client_metadata_document::DOCUMENT_MAX_BYTES_RANGE).
    #[error("client metadata document size bound out of range")]
    InvalidClientMetadataDocumentMaxBytes,
    /// The configuration breaks a requirement of the [MCP profile](crate::mcp): a
    /// weakened PKCE policy, or an MCP server URI that is not an https URL.
    #[error("MCP profile: {0}")]
    McpProfile(&'static str),
    /// The store declares that it cannot keep codes, refresh tokens and one-time markers
    /// single-use under concurrency ([`SingleUse::NotGuaranteed`](crate::SingleUse::NotGuaranteed)),
    /// and the host did not accept that by name.
    #[error(
        "the store cannot keep authorization codes and refresh tokens single-use under \
         concurrency; refused unless the host calls accept_store_without_atomic_single_use(true)"
    )]
    StoreWithoutAtomicSingleUse,
}

/// The host called the API in a way it does not allow.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// The host approved a scope wider than the one requested.
    #[error("the approved scope must be within the requested scope")]
    ApprovedScopeWidened,
    /// The session binding of a ticket is shorter than
    /// [`MIN_SESSION_BINDING_LEN`](crate::authorize::MIN_SESSION_BINDING_LEN) bytes.
    #[error("the session binding must be at least 16 bytes of the browser session's id")]
    WeakSessionBinding,
    /// The host approved an empty scope for a request that asked for some.
    #[error("an approval must grant some of the requested scope, or be a denial")]
    ApprovedScopeEmpty,
    /// Client registration data is invalid.
    #[error("invalid client registration: {0}")]
    InvalidClient(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_error_char(c: char) -> bool {
        matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
    }

    /// Every reason, so the character-set test below covers them all.
    pub(crate) const ALL_REASONS: &[Reason] = &[
        Reason::BodyTooLarge,
        Reason::WrongContentType,
        Reason::MethodNotAllowed,
        Reason::MalformedEncoding,
        Reason::TooManyParameters,
        Reason::DuplicateParameter,
        Reason::MissingParameter,
        Reason::MalformedParameter,
        Reason::CredentialsInQuery,
        Reason::DuplicateAuthorizationHeader,
        Reason::MissingClientId,
        Reason::UnknownClient,
        Reason::MultipleAuthMethods,
        Reason::MalformedBasicCredentials,
        Reason::AuthMethodMismatch,
        Reason::ClientCredentialsMissing,
        Reason::ClientSecretMismatch,
        Reason::ClientSecretExpired,
        Reason::PublicClientSentSecret,
        Reason::PublicClientIntrospection,
        Reason::UnsupportedGrantType,
        Reason::GrantTypeNotAllowed,
        Reason::PublicClientCredentialsGrant,
        Reason::MissingResponseType,
        Reason::UnsupportedResponseType,
        Reason::RedirectUriMismatch,
        Reason::RedirectUriRequired,
        Reason::NoRegisteredRedirectUri,
        Reason::CodeChallengeRequired,
        Reason::MalformedCodeChallenge,
        Reason::UnsupportedChallengeMethod,
        Reason::UserDenied,
        Reason::InvalidTicket,
        Reason::TicketReplayed,
        Reason::TicketBindingMismatch,
        Reason::MalformedScope,
        Reason::ScopeNotAllowed,
        Reason::ScopeWidened,
        Reason::ScopeRequired,
        Reason::MalformedResource,
        Reason::UnknownResource,
        Reason::ResourceWidened,
        Reason::ResourceRequired,
        Reason::CodeNotFound,
        Reason::CodeReplayed,
        Reason::CodeClientMismatch,
        Reason::CodeRedirectUriMismatch,
        Reason::CodeVerifierMissing,
        Reason::CodeVerifierWithoutChallenge,
        Reason::CodeVerifierMismatch,
        Reason::RefreshTokenNotFound,
        Reason::RefreshTokenReused,
        Reason::RefreshTokenClientMismatch,
        Reason::AccessTokenInvalid,
        Reason::AccessTokenWrongAudience,
        Reason::InsufficientScope,
        Reason::MalformedBearerRequest,
        Reason::StoreUnavailable,
        Reason::InternalFailure,
        Reason::RegistrationWrongContentType,
        Reason::RegistrationMalformedBody,
        Reason::RegistrationDuplicateMember,
        Reason::RegistrationMalformedMember,
        Reason::RegistrationInvalidRedirectUri,
        Reason::RegistrationRedirectUriRequired,
        Reason::RegistrationUnsupportedGrantType,
        Reason::RegistrationUnsupportedResponseType,
        Reason::RegistrationInconsistentResponseTypes,
        Reason::RegistrationUnsupportedAuthMethod,
        Reason::RegistrationPublicClientCredentials,
        Reason::RegistrationMalformedScope,
        Reason::RegistrationScopeNotOffered,
        Reason::RegistrationInvalidUri,
        Reason::RegistrationJwksConflict,
        Reason::RegistrationRefusedByPolicy,
        Reason::RegistrationClientIdMismatch,
        Reason::RegistrationServerMemberInRequest,
        Reason::RegistrationClientSecretMismatch,
        Reason::RegistrationClientTypeChange,
        Reason::RegistrationUpdateWidens,
        Reason::RegistrationTooManyValues,
        Reason::InitialAccessTokenInvalid,
        Reason::RegistrationAccessTokenInvalid,
        Reason::ClientIdUrlInvalid,
        Reason::ClientMetadataFetchFailed,
        Reason::ClientMetadataUnavailable,
        Reason::ClientMetadataTooLarge,
        Reason::ClientMetadataMalformed,
        Reason::ClientMetadataClientIdMismatch,
        Reason::ClientMetadataMissingMember,
        Reason::ClientMetadataSecret,
        Reason::ClientMetadataUnsupportedAuthMethod,
        Reason::ClientMetadataInvalidRedirectUri,
        Reason::ClientMetadataInvalid,
    ];

    #[test]
    fn o21_36_every_error_and_description_uses_only_allowed_characters() {
        for reason in ALL_REASONS {
            assert!(
                reason.code().as_str().chars().all(is_error_char),
                "{reason:?}"
            );
            assert!(
                reason.description().chars().all(is_error_char),
                "{reason:?}"
            );
        }
    }

    #[test]
    fn client_authentication_failures_share_one_description() {
        // Distinct descriptions would tell an attacker whether a client id exists.
        let auth = [
            Reason::UnknownClient,
            Reason::ClientSecretMismatch,
            Reason::AuthMethodMismatch,
            Reason::ClientCredentialsMissing,
        ];
        for r in auth {
            assert_eq!(r.description(), Reason::UnknownClient.description());
            assert_eq!(r.code(), ErrorCode::InvalidClient);
        }
    }

    #[test]
    fn c2_verifier_without_challenge_is_invalid_request() {
        assert_eq!(
            Reason::CodeVerifierWithoutChallenge.code(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn store_error_keeps_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout");
        let err = StoreError::with_source(StoreErrorKind::Unavailable, "redis", io);
        assert!(err.source().is_some());
        assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    }
}
