//! Nodes and bound pods: a cluster snapshot, read from `kubectl get -o
//! yaml|json` dumps, API list responses, or built synthetically.
//!
//! JSON (dumps and API pages) is read in one typed pass from bytes to
//! [`Node`] and [`BoundPod`]: only the fields the fit reads are decoded,
//! everything else is skipped by the parser, and no `Value` is built.
//! YAML dumps go through the generic reader and the same conversions.

use std::collections::BTreeMap;

use serde_json::Value;

mod json;

pub use json::{continue_token_ahead, from_json_dump, from_json_list};

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
    pub effect: String,
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
    pub allocatable: Resources,
}

/// A pod already bound to a node.
#[derive(Debug, Clone)]
pub struct BoundPod {
    pub namespace: String,
    pub name: String,
    pub node: String,
    pub requests: Resources,
}

/// Nodes and the pods using their capacity.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Where it came from (context name, dump file, `--nodes`).
    pub source: String,
    pub nodes: Vec<Node>,
    pub pods: Vec<BoundPod>,
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
    let source = obj.pointer("/status/allocatable").or_else(|| obj.pointer("/status/capacity"));
    if let Some(Value::Object(m)) = source {
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
    Ok(Some(BoundPod { namespace, name, node: node.unwrap_or_default().to_string(), requests }))
}

impl Cluster {
    /// Build from a stream of objects (Lists already flattened): Nodes and Pods; others ignored.
    pub fn from_objects<'a>(source: &str, objects: impl IntoIterator<Item = &'a Value>) -> Result<Self, ClusterError> {
        let mut cluster = Cluster { source: source.to_string(), ..Cluster::default() };
        for obj in objects {
            match obj.get("kind").and_then(Value::as_str) {
                Some("Node") => cluster.nodes.push(node_from(obj)?),
                Some("Pod") => {
                    if let Some(p) = bound_pod_from(obj)? {
                        cluster.pods.push(p);
                    }
                }
                _ => {}
            }
        }
        cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(cluster)
    }
}

/// Synthetic nodes for planning without a cluster: `[NODES*]GPUSxPRODUCT`
/// pools, comma-separated (`2*8xH100-80GB,8xL4`). Each node carries GPU
/// Feature Discovery labels (product, memory, count, compute capability)
/// and, per node, `cpu` = max(8, 16 × GPUs), `memory` = max(64Gi, 128Gi ×
/// GPUs), 110 pods; no taints.
pub fn synthetic(spec: &str) -> Result<Cluster, ClusterError> {
    let mut cluster = Cluster { source: format!("--nodes {spec}"), ..Cluster::default() };
    for pool in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = |problem: String| ClusterError::Synthetic { pool: pool.to_string(), problem };
        let (count, rest) = match pool.split_once('*') {
            Some((n, rest)) => (n.trim().parse::<u64>().map_err(|_| bad(format!("{n:?} is not a node count")))?, rest),
            None => (1, pool),
        };
        let (gpus, product) = rest
            .split_once(['x', 'X'])
            .ok_or_else(|| bad("not [NODES*]GPUSxPRODUCT, e.g. 2*8xH100-80GB".to_string()))?;
        let gpus: i64 = gpus.trim().parse().map_err(|_| bad(format!("{gpus:?} is not a GPU count")))?;
        let gpu = crate::catalog::gpu_product(product.trim()).ok_or_else(|| {
            let known: Vec<&str> =
                crate::catalog::GPU_PRODUCTS.iter().flat_map(|p| p.aliases.first().copied()).collect();
            bad(format!("unknown GPU product {product:?}; known: {}", known.join(", ")))
        })?;
        let prefix = gpu.aliases.first().copied().unwrap_or(gpu.label).to_ascii_lowercase();
        let existing = cluster.nodes.iter().filter(|n| n.name.starts_with(&format!("{prefix}-"))).count();
        for i in 0..count {
            let name = format!("{prefix}-{}", existing as u64 + i);
            let labels = BTreeMap::from([
                ("kubernetes.io/hostname".to_string(), name.clone()),
                ("nvidia.com/gpu.product".to_string(), gpu.label.to_string()),
                ("nvidia.com/gpu.memory".to_string(), gpu.memory_mib.to_string()),
                ("nvidia.com/gpu.count".to_string(), gpus.to_string()),
                ("nvidia.com/gpu.compute.major".to_string(), gpu.compute_major.to_string()),
                ("nvidia.com/gpu.compute.minor".to_string(), gpu.compute_minor.to_string()),
            ]);
            let allocatable = Resources::from([
                ("cpu".to_string(), (16 * gpus).max(8) * 1000),
                ("memory".to_string(), (128 * gpus).max(64) << 30),
                ("pods".to_string(), 110),
                ("nvidia.com/gpu".to_string(), gpus),
            ]);
            cluster.nodes.push(Node { name, labels, taints: Vec::new(), unschedulable: false, allocatable });
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

    #[test]
    fn synthetic_pools() {
        let c = synthetic("2*8xH100-80GB,8xL4").unwrap();
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["h100-80gb-0", "h100-80gb-1", "l4-0"]);
        assert_eq!(c.nodes[0].allocatable["nvidia.com/gpu"], 8);
        assert_eq!(c.nodes[2].labels["nvidia.com/gpu.product"], "NVIDIA-L4");
        assert!(synthetic("2*8xB999").unwrap_err().to_string().contains("unknown GPU product"));
        assert!(synthetic("8H100").is_err());
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
        let gpus = |c: &Cluster| crate::schedule::usage(c)[0].requests["nvidia.com/gpu"];
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
