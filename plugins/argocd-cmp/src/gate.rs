//! The fit gate: its mode, the cluster it checks against, and the check
//! itself under the render's deadline and stop flag.

use std::path::Path;

use crate::root::{Outside, Repo};
use crate::run::Budget;
use crate::{Error, env};

/// The fit gate's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Off,
    Warn,
    Enforce,
}

pub(crate) fn gate(params: &env::Parameters) -> Result<Gate, Error> {
    match params.string("fit-gate").unwrap_or("off") {
        "off" => Ok(Gate::Off),
        "warn" => Ok(Gate::Warn),
        "enforce" => Ok(Gate::Enforce),
        other => Err(Error::Parameters(format!("parameter fit-gate: {other:?} is not off, warn or enforce"))),
    }
}

fn looks_like_a_file(spec: &str) -> bool {
    spec.contains(['/', '\\']) || [".yaml", ".yml", ".json"].iter().any(|e| spec.ends_with(e))
}

/// The cluster the fit gate checks against: a dump file in the repository
/// (relative to the app), or synthetic pools (`2*8xH100-80GB`). A file
/// outside the repository is refused before it is opened, so its content
/// can never reach a message.
pub(crate) fn capacity(dir: &Path, repo: &Repo, spec: &str) -> Result<gpuops_schedule::cluster::Cluster, Error> {
    let shown = gpuops_manifest::text::printable(spec);
    let path = match repo.resolve(dir, spec) {
        Ok(path) if path.is_file() => path,
        Ok(_) | Err(Outside::Missing(_)) if !looks_like_a_file(spec) => {
            return gpuops_fit::pools::synthetic(spec).map_err(|e| Error::Capacity(e.to_string()));
        }
        Ok(_) => return Err(Error::Capacity(format!("\"{shown}\" is not a file"))),
        Err(outside) => return Err(Error::Capacity(outside.to_string())),
    };
    let bytes = gpuops_manifest::input::read_bytes(&path)?;
    let cluster = gpuops_schedule::cluster::from_dump(&bytes, &shown).map_err(|e| Error::Capacity(e.to_string()))?;
    if cluster.nodes.is_empty() {
        return Err(Error::Capacity(format!("{shown}: no Node objects")));
    }
    Ok(cluster)
}

/// What the gate said.
pub(crate) struct Verdict {
    /// `None` when every workload fits.
    pub does_not_fit: Option<DoesNotFit>,
    /// `Kind/namespace/name` of each workload whose memory verdict assumed
    /// something (an unknown vLLM version, a time-sliced GPU's other pods)
    /// → its lines for the `gpuops.dev/warnings` annotation, fit or not: a
    /// "fits" computed on an assumption is shown as one.
    pub warnings: Vec<(String, String)>,
}

/// What the gate found that does not fit.
pub(crate) struct DoesNotFit {
    pub cluster: String,
    pub explanation: String,
    /// `Kind/namespace/name` of each workload that does not fit → one
    /// line saying why, for its `gpuops.dev/fit` annotation.
    pub findings: Vec<(String, String)>,
}

/// Run the check on its own thread and wait for it only while the budget
/// lasts: past the deadline or on SIGTERM the render ends at once (the
/// process exits with the thread still working), instead of after a
/// placement that may take seconds.
pub(crate) fn check(
    cluster: gpuops_schedule::cluster::Cluster,
    inputs: gpuops_fit::report::Inputs,
    kube_version: gpuops_schedule::cluster::KubeVersion,
    models: gpuops_model::resolve::Resolver<'static>,
    budget: &Budget,
) -> Result<Verdict, Error> {
    budget.check("the fit gate")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The render's resolver: the gate sizes models as `count: auto` did.
        let options = gpuops_fit::report::CheckOptions {
            scheduler: gpuops_schedule::scheduler::Options { kube_version, ..Default::default() },
            models: models.resolve_all(&inputs.model_requests()),
            ..Default::default()
        };
        // Each workload's report is explained and dropped as it comes: the
        // gate holds the text, never every report (a render of tens of
        // thousands of workloads stays within the sidecar's memory).
        let max_gpus = gpuops_fit::report::max_gpus_per_node(&cluster);
        let mut explanation = Explanation::default();
        let explain = |w: gpuops_fit::report::WorkloadReport| explanation.add(&w, max_gpus);
        let summary = gpuops_fit::report::check_each(&cluster, inputs, options, explain);
        let verdict = summary.map(|summary| {
            let warnings = std::mem::take(&mut explanation.warnings);
            let does_not_fit = (!summary.fits).then(|| {
                let findings = std::mem::take(&mut explanation.findings);
                DoesNotFit { cluster: cluster.source.clone(), explanation: explanation.finish(), findings }
            });
            Verdict { does_not_fit, warnings }
        });
        // The receiver is gone when the render already ended.
        let _ = sender.send(verdict.map_err(|e| Error::Gate(e.to_string())));
    });
    let verdict = budget.wait("the fit gate", &receiver)?;
    budget.check("the fit gate")?;
    Ok(verdict)
}

/// The most explanation the gate keeps: Argo CD shows (and caches) all of
/// it in the app's conditions, where the first workloads that do not fit
/// say what to fix; tens of thousands of blocks would only cost the
/// sidecar's memory (24 MiB on a 40 MiB render of 35,593 Deployments).
const EXPLANATION_CAP: usize = 64 * 1024;

/// Workloads' explanations up to [`EXPLANATION_CAP`], then a count of the
/// ones left out.
#[derive(Default)]
struct Explanation {
    text: String,
    block: String,
    omitted: usize,
    findings: Vec<(String, String)>,
    warnings: Vec<(String, String)>,
}

/// The longest `gpuops.dev/fit` value: a line in Argo CD's diff, not the
/// whole explanation (that is in the sync's message).
const FINDING_CAP: usize = 512;

impl Explanation {
    fn add(&mut self, workload: &gpuops_fit::report::WorkloadReport, max_gpus: u64) {
        if !workload.fits {
            // Deterministic (no time, no count of runs): the same render
            // gives the same annotation, so Argo CD shows no perpetual diff.
            // The scheduler's message, else the first problem (vLLM refusing
            // to start on a GPU whose memory another pod holds is placed,
            // and does not fit all the same).
            let first = workload.problems.first().map(ToString::to_string);
            let why = workload.message.as_deref().or(first.as_deref()).unwrap_or("not every pod placed");
            let role = workload.role.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
            let line = format!("does not fit{role}: {} of {} pod(s) placed: {why}", workload.placed, workload.replicas);
            self.findings
                .push((workload.workload.to_string(), gpuops_manifest::text::printable_prefix(&line, FINDING_CAP)));
        }
        // Deterministic too: the notes name versions, nodes and workloads, never a time.
        let role = workload.role.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
        for note in workload.memory_notes() {
            let line = format!("fit gate{role}: {note}");
            self.warnings
                .push((workload.workload.to_string(), gpuops_manifest::text::printable_prefix(&line, FINDING_CAP)));
        }
        // A placed workload whose memory gpuops could not check (a model
        // or GPU it does not know, a model it cannot size) passes the gate:
        // say so where Argo CD shows it, never a silent pass.
        if workload.fits
            && workload.memory_unchecked()
            && let Some(why) = workload.memory.as_ref().and_then(|m| m.message.as_ref())
        {
            let line = format!("fit gate{role}: memory unchecked: {why}");
            self.warnings
                .push((workload.workload.to_string(), gpuops_manifest::text::printable_prefix(&line, FINDING_CAP)));
        }
        self.block.clear();
        workload.explain_into(&mut self.block, max_gpus, false);
        if self.block.trim().is_empty() {
            return;
        }
        if self.text.len() + self.block.len() <= EXPLANATION_CAP {
            self.text.push_str(&self.block);
        } else {
            self.omitted += 1;
        }
    }

    fn finish(mut self) -> String {
        if self.omitted > 0 {
            let _ = std::fmt::Write::write_fmt(
                &mut self.text,
                format_args!(
                    "\n… and {} more workload(s) with problems, not shown (the first 64 KiB are)\n",
                    self.omitted
                ),
            );
        }
        // The first block's empty line, removed in place (no copy).
        let blank = self.text.len() - self.text.trim_start_matches('\n').len();
        self.text.drain(..blank);
        self.text
    }
}
