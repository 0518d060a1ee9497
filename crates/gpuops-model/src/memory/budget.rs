//! The budget vLLM sizes the KV cache from, term by term: the engine
//! settings a pod resolves to (release, generation, scheduler defaults,
//! the busiest pipeline stage), the weights one GPU holds, the profiled
//! activation, non-torch memory and CUDA graphs, and what is left for the
//! KV cache.

use super::dtype::DtypeOutcome;
use super::oracle::{OracleInputs, V1Unsupported};
use super::{
    Dtype, EngineArgs, GIB, Generation, KvCacheDtype, Quantization, SamplerBackend, VllmVersion, allreduce_fusion,
    co_tenant, engine, mla_weights, overhead,
};
use crate::catalog::{GpuInfo, ModelShape, Vendor};

/// The release whose terms apply, and a note when it was assumed: an
/// explicit generation alone stands for a release of its band.
pub(super) fn resolve_version(args: &EngineArgs) -> (VllmVersion, Vec<String>) {
    match (args.vllm_version, args.engine) {
        (Some(version), _) => (version, version.outside_read_note().into_iter().collect()),
        (None, Some(Generation::V0)) => (VllmVersion::new(0, 7, 3), Vec::new()),
        (None, Some(Generation::V1)) => (VllmVersion::new(0, 11, 0), Vec::new()),
        (None, Some(Generation::V1Graphs)) => (VllmVersion::ASSUMED, Vec::new()),
        (None, None) => (VllmVersion::ASSUMED, vec![format!("vLLM version unknown: assumed {}", VllmVersion::ASSUMED)]),
    }
}

/// What vLLM 0.8–0.10's V1 oracle reads of `args` on `gpu` running
/// `model` ([`VllmVersion::v1_unsupported`]). A GPU whose compute
/// capability is only assumed (`GpuInfo::compute_assumed`: known by its
/// memory alone, or an unknown labelled product) has none here, and the
/// answer says so (`notes`); a model not given leaves MLA unknown.
pub(super) fn oracle_inputs(args: &EngineArgs, gpu: Option<&GpuInfo>, model: Option<&ModelShape>) -> OracleInputs {
    OracleInputs {
        vendor: gpu.map(|g| g.vendor),
        cuda: gpu.and_then(GpuInfo::cuda_capability),
        kv_cache_dtype: KvCacheDtype::parse(&args.kv_cache_dtype),
        cpu_offload_gb: args.cpu_offload_gb,
        kv_connector: args.kv_connector.is_some(),
        dtype: Dtype::parse(&args.dtype),
        quantization: args.quantization.clone(),
        pipeline_parallel: args.pipeline_parallel.max(1),
        distributed_executor_backend: args.distributed_executor_backend.clone(),
        mla: model.map(|m| m.mla_latent.is_some()),
        lora: args.lora.is_some(),
    }
}

/// The engine settings a pod runs with: its release and generation, and
/// vLLM's defaults where `args` leaves them out.
pub(super) struct Settings {
    pub(super) version: VllmVersion,
    /// What was assumed (an unknown release).
    pub(super) notes: Vec<String>,
    pub(super) generation: Generation,
    /// Why the V1 oracle sent the pod to V0 (`VLLM_USE_V1` unset, 0.8–0.10).
    pub(super) v1_fallback: Option<V1Unsupported>,
    /// `VLLM_USE_V1=1` where the V1 oracle refuses (0.8–0.10), in vLLM's
    /// words.
    pub(super) v1_refused: Option<String>,
    /// What vLLM does with `--dtype` on this GPU
    /// ([`super::Dtype::on_gpu_without_bf16`]; a GPU with bfloat16 runs any).
    pub(super) dtype: DtypeOutcome,
    pub(super) tp: u64,
    pub(super) pp: u64,
    pub(super) utilization: f64,
    /// What CUDA/ROCm reports (GiB).
    pub(super) total_gib: f64,
    /// `total × utilization`.
    pub(super) usable_gib: f64,
    pub(super) max_model_len: u64,
    pub(super) max_num_batched_tokens: u64,
    pub(super) max_num_seqs: u64,
    /// Layers of the busiest pipeline stage.
    pub(super) stage_layers: u64,
}

pub(super) fn settle(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs) -> Settings {
    let (version, notes) = resolve_version(args);
    let env = &args.vllm_env;
    let oracle = oracle_inputs(args, Some(gpu), Some(model));
    let generation = args.engine.unwrap_or_else(|| version.generation_on(env, &oracle));
    let v1_fallback = args.engine.is_none().then(|| version.v1_fallback(env, &oracle)).flatten();
    let v1_refused = version.v1_refused(env, &oracle);
    let dtype = if gpu.bf16 {
        DtypeOutcome::Runs
    } else {
        Dtype::parse(&args.dtype).on_gpu_without_bf16(version, model.torch_dtype.as_deref(), &model.model_type)
    };
    let pp = args.pipeline_parallel.max(1);
    let utilization = args.gpu_memory_utilization.unwrap_or_else(|| version.default_utilization());
    let total = gpu.total_gib;
    let max_model_len = args.max_model_len.unwrap_or(model.max_position);
    let v0_chunked = engine::v0_chunked_prefill(
        version,
        args.enable_chunked_prefill,
        &v0_prefill_facts(model, gpu, args, max_model_len),
    );
    let (default_tokens, default_seqs) =
        engine::scheduler_defaults(version, generation, args.entrypoint, total, &gpu.label, max_model_len, v0_chunked);
    // The busiest pipeline stage (`get_pp_indices`, see VllmVersion::pp_partitions).
    let stage_layers =
        version.pp_partitions(model.layers, pp, env.pp_layer_partition.as_deref()).into_iter().max().unwrap_or(0);
    Settings {
        version,
        notes,
        generation,
        v1_fallback,
        v1_refused,
        dtype,
        tp: args.tensor_parallel.max(1),
        pp,
        utilization,
        total_gib: total,
        usable_gib: total * utilization,
        max_model_len,
        max_num_batched_tokens: args.max_num_batched_tokens.unwrap_or(default_tokens),
        max_num_seqs: args.max_num_seqs.unwrap_or(default_seqs),
        stage_layers,
    }
}

/// The first release whose V1 worker profiles CUDA graph memory inside
/// the window its non-torch figure is measured in (v0.18.1
/// v1/worker/gpu_worker.py:383-399; absent at 0.17.1).
const GRAPH_PROFILE_IN_WINDOW: VllmVersion = VllmVersion::new(0, 18, 0);

/// What V0's chunked-prefill default reads ([`engine::v0_chunked_prefill`]).
/// vLLM's `get_sliding_window()` is the config's `sliding_window`; Llama
/// 4's chunked local attention (kept in `sliding_window` here) is not one,
/// and Llama 4 runs on V1 only anyway.
fn v0_prefill_facts(
    model: &ModelShape,
    gpu: &GpuInfo,
    args: &EngineArgs,
    max_model_len: u64,
) -> engine::V0PrefillFacts {
    use super::UnmodelledKind;
    let set = |kind| args.unmodelled.iter().any(|f| f.kind == kind);
    engine::V0PrefillFacts {
        max_model_len,
        rocm: gpu.vendor == Vendor::Amd,
        sliding_window: model.sliding_window.is_some() && model.model_type != "llama4",
        mla: model.mla_latent.is_some(),
        multimodal: model.vision,
        lora: args.lora.is_some(),
        speculative: set(UnmodelledKind::SpeculativeDecoding),
    }
}

/// vLLM's memory budget on one GPU of the busiest stage, term by term.
pub(super) struct Budget {
    pub(super) weights_per_gpu_gib: f64,
    /// LoRA's part of the weights and activation (`--enable-lora`).
    pub(super) lora: Option<super::LoraMemory>,
    pub(super) sampler_backend: SamplerBackend,
    /// The profile run's sampler applied top-k/top-p.
    pub(super) profiled_top_k_top_p: bool,
    pub(super) sampler_copies: f64,
    pub(super) activation_gib: f64,
    pub(super) custom_all_reduce_gib: f64,
    pub(super) fi_allreduce_fusion_gib: f64,
    pub(super) non_torch_gib: f64,
    /// The profile's Triton scratch was sized at
    /// [`overhead::ASSUMED_COMPUTE_UNITS`]: the GPU's count is not known.
    pub(super) compute_units_assumed: bool,
    pub(super) cuda_graph_gib: f64,
    pub(super) cuda_graph_in_budget: bool,
    /// Activation + non-torch (+ CUDA graphs when in the budget).
    pub(super) overhead_gib: f64,
    pub(super) kv_budget_gib: f64,
}

impl Budget {
    /// CUDA graphs captured after the KV cache, outside the budget.
    pub(super) fn graphs_after_kv_gib(&self) -> f64 {
        if self.cuda_graph_in_budget { 0.0 } else { self.cuda_graph_gib }
    }
}

pub(super) fn budget(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, s: &Settings) -> Budget {
    let (version, generation, tp, env) = (s.version, s.generation, s.tp, &args.vllm_env);
    let (weight_bytes, _) = weight_bytes_per_param(model, args);
    let model_dtype_bytes = Dtype::parse(&args.dtype).bytes();
    let dtype_bytes = model_dtype_bytes as f64;
    // LoRA's stacks are made inside the window vLLM measures the weights
    // in (`lora` module doc), its shrink buffer lives in the profile.
    let lora = args.lora.as_ref().map(|lora| {
        let stage = super::lora::Stage {
            tp,
            pp: s.pp,
            layers: s.stage_layers,
            tokens: s.max_num_batched_tokens,
            model_dtype_bytes,
        };
        super::lora::memory(model, version, lora, &stage)
    });
    let weights_per_gpu_gib = weights_per_gpu_gib(model, gpu, args, tp, s.stage_layers)
        + mla_weights::extra_weights_gib(model, version, generation, tp, s.stage_layers, weight_bytes, dtype_bytes)
        + lora.map_or(0.0, |l| l.stacks_gib);
    // V0 profiles one prefill of the whole batch; V1 a chunk of it.
    let sampler_backend = version.sampler_backend(env, generation, s.max_num_seqs);
    let profiled_top_k_top_p = version.profile_samples_top_k_top_p(env);
    let sampler_copies = overhead::sampler_copies(generation, sampler_backend, profiled_top_k_top_p);
    let run = overhead::ProfileRun {
        generation,
        sampler_backend,
        tokens: s.max_num_batched_tokens,
        seqs: s.max_num_seqs,
        sampler_copies,
    };
    let activation_gib =
        overhead::profile_activation_gib(&run, model, gpu, tp) + lora.map_or(0.0, |l| l.activation_gib);
    let compute_units_assumed = gpu.compute_units.is_none() && overhead::traces_triton_profile(&run);
    let custom_all_reduce_gib =
        overhead::custom_all_reduce_gib(gpu, tp, env.disable_custom_all_reduce, args.multi_node);
    let fi_allreduce_fusion_gib = allreduce_fusion::fusion_workspace_gib(&allreduce_fusion::FusionInputs {
        version,
        gpu,
        tp,
        pp: s.pp,
        enforce_eager: args.enforce_eager,
        multi_node: args.multi_node,
        hidden: model.hidden,
        dtype_bytes: model_dtype_bytes,
        max_num_batched_tokens: s.max_num_batched_tokens,
    });
    let graph_profile_counted = version >= GRAPH_PROFILE_IN_WINDOW && !args.enforce_eager && gpu.vendor != Vendor::Amd;
    let non_torch_gib =
        overhead::non_torch_gib(generation, gpu, tp, custom_all_reduce_gib > 0.0, graph_profile_counted)
            + fi_allreduce_fusion_gib;
    let cuda_graph_gib = overhead::cuda_graph_gib(model, args.enforce_eager);
    let cuda_graph_in_budget = version.cuda_graphs_in_budget(env, generation);
    let overhead_gib = activation_gib + non_torch_gib + if cuda_graph_in_budget { cuda_graph_gib } else { 0.0 };
    // What other processes hold on the GPU comes out of it only where the
    // worker counts it as its own (`VllmVersion::co_tenant`).
    let kv_budget_gib = match args.kv_cache_memory_bytes {
        Some(bytes) => bytes as f64 / GIB,
        None => {
            s.usable_gib
                - weights_per_gpu_gib
                - overhead_gib
                - co_tenant::counted_gib(version.co_tenant(generation), args.gpu_memory_in_use_gib)
        }
    };
    Budget {
        weights_per_gpu_gib,
        lora,
        sampler_backend,
        profiled_top_k_top_p,
        sampler_copies,
        activation_gib,
        custom_all_reduce_gib,
        fi_allreduce_fusion_gib,
        non_torch_gib,
        compute_units_assumed,
        cuda_graph_gib,
        cuda_graph_in_budget,
        overhead_gib,
        kv_budget_gib,
    }
}

/// Bytes per weight of the quantized layers, and whether any are quantized.
/// A checkpoint that is already quantized loads as stored unless
/// `--quantization` names a method gpuops sizes (one vLLM accepts on it:
/// `memory::quant_checkpoint`).
pub(super) fn weight_bytes_per_param(model: &ModelShape, args: &EngineArgs) -> (f64, bool) {
    // A flag gpuops does not size (`marlin`, `moe_wna16`, `compressed-tensors`
    // on such a checkpoint) runs the checkpoint's own format: its bytes.
    let flagged = args.quantization.as_deref().map(Quantization::parse).and_then(|q| q.bytes_per_weight());
    match flagged.or(model.checkpoint_bytes) {
        Some(bytes) => (bytes, true),
        None => (Dtype::parse(&args.dtype).bytes() as f64, false),
    }
}

/// The weights one GPU of the busiest pipeline stage holds (GiB): its share
/// of the layers split by TP, plus the embedding or `lm_head` of an end stage.
pub(super) fn weights_per_gpu_gib(
    model: &ModelShape,
    gpu: &GpuInfo,
    args: &EngineArgs,
    tp: u64,
    stage_layers: u64,
) -> f64 {
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
pub(super) fn mxfp4_value_padding(model: &ModelShape, gpu: &GpuInfo, tp: u64) -> f64 {
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
