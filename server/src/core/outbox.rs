//! One connection's bytes waiting to be written (SPEC.md R-LIMIT-3).
//!
//! A queue of segments. A room event is not copied per recipient: its segment is a range of the
//! [`RoomLog`](super::room_log::RoomLog) chunk it was written to once, and the next event this
//! connection receives usually lies right after it there, so the same segment grows and the adapter
//! writes both with one `write`. Replies to this connection alone (a user list, an `ERROR`, a
//! `PONG`) are copied into a segment of their own. An idle connection's queue holds no memory:
//! written segments are dropped, and [`Outbox::release`] frees the queue itself when the server
//! falls quiet.

use std::cell::Ref;
use std::collections::VecDeque;
use std::ops::Deref;
use std::rc::Rc;

use super::room_log::{Chunk, Piece};

/// Segments a queue may hold before the ones not yet begun are copied into one. A client that does
/// not read while room events and replies of its own alternate would otherwise hold a segment
/// (tens of bytes of bookkeeping) per few bytes queued; with the cap, its memory stays within *Q*
/// plus a fixed amount (R-LIMIT-4), and the copy happens only for such a client.
pub const MAX_SEGMENTS: usize = 64;

/// A byte FIFO made of segments; every segment holds whole units.
#[derive(Debug)]
pub struct Outbox {
    segments: VecDeque<Segment>,
    /// Bytes waiting, over all segments.
    len: usize,
    /// The bytes that end every unit queued here: a line's LF, or a PodSixNet frame's terminator.
    unit_end: &'static [u8],
}

/// Whole units at `origin..end` of their storage, of which `origin..start` are written.
#[derive(Debug)]
struct Segment {
    storage: Storage,
    origin: usize,
    start: usize,
    end: usize,
}

#[derive(Debug)]
enum Storage {
    /// Room events, shared with the other recipients.
    Shared(Rc<Chunk>),
    /// Replies to this connection only.
    Own(Vec<u8>),
}

impl Segment {
    fn own(bytes: Vec<u8>) -> Segment {
        Segment { end: bytes.len(), storage: Storage::Own(bytes), origin: 0, start: 0 }
    }

    fn bytes(&self, from: usize) -> Pending<'_> {
        match &self.storage {
            Storage::Shared(chunk) => Pending::Shared(chunk.get(from, self.end)),
            Storage::Own(bytes) => Pending::Own(&bytes[from..self.end]),
        }
    }

    /// The bytes written so far end inside a unit.
    fn mid_unit(&self, unit_end: &[u8]) -> bool {
        self.start > self.origin && !self.bytes(self.origin)[..self.start - self.origin].ends_with(unit_end)
    }
}

/// Bytes waiting to be written, borrowed from an outbox.
#[derive(Debug)]
pub enum Pending<'a> {
    Shared(Ref<'a, [u8]>),
    Own(&'a [u8]),
}

impl Deref for Pending<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Pending::Shared(bytes) => bytes,
            Pending::Own(bytes) => bytes,
        }
    }
}

impl Outbox {
    /// An empty queue of units that each end with `unit_end`.
    pub fn new(unit_end: &'static [u8]) -> Outbox {
        Outbox { segments: VecDeque::new(), len: 0, unit_end }
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends whole units of this connection's own, by copying them.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len();
        // Only a segment not yet begun grows, so written bytes are never kept longer than their
        // segment and a stream of replies cannot pile them up.
        if let Some(Segment { storage: Storage::Own(own), origin, start, end }) = self.segments.back_mut()
            && start == origin
        {
            own.extend_from_slice(bytes);
            *end = own.len();
            return;
        }
        self.segments.push_back(Segment::own(bytes.to_vec()));
        self.cap_segments();
    }

    /// Appends whole units written once in a room log: extends the last segment when they
    /// follow it there, which is the common case under fan-out.
    pub fn push_shared(&mut self, piece: &Piece) {
        if piece.len() == 0 {
            return;
        }
        self.len += piece.len();
        if let Some(Segment { storage: Storage::Shared(chunk), end, .. }) = self.segments.back_mut()
            && Rc::ptr_eq(chunk, &piece.chunk)
            && *end == piece.start
        {
            *end = piece.end;
            return;
        }
        self.segments.push_back(Segment {
            storage: Storage::Shared(piece.chunk.clone()),
            origin: piece.start,
            start: piece.start,
            end: piece.end,
        });
        self.cap_segments();
    }

    /// Past [`MAX_SEGMENTS`], copies every segment but the first (which may be half written) into
    /// one of this connection's own.
    fn cap_segments(&mut self) {
        if self.segments.len() <= MAX_SEGMENTS {
            return;
        }
        let waiting: usize = self.segments.iter().skip(1).map(|segment| segment.end - segment.start).sum();
        let mut own = Vec::with_capacity(waiting);
        for segment in self.segments.drain(1..) {
            own.extend_from_slice(&segment.bytes(segment.start));
        }
        self.segments.push_back(Segment::own(own));
    }

    /// The waiting bytes, oldest first, one slice per segment.
    pub fn pending(&self) -> impl Iterator<Item = Pending<'_>> {
        self.segments.iter().map(|segment| segment.bytes(segment.start))
    }

    /// Drops the first `n` bytes, which have been written.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len, "consumed more than was queued");
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.segments.front_mut() else { break };
            let step = n.min(front.end - front.start);
            front.start += step;
            n -= step;
            if front.start == front.end {
                self.segments.pop_front();
            }
        }
    }

    /// Frees the queue's own memory if nothing is waiting.
    pub fn release(&mut self) {
        if self.is_empty() {
            self.segments = VecDeque::new();
        }
    }

    /// Drops everything and the queue's memory.
    pub fn clear(&mut self) {
        self.segments = VecDeque::new();
        self.len = 0;
    }

    /// Drops every unit not yet started, but keeps the rest of a unit whose start is already
    /// written: discarding it would glue that start to whatever is sent next, and the client would
    /// read one garbled line. What stays is at most one unit.
    pub fn discard_unstarted(&mut self) {
        let Some(mut front) = self.segments.pop_front() else { return };
        self.clear();
        if !front.mid_unit(self.unit_end) {
            return;
        }
        // The unit's end may have begun among the written bytes.
        let from = front.start.saturating_sub(self.unit_end.len() - 1).max(front.origin);
        let unit_end =
            memchr::memmem::find(&front.bytes(from), self.unit_end).map(|at| from + at + self.unit_end.len());
        front.end = unit_end.map_or(front.end, |end| end.max(front.start));
        self.len = front.end - front.start;
        if self.len > 0 {
            self.segments.push_back(front);
        }
    }

    /// Heap bytes held by the queue itself, for the tests of when memory is freed.
    #[cfg(test)]
    pub fn capacity_bytes(&self) -> usize {
        self.segments.capacity() * size_of::<Segment>()
            + self
                .segments
                .iter()
                .map(|s| if let Storage::Own(own) = &s.storage { own.capacity() } else { 0 })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::super::room_log::RoomLog;
    use super::*;

    fn waiting(q: &Outbox) -> Vec<u8> {
        q.pending().flat_map(|p| p.to_vec()).collect()
    }

    #[test]
    fn consume_advances_and_release_frees_memory_when_empty() {
        let mut q = Outbox::new(b"\n");
        q.push(b"hello\n");
        q.push(b"world\n");
        assert_eq!(q.len(), 12);
        q.consume(8);
        assert_eq!(waiting(&q), b"rld\n");
        q.release();
        assert!(q.capacity_bytes() > 0, "not released while bytes wait");
        q.consume(4);
        assert!(q.is_empty());
        q.release();
        assert_eq!(q.capacity_bytes(), 0);
    }

    #[test]
    fn room_events_received_one_after_another_leave_as_one_piece() {
        let mut log = RoomLog::default();
        let mut q = Outbox::new(b"\n");
        q.push_shared(&log.append(b"JOIN bob\n"));
        q.push_shared(&log.append(b"MSG bob hi\n"));
        assert_eq!(q.pending().count(), 1);
        assert_eq!(waiting(&q), b"JOIN bob\nMSG bob hi\n");
        // An event this connection was not sent breaks the run.
        log.append(b"JOIN alice\n");
        q.push_shared(&log.append(b"MSG alice yo\n"));
        assert_eq!(q.pending().count(), 2);
        assert_eq!(waiting(&q), b"JOIN bob\nMSG bob hi\nMSG alice yo\n");
        assert_eq!(q.len(), 33);
    }

    #[test]
    fn own_replies_and_room_events_keep_their_order() {
        let mut log = RoomLog::default();
        let mut q = Outbox::new(b"\n");
        q.push_shared(&log.append(b"MSG bob hi\n"));
        q.push(b"PONG 1\n");
        q.push_shared(&log.append(b"MSG bob again\n"));
        q.push(b"PONG 2\n");
        assert_eq!(waiting(&q), b"MSG bob hi\nPONG 1\nMSG bob again\nPONG 2\n");
        q.consume(12);
        assert_eq!(waiting(&q), b"ONG 1\nMSG bob again\nPONG 2\n");
        q.consume(q.len());
        assert!(q.is_empty() && q.pending().next().is_none());
    }

    #[test]
    fn written_replies_are_freed_and_a_begun_reply_is_not_extended() {
        let mut q = Outbox::new(b"\n");
        q.push(&[b'a'; 100]);
        q.consume(90);
        q.push(b"bb\n");
        assert_eq!(q.pending().count(), 2, "the half-written segment stays as it is");
        q.consume(10);
        assert_eq!(
            q.capacity_bytes() - q.segments.capacity() * size_of::<Segment>(),
            3,
            "the written 100 bytes are gone"
        );
        assert_eq!(waiting(&q), b"bb\n");
    }

    #[test]
    fn a_client_that_does_not_read_holds_a_bounded_number_of_segments() {
        let mut log = RoomLog::default();
        let mut q = Outbox::new(b"\n");
        let mut expected = Vec::new();
        q.push(b"HELLO\n");
        q.consume(2);
        expected.extend_from_slice(b"LLO\n");
        for i in 0..1000 {
            let event = format!("MSG bob {i}\n");
            log.append(b"JOIN someone-else\n"); // breaks every run
            q.push_shared(&log.append(event.as_bytes()));
            q.push(b"PONG x\n");
            expected.extend_from_slice(event.as_bytes());
            expected.extend_from_slice(b"PONG x\n");
            assert!(q.pending().count() <= MAX_SEGMENTS);
        }
        assert_eq!(waiting(&q), expected, "nothing lost, nothing reordered");
        assert_eq!(q.len(), expected.len());
        q.discard_unstarted();
        assert_eq!(waiting(&q), b"LLO\n", "the half-written first unit survives the copies");
    }

    #[test]
    fn discarding_keeps_the_rest_of_a_half_written_line_and_nothing_else() {
        let mut q = Outbox::new(b"\n");
        q.push(b"WELCOME a\nUSERS a\n");
        q.push(b"ENDUSERS 1\n");
        q.consume(3);
        q.discard_unstarted();
        assert_eq!(waiting(&q), b"COME a\n");
        q.consume(7);
        q.push(b"MSG a hi\n");
        q.discard_unstarted();
        assert!(q.is_empty(), "a line not yet started is discarded whole");
        q.push(b"WELCOME a\nUSERS a\n");
        q.consume(10);
        q.discard_unstarted();
        assert!(q.is_empty(), "written up to a line's end, the rest is whole lines");
    }

    #[test]
    fn discarding_keeps_the_rest_of_a_half_written_room_event() {
        let mut log = RoomLog::default();
        let mut q = Outbox::new(b"\n");
        q.push_shared(&log.append(b"MSG bob hi\n"));
        q.push_shared(&log.append(b"MSG bob more\n"));
        q.push(b"PONG 1\n");
        q.consume(4);
        q.discard_unstarted();
        assert_eq!(waiting(&q), b"bob hi\n");
        assert_eq!(q.len(), 7);
    }

    #[test]
    fn discarding_keeps_the_rest_of_a_half_written_frame() {
        let mut q = Outbox::new(b"\0---\0");
        q.push(b"frame-one\0---\0frame-two\0---\0");
        q.consume(11);
        q.discard_unstarted();
        assert_eq!(waiting(&q), b"--\0", "the rest of frame-one's terminator");
        q.consume(3);
        q.push(b"frame-three\0---\0");
        q.discard_unstarted();
        assert!(q.is_empty());
    }
}
