//! The vLLM memory model: does a model fit on a GPU at a tensor-parallel
//! size and context length, and how much context does fit.
//!
//! `requested = GPU memory × gpu-memory-utilization`; what is left after the
//! weights (÷ TP×PP) and a fixed overhead (2.5 GiB; 1.5 GiB under 3B
//! parameters; +0.5 GiB with TP > 1; +1 GiB for vision models: activation
//! peak, CUDA context, NCCL, CUDA graphs) holds the KV cache, at
//! `2 × layers/PP × max(1, kv_heads/TP) × head_dim × kv_bytes` per token.
//! vLLM refuses to start when one request of `--max-model-len` tokens does
//! not fit (shared/reference/gpu-fit.md §4).

use serde::Serialize;

use super::catalog::{GpuInfo, ModelShape};

const GIB: f64 = (1u64 << 30) as f64;
/// vLLM allocates the KV cache in blocks of 16 tokens.
const BLOCK: u64 = 16;

/// Engine arguments that change memory use.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineArgs {
    pub tensor_parallel: u64,
    pub pipeline_parallel: u64,
    pub max_model_len: Option<u64>,
    pub gpu_memory_utilization: f64,
    /// `--dtype`: auto (bf16 for these models), bfloat16, float16/half, float32.
    pub dtype: String,
    /// `--quantization`: fp8, awq, gptq, … (weights).
    pub quantization: Option<String>,
    /// `--kv-cache-dtype`: auto or fp8*.
    pub kv_cache_dtype: String,
}

impl Default for EngineArgs {
    fn default() -> Self {
        Self {
            tensor_parallel: 1,
            pipeline_parallel: 1,
            max_model_len: None,
            gpu_memory_utilization: 0.9,
            dtype: "auto".into(),
            quantization: None,
            kv_cache_dtype: "auto".into(),
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

/// What one GPU of a TP×PP group holds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryFit {
    pub model: String,
    pub gpu: String,
    pub tensor_parallel: u64,
    pub pipeline_parallel: u64,
    pub gpu_memory_gib: f64,
    pub usable_gib: f64,
    pub weights_per_gpu_gib: f64,
    pub overhead_gib: f64,
    pub kv_budget_gib: f64,
    pub kv_bytes_per_token: u64,
    /// Longest context one request can have (0 when the weights do not fit).
    pub max_context: u64,
    pub max_model_len: u64,
    /// TP divides the attention heads (vLLM refuses otherwise).
    pub tp_valid: bool,
    /// The dtype runs on this GPU (bf16 needs compute capability ≥ 8.0).
    pub dtype_supported: bool,
    pub fits: bool,
    /// Why not, in vLLM's terms.
    pub problems: Vec<String>,
}

fn weight_bytes_per_param(model: &ModelShape, args: &EngineArgs) -> (f64, bool) {
    // (bytes per parameter, embeddings stay 16-bit). A checkpoint that is
    // already quantized loads as stored unless --quantization says otherwise.
    if args.quantization.is_none()
        && let Some(bytes) = model.checkpoint_bytes
    {
        return (bytes, true);
    }
    match args.quantization.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some(q) if q.starts_with("fp8") || q == "int8" || q.contains("w8a8") => (1.0, true),
        Some(q) if q.contains("awq") || q.contains("gptq") || q.contains("int4") || q.contains("bitsandbytes") => {
            (0.52, true)
        }
        _ => match args.dtype.as_str() {
            "float32" | "fp32" => (4.0, false),
            _ => (2.0, false),
        },
    }
}

/// Evaluate `model` on `gpu` with `args`.
pub fn evaluate(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs) -> MemoryFit {
    let tp = args.tensor_parallel.max(1);
    let pp = args.pipeline_parallel.max(1);
    let gpu_memory_gib = gpu.memory_mib as f64 / 1024.0;
    let usable_gib = gpu_memory_gib * args.gpu_memory_utilization;
    let (bytes, embeddings_16bit) = weight_bytes_per_param(model, args);
    let weights = if embeddings_16bit {
        (model.params_b - model.embedding_b) * 1e9 * bytes + model.embedding_b * 1e9 * 2.0
    } else {
        model.params_b * 1e9 * bytes
    };
    let weights_per_gpu_gib = weights / (tp * pp) as f64 / GIB;
    let mut overhead_gib = if model.params_b < 3.0 { 1.5 } else { 2.5 };
    if tp > 1 {
        overhead_gib += 0.5;
    }
    if model.vision {
        overhead_gib += 1.0;
    }
    let kv_budget_gib = usable_gib - weights_per_gpu_gib - overhead_gib;
    let kv_bytes: u64 = if args.kv_cache_dtype.starts_with("fp8") {
        1
    } else if bytes >= 4.0 && !embeddings_16bit {
        4
    } else {
        2
    };
    let kv_heads_per_gpu = (model.kv_heads / tp).max(1);
    let kv_bytes_per_token = match model.mla_latent {
        // MLA caches one latent vector per token and layer, on every TP rank
        // (vllm/attention/backends/mla: no K/V pair, no head split).
        Some(latent) => model.layers.div_ceil(pp) * latent * kv_bytes,
        None => 2 * model.layers.div_ceil(pp) * kv_heads_per_gpu * model.head_dim * kv_bytes,
    };
    let max_context = if kv_budget_gib > 0.0 {
        let tokens = (kv_budget_gib * GIB) as u64 / kv_bytes_per_token;
        tokens / BLOCK * BLOCK
    } else {
        0
    };
    let max_model_len = args.max_model_len.unwrap_or(model.max_position);
    let tp_valid = model.heads.is_none_or(|h| h % tp == 0);
    let wants_bf16 = matches!(args.dtype.as_str(), "auto" | "bfloat16" | "bf16");
    let dtype_supported = !wants_bf16 || gpu.compute_major >= 8;
    let mut problems = Vec::new();
    if !tp_valid {
        problems.push(format!(
            "Total number of attention heads ({}) must be divisible by tensor parallel size ({tp})",
            model.heads.unwrap_or(0)
        ));
    }
    if !dtype_supported {
        problems.push(format!(
            "Bfloat16 is only supported on GPUs with compute capability of at least 8.0; {} has {}.{} (use --dtype half)",
            gpu.label, gpu.compute_major, gpu.compute_minor
        ));
    }
    if kv_budget_gib <= 0.0 {
        problems.push(format!(
            "weights need {weights_per_gpu_gib:.2} GiB per GPU plus {overhead_gib:.1} GiB overhead, more than the {usable_gib:.2} GiB vLLM may use"
        ));
    } else if max_context < max_model_len {
        problems.push(format!(
            "To serve at least one request with the model's max seq len ({max_model_len}), ({:.2} GiB KV cache is needed, which is larger than the available KV cache memory ({kv_budget_gib:.2} GiB). Based on the available memory, the estimated maximum model length is {max_context}",
            (max_model_len * kv_bytes_per_token) as f64 / GIB
        ));
    }
    MemoryFit {
        model: model.id.clone(),
        gpu: gpu.label.clone(),
        tensor_parallel: tp,
        pipeline_parallel: pp,
        gpu_memory_gib,
        usable_gib,
        weights_per_gpu_gib,
        overhead_gib,
        kv_budget_gib,
        kv_bytes_per_token,
        max_context,
        max_model_len,
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

    fn fit(model: &str, gpu: &str, tp: u64, len: Option<u64>) -> MemoryFit {
        let args = EngineArgs { tensor_parallel: tp, max_model_len: len, ..EngineArgs::default() };
        evaluate(&find_model(model).unwrap(), &gpu_product(gpu).unwrap().into(), &args)
    }

    #[test]
    fn worked_fits_from_the_reference() {
        // Llama-3.1-8B on L4: ≈ 2.78 GiB of KV → ≈ 22.8k tokens; 131072 fails.
        let f = fit("Llama-3.1-8B", "L4", 1, None);
        assert!((f.kv_budget_gib - 2.78).abs() < 0.05, "{}", f.kv_budget_gib);
        assert!((22_000..23_500).contains(&f.max_context), "{}", f.max_context);
        assert!(!f.fits);
        assert!(f.problems[0].contains("estimated maximum model length is"));
        assert!(fit("Llama-3.1-8B", "L4", 1, Some(16_384)).fits);
        // H100: ≈ 444k tokens.
        assert!((430_000..460_000).contains(&fit("Llama-3.1-8B", "H100-80GB", 1, None).max_context));
        // Qwen2.5-32B on 2×L40S TP2: ≈ 61k, fits 32768.
        let f = fit("Qwen2.5-32B", "L40S", 2, None);
        assert!(f.fits && (55_000..66_000).contains(&f.max_context), "{}", f.max_context);
        // Qwen2.5-32B on 2×A100-40GB: ≈ 24k, 32768 fails.
        assert!(!fit("Qwen2.5-32B", "A100-40GB", 2, None).fits);
        // Qwen2.5-VL-32B at 128000: 1×H100 fails, 2×H100 fits.
        assert!(!fit("Qwen2.5-VL-32B", "H100", 1, None).fits);
        assert!(fit("Qwen2.5-VL-32B", "H100", 2, None).fits);
        // Llama-3.1-70B needs more than 2×H100 at full context.
        assert!(!fit("Llama-3.1-70B", "H100", 2, None).fits);
        assert!(fit("Llama-3.1-70B", "H100", 4, None).fits);
    }

    #[test]
    fn vllm_refusals() {
        let f = fit("Qwen2.5-0.5B", "L4", 4, None);
        assert!(!f.tp_valid && !f.fits);
        assert!(f.problems[0].contains("(14) must be divisible by tensor parallel size (4)"));
        let t4 = fit("Qwen2.5-7B", "T4", 1, None);
        assert!(!t4.dtype_supported && !t4.fits);
        let m = find_model("Qwen2.5-VL-32B").unwrap();
        assert_eq!(smallest_fitting_tp(&m, &gpu_product("H100").unwrap().into(), &EngineArgs::default(), 8), Some(2));
    }

    #[test]
    fn context_lengths_parse_like_vllm() {
        assert_eq!(parse_max_model_len("32768"), Some(32768));
        assert_eq!(parse_max_model_len("32k"), Some(32000));
        assert_eq!(parse_max_model_len("128K"), Some(131072));
        assert_eq!(parse_max_model_len("25.6k"), Some(25600));
        assert_eq!(parse_max_model_len("x"), None);
    }
}
