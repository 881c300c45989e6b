//! The server key: from `--key`, from `--key-file`, or (development only) generated once
//! and kept in an owner-only file. Never a constant: without a key a production server
//! refuses to start.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth_core::{KeyId, Keyring, OsRandom, SecureRandom};

use crate::server::StartError;
use crate::settings::CommonSettings;

/// The shortest key accepted: 256 bits.
const MIN_KEY_BYTES: usize = 32;

/// Where the key came from, for the start banner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `--key` / `OAUTH_SERVER_KEY`.
    Setting,
    /// `--key-file`.
    File,
    /// The development key file (created now, or by an earlier start).
    Development {
        /// Whether this start created it.
        created: bool,
    },
}

/// Loads the keyring. A development key is allowed only for a development server
/// (loopback issuer on a loopback address).
pub(crate) fn load(
    settings: &CommonSettings,
    development: bool,
) -> Result<(Keyring, KeySource), StartError> {
    let key_id = KeyId::new(settings.key_id.clone()).map_err(StartError::Key)?;
    let (secret, source) = if let Some(text) = &settings.key {
        (decode(text)?, KeySource::Setting)
    } else if let Some(path) = &settings.key_file {
        (read_key_file(path)?, KeySource::File)
    } else if development {
        let (secret, created) = development_key(&settings.dev_key_file)?;
        (secret, KeySource::Development { created })
    } else {
        return Err(StartError::NoKey);
    };
    let keyring = Keyring::from_secret(key_id, &secret).map_err(StartError::Key)?;
    Ok((keyring, source))
}

fn decode(text: &str) -> Result<Vec<u8>, StartError> {
    let secret = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| StartError::BadKey("not base64url without padding"))?;
    if secret.len() < MIN_KEY_BYTES {
        return Err(StartError::BadKey("shorter than 32 bytes"));
    }
    Ok(secret)
}

fn read_key_file(path: &Path) -> Result<Vec<u8>, StartError> {
    let io = |error| StartError::KeyFile(path.to_owned(), error);
    let file = std::fs::File::open(path).map_err(io)?;
    refuse_shared_file(path, &file)?;
    let text = std::io::read_to_string(file).map_err(io)?;
    decode(&text)
}

/// A key file anyone else on the machine can read is a leaked key (as OpenSSH refuses
/// such private keys).
#[cfg(unix)]
fn refuse_shared_file(path: &Path, file: &std::fs::File) -> Result<(), StartError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|error| StartError::KeyFile(path.to_owned(), error))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(StartError::KeyFilePermissions(
            path.to_owned(),
            mode & 0o777,
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared_file(_path: &Path, _file: &std::fs::File) -> Result<(), StartError> {
    Ok(())
}

/// Reads the development key, or creates it (256 bits from the OS, mode 0600). The key
/// is written whole to a temporary file first and then linked into place, so a crash or
/// a concurrent start never leaves a partial key behind, and an existing key is never
/// overwritten.
fn development_key(path: &Path) -> Result<(Vec<u8>, bool), StartError> {
    let io = |error| StartError::KeyFile(path.to_owned(), error);
    if path.exists() {
        return Ok((read_key_file(path)?, false));
    }
    let mut secret = [0u8; MIN_KEY_BYTES];
    OsRandom.fill(&mut secret).map_err(|_| StartError::Random)?;
    let mut suffix = [0u8; 8];
    OsRandom.fill(&mut suffix).map_err(|_| StartError::Random)?;
    let temporary = path.with_extension(format!("tmp-{}", URL_SAFE_NO_PAD.encode(suffix)));
    let written = create_new_owner_only(&temporary).and_then(|mut file| {
        file.write_all(URL_SAFE_NO_PAD.encode(secret).as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok((secret.to_vec(), true)),
        // Another start won the race: use its key.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok((read_key_file(path)?, false))
        }
        Err(error) => Err(io(error)),
    }
}

/// Creates `path` only if it does not exist, readable by its owner alone from the start
/// (no window in which the key is world-readable).
fn create_new_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::settings;

    fn temp_dir() -> std::path::PathBuf {
        let mut name = [0u8; 8];
        OsRandom.fill(&mut name).unwrap();
        let dir = std::env::temp_dir().join(format!("keys-{}", URL_SAFE_NO_PAD.encode(name)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn no_key_refuses_to_start_for_a_non_loopback_issuer() {
        let dir = temp_dir();
        let file = dir.join("dev.key");
        let s = settings(&["--dev-key-file", file.to_str().unwrap()]);
        assert!(matches!(load(&s, false), Err(StartError::NoKey)));
        assert!(
            !file.exists(),
            "no development key is written for a real issuer"
        );
    }

    #[test]
    fn development_key_is_created_owner_only_and_reused() {
        let dir = temp_dir();
        let file = dir.join("dev.key");
        let s = settings(&["--dev-key-file", file.to_str().unwrap()]);
        let (_, first) = load(&s, true).unwrap();
        assert_eq!(first, KeySource::Development { created: true });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&written).unwrap().len(), 32);
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        let (_, second) = load(&s, true).unwrap();
        assert_eq!(second, KeySource::Development { created: false });
        assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
    }

    #[test]
    fn concurrent_first_starts_agree_on_one_development_key() {
        let dir = temp_dir();
        let file = dir.join("dev.key");
        let s = settings(&["--dev-key-file", file.to_str().unwrap()]);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || load(&s, true).unwrap().1)
            })
            .collect();
        let created = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|source| *source == KeySource::Development { created: true })
            .count();
        assert_eq!(created, 1);
        let key = std::fs::read_to_string(&file).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(key).unwrap().len(), 32);
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir();
        let file = dir.join("server.key");
        std::fs::write(&file, URL_SAFE_NO_PAD.encode([7u8; 32])).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = settings(&["--key-file", file.to_str().unwrap()]);
        assert!(matches!(
            load(&s, false),
            Err(StartError::KeyFilePermissions(_, 0o644))
        ));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(&s, false).unwrap().1, KeySource::File);
    }

    #[test]
    fn key_shorter_than_256_bits_or_not_base64url_is_refused() {
        let short = URL_SAFE_NO_PAD.encode([1u8; 31]);
        assert!(matches!(
            load(&settings(&["--key", &short]), false),
            Err(StartError::BadKey(_))
        ));
        assert!(matches!(
            load(&settings(&["--key", "not base64!"]), false),
            Err(StartError::BadKey(_))
        ));
        let good = URL_SAFE_NO_PAD.encode([1u8; 32]);
        assert_eq!(
            load(&settings(&["--key", &good]), false).unwrap().1,
            KeySource::Setting
        );
    }
}
