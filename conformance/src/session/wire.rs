//! How one connection of a session speaks — lines, or PodSixNet frames (SPEC.md §16) — and what
//! the suite has sent on it, framed the same way: to notice a `QUIT` (after which the server
//! ignores barriers) and a line or frame still half sent (into which a barrier must not go).

use minichat_protocol::podsixnet::{Framer, decode_client_payload};
use minichat_protocol::{ClientMessage, Limits, LineFramer, parse_client_line};

use crate::podsixnet::MAX_FRAME;
use crate::podsixnet::observer::FrameObserver;

/// How a connection speaks, and what the suite has sent on it.
pub(super) enum Wire {
    Line {
        sent: LineFramer,
    },
    PodSixNet {
        /// The checks of received frames, and the lines they stand for.
        frames: FrameObserver,
        sent: Framer,
        /// Opened with `podsixnet` by the case, not made PodSixNet by the profile: a line of it
        /// without a frame is a defect of the case, not a reason to skip it.
        declared: bool,
    },
}

impl Wire {
    pub(super) fn for_connection(podsixnet: bool, declared: bool, limits: Limits) -> Wire {
        if podsixnet {
            Wire::PodSixNet { frames: FrameObserver::new(), sent: Framer::new(MAX_FRAME), declared }
        } else {
            Wire::Line { sent: LineFramer::new(limits) }
        }
    }

    pub(super) fn is_podsixnet(&self) -> bool {
        matches!(self, Wire::PodSixNet { .. })
    }

    /// A line connection of the case, speaking PodSixNet because of the profile.
    pub(super) fn translated(&self) -> bool {
        matches!(self, Wire::PodSixNet { declared: false, .. })
    }

    pub(super) fn has_partial(&self) -> bool {
        match self {
            Wire::Line { sent } => sent.has_partial_line(),
            Wire::PodSixNet { sent, .. } => sent.buffered() > 0 || sent.is_skipping(),
        }
    }

    /// Takes in bytes the suite sent; true if they completed a `QUIT` (or a `quit` frame).
    pub(super) fn track_sent(&mut self, mut input: &[u8], limits: Limits) -> bool {
        let mut quit = false;
        match self {
            Wire::Line { sent } => {
                while let Some(line) = sent.next_line(&mut input) {
                    quit |= line.is_ok_and(|l| matches!(parse_client_line(l, limits), Ok(ClientMessage::Quit(_))));
                }
            }
            Wire::PodSixNet { sent, .. } => {
                while let Some(frame) = sent.next_frame(&mut input) {
                    quit |= frame.is_ok_and(|payload| {
                        matches!(decode_client_payload(&payload, limits), Ok(ClientMessage::Quit(_)))
                    });
                }
            }
        }
        quit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quit_and_a_half_sent_unit_are_noticed_however_the_bytes_are_split() {
        let limits = Limits::DEFAULT;
        let mut line = Wire::for_connection(false, false, limits);
        assert!(!line.track_sent(b"MSG hi\nQU", limits));
        assert!(line.has_partial());
        assert!(line.track_sent(b"IT bye\n", limits));
        assert!(!line.has_partial());

        let mut psn = Wire::for_connection(true, true, limits);
        assert!(psn.is_podsixnet() && !psn.translated());
        // {"action": "quit"}, then a frame cut short.
        assert!(!psn.track_sent(b"\x67\x86action\x84quit\0--", limits));
        assert!(psn.has_partial());
        assert!(psn.track_sent(b"-\0\x67", limits));
        assert!(psn.has_partial(), "the start of the next frame is still half sent");
        assert!(Wire::for_connection(true, false, limits).translated());
    }
}
