//! Issue 22, deliverable 7: announcements that do not pin. The UI fills
//! the Parameters tab from `parameters` (argo-cd cmpserver/plugin/plugin.go
//! `getParametersAnnouncement` ~426: the static announcements of
//! plugin.yaml, then the command's JSON array) and saves a map parameter
//! whole when one entry is edited, so a default that restates the
//! repository pins it: a later Git bump of another model is overridden.

use serde_json::{Value, json};

use crate::harness::{Plugin, Profile, Source, Workspace, text};

fn announced(ws: &Workspace, path: &str) -> Vec<Value> {
    let out = ws.run(&Plugin::load().parameters, &Source::at(path), Profile::Parameters);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn get<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("{name} is not announced"))
}

fn deployment(name: &str, image: &str, gpus: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: {image}\n        resources: {{limits: {{nvidia.com/gpu: {gpus}}}}}\n"
    )
}

/// `model-tags` is announced empty, today's tags in its tooltip; every
/// accepted parameter is announced (selector-namespaces and selector-labels
/// were accepted but not announced).
#[test]
fn model_tags_are_announced_empty_and_every_parameter_is_announced() {
    let ws = Workspace::new();
    ws.write("apps/two/a.yaml", &deployment("a", "ghcr.io/acme/llama:v1", 1));
    ws.write("apps/two/b.yaml", &deployment("b", "ghcr.io/acme/mistral:v7", 1));
    let list = announced(&ws, "apps/two");
    let tags = get(&list, "model-tags");
    assert_eq!(tags["map"], json!({}), "an empty default pins nothing");
    let tooltip = tags["tooltip"].as_str().unwrap();
    assert!(tooltip.contains("ghcr.io/acme/llama: v1") && tooltip.contains("ghcr.io/acme/mistral: v7"), "{tooltip}");
    for name in argocd_gpuops_cmp::announce::known() {
        let a = get(&list, name);
        let collection = argocd_gpuops_cmp::announce::collection(name).unwrap();
        assert_eq!(a["collectionType"], collection.field(), "{name}");
    }
    assert_eq!(get(&list, "gpu-count")["string"], "1", "one count everywhere: shown");
}

/// Workloads with different GPU counts: `gpu-count` is announced empty
/// ("as in the repo"), the counts in its tooltip; a saved empty value
/// changes nothing.
#[test]
fn gpu_count_is_empty_when_workloads_differ() {
    let ws = Workspace::new();
    ws.write("apps/mixed/a.yaml", &deployment("a", "ghcr.io/acme/llama:v1", 1));
    ws.write("apps/mixed/b.yaml", &deployment("b", "ghcr.io/acme/mistral:v7", 4));
    let list = announced(&ws, "apps/mixed");
    let count = get(&list, "gpu-count");
    assert_eq!(count["string"], "");
    let tooltip = count["tooltip"].as_str().unwrap();
    assert!(tooltip.contains("Deployment/a: 1") && tooltip.contains("Deployment/b: 4"), "{tooltip}");
    // The UI saving every default as announced renders what Git holds.
    let defaults: Vec<Value> = list
        .iter()
        .map(|a| {
            let field = a["collectionType"].as_str().unwrap();
            json!({"name": a["name"], field: a[field]})
        })
        .collect();
    let out = ws.generate(&Source::at("apps/mixed").with(Value::Array(defaults)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plain = ws.generate(&Source::at("apps/mixed"));
    assert_eq!(text(&out.stdout), text(&plain.stdout), "saved defaults change nothing");
}
