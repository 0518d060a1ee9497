//! What [`super::check`] reads, gathered one object at a time: each
//! workload becomes its pod groups as it arrives and its object can be
//! dropped, so a caller streaming a large render (the Argo CD plugin's fit
//! gate) never holds every object as a `Value` (about 13x its YAML text).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::workloads::{Engine, PodGroup, Workload, WorkloadError, pod_groups};
use gpuops_manifest::locator::{self, PodRole};
use gpuops_model::resolve::ModelRequest;

/// Kinds read whole after the workloads are read: admission's
/// (`admission::admit`: PriorityClass, LimitRange, RuntimeClass,
/// ResourceQuota) and Kueue's (`kueue::admit`: LocalQueue, ClusterQueue,
/// ResourceFlavor). Both select them by `kind` alone, as here.
const POLICY_KINDS: &[&str] =
    &["PriorityClass", "LimitRange", "RuntimeClass", "ResourceQuota", "LocalQueue", "ClusterQueue", "ResourceFlavor"];

/// The objects of a render, pushed one by one in the render's order.
#[derive(Default)]
pub struct Inputs {
    /// The pod groups read so far, in one vector: a vector per object
    /// would hold each group twice over once they are gathered.
    groups: Vec<Workload>,
    /// KServe predictors, with how many groups came before them: their
    /// engine comes from a ServingRuntime that may come later in the
    /// stream, so they are read at [`Inputs::finish`].
    later: Vec<(usize, Value)>,
    /// The first object that cannot be read: `check` fails with it, unless
    /// a predictor before it fails first.
    failed: Option<WorkloadError>,
    /// ServingRuntime / ClusterServingRuntime by name, the last one winning.
    runtimes: BTreeMap<String, Value>,
    policy: Vec<Value>,
}

/// What [`Inputs::finish`] hands `check`.
pub(super) struct Gathered {
    pub groups: Vec<PodGroup>,
    /// The engine of each group, indexed like `groups`.
    pub engines: Vec<Option<Engine>>,
    /// The policy objects, in the render's order.
    pub policy: Vec<Value>,
}

fn is_runtime(kind: &str) -> bool {
    matches!(kind, "ServingRuntime" | "ClusterServingRuntime")
}

impl Inputs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Read one object of the render; the caller may drop it afterwards.
    pub fn push(&mut self, object: &Value) {
        if self.failed.is_some() {
            // `check` fails with an earlier object: nothing later is read.
            return;
        }
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        if is_runtime(kind)
            && let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str)
        {
            self.runtimes.insert(name.to_string(), object.clone());
        }
        if POLICY_KINDS.contains(&kind) {
            self.policy.push(object.clone());
        }
        if locator::pod_sites(object).iter().any(|s| s.role == PodRole::Predictor) {
            self.later.push((self.groups.len(), object.clone()));
            return;
        }
        // No predictor: its groups do not depend on the runtimes.
        match pod_groups(object, &BTreeMap::new()) {
            Ok(groups) => self.groups.extend(groups),
            Err(e) => self.failed = Some(e),
        }
    }

    /// The pod groups read so far, in order (predictors are read at the end).
    pub fn groups(&self) -> impl Iterator<Item = &PodGroup> {
        self.groups.iter().map(|w| &w.group)
    }

    /// The models the workloads read so far serve, each once, with the
    /// annotations of the first workload that names it: what the caller
    /// resolves before the check. A predictor is read against the runtimes
    /// seen so far (the check reads it again at the end).
    pub fn model_requests(&self) -> Vec<ModelRequest> {
        let predictors = self.later.iter().filter_map(|(_, object)| pod_groups(object, &self.runtimes).ok()).flatten();
        let mut seen = std::collections::BTreeSet::new();
        let mut requests = Vec::new();
        let engines = self.groups.iter().filter_map(|w| w.engine.clone()).chain(predictors.filter_map(|w| w.engine));
        for engine in engines {
            if seen.insert(engine.model.clone()) {
                requests.push(ModelRequest { reference: engine.model, overrides: engine.overrides });
            }
        }
        requests
    }

    /// Every pod group in the render's order, or the first object's error.
    pub(super) fn finish(self) -> Result<Gathered, WorkloadError> {
        let Inputs { mut groups, later, failed, runtimes, policy } = self;
        // Every predictor was pushed before the failed object, if any.
        let mut read = Vec::with_capacity(later.len());
        for (at, object) in later {
            read.push((at, pod_groups(&object, &runtimes)?));
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if !read.is_empty() {
            let mut rest = std::mem::take(&mut groups).into_iter();
            groups.reserve(rest.len() + read.iter().map(|(_, g)| g.len()).sum::<usize>());
            let mut placed = 0;
            for (at, predictor) in read {
                groups.extend(rest.by_ref().take(at - placed));
                placed = at;
                groups.extend(predictor);
            }
            groups.extend(rest);
        }
        // Split for the scheduling library, which reads groups only.
        let (groups, engines): (Vec<PodGroup>, Vec<Option<Engine>>) =
            groups.into_iter().map(|w| (w.group, w.engine)).unzip();
        Ok(Gathered { groups, engines, policy })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{CheckOptions, check, check_each, check_inputs};
    use super::*;
    use crate::pools::synthetic;

    fn runtime() -> Value {
        json!({"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime", "metadata": {"name": "vllm"},
            "spec": {"containers": [{"name": "kserve-container", "image": "vllm/vllm-openai", "args": ["--max-model-len=8192"]}]}})
    }

    fn isvc(gpus: Value) -> Value {
        json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "q", "namespace": "llm"},
            "spec": {"predictor": {"model": {"runtime": "vllm", "modelFormat": {"name": "vLLM"},
                "storageUri": "hf://Qwen/Qwen2.5-7B-Instruct", "resources": {"limits": {"nvidia.com/gpu": gpus}}}}}})
    }

    fn deployment(name: &str, replicas: Value, gpus: u64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "llm"},
            "spec": {"replicas": replicas, "strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [
                {"name": "c", "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}}}})
    }

    /// Pushed one at a time, an InferenceService before its ServingRuntime
    /// still reads the runtime's vLLM args, and stays in its place.
    #[test]
    fn an_inference_service_before_its_runtime_reads_it() {
        let mut inputs = Inputs::new();
        let mut last = isvc(json!(1));
        last["metadata"]["name"] = json!("r");
        for object in [deployment("a", json!(1), 1), isvc(json!(1)), deployment("b", json!(1), 1), runtime(), last] {
            inputs.push(&object);
        }
        // The models are resolved before the check, as every caller does.
        let models = gpuops_model::resolve::Resolver::catalog().resolve_all(&inputs.model_requests());
        let options = CheckOptions { models, ..CheckOptions::default() };
        let report = check_inputs(&synthetic("1*8xH100-80GB").unwrap(), inputs, options).unwrap();
        let names: Vec<String> = report.workloads.iter().map(|w| w.workload.to_string()).collect();
        assert_eq!(names, ["Deployment/llm/a", "InferenceService/llm/q", "Deployment/llm/b", "InferenceService/llm/r"]);
        let memory = report.workloads[1].memory.as_ref().unwrap();
        assert_eq!(memory.fit.as_ref().unwrap().max_model_len, 8192, "{memory:?}");
    }

    /// The first object that cannot be read is the error, an
    /// InferenceService read at the end included.
    #[test]
    fn the_first_unreadable_object_is_the_error() {
        let objects = [isvc(json!("-1")), deployment("bad", json!(-3), 1), runtime()];
        let err = check(&synthetic("1*8xH100-80GB").unwrap(), &objects, CheckOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("InferenceService/llm/q: "), "{err}");
    }

    /// Workload by workload, `check_each` says what `check` says: the same
    /// explanation, block by block, and the same verdict.
    #[test]
    fn check_each_explains_what_check_reports() {
        let cluster = synthetic("1*8xH100-80GB").unwrap();
        let objects = [deployment("fits", json!(2), 2), deployment("big", json!(1), 16), isvc(json!(1)), runtime()];
        let report = check(&cluster, &objects, CheckOptions::default()).unwrap();
        let mut inputs = Inputs::new();
        objects.iter().for_each(|o| inputs.push(o));
        let (mut text, mut count) = (String::new(), 0);
        let summary = check_each(&cluster, inputs, CheckOptions::default(), |w| {
            w.explain_into(&mut text, super::super::max_gpus_per_node(&cluster), false);
            count += 1;
        })
        .unwrap();
        assert!(!report.fits && !summary.fits);
        assert_eq!(count, report.workloads.len());
        assert!(text.contains("Deployment/llm/big:\n  0/1 nodes are available"), "{text}");
        assert_eq!(text, report.explain());
    }
}
