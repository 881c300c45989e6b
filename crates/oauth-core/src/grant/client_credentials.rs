//! The client-credentials grant (OAuth 2.1 §4.2): confidential clients only, no refresh
//! token (RFC 6749 §4.4.3), so `offline_access` is ignored in its scope
//! ([`scope::resolve`]). The token's grant has the client itself as subject, so a
//! resource server never mistakes it for a user's token (OAuth 2.1 §7.4).

use crate::error::Reason;
use crate::model::{ClientType, GrantId, GrantRecord, Subject};
use crate::resource;
use crate::scope;
use crate::token::{issue_tokens, Authenticated, Issue, TokenPersistence, TokenStep};

pub(crate) fn start(request: Authenticated<'_>) -> TokenStep<'_> {
    if request.client.client_type() == ClientType::Public {
        return request.fail(Reason::PublicClientCredentialsGrant);
    }
    let config = &request.machine.config;
    let scope = match request.params.single("scope").and_then(|requested| {
        scope::resolve(
            requested,
            &config.scopes,
            config.default_scope.as_ref(),
            scope::ClientScope::of(config, &request.client),
            scope::ScopeRequest::ClientCredentials,
        )
    }) {
        Ok(scope) => scope,
        Err(reason) => return request.fail(reason),
    };
    let audience = match resource::resolve(
        request.params.all("resource"),
        &config.resources,
        config.require_resource,
    ) {
        Ok(audience) => audience,
        Err(reason) => return request.fail(reason),
    };
    let grant_id = match request.machine.new_id() {
        Ok(id) => GrantId::new(id),
        Err(reason) => return request.fail(reason),
    };
    // The grant lives exactly as long as its one access token.
    let expires_at = request.now.plus(config.lifetimes.access_token);
    let grant = GrantRecord {
        id: grant_id.clone(),
        subject: Subject::Client,
        client_id: request.client.id.clone(),
        scope: scope.clone(),
        resources: audience.clone(),
        props: None,
        created_at: request.now,
        expires_at,
    };
    let issued = issue_tokens(
        request.machine,
        request.now,
        Issue {
            client: &request.client,
            grant_id: &grant_id,
            grant_expires_at: expires_at,
            scope,
            audience,
            refresh: None,
            props_key: None,
        },
    );
    match issued {
        Err(reason) => request.fail(reason),
        Ok((tokens, response)) => TokenStep::Persist(TokenPersistence {
            machine: request.machine,
            used_authorization_header: request.used_authorization_header,
            new_grant: Some(grant),
            tokens,
            response,
        }),
    }
}
