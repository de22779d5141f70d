//! TLS with rustls and its ring provider (cargo feature `tls`).

use std::fmt;
use std::io;
use std::sync::Arc;

use ::rustls::pki_types::pem::PemObject;
use ::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use ::rustls::server::WebPkiClientVerifier;
use ::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::warn;

use super::{TlsConfig, TlsError, TlsSource};

/// A TLS connection over TCP, either side.
pub(crate) type TlsStream = tokio_rustls::TlsStream<TcpStream>;

impl TlsConfig {
    /// Reads the files and builds both sides' rustls configurations.
    pub fn load(&self) -> Result<(Arc<ClientConfig>, Arc<ServerConfig>), TlsError> {
        let chain = certificates(&self.certificate, "certificate")?;
        let key = private_key(&self.private_key)?;
        let mut roots = RootCertStore::empty();
        for source in &self.ca {
            for cert in certificates(source, "ca")? {
                roots.add(cert).map_err(|e| TlsError::Load {
                    what: "ca",
                    file: source.describe(),
                    reason: e.to_string(),
                })?;
            }
        }
        if roots.is_empty() {
            return Err(TlsError::NoCa);
        }
        let roots = Arc::new(roots);
        // The provider is named, not taken from the process default: another crate of the
        // program may enable a second one, and rustls then refuses to guess.
        let provider = Arc::new(::rustls::crypto::ring::default_provider());
        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots.clone())
            .with_client_auth_cert(chain.clone(), key.clone_key())?;
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
        let verifier = if self.require_client_auth {
            verifier
        } else {
            verifier.allow_unauthenticated()
        }
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        Ok((Arc::new(client), Arc::new(server)))
    }
}

fn certificates(
    source: &TlsSource,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::Load {
        what,
        file: source.describe(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = match source {
        TlsSource::File(p) => CertificateDer::pem_file_iter(p)
            .and_then(Iterator::collect)
            .map_err(|e| bad(e.to_string()))?,
        TlsSource::Der(items) => items.iter().map(|d| d.clone().into()).collect(),
    };
    if certs.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(certs)
}

fn private_key(source: &TlsSource) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bad = |reason: String| TlsError::Load {
        what: "private_key",
        file: source.describe(),
        reason,
    };
    match source {
        TlsSource::File(p) => PrivateKeyDer::from_pem_file(p).map_err(|e| bad(e.to_string())),
        TlsSource::Der(items) => match items.as_slice() {
            [key] => PrivateKeyDer::try_from(key.clone()).map_err(|e| bad(e.into())),
            _ => Err(bad("exactly one key expected".into())),
        },
    }
}

/// Both sides of the node's TLS, built once at start.
#[derive(Clone)]
pub(crate) struct Tls {
    connector: TlsConnector,
    acceptor: TlsAcceptor,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tls")
    }
}

/// A failed handshake, told apart from other connection failures by the peer's task (its
/// `tls_failures` counter).
#[derive(Debug, thiserror::Error)]
#[error("TLS handshake with {peer} failed: {source}")]
pub(crate) struct HandshakeError {
    peer: String,
    source: io::Error,
}

/// Whether a connection attempt failed in its TLS handshake.
pub(crate) fn is_handshake_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|e| e.is::<HandshakeError>())
}

impl Tls {
    pub(crate) fn new(config: &TlsConfig) -> Result<Self, TlsError> {
        let (client, server) = config.load()?;
        Ok(Self {
            connector: TlsConnector::from(client),
            acceptor: TlsAcceptor::from(server),
        })
    }

    /// The client handshake; the server's certificate must name `identity`, the peer's
    /// DiameterIdentity.
    pub(crate) async fn connect(&self, tcp: TcpStream, identity: &str) -> io::Result<TlsStream> {
        let failed = |source: io::Error| {
            let e = HandshakeError {
                peer: identity.to_owned(),
                source,
            };
            warn!(error = %e, "TLS connection refused");
            io::Error::new(io::ErrorKind::ConnectionRefused, e)
        };
        let name = ServerName::try_from(identity.to_owned())
            .map_err(|e| failed(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        match self.connector.connect(name, tcp).await {
            Ok(s) => Ok(s.into()),
            Err(e) => Err(failed(e)),
        }
    }

    /// The server handshake (client certificate checked against the CAs; its names are
    /// checked once the CER names the peer: [`certificate_names`]).
    pub(crate) async fn accept(&self, tcp: TcpStream) -> io::Result<TlsStream> {
        let s = self.acceptor.accept(tcp).await?;
        Ok(s.into())
    }
}

/// Inband-Security-Id TLS (RFC 3588 §2.1) on a connection right after its CEA: as the
/// client, the server's certificate must name the peer's DiameterIdentity; as the server,
/// the client's (when it sends one) must name the CER's Origin-Host.
pub(crate) async fn inband_handshake(
    tls: Tls,
    tcp: TcpStream,
    identity: std::sync::Arc<str>,
    client: bool,
) -> io::Result<TlsStream> {
    if client {
        return tls.connect(tcp, &identity).await;
    }
    let stream = tls.accept(tcp).await?;
    match stream.get_ref().1.peer_certificates() {
        Some(certs) if !certificate_names(certs, &identity) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("client certificate does not name {identity}"),
        )),
        _ => Ok(stream),
    }
}

/// Whether `host` (a CER's Origin-Host) is one of the DNS names of `certs`' leaf (RFC 6733
/// §13.1; subject alternative names only, as RFC 6125 asks). Garbage never matches.
pub(crate) fn certificate_names(certs: &[CertificateDer<'_>], host: &str) -> bool {
    let (Some(leaf), Ok(name)) = (certs.first(), ServerName::try_from(host)) else {
        return false;
    };
    webpki::EndEntityCert::try_from(leaf)
        .and_then(|cert| cert.verify_is_valid_for_subject_name(&name))
        .is_ok()
}

/// The TCP connection under a TLS one.
pub(crate) fn tcp(stream: &TlsStream) -> &TcpStream {
    stream.get_ref().0
}

/// Whether TLS records wait inside rustls, not yet handed to the socket.
pub(crate) fn wants_write(stream: &TlsStream) -> bool {
    stream.get_ref().1.wants_write()
}

/// Whether `host` is one of the DNS names of the client certificate of `stream`; `None`
/// when the client sent none.
pub(crate) fn client_certificate_names(stream: &TlsStream, host: &str) -> Option<bool> {
    let certs = stream.get_ref().1.peer_certificates()?;
    Some(certificate_names(certs, host))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A folder of PEM files made by rcgen: a CA, and a node certificate for
    /// `node.example.org` with its key; removed on drop.
    struct Files(PathBuf);

    impl Files {
        fn new(label: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("diameter-node-tls-{label}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap())
                .unwrap();
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec!["node.example.org".to_owned()])
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
            std::fs::write(dir.join("node.pem"), cert.pem()).unwrap();
            std::fs::write(dir.join("node.key"), key.serialize_pem()).unwrap();
            Self(dir)
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }

        fn config(&self) -> TlsConfig {
            TlsConfig::from_pem_files(
                self.path("node.pem"),
                self.path("node.key"),
                [self.path("ca.pem")],
            )
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn loads_pem_files() {
        let f = Files::new("load");
        assert!(f.config().load().is_ok());
        assert!(f.config().require_client_auth(false).load().is_ok());
        assert!(Tls::new(&f.config()).is_ok());
    }

    #[test]
    fn refuses_unusable_files() {
        let f = Files::new("refuse");
        std::fs::write(f.path("empty.pem"), "").unwrap();
        let cases = [
            // a missing file, named in the error
            (
                TlsConfig {
                    certificate: f.path("nope.pem").into(),
                    ..f.config()
                },
                "nope.pem",
            ),
            // a certificate where the key should be
            (
                TlsConfig {
                    private_key: f.path("node.pem").into(),
                    ..f.config()
                },
                "private_key",
            ),
            // no certificate in the file
            (
                TlsConfig {
                    certificate: f.path("empty.pem").into(),
                    ..f.config()
                },
                "certificate",
            ),
            (
                TlsConfig {
                    ca: vec![f.path("empty.pem").into()],
                    ..f.config()
                },
                "ca",
            ),
            (
                TlsConfig {
                    ca: Vec::new(),
                    ..f.config()
                },
                "no CA",
            ),
            // a key that is not the certificate's
            (
                TlsConfig {
                    private_key: TlsSource::Der(vec![
                        rcgen::KeyPair::generate().unwrap().serialize_der(),
                    ]),
                    ..f.config()
                },
                "TLS",
            ),
            (
                TlsConfig {
                    private_key: TlsSource::Der(vec![vec![1, 2, 3]]),
                    ..f.config()
                },
                "private_key",
            ),
        ];
        for (config, says) in cases {
            let e = config.load().expect_err("an error");
            assert!(e.to_string().contains(says), "{e} (expected {says:?})");
        }
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let s = format!("{:?}", TlsSource::Der(vec![vec![0xAB; 32]]));
        assert_eq!(s, "Der(1 item(s))");
    }

    #[test]
    fn client_certificate_names() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![
            "node.example.org".to_owned(),
            "*.wild.example.org".to_owned(),
        ])
        .unwrap()
        .self_signed(&key)
        .unwrap();
        let certs = [cert.der().clone()];
        assert!(certificate_names(&certs, "node.example.org"));
        assert!(
            certificate_names(&certs, "NODE.Example.org"),
            "DNS names ignore case"
        );
        assert!(certificate_names(&certs, "a.wild.example.org"));
        for other in [
            "other.example.org",
            "example.org",
            "",
            "node.example.org\0",
            "1.2.3.4",
            "\u{e9}",
        ] {
            assert!(!certificate_names(&certs, other), "{other:?}");
        }
        assert!(!certificate_names(&[], "node.example.org"));
        assert!(!certificate_names(
            &[CertificateDer::from(vec![0x30, 0x03, 1, 2])],
            "node.example.org"
        ));
    }
}
