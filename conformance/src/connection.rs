//! One TCP connection of a case: blocking writes from the script, and a reader thread that reads
//! whatever the server sends, splits it into lines and queues them.
//!
//! Reading on a thread of its own means a connection never stalls the server by not reading
//! (unless a case pauses it on purpose, to play a slow consumer), and the script can wait for the
//! next line with a deadline. The reader keeps lines raw — terminator included — so the session
//! can check how the server terminated them (R-TRANS-3); it bounds a line it cannot split, so a
//! server that never sends LF cannot exhaust the suite's memory.
//!
//! A PodSixNet connection (SPEC.md §16) is the same, with frames instead of lines: the reader cuts
//! the stream at each `\0---\0` (bounded by [`MAX_FRAME`]), records each frame in the transcript
//! as the value it holds, and queues its payload; the session reads it
//! ([`crate::podsixnet::observer`]). Nothing is answered automatically: a server sends PodSixNet
//! clients no `PING` (R-PSN-8).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minichat_protocol::MAX_MAX_LINE;
use minichat_protocol::podsixnet::{FrameTooLong, Framer};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::podsixnet::MAX_FRAME;
use crate::podsixnet::show::show_payload;
use crate::transcript::{Direction, Transcript};

/// The most the reader holds of one line: the largest *L* SPEC.md allows, a CR and the LF.
const MAX_RAW_LINE: usize = MAX_MAX_LINE + 2;
/// The receive buffer of a `small-buffer` connection.
const SMALL_RECV_BUFFER: usize = 4096;

/// How a connection ended, as seen by the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The server closed its side (read returned 0).
    Eof,
    /// The connection was reset (or aborted) by the peer.
    Reset,
    /// Another read error.
    Error(String),
    /// The suite closed or reset the connection itself.
    ByUs,
}

/// Something the reader saw, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// A line, its LF included. `seq` is its transcript entry.
    Line {
        bytes: Vec<u8>,
        seq: u64,
    },
    /// More than [`MAX_RAW_LINE`] bytes without LF: the start of it, and how many bytes in all.
    Overlong {
        start: Vec<u8>,
        len: usize,
        seq: u64,
    },
    /// Bytes after the last LF (or frame terminator) when the connection ended.
    Unterminated {
        bytes: Vec<u8>,
        seq: u64,
    },
    /// A PodSixNet frame's payload, without its terminator. `seq` is its transcript entry.
    Frame {
        payload: Vec<u8>,
        seq: u64,
    },
    /// More than [`MAX_FRAME`] bytes without a terminator; the reader skipped to the next one.
    FrameTooLong {
        seq: u64,
    },
    End(End),
}

/// How the bytes of a connection are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Lines,
    PodSixNet,
}

#[derive(Debug, Default)]
struct Inbox {
    arrivals: VecDeque<Arrival>,
    paused: bool,
    /// The suite is closing the connection: stop reading, and report the end as ours.
    stopping: bool,
    ended: bool,
}

#[derive(Debug, Default)]
struct Shared {
    inbox: Mutex<Inbox>,
    changed: Condvar,
    /// Held while writing, so the reader's automatic PONG never lands inside another write.
    /// True while the last byte written was not LF (a line is half sent).
    writing: Mutex<bool>,
    /// Answer the server's `PING` at once, from the reader thread (R-TIME-4).
    autopong: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A connection to the server under test.
#[derive(Debug)]
pub struct Connection {
    name: String,
    stream: Arc<TcpStream>,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    transcript: Transcript,
    write_closed: bool,
}

/// Opens a TCP connection, optionally with a small receive buffer (set before connecting, so the
/// advertised window is small from the start).
fn open(addr: SocketAddr, small_buffer: bool, timeout: Duration) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if small_buffer {
        socket.set_recv_buffer_size(SMALL_RECV_BUFFER)?;
    }
    socket.connect_timeout(&addr.into(), timeout)?;
    let stream: TcpStream = socket.into();
    // Split writes must reach the server as separate segments as far as TCP lets us (R-TRANS-10).
    stream.set_nodelay(true)?;
    // A server that stops reading must not hang the suite: a blocked write fails after this.
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

impl Connection {
    /// Connects to `addr` and starts reading lines. Everything is recorded in `transcript` under
    /// `name`.
    pub fn connect(
        name: &str,
        addr: SocketAddr,
        small_buffer: bool,
        timeout: Duration,
        transcript: Transcript,
    ) -> io::Result<Connection> {
        Connection::start(name, addr, small_buffer, timeout, transcript, Framing::Lines)
    }

    /// Connects to a server's PodSixNet port and starts reading frames (SPEC.md §16).
    pub fn connect_podsixnet(
        name: &str,
        addr: SocketAddr,
        small_buffer: bool,
        timeout: Duration,
        transcript: Transcript,
    ) -> io::Result<Connection> {
        Connection::start(name, addr, small_buffer, timeout, transcript, Framing::PodSixNet)
    }

    fn start(
        name: &str,
        addr: SocketAddr,
        small_buffer: bool,
        timeout: Duration,
        transcript: Transcript,
        framing: Framing,
    ) -> io::Result<Connection> {
        let stream = Arc::new(open(addr, small_buffer, timeout)?);
        transcript.event(name, &format!("connected to {addr}"));
        let shared = Arc::new(Shared::default());
        shared.autopong.store(framing == Framing::Lines, std::sync::atomic::Ordering::SeqCst);
        let reader = {
            let (stream, shared, transcript, name) =
                (stream.clone(), shared.clone(), transcript.clone(), name.to_owned());
            std::thread::Builder::new().name(format!("conn-{name}")).stack_size(128 * 1024).spawn(
                move || match framing {
                    Framing::Lines => read_loop(&name, &stream, &shared, &transcript),
                    Framing::PodSixNet => read_frames(&name, &stream, &shared, &transcript),
                },
            )?
        };
        Ok(Connection { name: name.to_owned(), stream, shared, reader: Some(reader), transcript, write_closed: false })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes all of `bytes` in one write call (as far as the OS allows) and records it, with a
    /// note when the suite wrote it on its own (a barrier).
    pub fn write(&self, bytes: &[u8], note: Option<&str>) -> io::Result<()> {
        let mut half_sent = self.shared.writing.lock().unwrap_or_else(|e| e.into_inner());
        let seq = self.transcript.record(&self.name, Direction::Sent, bytes);
        if let Some(note) = note {
            self.transcript.annotate(seq, note);
        }
        if let Some(&last) = bytes.last() {
            *half_sent = last != b'\n';
        }
        (&*self.stream).write_all(bytes)
    }

    /// Writes all of `bytes` in one write call, recording `shown` instead of the bytes: one entry
    /// per frame, as the value it holds, for PodSixNet frames.
    pub fn write_as(&self, bytes: &[u8], shown: &[Vec<u8>], note: Option<&str>) -> io::Result<()> {
        let mut half_sent = self.shared.writing.lock().unwrap_or_else(|e| e.into_inner());
        for entry in shown {
            let seq = self.transcript.record(&self.name, Direction::Sent, entry);
            if let Some(note) = note {
                self.transcript.annotate(seq, note);
            }
        }
        if let Some(&last) = bytes.last() {
            *half_sent = last != b'\n';
        }
        (&*self.stream).write_all(bytes)
    }

    /// Writes without recording (for bulk sends that the caller summarises itself).
    pub fn write_unrecorded(&self, bytes: &[u8]) -> io::Result<()> {
        let mut half_sent = self.shared.writing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&last) = bytes.last() {
            *half_sent = last != b'\n';
        }
        (&*self.stream).write_all(bytes)
    }

    /// Whether the server's `PING`s are answered automatically, as a client must (on by default).
    pub fn set_autopong(&self, on: bool) {
        self.shared.autopong.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next arrival, waiting until `deadline`.
    pub fn next(&self, deadline: Instant) -> Option<Arrival> {
        let mut inbox = self.shared.lock();
        loop {
            if let Some(a) = inbox.arrivals.pop_front() {
                return Some(a);
            }
            if inbox.ended {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            inbox = self.shared.changed.wait_timeout(inbox, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Everything that has arrived so far, without waiting.
    pub fn drain(&self) -> Vec<Arrival> {
        self.shared.lock().arrivals.drain(..).collect()
    }

    /// Stops reading the socket: what the server sends piles up in the OS buffers.
    pub fn pause(&self) {
        self.shared.lock().paused = true;
        self.transcript.event(&self.name, "stopped reading");
    }

    pub fn resume(&self) {
        self.shared.lock().paused = false;
        self.shared.changed.notify_all();
        self.transcript.event(&self.name, "reading again");
    }

    pub fn is_paused(&self) -> bool {
        self.shared.lock().paused
    }

    /// Ends our side (the server reads EOF); the connection can still receive.
    pub fn close_write(&mut self) -> io::Result<()> {
        self.transcript.event(&self.name, "closed its side (EOF to the server), still reading");
        self.write_closed = true;
        self.stream.shutdown(Shutdown::Write)
    }

    pub fn write_closed(&self) -> bool {
        self.write_closed
    }

    /// Aborts the connection: the server sees a reset, not an orderly EOF.
    pub fn reset(mut self) {
        self.transcript.event(&self.name, "reset the connection (RST)");
        // Linger 0 makes the close send RST. The reader is woken by shutting down the read side
        // (which sends nothing) and must let go of the socket before the close.
        let _ = SockRef::from(&*self.stream).set_linger(Some(Duration::ZERO));
        self.stop_reader();
    }

    fn stop_reader(&mut self) {
        {
            let mut inbox = self.shared.lock();
            inbox.stopping = true;
        }
        self.shared.changed.notify_all();
        let _ = self.stream.shutdown(Shutdown::Read);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.stream.shutdown(Shutdown::Both);
            self.stop_reader();
        }
    }
}

fn push(shared: &Shared, arrival: Arrival) {
    let mut inbox = shared.lock();
    if matches!(arrival, Arrival::End(_)) {
        inbox.ended = true;
    }
    inbox.arrivals.push_back(arrival);
    drop(inbox);
    shared.changed.notify_all();
}

/// Waits while the connection is paused; false once the suite is closing it.
fn wait_unpaused(shared: &Shared) -> bool {
    let mut inbox = shared.lock();
    while inbox.paused && !inbox.stopping {
        inbox = shared.changed.wait(inbox).unwrap_or_else(|e| e.into_inner());
    }
    !inbox.stopping
}

/// The next read: `Ok(n)` bytes (never 0), or how the connection ended.
fn read_some(stream: &TcpStream, shared: &Shared, buf: &mut [u8]) -> Result<usize, End> {
    loop {
        match (&*stream).read(buf) {
            Ok(0) => return Err(if shared.lock().stopping { End::ByUs } else { End::Eof }),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(if shared.lock().stopping {
                    End::ByUs
                } else if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) {
                    End::Reset
                } else {
                    End::Error(e.to_string())
                });
            }
        }
    }
}

fn read_loop(name: &str, stream: &TcpStream, shared: &Shared, transcript: &Transcript) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut partial: Vec<u8> = Vec::new();
    // Inside a line longer than MAX_RAW_LINE: its length so far.
    let mut overlong: Option<(Vec<u8>, usize)> = None;
    loop {
        if !wait_unpaused(shared) {
            break;
        }
        let n = match read_some(stream, shared, &mut buf) {
            Ok(n) => n,
            Err(end) => {
                finish(name, shared, transcript, &partial, end);
                return;
            }
        };
        let mut data = &buf[..n];
        while !data.is_empty() {
            let lf = data.iter().position(|&b| b == b'\n');
            let (head, complete) = match lf {
                Some(i) => (&data[..=i], true),
                None => (data, false),
            };
            data = &data[head.len()..];
            if let Some((start, len)) = overlong.as_mut() {
                *len += head.len();
                if complete {
                    let (start, len) = (std::mem::take(start), *len);
                    overlong = None;
                    let seq = transcript.record(name, Direction::Received, &start);
                    transcript.annotate(seq, &format!("a line of {len} bytes, shown cut"));
                    push(shared, Arrival::Overlong { start, len, seq });
                }
                continue;
            }
            partial.extend_from_slice(head);
            if partial.len() > MAX_RAW_LINE {
                let (start, len) = (partial[..200].to_vec(), partial.len());
                partial = Vec::new();
                if complete {
                    let seq = transcript.record(name, Direction::Received, &start);
                    transcript.annotate(seq, &format!("a line of {len} bytes, shown cut"));
                    push(shared, Arrival::Overlong { start, len, seq });
                } else {
                    overlong = Some((start, len));
                }
            } else if complete {
                let line = std::mem::take(&mut partial);
                let seq = transcript.record(name, Direction::Received, &line);
                autopong(name, stream, shared, transcript, &line);
                push(shared, Arrival::Line { bytes: line, seq });
            }
        }
    }
    finish(name, shared, transcript, &partial, End::ByUs);
}

/// Answers a server `PING` at once, as a client would, unless automatic answers are off or a
/// line is half sent (a `PONG` would land inside it). The session sets the `PING` aside.
fn autopong(name: &str, stream: &TcpStream, shared: &Shared, transcript: &Transcript, line: &[u8]) {
    if !shared.autopong.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let Some(token) = ping_token(line) else { return };
    let half_sent = shared.writing.lock().unwrap_or_else(|e| e.into_inner());
    if *half_sent {
        return;
    }
    let reply = format!("PONG {token}\n");
    let seq = transcript.record(name, Direction::Sent, reply.as_bytes());
    transcript.annotate(seq, "automatic answer to the server's PING");
    let _ = (&*stream).write_all(reply.as_bytes());
    drop(half_sent);
}

/// The token of a well-formed `PING <token>` line.
pub fn ping_token(line: &[u8]) -> Option<&str> {
    let content = line.strip_suffix(b"\n")?;
    match minichat_protocol::parse_server_line(std::str::from_utf8(content).ok()?) {
        Ok(minichat_protocol::ServerMessage::Ping(_)) => std::str::from_utf8(&content[5..]).ok(),
        _ => None,
    }
}

/// The reader of a PodSixNet connection: frames cut at each terminator, as PodSixNet's own
/// receiver cuts them (so a payload holding the terminator arrives in pieces, as it would there).
fn read_frames(name: &str, stream: &TcpStream, shared: &Shared, transcript: &Transcript) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut framer = Framer::new(MAX_FRAME);
    let end = loop {
        if !wait_unpaused(shared) {
            break End::ByUs;
        }
        let n = match read_some(stream, shared, &mut buf) {
            Ok(n) => n,
            Err(end) => break end,
        };
        let mut input = &buf[..n];
        while let Some(next) = framer.next_frame(&mut input) {
            match next {
                Ok(payload) => {
                    let seq = transcript.record(name, Direction::Received, &show_payload(&payload));
                    push(shared, Arrival::Frame { payload: payload.to_vec(), seq });
                }
                Err(FrameTooLong { max_payload }) => {
                    let seq = transcript.record(name, Direction::Event, b"");
                    transcript.annotate(seq, &format!("a frame of more than {max_payload} bytes, skipped"));
                    push(shared, Arrival::FrameTooLong { seq });
                }
            }
        }
    };
    let left = framer.buffered();
    if left > 0 && end != End::ByUs {
        let seq = transcript.record(name, Direction::Event, format!("{left} bytes of a frame").as_bytes());
        transcript.annotate(seq, "no terminator before the connection ended");
        push(shared, Arrival::Unterminated { bytes: Vec::new(), seq });
    }
    finish(name, shared, transcript, &[], end);
}

fn finish(name: &str, shared: &Shared, transcript: &Transcript, partial: &[u8], end: End) {
    if !partial.is_empty() && end != End::ByUs {
        let seq = transcript.record(name, Direction::Received, partial);
        transcript.annotate(seq, "no LF before the connection ended");
        push(shared, Arrival::Unterminated { bytes: partial.to_vec(), seq });
    }
    let what = match &end {
        End::Eof => "the server closed the connection".to_owned(),
        End::Reset => "the connection was reset by the server".to_owned(),
        End::Error(e) => format!("reading failed: {e}"),
        End::ByUs => "closed by the suite".to_owned(),
    };
    transcript.event(name, &what);
    push(shared, Arrival::End(end));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    fn pair() -> (Connection, TcpStream, Transcript) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Transcript::new();
        let c =
            Connection::connect("a", listener.local_addr().unwrap(), false, Duration::from_secs(5), t.clone()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (c, server, t)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn splits_lines_keeps_terminators_and_reports_a_partial_last_line() {
        let (c, mut s, _) = pair();
        s.write_all(b"one\ntwo\r\nthr").unwrap();
        s.write_all(b"ee\nfour").unwrap();
        drop(s);
        let mut got = Vec::new();
        while let Some(a) = c.next(soon()) {
            got.push(match a {
                Arrival::Line { bytes, .. } => String::from_utf8(bytes).unwrap(),
                Arrival::Unterminated { bytes, .. } => format!("partial:{}", String::from_utf8(bytes).unwrap()),
                Arrival::End(e) => format!("{e:?}"),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(got, ["one\n", "two\r\n", "three\n", "partial:four", "Eof"]);
    }

    #[test]
    fn a_podsixnet_connection_cuts_frames_at_each_terminator_however_they_arrive() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Transcript::new();
        let c = Connection::connect_podsixnet(
            "p",
            listener.local_addr().unwrap(),
            false,
            Duration::from_secs(5),
            t.clone(),
        )
        .unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"\x80\0---\0\x81a\0--").unwrap();
        s.write_all(b"-\0\x2d\0---\0\x81").unwrap();
        drop(s);
        let mut got = Vec::new();
        while let Some(a) = c.next(soon()) {
            got.push(match a {
                Arrival::Frame { payload, .. } => payload,
                Arrival::Unterminated { .. } => b"unterminated".to_vec(),
                Arrival::End(End::Eof) => b"eof".to_vec(),
                other => panic!("{other:?}"),
            });
        }
        assert_eq!(got, [&b"\x80"[..], b"\x81a", b"\x2d", b"unterminated", b"eof"]);
        let shown: Vec<Vec<u8>> =
            t.snapshot().entries.into_iter().filter(|e| e.direction == Direction::Received).map(|e| e.bytes).collect();
        assert_eq!(shown, [&b"\"\""[..], b"\"a\"", b"\x2d\0---\0"], "values as values, the rest as bytes");
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let (c, mut s, _) = pair();
        let big = vec![b'x'; MAX_RAW_LINE + 10_000];
        let writer = std::thread::spawn(move || {
            s.write_all(&big).unwrap();
            s.write_all(b"\nok\n").unwrap();
        });
        match c.next(soon()) {
            Some(Arrival::Overlong { start, len, .. }) => {
                assert_eq!(start.len(), 200);
                assert_eq!(len, MAX_RAW_LINE + 10_001);
            }
            Some(Arrival::Line { bytes, .. }) => panic!("a line of {} bytes was not bounded", bytes.len()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(c.next(soon()), Some(Arrival::Line { bytes, .. }) if bytes == b"ok\n"));
        writer.join().unwrap();
    }

    #[test]
    fn waiting_for_nothing_times_out_and_a_resumed_connection_delivers_what_came() {
        let (c, mut s, _) = pair();
        assert_eq!(c.next(Instant::now() + Duration::from_millis(20)), None);
        c.pause();
        s.write_all(b"held\n").unwrap();
        // The reader may be inside a read that started before the pause; whatever it read is
        // queued, and it stops after that.
        c.resume();
        assert!(matches!(c.next(soon()), Some(Arrival::Line { bytes, .. }) if bytes == b"held\n"));
    }

    #[test]
    fn the_servers_ping_is_answered_at_once_unless_turned_off_or_a_line_is_half_sent() {
        let (c, s, _) = pair();
        let mut reader = std::io::BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        (&s).write_all(b"PING t1\n").unwrap();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "PONG t1\n");
        c.write(b"MSG hal", None).unwrap();
        (&s).write_all(b"PING t2\n").unwrap();
        assert!(matches!(c.next(soon()), Some(Arrival::Line { .. })));
        assert!(matches!(c.next(soon()), Some(Arrival::Line { .. })));
        c.write(b"f\n", None).unwrap();
        c.set_autopong(false);
        (&s).write_all(b"PING t3\n").unwrap();
        assert!(matches!(c.next(soon()), Some(Arrival::Line { .. })));
        c.set_autopong(true);
        (&s).write_all(b"PING t4\n").unwrap();
        assert!(matches!(c.next(soon()), Some(Arrival::Line { .. })));
        // Only the half-sent line and the PONG to t4 came: t2 and t3 were not answered.
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "MSG half\n");
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "PONG t4\n");
    }

    #[test]
    fn reset_is_seen_by_the_server_as_a_reset() {
        let (c, mut s, _) = pair();
        c.reset();
        let mut buf = [0u8; 16];
        let r = s.read(&mut buf);
        assert!(matches!(&r, Err(e) if e.kind() == io::ErrorKind::ConnectionReset), "expected a reset, got {r:?}");
    }
}
