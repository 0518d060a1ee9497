//! The verdict: every refusal vLLM meets, in its order, and the edge of a
//! verdict the memory limits alone decide.

use super::budget::{Budget, Settings};
use super::dtype::{self, DtypeOutcome};
use super::edge::{self, Edge, Limit, Margin};
use super::refusals::{self, Refusal, Refusals};
use super::{BLOCK, Dtype, EngineArgs, GIB, Generation, KvPlan, co_tenant, overhead, version};
use crate::catalog::{GpuInfo, ModelShape};

/// Everything that stops the start, in the order vLLM meets it: the
/// startup checks (`startup`, from [`startup_refusals`], which the caller
/// also reads); loading the weights and the profile run
/// (`determine_num_available_blocks`, V1 `determine_available_memory`:
/// v0.7.3 engine/llm_engine.py:421, v0.8.5 v1/engine/core.py:129); the
/// cache-size checks (v0.7.3 worker.py:291 `raise_if_cache_size_invalid`;
/// v0.8.5 core.py:134 `get_kv_cache_config` → v1/core/kv_cache_utils.py
/// :699 `check_enough_kv_cache_memory`); then the cache's allocation and
/// what follows it (v0.7.3 worker.py:306-307 `_init_cache_engine`,
/// `_warm_up_model`; v0.8.5 v1/worker/gpu_worker.py:217,228
/// `initialize_from_config`, `compile_or_warm_up_model`).
///
/// Running out of memory beside other processes ([`co_tenant::out_of_memory`])
/// ends the start where it happens, and vLLM raises nothing after it: while
/// loading the weights or in the profile run, no cache-size refusal (which,
/// where the others' memory is counted against the budget, would be theirs)
/// nor anything later is listed; allocating the cache or capturing graphs
/// after it, the out-of-memory error follows the cache-size checks, and a
/// cache-size refusal, met first, replaces it. Otherwise a cache-size
/// refusal and what overruns the GPU itself after the cache are both
/// listed: a user must fix both.
///
/// With them, the [`Edge`] of a verdict decided by the memory limits alone
/// (no startup refusal, no other processes' memory, a sized model).
pub(super) fn problems(
    model: &ModelShape,
    args: &EngineArgs,
    s: &Settings,
    b: &Budget,
    kv: &KvPlan,
    startup: Refusals,
    not_sized: Option<&str>,
) -> (Refusals, Option<Edge>) {
    let own = co_tenant::Footprint {
        weights_gib: b.weights_per_gpu_gib,
        non_torch_gib: b.non_torch_gib,
        activation_gib: b.activation_gib,
        overhead_gib: b.overhead_gib,
        kv_gib: b.kv_budget_gib,
        graphs_after_kv_gib: b.graphs_after_kv_gib(),
        kv_layer_bytes: kv.num_blocks * BLOCK * kv.per_layer,
        fixed_kv: args.kv_cache_memory_bytes.is_some(),
    };
    let mut problems = startup;
    let memory_decides = problems.is_empty() && not_sized.is_none();
    let accounting = s.version.co_tenant(s.generation);
    let (in_use, total) = (args.gpu_memory_in_use_gib, s.total_gib);
    let beside_others = co_tenant::out_of_memory(s.version, accounting, in_use, total, s.utilization, &own);
    let (before_sizing, after_sizing) = match beside_others {
        Some(oom) if oom.step.before_cache_sizing() => (Some(oom.message), None),
        oom => (None, oom),
    };
    let stopped = before_sizing.is_some();
    problems.extend(Refusal::OutOfMemoryBesideOthers, before_sizing);
    problems.extend(Refusal::NotSized, not_sized.map(str::to_string));
    if stopped {
        return (problems, None);
    }
    let size_refusal = cache_size_refusal(s, b, kv);
    let sized = size_refusal.is_none();
    let size_kind = if b.kv_budget_gib <= 0.0 { Refusal::NoCacheBlocks } else { Refusal::MaxModelLen };
    problems.extend(size_kind, size_refusal);
    // A fixed `--kv-cache-memory-bytes` is no estimate: its cache-size
    // check is exact, and a refusal by it confident.
    let fixed_kv = args.kv_cache_memory_bytes.is_some();
    let mut margins: Vec<Margin> = (!fixed_kv).then(|| cache_margin(s, b, kv, sized)).into_iter().collect();
    match after_sizing {
        // vLLM allocates no cache it refused to size.
        Some(oom) if sized => {
            problems.push(Refusal::OutOfMemoryBesideOthers, oom.message);
            return (problems, None);
        }
        _ => {
            let (refusal, after) = after_cache_refusal(model, args, s, b);
            problems.extend(Refusal::OutOfMemoryAfterCache, refusal);
            margins.extend(after);
        }
    }
    let edge = if memory_decides && (sized || !fixed_kv) { edge::edge(&margins, s.total_gib) } else { None };
    (problems, edge)
}

/// How far the KV budget is from holding one `max_model_len` request
/// (GiB): the distance to a start for the cache-size checks, whichever of
/// them refused.
fn cache_margin(s: &Settings, b: &Budget, kv: &KvPlan, sized: bool) -> Margin {
    let request_gib = kv.request_bytes(s.max_model_len) as f64 / GIB;
    let limit = if b.kv_budget_gib <= 0.0 { Limit::NoCacheBlocks } else { Limit::MaxModelLen };
    Margin { limit, gib: b.kv_budget_gib - request_gib, passed: sized }
}

/// The cache-size refusals: "No available memory for the cache blocks",
/// or a `max_model_len` the cache cannot hold.
fn cache_size_refusal(s: &Settings, b: &Budget, kv: &KvPlan) -> Option<String> {
    let (kv_budget_gib, max_model_len) = (b.kv_budget_gib, s.max_model_len);
    if kv_budget_gib <= 0.0 {
        Some(refusals::no_cache_blocks(b.weights_per_gpu_gib, b.overhead_gib, s.usable_gib))
    } else if kv.max_context < max_model_len {
        let needed_gib = kv.request_bytes(max_model_len) as f64 / GIB;
        let v0 = s.generation == Generation::V0;
        Some(refusals::kv_too_small(s.version, v0, max_model_len, needed_gib, kv_budget_gib, kv.max_context))
    } else {
        None
    }
}

/// What overruns the GPU itself once the KV cache is allocated: CUDA
/// graphs captured after it, or a fixed KV budget; else the sampler
/// warm-up. With the margin of each comparison made.
fn after_cache_refusal(
    model: &ModelShape,
    args: &EngineArgs,
    s: &Settings,
    b: &Budget,
) -> (Option<String>, Vec<Margin>) {
    let (total, kv_budget_gib, cuda_graph_gib) = (s.total_gib, b.kv_budget_gib, b.cuda_graph_gib);
    if kv_budget_gib <= 0.0 {
        return (None, Vec::new());
    }
    let outside = b.graphs_after_kv_gib();
    let resident = match args.kv_cache_memory_bytes {
        Some(_) => b.weights_per_gpu_gib + b.overhead_gib + kv_budget_gib + outside,
        None => s.usable_gib.max(b.weights_per_gpu_gib + b.overhead_gib) + outside,
    };
    let resident_margin = Margin { limit: Limit::GpuTotal, gib: total - resident, passed: resident <= total };
    if resident > total {
        let refusal = format!(
            "CUDA out of memory: {resident:.2} GiB needed on a {total:.2} GiB GPU (KV cache and CUDA graphs of {cuda_graph_gib:.2} GiB on top of the weights); lower --gpu-memory-utilization or --kv-cache-memory-bytes, or add --enforce-eager"
        );
        return (Some(refusal), vec![resident_margin]);
    }
    // The warm-up after the KV cache samples with top-k/top-p; a profile
    // that skipped them left its extra peak out of the budget.
    let warm_up = overhead::traced_sampler_copies(b.sampler_backend, true)
        - overhead::traced_sampler_copies(b.sampler_backend, b.profiled_top_k_top_p);
    let extra_gib = warm_up.max(0.0) * overhead::sampler_logits_gib(model, s.max_num_seqs);
    // It runs beside whatever other processes hold on the GPU (the worker
    // is the last to allocate: v0.11.0 gpu_worker.py
    // `compile_or_warm_up_model` captures the graphs, then
    // `_dummy_sampler_run`). Where vLLM took their memory out of the KV
    // budget (`CoTenant::Subtracted`) its own cache is that much smaller.
    let in_use = args.gpu_memory_in_use_gib.max(0.0);
    let own = match args.kv_cache_memory_bytes {
        Some(_) => resident,
        None => resident - co_tenant::counted_gib(s.version.co_tenant(s.generation), in_use),
    };
    let room = total - in_use - own;
    let mut margins = vec![resident_margin];
    if extra_gib > 0.0 {
        margins.push(Margin { limit: Limit::SamplerWarmUp, gib: room - extra_gib, passed: extra_gib <= room });
    }
    // Without an extra peak the warm-up allocates nothing new: memory the
    // others hold beyond the room is the co-tenant check's (`problems`).
    let refusal = (extra_gib > 0.0 && extra_gib > room).then(|| {
        let words = refusals::sampler_warm_up(s.max_num_seqs);
        if in_use > 0.0 {
            format!(
                "{words} (the warm-up needs {extra_gib:.2} GiB beside the {in_use:.2} GiB other processes hold on this GPU; {:.2} GiB are left)",
                room.max(0.0)
            )
        } else {
            words
        }
    });
    (refusal, margins)
}

/// What vLLM refuses before it loads anything, in the order it meets
/// them: its config checks, the model's split over the ranks, the dtype,
/// the free memory at startup.
pub(super) fn startup_refusals(
    model: &ModelShape,
    gpu: &GpuInfo,
    args: &EngineArgs,
    s: &Settings,
    quantization: &super::quant_checkpoint::Against,
) -> Refusals {
    let (version, generation, utilization) = (s.version, s.generation, s.utilization);
    let tp = args.tensor_parallel.max(1);
    let mut problems = Refusals::default();
    if !(utilization > 0.0 && utilization <= 1.0) {
        problems.push(Refusal::Startup, format!("GPU memory utilization must be within (0, 1]. Got {utilization}."));
    }
    let kv_heads = model.mla_latent.is_none().then_some(model.kv_heads);
    problems.extend(Refusal::Startup, refusals::tensor_parallel_split(model.heads, model.vocab, kv_heads, tp));
    if let Some(len) = args.max_model_len {
        // The catalog's shape holds `max_position_embeddings` only: no
        // RoPE factor is applied here (see refusals::derived_max_model_len).
        let derived = refusals::derived_max_model_len(model.max_position, None, false);
        let refusal = refusals::max_model_len(version, len, derived, false, args.vllm_env.allow_long_max_model_len);
        problems.extend(Refusal::Startup, refusal);
    }
    problems.extend(Refusal::Startup, s.v1_refused.clone());
    if let super::quant_checkpoint::Against::Refused(why) = quantization {
        problems.push(Refusal::Startup, why.clone());
    }
    problems.extend(
        Refusal::Startup,
        super::quant_checkpoint::deprecated_refusal(
            &model.checkpoint_quant,
            args.quantization.as_deref(),
            version,
            args.allow_deprecated_quantization,
        ),
    );
    if s.dtype == DtypeOutcome::Refused {
        problems.push(Refusal::Startup, dtype::bf16_refusal(&gpu.label, &gpu.compute));
    }
    match Dtype::parse(&args.dtype) {
        Dtype::Other(name) => problems.push(Refusal::Startup, dtype::unknown_dtype_refusal(version, &name)),
        Dtype::Float16 => problems.extend(Refusal::Startup, dtype::float16_refusal(version, &model.model_type)),
        _ => {}
    }
    if let Some(lora) = &args.lora {
        // `LoRAConfig`'s checks run as the engine config is built.
        let chunked = args.enable_chunked_prefill == Some(true);
        problems.extend(Refusal::Startup, super::lora::refusals(model, version, lora, chunked));
    }
    // `init_device` checks the dtype, then the free memory (v0.9.1
    // v1/worker/gpu_worker.py:130,138).
    let (in_use, total, accounting) = (args.gpu_memory_in_use_gib, gpu.total_gib, version.co_tenant(generation));
    if in_use > 0.0 && accounting == version::CoTenant::Checked {
        problems.extend(Refusal::FreeMemory, refusals::free_memory(version, total - in_use, total, utilization));
    }
    problems
}
