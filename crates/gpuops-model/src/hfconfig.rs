//! A model's shape from its Hugging Face `config.json` (and
//! `quantization_config` / `hf_quant_config.json`), found where users keep
//! it: a file or directory they name (`--model-config`), or the local
//! Hugging Face cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
//! `~/.cache/huggingface/hub`, laid out as huggingface_hub writes it:
//! `models--ORG--NAME/refs/main` → `snapshots/REV/config.json`).
//! Every name that becomes a path there — the repository id, the revision,
//! the commit — passes huggingface_hub's own rules first, and the files
//! read or written stay inside the cache even where it holds symlinks.
//!
//! Parameters are counted from the shapes the way the checkpoint stores
//! them: embeddings (and an untied `lm_head`), per layer attention (plain,
//! grouped-query, or DeepSeek's MLA with its low-rank projections), the MLP
//! (dense, or MoE with every routed and shared expert resident — vLLM loads
//! them all), norms, and a vision tower when the config has one.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::shape::{CheckpointQuant, MlaDims, ModelShape};

mod document;
pub mod hubref;
pub use document::MAX_CONFIG_VALUES;
pub use hubref::{
    HubCacheError, HubCachePaths, HubRef, HubRefError, hub_cache_paths, hub_ref, is_commit_hash, repo_folder_name,
};

/// A config that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {field} is missing; not a transformer config.json")]
    Missing { path: String, field: &'static str },
    #[error("{path}: holds more than {MAX_CONFIG_VALUES} values; not a model's config.json")]
    TooManyValues { path: String },
}

fn read_json(path: &Path) -> Result<Value, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
    parse_config(&text, &shown)
}

/// Parse a config.json (`source` names it in errors) into a `Value`, with
/// at most [`MAX_CONFIG_VALUES`] values: a padded config from the network
/// costs memory in proportion to what a config holds, not to its padding.
pub fn parse_config(text: &[u8], source: &str) -> Result<Value, ConfigError> {
    document::parse(text).map_err(|e| match e {
        document::ParseError::Json(source_error) => {
            ConfigError::Json { path: source.to_string(), source: source_error }
        }
        document::ParseError::TooManyValues => ConfigError::TooManyValues { path: source.to_string() },
    })
}

/// Read `config.json` from a file or a model directory (with its
/// `hf_quant_config.json` when present).
pub fn load(path: &Path, id: &str) -> Result<ModelShape, ConfigError> {
    let (config_path, dir) = if path.is_dir() {
        (path.join("config.json"), path.to_path_buf())
    } else {
        (path.to_path_buf(), path.parent().map(Path::to_path_buf).unwrap_or_default())
    };
    let config = read_json(&config_path)?;
    let modelopt = dir.join("hf_quant_config.json");
    let modelopt = if modelopt.is_file() { Some(read_json(&modelopt)?) } else { None };
    shape(id, &config, modelopt.as_ref(), &config_path.display().to_string())
}

/// The Hugging Face hub cache directory, as huggingface_hub resolves it
/// (huggingface_hub/constants.py: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`),
/// from `env` (the process environment in use).
pub fn hub_cache(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(dir) = set("HF_HUB_CACHE") {
        return Some(PathBuf::from(dir));
    }
    if let Some(home) = set("HF_HOME") {
        return Some(PathBuf::from(home).join("hub"));
    }
    let base =
        set("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("huggingface").join("hub"))
}

/// The model's config from the hub cache `cache`, at the commit the
/// reference's revision names (`refs/REVISION`, `main` by default; a
/// commit hash names its snapshot directly). `None` when the reference is
/// not a valid hub id or the cache does not hold it; an error when the
/// cache holds something huggingface_hub would not have written (a ref that
/// is not a commit hash, a file that leads outside the cache).
pub fn from_hub_cache_in(cache: &Path, reference: &str) -> Option<Result<ModelShape, ConfigError>> {
    let hub_ref = hubref::hub_ref(reference)?.ok()?;
    let repo = cache.join(hubref::repo_folder_name(hub_ref.repo_id));
    let commit = if hubref::is_commit_hash(hub_ref.revision) {
        hub_ref.revision.to_string()
    } else {
        let ref_file = repo.join("refs").join(hub_ref.revision);
        let text = std::fs::read_to_string(&ref_file).ok()?;
        let commit = text.trim();
        if !hubref::is_commit_hash(commit) || !hubref::stays_inside(&repo, &ref_file) {
            let problem = "does not hold a commit hash (40 hex digits) inside the cache; not following it";
            return Some(Err(ConfigError::Read { path: ref_file.display().to_string(), source: invalid(problem) }));
        }
        commit.to_string()
    };
    let snapshot = repo.join("snapshots").join(&commit);
    let config = snapshot.join("config.json");
    if !config.is_file() {
        return None;
    }
    // huggingface_hub links snapshot files to `../../blobs/ETAG`; a link
    // anywhere else is not followed.
    for file in [config, snapshot.join("hf_quant_config.json")] {
        if file.exists() && !hubref::stays_inside(&repo, &file) {
            let problem = "leads outside the Hugging Face cache; not following it";
            return Some(Err(ConfigError::Read { path: file.display().to_string(), source: invalid(problem) }));
        }
    }
    Some(load(&snapshot, hub_ref.repo_id))
}

fn invalid(message: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// The checkpoint's own quantization method (see [`CheckpointQuant`]),
/// where vLLM looks for it: `quantization_config`, a multimodal model's
/// `text_config.quantization_config`, then compressed-tensors'
/// `compression_config` (v0.7.3 config.py:577-582,
/// model_loader/weight_utils.py:141-150).
fn checkpoint_quant(config: &Value, modelopt: Option<&Value>) -> CheckpointQuant {
    if modelopt.is_some_and(|m| m.get("quantization").is_some()) {
        return CheckpointQuant::Method("modelopt".to_string());
    }
    let found = ["/quantization_config", "/text_config/quantization_config", "/compression_config"]
        .into_iter()
        .find_map(|pointer| config.pointer(pointer).filter(|q| !q.is_null()));
    match found {
        None => CheckpointQuant::Unquantized,
        Some(q) => CheckpointQuant::Method(
            q.get("quant_method").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase(),
        ),
    }
}

/// Bytes per weight the checkpoint's own quantization stores
/// (`quantization_config.quant_method`; ModelOpt's `hf_quant_config.json`).
fn checkpoint_bytes(config: &Value, modelopt: Option<&Value>) -> Option<f64> {
    if let Some(algo) = modelopt.and_then(|m| m.pointer("/quantization/quant_algo")).and_then(Value::as_str) {
        return Some(if algo.contains("FP4") { 0.5625 } else { 1.0 });
    }
    let q = config.get("quantization_config")?;
    let method = q.get("quant_method").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    // Group-wise int formats store a 16-bit scale (and a packed zero) per group.
    let grouped = |bits: f64, group: f64| bits / 8.0 + if group > 0.0 { 2.5 / group } else { 0.0 };
    Some(match method.as_str() {
        "fp8" | "fbgemm_fp8" => 1.0,
        "mxfp4" => 4.25 / 8.0,
        "awq" | "gptq" => grouped(num(q, "bits").unwrap_or(4) as f64, num(q, "group_size").unwrap_or(128) as f64),
        "bitsandbytes" => {
            if q.get("load_in_4bit").and_then(Value::as_bool) == Some(true) {
                0.5
            } else {
                1.0
            }
        }
        "compressed-tensors" => {
            let weights = q.pointer("/config_groups").and_then(Value::as_object).and_then(|g| g.values().next());
            let bits = weights.and_then(|g| g.pointer("/weights/num_bits")).and_then(Value::as_u64).unwrap_or(8);
            let group = weights.and_then(|g| g.pointer("/weights/group_size")).and_then(Value::as_u64).unwrap_or(0);
            let float = weights.and_then(|g| g.pointer("/weights/type")).and_then(Value::as_str) == Some("float");
            if float && bits == 4 {
                // NVFP4: 4-bit values, one FP8 scale per group of 16.
                0.5 + 1.0 / group.max(1) as f64
            } else {
                grouped(bits as f64, group as f64)
            }
        }
        "modelopt" => {
            let algo = q.get("quant_algo").and_then(Value::as_str).unwrap_or("FP8");
            if algo.contains("FP4") { 0.5625 } else { 1.0 }
        }
        _ => return None,
    })
}

/// The shape of `config` (a `config.json`), `source` naming it in errors.
pub fn shape(id: &str, config: &Value, modelopt: Option<&Value>, source: &str) -> Result<ModelShape, ConfigError> {
    // Multimodal configs keep the language model in `text_config`.
    let text = config.get("text_config").filter(|t| t.get("hidden_size").is_some()).unwrap_or(config);
    let need = |field: &'static str| num(text, field).ok_or(ConfigError::Missing { path: source.to_string(), field });
    let hidden = need("hidden_size")?;
    let layers = need("num_hidden_layers")?;
    let heads = need("num_attention_heads")?;
    let kv_heads = num(text, "num_key_value_heads").unwrap_or(heads);
    let head_dim = num(text, "head_dim").unwrap_or(hidden / heads.max(1));
    let vocab = need("vocab_size")?;
    let intermediate = num(text, "intermediate_size").unwrap_or(4 * hidden);
    let model_type = text.get("model_type").and_then(Value::as_str).unwrap_or("");
    let tied = text.get("tie_word_embeddings").or_else(|| config.get("tie_word_embeddings")).and_then(Value::as_bool)
        == Some(true);
    let (h, l) = (hidden as f64, layers as f64);

    // Attention.
    let kv_lora = num(text, "kv_lora_rank");
    let (attention, mla) = match kv_lora {
        Some(kv_lora) => {
            let rope = num(text, "qk_rope_head_dim").unwrap_or(64) as f64;
            let nope = num(text, "qk_nope_head_dim").unwrap_or(128) as f64;
            let v = num(text, "v_head_dim").unwrap_or(128) as f64;
            let hd = heads as f64;
            let q = match num(text, "q_lora_rank") {
                Some(ql) => h * ql as f64 + ql as f64 * hd * (nope + rope),
                None => h * hd * (nope + rope),
            };
            let kv = h * (kv_lora as f64 + rope) + kv_lora as f64 * hd * (nope + v);
            let dims = MlaDims {
                q_lora_rank: num(text, "q_lora_rank"),
                kv_lora_rank: kv_lora,
                qk_nope_head_dim: nope as u64,
                qk_rope_head_dim: rope as u64,
                v_head_dim: v as u64,
            };
            (q + kv + hd * v * h, Some(dims))
        }
        None => {
            let q = (heads * head_dim) as f64;
            let kv = (kv_heads * head_dim) as f64;
            let bias = if text.get("attention_bias").and_then(Value::as_bool) == Some(true) || model_type == "qwen2" {
                q + 2.0 * kv
            } else {
                0.0
            };
            (2.0 * h * q + 2.0 * h * kv + bias, None)
        }
    };

    // MLP: dense, or every expert (routed and shared) plus the router — vLLM
    // loads them all. Llama 4 interleaves MoE layers (every
    // `interleave_moe_layer_step`-th) with dense ones of
    // `intermediate_size_mlp` and gives each MoE layer one shared expert;
    // DeepSeek keeps the first `first_k_dense_replace` layers dense.
    let experts =
        num(text, "num_local_experts").or_else(|| num(text, "num_experts")).or_else(|| num(text, "n_routed_experts"));
    let top_k = num(text, "num_experts_per_tok").or_else(|| num(text, "experts_per_token")).unwrap_or(1);
    let (mlp, expert_params, ffn_active, expert_width, router) = match experts {
        Some(e) => {
            let moe = num(text, "moe_intermediate_size").unwrap_or(intermediate) as f64;
            let llama4 = model_type.starts_with("llama4");
            let shared = num(text, "n_shared_experts")
                .map(|n| n as f64 * moe)
                .or_else(|| num(text, "shared_expert_intermediate_size").map(|s| s as f64))
                .or(llama4.then_some(moe))
                .unwrap_or(0.0);
            let dense_width = num(text, "intermediate_size_mlp").unwrap_or(intermediate) as f64;
            let moe_layers = match (num(text, "first_k_dense_replace"), num(text, "interleave_moe_layer_step")) {
                (Some(first_dense), _) => l - first_dense as f64,
                (None, Some(step)) if step > 1 => (l / step as f64).floor(),
                _ => l,
            };
            let experts_per_layer = 3.0 * h * (e as f64 * moe + shared);
            let mlp = moe_layers * (experts_per_layer + h * e as f64) + (l - moe_layers) * 3.0 * h * dense_width;
            let router = moe_layers * h * e as f64;
            (mlp, moe_layers * experts_per_layer, (top_k as f64 * moe + shared) as u64, moe as u64, router)
        }
        None => (l * mlp_matrices(model_type) * h * intermediate as f64, 0.0, intermediate, 0, 0.0),
    };
    let embedding = vocab as f64 * h * if tied { 1.0 } else { 2.0 };
    let vision = config.get("vision_config").map(|v| {
        // Qwen2-VL's tower is `embed_dim` wide; its `hidden_size` is the
        // merger's output, the language model's width
        // (vllm/model_executor/models/qwen2_vl.py `Qwen2VisionTransformer`
        // is built with `embed_dim=vision_config.embed_dim`, and
        // `Qwen2VisionPatchMerger(d_model=vision_config.hidden_size,
        // context_dim=embed_dim)`).
        let vh = num(v, "embed_dim").or_else(|| num(v, "hidden_size")).unwrap_or(0) as f64;
        let vl = num(v, "depth").or_else(|| num(v, "num_hidden_layers")).unwrap_or(0) as f64
            + num(v, "num_global_layers").unwrap_or(0) as f64;
        let vi = num(v, "intermediate_size").map_or_else(|| num(v, "mlp_ratio").unwrap_or(4) as f64 * vh, |i| i as f64);
        // Qwen2.5-VL's vision MLP is gated (SwiGLU: three matrices).
        let gated = v.get("hidden_act").and_then(Value::as_str).is_some_and(|a| a.contains("silu"));
        vl * (4.0 * vh * vh + if gated { 3.0 } else { 2.0 } * vh * vi)
    });
    let params = l * attention + mlp + l * 2.0 * h + h + embedding + vision.unwrap_or(0.0);
    let (sliding_window, sliding_layers) = sliding(text, model_type, layers);
    let quantization = checkpoint_bytes(config, modelopt);
    let method = config.pointer("/quantization_config/quant_method").and_then(Value::as_str).unwrap_or("");
    Ok(ModelShape {
        id: id.to_string(),
        layers,
        heads: Some(heads),
        kv_heads: if mla.is_some() { 1 } else { kv_heads },
        head_dim,
        params_b: params / 1e9,
        embedding_b: embedding / 1e9,
        expert_b: expert_params / 1e9,
        expert_width,
        max_position: num(text, "max_position_embeddings").unwrap_or(4096),
        vision: vision.is_some(),
        mla_latent: mla.map(|d| d.kv_lora_rank + d.qk_rope_head_dim),
        mla,
        router_b: router / 1e9,
        experts_per_token: if experts.is_some() { top_k } else { 0 },
        checkpoint_bytes: quantization,
        checkpoint_quant: checkpoint_quant(config, modelopt),
        experts_only_quantized: method == "mxfp4",
        hidden,
        vocab,
        ffn_active,
        sliding_window,
        sliding_layers,
        moe: experts.is_some(),
        model_type: config.get("model_type").and_then(Value::as_str).unwrap_or(model_type).to_string(),
        // vLLM reads the text config's `torch_dtype`, then the vision
        // config's (config.py v0.8.5:2891-2896); transformers 4.56+ writes
        // it as `dtype`.
        torch_dtype: [text, config, config.get("vision_config").unwrap_or(&Value::Null)]
            .iter()
            .flat_map(|c| [c.get("torch_dtype"), c.get("dtype")])
            .flatten()
            .find_map(Value::as_str)
            .map(str::to_string),
        architectures: config
            .get("architectures")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

/// How many `hidden × intermediate` matrices one dense MLP holds, by the
/// module vLLM builds for the architecture: two for the `fc1`/`fc2`-style
/// MLPs — `PhiMLP` (fc1, fc2: vllm/model_executor/models/phi.py),
/// `GPT2MLP` and `GPTBigMLP` (c_fc, c_proj: gpt2.py, gpt_bigcode.py),
/// `Starcoder2MLP` (c_fc, c_proj: starcoder2.py), `GPTNeoXMLP` and
/// `FalconMLP` (dense_h_to_4h, dense_4h_to_h: gpt_neox.py, falcon.py),
/// OPT's decoder layer (fc1, fc2: opt.py), `BloomMLP` (bloom.py), `MPTMLP`
/// (up_proj, down_proj: mpt.py), `GPTJMLP` (fc_in, fc_out: gptj.py); three
/// for the gated ones (`gate_up_proj` + `down_proj`, `LlamaMLP` in llama.py
/// and the families built on it).
pub(crate) fn mlp_matrices(model_type: &str) -> f64 {
    const TWO_MATRIX: &[&str] =
        &["phi", "gpt2", "gpt_bigcode", "starcoder2", "gpt_neox", "falcon", "opt", "bloom", "mpt", "gptj", "codegen"];
    if TWO_MATRIX.contains(&model_type) { 2.0 } else { 3.0 }
}

/// Which layers attend through a sliding window (or Llama 4's chunked local
/// attention), the way vLLM builds them: `layer_types` when the config
/// lists them; Gemma 2 alternates (even layers slide); Gemma 3 slides on
/// five of every `sliding_window_pattern` (6); Llama 4 on three of four
/// (`attention_chunk_size`); Mistral-style configs slide on every layer.
/// Qwen2 configs carry a `sliding_window` they only use with
/// `use_sliding_window: true`.
fn sliding(text: &Value, model_type: &str, layers: u64) -> (Option<u64>, u64) {
    if let Some(types) = text.get("layer_types").and_then(Value::as_array) {
        let count = types.iter().filter(|t| t.as_str().is_some_and(|t| t.contains("sliding"))).count() as u64;
        return (num(text, "sliding_window").filter(|_| count > 0), count);
    }
    if let Some(chunk) = num(text, "attention_chunk_size") {
        return (Some(chunk), layers - layers / 4);
    }
    let Some(window) = num(text, "sliding_window") else { return (None, 0) };
    if model_type.starts_with("qwen") && text.get("use_sliding_window").and_then(Value::as_bool) != Some(true) {
        return (None, 0);
    }
    let count = match model_type {
        "gemma2" => layers.div_ceil(2),
        t if t.starts_with("gemma3") => {
            let pattern = num(text, "sliding_window_pattern").unwrap_or(6).max(1);
            layers - layers / pattern
        }
        _ => layers,
    };
    (Some(window), count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Architecture facts from the published config.json of each model
    // (huggingface.co/<id>/blob/main/config.json).
    fn llama_31_8b() -> Value {
        json!({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
            "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "max_position_embeddings": 131072, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})
    }

    #[test]
    fn dense_moe_and_mla_parameter_counts_match_the_model_cards() {
        let s = shape("meta-llama/Llama-3.1-8B-Instruct", &llama_31_8b(), None, "config.json").unwrap();
        assert!((s.params_b - 8.03).abs() < 0.01, "{}", s.params_b);
        // What `--dtype auto` resolves to (memory::dtype): `torch_dtype`,
        // or `dtype` as transformers 4.56+ writes it.
        assert_eq!(s.torch_dtype.as_deref(), Some("bfloat16"));
        let mut awq = llama_31_8b();
        awq.as_object_mut().unwrap().remove("torch_dtype");
        awq["dtype"] = json!("float16");
        assert_eq!(shape("m", &awq, None, "config.json").unwrap().torch_dtype.as_deref(), Some("float16"));
        // mistralai/Mixtral-8x7B-v0.1: 46.7B in all, every expert resident.
        let mixtral = json!({"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8,
            "num_experts_per_tok": 2, "max_position_embeddings": 32768});
        let s = shape("mistralai/Mixtral-8x7B-v0.1", &mixtral, None, "config.json").unwrap();
        assert!((s.params_b - 46.7).abs() < 0.2, "{}", s.params_b);
        // deepseek-ai/DeepSeek-V3: 671B, MLA caches one 576-wide latent per token and layer.
        let v3 = json!({"model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
            "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128, "n_routed_experts": 256,
            "n_shared_experts": 1, "first_k_dense_replace": 3, "kv_lora_rank": 512, "q_lora_rank": 1536,
            "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "vocab_size": 129280,
            "max_position_embeddings": 163840, "quantization_config": {"quant_method": "fp8", "fmt": "e4m3"}});
        let s = shape("deepseek-ai/DeepSeek-V3", &v3, None, "config.json").unwrap();
        assert!((s.params_b - 671.0).abs() < 8.0, "{}", s.params_b);
        assert_eq!((s.mla_latent, s.checkpoint_bytes), (Some(576), Some(1.0)));
        // microsoft/phi-2: fc1/fc2, 2.78B (was counted gated: 3.6B, 6.74 GiB
        // against the 5.19 GiB vLLM logs).
        let phi2 = json!({"model_type": "phi", "hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 51200, "tie_word_embeddings": false});
        let s = shape("microsoft/phi-2", &phi2, None, "x").unwrap();
        assert!((s.params_b - 2.78).abs() < 0.02, "{}", s.params_b);
        // Qwen/Qwen2-VL-7B-Instruct: a 1280-wide tower (`embed_dim`), not
        // 3584 (`vision_config.hidden_size`): 8.29B in all (card: 8.29B).
        let vl = json!({"model_type": "qwen2_vl", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
            "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064, "tie_word_embeddings": false,
            "vision_config": {"depth": 32, "embed_dim": 1280, "hidden_size": 3584, "mlp_ratio": 4, "hidden_act": "quick_gelu"}});
        let s = shape("Qwen/Qwen2-VL-7B-Instruct", &vl, None, "x").unwrap();
        assert!((s.params_b - 8.29).abs() / 8.29 < 0.03, "{}", s.params_b);
        // Qwen/Qwen2.5-0.5B-Instruct ties its embeddings: 0.49B.
        let qwen = json!({"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
            "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": true,
            "max_position_embeddings": 32768});
        let s = shape("Qwen/Qwen2.5-0.5B-Instruct", &qwen, None, "config.json").unwrap();
        assert!((s.params_b - 0.494).abs() < 0.005, "{}", s.params_b);
        let awq = json!({"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}});
        assert!((checkpoint_bytes(&awq, None).unwrap() - 0.5195).abs() < 0.001);
        assert!(matches!(shape("x", &json!({"hidden_size": 1}), None, "c.json"), Err(ConfigError::Missing { .. })));
    }

    #[test]
    fn the_checkpoints_quantization_is_read_where_vllm_reads_it() {
        let method = |config: Value| checkpoint_quant(&config, None);
        assert_eq!(method(json!({"model_type": "qwen2"})), CheckpointQuant::Unquantized);
        assert_eq!(method(json!({"quantization_config": null})), CheckpointQuant::Unquantized);
        assert_eq!(
            method(json!({"quantization_config": {"quant_method": "AWQ"}})),
            CheckpointQuant::Method("awq".into())
        );
        assert_eq!(
            method(json!({"text_config": {"quantization_config": {"quant_method": "fp8"}}})),
            CheckpointQuant::Method("fp8".into())
        );
        assert_eq!(
            method(json!({"compression_config": {"quant_method": "compressed-tensors"}})),
            CheckpointQuant::Method("compressed-tensors".into())
        );
        let modelopt = json!({"quantization": {"quant_algo": "FP8"}});
        assert_eq!(checkpoint_quant(&json!({}), Some(&modelopt)), CheckpointQuant::Method("modelopt".into()));
    }

    #[test]
    fn the_local_hub_cache_is_read_at_refs_main() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--meta-llama--Llama-3.1-8B-Instruct");
        let commit = "0e9e39f249a16976918f6564b8830bc894c89659";
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots").join(commit)).unwrap();
        std::fs::write(repo.join("refs/main"), commit).unwrap();
        std::fs::write(repo.join("snapshots").join(commit).join("config.json"), llama_31_8b().to_string()).unwrap();
        let s = from_hub_cache_in(dir.path(), "hf://meta-llama/Llama-3.1-8B-Instruct").unwrap().unwrap();
        assert_eq!(s.layers, 32);
        // A commit names its snapshot directly; another revision its own ref.
        let pinned = format!("meta-llama/Llama-3.1-8B-Instruct:{commit}");
        assert_eq!(from_hub_cache_in(dir.path(), &pinned).unwrap().unwrap().layers, 32);
        assert!(from_hub_cache_in(dir.path(), "meta-llama/Llama-3.1-8B-Instruct:v2").is_none());
        assert!(from_hub_cache_in(dir.path(), "meta-llama/Llama-3.3-70B-Instruct").is_none());
        assert!(from_hub_cache_in(dir.path(), "/mnt/models").is_none());
        let env = |k: &str| match k {
            "HF_HOME" => Some(std::ffi::OsString::from("/data/hf")),
            "HOME" => Some(std::ffi::OsString::from("/root")),
            _ => None,
        };
        assert_eq!(hub_cache(env), Some(PathBuf::from("/data/hf/hub")));
        assert_eq!(
            hub_cache(|k| (k == "HOME").then(|| "/root".into())),
            Some(PathBuf::from("/root/.cache/huggingface/hub"))
        );
    }

    /// A planted `refs/main` holding `../../..`, or a snapshot file that is a
    /// symlink leading out of the cache, is not followed: the config placed
    /// outside is never read (an error names the cache file instead).
    #[cfg(unix)]
    #[test]
    fn the_hub_cache_reader_does_not_leave_the_cache() {
        let top = tempfile::tempdir().unwrap();
        let cache = top.path().join("hub");
        let outside = top.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("config.json"), llama_31_8b().to_string()).unwrap();
        let repo = cache.join("models--acme--planted");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots")).unwrap();
        std::fs::write(repo.join("refs/main"), "../../../outside").unwrap();
        let err = from_hub_cache_in(&cache, "acme/planted").unwrap().unwrap_err().to_string();
        assert!(err.contains("refs/main: does not hold a commit hash"), "{err}");
        // A revision that climbs is not a revision at all.
        assert!(from_hub_cache_in(&cache, "hf://acme/planted:../../../outside").is_none());
        // A snapshot file linking outside the cache.
        let commit = "1f0a6c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";
        std::fs::write(repo.join("refs/main"), commit).unwrap();
        std::fs::create_dir_all(repo.join("snapshots").join(commit)).unwrap();
        let link = repo.join("snapshots").join(commit).join("config.json");
        std::os::unix::fs::symlink(outside.join("config.json"), &link).unwrap();
        let err = from_hub_cache_in(&cache, "acme/planted").unwrap().unwrap_err().to_string();
        assert!(err.contains("config.json: leads outside the Hugging Face cache"), "{err}");
        // huggingface_hub's own layout — a link into `blobs/` — is read.
        std::fs::remove_file(&link).unwrap();
        std::fs::create_dir_all(repo.join("blobs")).unwrap();
        std::fs::write(repo.join("blobs/etag"), llama_31_8b().to_string()).unwrap();
        std::os::unix::fs::symlink("../../blobs/etag", &link).unwrap();
        assert_eq!(from_hub_cache_in(&cache, "acme/planted").unwrap().unwrap().layers, 32);
    }
}
