//! The cases against SPEC.md: every MUST and SHOULD in scope is checked by some case, every
//! quote in a case file is really in the requirement it names, and a case's level is its
//! requirements' level. SPEC.md is read from the repository, so an edit to it that leaves a
//! requirement uncovered or a quote stale fails here.

use std::collections::BTreeSet;

use conformance::observer::AUTOMATIC_CHECKS;
use conformance::spec::Spec;
use conformance::{Level, catalog};

fn spec() -> Spec {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../SPEC.md");
    Spec::parse(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}")))
}

fn checked_ids() -> BTreeSet<String> {
    let cases = catalog::builtin().unwrap();
    cases.iter().flat_map(|c| c.checks.iter().map(|k| k.requirement.clone())).collect()
}

#[test]
fn every_must_and_should_in_scope_is_checked_by_a_case() {
    let spec = spec();
    let checked = checked_ids();
    let uncovered: Vec<String> = spec
        .in_scope()
        .filter(|r| !checked.contains(&r.id))
        .map(|r| format!("{} (SPEC.md line {})", r.id, r.line))
        .collect();
    assert!(uncovered.is_empty(), "no case checks these requirements: {}", uncovered.join(", "));
    assert!(
        spec.in_scope().count() >= 50,
        "SPEC.md has fewer requirements than expected: is the marker format unchanged?"
    );
}

#[test]
fn every_quote_is_a_passage_of_the_requirement_it_names() {
    let spec = spec();
    let mut wrong = Vec::new();
    for case in catalog::builtin().unwrap() {
        for check in &case.checks {
            if spec.get(&check.requirement).is_none() {
                wrong.push(format!("{} ({}): {} is not in SPEC.md", case.id, case.location(), check.requirement));
            } else if !spec.quotes(&check.requirement, &check.quote) {
                wrong.push(format!(
                    "{} ({}): \"{}\" is not in the text of {}",
                    case.id,
                    case.location(),
                    check.quote,
                    check.requirement
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "stale or wrong quotes:\n{}", wrong.join("\n"));
}

#[test]
fn the_quotes_of_the_always_on_checks_are_in_spec_md() {
    let spec = spec();
    for (id, quote) in AUTOMATIC_CHECKS {
        assert!(spec.quotes(id, quote), "observer.rs quotes {id} as \"{quote}\", which SPEC.md does not say");
    }
}

#[test]
fn a_case_has_the_level_of_the_requirements_it_checks() {
    let spec = spec();
    for case in catalog::builtin().unwrap() {
        for check in &case.checks {
            let level = spec.get(&check.requirement).map(|r| r.level);
            assert_eq!(
                level,
                Some(case.level),
                "{} is a {} case but checks {}, which is {:?}: split it, so a SHOULD never fails a run",
                case.id,
                case.level,
                check.requirement,
                level
            );
        }
    }
}

#[test]
fn no_case_checks_the_client_rules() {
    for case in catalog::builtin().unwrap() {
        assert!(
            case.checks.iter().all(|c| !c.requirement.starts_with("R-CLIENT-")),
            "{} checks a client rule; SPEC.md §13 puts them outside the server suite",
            case.id
        );
    }
}

#[test]
fn there_are_cases_for_every_area_and_both_levels() {
    let cases = catalog::builtin().unwrap();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    assert!(cases.iter().any(|c| c.level == Level::Should));
    let areas: BTreeSet<&str> = cases.iter().filter_map(|c| c.id.split('-').nth(1)).collect();
    for area in [
        "TRANS", "SYN", "NICK", "REG", "STATE", "MSG", "LIST", "QUIT", "LEAVE", "ORDER", "LIMIT", "TIME", "SHUT",
        "ERR", "PSN",
    ] {
        assert!(areas.contains(area), "no MC-{area}-* case");
    }
}
