//! Framing of the TCP byte stream into messages (RFC 6733 §3 Message Length).
//!
//! All bytes read from a connection go into one `BytesMut`; each complete message is cut
//! off with `split_to(len).freeze()`, so it is handed out without a copy and one read can
//! deliver many messages. The 3-byte length is checked before anything else is trusted:
//! a length below 20, not a multiple of 4, or above the configured maximum means the stream
//! cannot be framed any more (§2.1: "the stream is compromised and cannot be recovered"),
//! as does a version other than 1.

use bytes::{Bytes, BytesMut};
use diameter_core::header::{HEADER_LEN, VERSION, length_field};
use diameter_core::{CommandFlags, Header, ResultCode};

use crate::ids::EndToEndIds;

/// Why the stream cannot be framed any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    /// Version other than 1 (5011).
    #[error("unsupported version {0}")]
    Version(u8),
    /// Message Length below 20 or not a multiple of 4 (5015).
    #[error("invalid message length {0}")]
    Length(u32),
    /// Message Length above the limit (5015).
    #[error("message length {length} above the limit of {max}")]
    TooLarge {
        /// The Message Length field.
        length: u32,
        /// The limit.
        max: u32,
    },
}

impl FrameError {
    /// The Result-Code an answer to the offending request carries.
    pub(crate) fn result_code(self) -> ResultCode {
        match self {
            Self::Version(_) => ResultCode::DIAMETER_UNSUPPORTED_VERSION,
            Self::Length(_) | Self::TooLarge { .. } => ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH,
        }
    }
}

/// Changes the header of an encoded message (identifiers, flags) in place when its buffer
/// is not shared, else in a copy; a message shorter than a header is left as it is. The
/// one way the node rewrites headers: stamping requests, fixing handlers' answers,
/// relaying, retransmitting.
pub(crate) fn edit_header(message: Bytes, f: impl FnOnce(&mut [u8])) -> Bytes {
    if message.len() < HEADER_LEN {
        return message;
    }
    let mut b = message
        .try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    f(&mut b[..HEADER_LEN]);
    b.freeze()
}

/// Writes End-to-End (if 0) and Hop-by-Hop into an encoded request: in place when the
/// caller's buffer is not shared (a request built for this send), else in a copy.
pub(crate) fn stamp_ids(bytes: Bytes, hop_by_hop: u32, end_to_end: &EndToEndIds) -> Bytes {
    edit_header(bytes, |h| {
        h[12..16].copy_from_slice(&hop_by_hop.to_be_bytes());
        if h[16..20] == [0, 0, 0, 0] {
            h[16..20].copy_from_slice(&end_to_end.next_id().to_be_bytes());
        }
    })
}

/// The message with the T flag set (§5.5.4: "potentially retransmitted").
pub(crate) fn with_t_flag(message: Bytes) -> Bytes {
    edit_header(message, |h| h[4] |= CommandFlags::RETRANSMIT)
}

/// The message with its Hop-by-Hop Identifier set to `hop_by_hop` (a copy only when it
/// differs and the buffer is shared).
pub(crate) fn with_hop_by_hop(message: Bytes, hop_by_hop: u32) -> Bytes {
    let id = hop_by_hop.to_be_bytes();
    if message.get(12..16).is_none_or(|h| h == id) {
        return message;
    }
    edit_header(message, |h| h[12..16].copy_from_slice(&id))
}

/// Appends encoded AVPs to an encoded message and sets its Message Length: in place when
/// the buffer is not shared, else in a copy. A message that would outgrow the 24-bit
/// Message Length gets 0 there ([`length_field`]), which every receiver refuses.
pub(crate) fn append_avps(message: Bytes, avps: &[u8]) -> Bytes {
    if message.len() < HEADER_LEN || avps.is_empty() {
        return message;
    }
    let mut b = message.try_into_mut().unwrap_or_else(|shared| {
        let mut b = BytesMut::with_capacity(shared.len() + avps.len());
        b.extend_from_slice(&shared);
        b
    });
    b.extend_from_slice(avps);
    let len = length_field(b.len()).to_be_bytes();
    b[1..4].copy_from_slice(&len[1..]);
    b.freeze()
}

/// Cuts the next complete message off the front of `buf`.
///
/// `Ok(None)`: more bytes are needed (and `buf` has reserved room for the rest of the
/// message). `Err`: the stream is unusable; `buf` is left as it was so the caller can still
/// answer the offending header.
pub(crate) fn next_frame(
    buf: &mut BytesMut,
    max_message_size: u32,
) -> Result<Option<Bytes>, FrameError> {
    let Some(length) = Header::peek_length(buf) else {
        return Ok(None);
    };
    if buf[0] != VERSION {
        return Err(FrameError::Version(buf[0]));
    }
    if (length as usize) < HEADER_LEN || length % 4 != 0 {
        return Err(FrameError::Length(length));
    }
    if length > max_message_size {
        return Err(FrameError::TooLarge {
            length,
            max: max_message_size,
        });
    }
    let length = length as usize;
    if buf.len() < length {
        buf.reserve(length - buf.len());
        return Ok(None);
    }
    Ok(Some(buf.split_to(length).freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::{Message, MessageBuilder};

    #[test]
    fn header_edits() {
        let req = MessageBuilder::request(272, 4, true).build().into_bytes();
        let t = with_t_flag(req.clone());
        assert!(Message::decode(t).unwrap().header().flags.is_retransmit());
        let h = with_hop_by_hop(req, 0xdead_beef);
        assert_eq!(Message::decode(h).unwrap().header().hop_by_hop, 0xdead_beef);
    }

    fn header(version: u8, len: u32) -> Vec<u8> {
        let mut v = vec![version];
        v.extend_from_slice(&len.to_be_bytes()[1..]);
        v.extend_from_slice(&[0x80, 0, 1, 16, 0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 9]);
        v
    }

    #[test]
    fn frames_many_messages_from_one_buffer() {
        let mut buf = BytesMut::new();
        for _ in 0..3 {
            buf.extend_from_slice(&header(1, 24));
            buf.extend_from_slice(&[0; 4]);
        }
        buf.extend_from_slice(&header(1, 24)[..10]);
        for _ in 0..3 {
            assert_eq!(next_frame(&mut buf, 4096).unwrap().unwrap().len(), 24);
        }
        assert_eq!(next_frame(&mut buf, 4096), Ok(None));
        assert_eq!(buf.len(), 10);
    }

    #[test]
    fn rejects_bad_lengths_and_versions() {
        let mut b = BytesMut::from(&header(2, 20)[..]);
        assert_eq!(next_frame(&mut b, 4096), Err(FrameError::Version(2)));
        let mut b = BytesMut::from(&header(1, 0)[..]);
        assert_eq!(next_frame(&mut b, 4096), Err(FrameError::Length(0)));
        let mut b = BytesMut::from(&header(1, 22)[..]);
        assert_eq!(next_frame(&mut b, 4096), Err(FrameError::Length(22)));
        let mut b = BytesMut::from(&header(1, 8192)[..]);
        assert_eq!(next_frame(&mut b, 4096).unwrap_err().result_code().0, 5015);
        assert_eq!(b.len(), 20, "left in place for the answer");
        let mut b = BytesMut::from(&[1u8, 0][..]);
        assert_eq!(next_frame(&mut b, 4096), Ok(None));
    }
}
