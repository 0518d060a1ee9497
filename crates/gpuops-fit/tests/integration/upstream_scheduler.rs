//! Rows of kube-scheduler's own plugin unit tests (kubernetes/kubernetes,
//! v1.35), restated as dumps and workloads and run through the whole
//! check, over the JSON and the YAML dump reader both. Each row names the
//! upstream file, test function and case.
//!
//! Upstream's pods carry namespace "" (`defaultNamespace`); a workload
//! lands in `default` here, so the pods do too. The incoming pod is one
//! replica of a Deployment with the same labels and affinity.

use gpuops_fit::report::{CheckOptions, check};
use gpuops_schedule::cluster::from_dump;
use serde_json::{Value, json};

const NS: &str = "default";

fn node(name: &str, labels: Value) -> Value {
    let mut all = json!({"kubernetes.io/hostname": name});
    for (k, v) in labels.as_object().cloned().unwrap_or_default() {
        all[k] = v;
    }
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": all},
        "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "4"}}})
}

fn pod(name: &str, node: &str, namespace: &str, labels: Value, spec: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]},
        "status": {"phase": "Running"}});
    for (k, v) in spec.as_object().cloned().unwrap_or_default() {
        p["spec"][k] = v;
    }
    p
}

/// The namespaces of upstream's filtering_test.go `namespaces` (informers of
/// `SetupPluginWithInformers`).
fn namespaces() -> Vec<Value> {
    [("subteam1.team1", "team1"), ("subteam2.team1", "team1"), ("subteam1.team2", "team2"), ("subteam2.team2", "team2")]
        .iter()
        .map(|(name, team)| {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team}}})
        })
        .collect()
}

/// `st.MakePod().PodAffinityIn(key, topologyKey, values)` and friends: one term.
fn term(key: &str, op: &str, values: &[&str], topology: &str) -> Value {
    let mut expr = json!({"key": key, "operator": op});
    if !values.is_empty() {
        expr["values"] = json!(values);
    }
    json!({"labelSelector": {"matchExpressions": [expr]}, "topologyKey": topology})
}

fn affinity(affinity: Vec<Value>, anti: Vec<Value>) -> Value {
    let mut a = json!({});
    if !affinity.is_empty() {
        a["podAffinity"] = json!({"requiredDuringSchedulingIgnoredDuringExecution": affinity});
    }
    if !anti.is_empty() {
        a["podAntiAffinity"] = json!({"requiredDuringSchedulingIgnoredDuringExecution": anti});
    }
    json!({"affinity": a})
}

/// One replica of a Deployment whose pods have `labels` and `spec` on top of one container.
fn workload(namespace: &str, labels: Value, spec: Value) -> Value {
    let mut pod_spec = json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]});
    for (k, v) in spec.as_object().cloned().unwrap_or_default() {
        pod_spec[k] = v;
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "incoming", "namespace": namespace},
        "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec}}})
}

/// A row: the dump, the manifests, and the scheduler's verdict — `None`
/// when the pod fits, else the FailedScheduling text it must contain.
struct Row {
    source: &'static str,
    dump: Vec<Value>,
    manifests: Vec<Value>,
    want: Option<&'static str>,
}

fn run(rows: Vec<Row>) {
    for row in rows {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": row.dump});
        let mut yaml = String::new();
        gpuops_manifest::yaml::write_document(&mut yaml, &list);
        for (format, text) in [("json", serde_json::to_string_pretty(&list).unwrap()), ("yaml", yaml)] {
            let cluster = from_dump(text.as_bytes(), "dump").unwrap_or_else(|e| panic!("{}: {e}", row.source));
            let report = check(&cluster, &row.manifests, CheckOptions::default()).unwrap();
            let explained = report.explain();
            match row.want {
                None => assert!(report.fits, "{} ({format} dump): expected to fit:\n{explained}", row.source),
                Some(message) => {
                    assert!(!report.fits, "{} ({format} dump): expected not to fit:\n{explained}", row.source);
                    assert!(
                        explained.contains(message),
                        "{} ({format} dump): expected {message:?} in\n{explained}",
                        row.source
                    );
                }
            }
        }
    }
}

const AFFINITY: &str = "0/1 nodes are available: 1 node(s) didn't match pod affinity rules.";
const ANTI: &str = "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.";
/// filtering_test.go's wantPreFilterStatus of the two "invalid ... label
/// syntax" rows, printed alone as FitError.Error does after a PreFilter rejection.
const BAD_VALUE: &str = r#"0/1 nodes are available: parsing pod: requiredAffinityTerms: values[0][service]: Invalid value: "{{.bad-value.}}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')."#;
const EXISTING: &str = "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules.";

fn node1() -> Value {
    node("node1", json!({"region": "r1", "zone": "z11"}))
}

fn security() -> Value {
    json!({"security": "S1"})
}

fn service() -> Value {
    json!({"service": "securityscan"})
}

/// The existing pod of most rows: `st.MakePod().Labels(podLabel).Node("node1")`.
fn scan_pod() -> Value {
    pod("scan", "node1", NS, service(), json!({}))
}

/// pkg/scheduler/framework/plugins/interpodaffinity/filtering_test.go
/// `TestRequiredAffinitySingleNode`: all 25 rows.
#[test]
fn required_affinity_single_node() {
    let in_scan = |topology: &str| term("service", "In", &["securityscan", "value2"], topology);
    let in_antivirus = |topology: &str| term("service", "In", &["antivirusscan", "value2"], topology);
    let single = |source, dump: Vec<Value>, manifest: Value, want| Row {
        source,
        dump: [vec![node1()], dump, namespaces()].concat(),
        manifests: vec![manifest],
        want,
    };
    let team1 = json!({"matchExpressions": [{"key": "team", "operator": "In", "values": ["team1"]}]});
    let with_ns_selector = |t: Value, selector: Value| {
        let mut t = t;
        t["namespaceSelector"] = selector;
        t
    };
    run(vec![
        single(
            "A pod that has no required pod affinity scheduling rules can schedule onto a node with no existing pods",
            vec![],
            workload(NS, json!({"app": "x"}), json!({})),
            None,
        ),
        single(
            "satisfies with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using In operator that matches the existing pod",
            vec![scan_pod()],
            workload(NS, security(), affinity(vec![in_scan("region")], vec![])),
            None,
        ),
        single(
            "satisfies the pod with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using not in operator in labelSelector that matches the existing pod",
            vec![scan_pod()],
            workload(
                NS,
                security(),
                affinity(vec![term("service", "NotIn", &["securityscan3", "value3"], "region")], vec![]),
            ),
            None,
        ),
        single(
            "Does not satisfy the PodAffinity with labelSelector because of diff Namespace",
            vec![pod("scan", "node1", "ns", service(), json!({}))],
            workload(
                NS,
                security(),
                affinity(
                    vec![{
                        let mut t = in_scan("");
                        t["namespaces"] = json!(["DiffNameSpace"]);
                        t
                    }],
                    vec![],
                ),
            ),
            Some(AFFINITY),
        ),
        single(
            "Doesn't satisfy the PodAffinity because of unmatching labelSelector with the existing pod",
            vec![scan_pod()],
            workload(NS, service(), affinity(vec![in_antivirus("")], vec![])),
            Some(AFFINITY),
        ),
        single(
            "satisfies the PodAffinity with different label Operators in multiple RequiredDuringSchedulingIgnoredDuringExecution ",
            vec![scan_pod()],
            workload(
                NS,
                security(),
                affinity(
                    vec![
                        json!({"labelSelector": {"matchExpressions": [{"key": "service", "operator": "Exists"}, {"key": "wrongkey", "operator": "DoesNotExist"}]}, "topologyKey": "region"}),
                        json!({"labelSelector": {"matchExpressions": [{"key": "service", "operator": "In", "values": ["securityscan"]}, {"key": "service", "operator": "NotIn", "values": ["WrongValue"]}]}, "topologyKey": "region"}),
                    ],
                    vec![],
                ),
            ),
            None,
        ),
        single(
            "The labelSelector requirements(items of matchExpressions) are ANDed, the pod cannot schedule onto the node because one of the matchExpression item don't match.",
            vec![scan_pod()],
            workload(
                NS,
                security(),
                affinity(
                    vec![
                        json!({"labelSelector": {"matchExpressions": [{"key": "service", "operator": "Exists"}, {"key": "wrongkey", "operator": "DoesNotExist"}]}, "topologyKey": "region"}),
                        json!({"labelSelector": {"matchExpressions": [{"key": "service", "operator": "In", "values": ["securityscan2"]}, {"key": "service", "operator": "NotIn", "values": ["WrongValue"]}]}, "topologyKey": "region"}),
                    ],
                    vec![],
                ),
            ),
            Some(AFFINITY),
        ),
        single(
            "satisfies the PodAffinity and PodAntiAffinity with the existing pod",
            vec![scan_pod()],
            workload(NS, security(), affinity(vec![in_scan("region")], vec![in_antivirus("node")])),
            None,
        ),
        single(
            "satisfies the PodAffinity and PodAntiAffinity and PodAntiAffinity symmetry with the existing pod",
            vec![pod("scan", "node1", NS, service(), affinity(vec![], vec![in_antivirus("node")]))],
            workload(NS, security(), affinity(vec![in_scan("region")], vec![in_antivirus("node")])),
            None,
        ),
        single(
            "satisfies the PodAffinity but doesn't satisfy the PodAntiAffinity with the existing pod",
            vec![scan_pod()],
            workload(NS, security(), affinity(vec![in_scan("region")], vec![in_scan("zone")])),
            Some(ANTI),
        ),
        single(
            "satisfies the PodAffinity and PodAntiAffinity but doesn't satisfy PodAntiAffinity symmetry with the existing pod",
            vec![pod("scan", "node1", NS, service(), affinity(vec![], vec![in_scan("zone")]))],
            workload(NS, service(), affinity(vec![in_scan("region")], vec![in_antivirus("node")])),
            Some(EXISTING),
        ),
        single(
            "pod matches its own Label in PodAffinity and that matches the existing pod Labels",
            vec![pod("elsewhere", "node2", NS, service(), json!({}))],
            workload(
                NS,
                service(),
                affinity(vec![term("service", "NotIn", &["securityscan", "value2"], "region")], vec![]),
            ),
            Some(AFFINITY),
        ),
        single(
            "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints. doesn't satisfy PodAntiAffinity symmetry with the existing pod",
            vec![pod("scan", "node1", NS, service(), affinity(vec![], vec![in_scan("zone")]))],
            workload(NS, service(), json!({})),
            Some(EXISTING),
        ),
        single(
            "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints. satisfy PodAntiAffinity symmetry with the existing pod",
            vec![pod(
                "scan",
                "node1",
                NS,
                service(),
                affinity(vec![], vec![term("service", "NotIn", &["securityscan", "value2"], "zone")]),
            )],
            workload(NS, service(), json!({})),
            None,
        ),
        single(
            "satisfies the PodAntiAffinity with existing pod but doesn't satisfy PodAntiAffinity symmetry with incoming pod",
            vec![pod("sec", "node1", NS, security(), affinity(vec![], vec![exists("security", "zone")]))],
            workload(NS, service(), affinity(vec![], vec![exists("service", "region"), exists("security", "region")])),
            Some(ANTI),
        ),
        single(
            "PodAntiAffinity symmetry check a1: incoming pod and existing pod partially match each other on AffinityTerms",
            vec![pod("sec", "node1", NS, security(), affinity(vec![], vec![exists("security", "zone")]))],
            workload(NS, service(), affinity(vec![], vec![exists("service", "zone"), exists("security", "zone")])),
            Some(ANTI),
        ),
        single(
            "PodAntiAffinity symmetry check a2: incoming pod and existing pod partially match each other on AffinityTerms",
            vec![pod(
                "scan",
                "node1",
                NS,
                service(),
                affinity(vec![], vec![exists("service", "zone"), exists("security", "zone")]),
            )],
            workload(NS, security(), affinity(vec![], vec![exists("security", "zone")])),
            Some(EXISTING),
        ),
        single(
            "PodAntiAffinity symmetry check b1: incoming pod and existing pod partially match each other on AffinityTerms",
            vec![pod(
                "p",
                "node1",
                NS,
                json!({"def": "", "xyz": ""}),
                affinity(vec![], vec![exists("abc", "zone"), exists("def", "zone")]),
            )],
            workload(
                NS,
                json!({"abc": "", "xyz": ""}),
                affinity(vec![], vec![exists("abc", "zone"), exists("def", "zone")]),
            ),
            Some(ANTI),
        ),
        single(
            "PodAntiAffinity symmetry check b2: incoming pod and existing pod partially match each other on AffinityTerms",
            vec![pod(
                "p",
                "node1",
                NS,
                json!({"abc": "", "xyz": ""}),
                affinity(vec![], vec![exists("abc", "zone"), exists("def", "zone")]),
            )],
            workload(
                NS,
                json!({"def": "", "xyz": ""}),
                affinity(vec![], vec![exists("abc", "zone"), exists("def", "zone")]),
            ),
            Some(ANTI),
        ),
        single(
            "PodAffinity fails PreFilter with an invalid affinity label syntax",
            vec![],
            workload(
                NS,
                service(),
                affinity(vec![term("service", "In", &["{{.bad-value.}}"], "region"), in_antivirus("node")], vec![]),
            ),
            Some(BAD_VALUE),
        ),
        single(
            "PodAntiAffinity fails PreFilter with an invalid antiaffinity label syntax",
            vec![],
            workload(
                NS,
                service(),
                affinity(
                    vec![
                        term("service", "In", &["foo"], "region"),
                        term("service", "In", &["{{.bad-value.}}"], "node"),
                    ],
                    vec![],
                ),
            ),
            Some(BAD_VALUE),
        ),
        single(
            "affinity with NamespaceSelector",
            vec![pod("scan", "node1", "subteam1.team1", service(), json!({}))],
            workload(NS, security(), affinity(vec![with_ns_selector(in_scan("region"), team1.clone())], vec![])),
            None,
        ),
        single(
            "affinity with non-matching NamespaceSelector",
            vec![pod("scan", "node1", "subteam1.team2", service(), json!({}))],
            workload(NS, security(), affinity(vec![with_ns_selector(in_scan("region"), team1.clone())], vec![])),
            Some(AFFINITY),
        ),
        single(
            "anti-affinity with matching NamespaceSelector",
            vec![pod("scan", "node1", "subteam2.team1", service(), json!({}))],
            workload(
                "subteam1.team1",
                security(),
                affinity(vec![], vec![with_ns_selector(in_scan("zone"), team1.clone())]),
            ),
            Some(ANTI),
        ),
        single(
            "anti-affinity with matching all NamespaceSelector",
            vec![pod("scan", "node1", "subteam2.team1", service(), json!({}))],
            workload(
                "subteam1.team1",
                security(),
                affinity(vec![], vec![with_ns_selector(in_scan("zone"), json!({}))]),
            ),
            Some(ANTI),
        ),
        single(
            "anti-affinity with non-matching NamespaceSelector",
            vec![pod("scan", "node1", "subteam1.team2", service(), json!({}))],
            workload("subteam1.team1", security(), affinity(vec![], vec![with_ns_selector(in_scan("zone"), team1)])),
            None,
        ),
    ]);
}

/// filtering_test.go `TestRequiredAffinityMultipleNodes`: 17 of its 18
/// rows. Rows whose every node fails are checked by message; rows where
/// some node passes, by a fit (the check places the pod; it does not list
/// each node's status). Not ported: "Test incoming pod's anti-affinity:
/// even if labelSelector matches, we still check if topologyKey matches",
/// whose incoming pod carries `spec.nodeName` — here such a pod meets the
/// kubelet, not the scheduler.
#[test]
fn required_affinity_multiple_nodes() {
    let china = json!({"region": "China"});
    let china_az1 = json!({"region": "China", "az": "az1"});
    let india = json!({"region": "India"});
    let row = |source, nodes: Vec<Value>, pods: Vec<Value>, manifest: Value, want| Row {
        source,
        dump: [nodes, pods].concat(),
        manifests: vec![manifest],
        want,
    };
    run(vec![
        row(
            "A pod can be scheduled onto all the nodes that have the same topology key & label value with one of them has an existing pod that matches the affinity rules",
            vec![node("node1", china.clone()), node("node2", china_az1.clone()), node("node3", india.clone())],
            vec![pod("p1", "node1", NS, json!({"foo": "bar"}), json!({}))],
            workload(NS, json!({"app": "x"}), affinity(vec![term("foo", "In", &["bar"], "region")], vec![])),
            None,
        ),
        row(
            "The affinity rule is to schedule all of the pods of this collection to the same zone. The first pod of the collection should not be blocked from being scheduled onto any node, even there's no existing pod that matches the rule anywhere.",
            vec![
                node("nodeA", json!({"zone": "az1", "hostname": "h1"})),
                node("nodeB", json!({"zone": "az2", "hostname": "h2"})),
            ],
            vec![pod("p1", "nodeA", NS, json!({"foo": "bar"}), json!({}))],
            workload(
                NS,
                json!({"foo": "bar", "service": "securityscan"}),
                affinity(
                    vec![term("foo", "In", &["bar"], "zone"), term("service", "In", &["securityscan"], "zone")],
                    vec![],
                ),
            ),
            None,
        ),
        row(
            "The first pod of the collection can only be scheduled on nodes labelled with the requested topology keys",
            vec![
                node("nodeA", json!({"zoneLabel": "az1", "hostname": "h1"})),
                node("nodeB", json!({"zoneLabel": "az2", "hostname": "h2"})),
            ],
            vec![pod("p1", "nodeA", NS, json!({"foo": "bar"}), json!({}))],
            workload(
                NS,
                json!({"foo": "bar", "service": "securityscan"}),
                affinity(
                    vec![term("foo", "In", &["bar"], "zone"), term("service", "In", &["securityscan"], "zone")],
                    vec![],
                ),
            ),
            Some("0/2 nodes are available: 2 node(s) didn't match pod affinity rules."),
        ),
        row(
            "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB.",
            vec![
                node("nodeA", json!({"region": "r1", "hostname": "nodeA"})),
                node("nodeB", json!({"region": "r1", "hostname": "nodeB"})),
            ],
            vec![pod("p1", "nodeA", NS, json!({"foo": "abc"}), json!({}))],
            workload(NS, json!({"app": "x"}), affinity(vec![], vec![term("foo", "In", &["abc"], "region")])),
            Some("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."),
        ),
        row(
            "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA, nodeB, but can be scheduled onto nodeC (NodeC has an existing pod that match the inter pod affinity rule but in different namespace)",
            vec![node("nodeA", china), node("nodeB", china_az1), node("nodeC", india)],
            vec![
                pod("p1", "nodeA", "NS1", json!({"foo": "bar"}), json!({})),
                pod("p2", "nodeC", "NS2", json!({}), affinity(vec![], vec![term("foo", "In", &["123"], "region")])),
            ],
            workload("NS1", json!({"foo": "123"}), affinity(vec![], vec![term("foo", "In", &["bar"], "region")])),
            None,
        ),
        row(
            "Test existing pod's anti-affinity: if an existing pod has a term with invalid topologyKey, labelSelector of the term is firstly checked, and then topologyKey of the term is also checked",
            vec![
                node("nodeA", json!({"region": "r1", "zone": "z1", "hostname": "nodeA"})),
                node("nodeB", json!({"region": "r1", "zone": "z1", "hostname": "nodeB"})),
            ],
            vec![pod(
                "p1",
                "nodeA",
                NS,
                json!({}),
                affinity(vec![], vec![term("foo", "Exists", &[], "invalid-node-label")]),
            )],
            workload(NS, json!({"foo": ""}), json!({})),
            None,
        ),
        row(
            "Test existing pod's anti-affinity: incoming pod wouldn't considered as a fit as it violates each existingPod's terms on all nodes",
            vec![
                node("nodeA", json!({"region": "r1", "zone": "z1", "hostname": "nodeA"})),
                node("nodeB", json!({"region": "r1", "zone": "z2", "hostname": "nodeB"})),
            ],
            vec![
                pod("p1", "nodeA", NS, json!({}), affinity(vec![], vec![term("foo", "Exists", &[], "zone")])),
                pod("p2", "nodeA", NS, json!({}), affinity(vec![], vec![term("bar", "Exists", &[], "region")])),
            ],
            workload(NS, json!({"foo": "", "bar": ""}), json!({})),
            Some("0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules."),
        ),
        row(
            "This test ensures that anti-affinity matches a pod when any term of the anti-affinity rule matches a pod.",
            vec![
                node("nodeA", json!({"region": "r1", "zone": "z1", "hostname": "nodeA"})),
                node("nodeB", json!({"region": "r1", "zone": "z2", "hostname": "nodeB"})),
            ],
            vec![pod("p1", "nodeA", NS, json!({"foo": "abc", "service": "securityscan"}), json!({}))],
            workload(
                NS,
                json!({"app": "x"}),
                affinity(
                    vec![],
                    vec![term("foo", "In", &["abc"], "region"), term("service", "In", &["securityscan"], "zone")],
                ),
            ),
            Some("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."),
        ),
        row(
            "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB but can be scheduled onto nodeC",
            vec![
                node("nodeA", json!({"region": "China"})),
                node("nodeB", json!({"region": "China", "az": "az1"})),
                node("nodeC", json!({"region": "India"})),
            ],
            vec![pod("p1", "nodeA", NS, json!({"foo": "abc"}), json!({}))],
            workload(NS, json!({"app": "x"}), affinity(vec![], vec![term("foo", "In", &["abc"], "region")])),
            None,
        ),
        row(
            "Test incoming pod's anti-affinity: incoming pod wouldn't considered as a fit as it at least violates one anti-affinity rule of existingPod",
            two_zones(),
            vec![
                pod("p1", "nodeA", NS, json!({"foo": ""}), json!({})),
                pod("p2", "nodeB", NS, json!({"bar": ""}), json!({})),
            ],
            workload(NS, json!({"app": "x"}), affinity(vec![], vec![exists("foo", "zone"), exists("bar", "region")])),
            Some("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."),
        ),
        row(
            "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when one term has invalid topologyKey",
            two_zones(),
            vec![pod(
                "p1",
                "nodeA",
                NS,
                json!({}),
                affinity(vec![], vec![exists("foo", "invalid-node-label"), exists("bar", "zone")]),
            )],
            workload(NS, json!({"foo": "", "bar": ""}), json!({})),
            None,
        ),
        row(
            "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when one term has invalid topologyKey",
            two_zones(),
            vec![pod("podA", "nodeA", NS, json!({"foo": "", "bar": ""}), json!({}))],
            workload(
                NS,
                json!({"app": "x"}),
                affinity(vec![], vec![exists("foo", "invalid-node-label"), exists("bar", "zone")]),
            ),
            None,
        ),
        row(
            "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when all terms have valid topologyKey",
            two_zones(),
            vec![pod(
                "p1",
                "nodeA",
                NS,
                json!({}),
                affinity(vec![], vec![exists("foo", "region"), exists("bar", "zone")]),
            )],
            workload(NS, json!({"foo": "", "bar": ""}), json!({})),
            Some("0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules."),
        ),
        row(
            "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when all terms have valid topologyKey",
            two_zones(),
            vec![pod("p1", "nodeA", NS, json!({"foo": "", "bar": ""}), json!({}))],
            workload(NS, json!({"app": "x"}), affinity(vec![], vec![exists("foo", "region"), exists("bar", "zone")])),
            Some("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."),
        ),
        row(
            "Test existing pod's anti-affinity: existingPod on nodeA and nodeB has at least one anti-affinity term matches incoming pod, so incoming pod can only be scheduled to nodeC",
            [two_zones(), vec![node("nodeC", json!({"region": "r1", "zone": "z3", "hostname": "nodeC"}))]].concat(),
            vec![
                pod(
                    "p1",
                    "nodeA",
                    NS,
                    json!({}),
                    affinity(vec![], vec![exists("foo", "zone"), exists("labelA", "zone")]),
                ),
                pod(
                    "p2",
                    "nodeB",
                    NS,
                    json!({}),
                    affinity(vec![], vec![exists("bar", "zone"), exists("labelB", "zone")]),
                ),
            ],
            workload(NS, json!({"foo": "", "bar": ""}), json!({})),
            None,
        ),
        row(
            "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if all topologyKeys match",
            vec![
                node("nodeA", json!({"region": "r1", "zone": "z1", "hostname": "nodeA"})),
                node("nodeB", json!({"region": "r1", "zone": "z1", "hostname": "nodeB"})),
            ],
            vec![pod("pod1", "nodeA", NS, json!({"foo": "", "bar": ""}), json!({}))],
            workload(NS, json!({"app": "x"}), affinity(vec![exists("foo", "region"), exists("bar", "zone")], vec![])),
            None,
        ),
        row(
            "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if all topologyKeys match, and the match logic should be satisfied on the same pod",
            two_zones(),
            vec![
                pod("pod1", "nodeA", NS, json!({"foo": ""}), json!({})),
                pod("pod2", "nodeB", NS, json!({"bar": ""}), json!({})),
            ],
            workload(NS, json!({"app": "x"}), affinity(vec![exists("foo", "region"), exists("bar", "zone")], vec![])),
            Some("0/2 nodes are available: 2 node(s) didn't match pod affinity rules."),
        ),
    ]);
}

/// nodeA (r1, z1) and nodeB (r1, z2), as most rows of
/// `TestRequiredAffinityMultipleNodes` have them.
fn two_zones() -> Vec<Value> {
    vec![
        node("nodeA", json!({"region": "r1", "zone": "z1", "hostname": "nodeA"})),
        node("nodeB", json!({"region": "r1", "zone": "z2", "hostname": "nodeB"})),
    ]
}

fn exists(key: &str, topology: &str) -> Value {
    term(key, "Exists", &[], topology)
}

/// The symmetric half between the pods of one check: replicas placed
/// earlier in the simulation are existing pods for the later ones
/// (filtering.go `PreFilter` counts every pod in the snapshot, and the
/// scheduler's cache holds the assumed pods of earlier cycles).
#[test]
fn existing_anti_affinity_between_workloads_of_one_check() {
    let db = {
        let mut w = workload(
            NS,
            json!({"app": "db"}),
            affinity(vec![], vec![term("app", "In", &["web"], "kubernetes.io/hostname")]),
        );
        w["metadata"]["name"] = json!("db");
        w
    };
    let web = {
        let mut w = workload(NS, json!({"app": "web"}), json!({}));
        w["metadata"]["name"] = json!("web");
        w
    };
    run(vec![Row {
        source: "a placed db replica's anti-affinity keeps web off its node",
        dump: vec![node("only", json!({}))],
        manifests: vec![db, web],
        want: Some("0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules."),
    }]);
}

/// pkg/scheduler/framework/plugins/nodeports/node_ports_test.go
/// `TestNodePorts`: every row but "nothing running" (a pod without host
/// ports, which every other test here covers). `TCP/127.0.0.1/8080` is
/// upstream's `newPod` shorthand: protocol, hostIP, hostPort.
#[test]
fn node_ports() {
    fn ports(list: &[&str]) -> Value {
        let ports: Vec<Value> = list
            .iter()
            .map(|p| {
                let mut parts = p.split('/');
                let (protocol, ip, port) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
                json!({"containerPort": 80, "hostPort": port.parse::<i64>().unwrap(), "hostIP": ip, "protocol": protocol})
            })
            .collect();
        json!({"containers": [{"name": "c", "ports": ports, "resources": {"requests": {"cpu": "100m"}}}]})
    }
    const TAKEN: &str = "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.";
    let row = |source, want: &[&str], have: &[&str], fits: bool| Row {
        source,
        dump: vec![node("n", json!({})), pod("m1", "n", NS, json!({}), ports(have))],
        manifests: vec![workload(NS, json!({"app": "x"}), ports(want))],
        want: (!fits).then_some(TAKEN),
    };
    run(vec![
        row("other port", &["UDP/127.0.0.1/8080"], &["UDP/127.0.0.1/9090"], true),
        row("same udp port", &["UDP/127.0.0.1/8080"], &["UDP/127.0.0.1/8080"], false),
        row("same tcp port", &["TCP/127.0.0.1/8080"], &["TCP/127.0.0.1/8080"], false),
        row("different host ip", &["TCP/127.0.0.1/8080"], &["TCP/127.0.0.2/8080"], true),
        row("different protocol", &["UDP/127.0.0.1/8080"], &["TCP/127.0.0.1/8080"], true),
        row("second udp port conflict", &["UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"], &["UDP/127.0.0.1/8080"], false),
        row(
            "first tcp port conflict",
            &["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"],
            &["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8081"],
            false,
        ),
        row("first tcp port conflict due to 0.0.0.0 hostIP", &["TCP/0.0.0.0/8001"], &["TCP/127.0.0.1/8001"], false),
        row(
            "TCP hostPort conflict due to 0.0.0.0 hostIP",
            &["TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"],
            &["TCP/127.0.0.1/8001"],
            false,
        ),
        row("second tcp port conflict to 0.0.0.0 hostIP", &["TCP/127.0.0.1/8001"], &["TCP/0.0.0.0/8001"], false),
        row("second different protocol", &["UDP/127.0.0.1/8001"], &["TCP/0.0.0.0/8001"], true),
        row(
            "UDP hostPort conflict due to 0.0.0.0 hostIP",
            &["UDP/127.0.0.1/8001"],
            &["TCP/0.0.0.0/8001", "UDP/0.0.0.0/8001"],
            false,
        ),
    ]);
    // Two replicas asking for the same host port cannot share a node.
    run(vec![Row {
        source: "replicas of one workload hold their host ports (NodeInfo.UsedPorts after AddPod)",
        dump: vec![node("n", json!({}))],
        manifests: vec![{
            let mut w = workload(NS, json!({"app": "x"}), ports(&["TCP/0.0.0.0/9100"]));
            w["spec"]["replicas"] = json!(2);
            w
        }],
        want: Some(TAKEN),
    }]);
    // The kubelet's admission of a spec.nodeName pod (pkg/kubelet/lifecycle/predicate.go
    // generalFilter → AdmissionCheck → nodeports.Fits): rejected with reason NodePorts.
    let mut pinned = workload(NS, json!({"app": "x"}), ports(&["TCP/0.0.0.0/8080"]));
    pinned["spec"]["template"]["spec"]["nodeName"] = json!("n");
    run(vec![Row {
        source: "kubelet admission: a pinned pod whose host port is taken",
        dump: vec![node("n", json!({})), pod("m1", "n", NS, json!({}), ports(&["TCP/127.0.0.1/8080"]))],
        manifests: vec![pinned],
        want: Some("Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"),
    }]);
}

/// pkg/scheduler/framework/plugins/nodeaffinity/node_affinity_test.go
/// `TestNodeAffinity`: the two PreFilter-shaped rows.
#[test]
fn node_affinity_prefilter() {
    let terms = |terms: Value| json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}});
    run(vec![
        Row {
            source: "Pod with an empty []NodeSelectorTerm in affinity, can't match the node's labels and won't schedule onto the node",
            dump: vec![node("node1", json!({"foo": "bar"})), node("node2", json!({"foo": "bar"}))],
            manifests: vec![workload(NS, json!({"app": "x"}), terms(json!([])))],
            // No PreFilter result: each node fails Filter with ErrReasonPod.
            want: Some("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."),
        },
        Row {
            source: "Pod with two conflicting mach field requirements",
            dump: vec![node("node1", json!({"foo": "bar"})), node("node2", json!({"foo": "bar"}))],
            manifests: vec![workload(
                NS,
                json!({"app": "x"}),
                terms(json!([{"matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": ["node1"]},
                    {"key": "metadata.name", "operator": "In", "values": ["node2"]}]}])),
            )],
            // PreFilter's errReasonConflict, printed once in place of the
            // per-node histogram (FitError.Error).
            want: Some("0/2 nodes are available: pod affinity terms conflict."),
        },
    ]);
}

/// pkg/scheduler/framework/plugins/noderesources/fit_test.go
/// `TestEnoughRequests`: the three pod-level hugepages rows (node:
/// `makeAllocatableResources(10, 20, 32, 5, 20, 5)`, hugepages 5).
#[test]
fn pod_level_hugepages() {
    let huge_node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
        "status": {"allocatable": {"cpu": "10m", "memory": "20", "pods": "32", "hugepages-2Mi": "5", "ephemeral-storage": "20"}}});
    let pod_level = |container_huge: i64, pod_huge: i64| {
        let mut container = json!({"name": "c"});
        if container_huge > 0 {
            container["resources"] = json!({"requests": {"cpu": "1m", "memory": "1", "hugepages-2Mi": container_huge}});
        }
        json!({"containers": [container], "resources": {"requests": {"cpu": "3m", "memory": "2", "hugepages-2Mi": pod_huge}}})
    };
    let row = |source, container_huge, pod_huge, want| Row {
        source,
        dump: vec![huge_node.clone()],
        manifests: vec![workload(NS, json!({"app": "x"}), pod_level(container_huge, pod_huge))],
        want,
    };
    run(vec![
        row("pod-level hugepages resource fit", 0, 5, None),
        row("both pod-level and container-level hugepages resource fit", 3, 5, None),
        row(
            "pod-level hugepages resource not fit",
            0,
            10,
            Some("0/1 nodes are available: 1 Insufficient hugepages-2Mi."),
        ),
    ]);
}
