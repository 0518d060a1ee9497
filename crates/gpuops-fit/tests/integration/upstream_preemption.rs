//! Rows of kube-scheduler's own preemption tests (kubernetes/kubernetes
//! pkg/scheduler/framework/plugins/defaultpreemption/default_preemption_test.go,
//! read at commit 008b3652, newer than v1.35.0: the rows ported here are
//! the ones that have no 1.36 feature in them), restated as dumps and
//! one-replica workloads and run through the whole check over the JSON and
//! the YAML dump reader both.
//!
//! Upstream's helpers, restated: nodes `st.MakeNode().Capacity(veryLargeRes)`
//! (cpu 500m, memory 500, and pods 32, which pkg/scheduler/testing/
//! wrappers.go `NodeWrapper.Capacity` always adds); `smallRes`/`mediumRes`/`largeRes`/
//! `veryLargeRes` = 100/200/300/500 (m cpu and bytes); priorities
//! neg/low/mid/high/veryHigh = -100/0/100/1000/10000 (the incoming pod's
//! through a PriorityClass); `epochTimeN` = N ns after the epoch. Upstream
//! calls `DryRunPreemption` on every node; a whole check reaches
//! preemption only when every node fails Filter, which every ported row
//! arranges (the one adaptation is said at its row).
//!
//! Counted per upstream test (this version of the file):
//! - `TestDryRunPreemption` (formerly `TestSelectNodesForPreemption`):
//!   12 of 19 rows; skipped: 4 that run fake Filter plugins (FalseFilter,
//!   TrueFilter, MatchFilter, a fake Unschedulable filter) and 3 on
//!   `DefaultPreemptionArgs` sampling with a seeded random offset (not
//!   modelled: every node is dry-run here, as upstream does up to 100
//!   nodes). "preemption looks past numCandidates…" is ported as the node
//!   its candidates lead to.
//! - `TestSelectBestCandidate` (pickOneNodeForPreemption; formerly
//!   `TestPickOneNodeForPreemption`): all 9 rows.
//! - `TestPostFilter`: 4 of 18 rows; skipped: 5 whose node statuses are
//!   injected rather than computed by the filters, 1 with an extender, 2
//!   with a failing test PreFilter plugin, 6 on PodGroups (feature gates
//!   not modelled). One row of our own beside them checks the PDB
//!   tie-break alone.
//! - `TestPreempt`: 4 of 8 rows; skipped: the 4 with scheduler extenders.

use gpuops_fit::report::{CheckOptions, Report, check};
use gpuops_schedule::cluster::from_dump;
use serde_json::{Value, json};

const NEG: i64 = -100;
const LOW: i64 = 0;
const MID: i64 = 100;
const HIGH: i64 = 1000;
const VERY_HIGH: i64 = 10000;

const SMALL: i64 = 100;
const MEDIUM: i64 = 200;
const LARGE: i64 = 300;
const VERY_LARGE: i64 = 500;

/// `st.MakeNode().Name(name).Capacity(veryLargeRes)`, with upstream's
/// `hostname`/`zone` labels when the name is `node/zone`.
fn node(spec: &str) -> Value {
    let mut parts = spec.split('/');
    let name = parts.next().unwrap();
    let mut labels = json!({"kubernetes.io/hostname": name, "hostname": name});
    if let Some(zone) = parts.next() {
        labels["zone"] = json!(zone);
    }
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": format!("{VERY_LARGE}m"), "memory": VERY_LARGE.to_string(), "pods": "32"}}})
}

/// A node with only `pods: 1` (TestPostFilter's `onePodRes`).
fn one_pod_node(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"allocatable": {"pods": "1"}}})
}

/// A bound pod: `st.MakePod().Name(name).Node(node).Priority(priority).Req(res)`.
struct Bound {
    name: &'static str,
    node: &'static str,
    priority: i64,
    res: i64,
    labels: Value,
    /// `StartTime(epochTimeN)`: N.
    start: Option<u32>,
    spec: Value,
}

fn bound(name: &'static str, node: &'static str, priority: i64, res: i64) -> Bound {
    Bound { name, node, priority, res, labels: json!({}), start: None, spec: json!({}) }
}

impl Bound {
    fn started(mut self, ns: u32) -> Self {
        self.start = Some(ns);
        self
    }

    fn labels(mut self, labels: Value) -> Self {
        self.labels = labels;
        self
    }

    fn spec(mut self, spec: Value) -> Self {
        self.spec = spec;
        self
    }

    fn object(&self) -> Value {
        let requests = if self.res > 0 {
            json!({"cpu": format!("{}m", self.res), "memory": self.res.to_string()})
        } else {
            json!({})
        };
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": self.name, "namespace": "default", "labels": self.labels},
            "spec": {"nodeName": self.node, "priority": self.priority,
                "containers": [{"name": "c", "resources": {"requests": requests}}]},
            "status": {"phase": "Running"}});
        if let Some(ns) = self.start {
            pod["status"]["startTime"] = json!(format!("1970-01-01T00:00:00.{ns:09}Z"));
        }
        for (k, v) in self.spec.as_object().cloned().unwrap_or_default() {
            pod["spec"][k] = v;
        }
        pod
    }
}

/// `policy/v1` PodDisruptionBudget selecting `app: foo` (or `selector`).
fn pdb(name: &str, selector: Value, allowed: i64, disrupted: &[&str]) -> Value {
    let disrupted: serde_json::Map<String, Value> =
        disrupted.iter().map(|p| (p.to_string(), json!("2026-01-01T00:00:00Z"))).collect();
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": selector}},
        "status": {"disruptionsAllowed": allowed, "disruptedPods": disrupted}})
}

/// The incoming pod: one replica with `priority` (through a PriorityClass
/// in the dump), asking for `res`, with `labels` and extra `spec`.
fn incoming(priority: i64, res: i64, labels: Value, spec: Value) -> Value {
    let mut pod_spec = json!({"containers": [{"name": "c", "resources": {"requests": {}}}]});
    if res > 0 {
        pod_spec["containers"][0]["resources"]["requests"] =
            json!({"cpu": format!("{res}m"), "memory": res.to_string()});
    }
    if priority != 0 {
        pod_spec["priorityClassName"] = json!(format!("p{priority}"));
    }
    for (k, v) in spec.as_object().cloned().unwrap_or_default() {
        pod_spec[k] = v;
    }
    let labels = if labels.as_object().is_some_and(|m| !m.is_empty()) { labels } else { json!({"app": "incoming"}) };
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "incoming", "namespace": "default"},
        "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec}}})
}

fn priority_classes() -> Vec<Value> {
    [NEG, MID, HIGH, VERY_HIGH]
        .iter()
        .map(|v| {
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": format!("p{v}")}, "value": v})
        })
        .collect()
}

/// What a row expects.
enum Want {
    /// Preemption on one of these nodes, evicting exactly these pods.
    Preempt(&'static [(&'static str, &'static [&'static str])]),
    /// No preemption; the FailedScheduling event contains this.
    Unschedulable(&'static str),
}

struct Row {
    source: &'static str,
    nodes: Vec<Value>,
    pods: Vec<Bound>,
    extra: Vec<Value>,
    incoming: Value,
    want: Want,
}

fn run_one(row: &Row, format: &str, text: &str) {
    let cluster = from_dump(text.as_bytes(), "dump").unwrap_or_else(|e| panic!("{}: {e}", row.source));
    let report: Report = check(&cluster, std::slice::from_ref(&row.incoming), CheckOptions::default()).unwrap();
    let w = &report.workloads[0];
    let explained = report.explain();
    match &row.want {
        Want::Preempt(choices) => {
            assert!(w.fits, "{} ({format}): expected to fit by preempting:\n{explained}", row.source);
            let mut got: Vec<String> =
                w.preempts.iter().map(|p| p.trim_start_matches("default/").to_string()).collect();
            got.sort();
            let node = w.nodes.first().map(String::as_str).unwrap_or("");
            assert!(
                choices.iter().any(|(n, victims)| *n == node && got == *victims),
                "{} ({format}): preempted {got:?} on {node}, expected one of {choices:?}\n{explained}",
                row.source
            );
        }
        Want::Unschedulable(message) => {
            assert!(!w.fits, "{} ({format}): expected not to fit:\n{explained}", row.source);
            let event = w.event.as_ref().map(|e| e.message.clone()).unwrap_or_default();
            assert!(event.contains(message), "{} ({format}): expected {message:?} in {event:?}", row.source);
        }
    }
}

fn run(rows: Vec<Row>) {
    for row in rows {
        let mut items = row.nodes.clone();
        items.extend(row.pods.iter().map(Bound::object));
        items.extend(row.extra.iter().cloned());
        items.extend(priority_classes());
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
        let mut yaml = String::new();
        gpuops_manifest::yaml::write_document(&mut yaml, &list);
        run_one(&row, "json", &serde_json::to_string_pretty(&list).unwrap());
        run_one(&row, "yaml", &yaml);
    }
}

fn nodes(specs: &[&str]) -> Vec<Value> {
    specs.iter().map(|s| node(s)).collect()
}

fn plain(priority: i64, res: i64) -> Value {
    incoming(priority, res, json!({}), json!({}))
}

fn foo() -> Value {
    json!({"app": "foo"})
}

/// default_preemption_test.go `TestDryRunPreemption` (named
/// `TestSelectNodesForPreemption` before the preemption framework split):
/// each row's candidates, and the one `pickOneNodeForPreemption` then takes.
#[test]
fn dry_run_preemption() {
    const ALL_NO_VICTIMS: &str = "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.";
    run(vec![
        Row {
            source: "TestDryRunPreemption: a pod that fits on both nodes when lower priority pods are preempted",
            nodes: nodes(&["node1", "node2"]),
            pods: vec![bound("p1", "node1", MID, LARGE), bound("p2", "node2", MID, LARGE)],
            extra: vec![],
            incoming: plain(HIGH, LARGE),
            want: Want::Preempt(&[("node1", &["p1"]), ("node2", &["p2"])]),
        },
        Row {
            source: "TestDryRunPreemption: a pod that would fit on the nodes, but other pods running are higher priority, no preemption would happen",
            nodes: nodes(&["node1", "node2"]),
            pods: vec![bound("p1", "node1", MID, LARGE), bound("p2", "node2", MID, LARGE)],
            extra: vec![],
            incoming: plain(LOW, LARGE),
            want: Want::Unschedulable(ALL_NO_VICTIMS),
        },
        Row {
            source: "TestDryRunPreemption: medium priority pod is preempted, but lower priority one stays as it is small",
            nodes: nodes(&["node1", "node2"]),
            pods: vec![
                bound("p1.1", "node1", LOW, SMALL),
                bound("p1.2", "node1", MID, LARGE),
                bound("p2", "node2", MID, LARGE),
            ],
            extra: vec![],
            incoming: plain(HIGH, LARGE),
            want: Want::Preempt(&[("node1", &["p1.2"]), ("node2", &["p2"])]),
        },
        Row {
            source: "TestDryRunPreemption: mixed priority pods are preempted",
            nodes: nodes(&["node1", "node2"]),
            pods: vec![
                bound("p1.1", "node1", MID, SMALL),
                bound("p1.2", "node1", LOW, SMALL),
                bound("p1.3", "node1", MID, MEDIUM),
                bound("p1.4", "node1", HIGH, SMALL),
                bound("p2", "node2", HIGH, LARGE),
            ],
            extra: vec![],
            incoming: plain(HIGH, LARGE),
            want: Want::Preempt(&[("node1", &["p1.2", "p1.3"])]),
        },
        Row {
            source: "TestDryRunPreemption: mixed priority pods are preempted, pick later StartTime one when priorities are equal",
            nodes: nodes(&["node1", "node2"]),
            pods: vec![
                bound("p1.1", "node1", LOW, SMALL).started(5),
                bound("p1.2", "node1", LOW, SMALL).started(4),
                bound("p1.3", "node1", MID, MEDIUM).started(3),
                bound("p1.4", "node1", HIGH, SMALL).started(2),
                bound("p2", "node2", HIGH, LARGE).started(1),
            ],
            extra: vec![],
            incoming: plain(HIGH, LARGE),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.3"])]),
        },
        Row {
            // Adapted: upstream's node2 (one high-priority small pod) takes
            // the incoming pod without preemption, so a whole cycle never
            // reaches PostFilter; node2 is left out and node1's candidate
            // is the row's.
            source: "TestDryRunPreemption: pod with anti-affinity is preempted",
            nodes: nodes(&["node1"]),
            pods: vec![
                bound("p1.1", "node1", LOW, SMALL).labels(json!({"foo": ""})).spec(
                    json!({"affinity": {"podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchExpressions": [
                        {"key": "foo", "operator": "Exists"}]}, "topologyKey": "hostname"}]}}}),
                ),
                bound("p1.2", "node1", MID, SMALL),
                bound("p1.3", "node1", HIGH, SMALL),
            ],
            extra: vec![],
            incoming: incoming(HIGH, SMALL, json!({"foo": ""}), json!({})),
            want: Want::Preempt(&[("node1", &["p1.1"])]),
        },
        Row {
            source: "TestDryRunPreemption: preemption to resolve pod topology spread filter failure",
            nodes: nodes(&["node-a/zone1", "node-b/zone1", "node-x/zone2"]),
            pods: vec![
                bound("pod-a1", "node-a", MID, 0).labels(json!({"foo": ""})),
                bound("pod-a2", "node-a", LOW, 0).labels(json!({"foo": ""})),
                bound("pod-b1", "node-b", LOW, 0).labels(json!({"foo": ""})),
                bound("pod-x1", "node-x", HIGH, 0).labels(json!({"foo": ""})),
                bound("pod-x2", "node-x", HIGH, 0).labels(json!({"foo": ""})),
            ],
            extra: vec![],
            incoming: incoming(
                HIGH,
                0,
                json!({"foo": ""}),
                json!({"topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                     "labelSelector": {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}},
                    {"maxSkew": 1, "topologyKey": "hostname", "whenUnsatisfiable": "DoNotSchedule",
                     "labelSelector": {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}}]}),
            ),
            want: Want::Preempt(&[("node-a", &["pod-a2"]), ("node-b", &["pod-b1"])]),
        },
        Row {
            source: "TestDryRunPreemption: preemption with violation of same pdb",
            nodes: nodes(&["node1"]),
            pods: vec![
                bound("p1.1", "node1", MID, MEDIUM).labels(foo()),
                bound("p1.2", "node1", MID, MEDIUM).labels(foo()),
            ],
            extra: vec![pdb("pdb", foo(), 1, &[])],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.2"])]),
        },
        Row {
            source: "TestDryRunPreemption: preemption with violation of the pdb with pod whose eviction was processed, the victim doesn't belong to DisruptedPods",
            nodes: nodes(&["node1"]),
            pods: vec![
                bound("p1.1", "node1", MID, MEDIUM).labels(foo()),
                bound("p1.2", "node1", MID, MEDIUM).labels(foo()),
            ],
            extra: vec![pdb("pdb", foo(), 1, &["p2"])],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.2"])]),
        },
        Row {
            source: "TestDryRunPreemption: preemption with violation of the pdb with pod whose eviction was processed, the victim belongs to DisruptedPods",
            nodes: nodes(&["node1"]),
            pods: vec![
                bound("p1.1", "node1", MID, MEDIUM).labels(foo()),
                bound("p1.2", "node1", MID, MEDIUM).labels(foo()),
            ],
            extra: vec![pdb("pdb", foo(), 1, &["p1.2"])],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.2"])]),
        },
        Row {
            source: "TestDryRunPreemption: preemption with violation of the pdb with pod whose eviction was processed, the victim which belongs to DisruptedPods is treated as 'nonViolating'",
            nodes: nodes(&["node1"]),
            pods: vec![
                bound("p1.1", "node1", MID, MEDIUM).labels(foo()),
                bound("p1.2", "node1", MID, MEDIUM).labels(foo()),
                bound("p1.3", "node1", MID, MEDIUM).labels(foo()),
            ],
            extra: vec![pdb("pdb", foo(), 1, &["p1.3"])],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.2", "p1.3"])]),
        },
        Row {
            // Upstream's candidates come from a seeded sample (node1 and
            // node5 violate the PDB, node3 does not); pickOneNodeForPreemption
            // then takes the non-violating one. Every node is dry-run here:
            // node3 and node4 do not violate, and node3 comes first.
            source: "TestDryRunPreemption: preemption looks past numCandidates until a non-PDB violating node is found",
            nodes: nodes(&["node1", "node2", "node3", "node4", "node5"]),
            pods: vec![
                bound("p1", "node1", MID, LARGE).labels(foo()),
                bound("p2", "node2", MID, LARGE).labels(foo()),
                bound("p3", "node3", MID, LARGE),
                bound("p4", "node4", MID, LARGE),
                bound("p5", "node5", MID, LARGE).labels(foo()),
            ],
            extra: vec![pdb("pdb", foo(), 0, &[])],
            incoming: plain(HIGH, LARGE),
            want: Want::Preempt(&[("node3", &["p3"])]),
        },
    ]);
}

/// default_preemption_test.go `TestSelectBestCandidate`: the node
/// `pickOneNodeForPreemption` takes. All nine rows.
#[test]
fn select_best_candidate() {
    let e = |b: Bound| b.started(0);
    run(vec![
        Row {
            source: "TestSelectBestCandidate: a pod that fits on both nodes when lower priority pods are preempted",
            nodes: nodes(&["node1", "node2"]),
            pods: vec![e(bound("p1", "node1", MID, LARGE)), e(bound("p2", "node2", MID, LARGE))],
            extra: vec![],
            incoming: plain(HIGH, LARGE),
            want: Want::Preempt(&[("node1", &["p1"]), ("node2", &["p2"])]),
        },
        Row {
            source: "TestSelectBestCandidate: node with min highest priority pod is picked",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: vec![
                e(bound("p1.1", "node1", MID, MEDIUM)),
                e(bound("p1.2", "node1", MID, LARGE)),
                e(bound("p2.1", "node2", MID, MEDIUM)),
                e(bound("p2.2", "node2", LOW, MEDIUM)),
                e(bound("p3.1", "node3", LOW, MEDIUM)),
                e(bound("p3.2", "node3", LOW, MEDIUM)),
            ],
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node3", &["p3.1", "p3.2"])]),
        },
        Row {
            source: "TestSelectBestCandidate: when highest priorities are the same, minimum sum of priorities is picked",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: vec![
                e(bound("p1.1", "node1", MID, MEDIUM)),
                e(bound("p1.2", "node1", MID, LARGE)),
                e(bound("p2.1", "node2", MID, LARGE)),
                e(bound("p2.2", "node2", LOW, MEDIUM)),
                e(bound("p3.1", "node3", MID, MEDIUM)),
                e(bound("p3.2", "node3", MID, MEDIUM)),
            ],
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node2", &["p2.1", "p2.2"])]),
        },
        Row {
            source: "TestSelectBestCandidate: when highest priority and sum are the same, minimum number of pods is picked",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: vec![
                e(bound("p1.1", "node1", MID, SMALL)),
                e(bound("p1.2", "node1", NEG, SMALL)),
                e(bound("p1.3", "node1", MID, SMALL)),
                e(bound("p1.4", "node1", NEG, SMALL)),
                e(bound("p2.1", "node2", MID, LARGE)),
                e(bound("p2.2", "node2", NEG, MEDIUM)),
                e(bound("p3.1", "node3", MID, MEDIUM)),
                e(bound("p3.2", "node3", NEG, SMALL)),
                e(bound("p3.3", "node3", LOW, SMALL)),
            ],
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node2", &["p2.1", "p2.2"])]),
        },
        Row {
            source: "TestSelectBestCandidate: sum of adjusted priorities is considered",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: vec![
                e(bound("p1.1", "node1", MID, SMALL)),
                e(bound("p1.2", "node1", NEG, SMALL)),
                e(bound("p1.3", "node1", NEG, SMALL)),
                e(bound("p2.1", "node2", MID, LARGE)),
                e(bound("p2.2", "node2", NEG, MEDIUM)),
                e(bound("p3.1", "node3", MID, MEDIUM)),
                e(bound("p3.2", "node3", NEG, SMALL)),
                e(bound("p3.3", "node3", LOW, SMALL)),
            ],
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node2", &["p2.1", "p2.2"])]),
        },
        Row {
            source: "TestSelectBestCandidate: non-overlapping lowest high priority, sum priorities, and number of pods",
            nodes: nodes(&["node1", "node2", "node3", "node4"]),
            pods: vec![
                e(bound("p1.1", "node1", MID, SMALL)),
                e(bound("p1.2", "node1", LOW, SMALL)),
                e(bound("p1.3", "node1", LOW, SMALL)),
                e(bound("p2.1", "node2", HIGH, LARGE)),
                e(bound("p3.1", "node3", MID, MEDIUM)),
                e(bound("p3.2", "node3", LOW, SMALL)),
                e(bound("p3.3", "node3", LOW, SMALL)),
                e(bound("p3.4", "node3", LOW, MEDIUM)),
                e(bound("p4.1", "node4", MID, MEDIUM)),
                e(bound("p4.2", "node4", MID, SMALL)),
                e(bound("p4.3", "node4", MID, SMALL)),
                e(bound("p4.4", "node4", NEG, SMALL)),
            ],
            extra: vec![],
            incoming: plain(VERY_HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.2", "p1.3"])]),
        },
        Row {
            source: "TestSelectBestCandidate: same priority, same number of victims, different start time for each node's pod",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: vec![
                bound("p1.1", "node1", MID, MEDIUM).started(2),
                bound("p1.2", "node1", MID, MEDIUM).started(2),
                bound("p2.1", "node2", MID, MEDIUM).started(3),
                bound("p2.2", "node2", MID, MEDIUM).started(3),
                bound("p3.1", "node3", MID, MEDIUM).started(1),
                bound("p3.2", "node3", MID, MEDIUM).started(1),
            ],
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node2", &["p2.1", "p2.2"])]),
        },
        Row {
            source: "TestSelectBestCandidate: same priority, same number of victims, different start time for all pods",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: vec![
                bound("p1.1", "node1", MID, MEDIUM).started(4),
                bound("p1.2", "node1", MID, MEDIUM).started(2),
                bound("p2.1", "node2", MID, MEDIUM).started(5),
                bound("p2.2", "node2", MID, MEDIUM).started(1),
                bound("p3.1", "node3", MID, MEDIUM).started(3),
                bound("p3.2", "node3", MID, MEDIUM).started(6),
            ],
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node3", &["p3.1", "p3.2"])]),
        },
        Row {
            source: "TestSelectBestCandidate: different priority, same number of victims, different start time for all pods",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: vec![
                bound("p1.1", "node1", LOW, MEDIUM).started(4),
                bound("p1.2", "node1", MID, MEDIUM).started(2),
                bound("p2.1", "node2", MID, MEDIUM).started(6),
                bound("p2.2", "node2", LOW, MEDIUM).started(1),
                bound("p3.1", "node3", LOW, MEDIUM).started(3),
                bound("p3.2", "node3", MID, MEDIUM).started(5),
            ],
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node2", &["p2.1", "p2.2"])]),
        },
    ]);
}

/// default_preemption_test.go `TestPostFilter`: the rows whose node
/// statuses the filters compute (nodes with `pods: 1`).
#[test]
fn post_filter() {
    let pdb_label = |v: &str| json!({"test.kubernetes.io/is-violating-pdb": v});
    run(vec![
        Row {
            source: "TestPostFilter: pod with higher priority can be made schedulable",
            nodes: vec![one_pod_node("node1")],
            pods: vec![bound("p1", "node1", LOW, 0)],
            extra: vec![],
            incoming: plain(HIGH, 0),
            want: Want::Preempt(&[("node1", &["p1"])]),
        },
        Row {
            source: "TestPostFilter: pod with tied priority is still unschedulable",
            nodes: vec![one_pod_node("node1")],
            pods: vec![bound("p1", "node1", LOW, 0)],
            extra: vec![],
            incoming: plain(LOW, 0),
            want: Want::Unschedulable(
                "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
            ),
        },
        Row {
            source: "TestPostFilter: pod can be made schedulable on one node",
            nodes: vec![one_pod_node("node1"), one_pod_node("node2")],
            pods: vec![bound("p1", "node1", HIGH, 0), bound("p2", "node2", LOW, 0)],
            extra: vec![],
            incoming: plain(MID, 0),
            want: Want::Preempt(&[("node2", &["p2"])]),
        },
        Row {
            // violating-pdb: MinAvailable 100% (disruptionsAllowed 0);
            // non-violating-pdb: DisruptionsAllowed MaxInt32. Both nodes
            // have one violating victim; node2's highest priority is lower.
            source: "TestPostFilter: pod can be made schedulable on minHighestPriority node",
            nodes: vec![one_pod_node("node1"), one_pod_node("node2")],
            pods: vec![
                bound("p1", "node1", HIGH, 0).labels(pdb_label("non-violating")),
                bound("p2", "node1", LOW, 0).labels(pdb_label("violating")),
                bound("p3", "node2", MID, 0).labels(pdb_label("violating")),
            ],
            extra: vec![
                pdb("violating-pdb", pdb_label("violating"), 0, &[]),
                pdb("non-violating-pdb", pdb_label("non-violating"), i64::from(i32::MAX), &[]),
            ],
            incoming: plain(VERY_HIGH, 0),
            want: Want::Preempt(&[("node2", &["p3"])]),
        },
        Row {
            // The first tie-break: a node whose victims violate no budget
            // wins over one with a lower-priority victim that does.
            source: "ours, with TestPostFilter's two PDBs: pickOneNodeForPreemption minNumPDBViolatingScoreFunc first",
            nodes: vec![one_pod_node("node1"), one_pod_node("node2")],
            pods: vec![
                bound("p1", "node1", LOW, 0).labels(pdb_label("violating")),
                bound("p2", "node2", MID, 0).labels(pdb_label("non-violating")),
            ],
            extra: vec![
                pdb("violating-pdb", pdb_label("violating"), 0, &[]),
                pdb("non-violating-pdb", pdb_label("non-violating"), i64::from(i32::MAX), &[]),
            ],
            incoming: plain(VERY_HIGH, 0),
            want: Want::Preempt(&[("node2", &["p2"])]),
        },
    ]);
}

/// default_preemption_test.go `TestPreempt`: the rows without extenders.
#[test]
fn preempt() {
    let three = || {
        vec![
            bound("p1.1", "node1", LOW, SMALL),
            bound("p1.2", "node1", LOW, SMALL),
            bound("p2.1", "node2", HIGH, LARGE),
            bound("p3.1", "node3", MID, MEDIUM),
        ]
    };
    let spread = json!({"topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}},
        {"maxSkew": 1, "topologyKey": "hostname", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}}]});
    let foo_pod = |name, node, priority| bound(name, node, priority, 0).labels(json!({"foo": ""}));
    run(vec![
        Row {
            source: "TestPreempt: basic preemption logic",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: three(),
            extra: vec![],
            incoming: incoming(HIGH, VERY_LARGE, json!({}), json!({"preemptionPolicy": "PreemptLowerPriority"})),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.2"])]),
        },
        Row {
            source: "TestPreempt: preemption for topology spread constraints",
            nodes: nodes(&["node-a/zone1", "node-b/zone1", "node-x/zone2"]),
            pods: vec![
                foo_pod("p-a1", "node-a", HIGH),
                foo_pod("p-a2", "node-a", HIGH),
                foo_pod("p-b1", "node-b", LOW),
                foo_pod("p-x1", "node-x", HIGH),
                foo_pod("p-x2", "node-x", HIGH),
            ],
            extra: vec![],
            incoming: incoming(HIGH, 0, json!({"foo": ""}), spread),
            want: Want::Preempt(&[("node-b", &["p-b1"])]),
        },
        Row {
            source: "TestPreempt: no preempting in pod",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: three(),
            extra: vec![],
            incoming: incoming(HIGH, VERY_LARGE, json!({}), json!({"preemptionPolicy": "Never"})),
            want: Want::Unschedulable("preemption: not eligible due to preemptionPolicy=Never."),
        },
        Row {
            source: "TestPreempt: PreemptionPolicy is nil",
            nodes: nodes(&["node1", "node2", "node3"]),
            pods: three(),
            extra: vec![],
            incoming: plain(HIGH, VERY_LARGE),
            want: Want::Preempt(&[("node1", &["p1.1", "p1.2"])]),
        },
    ]);
}
