//! The function the three ways kpt runs it — `kpt fn eval --exec`, `kpt fn
//! eval --image` through the docker engine, `kpt fn render` of a package
//! whose Kptfile pipeline declares it — with the real `kpt` on PATH (the
//! machine image's google-cloud-cli-kpt). This is the exec-function path
//! `kubectl kustomize` cannot run.

use std::path::Path;

use crate::util::{self, binary, text};

/// kpt prefixes a name without a registry with `gcr.io/kpt-fn/`; the
/// locally built image gets a name it takes as is.
const IMAGE: &str = "localhost/gpuops-inject:dev";

/// The image `build-image.sh` builds, under the name kpt can use.
fn require_image() {
    let inspect =
        util::hermetic("docker").args(["image", "inspect", "gpuops-inject:dev"]).output().expect("docker CLI");
    assert!(
        inspect.status.success(),
        "image gpuops-inject:dev is missing: build it with krm-functions/gpuops-inject/build-image.sh (scripts/test.sh does)"
    );
    let tag = util::hermetic("docker").args(["tag", "gpuops-inject:dev", IMAGE]).output().expect("docker tag");
    assert!(tag.status.success(), "{}", text(&tag.stderr));
}

fn kpt() -> std::process::Command {
    let found = util::hermetic("kpt").arg("version").output();
    assert!(
        found.as_ref().is_ok_and(|o| o.status.success()),
        "kpt is not on PATH (it comes with the machine image's google-cloud-cli-kpt package): {found:?}"
    );
    util::hermetic("kpt")
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: qwen\n  namespace: llm\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: ghcr.io/acme/vllm-qwen:1.0.0 # the serving image\n        args: [\"--model=Qwen/Qwen2.5-32B-Instruct\", \"--max-model-len=32768\"]\n";

const PROFILE: &str = "apiVersion: gpuops.dev/v1alpha1\nkind: GpuProfile\nmetadata:\n  name: gpus\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\nspec:\n  gpu:\n    count: 2\n    product: NVIDIA-L40S\n";

const TAGS: &str = "apiVersion: gpuops.dev/v1alpha1\nkind: ModelTags\nmetadata:\n  name: tags\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\nspec:\n  models:\n  - name: ghcr.io/acme/vllm-qwen\n    newTag: 1.1.0\n";

/// A package with the Deployment and the function configs.
fn package(dir: &Path) {
    std::fs::write(dir.join("deployment.yaml"), DEPLOYMENT).unwrap();
    std::fs::write(dir.join("gpu-profile.yaml"), PROFILE).unwrap();
    std::fs::write(dir.join("model-tags.yaml"), TAGS).unwrap();
}

fn assert_injected(dir: &Path, tag: &str) {
    let deployment = std::fs::read_to_string(dir.join("deployment.yaml")).unwrap();
    assert!(deployment.contains("nvidia.com/gpu: 2"), "{deployment}");
    assert!(deployment.contains("--tensor-parallel-size=2"), "{deployment}");
    assert!(deployment.contains("nvidia.com/gpu.product: NVIDIA-L40S"), "{deployment}");
    assert!(deployment.contains(&format!("image: ghcr.io/acme/vllm-qwen:{tag} # the serving image")), "{deployment}");
}

#[test]
fn kpt_fn_eval_exec_with_a_config_file_and_with_key_value_pairs() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path());
    let out = kpt()
        .args(["fn", "eval", "--exec"])
        .arg(binary())
        .arg("--fn-config")
        .arg(dir.path().join("gpu-profile.yaml"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kpt()
        .args(["fn", "eval", "--exec"])
        .arg(binary())
        .arg("--fn-config")
        .arg(dir.path().join("model-tags.yaml"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_injected(dir.path(), "1.1.0");
    // The configs kpt passed along are left as they were.
    assert_eq!(std::fs::read_to_string(dir.path().join("gpu-profile.yaml")).unwrap(), PROFILE);

    // `kpt fn eval -- key=value`: a ConfigMap functionConfig.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deployment.yaml"), DEPLOYMENT).unwrap();
    let out = kpt()
        .args(["fn", "eval", "--exec"])
        .arg(binary())
        .arg(dir.path())
        .args(["--", "gpuCount=2", "gpuProduct=NVIDIA-L40S", "name=ghcr.io/acme/vllm-qwen", "newTag=1.1.0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_injected(dir.path(), "1.1.0");

    // A bad key: kpt fails and shows the function's error naming the key.
    let out =
        kpt().args(["fn", "eval", "--exec"]).arg(binary()).arg(dir.path()).args(["--", "gpuCuont=2"]).output().unwrap();
    assert!(!out.status.success());
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("data.gpuCuont: unknown key"), "{all}");
}

#[test]
fn kpt_fn_eval_image_runs_the_container_through_docker() {
    require_image();
    let dir = tempfile::tempdir().unwrap();
    package(dir.path());
    let out = kpt()
        .args(["fn", "eval", "--image", IMAGE, "--image-pull-policy", "never", "--fn-config"])
        .arg(dir.path().join("gpu-profile.yaml"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deployment = std::fs::read_to_string(dir.path().join("deployment.yaml")).unwrap();
    assert!(
        deployment.contains("nvidia.com/gpu: 2") && deployment.contains("--tensor-parallel-size=2"),
        "{deployment}"
    );
}

#[test]
fn kpt_fn_render_runs_the_pipeline_the_kptfile_declares() {
    require_image();
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("llm");
    std::fs::create_dir_all(&pkg).unwrap();
    package(&pkg);
    let kptfile = format!(
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: llm\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\npipeline:\n  mutators:\n  - image: {IMAGE}\n    configPath: gpu-profile.yaml\n  - exec: {}\n    configPath: model-tags.yaml\n",
        binary().display()
    );
    std::fs::write(pkg.join("Kptfile"), kptfile).unwrap();
    let out = kpt().args(["fn", "render", "--allow-exec", "--image-pull-policy", "never"]).arg(&pkg).output().unwrap();
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_injected(&pkg, "1.1.0");
    // Rendering again changes nothing.
    let before = std::fs::read_to_string(pkg.join("deployment.yaml")).unwrap();
    let out = kpt().args(["fn", "render", "--allow-exec", "--image-pull-policy", "never"]).arg(&pkg).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(pkg.join("deployment.yaml")).unwrap(), before);
}

/// In KRM mode an object the function changes keeps its YAML 1.1 octal
/// (`defaultMode: 0755`, octal 493 to Kubernetes) and its quoted GPU
/// quantity, through the real kpt.
#[test]
fn numbers_keep_their_value_and_form_through_kpt() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: qwen\nspec:\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.10.1\n        resources:\n          limits:\n            nvidia.com/gpu: \"1\"\n      volumes:\n      - name: scripts\n        configMap:\n          name: scripts\n          defaultMode: 0755\n";
    std::fs::write(dir.path().join("deployment.yaml"), deployment).unwrap();
    let out =
        kpt().args(["fn", "eval", "--exec"]).arg(binary()).arg(dir.path()).args(["--", "gpuCount=2"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(dir.path().join("deployment.yaml")).unwrap();
    assert!(after.contains("defaultMode: 0755\n"), "{after}");
    assert!(after.contains("nvidia.com/gpu: \"2\""), "{after}");
    assert!(!after.contains("755.0") && !after.contains("nvidia.com/gpu: 2\n"), "{after}");
}
