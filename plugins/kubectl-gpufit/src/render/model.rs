//! `model`: the memory calculation as text for a person or as a
//! `ModelFit` document.

use gpuops_cli::{Kind, OutputArgs};
use gpuops_model::catalog::MemorySource;
use gpuops_model::memory::MemoryFit;
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
}

pub(crate) fn model(answer: &ModelAnswer<'_>, args: &OutputArgs) -> Result<String, Error> {
    if is_document(args.output) {
        return document(Kind::ModelFit, answer, args.output);
    }
    Ok(memory_text(answer.fit, answer.smallest_tp))
}

fn memory_text(f: &MemoryFit, smallest: Option<u64>) -> String {
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
        "model:        {}\ngpu:          {} ({:.2} GiB, {source}; {:.2} GiB at utilization {})\nengine:       vLLM {} {} (max_num_batched_tokens {}, max_num_seqs {}; top-k/top-p {:?})\nparallelism:  TP {} × PP {}\nweights/GPU:  {:.2} GiB\nactivations:  {:.2} GiB; non-torch {:.2} GiB; CUDA graphs {:.2} GiB ({graphs})\nKV budget:    {:.2} GiB/GPU, {} bytes per token, {} tokens in the pool\nmax context:  {} tokens (asked: {})\nverdict:      {}\n",
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
        f.activation_gib,
        f.non_torch_gib,
        f.cuda_graph_gib,
        f.kv_budget_gib.max(0.0),
        f.kv_bytes_per_token,
        f.kv_pool_tokens,
        context,
        f.max_model_len,
        if f.fits { "fits" } else { "does not fit" }
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
