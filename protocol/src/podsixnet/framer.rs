//! The `\0---\0` framing: cutting a byte stream into payloads, and terminating payloads to send.
//!
//! PodSixNet has no length prefix and no escaping: a message is its rencode payload followed by
//! [`TERMINATOR`], and the receiver (asynchat) cuts at the first terminator it finds. We cut the
//! same way, so both sides agree on where every message ends, including the broken cases.
//!
//! Receiving: [`Framer`] is fed bytes in chunks of any size and hands back whole payloads. It
//! holds at most one partial payload, never more than `max_payload + 4` bytes (PodSixNet itself
//! buffers without limit). A payload that grows past the limit is reported once as
//! [`FrameTooLong`]; the rest of it, up to and including its terminator, is then skipped without
//! being stored, and the payload after it is read normally. Because the terminator is never
//! escaped, that terminator is exactly where PodSixNet would have cut too, so the stream stays in
//! step.
//!
//! Sending: [`frame`] appends the terminator, and refuses a payload the receiver would cut in the
//! wrong place (see [`UnframeablePayload`]); PodSixNet sends those anyway, and the peer then
//! fails to decode the pieces and drops the connection (shared capture `wire_capture_chat.txt`,
//! scenario 2).

use bytes::{Bytes, BytesMut};
use memchr::memmem;

/// The bytes after every payload: `\0---\0` (PodSixNet `Channel.endchars`).
pub const TERMINATOR: [u8; 5] = *b"\0---\0";

/// The default largest payload a [`Framer`] accepts: 1 MiB.
///
/// PodSixNet has no limit. Chat messages are far below 1 KiB and the largest reference vector
/// (a 70 000-byte string) is far below 1 MiB, while 1 MiB bounds what one connection can make
/// us buffer. A server can choose another limit with [`Framer::new`].
pub const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;

/// A payload (the bytes before a terminator) was longer than the framer's limit. The framer has
/// already skipped to the end of it, or will as more bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("PodSixNet frame longer than {max_payload} bytes; skipped up to its terminator")]
pub struct FrameTooLong {
    /// The limit that was exceeded.
    pub max_payload: usize,
}

/// Incremental, bounded receiver side of the framing. Deterministic: the payloads and errors it
/// yields depend only on the bytes, never on how they were split into chunks.
#[derive(Debug)]
pub struct Framer {
    max_payload: usize,
    /// The partial payload, possibly ending in the first bytes of a terminator.
    buf: BytesMut,
    /// Skipping an overlong payload: how many bytes of a terminator were just seen (0–4).
    skipping: Option<usize>,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(DEFAULT_MAX_PAYLOAD)
    }
}

impl Framer {
    /// A framer that accepts payloads of at most `max_payload` bytes.
    pub fn new(max_payload: usize) -> Framer {
        Framer { max_payload, buf: BytesMut::new(), skipping: None }
    }

    /// The largest payload accepted.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Bytes held for the payload in progress: never more than `max_payload + 4`. Non-zero at
    /// the end of a connection means the peer stopped in the middle of a message (PodSixNet
    /// silently drops such a tail).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True while skipping the rest of an overlong payload.
    pub fn is_skipping(&self) -> bool {
        self.skipping.is_some()
    }

    /// Consumes bytes from the front of `input` until it completes a payload or reports an
    /// overlong one, and returns that; returns `None` once all of `input` is consumed with nothing
    /// to report. Call it in a loop until it returns `None`, then feed the next chunk:
    ///
    /// ```
    /// # use minichat_protocol::podsixnet::Framer;
    /// let mut framer = Framer::default();
    /// let mut input: &[u8] = b"\x80\0---\0\x81a\0--";
    /// let mut payloads = Vec::new();
    /// while let Some(frame) = framer.next_frame(&mut input) {
    ///     payloads.push(frame.unwrap());
    /// }
    /// assert_eq!(payloads, [&b"\x80"[..]]);
    /// assert_eq!(framer.buffered(), 5); // "\x81a\0--" waits for the rest of its terminator
    /// ```
    #[must_use = "a payload or an error is consumed from the input"]
    pub fn next_frame(&mut self, input: &mut &[u8]) -> Option<Result<Bytes, FrameTooLong>> {
        if let Some(matched) = self.skipping {
            match skip_to_terminator(matched, input) {
                Ok(consumed) => {
                    *input = input.get(consumed..).unwrap_or_default();
                    self.skipping = None;
                }
                Err(matched) => {
                    *input = &[];
                    self.skipping = Some(matched);
                    return None;
                }
            }
        }
        if input.is_empty() {
            return None;
        }
        // A payload of at most max_payload bytes has its terminator complete within
        // max_payload + 5 bytes, so never look further (or buffer more) than that.
        let limit = self.max_payload.saturating_add(TERMINATOR.len());
        let room = limit.saturating_sub(self.buf.len());
        let (window, rest) = input.split_at(room.min(input.len()));
        // Search the borrowed input before copying anything, so a chunk holding many payloads
        // costs linear time, not a copy of the whole chunk per payload.
        if let Some((payload_len_in_window, consumed)) = self.find_terminator(window) {
            self.buf.extend_from_slice(&window[..payload_len_in_window]);
            let payload = std::mem::take(&mut self.buf).freeze();
            *input = input.get(consumed..).unwrap_or_default();
            return Some(Ok(payload));
        }
        self.buf.extend_from_slice(window);
        *input = rest;
        if self.buf.len() < limit {
            return None;
        }
        // max_payload + 5 bytes without a terminator: the payload is too long. Skip from here,
        // remembering how much of a terminator the buffer ends with.
        let matched = self.buf[self.buf.len() - (TERMINATOR.len() - 1)..].iter().fold(0, |m, &b| step(m, b));
        self.buf = BytesMut::new();
        self.skipping = Some(matched);
        Some(Err(FrameTooLong { max_payload: self.max_payload }))
    }

    /// The first terminator in `buffer ++ window`, as (bytes of `window` before it, bytes of
    /// `window` through its end); the buffer is truncated if the terminator starts inside it.
    fn find_terminator(&mut self, window: &[u8]) -> Option<(usize, usize)> {
        // A terminator that starts in the last 4 buffered bytes ends in the first 4 of
        // `window`: look for it in a small copy of the seam.
        let tail = self.buf.len().min(TERMINATOR.len() - 1);
        if tail > 0 {
            let mut seam = [0u8; 2 * TERMINATOR.len() - 2];
            let head = window.len().min(TERMINATOR.len() - 1);
            seam[..tail].copy_from_slice(&self.buf[self.buf.len() - tail..]);
            seam[tail..tail + head].copy_from_slice(&window[..head]);
            // Found at or after `tail`, it lies wholly in `window`: the search below finds it.
            if let Some(at) = memmem::find(&seam[..tail + head], &TERMINATOR).filter(|&at| at < tail) {
                self.buf.truncate(self.buf.len() - tail + at);
                return Some((0, at + TERMINATOR.len() - tail));
            }
        }
        let at = memmem::find(window, &TERMINATOR)?;
        Some((at, at + TERMINATOR.len()))
    }
}

/// One byte of a search for [`TERMINATOR`]: `matched` bytes of it were just seen. Its only
/// border is the single `\0` (`\0---\0` starts and ends with it), so a mismatch restarts at 1 on
/// a `\0`, else at 0.
fn step(matched: usize, byte: u8) -> usize {
    if TERMINATOR.get(matched) == Some(&byte) { matched + 1 } else { usize::from(byte == TERMINATOR[0]) }
}

/// `Ok(bytes consumed through the end of a terminator)`, or `Err(bytes of a terminator seen at
/// the end of input)` when it is not complete yet.
fn skip_to_terminator(mut matched: usize, input: &[u8]) -> Result<usize, usize> {
    for (i, &b) in input.iter().enumerate() {
        matched = step(matched, b);
        if matched == TERMINATOR.len() {
            return Ok(i + 1);
        }
    }
    Err(matched)
}

/// Why a payload cannot be framed: the receiver would cut it before its end, decode the pieces
/// as garbage, and (PodSixNet) close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnframeablePayload {
    /// The payload holds `00 2d 2d 2d 00`, e.g. a string with `"\0---\0"` or the int
    /// 0x2d2d2d00_0000 in its 8-byte form.
    #[error("payload contains the frame terminator at byte {offset}")]
    ContainsTerminator {
        /// Where the terminator starts.
        offset: usize,
    },
    /// The payload ends with `00 2d 2d 2d` (e.g. the int 2960685 = 0x002d2d2d), so with the real
    /// terminator after it the receiver finds `00 2d 2d 2d 00` one byte early.
    #[error("payload ends with 00 2d 2d 2d, so the terminator would be found one byte early")]
    EndsWithTerminatorPrefix,
}

/// `payload` followed by [`TERMINATOR`], as `Channel.Send` queues it, unless the receiver would
/// cut it in the wrong place.
///
/// Those are exactly the two cases of [`UnframeablePayload`]: a terminator found early must
/// either lie inside the payload or start inside it and end in the real terminator, and as the
/// terminator's only border is one `\0`, the only such overlap is a payload ending `00 2d 2d 2d`.
pub fn frame(payload: &[u8]) -> Result<Vec<u8>, UnframeablePayload> {
    if let Some(offset) = memmem::find(payload, &TERMINATOR) {
        return Err(UnframeablePayload::ContainsTerminator { offset });
    }
    if payload.ends_with(&TERMINATOR[..TERMINATOR.len() - 1]) {
        return Err(UnframeablePayload::EndsWithTerminatorPrefix);
    }
    let mut out = Vec::with_capacity(payload.len() + TERMINATOR.len());
    out.extend_from_slice(payload);
    out.extend_from_slice(&TERMINATOR);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{TERMINATOR, step};

    #[test]
    fn step_finds_the_terminator_after_a_false_start() {
        // "\0-\0---\0": the second \0 restarts the match instead of losing it.
        let bytes = b"\0-\0---\0";
        let mut m = 0;
        let mut ends = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            m = step(m, b);
            if m == TERMINATOR.len() {
                ends.push(i + 1);
                m = 0;
            }
        }
        assert_eq!(ends, [bytes.len()]);
    }
}
