//! Issue 22, deliverable 6: findings reach Argo CD's UI. Argo CD keeps the
//! stderr of a plugin command only when it fails (argo-cd
//! cmpserver/plugin/plugin.go, `runCommand` ~80-155: stderr goes into
//! `CmdError` on failure, is only logged on success), so a warning there is
//! seen by nobody: a finding is an annotation on the object (shown in the
//! desired manifest and the diff), or the render fails.

use serde_json::{Value, json};

use crate::harness::{Source, Workspace, manifests, parameters, text};

const STAGING: &str = "examples/multi-model-rl/overlays/staging";
const DEV: &str = "examples/llmops-overlays/overlays/dev";

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
}

/// `fit-gate: warn`: the render goes through, and each workload that does
/// not fit says so in `gpuops.dev/fit`, the same text on every render (no
/// time in it, so Argo CD shows no perpetual diff).
#[test]
fn fit_gate_warn_annotates_what_does_not_fit_deterministically() {
    let ws = Workspace::new();
    let source = Source::at(STAGING)
        .with(parameters(&[("capacity", json!("../../capacity/staging-nodes.yaml")), ("fit-gate", json!("warn"))]));
    let out = ws.generate(&source);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objects = manifests(&out.stdout);
    let flagged: Vec<&Value> = objects.iter().filter(|o| annotation(o, "gpuops.dev/fit").is_some()).collect();
    assert!(!flagged.is_empty(), "the workload that does not fit is annotated");
    for object in &flagged {
        let finding = annotation(object, "gpuops.dev/fit").unwrap();
        assert!(finding.starts_with("does not fit"), "{finding}");
        assert!(finding.contains("capacity ") && finding.contains("staging-nodes.yaml"), "{finding}");
    }
    assert!(objects.len() > flagged.len(), "objects that fit carry nothing");
    assert_eq!(ws.generate(&source).stdout, out.stdout, "the same bytes every render");
    // The same app with the gate off carries no annotation.
    let off = ws.generate(&Source::at(STAGING));
    assert!(!text(&off.stdout).contains("gpuops.dev/fit"));
}

/// The sidecar's default for what matches nothing is an error (a warning
/// could not be seen): a model-tags entry naming no reference, and a GPU
/// profile whose selector selects no workload.
#[test]
fn parameters_that_match_nothing_fail_the_render() {
    let ws = Workspace::new();
    for (params, expect) in [
        (
            parameters(&[("model-tags", json!({"ghcr.io/nobody/none": "v1"}))]),
            "model \"ghcr.io/nobody/none\" matched no reference in the render (parameter model-tags",
        ),
        (
            parameters(&[("gpu-count", json!("1")), ("selector-names", json!(["no-such-*"]))]),
            "GpuProfile/argocd-parameters: selector matched no workload in the render (parameters gpu-count and selector-*",
        ),
    ] {
        let out = ws.generate(&Source::at(DEV).with(params));
        assert_eq!(out.status.code(), Some(1), "{expect}");
        assert!(out.stdout.is_empty());
        assert!(text(&out.stderr).contains(expect), "{expect}: {}", text(&out.stderr));
    }
    // Matched somewhere in the render: no complaint.
    let tag = parameters(&[("model-tags", json!({"registry.example.com:5000/llmops/qwen2.5-0.5b-instruct": "1.0.1"}))]);
    let out = ws.generate(&Source::at(DEV).with(tag));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A repository's own ModelTags (legacy plugin binding) that matches
/// nothing fails the build, naming the way to allow it; `onNoMatch: warn`
/// lets it through.
#[test]
fn a_repositorys_model_tags_that_match_nothing_fails_unless_warn() {
    let ws = Workspace::new();
    ws.write("apps/tags/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n");
    ws.write("apps/tags/kustomization.yaml", "resources: [cm.yaml]\ntransformers: [tags.yaml]\n");
    let tags = "apiVersion: gpuops.dev/v1alpha1\nkind: ModelTags\nmetadata: {name: t}\nspec:\n  models: [{name: ghcr.io/nobody/none, newTag: v1}]\n";
    ws.write("apps/tags/tags.yaml", tags);
    let out = ws.generate(&Source::at("apps/tags"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("matched no reference (spec.onNoMatch: warn allows it)"), "{stderr}");
    ws.write("apps/tags/tags.yaml", &format!("{tags}  onNoMatch: warn\n"));
    let out = ws.generate(&Source::at("apps/tags"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
