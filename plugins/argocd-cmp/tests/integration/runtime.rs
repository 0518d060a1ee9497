//! The sidecar's runtime against hostile repositories and environments
//! (issue 18): files outside the repository, descendants that escape
//! kustomize's process group, SIGTERM and the deadline after kustomize,
//! and environment variables that are not UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Plugin, Profile, Source, Workspace, parameters, processes_with, text};

/// The directory holding `_cmp_server/` (argocd-cmp-server's work dir):
/// other requests' checkouts live beside this one there.
fn work_dir(ws: &Workspace) -> PathBuf {
    ws.root.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Another tenant's checkout, extracted beside ours.
fn other_tenant(ws: &Workspace, file: &str, content: &str) {
    let path = work_dir(ws).join("_cmp_server/other-tenant").join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

const TENANT_SECRET: &str = "tenant-secret-4711";

fn one_line_error(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing printed on failure");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// `capacity` names a file in the repository; anything else is refused by
/// name before it is opened, so its content never reaches Argo CD's UI.
#[test]
fn capacity_outside_the_repository_is_refused_without_its_content() {
    let ws = Workspace::new();
    other_tenant(&ws, "dump.yaml", &format!("apiVersion: v1\nkind: List\nitems:\n- {TENANT_SECRET}: [\n"));
    ws.write("gate-app/deploy.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    // In a subdirectory: plain-directory mode does not read it (Argo CD's
    // Directory source without recurse), only the capacity parameter names it.
    std::fs::create_dir_all(ws.root.join("gate-app/capacity")).unwrap();
    std::os::unix::fs::symlink("../../../other-tenant/dump.yaml", ws.root.join("gate-app/capacity/pools.yaml"))
        .unwrap();
    let passwd_first_line = std::fs::read_to_string("/etc/passwd").unwrap().lines().next().unwrap().to_string();
    for (spec, refusal) in [
        ("/etc/passwd", "is an absolute path"),
        ("../../other-tenant/dump.yaml", "is outside the repository"),
        ("capacity/pools.yaml", "is outside the repository"),
    ] {
        let source = Source::at("gate-app").with(parameters(&[("fit-gate", json!("warn")), ("capacity", json!(spec))]));
        let out = ws.generate(&source);
        let stderr = one_line_error(&out);
        assert!(
            stderr.starts_with(&format!("argocd-gpuops-cmp: parameter capacity: \"{spec}\" {refusal}")),
            "{stderr}"
        );
        assert!(!stderr.contains(TENANT_SECRET) && !stderr.contains(&passwd_first_line), "{stderr}");
    }
    // A dump elsewhere in the same repository is the repository's own.
    ws.write(
        "clusters/pools.yaml",
        &std::fs::read_to_string(ws.root.join("examples/gpu-scheduler-appset/cluster.yaml")).unwrap(),
    );
    let source = Source::at("gate-app")
        .with(parameters(&[("fit-gate", json!("warn")), ("capacity", json!("../clusters/pools.yaml"))]));
    let out = ws.generate(&source);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The Parameters tab's defaults come from the app's own repository: a
/// kustomization pointing at another checkout (`../../../other-repo`, an
/// absolute path, a link out) announces nothing from it.
#[test]
fn announcements_ignore_resources_outside_the_repository() {
    let ws = Workspace::new();
    let deployment = |image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: m}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: {image}\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n"
        )
    };
    other_tenant(&ws, "other-repo/deploy.yaml", &deployment("foreign.example.com/stolen/model:secret-tag"));
    other_tenant(&ws, "other-repo/kustomization.yaml", "resources: [deploy.yaml]\n");
    let outside = work_dir(&ws).join("_cmp_server/other-tenant/other-repo");
    std::os::unix::fs::symlink(&outside, ws.root.join("linked-repo")).unwrap();
    ws.write(
        "apps/announce/kustomization.yaml",
        &format!(
            "resources:\n- ../../../other-tenant/other-repo\n- {}\n- ../../linked-repo\n- deploy.yaml\n",
            outside.display()
        ),
    );
    ws.write("apps/announce/deploy.yaml", &deployment("registry.example.com/ours/model:1.0"));
    let out = ws.run(&Plugin::load().parameters, &Source::at("apps/announce"), Profile::Parameters);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tags = list.as_array().unwrap().iter().find(|a| a["name"] == "model-tags").unwrap();
    // The current tags are in the tooltip (the default is empty: it must not pin them).
    let tooltip = tags["tooltip"].as_str().unwrap();
    assert!(tooltip.ends_with("Now: registry.example.com/ours/model: 1.0"), "no foreign image announced: {tooltip}");
    assert_eq!(tags["map"], json!({}));
}

/// An executable outside the repository standing in for kustomize (the
/// sidecar's own `GPUOPS_KUSTOMIZE`, never the Application's).
fn stand_in(ws: &Workspace, name: &str, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = work_dir(ws).join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn kustomized_app(ws: &Workspace, path: &str) -> Source {
    ws.write(&format!("{path}/kustomization.yaml"), "resources: []\n");
    Source::at(path)
}

fn generate_with(ws: &Workspace, source: &Source, kustomize: &Path) -> Command {
    let mut cmd = ws.command(&Plugin::load().generate, source, Profile::Generate);
    cmd.env("GPUOPS_KUSTOMIZE", kustomize);
    cmd
}

/// A descendant of kustomize that starts a session of its own keeps the
/// output pipe open; the render still ends at its deadline, and the
/// descendant with it.
#[test]
fn a_descendant_that_leaves_the_group_ends_at_the_deadline() {
    let ws = Workspace::new();
    let marker = format!("30.{}3", std::process::id());
    let kustomize = stand_in(
        &ws,
        "kustomize-escapes",
        &format!("setsid sleep {marker} &\necho 'apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}'\n"),
    );
    let mut source = kustomized_app(&ws, "apps/escape");
    source.env.insert("GPUOPS_DEADLINE".into(), "2".into());
    let started = Instant::now();
    let out = generate_with(&ws, &source, &kustomize).output().unwrap();
    let elapsed = started.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("stopped at the plugin's deadline"), "{stderr}");
    assert!(elapsed < Duration::from_millis(3200), "deadline 2 s, ended after {elapsed:?}");
    assert_eq!(processes_with(&marker), 0, "the escaped descendant was ended");
}

/// A render whose fit gate takes seconds (a debug build): a Deployment of
/// 12,400 single-GPU replicas checked against 800 nodes, just under
/// gpufit's work budget of 10^7 node checks, so the check runs.
fn slow_gate(ws: &Workspace, path: &str, done: &Path) -> (Source, PathBuf) {
    let render = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wide}\nspec:\n  replicas: 12400\n  selector: {matchLabels: {app: wide}}\n  template:\n    metadata: {labels: {app: wide}}\n    spec:\n      containers:\n      - name: c\n        image: busybox:1.36\n        resources: {limits: {nvidia.com/gpu: 1}}\n";
    let file = work_dir(ws).join("slow-gate.yaml");
    std::fs::write(&file, render).unwrap();
    let kustomize =
        stand_in(ws, "kustomize-slow-gate", &format!("cat '{}'\ntouch '{}'\n", file.display(), done.display()));
    let source = kustomized_app(ws, path)
        .with(parameters(&[("fit-gate", json!("warn")), ("capacity", json!("800*8xH100-80GB"))]));
    (source, kustomize)
}

/// SIGTERM once kustomize is done: the render ends at once, non-zero,
/// with nothing on stdout.
fn terminate_after_kustomize(child: Child, done: &Path) -> (Output, Duration) {
    let started = Instant::now();
    while !done.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(done.exists(), "kustomize ran");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::TERM).unwrap();
    let out = child.wait_with_output().unwrap();
    (out, sent.elapsed())
}

/// An interrupted render: exit 1, nothing on stdout, `why` on stderr, and
/// within 2 s of the signal or of the start (1 s deadline).
fn assert_stopped(out: &Output, why: &str, after: Duration) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing printed when stopped");
    assert!(stderr.contains(why), "{stderr}");
    assert!(after < Duration::from_secs(2), "ended after {after:?}");
}

#[test]
fn sigterm_during_the_fit_gate_prints_nothing() {
    let ws = Workspace::new();
    let done = work_dir(&ws).join("kustomize-done");
    let (source, kustomize) = slow_gate(&ws, "apps/gate", &done);
    let child = generate_with(&ws, &source, &kustomize).spawn().unwrap();
    let (out, after) = terminate_after_kustomize(child, &done);
    assert_stopped(&out, "the fit gate: stopped by SIGTERM", after);
}

#[test]
fn the_deadline_covers_the_fit_gate() {
    let ws = Workspace::new();
    let done = work_dir(&ws).join("kustomize-done");
    let (mut source, kustomize) = slow_gate(&ws, "apps/gate", &done);
    source.env.insert("GPUOPS_DEADLINE".into(), "1".into());
    let started = Instant::now();
    let out = generate_with(&ws, &source, &kustomize).output().unwrap();
    assert_stopped(&out, "the fit gate: stopped at the plugin's deadline", started.elapsed());
}

/// Parameters applied to a large render (8,000 Deployments): SIGTERM while
/// they apply ends the render with nothing printed.
#[test]
fn sigterm_while_parameters_apply_prints_nothing() {
    let ws = Workspace::new();
    let mut render = String::new();
    for i in 0..8000 {
        render.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: m-{i}}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: registry.example.com/m:1\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n"
        ));
    }
    let file = work_dir(&ws).join("large.yaml");
    std::fs::write(&file, render).unwrap();
    let done = work_dir(&ws).join("kustomize-done");
    let kustomize =
        stand_in(&ws, "kustomize-large", &format!("cat '{}'\ntouch '{}'\n", file.display(), done.display()));
    let source = kustomized_app(&ws, "apps/large").with(parameters(&[("gpu-count", json!("2"))]));
    let child = generate_with(&ws, &source, &kustomize).spawn().unwrap();
    let (out, after) = terminate_after_kustomize(child, &done);
    assert_stopped(&out, "reading the render: stopped by SIGTERM", after);
}

/// A variable the plugin reads that is not UTF-8 is a one-line error
/// naming it, without its bytes (and no panic, whose text would carry
/// them); one it does not read is ignored.
#[test]
fn an_environment_that_is_not_utf8_is_named_never_shown() {
    let ws = Workspace::new();
    let bad = OsStr::from_bytes(b"leaked-value\xff\xfe");
    let path = "examples/llmops-overlays/overlays/dev";
    let generate = || ws.command(&Plugin::load().generate, &Source::at(path), Profile::Generate);
    for (name, drop_json) in
        [("ARGOCD_APP_PARAMETERS", false), ("ARGOCD_ENV_GPUOPS_DEADLINE", false), ("PARAM_GPU_COUNT", true)]
    {
        let mut cmd = generate();
        if drop_json {
            cmd.env_remove("ARGOCD_APP_PARAMETERS");
        }
        let out = cmd.env(name, bad).output().unwrap();
        let stderr = one_line_error(&out);
        assert!(stderr.contains(name) && stderr.contains("not valid UTF-8"), "{name}: {stderr}");
        assert!(!stderr.contains("leaked-value"), "{name}: {stderr}");
    }
    let out = generate()
        .env("ARGOCD_ENV_UNREAD", bad)
        .env("UNREAD", bad)
        .env_remove("ARGOCD_APP_PARAMETERS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // `parameters` reads ARGOCD_APP_SOURCE_PATH.
    let mut cmd = ws.command(&Plugin::load().parameters, &Source::at(path), Profile::Parameters);
    let out = cmd.env("ARGOCD_APP_SOURCE_PATH", bad).output().unwrap();
    let stderr = one_line_error(&out);
    assert!(stderr.contains("ARGOCD_APP_SOURCE_PATH") && !stderr.contains("leaked-value"), "{stderr}");
}

/// kustomize printing more than Argo CD could deliver (the sidecar's
/// `ARGOCD_GRPC_MAX_SIZE_MB`, 4 here): reading stops at the limit and
/// kustomize is ended, instead of the sidecar holding all of it.
#[test]
fn a_render_larger_than_argo_cds_message_limit_is_stopped() {
    let ws = Workspace::new();
    let kustomize = stand_in(&ws, "kustomize-flood", "yes 'a: b' | head -c 20000000\n");
    let source = kustomized_app(&ws, "apps/flood");
    let out = generate_with(&ws, &source, &kustomize).env("ARGOCD_GRPC_MAX_SIZE_MB", "4").output().unwrap();
    let stderr = one_line_error(&out);
    assert!(stderr.contains("stopped: the render is larger than 4 MiB"), "{stderr}");
}

/// Argo CD's own deadline: argocd-cmp-server starts the plugin in a process
/// group of its own (`Setpgid`), SIGKILLs the plugin and SIGTERMs that
/// group (argo-cd v3.5 cmpserver/plugin/plugin.go `runCommand`). kustomize
/// is in that group, so it ends too instead of running on.
#[test]
fn argo_cds_deadline_kill_reaches_kustomize() {
    use std::os::unix::process::CommandExt as _;
    let ws = Workspace::new();
    let marker = format!("30.{}4", std::process::id());
    let kustomize = stand_in(&ws, "kustomize-hangs", &format!("exec sleep {marker}\n"));
    let source = kustomized_app(&ws, "apps/hang");
    let mut cmd = generate_with(&ws, &source, &kustomize);
    let mut child = cmd.process_group(0).spawn().unwrap();
    let started = Instant::now();
    while processes_with(&marker) == 0 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(processes_with(&marker), 1, "kustomize started");
    let plugin = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(plugin, rustix::process::Signal::KILL).unwrap();
    let _ = rustix::process::kill_process_group(plugin, rustix::process::Signal::TERM);
    child.wait().unwrap();
    let ended = Instant::now();
    while processes_with(&marker) > 0 && ended.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(processes_with(&marker), 0, "kustomize outlived the plugin's process group");
}

/// kustomize's error quotes repository content; a terminal escape in it
/// reaches `argocd app get` escaped, not as a command to the terminal.
#[test]
fn kustomize_errors_are_escaped_for_terminals() {
    let ws = Workspace::new();
    let kustomize = stand_in(&ws, "kustomize-fails", "printf 'Error: bad file \\033]0;owned\\007\\n' >&2\nexit 1\n");
    let out = generate_with(&ws, &kustomized_app(&ws, "apps/fails"), &kustomize).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'), "{stderr:?}");
    assert!(stderr.contains("bad file \\u{1b}]0;owned"), "{stderr:?}");
}

/// A render where thousands of workloads do not fit: the gate's message
/// (which Argo CD shows and caches) names the first ones and counts the
/// rest, instead of growing with the render (24 MiB of explanation on a
/// 40 MiB render was most of what the sidecar held).
#[test]
fn the_fit_gates_explanation_is_capped_and_counts_the_rest() {
    let ws = Workspace::new();
    let mut render = String::new();
    for i in 0..2000 {
        render.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: m-{i}, namespace: ml}}\nspec:\n  strategy: {{type: Recreate}}\n  template:\n    spec:\n      containers:\n      - name: c\n        image: registry.example.com/m:1\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n"
        ));
    }
    ws.write("apps/many/deployments.yaml", &render);
    let out = ws.generate(
        &Source::at("apps/many").with(parameters(&[("fit-gate", json!("enforce")), ("capacity", json!("1*1xL4"))])),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("Deployment/ml/m-1:"), "the first that do not fit are named: {stderr}");
    assert!(!stderr.contains("Deployment/ml/m-1999:"), "the last is counted, not shown");
    assert!(stderr.contains("more workload(s) with problems, not shown"), "{stderr}");
    assert!(stderr.len() < 70 * 1024, "{} bytes of explanation", stderr.len());
}
