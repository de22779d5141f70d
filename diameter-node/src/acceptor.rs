//! Incoming connections up to their CER (RFC 6733 §5.6.1): "logic separate from the state
//! machine to receive connection requests, accept them, and await the CER". The CER's
//! Origin-Host picks the peer; anything other than a CER first closes the connection, as
//! does silence beyond the CEA timeout; an unknown host gets 3010 DIAMETER_UNKNOWN_PEER
//! unless a realm pattern admits it (§5.3).
//!
//! On a TLS listener the handshake comes first, within the same CEA timeout. The CER's
//! Origin-Host must then be one of the client certificate's DNS names (§13.1: the
//! handshake authenticated that name, not the one the CER claims); otherwise, and for a
//! peer configured `aaas://` that connects without TLS, the CER is answered 3010
//! DIAMETER_UNKNOWN_PEER and the connection closed: §7.1.3's "a CER was received from an
//! unknown peer" fits a sender we cannot tie to the host it names, and the answer is the
//! one a host we do not know gets, so it tells a prober nothing more.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use diameter_core::generated::base::avp;
use diameter_core::{Message, ResultCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use crate::answer::raw_error_answer;
use crate::connection::Stream;
use crate::driver::spawn_dynamic_peer;
use crate::framing::next_frame;
use crate::peer::admission::{Admission, admit};
use crate::peer::base::{BaseKind, classify};
use crate::peer::capabilities::check_cer;
use crate::shared::{NodeShared, PeerCommand};
use crate::stats::{Counters, PreCerClose};
use crate::tls::Tls;

/// Accepts connections until the task is aborted; with `tls`, TLS ones.
pub(crate) async fn accept_loop(listener: TcpListener, node: Arc<NodeShared>, tls: Option<Tls>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                debug!(%addr, tls = tls.is_some(), "incoming connection");
                tokio::spawn(incoming(stream, node.clone(), tls.clone()));
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn incoming(tcp: TcpStream, node: Arc<NodeShared>, tls: Option<Tls>) {
    let _ = tcp.set_nodelay(true);
    let deadline = tokio::time::Instant::now() + node.config.timers.cea_timeout;
    let stream = match tls {
        None => Stream::Tcp(tcp),
        Some(tls) => match tokio::time::timeout_at(deadline, tls.accept(tcp)).await {
            Ok(Ok(s)) => Stream::Tls(Box::new(s)),
            // A bad handshake ends this connection only (info: scanners make many).
            Ok(Err(e)) => {
                info!(error = %e, "incoming TLS handshake failed");
                closed_before_cer(&node, PreCerClose::Tls);
                return;
            }
            Err(_) => {
                info!("incoming TLS handshake not completed within the CEA timeout");
                closed_before_cer(&node, PreCerClose::Tls);
                return;
            }
        },
    };
    until_cer(stream, node, deadline).await;
}

/// A connection that ends before its CER: logged and counted by reason (silent clients,
/// slow-loris and scanners would otherwise leave no trace).
fn closed_before_cer(node: &NodeShared, why: PreCerClose) {
    info!(reason = why.name(), "connection closed before its CER");
    node.peers.pre_cer.bump(why);
}

/// Accepts SCTP associations until the task is aborted (feature `sctp`); each then goes
/// the way of a TCP connection.
#[cfg(all(feature = "sctp", target_os = "linux"))]
pub(crate) async fn sctp_accept_loop(listener: crate::sctp::SctpListener, node: Arc<NodeShared>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                debug!(%addr, "incoming SCTP association");
                let deadline = tokio::time::Instant::now() + node.config.timers.cea_timeout;
                tokio::spawn(until_cer(Stream::Sctp(stream), node.clone(), deadline));
            }
            Err(e) => {
                warn!(error = %e, "SCTP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Waits for the first message of a connection (after the TLS handshake, on TLS) until
/// `deadline`, then hands the connection to the peer its CER names.
async fn until_cer(mut stream: Stream, node: Arc<NodeShared>, deadline: tokio::time::Instant) {
    let max = node.config.limits.max_message_size;
    let mut buf = BytesMut::with_capacity(4096);
    let first = tokio::time::timeout_at(deadline, async {
        loop {
            match next_frame(&mut buf, max) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(Some(e)),
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(4096);
            }
            let n = stream.read_buf(&mut buf).await;
            match n {
                Ok(0) | Err(_) => return Err(None),
                Ok(_) => {}
            }
        }
    })
    .await;
    let frame = match first {
        Ok(Ok(f)) => f,
        Ok(Err(Some(e))) => {
            let raw = buf.split().freeze();
            if let Some(a) = raw_error_answer(&raw, &node.local, e.result_code().0, None) {
                let _ = stream.write_all(a.as_bytes()).await;
            }
            let _ = stream.shutdown().await;
            closed_before_cer(&node, PreCerClose::Unframeable);
            return;
        }
        Ok(Err(None)) => return closed_before_cer(&node, PreCerClose::Closed),
        Err(_) => return closed_before_cer(&node, PreCerClose::Timeout),
    };
    let msg = match Message::decode(frame.clone()) {
        Ok(m) => m,
        Err(e) => {
            if let Some(a) = raw_error_answer(&frame, &node.local, e.result_code(), e.failed_avp())
            {
                let _ = stream.write_all(a.as_bytes()).await;
            }
            let _ = stream.shutdown().await;
            closed_before_cer(&node, PreCerClose::Undecodable);
            return;
        }
    };
    if classify(&msg) != BaseKind::Cer {
        // §5.6.1: close and discard the connection if anything other than a CER arrives.
        info!(code = msg.code(), "message before CER, closing");
        let _ = stream.shutdown().await;
        closed_before_cer(&node, PreCerClose::NotCer);
        return;
    }
    // Process-CER's checks come first (§5.3, §7): a malformed CER is answered with the
    // error, Failed-AVP and Error-Message, then closed, before any peer is looked up.
    if let Err(e) = check_cer(&msg) {
        info!(error = %e, "CER refused");
        let cea = node.local.cea_refusing(msg.header(), &e);
        let _ = stream.write_all(&cea).await;
        let _ = stream.shutdown().await;
        return;
    }
    let host = msg
        .find(avp::ORIGIN_HOST)
        .and_then(|a| std::str::from_utf8(a.data).ok())
        .map(str::to_owned);
    let realm = msg
        .find(avp::ORIGIN_REALM)
        .and_then(|a| std::str::from_utf8(a.data).ok())
        .map(str::to_owned);
    let (Some(host), Some(realm)) = (host, realm) else {
        // The state machine would answer 5005; without a host there is no state machine.
        reject(&mut stream, &node, &msg, ResultCode::DIAMETER_MISSING_AVP.0).await;
        return;
    };
    let known = node.find_peer(&host);
    if let Err(why) = authenticated(&stream, &node, &host) {
        warn!(%host, why, "CER refused: Origin-Host not authenticated by TLS, 3010");
        if let Some(slot) = &known {
            Counters::bump(&slot.counters.tls_failures);
        }
        reject(
            &mut stream,
            &node,
            &msg,
            ResultCode::DIAMETER_UNKNOWN_PEER.0,
        )
        .await;
        return;
    }
    let slot = match (admit(known.is_some(), &realm, &node.patterns), known) {
        (Admission::Known, Some(slot)) => slot,
        (Admission::Dynamic, _) => spawn_dynamic_peer(&node, &host),
        _ => {
            info!(%host, %realm, "CER from an unknown peer, 3010");
            reject(
                &mut stream,
                &node,
                &msg,
                ResultCode::DIAMETER_UNKNOWN_PEER.0,
            )
            .await;
            return;
        }
    };
    let _ = slot.tx.send(PeerCommand::Incoming {
        stream,
        buf,
        cer: msg,
    });
}

/// Whether the connection may speak for `host`: on TLS, a client certificate naming it
/// (or none, when client certificates are optional); on plain TCP, any host but one
/// configured with an `aaas://` URI.
fn authenticated(stream: &Stream, node: &NodeShared, host: &str) -> Result<(), &'static str> {
    if !stream.is_tls() {
        let secure = node.config.peers.iter().any(|p| {
            p.is_secure()
                && p.identity()
                    .is_ok_and(|(h, _)| h.eq_ignore_ascii_case(host))
        });
        return if secure {
            Err("configured aaas:// but connected without TLS")
        } else {
            Ok(())
        };
    }
    match stream.client_certificate_names(host) {
        Some(true) => Ok(()),
        Some(false) => Err("not a DNS name of the client certificate"),
        None if node
            .config
            .tls
            .as_ref()
            .is_some_and(|t| !t.require_client_auth) =>
        {
            Ok(())
        }
        None => Err("no client certificate"),
    }
}

async fn reject(stream: &mut Stream, node: &NodeShared, cer: &Message, code: u32) {
    let cea = node.local.cea(cer.header(), code, None);
    let _ = stream
        .write_all(&diameter_core::typed::Command::to_bytes(&cea))
        .await;
    let _ = stream.shutdown().await;
}
