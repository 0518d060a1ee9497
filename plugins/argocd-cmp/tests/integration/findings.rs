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

/// A vLLM Deployment serving Llama 3.1 8B on one GPU (share).
fn vllm(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: ml}}\nspec:\n  strategy: {{type: Recreate}}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: {image}\n        args: [--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '8192']\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n"
    )
}

/// Issue 20, deliverable 5: a gate that says "fits" for a vLLM whose
/// version it had to assume (`:latest`, no `gpuops.dev/vllm-version`) says
/// so in the workload's `gpuops.dev/warnings`, the same text every render,
/// with the gate in `warn` and in `enforce`; a versioned image carries none.
#[test]
fn the_fit_gate_says_when_it_assumed_the_vllm_version() {
    let ws = Workspace::new();
    let gate = |mode: &str| parameters(&[("capacity", json!("1*1xH100-80GB")), ("fit-gate", json!(mode))]);
    ws.write("apps/latest/vllm.yaml", &vllm("a", "vllm/vllm-openai:latest"));
    for mode in ["warn", "enforce"] {
        let source = Source::at("apps/latest").with(gate(mode));
        let out = ws.generate(&source);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let objects = manifests(&out.stdout);
        assert_eq!(
            annotation(&objects[0], "gpuops.dev/warnings"),
            Some("fit gate: vLLM version unknown: assumed 0.34.0"),
            "{mode}: {}",
            text(&out.stdout)
        );
        assert!(annotation(&objects[0], "gpuops.dev/fit").is_none(), "it fits");
        assert_eq!(ws.generate(&source).stdout, out.stdout, "the same bytes every render");
    }
    ws.write("apps/versioned/vllm.yaml", &vllm("a", "vllm/vllm-openai:v0.11.0"));
    let out = ws.generate(&Source::at("apps/versioned").with(gate("warn")));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("gpuops.dev/warnings"), "{}", text(&out.stdout));
}

/// A placed workload whose memory gpuops cannot check (here Qwen2.5-VL,
/// whose vision encoder's profile it does not size) passes the gate in
/// `enforce`, and says so in its `gpuops.dev/warnings`: Argo CD shows no
/// successful command's stderr, so a silent pass would read as "fits".
#[test]
fn the_fit_gate_says_what_it_could_not_check() {
    let ws = Workspace::new();
    let deployment = vllm("vl", "vllm/vllm-openai:v0.11.0")
        .replace("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct");
    ws.write("apps/vl/vllm.yaml", &deployment);
    let source =
        Source::at("apps/vl").with(parameters(&[("capacity", json!("1*1xH100-80GB")), ("fit-gate", json!("enforce"))]));
    let out = ws.generate(&source);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objects = manifests(&out.stdout);
    let warnings = annotation(&objects[0], "gpuops.dev/warnings").unwrap_or_default();
    assert!(
        warnings.contains(
            "fit gate: memory unchecked: not sized by gpuops: Qwen/Qwen2.5-VL-7B-Instruct is a vision-language model"
        ),
        "{}",
        text(&out.stdout)
    );
    assert!(annotation(&objects[0], "gpuops.dev/fit").is_none(), "placed: no finding");
}

/// Issue 20, deliverable 4 through the gate: two vLLM Deployments on a node
/// whose one H100 is time-sliced four ways are both placed, and the second
/// is refused by vLLM's startup check — `warn` says so in its
/// `gpuops.dev/fit` in vLLM's words, with where the memory went in its
/// `gpuops.dev/warnings`; `enforce` fails the render.
#[test]
fn the_fit_gate_refuses_the_second_vllm_on_a_time_sliced_gpu() {
    let ws = Workspace::new();
    ws.write(
        "capacity/time-sliced.yaml",
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: gpu-0\n  labels:\n    nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3\n    nvidia.com/gpu.count: '1'\n    nvidia.com/gpu.replicas: '4'\n    nvidia.com/gpu.sharing-strategy: time-slicing\nstatus:\n  allocatable: {cpu: '64', memory: 512Gi, pods: '110', nvidia.com/gpu: '4'}\n",
    );
    let image = "vllm/vllm-openai:v0.11.0";
    ws.write("apps/shared/vllm.yaml", &format!("{}---\n{}", vllm("a", image), vllm("b", image)));
    let gate =
        |mode: &str| parameters(&[("capacity", json!("../../capacity/time-sliced.yaml")), ("fit-gate", json!(mode))]);
    let out = ws.generate(&Source::at("apps/shared").with(gate("warn")));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objects = manifests(&out.stdout);
    let named = |name: &str| objects.iter().find(|o| o["metadata"]["name"] == name).unwrap();
    assert!(annotation(named("a"), "gpuops.dev/fit").is_none(), "the first starts");
    let finding = annotation(named("b"), "gpuops.dev/fit").unwrap();
    assert!(finding.starts_with("does not fit: 1 of 1 pod(s) placed: memory: Free memory on device ("), "{finding}");
    assert!(finding.contains("on startup is less than desired GPU memory utilization (0.9, "), "{finding}");
    let warning = annotation(named("b"), "gpuops.dev/warnings").unwrap();
    assert!(
        warning.starts_with("fit gate: time-sliced: starts on node gpu-0's one physical GPU after Deployment/ml/a"),
        "{warning}"
    );
    let enforced = ws.generate(&Source::at("apps/shared").with(gate("enforce")));
    assert_eq!(enforced.status.code(), Some(1));
    assert!(enforced.stdout.is_empty());
    assert!(text(&enforced.stderr).contains("memory: Free memory on device ("), "{}", text(&enforced.stderr));
}

/// Issue 20: a "fits" decided inside the memory model's own error
/// (`MemoryFit::edge`) passes the gate, `enforce` included, and says so in
/// the workload's `gpuops.dev/warnings`: Qwen2.5-7B on an RTX 3090 at vLLM
/// 0.17.1 with 8,192 tokens and utilization 0.66, 0.19 GiB from the
/// KV-cache limit (vLLM both started and refused it at 0.65).
#[test]
fn the_fit_gate_says_when_a_fit_is_at_the_edge() {
    let ws = Workspace::new();
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: ml}\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.17.1\n        args: [--model, Qwen/Qwen2.5-7B-Instruct, --max-model-len, '8192', --gpu-memory-utilization, '0.66']\n        resources: {limits: {nvidia.com/gpu: 1}}\n";
    ws.write("apps/edge/vllm.yaml", deployment);
    let source = Source::at("apps/edge")
        .with(parameters(&[("capacity", json!("1*1xRTX-3090")), ("fit-gate", json!("enforce"))]));
    let out = ws.generate(&source);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objects = manifests(&out.stdout);
    let warning = annotation(&objects[0], "gpuops.dev/warnings").unwrap_or_else(|| panic!("{}", text(&out.stdout)));
    assert!(warning.starts_with("fit gate: fits, at the edge: "), "{warning}");
    assert!(warning.contains("from vLLM's KV-cache limit, one max_model_len request"), "{warning}");
    assert!(annotation(&objects[0], "gpuops.dev/fit").is_none(), "it fits");
}
