//! The base protocol messages the peer core sends and recognises itself: CER/CEA (§5.3),
//! DWR/DWA (§5.5), DPR/DPA (§5.4). Everything else is an application message for the
//! state machine's "Process" action.

use bytes::Bytes;
use diameter_core::generated::base::{
    DeviceWatchdogAnswer, DeviceWatchdogRequest, DisconnectCause, DisconnectPeerAnswer,
    DisconnectPeerRequest,
};
use diameter_core::typed::Command;
use diameter_core::{Message, ResultCode};

use super::capabilities::LocalCapabilities;

/// Capabilities-Exchange command code (§5.3).
pub(crate) const CAPABILITIES_EXCHANGE: u32 = 257;
/// Device-Watchdog command code (§5.5).
pub(crate) const DEVICE_WATCHDOG: u32 = 280;
/// Disconnect-Peer command code (§5.4).
pub(crate) const DISCONNECT_PEER: u32 = 282;

/// What a received message is to the state machine (§5.6.2 event names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BaseKind {
    /// Rcv-CER.
    Cer,
    /// Rcv-CEA.
    Cea,
    /// Rcv-DWR.
    Dwr,
    /// Rcv-DWA.
    Dwa,
    /// Rcv-DPR.
    Dpr,
    /// Rcv-DPA.
    Dpa,
    /// Rcv-Message: anything else.
    Other,
}

/// Classifies a message by command code and R bit.
pub(crate) fn classify(msg: &Message) -> BaseKind {
    match (msg.code(), msg.is_request()) {
        (CAPABILITIES_EXCHANGE, true) => BaseKind::Cer,
        (CAPABILITIES_EXCHANGE, false) => BaseKind::Cea,
        (DEVICE_WATCHDOG, true) => BaseKind::Dwr,
        (DEVICE_WATCHDOG, false) => BaseKind::Dwa,
        (DISCONNECT_PEER, true) => BaseKind::Dpr,
        (DISCONNECT_PEER, false) => BaseKind::Dpa,
        _ => BaseKind::Other,
    }
}

/// A DWR (§5.5.1).
pub(crate) fn dwr(local: &LocalCapabilities, hop_by_hop: u32, end_to_end: u32) -> Bytes {
    let mut m = DeviceWatchdogRequest {
        origin_host: local.origin_host.as_str().into(),
        origin_realm: local.origin_realm.as_str().into(),
        origin_state_id: local.origin_state_id,
        ..Default::default()
    };
    m.header.hop_by_hop = hop_by_hop;
    m.header.end_to_end = end_to_end;
    m.to_bytes()
}

/// The DWA (§5.5.2) answering `request`.
pub(crate) fn dwa(local: &LocalCapabilities, request: &Message) -> Bytes {
    let mut m = DeviceWatchdogAnswer {
        result_code: ResultCode::DIAMETER_SUCCESS.0,
        origin_host: local.origin_host.as_str().into(),
        origin_realm: local.origin_realm.as_str().into(),
        origin_state_id: local.origin_state_id,
        ..Default::default()
    };
    m.header.hop_by_hop = request.header().hop_by_hop;
    m.header.end_to_end = request.header().end_to_end;
    m.to_bytes()
}

/// A DPR (§5.4.1) with its Disconnect-Cause (§5.4.3).
pub(crate) fn dpr(
    local: &LocalCapabilities,
    cause: DisconnectCause,
    hop_by_hop: u32,
    end_to_end: u32,
) -> Bytes {
    let mut m = DisconnectPeerRequest {
        origin_host: local.origin_host.as_str().into(),
        origin_realm: local.origin_realm.as_str().into(),
        disconnect_cause: cause,
        ..Default::default()
    };
    m.header.hop_by_hop = hop_by_hop;
    m.header.end_to_end = end_to_end;
    m.to_bytes()
}

/// The DPA (§5.4.2) answering `request`.
pub(crate) fn dpa(local: &LocalCapabilities, request: &Message) -> Bytes {
    let mut m = DisconnectPeerAnswer {
        result_code: ResultCode::DIAMETER_SUCCESS.0,
        origin_host: local.origin_host.as_str().into(),
        origin_realm: local.origin_realm.as_str().into(),
        ..Default::default()
    };
    m.header.hop_by_hop = request.header().hop_by_hop;
    m.header.end_to_end = request.header().end_to_end;
    m.to_bytes()
}

/// The Disconnect-Cause of a DPR; a DPR without a readable one counts as REBOOTING (the
/// cause that allows reconnecting).
pub(crate) fn disconnect_cause(dpr: &Message) -> DisconnectCause {
    DisconnectPeerRequest::decode(dpr)
        .map(|d| d.disconnect_cause)
        .unwrap_or(DisconnectCause::REBOOTING)
}
