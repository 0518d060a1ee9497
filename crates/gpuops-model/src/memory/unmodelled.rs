//! vLLM engine flags that move GPU memory in ways the budget does not
//! model. A container that sets one gets a note naming the flag (shown by
//! `model`, as a warning by `check` and the Argo CD gate) instead of
//! figures that silently assume the flag is absent.
//!
//! Flag names as vLLM's parsers spell them: v0.7.3, v0.8.5, v0.10.1.1 and
//! v0.19.0 `vllm/engine/arg_utils.py` (lines on each variant).

use serde::Serialize;

/// What a flag changes that gpuops does not size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UnmodelledKind {
    /// `--speculative-config`/`-sc` (v0.8.5:749, v0.19.0:1304),
    /// `--speculative-model` and `--num-speculative-tokens` (v0.7.3:754,
    /// 772): a draft model or MTP/EAGLE head loads on the same GPUs and its
    /// layers take KV cache; with any method (ngram too) V1's profile runs
    /// the rejection sampler on `num_reqs` draft plus `num_reqs` target
    /// rows of logits after the sampler (v0.19.0
    /// v1/worker/gpu_model_runner.py:5609-5631).
    SpeculativeDecoding,
    /// `--num-gpu-blocks-override` (v0.7.3:512, v0.19.0:994): vLLM
    /// allocates that many blocks whatever the profile left
    /// (v0.19.0 v1/core/kv_cache_utils.py:827-834).
    GpuBlocksOverride,
    /// `--hf-overrides` (v0.7.3:584, v0.19.0:753) and `--rope-scaling`
    /// (v0.7.3:573, v0.10.1.1:492): the config vLLM builds the model from
    /// is not the `config.json` gpuops read.
    ConfigOverride,
    /// `--compilation-config`/`-O`/`-cc`, `--cudagraph-capture-sizes`,
    /// `--max-cudagraph-capture-size` (v0.19.0:1280-1316),
    /// `--cuda-graph-sizes` (v0.10.1.1:805), `--max-seq-len-to-capture`
    /// (v0.7.3:595), `--optimization-level` (v0.19.0:1329): what CUDA
    /// graphs capture, whose memory is estimated for vLLM's defaults.
    Compilation,
    /// `--enable-expert-parallel`/`-ep` (v0.8.5:538, v0.19.0:925): experts
    /// placed whole per rank instead of sharded, plus the all-to-all
    /// backend's buffers.
    ExpertParallel,
    /// `--kv-offloading-size`/`--kv-offloading-backend` (v0.19.0:1028-1032):
    /// KV offloading through vLLM's offloading connector, whose GPU buffers
    /// are its own.
    KvOffloading,
    /// `--offload-backend`, `--offload-params`, `--offload-group-size`,
    /// `--offload-num-in-group`, `--offload-prefetch-step`,
    /// `--cpu-offload-params` (v0.19.0:1042-1062): weight offloading other
    /// than the `--cpu-offload-gb` gpuops reads.
    WeightOffloading,
}

/// One flag a container sets that the budget does not model, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmodelledFlag {
    pub kind: UnmodelledKind,
    /// The flag as the container spells it (`--speculative-config`, `-O3`).
    pub flag: String,
}

/// The kind a normalized flag name belongs to (long names with dashes;
/// `-O`/`-O3`/`-O.level` reach here as `-O`).
pub fn kind_of(name: &str) -> Option<UnmodelledKind> {
    use UnmodelledKind::*;
    Some(match name {
        "--speculative-config" | "-sc" | "--speculative-model" | "--num-speculative-tokens" => SpeculativeDecoding,
        "--num-gpu-blocks-override" => GpuBlocksOverride,
        "--hf-overrides" | "--rope-scaling" => ConfigOverride,
        "--compilation-config"
        | "-O"
        | "-cc"
        | "--optimization-level"
        | "--cudagraph-capture-sizes"
        | "--max-cudagraph-capture-size"
        | "--cuda-graph-sizes"
        | "--max-seq-len-to-capture" => Compilation,
        "--enable-expert-parallel" | "-ep" => ExpertParallel,
        "--kv-offloading-size" | "--kv-offloading-backend" => KvOffloading,
        "--offload-backend"
        | "--offload-params"
        | "--offload-group-size"
        | "--offload-num-in-group"
        | "--offload-prefetch-step"
        | "--cpu-offload-params" => WeightOffloading,
        _ => return None,
    })
}

impl UnmodelledFlag {
    /// Whether the note applies to this model (expert parallelism only
    /// moves a mixture of experts).
    pub fn applies(&self, moe: bool) -> bool {
        self.kind != UnmodelledKind::ExpertParallel || moe
    }

    /// The note shown beside the verdict.
    pub fn note(&self) -> String {
        let flag = &self.flag;
        match self.kind {
            UnmodelledKind::SpeculativeDecoding => format!(
                "speculative decoding ({flag}) is not modelled: a draft model or MTP/EAGLE head loads on the same GPUs and its layers take KV cache, and even with ngram V1's profile runs the rejection sampler on twice the sampler's rows of logits, so the memory left for the KV cache here is high; check a startup log"
            ),
            UnmodelledKind::GpuBlocksOverride => format!(
                "{flag} sets the KV cache's block count: vLLM allocates that many blocks whatever memory the profile left, so the KV figures here are not what it allocates and a count above them can run out of memory"
            ),
            UnmodelledKind::ConfigOverride => format!(
                "{flag} changes the model's config before vLLM builds it: the shape, context length and weights here are the unmodified config.json's"
            ),
            UnmodelledKind::Compilation => format!(
                "{flag} changes what vLLM compiles and captures: the CUDA graph memory here is estimated for vLLM's default capture sizes"
            ),
            UnmodelledKind::ExpertParallel => format!(
                "expert parallelism ({flag}) is not modelled: experts are placed whole on each GPU instead of sharded across the TP group, and the all-to-all backend's buffers are not counted"
            ),
            UnmodelledKind::KvOffloading => format!(
                "KV offloading ({flag}) is not modelled: the offloading connector's GPU buffers are not in these figures"
            ),
            UnmodelledKind::WeightOffloading => format!(
                "weight offloading ({flag}) is not modelled: the weights here are all on the GPU (only --cpu-offload-gb is read)"
            ),
        }
    }
}
