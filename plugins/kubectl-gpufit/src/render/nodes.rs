//! `nodes`: the GPU inventory, one row per node and GPU resource — the
//! same typed rows drawn as the table and serialized as `NodeList` items.

use std::borrow::Cow;
use std::cmp::Ordering;

use gpuops_cli::{Kind, OutputArgs, OutputFormat, Table};
use gpuops_schedule::resources::display;
use serde::Serialize;

use super::{Items, document, is_document};
use crate::Error;

/// One node's one GPU resource. The field names are the `-o json` names
/// `nodes` printed before it had types (docs/output.md, `NodeList`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeRow {
    pub(crate) cluster: String,
    pub(crate) node: String,
    /// The product label, `-` for a GPU the catalog does not know.
    pub(crate) product: String,
    /// The product's memory as its label says it (`null` when unknown).
    #[serde(rename = "memoryMiB")]
    pub(crate) memory_mib: Option<u64>,
    /// What CUDA reports of it, in GiB to two places (`null` when unknown).
    #[serde(rename = "cudaMemoryGiB")]
    pub(crate) cuda_memory_gib: Option<f64>,
    pub(crate) resource: String,
    pub(crate) allocatable: i64,
    pub(crate) used: i64,
    pub(crate) free: i64,
    /// `STRATEGY xREPLICAS` (time-slicing, MPS), `xREPLICAS`, or `-`.
    pub(crate) sharing: String,
    pub(crate) unschedulable: bool,
    /// `KEY=VALUE:EFFECT`, as `kubectl taint` writes them.
    pub(crate) taints: Vec<String>,
    /// With `-n NS`: what that namespace's pods use of the resource.
    #[serde(flatten)]
    pub(crate) namespace: Option<NamespaceUse>,
}

/// What one namespace's pods use on a node (`nodes -n NS`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NamespaceUse {
    pub(crate) namespace: String,
    pub(crate) used_by_namespace: i64,
}

/// The inventory as a table (wide: with sharing and cluster) or a
/// `NodeList` document; `namespace` adds the `USED(NS)` column.
pub(crate) fn nodes(rows: &[NodeRow], namespace: Option<&str>, args: &OutputArgs) -> Result<String, Error> {
    if is_document(args.output) {
        return document(Kind::NodeList, Items { items: rows }, args.output);
    }
    let wide = args.output == OutputFormat::Wide;
    let used_by = namespace.map(|ns| format!("used({ns})"));
    let mut headers = vec!["node", "product", "memory", "resource", "allocatable", "used"];
    headers.extend(used_by.as_deref());
    headers.extend(["free", "taints"]);
    if wide {
        headers.extend(["sharing", "cluster"]);
    }
    let mut table = Table::new(&headers);
    for r in rows {
        let memory = r.memory_mib.map_or_else(|| "-".to_string(), |m| display("memory", (m as i64) << 20));
        let cordoned = r.unschedulable.then(|| "cordoned".to_string());
        let taints: Vec<String> = cordoned.into_iter().chain(r.taints.iter().cloned()).collect();
        let mut cells = vec![
            r.node.clone(),
            r.product.clone(),
            memory,
            r.resource.clone(),
            r.allocatable.to_string(),
            r.used.to_string(),
        ];
        if namespace.is_some() {
            cells.push(r.namespace.as_ref().map_or_else(|| "-".to_string(), |n| n.used_by_namespace.to_string()));
        }
        cells.extend([r.free.to_string(), if taints.is_empty() { "-".into() } else { taints.join(",") }]);
        if wide {
            cells.push(r.sharing.clone());
            cells.push(r.cluster.clone());
        }
        table.push(cells);
    }
    Ok(table.render(args.no_headers))
}

/// One value on a group's path (a resource, how it is offered, a node,
/// namespace or GPU product), borrowed from the cluster where it can be.
/// A pod's is its namespace and name, ordered as the `NAMESPACE/NAME` it
/// is shown as, so that grouping 60,000 pods builds no string per pod
/// until its row.
#[derive(Debug, Clone)]
pub(crate) enum Part<'a> {
    Text(Cow<'a, str>),
    Pod { namespace: &'a str, name: &'a str },
}

impl<'a> From<&'a str> for Part<'a> {
    fn from(text: &'a str) -> Self {
        Part::Text(Cow::Borrowed(text))
    }
}

impl Part<'_> {
    /// The bytes of the value as shown.
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        let (head, name) = match self {
            Part::Text(text) => (text.as_ref(), None),
            Part::Pod { namespace, name } => (*namespace, Some(*name)),
        };
        head.bytes().chain(name.into_iter().flat_map(|n| std::iter::once(b'/').chain(n.bytes())))
    }

    /// The value as shown.
    fn text(&self) -> String {
        match self {
            Part::Text(text) => text.to_string(),
            Part::Pod { namespace, name } => format!("{namespace}/{name}"),
        }
    }
}

/// As the shown strings compare (bytewise), which is how the groups sorted
/// when their paths were strings.
impl Ord for Part<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Text(a), Part::Text(b)) => a.as_ref().cmp(b.as_ref()),
            (Part::Pod { namespace: a, name: x }, Part::Pod { namespace: b, name: y }) if a == b => x.cmp(y),
            (Part::Pod { namespace: a, .. }, Part::Pod { namespace: b, .. }) => {
                namespace_order(a.as_bytes(), b.as_bytes()).unwrap_or_else(|| self.bytes().cmp(other.bytes()))
            }
            _ => self.bytes().cmp(other.bytes()),
        }
    }
}

/// How `A/…` and `B/…` compare for two different namespaces `a` and `b`,
/// without walking the names: at the first byte they differ in, or where
/// the shorter ends, its `/` against the longer's next byte. `None` where
/// that byte is a `/` too, which a namespace (a DNS label) never holds.
fn namespace_order(a: &[u8], b: &[u8]) -> Option<Ordering> {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match (a.get(common), b.get(common)) {
        (Some(x), Some(y)) => Some(x.cmp(y)),
        (None, Some(y)) if *y != b'/' => Some(b'/'.cmp(y)),
        (Some(x), None) if *x != b'/' => Some(x.cmp(&b'/')),
        _ => None,
    }
}

impl PartialOrd for Part<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Part<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Part<'_> {}

/// One group of `nodes -g` (docs/output.md, `AllocationList`): a GPU
/// resource as it is offered, or a node, namespace, pod or GPU product
/// under it; node-made groups carry allocatable, the shares of it, free.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AllocationRow {
    /// With several clusters (a fleet): which one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cluster: Option<String>,
    /// `resource`, `node`, `namespace`, `pod` or `gpu-product`.
    pub(crate) level: &'static str,
    pub(crate) resource: String,
    /// `whole`, `mig PROFILE`, `shared STRATEGY xREPLICAS` or `shared`.
    pub(crate) offering: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) namespace: Option<String>,
    /// `NAMESPACE/NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pod: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) gpu_product: Option<String>,
    pub(crate) requested: i64,
    pub(crate) limit: i64,
    pub(crate) allocatable: Option<i64>,
    pub(crate) requested_percent: Option<i64>,
    pub(crate) limit_percent: Option<i64>,
    pub(crate) free: Option<i64>,
    /// 0 for a resource, 1 for the first group level, ...
    #[serde(skip)]
    pub(crate) depth: usize,
}

impl AllocationRow {
    /// The row of the group `(resource, offering, one value per level
    /// under them)`.
    pub(crate) fn new(
        (resource, offering, path): (&Part<'_>, &Part<'_>, &[Part<'_>]),
        levels: &[crate::cli::GroupBy],
        requested: i64,
        allocatable: Option<i64>,
        cluster: Option<String>,
    ) -> Self {
        let depth = path.len();
        let mut row = AllocationRow {
            cluster,
            level: if depth == 0 { "resource" } else { levels[depth - 1].name() },
            resource: resource.text(),
            offering: offering.text(),
            node: None,
            namespace: None,
            pod: None,
            gpu_product: None,
            requested,
            // GPUs: limit = request (an extended resource is not overcommitted).
            limit: requested,
            allocatable,
            // kubectl-view-allocations prints `(NN%)` rounded to the nearest.
            requested_percent: allocatable
                .filter(|a| *a > 0)
                .map(|a| (requested as f64 * 100.0 / a as f64).round() as i64),
            limit_percent: None,
            free: allocatable.map(|a| a - requested),
            depth,
        };
        row.limit_percent = row.requested_percent;
        for (level, value) in levels.iter().zip(path) {
            let slot = match level {
                crate::cli::GroupBy::Node => &mut row.node,
                crate::cli::GroupBy::Namespace => &mut row.namespace,
                crate::cli::GroupBy::Pod => &mut row.pod,
                crate::cli::GroupBy::GpuProduct => &mut row.gpu_product,
            };
            *slot = Some(value.text());
        }
        row
    }

    /// What the first column names: the group's own value.
    fn name(&self) -> String {
        match self.level {
            "resource" if self.offering == "whole" => self.resource.clone(),
            // The resource names the MIG profile already.
            "resource" if self.offering.starts_with("mig ") => format!("{} (MIG)", self.resource),
            "resource" => format!("{} ({})", self.resource, self.offering),
            "node" => self.node.clone().unwrap_or_default(),
            "namespace" => self.namespace.clone().unwrap_or_default(),
            "pod" => self.pod.clone().unwrap_or_default(),
            _ => self.gpu_product.clone().unwrap_or_default(),
        }
    }
}

/// `nodes -g` as kubectl-view-allocations draws it (a tree under each
/// resource: `├─`, `└─`, `│`), or an `AllocationList` document.
pub(crate) fn allocations(rows: &[AllocationRow], args: &OutputArgs) -> Result<String, Error> {
    if is_document(args.output) {
        return document(Kind::AllocationList, Items { items: rows }, args.output);
    }
    let wide = args.output == OutputFormat::Wide;
    let mut headers = vec!["resource", "requested", "limit", "allocatable", "free"];
    if wide {
        headers.push("cluster");
    }
    let mut table = Table::new(&headers);
    // Whether each row is the last of its siblings, for the tree's corners.
    let last: Vec<bool> = (0..rows.len())
        .map(|i| rows[i + 1..].iter().find(|r| r.depth <= rows[i].depth).is_none_or(|r| r.depth < rows[i].depth))
        .collect();
    let mut open: Vec<bool> = Vec::new(); // per ancestor depth: more siblings below
    for (r, &is_last) in rows.iter().zip(&last) {
        open.truncate(r.depth);
        let mut name = String::new();
        for more in open.iter().skip(1) {
            name.push_str(if *more { "│  " } else { "   " });
        }
        if r.depth > 0 {
            name.push_str(if is_last { "└─ " } else { "├─ " });
        }
        name.push_str(&r.name());
        open.push(!is_last);
        let share = |value: i64, percent: Option<i64>| match percent {
            Some(p) => format!("({p}%) {value}"),
            None => value.to_string(),
        };
        let mut cells = vec![
            name,
            share(r.requested, r.requested_percent),
            share(r.limit, r.limit_percent),
            r.allocatable.map_or_else(String::new, |a| a.to_string()),
            r.free.map_or_else(String::new, |f| f.to_string()),
        ];
        if wide {
            cells.push(r.cluster.clone().unwrap_or_default());
        }
        table.push(cells);
    }
    Ok(table.render(args.no_headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(namespace: Option<NamespaceUse>) -> NodeRow {
        NodeRow {
            cluster: "dump.yaml".into(),
            node: "gpu-0".into(),
            product: "-".into(),
            memory_mib: None,
            cuda_memory_gib: None,
            resource: "nvidia.com/gpu".into(),
            allocatable: 4,
            used: 3,
            free: 1,
            sharing: "x4".into(),
            unschedulable: true,
            taints: vec!["gpu=yes:NoSchedule".into()],
            namespace,
        }
    }

    /// Pods sort as the `NAMESPACE/NAME` strings they are shown as, not as
    /// (namespace, name) pairs: `-` and `.` sort before `/`.
    #[test]
    fn pods_sort_as_their_shown_names() {
        let pod = |namespace, name| Part::Pod { namespace, name };
        let mut parts = [pod("a", "x"), pod("a-b", "x"), pod("a", "w"), pod("a.b", "a"), pod("ab", "a")];
        parts.sort();
        let shown: Vec<String> = parts.iter().map(Part::text).collect();
        let mut strings = shown.clone();
        strings.sort();
        assert_eq!(shown, strings);
        assert_eq!(shown, ["a-b/x", "a.b/a", "a/w", "a/x", "ab/a"]);
        assert_eq!(pod("a", "b"), Part::from("a/b"), "equal to the same text");
        // Namespaces that are never real, compared all the same.
        assert!(pod("a", "z") > pod("a/b", "a"), "a/z > a/b/a");
        assert!(pod("a/", "b") < pod("a", "c"), "a//b < a/c");
        assert!(Part::from("a/c") > pod("a", "b"));
    }

    fn args(output: OutputFormat) -> OutputArgs {
        OutputArgs { output, no_headers: false }
    }

    /// The fields and their order are what `nodes -o json` printed from
    /// `json!` rows; an unknown product's memory is `null`, the namespace's
    /// fields come only with `-n`.
    #[test]
    fn rows_serialize_with_the_documented_names() {
        let json = nodes(&[row(None)], None, &args(OutputFormat::Json)).unwrap();
        assert_eq!(
            json,
            r#"{
  "apiVersion": "gpuops.dev/v1alpha1",
  "kind": "NodeList",
  "items": [
    {
      "cluster": "dump.yaml",
      "node": "gpu-0",
      "product": "-",
      "memoryMiB": null,
      "cudaMemoryGiB": null,
      "resource": "nvidia.com/gpu",
      "allocatable": 4,
      "used": 3,
      "free": 1,
      "sharing": "x4",
      "unschedulable": true,
      "taints": [
        "gpu=yes:NoSchedule"
      ]
    }
  ]
}
"#
        );
        let scoped = row(Some(NamespaceUse { namespace: "ml".into(), used_by_namespace: 2 }));
        let value: serde_json::Value =
            serde_json::from_str(&nodes(&[scoped], Some("ml"), &args(OutputFormat::Json)).unwrap()).unwrap();
        assert_eq!(
            (value["items"][0]["namespace"].as_str(), value["items"][0]["usedByNamespace"].as_i64()),
            (Some("ml"), Some(2))
        );
    }

    /// The table draws the same row: a cordoned node says so first.
    #[test]
    fn the_table_draws_the_same_rows() {
        let scoped = row(Some(NamespaceUse { namespace: "ml".into(), used_by_namespace: 2 }));
        let table = nodes(&[scoped], Some("ml"), &args(OutputFormat::Wide)).unwrap();
        assert_eq!(
            table,
            "NODE    PRODUCT   MEMORY   RESOURCE         ALLOCATABLE   USED   USED(ML)   FREE   TAINTS                        SHARING   CLUSTER\n\
             gpu-0   -         -        nvidia.com/gpu   4             3      2          1      cordoned,gpu=yes:NoSchedule   x4        dump.yaml\n"
        );
    }
}
