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
use crate::catalog::{GpuInfo, ModelShape};

const GIB: f64 = (1u64 << 30) as f64;

/// Activation bytes per profiled token and unit of width (bf16 tensors of
/// `hidden + 2 × ffn/TP` per token), the fixed part, and the sampler
/// warm-up, per generation.
///
/// V0 prefills `max_num_batched_tokens` in one eager pass: the peak grows
/// with it (vllm#10517: Llama-3.1-8B on an RTX 3090 peaks 2.07 GiB above
/// the weights at 20,000 tokens, 2.99 at 29,000).
///
/// V1 (0.8–0.20) chunk-prefills through torch.compile'd graphs, and its
/// peak is the sampler warm-up: vllm/v1/worker/gpu_model_runner.py
/// `_dummy_sampler_run` samples `max_num_seqs` dummy requests with top-p
/// 0.9 and top-k `vocab - 1`, so the float32 logits are sorted, masked,
/// soft-maxed and sampled — about 9.4 copies of `seqs × vocab × 4` bytes.
/// Fitted to the llm-d-benchmark H100 logs (vLLM 0.11, 1,024 sequences):
/// Llama-3.1-8B 4.76 GiB, Llama-3.3-70B 4.84, Qwen3-0.6B 5.56, Qwen3-32B
/// 5.64, gpt-oss-20b 7.38 — the peak follows the vocabulary, not the model.
///
/// V1 from 0.21: the profile's sampler may skip top-k, top-p and logprobs
/// (vllm/v1/worker/gpu/model_runner.py `_dummy_sampler_run`, "using less
/// GPU memory than what is possible during actual execution"): about 1 GiB
/// whatever the chunk (Qwen2.5-7B-AWQ at 2,048 tokens: 1.04 GiB; Qwen3-8B
/// on an RTX 5090: ~1.1). That the sampler changed exactly at the 0.21
/// generation boundary is an assumption: the calibration set has no row
/// between 0.11 and 0.21 on a GPU where 1,024 sequences tell them apart.
struct ActivationFit {
    fixed_gib: f64,
    per_token: f64,
    sampler_copies: f64,
}

fn activation_fit(generation: Generation) -> ActivationFit {
    match generation {
        Generation::V0 => ActivationFit { fixed_gib: 0.1, per_token: 1.7, sampler_copies: 0.0 },
        Generation::V1 => ActivationFit { fixed_gib: 0.15, per_token: 0.17, sampler_copies: 9.4 },
        Generation::V1Graphs => ActivationFit { fixed_gib: 0.97, per_token: 0.17, sampler_copies: 0.33 },
    }
}

/// The profile run's activation peak (GiB) for `tokens` batched tokens and
/// `seqs` dummy sequences.
pub fn activation_gib(generation: Generation, model: &ModelShape, tp: u64, tokens: u64, seqs: u64) -> f64 {
    let fit = activation_fit(generation);
    let width = model.hidden as f64 + 2.0 * model.ffn_active as f64 / tp.max(1) as f64;
    let per_token = tokens as f64 * width * 2.0 / GIB;
    // The sampler sees the whole vocabulary on every rank.
    let logits = seqs as f64 * model.vocab as f64 * 4.0 / GIB;
    // The vision encoder is profiled with the largest dummy images too
    // ("Encoder cache will be initialized with a budget of 16384 tokens");
    // the calibration set has no vision rows, so this stays the old
    // 1 GiB heuristic.
    let encoder = if model.vision { 1.0 } else { 0.0 };
    fit.fixed_gib + fit.per_token * per_token + fit.sampler_copies * logits + encoder
}

/// Memory outside PyTorch's allocator (GiB): the CUDA context and library
/// workspaces, plus communication buffers when the model spans GPUs —
/// NCCL's and vLLM's custom all-reduce. V0 over NVLink/xGMI holds far more
/// (vllm#10511: Llama-3-8B on H100, 1.79 GiB at TP1, 3.58 at TP2;
/// DeepSeek-Coder-V2-Lite at TP8 on A100-SXM4, 2.10) than V1 (llm-d's H100
/// logs, vLLM 0.11: 0.13 at TP1, 0.54–0.55 at TP2); over PCIe little
/// (Qwen2.5-32B at TP2 on L40S, vllm#15815: 0.30).
pub fn non_torch_gib(generation: Generation, gpu: &GpuInfo, world: u64) -> f64 {
    let v0 = generation == Generation::V0;
    let base = if v0 { 0.35 } else { 0.15 };
    let comms = match (world > 1, gpu.nvlink) {
        (false, _) => 0.0,
        (true, true) if v0 => 1.8,
        (true, true) => 0.4,
        (true, false) => 0.1,
    };
    base + comms
}

/// CUDA graph memory (GiB) for the default capture sizes: 0.2 GiB plus
/// 6 MiB a layer for a dense model — what the calibration rows of vLLM ≥
/// 0.21 leave in the budget (Qwen3-8B: 0.42), close to the profiler's own
/// "Estimated CUDA graph memory: 0.36–0.58 GiB"; captured graphs can be a
/// little larger (Llama-3.1-8B, 0.15: "took 0.55 GiB") — and several times
/// that for MoE layers (Qwen3-235B-A22B-FP8, TP4: 3.45).
pub fn cuda_graph_gib(model: &ModelShape, enforce_eager: bool) -> f64 {
    if enforce_eager {
        return 0.0;
    }
    let dense = 0.2 + 0.006 * model.layers as f64;
    if model.moe { dense * 2.5 } else { dense }
}
