//! The steps of the registration and client configuration endpoints. Each asks the caller
//! for one store call and is answered by `resume`, which consumes it.

use std::marker::PhantomData;

use http::StatusCode;

use crate::error::{Reason, StoreError};
use crate::machine::Machine;
use crate::model::{AuthMethod, Client, ClientId};
use crate::response::{empty_no_store, json_no_store, registration_error, HttpResponse};
use crate::secret::Secret;
use crate::time::UnixTime;

use super::client_metadata::{
    check, client_information, parse_members, parse_registration, Issued,
};
use super::{
    digest_matches, ClientRegistration, ManagementOperation, RegistrationContext,
    RegistrationOperation,
};

/// How many ids a registration draws before giving up on a (128-bit) collision.
const MAX_ID_ATTEMPTS: u8 = 3;

/// What the registration endpoint needs next.
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived values moved a few times per request; boxing would allocate per step"
)]
#[must_use = "a step must be answered or its response sent"]
#[non_exhaustive]
pub enum RegistrationStep<'m> {
    /// Store the new client, never replacing another:
    /// [`Store::insert_client`](crate::Store::insert_client).
    NeedsInsert(ClientInsertion<'m>),
    /// Send this response; the request is complete.
    Respond(HttpResponse),
}

/// What the client configuration endpoint needs next.
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived values moved a few times per request; boxing would allocate per step"
)]
#[must_use = "a step must be answered or its response sent"]
#[non_exhaustive]
pub enum ConfigurationStep<'m> {
    /// Look up the client the request manages: [`Store::client`](crate::Store::client).
    NeedsClient(ConfigurationLookup<'m>),
    /// Store the updated client if it still exists:
    /// [`Store::replace_client`](crate::Store::replace_client).
    NeedsUpdate(ClientUpdate<'m>),
    /// Delete the client with all its grants and tokens:
    /// [`Store::delete_client`](crate::Store::delete_client).
    NeedsDelete(ClientDeletion<'m>),
    /// Send this response; the request is complete.
    Respond(HttpResponse),
}

fn store_failed(error: &StoreError, allow: &'static str) -> HttpResponse {
    tracing::error!(
        error = %error,
        source = ?std::error::Error::source(error),
        "store failed during a registration request"
    );
    registration_error(Reason::StoreUnavailable, allow)
}

/// Asks to store a newly registered client.
pub struct ClientInsertion<'m> {
    pub(super) machine: &'m Machine,
    pub(super) client: Client,
    pub(super) secret: Option<Secret>,
    pub(super) registration_token: Secret,
    pub(super) attempts: u8,
}

impl<'m> ClientInsertion<'m> {
    /// The client to insert (with keyed digests only).
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Continues with the store's answer: `true` if the client was inserted, `false` if
    /// its id was taken (then a new id is drawn).
    pub fn resume(mut self, answer: Result<bool, StoreError>) -> RegistrationStep<'m> {
        match answer {
            Err(error) => RegistrationStep::Respond(store_failed(&error, "POST")),
            Ok(true) => {
                tracing::info!(
                    event = "client_registered",
                    client_id = ?self.client.id.as_str(),
                    public = self.secret.is_none(),
                );
                let issued = Issued {
                    secret: self.secret.as_ref(),
                    registration_token: &self.registration_token,
                };
                let body = client_information(self.machine.config(), &self.client, Some(&issued));
                RegistrationStep::Respond(json_no_store(StatusCode::CREATED, &body))
            }
            Ok(false) => {
                if self.attempts >= MAX_ID_ATTEMPTS {
                    tracing::error!("could not draw an unused client id");
                    return RegistrationStep::Respond(registration_error(
                        Reason::InternalFailure,
                        "POST",
                    ));
                }
                match self.machine.new_id() {
                    Ok(id) => {
                        self.client.id = ClientId::new(id);
                        self.attempts += 1;
                        RegistrationStep::NeedsInsert(self)
                    }
                    Err(reason) => RegistrationStep::Respond(registration_error(reason, "POST")),
                }
            }
        }
    }
}

/// The request at the client configuration endpoint, authenticated once the client is
/// found.
pub(crate) enum ManagementRequest {
    Read,
    Update { body: Vec<u8>, json: bool },
    Delete,
}

/// Asks for the client a configuration request names.
pub struct ConfigurationLookup<'m> {
    pub(super) machine: &'m Machine,
    pub(super) now: UnixTime,
    pub(super) client_id: ClientId,
    pub(super) token: Secret,
    pub(super) operation: ManagementRequest,
}

impl<'m> ConfigurationLookup<'m> {
    /// The client to look up.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<Option<Client>, StoreError>) -> ConfigurationStep<'m> {
        let machine = self.machine;
        let allow = if machine.config.registration.client_deletion {
            "GET, PUT, DELETE"
        } else {
            "GET, PUT"
        };
        let client = match answer {
            Err(error) => return ConfigurationStep::Respond(store_failed(&error, allow)),
            Ok(client) => client,
        };
        // RFC 7592 §2.1: a client that no longer exists is a 401, like a wrong token.
        let Some(client) = client.filter(|client| {
            client.registration_token.as_ref().is_some_and(|digest| {
                digest_matches(&machine.config.keyring, digest, self.token.expose())
            })
        }) else {
            return ConfigurationStep::Respond(
                machine.bearer_refusal(Some(Reason::RegistrationAccessTokenInvalid)),
            );
        };
        let operation = match self.operation {
            ManagementRequest::Read => ManagementOperation::Read,
            ManagementRequest::Update { .. } => ManagementOperation::Update,
            ManagementRequest::Delete => ManagementOperation::Delete,
        };
        if let Some(hook) = &machine.config.registration.hook {
            if !hook.allows(operation, &client) {
                tracing::info!(?operation, client_id = ?client.id.as_str(), "refused by the host's policy");
                return ConfigurationStep::Respond(empty_no_store(StatusCode::FORBIDDEN));
            }
        }
        match self.operation {
            ManagementRequest::Read => {
                let body = client_information(machine.config(), &client, None);
                ConfigurationStep::Respond(json_no_store(StatusCode::OK, &body))
            }
            ManagementRequest::Delete => ConfigurationStep::NeedsDelete(ClientDeletion {
                machine: PhantomData,
                client_id: client.id,
            }),
            ManagementRequest::Update { body, json } => {
                match machine.updated_client(&client, &body, json, self.now) {
                    Ok(updated) => ConfigurationStep::NeedsUpdate(ClientUpdate {
                        machine,
                        client: updated,
                    }),
                    Err(reason) => {
                        tracing::debug!(?reason, "client update refused");
                        ConfigurationStep::Respond(registration_error(reason, allow))
                    }
                }
            }
        }
    }
}

/// Asks to store an updated client.
pub struct ClientUpdate<'m> {
    machine: &'m Machine,
    client: Client,
}

impl<'m> ClientUpdate<'m> {
    /// The updated client.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<bool, StoreError>) -> ConfigurationStep<'m> {
        match answer {
            Err(error) => ConfigurationStep::Respond(store_failed(&error, "GET, PUT, DELETE")),
            // Deleted while this update was being validated: it stays deleted (RFC 7592
            // §2.1 answers a client that no longer exists like a wrong token).
            Ok(false) => ConfigurationStep::Respond(
                self.machine
                    .bearer_refusal(Some(Reason::RegistrationAccessTokenInvalid)),
            ),
            Ok(true) => {
                tracing::info!(event = "client_updated", client_id = ?self.client.id.as_str());
                let body = client_information(self.machine.config(), &self.client, None);
                ConfigurationStep::Respond(json_no_store(StatusCode::OK, &body))
            }
        }
    }
}

/// Asks to delete a client, cascading to its grants, codes and tokens.
pub struct ClientDeletion<'m> {
    machine: PhantomData<&'m Machine>,
    client_id: ClientId,
}

impl<'m> ClientDeletion<'m> {
    /// The client to delete.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<(), StoreError>) -> ConfigurationStep<'m> {
        match answer {
            Err(error) => ConfigurationStep::Respond(store_failed(&error, "GET, PUT, DELETE")),
            Ok(()) => {
                tracing::info!(event = "client_deleted", client_id = ?self.client_id.as_str());
                ConfigurationStep::Respond(empty_no_store(StatusCode::NO_CONTENT))
            }
        }
    }
}

fn is_public(method: AuthMethod) -> bool {
    method == AuthMethod::None
}

/// Whether an update asks for more than `current` is registered for: a scope outside its
/// scope, or a grant type it does not have. A scope of `None` allows every offered scope:
/// nothing widens it, and it widens anything narrower.
fn widens(update: &ClientRegistration, current: &Client) -> bool {
    let scope_widens = match (&update.scope, &current.scope) {
        (Some(requested), Some(registered)) => !requested.is_subset_of(registered),
        (_, None) => false,
        (None, Some(_)) => true,
    };
    scope_widens
        || update
            .grant_types
            .iter()
            .any(|grant| !current.grant_types.contains(grant))
}

impl Machine {
    /// The client record an update request asks for (RFC 7592 §2.2), or why not.
    fn updated_client(
        &self,
        current: &Client,
        body: &[u8],
        json: bool,
        now: UnixTime,
    ) -> Result<Client, Reason> {
        if !json {
            return Err(Reason::RegistrationWrongContentType);
        }
        let members = parse_members(body)?;
        let mut parsed = parse_registration(&members, &self.config.scopes)?;
        if parsed.client_id.as_deref() != Some(current.id.as_str()) {
            return Err(Reason::RegistrationClientIdMismatch);
        }
        if parsed.has_server_member {
            return Err(Reason::RegistrationServerMemberInRequest);
        }
        if let Some(presented) = &parsed.client_secret {
            let matches = match (presented.as_str(), &current.secret) {
                (Some(secret), Some(digest)) => {
                    digest_matches(&self.config.keyring, digest, secret)
                }
                _ => false,
            };
            if !matches {
                return Err(Reason::RegistrationClientSecretMismatch);
            }
        }
        // An omitted scope keeps the client's (not every offered scope, the registration
        // default): what the client may request is never widened by leaving it out.
        if !parsed.scope_given {
            parsed.registration.scope = current
                .scope
                .as_ref()
                .map(|scope| scope.intersection(&self.config.scopes));
        }
        let label = current.metadata.initial_access_token_label.as_deref();
        parsed.registration.metadata.initial_access_token_label = label.map(str::to_owned);
        check(&parsed.registration, &self.config.scopes)?;
        if is_public(parsed.registration.token_endpoint_auth_method)
            != is_public(current.auth_method)
        {
            return Err(Reason::RegistrationClientTypeChange);
        }
        if widens(&parsed.registration, current) {
            return Err(Reason::RegistrationUpdateWidens);
        }
        let context = RegistrationContext {
            operation: RegistrationOperation::Update(current),
            initial_access_token: label,
            now,
        };
        let registration = self.review(parsed.registration, &context)?;
        if is_public(registration.token_endpoint_auth_method) != is_public(current.auth_method) {
            tracing::error!("the registration hook changed the client type of an update");
            return Err(Reason::InternalFailure);
        }
        Ok(Client {
            auth_method: registration.token_endpoint_auth_method,
            redirect_uris: registration.redirect_uris,
            grant_types: registration.grant_types,
            scope: registration.scope,
            name: registration.client_name,
            metadata: registration.metadata,
            ..current.clone()
        })
    }
}
