//! The requirements of SPEC.md, read from the document itself.
//!
//! SPEC.md marks every normative statement `**[R-XXX-N] LEVEL**`. The suite reads those markers
//! so that a failure can quote the requirement, and so that a test can prove every requirement in
//! scope has a case and every quote in a case file is really in SPEC.md — the cases cannot drift
//! from the specification without a test noticing.

use std::fmt;
use std::sync::OnceLock;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::combinator::{recognize, value};
use nom::{IResult, Parser};

/// How strong a requirement is (RFC 2119). A failed MUST makes a server non-conforming; a failed
/// SHOULD is reported but does not fail the run unless asked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Should,
    Must,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One numbered requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// `R-REG-2`.
    pub id: String,
    pub level: Level,
    /// The requirement's text: from the paragraph holding its marker up to the next requirement
    /// or heading, whitespace collapsed to single spaces, Markdown kept as written.
    pub text: String,
    /// The 1-based line of the marker in SPEC.md.
    pub line: usize,
}

/// The requirements of one SPEC.md, in document order.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    requirements: Vec<Requirement>,
}

/// Requirement prefixes that apply to clients; SPEC.md §1 and §13 put them outside the suite.
pub const OUT_OF_SCOPE_PREFIXES: &[&str] = &["R-CLIENT-"];

/// Collapses every run of whitespace to one space, so that a quote matches SPEC.md however the
/// lines of either are wrapped.
pub fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn marker(i: &str) -> IResult<&str, (&str, Level)> {
    let id = recognize((
        tag("R-"),
        take_while1(|c: char| c.is_ascii_uppercase()),
        tag("-"),
        take_while1(|c: char| c.is_ascii_digit()),
    ));
    let level = alt((value(Level::Must, tag("MUST")), value(Level::Should, tag("SHOULD"))));
    let (i, (_, id, _, level, _)) = (tag("**["), id, tag("] "), level, tag("**")).parse(i)?;
    Ok((i, (id, level)))
}

/// Every marker on a line, in order.
fn markers_in(line: &str) -> Vec<(&str, Level)> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("**[R-") {
        match marker(&rest[at..]) {
            Ok((after, m)) => {
                found.push(m);
                rest = after;
            }
            Err(_) => rest = &rest[at + 2..],
        }
    }
    found
}

impl Spec {
    /// Reads the requirement markers of a SPEC.md.
    pub fn parse(markdown: &str) -> Spec {
        let lines: Vec<&str> = markdown.lines().collect();
        // The first line of the paragraph each line belongs to.
        let mut para_start = vec![0; lines.len()];
        let mut start = 0;
        for (n, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                start = n + 1;
            }
            para_start[n] = start;
        }
        // (line, id, level) of each marker, and where each requirement's text ends.
        let mut found: Vec<(usize, &str, Level)> = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            for (id, level) in markers_in(line) {
                found.push((n, id, level));
            }
        }
        let headings: Vec<usize> = (0..lines.len()).filter(|&n| lines[n].starts_with('#')).collect();
        let requirements = found
            .iter()
            .enumerate()
            .map(|(k, &(n, id, level))| {
                let from = para_start[n];
                let next_marker = found[k + 1..].iter().map(|&(m, ..)| para_start[m]).find(|&m| m > from);
                let next_heading = headings.iter().copied().find(|&h| h > n);
                let to = [next_marker, next_heading].into_iter().flatten().min().unwrap_or(lines.len());
                let text = normalize(&lines[from..to.max(n + 1)].join("\n"));
                Requirement { id: id.to_owned(), level, text, line: n + 1 }
            })
            .collect();
        Spec { requirements }
    }

    /// The SPEC.md this suite was built with.
    pub fn embedded() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| Spec::parse(crate::catalog::SPEC_MD))
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// The requirements a server conformance suite must check (all but the client rules).
    pub fn in_scope(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().filter(|r| !OUT_OF_SCOPE_PREFIXES.iter().any(|p| r.id.starts_with(p)))
    }

    /// Whether `quote` is, up to whitespace, a passage of requirement `id`.
    pub fn quotes(&self, id: &str, quote: &str) -> bool {
        let quote = normalize(quote);
        !quote.is_empty() && self.get(id).is_some_and(|r| r.text.contains(&quote))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Title\n\n## 2. Transport\n\n**[R-TRANS-1] MUST** A server accepts\nTCP connections.\n\n\
        Explanation that belongs to it.\n\n**[R-TRANS-2] SHOULD** Lines end\nin LF.\n\n| a | b |\n\n## 3. Next\n\n\
        Words (`x`) **[R-SYN-1] MUST**. More **[R-SYN-2] MUST**.\n";

    #[test]
    fn reads_ids_levels_and_lines() {
        let spec = Spec::parse(SAMPLE);
        let ids: Vec<_> = spec.requirements().iter().map(|r| (r.id.as_str(), r.level, r.line)).collect();
        assert_eq!(
            ids,
            [
                ("R-TRANS-1", Level::Must, 5),
                ("R-TRANS-2", Level::Should, 10),
                ("R-SYN-1", Level::Must, 17),
                ("R-SYN-2", Level::Must, 17)
            ]
        );
    }

    #[test]
    fn a_requirement_runs_to_the_next_marker_or_heading() {
        let spec = Spec::parse(SAMPLE);
        assert_eq!(
            spec.get("R-TRANS-1").unwrap().text,
            "**[R-TRANS-1] MUST** A server accepts TCP connections. Explanation that belongs to it."
        );
        assert_eq!(spec.get("R-TRANS-2").unwrap().text, "**[R-TRANS-2] SHOULD** Lines end in LF. | a | b |");
        // Two markers in one paragraph share it.
        assert!(spec.quotes("R-SYN-1", "Words (`x`)"));
        assert!(spec.quotes("R-SYN-2", "More"));
    }

    #[test]
    fn quotes_match_across_line_wrapping_only() {
        let spec = Spec::parse(SAMPLE);
        assert!(spec.quotes("R-TRANS-1", "A server accepts TCP connections."));
        assert!(!spec.quotes("R-TRANS-1", "A server accepts UDP connections."));
        assert!(!spec.quotes("R-TRANS-1", "   "));
        assert!(!spec.quotes("R-NOPE-1", "A server"));
    }

    #[test]
    fn the_embedded_spec_has_every_section_and_client_rules_are_out_of_scope() {
        let spec = Spec::embedded();
        for prefix in
            ["R-TRANS-", "R-SYN-", "R-NICK-", "R-REG-", "R-MSG-", "R-LIST-", "R-ORDER-", "R-LIMIT-", "R-SHUT-"]
        {
            assert!(spec.in_scope().any(|r| r.id.starts_with(prefix)), "no {prefix} requirement found");
        }
        assert!(spec.get("R-CLIENT-1").is_some());
        assert!(spec.in_scope().all(|r| !r.id.starts_with("R-CLIENT-")));
    }
}
