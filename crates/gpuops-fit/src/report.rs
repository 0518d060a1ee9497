//! `gpufit check`: placement, rollout and memory verdicts for every workload.

use serde::Serialize;
use serde_json::Value;

use crate::workloads::{Engine, PodGroup, Role, WorkloadError, WorkloadKind, WorkloadRef};
use gpuops_model::memory::MemoryFit;
use gpuops_model::resolve::Models;
use gpuops_schedule::cluster::Cluster;
use gpuops_schedule::scheduler::{self, Placement};

mod explain;
mod inputs;
mod memory_check;
mod shared_gpu;
mod warnings;
pub use inputs::Inputs;
use memory_check::{memory_report, sizing};

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Do not count rollout surge problems as "does not fit".
    pub ignore_rollout: bool,
    pub scheduler: scheduler::Options,
    /// The models' shapes as the caller's resolver found them
    /// (`gpuops_model::resolve::Resolver::resolve_all` over
    /// [`Inputs::model_requests`]): the check itself looks nowhere else.
    pub models: Models,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutReport {
    pub surge: u64,
    pub gpus_needed: i64,
    pub fits: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The memory verdict of one workload (`fits`, `does-not-fit`,
/// `unknown-model`, `unknown-gpu`, `not-sized`, `no-gpu`, `cpu` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryStatus {
    Fits,
    DoesNotFit,
    UnknownModel,
    UnknownGpu,
    /// The model and GPU are known but gpuops cannot size this model
    /// (`MemoryFit::not_sized`: an encoder-decoder multimodal model such as
    /// Mllama): unchecked like an unknown model, never "fits" nor "does
    /// not fit".
    NotSized,
    /// A vLLM pod that requests no GPU, with an image built for GPUs: vLLM
    /// fails to start ("Failed to infer device type") — a problem.
    NoGpu,
    /// A vLLM pod that requests no GPU and runs a CPU build: no GPU memory
    /// to check.
    Cpu,
}

impl MemoryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryStatus::Fits => "fits",
            MemoryStatus::DoesNotFit => "does-not-fit",
            MemoryStatus::UnknownModel => "unknown-model",
            MemoryStatus::UnknownGpu => "unknown-gpu",
            MemoryStatus::NotSized => "not-sized",
            MemoryStatus::NoGpu => "no-gpu",
            MemoryStatus::Cpu => "cpu",
        }
    }
}

/// What kind of check a problem comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Replicas the scheduler cannot place.
    Placement,
    /// A rolling update's surge pods that cannot be placed.
    Rollout,
    /// The model does not fit in GPU memory.
    Memory,
    /// vLLM's parallelism needs more GPUs than the pod asks for.
    Parallelism,
}

/// One reason a workload does not fit. JSON and text show it as one line,
/// prefixed `rollout: ` / `memory: ` for those kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ProblemKind::Rollout => write!(f, "rollout: {}", self.message),
            ProblemKind::Memory => write!(f, "memory: {}", self.message),
            ProblemKind::Placement | ProblemKind::Parallelism => f.write_str(&self.message),
        }
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A workload's overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadStatus {
    Fits,
    /// Placed, but its rolling update would hang (reported under `--ignore-rollout`).
    FitsRolloutBlocked,
    /// Placed by evicting `pods` lower-priority pods, `pdb_violations` of
    /// them against a PodDisruptionBudget (preemption evicts them anyway).
    FitsByPreempting {
        pods: usize,
        pdb_violations: usize,
    },
    /// Placed, but its model or GPU is unknown (or the model cannot be
    /// sized): its memory is not checked.
    MemoryUnchecked,
    DoesNotFit,
}

impl WorkloadStatus {
    pub fn as_str(self) -> std::borrow::Cow<'static, str> {
        match self {
            WorkloadStatus::Fits => "fits".into(),
            WorkloadStatus::FitsRolloutBlocked => "fits (rollout blocked)".into(),
            WorkloadStatus::FitsByPreempting { pods, pdb_violations } => {
                format!("fits by {}", preemption_text(pods, pdb_violations)).into()
            }
            WorkloadStatus::MemoryUnchecked => "placed, memory unchecked".into(),
            WorkloadStatus::DoesNotFit => "does not fit".into(),
        }
    }
}

/// "preempting N pod(s)", with ", M violating a PodDisruptionBudget" when
/// any victim is protected by one.
pub(crate) fn preemption_text(pods: usize, pdb_violations: usize) -> String {
    match pdb_violations {
        0 => format!("preempting {pods} pod(s)"),
        m => format!("preempting {pods} pod(s), {m} violating a PodDisruptionBudget"),
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why [`check`] has no report.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Workloads that cannot be read.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// More replicas × nodes than the placement budget allows: an error,
    /// never a verdict (neither "fits" nor "does not fit" was decided).
    #[error(transparent)]
    TooLarge(#[from] scheduler::TooLarge),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryReport {
    /// The model as the manifest names it.
    pub reference: String,
    pub status: MemoryStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<MemoryFit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smallest_tp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the verdict assumed or could not know: "vLLM version unknown:
    /// assumed X" (the fit's notes), the pods it shares a time-sliced GPU
    /// with. Shown as the workload's warnings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadReport {
    /// `Kind/namespace/name` in JSON.
    pub workload: WorkloadRef,
    /// Which pods of the workload, none when it has one kind of pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub replicas: u64,
    pub placed: u64,
    pub gpus_per_pod: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_resource: Option<String>,
    pub nodes: Vec<String>,
    pub fits: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The whole event the cluster records (`kubectl describe pod`): the
    /// scheduler's FailedScheduling text with its preemption part, or the
    /// kubelet's rejection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<scheduler::Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Pods the scheduler evicts to place it (`namespace/name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preempts: Vec<String>,
    /// How many of [`Self::preempts`] a PodDisruptionBudget protects
    /// (the scheduler's `GroupPlacement::pdb_violations`): evicted anyway,
    /// a voluntary disruption of their workload. Absent from JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub pdb_violations: usize,
    /// What the fit could not model for this workload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryReport>,
    pub problems: Vec<Problem>,
}

impl WorkloadReport {
    /// Its model or GPU is unknown, or its model is one gpuops cannot size,
    /// so whether it fits in memory is not known.
    pub fn memory_unchecked(&self) -> bool {
        self.memory.as_ref().is_some_and(|m| {
            matches!(m.status, MemoryStatus::UnknownModel | MemoryStatus::UnknownGpu | MemoryStatus::NotSized)
        })
    }

    pub fn status(&self) -> WorkloadStatus {
        if !self.fits {
            WorkloadStatus::DoesNotFit
        } else if self.rollout.as_ref().is_some_and(|r| !r.fits) {
            WorkloadStatus::FitsRolloutBlocked
        } else if self.memory_unchecked() {
            WorkloadStatus::MemoryUnchecked
        } else if !self.preempts.is_empty() {
            WorkloadStatus::FitsByPreempting { pods: self.preempts.len(), pdb_violations: self.pdb_violations }
        } else {
            WorkloadStatus::Fits
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuSummary {
    pub resource: String,
    pub allocatable: i64,
    pub in_use_before: i64,
    pub free_after: i64,
    pub max_free_on_one_node: i64,
}

/// One GPU resource of one node after placement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeAfter {
    pub node: String,
    pub resource: String,
    pub allocatable: i64,
    /// Free before the checked workloads (bound pods subtracted).
    pub free_before: i64,
    /// Free once every placed replica is counted.
    pub free_after: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub cluster: String,
    pub nodes: usize,
    /// The most GPUs any one node has.
    pub max_gpus_per_node: u64,
    pub fits: bool,
    pub workloads: Vec<WorkloadReport>,
    pub gpus: Vec<GpuSummary>,
    /// What is left per node and GPU resource.
    pub nodes_after: Vec<NodeAfter>,
    /// What the verdict on this cluster could not know (each workload's
    /// own are under it): the PodDisruptionBudgets a preemption went
    /// without. Shown on stderr as `warning:` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// Everything checked fits, but some memory checks could not be made.
    pub fn unchecked(&self) -> bool {
        self.workloads.iter().any(WorkloadReport::memory_unchecked)
    }
}

fn rollout_report(
    cluster: &Cluster,
    groups: &[PodGroup],
    index: usize,
    placement: &Placement,
    options: scheduler::Options,
) -> Option<RolloutReport> {
    let group = &groups[index];
    let r = group.rollout;
    let gpus = group.gpus();
    // The same model inject's `strategy: auto` uses (gpuops_manifest::rollout).
    let surge = r.blocking_surge();
    if surge == 0 || gpus == 0 {
        return None;
    }
    let report = |message: Option<String>, fix: Option<&str>| RolloutReport {
        surge,
        gpus_needed: i64::try_from(surge).unwrap_or(i64::MAX).saturating_mul(gpus),
        fits: message.is_none(),
        message,
        fix: fix.map(str::to_string),
    };
    match scheduler::place_surge(cluster, groups, index, placement, surge, options) {
        Ok(()) => Some(report(None, None)),
        Err(why) => {
            let fix = match group.workload.kind {
                WorkloadKind::InferenceService => {
                    "use RawDeployment with spec.predictor.deploymentStrategy.type: Recreate (or rollingUpdate maxSurge: 0, maxUnavailable: 1)"
                }
                WorkloadKind::RayService => {
                    "disable the zero-downtime upgrade (ENABLE_ZERO_DOWNTIME=false or upgradeStrategy type None) or keep spare GPUs for a second cluster"
                }
                _ => "set spec.strategy.type: Recreate, or rollingUpdate maxSurge: 0 with maxUnavailable: 1",
            };
            Some(report(
                Some(format!(
                    "a rolling update starts {surge} new pod(s) with {gpus} GPU(s) each before stopping old ones, and they do not fit: {why}"
                )),
                Some(fix),
            ))
        }
    }
}

/// The models the workloads in `objects` serve ([`Inputs::model_requests`]):
/// what a caller resolves into [`CheckOptions::models`] before [`check`].
pub fn model_requests(objects: &[Value]) -> Vec<gpuops_model::resolve::ModelRequest> {
    let mut inputs = Inputs::new();
    objects.iter().for_each(|o| inputs.push(o));
    inputs.model_requests()
}

/// Check every workload in `objects` against `cluster`.
pub fn check(cluster: &Cluster, objects: &[Value], options: CheckOptions) -> Result<Report, CheckError> {
    let mut inputs = Inputs::new();
    for obj in objects {
        inputs.push(obj);
    }
    check_inputs(cluster, inputs, options)
}

/// [`check`] of objects gathered one at a time ([`Inputs::push`]).
pub fn check_inputs(cluster: &Cluster, inputs: Inputs, options: CheckOptions) -> Result<Report, CheckError> {
    let mut workloads = Vec::new();
    let summary = check_each(cluster, inputs, options, |w| workloads.push(w))?;
    let Summary { cluster, nodes, max_gpus_per_node, fits, gpus, nodes_after, warnings } = summary;
    Ok(Report { cluster, nodes, max_gpus_per_node, fits, workloads, gpus, nodes_after, warnings })
}

/// A [`Report`] without its workloads: what [`check_each`] returns once it
/// has handed each workload to its caller.
#[derive(Debug, Clone)]
pub struct Summary {
    pub cluster: String,
    pub nodes: usize,
    pub max_gpus_per_node: u64,
    /// Every workload fits.
    pub fits: bool,
    pub gpus: Vec<GpuSummary>,
    pub nodes_after: Vec<NodeAfter>,
    /// [`Report::warnings`].
    pub warnings: Vec<String>,
}

/// The most GPUs any one node of `cluster` has ([`Report::max_gpus_per_node`]).
pub fn max_gpus_per_node(cluster: &Cluster) -> u64 {
    cluster
        .nodes
        .iter()
        .map(|n| n.allocatable.iter().filter(|(k, _)| crate::workloads::is_gpu(k)).map(|(_, v)| *v).max().unwrap_or(0))
        .max()
        .unwrap_or(0) as u64
}

/// [`check_inputs`], handing each workload's report to `each` in order
/// instead of keeping them all: a caller that only needs the explanation
/// (the Argo CD plugin's fit gate) holds one report at a time.
pub fn check_each(
    cluster: &Cluster,
    inputs: Inputs,
    options: CheckOptions,
    mut each: impl FnMut(WorkloadReport),
) -> Result<Summary, CheckError> {
    let inputs::Gathered { mut groups, engines, policy } = inputs.finish()?;
    // Sized before admission too: its quota check admits replica by replica.
    scheduler::budget::size(cluster, &groups, options.scheduler.budget)?;
    let wanted: Vec<u64> = groups.iter().map(|g| g.replicas).collect();
    let admission = gpuops_schedule::admission::admit(&mut groups, &policy, cluster);
    drop(policy);
    let placement: Placement = scheduler::place(cluster, &groups, options.scheduler)?;
    let max_gpus_per_node = max_gpus_per_node(cluster);
    let mut fits = true;
    let sized = |index: usize| {
        let engine = engines[index].as_ref()?;
        sizing(cluster, &groups[index], engine, &placement.groups[index].nodes, &options.models).ok()
    };
    let tenancy =
        shared_gpu::Tenancy { cluster, groups: &groups, engines: &engines, placement: &placement, sized: &sized };
    let sharing = shared_gpu::plan(&tenancy);
    let checked = Checked {
        cluster,
        groups: &groups,
        engines: &engines,
        placement: &placement,
        options: &options,
        max_gpus_per_node,
        sharing: &sharing,
    };
    for (index, (refused, wanted)) in admission.refused.iter().zip(wanted).enumerate() {
        let report = checked.workload(index, refused.as_ref(), wanted);
        fits &= report.fits;
        each(report);
    }
    let (gpus, nodes_after) = gpu_summary(cluster, &placement);
    Ok(Summary {
        cluster: cluster.source.clone(),
        nodes: cluster.nodes.len(),
        max_gpus_per_node,
        fits,
        gpus,
        nodes_after,
        warnings: warnings::of_cluster(cluster, &placement),
    })
}

/// What every workload's report is made from.
struct Checked<'a> {
    cluster: &'a Cluster,
    groups: &'a [PodGroup],
    /// The engine of each group, indexed like `groups`.
    engines: &'a [Option<Engine>],
    placement: &'a Placement,
    options: &'a CheckOptions,
    max_gpus_per_node: u64,
    /// What sharing a time-sliced GPU does to each group's memory check.
    sharing: &'a [Option<shared_gpu::Sharing>],
}

impl Checked<'_> {
    /// The report of `groups[index]`: admission's refusal, placement,
    /// rollout, memory and parallelism.
    fn workload(&self, index: usize, refused: Option<&String>, wanted: u64) -> WorkloadReport {
        let Checked { cluster, groups, engines, placement, options, max_gpus_per_node, sharing } = *self;
        let (group, placed) = (&groups[index], &placement.groups[index]);
        let mut problems = Vec::new();
        if let Some(m) = refused {
            problems.push(Problem { kind: ProblemKind::Placement, message: m.clone() });
        }
        if let Some(m) = &placed.message {
            problems.push(Problem { kind: ProblemKind::Placement, message: m.clone() });
        }
        let rollout = rollout_report(cluster, groups, index, placement, options.scheduler);
        if let Some(r) = rollout.as_ref().filter(|r| !r.fits) {
            problems.push(Problem { kind: ProblemKind::Rollout, message: r.message.clone().unwrap_or_default() });
        }
        let engine = engines[index].as_ref();
        let sized = engine.map(|e| sizing(cluster, group, e, &placed.nodes, &options.models));
        let memory = memory_report(sized, engine, max_gpus_per_node, sharing[index].as_ref());
        if let Some(m) = memory.as_ref().filter(|m| matches!(m.status, MemoryStatus::DoesNotFit | MemoryStatus::NoGpu))
        {
            problems.push(Problem { kind: ProblemKind::Memory, message: m.message.clone().unwrap_or_default() });
        }
        if let Some(e) = engine.filter(|e| !e.multi_node) {
            let needed =
                i64::try_from(e.args.tensor_parallel.saturating_mul(e.args.pipeline_parallel)).unwrap_or(i64::MAX);
            if group.gpus() > 0 && needed > group.gpus() {
                problems.push(Problem {
                    kind: ProblemKind::Parallelism,
                    message: format!(
                        "vLLM needs tensor-parallel × pipeline-parallel = {needed} GPUs in the pod, which requests {}",
                        group.gpus()
                    ),
                });
            }
        }
        // Every problem blocks, except rollout ones under --ignore-rollout.
        let fits = problems.iter().all(|p| options.ignore_rollout && p.kind == ProblemKind::Rollout);
        WorkloadReport {
            workload: group.workload.clone(),
            role: group.role.clone(),
            replicas: if group.per_node { placed.wanted } else { wanted },
            placed: placed.nodes.len() as u64,
            gpus_per_pod: group.gpus(),
            gpu_resource: group.gpu_resource().map(str::to_string),
            nodes: placed.nodes.clone(),
            fits,
            message: placed.message.clone(),
            event: placed.event.clone(),
            hint: placed.hint.clone(),
            preempts: placed.preempted.clone(),
            pdb_violations: placed.pdb_violations,
            warnings: group.warnings.clone(),
            rollout,
            memory,
            problems,
        }
    }
}

/// Per GPU resource and per node, what is free before and after.
fn gpu_summary(cluster: &Cluster, placement: &Placement) -> (Vec<GpuSummary>, Vec<NodeAfter>) {
    let before = &placement.before;
    let mut resources: Vec<String> = cluster
        .nodes
        .iter()
        .flat_map(|n| n.allocatable.keys().filter(|k| crate::workloads::is_gpu(k)).cloned())
        .collect();
    resources.sort();
    resources.dedup();
    let gpus = resources
        .into_iter()
        .map(|resource| {
            let free = scheduler::free_per_node(cluster, &placement.used, &resource);
            // Saturating sums: a dump's `nvidia.com/gpu: 9e18` must not panic.
            let sum = |values: &mut dyn Iterator<Item = i64>| values.fold(0i64, i64::saturating_add);
            GpuSummary {
                allocatable: sum(&mut cluster.nodes.iter().filter_map(|n| n.allocatable.get(&resource).copied())),
                in_use_before: sum(&mut before.iter().filter_map(|u| u.requests.get(&resource).copied())),
                free_after: sum(&mut free.iter().map(|(_, f)| *f)),
                max_free_on_one_node: free.iter().map(|(_, f)| *f).max().unwrap_or(0),
                resource,
            }
        })
        .collect();
    let nodes_after = cluster
        .nodes
        .iter()
        .zip(before.iter().zip(&placement.used))
        .flat_map(|(n, (before, after))| {
            n.allocatable.iter().filter(|(k, _)| crate::workloads::is_gpu(k)).map(move |(resource, alloc)| NodeAfter {
                node: n.name.clone(),
                resource: resource.clone(),
                allocatable: *alloc,
                free_before: alloc.saturating_sub(before.requests.get(resource).copied().unwrap_or(0)),
                free_after: alloc.saturating_sub(after.requests.get(resource).copied().unwrap_or(0)),
            })
        })
        .collect();
    (gpus, nodes_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::synthetic;
    use serde_json::json;

    fn deployment(annotations: Value, max_len: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m", "namespace": "llm", "annotations": annotations},
            "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [{"name": "srv", "image": "vllm/vllm-openai",
                "args": ["--model=acme/custom-13b", format!("--max-model-len={max_len}")], "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}})
    }

    #[test]
    fn unknown_models_are_reported_not_guessed_and_annotations_describe_them() {
        let cluster = synthetic("1*1xL40S").unwrap();
        let report = check(&cluster, &[deployment(json!({}), "8192")], CheckOptions::default()).unwrap();
        assert_eq!(report.workloads[0].memory.as_ref().unwrap().status, MemoryStatus::UnknownModel);
        assert!(report.fits, "an unknown model is not a failure");
        assert!(report.unchecked(), "but not a fit either");
        assert_eq!(report.workloads[0].status(), WorkloadStatus::MemoryUnchecked);
        let partial =
            check(&cluster, &[deployment(json!({"gpuops.dev/model-params": "13B"}), "8192")], CheckOptions::default())
                .unwrap();
        let message = partial.workloads[0].memory.as_ref().unwrap().message.clone().unwrap();
        assert!(message.ends_with("set the missing annotation(s) gpuops.dev/model-layers, gpuops.dev/model-kv-heads, gpuops.dev/model-head-dim"), "{message}");

        let described = json!({"gpuops.dev/model-params": "13B", "gpuops.dev/model-layers": "40",
            "gpuops.dev/model-kv-heads": "40", "gpuops.dev/model-head-dim": "128"});
        let report = check(&cluster, &[deployment(described.clone(), "8192")], CheckOptions::default()).unwrap();
        let memory = report.workloads[0].memory.as_ref().unwrap();
        assert_eq!(memory.status, MemoryStatus::Fits, "{memory:?}");
        // 13B bf16 = 24.2 GiB on a 40.5 GiB-usable L40S; 800 KiB/token leaves ≈ 17k tokens.
        let fit = memory.fit.as_ref().unwrap();
        assert!((14_000..20_000).contains(&fit.max_context), "{}", fit.max_context);
        let report = check(&cluster, &[deployment(described, "32k")], CheckOptions::default()).unwrap();
        assert!(!report.fits);
        assert!(report.workloads[0].problems[0].to_string().starts_with("memory: To serve at least one request"));
    }
}
