//! The function writes an object it did not change back from its original
//! text, byte for byte, and re-emits the ones it changed: the `changed` flag
//! decides. The GpuProfile edits report their own changes (release builds no
//! longer clone and compare every workload), so each case here holds an
//! edit that does nothing, or next to nothing, and checks the flag against
//! the object itself.

use gpuops_model::resolve::Resolver;
use serde_json::{Value, json};

fn profile(spec: Value) -> gpuops_inject::InjectConfig {
    let profile =
        json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "GpuProfile", "metadata": {"name": "p"}, "spec": spec});
    gpuops_inject::decode(&profile).unwrap().unwrap()
}

fn deployment(pod_spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "llm", "namespace": "ml"},
        "spec": {"replicas": 1, "template": {"spec": pod_spec}}})
}

/// Apply `spec` to `object`; the flag must say whether the object moved.
fn flag_matches(spec: &Value, object: &Value) -> (bool, Value) {
    let mut items = [object.clone()];
    let outcome = gpuops_inject::transform(&profile(spec.clone()), &mut items, &Resolver::catalog());
    assert!(!outcome.failed(), "{:?}", outcome.results);
    let [after] = items;
    assert_eq!(outcome.changed[0], after != *object, "flag for {spec} on {object} -> {after}");
    (outcome.changed[0], after)
}

fn vllm(extra: Value) -> Value {
    let mut container = json!({"name": "vllm", "image": "vllm/vllm-openai:v0.10.1",
        "args": ["--model=Qwen/Qwen2.5-7B-Instruct", "--tensor-parallel-size=2"]});
    if let (Some(c), Some(e)) = (container.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    container
}

#[test]
fn a_second_run_of_the_same_profile_changes_nothing() {
    let spec = json!({"gpu": {"count": 2, "product": "NVIDIA-H100-80GB-HBM3"}, "tolerations": true,
        "sharedMemory": "16Gi", "strategy": "Recreate", "tensorParallel": "auto", "runtimeClassName": "nvidia"});
    let (changed, once) = flag_matches(&spec, &deployment(json!({"containers": [vllm(json!({}))]})));
    assert!(changed);
    let (changed, twice) = flag_matches(&spec, &once);
    assert!(!changed, "the profile was already applied: {twice}");
}

#[test]
fn empty_and_null_resource_maps_count_as_they_are_removed() {
    let spec = json!({"gpu": {"count": 0}});
    for resources in [json!({"limits": {}}), json!({"limits": {"cpu": 1}, "requests": {"nvidia.com/gpu": 1}})] {
        let object = deployment(json!({"containers": [vllm(json!({"resources": resources}))]}));
        let (changed, _) = flag_matches(&spec, &object);
        assert!(changed, "{resources} is removed");
    }
    // Nothing to remove (a null map is left as it is), and no resources at
    // all: an empty map is added.
    for resources in [json!({}), json!({"limits": null})] {
        let object = deployment(json!({"containers": [vllm(json!({"resources": resources}))]}));
        let (changed, after) = flag_matches(&spec, &object);
        assert!(!changed, "{after}");
    }
    let (changed, _) = flag_matches(&spec, &deployment(json!({"containers": [vllm(json!({}))]})));
    assert!(changed);
}

#[test]
fn a_gpu_count_written_as_a_string_that_already_says_it_stays() {
    let spec = json!({"gpu": {"count": 2}});
    let object = deployment(json!({"containers": [vllm(json!({"resources": {"limits": {"nvidia.com/gpu": "2"}}}))]}));
    let (changed, after) = flag_matches(&spec, &object);
    assert!(changed, "requests gets the count too");
    assert_eq!(after.pointer("/spec/template/spec/containers/0/resources/requests/nvidia.com~1gpu"), Some(&json!("2")));
    assert!(!flag_matches(&spec, &after).0);
    let other = deployment(json!({"containers": [vllm(json!({"resources": {"limits": {"amd.com/gpu": 2}}}))]}));
    assert!(flag_matches(&spec, &other).0, "another vendor's GPU key is replaced");
}

#[test]
fn present_tolerations_selectors_and_volumes_are_no_change() {
    let spec = json!({"gpu": {"count": 2, "product": "NVIDIA-L40S"}, "tolerations": true, "sharedMemory": "8Gi",
        "tensorParallel": "auto"});
    let pod = json!({
        "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L40S"},
        "tolerations": [{"operator": "Exists"}],
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}],
        "containers": [vllm(json!({"resources": {"limits": {"nvidia.com/gpu": 2}, "requests": {"nvidia.com/gpu": 2}},
            "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}]}))]});
    assert!(!flag_matches(&spec, &deployment(pod.clone())).0);
    // One field off in each place is a change.
    for (pointer, value) in [
        ("/nodeSelector/nvidia.com~1gpu.product", json!("NVIDIA-A100")),
        ("/tolerations", json!(null)),
        ("/volumes/0/emptyDir/sizeLimit", json!("4Gi")),
        ("/volumes/0/emptyDir", json!(null)),
        ("/containers/0/args/1", json!("--tensor-parallel-size=1")),
    ] {
        let mut off = pod.clone();
        *off.pointer_mut(pointer).unwrap() = value;
        assert!(flag_matches(&spec, &deployment(off)).0, "{pointer}");
    }
}

#[test]
fn a_recreate_strategy_already_set_is_no_change() {
    let spec = json!({"strategy": "Recreate"});
    let mut object = deployment(json!({"containers": [vllm(json!({}))]}));
    assert!(flag_matches(&spec, &object).0);
    object["spec"]["strategy"] = json!({"type": "Recreate"});
    assert!(!flag_matches(&spec, &object).0);
}
