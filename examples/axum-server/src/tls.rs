//! Optional https: a certificate from files, or a self-signed development certificate
//! generated at start (its private key never leaves memory). Handshakes run in their own
//! tasks, bounded in number and time, so a slow client cannot hold up the others.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::server::StartError;
use crate::settings::Settings;

/// A handshake that takes longer is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many handshakes at once (a pending one costs a few KiB); further
/// connections wait in the TCP backlog.
const MAX_HANDSHAKES: usize = 1024;

/// The TLS configuration chosen by the settings, and the certificate file clients should
/// trust when it was generated.
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) generated_cert: Option<PathBuf>,
}

/// `None` for plain http.
pub(crate) fn configure(settings: &Settings) -> Result<Option<Tls>, StartError> {
    let (certs, key, generated_cert) = if settings.tls_self_signed {
        let (certs, key) = self_signed(settings)?;
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
        acceptor: TlsAcceptor::from(Arc::new(config)),
        generated_cert,
    }))
}

/// A certificate for `localhost`, the loopback addresses and the listening address,
/// written (public part only) to `--dev-cert-file`.
fn self_signed(
    settings: &Settings,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), StartError> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ip = settings.addr.ip().to_string();
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

/// A listener that yields connections once their TLS handshake is done.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp` until the listener is dropped.
    pub(crate) fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (sender, ready) = mpsc::channel(64);
        let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else {
                    return;
                };
                let accepted = tokio::select! {
                    accepted = tcp.accept() => accepted,
                    () = sender.closed() => return,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: back off briefly.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, sender) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls)) => {
                            drop(permit);
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task ended (only when this listener is dropped): nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
