//! The memory verdict of one workload: the model's shape (a directory in
//! the repository, the catalog, the Hugging Face cache, what the caller
//! fetched, `gpuops.dev/model-*` annotations), the GPU it lands on, and
//! vLLM's memory model.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{MemoryReport, MemoryStatus};
use crate::catalog::{GpuInfo, ModelShape, find_model, gpu_of_labels};
use crate::cluster::Cluster;
use crate::memory;
use crate::workloads::{Engine, PodGroup};

/// Apply `gpuops.dev/model-*` annotation overrides to a catalog shape, or
/// build a shape from them alone.
fn model_shape(engine: &Engine, fetched: &BTreeMap<String, ModelShape>) -> Option<ModelShape> {
    let o = &engine.overrides;
    let number = |k: &str| {
        o.get(&format!("gpuops.dev/model-{k}")).and_then(|v| v.trim_end_matches(['B', 'b']).parse::<f64>().ok())
    };
    // A model directory in the repository, the catalog, the model's own
    // config.json in the local Hugging Face cache, what the caller fetched
    // (hub, registry), then annotations alone.
    let cached = || crate::hfconfig::from_hub_cache(&engine.model).and_then(Result::ok);
    // A model directory in the repository (`--model ./models/acme-13b`).
    let local = || {
        let dir = std::path::Path::new(&engine.model);
        dir.join("config.json").is_file().then(|| crate::hfconfig::load(dir, &engine.model).ok()).flatten()
    };
    let mut shape = local()
        .or_else(|| find_model(&engine.model))
        .or_else(cached)
        .or_else(|| fetched.get(&engine.model).cloned())
        .or_else(|| {
            Some(ModelShape::from_counts(
                &engine.model,
                number("params")?,
                number("layers")? as u64,
                number("kv-heads")? as u64,
                number("head-dim")? as u64,
                engine.args.max_model_len?,
            ))
        })?;
    if let Some(v) = number("params") {
        shape.params_b = v;
    }
    if let Some(v) = number("layers") {
        shape.layers = v as u64;
    }
    if let Some(v) = number("kv-heads") {
        shape.kv_heads = v as u64;
    }
    if let Some(v) = number("head-dim") {
        shape.head_dim = v as u64;
    }
    Some(shape)
}

fn gpu_for(cluster: &Cluster, group: &PodGroup, nodes: &[String]) -> Option<GpuInfo> {
    let by_name = |name: &str| cluster.nodes.iter().find(|n| n.name == name).and_then(|n| gpu_of_labels(&n.labels));
    if let Some(gpu) = nodes.iter().find_map(|n| by_name(n)) {
        return Some(gpu);
    }
    if let Some(product) = group.spec.pointer("/nodeSelector/nvidia.com~1gpu.product").and_then(Value::as_str) {
        let labels = BTreeMap::from([("nvidia.com/gpu.product".to_string(), product.to_string())]);
        if let Some(gpu) = cluster
            .nodes
            .iter()
            .find(|n| n.labels.get("nvidia.com/gpu.product").map(String::as_str) == Some(product))
            .and_then(|n| gpu_of_labels(&n.labels))
        {
            return Some(gpu);
        }
        return gpu_of_labels(&labels);
    }
    let resource = group.gpu_resource()?;
    cluster
        .nodes
        .iter()
        .filter(|n| n.allocatable.get(resource).is_some_and(|v| *v > 0))
        .find_map(|n| gpu_of_labels(&n.labels))
}

pub(super) fn memory_report(
    cluster: &Cluster,
    group: &PodGroup,
    nodes: &[String],
    max_gpus_per_node: u64,
    fetched: &BTreeMap<String, ModelShape>,
) -> Option<MemoryReport> {
    let engine = group.engine.as_ref()?;
    let mut report = MemoryReport {
        reference: engine.model.clone(),
        status: MemoryStatus::UnknownModel,
        fit: None,
        smallest_tp: None,
        message: None,
    };
    let Some(shape) = model_shape(engine, fetched) else {
        report.status = MemoryStatus::UnknownModel;
        // Say exactly what is missing: the annotations not set, or the config.
        let missing: Vec<String> = ["params", "layers", "kv-heads", "head-dim"]
            .iter()
            .filter(|k| !engine.overrides.contains_key(&format!("gpuops.dev/model-{k}")))
            .map(|k| format!("gpuops.dev/model-{k}"))
            .collect();
        let how = if missing.len() == 4 {
            format!(
                "put its config.json in the Hugging Face cache ({}), or set the annotations gpuops.dev/model-params, -layers, -kv-heads, -head-dim",
                crate::hfconfig::hub_cache(|k| std::env::var_os(k))
                    .map_or_else(|| "HF_HOME".to_string(), |p| p.display().to_string())
            )
        } else if missing.is_empty() {
            "the annotations describe it, but a --max-model-len is needed in the args".to_string()
        } else {
            format!("set the missing annotation(s) {}", missing.join(", "))
        };
        report.message = Some(format!("{} is not in the catalog: {how}", engine.model));
        return Some(report);
    };
    let Some(gpu) = gpu_for(cluster, group, nodes) else {
        report.status = MemoryStatus::UnknownGpu;
        report.message =
            Some("no node with GPU Feature Discovery labels (nvidia.com/gpu.product) to size the model against".into());
        return Some(report);
    };
    let fit = memory::evaluate(&shape, &gpu, &engine.args);
    report.status = if fit.fits { MemoryStatus::Fits } else { MemoryStatus::DoesNotFit };
    if !fit.fits {
        // Look past this cluster's node size: "TP 4 would fit" is the answer
        // even when it also says a bigger node is needed.
        report.smallest_tp = memory::smallest_fitting_tp(&shape, &gpu, &engine.args, max_gpus_per_node.max(8));
        report.message = fit.problems.first().cloned();
    }
    report.fit = Some(fit);
    Some(report)
}
