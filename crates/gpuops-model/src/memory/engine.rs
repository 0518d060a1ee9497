//! vLLM engine generations and the defaults each one picks for what the
//! user leaves unset — the same flags give different memory on different
//! vLLM versions.

use serde::Serialize;

pub use super::version::Generation;
use super::version::VllmVersion;

/// Which front end starts the engine: defaults differ between the
/// OpenAI-compatible server (what Kubernetes runs) and the `LLM` class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entrypoint {
    #[default]
    Server,
    Offline,
}

/// `max_num_batched_tokens` and `max_num_seqs` when unset
/// (vllm/engine/arg_utils.py `_set_default_args_v1`), by release band —
/// "big" gives 8,192 tokens for the server (16,384 for the `LLM` class),
/// any other GPU 2,048 (8,192):
///
/// - up to 0.8.3: big when "h100" or "h200" is in the device *name*;
///   `max_num_seqs` 1,024 on every GPU (v0.8.3 arg_utils.py:1647-1658,
///   :1669). The profile then samples 1,024 dummy requests
///   (v1/worker/gpu_model_runner.py v0.8.3:1383: `num_reqs = max_num_reqs`
///   once the 2,048 tokens reach it), so a 24 GiB card holds 1,024 × vocab
///   logits through the sampler warm-up;
/// - 0.8.4 ([`SEQS_BY_DEVICE`]): the same names, and 256 sequences on
///   the other GPUs (v0.8.4 arg_utils.py:1669-1682);
/// - 0.8.5 ([`MEMORY_BAND`]): big when the device has at least 70 GiB,
///   1,024 sequences there and 256 below (v0.8.5.post1
///   arg_utils.py:1596-1609);
/// - from 0.9.0 ([`A100_EXCEPTION`]): the same, except an A100 of 80 GB
///   (`device_memory >= 70 * GiB_bytes and "a100" not in device_name`,
///   "Setting large `max_num_batched_tokens` for A100 reduces throughput,
///   see PR #17885": v0.9.0 arg_utils.py:1492-1508; v0.10.1.1:1638-1656).
///
/// V0: without chunked prefill one prefill of `max(max_model_len, 2048)`
/// tokens; chunked prefill (on by default above 32K context) batches 512
/// before 0.7.2 ([`V0_CHUNK_2048`]: releases before it not read here) and
/// 2,048 from 0.7.2 (`SchedulerConfig.__post_init__`, v0.7.2 config.py:1533,
/// v0.7.3 config.py:1532). An MLA model gets chunked prefill forced off
/// afterwards (v0.7.3 config.py:3327-3332) but keeps that token count, so
/// its profile prefills 2,048 tokens in one pass. `max_num_seqs` 256
/// (v0.7.3 engine/arg_utils.py:222-224).
pub fn scheduler_defaults(
    version: VllmVersion,
    generation: Generation,
    entrypoint: Entrypoint,
    gpu_total_gib: f64,
    gpu_label: &str,
    max_model_len: u64,
) -> (u64, u64) {
    if generation == Generation::V0 {
        let chunk = if version >= V0_CHUNK_2048 { 2048 } else { 512 };
        return if max_model_len > 32_768 { (chunk, 256) } else { (max_model_len.max(2048), 256) };
    }
    let name = gpu_label.to_ascii_lowercase();
    let big = if version < MEMORY_BAND {
        name.contains("h100") || name.contains("h200")
    } else {
        gpu_total_gib >= 70.0 && !(version >= A100_EXCEPTION && name.contains("a100"))
    };
    let seqs = if big || version < SEQS_BY_DEVICE { 1024 } else { 256 };
    let tokens = match (big, entrypoint) {
        (true, Entrypoint::Server) => 8192,
        (true, Entrypoint::Offline) => 16_384,
        (false, Entrypoint::Server) => 2048,
        (false, Entrypoint::Offline) => 8192,
    };
    (tokens, seqs)
}

/// The first release read whose V0 chunked-prefill default is 2,048 tokens.
pub const V0_CHUNK_2048: VllmVersion = VllmVersion::new(0, 7, 2);

/// The first release read whose small-GPU default is 256 sequences.
pub const SEQS_BY_DEVICE: VllmVersion = VllmVersion::new(0, 8, 4);

/// The first release read whose V1 defaults go by device memory (70 GiB)
/// instead of the device name.
pub const MEMORY_BAND: VllmVersion = VllmVersion::new(0, 8, 5);

/// The first release read that gives an 80 GB A100 the small defaults.
pub const A100_EXCEPTION: VllmVersion = VllmVersion::new(0, 9, 0);

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
        let v = |t: &str| VllmVersion::parse(t).unwrap();
        let h100 = (79.19, "NVIDIA-H100-80GB-HBM3");
        let a100 = (79.15, "NVIDIA-A100-SXM4-80GB");
        let rtx4090 = (23.99, "NVIDIA-GeForce-RTX-4090");
        let at = |version: &str, (gib, label): (f64, &str), entry| {
            scheduler_defaults(v(version), Generation::V1, entry, gib, label, 8192)
        };
        // V0 above 32K context: config.py v0.7.3:1532 (2,048 tokens).
        let v0 =
            |version: &str| scheduler_defaults(v(version), Generation::V0, Entrypoint::Server, 79.19, "H100", 131_072);
        assert_eq!(v0("0.7.3"), (2048, 256));
        assert_eq!(v0("0.7.2"), (2048, 256));
        assert_eq!(
            scheduler_defaults(v("0.7.3"), Generation::V0, Entrypoint::Server, 79.19, "H100", 8192),
            (8192, 256)
        );
        // v0.10.1.1 arg_utils.py:1638: 70 GiB and not an A100.
        assert_eq!(at("0.10.1.1", h100, Entrypoint::Server), (8192, 1024));
        assert_eq!(at("0.10.1.1", h100, Entrypoint::Offline), (16_384, 1024));
        assert_eq!(at("0.10.1.1", a100, Entrypoint::Server), (2048, 256));
        assert_eq!(at("0.10.1.1", a100, Entrypoint::Offline), (8192, 256));
        assert_eq!(at("0.9.0", a100, Entrypoint::Server), (2048, 256), "v0.9.0 arg_utils.py:1495");
        // v0.8.5.post1 arg_utils.py:1596: memory alone, the A100 is big.
        assert_eq!(at("0.8.5.post1", a100, Entrypoint::Server), (8192, 1024));
        assert_eq!(at("0.8.5", (44.4, "NVIDIA-L40S"), Entrypoint::Offline), (8192, 256));
        // v0.8.4 arg_utils.py:1669-1682: names, 256 sequences off H100/H200.
        assert_eq!(at("0.8.4", a100, Entrypoint::Server), (2048, 256));
        assert_eq!(at("0.8.4", h100, Entrypoint::Server), (8192, 1024));
        assert_eq!(at("0.8.5.post1", rtx4090, Entrypoint::Server), (2048, 256));
        // v0.8.3 arg_utils.py:1647, :1669: the name decides the tokens,
        // 1,024 sequences everywhere (the log of the 4090 D row: 2,048).
        assert_eq!(at("0.8.3", rtx4090, Entrypoint::Server), (2048, 1024));
        assert_eq!(at("0.8.3", a100, Entrypoint::Server), (2048, 1024));
        assert_eq!(at("0.8.3", (139.8, "NVIDIA-H200"), Entrypoint::Offline), (16_384, 1024));
        let v0 = |len| scheduler_defaults(v("0.6.4"), Generation::V0, Entrypoint::Server, 23.58, "RTX-3090", len);
        assert_eq!(v0(20_000), (20_000, 256));
        assert_eq!(v0(35_000), (512, 256));
    }
}
