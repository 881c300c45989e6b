//! # oauth-core
//!
//! A sans-IO OAuth 2.1 authorization-server core, and a thin async driver over a
//! [`Store`].
//!
//! The [`Machine`] is deterministic and does no I/O: it reads no clock (every entry point
//! takes `now`) and no OS randomness (it draws through the configured
//! [`SecureRandom`]). When a decision needs stored data it returns a step naming exactly
//! that data; the caller answers by consuming the step. The [`Provider`] is the caller
//! most hosts want: it answers every step from a [`Store`] in one loop.
//!
//! Rules live in modules named after them: [`pkce`], [`redirect_uri`], [`client_auth`],
//! [`scope`], [`resource`], [`grant`](crate::token) (authorization code, refresh token,
//! client credentials), [`bearer`], [`error`].
//!
//! Token revocation (RFC 7009) is in [`revocation`] and token introspection (RFC 7662)
//! in [`introspection`]; both parse requests and authenticate clients exactly as the token
//! endpoint does ([`token::ClientLookup`]).
//!
//! Dynamic client registration and its management (RFC 7591, RFC 7592) are in
//! [`registration`].
//!
//! Discovery, authorization server metadata (RFC 8414) and protected resource metadata
//! (RFC 9728), is in [`metadata`]: documents generated from the configuration alone.
//!
//! The Model Context Protocol profile is in [`mcp`]: one builder call
//! ([`ConfigBuilder::mcp`]) configures what the MCP authorization specification requires
//! of an authorization server and its MCP server.
//!
//! Client ID metadata documents (a `client_id` that is an https URL, resolved by fetching
//! its JSON document) are in [`client_metadata_document`]: the machine asks for the
//! document, and a [`ClientMetadataFetcher`] held by the [`Provider`] fetches it.
//!
//! ## Driving the machine directly
//!
//! Each step names the store call that answers it; `answer_from` makes that call and
//! resumes the step. A host that must hold a request between steps calls it one step at
//! a time; the whole driver is this loop:
//!
//! ```
//! # async fn demo<S: oauth_core::Store>(machine: &oauth_core::Machine, store: &S,
//! #     request: &http::Request<Vec<u8>>, now: oauth_core::UnixTime) -> oauth_core::response::HttpResponse {
//! use std::ops::ControlFlow;
//! let mut step = machine.token_request(request, now);
//! loop {
//!     match step.answer_from(store).await {
//!         ControlFlow::Continue(next) => step = next,
//!         ControlFlow::Break(response) => return response,
//!     }
//! }
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod client_metadata_document;
pub mod clients;
pub mod config;
pub mod crypto;
pub mod error;
pub mod events;
mod grant;
pub mod introspection;
mod machine;
pub mod mcp;
pub mod metadata;
pub mod model;
pub mod params;
pub mod pkce;
mod provider;
pub mod random;
pub mod redirect_uri;
pub mod registration;
pub mod resource;
pub mod response;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod store;
pub mod store_codec;
pub mod time;
pub mod token;

pub use authorize::{Approval, AuthorizationError, Decision, ErrorRedirect, PendingAuthorization};
pub use bearer::{Access, BearerError, BearerRequirement};
pub use client_metadata_document::{ClientIdUrl, ClientMetadataFetcher, FetchError};
pub use clients::{NewClient, RegisteredClient};
pub use config::{Config, ConfigBuilder, Endpoints, Issuer, Lifetimes, PkcePolicy};
pub use crypto::{KeyError, KeyId, Keyring, TokenHash, TokenKind};
pub use error::{ApiMisuse, ConfigError, ErrorCode, Reason, StoreError, StoreErrorKind};
pub use events::{EventSink, SecurityEvent, TracingEvents};
pub use machine::Machine;
pub use mcp::{McpProfile, OfflineAccess};
pub use metadata::{AuthorizationServerMetadata, ProtectedResourceMetadata, ServedPath};
pub use provider::{Answerer, StoreAndFetcher};
pub use provider::{Provider, ProviderBuilder, RegistrationError};
pub use random::{OsRandom, RandomError, SecureRandom};
pub use registration::{
    ClientRegistration, ManagementOperation, RegistrationContext, RegistrationHook,
    RegistrationOperation, RegistrationPolicy, RegistrationVerdict,
};
pub use scope::Scope;
pub use secret::Secret;
pub use store::{SingleUse, Store};
pub use time::{Clock, SystemClock, UnixTime};
