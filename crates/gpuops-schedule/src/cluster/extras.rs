//! What a few bound pods carry beyond their requests that the scheduler's
//! filters read: required pod anti-affinity (InterPodAffinity's "existing
//! pods anti-affinity") and host ports (NodePorts); and the Namespaces
//! whose labels affinity `namespaceSelector`s match.
//!
//! Kept beside the pods, keyed by namespace and name, for the pods that
//! have any: most of a 60,000-pod snapshot has neither, and [`BoundPod`]
//! stays as small (and as constructible) as it was.
//!
//! [`BoundPod`]: super::BoundPod

use std::collections::BTreeMap;

use serde_json::Value;

/// A Namespace's name and labels. The API server sets
/// `kubernetes.io/metadata.name` on every namespace (NamespaceDefaultLabelName,
/// k8s.io/api core/v1 well_known_labels.go), so a namespace known only by
/// name still has that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// The label every namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl Namespace {
    /// A namespace the snapshot knows only by name: its default label.
    pub fn named(name: &str) -> Self {
        Namespace { name: name.to_string(), labels: BTreeMap::from([(NAMESPACE_NAME_LABEL.into(), name.into())]) }
    }

    pub fn from_object(obj: &Value) -> Option<Self> {
        let name = obj.pointer("/metadata/name")?.as_str()?.to_string();
        let mut labels = super::string_map(obj.pointer("/metadata/labels"));
        labels.entry(NAMESPACE_NAME_LABEL.into()).or_insert_with(|| name.clone());
        Some(Namespace { name, labels })
    }
}

/// One `hostPort` a container asks for (k8s.io/api core/v1 ContainerPort:
/// `hostIP` empty means every address, `protocol` empty means TCP; the
/// scheduler's `HostPortInfo.sanitize` writes them as `0.0.0.0` and `TCP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

/// pkg/scheduler/framework/types.go `DefaultBindAllHostIP`.
const BIND_ALL: &str = "0.0.0.0";

impl HostPort {
    /// Sanitized as `HostPortInfo.sanitize` does.
    pub fn new(ip: Option<&str>, protocol: Option<&str>, port: i32) -> Self {
        let ip = ip.filter(|i| !i.is_empty()).unwrap_or(BIND_ALL).to_string();
        let protocol = protocol.filter(|p| !p.is_empty()).unwrap_or("TCP").to_string();
        HostPort { ip, protocol, port }
    }

    /// Whether `want` conflicts with this port already in use
    /// (pkg/scheduler/framework/types.go `HostPortInfo.CheckConflict`: a
    /// wanted `0.0.0.0` conflicts with the protocol/port on any address; a
    /// wanted address with the same on that address or on `0.0.0.0`).
    pub fn conflicts(&self, want: &HostPort) -> bool {
        want.port > 0
            && self.port == want.port
            && self.protocol == want.protocol
            && (want.ip == BIND_ALL || self.ip == BIND_ALL || self.ip == want.ip)
    }
}

/// The host ports a pod spec asks for: every container's, and those of
/// restartable init containers (sidecars), `hostPort > 0` only
/// (pkg/scheduler/util/utils.go `GetHostPorts`).
pub fn host_ports(spec: &Value) -> Vec<HostPort> {
    let list = |key: &str| spec.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let sidecars =
        list("initContainers").iter().filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"));
    let mut out = Vec::new();
    for container in list("containers").iter().chain(sidecars) {
        for port in container.get("ports").and_then(Value::as_array).into_iter().flatten() {
            let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if host_port > 0 {
                let text = |k: &str| port.get(k).and_then(Value::as_str);
                out.push(HostPort::new(text("hostIP"), text("protocol"), i32::try_from(host_port).unwrap_or(i32::MAX)));
            }
        }
    }
    out
}

/// A pod's required anti-affinity terms (`podAntiAffinity.
/// requiredDuringSchedulingIgnoredDuringExecution`), as written.
pub fn required_anti_affinity(spec: &Value) -> Vec<Value> {
    spec.pointer("/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Required anti-affinity terms kept as their JSON text: a term as a
/// `Value` takes three maps (about 2 KiB), as text a hundred bytes, and
/// the terms are read once per placement ([`AntiAffinityText::terms`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AntiAffinityText(Option<Box<str>>);

impl AntiAffinityText {
    /// The JSON text of a list of terms (`[...]`); an empty list is none.
    pub fn from_json(text: &str) -> Self {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "[]" || trimmed == "null" {
            AntiAffinityText(None)
        } else {
            AntiAffinityText(Some(trimmed.into()))
        }
    }

    pub fn from_terms(terms: &[Value]) -> Self {
        if terms.is_empty() {
            AntiAffinityText(None)
        } else {
            AntiAffinityText(Some(Value::from(terms).to_string().into()))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The JSON text (empty when none).
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The terms (none when absent or unreadable).
    pub fn terms(&self) -> Vec<Value> {
        self.0.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
    }
}

/// What one bound pod carries for the pod-dependent filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodScheduling {
    /// The node the pod is bound to.
    pub node: String,
    /// Required anti-affinity terms, as written in the pod.
    pub anti_affinity: AntiAffinityText,
    /// Host ports its containers hold on the node.
    pub host_ports: Vec<HostPort>,
}

impl PodScheduling {
    /// `None` when the pod has neither.
    pub fn of_spec(node: &str, spec: &Value) -> Option<Self> {
        let extras = PodScheduling {
            node: node.to_string(),
            anti_affinity: AntiAffinityText::from_terms(&required_anti_affinity(spec)),
            host_ports: host_ports(spec),
        };
        extras.is_some().then_some(extras)
    }

    pub fn is_some(&self) -> bool {
        !self.anti_affinity.is_empty() || !self.host_ports.is_empty()
    }
}

/// Bound pods' [`PodScheduling`], by `(namespace, name)`.
pub type PodSchedulingMap = std::collections::HashMap<(String, String), PodScheduling>;
