//! The typed JSON reader: `kubectl get -o json` dumps and API list pages,
//! from bytes to [`Node`] and [`BoundPod`] in one pass.

use std::collections::BTreeMap;

use super::{
    BoundPod, Cluster, ClusterError, HostPort, Namespace, Node, PodDisruptionBudget, PodLabels, PodScheduling,
    PriorityClass, Quota, holds_capacity, node_error,
};
use crate::resources::{self, Amounts, QuantityError, Resources};

/// The typed wire form of list items (see the module).
mod wire;

fn quantities<'a>(map: &'a wire::Quantities<'_>) -> Result<Amounts<'a>, QuantityError> {
    map.iter().map(|(name, q)| Ok((name.as_ref(), resources::canonical_text(name, q.text())?))).collect()
}

fn container_requests<'a>(c: &'a wire::Container<'_>) -> Result<Amounts<'a>, QuantityError> {
    resources::merge_limits(quantities(&c.resources.requests)?, quantities(&c.resources.limits)?)
}

impl wire::Object<'_> {
    fn into_node(self) -> Result<Node, ClusterError> {
        let name = self.metadata.name.into_owned();
        let mut allocatable = Resources::new();
        if let Some(source) = self.status.allocatable.as_ref() {
            let amounts = quantities(source).map_err(node_error(&name))?;
            allocatable.extend(amounts.into_iter().map(|(k, v)| (k.to_string(), v)));
        }
        Ok(Node {
            labels: match self.metadata.labels {
                Some(raw) => serde_json::from_str(raw.get()).map_err(|source| ClusterError::Json {
                    source_name: format!("Node/{name}: metadata.labels"),
                    source,
                })?,
                None => BTreeMap::new(),
            },
            taints: self.spec.taints,
            unschedulable: self.spec.unschedulable,
            allocatable,
            name,
        })
    }

    fn into_namespace(self) -> Result<Namespace, ClusterError> {
        let name = self.metadata.name.into_owned();
        let mut namespace = Namespace::named(&name);
        if let Some(raw) = self.metadata.labels {
            let labels: BTreeMap<String, String> = serde_json::from_str(raw.get()).map_err(|source| {
                ClusterError::Json { source_name: format!("Namespace/{name}: metadata.labels"), source }
            })?;
            namespace.labels.extend(labels);
        }
        Ok(namespace)
    }

    /// Required anti-affinity and host ports, when the pod has any
    /// (nothing is allocated for the many pods that have neither).
    fn scheduling(&self, node: &str) -> Option<PodScheduling> {
        let anti = (self.spec.affinity.as_ref())
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution)
            .map(|raw| super::AntiAffinityText::from_json(raw.get()))
            .unwrap_or_default();
        let has_anti = !anti.is_empty();
        let has_ports = (self.spec.containers.iter().chain(&self.spec.init_containers))
            .any(|c| c.ports.iter().any(|p| p.host_port > 0));
        if !has_anti && !has_ports {
            return None;
        }
        let sidecars = self.spec.init_containers.iter().filter(|c| c.restart_policy.as_deref() == Some("Always"));
        let host_ports: Vec<HostPort> = self
            .spec
            .containers
            .iter()
            .chain(sidecars)
            .flat_map(|c| &c.ports)
            .filter(|p| p.host_port > 0)
            .map(|p| {
                HostPort::new(
                    p.host_ip.as_deref(),
                    p.protocol.as_deref(),
                    i32::try_from(p.host_port).unwrap_or(i32::MAX),
                )
            })
            .collect();
        let anti_affinity = anti;
        let extras = PodScheduling { node: node.to_string(), anti_affinity, host_ports };
        extras.is_some().then_some(extras)
    }

    fn into_bound_pod(self) -> Result<Option<(BoundPod, Option<PodScheduling>)>, ClusterError> {
        if !holds_capacity(self.spec.node_name.as_deref(), self.status.phase.as_deref()) {
            return Ok(None);
        }
        let namespace = self.metadata.namespace.as_deref().unwrap_or("default");
        let subject = || format!("Pod/{namespace}/{}", self.metadata.name);
        let read = || -> Result<Resources, QuantityError> {
            let containers = self.spec.containers.iter().map(container_requests).collect::<Result<Vec<_>, _>>()?;
            let init = self
                .spec
                .init_containers
                .iter()
                .map(|c| Ok((container_requests(c)?, c.restart_policy.as_deref() == Some("Always"))))
                .collect::<Result<Vec<_>, QuantityError>>()?;
            let pod_level = resources::merge_limits(
                quantities(&self.spec.resources.requests)?,
                quantities(&self.spec.resources.limits)?,
            )?;
            Ok(resources::effective(&containers, &init, &pod_level, &quantities(&self.spec.overhead)?))
        };
        let requests = read().map_err(|source| ClusterError::Object { subject: subject(), source })?;
        let node = self.spec.node_name.as_deref().unwrap_or_default().to_string();
        let extras = self.scheduling(&node);
        let pod = BoundPod {
            namespace: namespace.to_string(),
            name: self.metadata.name.to_string(),
            node,
            requests,
            priority: self.spec.priority.unwrap_or(0),
            labels: self.metadata.labels.map(|raw| PodLabels::from_json(raw.get())).unwrap_or_default(),
        };
        Ok(Some((pod, extras)))
    }

    /// `status.startTime`, when it is a time.
    fn start_time(&self) -> Option<i64> {
        self.status.start_time.as_deref().and_then(super::parse_time)
    }

    fn into_pdb(self) -> Result<PodDisruptionBudget, ClusterError> {
        let name = self.metadata.name.into_owned();
        let namespace = self.metadata.namespace.as_deref().unwrap_or("default").to_string();
        let selector = match self.spec.selector {
            Some(raw) => {
                Some(serde_json::from_str::<serde_json::Value>(raw.get()).map_err(|source| ClusterError::Json {
                    source_name: format!("PodDisruptionBudget/{namespace}/{name}: spec.selector"),
                    source,
                })?)
            }
            None => None,
        };
        Ok(PodDisruptionBudget {
            selector: crate::requirement::Selector::from(selector.as_ref()),
            disruptions_allowed: self.status.disruptions_allowed.and_then(|v| i32::try_from(v).ok()).unwrap_or(0),
            disrupted_pods: self.status.disrupted_pods.iter().flatten().map(|(k, _)| k.to_string()).collect(),
            namespace,
            name,
        })
    }

    fn into_quota(self) -> Result<Quota, ClusterError> {
        let namespace = self.metadata.namespace.as_deref().unwrap_or("default").to_string();
        let name = self.metadata.name.to_string();
        let read = |map: &wire::Quantities<'_>| -> Result<Resources, ClusterError> {
            map.iter()
                .map(|(k, q)| {
                    let amount = super::quota_amount(k, q.text()).map_err(|source| ClusterError::Object {
                        subject: format!("ResourceQuota/{namespace}/{name}"),
                        source,
                    })?;
                    Ok((k.to_string(), amount))
                })
                .collect()
        };
        Ok(Quota {
            hard: read(&self.spec.hard)?,
            used: self.status.used.as_ref().map(read).transpose()?,
            scoped: !self.spec.scopes.is_empty() || self.spec.scope_selector.is_some(),
            namespace,
            name,
        })
    }

    fn into_priority_class(self) -> Option<PriorityClass> {
        Some(PriorityClass {
            name: self.metadata.name.into_owned(),
            value: i32::try_from(self.value?).ok()?,
            global_default: self.global_default,
            preemption_never: self.preemption_policy.as_deref() == Some("Never"),
        })
    }
}

/// A bound pod, what the pod-dependent filters need of it, and its start
/// time, added to `cluster` (start times stay indexed like the pods).
fn push_pod(cluster: &mut Cluster, (pod, extras): (BoundPod, Option<PodScheduling>), start: Option<i64>) {
    if let Some(extras) = extras {
        cluster.pod_scheduling.insert((pod.namespace.clone(), pod.name.clone()), extras);
    }
    if start.is_some() {
        cluster.start_times.resize(cluster.pods.len(), None);
        cluster.start_times.push(start);
    }
    cluster.pods.push(pod);
}

/// Byte ranges of the objects in a top-level `"items": [ … ]` array, found
/// by a structural scan (strings and escapes respected, braces counted)
/// without parsing them. `None` when the text does not look like a List
/// whose items are all objects: the caller then parses it in one pass.
fn item_ranges(bytes: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    // `"items"` as a key of the top-level object: the first occurrence at
    // depth 1 outside strings.
    let mut depth = 0usize;
    let mut i = 0usize;
    let mut ranges = Vec::new();
    let mut in_items = false;
    let mut item_start = 0usize;
    while i < bytes.len() {
        let Some(offset) = memchr::memchr3(b'"', b'{', b'}', &bytes[i..]) else { break };
        i += offset;
        match bytes[i] {
            b'"' => {
                // Find the closing quote, skipping escaped characters.
                let start = i + 1;
                let mut j = start;
                loop {
                    let k = j + memchr::memchr2(b'"', b'\\', &bytes[j..])?;
                    if bytes[k] == b'\\' {
                        j = k + 2;
                        continue;
                    }
                    j = k;
                    break;
                }
                if depth == 1 && !in_items && ranges.is_empty() && &bytes[start..j] == b"items" {
                    // `"items" : [` then objects.
                    let rest = &bytes[j + 1..];
                    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
                    if rest[colon] != b':' {
                        return None;
                    }
                    let open = colon + 1 + rest[colon + 1..].iter().position(|b| !b.is_ascii_whitespace())?;
                    if rest[open] != b'[' {
                        return None;
                    }
                    in_items = true;
                    i = j + 1 + open + 1;
                    continue;
                }
                i = j + 1;
            }
            b'{' => {
                if in_items && depth == 1 {
                    item_start = i;
                }
                depth += 1;
                i += 1;
            }
            _ => {
                depth = depth.checked_sub(1)?;
                if in_items && depth == 1 {
                    ranges.push(item_start..i + 1);
                }
                i += 1;
            }
        }
        if in_items && depth == 1 {
            // Between items only whitespace, commas and the closing bracket.
            let next = bytes[i..].iter().position(|b| !b.is_ascii_whitespace() && *b != b',')?;
            if bytes[i + next] == b']' {
                in_items = false;
                i += next + 1;
            } else if bytes[i + next] != b'{' {
                return None;
            }
        }
    }
    (depth == 0 && !in_items && !ranges.is_empty()).then_some(ranges)
}

/// A large dump decoded on both cores: the items are split by a structural
/// scan and each half is decoded into its own nodes and pods. Items must
/// carry their own kind (a `kubectl get -o json` List does); otherwise, or
/// for anything unusual, `None` and the one-pass reader decides.
fn from_json_dump_parallel(bytes: &[u8], source: &str) -> Option<Result<Cluster, ClusterError>> {
    let ranges = item_ranges(bytes)?;
    let halves = ranges.split_at(ranges.len() / 2);
    let decode = |part: &[std::ops::Range<usize>]| -> Option<Result<Cluster, ClusterError>> {
        let mut cluster = Cluster::default();
        for range in part {
            let item: wire::Object<'_> = match serde_json::from_slice(&bytes[range.clone()]) {
                Ok(item) => item,
                Err(_) => return None, // let the one-pass reader report it with its position
            };
            let result = match item.kind.as_deref() {
                Some("Node") => item.into_node().map(|n| cluster.nodes.push(n)),
                Some("Pod") => {
                    let start = item.start_time();
                    item.into_bound_pod().map(|p| {
                        if let Some(bound) = p {
                            push_pod(&mut cluster, bound, start);
                        }
                    })
                }
                Some("PodDisruptionBudget") => item.into_pdb().map(|p| cluster.pdbs.push(p)),
                Some("Namespace") => item.into_namespace().map(|n| cluster.namespaces.push(n)),
                Some("PriorityClass") => {
                    cluster.priority_classes.extend(item.into_priority_class());
                    Ok(())
                }
                Some("ResourceQuota") => item.into_quota().map(|q| cluster.quotas.push(q)),
                Some(_) => Ok(()),
                None => return None,
            };
            if let Err(e) = result {
                return Some(Err(e));
            }
        }
        Some(Ok(cluster))
    };
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| decode(halves.1));
        (decode(halves.0), second.join().ok().flatten())
    });
    let (mut cluster, rest) = match (first?, second?) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
    };
    cluster.source = source.to_string();
    cluster.absorb(rest);
    cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Some(Ok(cluster))
}

/// Nodes and bound pods of a `kubectl get nodes,pods -A -o json` dump: on
/// both cores when it is large and shaped like kubectl's output, else in
/// one pass ([`from_json_list`]).
pub fn from_json_dump(bytes: &[u8], source: &str) -> Result<Cluster, ClusterError> {
    const PARALLEL_FROM: usize = 4 << 20;
    if bytes.len() >= PARALLEL_FROM
        && let Some(result) = from_json_dump_parallel(bytes, source)
    {
        return result;
    }
    from_json_list(bytes, source).map(|(cluster, _)| cluster)
}

/// The `continue` token of an API list page, read from the metadata that
/// precedes its items, so that the next page can be requested while this
/// one is decoded. `None` when it cannot be known without reading the items
/// (metadata after items, or not JSON).
pub fn continue_token_ahead(bytes: &[u8]) -> Option<Option<String>> {
    let mut head = wire::Head::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let _ = serde::Deserializer::deserialize_map(&mut deserializer, &mut head);
    head.token
}

/// Nodes and bound pods of one JSON list (a `kubectl get -o json` dump or
/// an API list page), and the page's `continue` token.
pub fn from_json_list(bytes: &[u8], source: &str) -> Result<(Cluster, Option<String>), ClusterError> {
    let mut cluster = Cluster { source: source.to_string(), ..Cluster::default() };
    let mut seed =
        wire::ListSeed { cluster: &mut cluster, kind: None, continue_token: None, unknown: 0, failure: None };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde::Deserializer::deserialize_map(&mut deserializer, &mut seed).and_then(|()| deserializer.end());
    if let Some(failure) = seed.failure.take() {
        return Err(failure);
    }
    parsed.map_err(|e| ClusterError::Json { source_name: source.to_string(), source: e })?;
    if seed.unknown > 0 {
        // Items without a kind before the list named its own: only an API
        // list does that, and the API server writes `kind` first.
        tracing::warn!(source, items = seed.unknown, "list items without a kind were skipped");
    }
    let continue_token = seed.continue_token.take().filter(|t| !t.is_empty());
    cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((cluster, continue_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parallel_dump_reader_reads_what_the_one_pass_reader_reads() {
        let node = |i: usize| {
            serde_json::json!({"kind": "Node", "metadata": {"name": format!("n{i}"), "labels": {"a": "{\"}"}},
            "status": {"allocatable": {"nvidia.com/gpu": "8", "cpu": "64"}}})
        };
        let pod = |i: usize| {
            serde_json::json!({"kind": "Pod", "metadata": {"name": format!("p{i}"), "annotations": {"x": "}}\\\"{"}},
            "spec": {"nodeName": format!("n{}", i % 7), "containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]}, "status": {"phase": "Running"}})
        };
        let items: Vec<serde_json::Value> = (0..7).map(node).chain((0..40).map(pod)).collect();
        // Pretty (as kubectl writes it) and compact.
        for text in [
            serde_json::to_string_pretty(&serde_json::json!({"apiVersion": "v1", "items": items, "kind": "List"}))
                .unwrap(),
            serde_json::json!({"apiVersion": "v1", "items": items, "kind": "List"}).to_string(),
        ] {
            assert_eq!(item_ranges(text.as_bytes()).map(|r| r.len()), Some(47));
            let parallel = from_json_dump_parallel(text.as_bytes(), "dump").unwrap().unwrap();
            let (one_pass, _) = from_json_list(text.as_bytes(), "dump").unwrap();
            let gpus = |c: &Cluster| {
                crate::scheduler::usage(c).iter().map(|u| u.requests["nvidia.com/gpu"]).collect::<Vec<_>>()
            };
            assert_eq!((parallel.nodes.len(), parallel.pods.len()), (7, 40));
            assert_eq!(gpus(&parallel), gpus(&one_pass));
            assert_eq!(parallel.nodes[0].labels["a"], "{\"}");
        }
        // Not a List of objects: the one-pass reader decides.
        assert!(item_ranges(br#"{"items": [1, 2]}"#).is_none());
        assert!(item_ranges(br#"{"kind": "Node"}"#).is_none());
    }
}
