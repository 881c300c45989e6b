//! The grants of the token endpoint, one module each. `password` and `implicit` do not
//! exist here: OAuth 2.1 removed them (§10), and a request for them is
//! `unsupported_grant_type` / `unsupported_response_type`.

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod refresh_grace;
pub(crate) mod refresh_token;
