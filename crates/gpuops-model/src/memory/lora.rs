//! What `--enable-lora` holds on each GPU, read from vLLM's source.
//!
//! When the model loads, vLLM wraps every supported linear layer (and, for
//! the model classes that declare them, `embed_tokens` and `lm_head`) and
//! allocates zero-filled adapter stacks for `max_loras` slots of rank
//! `max_lora_rank` — whatever the adapters later hold
//! (`LoRAModelManager._create_lora_modules`, v0.19.0
//! lora/model_manager.py:355-450; `BaseLinearLayerWithLoRA.
//! create_lora_weights`, v0.8.5 lora/layers.py:299-353, v0.19.0
//! lora/layers/base_linear.py:35-87). From 0.8 the stacks are made inside
//! the window vLLM measures the weights in ("Model loading took X GiB":
//! v0.8.5 v1/worker/gpu_model_runner.py:1328-1349, worker/model_runner.py
//! 1109-1142; v0.19.0 gpu_model_runner.py:4746-4755), so they come out of
//! the KV cache as weights; 0.6.x makes them after that window and they
//! still come out of it through the profile's peak (v0.6.4
//! worker/model_runner.py:1073-1106, worker/worker.py:201-217).
//!
//! The profile's dummy adapters are built on the CPU and copied into the
//! stacks (`create_dummy_lora`, v0.6.4 lora/models.py:553-585): no more GPU
//! memory. Each wrapped layer's LoRA shrink writes a float32 `(slices,
//! tokens, rank)` buffer, freed after the layer (v0.8.5
//! lora/punica_wrapper/punica_gpu.py:223-231, v0.19.0 :226-227): two
//! slices are live at the MLP's peak.
//!
//! Mixture-of-experts models are not sized: from 0.11.1 every expert is
//! wrapped (`FusedMoEWithLoRA`, v0.11.1 lora/layers/fused_moe.py:290-363:
//! `max_loras × experts × rank × 3 × (hidden + expert width)` per layer,
//! about 1.5 GiB for Qwen3-30B-A3B at the defaults), and before it the
//! router and shared experts are, whose widths the shape does not give.

use serde::Serialize;

use super::{Dtype, GIB, VllmVersion};
use crate::catalog::ModelShape;

/// `--enable-lora` and the flags that size it, as vLLM defaults them
/// (v0.8.5 config.py:2619-2648, v0.19.0 config/lora.py:24-46).
#[derive(Debug, Clone, PartialEq)]
pub struct LoraArgs {
    /// `--max-loras` (default 1).
    pub max_loras: u64,
    /// `--max-lora-rank` (default 16).
    pub max_lora_rank: u64,
    /// `--max-cpu-loras` (default: `max_loras`).
    pub max_cpu_loras: Option<u64>,
    /// `--fully-sharded-loras`: the column-parallel A stacks split their
    /// rank and the row-parallel B stacks their output across TP.
    pub fully_sharded: bool,
    /// `--lora-dtype` as written (`auto`: the model's dtype).
    pub lora_dtype: String,
    /// `--lora-extra-vocab-size` (up to 0.11; default 256).
    pub extra_vocab: Option<u64>,
    /// `--lora-target-modules` is set (0.19+): vLLM wraps only those
    /// modules; gpuops sizes every supported one (an upper bound).
    pub target_modules: bool,
}

impl Default for LoraArgs {
    fn default() -> Self {
        Self {
            max_loras: 1,
            max_lora_rank: 16,
            max_cpu_loras: None,
            fully_sharded: false,
            lora_dtype: "auto".into(),
            extra_vocab: None,
            target_modules: false,
        }
    }
}

/// The adapter memory of one GPU, as the answer shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoraMemory {
    /// The stacks (and, before 0.12, the extra vocabulary rows): counted
    /// with the weights, as vLLM counts them.
    pub stacks_gib: f64,
    /// The shrink buffer live at the profile's peak: counted in the activation.
    pub activation_gib: f64,
    /// Whether `embed_tokens`/`lm_head` stacks are counted for a model
    /// class gpuops does not know (an upper bound).
    #[serde(skip)]
    pub embeddings_assumed: bool,
}

const V0_12: VllmVersion = VllmVersion::new(0, 12, 0);

/// Whether vLLM's class for `model_type` wraps `embed_tokens` and
/// `lm_head` (its `embedding_modules`); `None`: a class gpuops has not read.
///
/// - Llama, and Phi-3 built on it: always (v0.6.4 models/llama.py:439-453,
///   v0.19.0 :515; v0.34.0 :479);
/// - Mistral: as Llama until 0.14 (registry.py v0.14.0:155), its own class
///   with `embedding_modules = {}` from 0.15 (v0.15.0 mistral.py:240);
/// - Qwen3: from 0.16 (v0.19.0 qwen3.py:276); Qwen2 and Gemma 1–3 never
///   (v0.6.4 qwen2.py:391-397, gemma2.py:370-377; no declaration later).
fn wraps_embeddings(model_type: &str, version: VllmVersion) -> Option<bool> {
    match model_type {
        "llama" | "phi3" => Some(true),
        "mistral" => Some(!version.at_least(0, 15, 0)),
        "qwen3" => Some(version.at_least(0, 16, 0)),
        "qwen2" | "gemma" | "gemma2" | "gemma3" | "gemma3_text" => Some(false),
        _ => None,
    }
}

/// Where the adapters sit: one GPU of the busiest pipeline stage.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    pub tp: u64,
    pub pp: u64,
    /// The stage's share of the model's layers.
    pub layers: u64,
    /// Tokens batched in the profile run (`max_num_batched_tokens`).
    pub tokens: u64,
    /// What `--lora-dtype auto` resolves to: the model's dtype.
    pub model_dtype_bytes: u64,
}

/// The adapter memory of one GPU of `stage`.
pub fn memory(model: &ModelShape, version: VllmVersion, lora: &LoraArgs, stage: &Stage) -> LoraMemory {
    let Stage { tp, pp, layers: stage_layers, tokens, model_dtype_bytes } = *stage;
    let (l, r, t) = (lora.max_loras as f64, lora.max_lora_rank as f64, tp.max(1) as f64);
    let bytes = match Dtype::parse(&lora.lora_dtype) {
        Dtype::Auto => model_dtype_bytes,
        dtype => dtype.bytes(),
    } as f64;
    let h = model.hidden as f64;
    let head_dim = model.head_dim as f64;
    let heads = model.heads.map_or(h / head_dim.max(1.0), |n| n as f64);
    let q = heads * head_dim / t;
    let kv = (model.kv_heads as f64 / t).max(1.0) * head_dim;
    let ffn = model.ffn_active as f64 / t;
    // Column-parallel A keeps the whole input and B its output shard; row
    // parallel the reverse (v0.8.5 lora/layers.py:307-321).
    let (r_column_a, h_row_b) = if lora.fully_sharded { (r / t, h / t) } else { (r, h) };
    // Phi-3's checkpoint is fused: one A for qkv and for gate_up
    // (`packed_modules_mapping`, v0.8.5 models/phi3.py:9-18).
    let fused = model.model_type == "phi3";
    let (qkv_slices, gate_up_slices) = if fused { (1.0, 1.0) } else { (3.0, 2.0) };
    let qkv = qkv_slices * r_column_a * h + (q + 2.0 * kv) * r;
    let o = r * heads * head_dim / t + h_row_b * r;
    // Gated MLPs wrap gate_up (two slices) and down_proj; fc1/fc2 MLPs two
    // plain linears (hfconfig::mlp_matrices). A mixture of experts is not
    // sized (`unsized_reason`): its attention alone is counted, the lower
    // bound `memory::evaluate` checks.
    let mlp = if model.moe {
        0.0
    } else if crate::hfconfig::mlp_matrices(&model.model_type) == 2.0 {
        r_column_a * h + ffn * r + r * ffn + h_row_b * r
    } else {
        gate_up_slices * r_column_a * h + 2.0 * ffn * r + r * ffn + h_row_b * r
    };
    let linear = stage_layers as f64 * l * (qkv + o + mlp) * bytes;
    // A class not read is counted as wrapping them (an upper bound, said in
    // a note), except on a mixture of experts, whose count must stay a
    // lower bound.
    let embeddings_known = wraps_embeddings(&model.model_type, version);
    let embeddings_counted = embeddings_known.unwrap_or(!model.moe);
    let embeddings = if embeddings_counted {
        embedding_bytes(model, version, lora, t, bytes, model_dtype_bytes as f64, pp)
    } else {
        0.0
    };
    let activation = 2.0 * tokens as f64 * r * 4.0;
    LoraMemory {
        stacks_gib: (linear + embeddings) / GIB,
        activation_gib: activation / GIB,
        embeddings_assumed: embeddings_known.is_none() && embeddings_counted,
    }
}

/// The `embed_tokens` and `lm_head` stacks (not split by TP), one end of
/// them on a pipeline stage: before 0.12 with `lora_extra_vocab_size`
/// rows on top of the vocabulary, `lm_head`'s padded to 256, their
/// `embeddings_tensors` and the base weights grown by those rows (v0.8.5
/// lora/layers.py:146-200, 1016-1060; v0.6.4 models/llama.py:284-295,
/// 506-521); from 0.12 the vocabulary alone (v0.14.0
/// lora/layers/vocal_parallel_embedding.py:24-71, logits_processor.py
/// 85-122). At TP > 1 the logits processor keeps an int64 map of the
/// padded vocabulary (v0.34.0 logits_processor.py:114-119).
fn embedding_bytes(
    model: &ModelShape,
    version: VllmVersion,
    lora: &LoraArgs,
    t: f64,
    bytes: f64,
    model_bytes: f64,
    pp: u64,
) -> f64 {
    let (l, r, h, v) = (lora.max_loras as f64, lora.max_lora_rank as f64, model.hidden as f64, model.vocab as f64);
    let (embed, head) = if version >= V0_12 {
        (l * r * (v + h) * bytes, l * r * (h + v) * bytes)
    } else {
        let extra = lora.extra_vocab.unwrap_or(256) as f64;
        let padded = ((v + extra) / 256.0).ceil() * 256.0;
        let embed = l * r * (v + extra + h) * bytes + l * extra * h * model_bytes + extra * l * h * model_bytes / t;
        let head = l * r * (h + padded) * bytes + l * extra * h * model_bytes + extra * h * model_bytes / t;
        (embed, head)
    };
    let map = if t > 1.0 { v * 8.0 } else { 0.0 };
    // With pipeline parallelism the first stage holds the embedding and
    // the last the head: the busiest holds one of them.
    if pp > 1 { embed.max(head + map) } else { embed + head + map }
}

/// Why gpuops does not size LoRA on this model, and what to supply.
pub fn unsized_reason(model: &ModelShape, version: VllmVersion) -> Option<String> {
    if !model.moe {
        return None;
    }
    let what = if version.at_least(0, 11, 1) {
        "from vLLM 0.11.1 every expert gets adapter slots (FusedMoEWithLoRA: max_loras × experts × rank × 3 × (hidden + expert width) per layer)"
    } else {
        "before vLLM 0.11.1 the router and shared-expert layers get adapter slots, whose widths gpuops does not read"
    };
    Some(format!(
        "not sized by gpuops: LoRA (--enable-lora) on the mixture of experts {}: {what}; read 'Model loading took' and 'GPU KV cache size' from a vLLM startup log with the same flags and GPU",
        model.id
    ))
}

/// The LoRA checks vLLM makes before loading anything, in its words.
pub fn refusals(model: &ModelShape, version: VllmVersion, lora: &LoraArgs, chunked_prefill: bool) -> Vec<String> {
    let mut refusals = Vec::new();
    let rank = lora.max_lora_rank;
    // Python's `", ".join` of the choices, as both messages print them.
    let listed = |values: &[u64]| values.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    if version.at_least(0, 11, 1) {
        // A Literal the CLI turns into argparse choices (v0.14.0
        // config/lora.py:25, engine/arg_utils.py:162-174).
        const RANKS: [u64; 9] = [1, 8, 16, 32, 64, 128, 256, 320, 512];
        if !RANKS.contains(&rank) {
            refusals.push(format!("argument --max-lora-rank: invalid choice: {rank} (choose from {})", listed(&RANKS)));
        }
    } else {
        // `LoRAConfig.__post_init__` (v0.7.3 config.py:2184, v0.8.0
        // :2326, v0.8.5 :2674-2694).
        let ranks: &[u64] =
            if version.at_least(0, 8, 0) { &[8, 16, 32, 64, 128, 256, 320, 512] } else { &[8, 16, 32, 64, 128, 256] };
        if !ranks.contains(&rank) {
            refusals.push(format!("max_lora_rank ({rank}) must be one of ({}).", listed(ranks)));
        }
        if let Some(extra) = lora.extra_vocab {
            let sizes: &[u64] = if version.at_least(0, 8, 0) { &[256, 512] } else { &[0, 256, 512] };
            if !sizes.contains(&extra) {
                refusals.push(format!("lora_extra_vocab_size ({extra}) must be one of ({}).", listed(sizes)));
            }
        }
    }
    // A count of 0 or less is vLLM's default (`max_cpu_loras if
    // max_cpu_loras > 0 else None`, v0.19.0 engine/arg_utils.py:1855-1856).
    if let Some(cpu) = lora.max_cpu_loras.filter(|cpu| *cpu > 0 && *cpu < lora.max_loras) {
        // v0.6.4 config.py:1699, v0.14.0 config/lora.py:90-93.
        refusals.push(format!("max_cpu_loras ({cpu}) must be >= max_loras ({}).", lora.max_loras));
    }
    if chunked_prefill && !version.at_least(0, 6, 5) {
        // v0.6.4 config.py:1714-1718; a warning from 0.6.5 (config.py:1969).
        refusals.push("LoRA is not supported with chunked prefill yet.".into());
    }
    if wraps_embeddings(&model.model_type, version) == Some(true) {
        // `LogitsProcessorWithLoRA.create_lora_weights` (v0.8.5
        // lora/layers.py:1023-1025; v0.19.0 logits_processor.py:91-92).
        let extra = if version >= V0_12 { 0 } else { lora.extra_vocab.unwrap_or(256) };
        let vocab = model.vocab + extra;
        if version.at_least(0, 17, 0) && vocab > 258_048 {
            refusals.push("When using LoRA, vocab size must be <= 258048".into());
        } else if !version.at_least(0, 17, 0) && vocab > 257_024 {
            refusals.push("When using LoRA, vocab size must be 32000 >= vocab_size <= 257024".into());
        }
    }
    refusals
}

/// The note beside the verdict where the slots are an upper bound (the
/// answer's weights line says what they are otherwise).
pub fn note(lora: &LoraArgs, memory: &LoraMemory) -> Option<String> {
    let mut bounds = Vec::new();
    if memory.embeddings_assumed {
        bounds.push("embed_tokens and lm_head counted as wrapped (not read for this architecture)");
    }
    if lora.target_modules {
        bounds.push("--lora-target-modules wraps fewer modules, every supported one counted");
    }
    (!bounds.is_empty()).then(|| {
        format!(
            "LoRA's adapter slots ({:.2} GiB a GPU, max_loras {} × rank {}) are an upper bound: {}",
            memory.stacks_gib,
            lora.max_loras,
            lora.max_lora_rank,
            bounds.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama_8b() -> ModelShape {
        let mut m = ModelShape::from_counts("meta-llama/Llama-3.1-8B-Instruct", 8.03, 32, 8, 128, 131_072);
        m.heads = Some(32);
        m.hidden = 4096;
        m.ffn_active = 14_336;
        m.vocab = 128_256;
        m.model_type = "llama".into();
        m
    }

    fn v(text: &str) -> VllmVersion {
        VllmVersion::parse(text).unwrap()
    }

    fn stage(tp: u64, layers: u64) -> Stage {
        Stage { tp, pp: 1, layers, tokens: 8192, model_dtype_bytes: 2 }
    }

    fn bytes(model: &ModelShape, version: &str, lora: &LoraArgs, tp: u64) -> f64 {
        memory(model, v(version), lora, &stage(tp, model.layers)).stacks_gib * GIB
    }

    /// Llama-3.1-8B in bfloat16, summed tensor by tensor from the shapes
    /// `create_lora_weights` allocates (v0.19.0 lora/layers/base_linear.py
    /// 35-87, column_parallel_linear.py:197-227, vocal_parallel_embedding.py,
    /// logits_processor.py:84-119): 32 layers × L·r × 81,920 elements at
    /// TP1 (Σ in + out over q, k, v, o, gate, up, down) and × 55,296 at TP2,
    /// plus L·r·(V + H) for each of embed_tokens and lm_head, plus at TP2
    /// the int64 vocabulary map.
    #[test]
    fn llama_stacks_as_vllm_allocates_them() {
        let m = llama_8b();
        let one = LoraArgs::default();
        let four = LoraArgs { max_loras: 4, max_lora_rank: 64, ..LoraArgs::default() };
        assert_eq!(bytes(&m, "0.19.0", &one, 1), 92_356_608.0);
        assert_eq!(bytes(&m, "0.19.0", &one, 2), 66_119_680.0);
        assert_eq!(bytes(&m, "0.19.0", &four, 1), 1_477_705_728.0);
        assert_eq!(bytes(&m, "0.19.0", &four, 2), 1_042_524_160.0);
        let sharded = LoraArgs { fully_sharded: true, ..LoraArgs::default() };
        assert_eq!(bytes(&m, "0.19.0", &sharded, 2), 51_439_616.0);
        // Up to 0.11: 256 extra vocabulary rows in the stacks, lm_head's
        // padded to 256, their embeddings tensors and the grown base rows.
        assert_eq!(bytes(&m, "0.10.1.1", &one, 1), 96_567_296.0 + 4_194_304.0);
        assert_eq!(bytes(&m, "0.10.1.1", &four, 1), 1_494_745_088.0 + 10_485_760.0);
    }

    /// Which classes wrap the embeddings decides the size: Qwen2 never,
    /// Mistral until 0.14, Qwen3 from 0.16.
    #[test]
    fn embeddings_follow_the_model_class_and_release() {
        let mut m = llama_8b();
        let one = LoraArgs::default();
        let linear = 32.0 * 16.0 * 81_920.0 * 2.0;
        m.model_type = "qwen2".into();
        assert_eq!(bytes(&m, "0.19.0", &one, 1), linear);
        m.model_type = "mistral".into();
        assert_eq!(bytes(&m, "0.15.0", &one, 1), linear);
        assert!(bytes(&m, "0.14.0", &one, 1) > linear);
        m.model_type = "qwen3".into();
        assert_eq!(bytes(&m, "0.15.0", &one, 1), linear);
        assert!(bytes(&m, "0.16.0", &one, 1) > linear);
        // A class not read: counted, and said to be an upper bound.
        m.model_type = "granite".into();
        let unknown = memory(&m, v("0.19.0"), &one, &stage(1, 32));
        assert!(unknown.embeddings_assumed && unknown.stacks_gib * GIB > linear);
        assert!(note(&one, &unknown).unwrap().contains("are an upper bound: embed_tokens and lm_head"));
        assert_eq!(note(&one, &memory(&llama_8b(), v("0.19.0"), &one, &stage(1, 32))), None);
    }

    #[test]
    fn refusals_in_vllms_words() {
        let m = llama_8b();
        let rank = |r: u64| LoraArgs { max_lora_rank: r, ..LoraArgs::default() };
        assert_eq!(
            refusals(&m, v("0.7.3"), &rank(512), false),
            ["max_lora_rank (512) must be one of (8, 16, 32, 64, 128, 256)."]
        );
        assert!(refusals(&m, v("0.8.0"), &rank(512), false).is_empty());
        assert_eq!(
            refusals(&m, v("0.10.1.1"), &rank(24), false),
            ["max_lora_rank (24) must be one of (8, 16, 32, 64, 128, 256, 320, 512)."]
        );
        assert_eq!(
            refusals(&m, v("0.19.0"), &rank(24), false),
            ["argument --max-lora-rank: invalid choice: 24 (choose from 1, 8, 16, 32, 64, 128, 256, 320, 512)"]
        );
        assert!(refusals(&m, v("0.19.0"), &rank(1), false).is_empty());
        let cpu = LoraArgs { max_loras: 4, max_cpu_loras: Some(2), ..LoraArgs::default() };
        assert_eq!(refusals(&m, v("0.19.0"), &cpu, false), ["max_cpu_loras (2) must be >= max_loras (4)."]);
        assert_eq!(
            refusals(&m, v("0.6.4"), &LoraArgs::default(), true),
            ["LoRA is not supported with chunked prefill yet."]
        );
        assert!(refusals(&m, v("0.6.5"), &LoraArgs::default(), true).is_empty());
        // The vocabulary check runs only where lm_head is wrapped.
        let mut big = llama_8b();
        big.vocab = 257_000;
        assert_eq!(
            refusals(&big, v("0.10.1.1"), &LoraArgs::default(), false),
            ["When using LoRA, vocab size must be 32000 >= vocab_size <= 257024"]
        );
        assert!(refusals(&big, v("0.19.0"), &LoraArgs::default(), false).is_empty());
        big.vocab = 262_144;
        assert_eq!(
            refusals(&big, v("0.19.0"), &LoraArgs::default(), false),
            ["When using LoRA, vocab size must be <= 258048"]
        );
        big.model_type = "gemma3".into();
        assert!(refusals(&big, v("0.19.0"), &LoraArgs::default(), false).is_empty());
    }

    #[test]
    fn a_mixture_of_experts_is_not_sized() {
        let mut m = llama_8b();
        assert_eq!(unsized_reason(&m, v("0.19.0")), None);
        m.moe = true;
        let reason = unsized_reason(&m, v("0.19.0")).unwrap();
        assert!(reason.starts_with("not sized by gpuops: LoRA (--enable-lora) on the mixture of experts"), "{reason}");
        assert!(reason.contains("every expert"), "{reason}");
        assert!(unsized_reason(&m, v("0.10.1.1")).unwrap().contains("shared-expert"));
    }
}
