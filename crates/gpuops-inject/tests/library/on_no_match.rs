//! `onNoMatch`: what a config that matches nothing is, per driver (issue 22,
//! deliverable 6). Before it, matching nothing was a warning everywhere, and
//! a warning is seen by nobody under `kubectl kustomize` (a legacy plugin's
//! stderr is shown only on failure) or in the Argo CD sidecar.

use gpuops_inject::{OnNoMatch, Tally, decode, no_match, run_plugin_with, transform, transform_part};
use gpuops_manifest::krm::Severity;
use gpuops_model::resolve::Resolver;
use serde_json::{Value, json};

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: c, image: 'ghcr.io/acme/llama:v1'}\n";

fn tags(extra: Value) -> Value {
    let mut spec = json!({"models": [{"name": "ghcr.io/acme/mistral", "newTag": "v2"}]});
    spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "ModelTags", "metadata": {"name": "t"}, "spec": spec})
}

fn severities(results: &[gpuops_manifest::krm::KrmResult]) -> Vec<(Severity, String)> {
    results.iter().filter(|r| r.severity != Severity::Info).map(|r| (r.severity, r.message.clone())).collect()
}

/// The KRM function shows results: matching nothing stays a warning.
#[test]
fn as_a_krm_function_no_match_is_a_warning_by_default() {
    let config = decode(&tags(json!({}))).unwrap().unwrap();
    let mut items = vec![gpuops_manifest::yaml::parse_stream(DEPLOYMENT, "d").unwrap().remove(0).value];
    let outcome = transform(&config, &mut items, &Resolver::catalog());
    assert!(!outcome.failed());
    assert_eq!(
        severities(&outcome.results),
        [(Severity::Warning, "ModelTags/t: model \"ghcr.io/acme/mistral\" matched no reference".to_string())]
    );
}

/// As a legacy plugin the same config fails, naming the model and the way
/// to allow it; `onNoMatch: warn` lets it through with the warning.
#[test]
fn as_a_legacy_plugin_no_match_is_an_error_unless_warn() {
    let text = serde_json::to_string(&tags(json!({}))).unwrap();
    let err = run_plugin_with(&text, "tags.yaml", DEPLOYMENT, &Resolver::catalog(), OnNoMatch::Error)
        .unwrap_err()
        .to_string();
    assert!(err.contains("model \"ghcr.io/acme/mistral\" matched no reference"), "{err}");
    assert!(err.contains("(spec.onNoMatch: warn allows it)"), "{err}");
    let text = serde_json::to_string(&tags(json!({"onNoMatch": "warn"}))).unwrap();
    let (output, results) =
        run_plugin_with(&text, "tags.yaml", DEPLOYMENT, &Resolver::catalog(), OnNoMatch::Error).unwrap();
    assert_eq!(output, DEPLOYMENT);
    assert_eq!(severities(&results).len(), 1);
    assert_eq!(severities(&results)[0].0, Severity::Warning);
}

/// `onNoMatch: error` is an error even where the default is a warning; a
/// GpuProfile's selector is held to it as well.
#[test]
fn on_no_match_error_fails_the_krm_function_too() {
    let config = decode(&tags(json!({"onNoMatch": "error"}))).unwrap().unwrap();
    let mut items = vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})];
    assert!(transform(&config, &mut items, &Resolver::catalog()).failed());
    let profile = decode(&json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "GpuProfile", "metadata": {"name": "p"},
        "spec": {"onNoMatch": "error", "selector": {"names": ["nothing-*"]}, "gpu": {"count": 1}}}))
    .unwrap()
    .unwrap();
    let outcome = transform(&profile, &mut items, &Resolver::catalog());
    let found = severities(&outcome.results);
    assert_eq!(
        found,
        [(Severity::Error, "GpuProfile/p: selector matched no workload (spec.onNoMatch: warn allows it)".to_string())]
    );
    let bad = decode(&tags(json!({"onNoMatch": "ignore"}))).unwrap_err().to_string();
    assert!(bad.contains("spec.onNoMatch") && bad.contains("ignore"), "{bad}");
}

/// A render transformed in parts (the sidecar's document by document)
/// judges matching over the whole render: a model the second part names is
/// matched.
#[test]
fn parts_add_up_before_no_match_is_judged() {
    let config = decode(&tags(json!({}))).unwrap().unwrap();
    let mut first = vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})];
    let mut second = vec![json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "ghcr.io/acme/mistral:v1"}]}}}})];
    let mut tally = Tally::default();
    for part in [&mut first, &mut second] {
        let outcome = transform_part(&config, part, &Resolver::catalog());
        assert!(severities(&outcome.results).is_empty(), "no finding per part");
        tally.add(&outcome.tally);
    }
    assert_eq!(second[0].pointer("/spec/template/spec/containers/0/image").unwrap(), "ghcr.io/acme/mistral:v2");
    assert!(no_match(&config, &tally, OnNoMatch::Error).is_empty());
    assert_eq!(no_match(&config, &Tally::default(), OnNoMatch::Error)[0].severity, Severity::Error);
}

/// The flat ConfigMap form takes the key too.
#[test]
fn a_config_map_sets_on_no_match() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"},
        "data": {"name": "ghcr.io/acme/mistral", "newTag": "v2", "onNoMatch": "error"}});
    let config = decode(&cm).unwrap().unwrap();
    assert_eq!(config.models.unwrap().on_no_match, Some(OnNoMatch::Error));
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"},
        "data": {"gpuCount": "1", "onNoMatch": "never"}});
    assert!(decode(&cm).unwrap_err().to_string().contains("data.onNoMatch"));
}
