//! Inband-Security-Id TLS (RFC 3588 §2.1) from the peer's task: the connection goes under
//! TLS right after the CEA.

use tracing::{info, warn};

use super::PeerDriver;
use crate::clock;
use crate::peer::ConnId;
use crate::stats::Counters;

impl PeerDriver {
    /// Inband-Security-Id TLS (RFC 3588 §2.1): the connection goes under TLS right after
    /// the CEA. A failure is a disconnection.
    pub(super) fn start_inband_tls(&mut self, conn: ConnId, client: bool) {
        let Some(i) = self.conns.index_of(conn) else {
            return;
        };
        let (tls, identity) = (self.node.inband_tls.clone(), self.slot.name.clone());
        match self.conns.start_inband_tls(i, tls, identity, client) {
            Ok(()) => {
                info!(client, "inband TLS handshake started");
                self.core.tls_started(conn);
            }
            Err(e) => {
                warn!(error = %e, "inband TLS cannot start, closing");
                Counters::bump(&self.slot.counters.tls_failures);
                self.lost(clock::now(), i);
            }
        }
    }
}
