//! The simulation budget (`gpuops_schedule::scheduler::budget`) through
//! the whole check: what a hostile render meets.

use gpuops_fit::report::{CheckError, CheckOptions, check};
use gpuops_schedule::cluster::Cluster;
use gpuops_schedule::scheduler::budget::{Budget, TooLarge, size};
use serde_json::{Value, json};

/// Nodes as a dump gives them: `pods` and `cpu` as the node says, up to
/// `1e9` pods and `1e18` bytes of memory.
fn dump(nodes: usize, pods: &str, memory: &str) -> Cluster {
    let items: Vec<Value> = (0..nodes)
        .map(|i| {
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("n{i}")},
                "status": {"allocatable": {"cpu": "1e9", "memory": memory, "pods": pods, "nvidia.com/gpu": "8"}}})
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
    gpuops_schedule::cluster::from_dump(list.as_bytes(), "cluster.json").unwrap()
}

fn deployment(replicas: u64, requests: Value, priority: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "c", "image": "busybox", "resources": {"requests": requests}}]});
    if let Some(class) = priority {
        spec["priorityClassName"] = json!(class);
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big", "namespace": "ml"},
        "spec": {"replicas": replicas, "strategy": {"type": "Recreate"}, "template": {"spec": spec}}})
}

/// `replicas: 1e9` on nodes allowing 1e9 pods each: refused at once
/// with the typed error (before: a billion placements, each keeping the
/// node's name, until memory ran out).
#[test]
fn a_billion_replicas_are_too_large_to_simulate_not_an_abort() {
    let cluster = dump(2, "1e9", "1Ti");
    let started = std::time::Instant::now();
    let result = check(&cluster, &[deployment(1_000_000_000, json!({"cpu": "1m"}), None)], CheckOptions::default());
    let elapsed = started.elapsed();
    let Err(CheckError::TooLarge(error)) = result else { panic!("expected TooLarge, got {result:?}") };
    assert!(
        matches!(error, TooLarge::Placement { replicas: 1_000_000_000, nodes: 2, ref largest, most: 1_000_000_000, .. } if largest == "Deployment/ml/big"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "too large to simulate: 1000000000 replicas × 2 nodes exceeds the budget of 10000000 node checks and 1000000 replicas (Deployment/ml/big asks for the most, 1000000000); lower its replicas or check fewer nodes (-l)"
    );
    assert!(elapsed < std::time::Duration::from_secs(1), "refused before placing: {elapsed:?}");
    // Replicas × nodes is what counts: 200,000 replicas are fine on one
    // node, not on 800.
    let within = Budget { checks: 200_000, replicas: 1_000_000 };
    let groups = gpuops_fit::workloads::pod_groups(&deployment(200_000, json!({}), None), &Default::default())
        .unwrap()
        .into_iter()
        .map(|w| w.group)
        .collect::<Vec<_>>();
    assert!(size(&dump(1, "1e9", "1Ti"), &groups, within).is_ok());
    assert!(matches!(size(&dump(800, "110", "1Ti"), &groups, within), Err(TooLarge::Placement { nodes: 800, .. })));
}

/// Preemption's cost grows with the bound pods; past the budget it
/// stops with its own error instead of running on.
#[test]
fn preemption_is_metered() {
    let mut cluster = dump(1, "110", "1Ti");
    for i in 0..8 {
        cluster.pods.push(gpuops_schedule::cluster::BoundPod {
            namespace: "batch".into(),
            name: format!("low-{i}"),
            node: "n0".into(),
            requests: gpuops_schedule::resources::Resources::from([("nvidia.com/gpu".into(), 1)]),
            priority: -10,
            labels: Default::default(),
        });
    }
    let high = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000});
    let objects = [deployment(8, json!({"nvidia.com/gpu": 1}), Some("high")), high];
    let report = check(&cluster, &objects, CheckOptions::default()).unwrap();
    assert_eq!(report.workloads[0].preempts.len(), 8, "within the default budget every replica preempts one pod");
    // 8 filter evaluations, then 8 preemptions visiting 1 node and 9 pods each.
    let mut options = CheckOptions::default();
    options.scheduler.budget = Budget { checks: 50, replicas: 100 };
    let error = check(&cluster, &objects, options).unwrap_err();
    assert_eq!(
        error.to_string(),
        "too large to simulate: preemption among 8 bound pods on 1 nodes exceeds the budget of 50 node checks; check fewer nodes (-l)"
    );
}

/// Quantities near i64::MAX (a dump's `memory: 9e18`, a pod asking as
/// much) are compared and scored without overflowing.
#[test]
fn huge_quantities_do_not_overflow() {
    let cluster = dump(2, "110", "9e18");
    let report = check(&cluster, &[deployment(3, json!({"memory": "4e18"}), None)], CheckOptions::default()).unwrap();
    assert_eq!(report.workloads[0].placed, 3, "{:?}", report.workloads[0]);
    let report = check(&cluster, &[deployment(5, json!({"memory": "4e18"}), None)], CheckOptions::default()).unwrap();
    assert!(!report.fits, "two nodes hold 4 of them");
}
