//! The set of cases: the built-in case files (compiled in by build.rs) or a directory of them,
//! checked for duplicate IDs, and the selection a user asks for.

use std::collections::BTreeMap;
use std::path::Path;

use crate::case::Case;
use crate::syntax::{SyntaxError, parse_file};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Why a set of cases cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("case {id} is defined twice: at {first} and at {second}; every case needs its own ID")]
    DuplicateId { id: String, first: String, second: String },
    #[error("cannot read case files from {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("no case files (*.cases) in {0}")]
    Empty(String),
}

/// Parses a set of `(file name, contents)` pairs into cases, in file order.
pub fn parse_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Vec<Case>, CatalogError> {
    let mut cases: Vec<Case> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, text) in files {
        for case in parse_file(name, text)? {
            if let Some(first) = seen.insert(case.id.clone(), case.location()) {
                return Err(CatalogError::DuplicateId { id: case.id.clone(), first, second: case.location() });
            }
            cases.push(case);
        }
    }
    Ok(cases)
}

/// The cases this suite was built with.
pub fn builtin() -> Result<Vec<Case>, CatalogError> {
    parse_files(CASE_FILES.iter().copied())
}

/// The cases of every `*.cases` file in `dir` (for trying out new or changed cases).
pub fn from_dir(dir: &Path) -> Result<Vec<Case>, CatalogError> {
    let io = |source| CatalogError::Io { path: dir.display().to_string(), source };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(CatalogError::Empty(dir.display().to_string()));
    }
    let mut files = Vec::new();
    for p in &paths {
        let text =
            std::fs::read_to_string(p).map_err(|source| CatalogError::Io { path: p.display().to_string(), source })?;
        files.push((p.display().to_string(), text));
    }
    parse_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
}

/// Which cases to run: exact IDs and/or substrings of the ID or title (case-insensitive), minus
/// exclusions. No selectors means every case.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub ids: Vec<String>,
    pub filters: Vec<String>,
    pub excludes: Vec<String>,
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

impl Selection {
    pub fn selects(&self, case: &Case) -> bool {
        let hit = |f: &String| contains_ci(&case.id, f) || contains_ci(&case.title, f);
        let chosen = (self.ids.is_empty() && self.filters.is_empty())
            || self.ids.iter().any(|id| id.eq_ignore_ascii_case(&case.id))
            || self.filters.iter().any(hit);
        chosen && !self.excludes.iter().any(hit)
    }

    /// The IDs asked for by `--case` that name no case (a typo should not pass silently).
    pub fn unknown_ids(&self, cases: &[Case]) -> Vec<String> {
        self.ids.iter().filter(|id| !cases.iter().any(|c| c.id.eq_ignore_ascii_case(id))).cloned().collect()
    }

    pub fn apply(&self, cases: Vec<Case>) -> Vec<Case> {
        cases.into_iter().filter(|c| self.selects(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_text(id: &str, title: &str) -> String {
        format!("case {id}\ntitle {title}\nlevel MUST\nchecks R-X-1 \"q\"\nconnect a\n")
    }

    #[test]
    fn duplicate_ids_are_refused_with_both_places() {
        let a = case_text("MC-A-001", "one");
        let b = case_text("MC-A-001", "two");
        let err = parse_files([("a.cases", a.as_str()), ("b.cases", b.as_str())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "case MC-A-001 is defined twice: at a.cases:1 and at b.cases:1; every case needs its own ID"
        );
    }

    #[test]
    fn selection_by_id_filter_and_exclusion() {
        let text =
            [case_text("MC-A-001", "Nicks fold"), case_text("MC-A-002", "Lists"), case_text("MC-B-001", "Nick length")]
                .concat();
        let cases = parse_files([("a.cases", text.as_str())]).unwrap();
        let ids = |s: &Selection| s.apply(cases.clone()).into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(&Selection::default()).len(), 3);
        assert_eq!(ids(&Selection { ids: vec!["mc-a-002".into()], ..Default::default() }), ["MC-A-002"]);
        assert_eq!(ids(&Selection { filters: vec!["nick".into()], ..Default::default() }), ["MC-A-001", "MC-B-001"]);
        assert_eq!(
            ids(&Selection { filters: vec!["MC-A".into()], excludes: vec!["lists".into()], ..Default::default() }),
            ["MC-A-001"]
        );
        let typo = Selection { ids: vec!["MC-A-009".into()], ..Default::default() };
        assert_eq!(typo.unknown_ids(&cases), ["MC-A-009"]);
    }

    #[test]
    fn the_builtin_cases_parse() {
        let cases = builtin().unwrap();
        assert!(cases.len() >= 40, "only {} built-in cases", cases.len());
    }
}
