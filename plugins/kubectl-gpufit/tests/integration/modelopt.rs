//! A ModelOpt checkpoint pushed as an OCI artifact says its quantization
//! only in `hf_quant_config.json` beside `config.json` (TensorRT Model
//! Optimizer's export; `quantization.quant_algo`). gpufit fetched that file
//! and then dropped it, so an FP8 checkpoint was sized as 16-bit.

use gpuops_testkit::{Registry, seeding_client};
use serde_json::json;

use crate::util::{gpufit_env, text};

#[test]
fn an_oci_modelopt_checkpoint_is_sized_with_its_hf_quant_config() {
    let registry = Registry::start();
    let config = json!({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})
    .to_string();
    let quant = json!({"producer": {"name": "modelopt", "version": "0.19.0"},
        "quantization": {"quant_algo": "FP8", "kv_cache_quant_algo": null}})
    .to_string();
    let image = format!("{}/models/acme-llama-fp8", registry.host());
    let layer = |data: &'static [u8], title| gpuops_registry::push::Layer {
        media_type: "application/json",
        data,
        title: Some(title),
    };
    let (config, quant): (&'static [u8], &'static [u8]) = (config.into_bytes().leak(), quant.into_bytes().leak());
    seeding_client()
        .push_artifact(
            &image,
            "1.0",
            "application/vnd.acme.model",
            &[layer(config, "config.json"), layer(quant, "hf_quant_config.json")],
        )
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let args = ["model", &format!("oci://{image}:1.0"), "--gpu", "L40S", "--max-model-len", "32768"];
    let out = gpufit_env(&args, &[("GPUOPS_CACHE_DIR", cache.path())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // 16-bit Llama-3.1-8B holds 14.96 GiB of weights per GPU; in FP8 the
    // layers halve while embeddings and lm_head stay 16-bit.
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("weights/GPU:  14.96 GiB"), "sized as 16-bit:\n{stdout}");
    assert!(stdout.contains("weights/GPU:  8.4"), "{stdout}");
    // From the cache, with the registry gone: the same answer.
    drop(registry);
    let cached = gpufit_env(&args, &[("GPUOPS_CACHE_DIR", cache.path())]);
    assert_eq!(text(&cached.stdout), stdout, "{}", text(&cached.stderr));
}
