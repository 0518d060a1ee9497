//! One label requirement and its match, for every place a requirement is
//! matched against labels: kubectl's `-l` selector
//! ([`crate::cluster::LabelSelector`]), node affinity's
//! `matchExpressions`/`matchFields` and nodeSelector terms
//! (`scheduler::filters`), and the label selectors of pod affinity and
//! topology spread (`scheduler::pods`); and [`Selector`], the
//! `metav1.LabelSelector` those and PodDisruptionBudgets (`cluster`) hold —
//! here, below both, so `cluster` need not reach into `scheduler`.
//!
//! The match is k8s.io/apimachinery/pkg/labels/selector.go
//! `Requirement.Matches` (kubernetes/kubernetes, staging/src/): `In` needs
//! the label with one of the values, `NotIn` the label absent or with none
//! of them, `Exists`/`DoesNotExist` the label's presence, `Gt`/`Lt` the
//! label and the value both integers, compared.

use serde_json::Value;

/// An operator (selection.Operator). Which names are valid depends on
/// where the requirement is written: see [`Operator::of_node_selector`] and
/// [`Operator::of_label_selector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    /// `Gt` (node selectors) or `>` (kubectl's `-l`).
    GreaterThan,
    /// `Lt` (node selectors) or `<` (kubectl's `-l`).
    LessThan,
    /// A name not valid where it is written: the requirement matches no
    /// labels (the API server refuses such an object; a manifest on disk
    /// may still hold one).
    Unknown,
}

impl Operator {
    /// A `NodeSelectorRequirement`'s operator (k8s.io/api core/v1
    /// types.go `NodeSelectorOperator`: In, NotIn, Exists, DoesNotExist,
    /// Gt, Lt).
    pub fn of_node_selector(name: &str) -> Self {
        match name {
            "Gt" => Operator::GreaterThan,
            "Lt" => Operator::LessThan,
            other => Self::of_label_selector(other),
        }
    }

    /// A `metav1.LabelSelectorRequirement`'s operator
    /// (apimachinery pkg/apis/meta/v1/types.go `LabelSelectorOperator`:
    /// In, NotIn, Exists, DoesNotExist; no Gt or Lt).
    pub fn of_label_selector(name: &str) -> Self {
        match name {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => Operator::Unknown,
        }
    }

    /// Whether a label with value `label` (`None`: no such label) meets the
    /// operator with `values` — selector.go `Requirement.Matches`. `Gt` and
    /// `Lt` compare with the first value (the API server admits exactly
    /// one).
    pub fn matches<V: AsRef<str>>(self, values: &[V], label: Option<&str>) -> bool {
        let listed = |l: &str| values.iter().any(|v| v.as_ref() == l);
        let number = |s: &str| s.parse::<i64>().ok();
        let compare = |keep: fn(i64, i64) -> bool| {
            let want = values.first().and_then(|v| number(v.as_ref()));
            label.and_then(number).zip(want).is_some_and(|(have, want)| keep(have, want))
        };
        match self {
            Operator::In => label.is_some_and(listed),
            Operator::NotIn => label.is_none_or(|l| !listed(l)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan => compare(|have, want| have > want),
            Operator::LessThan => compare(|have, want| have < want),
            Operator::Unknown => false,
        }
    }
}

/// One requirement: a key, an operator and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    /// A `metav1.LabelSelectorRequirement` (`{key, operator, values}` of a
    /// pod affinity term's or a spread constraint's `labelSelector`).
    pub fn of_label_selector(expression: &Value) -> Self {
        let text = |k: &str| expression.get(k).and_then(Value::as_str).unwrap_or("");
        Requirement {
            key: text("key").to_string(),
            operator: Operator::of_label_selector(text("operator")),
            values: strings(expression.get("values")),
        }
    }

    /// Whether `labels` meet it.
    pub fn matches(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.operator.matches(&self.values, labels.get(&self.key).map(String::as_str))
    }
}

/// The strings of a JSON array (`values`, `namespaces`, `coveredResources`);
/// empty when absent, non-strings skipped.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_follow_requirement_matches() {
        let values = ["a", "b"];
        assert!(Operator::In.matches(&values, Some("a")));
        assert!(!Operator::In.matches(&values, None));
        assert!(Operator::NotIn.matches(&values, None) && !Operator::NotIn.matches(&values, Some("b")));
        assert!(Operator::GreaterThan.matches(&["3"], Some("4")) && !Operator::GreaterThan.matches(&["3"], Some("x")));
        assert!(Operator::LessThan.matches(&["3"], Some("-1")) && !Operator::LessThan.matches(&["3"], None));
        // A label selector has no Gt: such a term matches nothing, as before.
        assert_eq!(Operator::of_label_selector("Gt"), Operator::Unknown);
        assert_eq!(Operator::of_node_selector("Gt"), Operator::GreaterThan);
        assert!(!Operator::Unknown.matches(&values, Some("a")));
    }
}

/// A `metav1.LabelSelector` (matchLabels and matchExpressions). A missing
/// selector is `labels.Nothing()` (`LabelSelectorAsSelector(nil)`): callers
/// hold `Option<Selector>` and `None` matches nothing; an empty one matches
/// everything.
#[derive(Debug, Clone)]
pub struct Selector {
    labels: Vec<(String, String)>,
    expressions: Vec<Requirement>,
}

impl Selector {
    pub fn from(value: Option<&Value>) -> Option<Self> {
        let v = value.filter(|v| !v.is_null())?;
        let labels = v
            .get("matchLabels")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        let expressions = v
            .get("matchExpressions")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(Requirement::of_label_selector).collect())
            .unwrap_or_default();
        Some(Selector { labels, expressions })
    }

    pub fn matches(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v)) && self.expressions.iter().all(|r| r.matches(labels))
    }

    /// `labels.Selector.Empty()`: no requirement, matches everything.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.expressions.is_empty()
    }
}
