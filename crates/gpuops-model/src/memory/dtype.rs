//! What `--dtype`, `--quantization` and `--kv-cache-dtype` mean for memory,
//! decided once: [`super::EngineArgs`] keeps the flags as the manifest
//! spells them (so a message can quote them), the memory model reads
//! them through these enums. A value the model does not know is kept as
//! written in an `Other` variant and sized as before: 16-bit weights and
//! cache, no quantization.

use super::version::VllmVersion;

/// `--dtype` (vllm/config/model.py `_STR_DTYPE_TO_TORCH_DTYPE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    /// `auto`: the checkpoint's 16-bit type, bfloat16 for most models.
    Auto,
    /// `bfloat16`.
    BFloat16,
    /// `float16`, `half`.
    Float16,
    /// `float32`, `float`.
    Float32,
    /// Anything else, as written: vLLM refuses it (`unknown_dtype_refusal`).
    Other(String),
}

impl Dtype {
    /// vLLM's spellings, any case (`_STR_DTYPE_TO_TORCH_DTYPE` after
    /// `dtype.lower()`: config.py v0.7.3:2360-2366, config/model.py
    /// v0.19.0:1889-1895); `bf16`, `fp16` and `fp32` are not among them.
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Dtype::Auto,
            "bfloat16" => Dtype::BFloat16,
            "float16" | "half" => Dtype::Float16,
            "float32" | "float" => Dtype::Float32,
            _ => Dtype::Other(text.to_string()),
        }
    }

    /// Bytes of an unquantized weight or cache element.
    pub fn bytes(&self) -> u64 {
        if *self == Dtype::Float32 { 4 } else { 2 }
    }

    /// What vLLM does with this `--dtype` on a GPU without bfloat16
    /// (compute capability below 8.0: T4, V100), the checkpoint's
    /// `torch_dtype` being `config_dtype` (`None`: not read — the catalog
    /// keeps no dtype):
    ///
    /// - `bfloat16` asked for is refused in every release
    ///   (`check_if_supports_dtype`, platforms/cuda.py v0.19.0:462-480);
    /// - `auto` resolves to the checkpoint's type, float32 cast to float16
    ///   (config.py v0.8.5:2903-2907); a bfloat16 checkpoint is then refused
    ///   before 0.9.0 and, from 0.9.0 ([`AUTO_DTYPE_FALLBACK`]), falls back
    ///   to the platform's first supported type, float16 below 8.0, with a
    ///   warning (config.py v0.9.0:3084-3101; `_resolve_auto_dtype`,
    ///   v0.9.2:3285-3330, v0.19.0 config/model.py:1929-1969;
    ///   `supported_dtypes`, platforms/cuda.py v0.10.1.1:63-73).
    ///
    /// From 0.9.1 the model types vLLM keeps off float16
    /// ([`float16_refusal`]) have float32 as their only valid type below
    /// 8.0, so `auto` runs them in float32 whatever the checkpoint's type
    /// (`_is_valid_dtype` filtering `supported_dtypes`, config.py
    /// v0.9.1:3121-3220; config/model.py v0.19.0:1912-1969).
    pub(super) fn on_gpu_without_bf16(
        &self,
        version: VllmVersion,
        config_dtype: Option<&str>,
        model_type: &str,
    ) -> DtypeOutcome {
        match self {
            Dtype::BFloat16 => DtypeOutcome::Refused,
            Dtype::Auto if float16_refusal(version, model_type).is_some() => DtypeOutcome::Float32,
            Dtype::Auto if config_dtype.is_none_or(|d| d == "bfloat16") => {
                match (version >= AUTO_DTYPE_FALLBACK, config_dtype) {
                    (true, _) => DtypeOutcome::FallsBackToFloat16,
                    (false, Some(_)) => DtypeOutcome::Refused,
                    (false, None) => DtypeOutcome::Unknown,
                }
            }
            _ => DtypeOutcome::Runs,
        }
    }
}

/// The first release whose `--dtype auto` falls back from bfloat16 to what
/// the GPU supports instead of refusing (config.py v0.9.0:3084-3101).
pub(super) const AUTO_DTYPE_FALLBACK: VllmVersion = VllmVersion::new(0, 9, 0);

/// See [`Dtype::on_gpu_without_bf16`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DtypeOutcome {
    Runs,
    /// vLLM runs the model in float16 and warns.
    FallsBackToFloat16,
    /// "Bfloat16 is only supported on GPUs with compute capability of at
    /// least 8.0."
    Refused,
    /// `auto` on a model type vLLM keeps off float16, from 0.9.1: vLLM runs
    /// it in float32, twice the 16-bit weights and cache gpuops sizes; the
    /// answer is unchecked ([`float32_reason`]).
    Float32,
    /// `auto` before 0.9.0 with the checkpoint's dtype not read: refused
    /// for a bfloat16 checkpoint, started for a float16 one; the answer is
    /// unchecked ([`unknown_dtype_reason`]).
    Unknown,
}

/// Why an `auto` dtype before 0.9.0 leaves the answer unchecked, and what
/// to supply.
pub(super) fn unknown_dtype_reason(version: VllmVersion, gpu_name: &str, compute: &str) -> String {
    format!(
        "the checkpoint's torch_dtype is not known here, and it decides the start: vLLM {version} refuses a bfloat16 checkpoint with --dtype auto on {gpu_name} (compute capability {compute}, below 8.0) and starts a float16 one (most AWQ and GPTQ checkpoints); give its config.json (--model-config, or the Hugging Face cache) or set --dtype half"
    )
}

/// The first release read that keeps some model types off float16
/// (`_FLOAT16_NOT_SUPPORTED_MODELS`, config.py v0.9.1:3121; absent at
/// 0.9.0).
pub(super) const FLOAT16_CHECKED: VllmVersion = VllmVersion::new(0, 9, 1);

/// vLLM's refusal of float16 for `model_type` (`_check_valid_dtype`,
/// config/model.py v0.19.0:1903-1926; gemma2, gemma3, plamo2 and glm4 from
/// v0.9.1 config.py:3121-3126, gemma3_text by 0.19), `None` where it runs.
pub(super) fn float16_refusal(version: VllmVersion, model_type: &str) -> Option<String> {
    const TYPES: &[&str] = &["gemma2", "gemma3", "gemma3_text", "plamo2", "glm4"];
    (version >= FLOAT16_CHECKED && TYPES.contains(&model_type)).then(|| {
        format!(
            "The model type '{model_type}' does not support float16. Reason: Numerical instability. Please use bfloat16 or float32 instead."
        )
    })
}

/// Why an `auto` dtype that vLLM runs in float32 leaves the answer
/// unchecked ([`DtypeOutcome::Float32`]), and what to supply.
pub(super) fn float32_reason(version: VllmVersion, model_type: &str, gpu_name: &str) -> String {
    format!(
        "vLLM {version} runs a {model_type} model in float32 with --dtype auto on {gpu_name} (no bfloat16, and float16 is refused for it), twice the 16-bit weights and KV cache gpuops sized: pass --dtype float32 to have it sized as vLLM runs it"
    )
}

/// vLLM's refusal of bfloat16 on a GPU below compute capability 8.0
/// (platforms/cuda.py v0.19.0:474-480; V0's `_check_if_gpu_supports_dtype`,
/// worker/worker.py v0.7.3:512-529, says the same).
pub(super) fn bf16_refusal(gpu_name: &str, compute: &str) -> String {
    format!(
        "Bfloat16 is only supported on GPUs with compute capability of at least 8.0. Your {gpu_name} GPU has compute capability {compute}. You can use float16 instead by explicitly setting the `dtype` flag in CLI, for example: --dtype=half."
    )
}

/// vLLM's refusal of a `--dtype` it does not know (`_get_and_verify_dtype`:
/// `Unknown dtype: X` at v0.7.3 config.py:2428-2429, repr-quoted from
/// v0.10.1.1 config/__init__.py:2801 and v0.19.0 config/model.py:1997-1998;
/// the argument parser's `choices` may turn it away first, a refusal all
/// the same).
pub(super) fn unknown_dtype_refusal(version: VllmVersion, dtype: &str) -> String {
    if version.at_least(0, 10, 0) { format!("Unknown dtype: '{dtype}'") } else { format!("Unknown dtype: {dtype}") }
}

/// vLLM's warning when `--dtype auto` falls back (config/model.py
/// v0.19.0:1963-1968; worded "Your %s device%s doesn't support %s" at
/// 0.9.0–0.9.1).
pub(super) fn bf16_fallback_note(gpu_name: &str, compute: &str) -> String {
    format!(
        "Your device '{gpu_name}' (with compute capability {compute}) doesn't support torch.bfloat16. Falling back to torch.float16 for compatibility."
    )
}

/// `--quantization`, by what it stores per weight. The method is matched
/// case-insensitively, in this order: 8-bit names first (`fp8*`,
/// `ptpc_fp8`, which subclasses `Fp8Config` and quantizes as it loads,
/// `int8`,
/// `*w8a8*`, `modelopt`), then 4-bit integer ones (`*awq*`, `*gptq*`,
/// `*int4*`, `*bitsandbytes*`), then 4-bit float ones (`*fp4*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quantization {
    /// One byte per weight.
    EightBit(String),
    /// Four bits per weight plus group scales and zeros (0.52 bytes).
    FourBitInt(String),
    /// MXFP4/NVFP4: four bits plus a shared scale per 32 (0.5625 bytes).
    FourBitFloat(String),
    /// A method the model does not size: the weights count as the dtype's.
    Other(String),
}

impl Quantization {
    pub fn parse(text: &str) -> Self {
        let q = text.to_ascii_lowercase();
        let name = text.to_string();
        if q.starts_with("fp8") || q == "ptpc_fp8" || q == "int8" || q.contains("w8a8") || q == "modelopt" {
            Quantization::EightBit(name)
        } else if q.contains("awq") || q.contains("gptq") || q.contains("int4") || q.contains("bitsandbytes") {
            Quantization::FourBitInt(name)
        } else if q.contains("mxfp4") || q.contains("fp4") {
            Quantization::FourBitFloat(name)
        } else {
            Quantization::Other(name)
        }
    }

    /// Bytes per quantized weight; `None` for a method not sized.
    pub fn bytes_per_weight(&self) -> Option<f64> {
        match self {
            Quantization::EightBit(_) => Some(1.0),
            Quantization::FourBitInt(_) => Some(0.52),
            Quantization::FourBitFloat(_) => Some(0.5625),
            Quantization::Other(_) => None,
        }
    }
}

/// `--kv-cache-dtype` (vllm/config/cache.py `CacheDType`: `auto`, `fp8`,
/// `fp8_e4m3`, `fp8_e5m2`, `fp8_inc` at v0.10.1.1:25; `float16`,
/// `bfloat16` and `fp8_ds_mla` added by v0.19.0:14-23).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvCacheDtype {
    /// `auto`: the model's dtype.
    Auto,
    /// `fp8`, `fp8_e4m3`, `fp8_e5m2`, `fp8_inc`: one byte per element.
    Fp8,
    /// `float16`, `bfloat16`: two bytes per element.
    Half,
    /// Anything else, as written (`fp8_ds_mla`, whose entries carry scales
    /// beside the FP8 values, or a name vLLM does not list): not sized.
    Other(String),
}

impl KvCacheDtype {
    pub fn parse(text: &str) -> Self {
        match text {
            "auto" => KvCacheDtype::Auto,
            "fp8" | "fp8_e4m3" | "fp8_e5m2" | "fp8_inc" => KvCacheDtype::Fp8,
            "float16" | "bfloat16" => KvCacheDtype::Half,
            other => KvCacheDtype::Other(other.to_string()),
        }
    }

    /// Why the KV cache is not sized: a type gpuops has no bytes for.
    pub fn unsized_reason(&self) -> Option<String> {
        let KvCacheDtype::Other(name) = self else { return None };
        Some(format!(
            "not sized by gpuops: --kv-cache-dtype {name} is not a KV cache type gpuops sizes (auto, float16, bfloat16, fp8, fp8_e4m3, fp8_e5m2, fp8_inc), so what a token costs is not known; vLLM refuses a type its release does not list; read 'GPU KV cache size' from a vLLM startup log"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_vllm_spells_them_and_unknowns_kept() {
        assert_eq!(Dtype::parse("half"), Dtype::Float16);
        assert_eq!(Dtype::parse("float").bytes(), 4);
        assert_eq!(Dtype::parse("BFloat16"), Dtype::BFloat16);
        assert_eq!(Dtype::parse("fp16"), Dtype::Other("fp16".into()));
        assert_eq!(Dtype::parse("float8"), Dtype::Other("float8".into()));
        assert_eq!(Quantization::parse("AWQ_Marlin").bytes_per_weight(), Some(0.52));
        assert_eq!(Quantization::parse("fp8").bytes_per_weight(), Some(1.0));
        assert_eq!(Quantization::parse("modelopt_fp4").bytes_per_weight(), Some(0.5625));
        assert_eq!(Quantization::parse("hqq"), Quantization::Other("hqq".into()));
        assert_eq!(KvCacheDtype::parse("fp8_e5m2"), KvCacheDtype::Fp8);
        assert_eq!(KvCacheDtype::parse("int8"), KvCacheDtype::Other("int8".into()));
        assert_eq!(KvCacheDtype::parse("bfloat16"), KvCacheDtype::Half);
        assert_eq!(KvCacheDtype::parse("fp8_ds_mla"), KvCacheDtype::Other("fp8_ds_mla".into()));
        assert!(KvCacheDtype::parse("fp8_inc").unsized_reason().is_none());
        assert!(
            KvCacheDtype::parse("int3")
                .unsized_reason()
                .unwrap()
                .contains("--kv-cache-dtype int3 is not a KV cache type")
        );
    }

    /// Below compute capability 8.0: `bfloat16` is refused in every release;
    /// `auto` takes the checkpoint's type, refused when bfloat16 before
    /// 0.9.0 and falling back to float16 from 0.9.0 (config.py
    /// v0.9.0:3084-3101); a float16 or float32 checkpoint runs (float32 is
    /// cast to float16, config.py v0.8.5:2903-2907).
    #[test]
    fn bfloat16_below_compute_8_by_release() {
        let v = |t: &str| VllmVersion::parse(t).unwrap();
        let auto = Dtype::parse("auto");
        assert_eq!(
            Dtype::parse("bfloat16").on_gpu_without_bf16(v("0.19.0"), Some("float16"), "llama"),
            DtypeOutcome::Refused
        );
        assert_eq!(auto.on_gpu_without_bf16(v("0.8.5"), Some("bfloat16"), "llama"), DtypeOutcome::Refused);
        assert_eq!(
            auto.on_gpu_without_bf16(v("0.8.5"), None, "llama"),
            DtypeOutcome::Unknown,
            "decided by the checkpoint"
        );
        assert_eq!(auto.on_gpu_without_bf16(v("0.8.5"), Some("float16"), "llama"), DtypeOutcome::Runs);
        assert_eq!(auto.on_gpu_without_bf16(v("0.8.5"), Some("float32"), "llama"), DtypeOutcome::Runs);
        assert_eq!(auto.on_gpu_without_bf16(v("0.9.0"), Some("bfloat16"), "llama"), DtypeOutcome::FallsBackToFloat16);
        assert_eq!(auto.on_gpu_without_bf16(v("0.20.0"), None, "llama"), DtypeOutcome::FallsBackToFloat16);
        assert_eq!(Dtype::parse("half").on_gpu_without_bf16(v("0.7.3"), None, "llama"), DtypeOutcome::Runs);
        // Gemma 2/3, PLaMo 2, GLM-4: float32 from 0.9.1 (config.py v0.9.1:3121),
        // float16 at 0.9.0; a float16 asked for is refused on any GPU.
        assert_eq!(auto.on_gpu_without_bf16(v("0.9.1"), Some("float32"), "gemma2"), DtypeOutcome::Float32);
        assert_eq!(auto.on_gpu_without_bf16(v("0.9.0"), Some("bfloat16"), "gemma2"), DtypeOutcome::FallsBackToFloat16);
        assert!(
            float16_refusal(v("0.19.0"), "gemma3")
                .is_some_and(|r| r.starts_with("The model type 'gemma3' does not support float16."))
        );
        assert_eq!(float16_refusal(v("0.9.0"), "gemma2"), None);
        assert_eq!(float16_refusal(v("0.19.0"), "llama"), None);
    }
}
