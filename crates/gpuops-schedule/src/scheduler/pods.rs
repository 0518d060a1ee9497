//! Filters that depend on other pods: required inter-pod affinity and
//! anti-affinity (pkg/scheduler/framework/plugins/interpodaffinity/
//! filtering.go; the terms themselves in [`super::affinity`]) and topology
//! spread with `whenUnsatisfiable: DoNotSchedule`
//! (pkg/scheduler/framework/plugins/podtopologyspread/filtering.go),
//! between the replicas being placed and the pods already bound.
//!
//! Each term keeps a count of matching pods per topology domain, built
//! once per group and updated as its replicas are committed, so a check
//! is O(terms) per node and placing R replicas on N nodes stays O(R × N).
//! Preemption takes victims out of the counts and puts them back
//! ([`PodTerms::adjust`]) as the PreFilter extensions `RemovePod`/`AddPod`
//! do while `SelectVictimsOnNode` tries them.

use serde_json::Value;

use super::affinity::{Affinity, Context, ExistingAntiAffinity, PodMatcher, Victim};
use super::filters::{Reject, affinity_matches};
use crate::cluster::{Cluster, Node};
use crate::group::PodGroup;

pub use super::affinity::Selector;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AntiAffinity,
    Spread { max_skew: i64, min_domains: usize },
}

/// One term with its per-domain counts.
#[derive(Debug, Clone)]
struct Term {
    kind: Kind,
    /// Which pods the term counts.
    matcher: PodMatcher,
    /// Per node: whether pods there count (spread: the node passes the
    /// pod's node affinity and its domain is eligible).
    counted: Vec<bool>,
    /// Domain of each node (by index), `None` without the topology label.
    domain_of_node: Vec<Option<usize>>,
    counts: Vec<i64>,
    /// Spread: domains of nodes that pass the pod's node affinity
    /// (`nodeAffinityPolicy: Honor`, the default); counts of pods on other
    /// nodes are not kept.
    eligible_domain: Vec<bool>,
    /// Whether the group's own pods match (then each commit counts).
    own_match: bool,
    /// Derived from `counts`, kept up to date by [`Term::refresh`] so a node
    /// check stays O(1): the spread's global minimum over eligible domains
    /// (0 with fewer domains than minDomains).
    min: i64,
}

impl Term {
    fn refresh(&mut self) {
        if let Kind::Spread { min_domains, .. } = self.kind {
            let eligible = self.counts.iter().zip(&self.eligible_domain).filter(|(_, e)| **e).map(|(c, _)| *c);
            let domains = self.eligible_domain.iter().filter(|e| **e).count();
            self.min = if domains < min_domains { 0 } else { eligible.min().unwrap_or(0) };
        }
    }
}

/// The pod-dependent filters of one group, ready to check nodes.
#[derive(Debug, Clone, Default)]
pub struct PodTerms {
    /// Spread constraints and the group's own anti-affinity terms.
    terms: Vec<Term>,
    /// The group's required pod affinity, all terms together.
    affinity: Option<Affinity>,
    /// Other pods' required anti-affinity against the group's pods.
    existing: ExistingAntiAffinity,
    /// InterPodAffinity's PreFilter rejection, when a term does not parse.
    parse_error: Option<String>,
    /// The group's labels (`matchLabelKeys`).
    group_labels: std::collections::BTreeMap<String, String>,
}

/// Whether a group has any pod-dependent term at all.
pub fn has_terms(spec: &Value) -> bool {
    spec.pointer("/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution").is_some()
        || spec.pointer("/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution").is_some()
        || spec.get("topologySpreadConstraints").and_then(Value::as_array).is_some_and(|c| {
            c.iter().any(|c| c.get("whenUnsatisfiable").and_then(Value::as_str) == Some("DoNotSchedule"))
        })
}

impl PodTerms {
    /// The terms of `groups[index]`, counting the bound pods (on nodes in
    /// the snapshot) and the replicas already placed (`placed[g]` = node
    /// indices of group g's replicas).
    pub fn build(
        cluster: &Cluster,
        groups: &[PodGroup],
        index: usize,
        placed: &[Vec<usize>],
        ctx: &mut Context<'_>,
    ) -> Self {
        let group = &groups[index];
        let spec = &group.spec;
        let existing = ExistingAntiAffinity::build(cluster, groups, index, placed, ctx);
        if !has_terms(spec) {
            return PodTerms { existing, ..PodTerms::default() };
        }
        if let Some(error) = super::affinity::parse_error(spec) {
            return PodTerms { parse_error: Some(error), ..PodTerms::default() };
        }
        ctx.parse_labels();
        let affinity = Affinity::build(cluster, groups, index, placed, ctx);
        let mut raw: Vec<(Kind, &Value, String)> = Vec::new();
        let list = |ptr: &str| spec.pointer(ptr).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for t in list("/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution") {
            raw.push((Kind::AntiAffinity, t, key_of(t)));
        }
        for c in list("/topologySpreadConstraints") {
            if c.get("whenUnsatisfiable").and_then(Value::as_str) != Some("DoNotSchedule") {
                continue;
            }
            let max_skew = c.get("maxSkew").and_then(Value::as_i64).unwrap_or(1);
            let min_domains = c.get("minDomains").and_then(Value::as_u64).unwrap_or(1) as usize;
            raw.push((Kind::Spread { max_skew, min_domains }, c, key_of(c)));
        }
        let mut terms = Vec::new();
        for (kind, term, key) in raw {
            let matcher = PodMatcher::from_term(term, &group.namespace, &ctx.namespaces);
            let (domain_of_node, domains) = super::affinity::domains(cluster, &key);
            let mut counts = vec![0i64; domains];
            let mut eligible_domain = vec![!matches!(kind, Kind::Spread { .. }); domains];
            if matches!(kind, Kind::Spread { .. }) {
                for (node, domain) in cluster.nodes.iter().zip(&domain_of_node) {
                    if let Some(d) = domain
                        && affinity_matches(spec, node)
                    {
                        eligible_domain[*d] = true;
                    }
                }
            }
            let counts_node = |node: usize, eligible: &[bool]| {
                domain_of_node[node].filter(|d| eligible[*d] && node_counts(kind, &cluster.nodes[node], spec))
            };
            for (pod, pod_labels) in ctx.bound() {
                if matcher.matches(pod.namespace, pod_labels, &group.labels, false)
                    && let Some(d) = counts_node(pod.node, &eligible_domain)
                {
                    counts[d] += 1;
                }
            }
            for (g, nodes) in groups.iter().zip(placed) {
                let own = std::ptr::eq(g, group);
                if matcher.matches(&g.namespace, &g.labels, &group.labels, own) {
                    for &n in nodes {
                        if let Some(d) = counts_node(n, &eligible_domain) {
                            counts[d] += 1;
                        }
                    }
                }
            }
            let own_match = matcher.matches(&group.namespace, &group.labels, &group.labels, true);
            let counted = (0..cluster.nodes.len()).map(|n| counts_node(n, &eligible_domain).is_some()).collect();
            let mut term = Term { kind, matcher, counted, domain_of_node, counts, eligible_domain, own_match, min: 0 };
            term.refresh();
            terms.push(term);
        }
        PodTerms { terms, affinity, existing, parse_error: None, group_labels: group.labels.clone() }
    }

    /// A bound pod leaves the counts (`delta` -1) or comes back (+1), as
    /// the PreFilter extensions `RemovePod`/`AddPod` of PodTopologySpread
    /// (common.go `updateWithPod`) and InterPodAffinity (filtering.go
    /// `updateWithPod`) do while preemption tries victims.
    pub fn adjust(&mut self, victim: &Victim<'_>, delta: i64) {
        for t in &mut self.terms {
            if t.counted[victim.node]
                && t.matcher.matches(victim.namespace, victim.labels, &self.group_labels, false)
                && let Some(d) = t.domain_of_node[victim.node]
            {
                t.counts[d] += delta;
                t.refresh();
            }
        }
        if let Some(affinity) = &mut self.affinity {
            affinity.adjust(victim, &self.group_labels, delta);
        }
        self.existing.adjust(victim, delta);
    }

    /// Whether the group's own terms (spread, affinity, anti-affinity)
    /// read other pods' labels.
    pub fn reads_labels(&self) -> bool {
        !self.terms.is_empty() || self.affinity.is_some()
    }

    /// Whether victims leaving can change any verdict: the group has
    /// pod-dependent terms, or bound pods' anti-affinity selects it.
    pub fn depends_on_pods(&self) -> bool {
        !self.terms.is_empty() || self.affinity.is_some() || !self.existing.is_empty()
    }

    /// PodTopologySpread then InterPodAffinity's verdict for one node, in
    /// the default order (pkg/scheduler/apis/config/v1/default_plugins.go);
    /// InterPodAffinity's Filter checks the pod's affinity, its
    /// anti-affinity, then the existing pods' anti-affinity.
    pub fn check(&self, node: usize) -> Result<(), Reject> {
        for t in self.terms.iter().filter(|t| matches!(t.kind, Kind::Spread { .. })) {
            let Kind::Spread { max_skew, .. } = t.kind else { continue };
            let Some(d) = t.domain_of_node[node] else {
                return Err(Reject::Spread { missing_label: true });
            };
            let skew = t.counts[d] + i64::from(t.own_match) - t.min;
            if skew > max_skew {
                return Err(Reject::Spread { missing_label: false });
            }
        }
        if let Some(affinity) = &self.affinity {
            affinity.check(node)?;
        }
        for t in self.terms.iter().filter(|t| t.kind == Kind::AntiAffinity) {
            if t.domain_of_node[node].is_some_and(|d| t.counts[d] > 0) {
                return Err(Reject::PodAntiAffinity);
            }
        }
        self.existing.check(node)
    }

    /// Count one more replica of the group on `node`.
    pub fn commit(&mut self, node: usize) {
        if let Some(affinity) = &mut self.affinity {
            affinity.commit(node);
        }
        for t in &mut self.terms {
            if t.own_match
                && let Some(d) = t.domain_of_node[node]
                && t.eligible_domain[d]
            {
                t.counts[d] += 1;
                t.refresh();
            }
        }
    }

    /// InterPodAffinity's PreFilter rejection, if any.
    pub fn parse_error(&self) -> Option<&str> {
        self.parse_error.as_deref()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.affinity.is_none() && self.existing.is_empty() && self.parse_error.is_none()
    }
}

fn key_of(term: &Value) -> String {
    term.get("topologyKey").and_then(Value::as_str).unwrap_or("").to_string()
}

/// Spread counts pods only on nodes that pass the pod's node affinity
/// (podtopologyspread/common.go, `nodeAffinityPolicy: Honor`); the other
/// terms count every node.
fn node_counts(kind: Kind, node: &Node, spec: &Value) -> bool {
    !matches!(kind, Kind::Spread { .. }) || affinity_matches(spec, node)
}
