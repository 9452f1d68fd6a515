//! The case-file parser (format in README.md), built with nom.
//!
//! A case file is line-oriented: a `case` header, then one step per line, with `repeat`,
//! `write`, `unordered` and `exactly` blocks closed by `end`. Lines are dispatched on their first
//! word by hand, which keeps error messages specific ("`quiet` needs connection names"); nom
//! parses what is inside a line: expressions, names, nick references, templates and their escapes.
//! Every error names the file and line and says how to write the thing correctly.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while_m_n, take_while1};
use nom::character::complete::{char, space0, space1};
use nom::combinator::{map, opt};
use nom::multi::many1;
use nom::sequence::{delimited, preceded, separated_pair};
use nom::{IResult, Parser};

use crate::case::{Action, Block, Case, Check, ConnectOptions, Param, PumpStop, Step};
use crate::expr::{Expr, expr, ident};
use crate::spec::Level;
use crate::template::{NamePart, NameRange, NameTpl, NickRef, Piece, Template};

/// A case file that cannot be read, with where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SyntaxError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Parses every case of one file.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Case>, SyntaxError> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut p = Lines { file, lines, pos: 0 };
    let mut cases = Vec::new();
    while let Some((line, text)) = p.peek() {
        let Some(id) = text.strip_prefix("case ") else {
            return Err(p.error(line, format!("expected `case MC-AREA-NNN` to start a case, found `{text}`")));
        };
        p.pos += 1;
        cases.push(p.case(line, id.trim())?);
    }
    Ok(cases)
}

struct Lines<'a> {
    file: &'a str,
    lines: Vec<(usize, &'a str)>,
    pos: usize,
}

fn is_case_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    matches!(parts.as_slice(), ["MC", area, num]
        if !area.is_empty() && area.bytes().all(|b| b.is_ascii_uppercase())
            && num.len() == 3 && num.bytes().all(|b| b.is_ascii_digit()))
}

fn is_requirement_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    matches!(parts.as_slice(), ["R", area, num]
        if !area.is_empty() && area.bytes().all(|b| b.is_ascii_uppercase())
            && !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
}

impl<'a> Lines<'a> {
    fn peek(&self) -> Option<(usize, &'a str)> {
        self.lines.get(self.pos).copied()
    }

    fn error(&self, line: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError { file: self.file.to_owned(), line, message: message.into() }
    }

    fn case(&mut self, line: usize, id: &str) -> Result<Case, SyntaxError> {
        if !is_case_id(id) {
            return Err(self.error(line, format!("`{id}` is not a case ID: write MC-AREA-NNN, e.g. MC-REG-001")));
        }
        let mut title = None;
        let mut level = None;
        let mut checks = Vec::new();
        let mut requires = Vec::new();
        let mut exclusive = false;
        while let Some((n, text)) = self.peek() {
            let (word, rest) = text.split_once(' ').map_or((text, ""), |(w, r)| (w, r.trim()));
            match word {
                "title" if !rest.is_empty() => title = Some(rest.to_owned()),
                "level" => {
                    level = Some(match rest {
                        "MUST" => Level::Must,
                        "SHOULD" => Level::Should,
                        _ => return Err(self.error(n, format!("level is MUST or SHOULD, not `{rest}`"))),
                    })
                }
                "checks" => checks.push(self.check(n, rest)?),
                "exclusive" if rest.is_empty() => exclusive = true,
                "requires" => {
                    for name in rest.split_whitespace() {
                        let param = Param::from_name(name).ok_or_else(|| {
                            let known: Vec<_> = Param::ALL.iter().map(|p| p.name()).collect();
                            self.error(n, format!("unknown parameter `{name}` in requires; known: {}", known.join(" ")))
                        })?;
                        requires.push(param);
                    }
                }
                _ => break,
            }
            self.pos += 1;
        }
        let title = title.ok_or_else(|| self.error(line, format!("case {id} has no `title` line")))?;
        let level = level.ok_or_else(|| self.error(line, format!("case {id} has no `level MUST|SHOULD` line")))?;
        if checks.is_empty() {
            return Err(self.error(line, format!("case {id} checks nothing: add `checks R-XXX-N \"quoted sentence\"`")));
        }
        let steps = self.steps(&[])?;
        if steps.is_empty() {
            return Err(self.error(line, format!("case {id} has no steps")));
        }
        if let Some(at) = first_podsixnet_step(&steps)
            && !requires.contains(&Param::PodSixNet)
        {
            return Err(self.error(
                at,
                format!(
                    "case {id} speaks PodSixNet here: add `requires podsixnet`, so that it is skipped for a server \
                     whose PodSixNet port the runner does not know"
                ),
            ));
        }
        requires.sort();
        requires.dedup();
        Ok(Case {
            id: id.to_owned(),
            title,
            level,
            checks,
            requires,
            exclusive,
            file: self.file.to_owned(),
            line,
            steps,
        })
    }

    fn check(&self, n: usize, rest: &str) -> Result<Check, SyntaxError> {
        let usage = "write `checks R-XXX-N \"the sentence of SPEC.md it checks\"`";
        let (id, quote) = rest.split_once(' ').ok_or_else(|| self.error(n, usage))?;
        if !is_requirement_id(id) {
            return Err(self.error(n, format!("`{id}` is not a requirement ID; {usage}")));
        }
        let quote = quote.trim();
        let inner = quote
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .filter(|q| !q.is_empty())
            .ok_or_else(|| self.error(n, usage))?;
        Ok(Check { requirement: id.to_owned(), quote: inner.replace("\\\"", "\"").replace("\\\\", "\\") })
    }

    /// Steps up to (not including) a line that is one of `terminators`, a `case` line or the end.
    fn steps(&mut self, terminators: &[&str]) -> Result<Vec<Step>, SyntaxError> {
        let mut steps = Vec::new();
        while let Some((n, text)) = self.peek() {
            if terminators.contains(&text) || text.starts_with("case ") {
                break;
            }
            self.pos += 1;
            steps.push(self.step(n, text)?);
        }
        Ok(steps)
    }

    /// Consumes the `end` of a block that started on line `start`.
    fn end(&mut self, start: usize, what: &str) -> Result<(), SyntaxError> {
        match self.peek() {
            Some((_, "end")) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.error(start, format!("this `{what}` block has no `end` line"))),
        }
    }

    /// A block of lines (templates or patterns) with nested `repeat`s, up to `end`/`others`.
    fn block(&mut self, start: usize, pattern: bool, what: &str) -> Result<Vec<Block<Template>>, SyntaxError> {
        let mut items = Vec::new();
        while let Some((n, text)) = self.peek() {
            if text == "end" || text == "others" || text.starts_with("case ") {
                break;
            }
            self.pos += 1;
            if let Some(rest) = text.strip_prefix("repeat ") {
                let (count, var) = self.repeat_header(n, rest)?;
                let body = self.block(n, pattern, "repeat")?;
                self.end(n, "repeat")?;
                items.push(Block::Repeat { count, var, body });
            } else {
                items.push(Block::Item { line: n, item: self.template(n, text, pattern)? });
            }
        }
        if items.is_empty() {
            return Err(self.error(start, format!("this `{what}` block has no lines")));
        }
        Ok(items)
    }

    fn repeat_header(&self, n: usize, rest: &str) -> Result<(Expr, Option<String>), SyntaxError> {
        let parsed: IResult<&str, (Expr, Option<&str>)> =
            (expr, opt(preceded((space1, tag("as"), space1), ident))).parse(rest);
        match parsed {
            Ok(("", (count, var))) => Ok((count, var.map(str::to_owned))),
            _ => Err(self.error(n, "write `repeat COUNT` or `repeat COUNT as VAR` (COUNT may be an expression)")),
        }
    }

    fn template(&self, n: usize, text: &str, pattern: bool) -> Result<Template, SyntaxError> {
        match template(text, pattern, false) {
            Ok((t, "")) => Ok(t),
            Ok((_, rest)) => Err(self.error(n, format!("unexpected `{rest}`"))),
            Err(e) => Err(self.error(n, e)),
        }
    }

    fn step(&mut self, n: usize, text: &str) -> Result<Step, SyntaxError> {
        let mut after = None;
        let mut body = text;
        if let Some(rest) = text.strip_prefix("after ") {
            match terminated_by_space(expr).parse(rest) {
                Ok((rest, e)) => {
                    after = Some(e);
                    body = rest.trim_start();
                }
                Err(_) => {
                    return Err(self.error(n, "write `after DURATION STEP`, e.g. `after T_idle alice< PING $=tok`"));
                }
            }
        }
        let action = self.action(n, body)?;
        if after.is_some() && !waits(&action) {
            return Err(self.error(n, "`after` only goes before a step that waits for the server"));
        }
        Ok(Step { line: n, source: text.to_owned(), after, action })
    }

    fn action(&mut self, n: usize, text: &str) -> Result<Action, SyntaxError> {
        // `NAME> …`, `NAME< …`, `NAME<? …`
        if let Ok((rest, conn)) = name_tpl(text) {
            let arrow: IResult<&str, &str> = alt((tag("<? "), tag("< "), tag("> "), tag(">"))).parse(rest);
            if let Ok((rest, arrow)) = arrow {
                return match arrow {
                    ">" if rest.is_empty() => Ok(Action::SendLine { conn, line: Template::default() }),
                    ">" => Err(self.error(n, "write `NAME> LINE` with one space after `>`")),
                    "> " => Ok(Action::SendLine { conn, line: self.template(n, rest, false)? }),
                    arrow => {
                        Ok(Action::Expect { conn, pattern: self.template(n, rest, true)?, optional: arrow == "<? " })
                    }
                };
            }
        }
        let (word, rest) = text.split_once(' ').map_or((text, ""), |(w, r)| (w, r.trim_start()));
        let conn = |what: &str| -> Result<NameTpl, SyntaxError> {
            match name_tpl(rest) {
                Ok(("", name)) => Ok(name),
                _ => Err(self.error(n, format!("write `{what} NAME` with one connection name"))),
            }
        };
        Ok(match word {
            "connect" => {
                let (conn, opts) = match name_tpl(rest) {
                    Ok((opts, conn)) => (conn, opts),
                    Err(_) => {
                        return Err(self.error(
                            n,
                            "write `connect NAME [no-hello] [no-autopong] [small-buffer] [refused] [podsixnet]`",
                        ));
                    }
                };
                let mut options = ConnectOptions::default();
                for opt in opts.split_whitespace() {
                    match opt {
                        "no-hello" => options.hello = false,
                        "no-autopong" => options.autopong = false,
                        "small-buffer" => options.small_buffer = true,
                        "podsixnet" => options.podsixnet = true,
                        "refused" => {
                            options.refused = true;
                            options.hello = false;
                        }
                        _ => return Err(self.error(n, format!("unknown connect option `{opt}`"))),
                    }
                }
                Action::Connect { conn, options }
            }
            "register" => {
                let usage = "write `register NAME [as {nick}] [podsixnet]`";
                let (rest, conn) = name_tpl(rest).map_err(|_| self.error(n, usage))?;
                let (rest, podsixnet) = match rest.strip_suffix(" podsixnet") {
                    Some(r) => (r, true),
                    None => (rest, false),
                };
                let nick = match rest.strip_prefix(" as ") {
                    Some(r) => match nick_ref(r.trim()) {
                        Ok(("", nick)) if nick.range.is_none() => Some(nick),
                        _ => return Err(self.error(n, usage)),
                    },
                    None if rest.is_empty() => None,
                    None => return Err(self.error(n, usage)),
                };
                Action::Register { conn, nick, podsixnet }
            }
            "closed" => Action::Closed { conn: conn("closed")? },
            "close" => Action::Close { conn: conn("close")? },
            "reset" => Action::Reset { conn: conn("reset")? },
            "pause" => Action::Pause { conn: conn("pause")? },
            "resume" => Action::Resume { conn: conn("resume")? },
            "shutdown" if rest.is_empty() => Action::Shutdown,
            "stopped" if rest.is_empty() => Action::Stopped,
            "quiet" => Action::Quiet { conns: self.name_list(n, rest, "quiet NAME…")? },
            "drain" => Action::Drain { conns: self.name_list(n, rest, "drain NAME…")? },
            "send" => {
                let usage = "write `send NAME [bytewise] \"…\" [\"…\" …]`";
                let (rest, conn) = name_tpl(rest).map_err(|_| self.error(n, usage))?;
                let (rest, bytewise) =
                    match preceded(space1::<&str, nom::error::Error<&str>>, tag("bytewise")).parse(rest) {
                        Ok((rest, _)) => (rest, true),
                        Err(_) => (rest, false),
                    };
                let mut writes = Vec::new();
                let mut rest = rest;
                while !rest.is_empty() {
                    let (r, t) = preceded(space1::<&str, nom::error::Error<&str>>, char('"'))
                        .parse(rest)
                        .map_err(|_| self.error(n, usage))
                        .and_then(|(r, _)| quoted_template(r, false).map_err(|e| self.error(n, e)))?;
                    writes.push(t);
                    rest = r;
                }
                if writes.is_empty() {
                    return Err(self.error(n, usage));
                }
                Action::SendRaw { conn, writes, bytewise }
            }
            "frame" => {
                let usage = "write `frame NAME [bytewise] [size BYTES] {\"action\": …}`";
                let (r, conn) = name_tpl(rest).map_err(|_| self.error(n, usage))?;
                let (mut r, mut bytewise, mut size) = (r.trim_start(), false, None);
                loop {
                    if let Some(after) = r.strip_prefix("bytewise ") {
                        (r, bytewise) = (after.trim_start(), true);
                    } else if let Some(after) = r.strip_prefix("size ") {
                        let (after, e) = terminated_by_space(expr).parse(after).map_err(|_| self.error(n, usage))?;
                        (r, size) = (after.trim_start(), Some(e));
                    } else {
                        break;
                    }
                }
                let (literal, after) =
                    crate::podsixnet::literal::parse(r).map_err(|e| self.error(n, format!("{e}; {usage}")))?;
                if !after.trim().is_empty() {
                    return Err(self.error(n, format!("unexpected `{}` after the frame; {usage}", after.trim())));
                }
                Action::Frame { conn, literal, bytewise, size }
            }
            "write" => {
                let conn = conn("write")?;
                let lines = self.block(n, false, "write")?;
                self.end(n, "write")?;
                Action::Write { conn, lines }
            }
            "skip" => {
                let (pattern, conn) = name_tpl(rest)
                    .ok()
                    .and_then(|(r, c)| r.strip_prefix(' ').map(|p| (p, c)))
                    .ok_or_else(|| self.error(n, "write `skip NAME PATTERN`"))?;
                Action::Skip { conn, pattern: self.template(n, pattern, true)? }
            }
            "userlist" => {
                let (nicks, conn) = name_tpl(rest).map_err(|_| self.error(n, "write `userlist NAME {nick}…`"))?;
                Action::UserList { conn, nicks: self.nick_list(n, nicks)? }
            }
            "members" => {
                let (names, nicks) =
                    rest.split_once(" = ").ok_or_else(|| self.error(n, "write `members NAME… = {nick}…`"))?;
                Action::Members {
                    conns: self.name_list(n, names, "members NAME… = {nick}…")?,
                    nicks: self.nick_list(n, nicks)?,
                }
            }
            "unordered" => {
                let conns = self.name_list(n, rest, "unordered NAME…")?;
                let lines = self.block(n, true, "unordered")?;
                self.end(n, "unordered")?;
                Action::Unordered { conns, lines }
            }
            "exactly" => {
                let usage = "write `exactly COUNT of NAME…`, a pattern line, `others`, a pattern line, `end`";
                let (names, count) = terminated_by_space(expr).parse(rest).map_err(|_| self.error(n, usage))?;
                let names = names.trim_start().strip_prefix("of ").ok_or_else(|| self.error(n, usage))?;
                let conns = self.name_list(n, names, "exactly COUNT of NAME…")?;
                let one = |this: &mut Self| -> Result<Template, SyntaxError> {
                    match this.peek() {
                        Some((m, text)) if text != "end" && text != "others" => {
                            this.pos += 1;
                            this.template(m, text, true)
                        }
                        _ => Err(this.error(n, usage)),
                    }
                };
                let winner = one(self)?;
                match self.peek() {
                    Some((_, "others")) => self.pos += 1,
                    _ => return Err(self.error(n, usage)),
                }
                let others = one(self)?;
                self.end(n, "exactly")?;
                Action::Exactly { count, conns, winner, others }
            }
            "pump" => {
                let usage =
                    "write `pump NAME \"…\" [every MILLIS] until NAME2< PATTERN` or `pump NAME \"…\" times COUNT`";
                let (r, conn) = name_tpl(rest).map_err(|_| self.error(n, usage))?;
                let r = r.strip_prefix(" \"").ok_or_else(|| self.error(n, usage))?;
                let (r, data) = quoted_template(r, false).map_err(|e| self.error(n, e))?;
                let (r, every) =
                    match preceded((space1::<&str, nom::error::Error<&str>>, tag("every"), space1), expr).parse(r) {
                        Ok((r, e)) => (r, Some(e)),
                        Err(_) => (r, None),
                    };
                let stop = if let Some(count) = r.strip_prefix(" times ") {
                    PumpStop::Times(self.whole_expr(n, count, "pump NAME \"…\" times COUNT")?)
                } else {
                    let r = r.strip_prefix(" until ").ok_or_else(|| self.error(n, usage))?;
                    let (r, until_conn) = name_tpl(r.trim_start()).map_err(|_| self.error(n, usage))?;
                    let pattern = r.strip_prefix("< ").ok_or_else(|| self.error(n, usage))?;
                    PumpStop::Until { conn: until_conn, pattern: self.template(n, pattern, true)? }
                };
                Action::Pump { conn, data, every, stop }
            }
            "wait" => Action::Wait { millis: self.whole_expr(n, rest, "wait MILLISECONDS")? },
            "floods" => {
                let (count, conn) = name_tpl(rest)
                    .ok()
                    .and_then(|(r, c)| r.strip_prefix(' ').map(|r| (r, c)))
                    .ok_or_else(|| self.error(n, "write `floods NAME COUNT`"))?;
                Action::Floods { conn, count: self.whole_expr(n, count, "floods NAME COUNT")? }
            }
            "repeat" => {
                let (count, var) = self.repeat_header(n, rest)?;
                let body = self.steps(&["end"])?;
                self.end(n, "repeat")?;
                if body.is_empty() {
                    return Err(self.error(n, "this `repeat` block has no steps"));
                }
                Action::Repeat { count, var, body }
            }
            _ => {
                return Err(self.error(
                    n,
                    format!("`{text}` is not a step: start with `NAME>`, `NAME<`, or a step word such as connect, send, quiet, closed (see README.md)"),
                ));
            }
        })
    }

    fn whole_expr(&self, n: usize, s: &str, usage: &str) -> Result<Expr, SyntaxError> {
        crate::expr::whole_expr(s).map_err(|e| self.error(n, format!("{e}; write `{usage}`")))
    }

    fn name_list(&self, n: usize, s: &str, usage: &str) -> Result<Vec<NameRange>, SyntaxError> {
        let mut names = Vec::new();
        for word in s.split_whitespace() {
            match name_range(word) {
                Ok(("", r)) => names.push(r),
                _ => {
                    return Err(self.error(
                        n,
                        format!("`{word}` is not a connection name or range like c[1..M]; write `{usage}`"),
                    ));
                }
            }
        }
        if names.is_empty() {
            return Err(self.error(n, format!("no connection names; write `{usage}`")));
        }
        Ok(names)
    }

    fn nick_list(&self, n: usize, s: &str) -> Result<Vec<NickRef>, SyntaxError> {
        let mut nicks = Vec::new();
        let mut rest = s.trim();
        while !rest.is_empty() {
            match nick_ref(rest) {
                Ok((r, nick)) => {
                    nicks.push(nick);
                    rest = r.trim_start();
                }
                Err(_) => {
                    return Err(self.error(n, format!("expected nicks like {{alice}} or {{u[1..N]}}, found `{rest}`")));
                }
            }
        }
        Ok(nicks)
    }
}

/// The line of the first step that speaks PodSixNet (a `podsixnet` connection, a `frame`).
fn first_podsixnet_step(steps: &[Step]) -> Option<usize> {
    steps.iter().find_map(|s| match &s.action {
        Action::Connect { options, .. } if options.podsixnet => Some(s.line),
        Action::Register { podsixnet: true, .. } | Action::Frame { .. } => Some(s.line),
        Action::Repeat { body, .. } => first_podsixnet_step(body),
        _ => None,
    })
}

/// Whether a step waits for something from the server (and so may take `after`).
fn waits(action: &Action) -> bool {
    matches!(
        action,
        Action::Expect { .. }
            | Action::Closed { .. }
            | Action::UserList { .. }
            | Action::Skip { .. }
            | Action::Pump { .. }
            | Action::Stopped
            | Action::Unordered { .. }
            | Action::Exactly { .. }
    )
}

/// `p`, which must be followed by a space or the end of input (so `after 5alice<` is an error).
fn terminated_by_space<'a, O>(
    mut p: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
) -> impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>> {
    move |i: &'a str| {
        let (rest, o) = p.parse(i)?;
        if rest.is_empty() || rest.starts_with(' ') {
            Ok((rest, o))
        } else {
            Err(nom::Err::Error(nom::error::Error::new(rest, nom::error::ErrorKind::Space)))
        }
    }
}

// ---------- names and nicks ----------

fn var_part(i: &str) -> IResult<&str, NamePart> {
    map(preceded(char('$'), ident), |v: &str| NamePart::Var(v.to_owned())).parse(i)
}

/// A connection name: letters, digits, `_`, and `$var` parts (`c$i`).
fn name_tpl(i: &str) -> IResult<&str, NameTpl> {
    let lit = map(take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_'), |s: &str| NamePart::Lit(s.to_owned()));
    let (rest, parts) = many1(alt((lit, var_part))).parse(i)?;
    match parts.first() {
        Some(NamePart::Lit(l)) if l.starts_with(|c: char| c.is_ascii_alphabetic()) => Ok((rest, NameTpl(parts))),
        _ => Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Alpha))),
    }
}

fn range(i: &str) -> IResult<&str, (Expr, Expr)> {
    delimited(
        char('['),
        separated_pair(delimited(space0, expr, space0), tag(".."), delimited(space0, expr, space0)),
        char(']'),
    )
    .parse(i)
}

fn name_range(i: &str) -> IResult<&str, NameRange> {
    map((name_tpl, opt(range)), |(base, range)| NameRange { base, range }).parse(i)
}

/// `{base}`, `{base:len}`, `{base[a..b]}`, `{base[a..b]:len}`; the base is nick characters and
/// `$var` parts.
fn nick_ref(i: &str) -> IResult<&str, NickRef> {
    let lit = map(take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-'), |s: &str| {
        NamePart::Lit(s.to_owned())
    });
    map(
        delimited(char('{'), (many1(alt((lit, var_part))), opt(range), opt(preceded(char(':'), expr))), char('}')),
        |(parts, range, len)| NickRef { base: NameTpl(parts), range, len },
    )
    .parse(i)
}

// ---------- templates ----------

fn hex_byte(i: &str) -> IResult<&str, u8> {
    nom::combinator::map_res(take_while_m_n(2, 2, |c: char| c.is_ascii_hexdigit()), |h| u8::from_str_radix(h, 16))
        .parse(i)
}

/// The byte(s) an escape stands for, after its backslash.
fn escape(i: &str) -> Result<(&str, Vec<u8>), String> {
    let mut chars = i.chars();
    let c = chars.next().ok_or("a line cannot end with a lone `\\`; write `\\\\` for a backslash")?;
    let simple = match c {
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        '0' => Some(0),
        'e' => Some(0x1b),
        '\\' | '"' | '$' | '{' | '}' | '*' => Some(c as u8),
        _ => None,
    };
    if let Some(b) = simple {
        return Ok((&i[1..], vec![b]));
    }
    if c == 'x' {
        return hex_byte(&i[1..])
            .map(|(r, b)| (r, vec![b]))
            .map_err(|_| "write `\\xHH` with two hex digits".to_owned());
    }
    Err(format!("unknown escape `\\{c}`; known: \\n \\r \\t \\0 \\e \\xHH \\\\ \\\" \\$ \\{{ \\}} \\*"))
}

/// `$name`, `$(expr)`, `$fill(len)`, `$fill(len, unit)`, `$=name`, after the `$`.
fn dollar(i: &str, pattern: bool) -> Result<(&str, Piece), String> {
    let usage = "after `$` write a name ($L), an expression $(L - 64), $fill(N) or $=name; write `\\$` for a dollar";
    if let Some(rest) = i.strip_prefix('(') {
        let (rest, e) = delimited(space0, expr, (space0, char(')'))).parse(rest).map_err(|_| usage.to_owned())?;
        return Ok((rest, Piece::Arith(e)));
    }
    if let Some(rest) = i.strip_prefix("fill(") {
        let (rest, len) = delimited(space0, expr, space0).parse(rest).map_err(|_| usage.to_owned())?;
        if let Some(rest) = rest.strip_prefix(')') {
            return Ok((rest, Piece::Fill { len, unit: None }));
        }
        let rest = rest.strip_prefix(',').ok_or("write `$fill(N)` or `$fill(N, UNIT)`")?;
        let (unit, rest) = rest.split_once(')').ok_or("`$fill(N, UNIT)` needs its `)`")?;
        let unit = unit.trim_start();
        if unit.is_empty() {
            return Err("the UNIT of `$fill(N, UNIT)` cannot be empty".into());
        }
        return Ok((rest, Piece::Fill { len, unit: Some(unit.to_owned()) }));
    }
    if let Some(rest) = i.strip_prefix('=') {
        if !pattern {
            return Err("`$=name` captures part of an expected line; it cannot be sent".into());
        }
        let (rest, name) = ident(rest).map_err(|_| usage.to_owned())?;
        return Ok((rest, Piece::Capture(name.to_owned())));
    }
    let (rest, name) = ident(i).map_err(|_| usage.to_owned())?;
    Ok((rest, Piece::Var(name.to_owned())))
}

/// A template (or a pattern when `pattern`), up to the end of `i`, or up to an unescaped `"` when
/// `quoted`. Returns what is left (starting at the closing quote when `quoted`).
fn template(i: &str, pattern: bool, quoted: bool) -> Result<(Template, &str), String> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rest = i;
    let push_lit = |pieces: &mut Vec<Piece>, bytes: &[u8]| match pieces.last_mut() {
        Some(Piece::Lit(l)) => l.extend_from_slice(bytes),
        _ => pieces.push(Piece::Lit(bytes.to_vec())),
    };
    while let Some(c) = rest.chars().next() {
        match c {
            '"' if quoted => break,
            '\\' => {
                let (r, bytes) = escape(&rest[1..])?;
                push_lit(&mut pieces, &bytes);
                rest = r;
            }
            '$' => {
                let (r, piece) = dollar(&rest[1..], pattern)?;
                pieces.push(piece);
                rest = r;
            }
            '{' => {
                let (r, nick) = nick_ref(rest)
                    .map_err(|_| "`{` starts a nick like {alice} or {alice:32}; write `\\{` for a brace".to_owned())?;
                if nick.range.is_some() {
                    return Err("a nick range like {u[1..3]} can only be used in a list of nicks".into());
                }
                pieces.push(Piece::Nick(nick));
                rest = r;
            }
            '*' if pattern => {
                pieces.push(Piece::Glob);
                rest = &rest[1..];
            }
            _ => {
                let special =
                    |ch: char| matches!(ch, '\\' | '$' | '{') || (pattern && ch == '*') || (quoted && ch == '"');
                let end = rest.find(special).unwrap_or(rest.len());
                push_lit(&mut pieces, &rest.as_bytes()[..end]);
                rest = &rest[end..];
            }
        }
    }
    Ok((Template(pieces), rest))
}

/// The rest of a `"…"` string after its opening quote: its template and what follows the closing
/// quote.
pub(crate) fn quoted_template(i: &str, pattern: bool) -> Result<(&str, Template), String> {
    let (t, rest) = template(i, pattern, true)?;
    let rest = rest.strip_prefix('"').ok_or("a string is missing its closing `\"`")?;
    Ok((rest, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Case {
        let mut cases = parse_file("t.cases", text).unwrap();
        assert_eq!(cases.len(), 1);
        cases.remove(0)
    }

    const HEAD: &str = "case MC-T-001\ntitle A test\nlevel MUST\nchecks R-T-1 \"It \\\"works\\\".\"\n";

    fn steps(body: &str) -> Vec<Step> {
        one(&format!("{HEAD}{body}")).steps
    }

    fn lit(s: &[u8]) -> Piece {
        Piece::Lit(s.to_vec())
    }

    fn name(s: &str) -> NameTpl {
        NameTpl(vec![NamePart::Lit(s.into())])
    }

    #[test]
    fn reads_the_header() {
        let c = one(&format!("# comment\n\n{HEAD}requires T_idle M\nexclusive\nconnect alice\n"));
        assert!(c.exclusive);
        assert_eq!(c.id, "MC-T-001");
        assert_eq!(c.title, "A test");
        assert_eq!(c.level, Level::Must);
        assert_eq!(c.checks, [Check { requirement: "R-T-1".into(), quote: "It \"works\".".into() }]);
        assert_eq!(c.requires, [Param::MaxClients, Param::IdleTimeout]);
        assert_eq!((c.file.as_str(), c.line), ("t.cases", 3));
    }

    #[test]
    fn reads_sends_and_expectations_with_escapes() {
        let s = steps("alice> MSG a\\tb \\x00 \\$5\nalice< ERROR CODE *\nbob<? BYE*\nalice>\n");
        assert_eq!(s[0].action, Action::SendLine { conn: name("alice"), line: Template(vec![lit(b"MSG a\tb \0 $5")]) });
        assert_eq!(
            s[1].action,
            Action::Expect {
                conn: name("alice"),
                pattern: Template(vec![lit(b"ERROR CODE "), Piece::Glob]),
                optional: false
            }
        );
        assert!(matches!(&s[2].action, Action::Expect { optional: true, .. }));
        assert_eq!(s[3].action, Action::SendLine { conn: name("alice"), line: Template(vec![]) });
        assert_eq!(s[1].line, 6);
    }

    #[test]
    fn a_star_is_literal_in_what_is_sent() {
        let s = steps("alice> MSG *bold*\n");
        assert_eq!(s[0].action, Action::SendLine { conn: name("alice"), line: Template(vec![lit(b"MSG *bold*")]) });
    }

    #[test]
    fn reads_values_fills_nicks_and_captures() {
        let s = steps("c$i> MSG {bob} {u:32} $(L - 64) $fill(L-64, é) $i\nalice< PING $=tok\n");
        let Action::SendLine { conn, line } = &s[0].action else { panic!() };
        assert_eq!(conn, &NameTpl(vec![NamePart::Lit("c".into()), NamePart::Var("i".into())]));
        assert_eq!(line.0.len(), 10);
        assert!(matches!(&line.0[1], Piece::Nick(NickRef { len: None, .. })));
        assert!(matches!(&line.0[3], Piece::Nick(NickRef { len: Some(Expr::Num(32)), .. })));
        assert!(matches!(&line.0[5], Piece::Arith(_)));
        assert!(matches!(&line.0[7], Piece::Fill { unit: Some(u), .. } if u == "é"));
        assert_eq!(line.0[9], Piece::Var("i".into()));
        let Action::Expect { pattern, .. } = &s[1].action else { panic!() };
        assert_eq!(pattern.0[1], Piece::Capture("tok".into()));
    }

    #[test]
    fn reads_blocks_and_lists() {
        let s = steps(
            "repeat M - 1 as i\n  connect c$i\nend\nunordered c[1..3] alice\n  repeat 2\n    MSG {bob} *\n  end\n  JOIN {x}\nend\n\
             exactly 1 of c[1..8]\n  WELCOME {same}\nothers\n  ERROR NICK_IN_USE *\nend\nmembers c[1..2] = {a} {c[1..2]:32}\n\
             write alice\n  MSG one\n  MSG two\nend\n",
        );
        assert!(matches!(&s[0].action, Action::Repeat { var: Some(v), body, .. } if v == "i" && body.len() == 1));
        let Action::Unordered { conns, lines } = &s[1].action else { panic!() };
        assert_eq!(conns.len(), 2);
        assert!(matches!(&lines[0], Block::Repeat { body, .. } if body.len() == 1));
        assert!(matches!(&s[2].action, Action::Exactly { .. }));
        let Action::Members { nicks, .. } = &s[3].action else { panic!() };
        assert!(nicks[1].range.is_some() && nicks[1].len.is_some());
        assert!(matches!(&s[4].action, Action::Write { lines, .. } if lines.len() == 2));
    }

    #[test]
    fn reads_raw_sends_pumps_and_after() {
        let s = steps(
            "send alice \"USER \" \"{alice}\\r\\n\"\nsend bob bytewise \"MSG é\\n\"\n\
             after T_line pump alice \"x\" every T_line / 4 until alice< ERROR TIMEOUT *\nafter T_idle + T_ping closed alice\n",
        );
        assert!(matches!(&s[0].action, Action::SendRaw { writes, bytewise: false, .. } if writes.len() == 2));
        assert!(matches!(&s[1].action, Action::SendRaw { bytewise: true, .. }));
        assert!(matches!(&s[2].action, Action::Pump { every: Some(_), .. }));
        assert!(s[2].after.is_some());
        assert!(matches!(&s[3].action, Action::Closed { .. }));
        let s = steps(
            "register u$i as {u$i:32}\nregister bob\ndrain c[1..2] bob\npump alice \"MSG $n\\n\" times Q / 2000\n",
        );
        assert!(matches!(&s[0].action, Action::Register { nick: Some(NickRef { len: Some(_), .. }), .. }));
        assert!(matches!(&s[1].action, Action::Register { nick: None, .. }));
        assert!(matches!(&s[2].action, Action::Drain { conns } if conns.len() == 2));
        let s = &s[3..];
        assert!(matches!(&s[0].action, Action::Pump { every: None, stop: PumpStop::Times(_), .. }));
    }

    #[test]
    fn reads_podsixnet_connections_and_frames() {
        let c = one(&format!(
            "{HEAD}requires podsixnet\nconnect p podsixnet no-hello\nregister q as {{x}} podsixnet\nregister r\n\
             frame p bytewise size L + 1 {{\"action\": \"message\", \"message\": \"{{x}}\"}}\nframe p [1, None]\n"
        ));
        assert!(c.requires.contains(&Param::PodSixNet));
        assert!(matches!(&c.steps[0].action, Action::Connect { options, .. } if options.podsixnet && !options.hello));
        assert!(matches!(&c.steps[1].action, Action::Register { podsixnet: true, nick: Some(_), .. }));
        assert!(matches!(&c.steps[2].action, Action::Register { podsixnet: false, nick: None, .. }));
        assert!(matches!(&c.steps[3].action, Action::Frame { bytewise: true, size: Some(_), .. }));
        assert!(matches!(&c.steps[4].action, Action::Frame { bytewise: false, size: None, .. }));
    }

    #[test]
    fn a_case_that_speaks_podsixnet_must_say_it_requires_podsixnet() {
        let e =
            parse_file("t.cases", &format!("{HEAD}connect a\nrepeat 2\n  register p podsixnet\nend\n")).unwrap_err();
        assert_eq!(e.line, 7);
        assert!(e.message.contains("add `requires podsixnet`"), "{e}");
        let e = parse_file("t.cases", &format!("{HEAD}requires podsixnet\nframe p {{\"a\" 1}}\n")).unwrap_err();
        assert!(e.message.contains("key: value") && e.message.contains("frame NAME"), "{e}");
        let e = parse_file("t.cases", &format!("{HEAD}requires podsixnet\nframe p {{}} extra\n")).unwrap_err();
        assert!(e.message.contains("unexpected `extra`"), "{e}");
    }

    #[test]
    fn several_cases_in_one_file() {
        let text = format!("{HEAD}connect a\n{}connect b\n", HEAD.replace("001", "002"));
        let cases = parse_file("t.cases", &text).unwrap();
        assert_eq!(cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["MC-T-001", "MC-T-002"]);
    }

    #[test]
    fn errors_name_the_line_and_the_fix() {
        let err = |body: &str| parse_file("t.cases", &format!("{HEAD}{body}")).unwrap_err();
        let e = err("connect a\nfrobnicate x\n");
        assert_eq!((e.file.as_str(), e.line), ("t.cases", 6));
        assert!(e.message.contains("is not a step"), "{e}");
        assert!(err("alice> MSG \\q\n").message.contains("unknown escape"));
        assert!(err("alice> MSG $=x\n").message.contains("cannot be sent"));
        assert!(err("alice> MSG {u[1..2]}\n").message.contains("list of nicks"));
        assert!(err("repeat 3\nconnect a\n").message.contains("no `end`"));
        assert!(err("after T_idle close alice\n").message.contains("only goes before"));
        assert!(err("send alice \"unterminated\n").message.contains("closing"));
        assert!(parse_file("t.cases", "case X-1\n").unwrap_err().message.contains("not a case ID"));
        assert!(
            parse_file("t.cases", "case MC-T-001\nlevel MUST\nchecks R-T-1 \"x\"\nconnect a\n")
                .unwrap_err()
                .message
                .contains("title")
        );
        assert!(
            parse_file("t.cases", "case MC-T-001\ntitle t\nlevel MUST\nconnect a\n")
                .unwrap_err()
                .message
                .contains("checks nothing")
        );
        assert!(
            parse_file("t.cases", &format!("{HEAD}requires X\nconnect a\n"))
                .unwrap_err()
                .message
                .contains("unknown parameter")
        );
        assert!(parse_file("t.cases", "connect a\n").unwrap_err().message.contains("to start a case"));
    }
}
