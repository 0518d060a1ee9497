//! One case per scheduler rule, each naming the upstream file it follows.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::cluster::{BoundPod, Node, PodLabels, Taint};
use crate::group::PodGroup;
use gpuops_manifest::rollout::Rollout;

fn node(name: &str, gpus: i64, taint: Option<(&str, &str)>) -> Node {
    Node {
        name: name.into(),
        labels: BTreeMap::from([
            ("nvidia.com/gpu.product".into(), "NVIDIA-L4".into()),
            ("kubernetes.io/hostname".into(), name.into()),
        ]),
        taints: taint
            .map(|(k, v)| {
                vec![Taint { key: k.into(), value: v.into(), effect: crate::cluster::TaintEffect::NoSchedule }]
            })
            .unwrap_or_default(),
        unschedulable: false,
        allocatable: Resources::from([
            ("cpu".into(), 32000),
            ("memory".into(), 128 << 30),
            ("pods".into(), 110),
            ("nvidia.com/gpu".into(), gpus),
        ]),
    }
}

fn group(gpus: i64, replicas: u64, spec: Value) -> PodGroup {
    PodGroup {
        workload: crate::group::WorkloadRef::new("Deployment", Some("ns"), "x"),
        role: None,
        replicas,
        per_node: false,
        spec,
        containers: Box::default(),
        requests: Resources::from([("cpu".into(), 1000), ("nvidia.com/gpu".into(), gpus)]),
        rollout: Rollout::default(),
        namespace: "ns".into(),
        labels: BTreeMap::from([("app".into(), "x".into())]),
        priority: 0,
        preemption_never: false,
        warnings: Vec::new(),
        queue: None,
    }
}

fn cluster(nodes: Vec<Node>) -> Cluster {
    Cluster { source: "t".into(), nodes, ..Cluster::default() }
}

fn bound(name: &str, node: &str, gpus: i64, priority: i32) -> BoundPod {
    BoundPod {
        namespace: "batch".into(),
        name: name.into(),
        node: node.into(),
        requests: Resources::from([("nvidia.com/gpu".into(), gpus)]),
        priority,
        labels: PodLabels::default(),
    }
}

/// [`super::place`] of the small cases here, always within the budget.
fn place(cluster: &Cluster, groups: &[PodGroup], options: Options) -> Placement {
    super::place(cluster, groups, options).expect("within the placement budget")
}

fn v(minor: u32) -> Options {
    Options { kube_version: KubeVersion { minor }, ..Options::default() }
}

#[test]
fn scheduler_message_by_version_and_fragmentation_hint() {
    // pkg/scheduler/framework/types.go FitError.Error; tainttoleration Filter wording per version.
    let c = cluster(vec![
        node("a", 4, None),
        node("b", 4, None),
        node("c", 8, Some(("nvidia.com/gpu", "present"))),
        node("d", 0, None),
    ]);
    let groups = [group(3, 2, json!({})), group(2, 1, json!({}))];
    let p = place(&c, &groups, v(33));
    assert_eq!(p.groups[0].nodes.len(), 2);
    assert_eq!(
        p.groups[1].message.as_deref(),
        Some(
            "0/4 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, 3 Insufficient nvidia.com/gpu."
        )
    );
    assert_eq!(
        p.groups[1].event.as_ref().map(|e| e.message.as_str()),
        Some(
            "0/4 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, 3 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: 2 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        ),
        "d has no GPU at all: asking for more than allocatable is unresolvable (fit.go Unresolvable)"
    );
    let p = place(&c, &groups, v(35));
    assert_eq!(
        p.groups[1].event.as_ref().map(|e| e.message.as_str()),
        Some(
            "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 Insufficient nvidia.com/gpu. no new claims to deallocate, preemption: 0/4 nodes are available: 2 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        )
    );
    assert_eq!(
        p.groups[1].hint.as_deref(),
        Some("would fit on 1 node(s) if the pod tolerated nvidia.com/gpu=present:NoSchedule")
    );

    let tolerant = json!({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]});
    let p = place(&c, &[group(3, 3, tolerant.clone()), group(6, 1, tolerant)], Options::default());
    assert_eq!(p.groups[0].nodes, ["a", "b", "c"].map(String::from).to_vec(), "LeastAllocated cpu/memory, then name");
    let hint = p.groups[1].hint.clone().unwrap();
    assert!(hint.contains("7 free on eligible nodes, at most 5 on one (c)"), "{hint}");
}

#[test]
fn hints_name_the_real_blocker() {
    // 8 GPUs free on one node, but cpu is short there: not fragmentation.
    let c = cluster(vec![node("a", 8, None)]);
    let mut g = group(8, 1, json!({}));
    g.requests.insert("cpu".into(), 64000);
    let p = place(&c, &[g], Options::default());
    let hint = p.groups[0].hint.clone().unwrap();
    assert!(
        hint.starts_with("1 node(s) have 8 nvidia.com/gpu free but not enough cpu (asks 64, at most 32 free)"),
        "{hint}"
    );
    // GPUs on every node, but a selector rules them out: not "no node offers".
    let c = cluster(vec![node("a", 8, None), node("b", 8, None)]);
    let p = place(&c, &[group(1, 1, json!({"nodeSelector": {"pool": "h100"}}))], Options::default());
    assert_eq!(
        p.groups[0].hint.as_deref(),
        Some("would fit on 2 node(s) if its nodeSelector/affinity allowed them (a, b)")
    );
    let c = cluster(vec![node("a", 0, None)]);
    let p = place(&c, &[group(1, 1, json!({}))], Options::default());
    assert_eq!(
        p.groups[0].hint.as_deref(),
        Some("would fit if 1 more nvidia.com/gpu were free on an eligible node (0 free in all, at most 0 on one)")
    );
}

#[test]
fn cordon_ert_affinity_and_prefilter() {
    // node_unschedulable.go, ExtendedResourceToleration admission, node_affinity.go PreFilter.
    let mut n = node("a", 1, Some(("nvidia.com/gpu", "present")));
    let c = cluster(vec![n.clone()]);
    let ert = Options { extended_resource_toleration: true, ..Options::default() };
    let p = place(&c, &[group(1, 1, json!({}))], ert);
    assert_eq!(p.groups[0].nodes.len(), 1, "ExtendedResourceToleration tolerates nvidia.com/gpu taints");
    n.taints.clear();
    n.unschedulable = true;
    let p = place(&cluster(vec![n]), &[group(1, 1, json!({}))], Options::default());
    assert_eq!(p.groups[0].message.as_deref(), Some("0/1 nodes are available: 1 node(s) were unschedulable."));
    let affinity = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-H100-80GB-HBM3"]}]}]}}}});
    let p = place(&c, &[group(1, 1, affinity)], ert);
    assert_eq!(
        p.groups[0].message.as_deref(),
        Some("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
    );
    let three = cluster(vec![node("a", 1, None), node("b", 1, None), node("c", 1, None)]);
    let by_name = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]}}}});
    let p = place(&three, &[group(2, 1, by_name)], Options::default());
    assert_eq!(
        p.groups[0].message.as_deref(),
        Some(
            "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
        )
    );
}

#[test]
fn node_name_pins_meet_the_kubelet_not_the_scheduler() {
    // pkg/kubelet/lifecycle/predicate.go: resources, affinity and NoExecute only.
    let mut pinned_node = node("node3", 2, Some(("nvidia.com/gpu", "present")));
    pinned_node.unschedulable = true;
    let c = cluster(vec![node("node1", 8, None), pinned_node]);
    let p = place(&c, &[group(2, 1, json!({"nodeName": "node3"}))], Options::default());
    assert_eq!(p.groups[0].nodes, ["node3"], "a cordoned, NoSchedule-tainted node still runs a pinned pod");
    let p = place(&c, &[group(3, 1, json!({"nodeName": "node3"}))], Options::default());
    assert_eq!(
        p.groups[0].message.as_deref(),
        Some(
            "the kubelet on node3 rejects the pod (status Failed, reason OutOfnvidia.com/gpu): Pod was rejected: Node didn't have enough resource: nvidia.com/gpu, requested: 3, used: 0, capacity: 2"
        )
    );
    assert!(!p.groups[0].message.as_deref().unwrap().contains("nodes are available"));
    let p = place(&c, &[group(1, 1, json!({"nodeName": "gone"}))], Options::default());
    assert!(p.groups[0].message.as_deref().unwrap().contains("not in the cluster"), "{:?}", p.groups[0].message);
}

#[test]
fn preemption_of_lower_priority_pods() {
    // preemption.go SelectVictimsOnNode (reprieve most important first), pickOneNodeForPreemption.
    let mut c = cluster(vec![node("a", 4, None), node("b", 4, None)]);
    c.pods = vec![
        bound("low-1", "a", 2, 10),
        bound("low-2", "a", 2, 10),
        bound("mid", "b", 2, 100),
        bound("low-3", "b", 2, 10),
    ];
    let mut g = group(2, 1, json!({}));
    g.priority = 1000;
    let p = place(&c, &[g.clone()], Options::default());
    // On a, low-1 is kept back first and low-2 must go; b would lose mid or
    // low-3 at higher cost (the highest victim priority is compared first).
    assert_eq!(p.groups[0].preempted, ["batch/low-2"], "one victim suffices");
    assert_eq!(p.groups[0].nodes, ["a"]);
    g.preemption_never = true;
    let p = place(&c, &[g.clone()], Options::default());
    assert!(
        p.groups[0]
            .event
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap()
            .ends_with("no new claims to deallocate, preemption: not eligible due to preemptionPolicy=Never.")
    );
    g.preemption_never = false;
    g.priority = 10;
    let p = place(&c, &[g], Options::default());
    assert!(
        p.groups[0]
            .event
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap()
            .ends_with("preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.")
    );
}

#[test]
fn anti_affinity_and_spread_between_replicas() {
    // interpodaffinity/filtering.go, podtopologyspread/filtering.go.
    let c = cluster(vec![node("a", 8, None), node("b", 8, None), node("c", 8, None)]);
    let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}}});
    let p = place(&c, &[group(1, 4, anti)], Options::default());
    assert_eq!(p.groups[0].nodes.len(), 3);
    assert_eq!(
        p.groups[0].message.as_deref(),
        Some("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.")
    );
    let mut zoned = cluster(vec![node("a", 16, None), node("b", 16, None), node("c", 8, None)]);
    for (n, zone) in zoned.nodes.iter_mut().zip(["z1", "z1", "z2"]) {
        n.labels.insert("topology.kubernetes.io/zone".into(), zone.into());
    }
    let spread = json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "x"}}}]});
    let p = place(&zoned, &[group(8, 4, spread)], Options::default());
    // z1, z2, z1; a fourth would make z1 two ahead of z2, whose node is full.
    assert_eq!(p.groups[0].nodes, ["a", "c", "b"], "{:?}", p.groups[0]);
    assert_eq!(
        p.groups[0].message.as_deref(),
        Some(
            "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) didn't match pod topology spread constraints."
        )
    );
}

#[test]
fn versions_parse_like_servers_report_them() {
    assert_eq!(KubeVersion::parse("v1.31.4-gke.1000").unwrap().minor, 31);
    assert_eq!(KubeVersion::parse("1.35").unwrap(), KubeVersion::NEWEST);
    assert_eq!(KubeVersion::parse("1.36").unwrap().wording(), KubeVersion::NEWEST);
    assert!(KubeVersion::parse("2.0").is_err());
}

#[test]
fn preemption_sums_priorities_shifted_by_two_to_the_31() {
    // preemption.go pickOneNodeForPreemption: `sumPriorities += int64(p.Spec.Priority) +
    // int64(math.MaxInt32+1)`. With equal highest victim priorities (-10), the plain sum
    // would prefer a's two victims (-20 < -10); shifted, b's single victim costs less.
    let mut c = cluster(vec![node("a", 2, None), node("b", 2, None)]);
    c.pods = vec![bound("a-1", "a", 1, -10), bound("a-2", "a", 1, -10), bound("b-1", "b", 2, -10)];
    let mut g = group(2, 1, json!({}));
    g.priority = 0;
    let p = place(&c, &[g], Options::default());
    assert_eq!(p.groups[0].preempted, ["batch/b-1"]);
    assert_eq!(p.groups[0].nodes, ["b"]);
}

#[test]
fn a_prefilter_rejection_is_the_whole_message_and_preemption_cannot_help() {
    // nodeaffinity/node_affinity.go PreFilter errReasonConflict; types.go FitError.Error prints
    // PreFilter's message alone; preemption.go nodesWherePreemptionMightHelp skips every node
    // (UnschedulableAndUnresolvable).
    let c = cluster(vec![node("a", 4, None), node("b", 4, None)]);
    let spec = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]},
                         {"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}}});
    let p = place(&c, &[group(1, 1, spec)], v(35));
    assert_eq!(
        p.groups[0].event.as_ref().unwrap().message,
        "0/2 nodes are available: pod affinity terms conflict. no new claims to deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    );
}

#[test]
fn a_hint_names_pod_rules_when_the_free_gpus_are_ruled_out_by_them() {
    // a: 1 GPU left, taken by anti-affinity between replicas; b: no GPU left. The blocker on
    // a is the replicas' anti-affinity, not a resource (the hint once ended "but not enough ").
    let c = cluster(vec![node("a", 2, None), node("b", 1, None)]);
    let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}}});
    let p = place(&c, &[group(1, 3, anti)], Options::default());
    let hint = p.groups[0].hint.clone().unwrap();
    assert!(hint.starts_with("1 node(s) have 1 nvidia.com/gpu free, but the pod's (anti-)affinity"), "{hint}");
}

fn labelled(mut pod: BoundPod, labels: &[(&str, &str)]) -> BoundPod {
    let map: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    pod.labels = PodLabels::from_map(&map);
    pod
}

#[test]
fn preemption_counts_pdb_violations_and_avoids_them_first() {
    // default_preemption.go filterPodsWithPDBViolation; preemption.go
    // pickOneNodeForPreemption minNumPDBViolatingScoreFunc before the priorities.
    let pdb = serde_json::json!({"kind": "PodDisruptionBudget", "metadata": {"name": "db", "namespace": "batch"},
        "spec": {"selector": {"matchLabels": {"app": "db"}}}, "status": {"disruptionsAllowed": 0}});
    let mut c = cluster(vec![node("a", 2, None), node("b", 2, None)]);
    c.pods = vec![labelled(bound("db-0", "a", 2, 0), &[("app", "db")]), bound("web-0", "b", 2, 50)];
    let mut g = group(2, 1, json!({}));
    g.priority = 1000;
    // Without the budget, a's victim has the lower priority.
    let p = place(&c, &[g.clone()], Options::default());
    assert_eq!((p.groups[0].nodes.as_slice(), p.groups[0].pdb_violations), (&["a".to_string()][..], 0));
    c.pdbs = crate::cluster::PodDisruptionBudget::from_object(&pdb).into_iter().collect();
    let p = place(&c, &[g.clone()], Options::default());
    assert_eq!(p.groups[0].nodes, ["b"], "the node without a PDB violation wins");
    assert_eq!(p.groups[0].pdb_violations, 0);
    // Only a left: it preempts anyway, and says it violates the budget.
    c.pods[1].priority = 2000;
    let p = place(&c, &[g], Options::default());
    assert_eq!((p.groups[0].preempted.as_slice(), p.groups[0].pdb_violations), (&["batch/db-0".to_string()][..], 1));
}

#[test]
fn preemption_frees_existing_anti_affinity_and_later_groups_see_the_victim_gone() {
    // default_preemption.go SelectVictimsOnNode re-runs every filter with the
    // victims removed (interpodaffinity RemovePod updates the existing pods'
    // anti-affinity counts).
    let mut c = cluster(vec![node("a", 4, None)]);
    c.pods = vec![bound("keeps-x-away", "a", 0, 0)];
    let terms = r#"[{"labelSelector": {"matchLabels": {"app": "x"}}, "namespaces": ["ns"], "topologyKey": "kubernetes.io/hostname"}]"#;
    c.pod_scheduling.insert(
        ("batch".into(), "keeps-x-away".into()),
        crate::cluster::PodScheduling {
            node: "a".into(),
            anti_affinity: crate::cluster::AntiAffinityText::from_json(terms),
            host_ports: Vec::new(),
        },
    );
    let mut first = group(1, 1, json!({}));
    first.priority = 1000;
    let second = group(1, 1, json!({})); // priority 0: it could not preempt
    let p = place(&c, &[first.clone(), second], Options::default());
    assert_eq!(p.groups[0].preempted, ["batch/keeps-x-away"]);
    assert_eq!(
        (p.groups[0].nodes.as_slice(), p.groups[1].nodes.as_slice()),
        (&["a".to_string()][..], &["a".to_string()][..])
    );
    // The same pod at a higher priority stays, and the message says which filter still fails.
    c.pods[0].priority = 5000;
    let p = place(&c, &[first], Options::default());
    assert!(
        p.groups[0]
            .event
            .as_ref()
            .unwrap()
            .message
            .ends_with("preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."),
        "{:?}",
        p.groups[0].event
    );
}

#[test]
fn a_node_that_still_fails_without_its_victims_counts_the_filter_reason() {
    // preemption.go DryRunPreemption records SelectVictimsOnNode's filter
    // status per node; FitError counts its reasons (TestPostFilter "no
    // candidate nodes found, no enough resource after removing low priority
    // pods": "preemption: 0/2 nodes are available: 2 Insufficient cpu.").
    let mut c = cluster(vec![node("a", 4, None)]);
    c.pods = vec![bound("high", "a", 3, 5000), bound("low", "a", 1, 0)];
    let mut g = group(2, 1, json!({}));
    g.priority = 1000;
    let p = place(&c, &[g], Options::default());
    let message = &p.groups[0].event.as_ref().unwrap().message;
    assert!(message.ends_with("preemption: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu."), "{message}");
    assert!(p.groups[0].preempted.is_empty());
}

#[test]
fn nodes_where_preemption_might_help() {
    // pkg/scheduler/framework/preemption/preemption_test.go
    // `TestNodesWherePreemptionMightHelp`: 6 of its 9 rows, each node's
    // filter status as the plugin that gives it; skipped: the NodeName
    // plugin's status (spec.nodeName pods meet the kubelet here), the
    // volume plugins' and node-condition rows (not modelled), and the row
    // of bare status codes without a plugin.
    let shortage = |resource: &str| Shortage { resource: resource.into(), requested: 2, used: 3, capacity: 4 };
    let cases: Vec<(&str, Vec<(Reject, bool)>)> = vec![
        (
            "No node should be attempted",
            vec![
                (Reject::Affinity, false),
                (Reject::Taint(filters::unschedulable_taint()), false),
                (Reject::PodAffinity, false),
            ],
        ),
        (
            "ErrReasonAntiAffinityRulesNotMatch should be tried as it indicates that the pod is unschedulable due to inter-pod anti-affinity",
            vec![(Reject::PodAntiAffinity, true), (Reject::Unschedulable, false)],
        ),
        (
            "ErrReasonAffinityRulesNotMatch should not be tried as it indicates that the pod is unschedulable due to inter-pod affinity, but ErrReasonAntiAffinityRulesNotMatch should be tried as it indicates that the pod is unschedulable due to inter-pod anti-affinity",
            vec![(Reject::PodAffinity, false), (Reject::PodAntiAffinity, true)],
        ),
        ("Mix of failed predicates works fine", vec![(Reject::Resources(vec![shortage("memory")]), true)]),
        (
            "ErrReasonConstraintsNotMatch should be tried as it indicates that the pod is unschedulable due to topology spread constraints",
            vec![(Reject::Spread { missing_label: false }, true)],
        ),
        (
            "ErrReasonNodeLabelNotMatch should not be tried as it indicates that the pod is unschedulable due to node doesn't have the required label",
            vec![(Reject::Spread { missing_label: true }, false)],
        ),
    ];
    for (row, nodes) in cases {
        for (reject, helps) in nodes {
            assert_eq!(reject.preemption_might_help(), helps, "{row}: {reject:?}");
        }
    }
}
