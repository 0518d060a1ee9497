//! GPU workloads read from manifests: pod groups to place, with their
//! replica counts, requests, rollout behaviour and vLLM engine arguments.

use std::collections::BTreeMap;

use serde_json::Value;

use gpuops_manifest::locator::{self, PodRole, Replicas};
use gpuops_manifest::path::FieldPath;
pub use gpuops_manifest::resources::is_gpu;
pub use gpuops_manifest::rollout::Rollout;
use gpuops_manifest::vllm;
use gpuops_model::container::{annotations_of, engine_args, model_reference};
use gpuops_model::memory::EngineArgs;
pub use gpuops_schedule::group::{PodGroup, Role, WorkloadKind, WorkloadRef};

/// The model a pod serves and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Engine {
    pub model: String,
    pub args: EngineArgs,
    /// `gpuops.dev/model-*` annotations overriding the catalog.
    pub overrides: BTreeMap<String, String>,
    /// TP spans several pods (Ray, LeaderWorkerSet): per-pod GPU checks do not apply.
    pub multi_node: bool,
}

/// A group of identical pods to place (`gpuops_schedule` reads it) and the
/// engine they run (the memory check reads it): kept together here so the
/// scheduling library knows nothing of models.
#[derive(Debug, Clone)]
pub struct Workload {
    pub group: PodGroup,
    pub engine: Option<Engine>,
}

impl std::ops::Deref for Workload {
    type Target = PodGroup;
    fn deref(&self) -> &PodGroup {
        &self.group
    }
}

impl std::ops::DerefMut for Workload {
    fn deref_mut(&mut self) -> &mut PodGroup {
        &mut self.group
    }
}
use gpuops_schedule::resources::{QuantityError, pod_requests};

mod operators;
use operators::{llm_engine, llm_nodes, ray_serve_llm, unresolved, vllm_runtime};

fn int_at(obj: &Value, path: &FieldPath) -> Option<u64> {
    path.get(obj).and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

/// Flags for one container: its own command/args, then extra args
/// (a KServe runtime's args completed by the InferenceService's).
fn engine_of(
    container: &Value,
    extra_args: &[Value],
    annotations: &BTreeMap<String, String>,
    multi_node: bool,
) -> Option<Engine> {
    let mut merged = container.clone();
    if !extra_args.is_empty()
        && let Some(map) = merged.as_object_mut()
    {
        let args = map.entry("args").or_insert_with(|| Value::Array(Vec::new()));
        if let Some(a) = args.as_array_mut() {
            a.extend(extra_args.iter().cloned());
        }
    }
    let annotated = annotations.get("gpuops.dev/model").cloned();
    if !vllm::is_vllm(&merged) && annotated.is_none() {
        return None;
    }
    let model = model_reference(&merged, annotations)?;
    let args = engine_args(&merged, annotations);
    let overrides = annotations
        .iter()
        .filter(|(k, _)| k.starts_with("gpuops.dev/model-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(Engine { model, args, overrides, multi_node })
}

/// A workload whose resources cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{subject}: {source}")]
pub struct WorkloadError {
    /// Boxed: a check's error stays a pointer wide.
    pub subject: Box<WorkloadRef>,
    #[source]
    pub source: gpuops_schedule::resources::QuantityError,
}

/// `Kind/namespace/name`; an object with only `generateName` is named
/// `prefix*` (the API server appends five random characters). A manifest
/// file is not validated by an API server: control characters in these
/// names are escaped here, once, so no report line (gpufit's, the Argo CD
/// gate's) can drive a terminal or forge a line.
fn subject_of(obj: &Value) -> WorkloadRef {
    let mut reference = gpuops_manifest::krm::ResourceRef::of(obj);
    if reference.name.is_empty()
        && let Some(prefix) = obj.pointer("/metadata/generateName").and_then(Value::as_str)
    {
        reference.name = format!("{prefix}*");
    }
    let printable = gpuops_manifest::text::printable;
    WorkloadRef {
        kind: WorkloadKind::from(printable(&reference.kind).as_str()),
        namespace: reference.namespace.as_deref().map(printable),
        name: printable(&reference.name),
    }
}

/// Ways of asking for GPUs that the fit does not model.
fn unmodelled_gpu_requests(spec: &Value, annotations: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let claims = spec.get("resourceClaims").and_then(Value::as_array).map_or(0, Vec::len);
    if claims > 0 {
        out.push(format!(
            "requests devices through {claims} DRA resourceClaim(s): gpufit does not model DynamicResources allocation; GPUs claimed this way are not counted"
        ));
    }
    // KAI scheduler / Run:ai fractional GPUs (`gpu-fraction`, `gpu-memory`),
    // placed by their own scheduler, not by nvidia.com/gpu.
    for key in ["gpu-fraction", "gpu-memory", "gpu-fraction-num-devices"] {
        if let Some(v) = annotations.get(key) {
            out.push(format!(
                "asks for a fractional GPU ({key}: {v}) through the KAI/Run:ai scheduler: gpufit does not model GPU sharing; the pod's nvidia.com/gpu request is what is counted"
            ));
        }
    }
    out
}

/// The pod groups of one object. `runtimes` maps ServingRuntime names to
/// their objects, so an InferenceService sees its runtime's vLLM args.
pub fn pod_groups(obj: &Value, runtimes: &BTreeMap<String, Value>) -> Result<Vec<Workload>, WorkloadError> {
    let subject = subject_of(obj);
    let mut groups = Vec::new();
    for site in locator::pod_sites(obj) {
        let replicas = match &site.replicas {
            Replicas::Field { path, default } => match path.get(obj) {
                None | Some(Value::Null) => *default,
                Some(value) => int_at(obj, path).ok_or_else(|| WorkloadError {
                    subject: Box::new(subject.clone()),
                    source: QuantityError::NotACount { field: path.to_string(), value: value.to_string() },
                })?,
            },
            Replicas::Fixed(n) => *n,
            Replicas::PerNode => 0,
            Replicas::Template => continue,
        };
        let hosts = site.hosts.as_ref().and_then(|h| int_at(obj, h));
        let (replicas, role) = match &site.role {
            PodRole::RayHead => (1, Some(Role::RayHead)),
            // Saturating: `replicas × numOfHosts` from a manifest may overflow;
            // the placement budget then refuses it (schedule::budget).
            PodRole::RayWorker(name) => {
                (replicas.saturating_mul(hosts.unwrap_or(1)), Some(Role::RayWorkerGroup(name.clone())))
            }
            PodRole::LwsLeader => (replicas, Some(Role::Leader)),
            PodRole::LwsWorker => {
                let size = hosts.unwrap_or(1);
                let has_leader = obj.pointer("/spec/leaderWorkerTemplate/leaderTemplate").is_some();
                (replicas.saturating_mul(if has_leader { size.saturating_sub(1) } else { size }), Some(Role::Worker))
            }
            PodRole::ReplicatedJob(name) => {
                (replicas.saturating_mul(hosts.unwrap_or(1)), Some(Role::Job(name.clone())))
            }
            PodRole::LlmMain { prefill } => {
                let has_prefill = obj.pointer("/spec/prefill").is_some();
                let role = if *prefill {
                    Some(Role::Prefill)
                } else if has_prefill {
                    Some(Role::Decode)
                } else {
                    None
                };
                (replicas, role)
            }
            PodRole::LlmWorker { prefill } => {
                let nodes = llm_nodes(obj, *prefill);
                (
                    replicas.saturating_mul(nodes.saturating_sub(1)),
                    Some(if *prefill { Role::PrefillWorker } else { Role::Worker }),
                )
            }
            _ => (replicas, None),
        };
        let mut spec = site.spec.get(obj).cloned().unwrap_or(Value::Null);
        let site_metadata = site.metadata.as_ref().and_then(|m| m.get(obj));
        let annotations = annotations_of(obj, site_metadata);
        let multi_node = matches!(
            site.role,
            PodRole::RayHead
                | PodRole::RayWorker(_)
                | PodRole::LwsLeader
                | PodRole::LwsWorker
                | PodRole::LlmWorker { .. }
        ) || matches!(site.role, PodRole::LlmMain { prefill } if llm_nodes(obj, prefill) > 1);
        let mut engine = None;
        if site.role == PodRole::Predictor {
            // The model (or a framework predictor: `tensorflow`, `pytorch`,
            // `huggingface`, …) is a container of its own; the runtime
            // supplies the command.
            let key = locator::kserve_model_key(&spec);
            if let Some((key, model)) = key.and_then(|k| Some((k, spec.get(k)?.clone()))) {
                let runtime = model.get("runtime").and_then(Value::as_str).and_then(|r| runtimes.get(r));
                let runtime_container = runtime
                    .and_then(|r| r.pointer("/spec/containers"))
                    .and_then(Value::as_array)
                    .and_then(|cs| {
                        cs.iter()
                            .find(|c| c.get("name").and_then(Value::as_str) == Some("kserve-container"))
                            .or(cs.first())
                    })
                    .cloned();
                let model_args = model.get("args").and_then(Value::as_array).cloned().unwrap_or_default();
                let mut container = runtime_container.clone().unwrap_or_else(|| serde_json::json!({}));
                for key in ["storageUri", "runtime", "modelFormat"] {
                    if let (Some(v), Some(map)) = (model.get(key), container.as_object_mut()) {
                        map.insert(key.into(), v.clone());
                    }
                }
                engine = engine_of(&container, &model_args, &annotations, false);
                if let Some(map) = spec.as_object_mut() {
                    map.remove(key);
                    let mut model_container = model;
                    if let Some(m) = model_container.as_object_mut() {
                        m.insert("name".into(), Value::String("kserve-container".into()));
                    }
                    let list = map.entry("containers").or_insert_with(|| Value::Array(Vec::new()));
                    if let Some(a) = list.as_array_mut() {
                        a.insert(0, model_container);
                    }
                }
            }
        }
        if engine.is_none() {
            let containers = spec.get("containers").and_then(Value::as_array).cloned().unwrap_or_default();
            engine = containers.iter().find_map(|c| engine_of(c, &[], &annotations, multi_node));
        }
        if let PodRole::LlmMain { prefill } = site.role
            && engine.is_none()
        {
            engine = llm_engine(obj, prefill, multi_node);
        }
        let requests =
            pod_requests(&spec).map_err(|source| WorkloadError { subject: Box::new(subject.clone()), source })?;
        let rollout = match site.role {
            PodRole::Pod | PodRole::Predictor => Rollout::of(obj, replicas),
            // A Deployment (or LeaderWorkerSet) with the workload's rolloutStrategy.
            PodRole::LlmMain { prefill } => {
                let base = if prefill { "/spec/prefill/rolloutStrategy" } else { "/spec/rolloutStrategy" };
                let strategy = obj.pointer(base);
                gpuops_manifest::rollout::resolve_fenceposts(
                    strategy.and_then(|s| s.get("maxSurge")),
                    strategy.and_then(|s| s.get("maxUnavailable")),
                    replicas,
                )
            }
            _ => Rollout::default(),
        };
        let labels = site_metadata
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
        let preemption_never = spec.get("preemptionPolicy").and_then(Value::as_str) == Some("Never");
        let warnings = unmodelled_gpu_requests(&spec, &annotations);
        let (spec, containers) = gpuops_schedule::group::scheduling_fields(spec);
        let group = PodGroup {
            workload: subject.clone(),
            role,
            replicas,
            per_node: site.replicas == Replicas::PerNode,
            spec,
            containers,
            requests,
            rollout,
            namespace,
            labels,
            priority: 0,
            preemption_never,
            warnings,
            queue: queue_of(obj),
        };
        groups.push(Workload { group, engine });
    }
    // A RayService upgrade brings up a whole second cluster.
    if locator::kind(obj) == "RayService" && locator::api_group(obj) == "ray.io" {
        for g in &mut groups {
            g.rollout = Rollout { surge: g.replicas, max_unavailable: 0 };
        }
        ray_serve_llm(obj, &mut groups);
    }
    match (locator::api_group(obj), locator::kind(obj)) {
        ("serving.kserve.io", "LLMInferenceService") if obj.pointer("/spec/template").is_none() => {
            // The pod comes from LLMInferenceServiceConfig objects (baseRefs,
            // or the default kserve-config-llm-template).
            return Ok(vec![Workload {
                engine: None,
                group: unresolved(
                    obj,
                    &subject,
                    "its pod template comes from LLMInferenceServiceConfig (spec.baseRefs or kserve-config-llm-template), which gpufit does not resolve: add spec.template with the containers' resources to check it",
                ),
            }]);
        }
        ("production-stack.vllm.ai", "VLLMRuntime") => {
            return vllm_runtime(obj, &subject)
                .map(|g| vec![g])
                .map_err(|source| WorkloadError { subject: Box::new(subject), source });
        }
        _ => {}
    }
    Ok(groups)
}

fn queue_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/labels")
        .and_then(|l| l.get(gpuops_schedule::kueue::QUEUE_LABEL))
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn negative_counts_and_requests_are_refused_as_the_api_server_refuses_them() {
        let deployment = |replicas: Value, gpus: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "qwen", "namespace": "llm"},
                "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "vllm",
                    "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}}}})
        };
        let err = pod_groups(&deployment(json!(-3), json!(1)), &BTreeMap::new()).unwrap_err().to_string();
        assert_eq!(
            err,
            "Deployment/llm/qwen: spec.replicas: -3 is not a non-negative integer; the API server rejects it"
        );
        let err = pod_groups(&deployment(json!(2), json!("-1")), &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("nvidia.com/gpu: \"-1\" is negative; the API server rejects it"), "{err}");
        let err = pod_groups(&deployment(json!(2), json!(-8)), &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("nvidia.com/gpu: -8 is negative"), "{err}");
        assert_eq!(pod_groups(&deployment(json!(0), json!(1)), &BTreeMap::new()).unwrap()[0].replicas, 0);
    }

    #[test]
    fn deployment_with_vllm_and_default_rollout() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "qwen", "namespace": "llm"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.8.5",
                "args": ["--model", "Qwen/Qwen2.5-32B-Instruct", "--tensor-parallel-size=2", "--max-model-len", "16k"],
                "resources": {"limits": {"nvidia.com/gpu": 2}}}]}}}});
        let g = &pod_groups(&d, &BTreeMap::new()).unwrap()[0];
        assert_eq!((g.replicas, g.gpus(), g.workload.to_string()), (2, 2, "Deployment/llm/qwen".to_string()));
        assert_eq!(g.rollout, Rollout { surge: 1, max_unavailable: 0 });
        let e = g.engine.as_ref().unwrap();
        assert_eq!(
            (e.model.as_str(), e.args.tensor_parallel, e.args.max_model_len),
            ("Qwen/Qwen2.5-32B-Instruct", 2, Some(16000))
        );
    }

    #[test]
    fn kserve_predictor_with_runtime_args() {
        let rt = json!({"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime", "metadata": {"name": "vllm"},
            "spec": {"containers": [{"name": "kserve-container", "image": "vllm/vllm-openai", "args": ["--port=8080", "--max-model-len=8192"]}]}});
        let isvc = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "q", "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}},
            "spec": {"predictor": {"minReplicas": 3, "model": {"runtime": "vllm", "modelFormat": {"name": "vLLM"},
                "storageUri": "hf://Qwen/Qwen2.5-7B-Instruct", "args": ["--tensor-parallel-size=1"],
                "resources": {"limits": {"nvidia.com/gpu": 1}}}}}});
        let runtimes = BTreeMap::from([("vllm".to_string(), rt)]);
        let g = &pod_groups(&isvc, &runtimes).unwrap()[0];
        assert_eq!((g.replicas, g.gpus()), (3, 1));
        let e = g.engine.as_ref().unwrap();
        assert_eq!(e.model, "hf://Qwen/Qwen2.5-7B-Instruct");
        assert_eq!(e.args.max_model_len, Some(8192));
        assert_eq!(g.rollout, Rollout { surge: 1, max_unavailable: 0 });
    }

    #[test]
    fn model_from_annotations_with_overrides() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m", "annotations": {
                "gpuops.dev/model": "acme/custom-13b", "gpuops.dev/model-params": "13B", "gpuops.dev/model-layers": "40",
                "gpuops.dev/model-kv-heads": "8", "gpuops.dev/model-head-dim": "128"}},
            "spec": {"template": {"spec": {"containers": [{"name": "srv", "image": "acme/server",
                "args": ["--max-model-len=8192"], "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}});
        let g = &pod_groups(&d, &BTreeMap::new()).unwrap()[0];
        let e = g.engine.as_ref().unwrap();
        assert_eq!(e.model, "acme/custom-13b");
        assert_eq!(e.overrides.len(), 4);
    }

    #[test]
    fn kserve_framework_predictors_generate_name_and_ray_cron_jobs() {
        // kserve pkg/apis/serving/v1beta1/predictor.go: `pytorch`, `triton`, … are the model container.
        let isvc = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "torch"},
            "spec": {"predictor": {"minReplicas": 2, "pytorch": {"storageUri": "gs://kfserving-examples/models/torchserve/image_classifier/v1",
                "resources": {"limits": {"nvidia.com/gpu": 1, "cpu": "2"}}}}}});
        let g = &pod_groups(&isvc, &BTreeMap::new()).unwrap()[0];
        assert_eq!((g.replicas, g.gpus()), (2, 1));
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "eval-", "namespace": "ml"},
            "spec": {"template": {"spec": {"containers": [{"name": "e", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}});
        assert_eq!(pod_groups(&job, &BTreeMap::new()).unwrap()[0].workload.to_string(), "Job/ml/eval-*");
        // KubeRay ray-operator/config/samples/ray-cronjob.sample.yaml: jobTemplate is a RayJob spec.
        let cron = json!({"apiVersion": "ray.io/v1", "kind": "RayCronJob", "metadata": {"name": "nightly"}, "spec": {
            "schedule": "0 2 * * *", "jobTemplate": {"entrypoint": "python eval.py", "rayClusterSpec": {
                "headGroupSpec": {"template": {"spec": {"containers": [{"name": "head"}]}}},
                "workerGroupSpecs": [{"groupName": "gpu", "replicas": 2, "template": {"spec": {"containers": [
                    {"name": "w", "resources": {"limits": {"nvidia.com/gpu": 4}}}]}}}]}}}});
        let groups = pod_groups(&cron, &BTreeMap::new()).unwrap();
        assert_eq!((groups[1].replicas, groups[1].gpus()), (2, 4));
    }

    #[test]
    fn ray_gpus_are_head_plus_workers_times_hosts() {
        let rc = json!({"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "rl"}, "spec": {
            "headGroupSpec": {"template": {"spec": {"containers": [{"name": "head", "resources": {"limits": {"cpu": "2"}}}]}}},
            "workerGroupSpecs": [{"groupName": "gpu", "replicas": 3, "numOfHosts": 2, "template": {"spec": {"containers": [
                {"name": "w", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}]}});
        let groups = pod_groups(&rc, &BTreeMap::new()).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[1].replicas, groups[1].gpus()), (6, 1));
        assert_eq!(groups[1].role, Some(Role::RayWorkerGroup("gpu".into())));
    }
}
