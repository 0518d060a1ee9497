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
/// tokens; chunked prefill (`v0_chunked`: [`v0_chunked_prefill`]) batches
/// 512 before 0.7.2 ([`V0_CHUNK_2048`]: releases before it not read here)
/// and 2,048 from 0.7.2 (`SchedulerConfig.__post_init__`, v0.7.2
/// config.py:1533, v0.7.3 config.py:1522-1536). Before 0.8 an MLA model
/// gets chunked prefill forced off afterwards (v0.7.3 config.py:3327-3332)
/// but keeps that token count, so its profile prefills 2,048 tokens in one
/// pass. `max_num_seqs` 256 (v0.7.3 engine/arg_utils.py:222-224).
pub fn scheduler_defaults(
    version: VllmVersion,
    generation: Generation,
    entrypoint: Entrypoint,
    gpu_total_gib: f64,
    gpu_label: &str,
    max_model_len: u64,
    v0_chunked: bool,
) -> (u64, u64) {
    if generation == Generation::V0 {
        let chunk = if version >= V0_CHUNK_2048 { 2048 } else { 512 };
        return if v0_chunked { (chunk, 256) } else { (max_model_len.max(2048), 256) };
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

/// What V0's chunked-prefill default reads besides the flag.
#[derive(Debug, Clone, Copy, Default)]
pub struct V0PrefillFacts {
    pub max_model_len: u64,
    /// An AMD GPU (vLLM's ROCm platform).
    pub rocm: bool,
    /// vLLM's `get_sliding_window()` is set (Gemma 2/3, Mistral-style
    /// configs; not Qwen2 without `use_sliding_window`).
    pub sliding_window: bool,
    pub mla: bool,
    pub multimodal: bool,
    /// `--enable-lora`.
    pub lora: bool,
    /// A speculative-decoding flag.
    pub speculative: bool,
}

/// Whether V0 prefills in chunks (`EngineArgs.create_engine_config`,
/// `_set_default_args_v0` from 0.8): the flag when set; else off for a
/// multimodal model (v0.6.4 arg_utils.py:1004 `not is_multimodal_model`;
/// v0.7.3:1172-1173 `bool(envs.VLLM_USE_V1)`, false on V0; v0.8.0:1613)
/// and, from 0.8.0 ([`V0_MLA_UNCHUNKED`]), for MLA (v0.8.0:1613, v0.8.5
/// :1508-1509); else on above 32K context only on a GPU, without a
/// sliding window, speculative decoding or LoRA (v0.6.4:1004-1012,
/// v0.7.3:1175-1186, v0.8.5:1513-1524). "On a GPU" is
/// `device_type == "cuda"` in 0.6.4, which ROCm is too; from 0.6.5
/// ([`V0_ROCM_UNCHUNKED`]) ROCm is excluded (`not current_platform.is_rocm()`,
/// v0.6.5 arg_utils.py:1084; `current_platform.is_cuda()`, v0.8.0:1620).
pub fn v0_chunked_prefill(version: VllmVersion, explicit: Option<bool>, facts: &V0PrefillFacts) -> bool {
    if let Some(set) = explicit {
        return set;
    }
    if facts.multimodal || (facts.mla && version >= V0_MLA_UNCHUNKED) {
        return false;
    }
    let gpu = !facts.rocm || version < V0_ROCM_UNCHUNKED;
    facts.max_model_len > 32_768 && gpu && !facts.sliding_window && !facts.speculative && !facts.lora
}

/// The first release read whose V0 keeps long-context chunked prefill off
/// on ROCm.
pub const V0_ROCM_UNCHUNKED: VllmVersion = VllmVersion::new(0, 6, 5);

/// The first release read whose V0 turns chunked prefill off for MLA
/// before the scheduler sizes its batch.
pub const V0_MLA_UNCHUNKED: VllmVersion = VllmVersion::new(0, 8, 0);

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
            scheduler_defaults(v(version), Generation::V1, entry, gib, label, 8192, false)
        };
        // V0 above 32K context: config.py v0.7.3:1532 (2,048 tokens).
        let v0 = |version: &str| {
            scheduler_defaults(v(version), Generation::V0, Entrypoint::Server, 79.19, "H100", 131_072, true)
        };
        assert_eq!(v0("0.7.3"), (2048, 256));
        assert_eq!(v0("0.7.2"), (2048, 256));
        assert_eq!(
            scheduler_defaults(v("0.7.3"), Generation::V0, Entrypoint::Server, 79.19, "H100", 8192, false),
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
        let v0 = |len, chunked| {
            scheduler_defaults(v("0.6.4"), Generation::V0, Entrypoint::Server, 23.58, "RTX-3090", len, chunked)
        };
        assert_eq!(v0(20_000, false), (20_000, 256));
        assert_eq!(v0(35_000, true), (512, 256));
        // Unchunked above 32K (a sliding window, LoRA, ROCm from 0.6.5):
        // one prefill of the whole context.
        assert_eq!(v0(35_000, false), (35_000, 256));
    }

    /// V0's chunked-prefill default, rule by rule (see [`v0_chunked_prefill`]
    /// for the lines): long context chunks on a CUDA GPU; a sliding window,
    /// LoRA, speculative decoding or a multimodal model keep it off; ROCm
    /// from 0.6.5; MLA from 0.8.0; the flag overrides all of them.
    #[test]
    fn v0_chunked_prefill_follows_vllm_s_default() {
        let v = |t: &str| VllmVersion::parse(t).unwrap();
        let long = V0PrefillFacts { max_model_len: 131_072, ..V0PrefillFacts::default() };
        assert!(v0_chunked_prefill(v("0.7.3"), None, &long));
        assert!(!v0_chunked_prefill(v("0.7.3"), None, &V0PrefillFacts { max_model_len: 32_768, ..long }));
        assert!(!v0_chunked_prefill(v("0.7.3"), None, &V0PrefillFacts { sliding_window: true, ..long }));
        assert!(!v0_chunked_prefill(v("0.8.5"), None, &V0PrefillFacts { lora: true, ..long }));
        assert!(!v0_chunked_prefill(v("0.8.5"), None, &V0PrefillFacts { speculative: true, ..long }));
        assert!(!v0_chunked_prefill(v("0.6.4"), None, &V0PrefillFacts { multimodal: true, ..long }));
        let rocm = V0PrefillFacts { rocm: true, ..long };
        assert!(v0_chunked_prefill(v("0.6.4"), None, &rocm), "v0.6.4 arg_utils.py:1005: device_type cuda");
        assert!(!v0_chunked_prefill(v("0.6.5"), None, &rocm), "v0.6.5 arg_utils.py:1084");
        let mla = V0PrefillFacts { mla: true, ..long };
        assert!(v0_chunked_prefill(v("0.7.3"), None, &mla), "forced off later, config.py:3327, keeping 2,048");
        assert!(!v0_chunked_prefill(v("0.8.0"), None, &mla), "v0.8.0 arg_utils.py:1613");
        assert!(v0_chunked_prefill(v("0.8.5"), Some(true), &rocm));
        assert!(!v0_chunked_prefill(v("0.7.3"), Some(false), &long));
    }
}
