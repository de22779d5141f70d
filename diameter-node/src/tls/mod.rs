//! TLS at connection start (RFC 6733 §2.1, §13.1), with rustls and its ring provider
//! (cargo feature `tls`, on by default; without it the configuration types stay and a
//! node configured with TLS refuses to start with `TlsError::NotBuilt`).
//!
//! - A peer whose URI is `aaas://` is connected to with TLS before the CER: its
//!   certificate must chain to one of the configured CAs and name the peer's
//!   DiameterIdentity (a DNS subject alternative name), else the connection fails and the
//!   peer stays closed (a warning, and the peer's `tls_failures` counter).
//! - The addresses of `tls_listen` accept TLS connections. Client certificates are
//!   required by default: §13.1 says both ends MUST authenticate. Once the CER has come,
//!   its Origin-Host must be one of the client certificate's DNS names (`acceptor.rs`),
//!   else the CER is answered 3010 DIAMETER_UNKNOWN_PEER and the connection closed.
//! - TLS 1.2 and 1.3 with rustls's safe defaults; §13.1's RC4 and 3DES suites are
//!   obsolete (RFC 8996, RFC 7465) and not offered.
//! - Inband-Security-Id TLS (RFC 3588 §2.1's TLS after CER/CEA, for old peers) when the
//!   configuration offers or requires it (`inband_security`, see
//!   [`crate::peer::capabilities::InbandSecurity`]): the CER/CEA go in the clear on a
//!   plain connection, then the side that sent the CER starts the handshake as the
//!   client (`Transport::start_tls`); the certificates are checked as above, the
//!   server's against the peer's DiameterIdentity and the client's against its CER's
//!   Origin-Host.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[cfg(not(feature = "tls"))]
mod off;
#[cfg(feature = "tls")]
mod rustls;

#[cfg(not(feature = "tls"))]
pub(crate) use off::{
    Tls, TlsStream, client_certificate_names, inband_handshake, is_handshake_error, tcp,
    wants_write,
};
#[cfg(feature = "tls")]
pub(crate) use rustls::{
    Tls, TlsStream, client_certificate_names, inband_handshake, is_handshake_error, tcp,
    wants_write,
};

/// The port of Diameter over TLS/TCP (RFC 6733 §2.1, `aaas://` URIs without a port).
pub const DEFAULT_TLS_PORT: u16 = 5658;

/// Where certificates or a private key come from.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TlsSource {
    /// A PEM file (in TOML: the path as a string, relative to the working directory).
    File(PathBuf),
    /// DER in memory: certificates (a chain leaf first, or CA certificates), or one
    /// private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(skip_deserializing)]
    Der(Vec<Vec<u8>>),
}

impl fmt::Debug for TlsSource {
    // Never the bytes: a private key must not end up in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Der(items) => write!(f, "Der({} item(s))", items.len()),
        }
    }
}

impl From<PathBuf> for TlsSource {
    fn from(p: PathBuf) -> Self {
        Self::File(p)
    }
}

impl From<&Path> for TlsSource {
    fn from(p: &Path) -> Self {
        Self::File(p.to_path_buf())
    }
}

impl From<&str> for TlsSource {
    fn from(p: &str) -> Self {
        Self::File(p.into())
    }
}

/// The node's TLS credentials and trust (the `[tls]` section).
///
/// ```toml
/// [tls]
/// certificate = "node.pem"      # chain, leaf first; DNS name = origin_host
/// private_key = "node.key"
/// ca = ["ca.pem"]               # peers' certificates must chain to one of these
/// require_client_auth = true    # default: TLS clients without a certificate are refused
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The node's certificate chain, leaf first. Its DNS names should include the node's
    /// Origin-Host: peers check it (§13.1).
    pub certificate: TlsSource,
    /// The private key of the leaf certificate.
    pub private_key: TlsSource,
    /// Trusted CA certificates, for servers we connect to and clients connecting to us.
    pub ca: Vec<TlsSource>,
    /// Refuse TLS clients that present no certificate (default; RFC 6733 §13.1: mutual
    /// authentication). When off, a client without a certificate is admitted like a plain
    /// TCP one; a certificate it does present is still checked.
    #[serde(default = "yes")]
    pub require_client_auth: bool,
}

fn yes() -> bool {
    true
}

impl TlsConfig {
    /// Credentials and CAs from PEM files; client certificates required.
    pub fn from_pem_files(
        certificate: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
        ca: impl IntoIterator<Item = impl AsRef<Path>>,
    ) -> Self {
        Self {
            certificate: certificate.as_ref().into(),
            private_key: private_key.as_ref().into(),
            ca: ca.into_iter().map(|p| p.as_ref().into()).collect(),
            require_client_auth: true,
        }
    }

    /// Credentials and CAs in DER: the chain (leaf first), the private key, the CA
    /// certificates; client certificates required.
    pub fn from_der(chain: Vec<Vec<u8>>, private_key: Vec<u8>, ca: Vec<Vec<u8>>) -> Self {
        Self {
            certificate: TlsSource::Der(chain),
            private_key: TlsSource::Der(vec![private_key]),
            ca: vec![TlsSource::Der(ca)],
            require_client_auth: true,
        }
    }

    /// Sets whether TLS clients must present a certificate.
    pub fn require_client_auth(mut self, require: bool) -> Self {
        self.require_client_auth = require;
        self
    }
}

impl TlsSource {
    #[cfg_attr(not(feature = "tls"), allow(dead_code))] // names a file in load errors
    fn describe(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Der(_) => "(DER in memory)".into(),
        }
    }
}

/// TLS credentials or trust that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file cannot be read or parsed.
    #[error("TLS {what} {file}: {reason}")]
    Load {
        /// Which setting (`certificate`, `private_key`, `ca`).
        what: &'static str,
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// No CA certificate: no peer could be authenticated.
    #[error("TLS: no CA certificate (ca)")]
    NoCa,
    /// rustls refuses the credentials (key not matching the certificate, ...).
    #[cfg(feature = "tls")]
    #[error("TLS: {0}")]
    Rustls(#[from] ::rustls::Error),
    /// TLS is configured but the crate was built without its cargo feature `tls`.
    #[cfg(not(feature = "tls"))]
    #[error("TLS is configured but diameter-node was built without the cargo feature `tls`")]
    NotBuilt,
    /// The client certificate verifier cannot be built.
    #[error("TLS client verifier: {0}")]
    Verifier(String),
}
