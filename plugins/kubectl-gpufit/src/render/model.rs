//! `model`: the memory calculation as text for a person or as a
//! `ModelFit` document.

use gpuops_cli::{Kind, OutputArgs, OutputFormat};
use gpuops_model::catalog::MemorySource;
use gpuops_model::memory::edge::{UNCERTAINTY_OF_TOTAL, uncertainty_gib};
use gpuops_model::memory::version::CoTenant;
use gpuops_model::memory::{EngineArgs, Generation, MemoryFit, Recommendation, VllmVersion};
use serde::Serialize;

use super::{document, is_document};
use crate::Error;

/// `kind: ModelFit`: the calculation's fields, then `smallestTp`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelAnswer<'a> {
    #[serde(flatten)]
    pub(crate) fit: &'a MemoryFit,
    /// The smallest tensor-parallel size up to 8 that fits, when the asked
    /// one does not (nullable: `null` when it fits or none does).
    pub(crate) smallest_tp: Option<u64>,
    /// `--recommend`'s answers (absent without it, and for a model gpuops
    /// does not size: `notSized` says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recommendation: Option<Recommendation>,
    /// `--recommend` was given for a model gpuops does not size: the text
    /// says why nothing is recommended.
    #[serde(skip)]
    pub(crate) recommend_declined: bool,
    /// `--gpu-memory-in-use` (absent without it).
    #[serde(flatten)]
    pub(crate) shared: Option<SharedGpu>,
}

/// Memory other processes hold on the GPU, and what this vLLM release
/// does with it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SharedGpu {
    pub(crate) gpu_memory_in_use_gib: f64,
    /// unseen, subtracted or checked (`VllmVersion::co_tenant`).
    pub(crate) co_tenant: CoTenant,
}

impl SharedGpu {
    pub(crate) fn of(args: &EngineArgs, fit: &MemoryFit) -> Option<Self> {
        let version = VllmVersion::parse(&fit.vllm_version)?;
        (args.gpu_memory_in_use_gib > 0.0).then(|| Self {
            gpu_memory_in_use_gib: args.gpu_memory_in_use_gib,
            co_tenant: version.co_tenant(fit.engine),
        })
    }

    /// One line under the GPU's, in what the release does.
    fn text(&self, f: &MemoryFit) -> String {
        let (gib, total) = (self.gpu_memory_in_use_gib, f.gpu_memory_gib);
        let what = match self.co_tenant {
            CoTenant::Checked => {
                format!("vLLM {} refuses to start below {:.2} GiB free", f.vllm_version, f.usable_gib)
            }
            CoTenant::Subtracted => format!("vLLM {} takes it out of the KV cache", f.vllm_version),
            CoTenant::Unseen => {
                format!("vLLM {} sizes the KV cache as if the GPU were empty", f.vllm_version)
            }
        };
        format!("in use:       {gib:.2} GiB held by other processes, {:.2} GiB free at startup; {what}\n", total - gib)
    }
}

pub(crate) fn model(answer: &ModelAnswer<'_>, args: &OutputArgs) -> Result<String, Error> {
    if is_document(args.output) {
        return document(Kind::ModelFit, answer, args.output);
    }
    let mut text = memory_text(answer.fit, answer.smallest_tp, args.output == OutputFormat::Wide);
    if let Some(shared) = &answer.shared {
        // Under the GPU line, which is the second.
        let at = text.match_indices('\n').nth(1).map_or(text.len(), |(i, _)| i + 1);
        text.insert_str(at, &shared.text(answer.fit));
    }
    if let Some(r) = &answer.recommendation {
        text.push_str(&recommendation_text(r, answer.fit));
    } else if answer.recommend_declined {
        text.push_str(
            "recommend:    nothing: gpuops does not size this model (see above), so no setting is known to start\n",
        );
    }
    Ok(text)
}

/// `1234567` as `1,234,567`: vLLM's `f"{num_tokens:,}"`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The two lines vLLM logs once the KV cache is sized, in its words: V1's
/// "GPU KV cache size: %s tokens" and "Maximum concurrency for %s tokens
/// per request: %.2fx" (v1/core/kv_cache_utils.py `_report_kv_cache_config`,
/// numbers with thousands separators), V0's "# GPU blocks: %d" and the same
/// concurrency line unseparated (vllm/executor/executor_base.py
/// `initialize_cache`).
fn vllm_says(f: &MemoryFit) -> String {
    if f.engine == Generation::V0 {
        format!(
            "vLLM says:    # GPU blocks: {}\n              Maximum concurrency for {} tokens per request: {:.2}x\n",
            f.kv_pool_tokens / 16,
            f.max_model_len,
            f.max_concurrency
        )
    } else {
        format!(
            "vLLM says:    GPU KV cache size: {} tokens\n              Maximum concurrency for {} tokens per request: {:.2}x\n",
            thousands(f.kv_pool_tokens),
            thousands(f.max_model_len),
            f.max_concurrency
        )
    }
}

/// `-o wide`: the budget term by term, as `determine_available_memory`
/// subtracts it (GiB per GPU).
fn budget_split(f: &MemoryFit) -> String {
    let graphs = if f.cuda_graph_in_budget { "in" } else { "outside" };
    format!(
        "budget:       {:.2} GiB usable = weights {:.2} + activation {:.2} + non-torch {:.2} (custom all-reduce {:.2}) + CUDA graphs {:.2} ({graphs} the budget) + KV {:.2}\nsampler:      top-k/top-p {:?}, {:.1} float32 copies of the max_num_seqs × vocab logits in the profile\n",
        f.usable_gib,
        f.weights_per_gpu_gib,
        f.activation_gib,
        f.non_torch_gib,
        f.custom_all_reduce_gib,
        if f.cuda_graph_in_budget { f.cuda_graph_gib } else { 0.0 },
        f.kv_budget_gib.max(0.0),
        f.sampler_backend,
        f.sampler_copies,
    )
}

/// `--recommend`: flags to start with, the margin they keep, then the
/// fewest GPUs per type.
fn recommendation_text(r: &Recommendation, f: &MemoryFit) -> String {
    let (len, n) = (r.demand.context, r.demand.concurrency);
    let mut out = format!("recommend:    for {n} request(s) of {len} tokens at once\n");
    // The values are searched outside the model's error (`memory::recommend`):
    // say how far, so that "starts" reads as "starts with room", not as
    // the last value that the model still calls a fit.
    let percent = UNCERTAINTY_OF_TOTAL * 100.0;
    out.push_str(&format!(
        "  margin: the values below start with at least {:.2} GiB to spare ({percent:.1}% of the GPU, the model's error), each GPU type with {percent:.1}% of its own\n",
        uncertainty_gib(f.gpu_memory_gib),
    ));
    let mut flag = |name: &str, value: Option<String>, why: String| match value {
        Some(v) => out.push_str(&format!("  --{name} {v}   {why}\n")),
        None => out.push_str(&format!(
            "  --{name}: none starts on this GPU at TP {} × PP {}\n",
            f.tensor_parallel, f.pipeline_parallel
        )),
    };
    flag("max-model-len", r.max_model_len.map(|v| v.to_string()), "the longest that starts with these flags".into());
    flag(
        "max-num-seqs",
        r.max_num_seqs.map(|v| v.to_string()),
        format!("the most that start at {len} tokens (at most max_num_batched_tokens, {})", f.max_num_batched_tokens),
    );
    flag(
        "gpu-memory-utilization",
        r.gpu_memory_utilization.map(|u| format!("{u:.2}")),
        format!("the least that starts and holds {n} × {len} tokens"),
    );
    flag(
        "kv-cache-memory-bytes",
        r.kv_cache_memory_bytes.map(|b| format!("{b}")),
        format!(
            "the same as a fixed KV cache ({:.2} GiB: vLLM's cache check takes it exactly, no margin there)",
            r.kv_cache_memory_bytes.unwrap_or(0) as f64 / (1u64 << 30) as f64
        ),
    );
    const SHOWN: usize = 5;
    match r.placements.first() {
        None => out.push_str("  no catalog GPU serves it with TP up to 8\n"),
        Some(_) => {
            for (i, p) in r.placements.iter().take(SHOWN).enumerate() {
                out.push_str(&format!(
                    "  {} {} × {} (TP {}): maximum concurrency {:.2}x\n",
                    if i == 0 { "fewest GPUs:" } else { "            " },
                    p.tensor_parallel,
                    p.gpu,
                    p.tensor_parallel,
                    p.max_concurrency
                ));
            }
            if r.placements.len() > SHOWN {
                out.push_str(&format!("               … {} more GPU types (-o json)\n", r.placements.len() - SHOWN));
            }
        }
    }
    out
}

/// "fits" / "does not fit", or, where the deciding margin is inside the
/// model's own error, which limit and how far (`MemoryFit::edge`): never a
/// confident answer the model does not have.
fn verdict(f: &MemoryFit) -> String {
    if f.not_sized.is_some() {
        // The figures above are no prediction: say so, not "does not fit".
        return "unchecked (not sized by gpuops: see below)".to_string();
    }
    match &f.edge {
        Some(edge) => edge.text(f.fits),
        None => (if f.fits { "fits" } else { "does not fit" }).to_string(),
    }
}

/// LoRA's adapter slots inside the weights, as vLLM counts them.
fn lora_part(f: &MemoryFit) -> String {
    f.lora.map_or(String::new(), |l| format!(" (LoRA adapter slots {:.2} GiB included)", l.stacks_gib))
}

fn memory_text(f: &MemoryFit, smallest: Option<u64>, wide: bool) -> String {
    let source = match f.gpu_memory_source {
        MemorySource::Catalog => "as CUDA reports it",
        MemorySource::NodeLabel => "estimated from the node's memory label",
        MemorySource::Flag => "from --gpu-memory",
        MemorySource::Mig => "MIG slice",
        MemorySource::Mps => "an MPS share of the GPU",
    };
    let graphs = if f.cuda_graph_in_budget { "in the budget" } else { "captured after the KV cache, outside it" };
    let context = if f.max_context == u64::MAX {
        "unbounded (every layer slides)".to_string()
    } else {
        f.max_context.to_string()
    };
    let mut out = format!(
        "model:        {}\ngpu:          {} ({:.2} GiB, {source}; {:.2} GiB at utilization {})\nengine:       vLLM {} {} (max_num_batched_tokens {}, max_num_seqs {}; top-k/top-p {:?})\nparallelism:  TP {} × PP {}\nweights/GPU:  {:.2} GiB{}\nactivations:  {:.2} GiB; non-torch {:.2} GiB; CUDA graphs {:.2} GiB ({graphs})\nKV budget:    {:.2} GiB/GPU, {} bytes per token\n{}max context:  {} tokens (asked: {})\n{}verdict:      {}\n",
        f.model,
        f.gpu,
        f.gpu_memory_gib,
        f.usable_gib,
        f.gpu_memory_utilization,
        f.vllm_version,
        f.engine.as_str(),
        f.max_num_batched_tokens,
        f.max_num_seqs,
        f.sampler_backend,
        f.tensor_parallel,
        f.pipeline_parallel,
        f.weights_per_gpu_gib,
        lora_part(f),
        f.activation_gib,
        f.non_torch_gib,
        f.cuda_graph_gib,
        f.kv_budget_gib.max(0.0),
        f.kv_bytes_per_token,
        vllm_says(f),
        context,
        f.max_model_len,
        if wide { budget_split(f) } else { String::new() },
        verdict(f)
    );
    for p in &f.problems {
        out.push_str(&format!("  {p}\n"));
    }
    for note in &f.notes {
        out.push_str(&format!("note:         {note}\n"));
    }
    if let Some(tp) = smallest {
        out.push_str(&format!("smallest TP that fits: {tp}\n"));
    }
    out
}
