//! # oauth-axum
//!
//! The way an axum application serves `oauth-core`: conversion between axum and `http`
//! types, and nothing else. Every protocol decision is the core's.
//!
//! - [`ProtocolRouter`] (feature `router`): the protocol endpoints (token, revocation,
//!   introspection, registration, authorization server and protected resource metadata)
//!   at the configured paths, with bodies bounded before they are read and CORS by
//!   [`CorsPolicy`].
//! - [`AuthorizationRequest`]: the validated authorization request, for the host's own
//!   authorization route with its login and consent pages; [`Page`] renders those pages
//!   with anti-framing and no-referrer headers.
//! - [`Bearer`] (an extractor) and [`RequireBearer`] (a layer, with per-router scope
//!   requirements): bearer-protected routes, answering failures with the RFC 6750 /
//!   RFC 9728 challenge.
//!
//! The provider is shared as `Arc<Provider<S>>`; extractors find it through
//! [`FromRef`](axum_core::extract::FromRef), so it composes with the application's own
//! state.
//!
//! ## Features
//!
//! - `router` (default): [`ProtocolRouter`], the one part built on `axum`'s `Router`.
//!   Without it the crate depends on `axum-core` only (whose types `axum` re-exports, so
//!   the extractors, responses and layers are the same either way), for hosts that route
//!   the protocol endpoints themselves.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{routing::get, Router};
//! use oauth_axum::{Bearer, ProtocolRouter, RequireBearer};
//! use oauth_core::Provider;
//! use oauth_store_memory::MemoryStore;
//!
//! fn app(provider: Arc<Provider<MemoryStore>>) -> Router {
//!     let api = Router::new()
//!         .route("/api/me", get(|Bearer(access, _): Bearer<MemoryStore>| async move {
//!             format!("{:?} via {}", access.user_id, access.client_id)
//!         }))
//!         .route_layer(RequireBearer::new(Arc::clone(&provider)).scope("read"))
//!         .with_state(Arc::clone(&provider));
//!     ProtocolRouter::new(provider).build().merge(api)
//! }
//! ```
// Without the feature the item does not exist, so the crate docs' links to it (intra-doc
// links would break) point at the Features section instead.
#![cfg_attr(feature = "router", doc = "[`ProtocolRouter`]: crate::ProtocolRouter")]
#![cfg_attr(not(feature = "router"), doc = "[`ProtocolRouter`]: #features")]
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

mod authorize;
mod bearer;
mod body;
mod cors;
#[cfg(feature = "router")]
mod routes;

pub use authorize::{authorization_error_response, AuthorizationRequest, Page};
pub use bearer::{Bearer, BearerRejection, RequireBearer, RequireBearerService};
pub use cors::CorsPolicy;
#[cfg(feature = "router")]
pub use routes::ProtocolRouter;
