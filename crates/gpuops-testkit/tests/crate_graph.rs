//! The crate graph drawn in `crates/README.md` (its `crate-graph` block)
//! is the one `cargo metadata` reports: a new dependency between workspace
//! packages, or one removed, fails here until the drawing says so.
#![allow(clippy::disallowed_methods)] // the harness reads CARGO, as cargo sets it for tests

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

fn drawn(readme: &str) -> Graph {
    let block = readme
        .split("```crate-graph\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("crates/README.md has a ```crate-graph block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, deps) = line.split_once("->").unwrap_or_else(|| panic!("not `crate -> deps`: {line:?}"));
            let deps = deps.split(',').map(str::trim).filter(|d| !d.is_empty()).map(String::from).collect();
            (name.trim().to_string(), deps)
        })
        .collect()
}

/// Normal (not dev, not build) dependencies between workspace packages.
fn reported(root: &Path) -> Graph {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|d| names.contains(d))
                .map(String::from)
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn the_drawn_crate_graph_is_the_real_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("crates/README.md")).unwrap();
    let (drawn, reported) = (drawn(&readme), reported(&root));
    let mut differences = Vec::new();
    for name in drawn.keys().chain(reported.keys()).collect::<BTreeSet<_>>() {
        let (d, r) = (drawn.get(name), reported.get(name));
        if d != r {
            differences.push(format!("{name}: drawn {d:?}, cargo metadata {r:?}"));
        }
    }
    assert!(differences.is_empty(), "crates/README.md's crate-graph differs:\n{}", differences.join("\n"));
}

#[test]
fn the_drawing_is_read_line_by_line() {
    let graph = drawn("```crate-graph\na -> b, c\nb ->\n```\n");
    assert_eq!(graph["a"], BTreeSet::from(["b".to_string(), "c".to_string()]));
    assert!(graph["b"].is_empty());
}
