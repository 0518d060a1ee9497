//! Resource amounts in the units the scheduler compares: cpu in millicores,
//! memory-like resources in bytes, everything else in whole units.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::quantity::parse_quantity;

/// Resource name → amount (millicores for cpu, bytes for memory, units otherwise).
pub type Resources = BTreeMap<String, i64>;

fn is_bytes(name: &str) -> bool {
    matches!(name, "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// Whether a resource is an extended (or other whole-unit) resource.
pub fn is_extended(name: &str) -> bool {
    name.contains('/') && !name.starts_with("kubernetes.io/") && !name.starts_with("requests.")
}

/// A quantity in canonical units. Extended resources must be integers.
pub fn canonical(name: &str, quantity: &Value) -> Result<i64, String> {
    let text = match quantity {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("{name}: {other} is not a quantity")),
    };
    let value = parse_quantity(&text).ok_or_else(|| format!("{name}: {text:?} is not a quantity"))?;
    if name == "cpu" {
        return Ok((value * 1000.0).ceil() as i64);
    }
    if is_extended(name) && value.fract() != 0.0 {
        return Err(format!("{name}: extended resources must be whole numbers, not {text:?}"));
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

fn read_map(map: Option<&Value>, into: &mut Resources) -> Result<(), String> {
    if let Some(Value::Object(m)) = map {
        for (k, v) in m {
            into.insert(k.clone(), canonical(k, v)?);
        }
    }
    Ok(())
}

/// A container's requests, defaulted from limits where a request is
/// missing (the API server does this when the pod is created).
pub fn container_requests(container: &Value) -> Result<Resources, String> {
    let mut requests = Resources::new();
    let mut limits = Resources::new();
    read_map(container.pointer("/resources/requests"), &mut requests)?;
    read_map(container.pointer("/resources/limits"), &mut limits)?;
    for (name, limit) in limits {
        if is_extended(&name)
            && let Some(r) = requests.get(&name)
            && *r != limit
        {
            return Err(format!(
                "{name}: request {r} differs from limit {limit}; extended resources cannot be overcommitted"
            ));
        }
        requests.entry(name).or_insert(limit);
    }
    Ok(requests)
}

fn add(into: &mut Resources, from: &Resources) {
    for (k, v) in from {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}

fn max_into(into: &mut Resources, from: &Resources) {
    for (k, v) in from {
        let slot = into.entry(k.clone()).or_insert(0);
        *slot = (*slot).max(*v);
    }
}

/// The pod's effective request: max(sum of containers, init-container peak
/// counting restartable sidecars) plus overhead (KEP-753).
pub fn pod_requests(spec: &Value) -> Result<Resources, String> {
    let list = |key: &str| spec.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let mut sum = Resources::new();
    for c in list("containers") {
        add(&mut sum, &container_requests(c)?);
    }
    let mut sidecars = Resources::new();
    let mut init_peak = Resources::new();
    for c in list("initContainers") {
        let requests = container_requests(c)?;
        if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            add(&mut sidecars, &requests);
            add(&mut sum, &requests);
            max_into(&mut init_peak, &sidecars);
        } else {
            let mut during = sidecars.clone();
            add(&mut during, &requests);
            max_into(&mut init_peak, &during);
        }
    }
    max_into(&mut sum, &init_peak);
    let mut overhead = Resources::new();
    read_map(spec.get("overhead"), &mut overhead)?;
    add(&mut sum, &overhead);
    sum.retain(|_, v| *v != 0);
    Ok(sum)
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
}
