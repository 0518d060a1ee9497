//! Where pod specs, containers and replica counts live in each workload kind.
//!
//! One table for every tool: the inject function edits what it finds here and
//! `gpufit` counts what it finds here, so they can never disagree on what a
//! workload is.

use serde_json::Value;

use crate::path::FieldPath;

/// What a pod spec is for inside its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodRole {
    /// The one pod template of a Deployment, Job, Pod, ...
    Pod,
    /// KServe InferenceService predictor (pod fields inline, maybe a `model`).
    Predictor,
    /// KServe ServingRuntime / ClusterServingRuntime pod spec.
    Runtime,
    RayHead,
    RayWorker(String),
    LwsLeader,
    LwsWorker,
    ReplicatedJob(String),
    /// KServe LLMInferenceService: the main (decode) pod, or `prefill`.
    LlmMain {
        prefill: bool,
    },
    /// KServe LLMInferenceService multi-node workers (`worker`).
    LlmWorker {
        prefill: bool,
    },
}

impl PodRole {
    pub fn is_ray_head(&self) -> bool {
        matches!(self, Self::RayHead)
    }
}

/// How many pods a site stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Replicas {
    /// Read the count at `path`, `default` when absent.
    Field { path: FieldPath, default: u64 },
    /// Exactly this many.
    Fixed(u64),
    /// One per eligible node (DaemonSet).
    PerNode,
    /// Not a running workload (ServingRuntime, PodTemplate).
    Template,
}

/// One pod spec inside an object.
#[derive(Debug, Clone)]
pub struct PodSite {
    /// Path to the mapping holding `containers`, `tolerations`, `volumes`...
    pub spec: FieldPath,
    /// Path to the pod template's `metadata`, where there is one.
    pub metadata: Option<FieldPath>,
    pub role: PodRole,
    pub replicas: Replicas,
    /// Multiplier on top of `replicas` (Ray `numOfHosts`, LWS `size`).
    pub hosts: Option<FieldPath>,
}

/// Which list a container comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    Containers,
    InitContainers,
    /// KServe `predictor.model`: a container written as a single mapping.
    KServeModel,
}

/// A container and where it is.
#[derive(Debug, Clone)]
pub struct ContainerSlot {
    pub path: FieldPath,
    pub list: ContainerList,
}

/// The API group of an object (`""` for the core group).
pub fn api_group(obj: &Value) -> &str {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

pub fn kind(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Whether gpuops knows where this kind keeps its pods.
pub fn is_workload(obj: &Value) -> bool {
    // Every kind `pod_sites` answers for is a known kind: no need to build the sites.
    known_kind(api_group(obj), kind(obj))
}

/// Whether `(group, kind)` is a workload kind gpuops knows.
pub fn known_kind(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
            | ("batch", "Job" | "CronJob")
            | ("", "Pod" | "PodTemplate")
            | (
                "serving.kserve.io",
                "InferenceService" | "ServingRuntime" | "ClusterServingRuntime" | "LLMInferenceService"
            )
            | ("ray.io", "RayCluster" | "RayJob" | "RayService" | "RayCronJob")
            | ("leaderworkerset.x-k8s.io", "LeaderWorkerSet")
            | ("jobset.x-k8s.io", "JobSet")
    )
}

fn p(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

fn site(spec: FieldPath, metadata: Option<FieldPath>, role: PodRole, replicas: Replicas) -> PodSite {
    PodSite { spec, metadata, role, replicas, hosts: None }
}

/// Every pod spec present in `obj`, in document order.
pub fn pod_sites(obj: &Value) -> Vec<PodSite> {
    let replicas = |path: &str, default| Replicas::Field { path: p(path), default };
    let mut sites = match (api_group(obj), kind(obj)) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "ReplicaSet") => {
            vec![site(
                p("spec.template.spec"),
                Some(p("spec.template.metadata")),
                PodRole::Pod,
                replicas("spec.replicas", 1),
            )]
        }
        ("apps" | "extensions", "DaemonSet") => {
            vec![site(p("spec.template.spec"), Some(p("spec.template.metadata")), PodRole::Pod, Replicas::PerNode)]
        }
        ("batch", "Job") => {
            vec![site(
                p("spec.template.spec"),
                Some(p("spec.template.metadata")),
                PodRole::Pod,
                replicas("spec.parallelism", 1),
            )]
        }
        ("batch", "CronJob") => vec![site(
            p("spec.jobTemplate.spec.template.spec"),
            Some(p("spec.jobTemplate.spec.template.metadata")),
            PodRole::Pod,
            replicas("spec.jobTemplate.spec.parallelism", 1),
        )],
        ("", "Pod") => vec![site(p("spec"), Some(p("metadata")), PodRole::Pod, Replicas::Fixed(1))],
        ("", "PodTemplate") => {
            vec![site(p("template.spec"), Some(p("template.metadata")), PodRole::Pod, Replicas::Template)]
        }
        ("serving.kserve.io", "InferenceService") => {
            vec![site(p("spec.predictor"), None, PodRole::Predictor, replicas("spec.predictor.minReplicas", 1))]
        }
        ("serving.kserve.io", "ServingRuntime" | "ClusterServingRuntime") => {
            vec![site(p("spec"), None, PodRole::Runtime, Replicas::Template)]
        }
        ("ray.io", "RayCluster") => ray_sites(obj, &p("spec")),
        ("ray.io", "RayJob") => ray_sites(obj, &p("spec.rayClusterSpec")),
        ("ray.io", "RayService") => ray_sites(obj, &p("spec.rayClusterConfig")),
        // `jobTemplate` is a RayJob spec (kuberay ray-operator/config/samples/
        // ray-cronjob.sample.yaml); some guides nest it under `spec`.
        ("ray.io", "RayCronJob") => {
            if obj.pointer("/spec/jobTemplate/spec/rayClusterSpec").is_some() {
                ray_sites(obj, &p("spec.jobTemplate.spec.rayClusterSpec"))
            } else {
                ray_sites(obj, &p("spec.jobTemplate.rayClusterSpec"))
            }
        }
        // kserve/kserve pkg/apis/serving/v1alpha1/llm_inference_service_types.go:
        // the inline WorkloadSpec (`replicas`, `template`, `worker`) is the
        // decode (or only) workload, `prefill` the disaggregated prefill one.
        ("serving.kserve.io", "LLMInferenceService") => {
            let mut sites = Vec::new();
            for (base, prefill) in [("spec", false), ("spec.prefill", true)] {
                sites.push(site(
                    p(&format!("{base}.template")),
                    None,
                    PodRole::LlmMain { prefill },
                    replicas(&format!("{base}.replicas"), 1),
                ));
                sites.push(site(
                    p(&format!("{base}.worker")),
                    None,
                    PodRole::LlmWorker { prefill },
                    replicas(&format!("{base}.replicas"), 1),
                ));
            }
            sites
        }
        ("leaderworkerset.x-k8s.io", "LeaderWorkerSet") => {
            let base = "spec.leaderWorkerTemplate";
            let mut leader = site(
                p(&format!("{base}.leaderTemplate.spec")),
                Some(p(&format!("{base}.leaderTemplate.metadata"))),
                PodRole::LwsLeader,
                replicas("spec.replicas", 1),
            );
            leader.hosts = None;
            let mut worker = site(
                p(&format!("{base}.workerTemplate.spec")),
                Some(p(&format!("{base}.workerTemplate.metadata"))),
                PodRole::LwsWorker,
                replicas("spec.replicas", 1),
            );
            // `size` counts the leader; workers per group are size - 1 when a
            // leader template exists, else size (the leader uses the worker template).
            worker.hosts = Some(p(&format!("{base}.size")));
            vec![leader, worker]
        }
        ("jobset.x-k8s.io", "JobSet") => {
            let jobs = obj.pointer("/spec/replicatedJobs").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            jobs.iter()
                .enumerate()
                .map(|(i, job)| {
                    let base = format!("spec.replicatedJobs[{i}]");
                    let name = job.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                    let mut s = site(
                        p(&format!("{base}.template.spec.template.spec")),
                        Some(p(&format!("{base}.template.spec.template.metadata"))),
                        PodRole::ReplicatedJob(name),
                        replicas(&format!("{base}.replicas"), 1),
                    );
                    s.hosts = Some(p(&format!("{base}.template.spec.parallelism")));
                    s
                })
                .collect()
        }
        _ => Vec::new(),
    };
    sites.retain(|s| s.spec.get(obj).is_some_and(Value::is_object));
    sites
}

fn ray_sites(obj: &Value, cluster: &FieldPath) -> Vec<PodSite> {
    let base = cluster.to_string();
    let mut sites = vec![site(
        p(&format!("{base}.headGroupSpec.template.spec")),
        Some(p(&format!("{base}.headGroupSpec.template.metadata"))),
        PodRole::RayHead,
        Replicas::Fixed(1),
    )];
    let groups = cluster.clone().key("workerGroupSpecs");
    let count = groups.get(obj).and_then(Value::as_array).map_or(0, Vec::len);
    for i in 0..count {
        let group = format!("{base}.workerGroupSpecs[{i}]");
        let name = p(&format!("{group}.groupName")).get(obj).and_then(Value::as_str).unwrap_or("").to_string();
        let mut s = site(
            p(&format!("{group}.template.spec")),
            Some(p(&format!("{group}.template.metadata"))),
            PodRole::RayWorker(name),
            Replicas::Field { path: p(&format!("{group}.replicas")), default: 1 },
        );
        s.hosts = Some(p(&format!("{group}.numOfHosts")));
        sites.push(s);
    }
    sites
}

/// The keys of a KServe v1beta1 `PredictorSpec` that hold the model
/// container: `model` and the framework predictors
/// (kserve/kserve pkg/apis/serving/v1beta1/predictor.go `PredictorSpec`).
pub const KSERVE_MODEL_KEYS: &[&str] = &[
    "model",
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
];

/// Which key of a predictor spec holds its model container, if any.
pub fn kserve_model_key(predictor: &Value) -> Option<&'static str> {
    KSERVE_MODEL_KEYS.iter().copied().find(|k| predictor.get(*k).is_some_and(Value::is_object))
}

/// Every container of a site: the model (KServe `model` or a framework
/// predictor), then `containers`, then `initContainers`.
pub fn containers(obj: &Value, site: &PodSite) -> Vec<ContainerSlot> {
    let mut slots = Vec::new();
    let Some(spec) = site.spec.get(obj) else {
        return slots;
    };
    if site.role == PodRole::Predictor
        && let Some(key) = kserve_model_key(spec)
    {
        slots.push(ContainerSlot { path: site.spec.clone().key(key), list: ContainerList::KServeModel });
    }
    for (key, list) in [("containers", ContainerList::Containers), ("initContainers", ContainerList::InitContainers)] {
        let count = spec.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..count {
            slots.push(ContainerSlot { path: site.spec.clone().key(key).index(i), list });
        }
    }
    slots
}

/// The container GPU settings go to, when the user names none:
///
/// * KServe predictor: `model` if present, else `kserve-container`, else the first container;
/// * ServingRuntime: `kserve-container`, else the first container;
/// * everything else: the container named by the pod template annotation
///   `kubectl.kubernetes.io/default-container`, else the first container
///   (KubeRay requires the Ray container to be first).
///
/// With `name`, the regular or init container of that name (for KServe,
/// `model` answers to `kserve-container` and to its own `name`).
pub fn main_container(obj: &Value, site: &PodSite, name: Option<&str>) -> Option<ContainerSlot> {
    let slots = containers(obj, site);
    let name_of = |slot: &ContainerSlot| slot.path.get(obj).and_then(|c| c.get("name")).and_then(Value::as_str);
    if let Some(wanted) = name {
        return slots.into_iter().find(|s| {
            name_of(s) == Some(wanted) || (s.list == ContainerList::KServeModel && wanted == "kserve-container")
        });
    }
    let regular = || slots.iter().filter(|s| s.list != ContainerList::InitContainers);
    match site.role {
        PodRole::Predictor | PodRole::Runtime => regular()
            .find(|s| s.list == ContainerList::KServeModel)
            .or_else(|| regular().find(|s| name_of(s) == Some("kserve-container")))
            .or_else(|| regular().next())
            .cloned(),
        // KubeRay runs Ray in the first container, always.
        PodRole::RayHead | PodRole::RayWorker(_) => regular().next().cloned(),
        _ => {
            let annotated = site
                .metadata
                .as_ref()
                .and_then(|m| m.get(obj))
                .and_then(|m| m.pointer("/annotations/kubectl.kubernetes.io~1default-container"))
                .and_then(Value::as_str);
            // Then the container that runs the vLLM engine (a router or
            // proxy listed first beside it needs no GPU), then the first.
            annotated
                .and_then(|n| regular().find(|s| name_of(s) == Some(n)))
                .or_else(|| regular().find(|s| s.path.get(obj).is_some_and(crate::vllm::is_vllm)))
                .or_else(|| regular().next())
                .cloned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_pod_specs_per_kind() {
        let cases = [
            (
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": []}}}}),
                1,
            ),
            (
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}),
                1,
            ),
            (json!({"apiVersion": "v1", "kind": "Pod", "spec": {}}), 1),
            (json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {}}), 0),
            (json!({"apiVersion": "example.com/v1", "kind": "Deployment", "spec": {"template": {"spec": {}}}}), 0),
            (
                json!({"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": {
                    "headGroupSpec": {"template": {"spec": {}}},
                    "workerGroupSpecs": [{"groupName": "a", "template": {"spec": {}}}, {"groupName": "b", "template": {"spec": {}}}]}}),
                3,
            ),
        ];
        for (obj, n) in cases {
            assert_eq!(pod_sites(&obj).len(), n, "{obj}");
        }
    }

    #[test]
    fn main_container_rules() {
        let isvc = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "spec": {"predictor": {"model": {"modelFormat": {"name": "vLLM"}}, "containers": [{"name": "side"}]}}});
        let site = &pod_sites(&isvc)[0];
        assert_eq!(main_container(&isvc, site, None).unwrap().list, ContainerList::KServeModel);

        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {
            "metadata": {"annotations": {"kubectl.kubernetes.io/default-container": "vllm"}},
            "spec": {"initContainers": [{"name": "fetch"}], "containers": [{"name": "proxy"}, {"name": "vllm"}]}}}});
        let site = &pod_sites(&dep)[0];
        assert_eq!(main_container(&dep, site, None).unwrap().path.to_string(), "spec.template.spec.containers[1]");
        assert_eq!(main_container(&dep, site, Some("fetch")).unwrap().list, ContainerList::InitContainers);
        assert!(main_container(&dep, site, Some("nope")).is_none());
    }
}
