//! Integer expressions in case files: `L - 64`, `M + 1`, `T_idle + T_ping`, `(L - 5) / 33 + 2`.
//!
//! Cases adapt to the server they test — the line limit *L* comes from its `HELLO`, the connection
//! limit *M* and the timeouts from the runner's flags — so sizes and counts are expressions
//! evaluated at run time, not numbers written into the file. Durations are in milliseconds.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::take_while;
use nom::character::complete::{char, digit1, satisfy, space0};
use nom::combinator::{map, map_res, recognize};
use nom::multi::many0;
use nom::sequence::{delimited, pair, preceded};
use nom::{IResult, Parser};

/// An arithmetic expression over integers and named values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Num(i64),
    Var(String),
    Bin(Box<Expr>, Op, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// Where an expression finds the values of its names.
pub trait Scope {
    /// The value of `name`, or why it has none (e.g. "the runner was not told M: run `conformance` with --max-clients N").
    fn int(&self, name: &str) -> Result<i64, String>;
}

impl Expr {
    pub fn eval(&self, scope: &dyn Scope) -> Result<i64, String> {
        match self {
            Expr::Num(n) => Ok(*n),
            Expr::Var(name) => scope.int(name),
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.eval(scope)?, b.eval(scope)?);
                let r = match op {
                    Op::Add => a.checked_add(b),
                    Op::Sub => a.checked_sub(b),
                    Op::Mul => a.checked_mul(b),
                    Op::Div if b == 0 => return Err(format!("division by zero in `{self}`")),
                    Op::Div => a.checked_div(b),
                };
                r.ok_or_else(|| format!("arithmetic overflow in `{self}`"))
            }
        }
    }

    /// Evaluates to a count or size, which cannot be negative.
    pub fn eval_usize(&self, scope: &dyn Scope) -> Result<usize, String> {
        let v = self.eval(scope)?;
        usize::try_from(v).map_err(|_| format!("`{self}` is {v}, but a count or size cannot be negative"))
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(n) => write!(f, "{n}"),
            Expr::Var(v) => f.write_str(v),
            Expr::Bin(a, op, b) => {
                let op = match op {
                    Op::Add => '+',
                    Op::Sub => '-',
                    Op::Mul => '*',
                    Op::Div => '/',
                };
                write!(f, "({a} {op} {b})")
            }
        }
    }
}

/// An identifier: a letter or `_`, then letters, digits or `_`.
pub(crate) fn ident(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

fn atom(i: &str) -> IResult<&str, Expr> {
    alt((
        map_res(digit1, |d: &str| d.parse::<i64>().map(Expr::Num)),
        map(ident, |v: &str| Expr::Var(v.to_owned())),
        delimited(pair(char('('), space0), expr, pair(space0, char(')'))),
    ))
    .parse(i)
}

fn fold(first: Expr, rest: Vec<(char, Expr)>) -> Expr {
    rest.into_iter().fold(first, |acc, (op, e)| {
        let op = match op {
            '+' => Op::Add,
            '-' => Op::Sub,
            '*' => Op::Mul,
            _ => Op::Div,
        };
        Expr::Bin(Box::new(acc), op, Box::new(e))
    })
}

fn term(i: &str) -> IResult<&str, Expr> {
    let (i, first) = atom(i)?;
    let (i, rest) = many0(pair(delimited(space0, alt((char('*'), char('/'))), space0), atom)).parse(i)?;
    Ok((i, fold(first, rest)))
}

/// An expression: `+ - * /` with the usual precedence, parentheses, spaces between tokens.
/// Stops before anything that cannot continue it, so it can be followed by more of a statement.
pub(crate) fn expr(i: &str) -> IResult<&str, Expr> {
    let (i, first) = term(i)?;
    // An operator must be followed by an operand, so `after T_idle alice< …` stops after T_idle.
    let (i, rest) = many0(pair(delimited(space0, alt((char('+'), char('-'))), space0), term)).parse(i)?;
    Ok((i, fold(first, rest)))
}

/// An expression that must be the whole input (used by tests and for `$(…)`).
pub(crate) fn whole_expr(i: &str) -> Result<Expr, String> {
    match preceded(space0, expr).parse(i) {
        Ok((rest, e)) if rest.trim().is_empty() => Ok(e),
        Ok((rest, _)) => Err(format!("unexpected `{rest}` in expression `{i}`")),
        Err(_) => Err(format!("`{i}` is not an expression")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars;
    impl Scope for Vars {
        fn int(&self, name: &str) -> Result<i64, String> {
            match name {
                "L" => Ok(1024),
                "T_idle" => Ok(1000),
                _ => Err(format!("no value for {name}")),
            }
        }
    }

    fn eval(s: &str) -> Result<i64, String> {
        whole_expr(s)?.eval(&Vars)
    }

    #[test]
    fn evaluates_with_precedence_and_parentheses() {
        assert_eq!(eval("L - 64"), Ok(960));
        assert_eq!(eval("L-64"), Ok(960));
        assert_eq!(eval("(L - 5) / 33 + 2"), Ok(32));
        assert_eq!(eval("2 * T_idle + 1"), Ok(2001));
        assert_eq!(eval("10 - 2 - 3"), Ok(5));
    }

    #[test]
    fn stops_before_what_follows_it() {
        let (rest, e) = expr("T_idle alice< PING").unwrap();
        assert_eq!(e, Expr::Var("T_idle".into()));
        assert_eq!(rest, " alice< PING");
        let (rest, _) = expr("M - 1 as i").unwrap();
        assert_eq!(rest, " as i");
    }

    #[test]
    fn reports_unknown_names_overflow_and_division_by_zero() {
        assert_eq!(eval("M + 1"), Err("no value for M".into()));
        assert!(eval("1 / 0").unwrap_err().contains("division by zero"));
        assert!(eval("9223372036854775807 + 1").unwrap_err().contains("overflow"));
        assert!(whole_expr("1 +").is_err());
        assert!(whole_expr("").is_err());
    }

    #[test]
    fn negative_sizes_are_refused() {
        assert!(whole_expr("1 - 2").unwrap().eval_usize(&Vars).unwrap_err().contains("cannot be negative"));
    }
}
