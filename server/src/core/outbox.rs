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
            } else {
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
}
