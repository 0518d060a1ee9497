//! The refusals vLLM makes at startup, in its own words (the f-strings of
//! the cited lines, with the values filled in as Python prints them).

use serde::Serialize;

use super::version::VllmVersion;

/// `rope_scaling` of a config.json, as `_get_and_verify_max_len` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeScaling {
    pub rope_type: String,
    pub factor: Option<f64>,
    pub original_max_position_embeddings: Option<u64>,
}

/// Which of vLLM's refusals stops the start first, in the order vLLM
/// meets them (`memory::problems`): what a caller decides on, instead of
/// reading the words of `MemoryFit::problems`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Refusal {
    /// A check before anything is loaded: `gpu_memory_utilization`'s range,
    /// TP splitting the heads or vocabulary, `max_model_len` above the
    /// derived one, bf16 on an older GPU, `VLLM_USE_V1=1` where V1 lacks a
    /// feature.
    Startup,
    /// "Free memory on device … is less than desired GPU memory
    /// utilization": memory other processes hold (V1 from 0.9.1).
    FreeMemory,
    /// PyTorch's out of memory beside other processes' memory, while
    /// loading, profiling, allocating the cache or capturing graphs.
    OutOfMemoryBesideOthers,
    /// gpuops cannot size the model (`MemoryFit::not_sized`).
    NotSized,
    /// "No available memory for the cache blocks".
    NoCacheBlocks,
    /// The cache cannot hold one `max_model_len` request.
    MaxModelLen,
    /// Out of memory once the cache is allocated, on the GPU alone: CUDA
    /// graphs captured after it, a fixed KV size, the sampler warm-up.
    OutOfMemoryAfterCache,
}

/// vLLM's messages in the order it meets them, and the kind of the first.
#[derive(Debug, Default)]
pub(super) struct Refusals {
    pub(super) messages: Vec<String>,
    pub(super) first: Option<Refusal>,
}

impl Refusals {
    pub(super) fn push(&mut self, kind: Refusal, message: impl Into<String>) {
        self.first.get_or_insert(kind);
        self.messages.push(message.into());
    }

    pub(super) fn extend(&mut self, kind: Refusal, messages: impl IntoIterator<Item = String>) {
        for message in messages {
            self.push(kind, message);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// The longest `max_model_len` vLLM derives from the config: the
/// position limit, times the RoPE factor except for `su`, `longrope` and
/// `llama3` (whose limit is already the scaled one), from
/// `original_max_position_embeddings` for `yarn`; Gemma 3's limit is
/// already scaled (vllm/config/model.py `_get_and_verify_max_len`,
/// v0.11.0:1840-1862). A float once scaled, as in Python.
pub fn derived_max_model_len(max_position: u64, rope: Option<&RopeScaling>, gemma3: bool) -> f64 {
    let derived = max_position as f64;
    match rope {
        Some(r) if !gemma3 && !matches!(r.rope_type.as_str(), "su" | "longrope" | "llama3") => {
            let base = match (r.rope_type.as_str(), r.original_max_position_embeddings) {
                ("yarn", Some(original)) => original as f64,
                _ => derived,
            };
            base * r.factor.unwrap_or(1.0)
        }
        _ => derived,
    }
}

/// Python's `str()` of the derived length: `32768`, or `131072.0` once a
/// float factor multiplied it.
fn python_number(value: f64, scaled: bool) -> String {
    if scaled { format!("{value:.1}") } else { format!("{}", value as u64) }
}

/// `--max-model-len` above the derived maximum, unless
/// `VLLM_ALLOW_LONG_MAX_MODEL_LEN` is set (v0.11.0 config/model.py
/// :1891-1911; before 0.11 the shorter wording of v0.10.1
/// config/__init__.py:2955-2968, the same as v0.6.4 config.py:1986-1993).
/// `model_max_length` (a tokenizer-config key in config.json) is `None`
/// for the models the catalog knows.
pub fn max_model_len(
    version: VllmVersion,
    max_model_len: u64,
    derived: f64,
    scaled: bool,
    allow_long: bool,
) -> Option<String> {
    if (max_model_len as f64) <= derived || allow_long {
        return None;
    }
    // From 0.12 every config carries `rope_parameters` and the limit is
    // multiplied by a factor (1.0 by default) whatever the model: Python
    // prints a float (v0.12.0 config/model.py:2223; "max_position_embeddings
    // =2048.0" in phi-2's refusal at 0.19).
    let scaled = scaled || version >= VllmVersion::new(0, 12, 0);
    let derived = python_number(derived, scaled);
    let head = format!(
        "User-specified max_model_len ({max_model_len}) is greater than the derived max_model_len (max_position_embeddings={derived} or model_max_length=None in model's config.json)."
    );
    Some(if version >= VllmVersion::new(0, 11, 0) {
        format!(
            "{head} To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model uses relative position encoding (RoPE), positions exceeding derived_max_model_len lead to nan. If the model uses absolute position encoding, positions exceeding derived_max_model_len will cause a CUDA array out-of-bounds error."
        )
    } else {
        format!(
            "{head} This may lead to incorrect model outputs or CUDA errors. To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1"
        )
    })
}

/// The first tensor-parallel split vLLM refuses, as it meets them: the
/// config check of the attention heads, then — loading the model — the
/// embedding's vocabulary, then layer 0's KV heads.
pub fn tensor_parallel_split(heads: Option<u64>, vocab: u64, kv_heads: Option<u64>, tp: u64) -> Option<String> {
    attention_heads(heads, tp)
        .or_else(|| vocabulary(vocab, tp))
        .or_else(|| kv_heads.and_then(|kv| self::kv_heads(kv, tp)))
}

/// `ensure_divisibility`'s assertion (vllm/distributed/utils.py, v0.6.4:20-23,
/// v0.19.0:53-57).
fn not_divisible(numerator: u64, denominator: u64) -> Option<String> {
    (!numerator.is_multiple_of(denominator)).then(|| format!("{numerator} is not divisible by {denominator}"))
}

/// The vocabulary, padded to a multiple of 64 (`pad_vocab_size`,
/// `DEFAULT_VOCAB_PADDING_SIZE = 64`), is split evenly over the ranks:
/// `vocab_range_from_global_vocab_size` → `divide(global_vocab_size,
/// world_size)` (model_executor/layers/vocab_parallel_embedding.py,
/// v0.6.4:67, v0.19.0:28,75-77,91). Qwen3's 151,936 at TP5: "151936 is
/// not divisible by 5".
pub fn vocabulary(vocab: u64, tp: u64) -> Option<String> {
    if vocab == 0 {
        return None;
    }
    not_divisible(vocab.next_multiple_of(64), tp)
}

/// `QKVParallelLinear`: KV heads fewer than the ranks are replicated,
/// `divide(tp_size, total_num_kv_heads)`, else split,
/// `divide(total_num_kv_heads, tp_size)` (model_executor/layers/linear.py,
/// v0.19.0:1012-1016). MLA has no KV heads to split.
pub fn kv_heads(kv_heads: u64, tp: u64) -> Option<String> {
    if kv_heads == 0 {
        return None;
    }
    if tp >= kv_heads { not_divisible(tp, kv_heads) } else { not_divisible(kv_heads, tp) }
}

/// Tensor parallelism must divide the attention heads
/// (`verify_with_parallel_config`, v0.11.0 config/model.py:1048-1052,
/// v0.6.4 config.py:532).
pub fn attention_heads(heads: Option<u64>, tp: u64) -> Option<String> {
    let heads = heads?;
    (!heads.is_multiple_of(tp))
        .then(|| format!("Total number of attention heads ({heads}) must be divisible by tensor parallel size ({tp})."))
}

/// Python's `round(x, 2)` as `GiB(...)` prints it.
fn gib2(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let text = format!("{rounded}");
    if text.contains('.') { text } else { format!("{text}.0") }
}

/// Other processes hold so much of the GPU that `total × utilization`
/// is more than is free (v0.9.2 v1/worker/gpu_worker.py:146-155,
/// v0.11.0:188-197); from 0.14 it names the device (v0.14.0
/// v1/worker/utils.py:264, v0.34.0:790) — rank 0's, `cuda:0`, here.
pub fn free_memory(version: VllmVersion, free_gib: f64, total_gib: f64, utilization: f64) -> Option<String> {
    let requested = total_gib * utilization;
    if free_gib >= requested {
        return None;
    }
    let device = if version >= VllmVersion::new(0, 14, 0) { " cuda:0" } else { "" };
    Some(format!(
        "Free memory on device{device} ({}/{} GiB) on startup is less than desired GPU memory utilization ({utilization}, {} GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.",
        gib2(free_gib),
        gib2(total_gib),
        gib2(requested)
    ))
}

/// No memory left for a single cache block (V0 `raise_if_cache_size_invalid`,
/// worker/worker.py v0.6.4:492-495; V1 `check_enough_kv_cache_memory`,
/// v1/core/kv_cache_utils.py v0.11.0:699-701); gpuops adds what took the
/// memory, after vLLM's words.
pub fn no_cache_blocks(weights_gib: f64, overhead_gib: f64, usable_gib: f64) -> String {
    format!(
        "No available memory for the cache blocks: weights need {weights_gib:.2} GiB per GPU plus {overhead_gib:.2} GiB for activations and buffers, more than the {usable_gib:.2} GiB vLLM may use. Try increasing `gpu_memory_utilization` when initializing the engine."
    )
}

/// One request of `max_model_len` tokens does not fit. V0 compares the
/// blocks × 16 tokens (worker/worker.py v0.6.4:496-503); V1 the bytes each
/// layer needs (v1/core/kv_cache_utils.py v0.11.0:703-722, whose words
/// say "models's" up to 0.20, v0.20.0:715; "model's" and a link to the
/// docs from 0.22, v0.22.0:719-728).
pub fn kv_too_small(
    version: VllmVersion,
    v0: bool,
    max_model_len: u64,
    needed_gib: f64,
    available_gib: f64,
    estimated: u64,
) -> String {
    if v0 {
        return format!(
            "The model's max seq len ({max_model_len}) is larger than the maximum number of tokens that can be stored in KV cache ({estimated}). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
        );
    }
    let estimated = if estimated > 0 {
        format!("Based on the available memory, the estimated maximum model length is {estimated}. ")
    } else {
        String::new()
    };
    let head = format!(
        "with the max seq len ({max_model_len}), ({needed_gib:.2} GiB KV cache is needed, which is larger than the available KV cache memory ({available_gib:.2} GiB). {estimated}"
    );
    if version >= VllmVersion::new(0, 22, 0) {
        format!(
            "To serve at least one request {}Try increasing `gpu_memory_utilization` (which also controls CPU memory on the CPU backend) or decreasing `max_model_len` when initializing the engine. See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details.",
            head.replacen("with the", "with the model's", 1)
        )
    } else {
        format!(
            "To serve at least one request {}Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
            head.replacen("with the", "with the models's", 1)
        )
    }
}

/// The sampler warm-up after the KV cache is allocated runs out of memory
/// (v1/worker/gpu_model_runner.py `_dummy_sampler_run`, v0.8.5:1545-1552,
/// v0.11.0:3219-3225; called from gpu_worker.py `compile_or_warm_up_model`,
/// v0.8.5:252).
pub fn sampler_warm_up(num_reqs: u64) -> String {
    format!(
        "CUDA out of memory occurred when warming up sampler with {num_reqs} dummy requests. Please try lowering `max_num_seqs` or `gpu_memory_utilization` when initializing the engine."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rope(kind: &str, factor: f64, original: Option<u64>) -> RopeScaling {
        RopeScaling { rope_type: kind.into(), factor: Some(factor), original_max_position_embeddings: original }
    }

    /// `_get_and_verify_max_len` v0.11.0 config/model.py:1840-1862.
    #[test]
    fn derived_length_follows_rope_scaling() {
        assert_eq!(derived_max_model_len(32_768, None, false), 32_768.0);
        // Qwen2.5 with YaRN ×4 over its original 32,768.
        assert_eq!(derived_max_model_len(32_768, Some(&rope("yarn", 4.0, Some(32_768))), false), 131_072.0);
        // Llama 3.1's limit is already the scaled one.
        assert_eq!(derived_max_model_len(131_072, Some(&rope("llama3", 8.0, Some(8192))), false), 131_072.0);
        assert_eq!(derived_max_model_len(4096, Some(&rope("linear", 2.0, None)), false), 8192.0);
        assert_eq!(derived_max_model_len(131_072, Some(&rope("linear", 8.0, None)), true), 131_072.0, "gemma3");
    }

    #[test]
    fn long_max_model_len_is_refused_unless_allowed() {
        let v11 = VllmVersion::new(0, 11, 0);
        let m = max_model_len(v11, 65_536, 32_768.0, false, false).unwrap();
        assert!(m.starts_with("User-specified max_model_len (65536) is greater than the derived max_model_len (max_position_embeddings=32768 or model_max_length=None in model's config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used"), "{m}");
        assert_eq!(max_model_len(v11, 65_536, 32_768.0, false, true), None);
        assert_eq!(max_model_len(v11, 32_768, 32_768.0, false, false), None);
        let old = max_model_len(VllmVersion::new(0, 6, 4), 65_536, 32_768.0, false, false).unwrap();
        assert!(old.ends_with("This may lead to incorrect model outputs or CUDA errors. To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1"), "{old}");
        let scaled = max_model_len(v11, 200_000, 131_072.0, true, false).unwrap();
        assert!(scaled.contains("max_position_embeddings=131072.0 or"), "{scaled}");
        // phi-2 at 0.19 (the calibration set's refused row): a float from 0.12.
        let phi = max_model_len(VllmVersion::new(0, 19, 0), 8192, 2048.0, false, false).unwrap();
        assert!(phi.starts_with("User-specified max_model_len (8192) is greater than the derived max_model_len (max_position_embeddings=2048.0 or model_max_length=None in model's config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1."), "{phi}");
    }

    #[test]
    fn heads_must_divide() {
        assert_eq!(
            attention_heads(Some(14), 4).as_deref(),
            Some("Total number of attention heads (14) must be divisible by tensor parallel size (4).")
        );
        assert_eq!(attention_heads(Some(32), 8), None);
        assert_eq!(attention_heads(None, 3), None);
    }

    /// Qwen3-14B at TP5 (40 heads, 8 KV heads, 151,936 vocabulary): the
    /// heads divide, the vocabulary does not — vLLM's own words at 0.19.
    #[test]
    fn the_split_fails_where_vllm_meets_it_first() {
        assert_eq!(
            tensor_parallel_split(Some(40), 151_936, Some(8), 5).as_deref(),
            Some("151936 is not divisible by 5")
        );
        assert_eq!(kv_heads(8, 5).as_deref(), Some("8 is not divisible by 5"));
        assert_eq!(kv_heads(4, 7).as_deref(), Some("7 is not divisible by 4"), "replicas");
        assert_eq!(kv_heads(4, 8), None);
        assert_eq!(vocabulary(50_257, 2), None, "padded to 50,304");
        assert_eq!(tensor_parallel_split(Some(32), 128_256, Some(8), 8), None);
    }

    /// v0.11.0 gpu_worker.py:188-197; v0.34.0 worker/utils.py:789-797.
    #[test]
    fn shared_gpu_free_memory() {
        let m = free_memory(VllmVersion::new(0, 11, 0), 60.0, 79.19, 0.9).unwrap();
        assert_eq!(
            m,
            "Free memory on device (60.0/79.19 GiB) on startup is less than desired GPU memory utilization (0.9, 71.27 GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes."
        );
        assert!(
            free_memory(VllmVersion::new(0, 14, 0), 60.0, 79.19, 0.92)
                .unwrap()
                .starts_with("Free memory on device cuda:0 (60.0/")
        );
        // The calibration set's CodeLlama-34b row at 0.19 (rank 1 spoke first there).
        let row = free_memory(VllmVersion::new(0, 19, 0), 60.87, 79.19, 0.95).unwrap();
        assert_eq!(
            row,
            "Free memory on device cuda:0 (60.87/79.19 GiB) on startup is less than desired GPU memory utilization (0.95, 75.23 GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes."
        );
        assert_eq!(free_memory(VllmVersion::new(0, 11, 0), 75.0, 79.19, 0.9), None);
    }

    /// kv_cache_utils.py v0.11.0:717-722 ("models's"), v0.22.0:719-728.
    #[test]
    fn kv_too_small_words_per_release() {
        let old = kv_too_small(VllmVersion::new(0, 11, 0), false, 131_072, 16.0, 7.6, 31_200);
        assert_eq!(
            old,
            "To serve at least one request with the models's max seq len (131072), (16.00 GiB KV cache is needed, which is larger than the available KV cache memory (7.60 GiB). Based on the available memory, the estimated maximum model length is 31200. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
        );
        let new = kv_too_small(VllmVersion::new(0, 22, 0), false, 131_072, 16.0, 7.6, 0);
        assert!(new.starts_with("To serve at least one request with the model's max seq len (131072), (16.00 GiB KV cache is needed, which is larger than the available KV cache memory (7.60 GiB). Try increasing `gpu_memory_utilization` (which also controls"), "{new}");
        let v0 = kv_too_small(VllmVersion::new(0, 6, 4), true, 32_768, 0.0, 0.0, 16_816);
        assert!(v0.starts_with("The model's max seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache (16816)."));
    }

    #[test]
    fn sampler_warm_up_words() {
        assert_eq!(
            sampler_warm_up(1024),
            "CUDA out of memory occurred when warming up sampler with 1024 dummy requests. Please try lowering `max_num_seqs` or `gpu_memory_utilization` when initializing the engine."
        );
    }
}
