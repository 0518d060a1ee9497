//! PodDisruptionBudgets (policy/v1) as the scheduler's preemption reads
//! them, and pods' `status.startTime`: both only break ties between
//! preemption victims and nodes
//! (pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go
//! `filterPodsWithPDBViolation`; pkg/scheduler/util/utils.go
//! `MoreImportantPod`, `GetEarliestPodStartTime`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::requirement::Selector;

/// What preemption reads of a PodDisruptionBudget.
#[derive(Debug, Clone)]
pub struct PodDisruptionBudget {
    pub namespace: String,
    pub name: String,
    /// `spec.selector`; `None` (absent) and an empty selector match no pod
    /// ("A PDB with a nil or empty selector matches nothing").
    pub selector: Option<Selector>,
    /// `status.disruptionsAllowed` (0 when the status is missing, as the
    /// disruption controller has not yet computed it).
    pub disruptions_allowed: i32,
    /// `status.disruptedPods`: pods whose eviction the API server already
    /// processed; they are not counted again.
    pub disrupted_pods: BTreeSet<String>,
}

impl PodDisruptionBudget {
    pub fn from_object(obj: &Value) -> Option<Self> {
        let name = obj.pointer("/metadata/name")?.as_str()?.to_string();
        let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
        let disrupted_pods =
            obj.pointer("/status/disruptedPods").and_then(Value::as_object).map(|m| m.keys().cloned().collect());
        Some(PodDisruptionBudget {
            namespace,
            name,
            selector: Selector::from(obj.pointer("/spec/selector")),
            disruptions_allowed: obj
                .pointer("/status/disruptionsAllowed")
                .and_then(Value::as_i64)
                .and_then(|v| i32::try_from(v).ok())
                .unwrap_or(0),
            disrupted_pods: disrupted_pods.unwrap_or_default(),
        })
    }

    /// Whether evicting a pod of `namespace` with `labels` draws on this
    /// budget (same namespace, non-empty selector matching, not already
    /// among the disrupted pods).
    pub fn covers(&self, namespace: &str, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.namespace == namespace
            && !labels.is_empty()
            && self.selector.as_ref().is_some_and(|s| !s.is_empty() && s.matches(labels))
            && !self.disrupted_pods.contains(name)
    }
}

/// An RFC 3339 time as the API server writes it (`2026-01-02T03:04:05Z`,
/// optionally with fractional seconds or an offset) in nanoseconds since
/// the Unix epoch; `None` when it is not one.
pub fn parse_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    // Digits read byte by byte: every bound pod of a dump has a start
    // time, and this runs for each while the snapshot is read.
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let kept = &fraction[..digits.min(9)];
        nanos = kept.parse::<i64>().ok()? * 10i64.pow(9 - kept.len() as u32);
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') && rest.as_bytes()[3] == b':' => {
            let r = rest.as_bytes();
            let two = |hi: u8, lo: u8| {
                (hi.is_ascii_digit() && lo.is_ascii_digit()).then(|| i64::from(hi - b'0') * 10 + i64::from(lo - b'0'))
            };
            let (h, m) = (two(r[1], r[2])?, two(r[4], r[5])?);
            let sign = if r[0] == b'-' { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_the_api_server_writes_them() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_time("2026-12-03T16:00:00Z"), Some(1_796_313_600 * 1_000_000_000));
        assert_eq!(parse_time("2026-12-03T17:00:00+01:00"), parse_time("2026-12-03T16:00:00Z"));
        assert_eq!(parse_time("2024-02-29T00:00:00Z").map(|t| t / 1_000_000_000), Some(1_709_164_800));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-03 16:00:00",
            "2026-12-03T16:00:00",
            "2026-12-03T16:00:00é0:00",
            "2026-12-03T16:00:00.é",
            "2026-12-0éT16:00:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
