//! The vLLM memory model: does a model fit on a GPU at a tensor- and
//! pipeline-parallel size and context length, and how much context fits —
//! computed the way vLLM's profiler and KV-cache planner do it:
//!
//! - `requested = total × gpu_memory_utilization`, `total` being what CUDA
//!   reports (vllm/v1/worker/gpu_worker.py `determine_available_memory`);
//! - the KV budget is what `requested` leaves after the weights on this GPU,
//!   the profile run's activation peak, non-torch memory and — from vLLM
//!   0.21 — the CUDA graph estimate ([`overhead`], calibrated on public logs);
//!   `--kv-cache-memory-bytes` replaces all of that with a fixed budget;
//! - a token costs `2 × layers/PP × max(1, kv_heads/TP) × head_dim × bytes`
//!   (`get_num_kv_heads` replicates KV heads when TP exceeds them), MLA one
//!   latent per layer; sliding-window layers hold at most
//!   `window − 1 + max_num_batched_tokens` tokens of a request (V1
//!   `SlidingWindowSpec.max_memory_usage_bytes`; V0 allocates them in full);
//! - vLLM refuses to start when one request of `max_model_len` tokens does
//!   not fit (vllm/v1/core/kv_cache_utils.py `_check_enough_kv_cache_memory`).

mod dtype;
pub mod engine;
pub mod overhead;

use serde::Serialize;

pub use dtype::{Dtype, KvCacheDtype, Quantization};
pub use engine::{Entrypoint, Generation};

use super::catalog::{GpuInfo, MemorySource, ModelShape, Vendor};

const GIB: f64 = (1u64 << 30) as f64;
/// vLLM allocates the KV cache in blocks of 16 tokens.
const BLOCK: u64 = 16;

/// Engine arguments that change memory use; `None` is vLLM's default for
/// the engine generation.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineArgs {
    pub tensor_parallel: u64,
    pub pipeline_parallel: u64,
    pub max_model_len: Option<u64>,
    pub gpu_memory_utilization: Option<f64>,
    /// `--dtype` as written: auto (the checkpoint's 16-bit type), bfloat16,
    /// float16/half, float32; read through [`Dtype::parse`].
    pub dtype: String,
    /// `--quantization` as written: fp8, awq, gptq, … (weights); read
    /// through [`Quantization::parse`].
    pub quantization: Option<String>,
    /// `--kv-cache-dtype` as written: auto or fp8*; read through
    /// [`KvCacheDtype::parse`].
    pub kv_cache_dtype: String,
    pub max_num_seqs: Option<u64>,
    pub max_num_batched_tokens: Option<u64>,
    pub enforce_eager: bool,
    pub kv_cache_memory_bytes: Option<u64>,
    pub cpu_offload_gb: f64,
    /// The engine generation (the image's vLLM version, or `--engine`).
    pub engine: Option<Generation>,
    pub entrypoint: Entrypoint,
}

impl Default for EngineArgs {
    fn default() -> Self {
        Self {
            tensor_parallel: 1,
            pipeline_parallel: 1,
            max_model_len: None,
            gpu_memory_utilization: None,
            dtype: "auto".into(),
            quantization: None,
            kv_cache_dtype: "auto".into(),
            max_num_seqs: None,
            max_num_batched_tokens: None,
            enforce_eager: false,
            kv_cache_memory_bytes: None,
            cpu_offload_gb: 0.0,
            engine: None,
            entrypoint: Entrypoint::Server,
        }
    }
}

/// `--max-model-len` values: `32768`, `32k` (×1000), `128K` (×1024), `25.6k`.
pub fn parse_max_model_len(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, factor) = match text.chars().last()? {
        'k' => (&text[..text.len() - 1], 1000.0),
        'K' => (&text[..text.len() - 1], 1024.0),
        'm' => (&text[..text.len() - 1], 1_000_000.0),
        'M' => (&text[..text.len() - 1], 1_048_576.0),
        _ => (text, 1.0),
    };
    let value: f64 = number.parse().ok()?;
    (value > 0.0).then_some((value * factor) as u64)
}

/// Memory sizes as users write them: `24GiB`, `24Gi`, `80GB` (decimal),
/// `81559MiB`, `23.5` (GiB). Returns GiB.
pub fn parse_memory_gib(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    let gib = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "g" | "gi" | "gib" => value,
        "gb" => value * 1e9 / GIB,
        "m" | "mi" | "mib" => value / 1024.0,
        "mb" => value * 1e6 / GIB,
        "t" | "ti" | "tib" => value * 1024.0,
        _ => return None,
    };
    (gib > 0.0).then_some(gib)
}

/// `--kv-cache-memory-bytes` as gpufit reads it wherever it appears (a
/// manifest's args, `gpufit model`'s flag): bytes. A plain number is bytes,
/// as vLLM reads the flag (`CacheConfig.kv_cache_memory_bytes`, an int);
/// a Kubernetes quantity (`8Gi`, `8G`) or a size with a byte unit (`8GiB`,
/// `8GB`, `512MiB`) is converted. `None` for anything else.
pub fn parse_kv_cache_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let quantity =
        text.strip_suffix(['B', 'b']).filter(|t| t.ends_with(|c: char| c.is_ascii_alphabetic())).unwrap_or(text);
    let bytes = gpuops_manifest::quantity::parse_quantity(quantity)?;
    (bytes >= 1.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// What one GPU of a TP×PP group holds (the busiest pipeline stage).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryFit {
    pub model: String,
    pub gpu: String,
    pub engine: Generation,
    pub tensor_parallel: u64,
    pub pipeline_parallel: u64,
    /// What CUDA/ROCm reports (GiB), and where that figure comes from.
    pub gpu_memory_gib: f64,
    pub gpu_memory_source: MemorySource,
    pub gpu_memory_utilization: f64,
    /// `total × utilization`: what vLLM may use.
    pub usable_gib: f64,
    pub weights_per_gpu_gib: f64,
    pub activation_gib: f64,
    pub non_torch_gib: f64,
    pub cuda_graph_gib: f64,
    /// Whether the CUDA graph estimate comes out of the budget (vLLM ≥ 0.21).
    pub cuda_graph_in_budget: bool,
    /// Activation + non-torch (+ CUDA graphs when in the budget).
    pub overhead_gib: f64,
    pub kv_budget_gib: f64,
    pub kv_bytes_per_token: u64,
    /// "GPU KV cache size: N tokens", as vLLM logs it.
    pub kv_pool_tokens: u64,
    /// Longest context one request can have (0 when the weights do not fit;
    /// `u64::MAX` when every layer slides).
    pub max_context: u64,
    pub max_model_len: u64,
    pub max_num_batched_tokens: u64,
    pub max_num_seqs: u64,
    /// TP divides the attention heads (vLLM refuses otherwise).
    pub tp_valid: bool,
    /// The dtype runs on this GPU (bf16 needs compute capability ≥ 8.0).
    pub dtype_supported: bool,
    pub fits: bool,
    /// Why not, in vLLM's terms.
    pub problems: Vec<String>,
}

/// Bytes per weight of the quantized layers, and whether any are quantized.
/// A checkpoint that is already quantized loads as stored unless
/// `--quantization` says otherwise.
fn weight_bytes_per_param(model: &ModelShape, args: &EngineArgs) -> (f64, bool) {
    if args.quantization.is_none()
        && let Some(bytes) = model.checkpoint_bytes
    {
        return (bytes, true);
    }
    match args.quantization.as_deref().map(Quantization::parse).and_then(|q| q.bytes_per_weight()) {
        Some(bytes) => (bytes, true),
        None => (Dtype::parse(&args.dtype).bytes() as f64, false),
    }
}

/// The weights one GPU of the busiest pipeline stage holds (GiB): its share
/// of the layers split by TP, plus the embedding or `lm_head` of an end stage.
fn weights_per_gpu_gib(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, tp: u64, pp: u64) -> f64 {
    let (bytes, quantized) = weight_bytes_per_param(model, args);
    let embedding = model.embedding_b * 1e9 * if quantized { 2.0 } else { bytes };
    let body_params = (model.params_b - model.embedding_b) * 1e9;
    let body = if quantized && model.experts_only_quantized {
        // MXFP4: half a byte of value per weight plus the shared scales;
        // the values are laid out (and padded) for the MoE kernel.
        let values = 0.5 * mxfp4_value_padding(model, gpu, tp);
        model.expert_b * 1e9 * (values + (bytes - 0.5).max(0.0)) + (body_params - model.expert_b * 1e9) * 2.0
    } else {
        body_params * bytes
    };
    let stage_share = model.layers.div_ceil(pp) as f64 / model.layers.max(1) as f64;
    // With PP the first stage holds the embedding and the last the lm_head:
    // one vocab × hidden matrix each (a tied one is held at both ends).
    let embedding_share =
        if pp > 1 { (model.vocab * model.hidden) as f64 * if quantized { 2.0 } else { bytes } } else { embedding };
    let weights = (body * stage_share + embedding_share) / tp as f64 / GIB;
    (weights - args.cpu_offload_gb).max(0.0)
}

/// How much larger MXFP4 expert values are once laid out for the MoE
/// kernel than as stored. On NVIDIA compute capability 8.x and 9.x vLLM
/// runs gpt-oss experts through triton_kernels' Hopper layout (also
/// Ampere's since triton-lang/triton#8474), which pads each expert matrix:
/// the output dimension to 256 elements (triton-lang/triton#10428) and the
/// packed input dimension to 64 bytes — gpt-oss-120b's w13 becomes
/// (128, 1472, 5888) from (128, 1440, 5760) (NVIDIA/TensorRT-LLM#16125) —
/// after vLLM rounds each rank's expert width up to 64
/// (vllm/model_executor/layers/quantization/mxfp4.py `create_weights`).
/// That is why vLLM logs 13.47 GiB for gpt-oss-20b on an H100, not the
/// checkpoint's 12.8. Other GPUs keep the stored size here: no calibration
/// row says what Blackwell's FlashInfer layout adds.
fn mxfp4_value_padding(model: &ModelShape, gpu: &GpuInfo, tp: u64) -> f64 {
    let hopper_layout =
        gpu.vendor == Vendor::Nvidia && gpu.compute_capability().is_some_and(|(major, _)| (8..=9).contains(&major));
    if !hopper_layout || model.expert_width == 0 || model.hidden == 0 {
        return 1.0;
    }
    let hidden = model.hidden;
    let width = model.expert_width.div_ceil(tp.max(1));
    let padded_width = width.next_multiple_of(64);
    // Elements of [N, K] stored as K/2 bytes per row; padded to N % 256, K/2 % 64.
    let stored = |n: u64, k: u64| (n * k.div_ceil(2)) as f64;
    let padded = |n: u64, k: u64| (n.next_multiple_of(256) * k.div_ceil(2).next_multiple_of(64)) as f64;
    let logical = stored(2 * width, hidden) + stored(hidden, width);
    let laid_out = padded(2 * padded_width, hidden) + padded(hidden, padded_width);
    laid_out / logical
}

/// Evaluate `model` on `gpu` with `args`.
pub fn evaluate(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs) -> MemoryFit {
    let generation = args.engine.unwrap_or(Generation::NEWEST);
    let tp = args.tensor_parallel.max(1);
    let pp = args.pipeline_parallel.max(1);
    let utilization = args.gpu_memory_utilization.unwrap_or_else(|| generation.default_utilization());
    let total = gpu.total_gib;
    let usable_gib = total * utilization;
    let max_model_len = args.max_model_len.unwrap_or(model.max_position);
    let (default_tokens, default_seqs) =
        engine::scheduler_defaults(generation, args.entrypoint, total, &gpu.label, max_model_len);
    let max_num_batched_tokens = args.max_num_batched_tokens.unwrap_or(default_tokens);
    let max_num_seqs = args.max_num_seqs.unwrap_or(default_seqs);

    let weights_per_gpu_gib = weights_per_gpu_gib(model, gpu, args, tp, pp);
    // V0 profiles one prefill of the whole batch; V1 a chunk of it.
    let activation_gib = overhead::activation_gib(generation, model, tp, max_num_batched_tokens, max_num_seqs);
    let non_torch_gib = overhead::non_torch_gib(generation, gpu, tp * pp);
    let cuda_graph_gib = overhead::cuda_graph_gib(model, args.enforce_eager);
    let cuda_graph_in_budget = generation == Generation::V1Graphs;
    let overhead_gib = activation_gib + non_torch_gib + if cuda_graph_in_budget { cuda_graph_gib } else { 0.0 };
    let kv_budget_gib = match args.kv_cache_memory_bytes {
        Some(bytes) => bytes as f64 / GIB,
        None => usable_gib - weights_per_gpu_gib - overhead_gib,
    };

    let (_, quantized) = weight_bytes_per_param(model, args);
    let kv_bytes: u64 = match KvCacheDtype::parse(&args.kv_cache_dtype) {
        KvCacheDtype::Fp8 => 1,
        // A quantized model computes (and caches) in 16 bits.
        KvCacheDtype::Auto | KvCacheDtype::Other(_) if quantized => 2,
        KvCacheDtype::Auto | KvCacheDtype::Other(_) => Dtype::parse(&args.dtype).bytes(),
    };
    let stage_layers = model.layers.div_ceil(pp);
    let per_layer = match model.mla_latent {
        // MLA caches one latent vector per token and layer, on every TP rank.
        Some(latent) => latent * kv_bytes,
        None => 2 * (model.kv_heads / tp).max(1) * model.head_dim * kv_bytes,
    };
    let kv_bytes_per_token = stage_layers * per_layer;
    let budget_bytes = (kv_budget_gib.max(0.0) * GIB) as u64;
    let kv_pool_tokens = budget_bytes / kv_bytes_per_token.max(1) / BLOCK * BLOCK;
    // Sliding layers keep a bounded window per request in V1.
    let sliding_layers = if generation == Generation::V0 {
        0
    } else {
        (model.sliding_layers * stage_layers).div_ceil(model.layers.max(1)).min(stage_layers)
    };
    let full_layers = stage_layers - sliding_layers;
    let window_tokens =
        model.sliding_window.map_or(0, |w| (w.saturating_sub(1) + max_num_batched_tokens).div_ceil(BLOCK) * BLOCK);
    let request_bytes = |len: u64| {
        let blocks = len.div_ceil(BLOCK) * BLOCK;
        full_layers * per_layer * blocks + sliding_layers * per_layer * blocks.min(window_tokens)
    };
    let max_context = if kv_budget_gib <= 0.0 {
        0
    } else if full_layers == 0 {
        if request_bytes(window_tokens) <= budget_bytes { u64::MAX } else { 0 }
    } else {
        let sliding_bytes = sliding_layers * per_layer * window_tokens;
        let tokens = budget_bytes.saturating_sub(sliding_bytes) / (full_layers * per_layer);
        let tokens = tokens / BLOCK * BLOCK;
        // Short of the window, every layer holds the whole request.
        if tokens < window_tokens { kv_pool_tokens } else { tokens }
    };

    let tp_valid = model.heads.is_none_or(|h| h % tp == 0);
    let wants_bf16 = Dtype::parse(&args.dtype).wants_bf16();
    let dtype_supported = !wants_bf16 || gpu.bf16;
    let mut problems = Vec::new();
    if !(utilization > 0.0 && utilization <= 1.0) {
        problems.push(format!("GPU memory utilization must be within (0, 1]. Got {utilization}."));
    }
    if !tp_valid {
        problems.push(format!(
            "Total number of attention heads ({}) must be divisible by tensor parallel size ({tp}).",
            model.heads.unwrap_or(0)
        ));
    }
    if !dtype_supported {
        problems.push(format!(
            "Bfloat16 is only supported on GPUs with compute capability of at least 8.0; {} has {} (use --dtype half)",
            gpu.label, gpu.compute
        ));
    }
    if kv_budget_gib <= 0.0 {
        problems.push(format!(
            "No available memory for the cache blocks: weights need {weights_per_gpu_gib:.2} GiB per GPU plus {overhead_gib:.2} GiB for activations and buffers, more than the {usable_gib:.2} GiB vLLM may use. Try increasing `gpu_memory_utilization` when initializing the engine."
        ));
    } else if max_context < max_model_len {
        problems.push(match generation {
            Generation::V0 => format!(
                "The model's max seq len ({max_model_len}) is larger than the maximum number of tokens that can be stored in KV cache ({max_context}). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
            ),
            _ => format!(
                "To serve at least one request with the model's max seq len ({max_model_len}), ({:.2} GiB KV cache is needed, which is larger than the available KV cache memory ({kv_budget_gib:.2} GiB). Based on the available memory, the estimated maximum model length is {max_context}. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
                request_bytes(max_model_len) as f64 / GIB
            ),
        });
    }
    // CUDA graphs captured after the KV cache, or a fixed KV budget, can
    // overrun the GPU itself.
    let outside = if cuda_graph_in_budget { 0.0 } else { cuda_graph_gib };
    let resident = match args.kv_cache_memory_bytes {
        Some(_) => weights_per_gpu_gib + overhead_gib + kv_budget_gib + outside,
        None => usable_gib.max(weights_per_gpu_gib + overhead_gib) + outside,
    };
    if kv_budget_gib > 0.0 && resident > total {
        problems.push(format!(
            "CUDA out of memory: {resident:.2} GiB needed on a {total:.2} GiB GPU (KV cache and CUDA graphs of {cuda_graph_gib:.2} GiB on top of the weights); lower --gpu-memory-utilization or --kv-cache-memory-bytes, or add --enforce-eager"
        ));
    }
    MemoryFit {
        model: model.id.clone(),
        gpu: gpu.label.clone(),
        engine: generation,
        tensor_parallel: tp,
        pipeline_parallel: pp,
        gpu_memory_gib: total,
        gpu_memory_source: gpu.memory_source,
        gpu_memory_utilization: utilization,
        usable_gib,
        weights_per_gpu_gib,
        activation_gib,
        non_torch_gib,
        cuda_graph_gib,
        cuda_graph_in_budget,
        overhead_gib,
        kv_budget_gib,
        kv_bytes_per_token,
        kv_pool_tokens,
        max_context,
        max_model_len,
        max_num_batched_tokens,
        max_num_seqs,
        tp_valid,
        dtype_supported,
        fits: problems.is_empty(),
        problems,
    }
}

/// The smallest tensor-parallel size (≤ `max_gpus`) at which the model fits.
pub fn smallest_fitting_tp(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, max_gpus: u64) -> Option<u64> {
    (1..=max_gpus.max(1)).find(|tp| {
        let candidate = EngineArgs { tensor_parallel: *tp, ..args.clone() };
        evaluate(model, gpu, &candidate).fits
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{find_model, gpu_product};

    fn gpu(name: &str) -> GpuInfo {
        gpu_product(name).unwrap().into()
    }

    fn fit_with(model: &str, gpu_name: &str, args: EngineArgs) -> MemoryFit {
        evaluate(&find_model(model).unwrap(), &gpu(gpu_name), &args)
    }

    fn fit(model: &str, gpu_name: &str, tp: u64, len: Option<u64>) -> MemoryFit {
        fit_with(model, gpu_name, EngineArgs { tensor_parallel: tp, max_model_len: len, ..EngineArgs::default() })
    }

    /// One reading of the flag for a manifest and for `gpufit model`: a
    /// plain number is bytes (it was GiB in `model`), units convert.
    #[test]
    fn kv_cache_memory_is_bytes_everywhere() {
        assert_eq!(parse_kv_cache_bytes("8589934592"), Some(8 << 30));
        assert_eq!(parse_kv_cache_bytes("8Gi"), Some(8 << 30));
        assert_eq!(parse_kv_cache_bytes("8GiB"), Some(8 << 30));
        assert_eq!(parse_kv_cache_bytes("8G"), Some(8_000_000_000));
        assert_eq!(parse_kv_cache_bytes("8GB"), Some(8_000_000_000));
        assert_eq!(parse_kv_cache_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_kv_cache_bytes("lots"), None);
        assert_eq!(parse_kv_cache_bytes("0"), None);
    }

    #[test]
    fn worked_fits_on_the_newest_engine() {
        // Llama-3.1-8B on L4: 22.05 GiB × 0.92, less 14.96 of weights and
        // ~1.5 of activations, buffers and CUDA graphs → ≈ 31k tokens; the
        // model's own 131,072 does not fit, 16,384 does.
        let f = fit("Llama-3.1-8B", "L4", 1, None);
        assert_eq!((f.gpu_memory_gib, f.gpu_memory_utilization, f.engine), (22.05, 0.92, Generation::V1Graphs));
        assert!((28_000..34_000).contains(&f.max_context), "{}", f.max_context);
        assert!(!f.fits && f.problems[0].contains("estimated maximum model length is"), "{:?}", f.problems);
        assert!(fit("Llama-3.1-8B", "L4", 1, Some(16_384)).fits);
        // H100: ≈ 430k tokens; the 131k context fits three times over.
        let h100 = fit("Llama-3.1-8B", "H100-80GB", 1, None);
        assert!(h100.fits && (400_000..460_000).contains(&h100.kv_pool_tokens), "{}", h100.kv_pool_tokens);
        // Qwen2.5-32B at TP2 on L40S fits 32768; on A100-40GB it does not.
        assert!(fit("Qwen2.5-32B", "L40S", 2, None).fits);
        assert!(!fit("Qwen2.5-32B", "A100-40GB", 2, None).fits);
        // Qwen2.5-VL-32B at its 128000: 1×H100 no, 2×H100 yes.
        assert!(!fit("Qwen2.5-VL-32B", "H100", 1, None).fits);
        assert!(fit("Qwen2.5-VL-32B", "H100", 2, None).fits);
        // Llama-3.3-70B needs more than 2×H100 at full context.
        assert!(!fit("Llama-3.3-70B-Instruct", "H100", 2, None).fits);
        assert!(fit("Llama-3.3-70B-Instruct", "H100", 4, None).fits);
        // AMD: the whole 405B in FP8 on one MI300X node.
        assert!(fit("meta-llama/Llama-3.1-405B-Instruct-FP8", "MI300X", 8, Some(32_768)).fits);
    }

    #[test]
    fn vllm_refusals() {
        let f = fit("Qwen2.5-0.5B", "L4", 4, None);
        assert!(!f.tp_valid && !f.fits);
        assert!(f.problems[0].contains("(14) must be divisible by tensor parallel size (4)"));
        let t4 = fit("Qwen2.5-7B", "T4", 1, None);
        assert!(!t4.dtype_supported && !t4.fits);
        let m = find_model("Qwen2.5-VL-32B").unwrap();
        assert_eq!(smallest_fitting_tp(&m, &gpu("H100"), &EngineArgs::default(), 8), Some(2));
        let bad =
            fit_with("Llama-3.1-8B", "H100", EngineArgs { gpu_memory_utilization: Some(1.2), ..EngineArgs::default() });
        assert!(bad.problems[0].contains("must be within (0, 1]"), "{:?}", bad.problems);
        // V0 words it differently.
        let v0 = fit_with("Llama-3.1-8B", "L4", EngineArgs { engine: Some(Generation::V0), ..EngineArgs::default() });
        assert!(v0.problems[0].starts_with("The model's max seq len (131072) is larger than"), "{:?}", v0.problems);
        assert_eq!(v0.gpu_memory_utilization, 0.9);
    }

    #[test]
    fn mxfp4_experts_are_padded_as_the_hopper_layout_pads_them() {
        // gpt-oss-120b's w13 (128, 1440 B, 5760) is laid out as (128, 1472,
        // 5888) (NVIDIA/TensorRT-LLM#16125); w2 (2880 × 1440 B) as 3072 × 1472.
        let oss = find_model("openai/gpt-oss-120b").unwrap();
        let expected = (5888.0 * 1472.0 + 3072.0 * 1472.0) / (5760.0 * 1440.0 + 2880.0 * 1440.0);
        assert!((mxfp4_value_padding(&oss, &gpu("H100"), 1) - expected).abs() < 1e-12);
        assert!((mxfp4_value_padding(&oss, &gpu("A100-80GB"), 1) - expected).abs() < 1e-12, "Ampere shares it");
        assert_eq!(mxfp4_value_padding(&oss, &gpu("B200"), 1), 1.0);
        assert_eq!(mxfp4_value_padding(&oss, &gpu("MI300X"), 1), 1.0);
        // A rank's width (2880 / 4 = 720) is rounded to 768 before the layout.
        let tp4 = (1536.0 * 1472.0 + 3072.0 * 384.0) / (1440.0 * 1440.0 + 2880.0 * 360.0);
        assert!((mxfp4_value_padding(&oss, &gpu("H100"), 4) - tp4).abs() < 1e-12);
    }

    #[test]
    fn architectures_change_what_a_token_costs() {
        // KV heads replicate when TP exceeds them: Qwen2.5-7B has 4.
        let tp8 = fit("Qwen2.5-7B", "H100", 4, None);
        let tp8b = fit_with("Qwen2.5-7B", "H100", EngineArgs { tensor_parallel: 7, ..EngineArgs::default() });
        assert_eq!(tp8.kv_bytes_per_token, 28 * 2 * 128 * 2);
        assert_eq!(tp8b.kv_bytes_per_token, tp8.kv_bytes_per_token, "one head per GPU, never less");
        // MLA: one 576-wide latent per layer, whatever the TP.
        let v3 =
            fit_with("deepseek-ai/DeepSeek-V3", "H200", EngineArgs { tensor_parallel: 8, ..EngineArgs::default() });
        assert_eq!(v3.kv_bytes_per_token, 61 * 576 * 2);
        assert!((v3.weights_per_gpu_gib - 79.0).abs() < 3.0, "{}", v3.weights_per_gpu_gib);
        // Gemma 3 slides on 5 of 6 layers: one request can be far longer
        // than the pool divided evenly over all layers.
        let gemma = fit("google/gemma-3-27b-it", "H100", 1, None);
        assert!(gemma.max_context > 3 * gemma.kv_pool_tokens, "{} vs {}", gemma.max_context, gemma.kv_pool_tokens);
        // fp8 KV halves a token.
        let fp8 = fit_with("Llama-3.1-8B", "L4", EngineArgs { kv_cache_dtype: "fp8".into(), ..EngineArgs::default() });
        assert_eq!(fp8.kv_bytes_per_token * 2, fit("Llama-3.1-8B", "L4", 1, None).kv_bytes_per_token);
        // Pipeline parallel splits the layers: Llama-70B TP4×PP2 holds a
        // quarter of a half, plus one vocabulary matrix.
        let pp = fit_with(
            "Llama-3.3-70B-Instruct",
            "H100",
            EngineArgs { tensor_parallel: 4, pipeline_parallel: 2, ..EngineArgs::default() },
        );
        assert_eq!(pp.kv_bytes_per_token, 40 * 2 * 2 * 128 * 2);
        assert!((pp.weights_per_gpu_gib - 16.5).abs() < 0.5, "{}", pp.weights_per_gpu_gib);
        // MXFP4 quantizes gpt-oss's experts only: ≈ 12.8 GiB as stored, not
        // 10; on an H100 the Hopper layout pads the experts to ≈ 13.3.
        let oss = fit("openai/gpt-oss-20b", "H100", 1, None);
        assert!((13.2..13.5).contains(&oss.weights_per_gpu_gib), "{}", oss.weights_per_gpu_gib);
        let blackwell = fit("openai/gpt-oss-20b", "B200", 1, None);
        assert!((12.7..12.9).contains(&blackwell.weights_per_gpu_gib), "{}", blackwell.weights_per_gpu_gib);
    }

    #[test]
    fn flags_that_move_the_budget() {
        let base = fit("Llama-3.1-8B", "L4", 1, Some(16_384));
        let eager = fit_with(
            "Llama-3.1-8B",
            "L4",
            EngineArgs { enforce_eager: true, max_model_len: Some(16_384), ..EngineArgs::default() },
        );
        assert!(
            (eager.kv_budget_gib - base.kv_budget_gib - base.cuda_graph_gib).abs() < 1e-9,
            "graphs leave the budget"
        );
        let offload = fit_with(
            "Llama-3.1-8B",
            "L4",
            EngineArgs { cpu_offload_gb: 4.0, max_model_len: Some(16_384), ..EngineArgs::default() },
        );
        assert!((base.weights_per_gpu_gib - offload.weights_per_gpu_gib - 4.0).abs() < 1e-9);
        let fixed = fit_with(
            "Llama-3.1-8B",
            "L4",
            EngineArgs { kv_cache_memory_bytes: Some(2 << 30), max_model_len: Some(8192), ..EngineArgs::default() },
        );
        assert_eq!(fixed.kv_budget_gib, 2.0);
        assert!(fixed.fits);
        let too_big = fit_with(
            "Llama-3.1-8B",
            "L4",
            EngineArgs { kv_cache_memory_bytes: Some(8 << 30), max_model_len: Some(8192), ..EngineArgs::default() },
        );
        assert!(too_big.problems.iter().any(|p| p.starts_with("CUDA out of memory")), "{:?}", too_big.problems);
        // More sequences, more sampler memory.
        let seqs = fit_with("Llama-3.1-8B", "L4", EngineArgs { max_num_seqs: Some(1024), ..EngineArgs::default() });
        assert!(seqs.activation_gib > base.activation_gib);
    }

    #[test]
    fn lengths_and_sizes_parse_like_users_write_them() {
        assert_eq!(parse_max_model_len("32768"), Some(32768));
        assert_eq!(parse_max_model_len("32k"), Some(32000));
        assert_eq!(parse_max_model_len("128K"), Some(131072));
        assert_eq!(parse_max_model_len("25.6k"), Some(25600));
        assert_eq!(parse_max_model_len("x"), None);
        assert_eq!(parse_memory_gib("24GiB"), Some(24.0));
        assert_eq!(parse_memory_gib("24Gi"), Some(24.0));
        assert_eq!(parse_memory_gib("81559MiB"), Some(81559.0 / 1024.0));
        assert!((parse_memory_gib("80GB").unwrap() - 74.51).abs() < 0.01);
        assert_eq!(parse_memory_gib("15.5"), Some(15.5));
        assert_eq!(parse_memory_gib("lots"), None);
        assert_eq!(parse_memory_gib("-3GiB"), None);
    }
}
