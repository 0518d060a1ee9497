//! Golden cases in `tests/testdata/<case>/`: `config.yaml` + `input.yaml`,
//! and either `expected.yaml` (the plugin's output stream) or `errors.txt`
//! (lines stderr must contain). Each case runs in both protocols.

use serde_json::{Value, json};

use crate::util::{self, assert_golden, parse_stream, testdata, text};

fn resource_list(case: &str) -> String {
    let dir = testdata(case);
    let config = parse_stream(&std::fs::read_to_string(dir.join("config.yaml")).unwrap()).remove(0);
    let items = parse_stream(&std::fs::read_to_string(dir.join("input.yaml")).unwrap());
    serde_json::to_string(&json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items, "functionConfig": config})).unwrap()
}

fn golden_case(case: &str) {
    let dir = testdata(case);
    let input = std::fs::read_to_string(dir.join("input.yaml")).unwrap();
    let out = util::plugin(&dir.join("config.yaml"), &input);
    assert!(out.status.success(), "{case}: {}", text(&out.stderr));
    let stream = text(&out.stdout);
    assert_golden(&dir.join("expected.yaml"), &stream);

    // Applying the config again changes nothing (idempotent).
    let again = util::plugin(&dir.join("config.yaml"), &stream);
    assert_eq!(text(&again.stdout), stream, "{case}: second application changed the output");

    // The KRM protocol produces the same objects.
    let out = util::krm(&resource_list(case));
    assert!(out.status.success(), "{case}: {}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON in, JSON out");
    let (plugin_items, annotated) = without_warnings_annotation(parse_stream(&stream));
    assert_eq!(list["items"], Value::Array(plugin_items), "{case}: KRM items differ from the plugin stream");
    assert!(list["results"].as_array().unwrap().iter().all(|r| r["severity"].is_string()), "{case}: severity missing");
    // The legacy plugin's `gpuops.dev/warnings` lines are the KRM warning
    // results about the same object, word for word.
    assert_eq!(annotated, warning_results(&list), "{case}: the annotation and the warning results differ");
}

/// The items without the legacy plugin's `gpuops.dev/warnings` (the KRM
/// protocol reports warnings as results instead), and `(object, line)` for
/// each line it held.
fn without_warnings_annotation(mut items: Vec<Value>) -> (Vec<Value>, Vec<(String, String)>) {
    let mut lines = Vec::new();
    for item in &mut items {
        let object = object_name(item);
        let Some(annotations) = item["metadata"].get_mut("annotations").and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(Value::String(text)) = annotations.remove("gpuops.dev/warnings") {
            lines.extend(text.lines().map(|line| (object.clone(), line.to_string())));
        }
        if annotations.is_empty() {
            item["metadata"].as_object_mut().unwrap().remove("annotations");
        }
    }
    (items, lines)
}

fn object_name(item: &Value) -> String {
    let name = |v: &Value| v.as_str().unwrap_or_default().to_string();
    format!("{}/{}/{}", name(&item["kind"]), name(&item["metadata"]["namespace"]), name(&item["metadata"]["name"]))
}

/// `(object, message)` of each KRM warning result about an object.
fn warning_results(list: &Value) -> Vec<(String, String)> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["severity"] == "warning" && r.get("resourceRef").is_some())
        .map(|r| {
            let rr = &r["resourceRef"];
            let object = json!({"kind": rr["kind"], "metadata": {"namespace": rr["namespace"], "name": rr["name"]}});
            (object_name(&object), r["message"].as_str().unwrap().to_string())
        })
        .collect()
}

fn error_case(case: &str) {
    let dir = testdata(case);
    let input = std::fs::read_to_string(dir.join("input.yaml")).unwrap();
    let expected = std::fs::read_to_string(dir.join("errors.txt")).unwrap();
    let out = util::plugin(&dir.join("config.yaml"), &input);
    assert_eq!(out.status.code(), Some(1), "{case}: plugin exit code");
    assert!(out.stdout.is_empty(), "{case}: plugin wrote output on failure");
    let stderr = text(&out.stderr);
    for line in expected.lines().filter(|l| !l.is_empty()) {
        assert!(stderr.contains(line), "{case}: stderr lacks {line:?}:\n{stderr}");
    }

    let list_in = resource_list(case);
    let out = util::krm(&list_in);
    assert_eq!(out.status.code(), Some(1), "{case}: KRM exit code");
    let list: Value = serde_json::from_slice(&out.stdout).expect("ResourceList written even on failure");
    let input: Value = serde_json::from_str(&list_in).unwrap();
    assert_eq!(list["items"], input["items"], "{case}: items changed although the function failed");
    let errors: Vec<&Value> = list["results"].as_array().unwrap().iter().filter(|r| r["severity"] == "error").collect();
    assert!(!errors.is_empty(), "{case}: no error result");
    // The same facts as the plugin's stderr line, from the structured fields.
    let rendered: Vec<String> = errors
        .iter()
        .map(|r| {
            let rr = &r["resourceRef"];
            let object = match rr["namespace"].as_str() {
                Some(ns) => format!("{}/{ns}/{}", rr["kind"].as_str().unwrap(), rr["name"].as_str().unwrap()),
                None => format!("{}/{}", rr["kind"].as_str().unwrap(), rr["name"].as_str().unwrap()),
            };
            format!("{object}: {}: {}", r["field"]["path"].as_str().unwrap_or(""), r["message"].as_str().unwrap())
        })
        .collect();
    let rendered = rendered.join("\n");
    for line in expected.lines().filter(|l| !l.is_empty()) {
        assert!(rendered.contains(line), "{case}: results lack {line:?}:\n{rendered}");
    }
}

#[test]
fn every_workload_kind_gets_gpus_in_its_main_container() {
    golden_case("all-kinds");
}

#[test]
fn model_tags_follow_references_everywhere_but_metadata() {
    golden_case("model-tags");
}

#[test]
fn config_map_function_config() {
    golden_case("config-map");
}

#[test]
fn mig_resource_replaces_whole_gpu_and_reuses_existing_shm() {
    golden_case("mig-switch");
}

/// `count: auto` sizes each workload by gpufit's memory model on an L40S:
/// Qwen2.5-32B at 32K needs TP 2, Llama-3.1-8B at 16K one GPU, Llama-3.3-70B
/// (a KServe `storageUri`) at 64K TP 4 — count and TP set together. The
/// two whose vLLM version is not named carry the assumed-version warning
/// in `gpuops.dev/warnings`.
#[test]
fn count_auto_picks_the_smallest_gpu_count_the_model_fits() {
    golden_case("count-auto");
}

/// KServe's deployment mode decides whether `strategy` applies (Serverless,
/// the default, ignores it); the Hugging Face runtime gets vLLM's TP flag
/// unless another backend is chosen; a shell-started engine gets the flag
/// inside its script, and the GPUs go to the engine, not the router beside it.
#[test]
fn kserve_modes_runtimes_and_shell_engines() {
    golden_case("kserve-modes-and-shell-engines");
}

#[test]
fn count_auto_refuses_a_model_it_cannot_size() {
    error_case("count-auto-unknown-model");
}

/// Mllama (encoder-decoder multimodal) is a model gpuops' memory model
/// cannot size (`MemoryFit::not_sized`): no count is chosen, and the error
/// names the object, the model and the fix, a fixed count (before: "does
/// not fit on up to 8 NVIDIA-L40S GPU(s)", as if more GPUs would do).
#[test]
fn count_auto_refuses_a_model_gpuops_cannot_size() {
    error_case("count-auto-not-sized");
}

/// An image tag naming no release (`latest`, a KServe runtime's) leaves
/// the memory model to assume vLLM 0.34.0: the count is still chosen, and
/// each such object gets one warning saying so — a KRM warning result, a
/// `warning:` line on the legacy plugin's stderr, and the same text in the
/// object's `gpuops.dev/warnings` in its output (kustomize shows that
/// stderr only on failure). The pinned `v0.10.1` workload gets none.
#[test]
fn count_auto_warns_when_it_sized_on_an_assumed_vllm_version() {
    let hint = "with vLLM version unknown: assumed 0.34.0 (pin it with the image tag vllm/vllm-openai:vX.Y.Z or the annotation gpuops.dev/vllm-version)";
    let expected = [
        (
            "Deployment/llm/llama-8b",
            format!("count: auto sized meta-llama/Llama-3.1-8B-Instruct on NVIDIA-L40S {hint}"),
        ),
        (
            "InferenceService/llm/llama-70b",
            format!("count: auto sized hf://meta-llama/Llama-3.3-70B-Instruct on NVIDIA-L40S {hint}"),
        ),
    ];
    let out = util::krm(&resource_list("count-auto"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = warning_results(&list);
    let expected_pairs: Vec<(String, String)> = expected.iter().map(|(o, m)| (o.to_string(), m.clone())).collect();
    assert_eq!(warnings, expected_pairs);

    let dir = testdata("count-auto");
    let out = util::plugin(&dir.join("config.yaml"), &std::fs::read_to_string(dir.join("input.yaml")).unwrap());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for (object, message) in &expected {
        assert!(stderr.contains(&format!("warning: {object}: {message}\n")), "{stderr}");
    }
    let (_, annotated) = without_warnings_annotation(parse_stream(&text(&out.stdout)));
    assert_eq!(annotated, expected_pairs);
}

#[test]
fn tensor_parallel_check_reports_mismatch() {
    error_case("tp-check-mismatch");
}

#[test]
fn unknown_config_field_is_named() {
    error_case("unknown-field");
}

/// An alias bomb in the items or in the config file is refused with one
/// line naming the input, in both protocols, before it costs memory.
#[test]
fn alias_bombs_are_refused() {
    // (A document the config cannot change is passed through unparsed, so
    // the bomb is a workload the profile selects.)
    let mut bomb = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: bomb, namespace: llm}}\nspec:\n  template:\n    metadata:\n      annotations: {{a: &big {}}}\n    spec:\n      containers:\n",
        "x".repeat(1 << 20)
    );
    for i in 0..300 {
        bomb.push_str(&format!("      - {{name: c{i}, image: *big}}\n"));
    }
    let config = testdata("count-auto").join("config.yaml");
    let out = util::plugin(&config, &bomb);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("<stdin>: document at line 1: the document expands past 64 MiB through YAML aliases"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let profile = std::fs::read_to_string(testdata("count-auto").join("config.yaml")).unwrap();
    std::fs::write(&config, format!("{profile}---\n{bomb}")).unwrap();
    let out = util::plugin(&config, "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("expands past 64 MiB through YAML aliases"), "{}", text(&out.stderr));
}
