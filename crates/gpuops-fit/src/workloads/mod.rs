//! GPU workloads read from manifests: pod groups to place, with their
//! replica counts, requests, rollout behaviour and vLLM engine arguments.

use std::collections::BTreeMap;

use serde_json::Value;

use super::memory::{EngineArgs, Entrypoint, Generation, parse_max_model_len};
use super::resources::{QuantityError, Resources, pod_requests};
use gpuops_manifest::locator::{self, PodRole, Replicas};
use gpuops_manifest::path::FieldPath;
pub use gpuops_manifest::resources::is_gpu;
pub use gpuops_manifest::rollout::Rollout;
use gpuops_manifest::vllm;

mod fields;
mod operators;
use operators::{llm_engine, llm_nodes, ray_serve_llm, unresolved, vllm_runtime};

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

/// Identical pods to place.
#[derive(Debug, Clone)]
pub struct PodGroup {
    /// `Kind/namespace/name`.
    pub workload: String,
    /// Which pods of the workload (`worker group gpu`, `head`), empty for the only one.
    pub role: String,
    pub replicas: u64,
    /// DaemonSet: one pod per node that passes the filters.
    pub per_node: bool,
    /// The pod spec's scheduling fields (see `fields::scheduling_fields`):
    /// what admission and the scheduler read, not the containers (see
    /// `containers`) nor their args, env or probes (the engine holds what
    /// the memory model reads).
    pub spec: Value,
    /// The pod's `containers` and `initContainers` (their `resources` and
    /// `restartPolicy`) as compact JSON text, `{"containers": [...]}`,
    /// empty when it has none: `requests` holds what they ask for, and
    /// only LimitRange defaulting reads them again ([`PodGroup::pod_spec`]).
    pub containers: Box<str>,
    pub requests: Resources,
    pub rollout: Rollout,
    pub engine: Option<Engine>,
    /// The namespace the pods are created in (`default` when the manifest
    /// names none).
    pub namespace: String,
    /// The pod template's labels (what pod affinity and spread match).
    pub labels: BTreeMap<String, String>,
    /// The pod's priority, resolved from `priorityClassName` (or the
    /// global default class) by [`resolve_priority`].
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

    pub fn label(&self) -> String {
        if self.role.is_empty() { self.workload.clone() } else { format!("{} ({})", self.workload, self.role) }
    }
}

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

/// The model a vLLM container serves: the `gpuops.dev/model` annotation,
/// else `--model` / `vllm serve MODEL`, else — when that is a local path
/// such as KServe's `/mnt/models` — the `storageUri` it was downloaded from.
pub fn model_reference(container: &Value, annotations: &BTreeMap<String, String>) -> Option<String> {
    let flag = |names: &[&str]| vllm::get_flag(container, names);
    let storage = container.get("storageUri").and_then(Value::as_str).map(str::to_string);
    let named = flag(&["--model"]).or_else(|| positional_model(container));
    match (annotations.get("gpuops.dev/model").cloned(), named, storage) {
        (Some(a), _, _) => Some(a),
        (None, Some(path), Some(uri)) if path.starts_with('/') => Some(uri),
        (None, Some(n), _) => Some(n),
        (None, None, Some(uri)) => Some(uri),
        (None, None, None) => None,
    }
}

/// The vLLM engine arguments of a container (its `command`/`args`, env and
/// image), as gpufit and the function's `count: auto` both read them.
pub fn engine_args(container: &Value, annotations: &BTreeMap<String, String>) -> EngineArgs {
    let flag = |names: &[&str]| vllm::get_flag(container, names);
    let number = |names: &[&str], default: u64| flag(names).and_then(|v| v.parse().ok()).unwrap_or(default);
    let optional = |names: &[&str]| flag(names).and_then(|v| v.parse::<u64>().ok());
    let env = |name: &str| {
        container.get("env").and_then(Value::as_array).and_then(|env| {
            env.iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
                .get("value")?
                .as_str()
                .map(str::to_string)
        })
    };
    let use_v1 = env("VLLM_USE_V1");
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    EngineArgs {
        tensor_parallel: number(vllm::TENSOR_PARALLEL, 1),
        pipeline_parallel: number(vllm::PIPELINE_PARALLEL, 1),
        max_model_len: flag(&["--max-model-len", "--max_model_len"]).and_then(|v| parse_max_model_len(&v)),
        gpu_memory_utilization: flag(&["--gpu-memory-utilization", "--gpu_memory_utilization"])
            .and_then(|v| v.parse().ok()),
        dtype: flag(&["--dtype"]).unwrap_or_else(|| "auto".into()),
        quantization: flag(&["--quantization", "-q"]),
        kv_cache_dtype: flag(&["--kv-cache-dtype", "--kv_cache_dtype"]).unwrap_or_else(|| "auto".into()),
        max_num_seqs: optional(&["--max-num-seqs", "--max_num_seqs"]),
        max_num_batched_tokens: optional(&["--max-num-batched-tokens", "--max_num_batched_tokens"]),
        enforce_eager: vllm::has_flag(container, &["--enforce-eager", "--enforce_eager"]),
        kv_cache_memory_bytes: flag(&["--kv-cache-memory-bytes", "--kv_cache_memory_bytes", "--kv-cache-memory"])
            .and_then(|v| gpuops_manifest::quantity::parse_quantity(&v))
            .map(|bytes| bytes as u64),
        cpu_offload_gb: flag(&["--cpu-offload-gb", "--cpu_offload_gb"]).and_then(|v| v.parse().ok()).unwrap_or(0.0),
        engine: annotations
            .get("gpuops.dev/vllm-version")
            .and_then(|v| Generation::parse(v))
            .or_else(|| Generation::from_image(image, use_v1.as_deref())),
        entrypoint: Entrypoint::Server,
    }
}

/// `vllm serve MODEL …`: the word after `serve`, in args or a shell script.
fn positional_model(container: &Value) -> Option<String> {
    let words: Vec<String> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let at = words.iter().position(|w| w == "serve")?;
    words.get(at + 1).filter(|w| !w.starts_with('-')).cloned()
}

fn annotations_of(obj: &Value, site_metadata: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for meta in [obj.get("metadata"), site_metadata] {
        if let Some(Value::Object(a)) = meta.and_then(|m| m.get("annotations")) {
            for (k, v) in a {
                if let Some(s) = v.as_str() {
                    out.insert(k.clone(), s.to_string());
                }
            }
        }
    }
    out
}

/// The pod groups of one object. `runtimes` maps ServingRuntime names to
/// their objects, so an InferenceService sees its runtime's vLLM args.
/// A workload whose resources cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{subject}: {source}")]
pub struct WorkloadError {
    /// `Kind/namespace/name`.
    pub subject: String,
    #[source]
    pub source: super::resources::QuantityError,
}

/// `Kind/namespace/name`; an object with only `generateName` is named
/// `prefix*` (the API server appends five random characters). A manifest
/// file is not validated by an API server: control characters in these
/// names are escaped here, once, so no report line (gpufit's, the Argo CD
/// gate's) can drive a terminal or forge a line.
fn subject_of(obj: &Value) -> String {
    let mut reference = gpuops_manifest::krm::ResourceRef::of(obj);
    if reference.name.is_empty()
        && let Some(prefix) = obj.pointer("/metadata/generateName").and_then(Value::as_str)
    {
        reference.name = format!("{prefix}*");
    }
    gpuops_manifest::text::printable(&reference.to_string())
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

pub fn pod_groups(obj: &Value, runtimes: &BTreeMap<String, Value>) -> Result<Vec<PodGroup>, WorkloadError> {
    let subject = subject_of(obj);
    let mut groups = Vec::new();
    for site in locator::pod_sites(obj) {
        let replicas = match &site.replicas {
            Replicas::Field { path, default } => match path.get(obj) {
                None | Some(Value::Null) => *default,
                Some(value) => int_at(obj, path).ok_or_else(|| WorkloadError {
                    subject: subject.clone(),
                    source: QuantityError::NotACount { field: path.to_string(), value: value.to_string() },
                })?,
            },
            Replicas::Fixed(n) => *n,
            Replicas::PerNode => 0,
            Replicas::Template => continue,
        };
        let hosts = site.hosts.as_ref().and_then(|h| int_at(obj, h));
        let (replicas, role) = match &site.role {
            PodRole::RayHead => (1, "head".to_string()),
            // Saturating: `replicas × numOfHosts` from a manifest may overflow;
            // the placement budget then refuses it (schedule::budget).
            PodRole::RayWorker(name) => (replicas.saturating_mul(hosts.unwrap_or(1)), format!("worker group {name}")),
            PodRole::LwsLeader => (replicas, "leader".to_string()),
            PodRole::LwsWorker => {
                let size = hosts.unwrap_or(1);
                let has_leader = obj.pointer("/spec/leaderWorkerTemplate/leaderTemplate").is_some();
                (replicas.saturating_mul(if has_leader { size.saturating_sub(1) } else { size }), "worker".to_string())
            }
            PodRole::ReplicatedJob(name) => (replicas.saturating_mul(hosts.unwrap_or(1)), format!("job {name}")),
            PodRole::LlmMain { prefill } => {
                let has_prefill = obj.pointer("/spec/prefill").is_some();
                (
                    replicas,
                    if *prefill {
                        "prefill"
                    } else if has_prefill {
                        "decode"
                    } else {
                        ""
                    }
                    .to_string(),
                )
            }
            PodRole::LlmWorker { prefill } => {
                let nodes = llm_nodes(obj, *prefill);
                (
                    replicas.saturating_mul(nodes.saturating_sub(1)),
                    if *prefill { "prefill worker" } else { "worker" }.to_string(),
                )
            }
            _ => (replicas, String::new()),
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
        let requests = pod_requests(&spec).map_err(|source| WorkloadError { subject: subject.clone(), source })?;
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
        let (spec, containers) = fields::scheduling_fields(spec);
        groups.push(PodGroup {
            workload: subject.clone(),
            role,
            replicas,
            per_node: site.replicas == Replicas::PerNode,
            spec,
            containers,
            requests,
            rollout,
            engine,
            namespace,
            labels,
            priority: 0,
            preemption_never,
            warnings,
            queue: queue_of(obj),
        });
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
            return Ok(vec![unresolved(
                obj,
                &subject,
                "its pod template comes from LLMInferenceServiceConfig (spec.baseRefs or kserve-config-llm-template), which gpufit does not resolve: add spec.template with the containers' resources to check it",
            )]);
        }
        ("production-stack.vllm.ai", "VLLMRuntime") => {
            return vllm_runtime(obj, &subject).map(|g| vec![g]).map_err(|source| WorkloadError { subject, source });
        }
        _ => {}
    }
    Ok(groups)
}

fn queue_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/labels")
        .and_then(|l| l.get(crate::kueue::QUEUE_LABEL))
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
        assert_eq!((g.replicas, g.gpus(), g.workload.as_str()), (2, 2, "Deployment/llm/qwen"));
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
        assert_eq!(pod_groups(&job, &BTreeMap::new()).unwrap()[0].workload, "Job/ml/eval-*");
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
        assert_eq!((groups[1].replicas, groups[1].gpus(), groups[1].role.as_str()), (6, 1, "worker group gpu"));
    }
}
