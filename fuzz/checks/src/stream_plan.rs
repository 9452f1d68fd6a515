//! How the framer targets read their input: a small header that picks a limit and a way of cutting
//! the stream into reads, then the stream itself.
//!
//! ```text
//! byte 0        limit selector (each target maps it to a limit)
//! byte 1        n: how many chunk sizes follow (taken modulo 16)
//! bytes 2..2+n  chunk sizes, used in turn; 0 is an empty read. With n = 0, one byte per read.
//! the rest      the byte stream
//! ```
//!
//! A hand-written seed is therefore two bytes (`\x00\x00`, say) followed by the stream.

/// A parsed input: which limit, and the stream cut into reads.
pub struct StreamPlan<'a> {
    /// The limit selector byte.
    pub selector: u8,
    sizes: &'a [u8],
    /// The bytes as they would arrive on one connection.
    pub stream: &'a [u8],
}

impl<'a> StreamPlan<'a> {
    /// Splits `data` per the module doc; `None` if it is shorter than the header.
    pub fn parse(data: &'a [u8]) -> Option<StreamPlan<'a>> {
        let (&selector, rest) = data.split_first()?;
        let (&n, rest) = rest.split_first()?;
        let n = usize::from(n % 16).min(rest.len());
        let (sizes, stream) = rest.split_at(n);
        Some(StreamPlan { selector, sizes, stream })
    }

    /// The stream as successive reads, in order; together they are exactly [`StreamPlan::stream`].
    pub fn chunks(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let mut rest = self.stream;
        let mut sizes = self.sizes.iter().cycle();
        let mut empty_reads = 0;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let size = sizes.next().map_or(1, |&s| usize::from(s));
            // Empty reads are part of the contract (nothing happens), but a plan of only zeros
            // must still make progress.
            if size == 0 && empty_reads < 4 {
                empty_reads += 1;
                return Some(&rest[..0]);
            }
            empty_reads = 0;
            let (chunk, after) = rest.split_at(size.max(1).min(rest.len()));
            rest = after;
            Some(chunk)
        })
    }
}
