//! A conformance case as read from a case file: its identity, the requirements it checks, the
//! server parameters it needs, and its script of steps.
//!
//! The syntax is documented in README.md and parsed by [`crate::syntax`]; this module is only the
//! shape of a parsed case, so the runner never sees text it has to re-parse.

use std::fmt;

use crate::expr::Expr;
use crate::podsixnet::literal::Literal;
use crate::spec::Level;
use crate::template::{NameRange, NameTpl, NickRef, Template};

/// One case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The stable ID, e.g. `MC-REG-001`. Never renumbered or reused.
    pub id: String,
    pub title: String,
    pub level: Level,
    /// The requirements the case checks, each with the sentence of SPEC.md it checks.
    pub checks: Vec<Check>,
    /// Server parameters or capabilities the case needs; without them it is skipped.
    pub requires: Vec<Param>,
    /// `exclusive`: the case opens so many connections that it must not share the server (a
    /// per-address limit would refuse some of them).
    pub exclusive: bool,
    /// Where the case starts (`case` line).
    pub file: String,
    pub line: usize,
    pub steps: Vec<Step>,
}

/// A requirement a case checks, quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub requirement: String,
    pub quote: String,
}

/// Something about the server that a case needs to know or to control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Param {
    /// *M*: the connection limit (R-LIMIT-1).
    MaxClients,
    /// *A*: the per-address connection limit (R-LIMIT-2).
    MaxPerAddress,
    /// *Q*: the output bound per client, in bytes (R-LIMIT-3).
    MaxQueue,
    /// *T_reg* (R-TIME-1).
    RegisterTimeout,
    /// *T_line* (R-TIME-2).
    LineTimeout,
    /// *T_idle* (R-TIME-3).
    IdleTimeout,
    /// *T_ping* (R-TIME-5).
    PingTimeout,
    /// The shutdown grace period (R-SHUT-2).
    ShutdownGrace,
    /// The flood-control burst, in lines (R-LIMIT-6).
    FloodBurst,
    /// The flood-control rate, in lines per second (R-LIMIT-6).
    FloodRate,
    /// The runner can make the server shut down (SPEC.md §14).
    Shutdown,
    /// The server has a PodSixNet port and the runner knows it (SPEC.md §16).
    PodSixNet,
}

impl Param {
    pub const ALL: [Param; 12] = [
        Param::MaxClients,
        Param::MaxPerAddress,
        Param::MaxQueue,
        Param::RegisterTimeout,
        Param::LineTimeout,
        Param::IdleTimeout,
        Param::PingTimeout,
        Param::ShutdownGrace,
        Param::FloodBurst,
        Param::FloodRate,
        Param::Shutdown,
        Param::PodSixNet,
    ];

    /// The name used in `requires` lines and expressions (`M`, `T_idle`, …).
    pub fn name(self) -> &'static str {
        match self {
            Param::MaxClients => "M",
            Param::MaxPerAddress => "A",
            Param::MaxQueue => "Q",
            Param::RegisterTimeout => "T_reg",
            Param::LineTimeout => "T_line",
            Param::IdleTimeout => "T_idle",
            Param::PingTimeout => "T_ping",
            Param::ShutdownGrace => "T_grace",
            Param::FloodBurst => "burst",
            Param::FloodRate => "rate",
            Param::Shutdown => "shutdown",
            Param::PodSixNet => "podsixnet",
        }
    }

    pub fn from_name(s: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == s)
    }

    /// How a user tells the runner this parameter (the reference server's flag of the same name).
    pub fn how_to_provide(self) -> &'static str {
        match self {
            Param::MaxClients => "run `conformance` with --max-clients N (the server's connection limit M)",
            Param::MaxPerAddress => "run `conformance` with --max-per-address N (the server's per-address limit A)",
            Param::MaxQueue => "run `conformance` with --max-queue BYTES (the server's output bound Q)",
            Param::RegisterTimeout => "run `conformance` with --register-timeout DURATION (the server's T_reg)",
            Param::LineTimeout => "run `conformance` with --line-timeout DURATION (the server's T_line)",
            Param::IdleTimeout => "run `conformance` with --idle-timeout DURATION (the server's T_idle)",
            Param::PingTimeout => "run `conformance` with --ping-timeout DURATION (the server's T_ping)",
            Param::ShutdownGrace => {
                "run `conformance` with --shutdown-grace DURATION (the server's shutdown grace period)"
            }
            Param::FloodBurst | Param::FloodRate => "run `conformance` with --msg-burst N and --msg-rate N",
            Param::Shutdown => "run `conformance` with --spawn 'COMMAND {port}', so it can stop the server",
            Param::PodSixNet => {
                "run `conformance` with --podsixnet HOST:PORT (the server's PodSixNet port; with --spawn, write \
                 {podsixnet} in the command), or check a PodSixNet server with --profile podsixnet"
            }
        }
    }

    /// Whether a case needing this must have the server to itself: it counts connections, fills
    /// queues for everyone in the room, or stops the server.
    pub fn needs_server_alone(self) -> bool {
        matches!(self, Param::MaxClients | Param::MaxPerAddress | Param::MaxQueue | Param::Shutdown)
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Case {
    /// Whether the case must not share its server with other cases.
    pub fn needs_server_alone(&self) -> bool {
        self.exclusive || self.requires.iter().any(|p| p.needs_server_alone())
    }

    /// `file:line` of the case.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// One step of a script, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub line: usize,
    /// The step as written, for failure messages.
    pub source: String,
    /// `after EXPR …`: how much longer than the step timeout this step may wait (milliseconds).
    pub after: Option<Expr>,
    pub action: Action,
}

/// How a connection is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Expect `HELLO minichat/1 <L> <text>` first (R-REG-1). Off with `no-hello`.
    pub hello: bool,
    /// Answer the server's `PING` with `PONG` unseen, as a client must (R-TIME-4). Off with
    /// `no-autopong`, for cases that watch the server's pings.
    pub autopong: bool,
    /// A small receive buffer (`small-buffer`), so a connection that stops reading fills up fast.
    pub small_buffer: bool,
    /// `refused`: the connection must fail, or be closed without a `HELLO` (after shutdown).
    pub refused: bool,
    /// `podsixnet`: the connection goes to the server's PodSixNet port and speaks frames
    /// (SPEC.md §16); lines the case sends on it are sent as the frames that stand for them.
    pub podsixnet: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { hello: true, autopong: true, small_buffer: false, refused: false, podsixnet: false }
    }
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `connect NAME [no-hello] [no-autopong] [small-buffer] [refused] [podsixnet]`
    Connect {
        conn: NameTpl,
        options: ConnectOptions,
    },
    /// `register NAME [as {nick}] [podsixnet]`: connect, `USER {NAME}` (or the nick given),
    /// `WELCOME`, a user list, and a `JOIN` at every other registered connection of the case,
    /// whose view of the room must then match the new client's list.
    Register {
        conn: NameTpl,
        nick: Option<NickRef>,
        podsixnet: bool,
    },
    /// `NAME> TEXT`: one write of TEXT and LF.
    SendLine {
        conn: NameTpl,
        line: Template,
    },
    /// `send NAME [bytewise] "…" "…"`: one write per string (one per byte with `bytewise`),
    /// nothing added.
    SendRaw {
        conn: NameTpl,
        writes: Vec<Template>,
        bytewise: bool,
    },
    /// `frame NAME [bytewise] [size EXPR] LITERAL`: a PodSixNet frame written as a Python
    /// literal, sent as PodSixNet would send it (one write, or one per byte); with `size`, its
    /// payload is made exactly that many bytes.
    Frame {
        conn: NameTpl,
        literal: Literal,
        bytewise: bool,
        size: Option<Expr>,
    },
    /// `write NAME` … `end`: all the lines, each with LF, in a single write.
    Write {
        conn: NameTpl,
        lines: Vec<Block<Template>>,
    },
    /// `NAME< PATTERN` (or `NAME<? PATTERN` when `optional`).
    Expect {
        conn: NameTpl,
        pattern: Template,
        optional: bool,
    },
    /// `skip NAME PATTERN`: consume every next line that matches.
    Skip {
        conn: NameTpl,
        pattern: Template,
    },
    /// `userlist NAME {nick}…`: a complete user list whose nicks from this case are exactly these.
    UserList {
        conn: NameTpl,
        nicks: Vec<NickRef>,
    },
    /// `unordered NAMES` … `end`: each connection receives these lines in some order, the same
    /// order for all of them.
    Unordered {
        conns: Vec<NameRange>,
        lines: Vec<Block<Template>>,
    },
    /// `exactly N of NAMES` PATTERN `others` PATTERN `end`.
    Exactly {
        count: Expr,
        conns: Vec<NameRange>,
        winner: Template,
        others: Template,
    },
    /// `members NAMES = {nick}…`: after a barrier, each connection's view of the room is exactly
    /// these nicks, and it received only membership lines since its last expectation.
    Members {
        conns: Vec<NameRange>,
        nicks: Vec<NickRef>,
    },
    /// `closed NAME`: the server closes the connection next.
    Closed {
        conn: NameTpl,
    },
    /// `close NAME`: end our side (EOF) without `QUIT`.
    Close {
        conn: NameTpl,
    },
    /// `reset NAME`: abort the connection (TCP RST).
    Reset {
        conn: NameTpl,
    },
    /// `quiet NAMES`: nothing more arrives, proven with `PING`/`PONG` barriers (R-ORDER-6).
    Quiet {
        conns: Vec<NameRange>,
    },
    /// `drain NAMES`: after barriers, drop whatever arrived (the always-on checks still apply).
    Drain {
        conns: Vec<NameRange>,
    },
    /// `pause NAME` / `resume NAME`: stop or restart reading the socket.
    Pause {
        conn: NameTpl,
    },
    Resume {
        conn: NameTpl,
    },
    /// `pump NAME "…" [every EXPR] until NAME2< PATTERN` or `… times COUNT`: send again and
    /// again, until NAME2 receives PATTERN or COUNT times; `$n` counts the sends.
    Pump {
        conn: NameTpl,
        data: Template,
        every: Option<Expr>,
        stop: PumpStop,
    },
    /// `wait EXPR`: let time pass (timeout cases only; never to synchronise).
    Wait {
        millis: Expr,
    },
    /// `repeat EXPR [as VAR]` … `end`.
    Repeat {
        count: Expr,
        var: Option<String>,
        body: Vec<Step>,
    },
    /// `shutdown`: ask the server to shut down.
    Shutdown,
    /// `stopped`: the server has finished shutting down.
    Stopped,
    /// `floods NAME EXPR`: NAME has received exactly EXPR `ERROR FLOOD` lines so far.
    Floods {
        conn: NameTpl,
        count: Expr,
    },
}

/// When a `pump` stops.
#[derive(Clone, Debug, PartialEq)]
pub enum PumpStop {
    /// When this connection receives a line matching the pattern (lines before it are skipped).
    Until { conn: NameTpl, pattern: Template },
    /// After this many sends.
    Times(Expr),
}

/// An item of a block of lines: a line, or a repeated group of lines.
#[derive(Clone, Debug, PartialEq)]
pub enum Block<T> {
    Item { line: usize, item: T },
    Repeat { count: Expr, var: Option<String>, body: Vec<Block<T>> },
}
