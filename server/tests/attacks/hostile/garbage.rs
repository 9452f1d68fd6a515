//! Garbage at full speed, from connections that never register: random bytes; lines of invalid
//! UTF-8; lines with control characters (lone CRs, NULs, ESC, DEL, C1); and one endless line
//! without LF. Each connection writes as fast as TCP allows while it reads the replies, and
//! reconnects when the server closes it.
//!
//! The defences are the framer and the classification of SPEC.md §3.1: a bounded buffer
//! (R-TRANS-6), `LINE_TOO_LONG` once per overlong line (R-TRANS-5), `INVALID_UTF8` (R-TRANS-7),
//! `CONTROL_CHARACTER` (R-TRANS-8), all non-fatal; flood control paces the lines (R-LIMIT-5); an
//! unregistered connection never receives a room event (R-STATE-2).

use minichat_protocol::{ErrorCode, ServerMessage};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use super::{Attack, Line, Problems, ServerLines, Stop, Target};

/// Bytes of garbage generated per connection; written again and again.
const CHUNK: usize = 64 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Uniformly random bytes (an LF every 256 bytes on average).
    Random,
    /// `MSG ` followed by malformed UTF-8: lone continuation bytes, overlong forms, surrogates,
    /// code points past U+10FFFF, truncated sequences.
    InvalidUtf8,
    /// Valid UTF-8 lines with control characters: a CR not before LF, NUL, ESC, TAB, DEL, C1.
    Controls,
    /// Random bytes with every LF removed: one line that never ends.
    Endless,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Random, Kind::InvalidUtf8, Kind::Controls, Kind::Endless];

    /// The `ERROR` codes this garbage may earn. Random bytes may form any line an unregistered
    /// client can send, so any non-fatal code; `TIMEOUT` closes a line left unfinished for
    /// *T_line* (R-TIME-2).
    fn allowed(self, code: ErrorCode) -> bool {
        match self {
            Kind::Random => !code.is_fatal() || code == ErrorCode::Timeout,
            Kind::InvalidUtf8 => matches!(code, ErrorCode::InvalidUtf8 | ErrorCode::Flood | ErrorCode::Timeout),
            Kind::Controls => matches!(code, ErrorCode::ControlCharacter | ErrorCode::Flood | ErrorCode::Timeout),
            Kind::Endless => matches!(code, ErrorCode::LineTooLong | ErrorCode::Timeout),
        }
    }

    fn generate(self, rng: &mut fastrand::Rng) -> Vec<u8> {
        let mut out = Vec::with_capacity(CHUNK + 64);
        match self {
            Kind::Random | Kind::Endless => {
                out.resize(CHUNK, 0);
                rng.fill(&mut out);
                if self == Kind::Endless {
                    out.iter_mut().filter(|b| **b == b'\n').for_each(|b| *b = b'x');
                }
            }
            Kind::InvalidUtf8 => {
                const BAD: [&[u8]; 7] =
                    [b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xff\xfe", b"caf\xe9"];
                while out.len() < CHUNK {
                    out.extend_from_slice(if rng.bool() { b"MSG " } else { b"" });
                    out.extend_from_slice(BAD[rng.usize(..BAD.len())]);
                    out.extend_from_slice(b" tail\n");
                }
            }
            Kind::Controls => {
                const BAD: [&[u8]; 7] = [
                    b"MSG a\rb\n",
                    b"MSG \x00\n",
                    b"\x00\x00\x00\n",
                    b"\r\r\n",
                    b"\x1b[2J\x1b]0;owned\x07\n",
                    b"MSG tab\there\n",
                    b"MSG del\x7f c1\xc2\x85\n",
                ];
                while out.len() < CHUNK {
                    out.extend_from_slice(BAD[rng.usize(..BAD.len())]);
                }
            }
        }
        out
    }
}

/// What the connections of one kind saw.
#[derive(Debug, Default)]
pub struct KindReport {
    pub connections: u64,
    pub bytes_sent: u64,
    pub errors: BTreeMap<String, u64>,
    pub problems: Problems,
}

#[derive(Debug, Default)]
pub struct Report {
    pub kinds: BTreeMap<Kind, KindReport>,
}

impl Report {
    /// Only the errors each kind of garbage deserves, at most one `LINE_TOO_LONG` per endless
    /// line, nothing but `HELLO`, `ERROR`, `PONG` and `BYE` on an unregistered connection
    /// (R-STATE-2); and every kind earned its error.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (kind, report) in &self.kinds {
            problems.extend(report.problems.describe(&format!("{kind:?} garbage")));
            let expected = match kind {
                Kind::Random => None,
                Kind::InvalidUtf8 => Some(ErrorCode::InvalidUtf8),
                Kind::Controls => Some(ErrorCode::ControlCharacter),
                Kind::Endless => Some(ErrorCode::LineTooLong),
            };
            if let Some(code) = expected.filter(|code| !report.errors.contains_key(code.as_str())) {
                problems.push(format!("{kind:?} garbage never earned ERROR {code}: {:?}", report.errors));
            }
        }
        problems
    }

    pub fn summary(&self) -> String {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, r)| {
                format!("{kind:?}: {} conns, {:.1} MB sent, {:?}", r.connections, r.bytes_sent as f64 / 1e6, r.errors)
            })
            .collect();
        kinds.join("; ")
    }
}

/// `per_kind` connections of each kind until told to stop.
pub fn launch(target: Target, per_kind: usize) -> Attack<Report> {
    super::launch("garbage", target, move |target, stop, engaged| async move {
        let total = per_kind * Kind::ALL.len();
        let settled = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for (i, kind) in Kind::ALL.iter().flat_map(|k| std::iter::repeat_n(*k, per_kind)).enumerate() {
            let chunk: Arc<[u8]> = kind.generate(&mut fastrand::Rng::with_seed(i as u64)).into();
            let (target, stop, engaged, settled) = (target.clone(), stop.clone(), engaged.clone(), settled.clone());
            tasks.spawn(async move {
                let report = spray(target, kind, chunk, stop, || {
                    let greeted = settled.fetch_add(1, Ordering::SeqCst) + 1;
                    engaged.progress(format!("{greeted} of {total} garbage connections greeted"));
                    if greeted == total {
                        engaged.signal();
                    }
                })
                .await;
                (kind, report)
            });
        }
        let mut report = Report::default();
        while let Some(done) = tasks.join_next().await {
            let (kind, one) = done.expect("a garbage task panicked");
            let entry = report.kinds.entry(kind).or_default();
            entry.connections += one.connections;
            entry.bytes_sent += one.bytes_sent;
            for (code, n) in one.errors {
                *entry.errors.entry(code).or_default() += n;
            }
            entry.problems.merge(one.problems);
        }
        report
    })
}

/// One connection slot: sends `chunk` over and over, reads and checks the replies, reconnects
/// when the server closes the connection.
async fn spray(target: Target, kind: Kind, chunk: Arc<[u8]>, mut stop: Stop, greeted: impl FnOnce()) -> KindReport {
    let mut report = KindReport::default();
    let mut greeted = Some(greeted);
    while !stop.is_set() {
        let stream = match target.connect(None).await {
            Ok(stream) => stream,
            Err(e) => {
                report.problems.push(format!("connect: {e}"));
                break;
            }
        };
        report.connections += 1;
        let (read, mut write) = stream.into_split();
        let mut lines = ServerLines::new(read);
        let hello = lines.hello().await;
        if let Some(greeted) = greeted.take() {
            greeted();
        }
        if let Err(e) = hello {
            report.problems.push(e);
            break;
        }
        let mut line_too_long = 0;
        let mut writing = true;
        loop {
            tokio::select! {
                line = lines.next() => match line {
                    Ok(Some(Line::Parsed(ServerMessage::Error { code, .. }))) => {
                        *report.errors.entry(code.as_str().to_owned()).or_default() += 1;
                        if !kind.allowed(code) {
                            report.problems.push(format!("ERROR {code}"));
                        }
                        if code == ErrorCode::LineTooLong && kind == Kind::Endless {
                            line_too_long += 1;
                            if line_too_long > 1 {
                                report.problems.push("a second LINE_TOO_LONG for one endless line (R-TRANS-5)");
                            }
                        }
                    }
                    Ok(Some(Line::Parsed(ServerMessage::Pong(_) | ServerMessage::Bye(_)))) => {}
                    Ok(Some(other)) => report.problems.push(format!("{other:?} on an unregistered connection")),
                    Ok(None) => break,
                    Err(e) => {
                        report.problems.push(format!("read: {e}"));
                        break;
                    }
                },
                written = write.write_all(&chunk), if writing => match written {
                    Ok(()) => report.bytes_sent += chunk.len() as u64,
                    // The server closed the connection; the reader sees how.
                    Err(_) => writing = false,
                },
                () = stop.wait() => break,
            }
        }
    }
    report
}
