//! Time-sliced GPUs: pods that land on one physical GPU share its memory,
//! and vLLM's startup check sees what the ones before it hold.
//!
//! The NVIDIA device plugin's time-slicing (`sharing.timeSlicing`, GFD
//! labels `nvidia.com/gpu.replicas` > 1 with `nvidia.com/gpu.sharing-strategy`
//! `time-slicing`, or the renamed `nvidia.com/gpu.shared` resource) hands
//! out `replicas` shares of each GPU with no memory isolation (GPU Operator
//! docs, "Time-Slicing GPUs in Kubernetes": "there is no memory or
//! fault-isolation between replicas"). What a vLLM that starts next to
//! another on the same GPU does with the other's memory depends on its
//! release (`gpuops_model::memory::version::VllmVersion::co_tenant`, cited
//! line by line there; `memory::co_tenant`):
//! - V1 from 0.9.1 asks `torch.cuda.mem_get_info` for the free memory and
//!   refuses to start when it is below `total × gpu_memory_utilization`:
//!   "Free memory on device … on startup is less than desired GPU memory
//!   utilization" (vllm v1/worker/gpu_worker.py `init_device`, v0.9.2:146-155,
//!   v0.11.0:188-197; v1/worker/utils.py `request_memory` from v0.14.0);
//! - V1 before 0.9.1 counts it as its own non-torch memory and takes it out
//!   of the KV cache (v0.8.5 v1/worker/gpu_worker.py:203-210): utilization is
//!   a share of the whole GPU, and two pods at 45 % leave the second none;
//! - V0 (the default before 0.8, `VLLM_USE_V1=0` to 0.10) leaves it out of
//!   its budget (v0.7.3 worker.py:161,233-236) and runs out of memory
//!   ("CUDA out of memory") loading the weights or allocating the cache.
//!
//! That is all `memory::evaluate`, the path `gpufit model` takes: here only
//! what is in use when a pod starts is worked out, and handed to it as
//! `EngineArgs::gpu_memory_in_use_gib`.
//!
//! MPS shares are left out: the device plugin pins each client's memory
//! (`CUDA_MPS_PINNED_DEVICE_MEM_LIMIT`, 1/replicas of the GPU; see
//! `memory_check::share`), so each vLLM sees its own part.
//!
//! Which physical GPU a share maps to is the device plugin's choice at
//! kubelet admission (k8s-device-plugin internal/rm/allocate.go
//! `greedyAlloc`, v0.18: the `distributed` policy — the default of
//! `--shared-devices-allocation-policy` — takes the GPU with the fewest
//! replicas allocated; `packed` the most). What gpuops can know from a
//! snapshot, and nothing more, is decided here:
//! - one physical GPU on the node: every share is on it, whatever the policy;
//! - no more shares in use than physical GPUs: each on its own GPU under the
//!   default policy;
//! - more shares than GPUs, all of them replicas of one workload: the
//!   default policy fills the GPUs evenly, so the fullest holds
//!   `ceil(shares / GPUs)` identical pods;
//! - anything else (pods already running there, whose memory the snapshot
//!   does not show; several workloads over several GPUs, paired by the
//!   order the pods start; a pod asking several shares; no GPU count): a
//!   warning that says so, never a guessed "fits", and says what is not
//!   known in the terms of the pod's release (`beside_unknown_pods`):
//!   whether the startup check passes, how much of the KV cache the others
//!   take, or whether it runs out of memory.

use std::collections::BTreeMap;

use gpuops_model::catalog::{GpuInfo, ModelShape};
use gpuops_model::memory::version::CoTenant;
use gpuops_model::memory::{self, EngineArgs, Generation, MemoryFit};
use gpuops_schedule::cluster::{Cluster, Node};
use gpuops_schedule::scheduler::Placement;

use crate::workloads::{Engine, PodGroup};

/// What one workload's memory check learns from the pods it shares a
/// time-sliced GPU with.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Sharing {
    /// GPU memory held by the pods that start before its busiest replica
    /// on the same physical GPU (GiB): `EngineArgs::gpu_memory_in_use_gib`.
    pub in_use_gib: f64,
    /// What gpuops worked out or could not know, for the report's notes.
    pub notes: Vec<String>,
}

/// A model and the GPU one of its pods gets, when both are known.
pub(super) type Sized = (ModelShape, GpuInfo);

/// One share-holding pod of a checked workload on a time-sliced node.
struct Tenant {
    group: usize,
    shares: i64,
}

/// The physical GPUs behind `resource` on `node` when the device plugin
/// time-slices them: GFD's `nvidia.com/gpu.count` (the physical count; the
/// resource's allocatable is `count × replicas`), else allocatable ÷
/// replicas. `Some(None)`: time-sliced, count unknown.
fn time_sliced(node: &Node, resource: &str) -> Option<Option<i64>> {
    let label = |k: &str| node.labels.get(k).map(String::as_str);
    if resource != "nvidia.com/gpu" && resource != "nvidia.com/gpu.shared" {
        return None;
    }
    let replicas = label("nvidia.com/gpu.replicas").and_then(|r| r.parse::<i64>().ok()).unwrap_or(1);
    let strategy = label("nvidia.com/gpu.sharing-strategy");
    if strategy == Some("mps") || (replicas <= 1 && !resource.ends_with(".shared")) {
        return None;
    }
    let count = label("nvidia.com/gpu.count").and_then(|c| c.parse::<i64>().ok()).filter(|c| *c > 0);
    let derived = || {
        let allocatable = node.allocatable.get(resource).copied().unwrap_or(0);
        (replicas > 1 && allocatable > 0 && allocatable % replicas == 0).then(|| allocatable / replicas)
    };
    Some(count.or_else(derived))
}

/// What a running vLLM holds on its GPU: the weights, the profiled
/// overhead and the KV cache it allocated (together `total × utilization`
/// unless `--kv-cache-memory-bytes` fixed the cache), plus CUDA graphs
/// captured outside the budget.
fn resident_gib(fit: &MemoryFit) -> f64 {
    let graphs = if fit.cuda_graph_in_budget { 0.0 } else { fit.cuda_graph_gib };
    fit.weights_per_gpu_gib + fit.overhead_gib + fit.kv_budget_gib.max(0.0) + graphs
}

/// What the pods beside this one on an unknown GPU would do to its start,
/// as its vLLM release handles memory other processes hold
/// (`VllmVersion::co_tenant`): the startup check from V1 0.9.1, the KV
/// cache less theirs in V1 0.6.5–0.9.0 and V0 0.6.4, an out-of-memory
/// error in the other V0 releases (the budget leaves them out).
fn beside_unknown_pods(args: &EngineArgs) -> String {
    // The GPU is not known here: its compute capability neither.
    let (version, generation) = memory::release(args, None);
    let engine = if generation == Generation::V0 { " (V0 engine)" } else { "" };
    match version.co_tenant(generation) {
        CoTenant::Checked => "whether vLLM's startup check (\"Free memory on device … is less than desired GPU memory utilization\") passes beside the other pods there".to_string(),
        CoTenant::Subtracted => format!(
            "how much of its KV cache the other pods there take (vLLM {version}{engine} counts their memory as its own and takes it out of the KV cache, down to \"No available memory for the cache blocks\")"
        ),
        CoTenant::Unseen => format!(
            "whether it runs out of memory beside the other pods there (vLLM {version}{engine} sizes its KV cache as on an empty GPU: \"CUDA out of memory\" loading the weights or allocating the cache)"
        ),
    }
}

/// The inputs of [`plan`]: the checked groups, their engines and where
/// the scheduler put them, and each group's model and GPU when known.
pub(super) struct Tenancy<'a> {
    pub cluster: &'a Cluster,
    pub groups: &'a [PodGroup],
    pub engines: &'a [Option<Engine>],
    pub placement: &'a Placement,
    /// Indexed like `groups`: `None` where the memory check cannot run.
    pub sized: &'a dyn Fn(usize) -> Option<Sized>,
}

/// Per group (indexed like `groups`), what sharing a time-sliced GPU does
/// to its memory check; `None` for groups on no shared GPU.
pub(super) fn plan(t: &Tenancy<'_>) -> Vec<Option<Sharing>> {
    let mut out: Vec<Option<Sharing>> = vec![None; t.groups.len()];
    // Per node and resource, the share-holding pods in the order the
    // scheduler placed them (the manifests' order).
    let mut tenants: BTreeMap<(usize, &str), Vec<Tenant>> = BTreeMap::new();
    for (group, (g, engine)) in t.groups.iter().zip(t.engines).enumerate() {
        let (Some(_), Some(resource)) = (engine.as_ref().filter(|e| !e.multi_node), g.gpu_resource()) else {
            continue;
        };
        for &node in t.placement.placed.get(group).into_iter().flatten() {
            if t.cluster.nodes.get(node).and_then(|n| time_sliced(n, resource)).is_some() {
                tenants.entry((node, resource)).or_default().push(Tenant { group, shares: g.gpus() });
            }
        }
    }
    let mut sized: BTreeMap<usize, Option<Sized>> = BTreeMap::new();
    for ((node, resource), list) in tenants {
        let n = &t.cluster.nodes[node];
        let Some(physical) = time_sliced(n, resource) else { continue };
        let bound = t.placement.before.get(node).and_then(|u| u.requests.get(resource).copied()).unwrap_or(0);
        let shares = list.iter().fold(bound, |sum, p| sum.saturating_add(p.shares));
        if shares <= 1 || physical.is_some_and(|gpus| gpus > 1 && shares <= gpus) {
            continue;
        }
        let unknown = match physical {
            None => Some("their physical count is not labelled (nvidia.com/gpu.count)".to_string()),
            Some(_) if bound > 0 => {
                Some(format!("{bound} share(s) are held by running pods whose GPU memory the snapshot does not show"))
            }
            Some(_) if list.iter().any(|p| p.shares > 1) => Some("a pod asks for more than one share".to_string()),
            Some(gpus) if gpus > 1 && list.iter().any(|p| p.group != list[0].group) => Some(format!(
                "{shares} shares of {gpus} GPUs go to several workloads, paired by the order their pods start"
            )),
            Some(_) => None,
        };
        if let Some(why) = unknown {
            for p in &list {
                let Some(engine) = t.engines[p.group].as_ref() else { continue };
                let note = format!(
                    "node {}'s GPUs are time-sliced ({resource}): {why}; which physical GPU this pod's share lands on, and {}, is not known",
                    n.name,
                    beside_unknown_pods(&engine.args)
                );
                push_note(&mut out[p.group], &note);
            }
            continue;
        }
        // Every pod left is on one GPU (a single-GPU node), or the pods are
        // identical and the fullest GPU holds ceil(shares / GPUs) of them.
        let gpus = physical.unwrap_or(1);
        let on_one = usize::try_from((shares + gpus - 1) / gpus).unwrap_or(usize::MAX).min(list.len());
        let start = if gpus == 1 { &list[..] } else { &list[..on_one] };
        let mut sized_of = |group: usize| sized.entry(group).or_insert_with(|| (t.sized)(group)).clone();
        start_in_order(t, n, gpus, start, &mut sized_of, &mut out);
    }
    out
}

/// The pods of one physical GPU start one after another: each sees what
/// the ones before it that started hold (a refused one exits and holds
/// nothing). A group keeps the start that went worst for it.
fn start_in_order(
    t: &Tenancy<'_>,
    node: &Node,
    gpus: i64,
    pods: &[Tenant],
    sized_of: &mut dyn FnMut(usize) -> Option<Sized>,
    out: &mut [Option<Sharing>],
) {
    let mut in_use = 0.0;
    let mut before: Vec<String> = Vec::new();
    for p in pods {
        let Some(engine) = t.engines[p.group].as_ref() else { continue };
        let Some((shape, gpu)) = sized_of(p.group) else {
            // Its own memory is unknown: the pods after it cannot be sized.
            let note = format!(
                "shares a time-sliced GPU of node {} with a pod whose model or GPU is unknown: what that pod holds is not known",
                node.name
            );
            for q in pods {
                push_note(&mut out[q.group], &note);
            }
            return;
        };
        let args = EngineArgs { gpu_memory_in_use_gib: in_use, ..engine.args.clone() };
        let fit = memory::evaluate(&shape, &gpu, &args);
        let workload = t.groups[p.group].workload.to_string();
        if in_use > 0.0 {
            let where_ = if gpus == 1 {
                format!("node {}'s one physical GPU", node.name)
            } else {
                format!(
                    "one of node {}'s {gpus} physical GPUs (the device plugin's default distributed policy)",
                    node.name
                )
            };
            let note = format!(
                "time-sliced: starts on {where_} after {}, which hold {in_use:.2} GiB of it",
                before.join(", ")
            );
            let entry = out[p.group].get_or_insert_with(Sharing::default);
            if in_use > entry.in_use_gib {
                entry.in_use_gib = in_use;
                entry.notes.retain(|n| !n.starts_with("time-sliced: starts on"));
                entry.notes.push(note);
            }
        }
        if fit.fits {
            in_use += resident_gib(&fit);
            let name = if before.last() == Some(&workload) { None } else { Some(workload) };
            before.extend(name);
        }
    }
}

fn push_note(sharing: &mut Option<Sharing>, note: &str) {
    let entry = sharing.get_or_insert_with(Sharing::default);
    if !entry.notes.iter().any(|n| n == note) {
        entry.notes.push(note.to_string());
    }
}
