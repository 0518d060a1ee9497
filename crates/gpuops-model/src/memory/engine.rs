//! vLLM engine generations and the defaults each one picks for what the
//! user leaves unset — the same flags give different memory on different
//! vLLM versions.

use serde::Serialize;

pub use super::version::Generation;

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
