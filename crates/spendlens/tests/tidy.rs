//! House rules no compiler checks: every Rust file of the workspace opens with a `//!` line
//! that says what it holds.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_line_saying_what_it_holds() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under {}",
        files.len(),
        crates.display()
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` line saying what they hold:\n{}",
        missing.join("\n")
    );
}

/// The test files directly under `crate/tests/` that cargo builds: each a `[[test]]` target of the
/// crate's manifest (or every file, where the crate keeps cargo's automatic targets), plus the
/// files those targets declare with `mod name;`.
fn built_test_files(krate: &Path) -> (Vec<String>, Vec<String>) {
    let tests = krate.join("tests");
    let mut on_disk: Vec<String> = std::fs::read_dir(&tests)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rs"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    on_disk.sort();
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap_or_default();
    if !manifest.lines().any(|l| l.trim() == "autotests = false") {
        return (on_disk.clone(), on_disk);
    }
    let targets: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("path = \"tests/"))
        .filter_map(|rest| rest.strip_suffix(".rs\""))
        .map(str::to_owned)
        .collect();
    let mut built = targets.clone();
    for target in &targets {
        let text = std::fs::read_to_string(tests.join(format!("{target}.rs"))).unwrap_or_default();
        built.extend(
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("mod "))
                .filter_map(|rest| rest.strip_suffix(';'))
                .map(str::to_owned),
        );
    }
    (on_disk, built)
}

/// Suites share one test binary per crate (CI's disk could not hold two dozen linked one by one),
/// so cargo no longer finds test files by itself: a file nobody declares would silently never run.
#[test]
fn every_test_file_is_built_by_a_test_target() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        let krate = entry.path();
        if !krate.join("tests").is_dir() {
            continue;
        }
        let (on_disk, built) = built_test_files(&krate);
        checked += on_disk.len();
        orphans.extend(
            on_disk
                .iter()
                .filter(|file| !built.contains(file))
                .map(|file| format!("{}/tests/{file}.rs", krate.display())),
        );
    }
    assert!(
        checked > 40,
        "found only {checked} test files under {}",
        crates.display()
    );
    assert!(
        orphans.is_empty(),
        "no test target builds these files (add `mod name;` to the crate's tests/suites.rs or a \
         [[test]] to its Cargo.toml):\n{}",
        orphans.join("\n")
    );
}
