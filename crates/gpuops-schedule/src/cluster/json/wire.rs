//! The typed wire form of Node and Pod list items: exactly the fields the
//! fit reads. Unknown fields are skipped by the parser without building
//! anything, and strings are borrowed from the input where they hold no
//! escapes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::cluster::{Cluster, ClusterError, Taint};
use crate::resources::QuantityText;

/// A quantity as JSON writes it: a string or a bare number. Decoded by
/// hand: `#[serde(untagged)]` buffers every value first, which measured
/// as the largest cost of reading 60,000 pods.
pub(super) enum Quantity<'a> {
    Text(Cow<'a, str>),
    Number(f64),
}

impl<'de: 'a, 'a> Deserialize<'de> for Quantity<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Quantity<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a quantity (string or number)")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Quantity::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Quantity::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Quantity::Text(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Quantity::Number(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Quantity::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Quantity::Number(v))
            }
        }
        deserializer.deserialize_any(Visit(std::marker::PhantomData))
    }
}

impl Quantity<'_> {
    pub(super) fn text(&self) -> QuantityText<'_> {
        match self {
            Quantity::Text(t) => QuantityText::Text(t),
            Quantity::Number(n) => QuantityText::Number(*n),
        }
    }
}

pub(super) type Quantities<'a> = BTreeMap<Cow<'a, str>, Quantity<'a>>;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Meta<'a> {
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) namespace: Option<Cow<'a, str>>,
    /// Left unparsed: nodes parse theirs, pods keep the text (see
    /// [`crate::cluster::PodLabels`]).
    #[serde(borrow)]
    pub(super) labels: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "continue")]
    pub(super) continue_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Requirements<'a> {
    #[serde(borrow)]
    pub(super) requests: Quantities<'a>,
    #[serde(borrow)]
    pub(super) limits: Quantities<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Container<'a> {
    #[serde(borrow)]
    pub(super) resources: Requirements<'a>,
    #[serde(borrow)]
    pub(super) restart_policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) ports: Vec<Port<'a>>,
}

/// A container port: only what NodePorts reads.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Port<'a> {
    pub(super) host_port: i64,
    #[serde(borrow, rename = "hostIP")]
    pub(super) host_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) protocol: Option<Cow<'a, str>>,
}

/// `spec.affinity`: only the required pod anti-affinity, which the
/// incoming pod must respect (the other parts are skipped unread).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Affinity<'a> {
    #[serde(borrow)]
    pub(super) pod_anti_affinity: Option<AntiAffinity<'a>>,
}

/// The terms are kept as text (see `AntiAffinityText`).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct AntiAffinity<'a> {
    #[serde(borrow)]
    pub(super) required_during_scheduling_ignored_during_execution: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Spec<'a> {
    #[serde(borrow)]
    pub(super) node_name: Option<Cow<'a, str>>,
    pub(super) taints: Vec<Taint>,
    pub(super) unschedulable: bool,
    #[serde(borrow)]
    pub(super) containers: Vec<Container<'a>>,
    #[serde(borrow)]
    pub(super) init_containers: Vec<Container<'a>>,
    #[serde(borrow)]
    pub(super) overhead: Quantities<'a>,
    /// Pod-level resources (PodLevelResources).
    #[serde(borrow)]
    pub(super) resources: Requirements<'a>,
    pub(super) priority: Option<i32>,
    #[serde(borrow)]
    pub(super) affinity: Option<Affinity<'a>>,
    /// ResourceQuota fields.
    #[serde(borrow)]
    pub(super) hard: Quantities<'a>,
    pub(super) scopes: Vec<serde::de::IgnoredAny>,
    pub(super) scope_selector: Option<serde::de::IgnoredAny>,
    /// PodDisruptionBudget `spec.selector`.
    #[serde(borrow)]
    pub(super) selector: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Status<'a> {
    #[serde(borrow)]
    pub(super) phase: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) allocatable: Option<Quantities<'a>>,
    /// ResourceQuota `status.used`.
    #[serde(borrow)]
    pub(super) used: Option<Quantities<'a>>,
    /// Pod `status.startTime` (preemption's tie-breaks).
    #[serde(borrow)]
    pub(super) start_time: Option<Cow<'a, str>>,
    /// PodDisruptionBudget `status.disruptionsAllowed` and `disruptedPods`.
    pub(super) disruptions_allowed: Option<i64>,
    #[serde(borrow)]
    pub(super) disrupted_pods: Option<BTreeMap<Cow<'a, str>, serde::de::IgnoredAny>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Object<'a> {
    #[serde(borrow)]
    pub(super) kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) metadata: Meta<'a>,
    #[serde(borrow)]
    pub(super) spec: Spec<'a>,
    #[serde(borrow)]
    pub(super) status: Status<'a>,
    /// PriorityClass fields.
    pub(super) value: Option<i64>,
    pub(super) global_default: bool,
    #[serde(borrow)]
    pub(super) preemption_policy: Option<Cow<'a, str>>,
}

/// A List read as a stream: each item becomes a node or a bound pod as
/// soon as it is parsed, so the decoded items of a 60,000-pod page are
/// never all held at once.
pub(super) struct ListSeed<'c> {
    pub(super) cluster: &'c mut Cluster,
    /// The list's own kind (`NodeList`), once seen.
    pub(super) kind: Option<String>,
    pub(super) continue_token: Option<String>,
    /// Items without a kind, seen before the list's kind.
    pub(super) unknown: usize,
    /// A conversion failure, carried out of the parser.
    pub(super) failure: Option<ClusterError>,
}

impl ListSeed<'_> {
    fn item_kind(&self) -> Option<&str> {
        self.kind.as_deref().and_then(|k| k.strip_suffix("List")).filter(|k| !k.is_empty())
    }

    fn take(&mut self, item: Object<'_>) -> Result<(), ClusterError> {
        // API lists (NodeList) omit kind on their items.
        let kind = match item.kind.as_deref() {
            Some(k) => k.to_string(),
            None => match self.item_kind() {
                Some(k) => k.to_string(),
                None => {
                    self.unknown += 1;
                    return Ok(());
                }
            },
        };
        match kind.as_str() {
            "Node" => self.cluster.nodes.push(item.into_node()?),
            "Pod" => {
                let start = item.start_time();
                if let Some(bound) = item.into_bound_pod()? {
                    super::push_pod(self.cluster, bound, start);
                }
            }
            "PodDisruptionBudget" => self.cluster.pdbs.push(item.into_pdb()?),
            "Namespace" => self.cluster.namespaces.push(item.into_namespace()?),
            "PriorityClass" => self.cluster.priority_classes.extend(item.into_priority_class()),
            "ResourceQuota" => self.cluster.quotas.push(item.into_quota()?),
            _ => {}
        }
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for &mut ListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Kubernetes List (kind, metadata, items)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "kind" => self.kind = map.next_value::<Option<String>>()?,
                "metadata" => self.continue_token = map.next_value::<Meta<'de>>()?.continue_token,
                "items" => map.next_value_seed(Items(&mut *self))?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads a list's `metadata.continue` without parsing its items, when
/// `metadata` comes first (the API server writes kind, apiVersion,
/// metadata, items in that order).
#[derive(Default)]
pub(super) struct Head {
    /// `Some` once known: the token, or `None` for the last page.
    pub(super) token: Option<Option<String>>,
}

/// Ends the parse early on purpose.
pub(super) const STOP: &str = "gpuops: head read";

impl<'de> serde::de::Visitor<'de> for &mut Head {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Kubernetes List")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "metadata" => {
                    self.token = Some(map.next_value::<Meta<'de>>()?.continue_token.filter(|t| !t.is_empty()));
                    return Err(A::Error::custom(STOP));
                }
                "items" => return Err(A::Error::custom(STOP)),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        self.token = Some(None);
        Ok(())
    }
}

struct Items<'s, 'c>(&'s mut ListSeed<'c>);

impl<'de> serde::de::DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Items<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(()) // `items: null`
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Object<'de>>()? {
            if let Err(e) = self.0.take(item) {
                self.0.failure = Some(e);
                return Err(serde::de::Error::custom("conversion failed"));
            }
        }
        Ok(())
    }
}
