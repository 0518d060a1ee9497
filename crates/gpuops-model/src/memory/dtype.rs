//! What `--dtype`, `--quantization` and `--kv-cache-dtype` mean for memory,
//! decided once: [`super::EngineArgs`] keeps the flags as the manifest
//! spells them (so a message can quote them), the memory model reads
//! them through these enums. A value the model does not know is kept as
//! written in an `Other` variant and sized as before: 16-bit weights and
//! cache, no quantization.

/// `--dtype` (vllm/config/model.py `_STR_DTYPE_TO_TORCH_DTYPE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    /// `auto`: the checkpoint's 16-bit type, bfloat16 for most models.
    Auto,
    /// `bfloat16`, `bf16`.
    BFloat16,
    /// `float16`, `half`, `fp16`.
    Float16,
    /// `float32`, `fp32`.
    Float32,
    /// Anything else, as written.
    Other(String),
}

impl Dtype {
    pub fn parse(text: &str) -> Self {
        match text {
            "auto" => Dtype::Auto,
            "bfloat16" | "bf16" => Dtype::BFloat16,
            "float16" | "half" | "fp16" => Dtype::Float16,
            "float32" | "fp32" => Dtype::Float32,
            other => Dtype::Other(other.to_string()),
        }
    }

    /// Runs in bfloat16, which needs compute capability 8.0 (vLLM's
    /// `_check_if_gpu_supports_dtype`); `auto` counts as bfloat16.
    pub fn wants_bf16(&self) -> bool {
        matches!(self, Dtype::Auto | Dtype::BFloat16)
    }

    /// Bytes of an unquantized weight or cache element.
    pub fn bytes(&self) -> u64 {
        if *self == Dtype::Float32 { 4 } else { 2 }
    }
}

/// `--quantization`, by what it stores per weight. The method is matched
/// case-insensitively, in this order: 8-bit names first (`fp8*`, `int8`,
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
        if q.starts_with("fp8") || q == "int8" || q.contains("w8a8") || q == "modelopt" {
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

/// `--kv-cache-dtype` (vllm/config/cache.py `CacheDType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvCacheDtype {
    /// `auto`: the model's dtype.
    Auto,
    /// `fp8`, `fp8_e4m3`, `fp8_e5m2`, …: one byte per element.
    Fp8,
    /// Anything else, as written: sized like `auto`.
    Other(String),
}

impl KvCacheDtype {
    pub fn parse(text: &str) -> Self {
        match text {
            "auto" => KvCacheDtype::Auto,
            fp8 if fp8.starts_with("fp8") => KvCacheDtype::Fp8,
            other => KvCacheDtype::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_vllm_spells_them_and_unknowns_kept() {
        assert_eq!(Dtype::parse("half"), Dtype::Float16);
        assert_eq!(Dtype::parse("fp32").bytes(), 4);
        assert!(Dtype::parse("auto").wants_bf16() && !Dtype::parse("float16").wants_bf16());
        assert_eq!(Dtype::parse("float8"), Dtype::Other("float8".into()));
        assert_eq!(Quantization::parse("AWQ_Marlin").bytes_per_weight(), Some(0.52));
        assert_eq!(Quantization::parse("fp8").bytes_per_weight(), Some(1.0));
        assert_eq!(Quantization::parse("modelopt_fp4").bytes_per_weight(), Some(0.5625));
        assert_eq!(Quantization::parse("hqq"), Quantization::Other("hqq".into()));
        assert_eq!(KvCacheDtype::parse("fp8_e5m2"), KvCacheDtype::Fp8);
        assert_eq!(KvCacheDtype::parse("int8"), KvCacheDtype::Other("int8".into()));
    }
}
