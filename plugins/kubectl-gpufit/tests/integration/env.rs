//! One input, one verdict: a model the catalog knows is sized the same
//! whatever Hugging Face cache the machine has (a laptop with a stale or
//! edited cache, CI with none). The catalog comes before the cache in the
//! one resolver (gpuops_model::resolve), and the check itself reads no
//! environment.

use crate::util::{gpufit_env, text};

/// A cache that holds another idea of the catalog model (twice the layers):
/// what a user's edited or half-downloaded cache may look like.
fn conflicting_cache(root: &std::path::Path) {
    let repo = root.join("hub/models--Qwen--Qwen2.5-7B-Instruct");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(repo.join("snapshots").join(commit)).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    std::fs::write(
        repo.join("snapshots").join(commit).join("config.json"),
        r#"{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
            "num_hidden_layers": 56, "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
            "max_position_embeddings": 32768, "torch_dtype": "bfloat16", "tie_word_embeddings": false}"#,
    )
    .unwrap();
}

#[test]
fn a_catalog_model_gets_the_same_verdict_with_any_cache() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: m, namespace: ml}\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.8.5\n        args: [--model, Qwen/Qwen2.5-7B-Instruct, --max-model-len, '32768']\n        resources: {limits: {nvidia.com/gpu: 1}}\n",
    )
    .unwrap();
    let hf_home = tempfile::tempdir().unwrap();
    conflicting_cache(hf_home.path());
    let args = ["check", "-f", manifest.to_str().unwrap(), "--nodes", "1xL4"];
    let bare = gpufit_env(&args, &[]);
    let hub = hf_home.path().join("hub");
    for env in [vec![("HF_HOME", hf_home.path())], vec![("HF_HUB_CACHE", hub.as_path())]] {
        let cached = gpufit_env(&args, &env);
        assert_eq!(cached.status.code(), bare.status.code(), "{env:?}");
        assert_eq!(text(&cached.stdout), text(&bare.stdout), "{env:?}");
    }
    assert!(text(&bare.stdout).contains("Qwen2.5-7B"), "{}", text(&bare.stdout));
}
