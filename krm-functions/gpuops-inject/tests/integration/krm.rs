//! The KRM ResourceList protocol.

use serde_json::Value;

use crate::util::{self, parse_stream, text};

const GPU_CONFIG: &str = "  functionConfig:
    apiVersion: gpuops.dev/v1alpha1
    kind: GpuProfile
    metadata:
      name: two
    spec:
      gpu: {count: 2}
";

fn list(api_version: &str, items: &str, config: &str) -> String {
    format!(
        "apiVersion: {api_version}\nkind: ResourceList\nitems:\n{items}{}",
        config.replacen("  functionConfig", "functionConfig", 1).replace("\n    ", "\n  ")
    )
}

const DEPLOYMENT: &str = "- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: llm
    namespace: ml
    annotations:
      internal.config.kubernetes.io/path: apps/llm.yaml
      internal.config.kubernetes.io/index: '1'
      internal.config.kubernetes.io/id: '7'
      config.kubernetes.io/path: apps/llm.yaml
      config.kubernetes.io/index: '1'
      config.k8s.io/id: '7'
      kustomize.config.k8s.io/id: |
        group: apps
        kind: Deployment
        name: llm
  spec:
    template:
      spec:
        containers:
        - name: vllm
          image: vllm/vllm-openai:v0.8.5
";

#[test]
fn yaml_in_yaml_out_with_annotations_untouched() {
    let input = list("config.kubernetes.io/v1beta1", DEPLOYMENT, GPU_CONFIG);
    let out = util::krm(&input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("apiVersion: config.kubernetes.io/v1beta1\nkind: ResourceList\n"), "{stdout}");
    let output = &parse_stream(&stdout)[0];
    let input = &parse_stream(&input)[0];
    assert_eq!(
        output["items"][0]["metadata"], input["items"][0]["metadata"],
        "metadata (all annotations) must pass through"
    );
    let container = &output["items"][0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["resources"]["limits"]["nvidia.com/gpu"], 2);
    assert_eq!(container["resources"]["requests"]["nvidia.com/gpu"], 2);
    assert_eq!(container["args"][0], "--tensor-parallel-size=2");
    let results = output["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["severity"] == "info"
            && r["message"].as_str().unwrap().contains("1 of 1 selected workload(s) changed")),
        "{results:?}"
    );
}

#[test]
fn list_kind_and_json_are_accepted() {
    let input = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x"}]}}],
        "functionConfig":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"function-input"},"data":{"gpuCount":"1"}}}"#;
    let out = util::krm(input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let output: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(output["kind"], "List");
    assert_eq!(output["items"][0]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"], 1);
}

#[test]
fn selector_matching_nothing_is_a_warning_not_a_failure() {
    let config = GPU_CONFIG.replace("gpu: {count: 2}", "selector: {kinds: [StatefulSet]}\n      gpu: {count: 2}");
    let input = list("config.kubernetes.io/v1", DEPLOYMENT, &config);
    let out = util::krm(&input);
    assert!(out.status.success());
    let output = &parse_stream(&text(&out.stdout))[0];
    let warning =
        output["results"].as_array().unwrap().iter().find(|r| r["severity"] == "warning").expect("warning result");
    assert!(warning["message"].as_str().unwrap().contains("GpuProfile/two: selector matched no workload"), "{warning}");
    assert_eq!(output["items"], parse_stream(&input)[0]["items"], "nothing selected, nothing changed");
    assert!(text(&out.stderr).contains("warning: "), "warnings reach the user on stderr");
}

#[test]
fn model_matching_nothing_is_a_warning() {
    let config = "functionConfig:\n  apiVersion: gpuops.dev/v1alpha1\n  kind: ModelTags\n  metadata: {name: m}\n  spec:\n    models:\n    - {name: example.com/absent, newTag: v2}\n";
    let out =
        util::krm(&format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{DEPLOYMENT}{config}"));
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("ModelTags/m: model \\\"example.com/absent\\\" matched no reference")
            || text(&out.stdout).contains("model \"example.com/absent\" matched no reference"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn error_results_name_file_and_keep_items() {
    let config =
        GPU_CONFIG.replace("spec:\n      gpu: {count: 2}", "spec:\n      gpu: {count: 2}\n      tensorParallel: check");
    let input = list(
        "config.kubernetes.io/v1",
        &DEPLOYMENT.replace("image: vllm", "args: [--tensor-parallel-size=1]\n          image: vllm"),
        &config,
    );
    let out = util::krm(&input);
    assert_eq!(out.status.code(), Some(1));
    let output = &parse_stream(&text(&out.stdout))[0];
    assert_eq!(output["items"], parse_stream(&input)[0]["items"]);
    let error = output["results"].as_array().unwrap().iter().find(|r| r["severity"] == "error").expect("error result");
    assert_eq!(error["resourceRef"]["name"], "llm");
    assert_eq!(error["file"]["path"], "apps/llm.yaml");
    assert_eq!(error["file"]["index"], 1);
    assert_eq!(error["field"]["currentValue"], 1);
    assert_eq!(error["field"]["proposedValue"], 2);
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{stderr}");
}

#[test]
fn no_function_config_passes_items_through() {
    let input = format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{DEPLOYMENT}");
    let out = util::krm(&input);
    assert!(out.status.success());
    let output = &parse_stream(&text(&out.stdout))[0];
    assert_eq!(output["items"], parse_stream(&input)[0]["items"]);
    assert_eq!(output["results"][0]["severity"], "info");
}

#[test]
fn empty_items_stay_an_empty_list() {
    let out = util::krm(&format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n{}",
        GPU_CONFIG.replacen("  functionConfig", "functionConfig", 1).replace("\n    ", "\n  ")
    ));
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("\nitems: []\n"), "{}", text(&out.stdout));
}

#[test]
fn input_that_is_not_a_resource_list_fails_clearly() {
    let out = util::krm("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr).trim(),
        "gpuops-inject: <stdin>: expected kind ResourceList or List, found \"Deployment\""
    );

    let out = util::krm("kind: ResourceList\nitems:\n- a: [1, 2\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("gpuops-inject: <stdin>: ") && stderr.contains("line"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn plugin_mode_keeps_untouched_documents_byte_for_byte() {
    let dir = crate::util::testdata("all-kinds");
    let input = std::fs::read_to_string(dir.join("input.yaml")).unwrap();
    let out = util::plugin(&dir.join("config.yaml"), &input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let first_input_doc = input.split("\n---\n").next().unwrap();
    assert!(
        stdout.starts_with(first_input_doc),
        "ConfigMap with comments and `1.10`/`yes` scalars must be unchanged:\n{stdout}"
    );
    let last_input_doc = input.rsplit("\n---\n").next().unwrap();
    assert!(stdout.ends_with(last_input_doc), "unknown-group Deployment must be unchanged");
}

#[test]
fn install_plugin_places_executables_where_kustomize_looks() {
    let home = util::plugin_home();
    for (dir, kind) in [("gpuprofile", "GpuProfile"), ("modeltags", "ModelTags")] {
        let path = home.path().join("kustomize/plugin/gpuops.dev/v1alpha1").join(dir).join(kind);
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o111, 0o111, "{} must be executable", path.display());
    }
    let mut cmd = util::hermetic(util::binary());
    cmd.args(["install-plugin", "--bogus"]);
    assert_eq!(cmd.output().unwrap().status.code(), Some(2));
}

/// kustomize and kpt show a function's stderr: silent unless `GPUOPS_LOG` asks.
#[test]
fn silent_on_stderr_unless_gpuops_log_is_set() {
    let input = list("config.kubernetes.io/v1", DEPLOYMENT, GPU_CONFIG);
    let quiet = util::krm(&input);
    assert!(quiet.status.success(), "{}", text(&quiet.stderr));
    assert_eq!(text(&quiet.stderr), "", "nothing on stderr by default");

    let mut cmd = util::hermetic(util::binary());
    cmd.env("GPUOPS_LOG", "debug");
    let loud = util::run_with_stdin(cmd, &input);
    assert!(loud.status.success(), "{}", text(&loud.stderr));
    let stderr = text(&loud.stderr);
    assert!(stderr.contains("transformed") && stderr.contains("GpuProfile/two"), "{stderr}");
    assert_eq!(loud.stdout, quiet.stdout, "logging never changes the output");
}

/// Config errors say once which object and field (kpt prints resourceRef
/// and field beside the message), name the stream line of a YAML error in
/// functionConfig, and carry no advice meant for the YAML library's caller.
#[test]
fn config_error_messages_say_each_thing_once() {
    let config = GPU_CONFIG.replace("gpu: {count: 2}", "gpu: {count: 2}\n      bogus: 1");
    let out = util::krm(&list("config.kubernetes.io/v1", DEPLOYMENT, &config));
    assert_eq!(out.status.code(), Some(1));
    let output = &parse_stream(&text(&out.stdout))[0];
    let error = &output["results"][0];
    assert!(error["message"].as_str().unwrap().starts_with("unknown field `bogus`"), "{error}");
    assert_eq!(error["field"]["path"], "spec.bogus");
    assert_eq!(error["resourceRef"]["kind"], "GpuProfile");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("GpuProfile/two").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("spec.bogus").count(), 1, "{stderr}");

    let out = util::krm("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: 5\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("functionConfig must be a mapping") && stderr.contains("not 5"), "{stderr}");
    assert!(!stderr.contains("/: kind"), "{stderr}");
    let output = &parse_stream(&text(&out.stdout))[0];
    assert!(output["results"][0].get("resourceRef").is_none(), "no empty resourceRef: {}", output["results"][0]);

    // The duplicate `gpu` key: its own line in the stream.
    let config = GPU_CONFIG.replace("gpu: {count: 2}", "gpu: {count: 2}\n      gpu: {count: 4}");
    let input = list("config.kubernetes.io/v1", DEPLOYMENT, &config);
    let line = input.lines().position(|l| l.contains("count: 4")).unwrap() + 1;
    let out = util::krm(&input);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("line {line} column")) && stderr.contains("duplicate mapping key: gpu"),
        "{stderr}"
    );
    assert!(!stderr.contains("DuplicateKeyPolicy"), "{stderr}");
}
