//! Which workload a [`super::PodGroup`] belongs to, and which of its pods
//! it is: typed, so that admission, Kueue and the check decide on the kind
//! and the role instead of cutting `Kind/namespace/name` text apart.

use std::fmt;

use serde::{Serialize, Serializer};

/// The kind of a workload, with the kinds a rule depends on named:
/// a Pod is its own pod name (the API server's refusal messages), an
/// InferenceService or RayService has its own rollout fix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    Pod,
    InferenceService,
    RayService,
    /// Any other kind, as the manifest spells it.
    Other(String),
}

impl WorkloadKind {
    pub fn as_str(&self) -> &str {
        match self {
            WorkloadKind::Pod => "Pod",
            WorkloadKind::InferenceService => "InferenceService",
            WorkloadKind::RayService => "RayService",
            WorkloadKind::Other(kind) => kind,
        }
    }
}

impl From<&str> for WorkloadKind {
    fn from(kind: &str) -> Self {
        match kind {
            "Pod" => WorkloadKind::Pod,
            "InferenceService" => WorkloadKind::InferenceService,
            "RayService" => WorkloadKind::RayService,
            other => WorkloadKind::Other(other.to_string()),
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workload: kind, namespace (as the manifest gives it, none when it
/// names none) and name. Shown, and serialized, as kustomize names objects
/// in errors: `Kind/namespace/name`, or `Kind/name` without a namespace.
/// The parts are printable text (`gpuops_manifest::text::printable`):
/// whoever builds one from a manifest escapes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadRef {
    pub kind: WorkloadKind,
    pub namespace: Option<String>,
    pub name: String,
}

impl WorkloadRef {
    pub fn new(kind: impl Into<WorkloadKind>, namespace: Option<&str>, name: &str) -> Self {
        Self { kind: kind.into(), namespace: namespace.map(str::to_string), name: name.to_string() }
    }
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

impl Serialize for WorkloadRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Which pods of a workload a group is, when the workload has several
/// kinds of pods (a workload of one kind of pod has no role).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// A Ray cluster's head.
    RayHead,
    /// A Ray cluster's worker group, by its `groupName`.
    RayWorkerGroup(String),
    /// A LeaderWorkerSet's leader.
    Leader,
    /// A LeaderWorkerSet's (or an LLMInferenceService's) workers.
    Worker,
    /// A JobSet's replicated job, by its name.
    Job(String),
    /// An LLMInferenceService's prefill pods.
    Prefill,
    /// An LLMInferenceService's decode pods (when it has prefill pods).
    Decode,
    /// An LLMInferenceService's prefill workers.
    PrefillWorker,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::RayHead => f.write_str("head"),
            Role::RayWorkerGroup(name) => write!(f, "worker group {name}"),
            Role::Leader => f.write_str("leader"),
            Role::Worker => f.write_str("worker"),
            Role::Job(name) => write!(f, "job {name}"),
            Role::Prefill => f.write_str("prefill"),
            Role::Decode => f.write_str("decode"),
            Role::PrefillWorker => f.write_str("prefill worker"),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_and_serialized_as_kustomize_names_objects() {
        let r = WorkloadRef::new("Deployment", Some("llm"), "qwen");
        assert_eq!(r.to_string(), "Deployment/llm/qwen");
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"Deployment/llm/qwen\"");
        let r = WorkloadRef::new("VLLMRuntime", None, "sample");
        assert_eq!(r.to_string(), "VLLMRuntime/sample");
        assert_eq!(WorkloadRef::new("Pod", Some("a"), "p").kind, WorkloadKind::Pod);
        assert_eq!(serde_json::to_string(&Role::RayWorkerGroup("gpu".into())).unwrap(), "\"worker group gpu\"");
    }
}
