//! The record of everything a case sent and received, on every connection, in time order.
//!
//! A failure prints it, so that whoever reads it sees the whole conversation — bytes escaped,
//! direction marked — not just the line that differed. Lines about other cases' clients (on a
//! shared server every client is in the same room) are kept but shown folded. A case that moves
//! megabytes (slow consumers) keeps the start and the end of its transcript.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::escape::escape_bytes_short;

/// The direction of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The suite wrote these bytes.
    Sent,
    /// The server sent this line.
    Received,
    /// Something happened to the connection (connected, closed, reset, paused…).
    Event,
}

impl Direction {
    fn arrow(self) -> &'static str {
        match self {
            Direction::Sent => ">",
            Direction::Received => "<",
            Direction::Event => "*",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
            Direction::Event => "event",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Time since the case started.
    pub at: Duration,
    pub conn: String,
    pub direction: Direction,
    pub bytes: Vec<u8>,
    /// Why the suite treated the line specially (ignored, answered automatically…).
    pub note: Option<String>,
    /// How many lines about other cases' clients (on a shared server, every client is in the
    /// same room) arrived right after this entry; they are counted, not kept.
    pub others_after: usize,
    seq: u64,
}

/// How many entries are kept from the start and from the end of a long transcript.
const KEEP_HEAD: usize = 60;
const KEEP_TAIL: usize = 240;

#[derive(Debug)]
struct Inner {
    start: Instant,
    entries: Vec<Entry>,
    /// Lines about other cases' clients before the first entry.
    others_first: usize,
    next_seq: u64,
    dropped: usize,
}

/// A transcript shared by a case's script and its connections' reader threads.
#[derive(Clone, Debug)]
pub struct Transcript(Arc<Mutex<Inner>>);

/// A finished transcript, as attached to a failure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TranscriptSnapshot {
    pub entries: Vec<Entry>,
    /// Lines about other cases' clients before the first entry.
    pub others_first: usize,
    /// Entries left out of the middle of a very long transcript.
    pub dropped: usize,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new()
    }
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript(Arc::new(Mutex::new(Inner {
            start: Instant::now(),
            entries: Vec::new(),
            others_first: 0,
            next_seq: 0,
            dropped: 0,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the transcript inconsistent: every update is one push.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an entry and returns its handle for [`Transcript::annotate`].
    pub fn record(&self, conn: &str, direction: Direction, bytes: &[u8]) -> u64 {
        let mut t = self.lock();
        let seq = t.next_seq;
        t.next_seq += 1;
        let at = t.start.elapsed();
        t.entries.push(Entry {
            at,
            conn: conn.to_owned(),
            direction,
            bytes: bytes.to_vec(),
            note: None,
            others_after: 0,
            seq,
        });
        if t.entries.len() > KEEP_HEAD + KEEP_TAIL {
            t.entries.remove(KEEP_HEAD);
            t.dropped += 1;
        }
        seq
    }

    /// Records an event described in words.
    pub fn event(&self, conn: &str, what: &str) {
        self.record(conn, Direction::Event, what.as_bytes());
    }

    /// Adds a note to an entry (if it is still kept).
    pub fn annotate(&self, seq: u64, note: &str) {
        let mut t = self.lock();
        if let Ok(i) = t.entries.binary_search_by_key(&seq, |e| e.seq) {
            t.entries[i].note = Some(note.to_owned());
        }
    }

    /// Folds an entry about another case's client into the count of the entry before it.
    pub fn fold_away(&self, seq: u64) {
        let mut t = self.lock();
        if let Ok(i) = t.entries.binary_search_by_key(&seq, |e| e.seq) {
            let gone = t.entries.remove(i);
            match i.checked_sub(1) {
                Some(before) => t.entries[before].others_after += 1 + gone.others_after,
                None => t.others_first += 1 + gone.others_after,
            }
        }
    }

    pub fn snapshot(&self) -> TranscriptSnapshot {
        let t = self.lock();
        TranscriptSnapshot { entries: t.entries.clone(), others_first: t.others_first, dropped: t.dropped }
    }
}

impl TranscriptSnapshot {
    /// The transcript as text, one entry per line, with counts of lines about other cases'
    /// clients where they came.
    pub fn render(&self) -> String {
        let width = self.entries.iter().map(|e| e.conn.len()).max().unwrap_or(0);
        let mut out = String::new();
        let others = |out: &mut String, n: usize| {
            if n > 0 {
                out.push_str(&format!(
                    "           {:width$}   ({n} line(s) about other cases' clients, ignored)\n",
                    ""
                ));
            }
        };
        others(&mut out, self.others_first);
        for (i, e) in self.entries.iter().enumerate() {
            if i == KEEP_HEAD && self.dropped > 0 {
                out.push_str(&format!("           … {} entries left out …\n", self.dropped));
            }
            let text = match e.direction {
                Direction::Event => String::from_utf8_lossy(&e.bytes).into_owned(),
                _ => escape_bytes_short(&e.bytes, 200),
            };
            let note = e.note.as_deref().map(|n| format!("   ({n})")).unwrap_or_default();
            out.push_str(&format!(
                "  {:>8.3}s {:width$} {} {text}{note}\n",
                e.at.as_secs_f64(),
                e.conn,
                e.direction.arrow()
            ));
            others(&mut out, e.others_after);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_directions_escapes_notes_and_counts_other_cases_lines() {
        let t = Transcript::new();
        t.event("alice", "connected");
        t.record("alice", Direction::Received, b"HELLO minichat/1 1024 hi\n");
        t.record("bob", Direction::Sent, b"MSG a\tb\r\n");
        let h1 = t.record("alice", Direction::Received, b"JOIN other_x\n");
        let h2 = t.record("alice", Direction::Received, b"JOIN other_y\n");
        let p = t.record("alice", Direction::Received, b"PING 1\n");
        t.fold_away(h1);
        t.fold_away(h2);
        t.annotate(p, "answered PONG automatically");
        let text = t.snapshot().render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].ends_with("alice * connected"));
        assert!(lines[1].ends_with("alice < HELLO minichat/1 1024 hi\\n"));
        assert!(lines[2].ends_with("bob   > MSG a\\tb\\r\\n"));
        assert!(lines[3].contains("2 line(s) about other cases' clients"));
        assert!(lines[4].ends_with("PING 1\\n   (answered PONG automatically)"));
    }

    #[test]
    fn a_long_transcript_keeps_its_start_and_end() {
        let t = Transcript::new();
        for i in 0..(KEEP_HEAD + KEEP_TAIL + 50) {
            t.record("a", Direction::Sent, format!("MSG {i}\n").as_bytes());
        }
        let s = t.snapshot();
        assert_eq!(s.entries.len(), KEEP_HEAD + KEEP_TAIL);
        assert_eq!(s.dropped, 50);
        assert_eq!(s.entries[0].bytes, b"MSG 0\n");
        assert_eq!(s.entries.last().unwrap().bytes, format!("MSG {}\n", KEEP_HEAD + KEEP_TAIL + 49).as_bytes());
        assert!(s.render().contains("… 50 entries left out …"));
    }
}
