//! InterPodAffinity's "existing pods anti-affinity" (kubernetes/kubernetes
//! pkg/scheduler/framework/plugins/interpodaffinity/filtering.go
//! `getExistingAntiAffinityCounts`, `satisfyExistingPodsAntiAffinity`): the
//! required anti-affinity of pods already placed against the incoming pod,
//! counted per topology domain.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::affinity::{Context, Counts, Selector, Victim};
use super::filters::Reject;
use crate::cluster::{Cluster, strings};
use crate::group::PodGroup;

/// One required anti-affinity term of a pod already placed, as
/// `newAffinityTerm` builds it: `namespaces` (the pod's own when neither
/// field is set) or a `namespaceSelector` matched against the incoming
/// pod's namespace labels (`AffinityTerm.Matches`).
#[derive(Debug, Clone)]
pub(super) struct ExistingTerm {
    selector: Option<Selector>,
    namespaces: BTreeSet<String>,
    pub(super) namespace_selector: Option<Selector>,
    pub(super) key: String,
}

impl ExistingTerm {
    pub(super) fn from(term: &Value, own_namespace: &str) -> Self {
        let listed: BTreeSet<String> = strings(term.get("namespaces")).into_iter().collect();
        let namespace_selector = Selector::from(term.get("namespaceSelector"));
        let namespaces = if listed.is_empty() && namespace_selector.is_none() {
            BTreeSet::from([own_namespace.to_string()])
        } else {
            listed
        };
        ExistingTerm {
            selector: Selector::from(term.get("labelSelector")),
            namespaces,
            namespace_selector,
            key: term.get("topologyKey").and_then(Value::as_str).unwrap_or("").to_string(),
        }
    }

    pub(super) fn matches(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        ns_labels: &BTreeMap<String, String>,
    ) -> bool {
        let in_namespace = self.namespaces.contains(namespace)
            || self.namespace_selector.as_ref().is_some_and(|s| s.matches(ns_labels));
        in_namespace && self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }
}

/// The required anti-affinity of pods already placed — bound pods, and the
/// replicas of other groups placed before — against the incoming pod:
/// topology domains that hold a pod whose term selects it
/// (filtering.go `getExistingAntiAffinityCounts`,
/// `satisfyExistingPodsAntiAffinity`). The group's own replicas are left
/// out: their terms are the incoming pod's own, which
/// `satisfyPodAntiAffinity` checks first with the same counts.
#[derive(Debug, Clone, Default)]
pub struct ExistingAntiAffinity {
    /// Per topology key of a term that selects the incoming pod.
    counts: Vec<(String, Counts)>,
    /// The incoming pod's namespace and labels, and its namespace's labels.
    namespace: String,
    labels: BTreeMap<String, String>,
    ns_labels: BTreeMap<String, String>,
}

impl ExistingAntiAffinity {
    pub fn build(
        cluster: &Cluster,
        groups: &[PodGroup],
        index: usize,
        placed: &[Vec<usize>],
        ctx: &Context<'_>,
    ) -> Self {
        let group = &groups[index];
        let ns_labels = ctx.namespaces.labels_of(&group.namespace);
        let mut by_key: Vec<(String, Counts)> = Vec::new();
        let mut count = |term: &ExistingTerm, nodes: &[usize]| {
            if nodes.is_empty() || !term.matches(&group.namespace, &group.labels, &ns_labels) {
                return;
            }
            let at = match by_key.iter().position(|(k, _)| *k == term.key) {
                Some(at) => at,
                None => {
                    by_key.push((term.key.clone(), Counts::new(cluster, &term.key)));
                    by_key.len() - 1
                }
            };
            nodes.iter().for_each(|&n| {
                by_key[at].1.add(n);
            });
        };
        for carrier in &ctx.carriers {
            let nodes: Vec<usize> = (carrier.members.iter())
                .filter(|(_, name)| {
                    ctx.removed_names.is_empty()
                        || !ctx.removed_names.contains(&(carrier.namespace.clone(), name.clone()))
                })
                .map(|(node, _)| *node)
                .collect();
            carrier.terms.iter().for_each(|t| count(t, &nodes));
        }
        for (g, other) in groups.iter().enumerate().filter(|(g, _)| *g != index) {
            let nodes = placed.get(g).map_or(&[][..], Vec::as_slice);
            let list = other
                .spec
                .pointer("/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution")
                .and_then(Value::as_array);
            for term in list.into_iter().flatten() {
                count(&ExistingTerm::from(term, &other.namespace), nodes);
            }
        }
        ExistingAntiAffinity {
            counts: by_key.into_iter().filter(|(_, c)| c.any()).collect(),
            namespace: group.namespace.clone(),
            labels: group.labels.clone(),
            ns_labels,
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.counts.iter().any(|(_, c)| c.any())
    }

    /// A bound pod leaves (`delta` -1) or comes back (+1): its own
    /// anti-affinity terms that select the incoming pod stop (or start
    /// again) keeping it out of the victim's domains.
    pub fn adjust(&mut self, victim: &Victim<'_>, delta: i64) {
        for term in victim.anti_affinity {
            let term = ExistingTerm::from(term, victim.namespace);
            if term.matches(&self.namespace, &self.labels, &self.ns_labels)
                && let Some((_, c)) = self.counts.iter_mut().find(|(k, _)| *k == term.key)
            {
                c.adjust(victim.node, delta);
            }
        }
    }

    pub fn check(&self, node: usize) -> Result<(), Reject> {
        if self.counts.iter().any(|(_, c)| c.at(node).is_some_and(|n| n > 0)) {
            return Err(Reject::ExistingAntiAffinity);
        }
        Ok(())
    }
}
