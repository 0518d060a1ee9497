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

/// [`canonical`] for a quantity already split from its JSON.
pub fn canonical_text(name: &str, quantity: QuantityText<'_>) -> Result<i64, QuantityError> {
    let (value, shown) = match quantity {
        QuantityText::Number(n) => (n, None),
        QuantityText::Text(text) => (
            parse_quantity(text)
                .ok_or_else(|| QuantityError::NotAQuantity { name: name.into(), value: format!("{text:?}") })?,
            Some(text),
        ),
    };
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

fn read_map(map: Option<&Value>, into: &mut Resources) -> Result<(), QuantityError> {
    if let Some(Value::Object(m)) = map {
        for (k, v) in m {
            into.insert(k.clone(), canonical(k, v)?);
        }
    }
    Ok(())
}

/// A container's requests, defaulted from limits where a request is
/// missing (the API server does this when the pod is created).
pub fn merge_limits(mut requests: Resources, limits: Resources) -> Result<Resources, QuantityError> {
    for (name, limit) in limits {
        if is_extended(&name)
            && let Some(r) = requests.get(&name)
            && *r != limit
        {
            return Err(QuantityError::Overcommitted { name, request: *r, limit });
        }
        requests.entry(name).or_insert(limit);
    }
    Ok(requests)
}

/// A container's requests (limits defaulting missing requests).
pub fn container_requests(container: &Value) -> Result<Resources, QuantityError> {
    let mut requests = Resources::new();
    let mut limits = Resources::new();
    read_map(container.pointer("/resources/requests"), &mut requests)?;
    read_map(container.pointer("/resources/limits"), &mut limits)?;
    merge_limits(requests, limits)
}

fn add(into: &mut Resources, from: &Resources) {
    for (k, v) in from {
        if let Some(slot) = into.get_mut(k) {
            *slot += v;
        } else {
            into.insert(k.clone(), *v);
        }
    }
}

fn max_into(into: &mut Resources, from: &Resources) {
    for (k, v) in from {
        if let Some(slot) = into.get_mut(k) {
            *slot = (*slot).max(*v);
        } else {
            into.insert(k.clone(), *v);
        }
    }
}

/// The resource-relevant parts of a pod spec, however it was read.
#[derive(Debug, Clone, Default)]
pub struct PodResources {
    /// Per app container: its requests.
    pub containers: Vec<Resources>,
    /// Per init container, in order: its requests and whether it is a
    /// restartable sidecar (`restartPolicy: Always`).
    pub init_containers: Vec<(Resources, bool)>,
    pub overhead: Resources,
}

impl PodResources {
    /// Read from a pod spec `Value`.
    pub fn from_spec(spec: &Value) -> Result<Self, QuantityError> {
        let list = |key: &str| spec.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let mut pod = PodResources::default();
        for c in list("containers") {
            pod.containers.push(container_requests(c)?);
        }
        for c in list("initContainers") {
            let sidecar = c.get("restartPolicy").and_then(Value::as_str) == Some("Always");
            pod.init_containers.push((container_requests(c)?, sidecar));
        }
        read_map(spec.get("overhead"), &mut pod.overhead)?;
        Ok(pod)
    }

    /// The pod's effective request: max(sum of containers, init-container
    /// peak counting restartable sidecars) plus overhead (KEP-753; the
    /// scheduler's `computePodResourceRequest` in
    /// kubernetes/kubernetes pkg/scheduler/framework/plugins/noderesources/fit.go
    /// via k8s.io/component-helpers/resource `PodRequests`).
    pub fn effective(&self) -> Resources {
        let mut sum = Resources::new();
        for c in &self.containers {
            add(&mut sum, c);
        }
        let mut sidecars = Resources::new();
        let mut init_peak = Resources::new();
        for (requests, sidecar) in &self.init_containers {
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
        add(&mut sum, &self.overhead);
        sum.retain(|_, v| *v != 0);
        sum
    }
}

/// The effective request of a pod spec `Value` (see [`PodResources::effective`]).
pub fn pod_requests(spec: &Value) -> Result<Resources, QuantityError> {
    Ok(PodResources::from_spec(spec)?.effective())
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
