//! Kueue admission: a workload labelled `kueue.x-k8s.io/queue-name` stays
//! suspended (no pods at all) until its LocalQueue's ClusterQueue has quota
//! for every pod set, borrowing from the cohort when allowed
//! (kubernetes-sigs/kueue pkg/scheduler/flavorassigner/flavorassigner.go
//! `fitsResourceQuota`; `couldn't assign flavors to pod set …` is the
//! Workload's QuotaReserved condition). When admitted, the flavor's
//! `nodeLabels` and `tolerations` are added to the pods (ResourceFlavor).
//!
//! Read from the manifests: LocalQueue, ClusterQueue (`cohort`,
//! `resourceGroups[].flavors[].resources[].nominalQuota`/`borrowingLimit`),
//! ResourceFlavor. The usage of workloads Kueue already admitted is not
//! read from the cluster (no Workload objects): the answer is for the
//! queue with the checked manifests in it, in order.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cluster::{of_kind, strings};
use crate::group::{PodGroup, Role, WorkloadRef};
use crate::resources::{Resources, canonical, display};

/// The label that sends a workload to a LocalQueue.
pub const QUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";

#[derive(Debug, Clone)]
struct Flavor {
    name: String,
    /// resource → (nominal, borrowing limit).
    quotas: BTreeMap<String, (i64, Option<i64>)>,
}

#[derive(Debug, Clone)]
struct ClusterQueue {
    cohort: Option<String>,
    groups: Vec<(Vec<String>, Vec<Flavor>)>,
}

fn amount(resource: &str, v: Option<&Value>) -> Option<i64> {
    canonical(resource, v?).ok()
}

fn cluster_queue(obj: &Value) -> ClusterQueue {
    let groups = obj
        .pointer("/spec/resourceGroups")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .map(|g| {
                    let covered = strings(g.get("coveredResources"));
                    let flavors = g
                        .get("flavors")
                        .and_then(Value::as_array)
                        .map(|fs| {
                            fs.iter()
                                .map(|f| Flavor {
                                    name: f.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                                    quotas: f
                                        .get("resources")
                                        .and_then(Value::as_array)
                                        .map(|rs| {
                                            rs.iter()
                                                .filter_map(|r| {
                                                    let name = r.get("name")?.as_str()?.to_string();
                                                    let nominal = amount(&name, r.get("nominalQuota"))?;
                                                    let limit = amount(&name, r.get("borrowingLimit"));
                                                    Some((name, (nominal, limit)))
                                                })
                                                .collect()
                                        })
                                        .unwrap_or_default(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (covered, flavors)
                })
                .collect()
        })
        .unwrap_or_default();
    ClusterQueue { cohort: obj.pointer("/spec/cohort").and_then(Value::as_str).map(str::to_string), groups }
}

/// Kueue's pod set name for a group: `main` for a Job, the Ray roles for
/// Ray workloads.
fn pod_set(group: &PodGroup) -> String {
    match &group.role {
        None => "main".to_string(),
        Some(Role::RayWorkerGroup(name)) => name.clone(),
        Some(role) => role.to_string(),
    }
}

/// Per group: why Kueue keeps it suspended (its replicas are set to 0), or
/// a warning when the queue cannot be checked.
pub fn admit(groups: &mut [PodGroup], objects: &[Value]) -> (Vec<Option<String>>, Vec<Option<String>>) {
    let mut refused = vec![None; groups.len()];
    let mut warned = vec![None; groups.len()];
    if groups.iter().all(|g| g.queue.is_none()) {
        return (refused, warned);
    }
    let of = |kind: &'static str| {
        of_kind(objects, kind)
            .filter(|o| o.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("kueue.x-k8s.io/")))
            .filter_map(|o| Some((o.pointer("/metadata/name")?.as_str()?.to_string(), o)))
            .collect::<Vec<_>>()
    };
    let local: BTreeMap<(String, String), String> = of("LocalQueue")
        .into_iter()
        .filter_map(|(name, o)| {
            let ns = o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
            Some(((ns, name), o.pointer("/spec/clusterQueue")?.as_str()?.to_string()))
        })
        .collect();
    let queues: BTreeMap<String, ClusterQueue> =
        of("ClusterQueue").into_iter().map(|(n, o)| (n, cluster_queue(o))).collect();
    let flavors: BTreeMap<String, &Value> = of("ResourceFlavor").into_iter().collect();
    let known = !local.is_empty() || !queues.is_empty();
    // (cluster queue, flavor, resource) → in use.
    let mut used: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut order: Vec<WorkloadRef> = Vec::new();
    for g in groups.iter() {
        if g.queue.is_some() && !order.contains(&g.workload) {
            order.push(g.workload.clone());
        }
    }
    for workload in order {
        let members: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].workload == workload).collect();
        let first = &groups[members[0]];
        let queue = first.queue.clone().unwrap_or_default();
        let key = (first.namespace.clone(), queue.clone());
        let verdict: Result<Vec<(usize, String)>, Suspended> = match local.get(&key) {
            None if !known => {
                for &i in &members {
                    warned[i] = Some(format!(
                        "labelled {QUEUE_LABEL}: {queue}, but no Kueue LocalQueue/ClusterQueue is among the manifests: whether Kueue admits it is not checked"
                    ));
                }
                continue;
            }
            None => Err(Suspended::NoLocalQueue { namespace: key.0.clone(), name: queue.clone() }),
            Some(cq_name) => match queues.get(cq_name) {
                None => Err(Suspended::NoClusterQueue(cq_name.clone())),
                Some(cq) => assign(groups, &members, cq_name, cq, &queues, &used),
            },
        };
        match verdict {
            Ok(assigned) => {
                let cq_name = local.get(&key).cloned().unwrap_or_default();
                for (i, flavor) in assigned {
                    let g = &mut groups[i];
                    for (r, v) in &g.requests {
                        *used.entry((cq_name.clone(), flavor.clone(), r.clone())).or_insert(0) += v * g.replicas as i64;
                    }
                    if let Some(f) = flavors.get(&flavor) {
                        add_flavor_constraints(g, f);
                    }
                }
            }
            Err(why) => {
                for &i in &members {
                    refused[i] =
                        Some(format!("Kueue keeps it suspended in LocalQueue {}/{queue}: {why}", groups[i].namespace));
                    groups[i].replicas = 0;
                }
            }
        }
    }
    (refused, warned)
}

/// Why Kueue keeps a workload suspended, in the words of its
/// `QuotaReserved` condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Suspended {
    #[error("LocalQueue {namespace}/{name} doesn't exist")]
    NoLocalQueue { namespace: String, name: String },
    #[error("ClusterQueue {0} doesn't exist")]
    NoClusterQueue(String),
    /// No flavor of the queue has room for a pod set: the first flavor's
    /// reasons (kubernetes-sigs/kueue
    /// pkg/scheduler/flavorassigner/flavorassigner.go `Assignment.Message`).
    #[error("couldn't assign flavors to pod set {pod_set}: {}", reasons.join(", "))]
    NoFlavor { pod_set: String, reasons: Vec<String> },
}

/// A flavor for every pod set, or the first reason none fits.
fn assign(
    groups: &[PodGroup],
    members: &[usize],
    cq_name: &str,
    cq: &ClusterQueue,
    queues: &BTreeMap<String, ClusterQueue>,
    used: &BTreeMap<(String, String, String), i64>,
) -> Result<Vec<(usize, String)>, Suspended> {
    let use_of =
        |q: &str, f: &str, r: &str| used.get(&(q.to_string(), f.to_string(), r.to_string())).copied().unwrap_or(0);
    // The other queues of the cohort lend what they do not use.
    let cohort: Vec<(&String, &ClusterQueue)> = match &cq.cohort {
        Some(c) => queues.iter().filter(|(n, q)| n.as_str() != cq_name && q.cohort.as_deref() == Some(c)).collect(),
        None => Vec::new(),
    };
    let lendable = |f: &str, r: &str, unused: bool| -> i64 {
        cohort
            .iter()
            .flat_map(|(n, q)| q.groups.iter().flat_map(|(_, fl)| fl.iter()).map(move |fl| (n, fl)))
            .filter(|(_, fl)| fl.name == f)
            .filter_map(|(n, fl)| {
                fl.quotas.get(r).map(|(nominal, _)| if unused { (nominal - use_of(n, f, r)).max(0) } else { *nominal })
            })
            .sum()
    };
    let mut assumed: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = Vec::new();
    for &i in members {
        let g = &groups[i];
        let total: Resources = g.requests.iter().map(|(k, v)| (k.clone(), v * g.replicas as i64)).collect();
        let mut chosen = None;
        let mut first_reasons: Option<Vec<String>> = None;
        for (covered, flavors) in &cq.groups {
            let wanted: Vec<(&String, i64)> =
                total.iter().filter(|(r, v)| **v > 0 && covered.contains(r)).map(|(r, v)| (r, *v)).collect();
            if wanted.is_empty() {
                continue;
            }
            for f in flavors {
                let mut reasons = Vec::new();
                for (r, want) in &wanted {
                    let Some(&(nominal, limit)) = f.quotas.get(*r) else {
                        reasons.push(format!("flavor {} has no quota for {r}", f.name));
                        continue;
                    };
                    let borrow = |x: i64| limit.map_or(x, |l| x.min(l));
                    let max = nominal + borrow(lendable(&f.name, r, false));
                    let available = nominal - use_of(cq_name, &f.name, r) + borrow(lendable(&f.name, r, true));
                    let before = assumed.get(*r).copied().unwrap_or(0);
                    let val = before + want;
                    if val > max {
                        reasons.push(format!(
                            "insufficient quota for {r} in flavor {}, previously considered podsets requests ({}) + current podset request ({}) > maximum capacity ({})",
                            f.name,
                            display(r, before),
                            display(r, *want),
                            display(r, max)
                        ));
                    } else if val > available {
                        reasons.push(format!(
                            "insufficient unused quota for {r} in flavor {}, {} more needed",
                            f.name,
                            display(r, val - available)
                        ));
                    }
                }
                if reasons.is_empty() {
                    chosen = Some(f.name.clone());
                    break;
                }
                first_reasons.get_or_insert(reasons);
            }
        }
        match (chosen, first_reasons) {
            (Some(f), _) => {
                for (r, v) in &total {
                    *assumed.entry(r.clone()).or_insert(0) += v;
                }
                out.push((i, f));
            }
            (None, Some(reasons)) => {
                return Err(Suspended::NoFlavor { pod_set: pod_set(g), reasons });
            }
            // Nothing the queue covers: Kueue admits it without a flavor.
            (None, None) => {}
        }
    }
    Ok(out)
}

/// ResourceFlavor `nodeLabels` become a node selector and its
/// `tolerations` are added, on the pods of an admitted pod set.
fn add_flavor_constraints(g: &mut PodGroup, flavor: &Value) {
    let Some(spec) = g.spec.as_object_mut() else { return };
    if let Some(Value::Object(labels)) = flavor.pointer("/spec/nodeLabels") {
        let selector = spec.entry("nodeSelector").or_insert_with(|| Value::Object(Default::default()));
        if let Some(s) = selector.as_object_mut() {
            for (k, v) in labels {
                s.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(Value::Array(tolerations)) = flavor.pointer("/spec/tolerations") {
        let list = spec.entry("tolerations").or_insert_with(|| Value::Array(Vec::new()));
        if let Some(l) = list.as_array_mut() {
            l.extend(tolerations.iter().cloned());
        }
    }
}
