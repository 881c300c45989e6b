//! The demo users: names with Argon2id password hashes, held in memory. Plain passwords
//! exist only while a user is created or a login is checked.

use std::collections::HashMap;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth_core::model::UserId;
use oauth_core::{OsRandom, SecureRandom};

use crate::server::StartError;

/// Longest user name and password accepted at login (longer input is refused before
/// hashing, so a huge password cannot buy CPU time).
pub(crate) const MAX_NAME_LEN: usize = 64;
pub(crate) const MAX_PASSWORD_LEN: usize = 256;

/// The user created when none is configured.
pub(crate) const DEFAULT_USER: &str = "alice";

/// The known users.
pub(crate) struct Users {
    hashes: HashMap<String, String>,
    /// A hash of a random password, verified against when the name is unknown, so a
    /// login takes as long whether or not the user exists.
    decoy: String,
}

/// A password generated at start for the default user, shown once in the banner.
pub(crate) struct GeneratedPassword {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl Users {
    /// Users from `name:password` specifications; with none, the default user with a
    /// random password (returned, to be printed).
    pub(crate) fn from_specs(
        specs: &[String],
    ) -> Result<(Users, Option<GeneratedPassword>), StartError> {
        let mut hashes = HashMap::new();
        let mut generated = None;
        if specs.is_empty() {
            let password = random_password()?;
            hashes.insert(DEFAULT_USER.to_owned(), hash(&password)?);
            generated = Some(GeneratedPassword {
                user: DEFAULT_USER.to_owned(),
                password,
            });
        }
        for spec in specs {
            let (name, password) = spec
                .split_once(':')
                .ok_or(StartError::BadUser("expected name:password"))?;
            if !valid_name(name) {
                return Err(StartError::BadUser(
                    "names are 1 to 64 characters of a-z, A-Z, 0-9, '.', '_', '-'",
                ));
            }
            if password.len() < 8 || password.len() > MAX_PASSWORD_LEN {
                return Err(StartError::BadUser("passwords are 8 to 256 bytes"));
            }
            if hashes.insert(name.to_owned(), hash(password)?).is_some() {
                return Err(StartError::BadUser("a user is configured twice"));
            }
        }
        let decoy = hash(&random_password()?)?;
        Ok((Users { hashes, decoy }, generated))
    }

    /// Whether `name` is a configured user.
    pub(crate) fn exists(&self, name: &str) -> bool {
        self.hashes.contains_key(name)
    }

    /// The user, if `password` is theirs. Argon2 verification compares in constant time;
    /// an unknown name is checked against the decoy hash so it costs the same.
    pub(crate) fn verify(&self, name: &str, password: &str) -> Option<UserId> {
        if name.len() > MAX_NAME_LEN || password.len() > MAX_PASSWORD_LEN {
            return None;
        }
        let (stored, known) = match self.hashes.get(name) {
            Some(stored) => (stored, true),
            None => (&self.decoy, false),
        };
        let parsed = PasswordHash::new(stored).ok()?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        (matches && known).then(|| UserId::new(name))
    }
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes) and a
/// 128-bit salt from the OS.
fn hash(password: &str) -> Result<String, StartError> {
    let mut salt = [0u8; 16];
    OsRandom.fill(&mut salt).map_err(|_| StartError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| StartError::Random)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| StartError::BadUser("password could not be hashed"))
}

/// 128 bits from the OS, base64url: 22 characters.
fn random_password() -> Result<String, StartError> {
    let mut bytes = [0u8; 16];
    OsRandom.fill(&mut bytes).map_err(|_| StartError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_user_logs_in_with_their_password_only() {
        let (users, generated) = Users::from_specs(&["bob:correct horse".to_owned()]).unwrap();
        assert!(generated.is_none());
        assert_eq!(
            users.verify("bob", "correct horse"),
            Some(UserId::new("bob"))
        );
        assert_eq!(users.verify("bob", "correct hors"), None);
        assert_eq!(users.verify("Bob", "correct horse"), None);
        assert_eq!(users.verify("carol", "correct horse"), None);
    }

    #[test]
    fn without_users_alice_gets_a_random_password() {
        let (users, generated) = Users::from_specs(&[]).unwrap();
        let generated = generated.unwrap();
        assert_eq!(generated.user, "alice");
        assert_eq!(generated.password.len(), 22);
        assert!(users.verify("alice", &generated.password).is_some());
        let (_, again) = Users::from_specs(&[]).unwrap();
        assert_ne!(again.unwrap().password, generated.password);
    }

    #[test]
    fn passwords_are_stored_as_argon2id_hashes() {
        let (users, _) = Users::from_specs(&["bob:correct horse".to_owned()]).unwrap();
        let stored = &users.hashes["bob"];
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("correct horse"));
    }

    #[test]
    fn malformed_user_specifications_are_refused() {
        for spec in ["bob", "bob:short", ":password1", "b o b:password1"] {
            assert!(
                Users::from_specs(&[spec.to_owned()]).is_err(),
                "{spec} accepted"
            );
        }
        let twice = ["bob:password1".to_owned(), "bob:password2".to_owned()];
        assert!(Users::from_specs(&twice).is_err());
    }

    #[test]
    fn oversized_login_input_is_refused_before_hashing() {
        let (users, _) = Users::from_specs(&["bob:correct horse".to_owned()]).unwrap();
        assert_eq!(users.verify("bob", &"x".repeat(MAX_PASSWORD_LEN + 1)), None);
    }
}
