//! A Kubernetes `metav1.LabelSelector` (`matchLabels`, `matchExpressions`)
//! as Flux reads `ImageUpdateAutomation.spec.policySelector` and
//! `accessFrom.namespaceSelectors`: validated and matched the way
//! k8s.io/apimachinery does it — pkg/apis/meta/v1/helpers.go
//! `LabelSelectorAsSelector`, pkg/labels/selector.go `NewRequirement`
//! (key and value validation) and `Requirement.Matches`, key and value
//! syntax from pkg/util/validation/validation.go `IsQualifiedName` /
//! `IsValidLabelValue`. (gpuops-fit has the `-l` string syntax; this crate
//! must not depend on it, and the structured form is a different parser.)

use std::collections::BTreeMap;

use gpuops_manifest::labels::{is_label_value, is_qualified_name};
use serde_json::Value;

/// selection.Operator, as LabelSelectorAsSelector maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Equals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

/// A validated selector. No requirement = `labels.Everything()`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<(String, Op)>,
}

/// Why a selector is invalid; names the field, never echoes a long value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

impl LabelSelector {
    /// metav1.LabelSelectorAsSelector over the JSON of a LabelSelector.
    /// `field` names it in errors (`spec.policySelector`).
    pub fn from_json(value: &Value, field: &str) -> Result<Self, SelectorError> {
        let bad = |what: String| SelectorError(format!("{field}: {what}"));
        let mut requirements = Vec::new();
        if let Some(labels) = value.get("matchLabels") {
            let labels = labels.as_object().ok_or_else(|| bad("matchLabels is not a map".into()))?;
            for (k, v) in labels {
                let v = v.as_str().ok_or_else(|| bad(format!("matchLabels[{k:?}] is not a string")))?;
                requirements.push((k.clone(), Op::Equals(v.to_string())));
            }
        }
        if let Some(exprs) = value.get("matchExpressions") {
            let exprs = exprs.as_array().ok_or_else(|| bad("matchExpressions is not a list".into()))?;
            for (i, e) in exprs.iter().enumerate() {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default().to_string();
                let values: Vec<String> = match e.get("values") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(vs)) => vs.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect(),
                    Some(_) => return Err(bad(format!("matchExpressions[{i}].values is not a list"))),
                };
                let op = match e.get("operator").and_then(Value::as_str).unwrap_or_default() {
                    "In" => Op::In(values),
                    "NotIn" => Op::NotIn(values),
                    "Exists" => Op::Exists,
                    "DoesNotExist" => Op::DoesNotExist,
                    // helpers.go: `%q is not a valid label selector operator`.
                    other => {
                        return Err(bad(format!(
                            "matchExpressions[{i}].operator: {:?} is not a valid label selector operator",
                            crate::printable_short(other)
                        )));
                    }
                };
                // selector.go NewRequirement: In/NotIn need values, Exists/DoesNotExist none.
                let count = e.get("values").and_then(Value::as_array).map_or(0, Vec::len);
                match &op {
                    Op::In(v) | Op::NotIn(v) if v.is_empty() => {
                        return Err(bad(format!(
                            "matchExpressions[{i}].values: for 'in', 'notin' operators, values set can't be empty"
                        )));
                    }
                    Op::Exists | Op::DoesNotExist if count != 0 => {
                        return Err(bad(format!(
                            "matchExpressions[{i}].values: values set must be empty for exists and does not exist"
                        )));
                    }
                    _ => {}
                }
                requirements.push((key, op));
            }
        }
        for (key, op) in &requirements {
            if !is_qualified_name(key) {
                return Err(bad(format!(
                    "key {:?} is not a valid label key (a qualified name: [prefix/]name, name at most 63 characters)",
                    crate::printable_short(key)
                )));
            }
            let values: &[String] = match op {
                Op::Equals(v) => std::slice::from_ref(v),
                Op::In(v) | Op::NotIn(v) => v,
                Op::Exists | Op::DoesNotExist => &[],
            };
            if let Some(v) = values.iter().find(|v| !is_label_value(v)) {
                return Err(bad(format!(
                    "value {:?} of key {:?} is not a valid label value (at most 63 characters: alphanumerics, '-', '_', '.')",
                    crate::printable_short(v),
                    crate::printable_short(key)
                )));
            }
        }
        Ok(Self { requirements })
    }

    /// A selector of `matchLabels` only (acl.go builds one per namespace selector).
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Self {
        Self { requirements: labels.iter().map(|(k, v)| (k.clone(), Op::Equals(v.clone()))).collect() }
    }

    /// selector.go `Requirement.Matches`, every requirement (AND).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|(key, op)| {
            let got = labels.get(key);
            match op {
                Op::Equals(v) => got == Some(v),
                Op::In(vs) => got.is_some_and(|g| vs.contains(g)),
                Op::NotIn(vs) => got.is_none_or(|g| !vs.contains(g)),
                Op::Exists => got.is_some(),
                Op::DoesNotExist => got.is_none(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The rows of apimachinery staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/
    /// helpers_test.go `TestLabelSelectorAsSelector` (read at kubernetes
    /// 01aa0f3), each as what the selector then matches: `{}` is
    /// everything; matchLabels `foo=bar`; matchExpressions `baz in
    /// (norf,qux)`; both together; `Exists` with values is an error. (The
    /// `nil` row, "nothing", does not arise: Flux reads an absent
    /// policySelector as every policy of the namespace.) An unknown
    /// operator is an error too (helpers.go, the `default:` arm).
    #[test]
    fn label_selector_as_selector_rows() {
        let selector = |v: Value| LabelSelector::from_json(&v, "s");
        let everything = selector(json!({})).unwrap();
        assert!(everything.matches(&labels(&[])) && everything.matches(&labels(&[("a", "b")])));
        let foo_bar = selector(json!({"matchLabels": {"foo": "bar"}})).unwrap();
        assert!(foo_bar.matches(&labels(&[("foo", "bar")])) && !foo_bar.matches(&labels(&[("foo", "baz")])));
        let baz_in =
            selector(json!({"matchExpressions": [{"key": "baz", "operator": "In", "values": ["qux", "norf"]}]}))
                .unwrap();
        assert!(baz_in.matches(&labels(&[("baz", "norf")])) && baz_in.matches(&labels(&[("baz", "qux")])));
        assert!(!baz_in.matches(&labels(&[("baz", "other")])) && !baz_in.matches(&labels(&[])));
        let both = selector(json!({"matchLabels": {"foo": "bar"},
            "matchExpressions": [{"key": "baz", "operator": "In", "values": ["qux", "norf"]}]}))
        .unwrap();
        assert!(both.matches(&labels(&[("foo", "bar"), ("baz", "norf")])));
        assert!(!both.matches(&labels(&[("foo", "bar"), ("baz", "other")])));
        assert!(!both.matches(&labels(&[("baz", "qux")])));
        assert!(
            selector(json!({"matchExpressions": [{"key": "baz", "operator": "Exists", "values": ["qux", "norf"]}]}))
                .is_err()
        );
        let e = selector(json!({"matchExpressions": [{"key": "baz", "operator": "foo"}]}));
        assert!(e.unwrap_err().0.contains("is not a valid label selector operator"));
    }

    /// image-automation-controller internal/controller/
    /// imageupdateautomation_controller_test.go `TestImageUpdateAutomationReconciler_Reconcile`,
    /// case "invalid policy selector results in stalled": a matchLabels key
    /// longer than 63 characters.
    #[test]
    fn a_key_too_long_is_invalid() {
        let key = format!("label-too-long-{}", "0".repeat(63));
        let e = LabelSelector::from_json(&json!({"matchLabels": {key: ""}}), "spec.policySelector").unwrap_err();
        assert!(e.0.starts_with("spec.policySelector: key "), "{e}");
        assert!(e.0.contains("is not a valid label key"), "{e}");
    }

    /// selector.go NewRequirement and Requirement.Matches (selector_test.go
    /// `TestRequirementConstructor`, `TestRequirementSelectorMatching` rows).
    #[test]
    fn operators_validate_and_match_as_apimachinery() {
        let one = |e: Value| LabelSelector::from_json(&json!({"matchExpressions": [e]}), "s");
        assert!(one(json!({"key": "x", "operator": "In", "values": []})).is_err());
        assert!(one(json!({"key": "x", "operator": "NotIn"})).is_err());
        assert!(one(json!({"key": "x", "operator": "Exists", "values": ["a"]})).is_err());
        assert!(one(json!({"key": "x=1", "operator": "Exists"})).is_err());
        assert!(one(json!({"key": "Example.com/x", "operator": "Exists"})).is_err(), "prefix is lowercase");
        assert!(one(json!({"key": "x", "operator": "In", "values": ["-a"]})).is_err());
        let ok = |e: Value, l: &[(&str, &str)]| one(e).unwrap().matches(&labels(l));
        assert!(ok(json!({"key": "example.com/x", "operator": "Exists"}), &[("example.com/x", "")]));
        assert!(!ok(json!({"key": "x", "operator": "Exists"}), &[]));
        assert!(ok(json!({"key": "x", "operator": "DoesNotExist"}), &[("y", "1")]));
        assert!(ok(json!({"key": "x", "operator": "NotIn", "values": ["a"]}), &[]));
        assert!(!ok(json!({"key": "x", "operator": "NotIn", "values": ["a"]}), &[("x", "a")]));
        assert!(ok(json!({"key": "x", "operator": "In", "values": ["a", "b"]}), &[("x", "b")]));
        assert!(LabelSelector::from_json(&json!({"matchLabels": {"x": "a".repeat(64)}}), "s").is_err());
    }
}
