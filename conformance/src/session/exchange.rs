//! How a session talks to its connections: what it sends (lines, or on a PodSixNet connection the
//! frames that stand for them), how it takes lines and frames in (through the always-on checks),
//! how a step waits for the next line, and the `PING` barriers (R-ORDER-6) that prove nothing
//! more is coming without sleeping.

use std::time::Instant;

use minichat_protocol::ServerMessage;

use super::{Item, Kind, Next, Problem, Session, Wire, describe_next, server};
use crate::connection::Arrival;
use crate::escape::escape_bytes_short;
use crate::observer::NickSet;
use crate::podsixnet::MAX_FRAME;
use crate::podsixnet::observer::{Taken, check_membership};
use crate::podsixnet::show::show;
use crate::podsixnet::translate::line_frame;
use crate::template::Resolved;

impl Session<'_> {
    pub(super) fn process(&mut self, ci: usize, arrival: Arrival) -> Result<(), Problem> {
        let conn = &mut self.conns[ci];
        match arrival {
            Arrival::Line { bytes, seq } => self.take_line(ci, &bytes, seq),
            Arrival::Frame { payload, seq } => {
                let Wire::PodSixNet { frames, .. } = &mut conn.wire else {
                    return Err(Problem::Case(format!("{} received a frame but speaks lines", conn.name)));
                };
                match frames.take(&payload)? {
                    Taken::Lines(lines) => {
                        for line in lines {
                            self.take_line(ci, &line, seq)?;
                        }
                    }
                    Taken::Membership { event, players } => {
                        check_membership(&conn.observer, &event, &players)?;
                        if !conn.observer.is_own(&event.nick) {
                            self.transcript.fold_away(seq);
                        }
                    }
                }
                Ok(())
            }
            Arrival::FrameTooLong { .. } => Err(server(
                format!("frames of at most {MAX_FRAME} bytes (far more than any frame a server needs to send)"),
                "a longer one",
            )),
            Arrival::Overlong { start, len, .. } => Err(Problem::Rule {
                requirement: "R-TRANS-4",
                expected: "a line of at most L bytes".into(),
                got: format!("a line of {len} bytes: {}", escape_bytes_short(&start, 100)),
            }),
            // A connection the server abandons (slow consumer, shutdown grace over) may end in
            // the middle of a line the OS had accepted (R-LIMIT-3, R-SHUT-2): not a line sent,
            // so not a framing error. A step that expects a line there sees the end instead.
            Arrival::Unterminated { .. } => Ok(()),
            Arrival::End(end) => {
                conn.ended = true;
                conn.pending.push_back(Item::End(end));
                Ok(())
            }
        }
    }

    /// Takes in one line (LF included) received on `ci`, or standing for a frame it received;
    /// `seq` is its transcript entry.
    fn take_line(&mut self, ci: usize, bytes: &[u8], seq: u64) -> Result<(), Problem> {
        let conn = &mut self.conns[ci];
        let (msg, kind) = conn.observer.check_line(bytes)?;
        if let ServerMessage::Hello { limits, .. } = &msg {
            self.max_line.get_or_insert(limits.max_line());
        }
        let content = bytes.strip_suffix(b"\n").unwrap_or(bytes).to_vec();
        match kind {
            Kind::Foreign => self.transcript.fold_away(seq),
            Kind::Flood => {
                conn.floods += 1;
                self.transcript.annotate(seq, "flood control: tolerated");
                conn.pending.push_back(Item::Line { content, msg, flood: true });
            }
            // The reader thread has answered it already (connection.rs).
            Kind::Own if conn.autopong && matches!(msg, ServerMessage::Ping(_)) => {}
            Kind::Own => conn.pending.push_back(Item::Line { content, msg, flood: false }),
        }
        Ok(())
    }

    /// Takes in one arrival, waiting until `deadline`; false if none came.
    pub(super) fn intake(&mut self, ci: usize, deadline: Instant) -> Result<bool, Problem> {
        let arrival = match &self.conns[ci].io {
            Some(io) => io.next(deadline),
            None => None,
        };
        match arrival {
            Some(a) => self.process(ci, a).map(|()| true),
            None => Ok(false),
        }
    }

    /// Takes in everything that has arrived, without waiting.
    pub(super) fn intake_ready(&mut self, ci: usize) -> Result<(), Problem> {
        let arrivals = self.conns[ci].io.as_ref().map(|io| io.drain()).unwrap_or_default();
        for a in arrivals {
            self.process(ci, a)?;
        }
        Ok(())
    }

    /// The next thing for a step on connection `ci`, not consumed. `ERROR FLOOD` lines are
    /// skipped unless `wanted` matches them.
    pub(super) fn next(&mut self, ci: usize, deadline: Instant, wanted: Option<&Resolved>) -> Result<Next, Problem> {
        loop {
            while self.conns[ci].pending.is_empty() {
                if !self.intake(ci, deadline)? {
                    return Ok(Next::Nothing);
                }
            }
            match self.conns[ci].pending.front().expect("not empty") {
                Item::Line { content, flood: true, .. } if wanted.is_none_or(|w| w.matches(content).is_none()) => {
                    self.conns[ci].pending.pop_front();
                }
                Item::Line { content, msg, .. } => return Ok(Next::Line(content.clone(), msg.clone())),
                Item::End(end) => return Ok(Next::End(end.clone())),
            }
        }
    }

    pub(super) fn pop(&mut self, ci: usize) {
        self.conns[ci].pending.pop_front();
    }

    /// Consumes the next line if it matches `pattern` (binding its captures); otherwise fails.
    pub(super) fn expect(
        &mut self,
        ci: usize,
        pattern: &Resolved,
        deadline: Instant,
        optional: bool,
    ) -> Result<(), Problem> {
        let started = Instant::now();
        let next = self.next(ci, deadline, Some(pattern))?;
        if let Next::Line(content, _) = &next
            && let Some(caps) = pattern.matches(content)
        {
            self.pop(ci);
            self.texts.extend(caps);
            return Ok(());
        }
        if optional {
            return Ok(());
        }
        let name = &self.conns[ci].name;
        Err(server(format!("{name} to receive: {}", pattern.describe()), describe_next(&next, started.elapsed())))
    }

    /// Reads a complete user list; returns the case's nicks in it (the observer checks the rest).
    pub(super) fn read_list(&mut self, ci: usize, deadline: Instant) -> Result<NickSet, Problem> {
        let started = Instant::now();
        loop {
            let next = self.next(ci, deadline, None)?;
            match &next {
                Next::Line(_, ServerMessage::Users(_)) => self.pop(ci),
                Next::Line(_, ServerMessage::EndUsers(_)) => {
                    self.pop(ci);
                    let own = self.conns[ci].observer.last_list().cloned().unwrap_or_default();
                    return Ok(own);
                }
                _ => {
                    let name = &self.conns[ci].name;
                    return Err(server(
                        format!("{name} to receive a user list (USERS lines, then ENDUSERS <count>)"),
                        describe_next(&next, started.elapsed()),
                    ));
                }
            }
        }
    }

    // ---------- sending ----------

    /// Writes bytes as they are, in one write.
    pub(super) fn send(&mut self, ci: usize, bytes: &[u8], note: Option<&str>) -> Result<(), Problem> {
        self.transmit(ci, bytes, None, note)
    }

    /// Writes bytes in one write, recorded in the transcript as `shown` when given (the frames
    /// they hold, as values) and as they are otherwise.
    pub(super) fn transmit(
        &mut self,
        ci: usize,
        bytes: &[u8],
        shown: Option<&[Vec<u8>]>,
        note: Option<&str>,
    ) -> Result<(), Problem> {
        let limits = self.limits();
        let conn = &mut self.conns[ci];
        let Some(io) = &conn.io else {
            return Err(Problem::Case(format!("{} was reset; it cannot send", conn.name)));
        };
        let written = match shown {
            Some(shown) => io.write_as(bytes, shown, note),
            None => io.write(bytes, note),
        };
        if let Err(e) = written {
            return Err(server(
                format!("the server to keep reading {}'s connection", conn.name),
                format!("writing {} bytes failed: {e}", bytes.len()),
            ));
        }
        // Notice QUIT (however it was split), for barriers.
        conn.quit_sent |= conn.wire.track_sent(bytes, limits);
        Ok(())
    }

    /// Sends lines (their contents, without LF) in one write: as they are on a line connection,
    /// as the frames that stand for them on a PodSixNet connection.
    pub(super) fn send_lines(&mut self, ci: usize, lines: &[Vec<u8>], note: Option<&str>) -> Result<(), Problem> {
        if !self.conns[ci].wire.is_podsixnet() {
            let mut bytes = Vec::new();
            for line in lines {
                bytes.extend_from_slice(line);
                bytes.push(b'\n');
            }
            return self.send(ci, &bytes, note);
        }
        let limits = self.limits();
        let (mut bytes, mut shown) = (Vec::new(), Vec::new());
        for line in lines {
            let (value, frame) = line_frame(line, limits).map_err(|why| self.no_frame(ci, line, why))?;
            bytes.extend_from_slice(&frame);
            shown.push(show(&value).into_bytes());
        }
        self.transmit(ci, &bytes, Some(&shown), note)
    }

    /// A line a PodSixNet connection cannot send: a reason to skip the case when the profile made
    /// the connection PodSixNet, a mistake in the case when the case did.
    pub(super) fn no_frame(&self, ci: usize, line: &[u8], why: String) -> Problem {
        let line = escape_bytes_short(line, 80);
        if self.conns[ci].wire.translated() {
            Problem::Untranslatable(format!("`{line}`: {why}"))
        } else {
            Problem::Case(format!("`{line}` has no PodSixNet frame: {why}; write the frame with `frame` or `send`"))
        }
    }

    /// A `PING` barrier (R-ORDER-6): afterwards, everything the server had to send this
    /// connection before answering is in `pending`.
    pub(super) fn barrier(&mut self, ci: usize) -> Result<(), Problem> {
        self.barriers += 1;
        let token = format!("sync-{}", self.barriers);
        self.send_lines(ci, &[format!("PING {token}").into_bytes()], Some("barrier"))?;
        let deadline = Instant::now() + self.timeout;
        let mut scanned = 0;
        loop {
            let conn = &mut self.conns[ci];
            let found = conn
                .pending
                .iter()
                .skip(scanned)
                .position(|i| matches!(i, Item::Line { msg: ServerMessage::Pong(t), .. } if t.as_str() == token));
            if let Some(pos) = found {
                conn.pending.remove(scanned + pos);
                return Ok(());
            }
            scanned = conn.pending.len();
            if conn.ended {
                return Err(server(
                    format!("PONG {token} on {} (a PING barrier)", conn.name),
                    "the connection ended first",
                ));
            }
            if !self.intake(ci, deadline)? {
                return Err(Problem::Rule {
                    requirement: "R-ORDER-6",
                    expected: format!("PONG {token} on {} (the suite's PING barrier)", self.conns[ci].name),
                    got: format!("no PONG within {:.1} s", self.timeout.as_secs_f64()),
                });
            }
        }
    }

    /// Waits for the `BYE` of every connection that sent `QUIT`, then barriers on every connection
    /// that can take one, then again on `targets`: afterwards every line caused by anything sent
    /// before is in the targets' `pending` (R-ORDER-6).
    pub(super) fn settle(&mut self, targets: &[usize]) -> Result<(), Problem> {
        self.await_quits()?;
        for ci in 0..self.conns.len() {
            if self.conns[ci].can_barrier() {
                self.barrier(ci)?;
            }
        }
        for &ci in targets {
            if self.conns[ci].can_barrier() {
                self.barrier(ci)?;
            } else if self.conns[ci].io.as_ref().is_some_and(|io| io.is_paused()) {
                return Err(Problem::Case(format!(
                    "{} is paused: nothing can be proven about it",
                    self.conns[ci].name
                )));
            }
        }
        Ok(())
    }

    /// Waits until every connection that sent `QUIT` has its `BYE` or its end. Such a connection
    /// takes no `PING` barrier, and a barrier on another connection proves nothing about it: the
    /// server may process the other connection's `PING` before this `QUIT`. Its `BYE` is the
    /// proof, since the `LEAVE` it causes is sent before it (R-QUIT-1).
    fn await_quits(&mut self) -> Result<(), Problem> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        for ci in 0..self.conns.len() {
            while self.conns[ci].awaits_bye() {
                if !self.intake(ci, deadline)? {
                    return Err(server(
                        format!("BYE on {} after its QUIT", self.conns[ci].name),
                        format!("nothing within {:.1} s", started.elapsed().as_secs_f64()),
                    ));
                }
            }
        }
        Ok(())
    }
}
