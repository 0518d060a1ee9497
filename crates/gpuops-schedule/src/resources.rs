//! Resource amounts in the units the scheduler compares: cpu in millicores,
//! memory-like resources in bytes, everything else in whole units.

use std::collections::BTreeMap;

use serde_json::Value;

use gpuops_manifest::quantity::parse_quantity;

/// Resource name → amount (millicores for cpu, bytes for memory, units otherwise).
pub type Resources = BTreeMap<String, i64>;

fn is_bytes(name: &str) -> bool {
    matches!(name, "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// Whether a resource is an extended (or other whole-unit) resource.
pub fn is_extended(name: &str) -> bool {
    name.contains('/') && !name.starts_with("kubernetes.io/") && !name.starts_with("requests.")
}

/// A resource amount that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("{name}: {value} is not a quantity")]
    NotAQuantity { name: String, value: String },
    #[error("{name}: extended resources must be whole numbers, not {value:?}")]
    Fractional { name: String, value: String },
    #[error("{name}: request {request} differs from limit {limit}; extended resources cannot be overcommitted")]
    Overcommitted { name: String, request: i64, limit: i64 },
    /// The API server's `ValidateNonnegativeQuantity` (kubernetes
    /// pkg/apis/core/validation/validation.go): a negative request or limit
    /// never reaches a scheduler, so it must not free or fit anything here.
    #[error("{name}: {value} is negative; the API server rejects it (must be greater than or equal to 0)")]
    Negative { name: String, value: String },
    /// A count field that is not a non-negative integer (`spec.replicas: -3`).
    #[error("{field}: {value} is not a non-negative integer; the API server rejects it")]
    NotACount { field: String, value: String },
}

/// A quantity as written: a string (`"500m"`) or a bare number (`2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuantityText<'a> {
    Text(&'a str),
    Number(f64),
}

/// A quantity in canonical units. Extended resources must be integers.
pub fn canonical(name: &str, quantity: &Value) -> Result<i64, QuantityError> {
    let text = match quantity {
        Value::String(s) => QuantityText::Text(s),
        Value::Number(n) => match n.as_f64() {
            Some(f) => QuantityText::Number(f),
            None => return Err(QuantityError::NotAQuantity { name: name.into(), value: n.to_string() }),
        },
        other => return Err(QuantityError::NotAQuantity { name: name.into(), value: other.to_string() }),
    };
    canonical_text(name, text)
}

/// An integer with a suffix (`500m`, `16Gi`, `8`), exactly: the common
/// form, read without floating point. `None` for anything else (decimals,
/// exponents, signs), which takes the general path.
fn exact(name: &str, text: &str) -> Option<Result<i64, QuantityError>> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 18 {
        return None;
    }
    let n: i128 = text[..digits].parse().ok()?;
    let (num, den): (i128, i128) = match &text[digits..] {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        _ => return None,
    };
    let scale = if name == "cpu" { 1000 } else { 1 };
    let total = n * num * scale;
    if is_extended(name) && total % den != 0 {
        return Some(Err(QuantityError::Fractional { name: name.into(), value: text.to_string() }));
    }
    // Rounded up, as the scheduler's integer comparison sees a fraction.
    i64::try_from((total + den - 1) / den).ok().map(Ok)
}

/// [`canonical`] for a quantity already split from its JSON.
pub fn canonical_text(name: &str, quantity: QuantityText<'_>) -> Result<i64, QuantityError> {
    if let QuantityText::Text(text) = quantity
        && let Some(result) = exact(name, text)
    {
        return result;
    }
    let (value, shown) = match quantity {
        QuantityText::Number(n) => (n, None),
        QuantityText::Text(text) => (
            parse_quantity(text)
                .ok_or_else(|| QuantityError::NotAQuantity { name: name.into(), value: format!("{text:?}") })?,
            Some(text),
        ),
    };
    if value < 0.0 {
        let value = shown.map_or_else(|| value.to_string(), |t| format!("{t:?}"));
        return Err(QuantityError::Negative { name: name.into(), value });
    }
    if name == "cpu" {
        return Ok((value * 1000.0).ceil() as i64);
    }
    if is_extended(name) && value.fract() != 0.0 {
        let value = shown.map_or_else(|| value.to_string(), str::to_string);
        return Err(QuantityError::Fractional { name: name.into(), value });
    }
    Ok(value.ceil() as i64)
}

/// A human-readable amount (`4`, `500m`, `16Gi`).
pub fn display(name: &str, amount: i64) -> String {
    if name == "cpu" {
        return if amount % 1000 == 0 { (amount / 1000).to_string() } else { format!("{amount}m") };
    }
    if is_bytes(name) {
        const GI: i64 = 1 << 30;
        const MI: i64 = 1 << 20;
        return if amount % GI == 0 {
            format!("{}Gi", amount / GI)
        } else if amount >= GI {
            format!("{:.1}Gi", amount as f64 / GI as f64)
        } else {
            format!("{}Mi", amount / MI)
        };
    }
    amount.to_string()
}

/// A pod's or container's amounts keyed by borrowed resource names. Pods
/// name two to six resources, so a vector beats a map, and borrowing the
/// names from the manifest or the API page saves an allocation per entry
/// (the 60,000-pod snapshot benchmark is allocation-bound).
pub type Amounts<'a> = Vec<(&'a str, i64)>;

fn add<'a>(into: &mut Amounts<'a>, from: &[(&'a str, i64)]) {
    for &(k, v) in from {
        match into.iter_mut().find(|(n, _)| *n == k) {
            Some((_, slot)) => *slot += v,
            None => into.push((k, v)),
        }
    }
}

fn max_into<'a>(into: &mut Amounts<'a>, from: &[(&'a str, i64)]) {
    for &(k, v) in from {
        match into.iter_mut().find(|(n, _)| *n == k) {
            Some((_, slot)) => *slot = (*slot).max(v),
            None => into.push((k, v)),
        }
    }
}

/// A container's requests, defaulted from limits where a request is
/// missing (the API server does this when the pod is created); extended
/// resources cannot be overcommitted, so a request must equal its limit.
pub fn merge_limits<'a>(mut requests: Amounts<'a>, limits: Amounts<'a>) -> Result<Amounts<'a>, QuantityError> {
    for (name, limit) in limits {
        match requests.iter().find(|(n, _)| *n == name) {
            Some(&(_, r)) if is_extended(name) && r != limit => {
                return Err(QuantityError::Overcommitted { name: name.to_string(), request: r, limit });
            }
            Some(_) => {}
            None => requests.push((name, limit)),
        }
    }
    Ok(requests)
}

/// The pod's effective request from its containers' requests: max(sum of
/// containers, init-container peak counting restartable sidecars), then
/// pod-level `spec.resources` replacing cpu, memory and `hugepages-*`
/// (`applyPodLevelResources`; PodLevelResources,
/// beta and on by default since 1.34), plus overhead
/// (k8s.io/component-helpers resource/helpers.go `PodRequests` →
/// `AggregateContainerRequests`, `IsSupportedPodLevelResource`; KEP-753,
/// KEP-2837; used by NodeResourcesFit's `computePodResourceRequest` and by
/// the kubelet). `init` pairs each init container, in order, with whether
/// it is a restartable sidecar (`restartPolicy: Always`).
pub fn effective<'a>(
    containers: &[Amounts<'a>],
    init: &[(Amounts<'a>, bool)],
    pod_level: &[(&'a str, i64)],
    overhead: &[(&'a str, i64)],
) -> Resources {
    let mut sum = Amounts::new();
    for c in containers {
        add(&mut sum, c);
    }
    let mut sidecars = Amounts::new();
    let mut init_peak = Amounts::new();
    for (requests, sidecar) in init {
        if *sidecar {
            add(&mut sidecars, requests);
            add(&mut sum, requests);
            max_into(&mut init_peak, &sidecars);
        } else {
            let mut during = sidecars.clone();
            add(&mut during, requests);
            max_into(&mut init_peak, &during);
        }
    }
    max_into(&mut sum, &init_peak);
    // IsSupportedPodLevelResource: cpu, memory and hugepages-* (1.35).
    let supported = |n: &str| matches!(n, "cpu" | "memory") || n.starts_with("hugepages-");
    for &(name, amount) in pod_level.iter().filter(|(n, _)| supported(n)) {
        match sum.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => *slot = amount,
            None => sum.push((name, amount)),
        }
    }
    add(&mut sum, overhead);
    sum.into_iter().filter(|(_, v)| *v != 0).map(|(k, v)| (k.to_string(), v)).collect()
}

fn read_map<'a>(map: Option<&'a Value>) -> Result<Amounts<'a>, QuantityError> {
    let mut out = Amounts::new();
    if let Some(Value::Object(m)) = map {
        for (k, v) in m {
            out.push((k.as_str(), canonical(k, v)?));
        }
    }
    Ok(out)
}

/// A container's requests (limits defaulting missing requests).
pub fn container_requests(container: &Value) -> Result<Amounts<'_>, QuantityError> {
    merge_limits(read_map(container.pointer("/resources/requests"))?, read_map(container.pointer("/resources/limits"))?)
}

/// The effective request of a pod spec `Value` (see [`effective`]).
/// Pod-level limits default pod-level requests, as containers' do.
pub fn pod_requests(spec: &Value) -> Result<Resources, QuantityError> {
    let list = |key: &str| spec.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let containers = list("containers").iter().map(container_requests).collect::<Result<Vec<_>, _>>()?;
    let init = list("initContainers")
        .iter()
        .map(|c| Ok((container_requests(c)?, c.get("restartPolicy").and_then(Value::as_str) == Some("Always"))))
        .collect::<Result<Vec<_>, QuantityError>>()?;
    let pod_level = container_requests(spec)?;
    Ok(effective(&containers, &init, &pod_level, &read_map(spec.get("overhead"))?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_units() {
        assert_eq!(canonical("cpu", &json!("500m")).unwrap(), 500);
        assert_eq!(canonical("cpu", &json!(2)).unwrap(), 2000);
        assert_eq!(canonical("memory", &json!("1Gi")).unwrap(), 1 << 30);
        assert_eq!(canonical("nvidia.com/gpu", &json!("2")).unwrap(), 2);
        // The exact integer path and the general path agree.
        for (name, text) in [
            ("cpu", "500m"),
            ("cpu", "2"),
            ("cpu", "1.5"),
            ("memory", "16Gi"),
            ("memory", "1.5Gi"),
            ("memory", "128974848"),
            ("memory", "129e6"),
            ("memory", "123Mi"),
            ("cpu", "1m"),
            ("memory", "1k"),
        ] {
            let general = canonical_text(name, QuantityText::Number(parse_quantity(text).unwrap())).unwrap();
            assert_eq!(canonical(name, &json!(text)).unwrap(), general, "{name} {text}");
        }
        assert!(canonical("nvidia.com/gpu", &json!("500m")).is_err(), "half a GPU is not a whole unit");
        assert!(canonical("nvidia.com/gpu", &json!("0.5")).is_err());
        assert_eq!(display("memory", 16 << 30), "16Gi");
        assert_eq!(display("cpu", 1500), "1500m");
    }

    #[test]
    fn limits_default_requests_and_sidecars_add_up() {
        let spec = json!({
            "initContainers": [
                {"name": "fetch", "resources": {"requests": {"cpu": "4", "memory": "1Gi"}}},
                {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                {"name": "warm", "resources": {"requests": {"cpu": "3"}}}
            ],
            "containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": 2, "cpu": "2"}}}],
            "overhead": {"cpu": "100m"}
        });
        let r = pod_requests(&spec).unwrap();
        // containers 2 + sidecar 1 = 3; init peak max(4, 1+3) = 4; + overhead.
        assert_eq!(r["cpu"], 4100);
        assert_eq!(r["nvidia.com/gpu"], 2);
        assert_eq!(r["memory"], 1 << 30);
        let bad = json!({"containers": [{"resources": {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}}}]});
        assert!(pod_requests(&bad).is_err());
    }

    #[test]
    fn pod_level_resources_replace_cpu_and_memory_only() {
        // component-helpers resource/helpers.go PodRequests: pod-level cpu/memory win over the
        // container sum; extended resources stay per container; overhead comes on top.
        let spec = json!({
            "resources": {"limits": {"cpu": "16", "memory": "64Gi"}},
            "containers": [
                {"name": "vllm", "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"nvidia.com/gpu": 2}}},
                {"name": "proxy", "resources": {"requests": {"cpu": "1"}}}
            ],
            "overhead": {"cpu": "250m"}
        });
        let r = pod_requests(&spec).unwrap();
        assert_eq!((r["cpu"], r["memory"], r["nvidia.com/gpu"]), (16250, 64 << 30, 2));
    }
}
