//! Workloads of operators whose pods are not plain pod templates: KServe
//! LLMInferenceService (parallelism and the controller's vLLM template),
//! vLLM production-stack VLLMRuntime (resources as fields), and the model
//! of Ray Serve applications in a RayService.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Engine, PodGroup, Rollout, Workload, WorkloadRef, queue_of};
use gpuops_model::memory::EngineArgs;
use gpuops_schedule::resources::{Resources, pod_requests};

/// Nodes per LLMInferenceService replica: data / dataLocal for data
/// parallelism, else pipeline (the LeaderWorkerSet size the controller
/// creates when `worker` is set).
pub(super) fn llm_nodes(obj: &Value, prefill: bool) -> u64 {
    let base = if prefill { "/spec/prefill/parallelism" } else { "/spec/parallelism" };
    let n = |k: &str| obj.pointer(&format!("{base}/{k}")).and_then(Value::as_u64);
    match (n("data"), n("dataLocal"), n("pipeline")) {
        (Some(data), local, _) => (data / local.unwrap_or(1).max(1)).max(1),
        (None, _, Some(pipeline)) => pipeline.max(1),
        _ => 1,
    }
}

/// The engine of an LLMInferenceService workload whose containers come
/// from the controller's vLLM template: the model URI and the parallelism.
pub(super) fn llm_engine(obj: &Value, prefill: bool, multi_node: bool) -> Option<Engine> {
    let model = obj.pointer("/spec/model/uri").and_then(Value::as_str)?.to_string();
    let base = if prefill { "/spec/prefill/parallelism" } else { "/spec/parallelism" };
    let n = |k: &str| obj.pointer(&format!("{base}/{k}")).and_then(Value::as_u64);
    let args = EngineArgs {
        tensor_parallel: n("tensor").unwrap_or(1),
        pipeline_parallel: n("pipeline").unwrap_or(1),
        ..EngineArgs::default()
    };
    Some(Engine { model, args, overrides: BTreeMap::new(), multi_node })
}

/// A workload gpufit cannot read pods from: no pods, and a warning saying so.
pub(super) fn unresolved(obj: &Value, subject: &WorkloadRef, why: &str) -> PodGroup {
    PodGroup { warnings: vec![why.to_string()], ..empty_group(obj, subject) }
}

/// A group of `obj` with no pods yet.
fn empty_group(obj: &Value, subject: &WorkloadRef) -> PodGroup {
    PodGroup {
        workload: subject.clone(),
        role: None,
        replicas: 0,
        per_node: false,
        spec: Value::Null,
        containers: Box::default(),
        requests: Resources::new(),
        rollout: Rollout::default(),
        namespace: obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string(),
        labels: BTreeMap::new(),
        priority: 0,
        preemption_never: false,
        warnings: Vec::new(),
        queue: queue_of(obj),
    }
}

/// vLLM production-stack's VLLMRuntime (production-stack.vllm.ai/v1alpha1):
/// no pod spec, but `deploymentConfig` (replicas, resources cpu/memory/gpu,
/// a sidecar) and the engine settings in `model` and `vllmConfig`, which
/// the operator turns into a Deployment of one vLLM container.
pub(super) fn vllm_runtime(
    obj: &Value,
    subject: &WorkloadRef,
) -> Result<Workload, gpuops_schedule::resources::QuantityError> {
    let at = |p: &str| obj.pointer(p);
    let text = |p: &str| field_text(obj, p);
    let replicas = at("/spec/deploymentConfig/replicas").and_then(Value::as_u64).unwrap_or(1);
    let mut limits = serde_json::Map::new();
    let gpu_type = text("/spec/deploymentConfig/resources/gpuType").unwrap_or_else(|| "nvidia.com/gpu".into());
    for (key, name) in [("cpu", "cpu"), ("memory", "memory"), ("gpu", gpu_type.as_str())] {
        if let Some(v) = at(&format!("/spec/deploymentConfig/resources/{key}")) {
            limits.insert(name.to_string(), v.clone());
        }
    }
    let mut containers = vec![serde_json::json!({"name": "vllm", "resources": {"limits": limits}})];
    if at("/spec/deploymentConfig/sidecarConfig/enabled").and_then(Value::as_bool) == Some(true) {
        let mut sidecar = serde_json::Map::new();
        for key in ["cpu", "memory"] {
            if let Some(v) = at(&format!("/spec/deploymentConfig/sidecarConfig/resources/{key}")) {
                sidecar.insert(key.to_string(), v.clone());
            }
        }
        containers.push(serde_json::json!({"name": "sidecar", "resources": {"limits": sidecar}}));
    }
    let spec = serde_json::json!({"containers": containers});
    let requests = pod_requests(&spec)?;
    let (spec, containers) = gpuops_schedule::group::scheduling_fields(spec);
    let model = text("/spec/model/modelURL").unwrap_or_default();
    let engine = (!model.is_empty()).then(|| {
        // Read like any vLLM container: LoRA, max_num_seqs, LMCache's
        // connector and VLLM_USE_V1 reach the memory check as flags.
        let container = vllm_runtime_container(obj, &model);
        let annotations = gpuops_model::container::annotations_of(obj, None);
        Engine {
            model,
            args: gpuops_model::container::engine_args(&container, &annotations),
            overrides: BTreeMap::new(),
            multi_node: false,
        }
    });
    let recreate = text("/spec/deploymentConfig/deploymentStrategy").as_deref() == Some("Recreate");
    let rollout =
        if recreate { Rollout::default() } else { gpuops_manifest::rollout::resolve_fenceposts(None, None, replicas) };
    Ok(Workload {
        group: PodGroup { replicas, spec, containers, requests, rollout, ..empty_group(obj, subject) },
        engine,
    })
}

/// A field as text: a string, or a number written unquoted.
fn field_text(obj: &Value, pointer: &str) -> Option<String> {
    obj.pointer(pointer).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_f64().map(|f| f.to_string())))
}

/// The vLLM container the production-stack operator builds for a
/// VLLMRuntime (`deploymentForVLLMRuntime`,
/// operator/internal/controller/vllmruntime_controller.go at a6c01db0:
/// arguments 441-510, `VLLM_USE_V1` 517-529, LMCache's KV connector
/// 536-564, the image 652-653, `vllm serve` 780-784).
fn vllm_runtime_container(obj: &Value, model: &str) -> Value {
    let at = |p: &str| obj.pointer(p);
    let flag = |p: &str| at(p).and_then(Value::as_bool).unwrap_or(false);
    let count = |p: &str| at(p).and_then(Value::as_u64).filter(|n| *n > 0);
    let text = |p: &str| field_text(obj, p).filter(|t| !t.is_empty());
    let mut args: Vec<String> = vec![model.to_string()];
    if flag("/spec/model/enableLoRA") {
        args.push("--enable-lora".into());
    }
    args.push(
        if flag("/spec/vllmConfig/enableChunkedPrefill") {
            "--enable-chunked-prefill"
        } else {
            "--no-enable-chunked-prefill"
        }
        .into(),
    );
    for (path, name) in [
        ("/spec/model/maxModelLen", "--max-model-len"),
        ("/spec/vllmConfig/tensorParallelSize", "--tensor-parallel-size"),
    ] {
        if let Some(n) = count(path) {
            args.extend([name.to_string(), n.to_string()]);
        }
    }
    if let Some(dtype) = text("/spec/model/dtype") {
        args.extend(["--dtype".to_string(), dtype]);
    }
    if let Some(n) = count("/spec/model/maxNumSeqs") {
        args.extend(["--max-num-seqs".to_string(), n.to_string()]);
    }
    // A string in the CRD; a number written unquoted is read the same.
    if let Some(u) = text("/spec/vllmConfig/gpuMemoryUtilization") {
        args.extend(["--gpu_memory_utilization".to_string(), u]);
    }
    if let Some(n) = count("/spec/vllmConfig/maxLoras") {
        args.extend(["--max_loras".to_string(), n.to_string()]);
    }
    let extra = at("/spec/vllmConfig/extraArgs").and_then(Value::as_array).into_iter().flatten();
    args.extend(extra.filter_map(Value::as_str).map(str::to_string));
    let v1 = flag("/spec/vllmConfig/v1");
    if flag("/spec/lmCacheConfig/enabled") {
        let connector = if v1 { "LMCacheConnectorV1" } else { "LMCacheConnector" };
        args.extend([
            "--kv-transfer-config".to_string(),
            format!(r#"{{"kv_connector":"{connector}","kv_role":"kv_both"}}"#),
        ]);
    }
    let image = match (text("/spec/deploymentConfig/image/registry"), text("/spec/deploymentConfig/image/name")) {
        (Some(registry), Some(name)) => format!("{registry}/{name}"),
        (None, Some(name)) => name,
        _ => String::new(),
    };
    serde_json::json!({
        "name": "vllm",
        "image": image,
        "command": ["/opt/venv/bin/vllm", "serve"],
        "args": args,
        "env": [{"name": "VLLM_USE_V1", "value": if v1 { "1" } else { "0" }}],
    })
}

/// The model a RayService's Serve applications run (`serveConfigV2`):
/// Ray Serve LLM's `applications[].args.llm_configs[]`
/// (`model_loading_config.model_source` / `model_id`,
/// `engine_kwargs.tensor_parallel_size`, `pipeline_parallel_size`,
/// `max_model_len`, `gpu_memory_utilization`), or the convention of
/// KubeRay's own vLLM sample (ray-operator/config/samples/vllm/
/// ray-service.vllm.yaml: `runtime_env.env_vars` `MODEL_ID`,
/// `TENSOR_PARALLELISM`, `PIPELINE_PARALLELISM`). The first one found is
/// the engine of the GPU worker groups that have none.
pub(super) fn ray_serve_llm(obj: &Value, groups: &mut [Workload]) {
    let Some(text) = obj.pointer("/spec/serveConfigV2").and_then(Value::as_str) else { return };
    let Ok(docs) = gpuops_manifest::yaml::parse_stream(text, "serveConfigV2") else { return };
    let apps: Vec<Value> = docs
        .into_iter()
        .flat_map(|d| d.value.get("applications").and_then(Value::as_array).cloned().unwrap_or_default())
        .collect();
    let number = |v: Option<&Value>| v.and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
    let from_llm_config = apps
        .iter()
        .flat_map(|app| app.pointer("/args/llm_configs").and_then(Value::as_array).cloned().unwrap_or_default())
        .find_map(|llm| {
            let model = llm
                .pointer("/model_loading_config/model_source")
                .or_else(|| llm.pointer("/model_loading_config/model_id"))
                .and_then(Value::as_str)?
                .to_string();
            let kw = |k: &str| llm.pointer(&format!("/engine_kwargs/{k}"));
            Some((
                model,
                EngineArgs {
                    tensor_parallel: number(kw("tensor_parallel_size")).unwrap_or(1),
                    pipeline_parallel: number(kw("pipeline_parallel_size")).unwrap_or(1),
                    max_model_len: number(kw("max_model_len")),
                    gpu_memory_utilization: kw("gpu_memory_utilization").and_then(Value::as_f64),
                    ..EngineArgs::default()
                },
            ))
        });
    let from_env = || {
        apps.iter().find_map(|app| {
            let env = app.pointer("/runtime_env/env_vars")?;
            let model = env.get("MODEL_ID").and_then(Value::as_str)?.to_string();
            Some((
                model,
                EngineArgs {
                    tensor_parallel: number(env.get("TENSOR_PARALLELISM")).unwrap_or(1),
                    pipeline_parallel: number(env.get("PIPELINE_PARALLELISM")).unwrap_or(1),
                    ..EngineArgs::default()
                },
            ))
        })
    };
    let Some((model, args)) = from_llm_config.or_else(from_env) else { return };
    let engine = Engine { model, args, overrides: BTreeMap::new(), multi_node: true };
    for g in groups.iter_mut().filter(|g| g.engine.is_none() && g.gpus() > 0) {
        g.engine = Some(engine.clone());
    }
}
