//! DefaultPreemption, the PostFilter that runs when no node fits
//! (kubernetes/kubernetes pkg/scheduler/framework/preemption/preemption.go
//! `Preempt`, `DryRunPreemption`, `pickOneNodeForPreemption`, and
//! plugins/defaultpreemption/default_preemption.go `SelectVictimsOnNode`,
//! `filterPodsWithPDBViolation`; pkg/scheduler/util/utils.go
//! `MoreImportantPod`, `GetEarliestPodStartTime`): on every node where
//! preemption might help, take every lower-priority pod away, check that
//! the pod then passes ALL the filters, give victims back one by one —
//! PDB-violating ones first, each group from the most important — keeping
//! those without which it no longer fits, and pick the node whose victims
//! matter least.
//!
//! Read from the store's copies of preemption.go (commit 00e6d951) and
//! default_preemption.go (commit 008b3652), both newer than v1.35.0 (they
//! carry the PodGroup paths of 1.36); the parts followed here predate them
//! and are the ones the v1.35 tests ported in
//! crates/gpuops-fit/tests/integration/upstream_preemption.rs check.
//!
//! Not modelled: nominated pods, extenders, and `DryRunPreemption`'s
//! sampling (with more than 100 potential nodes upstream dry-runs
//! max(10%, 100) of them from a random offset; every one is tried here,
//! which is what upstream does up to 100 nodes); replicas placed earlier
//! in the same run are not victims.

use std::collections::BTreeMap;

use serde_json::Value;

use super::affinity::{Context, Victim};
use super::filters::Reject;
use super::pods::PodTerms;
use super::{NodeUse, PodParts, Skip};
use crate::cluster::Cluster;

/// Where the pod goes, whom it evicts (indices into `Cluster::pods`, most
/// important first), and how many of them a PodDisruptionBudget protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preemption {
    pub node: usize,
    pub victims: Vec<usize>,
    /// Victims whose eviction violates a PodDisruptionBudget
    /// (`NumPDBViolations`).
    pub pdb_violations: usize,
}

const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// Why the PostFilter preempts nothing, in its words (`preemption: …`,
/// pkg/scheduler/framework/preemption/preemption.go `Preempt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoPreemption {
    /// `preemptionPolicy: Never` (PodEligibleToPreemptOthers).
    #[error("preemption: not eligible due to preemptionPolicy=Never.")]
    Never,
    /// No node has victims that make room: each reason with its count of
    /// nodes (`1 No preemption victims found for incoming pod`, or the
    /// reason a filter still gives with every lower-priority pod gone), sorted.
    #[error("preemption: 0/{nodes} nodes are available: {}.", reasons.join(", "))]
    NoCandidate { nodes: usize, reasons: Vec<String> },
}

/// One node's dry run: `SelectVictimsOnNode`'s answer.
struct Candidate {
    node: usize,
    victims: Vec<usize>,
    pdb_violations: usize,
}

/// Preempt for one pod, or why not. `removed`: bound pods already gone.
pub(crate) fn preempt(
    pod: &PodParts<'_>,
    terms: &mut PodTerms,
    ctx: &Context<'_>,
    used: &[NodeUse],
    rejects: &[(usize, Reject)],
    pods_by_node: &[Vec<usize>],
    removed: &[bool],
) -> Result<Preemption, NoPreemption> {
    let cluster = pod.cluster;
    // PodEligibleToPreemptOthers
    if pod.group.preemption_never {
        return Err(NoPreemption::Never);
    }
    let version = pod.options.kube_version.wording();
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    let mut candidates = Vec::new();
    let mut dry = DryRun::new(pod, ctx, terms.depends_on_pods());
    for (node, reject) in rejects {
        if !reject.preemption_might_help() {
            *histogram.entry(NOT_HELPFUL.to_string()).or_insert(0) += 1;
            continue;
        }
        let lower: Vec<usize> = pods_by_node[*node]
            .iter()
            .copied()
            .filter(|&p| !removed[p] && cluster.pods[p].priority < pod.group.priority)
            .collect();
        if lower.is_empty() {
            *histogram.entry(NO_VICTIMS.to_string()).or_insert(0) += 1;
            continue;
        }
        match dry.select_victims(*node, &used[*node], lower, terms) {
            Ok(candidate) => candidates.push(candidate),
            // DryRunPreemption records the filter's status for the node;
            // FitError counts each of its reasons.
            Err(reject) => {
                for reason in reject.reasons(version) {
                    *histogram.entry(reason).or_insert(0) += 1;
                }
            }
        }
    }
    if let Some(best) = pick_one_node(cluster, candidates) {
        return Ok(Preemption { node: best.node, victims: best.victims, pdb_violations: best.pdb_violations });
    }
    let mut reasons: Vec<String> = histogram.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
    reasons.sort();
    Err(NoPreemption::NoCandidate { nodes: cluster.nodes.len(), reasons })
}

/// What a dry run on one node needs, shared across nodes.
struct DryRun<'a, 'p> {
    pod: &'a PodParts<'p>,
    ctx: &'a Context<'p>,
    /// Whether victims leaving can change a pod-dependent verdict.
    pod_dependent: bool,
    /// Labels parsed for victims (PDBs and pod-dependent terms read them).
    labels: BTreeMap<usize, BTreeMap<String, String>>,
}

impl<'a, 'p> DryRun<'a, 'p> {
    fn new(pod: &'a PodParts<'p>, ctx: &'a Context<'p>, pod_dependent: bool) -> Self {
        DryRun { pod, ctx, pod_dependent, labels: BTreeMap::new() }
    }

    /// `RunFilterPluginsWithNominatedPods` with the victims as they stand.
    /// The node passed the filters that read only the node and the pod
    /// (PreFilter, cordon, taints, node affinity: its rejection came from a
    /// later one, else preemption could not help), and victims coming and
    /// going cannot change those, so they are not asked again.
    fn check(&self, node: usize, left: &NodeUse, terms: &PodTerms) -> Result<(), Reject> {
        let unchanged = Skip { taints: true, affinity: true, resources: false };
        self.pod.with(terms).filter(node, left, unchanged)
    }

    fn labels(&mut self, pod: usize) -> &BTreeMap<String, String> {
        let ctx: &'a Context<'p> = self.ctx;
        if let Some(parsed) = ctx.labels_of(pod) {
            return parsed;
        }
        let cluster = self.pod.cluster;
        self.labels.entry(pod).or_insert_with(|| cluster.pods[pod].labels.parse())
    }

    /// Take bound pod `p` off the node (`delta` -1) or put it back (+1),
    /// in the capacity, the host ports and the pod-dependent counts.
    fn move_pod(&mut self, p: usize, node: usize, left: &mut NodeUse, terms: &mut PodTerms, delta: i64) {
        let cluster = self.pod.cluster;
        let bound = &cluster.pods[p];
        let scheduling = cluster.scheduling_of(bound);
        if delta < 0 {
            left.remove(&bound.requests);
            if let Some(s) = scheduling {
                left.release_ports(&s.host_ports);
            }
        } else {
            left.add(&bound.requests);
            if let Some(s) = scheduling {
                left.host_ports.extend(s.host_ports.iter().cloned());
            }
        }
        if self.pod_dependent {
            let anti: Vec<Value> = scheduling.map(|s| s.anti_affinity.terms()).unwrap_or_default();
            // Only the group's own terms read the victim's labels; the
            // existing pods' anti-affinity reads the victim's terms.
            let none = BTreeMap::new();
            let labels = if terms.reads_labels() { self.labels(p) } else { &none };
            let victim = Victim { namespace: &bound.namespace, name: &bound.name, labels, node, anti_affinity: &anti };
            terms.adjust(&victim, delta);
        }
    }

    /// `SelectVictimsOnNode` (default_preemption.go): remove every
    /// lower-priority pod, run ALL filters, then reprieve victims — the
    /// PDB-violating ones first, each group from the most important —
    /// keeping a pod only if the incoming pod still passes every filter.
    /// `terms` is left as it was found.
    fn select_victims(
        &mut self,
        node: usize,
        used: &NodeUse,
        mut lower: Vec<usize>,
        terms: &mut PodTerms,
    ) -> Result<Candidate, Reject> {
        let cluster = self.pod.cluster;
        let mut left = used.clone();
        for &p in &lower {
            self.move_pod(p, node, &mut left, terms, -1);
        }
        if let Err(reject) = self.check(node, &left, terms) {
            for &p in &lower {
                self.move_pod(p, node, &mut left, terms, 1);
            }
            return Err(reject);
        }
        // util.MoreImportantPod: higher priority first, then the earlier
        // start (a pod without startTime counts as started now, the latest);
        // names keep equal pods in a stable order.
        lower.sort_by(|&a, &b| more_important(cluster, a, b));
        let (violating, non_violating) = self.split_by_pdb(&lower);
        let mut victims = Vec::new();
        let mut pdb_violations = 0;
        for (group, is_violating) in [(&violating, true), (&non_violating, false)] {
            for &p in group {
                self.move_pod(p, node, &mut left, terms, 1);
                if self.check(node, &left, terms).is_err() {
                    self.move_pod(p, node, &mut left, terms, -1);
                    victims.push(p);
                    pdb_violations += usize::from(is_violating);
                }
            }
        }
        for &p in &victims {
            self.move_pod(p, node, &mut left, terms, 1);
        }
        if !violating.is_empty() && !non_violating.is_empty() {
            victims.sort_by(|&a, &b| more_important(cluster, a, b));
        }
        Ok(Candidate { node, victims, pdb_violations })
    }

    /// `filterPodsWithPDBViolation`: each pod draws on every budget that
    /// covers it; a pod that takes a budget below zero is violating. Stable.
    fn split_by_pdb(&mut self, pods: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let cluster = self.pod.cluster;
        if cluster.pdbs.is_empty() {
            return (Vec::new(), pods.to_vec());
        }
        let mut allowed: Vec<i64> = cluster.pdbs.iter().map(|b| i64::from(b.disruptions_allowed)).collect();
        let (mut violating, mut fine) = (Vec::new(), Vec::new());
        for &p in pods {
            let (namespace, name) = (cluster.pods[p].namespace.clone(), cluster.pods[p].name.clone());
            let labels = self.labels(p);
            let mut violated = false;
            for (i, budget) in cluster.pdbs.iter().enumerate() {
                if budget.covers(&namespace, &name, labels) {
                    allowed[i] -= 1;
                    violated |= allowed[i] < 0;
                }
            }
            if violated { violating.push(p) } else { fine.push(p) }
        }
        (violating, fine)
    }
}

fn start_or_now(cluster: &Cluster, pod: usize) -> i64 {
    cluster.start_time(pod).unwrap_or(i64::MAX)
}

fn more_important(cluster: &Cluster, a: usize, b: usize) -> std::cmp::Ordering {
    let (pa, pb) = (&cluster.pods[a], &cluster.pods[b]);
    pb.priority
        .cmp(&pa.priority)
        .then_with(|| start_or_now(cluster, a).cmp(&start_or_now(cluster, b)))
        .then_with(|| (&pa.namespace, &pa.name).cmp(&(&pb.namespace, &pb.name)))
}

/// `pickOneNodeForPreemption` (preemption.go): each score in turn keeps
/// the nodes with the best value — fewest PDB violations, lowest
/// highest-priority victim, smallest sum of priorities each shifted by
/// 2^31 (`int64(priority) + int64(math.MaxInt32+1)`, so every victim adds
/// a positive amount), fewest victims, latest start among the
/// highest-priority victims (`GetEarliestPodStartTime`) — then the first.
/// Upstream's "first" is a Go map's order; here the first node of the
/// snapshot.
fn pick_one_node(cluster: &Cluster, candidates: Vec<Candidate>) -> Option<Candidate> {
    let key = |c: &Candidate| {
        let priority = |v: usize| cluster.pods[v].priority;
        let highest = c.victims.iter().map(|&v| priority(v)).max().unwrap_or(i32::MIN);
        let sum: i64 = c.victims.iter().map(|&v| i64::from(priority(v)) + (1i64 << 31)).sum();
        let earliest = (c.victims.iter())
            .filter(|&&v| priority(v) == highest)
            .map(|&v| start_or_now(cluster, v))
            .min()
            .unwrap_or(i64::MIN);
        (c.pdb_violations, highest, sum, c.victims.len(), std::cmp::Reverse(earliest), c.node)
    };
    candidates.into_iter().min_by_key(key)
}
