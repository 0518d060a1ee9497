//! Nodes and bound pods: a cluster snapshot, read from `kubectl get -o
//! yaml|json` dumps, API list responses, or built synthetically.
//!
//! JSON (dumps and API pages) is read in one typed pass from bytes to
//! [`Node`] and [`BoundPod`]: only the fields the fit reads are decoded,
//! everything else is skipped by the parser, and no `Value` is built.
//! YAML dumps go through the generic reader and the same conversions.

use std::collections::BTreeMap;

use serde_json::Value;

mod extras;
mod json;
mod pdb;
mod selector;
mod synthetic;
mod version;

pub use extras::{
    AntiAffinityText, HostPort, NAMESPACE_NAME_LABEL, Namespace, PodScheduling, PodSchedulingMap, host_ports,
    required_anti_affinity,
};
pub use json::{continue_token_ahead, from_json_dump, from_json_list};
pub use pdb::{PodDisruptionBudget, parse_time};
pub use selector::LabelSelector;
pub use synthetic::{
    GpuProducts, MAX_GPUS_PER_NODE, MAX_SYNTHETIC_NODES, PoolGpu, SyntheticExtras, parse_label, parse_taint, synthetic,
    synthetic_with,
};
pub use version::{KubeVersion, KubeVersionError};

use crate::resources::{self, QuantityError, Resources, canonical};

/// A snapshot that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A Node or Pod with an unusable field (`Node/gpu-1: nvidia.com/gpu: "x" is not a quantity`).
    #[error("{subject}: {source}")]
    Object {
        subject: String,
        #[source]
        source: QuantityError,
    },
    /// JSON that does not decode (with its line and column).
    #[error("{source_name}: {source}")]
    Json {
        source_name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("--nodes {pool:?}: {problem}")]
    Synthetic { pool: String, problem: String },
    #[error("--nodes describes no node")]
    NoSyntheticNodes,
    #[error(transparent)]
    Yaml(#[from] gpuops_manifest::yaml::YamlError),
    #[error("{0}: not UTF-8 text")]
    NotText(String),
}

/// Whether a dump is JSON (`-o json`) rather than YAML.
pub fn is_json_dump(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Nodes and bound pods of a `kubectl get nodes,pods -A -o json|yaml` dump
/// (or a file of Node objects): JSON through the typed reader, YAML through
/// the generic one.
pub fn from_dump(bytes: &[u8], source: &str) -> Result<Cluster, ClusterError> {
    if is_json_dump(bytes) {
        return from_json_dump(bytes, source);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ClusterError::NotText(source.to_string()))?;
    let objects = gpuops_manifest::yaml::parse_stream(text, source)?.into_iter().map(|d| d.value).collect();
    Cluster::from_objects(source, &gpuops_manifest::input::flatten_lists(objects))
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Taint {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub effect: TaintEffect,
}

/// A taint's effect (k8s.io/api core/v1 types.go `TaintEffect`). The API
/// server admits only the three named here; a hand-written dump may hold
/// anything, kept as written: no filter acts on it, as the scheduler acts
/// on none it does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
    /// Any other text (empty when the taint names no effect).
    Other(String),
}

impl TaintEffect {
    pub fn as_str(&self) -> &str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
            TaintEffect::Other(text) => text,
        }
    }

    /// The filter keeps pods off the node (helper.DoNotScheduleTaintsFilterFunc:
    /// NoSchedule and NoExecute).
    pub fn blocks_scheduling(&self) -> bool {
        matches!(self, TaintEffect::NoSchedule | TaintEffect::NoExecute)
    }
}

impl Default for TaintEffect {
    fn default() -> Self {
        TaintEffect::Other(String::new())
    }
}

impl From<&str> for TaintEffect {
    fn from(text: &str) -> Self {
        match text {
            "NoSchedule" => TaintEffect::NoSchedule,
            "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
            "NoExecute" => TaintEffect::NoExecute,
            other => TaintEffect::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for TaintEffect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TaintEffect {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(deserializer)?;
        Ok(TaintEffect::from(text.as_ref()))
    }
}

impl Taint {
    /// `{key: value}` as the scheduler prints it.
    pub fn describe(&self) -> String {
        format!("{{{}: {}}}", self.key, self.value)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    /// `status.allocatable` only, as the scheduler reads it
    /// (kubernetes/kubernetes pkg/scheduler/framework/types.go
    /// `NodeInfo.SetNode`: `NewResource(node.Status.Allocatable)`): a node
    /// without it offers nothing, not even pods.
    pub allocatable: Resources,
}

/// A bound pod's labels, kept as the JSON text of `metadata.labels`: only
/// pod (anti-)affinity and topology spread read them, and parsing 60,000
/// label maps up front cost more than the rest of a snapshot's pods.
#[derive(Debug, Clone, Default)]
pub struct PodLabels(Option<Box<str>>);

impl PodLabels {
    pub fn from_json(text: &str) -> Self {
        PodLabels(Some(text.into()))
    }

    pub fn from_map(map: &BTreeMap<String, String>) -> Self {
        if map.is_empty() { PodLabels(None) } else { PodLabels(serde_json::to_string(map).ok().map(Into::into)) }
    }

    /// The labels (empty when absent or unreadable).
    pub fn parse(&self) -> BTreeMap<String, String> {
        self.0.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
    }
}

/// A pod already bound to a node.
#[derive(Debug, Clone)]
pub struct BoundPod {
    pub namespace: String,
    pub name: String,
    pub node: String,
    pub requests: Resources,
    /// `spec.priority`, which the Priority admission plugin resolves from
    /// the class when the pod is created (0 when absent).
    pub priority: i32,
    pub labels: PodLabels,
}

/// A `scheduling.k8s.io/v1` PriorityClass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityClass {
    pub name: String,
    pub value: i32,
    pub global_default: bool,
    /// `Never` keeps pods of this class from preempting.
    pub preemption_never: bool,
}

impl PriorityClass {
    pub fn from_object(obj: &Value) -> Option<Self> {
        Some(PriorityClass {
            name: obj.pointer("/metadata/name")?.as_str()?.to_string(),
            value: i32::try_from(obj.get("value")?.as_i64()?).ok()?,
            global_default: obj.get("globalDefault").and_then(Value::as_bool).unwrap_or(false),
            preemption_never: obj.get("preemptionPolicy").and_then(Value::as_str) == Some("Never"),
        })
    }
}

/// A `v1` ResourceQuota. Keys stay as written (`requests.nvidia.com/gpu`,
/// `pods`); amounts in the units of the resource they name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    pub namespace: String,
    pub name: String,
    pub hard: Resources,
    /// `status.used` when the quota comes from the cluster.
    pub used: Option<Resources>,
    /// With `scopes` or a `scopeSelector` it applies to some pods only,
    /// which the fit does not tell apart: such quotas are not enforced.
    pub scoped: bool,
}

/// A quota key's amount in the units of the resource it names
/// (`requests.cpu: 4` is 4000 millicores).
fn quota_amount(key: &str, value: crate::resources::QuantityText<'_>) -> Result<i64, QuantityError> {
    let base = key.strip_prefix("requests.").or_else(|| key.strip_prefix("limits.")).unwrap_or(key);
    let base = if base.starts_with("count/") { "pods" } else { base };
    resources::canonical_text(base, value)
}

impl Quota {
    pub fn from_object(obj: &Value) -> Result<Self, ClusterError> {
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
        let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
        let read = |ptr: &str| -> Result<Option<Resources>, ClusterError> {
            let Some(Value::Object(m)) = obj.pointer(ptr) else { return Ok(None) };
            let mut out = Resources::new();
            for (k, v) in m {
                let text = match v {
                    Value::String(s) => crate::resources::QuantityText::Text(s),
                    Value::Number(n) => crate::resources::QuantityText::Number(n.as_f64().unwrap_or(0.0)),
                    _ => continue,
                };
                let amount = quota_amount(k, text).map_err(|source| ClusterError::Object {
                    subject: format!("ResourceQuota/{namespace}/{name}"),
                    source,
                })?;
                out.insert(k.clone(), amount);
            }
            Ok(Some(out))
        };
        let scoped = obj.pointer("/spec/scopes").and_then(Value::as_array).is_some_and(|s| !s.is_empty())
            || obj.pointer("/spec/scopeSelector").is_some();
        Ok(Quota {
            hard: read("/spec/hard")?.unwrap_or_default(),
            used: read("/status/used")?,
            scoped,
            namespace,
            name,
        })
    }
}

/// Nodes and the pods using their capacity.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Where it came from (context name, dump file, `--nodes`).
    pub source: String,
    pub nodes: Vec<Node>,
    pub pods: Vec<BoundPod>,
    /// PriorityClasses of the cluster (from a dump or the API).
    pub priority_classes: Vec<PriorityClass>,
    /// The server's version, when it said (live clusters).
    pub version: Option<crate::cluster::KubeVersion>,
    /// ResourceQuotas (from a dump).
    pub quotas: Vec<Quota>,
    /// Namespaces with their labels (from a dump or the API); empty when
    /// the snapshot holds none (`kubectl get nodes,pods -A` does not).
    pub namespaces: Vec<Namespace>,
    /// Required anti-affinity and host ports of the bound pods that have
    /// any, by namespace and name (see [`PodScheduling`]).
    pub pod_scheduling: PodSchedulingMap,
    /// PodDisruptionBudgets (from a dump or the API), which preemption
    /// counts when it chooses victims and a node.
    pub pdbs: Vec<PodDisruptionBudget>,
    /// Why the live cluster's PodDisruptionBudgets could not be listed
    /// (`403 Forbidden`, a failure): `pdbs` is then empty for want of
    /// reading, not of budgets, and a report whose preemption chose victims
    /// says so. `None` for a dump (which cannot tell) or a list read.
    pub pdbs_unread: Option<String>,
    /// Each bound pod's `status.startTime` ([`parse_time`]), indexed like
    /// `pods`; shorter when pods were added without one (then unknown,
    /// which preemption takes as "now", the latest, as upstream's
    /// `GetPodStartTime` does). Kept apart so [`BoundPod`] stays as it was.
    pub start_times: Vec<Option<i64>>,
}

impl Cluster {
    /// What bound pod `pod` carries for the pod-dependent filters.
    pub fn scheduling_of(&self, pod: &BoundPod) -> Option<&PodScheduling> {
        if self.pod_scheduling.is_empty() {
            return None;
        }
        self.pod_scheduling.get(&(pod.namespace.clone(), pod.name.clone()))
    }

    /// `status.startTime` of `pods[pod]`, when known.
    pub fn start_time(&self, pod: usize) -> Option<i64> {
        self.start_times.get(pod).copied().flatten()
    }

    /// Another part of the same snapshot (a page, half a dump) added to this one.
    pub fn absorb(&mut self, mut part: Cluster) {
        self.nodes.extend(part.nodes);
        if self.start_times.iter().any(Option::is_some) || part.start_times.iter().any(Option::is_some) {
            self.start_times.resize(self.pods.len(), None);
            part.start_times.resize(part.pods.len(), None);
            self.start_times.extend(part.start_times);
        }
        self.pods.extend(part.pods);
        self.pdbs.extend(part.pdbs);
        self.priority_classes.extend(part.priority_classes);
        self.quotas.extend(part.quotas);
        self.namespaces.extend(part.namespaces);
        self.pod_scheduling.extend(part.pod_scheduling);
    }
}

// Lives with the requirement matcher, which reads `values` lists too.
pub(crate) use crate::requirement::strings;

/// The objects of `kind` among `objects`.
pub(crate) fn of_kind<'a>(objects: &'a [Value], kind: &'static str) -> impl Iterator<Item = &'a Value> {
    objects.iter().filter(move |o| o.get("kind").and_then(Value::as_str) == Some(kind))
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

fn node_error(name: &str) -> impl Fn(QuantityError) -> ClusterError + '_ {
    move |source| ClusterError::Object { subject: format!("Node/{name}"), source }
}

/// Read a Node object.
pub fn node_from(obj: &Value) -> Result<Node, ClusterError> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let mut allocatable = Resources::new();
    if let Some(Value::Object(m)) = obj.pointer("/status/allocatable") {
        for (k, v) in m {
            allocatable.insert(k.clone(), canonical(k, v).map_err(node_error(&name))?);
        }
    }
    let taints = obj
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|t| serde_json::from_value(t.clone()).ok()).collect())
        .unwrap_or_default();
    Ok(Node {
        labels: string_map(obj.pointer("/metadata/labels")),
        taints,
        unschedulable: obj.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false),
        allocatable,
        name,
    })
}

/// Whether a pod holds capacity: bound to a node and not Succeeded/Failed
/// (terminating pods still count).
fn holds_capacity(node: Option<&str>, phase: Option<&str>) -> bool {
    node.is_some_and(|n| !n.is_empty()) && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// Read a Pod object if it holds capacity.
pub fn bound_pod_from(obj: &Value) -> Result<Option<BoundPod>, ClusterError> {
    let node = obj.pointer("/spec/nodeName").and_then(Value::as_str);
    if !holds_capacity(node, obj.pointer("/status/phase").and_then(Value::as_str)) {
        return Ok(None);
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let requests = resources::pod_requests(spec)
        .map_err(|source| ClusterError::Object { subject: format!("Pod/{namespace}/{name}"), source })?;
    let priority =
        obj.pointer("/spec/priority").and_then(Value::as_i64).and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let labels = PodLabels::from_map(&string_map(obj.pointer("/metadata/labels")));
    Ok(Some(BoundPod { namespace, name, node: node.unwrap_or_default().to_string(), requests, priority, labels }))
}

impl Cluster {
    /// Build from a stream of objects (Lists already flattened): Nodes,
    /// Pods, Namespaces, PriorityClasses, ResourceQuotas and
    /// PodDisruptionBudgets; others ignored.
    pub fn from_objects<'a>(source: &str, objects: impl IntoIterator<Item = &'a Value>) -> Result<Self, ClusterError> {
        let mut cluster = Cluster { source: source.to_string(), ..Cluster::default() };
        for obj in objects {
            match obj.get("kind").and_then(Value::as_str) {
                Some("Node") => cluster.nodes.push(node_from(obj)?),
                Some("Pod") => {
                    if let Some(p) = bound_pod_from(obj)? {
                        if let Some(extras) = obj.get("spec").and_then(|spec| PodScheduling::of_spec(&p.node, spec)) {
                            cluster.pod_scheduling.insert((p.namespace.clone(), p.name.clone()), extras);
                        }
                        let start = obj.pointer("/status/startTime").and_then(Value::as_str).and_then(parse_time);
                        if start.is_some() {
                            cluster.start_times.resize(cluster.pods.len(), None);
                            cluster.start_times.push(start);
                        }
                        cluster.pods.push(p);
                    }
                }
                Some("PodDisruptionBudget") => cluster.pdbs.extend(PodDisruptionBudget::from_object(obj)),
                Some("Namespace") => cluster.namespaces.extend(Namespace::from_object(obj)),
                Some("PriorityClass") => cluster.priority_classes.extend(PriorityClass::from_object(obj)),
                Some("ResourceQuota") => cluster.quotas.push(Quota::from_object(obj)?),
                _ => {}
            }
        }
        cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_count_bound_non_terminal_pods() {
        let objects = serde_json::json!([
            {"kind": "NodeList", "items": [{"metadata": {"name": "n1"}, "status": {"allocatable": {"nvidia.com/gpu": "4", "cpu": "8", "memory": "32Gi", "pods": "110"}}}]},
            {"kind": "Pod", "metadata": {"name": "a"}, "spec": {"nodeName": "n1", "containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]}, "status": {"phase": "Running"}},
            {"kind": "Pod", "metadata": {"name": "b", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"nodeName": "n1", "containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]}, "status": {"phase": "Running"}},
            {"kind": "Pod", "metadata": {"name": "c"}, "spec": {"nodeName": "n1", "containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]}, "status": {"phase": "Succeeded"}},
            {"kind": "Pod", "metadata": {"name": "d"}, "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]}, "status": {"phase": "Pending"}}
        ]);
        let flat = gpuops_manifest::input::flatten_lists(objects.as_array().unwrap().clone());
        let c = Cluster::from_objects("dump", &flat).unwrap();
        assert_eq!(c.nodes.len(), 1);
        let gpus = |c: &Cluster| crate::scheduler::usage(c)[0].requests["nvidia.com/gpu"];
        assert_eq!(gpus(&c), 2, "running + terminating count; succeeded and unbound do not");

        // The fast JSON path reads the same.
        let mut all = Vec::new();
        for o in &flat {
            all.push(o.clone());
        }
        let text = serde_json::json!({"kind": "List", "items": all}).to_string();
        let (fast, token) = from_json_list(text.as_bytes(), "dump").unwrap();
        assert_eq!((fast.nodes.len(), gpus(&fast), token), (1, 2, None));
        let page = r#"{"kind":"PodList","metadata":{"continue":"abc"},"items":[{"metadata":{"name":"p"},"spec":{"nodeName":"n1"}}]}"#;
        let (part, token) = from_json_list(page.as_bytes(), "page").unwrap();
        assert_eq!((part.pods.len(), token.as_deref()), (1, Some("abc")));
        // The token is known before the items are read; not when items come first.
        assert_eq!(continue_token_ahead(page.as_bytes()), Some(Some("abc".to_string())));
        assert_eq!(continue_token_ahead(br#"{"kind":"PodList","metadata":{},"items":[]}"#), Some(None));
        assert_eq!(continue_token_ahead(br#"{"items":[],"metadata":{"continue":"x"}}"#), None);
        assert_eq!(continue_token_ahead(b"<html>"), None);
    }
}
