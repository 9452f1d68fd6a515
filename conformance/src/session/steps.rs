//! The steps that are more than one exchange: opening a connection (and its `HELLO`),
//! `register`, blocks of lines (`write`, `unordered`), and `pump`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use minichat_protocol::{ErrorCode, MAX_MAX_LINE, ServerMessage};

use super::{
    BlockLine, Conn, Item, Next, PUMP_BATCH, Problem, Session, Wire, compare_sets, describe_end, describe_next,
    repeat_count, server,
};
use crate::case::{Block, ConnectOptions, PumpStop};
use crate::connection::Connection;
use crate::escape::escape_bytes_short;
use crate::observer::Observer;
use crate::podsixnet::Profile;
use crate::podsixnet::show::show;
use crate::podsixnet::translate::lines_frames;
use crate::template::{Env, NameRange, NameTpl, NickRef, Resolved, Template};

impl Session<'_> {
    /// Opens connection `name`; its index, or `None` when it was refused as the options asked.
    pub(super) fn connect(
        &mut self,
        name: &str,
        options: ConnectOptions,
        deadline: Instant,
    ) -> Result<Option<usize>, Problem> {
        if let Ok(ci) = self.find(name) {
            if !self.conns[ci].ended && self.conns[ci].io.is_some() {
                return Err(Problem::Case(format!("connection `{name}` is already open")));
            }
            self.conns.remove(ci);
        }
        let podsixnet = options.podsixnet || self.profile == Profile::PodSixNet;
        let addr = if podsixnet {
            self.server.podsixnet.ok_or_else(|| {
                Problem::Case(format!("{name} speaks PodSixNet, but the runner knows no PodSixNet port of the server"))
            })?
        } else {
            self.server.addr
        };
        let open = if podsixnet { Connection::connect_podsixnet } else { Connection::connect };
        let io = match open(name, addr, options.small_buffer, self.timeout, self.transcript.clone()) {
            Ok(io) => io,
            Err(e) if options.refused => {
                self.transcript.event(name, &format!("could not connect, as expected: {e}"));
                return Ok(None);
            }
            Err(e) => {
                return Err(Problem::Rule {
                    requirement: "R-TRANS-1",
                    expected: format!("to connect to {addr}"),
                    got: format!("connecting failed: {e}"),
                });
            }
        };
        let max_line = self.max_line.unwrap_or(MAX_MAX_LINE);
        self.conns.push(Conn {
            name: name.to_owned(),
            io: Some(io),
            pending: VecDeque::new(),
            observer: Observer::new(&self.suffix, max_line),
            autopong: options.autopong,
            ended: false,
            floods: 0,
            wire: Wire::for_connection(podsixnet, options.podsixnet, self.limits()),
            quit_sent: false,
        });
        let ci = self.conns.len() - 1;
        if let Some(io) = &self.conns[ci].io {
            io.set_autopong(options.autopong);
        }
        let started = Instant::now();
        if options.refused {
            loop {
                let next = self.next(ci, deadline, None)?;
                match next {
                    Next::Line(_, ServerMessage::Hello { .. }) | Next::Nothing => {
                        return Err(server(
                            "the connection to be refused, or closed without HELLO",
                            match next {
                                Next::Nothing => "the server accepted it and kept it open".to_owned(),
                                other => describe_next(&other, started.elapsed()),
                            },
                        ));
                    }
                    Next::Line(..) => self.pop(ci),
                    Next::End(_) => {
                        self.pop(ci);
                        return Ok(None);
                    }
                }
            }
        }
        if options.hello {
            let next = self.next(ci, deadline, None)?;
            match next {
                Next::Line(_, ServerMessage::Hello { limits, .. }) => {
                    self.pop(ci);
                    self.max_line.get_or_insert(limits.max_line());
                }
                Next::Line(
                    content,
                    ServerMessage::Error { code: ErrorCode::TooManyConnections | ErrorCode::ServerFull, .. },
                ) => {
                    return Err(Problem::Refused(format!(
                        "the server refused connection {name} with `{}`: the case needs more connections at once than \
                         the server allows next to the other cases; raise its limits (the reference server: \
                         --max-per-address 0) or run one case at a time (--jobs 1)",
                        escape_bytes_short(&content, 120)
                    )));
                }
                other => {
                    return Err(Problem::Rule {
                        requirement: "R-REG-1",
                        expected: "HELLO minichat/1 <L> <text> as the first line".into(),
                        got: describe_next(&other, started.elapsed()),
                    });
                }
            }
        }
        Ok(Some(ci))
    }

    pub(super) fn register(
        &mut self,
        name: &NameTpl,
        nick: Option<&NickRef>,
        podsixnet: bool,
        deadline: Instant,
    ) -> Result<(), Problem> {
        let name = name.expand(self)?;
        let nick = match nick {
            Some(n) => n.expand(self)?.remove(0),
            None => self.nick(&name, None)?,
        };
        let ci = self
            .connect(&name, ConnectOptions { podsixnet, ..ConnectOptions::default() }, deadline)?
            .ok_or_else(|| Problem::Case(format!("{name} could not be opened")))?;
        self.send_lines(ci, &[format!("USER {nick}").into_bytes()], None)?;
        let welcome =
            Template(vec![crate::template::Piece::Lit(format!("WELCOME {nick}").into_bytes())]).resolve(self)?;
        self.expect(ci, &welcome, deadline, false)?;
        let listed = self.read_list(ci, deadline)?;
        let join = Template(vec![crate::template::Piece::Lit(format!("JOIN {nick}").into_bytes())]).resolve(self)?;
        for other in 0..self.conns.len() {
            let o = &self.conns[other];
            let listening =
                o.io.as_ref().is_some_and(|io| !io.is_paused()) && !o.ended && !o.quit_sent && !o.observer.bye_seen();
            if other == ci || !o.observer.is_registered() || !listening {
                continue;
            }
            self.expect(other, &join, Instant::now() + self.timeout, false)?;
            let view = self.conns[other].observer.members();
            if view.is_some_and(|v| v.same_as(&listed)) {
                continue;
            }
            let view = view.map(|v| v.as_set().clone()).unwrap_or_default();
            if let Some(Problem::Server { expected, got }) = compare_sets("the room", listed.as_set(), &view) {
                return Err(Problem::Rule {
                    requirement: "R-ORDER-4",
                    expected: format!("{nick}'s user list to match {}'s view of {expected}", self.conns[other].name),
                    got: format!("{nick}'s list has {got}"),
                });
            }
        }
        Ok(())
    }

    pub(super) fn expand_block(&mut self, block: &[Block<Template>], out: &mut Vec<BlockLine>) -> Result<(), Problem> {
        for item in block {
            match item {
                Block::Item { line, item } => out.push((*line, item.clone(), self.loop_vars.clone())),
                Block::Repeat { count, var, body } => {
                    let count = repeat_count(count.eval_usize(self)?)?;
                    for k in 1..=count {
                        if let Some(var) = var {
                            self.loop_vars.push((var.clone(), k as i64));
                        }
                        let r = self.expand_block(body, out);
                        if var.is_some() {
                            self.loop_vars.pop();
                        }
                        r?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A block's items with their loop variables applied: bytes (for `write`) or patterns.
    pub(super) fn block_bytes(&mut self, block: &[Block<Template>]) -> Result<Vec<Vec<u8>>, Problem> {
        let mut items = Vec::new();
        self.expand_block(block, &mut items)?;
        let saved = std::mem::take(&mut self.loop_vars);
        let r = items
            .into_iter()
            .map(|(_, t, vars)| {
                self.loop_vars = vars;
                t.expand(self)
            })
            .collect::<Result<Vec<_>, _>>();
        self.loop_vars = saved;
        Ok(r?)
    }

    pub(super) fn block_patterns(&mut self, block: &[Block<Template>]) -> Result<Vec<Resolved>, Problem> {
        let mut items = Vec::new();
        self.expand_block(block, &mut items)?;
        let saved = std::mem::take(&mut self.loop_vars);
        let r = items
            .into_iter()
            .map(|(_, t, vars)| {
                self.loop_vars = vars;
                t.resolve(self)
            })
            .collect::<Result<Vec<_>, _>>();
        self.loop_vars = saved;
        Ok(r?)
    }

    pub(super) fn unordered(&mut self, conns: &[NameRange], lines: &[Block<Template>]) -> Result<(), Problem> {
        let cis = self.conn_list(conns)?;
        let patterns = self.block_patterns(lines)?;
        let mut orders: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        for ci in cis {
            let mut remaining: Vec<&Resolved> = patterns.iter().collect();
            let mut seen = Vec::new();
            while !remaining.is_empty() {
                // Each line may take a step timeout (flood control may space them out).
                let started = Instant::now();
                let next = self.next(ci, started + self.timeout, None)?;
                let hit = match &next {
                    Next::Line(content, _) => remaining.iter().position(|p| p.matches(content).is_some()),
                    _ => None,
                };
                match (hit, next) {
                    (Some(k), Next::Line(content, _)) => {
                        remaining.remove(k);
                        seen.push(content);
                        self.pop(ci);
                    }
                    (_, next) => {
                        let wanted: Vec<String> = remaining.iter().map(|p| p.describe()).collect();
                        let shown = if wanted.len() > 8 {
                            format!("{} … ({} in all)", wanted[..8].join(" | "), wanted.len())
                        } else {
                            wanted.join(" | ")
                        };
                        return Err(server(
                            format!("{} to receive, in any order: {shown}", self.conns[ci].name),
                            describe_next(&next, started.elapsed()),
                        ));
                    }
                }
            }
            orders.push((self.conns[ci].name.clone(), seen));
        }
        if let Some(((first, order), rest)) = orders.split_first() {
            for (name, other) in rest {
                if other != order {
                    let show =
                        |o: &Vec<Vec<u8>>| o.iter().map(|l| escape_bytes_short(l, 80)).collect::<Vec<_>>().join(" | ");
                    return Err(Problem::Rule {
                        requirement: "R-ORDER-2",
                        expected: format!("{name} to see them in the order {first} did: {}", show(order)),
                        got: format!("{name} saw: {}", show(other)),
                    });
                }
            }
        }
        Ok(())
    }

    pub(super) fn pump(
        &mut self,
        conn: &NameTpl,
        data: &Template,
        every: Option<&crate::expr::Expr>,
        stop: &PumpStop,
        deadline: Instant,
    ) -> Result<(), Problem> {
        let ci = self.conn(conn)?;
        let every = every.map(|e| e.eval_usize(self)).transpose()?.map(|ms| Duration::from_millis(ms as u64));
        let (until, times) = match stop {
            PumpStop::Until { conn, pattern } => (Some((self.conn(conn)?, pattern.resolve(self)?)), None),
            PumpStop::Times(count) => (None, Some(count.eval_usize(self)?)),
        };
        let started = Instant::now();
        let (mut sends, mut total) = (0usize, 0usize);
        // Whether the awaited line has arrived; lines before it are skipped.
        let arrived = |this: &mut Self, ui: usize, pattern: &Resolved| -> Result<bool, Problem> {
            this.intake_ready(ui)?;
            while let Some(item) = this.conns[ui].pending.pop_front() {
                match item {
                    Item::Line { content, .. } if pattern.matches(&content).is_some() => return Ok(true),
                    Item::Line { .. } => {}
                    Item::End(end) => {
                        return Err(server(
                            format!("{} to receive {} while the suite sends", this.conns[ui].name, pattern.describe()),
                            describe_end(&end),
                        ));
                    }
                }
            }
            Ok(false)
        };
        loop {
            if let Some((ui, pattern)) = &until {
                if arrived(self, *ui, pattern)? {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(server(
                        format!("{} to receive {}", self.conns[*ui].name, pattern.describe()),
                        format!(
                            "nothing matching after {sends} sends ({total} bytes) in {:.1} s",
                            started.elapsed().as_secs_f64()
                        ),
                    ));
                }
            }
            if times.is_some_and(|t| sends >= t) {
                break;
            }
            sends += 1;
            self.loop_vars.push(("n".into(), sends as i64));
            let bytes = data.expand(self);
            self.loop_vars.pop();
            let mut bytes = bytes?;
            // On a line connection the profile made PodSixNet, the lines go as their frames.
            let mut shown = None;
            if self.conns[ci].wire.translated() {
                let frames = lines_frames(&bytes, self.limits()).map_err(|why| self.no_frame(ci, &bytes, why))?;
                shown = Some(frames.iter().map(|(value, _)| show(value).into_bytes()).collect::<Vec<_>>());
                bytes = frames.into_iter().flat_map(|(_, frame)| frame).collect();
            }
            total += bytes.len();
            let limits = self.limits();
            let conn = &mut self.conns[ci];
            let Some(io) = &conn.io else {
                return Err(Problem::Case(format!("{} was reset; it cannot send", conn.name)));
            };
            let written = match (sends <= 3, &shown) {
                (true, Some(shown)) => io.write_as(&bytes, shown, None),
                (true, None) => io.write(&bytes, None),
                (false, _) => io.write_unrecorded(&bytes),
            };
            conn.quit_sent |= conn.wire.track_sent(&bytes, limits);
            if let Err(e) = written {
                // The server may have closed the connection because of what it was waiting for
                // (a timeout): look for it before calling this a failure.
                if let Some((ui, pattern)) = &until {
                    let pattern = pattern.clone();
                    let ui = *ui;
                    if self.expect(ui, &pattern, Instant::now() + self.timeout, false).is_ok() {
                        break;
                    }
                }
                return Err(server(
                    format!("the server to keep reading {}'s connection", self.conns[ci].name),
                    format!("writing failed after {sends} sends ({total} bytes): {e}"),
                ));
            }
            if let Some(every) = every {
                // Not synchronisation: the gap between sends is the stimulus (e.g. a trickled line).
                std::thread::sleep(every);
            } else if sends % PUMP_BATCH == 0 && self.conns[ci].can_barrier() {
                // Keep the sender's own replies flowing: without this, a sender that writes
                // faster than the server delivers its echoes would become a slow consumer itself.
                self.barrier(ci)?;
            }
        }
        self.transcript.event(&self.conns[ci].name, &format!("sent {sends} times, {total} bytes in all"));
        Ok(())
    }
}
