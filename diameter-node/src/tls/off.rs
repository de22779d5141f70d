//! Without the cargo feature `tls`: the same crate-internal names, uninhabited, so that
//! the transport code has one shape with or without TLS and the TLS paths compile to
//! nothing. A node configured with TLS refuses to start ([`TlsError::NotBuilt`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{TlsConfig, TlsError};

/// The node's TLS: cannot exist without the feature.
#[derive(Clone, Debug)]
pub(crate) enum Tls {}

/// A TLS connection: cannot exist without the feature.
#[derive(Debug)]
pub(crate) enum TlsStream {}

impl Tls {
    pub(crate) fn new(_: &TlsConfig) -> Result<Self, TlsError> {
        Err(TlsError::NotBuilt)
    }

    pub(crate) async fn connect(&self, _: TcpStream, _: &str) -> io::Result<TlsStream> {
        match *self {}
    }

    pub(crate) async fn accept(&self, _: TcpStream) -> io::Result<TlsStream> {
        match *self {}
    }
}

pub(crate) fn is_handshake_error(_: &io::Error) -> bool {
    false
}

pub(crate) async fn inband_handshake(
    tls: Tls,
    _: TcpStream,
    _: Arc<str>,
    _: bool,
) -> io::Result<TlsStream> {
    match tls {}
}

pub(crate) fn tcp(stream: &TlsStream) -> &TcpStream {
    match *stream {}
}

pub(crate) fn wants_write(stream: &TlsStream) -> bool {
    match *stream {}
}

pub(crate) fn client_certificate_names(stream: &TlsStream, _: &str) -> Option<bool> {
    match *stream {}
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match *self {}
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        match *self {}
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }
}
