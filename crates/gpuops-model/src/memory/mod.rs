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

pub mod allreduce_fusion;
pub mod co_tenant;
mod dtype;
pub mod encoder_decoder;
pub mod engine;
pub mod kv_groups;
pub mod mla_weights;
pub mod overhead;
pub mod recommend;
pub mod refusals;
pub mod version;

use serde::Serialize;

pub use dtype::{Dtype, KvCacheDtype, Quantization};
pub use engine::{Entrypoint, Generation};
pub use recommend::{Demand, Placement, Recommendation, recommend};
pub use version::{SamplerBackend, VllmEnv, VllmVersion};

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
    /// The engine generation when only that is known (`--engine v1`);
    /// the version below decides it otherwise.
    pub engine: Option<Generation>,
    /// The vLLM release (the `gpuops.dev/vllm-version` annotation, else
    /// the image tag); `None`: [`VllmVersion::ASSUMED`], with a note.
    pub vllm_version: Option<VllmVersion>,
    /// The container's `VLLM_*` variables that move the budget.
    pub vllm_env: VllmEnv,
    /// The TP group spans nodes (no custom all-reduce).
    pub multi_node: bool,
    /// GPU memory other processes hold when vLLM starts (a shared GPU).
    pub gpu_memory_in_use_gib: f64,
    pub entrypoint: Entrypoint,
    /// A CPU build of vLLM (an image named for the CPU, or
    /// `VLLM_TARGET_DEVICE=cpu`): it needs no GPU.
    pub cpu_build: bool,
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
            vllm_version: None,
            vllm_env: VllmEnv::default(),
            multi_node: false,
            gpu_memory_in_use_gib: 0.0,
            entrypoint: Entrypoint::Server,
            cpu_build: false,
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
    /// The vLLM release the terms were taken at.
    pub vllm_version: String,
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
    /// The custom all-reduce's buffers inside `non_torch_gib` (0 when vLLM
    /// builds none: one GPU, PCIe beyond two, across nodes, disabled).
    pub custom_all_reduce_gib: f64,
    /// FlashInfer's all-reduce + RMSNorm fusion workspace inside
    /// `non_torch_gib` (vLLM ≥ 0.17, TP > 1 on Hopper/Blackwell, compiled).
    #[serde(skip_serializing_if = "is_zero")]
    pub fi_allreduce_fusion_gib: f64,
    /// The profile sampler's top-k/top-p path and its peak in float32
    /// copies of the `max_num_seqs × vocab` logits.
    pub sampler_backend: SamplerBackend,
    pub sampler_copies: f64,
    pub cuda_graph_gib: f64,
    /// Whether the CUDA graph estimate comes out of the budget (vLLM ≥ 0.21).
    pub cuda_graph_in_budget: bool,
    /// Activation + non-torch (+ CUDA graphs when in the budget).
    pub overhead_gib: f64,
    pub kv_budget_gib: f64,
    pub kv_bytes_per_token: u64,
    /// "GPU KV cache size: N tokens", as vLLM logs it.
    pub kv_pool_tokens: u64,
    /// "Maximum concurrency for {max_model_len} tokens per request: X.XXx",
    /// as vLLM logs it next to the pool size (see `KvLayout::max_concurrency`).
    pub max_concurrency: f64,
    /// KV-cache groups (sliding + full models: equal-size layer groups)
    /// and the padding layers they waste.
    pub kv_groups: u64,
    pub kv_padding_layers: u64,
    /// Longest context one request can have (0 when the weights do not fit;
    /// `u64::MAX` when every layer slides).
    pub max_context: u64,
    pub max_model_len: u64,
    pub max_num_batched_tokens: u64,
    pub max_num_seqs: u64,
    /// TP divides the attention heads, the padded vocabulary and the KV
    /// heads (or they it) — vLLM refuses otherwise.
    pub tp_valid: bool,
    /// The dtype runs on this GPU (bf16 needs compute capability ≥ 8.0).
    pub dtype_supported: bool,
    pub fits: bool,
    /// Why not, in vLLM's terms.
    pub problems: Vec<String>,
    /// What was assumed (an unknown vLLM version).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why gpuops cannot size this case and what to supply (an
    /// encoder-decoder multimodal model without a profiled activation).
    /// Such a fit never "fits": the reason is also its first problem, and
    /// the figures above are not a prediction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_sized: Option<String>,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// The release whose terms apply, and a note when it was assumed: an
/// explicit generation alone stands for a release of its band.
fn resolve_version(args: &EngineArgs) -> (VllmVersion, Vec<String>) {
    match (args.vllm_version, args.engine) {
        (Some(version), _) => (version, Vec::new()),
        (None, Some(Generation::V0)) => (VllmVersion::new(0, 7, 3), Vec::new()),
        (None, Some(Generation::V1)) => (VllmVersion::new(0, 11, 0), Vec::new()),
        (None, Some(Generation::V1Graphs)) => (VllmVersion::ASSUMED, Vec::new()),
        (None, None) => (VllmVersion::ASSUMED, vec![format!("vLLM version unknown: assumed {}", VllmVersion::ASSUMED)]),
    }
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
fn weights_per_gpu_gib(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, tp: u64, stage_layers: u64) -> f64 {
    let pp = args.pipeline_parallel.max(1);
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
    let stage_share = stage_layers as f64 / model.layers.max(1) as f64;
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
    let (version, notes) = resolve_version(args);
    let env = &args.vllm_env;
    let generation = args.engine.unwrap_or_else(|| version.generation(env));
    let tp = args.tensor_parallel.max(1);
    let pp = args.pipeline_parallel.max(1);
    let utilization = args.gpu_memory_utilization.unwrap_or_else(|| version.default_utilization());
    let total = gpu.total_gib;
    let usable_gib = total * utilization;
    let max_model_len = args.max_model_len.unwrap_or(model.max_position);
    let (default_tokens, default_seqs) =
        engine::scheduler_defaults(version, generation, args.entrypoint, total, &gpu.label, max_model_len);
    let max_num_batched_tokens = args.max_num_batched_tokens.unwrap_or(default_tokens);
    let max_num_seqs = args.max_num_seqs.unwrap_or(default_seqs);

    // The busiest pipeline stage (`get_pp_indices`, see VllmVersion::pp_partitions).
    let stage_layers =
        version.pp_partitions(model.layers, pp, env.pp_layer_partition.as_deref()).into_iter().max().unwrap_or(0);
    let (weight_bytes, _) = weight_bytes_per_param(model, args);
    let dtype_bytes = Dtype::parse(&args.dtype).bytes() as f64;
    let weights_per_gpu_gib = weights_per_gpu_gib(model, gpu, args, tp, stage_layers)
        + mla_weights::extra_weights_gib(model, version, generation, tp, stage_layers, weight_bytes, dtype_bytes);
    // V0 profiles one prefill of the whole batch; V1 a chunk of it.
    let sampler_backend = version.sampler_backend(env, generation, max_num_seqs);
    let profiled_top_k_top_p = version.profile_samples_top_k_top_p(env);
    let sampler_copies = overhead::sampler_copies(generation, sampler_backend, profiled_top_k_top_p);
    let activation_gib =
        overhead::activation_gib(generation, model, tp, max_num_batched_tokens, max_num_seqs, sampler_copies);
    let not_sized = encoder_decoder::unsized_reason(model);
    let custom_all_reduce_gib =
        overhead::custom_all_reduce_gib(gpu, tp, env.disable_custom_all_reduce, args.multi_node);
    let fi_allreduce_fusion_gib = allreduce_fusion::fusion_workspace_gib(&allreduce_fusion::FusionInputs {
        version,
        gpu,
        tp,
        pp,
        enforce_eager: args.enforce_eager,
        multi_node: args.multi_node,
        hidden: model.hidden,
        dtype_bytes: Dtype::parse(&args.dtype).bytes(),
        max_num_batched_tokens,
    });
    let non_torch_gib =
        overhead::non_torch_gib(generation, gpu, tp, custom_all_reduce_gib > 0.0) + fi_allreduce_fusion_gib;
    let cuda_graph_gib = overhead::cuda_graph_gib(model, args.enforce_eager);
    let cuda_graph_in_budget = version.cuda_graphs_in_budget(env, generation);
    let overhead_gib = activation_gib + non_torch_gib + if cuda_graph_in_budget { cuda_graph_gib } else { 0.0 };
    // What other processes hold on the GPU comes out of it only where the
    // worker counts it as its own (`VllmVersion::co_tenant`).
    let accounting = version.co_tenant(generation);
    let kv_budget_gib = match args.kv_cache_memory_bytes {
        Some(bytes) => bytes as f64 / GIB,
        None => {
            usable_gib
                - weights_per_gpu_gib
                - overhead_gib
                - co_tenant::counted_gib(accounting, args.gpu_memory_in_use_gib)
        }
    };

    let kv = kv_plan(model, args, version, generation, stage_layers, kv_budget_gib, max_num_batched_tokens);
    let (kv_bytes_per_token, kv_pool_tokens, max_context, layout) =
        (kv.bytes_per_token, kv.pool_tokens, kv.max_context, kv.layout);
    let max_concurrency =
        layout.max_concurrency(kv.num_blocks, max_model_len, kv.window_tokens / BLOCK, generation == Generation::V0);

    let kv_heads = model.mla_latent.is_none().then_some(model.kv_heads);
    let tp_valid = refusals::tensor_parallel_split(model.heads, model.vocab, kv_heads, tp).is_none();
    let dtype_supported = !Dtype::parse(&args.dtype).wants_bf16() || gpu.bf16;
    let own = co_tenant::Footprint {
        weights_gib: weights_per_gpu_gib,
        non_torch_gib,
        activation_gib,
        overhead_gib,
        kv_gib: kv_budget_gib,
        graphs_after_kv_gib: if cuda_graph_in_budget { 0.0 } else { cuda_graph_gib },
        kv_layer_bytes: kv.num_blocks * BLOCK * kv.per_layer,
        fixed_kv: args.kv_cache_memory_bytes.is_some(),
    };
    let mut problems = startup_refusals(model, gpu, args, version, generation, utilization, &own);
    problems.extend(not_sized.iter().cloned());
    if kv_budget_gib <= 0.0 {
        problems.push(refusals::no_cache_blocks(weights_per_gpu_gib, overhead_gib, usable_gib));
    } else if max_context < max_model_len {
        let needed_gib = kv.request_bytes(max_model_len) as f64 / GIB;
        let v0 = generation == Generation::V0;
        problems.push(refusals::kv_too_small(version, v0, max_model_len, needed_gib, kv_budget_gib, max_context));
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
    } else if kv_budget_gib > 0.0 {
        // The warm-up after the KV cache samples with top-k/top-p; a
        // profile that skipped them left its extra peak out of the budget.
        let warm_up = overhead::traced_sampler_copies(sampler_backend, true)
            - overhead::traced_sampler_copies(sampler_backend, profiled_top_k_top_p);
        let extra_gib = warm_up.max(0.0) * overhead::sampler_logits_gib(model, max_num_seqs);
        if extra_gib > total - resident {
            problems.push(refusals::sampler_warm_up(max_num_seqs));
        }
    }
    MemoryFit {
        model: model.id.clone(),
        gpu: gpu.label.clone(),
        engine: generation,
        vllm_version: version.to_string(),
        tensor_parallel: tp,
        pipeline_parallel: pp,
        gpu_memory_gib: total,
        gpu_memory_source: gpu.memory_source,
        gpu_memory_utilization: utilization,
        usable_gib,
        weights_per_gpu_gib,
        activation_gib,
        non_torch_gib,
        custom_all_reduce_gib,
        fi_allreduce_fusion_gib,
        sampler_backend,
        sampler_copies,
        cuda_graph_gib,
        cuda_graph_in_budget,
        overhead_gib,
        kv_budget_gib,
        kv_bytes_per_token,
        kv_pool_tokens,
        max_concurrency,
        kv_groups: layout.groups,
        kv_padding_layers: layout.padding_layers,
        max_context,
        max_model_len,
        max_num_batched_tokens,
        max_num_seqs,
        tp_valid,
        dtype_supported,
        fits: problems.is_empty(),
        problems,
        notes,
        not_sized,
    }
}

/// The KV cache of the busiest stage: what a token costs, the pool vLLM
/// prints, and the longest request it holds.
struct KvPlan {
    bytes_per_token: u64,
    pool_tokens: u64,
    num_blocks: u64,
    max_context: u64,
    layout: kv_groups::KvLayout,
    per_layer: u64,
    full_layers: u64,
    sliding_layers: u64,
    window_tokens: u64,
}

impl KvPlan {
    /// Bytes one request of `len` tokens needs over all layers (each
    /// spec's `max_memory_usage_bytes`, summed by
    /// `_check_enough_kv_cache_memory`, v1/core/kv_cache_utils.py).
    fn request_bytes(&self, len: u64) -> u64 {
        let blocks = len.div_ceil(BLOCK) * BLOCK;
        self.full_layers * self.per_layer * blocks
            + self.sliding_layers * self.per_layer * blocks.min(self.window_tokens)
    }
}

fn kv_plan(
    model: &ModelShape,
    args: &EngineArgs,
    version: VllmVersion,
    generation: Generation,
    stage_layers: u64,
    kv_budget_gib: f64,
    max_num_batched_tokens: u64,
) -> KvPlan {
    let tp = args.tensor_parallel.max(1);
    let (_, quantized) = weight_bytes_per_param(model, args);
    let kv_bytes: u64 = match KvCacheDtype::parse(&args.kv_cache_dtype) {
        KvCacheDtype::Fp8 => 1,
        // A quantized model computes (and caches) in 16 bits.
        KvCacheDtype::Auto | KvCacheDtype::Other(_) if quantized => 2,
        KvCacheDtype::Auto | KvCacheDtype::Other(_) => Dtype::parse(&args.dtype).bytes(),
    };
    let per_layer = match model.mla_latent {
        // MLA caches one latent vector per token and layer, on every TP
        // rank; V0 at 0.7.2–0.7.3 pads it to 256 bytes of the model dtype
        // (`VllmVersion::mla_entry_align_bytes`): 576 → 640 elements.
        Some(latent) => {
            let entry = match version.mla_entry_align_bytes(generation, &args.vllm_env) {
                Some(align) => latent.next_multiple_of(align / Dtype::parse(&args.dtype).bytes()),
                None => latent,
            };
            entry * kv_bytes
        }
        None => 2 * (model.kv_heads / tp).max(1) * model.head_dim * kv_bytes,
    };
    let budget_bytes = (kv_budget_gib.max(0.0) * GIB) as u64;
    // Sliding layers keep a bounded window per request in V1 from 0.9.1;
    // V0 and earlier V1 hold every layer in full.
    let hybrid = version.hybrid_kv(generation);
    let sliding_layers = match (hybrid, model.sliding_window) {
        (version::HybridKv::AllFull, _) | (_, None) => 0,
        _ => (model.sliding_layers * stage_layers).div_ceil(model.layers.max(1)).min(stage_layers),
    };
    let full_layers = stage_layers - sliding_layers;
    let layout = kv_groups::KvLayout::new(hybrid, full_layers, sliding_layers);
    let num_blocks = layout.num_blocks(budget_bytes, per_layer * BLOCK);
    let pool_tokens = layout.printed_tokens(num_blocks, BLOCK);
    // `SlidingWindowSpec.max_memory_usage_bytes`: window − 1 + one batch.
    let window_tokens =
        model.sliding_window.map_or(0, |w| (w.saturating_sub(1) + max_num_batched_tokens).div_ceil(BLOCK) * BLOCK);
    let mut plan = KvPlan {
        bytes_per_token: stage_layers * per_layer,
        pool_tokens,
        num_blocks,
        max_context: 0,
        layout,
        per_layer,
        full_layers,
        sliding_layers,
        window_tokens,
    };
    plan.max_context = if kv_budget_gib <= 0.0 {
        0
    } else if full_layers == 0 {
        if plan.request_bytes(window_tokens) <= budget_bytes { u64::MAX } else { 0 }
    } else {
        let sliding_bytes = sliding_layers * per_layer * window_tokens;
        let tokens = budget_bytes.saturating_sub(sliding_bytes) / (full_layers * per_layer) / BLOCK * BLOCK;
        // Short of the window, every layer holds the whole request.
        if tokens < window_tokens { budget_bytes / plan.bytes_per_token.max(1) / BLOCK * BLOCK } else { tokens }
    };
    plan
}

/// What vLLM refuses before it sizes anything, in the order it meets
/// them: its config checks, the model's split over the ranks, the
/// dtype, the free memory at startup; then where other processes on the GPU
/// leave too little for `own`, the out-of-memory error that stops it.
fn startup_refusals(
    model: &ModelShape,
    gpu: &GpuInfo,
    args: &EngineArgs,
    version: VllmVersion,
    generation: Generation,
    utilization: f64,
    own: &co_tenant::Footprint,
) -> Vec<String> {
    let tp = args.tensor_parallel.max(1);
    let mut problems = Vec::new();
    if !(utilization > 0.0 && utilization <= 1.0) {
        problems.push(format!("GPU memory utilization must be within (0, 1]. Got {utilization}."));
    }
    let kv_heads = model.mla_latent.is_none().then_some(model.kv_heads);
    problems.extend(refusals::tensor_parallel_split(model.heads, model.vocab, kv_heads, tp));
    if let Some(len) = args.max_model_len {
        // The catalog's shape holds `max_position_embeddings` only: no
        // RoPE factor is applied here (see refusals::derived_max_model_len).
        let derived = refusals::derived_max_model_len(model.max_position, None, false);
        problems.extend(refusals::max_model_len(version, len, derived, false, args.vllm_env.allow_long_max_model_len));
    }
    if Dtype::parse(&args.dtype).wants_bf16() && !gpu.bf16 {
        problems.push(format!(
            "Bfloat16 is only supported on GPUs with compute capability of at least 8.0; {} has {} (use --dtype half)",
            gpu.label, gpu.compute
        ));
    }
    // `init_device` checks the dtype, then the free memory (v0.9.1
    // v1/worker/gpu_worker.py:130,138).
    let (in_use, total, accounting) = (args.gpu_memory_in_use_gib, gpu.total_gib, version.co_tenant(generation));
    if in_use > 0.0 && accounting == version::CoTenant::Checked {
        problems.extend(refusals::free_memory(version, total - in_use, total, utilization));
    }
    problems.extend(co_tenant::out_of_memory(version, accounting, in_use, total, utilization, own));
    problems
}

/// The smallest tensor-parallel size (≤ `max_gpus`) at which the model fits.
pub fn smallest_fitting_tp(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, max_gpus: u64) -> Option<u64> {
    (1..=max_gpus.max(1)).find(|tp| {
        let candidate = EngineArgs { tensor_parallel: *tp, ..args.clone() };
        evaluate(model, gpu, &candidate).fits
    })
}

#[cfg(test)]
mod tests;
