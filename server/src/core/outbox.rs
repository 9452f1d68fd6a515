//! One connection's bytes waiting to be written (SPEC.md R-LIMIT-3).
//!
//! A broadcast is encoded once; each delivery copies those bytes to the end of the recipient's
//! single buffer. For chat-sized lines a copy is cheaper than sharing: a shared handle
//! (`bytes::Bytes`) costs 32 bytes of queue and an atomic reference count per delivery — three
//! times the size of a typical `JOIN` — while a copy costs exactly the line, and the adapter
//! writes everything queued with one `write`. An emptied buffer is kept while traffic goes on
//! (allocating one per burst per recipient would cost more than the copies) and freed by
//! [`Outbox::release`] once the server falls quiet: an idle connection holds no write buffer.

/// A byte FIFO: the pending bytes are `buf[start..]`.
#[derive(Debug)]
pub struct Outbox {
    buf: Vec<u8>,
    start: usize,
    /// The bytes that end every unit queued here: a line's LF, or a PodSixNet frame's terminator.
    unit_end: &'static [u8],
    /// The bytes written so far end inside a unit, so the front unit is half sent.
    mid_unit: bool,
}

/// A buffer this large that is mostly written is shrunk, so a burst does not pin memory.
const SHRINK_ABOVE: usize = 64 * 1024;

/// An emptied buffer up to this size is kept for the next burst; a larger one (a user list, a
/// backlog) is freed at once, so thousands of connections never keep their largest burst.
const KEEP_WHEN_EMPTY: usize = 4 * 1024;

impl Outbox {
    /// An empty queue of units that each end with `unit_end`.
    pub fn new(unit_end: &'static [u8]) -> Outbox {
        Outbox { buf: Vec::new(), start: 0, unit_end, mid_unit: false }
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends whole units.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > self.kept() && self.buf.len() + bytes.len() > self.buf.capacity() {
            // Reuse the written front before growing.
            self.compact();
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The waiting bytes, for one write.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Drops the first `n` bytes, which have been written.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len(), "consumed more than was queued");
        let n = n.min(self.len());
        if n == 0 {
            return;
        }
        let end = self.start + n;
        let written = &self.buf[..end];
        // Too few bytes to tell (a frame's terminator is five) counts as mid-unit: at worst the
        // rest of one whole unit is sent before a slow consumer's notice.
        self.mid_unit = written.len() < self.unit_end.len() || !written.ends_with(self.unit_end);
        self.start = end;
        if self.start == self.buf.len() && self.buf.capacity() <= KEEP_WHEN_EMPTY {
            self.buf.clear();
            self.start = 0;
        } else if self.start == self.buf.len() {
            self.buf = Vec::new();
            self.start = 0;
        } else if self.buf.capacity() > SHRINK_ABOVE && self.len() < self.buf.capacity() / 4 {
            self.compact();
            self.buf.shrink_to(self.buf.len() * 2);
        }
    }

    /// Written bytes kept in front of `start`: enough to recognise a unit end that straddles it.
    fn kept(&self) -> usize {
        self.unit_end.len() - 1
    }

    /// Drops written bytes, keeping [`Outbox::kept`] of them.
    fn compact(&mut self) {
        let drop = self.start.saturating_sub(self.kept());
        self.buf.drain(..drop);
        self.start -= drop;
    }

    /// Frees the buffer if nothing is waiting.
    pub fn release(&mut self) {
        if self.is_empty() {
            self.buf = Vec::new();
            self.start = 0;
        }
    }

    /// Drops everything and the queue's memory.
    pub fn clear(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
        self.mid_unit = false;
    }

    /// Drops every unit not yet started, but keeps the rest of a unit whose start is already
    /// written: discarding it would glue that start to whatever is sent next, and the client would
    /// read one garbled line. What stays is at most one unit.
    pub fn discard_unstarted(&mut self) {
        let keep = if self.mid_unit {
            // The unit's end may have begun among the written bytes kept before `start`.
            let from = self.start.saturating_sub(self.kept());
            memchr::memmem::find(&self.buf[from..], self.unit_end)
                .map_or(self.len(), |at| (from + at + self.unit_end.len()).saturating_sub(self.start))
        } else {
            0
        };
        if keep == 0 {
            return self.clear();
        }
        // Keep the written bytes in front too, so the unit's end is still recognised.
        let from = self.start.saturating_sub(self.kept());
        self.buf = self.buf[from..self.start + keep].to_vec();
        self.start -= from;
    }

    /// Heap bytes held, for the tests of when buffers are kept and freed.
    #[cfg(test)]
    pub fn capacity_bytes(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_advances_and_release_frees_memory_when_empty() {
        let mut q = Outbox::new(b"\n");
        q.push(b"hello\n");
        q.push(b"world\n");
        assert_eq!(q.len(), 12);
        q.consume(8);
        assert_eq!(q.pending(), b"rld\n");
        q.release();
        assert!(q.capacity_bytes() > 0, "not released while bytes wait");
        q.consume(4);
        assert!(q.is_empty());
        q.release();
        assert_eq!(q.capacity_bytes(), 0);
    }

    #[test]
    fn the_written_front_is_reused_before_the_buffer_grows() {
        let mut q = Outbox::new(b"\n");
        q.push(&[b'a'; 100]);
        let capacity = q.capacity_bytes();
        q.consume(90);
        q.push(&[b'b'; 50]);
        assert_eq!(q.capacity_bytes(), capacity, "the 90 written bytes made room");
        assert_eq!(q.len(), 60);
    }

    #[test]
    fn a_large_mostly_written_buffer_is_shrunk() {
        let mut q = Outbox::new(b"\n");
        q.push(&vec![b'x'; 1 << 20]);
        q.consume((1 << 20) - 10);
        assert!(q.capacity_bytes() < 1024, "holds {}", q.capacity_bytes());
        assert_eq!(q.pending(), &[b'x'; 10]);
    }

    #[test]
    fn discarding_keeps_the_rest_of_a_half_written_line_and_nothing_else() {
        let mut q = Outbox::new(b"\n");
        q.push(b"WELCOME a\nUSERS a\n");
        q.push(b"ENDUSERS 1\n");
        q.consume(3);
        q.discard_unstarted();
        assert_eq!(q.pending(), b"COME a\n");
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
    fn discarding_keeps_the_rest_of_a_half_written_frame() {
        let mut q = Outbox::new(b"\0---\0");
        q.push(b"frame-one\0---\0frame-two\0---\0");
        q.consume(11);
        q.discard_unstarted();
        assert_eq!(q.pending(), b"--\0", "the rest of frame-one's terminator");
        q.consume(3);
        q.push(b"frame-three\0---\0");
        q.discard_unstarted();
        assert!(q.is_empty());
    }
}
