//! How the client's messages travel: SPEC.md's lines, or PodSixNet frames (§16).
//!
//! The session decides *what* to send ([`ClientMessage`]) whatever the wire; this type decides
//! the bytes, so the glue needs to know nothing about either protocol.

use bytes::BytesMut;
use minichat_protocol::ClientMessage;
use minichat_protocol::podsixnet::{NickAction, UnframeablePayload};

use crate::podsixnet::encode_frame;

/// The protocol on the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// minichat's line protocol (SPEC.md §2–§15).
    Lines,
    /// The PodSixNet profile (SPEC.md §16); nicks are registered with this action.
    PodSixNet(NickAction),
}

impl Wire {
    /// Appends `message` as this wire carries it. Lines always fit; a PodSixNet frame is refused
    /// if the server would cut it in the wrong place (R-PSN-3), and nothing is appended then.
    pub fn encode(self, message: &ClientMessage, dst: &mut BytesMut) -> Result<(), UnframeablePayload> {
        match self {
            Wire::Lines => {
                message.encode(dst);
                Ok(())
            }
            Wire::PodSixNet(nick_action) => encode_frame(message, nick_action, dst),
        }
    }
}
