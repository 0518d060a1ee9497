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
