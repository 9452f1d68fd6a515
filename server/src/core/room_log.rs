//! The bytes of room events, written once per wire form; the recipients' outboxes point into them.
//!
//! *Why:* under fan-out, copying each event into every recipient's buffer was the server's own
//! largest cost: a thousand members meant a thousand copies into a thousand buffers that each had
//! to grow (a quarter of the server's CPU time in W1 and W2 of BENCHMARKS.md). Here an event is
//! appended once to the current [`Chunk`] and each recipient's outbox holds a range of it. Events
//! a member receives one after another lie side by side, so its range just grows: a delivery is a
//! comparison and an addition, and the kernel copies every recipient's bytes from one place.
//!
//! A chunk is allocated at its full size and only appended to, so bytes once written never move
//! and a range stays valid for as long as an outbox holds the chunk; the last holder frees it.

use std::cell::{Ref, RefCell};
use std::rc::Rc;

/// Bytes per chunk. A member's range breaks at a chunk's end (one more write); larger chunks
/// break less often but are kept whole while any slow reader still points into them.
pub const CHUNK_SIZE: usize = 32 * 1024;

/// Appended-to storage shared by the outboxes that point into it.
#[derive(Debug)]
pub struct Chunk {
    bytes: RefCell<Vec<u8>>,
}

impl Chunk {
    fn with_capacity(capacity: usize) -> Chunk {
        Chunk { bytes: RefCell::new(Vec::with_capacity(capacity)) }
    }

    /// The bytes at `start..end`, which were written before.
    pub fn get(&self, start: usize, end: usize) -> Ref<'_, [u8]> {
        Ref::map(self.bytes.borrow(), |bytes| &bytes[start..end])
    }

    /// Capacity left for appending.
    fn room(&self) -> usize {
        let bytes = self.bytes.borrow();
        bytes.capacity() - bytes.len()
    }
}

/// Where one event's bytes were written.
#[derive(Clone, Debug)]
pub struct Piece {
    pub chunk: Rc<Chunk>,
    pub start: usize,
    pub end: usize,
}

impl Piece {
    pub fn len(&self) -> usize {
        self.end - self.start
    }
}

/// The log for one wire form.
#[derive(Debug, Default)]
pub struct RoomLog {
    current: Option<Rc<Chunk>>,
}

impl RoomLog {
    /// Writes `bytes` once and says where.
    pub fn append(&mut self, bytes: &[u8]) -> Piece {
        let chunk = match &self.current {
            Some(chunk) if chunk.room() >= bytes.len() => chunk.clone(),
            _ => {
                // The full chunk lives on in the outboxes that still point into it.
                let chunk = Rc::new(Chunk::with_capacity(CHUNK_SIZE.max(bytes.len())));
                self.current = Some(chunk.clone());
                chunk
            }
        };
        let start = {
            let mut written = chunk.bytes.borrow_mut();
            let start = written.len();
            written.extend_from_slice(bytes);
            start
        };
        Piece { chunk, start, end: start + bytes.len() }
    }

    /// Lets go of the current chunk, so that an idle server holds none; outboxes that still
    /// point into it keep it until they are written.
    pub fn release(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_events_lie_side_by_side_in_one_chunk() {
        let mut log = RoomLog::default();
        let a = log.append(b"MSG alice hi\n");
        let b = log.append(b"MSG bob yo\n");
        assert!(Rc::ptr_eq(&a.chunk, &b.chunk));
        assert_eq!(a.end, b.start);
        assert_eq!(&*a.chunk.get(a.start, b.end), b"MSG alice hi\nMSG bob yo\n");
    }

    #[test]
    fn a_full_chunk_is_left_to_its_holders_and_a_new_one_begins() {
        let mut log = RoomLog::default();
        let line = vec![b'x'; 1000];
        let first = log.append(&line);
        let mut last = first.clone();
        while Rc::ptr_eq(&last.chunk, &first.chunk) {
            last = log.append(&line);
        }
        assert_eq!(last.start, 0, "a new chunk starts empty");
        // Bytes written before are untouched by the appends after them.
        assert_eq!(&*first.chunk.get(first.start, first.end), &line[..]);
        let held = Rc::downgrade(&first.chunk);
        drop(first);
        assert!(held.upgrade().is_none(), "the log no longer holds a full chunk");
    }

    #[test]
    fn an_event_larger_than_a_chunk_gets_a_chunk_of_its_own_size() {
        let mut log = RoomLog::default();
        let big = vec![b'y'; CHUNK_SIZE * 2];
        let piece = log.append(&big);
        assert_eq!(piece.len(), big.len());
        assert_eq!(&*piece.chunk.get(piece.start, piece.end), &big[..]);
    }

    #[test]
    fn release_drops_the_current_chunk_once_nobody_points_into_it() {
        let mut log = RoomLog::default();
        let piece = log.append(b"JOIN carol\n");
        let held = Rc::downgrade(&piece.chunk);
        log.release();
        assert!(held.upgrade().is_some(), "an outbox still points into it");
        drop(piece);
        assert!(held.upgrade().is_none());
    }
}
