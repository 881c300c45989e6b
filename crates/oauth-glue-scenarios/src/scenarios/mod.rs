//! The scenarios, one module per endpoint. Each is `pub async fn name(glue: &dyn Glue)`,
//! named after the behaviour it pins, and listed once in [`scenarios!`](crate::scenarios!).

pub mod authorize;
pub mod bearer;
pub mod cors;
pub mod flow;
pub mod introspection;
pub mod metadata;
pub mod registration;
pub mod revocation;
pub mod token;
