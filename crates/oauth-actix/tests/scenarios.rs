//! The HTTP scenarios every glue passes (`oauth-glue-scenarios`), run against the host
//! app of their contract built with oauth-actix's public API, initialised with
//! `actix_web::test::init_service` and answered by `call_service`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{test, web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_core::Stream;
use oauth_actix::{
    authorization_error_response, core_response, AuthorizationRequest, Bearer, CorsPolicy, Page,
    ProtocolService, RequireBearer,
};
use oauth_core::resource::Resource;
use oauth_core::Provider;
use oauth_glue_scenarios::harness::{consent_html, describe_access, host_decision};
use oauth_glue_scenarios::{
    App, AppSpec, Cors, Glue, DECISION_HEADER, OTHER_RESOURCE, RESOURCE, USER_HEADER,
};
use oauth_store_memory::MemoryStore;

/// oauth-actix under test.
struct Actix;

/// The host app as an initialised actix service.
struct ActixApp<Svc>(Svc);

#[async_trait::async_trait(?Send)]
impl Glue for Actix {
    async fn app(&self, spec: AppSpec) -> Box<dyn App> {
        let provider = spec.provider;
        let cors = match spec.cors {
            Cors::AnyOrigin => CorsPolicy::AnyOrigin,
            Cors::Origins(origins) => CorsPolicy::Origins(
                origins
                    .iter()
                    .map(|origin| HeaderValue::from_str(origin).expect("an origin"))
                    .collect(),
            ),
            Cors::SameOriginOnly => CorsPolicy::SameOriginOnly,
        };
        let resource = |uri: &str| Resource::parse(uri).expect("a resource");
        let api = |path: &str, resource: Resource, scope: &str| {
            web::resource(path)
                .wrap(RequireBearer::for_resource(Arc::clone(&provider), resource).scope(scope))
                .get(describe)
        };
        let protocol = ProtocolService::new(Arc::clone(&provider)).cors(cors);
        let mut app = actix_web::App::new()
            .app_data(web::Data::from(Arc::clone(&provider)))
            .service(web::resource("/authorize").get(authorize).post(authorize))
            .service(api("/api/me", resource(RESOURCE), "read"))
            .service(api("/api/admin", resource(RESOURCE), "admin"));
        if spec.other_resource {
            app = app.service(api("/files/api", resource(OTHER_RESOURCE), "read"));
        }
        let app = app.configure(|cfg| protocol.configure(cfg));
        Box::new(ActixApp(test::init_service(app).await))
    }
}

#[async_trait::async_trait(?Send)]
impl<Svc, B> App for ActixApp<Svc>
where
    Svc: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    async fn send(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        let (parts, body) = request.into_parts();
        let mut test = test::TestRequest::default()
            .method(
                actix_web::http::Method::from_bytes(parts.method.as_str().as_bytes())
                    .expect("a method"),
            )
            .uri(&parts.uri.to_string());
        for (name, value) in &parts.headers {
            test = test.append_header((
                HeaderName::from_bytes(name.as_str().as_bytes()).expect("a header name"),
                HeaderValue::from_bytes(value.as_bytes()).expect("a header value"),
            ));
        }
        // A body with Content-Length arrives whole; one without, as a stream of unknown
        // length (as a chunked body does).
        let payload = if parts.headers.contains_key(http::header::CONTENT_LENGTH) {
            Payload::from(body)
        } else {
            Payload::Stream {
                payload: Box::pin(Chunked(body)) as actix_http::BoxedPayloadStream,
            }
        };
        let (request, _) = test.to_request().replace_payload(payload);
        let response = test::call_service(&self.0, request).await;
        let mut back = http::Response::new(Bytes::new());
        *back.status_mut() =
            http::StatusCode::from_u16(response.status().as_u16()).expect("a status");
        for (name, value) in response.headers() {
            back.headers_mut().append(
                http::HeaderName::from_bytes(name.as_str().as_bytes()).expect("a header name"),
                http::HeaderValue::from_bytes(value.as_bytes()).expect("a header value"),
            );
        }
        *back.body_mut() = test::read_body(response).await;
        back
    }
}

/// A body of unknown length, in 4 KiB chunks.
struct Chunked(Bytes);

impl Stream for Chunked {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.0.is_empty() {
            return Poll::Ready(None);
        }
        let chunk = this.0.split_to(this.0.len().min(4096));
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// `{user} {client} {scope}` of the validated access.
async fn describe(Bearer(access, _): Bearer<MemoryStore>) -> String {
    describe_access(&access)
}

/// The consent page, or the logged-in user's decision, or the error response.
async fn authorize(
    http: HttpRequest,
    provider: web::Data<Provider<MemoryStore>>,
    request: AuthorizationRequest<MemoryStore>,
) -> HttpResponse {
    let header = |name| {
        http.headers()
            .get(name)
            .map(|value| value.to_str().expect("a visible ASCII header value"))
    };
    let decision = host_decision(header(USER_HEADER), header(DECISION_HEADER));
    match (request.into_result(), decision) {
        (Ok(pending), None) => Page::consent(consent_html(&pending), &pending).into(),
        (Ok(pending), Some((user, decision))) => {
            match provider.complete_authorization(pending, decision).await {
                Ok(redirect) => core_response(redirect),
                Err(error) => authorization_error_response(error, Some(&user)),
            }
        }
        (Err(error), decision) => {
            authorization_error_response(error, decision.as_ref().map(|(user, _)| user))
        }
    }
}

oauth_glue_scenarios::scenarios!(#[actix_web::test], Actix);
