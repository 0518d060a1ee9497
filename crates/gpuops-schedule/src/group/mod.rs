//! The pods to place: one [`PodGroup`] per set of identical pods a
//! workload creates, holding what admission, the scheduler and the kubelet
//! read (the scheduling fields, the requests, the priority). `gpuops-fit`
//! reads workloads into groups, with the engine each serves beside them;
//! everything here only reads them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::resources::Resources;
use gpuops_manifest::resources::is_gpu;
use gpuops_manifest::rollout::Rollout;

mod fields;
mod reference;
pub use fields::scheduling_fields;
pub use reference::{Role, WorkloadKind, WorkloadRef};

/// Identical pods to place.
#[derive(Debug, Clone)]
pub struct PodGroup {
    pub workload: WorkloadRef,
    /// Which pods of the workload (`worker group gpu`, `head`), none for the only one.
    pub role: Option<Role>,
    pub replicas: u64,
    /// DaemonSet: one pod per node that passes the filters.
    pub per_node: bool,
    /// The pod spec's scheduling fields (see `fields::scheduling_fields`):
    /// what admission and the scheduler read, not the containers (see
    /// `containers`) nor their args, env or probes (the engine `gpuops-fit`
    /// keeps beside the group holds what the memory model reads).
    pub spec: Value,
    /// The pod's `containers` and `initContainers` (their `resources` and
    /// `restartPolicy`) as compact JSON text, `{"containers": [...]}`,
    /// empty when it has none: `requests` holds what they ask for, and
    /// only LimitRange defaulting reads them again ([`PodGroup::pod_spec`]).
    pub containers: Box<str>,
    pub requests: Resources,
    pub rollout: Rollout,
    /// The namespace the pods are created in (`default` when the manifest
    /// names none).
    pub namespace: String,
    /// The pod template's labels (what pod affinity and spread match).
    pub labels: BTreeMap<String, String>,
    /// The pod's priority, resolved from `priorityClassName` (or the
    /// global default class) by [`crate::admission::admit`].
    pub priority: i32,
    /// `preemptionPolicy: Never` (the pod's or its class's).
    pub preemption_never: bool,
    /// GPUs requested in a way the fit does not model (DRA claims,
    /// fractional-GPU annotations): said, never silently counted as 0.
    pub warnings: Vec<String>,
    /// The Kueue LocalQueue the workload is sent to (`kueue.x-k8s.io/queue-name`).
    pub queue: Option<String>,
}

impl PodGroup {
    /// GPUs (any GPU-like extended resource) one pod asks for.
    pub fn gpus(&self) -> i64 {
        self.requests.iter().filter(|(k, _)| is_gpu(k)).fold(0, |sum, (_, v)| sum.saturating_add(*v))
    }

    /// The GPU resource the pod asks for, if any.
    pub fn gpu_resource(&self) -> Option<&str> {
        self.requests.keys().find(|k| is_gpu(k)).map(String::as_str)
    }

    /// The node `spec.nodeName` pins the pods to: the kubelet, not the
    /// scheduler, decides.
    pub fn pinned_node(&self) -> Option<&str> {
        self.spec.get("nodeName").and_then(Value::as_str).filter(|n| !n.is_empty())
    }

    /// The scheduling fields with the containers put back: what
    /// `resources::pod_requests` reads.
    pub fn pod_spec(&self) -> Value {
        let mut spec = self.spec.clone();
        let lists: serde_json::Map<String, Value> = serde_json::from_str(&self.containers).unwrap_or_default();
        if let Some(map) = spec.as_object_mut() {
            map.extend(lists);
        }
        spec
    }

    /// Keep `spec`'s containers (after LimitRange defaulting) as the
    /// group's containers, and the rest as its scheduling fields.
    pub fn set_pod_spec(&mut self, spec: Value) {
        (self.spec, self.containers) = fields::scheduling_fields(spec);
    }

    /// `Kind/namespace/name (role)`, for messages.
    pub fn label(&self) -> String {
        match &self.role {
            None => self.workload.to_string(),
            Some(role) => format!("{} ({role})", self.workload),
        }
    }
}
