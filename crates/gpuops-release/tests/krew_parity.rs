//! Parity with krew v0.4.5 on real manifests (issue 24): every public
//! krew-index manifest in tests/fixtures (see its README for source,
//! commit and licence) and krew's own test manifests are accepted, as
//! krew-index CI accepts them.
#![allow(clippy::disallowed_methods)] // the harness reads KREW_INDEX_DIR

use std::path::{Path, PathBuf};

fn manifests(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(manifests(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Validate every manifest; returns how many had labels or annotations
/// and how many had a tagline over 50 characters (both refused before).
fn accept_all(paths: &[PathBuf]) -> (usize, usize) {
    let (mut meta, mut long) = (0, 0);
    let mut refused = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap();
        match gpuops_release::krew::validate(&path.display().to_string(), &text) {
            Ok(v) => {
                meta += usize::from(!v.plugin.metadata.labels.is_empty() || !v.plugin.metadata.annotations.is_empty());
                long += usize::from(v.plugin.spec.short_description.chars().count() > 50);
            }
            Err(problems) => refused.extend(problems),
        }
    }
    assert!(refused.is_empty(), "krew accepts these:\n{}", refused.join("\n"));
    (meta, long)
}

#[test]
fn every_fixture_manifest_krew_accepts_is_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let paths = manifests(&dir);
    assert_eq!(paths.len(), 45, "41 krew-index manifests and 4 of krew's own");
    let (meta, long) = accept_all(&paths);
    assert!(meta >= 4 && long >= 12, "the set exercises metadata ({meta}) and long taglines ({long})");
}

/// The whole index: `KREW_INDEX_DIR=/path/to/krew-index cargo test -p
/// gpuops-release --test krew_parity -- --ignored`.
#[test]
#[ignore = "needs a krew-index checkout in KREW_INDEX_DIR"]
fn a_whole_krew_index_checkout_is_accepted() {
    let dir = PathBuf::from(std::env::var_os("KREW_INDEX_DIR").expect("KREW_INDEX_DIR")).join("plugins");
    let paths = manifests(&dir);
    assert!(!paths.is_empty(), "no manifests in {}", dir.display());
    accept_all(&paths);
}
