//! The server as a deterministic state machine: SPEC.md's rules with no sockets, tasks or clocks.
//!
//! # Driving contract
//!
//! The adapter (the Tokio code in `net`, or a test) owns the sockets and the clock and calls:
//!
//! - [`Server::connect`] when it accepts a connection; it gets the [`ConnId`] to use from then on.
//!   The core has already queued `HELLO` (or `ERROR` + `BYE` if it refuses the connection).
//! - [`Server::receive`] with bytes read from a connection, at most [`MAX_READ`] at a time, and
//!   only while [`Server::io`] says `read`.
//! - [`Server::peer_closed`] when a read returns end of input.
//! - [`Server::written`] after writing the first `n` bytes of [`Server::output`].
//! - [`Server::closed`] once the socket is gone — because the core asked for it ([`IoState::close`])
//!   or because of an I/O error. This frees the connection's slot; the id is dead afterwards.
//! - [`Server::tick`] when the time [`Server::next_deadline`] returned has come.
//! - [`Server::shutdown`] when the operator stops the server.
//!
//! Every call that takes `now: Instant` is the only way the core learns the time. After each
//! call, the adapter takes [`Server::take_woken`]: the connections whose [`IoState`] or output
//! changed, so it can write to them, resume reading, or close them. The core never calls out.
//!
//! # Why one state machine for all connections
//!
//! SPEC.md promises one global order of room events (R-ORDER-1) and snapshots that agree with it
//! (R-ORDER-4). Processing every connection's lines in one sequence makes that order simply the
//! order of calls, with no locks. A broadcast is encoded once per wire form and written once to a
//! [`room_log::RoomLog`]; each recipient's [`outbox::Outbox`] points into it, usually by growing
//! the range it already holds: no copy and no allocation per delivery.

mod connection;
mod flood;
mod outbox;
mod replies;
mod room;
mod room_log;
mod stats;
mod timers;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::mem;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use minichat_protocol::{ClientMessage, LeaveCause, Limits, Nick, ServerMessage, Text, Token};
use slab::Slab;

use crate::config::{Config, ConfigError};
use connection::{Connection, Phase};
use flood::{Admission, FloodGate, FloodPolicy};
use outbox::Outbox;
use room::Room;
use room_log::{Piece, RoomLog};
use timers::{TimerKind, Timers};
use wire::{Decoder, Request, RoomEvent};

pub use connection::CloseMode;
pub use outbox::Pending;
pub use stats::{CloseReason, Stats};
pub use wire::Profile;

/// The most bytes the adapter passes to one [`Server::receive`] call. It bounds the input the core
/// holds while flood control delays a connection, and the work one connection gets per turn.
pub const MAX_READ: usize = 16 * 1024;

/// A connection, as the core names it. Ids are never reused while the adapter may hold them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl ConnId {
    /// A small dense number, unique among live connections: adapters index their own tables by it.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// What the adapter should do with a connection now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoState {
    /// Read more input (false while closing, or while flood control holds it back).
    pub read: bool,
    /// Output is waiting in [`Server::output`].
    pub write: bool,
    /// The core is done with the connection: close it as the mode says.
    pub close: Option<CloseMode>,
}

/// The sans-IO server.
#[derive(Debug)]
pub struct Server {
    limits: Limits,
    config: Config,
    flood: FloodPolicy,
    conns: Slab<Connection>,
    next_generation: u32,
    room: Room,
    /// Members that speak PodSixNet: room events are encoded for them only when there are any.
    podsixnet_members: usize,
    /// Room events as sent, once per wire form.
    line_log: RoomLog,
    podsixnet_log: RoomLog,
    admitted: usize,
    per_address: HashMap<IpAddr, usize>,
    timers: Timers,
    woken: Vec<ConnId>,
    /// Slow consumers found during a broadcast, disconnected right after it.
    slow: Vec<ConnId>,
    shutting_down: bool,
    idle_pings: u64,
    stats: Stats,
}

impl Server {
    /// A server with no connections.
    pub fn new(config: &Config) -> Result<Server, ConfigError> {
        let limits = config.validate()?;
        Ok(Server {
            limits,
            config: config.clone(),
            flood: FloodPolicy::new(config.msg_rate, config.msg_burst),
            conns: Slab::new(),
            next_generation: 0,
            room: Room::default(),
            podsixnet_members: 0,
            line_log: RoomLog::default(),
            podsixnet_log: RoomLog::default(),
            admitted: 0,
            per_address: HashMap::new(),
            timers: Timers::default(),
            woken: Vec::new(),
            slow: Vec::new(),
            shutting_down: false,
            idle_pings: 0,
            stats: Stats::default(),
        })
    }

    /// The line limit this server announces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Counters of what happened so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Live connections, including refused and closing ones.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Registered clients.
    pub fn member_count(&self) -> usize {
        self.room.len()
    }

    // ---------- events in ----------

    /// A line-protocol connection from `peer` was accepted: [`Server::connect_with`] for
    /// [`Profile::Line`].
    pub fn connect(&mut self, peer: IpAddr, now: Instant) -> ConnId {
        self.connect_with(Profile::Line, peer, now)
    }

    /// A connection from `peer` speaking `profile` was accepted. Queues `HELLO`, or refuses it
    /// over a limit (R-LIMIT-1, R-LIMIT-2): `ERROR` + `BYE`, then close without waiting.
    pub fn connect_with(&mut self, profile: Profile, peer: IpAddr, now: Instant) -> ConnId {
        self.stats.accepted += 1;
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let entry = self.conns.vacant_entry();
        let id = ConnId { index: u32::try_from(entry.key()).expect("fewer than 2^32 connections"), generation };
        entry.insert(Connection {
            generation,
            peer,
            admitted: false,
            phase: Phase::Connected,
            profile,
            decoder: Decoder::new(profile, self.limits),
            held_input: Vec::new(),
            held_until: None,
            outbox: Outbox::new(profile.unit_end()),
            flood: FloodGate::new(),
            last_line_at: now,
            partial_since: None,
            line_timer_armed: false,
            ping_sent_at: None,
            woken: false,
            slow: false,
        });

        let from_peer = self.per_address.get(&peer).copied().unwrap_or(0);
        let refusal = if self.shutting_down {
            Some((replies::shutting_down(), CloseReason::Shutdown))
        } else if self.admitted >= self.config.max_clients {
            Some((replies::server_full(self.config.max_clients), CloseReason::ServerFull))
        } else if self.config.max_per_address != 0 && from_peer >= self.config.max_per_address {
            Some((replies::too_many_connections(self.config.max_per_address), CloseReason::TooManyConnections))
        } else {
            None
        };
        match refusal {
            Some((error, reason)) => {
                self.reply(id, error);
                self.reply(id, replies::bye());
                self.close(id, CloseMode::Abandon, reason, now);
            }
            None => {
                self.conns[id.index()].admitted = true;
                self.admitted += 1;
                *self.per_address.entry(peer).or_insert(0) += 1;
                let greeting = wire::greeting(profile, self.limits);
                self.reply_bytes(id, greeting); // R-REG-1, R-PSN-6
                self.timers.schedule(now + self.config.register_timeout, id, TimerKind::Register);
            }
        }
        self.flush_slow(now);
        id
    }

    /// Bytes arrived on `id`. Complete lines are acted on in order (R-TRANS-10); an incomplete
    /// last line waits in the framer.
    pub fn receive(&mut self, id: ConnId, bytes: &[u8], now: Instant) {
        let Some(conn) = self.get_mut(id) else { return };
        if conn.is_closing() {
            return; // R-STATE-1: a closing connection's input is ignored.
        }
        if conn.held_until.is_some() {
            // The adapter reads only while `io().read`; keep the bytes anyway, in order.
            conn.held_input.extend_from_slice(bytes);
            return;
        }
        self.process_input(id, bytes, now);
        self.flush_slow(now);
    }

    /// The peer ended its side (EOF). Lines already received have been processed; an incomplete
    /// last line is discarded (R-TRANS-11) and the client leaves as `LOST` (R-LEAVE-1).
    pub fn peer_closed(&mut self, id: ConnId, now: Instant) {
        let Some(conn) = self.get_mut(id) else { return };
        if conn.is_closing() {
            return;
        }
        self.depart(id, LeaveCause::Lost, None);
        self.close(id, CloseMode::Flush, CloseReason::Lost, now);
        self.flush_slow(now);
    }

    /// The adapter wrote the first `n` bytes of [`Server::output`].
    pub fn written(&mut self, id: ConnId, n: usize) {
        if let Some(conn) = self.get_mut(id) {
            conn.outbox.consume(n);
        }
    }

    /// The socket is gone. If the core had not let the client go yet, it leaves as `LOST`
    /// (R-LEAVE-1). The id must not be used again.
    pub fn closed(&mut self, id: ConnId, now: Instant) {
        let Some(conn) = self.get_mut(id) else { return };
        if !conn.is_closing() {
            self.depart(id, LeaveCause::Lost, None);
            self.stats.record_close(CloseReason::Lost);
        }
        let conn = self.conns.remove(id.index());
        if conn.admitted {
            self.admitted -= 1;
            if let Some(n) = self.per_address.get_mut(&conn.peer) {
                *n -= 1;
                if *n == 0 {
                    self.per_address.remove(&conn.peer);
                }
            }
        }
        self.flush_slow(now);
    }

    /// Fires every deadline that is due at `now`.
    pub fn tick(&mut self, now: Instant) {
        while let Some((_, id, kind)) = self.timers.pop_due(now) {
            if self.get_mut(id).is_some() {
                self.fire(id, kind, now);
            }
            self.flush_slow(now);
        }
    }

    /// The earliest instant at which [`Server::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The server is stopping (R-SHUT-1): every connection gets `ERROR SHUTTING_DOWN` and `BYE`,
    /// no `LEAVE` is sent, and each has `shutdown_grace` to take them (R-SHUT-2).
    pub fn shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        self.room.clear();
        self.podsixnet_members = 0;
        let open: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.is_closing())
            .map(|(index, c)| ConnId { index: index as u32, generation: c.generation })
            .collect();
        for id in open {
            let conn = &mut self.conns[id.index()];
            // Dropping the membership without LEAVE is what R-SHUT-1 asks for.
            conn.phase = Phase::Connected;
            self.reply_closing(id, replies::shutting_down());
            self.reply_closing(id, replies::bye());
            self.close(id, CloseMode::Flush, CloseReason::Shutdown, now);
        }
    }

    // ---------- state out ----------

    /// What the adapter should do with `id`; `None` once the id is dead.
    pub fn io(&self, id: ConnId) -> Option<IoState> {
        let conn = self.get(id)?;
        let close = match conn.phase {
            Phase::Closing(mode) => Some(mode),
            _ => None,
        };
        Some(IoState { read: close.is_none() && conn.held_until.is_none(), write: !conn.outbox.is_empty(), close })
    }

    /// The bytes waiting to be written to `id`, oldest first, in pieces (usually one).
    pub fn output(&self, id: ConnId) -> impl Iterator<Item = Pending<'_>> {
        self.get(id).into_iter().flat_map(|c| c.outbox.pending())
    }

    /// Moves the connections whose [`IoState`] or output changed since the last call into `out`.
    pub fn take_woken(&mut self, out: &mut Vec<ConnId>) {
        for id in self.woken.drain(..) {
            if let Some(conn) = self.conns.get_mut(id.index()).filter(|c| c.generation == id.generation) {
                conn.woken = false;
                out.push(id);
            }
        }
    }

    // ---------- input ----------

    /// Frames and handles `input`, stopping where flood control says to wait.
    fn process_input(&mut self, id: ConnId, mut input: &[u8], now: Instant) {
        let received = input;
        let mut decoder = mem::take(&mut self.conns[id.index()].decoder);
        while !input.is_empty() {
            // One line of budget per complete line or frame (R-LIMIT-5). Checked before framing
            // it, so a held-back line stays in `input`, unread.
            if decoder.may_complete(input) {
                let conn = &mut self.conns[id.index()];
                if let Admission::Later { until, warn } = conn.flood.admit(self.flood, now) {
                    conn.held_input = input.to_vec();
                    conn.held_until = Some(until);
                    self.timers.schedule(until, id, TimerKind::FloodResume);
                    if warn {
                        self.stats.flood_delays += 1;
                        self.reply(id, replies::flood(self.config.msg_rate)); // R-LIMIT-6
                    }
                    break;
                }
            }
            let Some(request) = decoder.next_request(&mut input, self.limits) else { break };
            self.handle_request(id, request, now);
            let conn = &self.conns[id.index()];
            if conn.is_closing() || conn.slow {
                // QUIT, or about to be disconnected: the rest of the input is ignored.
                return;
            }
        }
        let conn = &mut self.conns[id.index()];
        // A line ended in what was framed (an LF, even one that ended a discarded overlong
        // line): a partial line left now started in this input, so its clock starts now (R-TIME-2).
        let line_ended = decoder.ended_within(&received[..received.len() - input.len()]);
        if !decoder.has_partial() {
            conn.partial_since = None;
        } else if conn.partial_since.is_none() || line_ended {
            conn.partial_since = Some(now);
            if !conn.line_timer_armed {
                conn.line_timer_armed = true;
                self.timers.schedule(now + self.config.line_timeout, id, TimerKind::Line);
            }
        }
        conn.decoder = decoder;
    }

    fn handle_request(&mut self, id: ConnId, request: Request, now: Instant) {
        match request {
            Request::Message(message) => {
                self.activity(id, now);
                self.dispatch(id, message, now);
            }
            Request::Empty => self.activity(id, now), // R-TRANS-9
            Request::Refused { error, complete } => {
                if complete {
                    self.activity(id, now);
                }
                self.reply_error(id, error);
            }
        }
    }

    /// Any complete line shows the client is alive (R-TIME-4).
    fn activity(&mut self, id: ConnId, now: Instant) {
        let conn = &mut self.conns[id.index()];
        conn.last_line_at = now;
        if conn.ping_sent_at.take().is_some() {
            // The idle timer is not armed while a PING is out; the next PING is due T_idle
            // after this line (R-TIME-3), which may be before the PING's own deadline.
            self.timers.schedule(now + self.config.idle_timeout, id, TimerKind::Idle);
        }
    }

    /// R-STATE-1's table.
    fn dispatch(&mut self, id: ConnId, message: ClientMessage, now: Instant) {
        let member = self.conns[id.index()].member();
        match (message, member) {
            (ClientMessage::User(nick), None) => self.register(id, nick, now),
            (ClientMessage::User(_), Some(member)) => {
                let reply = replies::already_registered(self.room.nick_at(member).as_str());
                self.reply_error(id, reply); // R-REG-5
            }
            (ClientMessage::Msg(_) | ClientMessage::Users, None) => self.reply_error(id, replies::not_registered()), // R-REG-6
            (ClientMessage::Msg(text), Some(member)) => {
                // R-MSG-1: to every member, the sender included.
                let from = *self.room.nick_at(member);
                self.broadcast(&ServerMessage::Msg { from, text }, None);
            }
            (ClientMessage::Users, Some(_)) => {
                let list = wire::user_list(self.conns[id.index()].profile, None, self.room.members(), self.limits);
                self.reply_bytes(id, list); // R-LIST-3
            }
            (ClientMessage::Ping(token), _) => self.reply(id, ServerMessage::Pong(token)), // R-ORDER-6
            (ClientMessage::Pong(_), _) => {}
            (ClientMessage::Quit(reason), _) => {
                // R-QUIT-1 / R-QUIT-2: LEAVE to the others at this point, then BYE.
                self.depart(id, LeaveCause::Quit, reason);
                self.reply_closing(id, replies::bye());
                self.close(id, CloseMode::Flush, CloseReason::Quit, now);
            }
        }
    }

    /// R-REG-2, R-REG-3, R-NICK-2.
    fn register(&mut self, id: ConnId, nick: Nick, now: Instant) {
        if self.room.holds(&nick) {
            return self.reply_error(id, replies::nick_in_use(nick.as_str()));
        }
        let join = ServerMessage::Join(nick);
        let welcome = ServerMessage::Welcome(nick);
        let member = self.room.join(id, nick);
        let conn = &mut self.conns[id.index()];
        conn.phase = Phase::Registered { member };
        let profile = conn.profile;
        if profile == Profile::PodSixNet {
            self.podsixnet_members += 1;
        } else {
            // PodSixNet programs cannot answer PING, so they get none (R-PSN-8).
            self.timers.schedule(now + self.config.idle_timeout, id, TimerKind::Idle);
        }
        // WELCOME and the list leave as one chunk, so nothing can come between them (R-LIST-1).
        let list = wire::user_list(profile, Some(&welcome), self.room.members(), self.limits);
        self.reply_bytes(id, list);
        self.broadcast(&join, Some(id));
    }

    // ---------- output ----------

    /// Queues a reply to one connection, in its form, enforcing *Q* (R-LIMIT-3).
    fn reply(&mut self, id: ConnId, message: ServerMessage) {
        let bytes = wire::encode(self.conns[id.index()].profile, &message);
        self.reply_bytes(id, bytes);
    }

    /// Queues bytes already in the connection's form, enforcing *Q* (R-LIMIT-3).
    fn reply_bytes(&mut self, id: ConnId, bytes: Bytes) {
        let q = self.config.max_queue;
        deliver(&mut self.conns, &mut self.woken, &mut self.slow, q, id, Delivery::Copy(&bytes));
    }

    /// Queues a line that ends the connection (a fatal `ERROR`, `BYE`) whatever is queued
    /// before it. SPEC.md promises these lines (R-QUIT-1, R-TIME-1/2/5, R-SHUT-1, R-ERR-2); going
    /// through *Q* would silently drop them for a client whose queue is nearly full. The
    /// connection is closing, so they are the last bytes it ever holds: at most *Q* plus two
    /// short lines (R-LIMIT-4), as for a slow consumer's own notice.
    fn reply_closing(&mut self, id: ConnId, message: ServerMessage) {
        let conn = &mut self.conns[id.index()];
        conn.outbox.push(&wire::encode(conn.profile, &message));
        wake(&mut self.conns, &mut self.woken, id);
    }

    fn reply_error(&mut self, id: ConnId, error: ServerMessage) {
        self.stats.errors_sent += 1;
        self.reply(id, error);
    }

    /// Queues `bytes` to every member except `except` (R-ORDER-1: one call = one point in the
    /// global order).
    fn broadcast(&mut self, message: &ServerMessage, except: Option<ConnId>) {
        let event = RoomEvent::new(message, self.room.members(), self.podsixnet_members > 0);
        let line = self.line_log.append(event.bytes(Profile::Line));
        let podsixnet =
            (self.podsixnet_members > 0).then(|| self.podsixnet_log.append(event.bytes(Profile::PodSixNet)));
        let q = self.config.max_queue;
        for member in self.room.members() {
            if Some(member.conn) != except {
                let Some(conn) = self.conns.get(member.conn.index()) else { continue };
                let piece = match conn.profile {
                    Profile::Line => &line,
                    Profile::PodSixNet => podsixnet.as_ref().unwrap_or(&line),
                };
                deliver(&mut self.conns, &mut self.woken, &mut self.slow, q, member.conn, Delivery::Shared(piece));
            }
        }
    }

    /// Disconnects the slow consumers found while queuing (R-LIMIT-3). Each one's LEAVE is a
    /// broadcast that may find more; the loop ends because each connection is kicked once.
    fn flush_slow(&mut self, now: Instant) {
        while let Some(id) = self.slow.pop() {
            let Some(conn) = self.get_mut(id) else { continue };
            if conn.is_closing() {
                continue;
            }
            conn.outbox.discard_unstarted();
            self.depart(id, LeaveCause::Slow, None);
            let conn = &mut self.conns[id.index()];
            // The discarded queue made room: these two lines may pass Q by their own length.
            conn.outbox.push(&wire::encode(conn.profile, &replies::slow_consumer(self.config.max_queue)));
            conn.outbox.push(&wire::encode(conn.profile, &replies::bye()));
            self.close(id, CloseMode::Abandon, CloseReason::SlowConsumer, now);
        }
    }

    // ---------- leaving ----------

    /// Takes a registered client out of the room and tells the others (R-LEAVE-2). No effect on a
    /// connection that is not registered.
    fn depart(&mut self, id: ConnId, cause: LeaveCause, reason: Option<Text>) {
        let Some(member) = self.conns[id.index()].member() else { return };
        let (left, moved) = self.room.leave(member);
        if let Some(moved) = moved {
            self.conns[moved.index()].phase = Phase::Registered { member };
        }
        let conn = &mut self.conns[id.index()];
        conn.phase = Phase::Connected;
        if conn.profile == Profile::PodSixNet {
            self.podsixnet_members -= 1;
        }
        self.broadcast(&ServerMessage::Leave { nick: left.nick, cause, reason }, None);
    }

    /// The core is done with `id`; the adapter closes it as `mode` says.
    fn close(&mut self, id: ConnId, mode: CloseMode, reason: CloseReason, now: Instant) {
        let conn = &mut self.conns[id.index()];
        debug_assert!(conn.member().is_none(), "close a member without LEAVE");
        conn.phase = Phase::Closing(mode);
        conn.decoder = Decoder::default();
        conn.held_input = Vec::new();
        conn.held_until = None;
        self.stats.record_close(reason);
        if mode == CloseMode::Flush {
            self.timers.schedule(now + self.config.shutdown_grace, id, TimerKind::CloseGrace);
        }
        wake(&mut self.conns, &mut self.woken, id);
    }

    /// A fatal ERROR (R-ERR-2): the error, `BYE`, LEAVE for a member, close.
    fn fail(&mut self, id: ConnId, error: ServerMessage, cause: LeaveCause, reason: CloseReason, now: Instant) {
        self.depart(id, cause, None);
        self.reply_closing(id, error);
        self.reply_closing(id, replies::bye());
        self.close(id, CloseMode::Flush, reason, now);
    }

    // ---------- time ----------

    fn fire(&mut self, id: ConnId, kind: TimerKind, now: Instant) {
        let conn = &mut self.conns[id.index()];
        if conn.is_closing() && kind != TimerKind::CloseGrace {
            return;
        }
        match kind {
            TimerKind::Register => {
                if conn.phase == Phase::Connected {
                    let error = replies::timeout(kind, self.config.register_timeout);
                    self.fail(id, error, LeaveCause::Timeout, CloseReason::RegisterTimeout, now); // R-TIME-1
                }
            }
            TimerKind::Line => {
                conn.line_timer_armed = false;
                let due = conn.partial_since.map(|since| since + self.config.line_timeout);
                match due {
                    None => {} // the line was finished in time
                    Some(_) if conn.held_until.is_some() => {
                        // Held back by flood control, the line may well be complete: look later.
                        conn.line_timer_armed = true;
                        self.timers.schedule(now + self.config.line_timeout, id, TimerKind::Line);
                    }
                    Some(due) if due <= now => {
                        let error = replies::timeout(kind, self.config.line_timeout);
                        self.fail(id, error, LeaveCause::Timeout, CloseReason::LineTimeout, now); // R-TIME-2
                    }
                    Some(due) => {
                        // A newer line started since this deadline was set: move it there.
                        conn.line_timer_armed = true;
                        self.timers.schedule(due, id, TimerKind::Line);
                    }
                }
            }
            TimerKind::Idle => {
                if conn.member().is_none() || conn.ping_sent_at.is_some() {
                    return; // not a member, or a PING is out: the line answering it re-arms this
                }
                let due = conn.last_line_at + self.config.idle_timeout;
                if due > now {
                    self.timers.schedule(due, id, TimerKind::Idle);
                    return;
                }
                conn.ping_sent_at = Some(now);
                self.idle_pings += 1;
                let token = Token::new(&format!("idle-{}", self.idle_pings)).expect("a short ASCII token");
                self.timers.schedule(now + self.config.ping_timeout, id, TimerKind::PingReply);
                self.reply(id, ServerMessage::Ping(token)); // R-TIME-3
            }
            TimerKind::PingReply => {
                if conn.member().is_none() {
                    return;
                }
                match conn.ping_sent_at {
                    Some(sent) if sent + self.config.ping_timeout <= now => {
                        let error = replies::timeout(kind, self.config.ping_timeout);
                        self.fail(id, error, LeaveCause::Timeout, CloseReason::PingTimeout, now); // R-TIME-5
                    }
                    // A newer PING is out, or this one was answered and `activity` re-armed
                    // the idle timer.
                    _ => {}
                }
            }
            TimerKind::FloodResume => {
                if conn.held_until.is_some_and(|until| until <= now) {
                    conn.held_until = None;
                    let held = mem::take(&mut conn.held_input);
                    wake(&mut self.conns, &mut self.woken, id);
                    self.process_input(id, &held, now);
                }
            }
            TimerKind::CloseGrace => {
                if conn.phase == Phase::Closing(CloseMode::Flush) {
                    conn.phase = Phase::Closing(CloseMode::Abandon); // R-SHUT-2
                    wake(&mut self.conns, &mut self.woken, id);
                }
            }
        }
    }

    // ---------- lookup and checks ----------

    fn get(&self, id: ConnId) -> Option<&Connection> {
        self.conns.get(id.index()).filter(|c| c.generation == id.generation)
    }

    fn get_mut(&mut self, id: ConnId) -> Option<&mut Connection> {
        self.conns.get_mut(id.index()).filter(|c| c.generation == id.generation)
    }

    /// Checks the invariants SPEC.md's guarantees rest on; for tests and fuzzing.
    ///
    /// Nicks are unique under folding and indexed consistently; every member is a registered
    /// connection at the position the room has for it; every open connection's queued output is
    /// within *Q* and its input within *L* + 1 (plus one read while flood control holds it); the
    /// connection counts match.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.room.check()?;
        for (pos, m) in self.room.members().iter().enumerate() {
            let conn = self.get(m.conn).ok_or_else(|| format!("member {} has no connection", m.nick))?;
            if conn.member() != Some(pos) {
                return Err(format!("member {} at {pos} but its connection says {:?}", m.nick, conn.phase));
            }
        }
        let mut admitted = 0;
        let mut per_address: HashMap<IpAddr, usize> = HashMap::new();
        for (_, conn) in &self.conns {
            if conn.member().is_some_and(|pos| pos >= self.room.len()) {
                return Err(format!("connection says member {:?} past the room's end", conn.phase));
            }
            if !conn.is_closing() && conn.outbox.len() > self.config.max_queue {
                return Err(format!("{} bytes queued, more than Q = {}", conn.outbox.len(), self.config.max_queue));
            }
            // L + 1 for a line (a CR may follow), L + 4 for a frame (a terminator's start).
            if conn.decoder.buffered_len() > self.limits.max_line() + 4 {
                return Err(format!("decoder holds {} bytes", conn.decoder.buffered_len()));
            }
            if conn.held_input.len() > MAX_READ {
                return Err(format!("{} bytes held by flood control", conn.held_input.len()));
            }
            if conn.admitted {
                admitted += 1;
                *per_address.entry(conn.peer).or_insert(0) += 1;
            }
        }
        if admitted != self.admitted || per_address != self.per_address {
            return Err(format!("{admitted} admitted connections, counted {}", self.admitted));
        }
        if self.admitted > self.config.max_clients {
            return Err(format!("{} admitted, more than M = {}", self.admitted, self.config.max_clients));
        }
        Ok(())
    }

    /// Frees the buffers of connections with nothing queued. The adapter calls it when the
    /// server falls quiet, so idle connections hold no write buffer, while busy ones keep theirs
    /// between bursts instead of allocating one each time.
    pub fn release_idle_buffers(&mut self) {
        for (_, conn) in &mut self.conns {
            conn.outbox.release();
        }
        self.line_log.release();
        self.podsixnet_log.release();
    }

    /// Deadlines pending in the timer heap, for tests and memory accounting.
    pub fn deadline_count(&self) -> usize {
        self.timers.len()
    }

    /// Bytes queued for `id` (for tests and memory accounting).
    pub fn queued_len(&self, id: ConnId) -> usize {
        self.get(id).map_or(0, |c| c.outbox.len())
    }
}

/// Bytes to queue for one connection: its own, or a room event's, shared.
enum Delivery<'a> {
    Copy(&'a [u8]),
    Shared(&'a Piece),
}

impl Delivery<'_> {
    fn len(&self) -> usize {
        match self {
            Delivery::Copy(bytes) => bytes.len(),
            Delivery::Shared(piece) => piece.len(),
        }
    }
}

/// Queues `bytes` for `id` unless that would pass *Q*; then marks it a slow consumer instead.
/// A free function so a broadcast can call it while it walks the room.
fn deliver(
    conns: &mut Slab<Connection>,
    woken: &mut Vec<ConnId>,
    slow: &mut Vec<ConnId>,
    q: usize,
    id: ConnId,
    bytes: Delivery<'_>,
) {
    let Some(conn) = conns.get_mut(id.index()).filter(|c| c.generation == id.generation) else { return };
    if conn.is_closing() || conn.slow {
        return;
    }
    if conn.outbox.len() + bytes.len() > q {
        conn.slow = true;
        slow.push(id);
        return;
    }
    match bytes {
        Delivery::Copy(bytes) => conn.outbox.push(bytes),
        Delivery::Shared(piece) => conn.outbox.push_shared(piece),
    }
    if !conn.woken {
        conn.woken = true;
        woken.push(id);
    }
}

fn wake(conns: &mut Slab<Connection>, woken: &mut Vec<ConnId>, id: ConnId) {
    let conn = &mut conns[id.index()];
    if !conn.woken {
        conn.woken = true;
        woken.push(id);
    }
}
