//! The default Filter plugins of kube-scheduler, in the order it runs them
//! (kubernetes/kubernetes pkg/scheduler/apis/config/v1/default_plugins.go:
//! NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
//! NodeResourcesFit, …, PodTopologySpread, InterPodAffinity). A node is
//! rejected by the first plugin that fails (`RunFilterPlugins` returns on
//! the first non-success status), so each node carries one plugin's
//! reasons; NodeResourcesFit reports all of its shortages at once.

use std::collections::BTreeMap;

use serde_json::Value;

use super::KubeVersion;
use crate::cluster::{Node, Taint, TaintEffect};
use crate::requirement::Operator;
use crate::resources::Resources;

/// One resource a node is short of, as NodeResourcesFit's
/// `InsufficientResource` records it (`pods` for "Too many pods").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shortage {
    pub resource: String,
    pub requested: i64,
    pub used: i64,
    pub capacity: i64,
}

impl Shortage {
    fn reason(&self) -> String {
        if self.resource == "pods" { "Too many pods".to_string() } else { format!("Insufficient {}", self.resource) }
    }

    /// More than the node has in all: no preemption can help
    /// (pkg/scheduler/framework/plugins/noderesources/fit.go `fitsRequest`,
    /// `Unresolvable: podRequest > allocatable`; never for pods).
    fn unresolvable(&self) -> bool {
        self.resource != "pods" && self.requested > self.capacity
    }
}

/// Why a node cannot take a pod, one variant per filter plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// A PreFilter plugin rejected the pod before any node was looked at
    /// (UnschedulableAndUnresolvable); every node carries its message,
    /// which the scheduler prints once, in place of the histogram.
    PreFilter(String),
    /// NodeUnschedulable: the node is cordoned.
    Unschedulable,
    /// TaintToleration: the first untolerated NoSchedule/NoExecute taint.
    Taint(Taint),
    /// NodeAffinity's Filter: nodeSelector or required node affinity.
    Affinity,
    /// NodeAffinity's PreFilter narrowed the candidates to the nodes named
    /// by `matchFields metadata.name`; this node is not one of them.
    NotInPreFilter,
    /// NodeResourcesFit, every shortage.
    Resources(Vec<Shortage>),
    /// PodTopologySpread with `whenUnsatisfiable: DoNotSchedule`.
    Spread { missing_label: bool },
    /// InterPodAffinity: required pod affinity.
    PodAffinity,
    /// InterPodAffinity: required pod anti-affinity.
    PodAntiAffinity,
    /// InterPodAffinity: a pod already placed whose required anti-affinity
    /// selects the incoming pod shares the node's topology domain.
    ExistingAntiAffinity,
    /// NodePorts: a wanted host port is taken on the node.
    Ports,
}

impl Reject {
    /// The reasons the scheduler counts for this node, in its words.
    pub fn reasons(&self, version: KubeVersion) -> Vec<String> {
        match self {
            Self::PreFilter(message) => vec![message.clone()],
            // pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go ErrReasonUnschedulable
            Self::Unschedulable => vec!["node(s) were unschedulable".into()],
            // pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go Filter: v1.35 stops
            // naming the taint (the message no longer discloses key and value); v1.31–1.34 print
            // `node(s) had untolerated taint {%s: %s}`.
            Self::Taint(t) => vec![if version.minor >= 35 {
                "node(s) had untolerated taint(s)".to_string()
            } else {
                format!("node(s) had untolerated taint {}", t.describe())
            }],
            // pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go ErrReasonPod
            Self::Affinity => vec!["node(s) didn't match Pod's node affinity/selector".into()],
            // pkg/scheduler/schedule_one.go findNodesThatFitPod: nodes left out by a PreFilterResult
            // get "node(s) didn't satisfy plugin(s) %v".
            Self::NotInPreFilter => vec!["node(s) didn't satisfy plugin(s) [NodeAffinity]".into()],
            Self::Resources(shortages) => shortages.iter().map(Shortage::reason).collect(),
            // pkg/scheduler/framework/plugins/podtopologyspread/filtering.go ErrReasonConstraintsNotMatch,
            // ErrReasonNodeLabelNotMatch
            Self::Spread { missing_label: false } => {
                vec!["node(s) didn't match pod topology spread constraints".into()]
            }
            Self::Spread { missing_label: true } => {
                vec!["node(s) didn't match pod topology spread constraints (missing required label)".into()]
            }
            // pkg/scheduler/framework/plugins/interpodaffinity/filtering.go ErrReasonAffinityRulesNotMatch,
            // ErrReasonAntiAffinityRulesNotMatch
            Self::PodAffinity => vec!["node(s) didn't match pod affinity rules".into()],
            Self::PodAntiAffinity => vec!["node(s) didn't match pod anti-affinity rules".into()],
            // interpodaffinity/filtering.go ErrReasonExistingAntiAffinityRulesNotMatch
            Self::ExistingAntiAffinity => vec!["node(s) didn't satisfy existing pods anti-affinity rules".into()],
            // pkg/scheduler/framework/plugins/nodeports/node_ports.go ErrReason
            Self::Ports => vec!["node(s) didn't have free ports for the requested pod ports".into()],
        }
    }

    /// Whether preemption might help on this node: the plugin answered
    /// `Unschedulable`, not `UnschedulableAndUnresolvable`
    /// (pkg/scheduler/framework/preemption/preemption.go
    /// `nodesWherePreemptionMightHelp`).
    pub fn preemption_might_help(&self) -> bool {
        match self {
            Self::PreFilter(_)
            | Self::Unschedulable
            | Self::Taint(_)
            | Self::Affinity
            | Self::NotInPreFilter
            | Self::PodAffinity => false,
            Self::Spread { missing_label } => !missing_label,
            Self::Resources(shortages) => !shortages.iter().any(Shortage::unresolvable),
            // Unschedulable, not UnschedulableAndUnresolvable (filtering.go Filter, node_ports.go Filter).
            Self::PodAntiAffinity | Self::ExistingAntiAffinity | Self::Ports => true,
        }
    }
}

/// `0/5 nodes are available: 3 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint(s).`
/// (pkg/scheduler/framework/types.go `FitError.Error`: a histogram of
/// reasons, each "count reason", sorted as strings.)
///
/// After a PreFilter rejection the message is PreFilter's alone
/// (`FitError.Error`: `0/3 nodes are available: pod affinity terms conflict.`).
pub fn fit_message(total: usize, rejects: &[Reject], version: KubeVersion) -> String {
    if let Some(Reject::PreFilter(message)) = rejects.first() {
        return format!("0/{total} nodes are available: {message}.");
    }
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for r in rejects {
        for reason in r.reasons(version) {
            *histogram.entry(reason).or_insert(0) += 1;
        }
    }
    let mut parts: Vec<String> = histogram.into_iter().map(|(reason, n)| format!("{n} {reason}")).collect();
    parts.sort();
    format!("0/{total} nodes are available: {}.", parts.join(", "))
}

/// A toleration matches a taint (k8s.io/api core/v1 toleration.go
/// `ToleratesTaint`): empty effect matches every effect; empty key with
/// `Exists` matches every key; `Exists` ignores the value, `Equal` (the
/// default operator) compares it.
pub fn tolerates(tolerations: &[Value], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
        let exists = s("operator") == "Exists";
        let effect_ok = s("effect").is_empty() || s("effect") == taint.effect.as_str();
        let key_ok = s("key").is_empty() && exists || s("key") == taint.key;
        let value_ok = exists || s("value") == taint.value;
        effect_ok && key_ok && value_ok
    })
}

/// A `NodeSelectorRequirement` (`matchExpressions` or `matchFields` of a
/// node selector term) against the value `value_of` gives its key.
fn expression_matches<'a>(expr: &Value, value_of: impl Fn(&str) -> Option<&'a str>) -> bool {
    let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
    let values: Vec<&str> = expr
        .get("values")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let operator = Operator::of_node_selector(expr.get("operator").and_then(Value::as_str).unwrap_or(""));
    operator.matches(&values, value_of(key))
}

fn required_terms(spec: &Value) -> Option<&[Value]> {
    spec.pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
}

/// nodeSelector and required node affinity (k8s.io/component-helpers
/// scheduling/corev1/nodeaffinity `GetRequiredNodeAffinity(pod).Match`):
/// every nodeSelector pair, and one of the terms, each term's expressions
/// and fields all matching; a term with neither matches nothing.
pub fn affinity_matches(spec: &Value, node: &Node) -> bool {
    if let Some(Value::Object(selector)) = spec.get("nodeSelector")
        && !selector.iter().all(|(k, v)| node.labels.get(k).map(String::as_str) == v.as_str())
    {
        return false;
    }
    let Some(terms) = required_terms(spec) else {
        return true;
    };
    terms.iter().any(|term| {
        let list = |k: &str| term.get(k).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let (exprs, fields) = (list("matchExpressions"), list("matchFields"));
        (!exprs.is_empty() || !fields.is_empty())
            && exprs.iter().all(|e| expression_matches(e, |k| node.labels.get(k).map(String::as_str)))
            && fields.iter().all(|e| expression_matches(e, |k| (k == "metadata.name").then_some(node.name.as_str())))
    })
}

/// The node names NodeAffinity's PreFilter narrows scheduling to, when
/// every required term names nodes with `matchFields metadata.name In`
/// (pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go
/// `PreFilter`: the union over terms of the intersection within a term;
/// `None` as soon as one term has no such field, and for an empty
/// `nodeSelectorTerms` list, which PreFilter passes and Filter then fails
/// on every node). An empty set is PreFilter's rejection,
/// [`NODE_NAMES_CONFLICT`].
pub fn prefilter_node_names(spec: &Value) -> Option<std::collections::BTreeSet<String>> {
    let terms = required_terms(spec).filter(|t| !t.is_empty())?;
    let mut names = std::collections::BTreeSet::new();
    for term in terms {
        let mut in_term: Option<std::collections::BTreeSet<String>> = None;
        for field in term.get("matchFields").and_then(Value::as_array).into_iter().flatten() {
            if field.get("key").and_then(Value::as_str) == Some("metadata.name")
                && Operator::of_node_selector(field.get("operator").and_then(Value::as_str).unwrap_or(""))
                    == Operator::In
            {
                let values: std::collections::BTreeSet<String> =
                    crate::cluster::strings(field.get("values")).into_iter().collect();
                in_term = Some(match in_term {
                    Some(so_far) => so_far.intersection(&values).cloned().collect(),
                    None => values,
                });
            }
        }
        names.extend(in_term?);
    }
    Some(names)
}

/// NodeAffinity's PreFilter when the terms' `metadata.name` sets have
/// nothing in common (node_affinity.go `errReasonConflict`).
pub const NODE_NAMES_CONFLICT: &str = "pod affinity terms conflict";

/// The taint a cordoned node behaves as if it had.
pub fn unschedulable_taint() -> Taint {
    Taint { key: "node.kubernetes.io/unschedulable".into(), value: String::new(), effect: TaintEffect::NoSchedule }
}

/// NodeResourcesFit (pkg/scheduler/framework/plugins/noderesources/fit.go
/// `fitsRequest`): "Too many pods" when the node's pod count reaches
/// `allocatable.pods` (0 when the node does not say), then every
/// requested resource the node has not enough of; zero requests are
/// skipped. Both the scheduler and the kubelet use this check.
pub fn shortages(requests: &Resources, node: &Node, used_requests: &Resources, used_pods: i64) -> Vec<Shortage> {
    let mut out = Vec::new();
    let max_pods = node.allocatable.get("pods").copied().unwrap_or(0);
    if used_pods.saturating_add(1) > max_pods {
        out.push(Shortage { resource: "pods".into(), requested: 1, used: used_pods, capacity: max_pods });
    }
    // cpu, memory and ephemeral-storage first, then the scalar resources:
    // the kubelet reports the first shortage only, in this order.
    let order = |name: &str| match name {
        "cpu" => 0,
        "memory" => 1,
        "ephemeral-storage" => 2,
        _ => 3,
    };
    let mut names: Vec<(&String, &i64)> = requests.iter().filter(|(_, v)| **v != 0).collect();
    names.sort_by_key(|(n, _)| order(n));
    for (name, want) in names {
        let capacity = node.allocatable.get(name).copied().unwrap_or(0);
        let used = used_requests.get(name).copied().unwrap_or(0);
        if *want > capacity.saturating_sub(used) {
            out.push(Shortage { resource: name.clone(), requested: *want, used, capacity });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn taint_wording_follows_the_version() {
        let taint = Taint { key: "nvidia.com/gpu".into(), value: "present".into(), effect: TaintEffect::NoSchedule };
        let r = [Reject::Taint(taint)];
        assert_eq!(
            fit_message(1, &r, KubeVersion { minor: 35 }),
            "0/1 nodes are available: 1 node(s) had untolerated taint(s)."
        );
        assert_eq!(
            fit_message(1, &r, KubeVersion { minor: 33 }),
            "0/1 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}."
        );
    }

    #[test]
    fn prefilter_names_are_a_union_of_intersections() {
        let spec = |terms: Value| json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}});
        let names = prefilter_node_names(&spec(json!([
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]},
                             {"key": "metadata.name", "operator": "In", "values": ["b", "c"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["d"]}]}
        ])))
        .unwrap();
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["b", "d"]);
        // A term without a name field leaves every node eligible.
        assert!(
            prefilter_node_names(&spec(json!([
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]},
                {"matchExpressions": [{"key": "x", "operator": "Exists"}]}
            ])))
            .is_none()
        );
    }

    #[test]
    fn too_many_pods_and_shortages_together() {
        let node = Node {
            name: "n".into(),
            allocatable: Resources::from([("cpu".into(), 4000), ("nvidia.com/gpu".into(), 2), ("pods".into(), 1)]),
            ..Node::default()
        };
        let want = Resources::from([("cpu".into(), 8000), ("nvidia.com/gpu".into(), 3)]);
        let s = shortages(&want, &node, &Resources::new(), 1);
        let reasons = Reject::Resources(s.clone()).reasons(KubeVersion::NEWEST);
        assert_eq!(reasons, ["Too many pods", "Insufficient cpu", "Insufficient nvidia.com/gpu"]);
        assert!(!Reject::Resources(s).preemption_might_help(), "asks for more than the node has in all");
        // A node without allocatable offers no pods at all.
        let bare = Node { name: "bare".into(), ..Node::default() };
        assert_eq!(shortages(&Resources::new(), &bare, &Resources::new(), 0)[0].resource, "pods");
    }
}
