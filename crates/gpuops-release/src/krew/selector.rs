//! A platform selector as krew evaluates it: k8s.io/apimachinery
//! pkg/apis/meta/v1/helpers.go `LabelSelectorAsSelector` (v0.29.3, lines
//! 34-72) with pkg/labels/selector.go `NewRequirement` (lines 161-201) and
//! `Requirement.Matches`. krew's validate-krew-manifest (cmd/
//! validate-krew-manifest/main.go:220-231 `selectorMatchesOSArch`) treats a
//! selector that does not convert as matching nothing.

// validation.go `IsValidLabelValue`, as NewRequirement checks each value.
use gpuops_manifest::labels::is_label_value;

use super::{Requirement, Selector};

/// Why `LabelSelectorAsSelector` refuses the selector; keys are checked by
/// krew's own `validateSelector` before this (only `os` and `arch`, both
/// qualified names), so `IsQualifiedName` needs no port.
pub fn as_selector_error(sel: &Selector) -> Option<String> {
    for (k, v) in sel.match_labels.iter().flatten() {
        // helpers.go:43: NewRequirement(k, Equals, [v]) → one valid value.
        if !is_label_value(v) {
            return Some(format!("matchLabels.{k} is not a valid label value"));
        }
    }
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        let at = format!("matchExpressions[{i}]");
        let values = r.values.as_deref().unwrap_or_default();
        match r.operator.as_str() {
            // selector.go:170-173.
            "In" | "NotIn" if values.is_empty() => {
                return Some(format!("{at}: In and NotIn need at least one value"));
            }
            "In" | "NotIn" => {}
            // selector.go:178-181.
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                return Some(format!("{at}: Exists and DoesNotExist take no values"));
            }
            "Exists" | "DoesNotExist" => {}
            // helpers.go:60-61.
            _ => return Some(format!("{at}.operator is not In, NotIn, Exists or DoesNotExist")),
        }
        // selector.go:195-199.
        if !values.iter().all(|v| is_label_value(v)) {
            return Some(format!("{at}.values holds an invalid label value"));
        }
    }
    None
}

/// Whether `sel` selects the labels `{os, arch}`; false when it does not
/// convert (main.go:221-225). An empty selector selects everything
/// (helpers.go:38-40), though krew's validation refuses it earlier.
pub fn matches(sel: &Selector, (os, arch): (&str, &str)) -> bool {
    if as_selector_error(sel).is_some() {
        return false;
    }
    let label = |key: &str| match key {
        "os" => Some(os),
        "arch" => Some(arch),
        _ => None,
    };
    let labels_ok = sel.match_labels.iter().flatten().all(|(k, v)| label(k) == Some(v.as_str()));
    labels_ok && sel.match_expressions.iter().flatten().all(|r| requirement_matches(r, label(&r.key)))
}

/// selector.go `Requirement.Matches`.
fn requirement_matches(r: &Requirement, value: Option<&str>) -> bool {
    let has = |v: &str| r.values.iter().flatten().any(|x| x == v);
    match r.operator.as_str() {
        "In" => value.is_some_and(has),
        "NotIn" => value.is_none_or(|v| !has(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}
