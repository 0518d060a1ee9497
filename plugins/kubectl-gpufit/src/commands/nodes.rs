//! `nodes`: the GPU inventory of each cluster — product, memory,
//! allocatable, used and free per node and GPU resource.

use gpuops_fit::workloads::is_gpu;
use gpuops_model::catalog::gpu_of_labels;
use gpuops_schedule::cluster::{Cluster, Node};
use gpuops_schedule::scheduler::{usage, usage_of};

use super::cluster::clusters;
use crate::cli::NodesArgs;
use crate::render::{self, NamespaceUse, NodeRow};
use crate::{Error, ExitCode};

pub(crate) fn nodes(args: &NodesArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    let clusters = clusters(&args.cluster, false)?;
    let namespace = args.cluster.namespace.as_deref().filter(|_| !args.all_namespaces);
    let rows: Vec<NodeRow> = clusters.iter().flat_map(|c| inventory(c, namespace)).collect();
    render::emit(&render::nodes(&rows, namespace, &args.output)?)?;
    Ok(ExitCode::Success)
}

/// One row per node and GPU resource; with `namespace`, also what that
/// namespace's pods use on each node (`usedByNamespace`, table column
/// `USED(NS)`), as `kubectl-view-allocations -n` scopes its usage.
/// Placement is not scoped: every namespace's pods take GPUs.
fn inventory(cluster: &Cluster, namespace: Option<&str>) -> Vec<NodeRow> {
    let used = usage(cluster);
    let scoped = namespace.map(|ns| (ns, usage_of(cluster, |p| p.namespace == ns)));
    let mut rows = Vec::new();
    for (i, (node, used)) in cluster.nodes.iter().zip(&used).enumerate() {
        let gpu = gpu_of_labels(&node.labels);
        let taints: Vec<String> = node.taints.iter().map(|t| format!("{}={}:{}", t.key, t.value, t.effect)).collect();
        for (resource, &allocatable) in node.allocatable.iter().filter(|(k, _)| is_gpu(k)) {
            let in_use = used.requests.get(resource).copied().unwrap_or(0);
            rows.push(NodeRow {
                cluster: cluster.source.clone(),
                node: node.name.clone(),
                product: gpu.as_ref().map_or_else(|| "-".to_string(), |g| g.label.clone()),
                memory_mib: gpu.as_ref().map(|g| g.label_mib),
                cuda_memory_gib: gpu.as_ref().map(|g| (g.total_gib * 100.0).round() / 100.0),
                resource: resource.clone(),
                allocatable,
                used: in_use,
                free: allocatable - in_use,
                sharing: sharing(node),
                unschedulable: node.unschedulable,
                taints: taints.clone(),
                namespace: scoped.as_ref().map(|(ns, scoped)| NamespaceUse {
                    namespace: (*ns).to_string(),
                    used_by_namespace: scoped[i].requests.get(resource).copied().unwrap_or(0),
                }),
            });
        }
    }
    rows
}

/// GPU sharing as the NVIDIA GPU operator labels it: a strategy
/// (time-slicing, mps) with its replicas, or replicas alone.
fn sharing(node: &Node) -> String {
    match (node.labels.get("nvidia.com/gpu.sharing-strategy"), node.labels.get("nvidia.com/gpu.replicas")) {
        (Some(s), Some(r)) if s != "none" => format!("{s} x{r}"),
        (None, Some(r)) if r != "1" => format!("x{r}"),
        _ => "-".into(),
    }
}
