//! vLLM engine generations and the defaults each one picks for what the
//! user leaves unset — the same flags give different memory on different
//! vLLM versions.

use serde::Serialize;

use super::version::{VllmEnv, VllmVersion};

/// How a vLLM version budgets memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Generation {
    /// The V0 engine (vLLM < 0.8, or `VLLM_USE_V1=0` up to 0.10): the
    /// profile run prefills `max_num_batched_tokens` in one pass, chunked
    /// prefill only above 32K context; CUDA graphs come out of the 10% left.
    #[serde(rename = "v0")]
    V0,
    /// The V1 engine (0.8–0.19): always chunked prefill; CUDA graphs are
    /// captured after the KV cache, outside the budget (0.18–0.19 put the
    /// estimate inside only with `VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1`).
    #[serde(rename = "v1")]
    V1,
    /// V1 from 0.20.0, where the profiler's CUDA graph estimate is inside
    /// `gpu_memory_utilization` by default (v0.20.0 envs.py:1725) and the
    /// default utilization rose to 0.92 (v0.20.0 config/cache.py:66); see
    /// [`super::version`].
    #[serde(rename = "v1-graphs")]
    V1Graphs,
}

impl Generation {
    /// What an unknown or `latest` image runs.
    pub const NEWEST: Generation = Generation::V1Graphs;

    /// `v0`, `v1`, `v1-graphs`, or a vLLM version (`0.6.4`, `v0.10.1.1`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "v0" => Some(Self::V0),
            "v1" => Some(Self::V1),
            "v1-graphs" => Some(Self::V1Graphs),
            version => Self::from_version(version),
        }
    }

    /// The generation of a vLLM release (`0.8.5.post1`, `v0.20.0`) with
    /// its default env.
    pub fn from_version(version: &str) -> Option<Self> {
        Some(VllmVersion::parse(version)?.generation(&VllmEnv::default()))
    }

    /// The generation a container image runs, from its tag
    /// (`vllm/vllm-openai:v0.6.4`, `kserve/huggingfaceserver:v0.15.2-gpu`
    /// is not vLLM's own version and says nothing); `VLLM_USE_V1=0` in the
    /// container's env selects V0 on the versions that still had it.
    pub fn from_image(image: &str, use_v1: Option<&str>) -> Option<Self> {
        let env = VllmEnv::from_vars(|name| (name == "VLLM_USE_V1").then(|| use_v1.map(str::to_string)).flatten());
        Some(VllmVersion::from_image(image)?.generation(&env))
    }

    /// `--gpu-memory-utilization` when unset.
    pub fn default_utilization(self) -> f64 {
        if self == Self::V1Graphs { 0.92 } else { 0.9 }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0 => "v0",
            Self::V1 => "v1",
            Self::V1Graphs => "v1-graphs",
        }
    }
}

/// Which front end starts the engine: defaults differ between the
/// OpenAI-compatible server (what Kubernetes runs) and the `LLM` class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entrypoint {
    #[default]
    Server,
    Offline,
}

/// `max_num_batched_tokens` and `max_num_seqs` when unset.
///
/// V1: vllm/engine/arg_utils.py `_set_default_args_v1` — on GPUs with at
/// least 70 GiB that are not A100s, 8,192 tokens for the server (16,384
/// offline) and 1,024 sequences; otherwise 2,048 (8,192 offline) and 256.
/// V0: without chunked prefill one prefill of `max(max_model_len, 2048)`
/// tokens; chunked prefill (on by default above 32K context) batches 512.
pub fn scheduler_defaults(
    generation: Generation,
    entrypoint: Entrypoint,
    gpu_total_gib: f64,
    gpu_label: &str,
    max_model_len: u64,
) -> (u64, u64) {
    match generation {
        Generation::V0 if max_model_len > 32_768 => (512, 256),
        Generation::V0 => (max_model_len.max(2048), 256),
        _ => {
            let big = gpu_total_gib >= 70.0 && !gpu_label.to_ascii_uppercase().contains("A100");
            match (big, entrypoint) {
                (true, Entrypoint::Server) => (8192, 1024),
                (true, Entrypoint::Offline) => (16_384, 1024),
                (false, Entrypoint::Server) => (2048, 256),
                (false, Entrypoint::Offline) => (8192, 256),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_images_name_their_generation() {
        assert_eq!(Generation::parse("0.6.4"), Some(Generation::V0));
        assert_eq!(Generation::parse("v0.8.5.post1"), Some(Generation::V1));
        assert_eq!(Generation::parse("0.19.1"), Some(Generation::V1));
        assert_eq!(Generation::parse("0.20.2"), Some(Generation::V1Graphs), "v0.20.0 envs.py:1725");
        assert_eq!(Generation::parse("v0.21.0"), Some(Generation::V1Graphs));
        assert_eq!(Generation::parse("1.0.0"), Some(Generation::V1Graphs));
        assert_eq!(Generation::parse("v1-graphs"), Some(Generation::V1Graphs));
        assert_eq!(Generation::parse("latest"), None);
        assert_eq!(Generation::from_image("vllm/vllm-openai:v0.6.4", None), Some(Generation::V0));
        assert_eq!(Generation::from_image("docker.io/vllm/vllm-openai:v0.10.1", Some("0")), Some(Generation::V0));
        assert_eq!(Generation::from_image("vllm/vllm-openai:latest", None), None);
        assert_eq!(Generation::from_image("kserve/huggingfaceserver:v0.15.2-gpu", None), None);
        assert_eq!(Generation::from_image("registry:5000/vllm/vllm-openai", None), None);
        assert_eq!(Generation::V1Graphs.default_utilization(), 0.92);
        assert_eq!(
            scheduler_defaults(Generation::V1, Entrypoint::Server, 79.19, "NVIDIA-H100-80GB-HBM3", 8192),
            (8192, 1024)
        );
        assert_eq!(
            scheduler_defaults(Generation::V1, Entrypoint::Server, 79.15, "NVIDIA-A100-SXM4-80GB", 8192),
            (2048, 256)
        );
        assert_eq!(scheduler_defaults(Generation::V0, Entrypoint::Server, 23.58, "RTX-3090", 20_000), (20_000, 256));
        assert_eq!(scheduler_defaults(Generation::V0, Entrypoint::Server, 23.58, "RTX-3090", 35_000), (512, 256));
    }
}
