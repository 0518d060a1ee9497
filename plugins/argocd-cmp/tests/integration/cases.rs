//! Every case runs the real binary through the harness, as Argo CD would.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Plugin, Profile, Source, Workspace, manifests, parameters, processes_with, repo_root, text};

fn applications(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
    gpuops_manifest::yaml::parse_stream(&text, file)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .filter(|v| v["kind"] == "Application" || v["kind"] == "ApplicationSet")
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects.iter().find(|o| o["kind"] == kind).unwrap_or_else(|| panic!("no {kind}"))
}

/// Seed 001: each environment's Application renders its overlay with its
/// own GPU count and model tag, the same bytes every time.
#[test]
fn seed_001_applications_render_with_their_parameters() {
    let ws = Workspace::new();
    for env in ["dev", "staging", "production"] {
        let app = &applications(&format!("examples/llmops-overlays/argocd/{env}-application.yaml"))[0];
        let source = Source::of_application(app);
        let out = ws.generate(&source);
        assert_eq!(out.status.code(), Some(0), "{env}: {}", text(&out.stderr));
        let objects = manifests(&out.stdout);
        let isvc = find(&objects, "InferenceService");
        let wanted: &Value = &app["spec"]["source"]["plugin"]["parameters"][0]["string"];
        let gpus = &isvc["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"];
        assert_eq!(gpus.to_string(), wanted.as_str().unwrap(), "{env}: gpu-count");
        let tag = app["spec"]["source"]["plugin"]["parameters"][1]["map"].as_object().unwrap().values().next().unwrap();
        let uri = isvc["spec"]["predictor"]["model"]["storageUri"].as_str().unwrap();
        assert!(uri.ends_with(&format!(":{}", tag.as_str().unwrap())), "{env}: {uri}");
        assert_eq!(ws.generate(&source).stdout, out.stdout, "{env}: deterministic");
    }
}

/// Without parameters the render is kustomize's own output, byte for byte.
#[test]
fn no_parameters_is_kustomize_byte_for_byte() {
    let ws = Workspace::new();
    let dir = ws.root.join("examples/llmops-overlays/overlays/production");
    let out = ws.generate(&Source::at("examples/llmops-overlays/overlays/production"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let kustomize = std::process::Command::new("kubectl")
        .args(["kustomize", "--enable-alpha-plugins", "."])
        .current_dir(&dir)
        .env("KUSTOMIZE_PLUGIN_HOME", ws.root.parent().unwrap().parent().unwrap().join("plugin-home"))
        .output()
        .unwrap();
    assert!(kustomize.status.success(), "{}", text(&kustomize.stderr));
    assert_eq!(text(&out.stdout), text(&kustomize.stdout));
}

/// Seed 003 with the fit gate: dev and prod fit; staging does not, and the
/// sync fails with the scheduler's words, as `kubectl gpufit check` says them.
#[test]
fn seed_003_fit_gate_enforce_fails_staging_with_the_schedulers_words() {
    let ws = Workspace::new();
    let apps = applications("examples/multi-model-rl/argocd/applications.yaml");
    assert_eq!(apps.len(), 3);
    let gpufit = std::fs::read_to_string(repo_root().join("examples/multi-model-rl/expected/staging.snap")).unwrap();
    for app in &apps {
        let source = Source::of_application(app);
        let out = ws.generate(&source);
        let stderr = text(&out.stderr);
        if source.path.ends_with("staging") {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(out.stdout.is_empty(), "nothing rendered on failure");
            assert!(stderr.contains("fit gate (enforce): the render does not fit"), "{stderr}");
            // The README shows these lines of this very refusal.
            let readme = std::fs::read_to_string(gpuops_testkit::readme::path()).unwrap();
            let (line, shown) =
                gpuops_testkit::readme::marked(&readme, "argocd-gpuops-cmp: seed 003 staging, fit gate enforce")
                    .expect("the README shows the refusal");
            if let Err(missing) = gpuops_testkit::readme::lines_in_order(&shown, &stderr) {
                panic!("README.md:{line}: {missing:?} is not in the sidecar's stderr:\n{stderr}");
            }
            // The same problem lines gpufit prints (its reviewed snapshot), node names aside.
            for line in gpufit
                .lines()
                .filter(|l| l.starts_with("  0/") || l.starts_with("  memory:") || l.starts_with("  fix:"))
            {
                assert!(stderr.contains(line), "missing {line:?} in {stderr}");
            }
            // warn: the same words on stderr, the render on stdout, success.
            let mut warn = source.clone();
            warn.parameters.as_mut().unwrap()[0]["string"] = json!("warn");
            let out = ws.generate(&warn);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            assert!(text(&out.stderr).contains("fit gate (warn): the render does not fit"));
            assert!(!manifests(&out.stdout).is_empty());
        } else {
            assert_eq!(out.status.code(), Some(0), "{}: {stderr}", source.path);
            assert_eq!(stderr, "", "{}: a fitting render says nothing", source.path);
        }
    }
}

/// Seed 004's ApplicationSet on the plugin: a plain directory of YAML, the
/// fit gate warning against the repo's cluster dump.
#[test]
fn seed_004_applicationset_renders_a_plain_directory() {
    let ws = Workspace::new();
    let appset = &applications("examples/gpu-scheduler-appset/argocd/gpu-scheduler-plugin-applicationset.yaml")[0];
    let out = ws.generate(&Source::of_application(appset));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objects = manifests(&out.stdout);
    assert!(objects.iter().any(|o| o["kind"] == "Pod"), "the check pods are rendered");
}

#[test]
fn malformed_or_unknown_parameters_are_one_line_errors() {
    let ws = Workspace::new();
    let path = "examples/llmops-overlays/overlays/dev";
    let mut cmd = ws.command(&Plugin::load().generate, &Source::at(path), Profile::Generate);
    let out = cmd.env("ARGOCD_APP_PARAMETERS", "{not json").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("argocd-gpuops-cmp: ARGOCD_APP_PARAMETERS is not a JSON array"),
        "{}",
        text(&out.stderr)
    );
    for (params, expect) in [
        (parameters(&[("gpu_count", json!("2"))]), "unknown parameter \"gpu_count\""),
        (parameters(&[("gpu-count", json!("two"))]), "parameter gpu-count: \"two\" is not a whole number"),
        (parameters(&[("fit-gate", json!("strict"))]), "parameter fit-gate: \"strict\" is not off, warn or enforce"),
        (parameters(&[("fit-gate", json!("enforce"))]), "parameter capacity: required"),
        (parameters(&[("gpu-product", json!("NVIDIA-L4"))]), "parameter gpu-product needs gpu-count"),
        (parameters(&[("gpu-count", json!("auto"))]), "spec.gpu.product: count: auto needs the GPU product"),
    ] {
        let out = ws.generate(&Source::at(path).with(params));
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains(expect), "{expect}: {}", text(&out.stderr));
    }
}

#[test]
fn a_kustomize_failure_is_passed_through_and_nothing_is_printed() {
    let ws = Workspace::new();
    ws.write("apps/broken/kustomization.yaml", "resources:\n- missing.yaml\n");
    let out = ws.generate(&Source::at("apps/broken"));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("kustomize . failed") && stderr.contains("missing.yaml"), "{stderr}");
}

#[test]
fn an_empty_render_is_refused_unless_allowed() {
    let ws = Workspace::new();
    ws.write("apps/empty/kustomization.yaml", "resources: []\n");
    let out = ws.generate(&Source::at("apps/empty"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the render is empty"), "{}", text(&out.stderr));
    let out = ws.generate(&Source::at("apps/empty").with(parameters(&[("allow-empty", json!("true"))])));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The sidecar runs the hanging kind only when its operator allows it.
const ALLOW_HANG: (&str, &str) = ("GPUOPS_ALLOWED_PLUGINS", "example.com/v1/Hang");

/// A kustomization whose transformer (a legacy exec plugin) hangs.
fn hanging_app(ws: &Workspace, marker: &str) -> Source {
    use std::os::unix::fs::PermissionsExt;
    let home = ws.root.parent().unwrap().parent().unwrap().join("plugin-home/example.com/v1/hang");
    std::fs::create_dir_all(&home).unwrap();
    let script = home.join("Hang");
    // `marker` is a number (60.<pid><n>) so the sleep itself carries it.
    std::fs::write(&script, format!("#!/bin/sh\nexec sleep {marker}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    ws.write("apps/hang/kustomization.yaml", "resources: [cm.yaml]\ntransformers: [hang.yaml]\n");
    ws.write("apps/hang/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    ws.write("apps/hang/hang.yaml", "apiVersion: example.com/v1\nkind: Hang\nmetadata: {name: h}\n");
    Source::at("apps/hang")
}

#[test]
fn the_deadline_ends_kustomize_and_its_children() {
    let ws = Workspace::new();
    let marker = format!("60.{}1", std::process::id());
    let mut source = hanging_app(&ws, &marker);
    source.env.insert("GPUOPS_DEADLINE".into(), "1".into());
    let started = Instant::now();
    let out = ws
        .command(&Plugin::load().generate, &source, Profile::Generate)
        .env(ALLOW_HANG.0, ALLOW_HANG.1)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(text(&out.stderr).contains("stopped at the plugin's deadline"), "{}", text(&out.stderr));
    assert_eq!(processes_with(&marker), 0, "no child left behind");
}

#[test]
fn sigterm_mid_build_exits_within_five_seconds_and_leaves_no_child() {
    let ws = Workspace::new();
    let marker = format!("60.{}2", std::process::id());
    let source = hanging_app(&ws, &marker);
    let child = ws
        .command(&Plugin::load().generate, &source, Profile::Generate)
        .env(ALLOW_HANG.0, ALLOW_HANG.1)
        .spawn()
        .unwrap();
    let appeared = Instant::now();
    while processes_with(&marker) == 0 && appeared.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(processes_with(&marker) > 0, "the hanging plugin started");
    let sent = Instant::now();
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(5), "{:?}", sent.elapsed());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("stopped by SIGTERM"), "{}", text(&out.stderr));
    assert_eq!(processes_with(&marker), 0, "no orphan");
}

/// The rendered Secret's data never reaches stderr (Argo CD shows and caches
/// all of it), whatever the gate says.
#[test]
fn a_secret_in_the_render_never_appears_on_stderr() {
    let ws = Workspace::new();
    let path = "examples/llmops-overlays/overlays/production";
    let render = ws.generate(&Source::at(path));
    let secret = manifests(&render.stdout).into_iter().find(|o| o["kind"] == "Secret").expect("the base has a Secret");
    let values: Vec<String> = ["data", "stringData"]
        .iter()
        .filter_map(|key| secret[key].as_object())
        .flat_map(|m| m.values())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert!(!values.is_empty());
    for gate in ["warn", "enforce"] {
        let out = ws
            .generate(&Source::at(path).with(parameters(&[("fit-gate", json!(gate)), ("capacity", json!("1*1xL4"))])));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("does not fit"), "{gate}: {stderr}");
        for v in &values {
            assert!(!stderr.contains(v.as_str()), "{gate}: the secret leaked: {stderr}");
        }
    }
}

fn all_strings(v: &Value) -> bool {
    match v {
        Value::String(_) | Value::Bool(_) => true, // `required` is the one bool key
        Value::Array(a) => a.iter().all(|x| x.is_string()),
        Value::Object(m) => m.iter().all(|(k, x)| {
            if k == "map" {
                x.as_object().unwrap().values().all(Value::is_string)
            } else if k == "array" {
                x.as_array().unwrap().iter().all(Value::is_string)
            } else {
                all_strings(x)
            }
        }),
        _ => false,
    }
}

/// `parameters` with the UI's reduced env (no revision, namespace or
/// KUBE_*): a JSON array of string-valued announcements, with the models and
/// GPU counts the app holds today.
#[test]
fn parameters_announce_string_defaults_from_the_app_dir() {
    let ws = Workspace::new();
    let out = ws.run(
        &Plugin::load().parameters,
        &Source::at("examples/llmops-overlays/overlays/production"),
        Profile::Parameters,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert!(list.iter().all(all_strings), "{list:?}");
    let names: Vec<&str> = list.iter().map(|a| a["name"].as_str().unwrap()).collect();
    for known in [
        "gpu-count",
        "gpu-resource",
        "gpu-product",
        "model-tags",
        "fit-gate",
        "capacity",
        "kube-version",
        "allow-empty",
    ] {
        assert!(names.contains(&known), "{known}");
    }
    let tags = &list.iter().find(|a| a["name"] == "model-tags").unwrap()["tooltip"];
    assert!(
        tags.as_str().unwrap().contains("registry.example.com:5000/llmops/qwen2.5-0.5b-instruct: 1.0.0"),
        "the base's model tag: {tags}"
    );
}

/// The auto-discovery profile (build variables only, no parameters at all):
/// the plugin still renders.
#[test]
fn generate_with_the_discovery_profile_env() {
    let ws = Workspace::new();
    let out =
        ws.run(&Plugin::load().generate, &Source::at("examples/llmops-overlays/overlays/dev"), Profile::Discovery);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!manifests(&out.stdout).is_empty());
}

#[test]
fn self_check_names_the_plugin_and_the_fixes() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_argocd-gpuops-cmp"))
        .args(["self-check", "--config-dir"])
        .arg(repo_root().join("plugins/argocd-cmp"))
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Applications use: spec.source.plugin.name: gpuops-v1"), "{stdout}");
    assert!(stdout.contains("socket: /home/argocd/cmp-server/plugins/gpuops-v1.sock"), "{stdout}");
    // Outside the sidecar (no entrypoint, not uid 999): exit 1 with the fix.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL entrypoint") && stdout.contains("fix: mount the repo-server's `var-files`"),
        "{stdout}"
    );
}

/// The sidecar image, built FROM scratch with the local docker engine, run
/// as Argo CD runs it (uid 999, no network, its own /tmp): `generate` on a
/// copied app prints exactly what the host run prints.
#[test]
fn the_sidecar_image_renders_like_the_host() {
    gpuops_testkit::build_image("plugins/argocd-cmp/build-image.sh", "gpuops/argocd-gpuops-cmp:test");
    let ws = Workspace::new();
    let path = "examples/llmops-overlays/overlays/production";
    let params =
        parameters(&[("gpu-count", json!("4")), ("fit-gate", json!("warn")), ("capacity", json!("2*8xH100-80GB"))]);
    let host = ws.generate(&Source::at(path).with(params.clone()));
    assert_eq!(host.status.code(), Some(0), "{}", text(&host.stderr));
    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--user", "999", "--network", "none", "--tmpfs", "/tmp", "--read-only"])
        .arg("-v")
        .arg(format!("{}:/tmp/_cmp_server/app:ro", ws.root.display()))
        .args(["-w", &format!("/tmp/_cmp_server/app/{path}")])
        .args(["-e", &format!("ARGOCD_APP_PARAMETERS={params}"), "-e", &format!("ARGOCD_APP_SOURCE_PATH={path}")])
        .args(["gpuops/argocd-gpuops-cmp:test", "generate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), text(&host.stdout), "the container renders byte for byte what the host renders");
}

/// The install overlay, built with the real kustomize on a stand-in of Argo
/// CD's repo-server: the sidecar as Argo CD requires it.
#[test]
fn the_install_overlay_adds_the_sidecar_as_argo_cd_requires() {
    let dir = tempfile::tempdir().unwrap();
    let install = repo_root().join("plugins/argocd-cmp/install");
    for file in ["repo-server-sidecar.yaml", "cmd-params.yaml"] {
        std::fs::copy(install.join(file), dir.path().join(file)).unwrap();
    }
    std::fs::copy(
        repo_root().join("plugins/argocd-cmp/tests/fixtures/argocd-repo-server.yaml"),
        dir.path().join("argocd.yaml"),
    )
    .unwrap();
    // The shipped kustomization with the remote install swapped for the stand-in.
    let kustomization = std::fs::read_to_string(install.join("kustomization.yaml")).unwrap();
    let remote = kustomization.lines().find(|l| l.contains("https://")).unwrap();
    std::fs::write(dir.path().join("kustomization.yaml"), kustomization.replace(remote, "- argocd.yaml")).unwrap();
    let out = std::process::Command::new("kubectl").args(["kustomize"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let objects = manifests(&out.stdout);
    let deployment = find(&objects, "Deployment");
    let spec = &deployment["spec"]["template"]["spec"];
    let sidecar = spec["containers"].as_array().unwrap().iter().find(|c| c["name"] == "gpuops").unwrap();
    // Issue 22, deliverable 1: tini reaps in front of argocd-cmp-server
    // (which argo-cd's install runs as the container's command and which
    // does not reap, argo-cd #29349; image.rs checks the reaping).
    assert_eq!(sidecar["command"], json!(["/usr/bin/tini", "-g", "--", "/var/run/argocd/argocd-cmp-server"]));
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    assert_eq!(sidecar["securityContext"]["runAsNonRoot"], true);
    let mounts: Vec<(&str, &str)> = sidecar["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["mountPath"].as_str().unwrap()))
        .collect();
    assert!(mounts.contains(&("var-files", "/var/run/argocd")), "{mounts:?}");
    assert!(mounts.contains(&("plugins", "/home/argocd/cmp-server/plugins")), "{mounts:?}");
    assert!(mounts.contains(&("gpuops-tmp", "/tmp")), "its own /tmp, not the repo-server's: {mounts:?}");
    let volumes: Vec<&str> = spec["volumes"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert!(volumes.contains(&"gpuops-tmp") && volumes.contains(&"tmp"), "{volumes:?}");
    assert_eq!(spec["containers"].as_array().unwrap().len(), 2, "the repo-server container is kept");
    let params = find(&objects, "ConfigMap");
    assert_eq!(params["data"]["reposerver.plugin.tar.exclusions"], ".git/*");
    // Issue 22, deliverable 9: the plugin's deadline follows Argo CD's RPC
    // timeout, fed from the argocd-cmd-params-cm keys argo-cd's own
    // manifests use (manifests/base/application-controller/
    // argocd-application-controller-statefulset.yaml ~67,
    // manifests/base/server/argocd-server-deployment.yaml ~139).
    let keys: Vec<(&str, &str)> = sidecar["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?, e.pointer("/valueFrom/configMapKeyRef/key")?.as_str()?)))
        .collect();
    assert!(
        keys.contains(&(
            "ARGOCD_APPLICATION_CONTROLLER_REPO_SERVER_TIMEOUT_SECONDS",
            "controller.repo.server.timeout.seconds"
        )),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS", "server.repo.server.timeout.seconds")),
        "{keys:?}"
    );
    // The Helm values carry the same container.
    let helm = std::fs::read_to_string(install.join("helm-values.yaml")).unwrap();
    let helm = gpuops_manifest::yaml::parse_stream(&helm, "helm-values.yaml").unwrap().remove(0).value;
    let container = &helm["repoServer"]["extraContainers"][0];
    for key in ["command", "securityContext", "volumeMounts", "env"] {
        assert_eq!(container[key], sidecar[key], "helm values: {key}");
    }
}
