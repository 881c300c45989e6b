//! Randomness as the machine sees it: a source held in the configuration.
//!
//! Every token, nonce and id is drawn through [`SecureRandom`], so the machine stays
//! deterministic under test (inject a seeded source) and uses the OS CSPRNG in
//! production ([`OsRandom`]).

/// A cryptographically secure source of random bytes.
///
/// Implementations used outside tests must be backed by the operating system's CSPRNG.
/// A failure to obtain randomness is not recoverable for an authorization server, so
/// implementations return an error and the machine answers `server_error`.
pub trait SecureRandom: Send + Sync + 'static {
    /// Fills `dest` entirely with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The random source could not produce bytes.
#[derive(Debug, thiserror::Error)]
#[error("the random number generator failed")]
pub struct RandomError;

/// The operating system's CSPRNG (`getrandom`), through `rand_core::OsRng`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

impl SecureRandom for OsRandom {
    #[allow(
        clippy::disallowed_methods,
        clippy::disallowed_types,
        reason = "the one sanctioned OS randomness read: OsRandom is the default SecureRandom"
    )]
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        use rand_core::RngCore;
        rand_core::OsRng
            .try_fill_bytes(dest)
            .map_err(|_| RandomError)
    }
}

/// Draws `N` random bytes.
pub(crate) fn random_array<const N: usize>(
    random: &dyn SecureRandom,
) -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    random.fill(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_fills_the_whole_buffer() {
        let a: [u8; 32] = random_array(&OsRandom).unwrap();
        let b: [u8; 32] = random_array(&OsRandom).unwrap();
        assert_ne!(a, b, "two 256-bit draws collided");
        assert_ne!(a, [0u8; 32]);
    }
}
