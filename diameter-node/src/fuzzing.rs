//! Hooks for the cargo-fuzz target `peer_input` in `fuzz/`: what the node reads from a peer
//! besides the codec itself, run on any bytes. None of it may panic, loop or allocate
//! beyond the input's size.

use bytes::Bytes;
use diameter_core::Message;
use diameter_core::generated::base::{CapabilitiesExchangeAnswer, CapabilitiesExchangeRequest};
use diameter_core::typed::Command;

use crate::answer::{generate_answer, raw_error_answer};
use crate::doic::AnswerAvps;
use crate::forward::{not_for_this_node, refusal_answer, with_route_record};
use crate::framing::{with_hop_by_hop, with_t_flag};
use crate::peer::LocalCapabilities;
use crate::peer::capabilities::{
    InbandSecurity, PeerCapabilities, SupportedApplication, check_cer,
};
use crate::redirect::RedirectIndication;

/// A message from a peer: capabilities negotiation (CER and CEA, with every in-band
/// security setting, and the CEA refusing a malformed CER), the answers the node would
/// build for it (refusals of what is not for it included), a redirect or DOIC report in
/// it, and the header edits of relaying and failover.
pub fn peer_input(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    let mut local = LocalCapabilities::new("fuzz.example.org", "example.org");
    local.applications = vec![SupportedApplication::auth(4)];
    let _ = raw_error_answer(&bytes, &local, 3008, None);
    let Ok(msg) = Message::decode(bytes.clone()) else {
        return;
    };
    for security in [
        InbandSecurity::None,
        InbandSecurity::Offer,
        InbandSecurity::Require,
    ] {
        local.inband_security = security;
        if let Ok(cer) = CapabilitiesExchangeRequest::decode(&msg) {
            let _ = PeerCapabilities::from_cer(&local, &cer);
        }
        if let Ok(cea) = CapabilitiesExchangeAnswer::decode(&msg) {
            let _ = PeerCapabilities::from_cea(&local, &cea);
        }
    }
    if let Err(e) = check_cer(&msg) {
        let cea = local.cea_refusing(msg.header(), &e);
        let limits = diameter_core::Limits {
            max_message_size: diameter_core::header::MAX_LENGTH as u32,
            ..Default::default()
        };
        Message::decode_with(cea, &limits).expect("a CEA refusing a CER frames");
    }
    if let Some(why) = not_for_this_node(&msg, &local) {
        assert!(refusal_answer(&msg, &local, why).header().flags.is_error());
    }
    let answer = generate_answer(&msg, &local, 3002).build();
    assert!(!answer.is_request());
    let _ = RedirectIndication::from_answer(&msg);
    let _ = AnswerAvps::of(&msg).report();
    if let Some(relayed) = with_route_record(msg.as_bytes(), "relay.example.org") {
        let again = Message::decode(relayed).expect("a Route-Record keeps the message valid");
        assert_eq!(again.code(), msg.code());
    }
    let moved = with_hop_by_hop(with_t_flag(bytes), 7);
    assert_eq!(moved.len(), data.len());
}

#[cfg(test)]
mod tests {
    use super::peer_input;
    use diameter_core::typed::Command;

    #[test]
    fn seeds_and_noise_do_not_panic() {
        let local = crate::peer::LocalCapabilities::new("a.example.org", "example.org");
        peer_input(&local.cer().to_bytes());
        peer_input(&local.cea(&Default::default(), 2001, None).to_bytes());
        let mut x: u32 = 1;
        for len in 0..400 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            peer_input(&data);
        }
    }
}
