//! Replays every committed fuzz input through its target's check, on the stable toolchain.
//!
//! `fuzz/corpus/<target>/` holds the seeds each target starts from, `fuzz/regressions/<target>/`
//! the inputs that once broke something (each named after what it broke). A change that
//! re-introduces a bug the fuzzer found fails here, in a plain `cargo test`, without cargo-fuzz.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use minichat_fuzz_checks::{Check, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files in `dir`, sorted; hidden files (libFuzzer's own bookkeeping) are skipped.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

/// Runs `check` on every file and returns the failures, each with its file and panic message.
fn replay(check: Check, files: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for file in files {
        let data = fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            failures.push(format!("{}:\n{message}", file.display()));
        }
    }
    failures
}

#[test]
fn every_target_has_a_seed_corpus() {
    for (name, _) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        assert!(!inputs(&dir).is_empty(), "no seed inputs in {}: each target starts from a few", dir.display());
    }
}

#[test]
fn every_target_has_a_fuzz_target_and_nothing_else_does() {
    let dir = fuzz_dir().join("fuzz_targets");
    let mut on_disk: Vec<String> =
        inputs(&dir).iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect();
    on_disk.sort();
    let mut listed: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fuzz/fuzz_targets/ and minichat_fuzz_checks::TARGETS disagree");
}

#[test]
fn the_seed_corpus_passes_every_check() {
    let mut failures = Vec::new();
    for (name, check) in TARGETS {
        failures.extend(replay(*check, &inputs(&fuzz_dir().join("corpus").join(name))));
    }
    assert!(failures.is_empty(), "{} corpus inputs fail:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn every_input_that_once_broke_something_passes_now() {
    let mut failures = Vec::new();
    for (name, check) in TARGETS {
        failures.extend(replay(*check, &inputs(&fuzz_dir().join("regressions").join(name))));
    }
    assert!(failures.is_empty(), "{} regressions are back:\n\n{}", failures.len(), failures.join("\n\n"));
}
