//! Mutations of a sealed pending-authorization ticket, through
//! `Provider::resume_authorization`.
//!
//! One valid pending authorization is sealed once per process (`Provider::seal_ticket`,
//! bound to a session). The input chooses the session binding to resume with (byte 0),
//! then a list of mutations of the ticket string: flip bits at a position, truncate,
//! insert or delete a byte, or replace the whole ticket with arbitrary bytes.
//!
//! Oracles (fail closed):
//! - resuming succeeds only if the mutated ticket equals the original and the binding is
//!   the one it was sealed with, and then yields the same pending authorization;
//! - the untouched ticket with its binding always resumes (positive control);
//! - another session's binding always fails (`TicketBindingMismatch` for the untouched
//!   ticket), a binding below the minimum length is API misuse, and every other failure
//!   is a fatal `InvalidTicket` or `TicketBindingMismatch`, never a redirect.
//!
//! The sealed-props envelope (`crypto::props`) has no public open/seal API (its
//! `seal_props`/`open` are crate-private), so it is not fuzzed here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth_core::{AuthorizationError, Reason};
use oauth_fuzz::{block_on, provider, sealed_ticket, BINDING, OTHER_BINDING};

/// A binding below `MIN_SESSION_BINDING_LEN`.
const SHORT_BINDING: &[u8] = b"too-short";

fn take_u16(input: &mut &[u8]) -> usize {
    let value = match input {
        [a, b, rest @ ..] => {
            let v = u16::from_le_bytes([*a, *b]);
            *input = rest;
            v
        }
        [a] => {
            let v = u16::from(*a);
            *input = &[];
            v
        }
        [] => 0,
    };
    usize::from(value)
}

fn take_u8(input: &mut &[u8]) -> u8 {
    match input.split_first() {
        Some((b, rest)) => {
            *input = rest;
            *b
        }
        None => 0,
    }
}

/// Applies the input's mutations to `ticket`.
fn mutate(ticket: &str, mut input: &[u8]) -> String {
    let mut bytes = ticket.as_bytes().to_vec();
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        match op % 5 {
            0 => {
                let position = take_u16(&mut input);
                let mask = take_u8(&mut input);
                if let Some(len) = std::num::NonZeroUsize::new(bytes.len()) {
                    bytes[position % len.get()] ^= mask;
                }
            }
            1 => {
                let len = take_u16(&mut input) % (bytes.len() + 1);
                bytes.truncate(len);
            }
            2 => {
                let position = take_u16(&mut input) % (bytes.len() + 1);
                let byte = take_u8(&mut input);
                bytes.insert(position, byte);
            }
            3 => {
                if !bytes.is_empty() {
                    let position = take_u16(&mut input) % bytes.len();
                    bytes.remove(position);
                }
            }
            _ => {
                // The rest of the input is the whole ticket.
                bytes = input.to_vec();
                break;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fuzz_target!(|data: &[u8]| {
    let (original_pending, original) = sealed_ticket();
    let Some((&choice, mutations)) = data.split_first() else {
        return;
    };
    let binding = match choice % 8 {
        0 => OTHER_BINDING,
        1 => SHORT_BINDING,
        _ => BINDING,
    };
    let ticket = mutate(original, mutations);
    let untouched = ticket == *original;

    match block_on(provider().resume_authorization(&ticket, binding)) {
        Ok(pending) => {
            assert!(
                untouched && binding == BINDING,
                "a modified ticket or another binding was accepted: {ticket:?} with {:?}",
                String::from_utf8_lossy(binding)
            );
            assert_eq!(pending.client_id(), original_pending.client_id());
            assert_eq!(pending.redirect_uri(), original_pending.redirect_uri());
            assert_eq!(pending.scope(), original_pending.scope());
            assert_eq!(pending.resources(), original_pending.resources());
            assert_eq!(pending.expires_at(), original_pending.expires_at());
        }
        Err(error) => {
            assert!(
                !(untouched && binding == BINDING),
                "the untouched ticket did not resume: {error:?}"
            );
            match (&error, binding) {
                (AuthorizationError::Misuse(_), SHORT_BINDING) => {}
                // Only a ticket that opened can be a binding mismatch: the untouched one.
                (AuthorizationError::Fatal(Reason::TicketBindingMismatch), OTHER_BINDING)
                    if untouched => {}
                (AuthorizationError::Fatal(Reason::InvalidTicket), b) if b != SHORT_BINDING => {
                    assert!(
                        !(untouched && b == OTHER_BINDING),
                        "the untouched ticket with another binding must be a binding mismatch"
                    );
                }
                _ => panic!(
                    "unexpected failure {error:?} for {ticket:?} with {:?}",
                    String::from_utf8_lossy(binding)
                ),
            }
        }
    }
});
