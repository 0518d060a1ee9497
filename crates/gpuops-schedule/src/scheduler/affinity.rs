//! InterPodAffinity's terms (kubernetes/kubernetes
//! pkg/scheduler/framework/plugins/interpodaffinity/filtering.go and
//! pkg/scheduler/framework/types.go `newAffinityTerm`): which pods a term
//! selects, its namespaces resolved against the snapshot's Namespaces, the
//! incoming pod's required affinity counted over all its terms at once,
//! and the required anti-affinity of pods already placed against the
//! incoming pod ("existing pods anti-affinity").
//!
//! Everything a group needs is counted once per group, per topology
//! domain, so a node check is O(terms), never a scan of the pods.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

pub use super::existing::ExistingAntiAffinity;
use super::existing::ExistingTerm;
use super::filters::Reject;
use crate::cluster::{Cluster, NAMESPACE_NAME_LABEL, Namespace, strings};
use crate::group::PodGroup;

pub use crate::requirement::Selector;

/// Namespace name → labels: the snapshot's Namespace objects, and every
/// other namespace its pods and groups name with the one label the API
/// server gives each (`kubernetes.io/metadata.name`).
#[derive(Debug, Clone, Default)]
pub struct Namespaces {
    labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the snapshot held Namespace objects at all.
    pub read: bool,
}

impl Namespaces {
    pub fn of(cluster: &Cluster, groups: &[PodGroup]) -> Self {
        let mut labels: BTreeMap<String, BTreeMap<String, String>> =
            cluster.namespaces.iter().map(|n| (n.name.clone(), n.labels.clone())).collect();
        let named =
            cluster.pods.iter().map(|p| p.namespace.as_str()).chain(groups.iter().map(|g| g.namespace.as_str()));
        for name in named {
            if !labels.contains_key(name) {
                labels.insert(name.to_string(), Namespace::named(name).labels);
            }
        }
        Namespaces { labels, read: !cluster.namespaces.is_empty() }
    }

    /// The labels of `name` (its default label when the snapshot does not know it).
    pub fn labels_of(&self, name: &str) -> BTreeMap<String, String> {
        self.labels
            .get(name)
            .cloned()
            .unwrap_or_else(|| BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())]))
    }

    fn matching<'a>(&'a self, selector: &'a Selector) -> impl Iterator<Item = &'a String> + 'a {
        self.labels.iter().filter(|(_, l)| selector.matches(l)).map(|(n, _)| n)
    }
}

/// Whether a term's `namespaceSelector` needs the namespaces' labels
/// (neither absent nor `{}`).
pub fn needs_namespace_labels(term: &Value) -> bool {
    Selector::from(term.get("namespaceSelector")).is_some_and(|s| !s.is_empty())
}

/// Which pods one of the incoming pod's terms selects, its namespaces
/// merged as PreFilter does (`mergeAffinityTermNamespacesIfNotEmpty`: a
/// non-empty `namespaceSelector` adds the namespaces it matches to
/// `namespaces`; `{}` keeps every namespace; neither means the pod's own),
/// and `matchLabelKeys` (the incoming pod's values for those keys; a key
/// the manifest does not carry, like the controller's `pod-template-hash`,
/// matches only the group's own pods).
#[derive(Debug, Clone)]
pub struct PodMatcher {
    selector: Option<Selector>,
    /// `None`: every namespace.
    namespaces: Option<BTreeSet<String>>,
    match_label_keys: Vec<String>,
}

impl PodMatcher {
    pub fn from_term(term: &Value, own_namespace: &str, known: &Namespaces) -> Self {
        let selector = Selector::from(term.get("labelSelector"));
        let listed: BTreeSet<String> = strings(term.get("namespaces")).into_iter().collect();
        let namespaces = match Selector::from(term.get("namespaceSelector")) {
            Some(ns) if ns.is_empty() => None,
            Some(ns) => Some(listed.into_iter().chain(known.matching(&ns).cloned()).collect()),
            None if listed.is_empty() => Some(BTreeSet::from([own_namespace.to_string()])),
            None => Some(listed),
        };
        PodMatcher { selector, namespaces, match_label_keys: strings(term.get("matchLabelKeys")) }
    }

    /// `own`: the pod is one of the incoming group's.
    pub fn matches(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        group_labels: &BTreeMap<String, String>,
        own: bool,
    ) -> bool {
        let Some(selector) = &self.selector else { return false };
        if self.namespaces.as_ref().is_some_and(|ns| !ns.contains(namespace)) {
            return false;
        }
        let keys_match = self.match_label_keys.iter().all(|k| match group_labels.get(k) {
            Some(v) => labels.get(k) == Some(v),
            None => own,
        });
        keys_match && selector.matches(labels)
    }
}

/// Each node's domain for one topology key (`None` without the label), and
/// the number of domains.
pub fn domains(cluster: &Cluster, key: &str) -> (Vec<Option<usize>>, usize) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let of_node = cluster
        .nodes
        .iter()
        .map(|n| {
            let value = n.labels.get(key)?;
            let next = seen.len();
            Some(*seen.entry(value.as_str()).or_insert(next))
        })
        .collect();
    (of_node, seen.len())
}

/// Pods counted per topology domain of one key.
#[derive(Debug, Clone)]
pub(super) struct Counts {
    domain_of_node: Vec<Option<usize>>,
    counts: Vec<i64>,
}

impl Counts {
    pub(super) fn new(cluster: &Cluster, key: &str) -> Self {
        let (domain_of_node, n) = domains(cluster, key);
        Counts { domain_of_node, counts: vec![0; n] }
    }

    pub(super) fn add(&mut self, node: usize) -> bool {
        self.adjust(node, 1)
    }

    /// Count `delta` more pods on `node` (negative when preemption takes
    /// victims away); false when the node has no domain for this key.
    pub(super) fn adjust(&mut self, node: usize, delta: i64) -> bool {
        match self.domain_of_node[node] {
            Some(d) => {
                self.counts[d] += delta;
                true
            }
            None => false,
        }
    }

    pub(super) fn any(&self) -> bool {
        self.counts.iter().any(|n| *n > 0)
    }

    pub(super) fn at(&self, node: usize) -> Option<i64> {
        self.domain_of_node[node].map(|d| self.counts[d])
    }
}

/// The incoming pod's required pod affinity, all terms together
/// (filtering.go `updateWithAffinityTerms`: an existing pod counts only
/// when it matches ALL the terms, and then once in each term's topology
/// pair; `satisfyPodAffinity`).
#[derive(Debug, Clone)]
pub struct Affinity {
    matchers: Vec<PodMatcher>,
    /// Per term: its topology key's index in `counts`.
    key_of_term: Vec<usize>,
    counts: Vec<Counts>,
    /// `affinityCounts` is non-empty: some pod matching every term sits on
    /// a node with the term's topology label.
    any: bool,
    /// The group's own pods match every term (`podMatchesAllAffinityTerms`
    /// of the incoming pod against its own terms).
    own_match: bool,
}

impl Affinity {
    /// `placed[g]`: the node index of each replica of group g placed so far.
    pub fn build(
        cluster: &Cluster,
        groups: &[PodGroup],
        index: usize,
        placed: &[Vec<usize>],
        ctx: &Context<'_>,
    ) -> Option<Self> {
        let group = &groups[index];
        let list = group
            .spec
            .pointer("/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())?;
        let matchers: Vec<PodMatcher> =
            list.iter().map(|t| PodMatcher::from_term(t, &group.namespace, &ctx.namespaces)).collect();
        let mut keys: Vec<String> = Vec::new();
        let key_of_term = list
            .iter()
            .map(|t| {
                let key = t.get("topologyKey").and_then(Value::as_str).unwrap_or("");
                keys.iter().position(|k| k == key).unwrap_or_else(|| {
                    keys.push(key.to_string());
                    keys.len() - 1
                })
            })
            .collect();
        let counts = keys.iter().map(|k| Counts::new(cluster, k)).collect();
        let own_match = matchers.iter().all(|m| m.matches(&group.namespace, &group.labels, &group.labels, true));
        let mut affinity = Affinity { matchers, key_of_term, counts, any: false, own_match };
        let all = |m: &[PodMatcher], ns: &str, labels: &BTreeMap<String, String>, own: bool| {
            m.iter().all(|m| m.matches(ns, labels, &group.labels, own))
        };
        for (pod, labels) in ctx.bound() {
            if all(&affinity.matchers, pod.namespace, labels, false) {
                affinity.add(pod.node);
            }
        }
        for (g, nodes) in groups.iter().zip(placed) {
            if all(&affinity.matchers, &g.namespace, &g.labels, std::ptr::eq(g, group)) {
                nodes.iter().for_each(|&n| affinity.add(n));
            }
        }
        Some(affinity)
    }

    fn add(&mut self, node: usize) {
        for c in &mut self.counts {
            self.any |= c.add(node);
        }
    }

    /// Count one more replica of the group on `node`.
    pub fn commit(&mut self, node: usize) {
        if self.own_match {
            self.add(node);
        }
    }

    /// A bound pod on `node` leaves (`delta` -1) or comes back (+1), as
    /// the PreFilter extensions `RemovePod`/`AddPod` update the counts
    /// while preemption tries victims (filtering.go `updateWithPod`).
    pub fn adjust(&mut self, victim: &Victim<'_>, group_labels: &BTreeMap<String, String>, delta: i64) {
        if self.matchers.iter().all(|m| m.matches(victim.namespace, victim.labels, group_labels, false)) {
            for c in &mut self.counts {
                c.adjust(victim.node, delta);
            }
            self.any = self.counts.iter().any(Counts::any);
        }
    }

    /// `satisfyPodAffinity`: every term's topology label on the node (else
    /// no pass at all), a matching pod in each term's domain, or — for the
    /// first of a series that selects itself — no matching pod anywhere.
    pub fn check(&self, node: usize) -> Result<(), Reject> {
        let mut pods_exist = true;
        for &k in &self.key_of_term {
            match self.counts[k].at(node) {
                None => return Err(Reject::PodAffinity),
                Some(n) if n <= 0 => pods_exist = false,
                Some(_) => {}
            }
        }
        if pods_exist || !self.any && self.own_match { Ok(()) } else { Err(Reject::PodAffinity) }
    }
}

/// Bound pods with the same required anti-affinity, in one namespace.
#[derive(Debug, Clone)]
pub struct Carrier {
    /// The node and name of each pod with these terms (the replicas of
    /// one workload carry the same terms: each distinct set is matched once).
    pub(super) members: Vec<(usize, String)>,
    pub(super) namespace: String,
    pub(super) terms: Vec<ExistingTerm>,
}

/// A bound pod that preemption takes away or gives back: what the
/// pod-dependent filters' counts need of it.
pub struct Victim<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub node: usize,
    /// Its required anti-affinity terms (`[]` when none).
    pub anti_affinity: &'a [Value],
}

/// What the pod-dependent filters derive from the snapshot once per
/// placement: the bound pods' labels (parsed when a group first needs
/// them), the namespaces, and the bound pods that carry required
/// anti-affinity.
pub struct Context<'a> {
    pub cluster: &'a Cluster,
    pub namespaces: Namespaces,
    pub carriers: Vec<Carrier>,
    /// Bound pods on nodes of the snapshot: (pod, node index).
    located: Vec<(usize, usize)>,
    labels: Vec<BTreeMap<String, String>>,
    /// Bound pods preempted so far (indices into `Cluster::pods`), which
    /// groups placed after them no longer count.
    removed: std::collections::HashSet<usize>,
    pub(super) removed_names: BTreeSet<(String, String)>,
}

/// A bound pod on a node of the snapshot.
pub struct Located<'a> {
    pub namespace: &'a str,
    pub node: usize,
}

impl<'a> Context<'a> {
    pub fn new(cluster: &'a Cluster, groups: &[PodGroup]) -> Self {
        let index = node_index(cluster);
        // Keyed by namespace and the terms' text: a term's default
        // namespace is its pod's. Sorted, so that runs are identical.
        let mut by_terms: BTreeMap<(&str, &str), Vec<(usize, String)>> = BTreeMap::new();
        for ((ns, name), s) in cluster.pod_scheduling.iter().filter(|(_, s)| !s.anti_affinity.is_empty()) {
            if let Some(&node) = index.get(s.node.as_str()) {
                by_terms.entry((ns.as_str(), s.anti_affinity.as_str())).or_default().push((node, name.clone()));
            }
        }
        let carriers: Vec<Carrier> = by_terms
            .into_iter()
            .map(|((ns, text), mut members)| {
                members.sort_unstable();
                let terms = crate::cluster::AntiAffinityText::from_json(text).terms();
                Carrier {
                    members,
                    namespace: ns.to_string(),
                    terms: terms.iter().map(|t| ExistingTerm::from(t, ns)).collect(),
                }
            })
            .collect();
        Context {
            cluster,
            namespaces: Namespaces::of(cluster, groups),
            carriers,
            located: Vec::new(),
            labels: Vec::new(),
            removed: Default::default(),
            removed_names: BTreeSet::new(),
        }
    }

    /// Bound pod `pod` was preempted: groups placed after this no longer
    /// count it.
    pub fn remove(&mut self, pod: usize) {
        let p = &self.cluster.pods[pod];
        self.removed.insert(pod);
        self.removed_names.insert((p.namespace.clone(), p.name.clone()));
    }

    /// The parsed labels of bound pod `pod`, when [`Context::parse_labels`] ran.
    pub fn labels_of(&self, pod: usize) -> Option<&BTreeMap<String, String>> {
        self.labels.get(pod)
    }

    /// Parse the bound pods' labels and find their nodes, once, before
    /// [`Context::bound`] is used: only groups with pod-dependent terms pay.
    pub fn parse_labels(&mut self) {
        if self.labels.is_empty() && !self.cluster.pods.is_empty() {
            let index = node_index(self.cluster);
            self.located = (self.cluster.pods.iter().enumerate())
                .filter_map(|(p, pod)| Some((p, *index.get(pod.node.as_str())?)))
                .collect();
            self.labels = self.cluster.pods.iter().map(|p| p.labels.parse()).collect();
        }
    }

    /// Bound pods on nodes of the snapshot, with their labels ([`Context::parse_labels`] first).
    pub fn bound(&self) -> impl Iterator<Item = (Located<'_>, &BTreeMap<String, String>)> + '_ {
        self.located.iter().filter(|(p, _)| self.removed.is_empty() || !self.removed.contains(p)).filter_map(
            |&(p, node)| {
                let labels = self.labels.get(p)?;
                Some((Located { namespace: &self.cluster.pods[p].namespace, node }, labels))
            },
        )
    }

    /// Whether some term, of a group or of a bound pod, needs namespace
    /// labels the snapshot did not provide.
    pub fn lacks_namespace_labels(&self, groups: &[PodGroup]) -> bool {
        if self.namespaces.read {
            return false;
        }
        let pointers = [
            "/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution",
            "/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution",
        ];
        let in_groups = groups.iter().any(|g| {
            pointers
                .iter()
                .any(|p| g.spec.pointer(p).and_then(Value::as_array).into_iter().flatten().any(needs_namespace_labels))
        });
        in_groups
            || self
                .carriers
                .iter()
                .flat_map(|c| &c.terms)
                .any(|t| t.namespace_selector.as_ref().is_some_and(|s| !s.is_empty()))
    }
}

fn node_index(cluster: &Cluster) -> HashMap<&str, usize> {
    cluster.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect()
}

/// apimachinery pkg/util/validation/validation.go `labelValueErrMsg`, as
/// `RegexError` words it.
const LABEL_VALUE_FORMAT: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// `IsValidLabelValue`'s complaints about `value` (none when valid).
fn label_value_problems(value: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if value.len() > 63 {
        problems.push("must be no more than 63 characters");
    }
    let b = value.as_bytes();
    let shaped = b.is_empty()
        || b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if !shaped {
        problems.push(LABEL_VALUE_FORMAT);
    }
    problems
}

/// The first value of an `In`/`NotIn` expression of a term's label
/// selector that `labels.NewRequirement` refuses, in its words
/// (`values[0][service]: Invalid value: "…": …`, selector.go
/// `validateLabelValue` with `field.Invalid(path.Key(key), …)`).
fn selector_value_error(selector: Option<&Value>) -> Option<String> {
    let expressions = selector?.get("matchExpressions")?.as_array()?;
    for expression in expressions {
        let op = expression.get("operator").and_then(Value::as_str).unwrap_or("");
        if !matches!(op, "In" | "NotIn") {
            continue;
        }
        let key = expression.get("key").and_then(Value::as_str).unwrap_or("");
        for (i, value) in strings(expression.get("values")).iter().enumerate() {
            let problems = label_value_problems(value);
            if !problems.is_empty() {
                return Some(format!(
                    "values[{i}][{key}]: Invalid value: {}: {}",
                    serde_json::Value::from(value.as_str()),
                    problems.join("; ")
                ));
            }
        }
    }
    None
}

/// InterPodAffinity's PreFilter rejection of a pod whose required terms do
/// not parse (filtering.go `PreFilter`: `framework.NewPodInfo` fails →
/// UnschedulableAndUnresolvable `parsing pod: %+v`; types.go `NewPodInfo`
/// prefixes `requiredAffinityTerms: ` or `requiredAntiAffinityTerms: `).
/// Only label values of `In`/`NotIn` expressions are checked.
pub fn parse_error(spec: &Value) -> Option<String> {
    let lists = [
        ("/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution", "requiredAffinityTerms"),
        ("/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution", "requiredAntiAffinityTerms"),
    ];
    for (pointer, what) in lists {
        for term in spec.pointer(pointer).and_then(Value::as_array).into_iter().flatten() {
            if let Some(error) = selector_value_error(term.get("labelSelector")) {
                return Some(format!("parsing pod: {what}: {error}"));
            }
        }
    }
    None
}
