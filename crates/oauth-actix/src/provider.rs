//! How the extractors find the provider: as application data.

use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use oauth_core::{Provider, Store};

/// The provider registered for `request`'s application, resource or scope.
///
/// Registered as `web::Data::from(provider)` (a `web::Data<Provider<S>>`, sharing the
/// host's `Arc<Provider<S>>`), or, as a convenience for the other natural spelling,
/// `web::Data::new(provider)` (a `web::Data<Arc<Provider<S>>>`).
pub(crate) fn registered<S: Store>(
    request: &HttpRequest,
) -> Result<Arc<Provider<S>>, ProviderMissing> {
    if let Some(data) = request.app_data::<web::Data<Provider<S>>>() {
        return Ok(data.clone().into_inner());
    }
    if let Some(data) = request.app_data::<web::Data<Arc<Provider<S>>>>() {
        return Ok(Arc::clone(data.get_ref()));
    }
    let missing = ProviderMissing {
        store: std::any::type_name::<S>(),
    };
    tracing::error!(error = %missing, path = request.path(), "misconfigured application");
    Err(missing)
}

/// An extractor found no provider: the application forgot to register it.
///
/// The answer is 500 with this message: it is a mistake in the host's wiring, not the
/// client's, and is found at the first request. Register the provider as application
/// data:
///
/// ```
/// # use std::sync::Arc;
/// # use actix_web::{web, App};
/// # use oauth_core::Provider;
/// # use oauth_store_memory::MemoryStore;
/// # fn app(provider: Arc<Provider<MemoryStore>>) {
/// App::new().app_data(web::Data::from(provider))
/// # ;
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMissing {
    store: &'static str,
}

impl std::fmt::Display for ProviderMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "oauth-actix: no provider is registered for this route: you forgot to register \
             the provider (`App::app_data(web::Data::from(provider))`, a \
             `web::Data<Provider<{}>>`)",
            self.store
        )
    }
}

impl std::error::Error for ProviderMissing {}

impl ResponseError for ProviderMissing {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        HttpResponse::build(self.status_code())
            .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(self.to_string())
    }
}
