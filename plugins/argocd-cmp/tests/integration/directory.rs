//! Issue 22, deliverable 5: plain-directory mode reads an app as Argo CD's
//! Directory source does (argo-cd reposerver/repository/repository.go
//! `findManifests` ~1998, `getPotentiallyValidManifests` ~2218,
//! `getPotentiallyValidManifestFile` ~2142, `getObjsFromYAMLOrJSON` ~2048,
//! List expansion in `GenerateManifests` ~1817). Before: every
//! subdirectory was read, a symlinked manifest skipped, and a values.yaml
//! without a kind failed the whole app.

use serde_json::{Value, json};

use crate::harness::{Source, Workspace, manifests, parameters, text};

fn names(stdout: &[u8]) -> Vec<String> {
    manifests(stdout)
        .iter()
        .map(|o| format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap()))
        .collect()
}

fn app(ws: &Workspace) -> Source {
    ws.write("apps/plain/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
    // repository.go ~2093-2105: YAML that decodes to no object and does not
    // look like a manifest is skipped, not an error.
    ws.write("apps/plain/values.yaml", "replicaCount: 2\nimage: {tag: v1}\n");
    ws.write("apps/plain/list.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l1}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l2}}\n");
    ws.write("apps/plain/sub/deep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\n");
    ws.write("apps/shared/linked.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: linked}\n");
    std::os::unix::fs::symlink("../shared/linked.yaml", ws.root.join("apps/plain/z-link.yaml")).unwrap();
    Source::at("apps/plain")
}

/// Not recursive by default; `directory-recurse: "true"` reads
/// subdirectories (getPotentiallyValidManifests: `filepath.SkipDir` unless
/// recurse). A symlinked file inside the repository is read
/// (getPotentiallyValidManifestFile: EvalSymlinks, Inbound). A List's items
/// are printed one by one. The order is filepath.Walk's (by name).
#[test]
fn a_plain_directory_is_read_as_argo_cds_directory_source() {
    let ws = Workspace::new();
    let source = app(&ws);
    let out = ws.generate(&source);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(names(&out.stdout), ["ConfigMap/a", "ConfigMap/l1", "ConfigMap/l2", "ConfigMap/linked"]);
    let out = ws.generate(&source.with(parameters(&[("directory-recurse", json!("true"))])));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        names(&out.stdout),
        ["ConfigMap/a", "ConfigMap/l1", "ConfigMap/l2", "ConfigMap/deep", "ConfigMap/linked"]
    );
}

/// include/exclude are globs over the path relative to the app, matched
/// as argo-cd util/glob `Match` does (no separators: `*` crosses `/`).
#[test]
fn include_and_exclude_match_as_argo_cd_does() {
    let ws = Workspace::new();
    let source = app(&ws);
    let with = |p: Value| ws.generate(&source.clone().with(p));
    let out = with(parameters(&[
        ("directory-recurse", json!("true")),
        ("directory-include", json!("*.yaml")),
        ("directory-exclude", json!("{list,z-*}.yaml")),
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(names(&out.stdout), ["ConfigMap/a", "ConfigMap/deep"]);
    let out = with(parameters(&[("directory-recurse", json!("true")), ("directory-include", json!("**/*.yaml"))]));
    assert_eq!(names(&out.stdout), ["ConfigMap/deep"]);
    let out = with(parameters(&[("directory-include", json!("e[[a*"))]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("parameter directory-include: \"e[[a*\" is not a valid glob"),
        "{}",
        text(&out.stderr)
    );
}

/// What Argo CD refuses is refused, naming the file: a symlink out of the
/// repository, YAML that looks like a manifest but does not parse, two
/// JSON objects in one file; and directory-* on a kustomize app.
#[test]
fn what_argo_cds_directory_source_refuses_is_refused() {
    let ws = Workspace::new();
    for (file, content, expect) in [
        (
            "bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .x }}\n",
            "app directory: bad.yaml: looks like a Kubernetes manifest",
        ),
        (
            "two.json",
            "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\"}\n{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\"}\n",
            "app directory: two.json: more than one JSON value",
        ),
    ] {
        let path = format!("apps/bad-{file}");
        ws.write(&format!("{path}/ok.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n");
        ws.write(&format!("{path}/{file}"), content);
        let out = ws.generate(&Source::at(&path));
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(text(&out.stderr).contains(expect), "{expect}: {}", text(&out.stderr));
    }
    ws.write("apps/out/ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n");
    std::os::unix::fs::symlink("/etc/hostname", ws.root.join("apps/out/host.yaml")).unwrap();
    let out = ws.generate(&Source::at("apps/out"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("host.yaml: illegal filepath in symlink"), "{}", text(&out.stderr));
    let out = ws.generate(
        &Source::at("examples/llmops-overlays/overlays/dev").with(parameters(&[("directory-recurse", json!("true"))])),
    );
    assert!(
        text(&out.stderr).contains("parameter directory-recurse: only for a plain-directory app"),
        "{}",
        text(&out.stderr)
    );
}
