//! The memory verdict of one workload: the model's shape (what the
//! caller's resolver found, `gpuops_model::resolve`, corrected by the
//! workload's `gpuops.dev/model-*` annotations), the GPU it lands on, and
//! vLLM's memory model.

use std::collections::BTreeMap;

use serde_json::Value;

use super::shared_gpu::{Sharing, Sized};
use super::{MemoryReport, MemoryStatus};
use crate::workloads::{Engine, PodGroup};
use gpuops_model::catalog::{GpuInfo, gpu_of_labels, mig_slice, mps_share};
use gpuops_model::memory::{self, EngineArgs};
use gpuops_model::resolve::{self, Models, ResolveError};
use gpuops_schedule::cluster::{Cluster, Node};

/// The GPU the group's pods get: a node they were placed on, else the
/// product their nodeSelector names, else any node with the resource —
/// then the share of it one pod holds ([`share`]).
fn gpu_for(cluster: &Cluster, group: &PodGroup, nodes: &[String]) -> Option<GpuInfo> {
    // None for a pod whose GPUs come another way (a DRA claim): the whole
    // GPU of the node it lands on, as before.
    let resource = group.gpu_resource();
    let on = |node: &Node| share(gpu_of_labels(&node.labels)?, resource, &node.labels);
    if let Some(gpu) = nodes.iter().find_map(|n| cluster.nodes.iter().find(|node| node.name == *n).and_then(on)) {
        return Some(gpu);
    }
    if let Some(product) = group.spec.pointer("/nodeSelector/nvidia.com~1gpu.product").and_then(Value::as_str) {
        if let Some(gpu) = cluster
            .nodes
            .iter()
            .filter(|n| n.labels.get("nvidia.com/gpu.product").map(String::as_str) == Some(product))
            .find_map(on)
        {
            return Some(gpu);
        }
        let labels = BTreeMap::from([("nvidia.com/gpu.product".to_string(), product.to_string())]);
        return share(gpu_of_labels(&labels)?, resource, &labels);
    }
    let resource = resource?;
    cluster.nodes.iter().filter(|n| n.allocatable.get(resource).is_some_and(|v| *v > 0)).find_map(on)
}

/// What one unit of `resource` is on a node with `gpu`: a MIG slice when
/// the resource names a profile (the device plugin's mixed strategy,
/// `nvidia.com/mig-1g.10gb`: the node's product label stays the whole
/// GPU's), an equal part of the memory when the device plugin shares each
/// GPU through MPS (k8s-device-plugin README, "With CUDA MPS": replicas
/// each get `1/replicas` of the memory, `nvidia.com/gpu.sharing-strategy:
/// mps`, `nvidia.com/gpu.replicas`), else the whole GPU — time-slicing
/// gives every replica the whole memory, shared with no isolation. `None`
/// for a MIG profile the catalog cannot size: unchecked, not the whole GPU.
fn share(gpu: GpuInfo, resource: Option<&str>, labels: &BTreeMap<String, String>) -> Option<GpuInfo> {
    if let Some(profile) = resource.and_then(|r| r.strip_prefix("nvidia.com/mig-")) {
        return mig_slice(&gpu, profile);
    }
    let replicas = labels.get("nvidia.com/gpu.replicas").and_then(|r| r.parse::<u64>().ok()).filter(|r| *r > 1);
    Some(match (labels.get("nvidia.com/gpu.sharing-strategy").map(String::as_str), replicas) {
        (Some("mps"), Some(replicas)) => mps_share(&gpu, replicas),
        _ => gpu,
    })
}

/// A vLLM pod that asks for no GPU — no GPU-like extended resource, no DRA
/// claim, nothing the group read warned about — has no GPU memory to size.
/// A CPU build of vLLM (`EngineArgs::cpu_build`: an image named for the
/// CPU, or `VLLM_TARGET_DEVICE=cpu`) runs so; any other image finds no device and
/// stops: vLLM's `DeviceConfig(device="auto")` raises "RuntimeError: Failed
/// to infer device type" when no platform is detected (vllm/config/device.py
/// `DeviceConfig.__post_init__`; vllm/config.py `DeviceConfig.__init__`
/// before 0.10). Pods of a multi-node group (a Ray head) are left to the
/// group's other checks.
fn without_gpu(group: &PodGroup, engine: &Engine) -> Option<(MemoryStatus, String)> {
    let claims = group.spec.get("resourceClaims").and_then(Value::as_array).is_some_and(|c| !c.is_empty());
    if group.gpus() > 0 || claims || !group.warnings.is_empty() || engine.multi_node {
        return None;
    }
    Some(if engine.args.cpu_build {
        (MemoryStatus::Cpu, "requests no GPU: vLLM runs on CPU (a CPU build); no GPU memory to check".to_string())
    } else {
        (
            MemoryStatus::NoGpu,
            "the vLLM pod requests no GPU (nvidia.com/gpu, amd.com/gpu or a MIG slice), so vLLM would run on CPU, which its GPU image cannot: it stops with \"RuntimeError: Failed to infer device type\"; add the GPU to the container's resources.limits, or use a CPU build of vLLM".to_string(),
        )
    })
}

/// The model and the GPU one pod of `group` gets, or the status and
/// message of a memory check that cannot be made (no GPU asked for, an
/// unknown model, an unknown GPU).
pub(super) fn sizing(
    cluster: &Cluster,
    group: &PodGroup,
    engine: &Engine,
    nodes: &[String],
    models: &Models,
) -> Result<Sized, (MemoryStatus, String)> {
    if let Some(without) = without_gpu(group, engine) {
        return Err(without);
    }
    let found = models.get(&engine.model).map(|f| &f.shape);
    let Some(shape) = resolve::annotated(found, &engine.model, &engine.overrides, engine.args.max_model_len) else {
        let supply = || resolve::what_to_supply(&engine.model, &engine.overrides, models.hub_cache());
        let message = match models.error(&engine.model) {
            // What the user wrote is broken: that is the thing to fix.
            Some(error @ ResolveError::Config(_)) => error.to_string(),
            // The network could not say: what to supply, and why it was needed.
            Some(error @ ResolveError::Remote(_)) => format!("{} (fetching it: {error})", supply()),
            None => supply(),
        };
        return Err((MemoryStatus::UnknownModel, message));
    };
    let Some(gpu) = gpu_for(cluster, group, nodes) else {
        let message = match group.gpu_resource().and_then(|r| r.strip_prefix("nvidia.com/mig-")) {
            Some(profile) => format!(
                "the MIG profile {} is not one gpuops can size (the catalog's profiles, or a name like 3g.40gb)",
                gpuops_manifest::text::printable(profile)
            ),
            None => {
                "no node with GPU Feature Discovery labels (nvidia.com/gpu.product) to size the model against".into()
            }
        };
        return Err((MemoryStatus::UnknownGpu, message));
    };
    Ok((shape, gpu))
}

/// The memory verdict of `group`, evaluated as `gpufit model` evaluates
/// it (`memory::evaluate`), with what the pods before it on a time-sliced
/// GPU hold in use ([`Sharing`]). The notes say what was assumed: vLLM's
/// version when the manifest does not name it, the GPU's other tenants.
pub(super) fn memory_report(
    sized: Option<Result<Sized, (MemoryStatus, String)>>,
    engine: Option<&Engine>,
    max_gpus_per_node: u64,
    sharing: Option<&Sharing>,
) -> Option<MemoryReport> {
    let engine = engine?;
    let mut report = MemoryReport {
        reference: engine.model.clone(),
        status: MemoryStatus::UnknownModel,
        fit: None,
        smallest_tp: None,
        message: None,
        notes: Vec::new(),
    };
    let (shape, gpu) = match sized? {
        Ok(sized) => sized,
        Err((status, message)) => {
            report.status = status;
            report.message = Some(message);
            return Some(report);
        }
    };
    let in_use = sharing.map_or(0.0, |s| s.in_use_gib);
    let shared_args;
    let args = if in_use > 0.0 {
        shared_args = EngineArgs { gpu_memory_in_use_gib: in_use, ..engine.args.clone() };
        &shared_args
    } else {
        &engine.args
    };
    let fit = memory::evaluate(&shape, &gpu, args);
    report.notes = fit.notes.clone();
    report.notes.extend(sharing.into_iter().flat_map(|s| s.notes.iter().cloned()));
    // A verdict decided inside the model's own error is no confident one:
    // said wherever the notes go (a warning under `check`'s table, the
    // Argo CD gate's `gpuops.dev/warnings`); the status stays the model's.
    report.notes.extend(fit.edge.map(|edge| edge.text(fit.fits)));
    // A model gpuops cannot size: its figures are no prediction, so the
    // check neither passes nor fails it (and proposes no TP); the fit stays
    // in the report for its `notSized` and the engine it assumed.
    if let Some(reason) = &fit.not_sized {
        report.status = MemoryStatus::NotSized;
        report.message = Some(reason.clone());
        report.fit = Some(fit);
        return Some(report);
    }
    report.status = if fit.fits { MemoryStatus::Fits } else { MemoryStatus::DoesNotFit };
    if !fit.fits {
        // Look past this cluster's node size: "TP 4 would fit" is the answer
        // even when it also says a bigger node is needed; not when another
        // pod's memory is what refused it (no TP makes that free).
        if in_use == 0.0 {
            report.smallest_tp = memory::smallest_fitting_tp(&shape, &gpu, args, max_gpus_per_node.max(8));
        }
        report.message = fit.problems.first().cloned();
    }
    report.fit = Some(fit);
    Some(report)
}
