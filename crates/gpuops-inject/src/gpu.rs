//! Applying a `GpuProfile` to one workload.

use gpuops_model::resolve::Resolver;
use serde_json::{Map, Value, json};

use super::config::{GpuCount, GpuProfileSpec, GpuSpec, StrategyMode, TensorParallelMode};
use gpuops_manifest::krm::{KrmResult, Severity, Subject};
use gpuops_manifest::locator::{self, ContainerSlot, PodRole, PodSite};
use gpuops_manifest::path::{FieldPath, ensure_array, ensure_object};
use gpuops_manifest::resources::is_gpu;
use gpuops_manifest::rollout::{self, Rollout, StrategyLocation};
use gpuops_manifest::vllm::{self, FlagEdit};

const SHM_VOLUME: &str = "dshm";
const SHM_PATH: &str = "/dev/shm";

/// What applying a profile to one object did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Applied {
    pub(crate) changed: bool,
    /// Switched to Recreate by `strategy: auto`: the extra GPUs a rolling
    /// update would have needed.
    pub(crate) recreate_saved_gpus: Option<u64>,
}

/// Whether a write made at some place changed the object: `insert`'s
/// answer (the value it replaced) against the value written.
fn replaced(old: Option<Value>, new: &Value) -> bool {
    old.as_ref() != Some(new)
}

/// Whether `ensure_object`/`ensure_array` on `parent[key]` creates it
/// (missing or null): a creation is a change even when nothing is put in.
fn creates(parent: &Value, key: &str) -> bool {
    parent.get(key).is_none_or(Value::is_null)
}

/// The object as it was, for debug builds to check the change flags the
/// edits report against a comparison of the whole object (metadata left
/// out: a profile never touches it). Release builds skip it: cloning and
/// comparing every workload was about a fifth of the function's CPU time on
/// the 10,000-object benchmark.
#[cfg(debug_assertions)]
fn snapshot(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(metadata) = copy.get_mut("metadata") {
        *metadata = Value::Null;
    }
    copy
}

#[cfg(debug_assertions)]
fn check_reported_change(before: &Value, after: &Value, reported: bool) {
    let actual = snapshot(after) != *before;
    assert_eq!(reported, actual, "GpuProfile edits reported changed={reported}, the object says {actual}: {after}");
}

/// Apply the profile to one object.
pub(crate) fn apply(
    spec: &GpuProfileSpec,
    obj: &mut Value,
    results: &mut Vec<KrmResult>,
    models: &Resolver<'_>,
) -> Applied {
    #[cfg(debug_assertions)]
    let before = snapshot(obj);
    let mut changed = false;
    let subject = Subject::of(obj);
    // The GPU spec as applied (`count: auto` resolved for this workload).
    let mut resolved: Option<GpuSpec> = None;
    let sites: Vec<PodSite> =
        locator::pod_sites(obj).into_iter().filter(|s| spec.ray_head || !s.role.is_ray_head()).collect();
    for site in &sites {
        let Some(slot) = locator::main_container(obj, site, spec.container.as_deref()) else {
            let what = spec
                .container
                .as_deref()
                .map_or_else(|| "no container".to_string(), |n| format!("no container named {n:?}"));
            results.push(
                KrmResult::new(Severity::Warning, format!("{what} in {}; GPU profile not applied there", site.spec))
                    .about(&subject),
            );
            continue;
        };
        if let Some(configured) = &spec.gpu {
            let gpu = match configured.count {
                GpuCount::Fixed(_) => configured.clone(),
                GpuCount::Auto => match auto_count(configured, obj, site, &slot, &subject, results, models) {
                    Some(n) => GpuSpec { count: GpuCount::Fixed(n), ..configured.clone() },
                    None => continue,
                },
            };
            let gpu = &gpu;
            changed |= set_resources(obj, &slot, gpu);
            resolved = Some(gpu.clone());
            if gpu.count.fixed() > 0 {
                if let Some(product) = &gpu.product {
                    changed |= set_node_selector(obj, site, product);
                }
                if spec.tolerations {
                    changed |= add_toleration(obj, site, &gpu.resource);
                }
            }
            changed |= tensor_parallel(spec, gpu, obj, site, &slot, &subject, results);
        }
        if let Some(class) = &spec.runtime_class_name {
            // ServingRuntime pod specs have no runtimeClassName field.
            if site.role != PodRole::Runtime
                && let Some(s) = site.spec.get_mut(obj).and_then(Value::as_object_mut)
            {
                let class = Value::String(class.clone());
                changed |= replaced(s.insert("runtimeClassName".into(), class.clone()), &class);
            }
        }
        if let Some(size) = &spec.shared_memory {
            changed |= shared_memory(obj, site, &slot, size, &subject, results);
        }
    }
    let recreate_saved_gpus = spec.strategy.and_then(|mode| {
        let location = rollout::strategy_location_in(obj, spec.kserve_default());
        if location.is_none() && rollout::is_kserve_inference_service(obj) {
            // Knative rolls a new revision beside the old one and ModelMesh
            // has no pods of its own: KServe would ignore the field.
            results.push(
                KrmResult::new(
                    Severity::Info,
                    format!(
                        "strategy not set: this InferenceService is deployed in {:?} mode, where KServe does not \
                         read spec.predictor.deploymentStrategy (annotate serving.kserve.io/deploymentMode: \
                         RawDeployment, or set kserveDefaultDeploymentMode: Standard for a cluster whose default it is)",
                        rollout::kserve_deployment_mode(obj, spec.kserve_default())
                    ),
                )
                .about(&subject),
            );
        }
        let recreate = strategy(mode, resolved.as_ref(), obj, location?)?;
        changed |= recreate.changed;
        recreate.saved_gpus
    });
    #[cfg(debug_assertions)]
    check_reported_change(&before, obj, changed);
    Applied { changed, recreate_saved_gpus }
}

fn set_node_selector(obj: &mut Value, site: &PodSite, product: &str) -> bool {
    let Some(spec) = site.spec.get_mut(obj) else {
        return false;
    };
    let created = creates(spec, "nodeSelector");
    let Some(selector) = ensure_object(spec, "nodeSelector") else {
        return false;
    };
    let product = Value::String(product.to_string());
    replaced(selector.insert("nvidia.com/gpu.product".into(), product.clone()), &product) || created
}

/// `count: auto`: the smallest GPU count (= TP × PP) at which the
/// workload's model fits on `spec.gpu.product` at its `--max-model-len`,
/// by gpufit's memory model — the same numbers `kubectl gpufit model`
/// prints. `None`, with an error result, when it cannot be sized.
fn auto_count(
    gpu: &GpuSpec,
    obj: &Value,
    site: &PodSite,
    slot: &ContainerSlot,
    subject: &Subject,
    results: &mut Vec<KrmResult>,
    models: &Resolver<'_>,
) -> Option<u32> {
    use gpuops_model::{catalog, container, memory};
    let fail = |results: &mut Vec<KrmResult>, message: String| {
        results.push(KrmResult::new(Severity::Error, message).about(subject).at(
            "spec.gpu.count",
            Some(json!("auto")),
            None,
        ));
        None
    };
    if matches!(site.role, PodRole::RayHead | PodRole::RayWorker(_) | PodRole::LwsLeader | PodRole::LwsWorker) {
        return fail(
            results,
            format!(
                "count: auto sizes single-pod serving; {} spans pods (Ray, LeaderWorkerSet): set a fixed spec.gpu.count",
                site.spec
            ),
        );
    }
    let container = slot.path.get(obj)?;
    if !vllm::is_vllm(container) {
        return fail(results, format!("count: auto needs a vLLM container to size; {} is not one", slot.path));
    }
    // The object's and the pod template's annotations, as gpufit's check reads them.
    let annotations = container::annotations_of(obj, site.metadata.as_ref().and_then(|m| m.get(obj)));
    let Some(reference) = container::model_reference(container, &annotations) else {
        return fail(
            results,
            "count: auto: no model to size (no --model, `vllm serve MODEL`, storageUri or gpuops.dev/model)".into(),
        );
    };
    let args = container::engine_args(container, &annotations);
    let shape = match model_shape(gpu, &reference, annotations, args.max_model_len, models) {
        Ok(shape) => shape,
        Err(message) => return fail(results, message),
    };
    let product = gpu.product.as_deref().unwrap_or_default();
    let info: catalog::GpuInfo = catalog::gpu_product(product)?.into();
    let pipeline = args.pipeline_parallel.max(1);
    let max = u64::from(gpu.max_count.unwrap_or(8));
    let mut last = None;
    for tp in 1..=(max / pipeline).max(1) {
        let fit = memory::evaluate(&shape, &info, &memory::EngineArgs { tensor_parallel: tp, ..args.clone() });
        // The model, not the TP size, is what gpuops cannot size (an
        // encoder-decoder multimodal model): every count would "not fit"
        // for a reason no count changes, so no count is chosen.
        if let Some(reason) = &fit.not_sized {
            return fail(
                results,
                format!("count: auto cannot choose a GPU count for {reference}: {reason}; set a fixed spec.gpu.count"),
            );
        }
        if tp == 1 {
            assumed(&fit, &reference, product, subject, results);
        }
        if fit.fits {
            results.push(
                KrmResult::new(
                    Severity::Info,
                    format!(
                        "count: auto: {reference} fits {product} at --tensor-parallel-size {tp}{} ({} GPU(s)): {:.1} GiB of weights per GPU, context up to {} tokens for --max-model-len {}",
                        if pipeline > 1 { format!(" × {pipeline} pipeline stages") } else { String::new() },
                        tp * pipeline,
                        fit.weights_per_gpu_gib,
                        fit.max_context,
                        fit.max_model_len
                    ),
                )
                .about(subject),
            );
            return u32::try_from(tp * pipeline).ok();
        }
        last = Some(fit);
    }
    let why = last.and_then(|f| f.problems.into_iter().next()).unwrap_or_default();
    fail(results, format!("count: auto: {reference} does not fit on up to {max} {product} GPU(s): {why}"))
}

/// The shape `count: auto` sizes: `spec.gpu.modelConfig`, else what the
/// resolver finds, with the `gpuops.dev/model-*` annotations over it (as
/// gpufit's check reads them); the error result's message otherwise.
fn model_shape(
    gpu: &GpuSpec,
    reference: &str,
    annotations: std::collections::BTreeMap<String, String>,
    max_model_len: Option<u64>,
    models: &Resolver<'_>,
) -> Result<gpuops_model::shape::ModelShape, String> {
    use gpuops_model::{hfconfig, resolve};
    let found = match &gpu.model_config {
        Some(path) => match hfconfig::load(std::path::Path::new(path), reference) {
            Ok(shape) => Some(shape),
            Err(e) => return Err(format!("count: auto: spec.gpu.modelConfig: {e}")),
        },
        None => match models.lookup(reference) {
            Some(Ok(found)) => Some(found.shape),
            Some(Err(e)) => return Err(format!("count: auto: {reference}: {e}")),
            None => None,
        },
    };
    let overrides: std::collections::BTreeMap<String, String> =
        annotations.into_iter().filter(|(k, _)| k.starts_with("gpuops.dev/model-")).collect();
    resolve::annotated(found.as_ref(), reference, &overrides, max_model_len).ok_or_else(|| {
        format!(
            "count: auto: {reference} is not in gpuops' model catalog; set spec.gpu.modelConfig to its config.json (a path this function can read), the annotations gpuops.dev/model-params, -layers, -kv-heads, -head-dim, or a fixed spec.gpu.count"
        )
    })
}

/// What the memory model assumed to size `reference` (`MemoryFit::notes`:
/// "vLLM version unknown: assumed X"), one warning each: the count is
/// chosen on that assumption, so the user is told where it came from and
/// how to pin it. The sizing's notes do not depend on the TP size, so the
/// first evaluation's are the ones said.
fn assumed(
    fit: &gpuops_model::memory::MemoryFit,
    reference: &str,
    product: &str,
    subject: &Subject,
    results: &mut Vec<KrmResult>,
) {
    for note in &fit.notes {
        results.push(
            KrmResult::new(
                Severity::Warning,
                format!(
                    "count: auto sized {reference} on {product} with {note} (pin it with the image tag vllm/vllm-openai:vX.Y.Z or the annotation gpuops.dev/vllm-version)"
                ),
            )
            .about(subject),
        );
    }
}

/// Whether it changed the container.
fn set_resources(obj: &mut Value, slot: &ContainerSlot, gpu: &GpuSpec) -> bool {
    let Some(container) = slot.path.get_mut(obj) else {
        return false;
    };
    let mut changed = container.is_object() && creates(container, "resources");
    let Some(resources) = ensure_object(container, "resources") else {
        return changed;
    };
    // A quantity written as a string (`"1"`) stays a string, in both maps.
    let quoted = ["limits", "requests"].iter().any(|key| {
        resources
            .get(*key)
            .and_then(Value::as_object)
            .is_some_and(|m| m.iter().any(|(k, v)| is_gpu(k) && v.is_string()))
    });
    // An empty or null map removed at the end is a change only if it was there.
    let existed = ["limits", "requests"].map(|key| resources.contains_key(key));
    for key in ["limits", "requests"] {
        let has_gpu = resources.get(key).and_then(Value::as_object).is_some_and(|m| m.keys().any(|k| is_gpu(k)));
        if gpu.count.fixed() == 0 && !has_gpu {
            continue;
        }
        let entry = resources.entry(key.to_string()).or_insert(Value::Null);
        if entry.is_null() {
            // A map created here and left empty is removed below: no change.
            *entry = Value::Object(Map::new());
        }
        let Some(map) = entry.as_object_mut() else {
            continue;
        };
        let stale: Vec<String> = map.keys().filter(|k| is_gpu(k) && **k != gpu.resource).cloned().collect();
        changed |= !stale.is_empty();
        for k in stale {
            map.shift_remove(&k);
        }
        if gpu.count.fixed() == 0 {
            changed |= map.shift_remove(&gpu.resource).is_some();
        } else {
            // Keep `"2"` as written when it already says 2.
            let same = map.get(&gpu.resource).is_some_and(|v| quantity_equals(v, gpu.count.fixed()));
            if !same {
                let count = gpu.count.fixed();
                map.insert(gpu.resource.clone(), if quoted { json!(count.to_string()) } else { json!(count) });
                changed = true;
            }
        }
    }
    for (key, existed) in ["limits", "requests"].into_iter().zip(existed) {
        if resources.get(key).and_then(Value::as_object).is_some_and(Map::is_empty) {
            resources.shift_remove(key);
            changed |= existed;
        }
    }
    changed
}

fn quantity_equals(value: &Value, count: u32) -> bool {
    match value {
        Value::Number(n) => n.as_u64() == Some(u64::from(count)),
        Value::String(s) => s.trim().parse::<u64>().ok() == Some(u64::from(count)),
        _ => false,
    }
}

/// Whether it added one (a list created for it included).
fn add_toleration(obj: &mut Value, site: &PodSite, resource: &str) -> bool {
    let Some(list) = site.spec.get_mut(obj).and_then(|s| ensure_array(s, "tolerations")) else {
        return false;
    };
    let tolerated = list.iter().any(|t| {
        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
        let key_ok = s("key") == resource || s("key").is_empty();
        let effect_ok = s("effect").is_empty() || s("effect") == "NoSchedule";
        key_ok && effect_ok && s("operator") == "Exists"
    });
    // A list created here is empty, so it never tolerates: the push covers it.
    if !tolerated {
        list.push(json!({"key": resource, "operator": "Exists", "effect": "NoSchedule"}));
    }
    !tolerated
}

fn tensor_parallel(
    spec: &GpuProfileSpec,
    gpu: &GpuSpec,
    obj: &mut Value,
    site: &PodSite,
    slot: &ContainerSlot,
    subject: &Subject,
    results: &mut Vec<KrmResult>,
) -> bool {
    let count = gpu.count.fixed();
    if spec.tensor_parallel == TensorParallelMode::Off || count == 0 {
        return false;
    }
    let Some(container) = slot.path.get(obj) else {
        return false;
    };
    if !vllm::is_vllm(container) {
        return false;
    }
    // Across nodes (Ray, LeaderWorkerSet) TP×PP spans several pods: the
    // per-pod GPU count does not determine it.
    if matches!(site.role, PodRole::RayHead | PodRole::RayWorker(_) | PodRole::LwsLeader | PodRole::LwsWorker) {
        return false;
    }
    let field = |name: &str| format!("{}.args ({name})", slot.path);
    let pipeline: u32 =
        vllm::get_flag(container, vllm::PIPELINE_PARALLEL).and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    if !count.is_multiple_of(pipeline) {
        results.push(
            KrmResult::new(
                Severity::Error,
                format!("{count} GPUs cannot be split into --pipeline-parallel-size {pipeline} stages"),
            )
            .about(subject)
            .at(field("--pipeline-parallel-size"), Some(json!(pipeline)), None),
        );
        return false;
    }
    let wanted = count / pipeline;
    let current = vllm::get_flag(container, vllm::TENSOR_PARALLEL);
    match spec.tensor_parallel {
        TensorParallelMode::Check => {
            let current_n: u32 = current.as_deref().and_then(|v| v.parse().ok()).unwrap_or(1);
            if current_n != wanted {
                results.push(
                    KrmResult::new(
                        Severity::Error,
                        format!(
                            "--tensor-parallel-size is {current_n} but the pod gets {} GPU(s){}; {}",
                            count,
                            if pipeline > 1 { format!(" for {pipeline} pipeline stages") } else { String::new() },
                            if current_n * pipeline > count {
                                "vLLM would fail to start".to_string()
                            } else {
                                format!("vLLM would leave {} GPU(s) idle", count - current_n * pipeline)
                            }
                        ),
                    )
                    .about(subject)
                    .at(
                        field("--tensor-parallel-size"),
                        Some(json!(current_n)),
                        Some(json!(wanted)),
                    ),
                );
            }
        }
        TensorParallelMode::Auto => {
            let Some(container) = slot.path.get_mut(obj) else {
                return false;
            };
            let edit = vllm::set_flag(container, vllm::TENSOR_PARALLEL, &wanted.to_string());
            if edit == FlagEdit::NotPossible {
                results.push(
                    KrmResult::new(
                        Severity::Warning,
                        format!(
                            "cannot add --tensor-parallel-size={wanted}: the shell script does not invoke vllm serve or vllm.entrypoints.openai.api_server where it can be seen; add the flag to the script"
                        ),
                    )
                    .about(subject)
                    .at(slot.path.to_string(), None, Some(json!(wanted))),
                );
            }
            return matches!(edit, FlagEdit::Replaced { .. } | FlagEdit::Appended);
        }
        TensorParallelMode::Off => {}
    }
    false
}

fn shared_memory(
    obj: &mut Value,
    site: &PodSite,
    slot: &ContainerSlot,
    size: &str,
    subject: &Subject,
    results: &mut Vec<KrmResult>,
) -> bool {
    let mounted_as = slot
        .path
        .get(obj)
        .and_then(|c| c.get("volumeMounts"))
        .and_then(Value::as_array)
        .and_then(|mounts| mounts.iter().find(|m| m.get("mountPath").and_then(Value::as_str) == Some(SHM_PATH)))
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let volume_name = mounted_as.clone().unwrap_or_else(|| SHM_VOLUME.to_string());
    // A `volumes` list created here gets the volume pushed below.
    let Some(volumes) = site.spec.get_mut(obj).and_then(|s| ensure_array(s, "volumes")) else {
        return false;
    };
    let mut changed = false;
    match volumes.iter_mut().find(|v| v.get("name").and_then(Value::as_str) == Some(volume_name.as_str())) {
        Some(volume) if volume.get("emptyDir").is_some() => {
            changed |= creates(volume, "emptyDir");
            if let Some(dir) = ensure_object(volume, "emptyDir") {
                let (medium, limit) = (json!("Memory"), json!(size));
                changed |= replaced(dir.insert("medium".into(), medium.clone()), &medium);
                changed |= replaced(dir.insert("sizeLimit".into(), limit.clone()), &limit);
            }
        }
        Some(_) => {
            let path = FieldPath(site.spec.0.clone()).key("volumes");
            results.push(
                KrmResult::new(
                    Severity::Warning,
                    format!("volume {volume_name:?} at {SHM_PATH} is not an emptyDir; sharedMemory not applied"),
                )
                .about(subject)
                .at(path.to_string(), None, None),
            );
            return false;
        }
        None => {
            volumes.push(json!({"name": volume_name, "emptyDir": {"medium": "Memory", "sizeLimit": size}}));
            changed = true;
        }
    }
    if mounted_as.is_none()
        && let Some(mounts) = slot.path.get_mut(obj).and_then(|c| ensure_array(c, "volumeMounts"))
    {
        mounts.push(json!({"name": SHM_VOLUME, "mountPath": SHM_PATH}));
        changed = true;
    }
    changed
}

/// What `strategy` did.
struct Recreate {
    changed: bool,
    /// For `auto` switches, the extra GPUs a rolling update would have needed.
    saved_gpus: Option<u64>,
}

fn strategy(
    mode: StrategyMode,
    gpu: Option<&GpuSpec>,
    obj: &mut Value,
    location: StrategyLocation,
) -> Option<Recreate> {
    let current =
        obj.pointer(&format!("{}/type", location.pointer())).and_then(Value::as_str).unwrap_or("RollingUpdate");
    if current == "Recreate" {
        return None;
    }
    let mut saved = None;
    if mode == StrategyMode::Auto {
        // The same rollout model gpufit checks: only a surge that must fit
        // beside every old pod needs GPUs of its own.
        let gpus = u64::from(gpu.map_or(0, |g| g.count.fixed()));
        let surge = Rollout::of(obj, rollout::desired_replicas(obj)).blocking_surge();
        if gpus == 0 || surge == 0 {
            return None;
        }
        saved = Some(surge * gpus);
    }
    let parent = obj.pointer_mut(location.parent)?;
    // The type was not Recreate, so setting it is a change.
    let changed = if let Some(strategy) = ensure_object(parent, location.key) {
        strategy.insert("type".into(), json!("Recreate"));
        // The API rejects rollingUpdate alongside Recreate.
        strategy.shift_remove("rollingUpdate");
        true
    } else {
        false
    };
    Some(Recreate { changed, saved_gpus: saved })
}
