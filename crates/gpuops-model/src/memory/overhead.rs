//! What vLLM's memory profiler measures besides the weights, per GPU:
//! the activation peak of its profile run, memory outside PyTorch's
//! allocator (CUDA context, cuBLAS workspaces, NCCL and custom all-reduce
//! buffers) and CUDA graphs (vllm/v1/worker/gpu_worker.py
//! `determine_available_memory`; vllm/utils/mem_utils.py `memory_profiling`).
//!
//! The constants are fitted to public startup logs, not guessed: the
//! calibration set (`tests/fixtures/vllm-calibration.json`, one row per
//! log with its source) is replayed by `tests/integration/calibration.rs`,
//! which prints the accuracy table. Change a constant only with that table.

use super::engine::Generation;
use super::version::SamplerBackend;
use crate::catalog::{GpuInfo, ModelShape};

const GIB: f64 = (1u64 << 30) as f64;

/// Activation bytes per profiled token and unit of width (bf16 tensors of
/// `hidden + 2 × ffn/TP` per token) and the fixed part, per generation.
///
/// V0 prefills `max_num_batched_tokens` in one eager pass: the peak grows
/// with it (vllm#10517: Llama-3.1-8B on an RTX 3090 peaks 2.07 GiB above
/// the weights at 20,000 tokens, 2.99 at 29,000); its sampler peak is
/// inside that fit. Fitted on kaspersiminski's vllm#10517 rows, which are
/// fit rows (`tests/calibration.rs` `FITTED_ON`).
///
/// V1 chunk-prefills through torch.compile'd graphs, and its peak is the
/// sampler warm-up ([`sampler_copies`]). From 0.20 (graphs in the budget)
/// the fixed part was fitted on 0.21–0.28 logs, whose profile samples
/// through FlashInfer or the V2 runner's plain pass (≈ 1 GiB whatever the
/// chunk: Qwen2.5-7B-AWQ at 2,048 tokens 1.04 GiB; Qwen3-8B on an RTX 5090
/// ~1.1).
struct ActivationFit {
    fixed_gib: f64,
    per_token: f64,
}

fn activation_fit(generation: Generation) -> ActivationFit {
    match generation {
        Generation::V0 => ActivationFit { fixed_gib: 0.1, per_token: 1.7 },
        Generation::V1 => ActivationFit { fixed_gib: 0.15, per_token: 0.17 },
        Generation::V1Graphs => ActivationFit { fixed_gib: 0.97, per_token: 0.17 },
    }
}

/// The profile sampler's peak in float32 copies of the `seqs × vocab`
/// logits (4 bytes each), by path. The dummy requests sample with
/// temperature 0.5, top-p 0.9 and top-k `vocab − 1`
/// (v1/worker/gpu_model_runner.py `_dummy_sampler_run`, v0.8.5:1527-1528,
/// v0.20.0:5646-5647), so:
///
/// - PyTorch sort (v1/sample/ops/topk_topp_sampler.py
///   `apply_top_k_top_p`, v0.8.5:189-209): the model-dtype logits (½
///   copy), `logits.to(torch.float32)` (1; v1/sample/sampler.py, v0.11.0
///   :86), `logits.sort` values and int64 indices (1 + 2), the top-p
///   soft-max (1), the boolean masks (¼ each) and the `scatter` result (1)
///   are live together: ≥ 6¾ copies, plus the radix sort's own double
///   buffer of keys and indices (≤ 3). The value is taken from the
///   calibration set's *fit* half only: Qwen3-14B on an H100 (llm-d-incubation's
///   version sweep, same flags) profiled 5.64 GiB at 0.15 and 0.16 (sort)
///   and 2.23 at 0.17 and 0.18 (Triton, 3½ copies; everything else in the
///   profile unchanged), 3.41 GiB apart = 5.88 copies of its 0.580 GiB
///   logits (1,024 × 151,936 × 4 B): 3½ + 5.88 = 9.4, inside that 6¾–9¾
///   (`tests/calibration.rs` re-derives it). The 0.11 H100 logs
///   (Llama-3.1-8B, Qwen3-0.6B, gpt-oss-20b: the peak follows the
///   vocabulary, not the model) agree with it; they are fit rows since
///   the 2026-12-03 audit (llm-d's rows set the V1 NCCL figure,
///   [`non_torch_gib`]), so they no longer count as a check of it.
/// - Triton (0.17+, v0.17.0 topk_topp_sampler.py:251) masks the float32
///   logits in place (its only tensors are the k and p vectors,
///   v0.19.0 topk_topp_triton.py:998-1006; its per-program scratch rows
///   are counted apart, [`triton_profile_peak_gib`]), then `forward_native`'s
///   soft-max and `random_sample`'s exponential draw (1 + 1, v0.17.1
///   topk_topp_sampler.py:112,334; `compiled_random_sample` is the CPU
///   path's, :162): ½ + 1 + 2 = 3½ (Qwen3-14B's profile fell from 5.64 GiB at
///   0.16 to 2.23 at 0.17 in the calibration set: 3.4 copies of its
///   0.58 GiB).
/// - FlashInfer (`flashinfer_sample` →
///   `top_k_top_p_sampling_from_logits`, v0.11.0 topk_topp_sampler.py
///   :122): the ½ + 1 above, the top-k-masked logits (1) and their
///   soft-max (1): 3½ copies, no sort.
/// - A profile that skips top-k/top-p (the V2 runner before 0.34): ½ + 1
///   and one soft-max: 2½.
///
/// From 0.20 (graphs in the budget) the fitted fixed part
/// (`activation_fit`) was fitted on logs whose sampler took the 3½ of
/// Triton or FlashInfer, with 0.33 copies over it; other paths move it
/// by their difference to 3½.
pub fn sampler_copies(generation: Generation, backend: SamplerBackend, top_k_top_p: bool) -> f64 {
    let traced = traced_sampler_copies(backend, top_k_top_p);
    match generation {
        Generation::V0 => 0.0,
        Generation::V1 => traced,
        Generation::V1Graphs => (0.33 + traced - NO_SORT).max(0.0),
    }
}

const SORT: f64 = 9.4;
const NO_SORT: f64 = 3.5;
const PLAIN: f64 = 2.5;

/// The traced peak of a path (see [`sampler_copies`]), before any fit.
pub fn traced_sampler_copies(backend: SamplerBackend, top_k_top_p: bool) -> f64 {
    match (backend, top_k_top_p) {
        (_, false) => PLAIN,
        (SamplerBackend::Native, true) => SORT,
        (SamplerBackend::Triton | SamplerBackend::FlashInfer, true) => NO_SORT,
    }
}

/// The profile run's activation peak (GiB) for `tokens` batched tokens and
/// `seqs` dummy sequences, the sampler taking `sampler_copies` float32
/// copies of the logits.
pub fn activation_gib(
    generation: Generation,
    model: &ModelShape,
    tp: u64,
    tokens: u64,
    seqs: u64,
    sampler_copies: f64,
) -> f64 {
    let fit = activation_fit(generation);
    let width = model.hidden as f64 + 2.0 * model.ffn_active as f64 / tp.max(1) as f64;
    let per_token = tokens as f64 * width * 2.0 / GIB;
    // The sampler sees the whole vocabulary on every rank.
    let logits = sampler_logits_gib(model, seqs);
    // The vision encoder is profiled with the largest dummy images too
    // ("Encoder cache will be initialized with a budget of 16384 tokens"):
    // a 1 GiB allowance, not derived, which the fit half's Gemma 3,
    // Mistral Small 3.1 and Llama 4 rows bear out; the models it fails
    // for are not sized (`encoder_decoder::unsized_reason`).
    let encoder = if model.vision { 1.0 } else { 0.0 };
    let moe = if generation == Generation::V0 { fused_moe_cache_gib(model, tokens) } else { 0.0 };
    fit.fixed_gib + fit.per_token * per_token + sampler_copies * logits + encoder + moe
}

/// What V0's profile holds for the fused-MoE kernel beyond what the fitted
/// width term (`activation_fit`) already counts (GiB). `fused_experts_impl`
/// allocates its caches up front for a chunk of at most
/// `VLLM_FUSED_MOE_CHUNK_SIZE` (32,768) tokens in the model dtype
/// (v0.7.3 model_executor/layers/fused_moe/fused_moe.py:1158-1183,
/// envs.py:429-430; v0.7.2 fused_moe.py:1154-1180): `(M, topk, N)`,
/// `(M·topk, N/2)` and `(M, topk, hidden)`, `N` = 2 × `moe_intermediate_size`
/// / TP. The first two are what a dense MLP of the token's active width
/// holds (`ffn_active` = topk × `moe_intermediate_size` + shared, the
/// width term's `2 × ffn/TP`); the third, one hidden-wide output per
/// routed expert before the weighted sum, is not: that is this term,
/// `M × topk × hidden × 2` bytes (3.4 GiB for DeepSeek-R1 at 32,000
/// tokens). DeepSeek's and Mixtral's MoE run in place (`inplace=True`,
/// v0.7.3 quantization/fp8.py:683, fused_moe/layer.py:163): no output
/// copy. V0 profiles every batched token in one forward, so the caches are
/// in its peak. Not counted: the FP8 copy of the kernel's input
/// (`M × hidden` bytes) that block-quantized experts add.
pub fn fused_moe_cache_gib(model: &ModelShape, tokens: u64) -> f64 {
    if !model.moe || model.experts_per_token == 0 {
        return 0.0;
    }
    const CHUNK: u64 = 32_768;
    let m = tokens.min(CHUNK) as f64;
    m * model.experts_per_token as f64 * model.hidden as f64 * 2.0 / GIB
}

/// The profile run as the activation term needs it (see
/// [`profile_activation_gib`]).
#[derive(Debug, Clone, Copy)]
pub struct ProfileRun {
    pub generation: Generation,
    pub sampler_backend: SamplerBackend,
    /// `max_num_batched_tokens`: the dummy forward's tokens.
    pub tokens: u64,
    /// `max_num_seqs`: the dummy sampler's requests.
    pub seqs: u64,
    /// [`sampler_copies`] for this run.
    pub sampler_copies: f64,
}

/// The profile run's activation peak (GiB): where vLLM's source gives the
/// whole peak (the V1 engine sampling through its Triton top-k/top-p
/// kernel, 0.17–0.19: [`triton_profile_peak_gib`]) that trace, else the
/// fitted [`activation_gib`].
pub fn profile_activation_gib(run: &ProfileRun, model: &ModelShape, gpu: &GpuInfo, tp: u64) -> f64 {
    if traces_triton_profile(run) {
        triton_profile_peak_gib(model, gpu, tp, run.tokens, run.seqs)
    } else {
        activation_gib(run.generation, model, tp, run.tokens, run.seqs, run.sampler_copies)
    }
}

/// Whether the profile's peak is the traced Triton-band one
/// ([`triton_profile_peak_gib`], sized by the GPU's compute units) rather
/// than the fitted [`activation_gib`].
pub fn traces_triton_profile(run: &ProfileRun) -> bool {
    run.generation == Generation::V1 && run.sampler_backend == SamplerBackend::Triton && run.sampler_copies == NO_SORT
}

/// The torch peak of a V1 profile run whose sampler masks top-k/top-p with
/// vLLM's Triton kernel (0.17–0.19 by default, from 8 requests), read at
/// the 0.17.1 wheel. `torch_peak_increase` is the rise of PyTorch's
/// *allocated* peak over the loaded weights (utils/mem_utils.py:272-283);
/// `profile_run` runs the dummy forward, then the dummy sampler, then
/// frees both (v1/worker/gpu_model_runner.py:5308-5319), so the peak is
/// the larger of the two phases, not their sum:
///
/// - the sampler phase holds the forward's output, `tokens × hidden`, and
///   its gather at the `seqs` last positions (:5081, `hidden_states[
///   logit_indices_device]`; `seqs = min(tokens, max_num_seqs)`, :4827),
///   the `rand_like` copy of that gather (:5097), the model-dtype logits
///   (½ float32 copy, :5099), `logits.to(torch.float32)` (1,
///   v1/sample/sampler.py:90), masked in place by the Triton kernel
///   (v1/sample/ops/topk_topp_sampler.py:106,251-252) whose per-program
///   scratch is [`triton_buffer_rows`] float32 rows of the vocabulary,
///   kept in a module cache (topk_topp_triton.py:995-1001), then
///   `logits.softmax(dtype=float32)` (1, topk_topp_sampler.py:112) and
///   `random_sample`'s `q = torch.empty_like(probs)` (1, :334; divided in
///   place, :346): 3½ copies plus the scratch;
/// - the forward phase of a dense model peaks in an MLP: its input and
///   the residual, `gate_up_proj`'s `2 × ffn/TP` output, the activation's
///   `ffn/TP` and `down_proj`'s output, all per token in the model dtype
///   (model_executor/models/qwen2.py:107-111 keeps `gate_up` to the end;
///   llama.py:116-120 drops it after the activation; decoder layers hold
///   `hidden_states` and `residual`, llama.py:319-332): `3 × hidden + 3 ×
///   ffn/TP` values a token, 1.03 GiB for Qwen2.5-7B at 8,192 tokens
///   (the `LLM` class default), above its 0.61 GiB sampler phase at 256
///   requests. A mixture-of-experts forward keeps the fitted width term of
///   `activation_fit` (the fused-MoE caches are not traced here).
///
/// The fitted V1 fixed part (0.15 GiB) is not in this trace: vLLM's source
/// holds nothing else at that moment. TheBuccaneer's RTX 3090 sweep
/// (0.17.1, Llama-3.1-8B and Qwen2.5-7B, utilization 0.60–0.90) left
/// 0.13–0.20 GiB more KV budget than the fitted sum did, at every
/// utilization.
pub fn triton_profile_peak_gib(model: &ModelShape, gpu: &GpuInfo, tp: u64, tokens: u64, seqs: u64) -> f64 {
    let ffn = model.ffn_active as f64 / tp.max(1) as f64;
    let forward = if model.moe {
        let fit = activation_fit(Generation::V1);
        fit.fixed_gib + fit.per_token * tokens as f64 * (model.hidden as f64 + 2.0 * ffn) * 2.0 / GIB
    } else {
        tokens as f64 * (3.0 * model.hidden as f64 + 3.0 * ffn) * 2.0 / GIB
    };
    let seqs = seqs.min(tokens);
    let held = (tokens + 2 * seqs) as f64 * model.hidden as f64 * 2.0 / GIB;
    let scratch = triton_buffer_rows(compute_units(gpu), seqs) as f64 * model.vocab as f64 * 4.0 / GIB;
    let sampler = held + NO_SORT * sampler_logits_gib(model, seqs) + scratch;
    let encoder = if model.vision { 1.0 } else { 0.0 };
    forward.max(sampler) + encoder
}

/// Rows of the Triton top-k/top-p kernel's scratch buffer: one per
/// program, `NUM_PROGRAMS = min(num_sm, batch_size)`, allocated as
/// `min(next_power_of_2(NUM_PROGRAMS), num_sm)` rows (v0.17.1
/// v1/sample/ops/topk_topp_triton.py:993-1001; `num_compute_units` is the
/// device's `multi_processor_count`, platforms/cuda.py and rocm.py:823-824).
pub fn triton_buffer_rows(compute_units: u64, seqs: u64) -> u64 {
    let programs = compute_units.min(seqs);
    programs.next_power_of_two().min(compute_units)
}

/// What [`compute_units`] takes for a GPU the catalog cannot count: an
/// H100's 132 SMs. A budget sized with it rests on that assumption.
pub const ASSUMED_COMPUTE_UNITS: u64 = 132;

/// The device's `multi_processor_count` (AMD: compute units), from the
/// catalog (`data/gpus.json` `computeUnits`; a MIG instance counts only its
/// slice's SMs, e.g. 14 on an A100 1g.5gb). A GPU it cannot count
/// (`--gpu-memory` alone, an unlisted product or MIG profile) is taken as
/// [`ASSUMED_COMPUTE_UNITS`].
pub fn compute_units(gpu: &GpuInfo) -> u64 {
    gpu.compute_units.unwrap_or(ASSUMED_COMPUTE_UNITS)
}

/// One float32 copy of the `seqs × vocab` logits (GiB).
pub fn sampler_logits_gib(model: &ModelShape, seqs: u64) -> f64 {
    seqs as f64 * model.vocab as f64 * 4.0 / GIB
}

/// Memory outside PyTorch's allocator (GiB): the CUDA context and library
/// workspaces, plus communication buffers when the model spans GPUs —
/// NCCL's and vLLM's custom all-reduce. V0 over NVLink/xGMI holds far more
/// (vllm#10511: Llama-3-8B on H100, 1.79 GiB at TP1, 3.58 at TP2;
/// DeepSeek-Coder-V2-Lite at TP8 on A100-SXM4, 2.10) than V1 (llm-d's H100
/// logs, vLLM 0.11: 0.13 at TP1, 0.54–0.55 at TP2); over PCIe little
/// (Qwen2.5-32B at TP2 on L40S, vllm#15815: 0.30). Those four publishers'
/// rows are fit rows (they were check rows until the 2026-12-03 audit
/// found these constants set from them; tests/fixtures/README.md), and
/// `tests/calibration.rs` `FITTED_ON` fails if one goes back. The fit
/// half's 0.19 rows at TP2/TP4 on H100 log 2.07–2.21 GiB: this figure
/// (0.25 + 0.4 there) plus FlashInfer's all-reduce fusion workspace, on by
/// default from 0.17 and 1.5 GiB a rank on NVSwitch
/// ([`super::allreduce_fusion`]), 2.15. From
/// 0.11 the communicators and the custom all-reduce are built before the
/// worker's baseline snapshot (v0.11.0 v1/worker/gpu_worker.py:165-182,
/// v0.19.0:257-282), so from there V1 does not count those 24 MiB and the
/// subtraction below (where vLLM builds no custom all-reduce) is 24 MiB
/// off, a rounding error; it is kept as read for V0.
///
/// Only the tensor-parallel group all-reduces: the pipeline group sends
/// activations point to point and never builds a custom all-reduce
/// (vllm/distributed/parallel_state.py, v0.11.0:1182 `_PP =
/// init_model_parallel_group(…)` without it; the communicator makes one
/// only `if use_custom_allreduce and self.world_size > 1`,
/// device_communicators/cuda_communicator.py:73). The custom all-reduce
/// part is [`custom_all_reduce_gib`]; the rest of the comms figure is
/// NCCL's, fitted.
///
/// What V1 counts is the growth from the worker's first snapshot to the
/// end of the profile (utils/mem_utils.py:272-274, v0.17.1). At 0.17.1
/// that snapshot is taken after the CUDA context and the distributed
/// environment exist ("Initialize the distributed environment BEFORE
/// taking memory snapshot", v1/worker/gpu_worker.py:260-285), so what
/// remains at TP 1 is what loads lazily afterwards (kernel modules of
/// cuBLAS, attention and the compiled graphs), which the source does not
/// size. From 0.18 the CUDA graph memory profile runs inside that window
/// (`profile_cudagraph_memory` within `memory_profiling`, v0.18.1
/// v1/worker/gpu_worker.py:383-399; not with `--enforce-eager`, nor on
/// ROCm), and what graph capture leaves outside torch's allocator counts
/// too (`graph_profile_counted`). Fitted on the fit half's H100 logs,
/// per band: 0.13 GiB before 0.18 (llm-d's 0.11 rows at TP 1,
/// llm-d-incubation's sweep at 0.15, 0.16 and 0.17), 0.25 from 0.18
/// (the sweep at 0.18; llm-d-incubation's 0.19 rows at TP 1: 0.24–0.27,
/// one 0.46). The 0.20+ generation whose graphs are in the budget keeps
/// 0.15: its fitted activation part (`activation_fit`) was fitted
/// beside that figure, and the two are not separable in its logs.
pub fn non_torch_gib(
    generation: Generation,
    gpu: &GpuInfo,
    tp: u64,
    custom_all_reduce: bool,
    graph_profile_counted: bool,
) -> f64 {
    let v0 = generation == Generation::V0;
    let base = match generation {
        Generation::V0 => 0.35,
        Generation::V1 if graph_profile_counted => 0.25,
        Generation::V1 => 0.13,
        Generation::V1Graphs => 0.15,
    };
    let comms = match (tp > 1, gpu.nvlink) {
        (false, _) => 0.0,
        (true, true) if v0 => 1.8,
        (true, true) => 0.4,
        (true, false) => 0.1,
    };
    // The fitted figure includes the custom all-reduce's buffers wherever
    // vLLM builds one; without it those bytes are not there.
    let car = if tp > 1 && !custom_all_reduce && custom_all_reduce_possible(gpu, tp) { CAR_BUFFERS_GIB } else { 0.0 };
    base + comms - car
}

/// What the V0 communication figure of [`non_torch_gib`] does not cover,
/// said beside the answer. That 1.8 GiB is fitted on V0 logs at TP 2 on
/// H100 (vllm#10511) and TP 8 on A100 (the DJL/LMI notes), and V0 counts
/// every byte NCCL holds since the worker's baseline, taken before the
/// distributed environment exists (v0.7.3 worker/worker.py:161-166,
/// utils.py:1920-1937,2029-2038). NCCL sizes its own buffers by channel count,
/// protocol and peers, and on NVSwitch Hopper parts adds NVLink SHARP
/// (NVLS) buffers per rank of the group; vLLM's source does not size any
/// of it. Two held-out V0 logs at TP 8 logged far more: 7.16 GiB on eight
/// H200 (vLLM 0.7.3) and 8.00 on eight MI300X (RCCL, 0.6.4). Those rows
/// are `check` rows, so no constant is taken from them: the answer says
/// the figure is uncertain instead. None at TP 2, on NVIDIA parts before
/// Hopper (compute capability below 9.0: no NVLS; the A100 row bears the
/// figure out at TP 8) and without an NVLink/xGMI group.
pub fn v0_comms_note(generation: Generation, gpu: &GpuInfo, tp: u64, non_torch_gib: f64) -> Option<String> {
    let before_hopper = gpu.cuda_capability().is_some_and(|cc| cc < (9, 0));
    if generation != Generation::V0 || tp <= 2 || !gpu.nvlink || before_hopper {
        return None;
    }
    Some(format!(
        "non-torch memory ({non_torch_gib:.2} GiB a GPU) is fitted on vLLM V0 logs of a TP 2 H100 and a TP 8 A100 group; NCCL's own buffers at TP {tp} over NVLink/xGMI are not sized from vLLM's source, and public V0 logs at TP 8 show 7.16 GiB (H200) and 8.00 GiB (MI300X), so the KV cache here may be several GiB a GPU smaller; check a startup log"
    ))
}

/// vLLM's custom all-reduce, per rank: the IPC buffer of `meta_size() +
/// max_size` bytes, the `max_size` buffer and the 8 MiB `rank_data`
/// (device_communicators/custom_all_reduce.py `max_size=8192 * 1024`,
/// v0.6.4:56,153-163, v0.11.0:57,164-175, v0.34.0:138): 24 MiB (the meta
/// header is a few KiB).
const CAR_BUFFERS_GIB: f64 = 24.0 / 1024.0;

/// Whether vLLM can build its custom all-reduce for this TP group on this
/// GPU: only for 2, 4, 6 or 8 ranks (`_SUPPORTED_WORLD_SIZES`,
/// custom_all_reduce.py v0.11.0:51) and, over PCIe, for two GPUs at most
/// ("not supported on more than two PCIe-only GPUs", v0.11.0:146).
pub fn custom_all_reduce_possible(gpu: &GpuInfo, tp: u64) -> bool {
    matches!(tp, 2 | 4 | 6 | 8) && (gpu.nvlink || tp == 2)
}

/// Whether the custom all-reduce is built: possible on this group, not
/// disabled (`--disable-custom-all-reduce`), and the group inside one node
/// ("Custom allreduce is disabled because this process group spans across
/// nodes.", custom_all_reduce.py v0.6.4:84, v0.11.0:88).
pub fn custom_all_reduce_gib(gpu: &GpuInfo, tp: u64, disabled: bool, multi_node: bool) -> f64 {
    if custom_all_reduce_possible(gpu, tp) && !disabled && !multi_node { CAR_BUFFERS_GIB } else { 0.0 }
}

/// CUDA graph memory (GiB) for the default capture sizes: 0.2 GiB plus
/// 6 MiB a layer for a dense model — what the calibration rows of vLLM ≥
/// 0.21 leave in the budget (Qwen3-8B: 0.42), close to the profiler's own
/// "Estimated CUDA graph memory: 0.36–0.58 GiB"; captured graphs can be a
/// little larger (Llama-3.1-8B, 0.15: "took 0.55 GiB") — and several times
/// that for MoE layers (Qwen3-235B-A22B-FP8, TP4: 3.45, vllm#21348, a fit
/// row since the 2026-12-03 audit; `tests/calibration.rs` `FITTED_ON`).
pub fn cuda_graph_gib(model: &ModelShape, enforce_eager: bool) -> f64 {
    if enforce_eager {
        return 0.0;
    }
    let dense = 0.2 + 0.006 * model.layers as f64;
    if model.moe { dense * 2.5 } else { dense }
}
