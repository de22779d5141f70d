//! Incoming connections up to their CER (RFC 6733 §5.6.1): "logic separate from the state
//! machine to receive connection requests, accept them, and await the CER". The CER's
//! Origin-Host picks the peer; anything other than a CER first closes the connection, as
//! does silence beyond the CEA timeout; an unknown host gets 3010 DIAMETER_UNKNOWN_PEER
//! unless a realm pattern admits it (§5.3).

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use diameter_core::generated::base::avp;
use diameter_core::{Message, ResultCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use crate::answer::raw_error_answer;
use crate::driver::PeerCommand;
use crate::framing::next_frame;
use crate::node::NodeShared;
use crate::peer::admission::{Admission, admit};
use crate::peer::base::{BaseKind, classify};

/// Accepts connections until the task is aborted.
pub(crate) async fn accept_loop(listener: TcpListener, node: Arc<NodeShared>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                debug!(%addr, "incoming connection");
                tokio::spawn(incoming(stream, node.clone()));
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn incoming(mut stream: TcpStream, node: Arc<NodeShared>) {
    let _ = stream.set_nodelay(true);
    let timeout = node.config.timers.cea_timeout;
    let max = node.config.limits.max_message_size;
    let mut buf = BytesMut::with_capacity(4096);
    let first = tokio::time::timeout(timeout, async {
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
            if let Some(a) = raw_error_answer(&raw, &node.local, e.result_code(), None) {
                let _ = stream.write_all(a.as_bytes()).await;
            }
            let _ = stream.shutdown().await;
            return;
        }
        Ok(Err(None)) | Err(_) => return,
    };
    let msg = match Message::decode(frame.clone()) {
        Ok(m) => m,
        Err(e) => {
            if let Some(a) = raw_error_answer(&frame, &node.local, e.result_code(), e.failed_avp())
            {
                let _ = stream.write_all(a.as_bytes()).await;
            }
            let _ = stream.shutdown().await;
            return;
        }
    };
    if classify(&msg) != BaseKind::Cer {
        // §5.6.1: close and discard the connection if anything other than a CER arrives.
        info!(code = msg.code(), "message before CER, closing");
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
    let slot = match (admit(known.is_some(), &realm, &node.patterns), known) {
        (Admission::Known, Some(slot)) => slot,
        (Admission::Dynamic, _) => node.spawn_dynamic_peer(&host),
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

async fn reject(stream: &mut TcpStream, node: &NodeShared, cer: &Message, code: u32) {
    let cea = node.local.cea(cer.header(), code, None);
    let _ = stream
        .write_all(&diameter_core::typed::Command::to_bytes(&cea))
        .await;
    let _ = stream.shutdown().await;
}
