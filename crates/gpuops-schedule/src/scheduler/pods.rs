//! Filters that depend on other pods: required inter-pod affinity and
//! anti-affinity (pkg/scheduler/framework/plugins/interpodaffinity/
//! filtering.go) and topology spread with `whenUnsatisfiable:
//! DoNotSchedule` (pkg/scheduler/framework/plugins/podtopologyspread/
//! filtering.go), between the replicas being placed and the pods already
//! bound.
//!
//! Each term keeps a count of matching pods per topology domain, built
//! once per group and updated as its replicas are committed, so a check
//! is O(1) per node and placing R replicas on N nodes stays O(R × N).
//! Not modelled: the anti-affinity of pods already bound against the
//! incoming pod, `namespaceSelector` beyond `{}` (all namespaces), and
//! victims of preemption leaving the counts.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::filters::{Reject, affinity_matches};
use crate::cluster::{Cluster, Node, strings};
use crate::group::PodGroup;
use crate::requirement::Requirement;

/// A `metav1.LabelSelector` (matchLabels and matchExpressions; an empty
/// selector matches everything, a missing one nothing).
#[derive(Debug, Clone)]
pub struct Selector {
    labels: Vec<(String, String)>,
    expressions: Vec<Requirement>,
}

impl Selector {
    pub fn from(value: Option<&Value>) -> Option<Self> {
        let v = value?;
        let labels = v
            .get("matchLabels")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        let expressions = v
            .get("matchExpressions")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(Requirement::of_label_selector).collect())
            .unwrap_or_default();
        Some(Selector { labels, expressions })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v)) && self.expressions.iter().all(|r| r.matches(labels))
    }
}

/// Which pods a term counts: the selector, the namespaces (the incoming
/// pod's own when the term names none, every namespace for
/// `namespaceSelector: {}`), and `matchLabelKeys` (the incoming pod's
/// values for those keys; a key the manifest does not carry, like the
/// controller's `pod-template-hash`, matches only the group's own pods).
#[derive(Debug, Clone)]
struct PodMatcher {
    selector: Selector,
    namespaces: Option<Vec<String>>,
    match_label_keys: Vec<String>,
}

impl PodMatcher {
    fn from_term(term: &Value, own_namespace: &str) -> Option<Self> {
        let selector = Selector::from(term.get("labelSelector"))?;
        let listed = strings(term.get("namespaces"));
        let all = term.get("namespaceSelector").and_then(Value::as_object).is_some_and(serde_json::Map::is_empty);
        let namespaces = if all {
            None
        } else if listed.is_empty() {
            Some(vec![own_namespace.to_string()])
        } else {
            Some(listed)
        };
        let match_label_keys = strings(term.get("matchLabelKeys"));
        Some(PodMatcher { selector, namespaces, match_label_keys })
    }

    fn matches(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        group_labels: &BTreeMap<String, String>,
        own: bool,
    ) -> bool {
        if self.namespaces.as_ref().is_some_and(|ns| !ns.iter().any(|n| n == namespace)) {
            return false;
        }
        let keys_match = self.match_label_keys.iter().all(|k| match group_labels.get(k) {
            Some(v) => labels.get(k) == Some(v),
            None => own,
        });
        keys_match && self.selector.matches(labels)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Affinity,
    AntiAffinity,
    Spread { max_skew: i64, min_domains: usize },
}

/// One term with its per-domain counts.
#[derive(Debug, Clone)]
struct Term {
    kind: Kind,
    /// Domain of each node (by index), `None` without the topology label.
    domain_of_node: Vec<Option<usize>>,
    counts: Vec<i64>,
    /// Spread: domains of nodes that pass the pod's node affinity
    /// (`nodeAffinityPolicy: Honor`, the default); counts of pods on other
    /// nodes are not kept.
    eligible_domain: Vec<bool>,
    /// Whether the group's own pods match (then each commit counts).
    own_match: bool,
    /// Affinity: whether any pod matched before this group started; when
    /// none did and the pod matches its own term, the first replica may go
    /// anywhere (interpodaffinity/filtering.go `satisfyPodAffinity`).
    any_match: bool,
    /// Derived from `counts`, kept up to date by [`Term::refresh`] so a node
    /// check stays O(1): the spread's global minimum over eligible domains
    /// (0 with fewer domains than minDomains), and the matching pods in all.
    min: i64,
    total: i64,
}

impl Term {
    fn refresh(&mut self) {
        self.total = self.counts.iter().sum();
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
    terms: Vec<Term>,
}

/// Bound pods' labels, parsed once when a group first needs them.
#[derive(Default)]
pub struct LabelCache {
    parsed: Option<Vec<BTreeMap<String, String>>>,
}

impl LabelCache {
    fn get<'a>(&'a mut self, cluster: &Cluster) -> &'a [BTreeMap<String, String>] {
        self.parsed.get_or_insert_with(|| cluster.pods.iter().map(|p| p.labels.parse()).collect())
    }
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
        cache: &mut LabelCache,
    ) -> Self {
        let group = &groups[index];
        let spec = &group.spec;
        if !has_terms(spec) {
            return PodTerms::default();
        }
        let mut raw: Vec<(Kind, &Value, String)> = Vec::new();
        let list = |ptr: &str| spec.pointer(ptr).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for t in list("/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution") {
            raw.push((Kind::Affinity, t, key_of(t)));
        }
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
        let index_of: HashMap<&str, usize> =
            cluster.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        let labels = cache.get(cluster);
        let mut terms = Vec::new();
        for (kind, term, key) in raw {
            let Some(matcher) = PodMatcher::from_term(term, &group.namespace) else { continue };
            let mut domains: HashMap<&str, usize> = HashMap::new();
            let domain_of_node: Vec<Option<usize>> = cluster
                .nodes
                .iter()
                .map(|n| {
                    let value = n.labels.get(&key)?;
                    let next = domains.len();
                    Some(*domains.entry(value.as_str()).or_insert(next))
                })
                .collect();
            let mut counts = vec![0i64; domains.len()];
            let mut eligible_domain = vec![!matches!(kind, Kind::Spread { .. }); domains.len()];
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
            let mut any_match = false;
            for (pod, pod_labels) in cluster.pods.iter().zip(labels) {
                if let Some(&n) = index_of.get(pod.node.as_str())
                    && matcher.matches(&pod.namespace, pod_labels, &group.labels, false)
                {
                    any_match = true;
                    if let Some(d) = counts_node(n, &eligible_domain) {
                        counts[d] += 1;
                    }
                }
            }
            for (g, nodes) in groups.iter().zip(placed) {
                let own = std::ptr::eq(g, group);
                if matcher.matches(&g.namespace, &g.labels, &group.labels, own) {
                    for &n in nodes {
                        any_match = true;
                        if let Some(d) = counts_node(n, &eligible_domain) {
                            counts[d] += 1;
                        }
                    }
                }
            }
            let own_match = matcher.matches(&group.namespace, &group.labels, &group.labels, true);
            let mut term =
                Term { kind, domain_of_node, counts, eligible_domain, own_match, any_match, min: 0, total: 0 };
            term.refresh();
            terms.push(term);
        }
        PodTerms { terms }
    }

    /// InterPodAffinity then PodTopologySpread's verdict for one node:
    /// spread runs first in the default order.
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
        for t in &self.terms {
            match t.kind {
                Kind::Affinity => {
                    let here = t.domain_of_node[node].is_some_and(|d| t.counts[d] > 0);
                    let first_of_its_kind = !t.any_match && t.own_match && t.total == 0;
                    if !here && !first_of_its_kind {
                        return Err(Reject::PodAffinity);
                    }
                }
                Kind::AntiAffinity => {
                    if t.domain_of_node[node].is_some_and(|d| t.counts[d] > 0) {
                        return Err(Reject::PodAntiAffinity);
                    }
                }
                Kind::Spread { .. } => {}
            }
        }
        Ok(())
    }

    /// Count one more replica of the group on `node`.
    pub fn commit(&mut self, node: usize) {
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

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
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
