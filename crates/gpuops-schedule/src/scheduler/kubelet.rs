//! Pods with `spec.nodeName` never meet the scheduler: the kubelet of that
//! node admits or rejects them (kubernetes/kubernetes
//! pkg/kubelet/lifecycle/predicate.go `predicateAdmitHandler.Admit`). It
//! checks resources, node affinity/selector and `NoExecute` taints only: a
//! cordoned node or an untolerated `NoSchedule` taint does not stop it.

use serde_json::Value;

use super::NodeUse;
use super::filters::{affinity_matches, shortages, tolerates};
use crate::cluster::{HostPort, Node, TaintEffect};
use crate::resources::{Resources, is_extended};

/// A rejection as the pod's status shows it (`kubectl describe pod`:
/// `Status: Failed`, `Reason:`, `Message:`), and the kubelet's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectionReason,
    /// The event text (`Node didn't have enough resource: …`).
    pub message: String,
}

/// Why the kubelet rejects a pod, shown as the pod's `status.reason`
/// (pkg/kubelet/lifecycle/predicate.go `Admit`: `OutOf<resource>` for an
/// `InsufficientResourceError`, else the predicate's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectionReason {
    /// Not enough of this resource left on the node (`OutOfnvidia.com/gpu`).
    OutOf(String),
    /// The node does not match the pod's node selector or affinity.
    NodeAffinity,
    /// The node has a `NoExecute` taint the pod does not tolerate.
    TaintToleration,
    /// A host port the pod asks for is taken on the node.
    NodePorts,
}

impl std::fmt::Display for RejectionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectionReason::OutOf(resource) => write!(f, "OutOf{resource}"),
            RejectionReason::NodeAffinity => f.write_str("NodeAffinity"),
            RejectionReason::TaintToleration => f.write_str("TaintToleration"),
            RejectionReason::NodePorts => f.write_str("NodePorts"),
        }
    }
}

impl Rejection {
    /// `status.message`: pkg/kubelet/kubelet.go `rejectPod` prefixes "Pod was rejected: ".
    pub fn status_message(&self) -> String {
        format!("Pod was rejected: {}", self.message)
    }
}

/// The kubelet's admission of one pod on its node, with what is already
/// admitted there (`used`), for a pod without host ports.
pub fn admit(spec: &Value, requests: &Resources, node: &Node, used: &NodeUse) -> Result<(), Rejection> {
    admit_with_ports(spec, requests, &[], node, used)
}

/// [`admit`] for a pod asking for `host_ports`.
pub fn admit_with_ports(
    spec: &Value,
    requests: &Resources,
    host_ports: &[HostPort],
    node: &Node,
    used: &NodeUse,
) -> Result<(), Rejection> {
    // removeMissingExtendedResources: extended resources the node does not
    // list are dropped before the check (cluster-level resources).
    let known: Resources = requests
        .iter()
        .filter(|(name, _)| !is_extended(name) || node.allocatable.contains_key(*name))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    // generalFilter → scheduler.AdmissionCheck(includeAllFailures): resources,
    // then node affinity, then (non-static pods) NoExecute taints; only the
    // first reason is reported.
    if let Some(s) = shortages(&known, node, &used.requests, used.pods).into_iter().next() {
        let reason = RejectionReason::OutOf(s.resource.clone());
        let message = format!(
            "Node didn't have enough resource: {}, requested: {}, used: {}, capacity: {}",
            s.resource, s.requested, s.used, s.capacity
        );
        return Err(Rejection { reason, message });
    }
    if !affinity_matches(spec, node) {
        // PredicateFailureError.Error(): "Predicate %s failed: %s".
        return Err(Rejection {
            reason: RejectionReason::NodeAffinity,
            message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector".into(),
        });
    }
    // AdmissionCheck: NodeName (always true here: the pod names this node),
    // then NodePorts (`nodeports.Fits`, pkg/scheduler/schedule_one.go
    // AdmissionCheck), before the NoExecute taints.
    if used.ports_conflict(host_ports) {
        return Err(Rejection {
            reason: RejectionReason::NodePorts,
            message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports".into(),
        });
    }
    let tolerations = spec.get("tolerations").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    // "Kubelet is only interested in the NoExecute taint."
    if node.taints.iter().any(|t| t.effect == TaintEffect::NoExecute && !tolerates(tolerations, t)) {
        // tainttoleration.ErrReasonNotMatch
        return Err(Rejection {
            reason: RejectionReason::TaintToleration,
            message: "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Taint;
    use serde_json::json;

    fn node() -> Node {
        Node {
            name: "node3".into(),
            allocatable: Resources::from([("cpu".into(), 8000), ("pods".into(), 110), ("nvidia.com/gpu".into(), 2)]),
            unschedulable: true,
            taints: vec![Taint {
                key: "nvidia.com/gpu".into(),
                value: "present".into(),
                effect: TaintEffect::NoSchedule,
            }],
            ..Node::default()
        }
    }

    #[test]
    fn resources_reject_with_the_kubelets_words_and_cordon_does_not() {
        let want = Resources::from([("nvidia.com/gpu".into(), 3)]);
        let r = admit(&json!({}), &want, &node(), &NodeUse::default()).unwrap_err();
        assert_eq!(r.reason, RejectionReason::OutOf("nvidia.com/gpu".into()));
        assert_eq!(r.reason.to_string(), "OutOfnvidia.com/gpu");
        assert_eq!(
            r.status_message(),
            "Pod was rejected: Node didn't have enough resource: nvidia.com/gpu, requested: 3, used: 0, capacity: 2"
        );
        let two = Resources::from([("nvidia.com/gpu".into(), 2)]);
        assert!(admit(&json!({}), &two, &node(), &NodeUse::default()).is_ok(), "cordon and NoSchedule do not stop it");
        let mut evicting = node();
        evicting.taints[0].effect = TaintEffect::NoExecute;
        assert_eq!(
            admit(&json!({}), &two, &evicting, &NodeUse::default()).unwrap_err().reason,
            RejectionReason::TaintToleration
        );
        let selector = json!({"nodeSelector": {"pool": "a100"}});
        assert_eq!(
            admit(&selector, &two, &node(), &NodeUse::default()).unwrap_err().reason,
            RejectionReason::NodeAffinity
        );
        // A resource the node does not list is not checked.
        let other = Resources::from([("example.com/fpga".into(), 1)]);
        assert!(admit(&json!({}), &other, &node(), &NodeUse::default()).is_ok());
    }
}
