//! Issue 21, "input a user can trust": gpufit never says "fits" about input
//! it did not understand; `-f DIR` and `-R` read what kubectl reads; `-k`
//! renders gpuops' own transformers without a plugin install, and a failed
//! `kubectl kustomize` is one line with a hint; the conventions a kubectl
//! plugin keeps (help with no arguments, NO_COLOR, completion).

use std::path::Path;

use serde_json::Value;

use crate::util::{gpufit, gpufit_with_stdin, repo_root, text};

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: NAME, namespace: ml}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - {name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n";

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    dir
}

fn stderr_lines(out: &std::process::Output) -> Vec<String> {
    text(&out.stderr).lines().map(str::to_string).collect()
}

/// The workloads a JSON report names.
fn workloads(out: &std::process::Output) -> Vec<String> {
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    report["workloads"].as_array().unwrap().iter().map(|w| w["workload"].as_str().unwrap().to_string()).collect()
}

/// Before: each of these printed an empty table and "fits", exit 0.
#[test]
fn nothing_understood_is_an_error_never_fits() {
    let configmaps = tree(&[("a.yaml", CONFIGMAP), ("b.yml", CONFIGMAP)]);
    let empty = tree(&[("empty.yaml", "")]);
    let dir = configmaps.path().to_str().unwrap();
    let file = empty.path().join("empty.yaml");
    let file = file.to_str().unwrap();
    for (args, stdin, found_in) in [
        (vec!["check", "-f", "/dev/null", "--nodes", "8xL4"], "", "/dev/null (no objects at all)".to_string()),
        (vec!["check", "-f", file, "--nodes", "8xL4"], "", format!("{file} (no objects at all)")),
        (
            vec!["check", "-f", dir, "--nodes", "8xL4"],
            "",
            format!("{dir} (2 object(s), none a workload gpufit places)"),
        ),
        (vec!["check", "-f", "-", "--nodes", "8xL4"], "", "stdin (no objects at all)".to_string()),
        (
            vec!["check", "-f", "-", "--nodes", "8xL4"],
            CONFIGMAP,
            "stdin (1 object(s), none a workload gpufit places)".into(),
        ),
    ] {
        let out = gpufit_with_stdin(&args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stdout));
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        assert_eq!(stderr_lines(&out), [format!("error: no workloads found in {found_in}")], "{args:?}");
    }
}

/// kubectl reads a directory's top level; `-R` reads below it. Before:
/// gpufit always recursed, and `-R` was not a flag (exit 2).
#[test]
fn a_directory_is_read_at_its_top_level_unless_recursive() {
    let dir = tree(&[
        ("top.yaml", &DEPLOYMENT.replace("NAME", "top")),
        ("nested/below.yaml", &DEPLOYMENT.replace("NAME", "below")),
        ("notes.md", "# not read\n"),
    ]);
    let path = dir.path().to_str().unwrap();
    let out = gpufit(&["check", "-f", path, "--nodes", "8xL4", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(workloads(&out), ["Deployment/ml/top"]);
    for recursive in ["-R", "--recursive"] {
        let out = gpufit(&["check", "-f", path, recursive, "--nodes", "8xL4", "-o", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(workloads(&out), ["Deployment/ml/below", "Deployment/ml/top"]);
    }
    // Only subdirectories: the error says what -R would do.
    let nested = dir.path().join("nested");
    let parent_only = tree(&[("nested/below.yaml", &DEPLOYMENT.replace("NAME", "below"))]);
    let out = gpufit(&["check", "-f", parent_only.path().to_str().unwrap(), "--nodes", "8xL4"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "error: no workloads found in {} (1 subdirectory(ies) not read: pass -R to read them, as with kubectl)",
            parent_only.path().display()
        )]
    );
    assert!(nested.is_dir());
}

/// Before: `-f` on an overlay read kustomization.yaml and the transformer
/// configs as manifests and checked the base's workloads unpatched.
#[test]
fn a_kustomization_directory_asks_for_k() {
    let overlay = "examples/llmops-overlays/overlays/production";
    for path in [overlay.to_string(), format!("{overlay}/kustomization.yaml")] {
        let out = gpufit(&["check", "-f", &path, "--nodes", "8xL4"]);
        assert_eq!(out.status.code(), Some(2), "{path}");
        assert_eq!(stderr_lines(&out), [format!("error: {overlay} is a kustomization; use -k {overlay}")]);
    }
    let out = gpufit(&["check", "-f", "examples/llmops-overlays", "-R", "--nodes", "8xL4"]);
    assert_eq!(
        stderr_lines(&out),
        ["error: examples/llmops-overlays/base is a kustomization; use -k examples/llmops-overlays/base"]
    );
}

/// HelmRelease, Argo CD Application/ApplicationSet and Flux Kustomization
/// deploy workloads gpufit does not see: a warning naming each (before:
/// silently ignored), an error with --strict (before: not a flag).
#[test]
fn objects_gpufit_cannot_render_are_named() {
    let helm = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: vllm, namespace: llm}\nspec: {chart: {spec: {chart: vllm}}}\n";
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: serving, namespace: argocd}\n";
    let appset = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: fleet, namespace: argocd}\n";
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n";
    let stream = [helm, app, appset, flux, &DEPLOYMENT.replace("NAME", "web")].join("---\n");
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "8xL4"], &stream);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        stderr_lines(&out),
        [
            "warning: HelmRelease/llm/vllm (helm.toolkit.fluxcd.io) deploys workloads gpufit cannot render, so they are not checked: render its chart with `helm template` and check the output with -f",
            "warning: Application/argocd/serving (argoproj.io) deploys workloads gpufit cannot render, so they are not checked: check its source directory with -k or -f",
            "warning: ApplicationSet/argocd/fleet (argoproj.io) deploys workloads gpufit cannot render, so they are not checked: check each generated Application's source directory with -k or -f",
            "warning: Kustomization/flux-system/apps (kustomize.toolkit.fluxcd.io) deploys workloads gpufit cannot render, so they are not checked: check its spec.path with -k",
        ]
    );
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "8xL4", "--strict"], &stream);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(lines[..4].iter().all(|l| l.starts_with("error: ")), "{lines:#?}");
    assert_eq!(
        lines[4],
        "error: 4 object(s) deploy workloads gpufit cannot render (--strict): HelmRelease/llm/vllm (helm.toolkit.fluxcd.io), Application/argocd/serving (argoproj.io), ApplicationSet/argocd/fleet (argoproj.io), Kustomization/flux-system/apps (kustomize.toolkit.fluxcd.io)"
    );
    // A HelmRelease alone: warned, and nothing understood is still an error.
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "8xL4"], helm);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_lines(&out)[1],
        "error: no workloads found in stdin (1 object(s) deploy workloads gpufit cannot render (warned above))"
    );
}

/// Every overlay of the bundled examples, GpuProfile/ModelTags declared as
/// legacy plugins (production-container runs them as a container function,
/// which needs docker), renders with HOME empty and no
/// KUSTOMIZE_PLUGIN_HOME (before: `unable to
/// find plugin root`, exit 2), with the profile applied: the production
/// overlay's 2 GPUs per pod, as the function renders it in
/// examples/llmops-overlays/expected/production.snap.
#[test]
fn k_applies_gpuops_transformers_without_an_install() {
    let out = gpufit(&[
        "check",
        "-k",
        "examples/llmops-overlays/overlays/production",
        "--nodes",
        "2*8xH100-80GB",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let workload = &report["workloads"][0];
    assert_eq!(workload["workload"], "InferenceService/llmops-prod/prod-qwen25-05b-instruct");
    assert_eq!(workload["gpusPerPod"], 2, "{workload:#}");
    // ModelTags applied too: the tag the overlay sets.
    assert_eq!(workload["memory"]["reference"], "oci://registry.example.com:5000/llmops/qwen2.5-0.5b-instruct:1.0.1");
    let expected =
        std::fs::read_to_string(repo_root().join("examples/llmops-overlays/expected/production.snap")).unwrap();
    assert!(expected.contains("nvidia.com/gpu: 2"));

    // Every overlay: those declaring the transformers and those
    // inheriting them (progressive-stages stage2 and stage3 build on stage1).
    let mut overlays = Vec::new();
    for example in std::fs::read_dir(repo_root().join("examples")).unwrap().flatten() {
        let Ok(entries) = std::fs::read_dir(example.path().join("overlays")) else { continue };
        for overlay in entries.flatten() {
            let container = std::fs::read_dir(overlay.path()).unwrap().flatten().any(|f| {
                std::fs::read_to_string(f.path()).unwrap_or_default().contains("config.kubernetes.io/function")
            });
            if !container {
                overlays.push(overlay.path());
            }
        }
    }
    overlays.sort();
    assert!(overlays.len() >= 9, "{overlays:?}");
    for overlay in overlays {
        let relative = overlay.strip_prefix(repo_root()).unwrap().to_str().unwrap().to_string();
        let out = gpufit(&["check", "-k", &relative, "--nodes", "4*8xH100-80GB"]);
        assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{relative}: {}", text(&out.stderr));
    }
}

/// The user's own plugin home still serves its other plugins (linked into
/// the one `-k` hands kustomize), while gpuops' kinds are gpufit's even
/// where an old gpuops-inject is installed there. Before: the GpuProfile
/// ran the installed (here failing) plugin.
#[test]
fn k_keeps_the_users_other_plugins() {
    use std::os::unix::fs::PermissionsExt;
    let deployment = DEPLOYMENT.replace("NAME", "web");
    let dir = tree(&[
        ("app/deploy.yaml", &deployment),
        (
            "app/gpu.yaml",
            "apiVersion: gpuops.dev/v1alpha1\nkind: GpuProfile\nmetadata: {name: two}\nspec:\n  selector: {kinds: [Deployment]}\n  gpu: {count: 2}\n",
        ),
        ("app/label.yaml", "apiVersion: example.com/v1\nkind: Stamp\nmetadata: {name: stamp}\n"),
        ("app/kustomization.yaml", "resources: [deploy.yaml]\ntransformers: [gpu.yaml, label.yaml]\n"),
        // The user's plugin passes the stream through; kustomize fails
        // if it cannot find it.
        ("home/example.com/v1/stamp/Stamp", "#!/bin/sh\ncat\n"),
        ("home/gpuops.dev/v1alpha1/gpuprofile/GpuProfile", "#!/bin/sh\necho stale gpuops-inject >&2; exit 1\n"),
    ]);
    for plugin in ["home/example.com/v1/stamp/Stamp", "home/gpuops.dev/v1alpha1/gpuprofile/GpuProfile"] {
        std::fs::set_permissions(dir.path().join(plugin), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let app = dir.path().join("app");
    let out = crate::util::gpufit_env(
        &["check", "-k", app.to_str().unwrap(), "--nodes", "8xL4", "-o", "json"],
        &[("KUSTOMIZE_PLUGIN_HOME", &dir.path().join("home"))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["workloads"][0]["gpusPerPod"], 2, "{report:#}");
}

/// kustomize's own message, one line (kubectl 1.31+ wraps it in a klog
/// line), and a hint when the cause is known; a GpuProfile that selects
/// nothing is shown (kustomize keeps a plugin's stderr to itself).
#[test]
fn a_failed_kustomize_is_one_line_with_a_hint() {
    let plain = tree(&[("deploy.yaml", &DEPLOYMENT.replace("NAME", "web"))]);
    let dir = plain.path().display().to_string();
    let out = gpufit(&["check", "-k", &dir, "--nodes", "8xL4"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_lines(&out),
        [
            format!(
                "error: kubectl kustomize {dir}: unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{dir}'"
            ),
            format!("hint: {dir} holds no kustomization.yaml: read its manifests with -f {dir}"),
        ]
    );
    let missing = tree(&[("kustomization.yaml", "resources:\n- gone.yaml\n")]);
    let out = gpufit(&["check", "-k", missing.path().to_str().unwrap(), "--nodes", "8xL4"]);
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[1].starts_with("hint: ") && lines[1].contains("gone.yaml does not exist"), "{lines:#?}");

    let out = gpufit(&["check", "-k", "no/such/overlay", "--nodes", "8xL4"]);
    assert_eq!(stderr_lines(&out), ["error: the path \"no/such/overlay\" does not exist"]);

    // An invalid profile: the function's own message, the field named.
    let copy = copy_overlay("count: 2", "count: two");
    let out = gpufit(&["check", "-k", copy.1.to_str().unwrap(), "--nodes", "8xL4"]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].ends_with("GpuProfile/production-gpu: spec.gpu.count: invalid value: string \"two\", expected a whole number of GPUs or \"auto\""), "{lines:#?}");

    // A selector that matches nothing: the check runs, and says so. The
    // vLLM pod then requests no GPU, which is a problem (exit 1).
    let copy = copy_overlay("names: [qwen25-05b-instruct]", "names: [nothing]");
    let out = gpufit(&["check", "-k", copy.1.to_str().unwrap(), "--nodes", "8xL4"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("no GPU requested"), "{}", text(&out.stdout));
    assert_eq!(stderr_lines(&out), ["warning: spec.selector: GpuProfile/production-gpu: selector matched no workload"]);
}

/// cli-runtime pkg/resource/builder_test.go, TestKustomizeDirectoryBuilder,
/// every row with its files (`setupKustomizeDirectory`): a directory
/// without a kustomization (kustomize's words), the kustomization
/// (`nameprefix: test-`: the Deployment is test-the-deployment), and a
/// file as -k (kubectl: "must be a directory to be a root"; here said
/// before kubectl runs, with a hint).
#[test]
fn upstream_kustomize_directory_builder() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: the-deployment\nspec:\n  replicas: 3\n  template:\n    metadata:\n      labels:\n        deployment: hello\n    spec:\n      containers:\n      - name: the-container\n        image: monopole/hello:1\n";
    let dir = tree(&[
        (
            "kust/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: the-map\ndata:\n  altGreeting: \"Good Morning!\"\n",
        ),
        ("kust/deployment.yaml", deployment),
        (
            "kust/service.yaml",
            "kind: Service\napiVersion: v1\nmetadata:\n  name: the-service\nspec:\n  selector:\n    deployment: hello\n",
        ),
        (
            "kust/kustomization.yaml",
            "nameprefix: test-\nresources:\n- deployment.yaml\n- service.yaml\n- configmap.yaml\n",
        ),
        ("guestbook/redis-master.yaml", deployment),
        ("kustomization/should-not-load.yaml", deployment),
    ]);
    let at = |p: &str| dir.path().join(p).display().to_string();
    let out = gpufit(&["check", "-k", &at("guestbook"), "--nodes", "8xL4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization'")
    );
    let out = gpufit(&["check", "-k", &at("kust"), "--nodes", "8xL4", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(workloads(&out), ["Deployment/test-the-deployment"]);
    for file in [at("kust/kustomization.yaml"), at("kustomization/should-not-load.yaml")] {
        let out = gpufit(&["check", "-k", &file, "--nodes", "8xL4"]);
        assert_eq!(
            stderr_lines(&out),
            [
                format!("error: kubectl kustomize {file}: not a directory"),
                "hint: -k takes a kustomization directory; read a manifest file with -f".to_string(),
            ]
        );
    }
}

/// The llmops example copied to a temporary directory with one edit to
/// the production overlay's GpuProfile; returns it and the overlay.
fn copy_overlay(from: &str, to: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("examples/llmops-overlays");
    copy_tree(&source, &dir.path().join("llmops"));
    let gpu = dir.path().join("llmops/overlays/production/gpu.yaml");
    let text = std::fs::read_to_string(&gpu).unwrap();
    assert!(text.contains(from));
    std::fs::write(&gpu, text.replace(from, to)).unwrap();
    let overlay = dir.path().join("llmops/overlays/production");
    (dir, overlay)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// kubectl alone prints its help and exits 0; so does `kubectl gpufit`
/// (before: clap's usage error, exit 2).
#[test]
fn no_arguments_print_the_help() {
    let out = gpufit(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), text(&gpufit(&["--help"]).stdout));
    assert!(out.stderr.is_empty());
}

/// `kubectl gpufit check -k <TAB>` completes directories, `-f <TAB>`
/// kubectl's manifest extensions (before: `:0`, any file).
#[test]
fn completion_offers_directories_for_k() {
    for (words, expected) in [
        (&["check", "-k", ""][..], ":16\n"),
        (&["check", "--kustomize", "exa"], ":16\n"),
        (&["check", "-f", ""], "json\nyaml\nyml\n:8\n"),
        (&["check", "-n", "x", "--filename", ""], "json\nyaml\nyml\n:8\n"),
    ] {
        let args = [&["__complete"][..], words].concat();
        assert_eq!(text(&gpufit(&args).stdout), expected, "{words:?}");
    }
}

/// `--kv-transfer-config` takes vLLM's JSON: the connector is named in the
/// answer as not modelled (text and JSON); a value that is not that JSON is
/// a usage error naming the flag, not a silent "fits".
#[test]
fn a_kv_connector_is_reported_unmodelled_and_a_bad_config_refused() {
    let lmcache = r#"{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}"#;
    let base =
        ["model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "H100", "--engine", "0.11.0", "--max-model-len", "8k"];
    let out = gpufit(&[&base[..], &["--kv-transfer-config", lmcache]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("note:         KV connector LMCacheConnectorV1 (--kv-transfer-config) is not modelled"),
        "{}",
        text(&out.stdout)
    );
    let json = gpufit(&[&base[..], &["--kv-transfer-config", lmcache, "-o", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        doc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("KV connector LMCacheConnectorV1")),
        "{doc}"
    );
    let bad = gpufit(&[&base[..], &["--kv-transfer-config", "LMCacheConnectorV1"]].concat());
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).starts_with("error: --kv-transfer-config \"LMCacheConnectorV1\" is not vLLM's JSON"),
        "{}",
        text(&bad.stderr)
    );
    assert!(bad.stdout.is_empty());
}

/// vLLM 0.8.5 runs pipeline parallelism on V1 only with Ray
/// (engine/arg_utils.py v0.8.5:1476-1482): without the flag the answer's
/// engine is V0 and a note says why, in vLLM's words.
#[test]
fn the_executor_backend_decides_the_engine_under_pipeline_parallelism() {
    let base = [
        "model",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--gpu",
        "H100",
        "--engine",
        "0.8.5",
        "--pp",
        "2",
        "--max-model-len",
        "8k",
    ];
    let plain = text(&gpufit(&base).stdout);
    assert!(plain.contains("engine:       vLLM 0.8.5 v0 "), "{plain}");
    assert!(
        plain.contains("note:         Pipeline Parallelism without Ray distributed executor is not supported by the V1 Engine. Falling back to V0."),
        "{plain}"
    );
    let ray = text(&gpufit(&[&base[..], &["--distributed-executor-backend", "ray"]].concat()).stdout);
    assert!(ray.contains("engine:       vLLM 0.8.5 v1 "), "{ray}");
    assert!(!ray.contains("Falling back to V0"), "{ray}");
}
