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
mod budget;
pub mod co_tenant;
mod dtype;
pub mod edge;
pub mod encoder_decoder;
pub mod engine;
pub mod kv_groups;
pub mod lora;
pub mod mla_weights;
mod notes;
pub mod oracle;
pub mod overhead;
mod quant_checkpoint;
pub mod recommend;
pub mod refusals;
pub mod unmodelled;
mod verdict;
pub mod version;

use serde::Serialize;

pub use dtype::{Dtype, KvCacheDtype, Quantization};
pub use engine::{Entrypoint, Generation};
pub use lora::{LoraArgs, LoraMemory};
pub use oracle::{OracleCheck, OracleInputs, V1Unsupported};
pub use recommend::{Demand, Placement, Recommendation, recommend};
pub use refusals::Refusal;
pub use unmodelled::{UnmodelledFlag, UnmodelledKind};
pub use version::{SamplerBackend, VllmEnv, VllmVersion};

use super::catalog::{GpuInfo, MemorySource, ModelShape};
#[cfg(test)]
use budget::mxfp4_value_padding;
use budget::{budget, oracle_inputs, resolve_version, settle, weight_bytes_per_param};
use edge::Edge;
use verdict::problems;

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
    /// `--allow-deprecated-quantization` (from 0.14: lets a deprecated
    /// method such as fbgemm_fp8 start).
    pub allow_deprecated_quantization: bool,
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
    /// The KV connector `--kv-transfer-config` names (`kv_connector`:
    /// LMCacheConnectorV1, NixlConnector, PyNcclConnector, …): what it
    /// holds on the GPU is not modelled, and the answer says so.
    pub kv_connector: Option<String>,
    /// `--distributed-executor-backend` as written: whether vLLM 0.8.3–0.10
    /// runs pipeline parallelism on V1 ([`oracle`]).
    pub distributed_executor_backend: Option<String>,
    /// `--enable-chunked-prefill[=bool]` / `--no-enable-chunked-prefill`
    /// as set; `None`: vLLM's default, which V0 derives from the model and
    /// the other flags ([`engine::v0_chunked_prefill`]).
    pub enable_chunked_prefill: Option<bool>,
    /// Flags set that move memory in ways the budget does not model: each
    /// gets a note ([`unmodelled`]).
    pub unmodelled: Vec<UnmodelledFlag>,
    /// `--enable-lora` and its sizes: the adapter slots vLLM allocates
    /// ([`lora`]); `None`: LoRA off.
    pub lora: Option<LoraArgs>,
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
            allow_deprecated_quantization: false,
            kv_cache_memory_bytes: None,
            cpu_offload_gb: 0.0,
            engine: None,
            vllm_version: None,
            vllm_env: VllmEnv::default(),
            multi_node: false,
            gpu_memory_in_use_gib: 0.0,
            entrypoint: Entrypoint::Server,
            cpu_build: false,
            kv_connector: None,
            distributed_executor_backend: None,
            enable_chunked_prefill: None,
            unmodelled: Vec::new(),
            lora: None,
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
    /// LoRA's adapter slots inside `weights_per_gpu_gib` and its shrink
    /// buffer inside `activation_gib` (absent without `--enable-lora`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraMemory>,
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
    /// The figures leave out a term gpuops cannot size (the `not_sized`
    /// reason it would otherwise give, in a `lower bound:` note) and do not
    /// fit even so: the refusal is certain, but no other setting is sized.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lower_bound: bool,
    /// The verdict is decided by a margin smaller than the model's own
    /// error ([`edge::UNCERTAINTY_OF_TOTAL`]): `fits` stays what the model
    /// computes, but vLLM may do either ([`edge`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<Edge>,
    /// The kind of the first of `problems` (absent when it fits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// The vLLM release and engine generation `evaluate` takes the terms at
/// for `args` (an unknown release is [`VllmVersion::ASSUMED`]): what a
/// caller needs to say what that release does, e.g. with memory other
/// processes hold ([`VllmVersion::co_tenant`]).
pub fn release(args: &EngineArgs, gpu: Option<&GpuInfo>) -> (VllmVersion, Generation) {
    let (version, _) = resolve_version(args);
    let oracle = oracle_inputs(args, gpu, None);
    (version, args.engine.unwrap_or_else(|| version.generation_on(&args.vllm_env, &oracle)))
}

/// Evaluate `model` on `gpu` with `args`: the engine settings vLLM
/// resolves, its memory budget term by term, the KV cache it plans in what
/// is left, and the refusals it meets on the way.
pub fn evaluate(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs) -> MemoryFit {
    let (fit, why) = evaluate_as(model, gpu, args, true);
    let (Some(reason), Some(why)) = (fit.not_sized.as_deref(), why) else { return fit };
    if why == Unsized::BytesUnknown {
        // Weights counted as 16-bit over-size a quantized model, and a KV
        // type of unknown width may be wider or narrower: no bound.
        return fit;
    }
    // What gpuops cannot size only adds memory (a vision encoder's
    // profile, adapter slots on experts, float32 weights over the 16-bit
    // ones figured): where the figures without it already fail, with a
    // margin wider than the model's error, vLLM refuses too.
    let bare = ModelShape { vision: false, ..model.clone() };
    let (mut lower, _) = evaluate_as(&bare, gpu, args, false);
    if lower.edge.is_some() {
        return fit;
    }
    // A quantization file gpuops did not read decides whether vLLM loads
    // at all; the figures size the weights as the flag stores them.
    if why == Unsized::QuantFile {
        if lower.fits {
            return fit;
        }
        let flag = args.quantization.as_deref().unwrap_or_default();
        lower.notes.push(format!(
            "lower bound: these figures size the weights as --quantization {flag} stores them; they do not fit, so vLLM refuses whether or not it finds {flag}'s config file"
        ));
        lower.lower_bound = true;
        return lower;
    }
    if lower.fits {
        // A dtype gpuops did not read is no term to bound.
        let term = if args.lora.is_some() && model.moe {
            "LoRA's slots on the experts"
        } else if model.vision {
            "the vision encoder's profile peak"
        } else {
            return fit;
        };
        // What the unsized term may take before one request of
        // max_model_len no longer fits (every layer counted in full: a
        // sliding window only leaves more).
        let request_gib = (lower.kv_bytes_per_token * lower.max_model_len) as f64 / GIB;
        let room = lower.kv_budget_gib - request_gib;
        let mut fit = fit;
        fit.notes.push(format!(
            "without {term} the figures fit, with {room:.2} GiB a GPU to spare for one {}-token request: vLLM starts if {term} takes less",
            lower.max_model_len
        ));
        return fit;
    }
    let what = reason.strip_prefix("not sized by gpuops: ").unwrap_or(reason);
    let what = what.split("; read '").next().unwrap_or(what);
    lower.notes.push(format!("lower bound: {what}; these figures leave that out and already do not fit"));
    lower.lower_bound = true;
    lower
}

/// What left an answer unsized, as [`evaluate`] bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unsized {
    /// `--quantization` reads a file gpuops did not read: the figures size
    /// the weights as the flag stores them.
    QuantFile,
    /// What a weight or a KV element takes is not known: the figures bound
    /// nothing.
    BytesUnknown,
    /// A term that only adds memory (a vision encoder's profile, LoRA on
    /// experts, a dtype not read): the figures without it are a lower bound.
    Term,
}

/// [`evaluate`]; with `decline` false, figures even where gpuops cannot
/// size everything (the lower bound `evaluate` checks). Also says which
/// kind of thing left the answer unsized.
fn evaluate_as(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, decline: bool) -> (MemoryFit, Option<Unsized>) {
    let s = settle(model, gpu, args);
    let b = budget(model, gpu, args, &s);
    let kv = kv_plan(model, args, s.version, s.generation, s.stage_layers, b.kv_budget_gib, s.max_num_batched_tokens);
    let layout = &kv.layout;
    let max_concurrency = layout.max_concurrency(
        kv.num_blocks,
        s.max_model_len,
        kv.window_tokens / BLOCK,
        s.generation == Generation::V0,
    );
    let kv_heads = model.mla_latent.is_none().then_some(model.kv_heads);
    let tp_valid = refusals::tensor_parallel_split(model.heads, model.vocab, kv_heads, s.tp).is_none();
    let dtype_supported = s.dtype != dtype::DtypeOutcome::Refused;
    let against = quant_checkpoint::check(&model.checkpoint_quant, args.quantization.as_deref(), &model.id);
    let startup = verdict::startup_refusals(model, gpu, args, &s, &against);
    // A start the checkpoint's unread dtype decides is unchecked, unless
    // an earlier startup check refuses it anyway.
    let lora_unsized = args.lora.as_ref().and_then(|_| lora::unsized_reason(model, s.version));
    // Where a startup check refuses anyway, that refusal is the answer.
    let quant_file = match against {
        quant_checkpoint::Against::FileNotRead(why) if startup.is_empty() => Some((Unsized::QuantFile, why)),
        _ => None,
    };
    let bytes_unknown = quant_checkpoint::unsized_reason(model, args.quantization.as_deref())
        .or_else(|| KvCacheDtype::parse(&args.kv_cache_dtype).unsized_reason())
        .filter(|_| startup.is_empty())
        .map(|why| (Unsized::BytesUnknown, why));
    let term = encoder_decoder::unsized_reason(model, s.generation).or(lora_unsized).or_else(|| match s.dtype {
        dtype::DtypeOutcome::Unknown if startup.is_empty() => {
            Some(dtype::unknown_dtype_reason(s.version, &gpu.label, &gpu.compute))
        }
        dtype::DtypeOutcome::Float32 => Some(dtype::float32_reason(s.version, &model.model_type, &gpu.label)),
        _ => None,
    });
    let (why, not_sized) =
        quant_file.or(bytes_unknown).or(term.map(|why| (Unsized::Term, why))).filter(|_| decline).unzip();
    let (refusals, edge) = problems(model, args, &s, &b, &kv, startup, not_sized.as_deref());
    let (problems, refusal) = (refusals.messages, refusals.first);
    let notes = notes::answer_notes(model, gpu, args, &s, &b, not_sized.is_some());
    let fit = MemoryFit {
        model: model.id.clone(),
        gpu: gpu.label.clone(),
        engine: s.generation,
        vllm_version: s.version.to_string(),
        tensor_parallel: s.tp,
        pipeline_parallel: s.pp,
        gpu_memory_gib: gpu.total_gib,
        gpu_memory_source: gpu.memory_source,
        gpu_memory_utilization: s.utilization,
        usable_gib: s.usable_gib,
        weights_per_gpu_gib: b.weights_per_gpu_gib,
        lora: b.lora,
        activation_gib: b.activation_gib,
        non_torch_gib: b.non_torch_gib,
        custom_all_reduce_gib: b.custom_all_reduce_gib,
        fi_allreduce_fusion_gib: b.fi_allreduce_fusion_gib,
        sampler_backend: b.sampler_backend,
        sampler_copies: b.sampler_copies,
        cuda_graph_gib: b.cuda_graph_gib,
        cuda_graph_in_budget: b.cuda_graph_in_budget,
        overhead_gib: b.overhead_gib,
        kv_budget_gib: b.kv_budget_gib,
        kv_bytes_per_token: kv.bytes_per_token,
        kv_pool_tokens: kv.pool_tokens,
        max_concurrency,
        kv_groups: layout.groups,
        kv_padding_layers: layout.padding_layers,
        max_context: kv.max_context,
        max_model_len: s.max_model_len,
        max_num_batched_tokens: s.max_num_batched_tokens,
        max_num_seqs: s.max_num_seqs,
        tp_valid,
        dtype_supported,
        fits: problems.is_empty(),
        problems,
        notes,
        not_sized,
        lower_bound: false,
        edge,
        refusal,
    };
    (fit, why)
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
        KvCacheDtype::Half => 2,
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

/// The smallest tensor-parallel size (≤ `max_gpus`) at which the model fits.
pub fn smallest_fitting_tp(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, max_gpus: u64) -> Option<u64> {
    (1..=max_gpus.max(1)).find(|tp| {
        let candidate = EngineArgs { tensor_parallel: *tp, ..args.clone() };
        evaluate(model, gpu, &candidate).fits
    })
}

#[cfg(test)]
mod tests;
