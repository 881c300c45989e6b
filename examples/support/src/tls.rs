//! Optional https: the rustls server configuration from a certificate in files, or from a
//! self-signed development certificate generated at start (its private key never leaves
//! memory). Each server wraps it in its own listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::server::StartError;
use crate::settings::CommonSettings;

/// The TLS configuration chosen by the settings, and the certificate file clients should
/// trust when it was generated.
#[derive(Debug)]
pub struct Tls {
    /// The server configuration: the ring provider, safe default protocol versions, no
    /// client certificates, ALPN `http/1.1` (actix's rustls listener puts `h2` in front
    /// of it, so the actix example also speaks HTTP/2 over TLS).
    pub config: ServerConfig,
    /// The certificate file written for `--tls-self-signed`.
    pub generated_cert: Option<PathBuf>,
}

/// The TLS configuration of `settings` for a server listening on `addr`; `None` for
/// plain http.
pub fn configure(addr: SocketAddr, settings: &CommonSettings) -> Result<Option<Tls>, StartError> {
    let (certs, key, generated_cert) = if settings.tls_self_signed {
        let (certs, key) = self_signed(addr, settings)?;
        (certs, key, Some(settings.dev_cert_file.clone()))
    } else if let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) {
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StartError::Tls(format!("{}: {e}", cert.display())))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| StartError::Tls(format!("{}: {e}", key.display())))?;
        (certs, key, None)
    } else {
        return Ok(None);
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| StartError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Tls {
        config,
        generated_cert,
    }))
}

/// A certificate for `localhost`, the loopback addresses and the listening address,
/// written (public part only) to `--dev-cert-file`.
fn self_signed(
    addr: SocketAddr,
    settings: &CommonSettings,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), StartError> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ip = addr.ip().to_string();
    if !names.contains(&ip) {
        names.push(ip);
    }
    if let Some(host) = settings
        .issuer
        .as_deref()
        .and_then(|issuer| url::Url::parse(issuer).ok())
        .and_then(|url| {
            url.host_str()
                .map(|h| h.trim_matches(['[', ']']).to_owned())
        })
    {
        if !names.contains(&host) {
            names.push(host);
        }
    }
    let generated =
        rcgen::generate_simple_self_signed(names).map_err(|e| StartError::Tls(e.to_string()))?;
    write_cert(&settings.dev_cert_file, &generated.cert.pem())?;
    let key = PrivateKeyDer::try_from(generated.key_pair.serialize_der())
        .map_err(|e| StartError::Tls(e.to_string()))?;
    Ok((vec![generated.cert.der().clone()], key))
}

fn write_cert(path: &Path, pem: &str) -> Result<(), StartError> {
    std::fs::write(path, pem).map_err(|e| StartError::Tls(format!("{}: {e}", path.display())))
}
