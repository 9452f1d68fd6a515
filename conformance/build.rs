//! Compiles the case files and SPEC.md into the library, so that `conformance` runs the same
//! cases from any directory and quotes the specification it was built against.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let cases_dir = manifest.join("cases");
    let spec = manifest.join("..").join("SPEC.md");
    println!("cargo::rerun-if-changed={}", cases_dir.display());
    println!("cargo::rerun-if-changed={}", spec.display());

    let mut files: Vec<PathBuf> =
        fs::read_dir(&cases_dir).map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "cases"));
    files.sort();

    let mut out = String::from("/// The built-in case files: (path relative to the package, contents).\n");
    out.push_str("pub static CASE_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo::rerun-if-changed={}", path.display());
        let name = Path::new("cases").join(path.file_name().expect("read_dir gives file names"));
        writeln!(out, "    ({:?}, include_str!({:?})),", name.display().to_string(), path.display().to_string())
            .expect("writing to a String");
    }
    out.push_str("];\n");
    writeln!(out, "/// SPEC.md as it was when the suite was built.\npub static SPEC_MD: &str = include_str!({:?});", {
        spec.display().to_string()
    })
    .expect("writing to a String");

    let dest = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    fs::write(dest, out).expect("OUT_DIR is writable");
}
