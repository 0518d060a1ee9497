//! Why workloads do not fit, in words: the text `kubectl gpufit check`
//! prints below its table and the Argo CD plugin's fit gate on stderr.
//! One block per workload, so a caller that gets the workloads one at a
//! time ([`super::check_each`]) can write each and drop it.

use std::fmt::Write as _;

use super::{Report, WorkloadReport};

impl Report {
    /// Why each workload that does not fit does not, with hints and fixes,
    /// as `kubectl gpufit check` prints it below its table (and the Argo CD
    /// plugin's fit gate prints it on stderr): a block per workload, each
    /// starting with an empty line.
    pub fn explain(&self) -> String {
        self.explain_with(false)
    }

    /// [`Report::explain`], with each workload's whole event (`-o wide`).
    pub fn explain_with(&self, events: bool) -> String {
        let mut out = String::new();
        for w in &self.workloads {
            w.explain_into(&mut out, self.max_gpus_per_node, events);
        }
        out
    }
}

impl WorkloadReport {
    /// Whether [`WorkloadReport::explain_into`] writes anything.
    pub fn has_explanation(&self) -> bool {
        !self.problems.is_empty()
            || !self.warnings.is_empty()
            || !self.memory_notes().is_empty()
            || !self.preempts.is_empty()
            || self.memory_unchecked()
    }

    /// What its memory verdict assumed or could not know
    /// ([`super::MemoryReport::notes`]): "vLLM version unknown: assumed X",
    /// a time-sliced GPU's other pods. Warnings of the workload, next to
    /// [`WorkloadReport::warnings`], so a "fits" computed on an assumption
    /// never reads as a plain one.
    pub fn memory_notes(&self) -> &[String] {
        self.memory.as_ref().map_or(&[], |m| m.notes.as_slice())
    }

    /// This workload's block of [`Report::explain_with`], if it has one:
    /// `max_gpus_per_node` is the report's (see [`super::max_gpus_per_node`]).
    pub fn explain_into(&self, out: &mut String, max_gpus_per_node: u64, events: bool) {
        let w = self;
        if !w.has_explanation() {
            return;
        }
        out.push('\n');
        let _ = match &w.role {
            None => writeln!(out, "{}:", w.workload),
            Some(role) => writeln!(out, "{} [{role}]:", w.workload),
        };
        for p in &w.problems {
            let _ = writeln!(out, "  {p}");
        }
        if events && let Some(e) = &w.event {
            let _ = writeln!(out, "  event: {e}");
        }
        if let Some(h) = &w.hint {
            let _ = writeln!(out, "  hint: {h}");
        }
        if !w.preempts.is_empty() && w.pdb_violations > 0 {
            let text = super::preemption_text(w.preempts.len(), w.pdb_violations);
            let _ = writeln!(out, "  {}: {}", text.replacen("preempting", "preempts", 1), w.preempts.join(", "));
        } else if !w.preempts.is_empty() {
            let _ = writeln!(out, "  preempts: {}", w.preempts.join(", "));
        }
        for warning in w.warnings.iter().chain(w.memory_notes()) {
            let _ = writeln!(out, "  warning: {warning}");
        }
        if w.memory_unchecked()
            && let Some(m) = w.memory.as_ref().and_then(|m| m.message.as_ref())
        {
            let _ = writeln!(out, "  memory unchecked: {m}");
        }
        if let Some(fix) = w.rollout.as_ref().and_then(|r| r.fix.as_ref()) {
            let _ = writeln!(out, "  fix: {fix}");
        }
        if let Some(tp) = w.memory.as_ref().and_then(|m| m.smallest_tp) {
            let gpu = w.memory.as_ref().and_then(|m| m.fit.as_ref()).map_or(String::new(), |f| format!(" {}", f.gpu));
            let nodes = if tp > max_gpus_per_node {
                format!("; no node here has {tp} GPUs (at most {max_gpus_per_node})")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  fix: --tensor-parallel-size {tp} with {tp}{gpu} GPUs per pod is the smallest that fits{nodes}"
            );
        }
    }
}
