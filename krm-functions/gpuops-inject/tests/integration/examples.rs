//! The bundled examples built with the real `kubectl kustomize
//! --enable-alpha-plugins`, gpuops-inject installed as a legacy exec plugin.

use std::path::Path;

use crate::util::{self, assert_golden, parse_stream, repo_root, text};

fn build(dir: &Path, xdg: &Path) -> String {
    let out = util::kustomize(dir, xdg);
    assert!(out.status.success(), "kustomize {} failed: {}", dir.display(), text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn llmops_overlays_match_their_goldens() {
    let home = util::plugin_home();
    let example = repo_root().join("examples/llmops-overlays");
    for env in ["dev", "staging", "production"] {
        let output = build(&example.join("overlays").join(env), home.path());
        assert_golden(&example.join("expected").join(format!("{env}.yaml")), &output);
    }
}

#[test]
fn llmops_production_has_what_the_seed_asks_for() {
    let home = util::plugin_home();
    let output = build(&repo_root().join("examples/llmops-overlays/overlays/production"), home.path());
    let docs = parse_stream(&output);
    let isvc = docs.iter().find(|d| d["kind"] == "InferenceService").unwrap();
    let predictor = &isvc["spec"]["predictor"];
    assert_eq!(predictor["model"]["resources"]["limits"]["nvidia.com/gpu"], 2);
    assert_eq!(predictor["nodeSelector"]["nvidia.com/gpu.product"], "NVIDIA-H100-80GB-HBM3");
    assert_eq!(predictor["deploymentStrategy"]["type"], "Recreate");
    assert_eq!(predictor["volumes"][0]["emptyDir"]["medium"], "Memory");
    assert_eq!(predictor["model"]["storageUri"], "oci://registry.example.com:5000/llmops/qwen2.5-0.5b-instruct:1.0.1");
    // namePrefix renamed the runtime and its reference together.
    assert_eq!(predictor["model"]["runtime"], "prod-vllm-runtime");
}

#[test]
fn progressive_stages_inherit_the_function_declared_once() {
    let home = util::plugin_home();
    let example = repo_root().join("examples/progressive-stages");
    let mut previous: Option<Vec<serde_json::Value>> = None;
    for stage in ["stage1", "stage2", "stage3"] {
        let output = build(&example.join("overlays").join(stage), home.path());
        assert_golden(&example.join("expected").join(format!("{stage}.yaml")), &output);
        let docs = parse_stream(&output);
        if let Some(before) = &previous {
            for doc in before.iter().filter(|d| d["kind"] != "DataScienceCluster") {
                assert!(
                    docs.contains(doc),
                    "{stage} lost or changed {} {} of the stage before",
                    doc["kind"],
                    doc["metadata"]["name"]
                );
            }
        }
        // Only the selected model server got GPUs; CPU services stayed CPU.
        let with_gpus: Vec<&str> = docs
            .iter()
            .filter(|d| serde_json::to_string(d).unwrap().contains("nvidia.com/gpu"))
            .map(|d| d["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(with_gpus, ["mistral-24b"], "{stage}");
        previous = Some(docs);
    }
}

#[test]
fn a_bad_plugin_config_fails_the_build_with_one_clear_message() {
    let home = util::plugin_home();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kustomization.yaml"), "resources:\n- deploy.yaml\ntransformers:\n- gpu.yaml\n")
        .unwrap();
    std::fs::copy(util::testdata("unknown-field/input.yaml"), dir.path().join("deploy.yaml")).unwrap();
    std::fs::copy(util::testdata("unknown-field/config.yaml"), dir.path().join("gpu.yaml")).unwrap();
    let out = util::kustomize(dir.path(), home.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("GpuProfile/typo: spec.gpu.cuont: unknown field `cuont`"), "{stderr}");
}
