//! Model configs from the network: a Hugging Face hub stand-in (what
//! `HF_ENDPOINT` points at) and a real `docker-registry` holding model
//! artifacts, each read once and then served from the disk cache.

use std::path::Path;

use gpuops_testkit::{HUB_COMMIT, HubServer, Registry, seeding_client};
use serde_json::json;

use crate::util::{gpufit_env, text};

/// Llama-3.1-8B's architecture, under a name no catalog knows.
fn llama_8b_config() -> Vec<u8> {
    json!({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
        "max_position_embeddings": 131072, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})
    .to_string()
    .into_bytes()
}

fn p(text: &str) -> &Path {
    Path::new(text)
}

#[test]
fn hub_models_are_read_once_with_the_token_only_where_it_belongs() {
    let config = llama_8b_config();
    let hub = HubServer::start(
        &[("acme/llama-ish-8b", "config.json", &config), ("acme/gated-8b", "config.json", &config)],
        &["acme/gated-8b"],
        "hf_test_token_42",
    );
    let home = tempfile::tempdir().unwrap();
    let endpoint = hub.url();
    let base = [("HF_ENDPOINT", p(&endpoint)), ("HF_HOME", home.path())];
    let args = ["model", "acme/llama-ish-8b", "--gpu", "L4", "--max-model-len", "16384"];

    let out = gpufit_env(&args, &base);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("model:        acme/llama-ish-8b"), "{}", text(&out.stdout));
    let asked = hub.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0], ("/acme/llama-ish-8b/resolve/main/config.json".to_string(), None));
    // Cached the way huggingface_hub lays out its cache.
    let repo = home.path().join("hub/models--acme--llama-ish-8b");
    assert_eq!(std::fs::read_to_string(repo.join("refs/main")).unwrap(), HUB_COMMIT);
    assert!(repo.join("snapshots").join(HUB_COMMIT).join("config.json").is_file());
    // The second run asks nobody.
    let again = gpufit_env(&args, &base);
    assert_eq!((again.status.code(), hub.requests().len()), (Some(0), 1));
    assert_eq!(text(&again.stdout), text(&out.stdout), "the same numbers from the cache");

    // A gated model: refused without a token, read with HF_TOKEN, which
    // went in the Authorization header and nowhere else.
    let gated = ["model", "acme/gated-8b", "--gpu", "L4", "--max-model-len", "16384"];
    let out = gpufit_env(&gated, &base);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("set HF_TOKEN"), "{}", text(&out.stderr));
    let with_token = [base[0], base[1], ("HF_TOKEN", p("hf_test_token_42")), ("RUST_LOG", p("trace"))];
    let mut verbose = gated.to_vec();
    verbose.push("-v=9");
    let out = gpufit_env(&verbose, &with_token);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(hub.requests().last().unwrap().1.as_deref(), Some("Bearer hf_test_token_42"));
    for stream in [text(&out.stdout), text(&out.stderr)] {
        assert!(!stream.contains("hf_test_token_42"), "the token leaked into the output: {stream}");
    }
    // HF_HUB_OFFLINE: no request, a clear error.
    let before = hub.requests().len();
    let offline = [base[0], base[1], ("HF_HUB_OFFLINE", p("1"))];
    let out = gpufit_env(&["model", "acme/other-8b", "--gpu", "L4"], &offline);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("HF_HUB_OFFLINE"), "{}", text(&out.stderr));
    assert_eq!(hub.requests().len(), before);
}

#[test]
fn check_fetches_each_unknown_model_once() {
    let config = llama_8b_config();
    let hub = HubServer::start(&[("acme/llama-ish-8b", "config.json", &config)], &[], "");
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployment = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: llm}}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.10.1\n        args: [--model=acme/llama-ish-8b, --max-model-len=16384]\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n"
        )
    };
    let file = dir.path().join("apps.yaml");
    std::fs::write(&file, format!("{}---\n{}", deployment("a"), deployment("b"))).unwrap();
    let endpoint = hub.url();
    let out = gpufit_env(
        &["check", "-f", file.to_str().unwrap(), "--nodes", "2*2xL4", "-o", "json"],
        &[("HF_ENDPOINT", p(&endpoint)), ("HF_HOME", home.path())],
    );
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<&str> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.pointer("/memory/status").and_then(|s| s.as_str()))
        .collect();
    assert_eq!(statuses, ["fits", "fits"], "{report}");
    assert_eq!(hub.requests().len(), 1, "one request per distinct model");
}

#[test]
fn oci_model_artifacts_give_their_config_without_the_weights() {
    let registry = Registry::start();
    let client = seeding_client();
    let config = llama_8b_config();
    let weights = vec![0u8; 8 << 20];
    // An ORAS push: each file a layer titled with its name.
    let oras = format!("{}/models/acme-llama", registry.host());
    client
        .push_artifact(
            &oras,
            "1.0",
            "application/vnd.acme.model",
            &[
                gpuops_registry::push::Layer {
                    media_type: "application/octet-stream",
                    data: &weights,
                    title: Some("model.safetensors"),
                },
                gpuops_registry::push::Layer {
                    media_type: "application/json",
                    data: &config,
                    title: Some("config.json"),
                },
            ],
        )
        .unwrap();
    // A modelcar: one tar.gz layer of /models, config.json first.
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("models")).unwrap();
    std::fs::write(tree.path().join("models/config.json"), &config).unwrap();
    std::fs::write(tree.path().join("models/model-00001-of-00001.safetensors"), &weights).unwrap();
    let tarball = tree.path().join("layer.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tarball)
        .arg("-C")
        .arg(tree.path())
        .args(["models/config.json", "models/model-00001-of-00001.safetensors"])
        .status()
        .unwrap();
    assert!(status.success());
    let layer = std::fs::read(&tarball).unwrap();
    let modelcar = format!("{}/models/acme-llama-modelcar", registry.host());
    client
        .push_artifact(
            &modelcar,
            "1.0",
            "application/vnd.oci.image.config.v1+json",
            &[gpuops_registry::push::Layer {
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
                data: &layer,
                title: None,
            }],
        )
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    for image in [&oras, &modelcar] {
        let reference = format!("oci://{image}:1.0");
        let out = gpufit_env(
            &["model", &reference, "--gpu", "L40S", "--max-model-len", "32768"],
            &[("GPUOPS_CACHE_DIR", cache.path())],
        );
        assert_eq!(out.status.code(), Some(0), "{image}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("weights/GPU:  14.96 GiB"), "{}", text(&out.stdout));
    }
    // Both are cached: with the registry gone, the same answers.
    drop(registry);
    let out = gpufit_env(
        &["model", &format!("oci://{modelcar}:1.0"), "--gpu", "L40S", "--max-model-len", "32768"],
        &[("GPUOPS_CACHE_DIR", cache.path())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Ctrl-C while the hub is asked (it never answers): exit 130 at once, and
/// the Hugging Face cache holds no temporary or partial file.
#[test]
fn ctrl_c_while_the_hub_is_asked_exits_130_and_leaves_the_cache_clean() {
    let silent = gpuops_testkit::interrupt::SilentServer::start();
    let home = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-gpufit"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("HF_HOME", home.path().join("hf"))
        .env("HF_ENDPOINT", format!("http://{}", silent.host()))
        .args(["model", "acme/llama-ish-8b", "--gpu", "L4"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    gpuops_testkit::interrupt::interrupt(&child);
    let out = gpuops_testkit::interrupt::wait_at_most(child, std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let left: Vec<_> = walkdir::WalkDir::new(home.path().join("hf"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
