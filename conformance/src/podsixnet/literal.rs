//! Frames written in case files: a Python literal, as SPEC.md §16 and PodSixNet programs write
//! them, with the case-file templates inside strings.
//!
//! ```text
//! frame psn {"action": "username", "username": "{psn}", "client": "course v2", "id": 7}
//! frame psn {"action": "message", "extra": [1, (2, None)], "message": "$fill(L - 63)"}
//! frame psn size L + 1 {"action": "message", "message": ""}
//! ```
//!
//! Values: dicts `{k: v, …}`, lists `[…]`, tuples `(…)`, strings `"…"` (every escape, `{nick}`,
//! `$L`, `$(expr)` and `$fill(…)` of other templates), integers (`7`, `-1`, `$(L + 1)`), `None`,
//! `True`, `False`. A frame is sent exactly as PodSixNet's `Channel.Send` would send it — encoded,
//! then the terminator, with no check that the payload avoids the terminator (a case can show
//! what a server does with a message that PodSixNet itself cuts in two, R-PSN-5). `size N` makes
//! the payload exactly N bytes by lengthening the frame's last string value with filler, so a case
//! can write the boundaries of R-PSN-2 whatever *L* the server announced.

use minichat_protocol::podsixnet::{Dict, Value, encode};

use nom::Parser;
use nom::character::complete::{char, space0};
use nom::sequence::delimited;

use crate::expr::{Expr, expr, ident};
use crate::template::{Env, Template, fill};

/// A value as written in a case file; strings and integers are expanded when the step runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    None,
    Bool(bool),
    Int(Expr),
    Str(Template),
    List(Vec<Literal>),
    Tuple(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

/// The most containers one literal nests: far more than a frame needs, and a bound on the
/// parser's recursion whatever a case file holds.
pub const MAX_NESTING: usize = 16;

const EXPECTED: &str =
    "expected a value: a dict {…}, a list […], a tuple (…), a string \"…\", an integer, None, True or False";

/// Parses one literal at the start of `i`; returns it and what follows it.
pub fn parse(i: &str) -> Result<(Literal, &str), String> {
    value(i, 0)
}

fn value(i: &str, depth: usize) -> Result<(Literal, &str), String> {
    let i = i.trim_start();
    let Some(first) = i.chars().next() else { return Err(EXPECTED.into()) };
    if matches!(first, '{' | '[' | '(') && depth >= MAX_NESTING {
        return Err(format!("a frame literal nests at most {MAX_NESTING} containers"));
    }
    match first {
        '{' => {
            let (pairs, rest) = items(&i[1..], '}', |i| {
                let (k, r) = value(i, depth + 1)?;
                let r = r.trim_start().strip_prefix(':').ok_or("write `key: value` in a dict")?;
                let (v, r) = value(r, depth + 1)?;
                Ok(((k, v), r))
            })?;
            Ok((Literal::Dict(pairs), rest))
        }
        '[' => {
            let (items, rest) = items(&i[1..], ']', |i| value(i, depth + 1))?;
            Ok((Literal::List(items), rest))
        }
        '(' => {
            let (items, rest) = items(&i[1..], ')', |i| value(i, depth + 1))?;
            Ok((Literal::Tuple(items), rest))
        }
        '"' => {
            let (rest, t) = crate::syntax::quoted_template(&i[1..], false)?;
            Ok((Literal::Str(t), rest))
        }
        '$' => {
            let r = &i[1..];
            if let Some(r) = r.strip_prefix('(') {
                let (rest, e) = delimited(space0, expr, (space0, char(')')))
                    .parse(r)
                    .map_err(|_| "write an integer expression as $(L + 1)")?;
                return Ok((Literal::Int(e), rest));
            }
            let (rest, name) = ident(r).map_err(|_| "after `$` write a name ($L) or an expression $(L + 1)")?;
            Ok((Literal::Int(Expr::Var(name.to_owned())), rest))
        }
        '-' | '0'..='9' => {
            let digits = i[1..].find(|c: char| !c.is_ascii_digit()).map_or(i.len(), |k| k + 1);
            let n: i64 = i[..digits].parse().map_err(|_| format!("`{}` is not an integer", &i[..digits]))?;
            Ok((Literal::Int(Expr::Num(n)), &i[digits..]))
        }
        _ => {
            for (word, lit) in [("None", Literal::None), ("True", Literal::Bool(true)), ("False", Literal::Bool(false))]
            {
                if let Some(rest) = i.strip_prefix(word)
                    && !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Ok((lit, rest));
                }
            }
            Err(format!("{EXPECTED}, not `{}`", i.chars().take(20).collect::<String>()))
        }
    }
}

/// Comma-separated items up to `close` (a trailing comma is allowed, as in Python).
fn items<'a, T>(
    mut i: &'a str,
    close: char,
    mut item: impl FnMut(&'a str) -> Result<(T, &'a str), String>,
) -> Result<(Vec<T>, &'a str), String> {
    let mut out = Vec::new();
    loop {
        i = i.trim_start();
        if let Some(rest) = i.strip_prefix(close) {
            return Ok((out, rest));
        }
        let (t, rest) = item(i)?;
        out.push(t);
        i = rest.trim_start();
        if let Some(rest) = i.strip_prefix(',') {
            i = rest;
        } else if !i.starts_with(close) {
            return Err(format!("expected `,` or `{close}` after an item"));
        }
    }
}

impl Literal {
    /// The value, with every template and expression filled in.
    pub fn expand(&self, env: &dyn Env) -> Result<Value, String> {
        Ok(match self {
            Literal::None => Value::None,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(e) => Value::Int(e.eval(env)?),
            Literal::Str(t) => Value::Str(String::from_utf8(t.expand(env)?).map_err(|_| {
                "a string in a frame literal must be UTF-8; write a frame with invalid UTF-8 byte by byte with \
                 `send NAME \"…\\0---\\0\"`"
                    .to_owned()
            })?),
            Literal::List(items) => Value::List(items.iter().map(|v| v.expand(env)).collect::<Result<_, _>>()?),
            Literal::Tuple(items) => Value::Tuple(items.iter().map(|v| v.expand(env)).collect::<Result<_, _>>()?),
            Literal::Dict(pairs) => {
                let entries =
                    pairs.iter().map(|(k, v)| Ok((k.expand(env)?, v.expand(env)?))).collect::<Result<_, String>>()?;
                Value::Dict(Dict::try_from_entries(entries).map_err(|e| format!("{e} in a frame literal"))?)
            }
        })
    }

    /// The value and its payload (without terminator); with `size`, the last string value is
    /// lengthened with filler until the payload is exactly `size` bytes.
    pub fn payload(&self, env: &dyn Env, size: Option<usize>) -> Result<(Value, Vec<u8>), String> {
        let value = self.expand(env)?;
        let bytes = encode_value(&value)?;
        let Some(size) = size else { return Ok((value, bytes)) };
        if bytes.len() > size {
            return Err(format!("this frame is {} bytes before any filler, more than size {size}", bytes.len()));
        }
        // Each byte of filler adds one byte, plus the string's length prefix growing at 64 bytes
        // and at each power of ten (at most a few bytes): the right amount is just below the gap.
        let gap = size - bytes.len();
        for pad in (gap.saturating_sub(8)..=gap).rev() {
            let padded = pad_last_string(value.clone(), &String::from_utf8(fill(pad, None)).expect("ASCII filler"))
                .ok_or("`size` lengthens the frame's last string value, and this frame has none")?;
            let bytes = encode_value(&padded)?;
            if bytes.len() == size {
                return Ok((padded, bytes));
            }
        }
        Err(format!(
            "no filler makes this frame exactly {size} bytes (a string's length prefix grows at 64 bytes and at \
             each power of ten); choose a size one or two bytes away"
        ))
    }
}

fn encode_value(value: &Value) -> Result<Vec<u8>, String> {
    encode(value).map_err(|e| format!("the frame cannot be encoded: {e}"))
}

/// `value` with `pad` appended to its last string value (keys are left alone); `None` if it has
/// no string value.
fn pad_last_string(value: Value, pad: &str) -> Option<Value> {
    match value {
        Value::Str(mut s) => {
            s.push_str(pad);
            Some(Value::Str(s))
        }
        Value::List(items) => pad_last_item(items, pad).map(Value::List),
        Value::Tuple(items) => pad_last_item(items, pad).map(Value::Tuple),
        Value::Dict(d) => {
            let mut entries = d.into_entries();
            for k in (0..entries.len()).rev() {
                if let Some(v) = pad_last_string(entries[k].1.clone(), pad) {
                    entries[k].1 = v;
                    return Dict::try_from_entries(entries).ok().map(Value::Dict);
                }
            }
            None
        }
        _ => None,
    }
}

fn pad_last_item(mut items: Vec<Value>, pad: &str) -> Option<Vec<Value>> {
    for k in (0..items.len()).rev() {
        if let Some(v) = pad_last_string(items[k].clone(), pad) {
            items[k] = v;
            return Some(items);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Scope;

    struct TestEnv;
    impl Scope for TestEnv {
        fn int(&self, name: &str) -> Result<i64, String> {
            if name == "L" { Ok(200) } else { Err(format!("no {name}")) }
        }
    }
    impl Env for TestEnv {
        fn text(&self, _: &str) -> Option<Vec<u8>> {
            None
        }
        fn nick(&self, base: &str, _: Option<usize>) -> Result<String, String> {
            Ok(format!("{base}_run"))
        }
    }

    fn value_of(text: &str) -> Value {
        let (lit, rest) = parse(text).unwrap();
        assert_eq!(rest, "");
        lit.expand(&TestEnv).unwrap()
    }

    #[test]
    fn reads_python_literals_with_templates_in_strings() {
        let v = value_of(
            r#"{"action": "username", "username": "{psn}", "n": -7, "l": [None, True, (False,)], "x": $(L + 1)}"#,
        );
        assert_eq!(
            crate::podsixnet::show::show(&v),
            r#"{"action": "username", "username": "psn_run", "n": -7, "l": [None, True, (False,)], "x": 201}"#
        );
        assert_eq!(value_of("[1, 2,]"), Value::List(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(value_of(r#""a\0b""#), Value::Str("a\0b".into()));
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(parse("{\"a\" 1}").unwrap_err().contains("key: value"));
        assert!(parse("[1 2]").unwrap_err().contains("`,` or `]`"));
        assert!(parse("Nonesuch").unwrap_err().contains("expected a value"));
        assert!(parse(&"[".repeat(MAX_NESTING + 1)).unwrap_err().contains("at most"));
        let (dup, _) = parse(r#"{"a": 1, "a": 2}"#).unwrap();
        assert!(dup.expand(&TestEnv).unwrap_err().contains("duplicate"));
        let (bad, _) = parse(r#""\xff""#).unwrap();
        assert!(bad.expand(&TestEnv).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn size_pads_the_last_string_value_to_exactly_the_payload_size() {
        let (lit, _) = parse(r#"{"action": "message", "message": ""}"#).unwrap();
        for size in [30, 87, 88, 100, 200, 201, 1024, 1025, 65536] {
            match lit.payload(&TestEnv, Some(size)) {
                Ok((_, bytes)) => assert_eq!(bytes.len(), size),
                // Only the sizes inside a jump of the length prefix are impossible.
                Err(e) => assert!(e.contains("choose a size"), "{size}: {e}"),
            }
        }
        assert_eq!(lit.payload(&TestEnv, Some(200)).unwrap().1.len(), 200);
        assert!(lit.payload(&TestEnv, Some(10)).unwrap_err().contains("more than size"));
        let (no_string, _) = parse(r#"{"action": 5}"#).unwrap();
        assert!(no_string.payload(&TestEnv, Some(50)).unwrap_err().contains("has none"));
    }
}
