//! The krew templates read as a krew-index reviewer reads them (issue 24:
//! 6): rendered for every platform, valid with no review-tip warning (a
//! tagline within the 50 characters `kubectl krew search` shows, without
//! "kubectl"); homepages that land on each plugin's README section;
//! gpufit's caveats name every cluster-wide list the live check makes
//! (crates/gpuops-cluster's API paths) as a `kubectl auth can-i` line;
//! each caveat carries its completion link command; modelbump's says it
//! runs git and reads docker's credentials.

use std::path::{Path, PathBuf};

use gpuops_release::{krew, template};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The template rendered with a stand-in archive for every platform.
fn rendered(name: &str) -> krew::Plugin {
    let text = std::fs::read_to_string(repo().join(format!("krew-manifests/{name}.yaml"))).unwrap();
    let dist = tempfile::tempdir().unwrap();
    let first = template::render(&text, "v1.2.3", dist.path()).unwrap();
    assert_eq!(first.missing.len(), 5, "{name}: five platforms");
    for file in &first.missing {
        std::fs::write(dist.path().join(file), file).unwrap();
    }
    let r = template::render(&text, "v1.2.3", dist.path()).unwrap();
    assert!(r.missing.is_empty());
    let valid = krew::validate(&format!("{name}.yaml"), &r.text).unwrap_or_else(|e| panic!("{}", e.join("\n")));
    assert!(valid.warnings.is_empty(), "{name}: {:?}", valid.warnings);
    valid.plugin
}

/// GitHub's heading anchor: lower case, punctuation dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn taglines_and_homepages() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let anchors: Vec<String> = readme.lines().filter(|l| l.starts_with('#')).map(anchor).collect();
    for name in ["gpufit", "modelbump"] {
        let plugin = rendered(name);
        let tagline = &plugin.spec.short_description;
        assert!(tagline.chars().count() <= 50 && !tagline.to_lowercase().contains("kubectl"), "{name}: {tagline}");
        assert!(!tagline.ends_with('?') && !tagline.ends_with('.'), "{name}: a plain tagline: {tagline}");
        let (page, fragment) = plugin.spec.homepage.split_once('#').expect("a per-plugin anchor");
        assert_eq!(page, "https://github.com/gpuops/gpuops");
        assert!(fragment.starts_with(&format!("kubectl-{name}-")), "{fragment}");
        assert!(anchors.iter().any(|a| a == fragment), "{name}: no README heading has the anchor {fragment}");
        let caveats = &plugin.spec.caveats;
        let bin = format!("\"${{KREW_ROOT:-$HOME/.krew}}/bin/kubectl_complete-{name}\"");
        assert!(caveats.contains(&format!("kubectl-{name} completion kubectl > {bin}")), "{name}: {caveats}");
        assert!(caveats.contains(&format!("chmod +x {bin}")), "{name}: {caveats}");
    }
}

/// Every list the live snapshot makes (gpuops-cluster's `/api/v1/…` and
/// `/apis/GROUP/VERSION/…` paths) has its `kubectl auth can-i list`
/// line in gpufit's caveats, and no other resource is named.
#[test]
fn gpufit_caveats_name_the_lists_the_live_check_makes() {
    let mut resources = Vec::new();
    let src = repo().join("crates/gpuops-cluster/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for quoted in text.split('"').skip(1).step_by(2) {
            let parts: Vec<&str> = quoted.split('/').collect();
            match parts.as_slice() {
                ["", "api", "v1", resource] => resources.push(resource.to_string()),
                ["", "apis", group, _version, resource] => resources.push(format!("{resource}.{group}")),
                _ => {}
            }
        }
    }
    resources.sort();
    resources.dedup();
    assert!(resources.len() >= 4, "{resources:?}");
    let caveats = rendered("gpufit").spec.caveats;
    let can_i: Vec<&str> = caveats.lines().filter_map(|l| l.trim().strip_prefix("kubectl auth can-i list ")).collect();
    let mut sorted: Vec<String> = can_i.iter().map(|l| l.split_whitespace().next().unwrap().to_string()).collect();
    sorted.sort();
    assert_eq!(sorted, resources, "{caveats}");
    // Pods are listed across namespaces (GET /api/v1/pods).
    assert!(can_i.contains(&"pods --all-namespaces"), "{caveats}");
}

#[test]
fn modelbump_caveats_name_git_and_docker_credentials() {
    let plugin = rendered("modelbump");
    let caveats = &plugin.spec.caveats;
    for needed in ["git on your PATH", "$DOCKER_CONFIG/config.json", "credHelpers", "docker login"] {
        assert!(caveats.contains(needed), "{needed}: {caveats}");
    }
    assert!(plugin.spec.description.contains("no cluster is contacted"));
}
