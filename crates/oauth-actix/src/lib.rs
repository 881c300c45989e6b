//! # oauth-actix
//!
//! The way an actix-web 4 application serves `oauth-core`: conversion between actix and
//! `http` types, and nothing else. Every protocol decision is the core's. It gives actix
//! what `oauth-axum` gives axum, and answers every request as it does.
//!
//! - [`ProtocolService`]: the protocol endpoints (token, revocation, introspection,
//!   registration, authorization server and protected resource metadata) at the
//!   configured paths, mounted with [`App::configure`](actix_web::App::configure), with
//!   bodies bounded before they are read and CORS by [`CorsPolicy`].
//! - [`AuthorizationRequest`]: the validated authorization request, for the host's own
//!   authorization route with its login and consent pages; [`Page`] renders those pages
//!   with anti-framing and no-referrer headers.
//! - [`Bearer`] (an extractor) and [`RequireBearer`] (a middleware, with per-resource
//!   scope requirements): bearer-protected routes, answering failures with the RFC 6750 /
//!   RFC 9728 challenge.
//!
//! The provider is shared as `Arc<Provider<S>>`. The middleware and the protocol service
//! hold it; the extractors find it in the application data as a `web::Data<Provider<S>>`,
//! registered with `App::app_data(web::Data::from(provider))`. `web::Data` is an `Arc`
//! already, so this shares the host's provider without wrapping it again, and composes
//! with the application's own state: each `web::Data<T>` is found by its type (a
//! `web::Data<Arc<Provider<S>>>` is accepted too). An extractor that finds none answers
//! 500 with [`ProviderMissing`], which says that you forgot to register the provider.
//!
//! Bodies are read by the glue from the payload stream, never through actix's body
//! extractors, so actix's `PayloadConfig`, `FormConfig` and `JsonConfig` limits never
//! apply: the only limit is the provider's
//! [`max_body_bytes`](oauth_core::Config::max_body_bytes), at most one byte more is
//! read, and an oversized body gets the core's answer (413 `invalid_request` at the
//! token endpoint).
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix_web::{web, App, HttpServer};
//! use oauth_actix::{Bearer, ProtocolService, RequireBearer};
//! use oauth_core::Provider;
//! use oauth_store_memory::MemoryStore;
//!
//! async fn me(Bearer(access, _): Bearer<MemoryStore>) -> String {
//!     format!("{:?} via {}", access.user_id, access.client_id)
//! }
//!
//! async fn serve(provider: Arc<Provider<MemoryStore>>) -> std::io::Result<()> {
//!     let protocol = ProtocolService::new(Arc::clone(&provider));
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(web::Data::from(Arc::clone(&provider)))
//!             .configure(|cfg| protocol.configure(cfg))
//!             .service(
//!                 web::resource("/api/me")
//!                     .wrap(RequireBearer::new(Arc::clone(&provider)).scope("read"))
//!                     .get(me),
//!             )
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
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

mod authorize;
mod bearer;
mod body;
mod convert;
mod cors;
mod provider;
mod routes;

pub use authorize::{authorization_error_response, AuthorizationRequest, Page};
pub use bearer::{Bearer, BearerRejection, RequireBearer, RequireBearerService};
pub use convert::core_response;
pub use cors::{CorsMiddleware, CorsPolicy, CorsService};
pub use provider::ProviderMissing;
pub use routes::ProtocolService;
