//! Issue 22, deliverables 2 (warning half), 3, 4 and 10: nothing an
//! Application or a person at a terminal gets wrong is silently ignored.

use serde_json::{Value, json};

use crate::harness::{Plugin, Profile, Source, Workspace, manifests, parameters, text};

const DEV: &str = "examples/llmops-overlays/overlays/dev";

fn failure(ws: &Workspace, source: &Source) -> String {
    let out = ws.generate(source);
    assert_eq!(out.status.code(), Some(1), "stdout: {}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "a failed render prints nothing");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr
}

/// A parameter of the wrong collection fails naming it, what it got and
/// what it must be: `selector-kinds` as a string used to select every
/// workload, `model-tags` as a string or array pinned nothing.
#[test]
fn a_parameter_of_the_wrong_shape_is_refused() {
    let ws = Workspace::new();
    for (params, expect) in [
        (
            parameters(&[("gpu-count", json!("2")), ("selector-kinds", json!("StatefulSet"))]),
            "parameter selector-kinds: got a string, must be an array (Argo CD's array:)",
        ),
        (
            parameters(&[("model-tags", json!("v2"))]),
            "parameter model-tags: got a string, must be a map (Argo CD's map:)",
        ),
        (parameters(&[("model-tags", json!(["v2"]))]), "parameter model-tags: got an array, must be a map"),
        (parameters(&[("gpu-count", json!({"a": "2"}))]), "parameter gpu-count: got a map, must be a string"),
        (
            json!([{"name": "fit-gate", "string": "off", "array": []}]),
            "parameter fit-gate: got a string and an array, must be a string",
        ),
    ] {
        let stderr = failure(&ws, &Source::at(DEV).with(params));
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }
}

/// A name given twice: which value wins is nobody's choice.
#[test]
fn a_parameter_given_twice_is_refused() {
    let ws = Workspace::new();
    let twice = json!([{"name": "gpu-count", "string": "1"}, {"name": "gpu-count", "string": "4"}]);
    let stderr = failure(&ws, &Source::at(DEV).with(twice));
    assert!(stderr.contains("parameter gpu-count: given twice in ARGOCD_APP_PARAMETERS"), "{stderr}");
}

/// The shape the plugin checks is the shape it announces.
#[test]
fn announced_collection_types_are_the_ones_checked() {
    let ws = Workspace::new();
    let out = ws.run(&Plugin::load().parameters, &Source::at(DEV), Profile::Parameters);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let announced: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for a in &announced {
        let (name, collection) = (a["name"].as_str().unwrap(), a["collectionType"].as_str().unwrap());
        // Each given in a shape other than the announced one.
        let value = match collection {
            "string" => json!(["x"]),
            "array" => json!({"a": "b"}),
            _ => json!("x"),
        };
        let stderr = failure(&ws, &Source::at(DEV).with(parameters(&[(name, value)])));
        assert!(stderr.contains(&format!("(Argo CD's {collection}:)")), "{name}: {stderr}");
    }
}

/// A plain directory holding only an empty List renders zero objects:
/// with prune, Argo CD would delete the app's resources.
#[test]
fn an_empty_list_is_an_empty_render_in_every_mode() {
    let ws = Workspace::new();
    let empty_list = "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: ConfigMapList\nitems: []\n";
    ws.write("apps/plain-empty/list.yaml", empty_list);
    let stderr = failure(&ws, &Source::at("apps/plain-empty"));
    assert!(stderr.contains("the render is empty"), "{stderr}");
    let allowed = Source::at("apps/plain-empty").with(parameters(&[("allow-empty", json!("true"))]));
    let out = ws.generate(&allowed);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(manifests(&out.stdout).is_empty());
    // A List with items is objects, in a plain directory and through kustomize.
    let one = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n";
    ws.write("apps/plain-one/list.yaml", one);
    ws.write("apps/kust-one/list.yaml", one);
    ws.write("apps/kust-one/kustomization.yaml", "resources: [list.yaml]\n");
    for path in ["apps/plain-one", "apps/kust-one"] {
        let out = ws.generate(&Source::at(path));
        assert_eq!(out.status.code(), Some(0), "{path}: {}", text(&out.stderr));
        assert_eq!(manifests(&out.stdout).len(), 1, "{path}");
    }
}

/// `generate --help` prints help and renders nothing; an unknown flag or
/// an extra argument is a usage error.
#[test]
fn generate_help_and_unknown_flags_never_render() {
    let ws = Workspace::new();
    for (args, code, help) in [
        (&["generate", "--help"][..], 0, "Usage: argocd-gpuops-cmp generate"),
        (&["parameters", "--help"], 0, "Usage: argocd-gpuops-cmp parameters"),
        (&["generate", "--nodes", "2*8xH100-80GB"], 2, ""),
        (&["generate", "extra"], 2, ""),
        (&["parameters", "--json"], 2, ""),
    ] {
        let argv: Vec<String> =
            std::iter::once("argocd-gpuops-cmp").chain(args.iter().copied()).map(String::from).collect();
        let out = ws.run(&argv, &Source::at(DEV), Profile::Generate);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(!stdout.contains("kind:") && !stdout.contains("\"collectionType\""), "{args:?} rendered: {stdout}");
        if code == 0 {
            assert!(stdout.starts_with(help), "{args:?}: {stdout}");
        } else {
            assert!(stderr.starts_with("argocd-gpuops-cmp: ") && stderr.contains("unexpected argument"), "{stderr}");
        }
    }
}

/// The sidecar has no `--nodes`: its gate messages name `capacity`.
#[test]
fn gate_messages_name_the_capacity_parameter_not_a_flag() {
    let ws = Workspace::new();
    let gate = |capacity: &str| {
        parameters(&[("gpu-count", json!("8")), ("fit-gate", json!("enforce")), ("capacity", json!(capacity))])
    };
    let out = ws.generate(&Source::at(DEV).with(gate("x*8xH100-80GB")));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("argocd-gpuops-cmp: parameter capacity: \"x*8xH100-80GB\""), "{stderr}");
    let out = ws.generate(&Source::at(DEV).with(gate("1*1xL4")));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not fit capacity 1*1xL4"), "{stderr}");
    assert!(!stderr.contains("--nodes"), "{stderr}");
}

/// `plugin.env` names that mean a gpuops setting but would be ignored
/// fail the render; other unknown names are left to other tools.
#[test]
fn misnamed_gpuops_settings_in_plugin_env_are_refused() {
    let ws = Workspace::new();
    for (name, expect) in [
        (
            "ARGOCD_ENV_GPUOPS_DEADLINE",
            "environment: ARGOCD_ENV_ARGOCD_ENV_GPUOPS_DEADLINE: Argo CD adds the ARGOCD_ENV_ prefix itself; name it GPUOPS_DEADLINE",
        ),
        (
            "GPUOPS_KUSTOMIZE",
            "environment: ARGOCD_ENV_GPUOPS_KUSTOMIZE: GPUOPS_KUSTOMIZE chooses what the sidecar runs",
        ),
        ("GPUOPS_DEADLIN", "environment: ARGOCD_ENV_GPUOPS_DEADLIN: not a gpuops setting"),
    ] {
        let mut source = Source::at(DEV);
        source.env.insert(name.into(), "/tmp/evil-secret-value".into());
        let stderr = failure(&ws, &source);
        assert!(stderr.contains(expect) && !stderr.contains("evil-secret-value"), "{name}: {stderr}");
    }
    let mut source = Source::at(DEV);
    source.env.insert("SOME_OTHER_TOOL".into(), "x".into());
    source.env.insert("GPUOPS_DEADLINE".into(), "40".into());
    let out = ws.generate(&source);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ARGOCD_ENV_SOME_OTHER_TOOL: not a gpuops setting; ignored"));
}
