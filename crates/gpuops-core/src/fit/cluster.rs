//! Nodes and bound pods: a cluster snapshot, read from `kubectl get -o
//! yaml|json` dumps, API list responses, or built synthetically.

use std::collections::BTreeMap;

use serde_json::Value;

use super::resources::{Resources, canonical, pod_requests};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
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

/// Read a Node object.
pub fn node_from(obj: &Value) -> Result<Node, String> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let mut allocatable = Resources::new();
    let source = obj.pointer("/status/allocatable").or_else(|| obj.pointer("/status/capacity"));
    if let Some(Value::Object(m)) = source {
        for (k, v) in m {
            allocatable.insert(k.clone(), canonical(k, v).map_err(|e| format!("Node/{name}: {e}"))?);
        }
    }
    let taints = obj
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|t| Taint {
                    key: t.get("key").and_then(Value::as_str).unwrap_or("").to_string(),
                    value: t.get("value").and_then(Value::as_str).unwrap_or("").to_string(),
                    effect: t.get("effect").and_then(Value::as_str).unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Node {
        labels: string_map(obj.pointer("/metadata/labels")),
        taints,
        unschedulable: obj.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false),
        allocatable,
        name,
    })
}

/// Read a Pod object if it holds capacity: bound to a node and not
/// Succeeded/Failed (terminating pods still count).
pub fn bound_pod_from(obj: &Value) -> Result<Option<BoundPod>, String> {
    let Some(node) = obj.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if matches!(obj.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed")) {
        return Ok(None);
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let requests = pod_requests(&spec).map_err(|e| format!("Pod/{namespace}/{name}: {e}"))?;
    Ok(Some(BoundPod { namespace, name, node: node.to_string(), requests }))
}

impl Cluster {
    /// Build from a stream of objects (Lists already flattened): Nodes and Pods; others ignored.
    pub fn from_objects<'a>(source: &str, objects: impl IntoIterator<Item = &'a Value>) -> Result<Self, String> {
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

    /// Requests of bound pods, per node.
    pub fn used(&self) -> BTreeMap<String, (Resources, i64)> {
        let mut used: BTreeMap<String, (Resources, i64)> = BTreeMap::new();
        for pod in &self.pods {
            let entry = used.entry(pod.node.clone()).or_default();
            for (k, v) in &pod.requests {
                *entry.0.entry(k.clone()).or_insert(0) += v;
            }
            entry.1 += 1;
        }
        used
    }
}

/// Flatten `kind: List` (and `*List`) objects into their items.
pub fn flatten_lists(objects: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(objects.len());
    for mut obj in objects {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        let is_list = (kind == "List" || kind.ends_with("List")) && obj.get("items").is_some_and(Value::is_array);
        if !is_list {
            out.push(obj);
            continue;
        }
        // Move the items out: a dump of 60,000 pods must not be copied.
        let Some(Value::Array(items)) = obj.get_mut("items").map(std::mem::take) else { continue };
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_string);
        for mut item in items {
            // API lists (NodeList) omit kind on their items.
            if let (Some(k), Some(map)) = (&item_kind, item.as_object_mut()) {
                map.entry("kind").or_insert_with(|| Value::String(k.clone()));
            }
            out.push(item);
        }
    }
    out
}

/// Synthetic nodes for planning without a cluster: `[NODES*]GPUSxPRODUCT`
/// pools, comma-separated (`2*8xH100-80GB,8xL4`). Each node carries GPU
/// Feature Discovery labels (product, memory, count, compute capability)
/// and, per node, `cpu` = max(8, 16 × GPUs), `memory` = max(64Gi, 128Gi ×
/// GPUs), 110 pods; no taints.
pub fn synthetic(spec: &str) -> Result<Cluster, String> {
    let mut cluster = Cluster { source: format!("--nodes {spec}"), ..Cluster::default() };
    for pool in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (count, rest) = match pool.split_once('*') {
            Some((n, rest)) => {
                (n.trim().parse::<u64>().map_err(|_| format!("{pool:?}: {n:?} is not a node count"))?, rest)
            }
            None => (1, pool),
        };
        let (gpus, product) = rest
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("{pool:?} is not [NODES*]GPUSxPRODUCT, e.g. 2*8xH100-80GB"))?;
        let gpus: i64 = gpus.trim().parse().map_err(|_| format!("{pool:?}: {gpus:?} is not a GPU count"))?;
        let gpu = super::catalog::gpu_product(product.trim()).ok_or_else(|| {
            let known: Vec<&str> =
                super::catalog::GPU_PRODUCTS.iter().flat_map(|p| p.aliases.first().copied()).collect();
            format!("{pool:?}: unknown GPU product {product:?}; known: {}", known.join(", "))
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
        return Err("--nodes describes no node".into());
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
        assert!(synthetic("2*8xB999").unwrap_err().contains("unknown GPU product"));
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
        let flat = flatten_lists(objects.as_array().unwrap().clone());
        let c = Cluster::from_objects("dump", &flat).unwrap();
        assert_eq!(c.nodes.len(), 1);
        assert_eq!(c.used()["n1"].0["nvidia.com/gpu"], 2, "running + terminating count; succeeded and unbound do not");

        // The fast JSON path reads the same.
        let mut all = Vec::new();
        for o in &flat {
            all.push(o.clone());
        }
        let text = serde_json::json!({"kind": "List", "items": all}).to_string();
        let (fast, token) = from_json_list(&text, "dump").unwrap();
        assert_eq!((fast.nodes.len(), fast.used()["n1"].0["nvidia.com/gpu"], token), (1, 2, None));
        let page = r#"{"kind":"PodList","metadata":{"continue":"abc"},"items":[{"metadata":{"name":"p"},"spec":{"nodeName":"n1"}}]}"#;
        let (part, token) = from_json_list(page, "page").unwrap();
        assert_eq!((part.pods.len(), token.as_deref()), (1, Some("abc")));
    }
}

/// The fields of a Node or Pod the fit needs, read straight from JSON:
/// for 60,000 pods, skipping everything else is several times faster and
/// smaller than a full `Value`.
mod lite {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::{Map, Value};

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    pub(super) struct Meta {
        pub(super) name: String,
        pub(super) namespace: Option<String>,
        pub(super) labels: BTreeMap<String, String>,
        #[serde(rename = "continue")]
        pub(super) continue_token: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    pub(super) struct Container {
        pub(super) resources: Option<Value>,
        pub(super) restart_policy: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    pub(super) struct Spec {
        pub(super) node_name: Option<String>,
        pub(super) taints: Vec<Value>,
        pub(super) unschedulable: bool,
        pub(super) containers: Vec<Container>,
        pub(super) init_containers: Vec<Container>,
        pub(super) overhead: Option<Map<String, Value>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    pub(super) struct Status {
        pub(super) phase: Option<String>,
        pub(super) allocatable: Option<Map<String, Value>>,
        pub(super) capacity: Option<Map<String, Value>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub(super) struct Object {
        pub(super) kind: Option<String>,
        pub(super) metadata: Meta,
        pub(super) spec: Spec,
        pub(super) status: Status,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub(super) struct List {
        pub(super) kind: Option<String>,
        pub(super) metadata: Meta,
        pub(super) items: Vec<Object>,
    }

    impl Object {
        /// The object as a `Value` holding only what the fit reads.
        pub(super) fn to_value(&self) -> Value {
            let container = |c: &Container| {
                let mut m = Map::new();
                if let Some(r) = &c.resources {
                    m.insert("resources".into(), r.clone());
                }
                if let Some(p) = &c.restart_policy {
                    m.insert("restartPolicy".into(), Value::String(p.clone()));
                }
                Value::Object(m)
            };
            serde_json::json!({
                "kind": self.kind,
                "metadata": {"name": self.metadata.name, "namespace": self.metadata.namespace, "labels": self.metadata.labels},
                "spec": {
                    "nodeName": self.spec.node_name,
                    "taints": self.spec.taints,
                    "unschedulable": self.spec.unschedulable,
                    "containers": self.spec.containers.iter().map(container).collect::<Vec<_>>(),
                    "initContainers": self.spec.init_containers.iter().map(container).collect::<Vec<_>>(),
                    "overhead": self.spec.overhead,
                },
                "status": {"phase": self.status.phase, "allocatable": self.status.allocatable, "capacity": self.status.capacity},
            })
        }
    }
}

/// Nodes and bound pods of one JSON list (a `kubectl get -o json` dump or
/// an API list page), and the page's `continue` token.
pub fn from_json_list(text: &str, source: &str) -> Result<(Cluster, Option<String>), String> {
    let list: lite::List = serde_json::from_str(text).map_err(|e| format!("{source}: {e}"))?;
    let item_kind =
        list.kind.as_deref().and_then(|k| k.strip_suffix("List")).filter(|k| !k.is_empty()).map(str::to_string);
    let mut cluster = Cluster { source: source.to_string(), ..Cluster::default() };
    for mut item in list.items {
        if item.kind.is_none() {
            item.kind.clone_from(&item_kind);
        }
        let value = item.to_value();
        match item.kind.as_deref() {
            Some("Node") => cluster.nodes.push(node_from(&value)?),
            Some("Pod") => {
                if let Some(p) = bound_pod_from(&value)? {
                    cluster.pods.push(p);
                }
            }
            _ => {}
        }
    }
    cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((cluster, list.metadata.continue_token.filter(|t| !t.is_empty())))
}
