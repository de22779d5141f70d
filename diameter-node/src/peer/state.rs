//! The states of the RFC 6733 §5.6 peer state machine.

/// A state of the §5.6 peer state machine. Closed, I-Open and R-Open are stable; the
/// others are intermediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerState {
    /// No connection.
    Closed,
    /// Connecting (I-Snd-Conn-Req sent).
    WaitConnAck,
    /// Initiator connected, CER sent, waiting for the CEA.
    WaitICea,
    /// Still connecting when a CER arrived on an incoming connection (Wait-Conn-Ack/Elect).
    WaitConnAckElect,
    /// Both connections exist and the election is being settled.
    WaitReturns,
    /// Open on the responder (incoming) connection.
    ROpen,
    /// Open on the initiator (outgoing) connection.
    IOpen,
    /// DPR sent or answered, waiting for the disconnection.
    Closing,
}

impl PeerState {
    /// R-Open or I-Open.
    pub fn is_open(self) -> bool {
        matches!(self, Self::ROpen | Self::IOpen)
    }

    /// The RFC's name of the state.
    pub fn rfc_name(self) -> &'static str {
        match self {
            Self::Closed => "Closed",
            Self::WaitConnAck => "Wait-Conn-Ack",
            Self::WaitICea => "Wait-I-CEA",
            Self::WaitConnAckElect => "Wait-Conn-Ack/Elect",
            Self::WaitReturns => "Wait-Returns",
            Self::ROpen => "R-Open",
            Self::IOpen => "I-Open",
            Self::Closing => "Closing",
        }
    }
}

impl std::fmt::Display for PeerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.rfc_name())
    }
}
