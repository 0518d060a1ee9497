//! What gpuops knows without asking: GPU products (their node labels and
//! the memory CUDA or ROCm reports to vLLM) and widely served models (their
//! `config.json` shapes). Both are data — `data/gpus.json` and
//! `data/models.json`, each entry with its source — read once on first use.

mod gpus;

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

pub use crate::shape::{CheckpointQuant, ModelShape};
pub use gpus::{
    GpuInfo, GpuProduct, MemorySource, MigProfile, Vendor, gpu_of_labels, gpu_product, gpu_products, mig_slice,
    mps_share,
};

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
    source: String,
    config: Value,
}

#[derive(Deserialize)]
struct ModelFile {
    models: Vec<ModelEntry>,
}

/// One model of the built-in catalog, with the `config.json` it came from.
#[derive(Debug, Clone)]
pub struct CatalogModel {
    pub shape: ModelShape,
    pub source: String,
}

/// The built-in model catalog (`data/models.json`), parsed on first use.
pub fn catalog_models() -> &'static [CatalogModel] {
    static MODELS: OnceLock<Vec<CatalogModel>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let file: ModelFile = serde_json::from_str(include_str!("../../data/models.json"))
            .unwrap_or_else(|e| unreachable!("data/models.json is checked by the tests: {e}"));
        file.models
            .into_iter()
            .map(|m| {
                let shape = crate::hfconfig::shape(&m.id, &m.config, None, &m.source)
                    .unwrap_or_else(|e| unreachable!("data/models.json entries are checked by the tests: {e}"));
                CatalogModel { shape, source: m.source }
            })
            .collect()
    })
}

/// The built-in catalog's shapes.
pub fn models() -> Vec<ModelShape> {
    catalog_models().iter().map(|m| m.shape.clone()).collect()
}

/// Normalize a model reference for matching: lower case, `_`/` ` → `-`.
fn normalize(text: &str) -> String {
    text.to_ascii_lowercase().replace(['_', ' '], "-")
}

/// The catalog entry a model reference names (`Qwen/Qwen2.5-7B-Instruct`,
/// `hf://Qwen/Qwen2.5-7B-Instruct`, `oci://reg/models/qwen2.5-7b-instruct:v1`,
/// `/mnt/models/Llama-3.1-8B`). An exact id wins; otherwise the longest
/// matching name, so `qwen2.5-vl-32b` is never read as `qwen2.5-32b` and
/// `Qwen2.5-7B-Instruct-AWQ` is the AWQ checkpoint.
pub fn find_model(reference: &str) -> Option<ModelShape> {
    let wanted = normalize(reference);
    let wanted = wanted.strip_prefix("hf://").unwrap_or(&wanted);
    if let Some(exact) = catalog_models().iter().find(|m| normalize(&m.shape.id) == wanted) {
        return Some(exact.shape.clone());
    }
    catalog_models()
        .iter()
        .filter_map(|m| {
            let name = normalize(m.shape.id.rsplit('/').next().unwrap_or(&m.shape.id));
            // The instruct and base checkpoints have the same shape.
            let family = name.replace("-instruct", "").replace("-chat-hf", "");
            let family = family.strip_suffix("-it").unwrap_or(&family).to_string();
            let matches = wanted.contains(&name) || wanted.replace("-instruct", "").contains(&family);
            matches.then_some((family.len() + usize::from(wanted.contains(&name)), &m.shape))
        })
        .max_by_key(|(len, _)| *len)
        // A family member stands in for the shape; its checkpoint's
        // quantization is not the one referenced (`-AWQ` of a base entry).
        .map(|(_, m)| ModelShape { checkpoint_quant: CheckpointQuant::NotRead, ..m.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_references_match_the_right_entry() {
        assert_eq!(find_model("Qwen/Qwen2.5-VL-32B-Instruct").unwrap().id, "Qwen/Qwen2.5-VL-32B-Instruct");
        assert_eq!(find_model("hf://Qwen/Qwen2.5-32B-Instruct").unwrap().id, "Qwen/Qwen2.5-32B-Instruct");
        assert_eq!(
            find_model("oci://reg:5000/llmops/qwen2.5-0.5b-instruct:1.0.1").unwrap().id,
            "Qwen/Qwen2.5-0.5B-Instruct"
        );
        assert_eq!(find_model("/mnt/models/Llama-3.1-8B").unwrap().id, "meta-llama/Llama-3.1-8B-Instruct");
        assert_eq!(find_model("Qwen/Qwen2.5-7B-Instruct-AWQ").unwrap().id, "Qwen/Qwen2.5-7B-Instruct-AWQ");
        assert_eq!(find_model("mistralai/Mixtral-8x7B-v0.1").unwrap().id, "mistralai/Mixtral-8x7B-Instruct-v0.1");
        assert_eq!(find_model("google/gemma-3-27b-pt").unwrap().id, "google/gemma-3-27b-it");
        assert!(find_model("acme/secret-model").is_none());
    }

    #[test]
    fn the_catalog_has_the_models_users_serve() {
        let models = catalog_models();
        assert!(models.len() >= 60, "{}", models.len());
        // Every entry cites its config.json.
        assert!(models.iter().all(|m| m.source.ends_with("/config.json")));
        // Published totals (model cards), counted from the shapes.
        for (id, billions) in [
            ("meta-llama/Llama-3.3-70B-Instruct", 70.55),
            ("Qwen/Qwen2.5-72B-Instruct", 72.7),
            ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.7),
            ("microsoft/phi-4", 14.66),
            ("openai/gpt-oss-20b", 20.9),
            ("Qwen/Qwen3-30B-A3B", 30.5),
            ("Qwen/Qwen3-235B-A22B", 235.1),
            ("meta-llama/Llama-4-Scout-17B-16E-Instruct", 108.6),
            ("google/gemma-2-9b-it", 9.24),
            ("deepseek-ai/DeepSeek-R1", 671.0),
        ] {
            let m = find_model(id).unwrap();
            assert!((m.params_b - billions).abs() / billions < 0.015, "{id}: {} B, card {billions} B", m.params_b);
        }
    }
}
