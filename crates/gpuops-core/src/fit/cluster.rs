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
    for obj in objects {
        let is_list = obj.get("kind").and_then(Value::as_str).is_some_and(|k| k == "List" || k.ends_with("List"))
            && obj.get("items").is_some_and(Value::is_array);
        if is_list {
            let list_kind = obj.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
            if let Some(Value::Array(items)) = obj.get("items").cloned() {
                for mut item in items {
                    // API lists (NodeList) omit kind on their items.
                    if item.get("kind").is_none() {
                        if let (Some(kind), Some(map)) =
                            (list_kind.strip_suffix("List").filter(|k| !k.is_empty()), item.as_object_mut())
                        {
                            map.insert("kind".into(), Value::String(kind.to_string()));
                        }
                    }
                    out.push(item);
                }
            }
        } else {
            out.push(obj);
        }
    }
    out
}
