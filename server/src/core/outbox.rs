//! One connection's queue of bytes waiting to be written (SPEC.md R-LIMIT-3).
//!
//! Broadcasts are encoded once and the same [`Bytes`] is pushed to every recipient, so queuing a
//! delivery costs a reference-count increment, not a copy. The queue counts its bytes so the core
//! can enforce *Q*, and hands the adapter its chunks for one vectored write. When it empties it
//! gives its memory back: an idle connection holds no write buffer.

use std::collections::VecDeque;

use bytes::{Buf, Bytes};

/// A byte-counted FIFO of shared chunks.
#[derive(Debug, Default)]
pub struct Outbox {
    chunks: VecDeque<Bytes>,
    len: usize,
    /// The bytes written so far end inside a line: the front chunk's first line is half sent.
    mid_line: bool,
}

impl Outbox {
    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a chunk.
    pub fn push(&mut self, bytes: Bytes) {
        self.len += bytes.len();
        self.chunks.push_back(bytes);
    }

    /// The waiting chunks, oldest first, for a vectored write.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks.iter().map(|b| &b[..])
    }

    /// Drops the first `n` bytes, which have been written.
    pub fn consume(&mut self, mut n: usize) {
        debug_assert!(n <= self.len, "consumed more than was queued");
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else { break };
            if front.len() <= n {
                n -= front.len();
                self.chunks.pop_front();
                self.mid_line = false;
            } else {
                self.mid_line = front[n - 1] != b'\n';
                front.advance(n);
                n = 0;
            }
        }
        if self.chunks.is_empty() {
            self.clear();
        }
    }

    /// Drops everything and the queue's memory.
    pub fn clear(&mut self) {
        self.chunks = VecDeque::new();
        self.len = 0;
        self.mid_line = false;
    }

    /// Drops every line not yet started, but keeps the rest of a line whose start is already
    /// written: discarding it would glue that start to whatever is sent next, and the client would
    /// read one garbled line. What stays is at most one line (*L* + 1 bytes).
    pub fn discard_unstarted(&mut self) {
        let rest = match self.chunks.front() {
            Some(front) if self.mid_line => {
                front.slice(..memchr::memchr(b'\n', front).map_or(front.len(), |lf| lf + 1))
            }
            _ => Bytes::new(),
        };
        self.clear();
        if !rest.is_empty() {
            self.push(rest);
            self.mid_line = true;
        }
    }

    /// Heap bytes held by the queue itself (not the shared chunks), for memory accounting.
    pub fn capacity_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Bytes>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_splits_chunks_and_frees_memory_when_empty() {
        let mut q = Outbox::default();
        q.push(Bytes::from_static(b"hello\n"));
        q.push(Bytes::from_static(b"world\n"));
        assert_eq!(q.len(), 12);
        q.consume(8);
        assert_eq!(q.chunks().collect::<Vec<_>>(), vec![&b"rld\n"[..]]);
        assert_eq!(q.len(), 4);
        q.consume(4);
        assert!(q.is_empty());
        assert_eq!(q.capacity_bytes(), 0);
    }

    #[test]
    fn discarding_keeps_the_rest_of_a_half_written_line_and_nothing_else() {
        let mut q = Outbox::default();
        q.push(Bytes::from_static(b"WELCOME a\nUSERS a\n"));
        q.push(Bytes::from_static(b"ENDUSERS 1\n"));
        q.consume(3);
        q.discard_unstarted();
        assert_eq!(q.chunks().collect::<Vec<_>>(), vec![&b"COME a\n"[..]]);
        assert_eq!(q.len(), 7);
        q.consume(7);
        q.push(Bytes::from_static(b"MSG a hi\n"));
        q.discard_unstarted();
        assert!(q.is_empty(), "a line not yet started is discarded whole");
        q.push(Bytes::from_static(b"WELCOME a\nUSERS a\n"));
        q.consume(10);
        q.discard_unstarted();
        assert!(q.is_empty(), "written up to a line's end, the rest of the chunk is whole lines");
    }
}
