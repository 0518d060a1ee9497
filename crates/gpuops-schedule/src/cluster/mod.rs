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
mod selector;
mod version;

pub use extras::{
    AntiAffinityText, HostPort, NAMESPACE_NAME_LABEL, Namespace, PodScheduling, PodSchedulingMap, host_ports,
    required_anti_affinity,
};
pub use json::{continue_token_ahead, from_json_dump, from_json_list};
pub use selector::LabelSelector;
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
}

impl Cluster {
    /// What bound pod `pod` carries for the pod-dependent filters.
    pub fn scheduling_of(&self, pod: &BoundPod) -> Option<&PodScheduling> {
        if self.pod_scheduling.is_empty() {
            return None;
        }
        self.pod_scheduling.get(&(pod.namespace.clone(), pod.name.clone()))
    }

    /// Another part of the same snapshot (a page, half a dump) added to this one.
    pub fn absorb(&mut self, part: Cluster) {
        self.nodes.extend(part.nodes);
        self.pods.extend(part.pods);
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
    /// Pods, Namespaces, PriorityClasses and ResourceQuotas; others ignored.
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
                        cluster.pods.push(p);
                    }
                }
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

/// GPU Feature Discovery's `nvidia.com/gpu.family` for a compute
/// capability (NVIDIA/k8s-device-plugin internal/lm/resource.go
/// `getArchFamily`).
fn gpu_family(major: u32, minor: u32) -> &'static str {
    match (major, minor) {
        (7, 0..=4) => "volta",
        (7, _) => "turing",
        (8, 0..=8) => "ampere",
        (8, _) => "ada-lovelace",
        (9, _) => "hopper",
        (10.., _) => "blackwell",
        _ => "undefined",
    }
}

/// The labels GPU Feature Discovery puts on a node with `gpus` of `gpu`
/// (NVIDIA/k8s-device-plugin docs/gpu-feature-discovery).
fn gfd_labels(set: &mut impl FnMut(&str, String), gpu: &PoolGpu, major: u32, minor: u32, gpus: i64) {
    let mig_capable = gpu.mig_capable;
    set("nvidia.com/gpu.present", "true".into());
    set("nvidia.com/gpu.product", gpu.label.clone());
    set("nvidia.com/gpu.memory", gpu.label_mib.to_string());
    set("nvidia.com/gpu.count", gpus.to_string());
    set("nvidia.com/gpu.family", gpu_family(major, minor).to_string());
    set("nvidia.com/gpu.compute.major", major.to_string());
    set("nvidia.com/gpu.compute.minor", minor.to_string());
    set("nvidia.com/gpu.replicas", "1".into());
    set("nvidia.com/gpu.sharing-strategy", "none".into());
    set("nvidia.com/mig.capable", mig_capable.to_string());
    set("nvidia.com/cuda.driver-version.major", "570".into());
    set("nvidia.com/cuda.driver-version.minor", "133".into());
    set("nvidia.com/cuda.driver-version.revision", "20".into());
    set("nvidia.com/cuda.driver-version.full", "570.133.20".into());
    set("nvidia.com/cuda.runtime-version.major", "12".into());
    set("nvidia.com/cuda.runtime-version.minor", "8".into());
    set("feature.node.kubernetes.io/pci-10de.present", "true".into());
}

/// The labels the ROCm node labeller puts on an AMD GPU node
/// (ROCm/k8s-device-plugin: `amd.com/gpu.product-name=AMD_Instinct_MI300X_OAM`,
/// `amd.com/gpu.vram=192G`, `amd.com/gpu.family=AI`).
fn rocm_labels(set: &mut impl FnMut(&str, String), gpu: &PoolGpu) {
    set("amd.com/gpu.product-name", gpu.label.clone());
    set("amd.com/gpu.vram", format!("{}G", gpu.label_mib / 1024));
    set("amd.com/gpu.family", if gpu.label.contains("Instinct") { "AI" } else { "NV" }.into());
    set("feature.node.kubernetes.io/amd-gpu", "true".into());
    set("feature.node.kubernetes.io/pci-1002.present", "true".into());
}

/// Extra labels and taints for every synthetic node (`--node-label`,
/// `--node-taint`), on top of each pool's own.
#[derive(Debug, Clone, Default)]
pub struct SyntheticExtras {
    pub labels: Vec<(String, String)>,
    pub taints: Vec<Taint>,
}

/// `KEY=VALUE` as a label.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// `KEY[=VALUE]:EFFECT` as `kubectl taint` writes it.
pub fn parse_taint(text: &str) -> Result<Taint, String> {
    let (kv, effect) = text.rsplit_once(':').ok_or_else(|| format!("{text:?} is not KEY[=VALUE]:EFFECT"))?;
    let effect = TaintEffect::from(effect);
    if let TaintEffect::Other(_) = effect {
        return Err(format!("{text:?}: the effect must be NoSchedule, PreferNoSchedule or NoExecute"));
    }
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    if key.is_empty() {
        return Err(format!("{text:?} has no key"));
    }
    Ok(Taint { key: key.to_string(), value: value.to_string(), effect })
}

/// Pools separated by commas outside `[…]`.
fn split_pools(spec: &str) -> Vec<&str> {
    let mut pools = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in spec.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                pools.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pools.push(&spec[start..]);
    pools.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// Bounds of `--nodes`: ten times the largest cluster Kubernetes supports
/// (5,000 nodes, kubernetes.io "Considerations for large clusters"), and
/// more GPUs than any machine holds.
pub const MAX_SYNTHETIC_NODES: u64 = 50_000;
pub const MAX_GPUS_PER_NODE: u32 = 64;

/// What a synthetic pool needs to know of a GPU product: the scheduling
/// library holds no catalog; `gpuops-fit` (`pools`) fills this from
/// `gpuops_model::catalog`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolGpu {
    /// `nvidia.com/gpu.product` or `amd.com/gpu.product-name`.
    pub label: String,
    /// The short name node names start with (`h100-80gb-0`).
    pub short_name: String,
    /// The extended resource its device plugin advertises.
    pub resource: String,
    /// `nvidia.com/gpu.memory` (MiB) or `amd.com/gpu.vram`.
    pub label_mib: u64,
    /// CUDA compute capability; `None` for an AMD GPU (ROCm labels).
    pub compute: Option<(u32, u32)>,
    pub mig_capable: bool,
}

/// The GPU products synthetic pools may name.
pub trait GpuProducts {
    /// The product a pool names (`H100-80GB`, `L4`, a product label).
    fn product(&self, name: &str) -> Option<PoolGpu>;
    /// Names to suggest when a pool names none of them.
    fn known(&self) -> Vec<String>;
}

/// Synthetic nodes for planning without a cluster: `[NODES*]GPUSxPRODUCT`
/// pools, comma-separated (`2*8xH100-80GB,8xL4`), each optionally followed
/// by `[LABEL=VALUE,…,taint=KEY=VALUE:EFFECT]`
/// (`8xH100[cloud.google.com/gke-accelerator=nvidia-h100-80gb,taint=nvidia.com/gpu=present:NoSchedule]`).
///
/// Each node looks like a real GPU node of that product: the kubelet's
/// labels (`kubernetes.io/hostname`, `kubernetes.io/os`,
/// `kubernetes.io/arch` and their `beta.` forms), GPU Feature Discovery's
/// (`nvidia.com/gpu.present`, `.product`, `.memory`, `.count`, `.family`,
/// `.compute.major/minor`, `.replicas`, `.sharing-strategy`,
/// `nvidia.com/mig.capable`, `nvidia.com/cuda.driver-version.*`), and
/// allocatable sized like the cloud machines built around that GPU: per
/// GPU, a third of its memory (GiB) in cores (12 to 26) and three times its
/// memory in RAM — an 8×H100 node gets 208 cores and 1,920Gi (a3-highgpu-8g:
/// 208 vCPU, 1,872 GB), 2×L4 24 cores (g2-standard-24: 24 vCPU), 8×A100-40GB
/// 104 (a2-highgpu-8g: 96) —, at least 8 cores and 64Gi; `ephemeral-storage` 100Gi + 100Gi × GPUs; `hugepages-*` 0;
/// 110 pods; and the GPUs.
pub fn synthetic(spec: &str, products: &dyn GpuProducts) -> Result<Cluster, ClusterError> {
    synthetic_with(spec, &SyntheticExtras::default(), products)
}

/// [`synthetic`] with labels and taints added to every node.
pub fn synthetic_with(
    spec: &str,
    extras: &SyntheticExtras,
    products: &dyn GpuProducts,
) -> Result<Cluster, ClusterError> {
    let mut cluster = Cluster { source: format!("--nodes {spec}"), ..Cluster::default() };
    for pool in split_pools(spec) {
        let bad = |problem: String| ClusterError::Synthetic { pool: pool.to_string(), problem };
        let (shape, options) = match pool.split_once('[') {
            Some((shape, rest)) => {
                (shape, rest.strip_suffix(']').ok_or_else(|| bad("a '[' without its ']'".to_string()))?)
            }
            None => (pool, ""),
        };
        let mut labels_extra = extras.labels.clone();
        let mut taints = extras.taints.clone();
        for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match option.strip_prefix("taint=") {
                Some(t) => taints.push(parse_taint(t).map_err(bad)?),
                None => labels_extra.push(parse_label(option).map_err(bad)?),
            }
        }
        let (count, rest) = match shape.split_once('*') {
            Some((n, rest)) => (n.trim().parse::<u64>().map_err(|_| bad(format!("{n:?} is not a node count")))?, rest),
            None => (1, shape),
        };
        if count == 0 || count > MAX_SYNTHETIC_NODES {
            return Err(bad(format!(
                "{count} nodes: a pool has 1 to {MAX_SYNTHETIC_NODES} (Kubernetes supports clusters of up to 5,000 nodes)"
            )));
        }
        if cluster.nodes.len() as u64 + count > MAX_SYNTHETIC_NODES {
            return Err(bad(format!("more than {MAX_SYNTHETIC_NODES} nodes in all")));
        }
        let (gpus, product) = rest
            .split_once(['x', 'X'])
            .ok_or_else(|| bad("not [NODES*]GPUSxPRODUCT, e.g. 2*8xH100-80GB".to_string()))?;
        let gpus: i64 = gpus
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|g| *g <= MAX_GPUS_PER_NODE)
            .ok_or_else(|| bad(format!("{gpus:?} is not a GPU count (0 to {MAX_GPUS_PER_NODE} per node)")))?
            .into();
        let gpu = products
            .product(product.trim())
            .ok_or_else(|| bad(format!("unknown GPU product {product:?}; known: {}", products.known().join(", "))))?;
        let prefix = gpu.short_name.to_ascii_lowercase();
        let existing = cluster.nodes.iter().filter(|n| n.name.starts_with(&format!("{prefix}-"))).count();
        for i in 0..count {
            let name = format!("{prefix}-{}", existing as u64 + i);
            let mut labels = BTreeMap::new();
            let mut set = |k: &str, v: String| {
                labels.insert(k.to_string(), v);
            };
            set("kubernetes.io/hostname", name.clone());
            for os in ["kubernetes.io/os", "beta.kubernetes.io/os"] {
                set(os, "linux".into());
            }
            for arch in ["kubernetes.io/arch", "beta.kubernetes.io/arch"] {
                set(arch, "amd64".into());
            }
            match gpu.compute {
                Some((major, minor)) => gfd_labels(&mut set, &gpu, major, minor, gpus),
                None => rocm_labels(&mut set, &gpu),
            }
            for (k, v) in &labels_extra {
                set(k, v.clone());
            }
            let gpu_gib = gpu.label_mib.div_ceil(1024) as i64;
            let cores_per_gpu = (gpu_gib / 3).clamp(12, 26);
            let allocatable = Resources::from([
                ("cpu".to_string(), (cores_per_gpu * gpus).max(8) * 1000),
                ("memory".to_string(), (3 * gpu_gib * gpus).max(64) << 30),
                ("ephemeral-storage".to_string(), (100 + 100 * gpus) << 30),
                ("hugepages-1Gi".to_string(), 0),
                ("hugepages-2Mi".to_string(), 0),
                ("pods".to_string(), 110),
                (gpu.resource.clone(), gpus),
            ]);
            cluster.nodes.push(Node { name, labels, taints: taints.clone(), unschedulable: false, allocatable });
        }
    }
    if cluster.nodes.is_empty() {
        return Err(ClusterError::NoSyntheticNodes);
    }
    Ok(cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two products, as gpuops-model's catalog describes them.
    struct TestProducts;

    impl GpuProducts for TestProducts {
        fn product(&self, name: &str) -> Option<PoolGpu> {
            let (label, short_name, label_mib, compute) = match name {
                "H100-80GB" | "H100" => ("NVIDIA-H100-80GB-HBM3", "H100-80GB", 81559, (9, 0)),
                "L4" => ("NVIDIA-L4", "L4", 23034, (8, 9)),
                _ => return None,
            };
            Some(PoolGpu {
                label: label.into(),
                short_name: short_name.into(),
                resource: "nvidia.com/gpu".into(),
                label_mib,
                compute: Some(compute),
                mig_capable: name != "L4",
            })
        }

        fn known(&self) -> Vec<String> {
            vec!["H100-80GB".into(), "L4".into()]
        }
    }

    fn synthetic(spec: &str) -> Result<Cluster, ClusterError> {
        super::synthetic(spec, &TestProducts)
    }

    #[test]
    fn synthetic_pools_reject_counts_no_cluster_has() {
        for (spec, problem) in [
            ("1*-8xH100-80GB", "\"-8\" is not a GPU count"),
            ("-1*8xH100-80GB", "\"-1\" is not a node count"),
            ("0*8xH100-80GB", "0 nodes: a pool has 1 to 50000"),
            ("100000000*8xH100-80GB", "100000000 nodes"),
            ("2*65xH100-80GB", "\"65\" is not a GPU count (0 to 64 per node)"),
            ("40000*8xH100-80GB,20000*8xL4", "more than 50000 nodes in all"),
        ] {
            let err = synthetic(spec).unwrap_err().to_string();
            assert!(err.contains(problem), "{spec}: {err}");
        }
    }

    #[test]
    fn synthetic_pools() {
        let c = synthetic("2*8xH100-80GB,8xL4").unwrap();
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["h100-80gb-0", "h100-80gb-1", "l4-0"]);
        assert_eq!(c.nodes[0].allocatable["nvidia.com/gpu"], 8);
        assert_eq!(c.nodes[2].labels["nvidia.com/gpu.product"], "NVIDIA-L4");
        assert!(synthetic("2*8xB999").unwrap_err().to_string().contains("unknown GPU product"));
        assert!(synthetic("8H100").is_err());
        // Real manifests select on these; without them every node fails.
        for key in ["kubernetes.io/os", "kubernetes.io/arch", "kubernetes.io/hostname", "nvidia.com/gpu.present"] {
            assert!(c.nodes[0].labels.contains_key(key), "{key}");
        }
        assert_eq!(c.nodes[0].labels["nvidia.com/gpu.family"], "hopper");
        assert_eq!(c.nodes[0].allocatable["ephemeral-storage"], 900 << 30);
        let custom = synthetic(
            "2*8xH100[cloud.google.com/gke-accelerator=nvidia-h100-80gb,taint=nvidia.com/gpu=present:NoSchedule],1xL4",
        )
        .unwrap();
        assert_eq!(custom.nodes.len(), 3);
        assert_eq!(custom.nodes[0].labels["cloud.google.com/gke-accelerator"], "nvidia-h100-80gb");
        assert_eq!(custom.nodes[0].taints[0].effect, TaintEffect::NoSchedule);
        assert!(custom.nodes[2].taints.is_empty(), "options belong to their pool");
        assert!(synthetic("8xH100[taint=x:Sometimes]").is_err());
    }

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
