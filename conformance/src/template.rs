//! Templates: what a case sends, and patterns: what it expects.
//!
//! A template is literal text with escapes (`\r`, `\x00`, …, so that invalid UTF-8, NUL, a lone
//! CR or a missing terminator can be written), values (`$L`, `$(L - 64)`, `$i`, a captured
//! `$tok`), generated text (`$fill(N)`: exactly N bytes) and run-unique nicks (`{alice}`). A
//! pattern is a template that may also hold `*` (any bytes, including none) and `$=name` (any
//! bytes, remembered as `$name`), for the parts of a line SPEC.md lets the server choose.
//!
//! Expansion happens when the step runs, because values such as *L* are only known then.

use crate::expr::{Expr, Scope};

/// One piece of a template or pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Bytes written as they are (escapes already resolved).
    Lit(Vec<u8>),
    /// `$name`: a captured text, or a number in decimal.
    Var(String),
    /// `$(expr)`: a number in decimal.
    Arith(Expr),
    /// `$fill(len)` or `$fill(len, unit)`: exactly `len` bytes.
    Fill { len: Expr, unit: Option<String> },
    /// `{name}` or `{name:len}`: a nick unique to this run of the case.
    Nick(NickRef),
    /// `*` (patterns only): any bytes.
    Glob,
    /// `$=name` (patterns only): any bytes, bound to `name`.
    Capture(String),
}

/// A connection name or nick base that may contain loop variables: `c$i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameTpl(pub Vec<NamePart>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamePart {
    Lit(String),
    Var(String),
}

/// `{base}`, `{base:len}`, and in lists `{base[from..to]}` / `{base[from..to]:len}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NickRef {
    pub base: NameTpl,
    pub range: Option<(Expr, Expr)>,
    pub len: Option<Expr>,
}

/// A connection name, or a range of them: `alice`, `c$i`, `c[1..M]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRange {
    pub base: NameTpl,
    pub range: Option<(Expr, Expr)>,
}

/// Literal text with values, generators and nicks; with `*`/`$=` it is a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Template(pub Vec<Piece>);

/// What templates need at run time.
pub trait Env: Scope {
    /// A text captured earlier by `$=name`.
    fn text(&self, name: &str) -> Option<Vec<u8>>;
    /// The run-unique nick for `base`, exactly `len` bytes long when given.
    fn nick(&self, base: &str, len: Option<usize>) -> Result<String, String>;
}

/// The most bytes one `$fill` makes: more than any line or write a case needs, little enough that a
/// mistyped size fails the case instead of exhausting memory.
pub const MAX_FILL: usize = 16 * 1024 * 1024;

/// The filler `$fill` uses without a unit: varied, so a truncated or reordered text shows.
const FILL: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Exactly `len` bytes of `unit` repeated, padded with `x` where a whole unit does not fit.
pub fn fill(len: usize, unit: Option<&str>) -> Vec<u8> {
    match unit {
        None => FILL.iter().copied().cycle().take(len).collect(),
        Some(unit) => {
            let unit = unit.as_bytes();
            let mut out = Vec::with_capacity(len);
            while !unit.is_empty() && out.len() + unit.len() <= len {
                out.extend_from_slice(unit);
            }
            out.resize(len, b'x');
            out
        }
    }
}

impl NameTpl {
    pub fn expand(&self, env: &dyn Env) -> Result<String, String> {
        let mut s = String::new();
        for part in &self.0 {
            match part {
                NamePart::Lit(l) => s.push_str(l),
                NamePart::Var(v) => s.push_str(&env.int(v)?.to_string()),
            }
        }
        Ok(s)
    }
}

fn range_values(range: &Option<(Expr, Expr)>, env: &dyn Env) -> Result<Option<std::ops::RangeInclusive<i64>>, String> {
    match range {
        None => Ok(None),
        Some((a, b)) => Ok(Some(a.eval(env)?..=b.eval(env)?)),
    }
}

impl NameRange {
    /// The names, in order (`c[1..3]` gives c1, c2, c3; an empty range gives none).
    pub fn expand(&self, env: &dyn Env) -> Result<Vec<String>, String> {
        let base = self.base.expand(env)?;
        Ok(match range_values(&self.range, env)? {
            None => vec![base],
            Some(r) => r.map(|k| format!("{base}{k}")).collect(),
        })
    }
}

impl NickRef {
    /// The nicks this reference stands for, in order.
    pub fn expand(&self, env: &dyn Env) -> Result<Vec<String>, String> {
        let base = self.base.expand(env)?;
        let len = self.len.as_ref().map(|l| l.eval_usize(env)).transpose()?;
        match range_values(&self.range, env)? {
            None => Ok(vec![env.nick(&base, len)?]),
            Some(r) => r.map(|k| env.nick(&format!("{base}{k}"), len)).collect(),
        }
    }
}

/// A pattern expanded for matching: literal runs and globs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(Vec<u8>),
    Glob(Option<String>),
}

impl Template {
    /// Whether this template has `*` or `$=` (so it can only be used as a pattern).
    pub fn has_globs(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Piece::Glob | Piece::Capture(_)))
    }

    /// The bytes to send. Globs are refused by the parser in sending positions.
    pub fn expand(&self, env: &dyn Env) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for seg in self.segments(env)? {
            match seg {
                Seg::Lit(b) => out.extend(b),
                Seg::Glob(_) => return Err("`*` and `$=` can only be used in expected lines".into()),
            }
        }
        Ok(out)
    }

    fn segments(&self, env: &dyn Env) -> Result<Vec<Seg>, String> {
        let mut segs: Vec<Seg> = Vec::new();
        let push = |segs: &mut Vec<Seg>, bytes: Vec<u8>| match segs.last_mut() {
            Some(Seg::Lit(last)) => last.extend(bytes),
            _ => segs.push(Seg::Lit(bytes)),
        };
        for piece in &self.0 {
            match piece {
                Piece::Lit(b) => push(&mut segs, b.clone()),
                Piece::Var(v) => {
                    let bytes = match env.text(v) {
                        Some(t) => t,
                        None => env.int(v)?.to_string().into_bytes(),
                    };
                    push(&mut segs, bytes)
                }
                Piece::Arith(e) => push(&mut segs, e.eval(env)?.to_string().into_bytes()),
                Piece::Fill { len, unit } => {
                    let n = len.eval_usize(env)?;
                    if n > MAX_FILL {
                        return Err(format!("$fill({len}) asks for {n} bytes; at most {MAX_FILL} at once"));
                    }
                    push(&mut segs, fill(n, unit.as_deref()))
                }
                Piece::Nick(n) => {
                    if n.range.is_some() {
                        return Err("a nick range `{name[a..b]}` can only be used in a list of nicks".into());
                    }
                    let nick = n.expand(env)?.remove(0);
                    push(&mut segs, nick.into_bytes())
                }
                Piece::Glob => segs.push(Seg::Glob(None)),
                Piece::Capture(name) => segs.push(Seg::Glob(Some(name.clone()))),
            }
        }
        Ok(segs)
    }

    /// The pattern with every value filled in, ready to match lines (values are taken now, so a
    /// loop variable keeps the value it had).
    pub fn resolve(&self, env: &dyn Env) -> Result<Resolved, String> {
        self.segments(env).map(Resolved)
    }

    /// Matches a received line's content. On success, returns what each `$=name` captured.
    pub fn matches(&self, line: &[u8], env: &dyn Env) -> Result<Option<Captures>, String> {
        Ok(self.resolve(env)?.matches(line))
    }

    /// A human-readable rendering of the pattern with values filled in (`*` stays `*`).
    pub fn describe(&self, env: &dyn Env) -> String {
        match self.resolve(env) {
            Err(e) => format!("<cannot expand: {e}>"),
            Ok(r) => r.describe(),
        }
    }
}

/// What the `$=name` parts of a pattern captured, in order.
pub type Captures = Vec<(String, Vec<u8>)>;

/// A pattern with its values filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved(Vec<Seg>);

impl Resolved {
    /// Matches a line's content; on success, what each `$=name` captured.
    pub fn matches(&self, line: &[u8]) -> Option<Captures> {
        let mut caps = Vec::new();
        match_segs(&self.0, line, &mut caps).then_some(caps)
    }

    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Seg::Lit(b) => crate::escape::escape_bytes(b),
                Seg::Glob(None) => "*".to_owned(),
                Seg::Glob(Some(n)) => format!("$={n}"),
            })
            .collect()
    }
}

/// Glob matching with backtracking; a glob takes as little as it can, so captures are the
/// shortest that let the rest match (a final glob takes the rest of the line).
fn match_segs(segs: &[Seg], line: &[u8], caps: &mut Captures) -> bool {
    match segs.split_first() {
        None => line.is_empty(),
        Some((Seg::Lit(lit), rest)) => line.starts_with(lit) && match_segs(rest, &line[lit.len()..], caps),
        Some((Seg::Glob(name), rest)) => {
            for take in 0..=line.len() {
                let mark = caps.len();
                if match_segs(rest, &line[take..], caps) {
                    if let Some(name) = name {
                        caps.insert(mark, (name.clone(), line[..take].to_vec()));
                    }
                    return true;
                }
                caps.truncate(mark);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestEnv;
    impl Scope for TestEnv {
        fn int(&self, name: &str) -> Result<i64, String> {
            match name {
                "L" => Ok(128),
                "i" => Ok(7),
                _ => Err(format!("no {name}")),
            }
        }
    }
    impl Env for TestEnv {
        fn text(&self, name: &str) -> Option<Vec<u8>> {
            (name == "tok").then(|| b"t-1".to_vec())
        }
        fn nick(&self, base: &str, len: Option<usize>) -> Result<String, String> {
            let mut n = format!("{base}_run");
            if let Some(len) = len {
                while n.len() < len {
                    n.insert(base.len(), 'x');
                }
            }
            Ok(n)
        }
    }

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.as_bytes().to_vec())
    }

    #[test]
    fn fill_is_exact_in_bytes_whatever_the_unit() {
        assert_eq!(fill(5, None), b"abcde");
        assert_eq!(fill(40, None).len(), 40);
        assert_eq!(fill(5, Some("é")), "éé".bytes().chain([b'x']).collect::<Vec<_>>());
        assert_eq!(fill(0, Some("é")), b"");
        assert_eq!(fill(3, Some("")), b"xxx");
    }

    #[test]
    fn expands_values_nicks_and_fills() {
        let t = Template(vec![
            lit("MSG "),
            Piece::Nick(NickRef {
                base: NameTpl(vec![NamePart::Lit("c".into()), NamePart::Var("i".into())]),
                range: None,
                len: None,
            }),
            lit(" "),
            Piece::Var("tok".into()),
            lit(" "),
            Piece::Arith(crate::expr::whole_expr("L - 64").unwrap()),
            lit(" "),
            Piece::Fill { len: crate::expr::Expr::Num(3), unit: None },
        ]);
        assert_eq!(t.expand(&TestEnv).unwrap(), b"MSG c7_run t-1 64 abc");
    }

    #[test]
    fn globs_match_any_bytes_and_captures_bind_them() {
        let p = Template(vec![lit("ERROR NICK_IN_USE "), Piece::Glob]);
        assert!(p.matches(b"ERROR NICK_IN_USE taken, sorry", &TestEnv).unwrap().is_some());
        assert!(p.matches(b"ERROR NICK_IN_USE ", &TestEnv).unwrap().is_some());
        assert!(p.matches(b"ERROR INVALID_NICK x", &TestEnv).unwrap().is_none());
        let p = Template(vec![lit("PING "), Piece::Capture("tok".into())]);
        assert_eq!(p.matches(b"PING abc", &TestEnv).unwrap(), Some(vec![("tok".into(), b"abc".to_vec())]));
        let p = Template(vec![lit("a"), Piece::Capture("x".into()), lit("b"), Piece::Glob]);
        assert_eq!(p.matches(b"a12b34b", &TestEnv).unwrap(), Some(vec![("x".into(), b"12".to_vec())]));
        assert!(Template(vec![lit("exact")]).matches(b"exact!", &TestEnv).unwrap().is_none());
    }

    #[test]
    fn fill_is_bounded() {
        let at = Template(vec![Piece::Fill { len: crate::expr::Expr::Num(MAX_FILL as i64), unit: None }]);
        assert_eq!(at.expand(&TestEnv).unwrap().len(), MAX_FILL);
        let over = Template(vec![Piece::Fill { len: crate::expr::Expr::Num(MAX_FILL as i64 + 1), unit: None }]);
        assert!(over.expand(&TestEnv).unwrap_err().contains("at most"));
    }

    #[test]
    fn globs_cannot_be_sent_and_ranges_cannot_be_inlined() {
        assert!(Template(vec![Piece::Glob]).expand(&TestEnv).is_err());
        let r = NickRef {
            base: NameTpl(vec![NamePart::Lit("u".into())]),
            range: Some((crate::expr::Expr::Num(1), crate::expr::Expr::Num(2))),
            len: None,
        };
        assert!(Template(vec![Piece::Nick(r.clone())]).expand(&TestEnv).is_err());
        assert_eq!(r.expand(&TestEnv).unwrap(), ["u1_run", "u2_run"]);
    }

    #[test]
    fn name_ranges_expand_in_order_and_may_be_empty() {
        let r = NameRange {
            base: NameTpl(vec![NamePart::Lit("c".into())]),
            range: Some((crate::expr::Expr::Num(1), crate::expr::whole_expr("L / 64").unwrap())),
        };
        assert_eq!(r.expand(&TestEnv).unwrap(), ["c1", "c2"]);
        let empty = NameRange {
            base: NameTpl(vec![NamePart::Lit("c".into())]),
            range: Some((crate::expr::Expr::Num(1), crate::expr::Expr::Num(0))),
        };
        assert!(empty.expand(&TestEnv).unwrap().is_empty());
    }
}
