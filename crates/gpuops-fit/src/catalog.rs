//! What gpuops knows without asking: GPU products (GFD label, memory,
//! compute capability) and common LLMs' shapes. Sources:
//! `shared/reference/gpu-fit.md` §4–5 (GFD labels, model `config.json`s).

/// A GPU product as GPU Feature Discovery labels it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuProduct {
    /// `nvidia.com/gpu.product`.
    pub label: &'static str,
    /// Short names accepted on the command line.
    pub aliases: &'static [&'static str],
    /// `nvidia.com/gpu.memory` (MiB).
    pub memory_mib: u64,
    pub compute_major: u32,
    pub compute_minor: u32,
}

pub const GPU_PRODUCTS: &[GpuProduct] = &[
    GpuProduct { label: "Tesla-T4", aliases: &["T4"], memory_mib: 15360, compute_major: 7, compute_minor: 5 },
    GpuProduct {
        label: "NVIDIA-A10G",
        aliases: &["A10G", "A10", "NVIDIA-A10"],
        memory_mib: 23028,
        compute_major: 8,
        compute_minor: 6,
    },
    GpuProduct { label: "NVIDIA-L4", aliases: &["L4"], memory_mib: 23034, compute_major: 8, compute_minor: 9 },
    GpuProduct { label: "NVIDIA-L40S", aliases: &["L40S"], memory_mib: 46068, compute_major: 8, compute_minor: 9 },
    GpuProduct {
        label: "NVIDIA-A100-SXM4-40GB",
        aliases: &["A100-40GB", "A100", "NVIDIA-A100-PCIE-40GB"],
        memory_mib: 40960,
        compute_major: 8,
        compute_minor: 0,
    },
    GpuProduct {
        label: "NVIDIA-A100-SXM4-80GB",
        aliases: &["A100-80GB", "NVIDIA-A100-80GB-PCIe"],
        memory_mib: 81920,
        compute_major: 8,
        compute_minor: 0,
    },
    GpuProduct {
        label: "NVIDIA-H100-80GB-HBM3",
        aliases: &["H100-80GB", "H100", "NVIDIA-H100-PCIe"],
        memory_mib: 81559,
        compute_major: 9,
        compute_minor: 0,
    },
    GpuProduct {
        label: "NVIDIA-H100-NVL",
        aliases: &["H100-NVL"],
        memory_mib: 95830,
        compute_major: 9,
        compute_minor: 0,
    },
    GpuProduct {
        label: "NVIDIA-H200",
        aliases: &["H200", "H200-141GB"],
        memory_mib: 143771,
        compute_major: 9,
        compute_minor: 0,
    },
    GpuProduct {
        label: "NVIDIA-GeForce-RTX-5080",
        aliases: &["RTX-5080", "RTX5080"],
        memory_mib: 16303,
        compute_major: 12,
        compute_minor: 0,
    },
    GpuProduct {
        label: "Tesla-V100-SXM2-16GB",
        aliases: &["V100-16GB", "V100", "Tesla-V100-PCIE-16GB"],
        memory_mib: 16384,
        compute_major: 7,
        compute_minor: 0,
    },
    GpuProduct {
        label: "Tesla-V100-SXM2-32GB",
        aliases: &["V100-32GB", "Tesla-V100-PCIE-32GB"],
        memory_mib: 32768,
        compute_major: 7,
        compute_minor: 0,
    },
];

/// A GPU as a node reports it: the catalog's facts, with the memory from
/// the node's `nvidia.com/gpu.memory` label when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    pub label: String,
    pub memory_mib: u64,
    pub compute_major: u32,
    pub compute_minor: u32,
}

impl From<&GpuProduct> for GpuInfo {
    fn from(p: &GpuProduct) -> Self {
        Self {
            label: p.label.to_string(),
            memory_mib: p.memory_mib,
            compute_major: p.compute_major,
            compute_minor: p.compute_minor,
        }
    }
}

/// The GPU of a node, from GFD labels (`nvidia.com/gpu.product`,
/// `gpu.memory`, `gpu.compute.major/minor`), completed by the catalog.
pub fn gpu_of_labels(labels: &std::collections::BTreeMap<String, String>) -> Option<GpuInfo> {
    let product = labels.get("nvidia.com/gpu.product")?;
    let known = gpu_product(product);
    let number = |k: &str| labels.get(k).and_then(|v| v.parse::<u64>().ok());
    let memory_mib = number("nvidia.com/gpu.memory").or(known.map(|k| k.memory_mib))?;
    Some(GpuInfo {
        label: product.clone(),
        memory_mib,
        compute_major: number("nvidia.com/gpu.compute.major")
            .map(|v| v as u32)
            .or(known.map(|k| k.compute_major))
            .unwrap_or(8),
        compute_minor: number("nvidia.com/gpu.compute.minor")
            .map(|v| v as u32)
            .or(known.map(|k| k.compute_minor))
            .unwrap_or(0),
    })
}

/// Find a product by label or alias (case-insensitive; a `-SHARED` suffix
/// from time-slicing is ignored).
pub fn gpu_product(name: &str) -> Option<&'static GpuProduct> {
    let name = name.strip_suffix("-SHARED").unwrap_or(name);
    GPU_PRODUCTS
        .iter()
        .find(|p| p.label.eq_ignore_ascii_case(name) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

/// A model's shape, from its `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelShape {
    /// Hugging Face id.
    pub id: String,
    pub layers: u64,
    pub heads: Option<u64>,
    pub kv_heads: u64,
    pub head_dim: u64,
    /// Parameters (billions), all of them (vision tower included).
    pub params_b: f64,
    /// Embedding + lm_head parameters (billions): they stay 16-bit under quantization.
    pub embedding_b: f64,
    pub max_position: u64,
    pub vision: bool,
    /// MLA (DeepSeek V2/V3): the width of the one latent cached per token
    /// and layer (`kv_lora_rank + qk_rope_head_dim`), not split by TP.
    pub mla_latent: Option<u64>,
    /// Bytes per weight of the checkpoint's own quantization
    /// (`quantization_config`), when it has one.
    pub checkpoint_bytes: Option<f64>,
}

#[allow(clippy::too_many_arguments)] // one row of the catalog table
fn shape(
    id: &str,
    layers: u64,
    heads: u64,
    kv_heads: u64,
    head_dim: u64,
    params_b: f64,
    embedding_b: f64,
    max_position: u64,
    vision: bool,
) -> ModelShape {
    ModelShape {
        id: id.to_string(),
        layers,
        heads: Some(heads),
        kv_heads,
        head_dim,
        params_b,
        embedding_b,
        max_position,
        vision,
        mla_latent: None,
        checkpoint_bytes: None,
    }
}

/// The built-in catalog.
pub fn models() -> Vec<ModelShape> {
    vec![
        shape("meta-llama/Llama-3.2-1B-Instruct", 16, 32, 8, 64, 1.24, 0.263, 131_072, false),
        shape("Qwen/Qwen2.5-0.5B-Instruct", 24, 14, 2, 64, 0.49, 0.136, 32_768, false),
        shape("Qwen/Qwen2.5-7B-Instruct", 28, 28, 4, 128, 7.62, 1.09, 32_768, false),
        shape("Qwen/Qwen2.5-32B-Instruct", 64, 40, 8, 128, 32.76, 1.557, 32_768, false),
        shape("Qwen/Qwen2.5-VL-32B-Instruct", 64, 40, 8, 128, 33.5, 1.557, 128_000, true),
        shape("meta-llama/Llama-3.1-8B-Instruct", 32, 32, 8, 128, 8.03, 1.05, 131_072, false),
        shape("meta-llama/Llama-3.1-70B-Instruct", 80, 64, 8, 128, 70.55, 2.1, 131_072, false),
    ]
}

/// Normalize a model reference for matching: lower case, `_`/` ` → `-`.
fn normalize(text: &str) -> String {
    text.to_ascii_lowercase().replace(['_', ' '], "-")
}

/// The catalog entry a model reference names (`Qwen/Qwen2.5-7B-Instruct`,
/// `hf://Qwen/Qwen2.5-7B-Instruct`, `oci://reg/models/qwen2.5-7b-instruct:v1`,
/// `/mnt/models/Llama-3.1-8B`). The longest matching family name wins, so
/// `qwen2.5-vl-32b` is never read as `qwen2.5-32b`.
pub fn find_model(reference: &str) -> Option<ModelShape> {
    let wanted = normalize(reference);
    models()
        .into_iter()
        .filter_map(|m| {
            let family = normalize(m.id.rsplit('/').next().unwrap_or(&m.id));
            let family = family.trim_end_matches("-instruct").to_string();
            wanted.contains(&family).then_some((family.len(), m))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_by_label_and_alias() {
        assert_eq!(gpu_product("H100-80GB").unwrap().label, "NVIDIA-H100-80GB-HBM3");
        assert_eq!(gpu_product("nvidia-l4").unwrap().memory_mib, 23034);
        assert_eq!(gpu_product("NVIDIA-A100-SXM4-40GB-SHARED").unwrap().compute_major, 8);
        assert!(gpu_product("B200").is_none());
    }

    #[test]
    fn model_references_match_the_right_family() {
        assert_eq!(find_model("Qwen/Qwen2.5-VL-32B-Instruct").unwrap().id, "Qwen/Qwen2.5-VL-32B-Instruct");
        assert_eq!(find_model("hf://Qwen/Qwen2.5-32B-Instruct").unwrap().id, "Qwen/Qwen2.5-32B-Instruct");
        assert_eq!(
            find_model("oci://reg:5000/llmops/qwen2.5-0.5b-instruct:1.0.1").unwrap().id,
            "Qwen/Qwen2.5-0.5B-Instruct"
        );
        assert_eq!(find_model("/mnt/models/Llama-3.1-8B").unwrap().id, "meta-llama/Llama-3.1-8B-Instruct");
        assert!(find_model("mistralai/Mistral-7B").is_none());
    }
}
