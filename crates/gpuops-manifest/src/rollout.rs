//! The one model of a rolling update, shared by inject (`strategy: auto`)
//! and fit (the surge check): how many new pods a rollout starts beside the
//! old ones, and how many old ones it may stop first.

use serde_json::Value;

use crate::locator;

/// How a rollout adds pods next to the old ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rollout {
    /// Extra pods started before old ones stop (maxSurge, resolved).
    pub surge: u64,
    /// Old pods that may stop first (maxUnavailable, resolved).
    pub max_unavailable: u64,
}

impl Rollout {
    /// New pods that must be placed beside *every* old pod for the rollout to
    /// make progress. With `maxUnavailable > 0` the controller scales old pods
    /// down as well, freeing their GPUs, so a full cluster slows the rollout
    /// but does not block it; with `maxUnavailable == 0` each surge pod needs
    /// capacity of its own, or the rollout hangs with Pending pods.
    pub fn blocking_surge(&self) -> u64 {
        if self.max_unavailable == 0 { self.surge } else { 0 }
    }

    /// The rollout of `obj` with `replicas` desired pods: Deployments and
    /// RawDeployment-mode InferenceServices roll; Knative (serverless)
    /// InferenceServices start a whole new revision before moving traffic;
    /// every other kind (or `Recreate`) starts nothing beside the old pods.
    pub fn of(obj: &Value, replicas: u64) -> Rollout {
        let Some(location) = strategy_location(obj) else {
            if is_serverless_inference_service(obj) {
                return Rollout { surge: replicas, max_unavailable: 0 };
            }
            return Rollout::default();
        };
        let strategy = obj.pointer(&location.pointer());
        if strategy.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("Recreate") {
            return Rollout::default();
        }
        let rolling = strategy.and_then(|s| s.get("rollingUpdate"));
        resolve_fenceposts(
            rolling.and_then(|r| r.get("maxSurge")),
            rolling.and_then(|r| r.get("maxUnavailable")),
            replicas,
        )
    }
}

/// Where a workload keeps its Deployment strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrategyLocation {
    /// The mapping that holds the strategy (`/spec`, `/spec/predictor`).
    pub parent: &'static str,
    /// Its key (`strategy`, `deploymentStrategy`).
    pub key: &'static str,
}

impl StrategyLocation {
    pub fn pointer(&self) -> String {
        format!("{}/{}", self.parent, self.key)
    }
}

/// How KServe deploys an InferenceService.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeploymentMode {
    /// A plain Deployment (`Standard`; `RawDeployment` before KServe 0.15).
    Standard,
    /// A Knative Service (`Knative`; `Serverless` before KServe 0.15) — the
    /// default of KServe's shipped `inferenceservice-config`.
    #[default]
    Knative,
    /// Served by the ModelMesh controller.
    ModelMesh,
}

impl DeploymentMode {
    /// The mode a value of the annotation or of `deploy.defaultDeploymentMode`
    /// names, legacy names mapped as KServe maps them; `None` for anything
    /// else (compared exactly, as KServe does).
    /// Source: kserve/kserve pkg/controller/v1beta1/inferenceservice/utils/utils.go
    /// `GetDeploymentMode` (LegacyRawDeployment → Standard, LegacyServerless → Knative).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Standard" | "RawDeployment" => Some(Self::Standard),
            "Knative" | "Serverless" => Some(Self::Knative),
            "ModelMesh" => Some(Self::ModelMesh),
            _ => None,
        }
    }
}

/// KServe's `GetDeploymentMode`: a valid `serving.kserve.io/deploymentMode`
/// annotation wins, else the cluster's default (`deploy.defaultDeploymentMode`
/// of the `inferenceservice-config` ConfigMap). An invalid annotation falls
/// back to the default, as there.
pub fn kserve_deployment_mode(obj: &Value, cluster_default: DeploymentMode) -> DeploymentMode {
    obj.pointer("/metadata/annotations/serving.kserve.io~1deploymentMode")
        .and_then(Value::as_str)
        .and_then(DeploymentMode::parse)
        .unwrap_or(cluster_default)
}

fn is_inference_service(obj: &Value) -> bool {
    locator::api_group(obj) == "serving.kserve.io" && locator::kind(obj) == "InferenceService"
}

fn is_serverless_inference_service(obj: &Value) -> bool {
    is_inference_service(obj) && kserve_deployment_mode(obj, DeploymentMode::default()) == DeploymentMode::Knative
}

/// A Deployment's own `spec.strategy`, or a RawDeployment InferenceService's
/// `spec.predictor.deploymentStrategy` (KServe >= 0.13); `None` for kinds
/// without a Deployment strategy. InferenceServices without the annotation
/// take KServe's shipped default mode (Knative).
pub fn strategy_location(obj: &Value) -> Option<StrategyLocation> {
    strategy_location_in(obj, DeploymentMode::default())
}

/// [`strategy_location`] on a cluster whose KServe default mode is
/// `cluster_default`: only a Standard (RawDeployment) InferenceService has a
/// Deployment whose strategy KServe sets from `deploymentStrategy`.
pub fn strategy_location_in(obj: &Value, cluster_default: DeploymentMode) -> Option<StrategyLocation> {
    match (locator::api_group(obj), locator::kind(obj)) {
        ("apps", "Deployment") => Some(StrategyLocation { parent: "/spec", key: "strategy" }),
        ("serving.kserve.io", "InferenceService")
            if kserve_deployment_mode(obj, cluster_default) == DeploymentMode::Standard =>
        {
            Some(StrategyLocation { parent: "/spec/predictor", key: "deploymentStrategy" })
        }
        _ => None,
    }
}

/// Whether `obj` is an InferenceService (whatever its mode).
pub fn is_kserve_inference_service(obj: &Value) -> bool {
    is_inference_service(obj)
}

/// Desired pods of a rolling workload: `spec.replicas` of a Deployment,
/// `spec.predictor.minReplicas` of an InferenceService; 1 when absent.
pub fn desired_replicas(obj: &Value) -> u64 {
    let pointer = if is_inference_service(obj) { "/spec/predictor/minReplicas" } else { "/spec/replicas" };
    obj.pointer(pointer).and_then(Value::as_u64).unwrap_or(1)
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, a percentage of
/// `replicas` rounded up (surge) or down (unavailable); negative or
/// malformed values count as 0 (the API server rejects them).
/// Source: kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/util/intstr/intstr.go.
fn scaled(value: Option<&Value>, replicas: u64, round_up: bool) -> Option<u64> {
    let percent = |p: u64| if round_up { (replicas * p).div_ceil(100) } else { replicas * p / 100 };
    match value {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_u64().unwrap_or(0)),
        Some(Value::String(s)) => Some(match s.strip_suffix('%') {
            Some(p) => p.trim().parse().map_or(0, percent),
            None => s.trim().parse().unwrap_or(0),
        }),
        Some(_) => Some(0),
    }
}

/// The Deployment controller's `ResolveFenceposts`: maxSurge (default 25%,
/// rounded up) and maxUnavailable (default 25%, rounded down); when both
/// resolve to 0, maxUnavailable becomes 1 "on the theory that surge might not
/// work due to quota".
/// Source: kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
/// (`ResolveFenceposts`); defaults from pkg/apis/apps/v1/defaults.go
/// (`SetDefaults_Deployment`: 25% / 25%).
pub fn resolve_fenceposts(max_surge: Option<&Value>, max_unavailable: Option<&Value>, replicas: u64) -> Rollout {
    let default = |round_up: bool| if round_up { (replicas * 25).div_ceil(100) } else { replicas * 25 / 100 };
    let surge = scaled(max_surge, replicas, true).unwrap_or_else(|| default(true));
    let mut unavailable = scaled(max_unavailable, replicas, false).unwrap_or_else(|| default(false));
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Rollout { surge, max_unavailable: unavailable }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(strategy: Value, replicas: u64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": replicas, "strategy": strategy}})
    }

    /// Cases from the comment on `ResolveFenceposts` (deployment_util.go) and
    /// the 25%/25% defaults.
    #[test]
    fn fenceposts_follow_the_deployment_controller() {
        let r = |strategy: Value, replicas| Rollout::of(&deployment(strategy, replicas), replicas);
        let rolling = |s: Value, u: Value| json!({"rollingUpdate": {"maxSurge": s, "maxUnavailable": u}});
        // Defaults: 1 replica -> surge 1 (25% up), unavailable 0 (25% down).
        assert_eq!(r(json!({}), 1), Rollout { surge: 1, max_unavailable: 0 });
        assert_eq!(r(json!({}), 8), Rollout { surge: 2, max_unavailable: 2 });
        assert_eq!(r(json!({}), 3), Rollout { surge: 1, max_unavailable: 0 });
        // "2 desired, max unavailable 1%, surge 0%": both round to 0 -> unavailable 1.
        assert_eq!(r(rolling(json!("0%"), json!("1%")), 2), Rollout { surge: 0, max_unavailable: 1 });
        // "2 desired, max unavailable 25%, surge 1%": surge rounds up to 1.
        assert_eq!(r(rolling(json!("1%"), json!("25%")), 2), Rollout { surge: 1, max_unavailable: 0 });
        assert_eq!(r(rolling(json!("50%"), json!(0)), 3), Rollout { surge: 2, max_unavailable: 0 });
        assert_eq!(r(rolling(json!(3), json!(0)), 3), Rollout { surge: 3, max_unavailable: 0 });
        assert_eq!(r(rolling(json!(0), json!(1)), 4), Rollout { surge: 0, max_unavailable: 1 });
        assert_eq!(r(json!({"type": "Recreate"}), 4), Rollout::default());
    }

    #[test]
    fn blocking_surge_only_without_unavailable() {
        assert_eq!(Rollout { surge: 2, max_unavailable: 0 }.blocking_surge(), 2);
        assert_eq!(Rollout { surge: 2, max_unavailable: 1 }.blocking_surge(), 0);
    }

    #[test]
    fn inference_services_by_mode() {
        let isvc = |mode: Option<&str>| {
            let mut obj = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                "spec": {"predictor": {"minReplicas": 2}}});
            if let Some(m) = mode {
                obj["metadata"] = json!({"annotations": {"serving.kserve.io/deploymentMode": m}});
            }
            obj
        };
        assert_eq!(Rollout::of(&isvc(None), 2), Rollout { surge: 2, max_unavailable: 0 }, "knative: a whole revision");
        assert_eq!(Rollout::of(&isvc(Some("RawDeployment")), 2), Rollout { surge: 1, max_unavailable: 0 });
        assert_eq!(desired_replicas(&isvc(None)), 2);
        assert!(strategy_location(&isvc(None)).is_none());
        // KServe's legacy and current names, compared exactly; an invalid
        // annotation falls back to the cluster default.
        for (annotation, default, has_strategy) in [
            (Some("RawDeployment"), DeploymentMode::Knative, true),
            (Some("Standard"), DeploymentMode::Knative, true),
            (Some("Serverless"), DeploymentMode::Standard, false),
            (Some("Knative"), DeploymentMode::Standard, false),
            (Some("ModelMesh"), DeploymentMode::Standard, false),
            (Some("rawdeployment"), DeploymentMode::Knative, false),
            (Some("rawdeployment"), DeploymentMode::Standard, true),
            (None, DeploymentMode::Standard, true),
            (None, DeploymentMode::Knative, false),
        ] {
            assert_eq!(
                strategy_location_in(&isvc(annotation), default).is_some(),
                has_strategy,
                "{annotation:?} on a {default:?} cluster"
            );
        }
    }
}
