//! `count: auto` reads a workload the way gpufit's check does: the model
//! and its annotations from the object *and* its pod template, sized
//! through the one resolver (gpuops_model::resolve).

use gpuops_model::resolve::Resolver;
use serde_json::{Value, json};

fn profile() -> gpuops_inject::InjectConfig {
    let profile = json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "GpuProfile", "metadata": {"name": "p"},
        "spec": {"gpu": {"count": "auto", "product": "NVIDIA-L40S"}}});
    gpuops_inject::decode(&profile).unwrap().unwrap()
}

fn deployment(template_annotations: Value, args: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "llm", "namespace": "ml"},
        "spec": {"template": {"metadata": {"annotations": template_annotations}, "spec": {"containers": [
            {"name": "vllm", "image": "vllm/vllm-openai:v0.10.1", "args": args}]}}}})
}

fn gpus(item: &Value) -> Option<&Value> {
    item.pointer("/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu")
}

/// KServe and Helm charts put `gpuops.dev/model` on the pod template while
/// the container serves a local path (`/mnt/models`): `count: auto` sizes
/// the annotated model, as `gpufit check` does (before: only the object's
/// own annotations were read, and `/mnt/models` was "not in the catalog").
#[test]
fn the_pod_templates_annotations_name_the_model() {
    let annotations = json!({"gpuops.dev/model": "Qwen/Qwen2.5-32B-Instruct"});
    let mut items = [deployment(annotations, json!(["--model=/mnt/models", "--max-model-len=8192"]))];
    let outcome = gpuops_inject::transform(&profile(), &mut items, &Resolver::catalog());
    assert!(!outcome.failed(), "{:?}", outcome.results);
    assert_eq!(gpus(&items[0]), Some(&json!(2)), "a 32B model in 16-bit needs two 48 GB L40S");
}

/// A model no source knows, described by the template's annotations.
#[test]
fn annotations_alone_size_a_model_no_source_knows() {
    let annotations = json!({"gpuops.dev/model-params": "13B", "gpuops.dev/model-layers": "40",
        "gpuops.dev/model-kv-heads": "40", "gpuops.dev/model-head-dim": "128"});
    let mut items = [deployment(annotations, json!(["--model=acme/secret-13b", "--max-model-len=8192"]))];
    let outcome = gpuops_inject::transform(&profile(), &mut items, &Resolver::catalog());
    assert!(!outcome.failed(), "{:?}", outcome.results);
    assert_eq!(gpus(&items[0]), Some(&json!(1)));
}

fn deployment_on(image: &str, template_annotations: Value, args: Value) -> Value {
    let mut item = deployment(template_annotations, args);
    item["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    item
}

fn lines(outcome: &gpuops_inject::Outcome, severity: gpuops_manifest::krm::Severity) -> Vec<String> {
    outcome.results.iter().filter(|r| r.severity == severity).map(|r| r.to_line()).collect()
}

const ASSUMED_WARNING: &str = "warning: Deployment/ml/llm: count: auto sized meta-llama/Llama-3.1-8B-Instruct on NVIDIA-L40S with vLLM version unknown: assumed 0.34.0 (pin it with the image tag vllm/vllm-openai:vX.Y.Z or the annotation gpuops.dev/vllm-version)";

/// An image tag that names no release (`latest`) leaves the memory model
/// to assume one: the count is still chosen, and the object gets a warning
/// saying on what assumption (before: the count came silently from 0.34.0).
/// A tag or the annotation that names the release leaves no warning.
#[test]
fn an_assumed_vllm_version_is_a_warning_on_the_object() {
    let args = json!(["--model=meta-llama/Llama-3.1-8B-Instruct", "--max-model-len=16384"]);
    let mut items = [deployment_on("vllm/vllm-openai:latest", json!({}), args.clone())];
    let outcome = gpuops_inject::transform(&profile(), &mut items, &Resolver::catalog());
    assert!(!outcome.failed(), "{:?}", outcome.results);
    assert_eq!(gpus(&items[0]), Some(&json!(1)));
    assert_eq!(lines(&outcome, gpuops_manifest::krm::Severity::Warning), [ASSUMED_WARNING]);

    for (image, annotations) in [
        ("vllm/vllm-openai:v0.10.1", json!({})),
        ("vllm/vllm-openai:latest", json!({"gpuops.dev/vllm-version": "0.10.1"})),
    ] {
        let mut items = [deployment_on(image, annotations.clone(), args.clone())];
        let outcome = gpuops_inject::transform(&profile(), &mut items, &Resolver::catalog());
        assert_eq!(gpus(&items[0]), Some(&json!(1)));
        assert!(
            lines(&outcome, gpuops_manifest::krm::Severity::Warning).is_empty(),
            "{image} {annotations}: {:?}",
            outcome.results
        );
    }
}

/// Sizing the same objects twice gives the same warning bytes (the Argo CD
/// sidecar writes them into `gpuops.dev/warnings`; a different text each
/// render would be a diff each sync), and one per object, not one per TP
/// size tried: a 70B model on L40S tries TP 1..4 before it fits.
#[test]
fn the_assumed_version_warning_is_said_once_and_the_same_every_run() {
    let args = json!(["--model=meta-llama/Llama-3.3-70B-Instruct", "--max-model-len=8192"]);
    let run = || {
        let mut items = [deployment_on("vllm/vllm-openai:latest", json!({}), args.clone())];
        let outcome = gpuops_inject::transform(&profile(), &mut items, &Resolver::catalog());
        assert!(!outcome.failed(), "{:?}", outcome.results);
        assert!(gpus(&items[0]).and_then(Value::as_u64).is_some_and(|n| n > 1), "{:?}", gpus(&items[0]));
        lines(&outcome, gpuops_manifest::krm::Severity::Warning)
    };
    let first = run();
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].contains("vLLM version unknown: assumed 0.34.0"), "{first:?}");
    assert_eq!(first, run());
}

/// Mllama (an encoder-decoder multimodal model) is one gpuops cannot size
/// (`MemoryFit::not_sized`): `count: auto` chooses no count and says so
/// as an error naming the object, the model and the fix — a fixed count —
/// as it does for a model it does not know (before: "does not fit on up to
/// 8 GPUs", as if more GPUs were the answer). The object is left as it was.
#[test]
fn a_model_gpuops_cannot_size_is_an_error_asking_for_a_fixed_count() {
    let args = json!(["--model=meta-llama/Llama-3.2-11B-Vision-Instruct", "--max-model-len=8192"]);
    let mut items = [deployment(json!({}), args)];
    let before = items.clone();
    let outcome = gpuops_inject::transform(&profile(), &mut items, &Resolver::catalog());
    assert!(outcome.failed());
    let errors = lines(&outcome, gpuops_manifest::krm::Severity::Error);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert!(
        error.starts_with(
            "error: Deployment/ml/llm: spec.gpu.count: count: auto cannot choose a GPU count for meta-llama/Llama-3.2-11B-Vision-Instruct: not sized by gpuops: "
        ),
        "{error}"
    );
    assert!(
        error.contains("encoder-decoder multimodal model") && error.ends_with("; set a fixed spec.gpu.count"),
        "{error}"
    );
    assert!(!error.contains("does not fit"), "{error}");
    assert_eq!(items, before, "no GPUs set on a model that was not sized");
}

/// In the function's legacy plugin mode (kustomize shows its stderr only
/// on failure) the warning also goes into the object's
/// `gpuops.dev/warnings`, after the lines already there, each line once:
/// rendering the output again gives the same bytes.
#[test]
fn the_legacy_plugin_puts_the_warning_in_the_objects_annotation_once() {
    let config = "apiVersion: gpuops.dev/v1alpha1\nkind: GpuProfile\nmetadata:\n  name: p\nspec:\n  gpu:\n    count: auto\n    product: NVIDIA-L40S\n";
    let stream = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm\n  namespace: ml\n  annotations:\n    gpuops.dev/warnings: from an earlier step\nspec:\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:latest\n        args: [--model=meta-llama/Llama-3.1-8B-Instruct, --max-model-len=16384]\n";
    let models = Resolver::catalog();
    let (once, results) = gpuops_inject::run_legacy_plugin(config, "p.yaml", stream, &models).unwrap();
    assert!(results.iter().any(|r| r.to_line() == ASSUMED_WARNING), "{results:?}");
    let object = gpuops_manifest::yaml::parse_stream(&once, "out").unwrap().remove(0).value;
    let expected = ASSUMED_WARNING.trim_start_matches("warning: Deployment/ml/llm: ");
    assert_eq!(object["metadata"]["annotations"]["gpuops.dev/warnings"], format!("from an earlier step\n{expected}"));
    let (twice, _) = gpuops_inject::run_legacy_plugin(config, "p.yaml", &once, &models).unwrap();
    assert_eq!(twice, once);
    // A driver that shows the results itself (kubectl gpufit) gets no annotation.
    let (shown, _) =
        gpuops_inject::run_plugin_with(config, "p.yaml", stream, &models, gpuops_inject::OnNoMatch::Error).unwrap();
    assert!(shown.contains("gpuops.dev/warnings: from an earlier step\n"), "{shown}");
}
