//! What API-server admission does to a pod before the scheduler sees it, in
//! the API server's plugin order: LimitRanger fills in default requests
//! and limits, the Priority plugin resolves `priorityClassName`, RuntimeClass adds its
//! overhead and scheduling constraints, and ResourceQuota refuses pods a
//! namespace has no quota left for (the ReplicaSet then records
//! `FailedCreate` and the pods never exist).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cluster::{Cluster, PriorityClass, Quota, of_kind};
use crate::group::{PodGroup, WorkloadKind};
use crate::resources::{Resources, display};

/// Admission's answer for each group: a refusal message, and how many of
/// its replicas get created (the rest are refused by quota).
#[derive(Debug, Clone, Default)]
pub struct Admission {
    pub refused: Vec<Option<String>>,
}

/// Apply admission to `groups` in order, with the PriorityClasses,
/// RuntimeClasses and ResourceQuotas of the manifests (they win over the
/// cluster's of the same name) and of the cluster. Replicas beyond a quota
/// are removed from the group.
pub fn admit(groups: &mut [PodGroup], objects: &[Value], cluster: &Cluster) -> Admission {
    let mut classes: Vec<PriorityClass> =
        of_kind(objects, "PriorityClass").filter_map(PriorityClass::from_object).collect();
    let from_cluster: Vec<PriorityClass> =
        cluster.priority_classes.iter().filter(|c| !classes.iter().any(|m| m.name == c.name)).cloned().collect();
    classes.extend(from_cluster);
    let limit_ranges: Vec<&Value> = of_kind(objects, "LimitRange").collect();
    for g in groups.iter_mut() {
        apply_limit_ranges(g, &limit_ranges);
    }
    let mut refused: Vec<Option<String>> = vec![None; groups.len()];
    // By index, not by name: two groups may show the same name (two Jobs
    // of one `generateName`), and each is refused for its own class.
    for (i, message) in resolve_priority(groups, &classes) {
        // The API server refuses every pod of it.
        groups[i].replicas = 0;
        refused[i] = Some(message);
    }
    let runtime_classes: BTreeMap<&str, &Value> =
        of_kind(objects, "RuntimeClass").filter_map(|o| Some((o.pointer("/metadata/name")?.as_str()?, o))).collect();
    for g in groups.iter_mut() {
        apply_runtime_class(g, &runtime_classes);
    }
    // Kueue admits (or keeps suspended) the workload before any pod exists.
    let (queued, warned) = crate::kueue::admit(groups, objects);
    for ((g, refusal), (queue, warning)) in groups.iter_mut().zip(&mut refused).zip(queued.into_iter().zip(warned)) {
        if refusal.is_none() {
            *refusal = queue;
        }
        g.warnings.extend(warning);
    }
    let mut quotas: Vec<Quota> = of_kind(objects, "ResourceQuota").filter_map(|o| Quota::from_object(o).ok()).collect();
    let from_cluster: Vec<Quota> = cluster
        .quotas
        .iter()
        .filter(|c| !quotas.iter().any(|q| q.namespace == c.namespace && q.name == c.name))
        .cloned()
        .collect();
    quotas.extend(from_cluster);
    for q in &mut quotas {
        if q.used.is_none() {
            q.used = Some(bound_usage(cluster, &q.namespace, &q.hard));
        }
    }
    for (g, refusal) in groups.iter_mut().zip(&mut refused) {
        if refusal.is_some() || g.per_node {
            continue;
        }
        if let Some(message) = apply_quotas(g, &mut quotas) {
            *refusal = Some(message);
        }
    }
    Admission { refused }
}

/// LimitRanger (plugin/pkg/admission/limitranger/admission.go
/// `defaultContainerResourceRequirements`, `mergeContainerResources`): a
/// `type: Container` item's `default` fills in missing limits and its
/// `defaultRequest` (which the API defaults to `default`) missing requests,
/// for every container of the pod in the LimitRange's namespace.
fn apply_limit_ranges(g: &mut PodGroup, ranges: &[&Value]) {
    let mut mine = ranges
        .iter()
        .filter(|r| r.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default") == g.namespace)
        .peekable();
    if mine.peek().is_none() {
        return;
    }
    // The group keeps its containers as text (workloads::PodGroup::containers).
    let mut spec = g.pod_spec();
    let mut changed = false;
    for range in mine {
        for item in range.pointer("/spec/limits").and_then(Value::as_array).into_iter().flatten() {
            if item.get("type").and_then(Value::as_str) != Some("Container") {
                continue;
            }
            let default = item.get("default").and_then(Value::as_object);
            // LimitRange defaulting: a resource with a default limit and no
            // defaultRequest gets the limit as its defaultRequest.
            let mut merged = default.cloned().unwrap_or_default();
            if let Some(r) = item.get("defaultRequest").and_then(Value::as_object) {
                merged.extend(r.clone());
            }
            let request = (!merged.is_empty()).then_some(&merged);
            for key in ["containers", "initContainers"] {
                let Some(list) = spec.get_mut(key).and_then(Value::as_array_mut) else { continue };
                for c in list {
                    let Some(c) = c.as_object_mut() else { continue };
                    let resources = c.entry("resources").or_insert_with(|| Value::Object(Default::default()));
                    for (field, values) in [("limits", default), ("requests", request)] {
                        let Some(values) = values else { continue };
                        let Some(map) = resources.as_object_mut() else { continue };
                        let slot = map.entry(field).or_insert_with(|| Value::Object(Default::default()));
                        if let Some(slot) = slot.as_object_mut() {
                            for (r, v) in values {
                                if !slot.contains_key(r) {
                                    slot.insert(r.clone(), v.clone());
                                    changed = true;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if changed {
        if let Ok(requests) = crate::resources::pod_requests(&spec) {
            g.requests = requests;
        }
        g.set_pod_spec(spec);
    }
}

/// RuntimeClass admission (plugin/pkg/admission/runtimeclass/admission.go):
/// `overhead.podFixed` becomes the pod's `spec.overhead`, and
/// `scheduling.nodeSelector`/`tolerations` are merged into the pod.
fn apply_runtime_class(g: &mut PodGroup, classes: &BTreeMap<&str, &Value>) {
    let Some(class) = g.spec.get("runtimeClassName").and_then(Value::as_str).and_then(|n| classes.get(n)).copied()
    else {
        return;
    };
    if g.spec.get("overhead").is_none()
        && let Some(Value::Object(fixed)) = class.pointer("/overhead/podFixed")
    {
        for (k, v) in fixed {
            if let Ok(amount) = crate::resources::canonical(k, v) {
                *g.requests.entry(k.clone()).or_insert(0) += amount;
            }
        }
    }
    if let Some(map) = g.spec.as_object_mut() {
        if let Some(Value::Object(selector)) = class.pointer("/scheduling/nodeSelector") {
            let target = map.entry("nodeSelector").or_insert_with(|| Value::Object(Default::default()));
            if let Some(t) = target.as_object_mut() {
                for (k, v) in selector {
                    t.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        if let Some(Value::Array(tolerations)) = class.pointer("/scheduling/tolerations") {
            let target = map.entry("tolerations").or_insert_with(|| Value::Array(Vec::new()));
            if let Some(t) = target.as_array_mut() {
                t.extend(tolerations.iter().cloned());
            }
        }
    }
}

/// A pod's usage of a quota key (pkg/quota/v1/evaluator/core/pods.go
/// `PodUsageFunc`: `pods` and `count/pods` count 1; `requests.<r>` and,
/// for cpu/memory/ephemeral-storage, the bare name are its requests;
/// `limits.<r>` of an extended resource equals its request). `None` for
/// keys the fit does not know the pod's usage of (cpu/memory limits).
fn usage_of(key: &str, requests: &Resources) -> Option<i64> {
    if key == "pods" || key == "count/pods" {
        return Some(1);
    }
    if let Some(r) = key.strip_prefix("requests.") {
        return Some(requests.get(r).copied().unwrap_or(0));
    }
    if matches!(key, "cpu" | "memory" | "ephemeral-storage") {
        return Some(requests.get(key).copied().unwrap_or(0));
    }
    if let Some(r) = key.strip_prefix("limits.")
        && crate::resources::is_extended(r)
    {
        return Some(requests.get(r).copied().unwrap_or(0));
    }
    None
}

/// What the bound pods of a namespace use of a quota's keys (for quotas
/// whose `status.used` is not known).
fn bound_usage(cluster: &Cluster, namespace: &str, hard: &Resources) -> Resources {
    let mut used = Resources::new();
    for pod in cluster.pods.iter().filter(|p| p.namespace == namespace) {
        for key in hard.keys() {
            if let Some(u) = usage_of(key, &pod.requests) {
                *used.entry(key.clone()).or_insert(0) += u;
            }
        }
    }
    used
}

/// The base resource of a quota key, for printing amounts in its units.
fn unit_name(key: &str) -> &str {
    key.strip_prefix("requests.").or_else(|| key.strip_prefix("limits.")).unwrap_or(key)
}

fn pretty(values: &[(String, i64)]) -> String {
    // controller.go prettyPrint: sorted `name=quantity`, comma-separated.
    let mut v: Vec<String> = values.iter().map(|(k, n)| format!("{k}={}", display(unit_name(k), *n))).collect();
    v.sort();
    v.join(",")
}

/// Admit the group's replicas one by one against the quotas of its
/// namespace; the first refused replica stops the rest, and the message is
/// the API server's (plugin/pkg/admission/resourcequota/controller.go
/// `checkRequest`: "exceeded quota: %s, requested: %s, used: %s, limited:
/// %s", wrapped by `admission.NewForbidden`).
fn apply_quotas(g: &mut PodGroup, quotas: &mut [Quota]) -> Option<String> {
    let mine: Vec<usize> =
        (0..quotas.len()).filter(|&i| quotas[i].namespace == g.namespace && !quotas[i].scoped).collect();
    if mine.is_empty() {
        return None;
    }
    // A Pod is created under its own name; a controller's pods under
    // generated names starting with the workload's.
    let pod_name = match g.workload.kind {
        WorkloadKind::Pod => g.workload.name.clone(),
        _ => format!("{}-…", g.workload.name),
    };
    for admitted in 0..g.replicas {
        for &q in &mine {
            let quota = &quotas[q];
            let used = quota.used.clone().unwrap_or_default();
            let mut requested = Vec::new();
            let mut failed_used = Vec::new();
            let mut limited = Vec::new();
            for (key, hard) in &quota.hard {
                let Some(want) = usage_of(key, &g.requests).filter(|w| *w > 0) else { continue };
                let now = used.get(key).copied().unwrap_or(0);
                if now + want > *hard {
                    requested.push((key.clone(), want));
                    failed_used.push((key.clone(), now));
                    limited.push((key.clone(), *hard));
                }
            }
            if !requested.is_empty() {
                let message = format!(
                    "Error creating: pods \"{pod_name}\" is forbidden: exceeded quota: {}, requested: {}, used: {}, limited: {} ({admitted} of {} replica(s) admitted)",
                    quota.name,
                    pretty(&requested),
                    pretty(&failed_used),
                    pretty(&limited),
                    g.replicas
                );
                g.replicas = admitted;
                return Some(message);
            }
        }
        for &q in &mine {
            let quota = &mut quotas[q];
            let hard_keys: Vec<String> = quota.hard.keys().cloned().collect();
            let used = quota.used.get_or_insert_with(Resources::new);
            for key in hard_keys {
                if let Some(u) = usage_of(&key, &g.requests) {
                    *used.entry(key).or_insert(0) += u;
                }
            }
        }
    }
    None
}

/// Set each group's priority from its `priorityClassName`, the way the
/// Priority admission plugin does when the pod is created
/// (plugin/pkg/admission/priority/admission.go): a named class gives its
/// value and preemption policy; no name takes the `globalDefault` class
/// (0 without one); the two built-in system classes always exist. An
/// unknown name makes the API server refuse the pod: returned as
/// `(index of the group, message)`.
fn resolve_priority(groups: &mut [PodGroup], classes: &[PriorityClass]) -> Vec<(usize, String)> {
    let builtin = |name: &str| match name {
        "system-cluster-critical" => Some(2_000_000_000),
        "system-node-critical" => Some(2_000_001_000),
        _ => None,
    };
    let mut refused = Vec::new();
    for (i, g) in groups.iter_mut().enumerate() {
        let name = g.spec.get("priorityClassName").and_then(Value::as_str).filter(|n| !n.is_empty());
        let class = match name {
            Some(n) => classes.iter().find(|c| c.name == n),
            None => classes.iter().find(|c| c.global_default),
        };
        match (name, class) {
            (_, Some(c)) => {
                g.priority = c.value;
                g.preemption_never |= c.preemption_never;
            }
            (Some(n), None) => match builtin(n) {
                Some(v) => g.priority = v,
                None => refused.push((
                    i,
                    format!("pods \"{}\" is forbidden: no PriorityClass with name {n} was found", g.workload.name),
                )),
            },
            (None, None) => g.priority = 0,
        }
    }
    refused
}
