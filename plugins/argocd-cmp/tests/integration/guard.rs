//! Repository content must not make the sidecar run a program its operator
//! did not install (issue 18, class 1). Each app is in
//! `tests/fixtures/guard/`; `traversal.yaml` names, from the harness's plugin
//! home, the executable planted at `<tmp>/planted/sh`, which would leave a
//! marker file if it ever ran.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::harness::{Plugin, Profile, Source, Workspace, manifests, repo_root, text};

pub(crate) mod git_http;

/// A workspace holding the guard fixtures under `guard/`, and a planted
/// executable outside the repository.
struct Sidecar {
    ws: Workspace,
    /// The harness's temp dir: plugin home, `planted/`, markers.
    tmp: PathBuf,
}

impl Sidecar {
    fn new() -> Self {
        let ws = Workspace::new();
        gpuops_testkit::copy_tree(&repo_root().join("plugins/argocd-cmp/tests/fixtures/guard"), &ws.root.join("guard"));
        let tmp = ws.root.parent().unwrap().parent().unwrap().to_path_buf();
        let sidecar = Sidecar { ws, tmp };
        sidecar.plant(&sidecar.tmp.join("planted/sh"), "marker");
        sidecar
    }

    /// An executable at `at` that leaves `<tmp>/<marker>` and passes its
    /// stdin through (a legacy plugin's contract).
    fn plant(&self, at: &Path, marker: &str) {
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        let script = format!("#!/bin/sh\necho ran >> '{}'\ncat\n", self.tmp.join(marker).display());
        std::fs::write(at, script).unwrap();
        std::fs::set_permissions(at, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn ran(&self, marker: &str) -> bool {
        self.tmp.join(marker).exists()
    }

    fn generate(&self, app: &str) -> Output {
        self.ws.generate(&Source::at(&format!("guard/{app}")))
    }

    /// `generate` with extra variables in the sidecar's own environment.
    fn generate_with(&self, source: &Source, sidecar_env: &[(&str, &str)]) -> Output {
        let mut command = self.ws.command(&Plugin::load().generate, source, Profile::Generate);
        command.envs(sidecar_env.iter().copied());
        command.output().unwrap()
    }
}

/// A refusal: exit 1, nothing on stdout, one line on stderr holding every
/// piece of `wanted`.
fn assert_refused(out: &Output, wanted: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing is rendered on a refusal");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for piece in wanted {
        assert!(stderr.contains(piece), "{piece:?} missing from: {stderr}");
    }
}

/// The red team's finding: `apiVersion: x/../../…` with `kind: ../sh`
/// made kustomize run `<tmp>/planted/sh`. Refused before kustomize runs,
/// naming the kind and the declaring file, wherever it is declared: in the
/// app's own kustomization, a base's generators, a component's validators,
/// an inline entry, and under a field name spelled in another case (Go's
/// JSON decoding, kustomize's, ignores case).
#[test]
fn a_path_traversing_plugin_kind_is_refused_wherever_it_is_declared() {
    let sidecar = Sidecar::new();
    for (app, file, field) in [
        ("traversal", "guard/traversal/traversal.yaml", "transformers config"),
        ("in-base", "guard/in-base/evil-base/traversal.yaml", "generators config"),
        ("in-component", "guard/in-component/evil-component/traversal.yaml", "validators config"),
        ("inline", "guard/inline/kustomization.yaml", "transformers config"),
    ] {
        let out = sidecar.generate(app);
        assert!(!sidecar.ran("marker"), "{app}: the planted program ran");
        assert_refused(&out, &[file, field, "apiVersion x/../../planted/x", "kind ../sh", "outside the plugin home"]);
    }
    let out = sidecar.generate("spelled");
    assert!(!sidecar.ran("marker"), "spelled: the planted program ran");
    assert_refused(&out, &["guard/spelled/kustomization.yaml", "\"Transformers\"", "write transformers"]);
}

/// A transformers entry that is a directory: kustomize loads its OUTPUT as
/// configs, so a patch there can rewrite a checked GpuProfile into the
/// traversing kind. Refused unless it only lists local files.
#[test]
fn a_config_directory_that_could_rewrite_kinds_is_refused() {
    let sidecar = Sidecar::new();
    sidecar.plant(&sidecar.tmp.join("planted/gpuprofile/GpuProfile"), "marker");
    let out = sidecar.generate("config-dir");
    assert!(!sidecar.ran("marker"), "the patched config ran");
    assert_refused(&out, &["guard/config-dir/kustomization.yaml", "transformers entry \"configs\"", "directory"]);
    assert!(!sidecar.ran("marker"));
}

/// Exec and container functions (the `config.kubernetes.io/function`
/// annotation and its `config.k8s.io/function` spelling) never run, even on
/// a gpuops kind.
#[test]
fn exec_and_container_functions_are_refused() {
    let sidecar = Sidecar::new();
    for (app, key) in [("exec", "config.kubernetes.io/function"), ("container", "config.k8s.io/function")] {
        let out = sidecar.generate(&format!("functions/{app}"));
        assert_refused(
            &out,
            &[
                &format!("guard/functions/{app}/fn.yaml"),
                "kind GpuProfile",
                key,
                "exec and container functions never run",
                // Issue 22, deliverable 8: the binding named, and what to write instead.
                "for gpuops' own GpuProfile/ModelTags remove the annotation",
            ],
        );
    }
    assert!(!sidecar.ran("marker"));
}

/// A remote base carrying the traversing transformer, served by real git
/// over HTTP on loopback (see `git_http`). Plugins stay off, kustomize
/// refuses the config itself, and the error says why; with a local
/// GpuProfile as well the app is refused before kustomize runs. A plain
/// remote base renders.
#[test]
fn a_remote_base_never_runs_a_plugin() {
    let sidecar = Sidecar::new();
    let remote = sidecar.tmp.join("remote");
    let fixtures = repo_root().join("plugins/argocd-cmp/tests/fixtures/guard");
    gpuops_testkit::copy_tree(&fixtures.join("traversal"), &remote.join("evil"));
    gpuops_testkit::copy_tree(&fixtures.join("base"), &remote.join("plain"));
    std::fs::copy(fixtures.join("base/deployment.yaml"), remote.join("evil/deployment.yaml")).unwrap();
    std::fs::write(
        remote.join("evil/kustomization.yaml"),
        "resources:\n- deployment.yaml\ntransformers:\n- traversal.yaml\n",
    )
    .unwrap();
    gpuops_testkit::git(&remote, &["init", "-q", "-b", "main"]);
    gpuops_testkit::git(&remote, &["add", "."]);
    gpuops_testkit::git(&remote, &["commit", "-q", "-m", "remote bases"]);
    let served = sidecar.tmp.join("served");
    std::fs::create_dir(&served).unwrap();
    gpuops_testkit::git(&served, &["clone", "-q", "--bare", remote.to_str().unwrap(), "remote.git"]);
    let port = git_http::serve(&served);
    let url = |dir: &str| format!("http://127.0.0.1:{port}/remote.git//{dir}?ref=main");

    sidecar.ws.write("guard/remote-evil/kustomization.yaml", &format!("resources:\n- {}\n", url("evil")));
    let out = sidecar.generate("remote-evil");
    assert!(!sidecar.ran("marker"), "the remote base's plugin ran");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("external plugins are off for this app: guard/remote-evil/kustomization.yaml"), "{stderr}");

    sidecar.ws.write(
        "guard/remote-gpu/kustomization.yaml",
        &format!("resources:\n- {}\ntransformers:\n- gpu.yaml\n", url("plain")),
    );
    std::fs::copy(fixtures.join("gpu-base/gpu.yaml"), sidecar.ws.root.join("guard/remote-gpu/gpu.yaml")).unwrap();
    let out = sidecar.generate("remote-gpu");
    assert_refused(
        &out,
        &[
            "guard/remote-gpu/gpu.yaml: declares gpuops.dev/v1alpha1/GpuProfile",
            "remote resource http://127.0.0.1:",
            "parameters",
        ],
    );

    sidecar.ws.write("guard/remote-plain/kustomization.yaml", &format!("resources:\n- {}\n", url("plain")));
    let out = sidecar.generate("remote-plain");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(manifests(&out.stdout)[0]["kind"], "Deployment");
}

/// gpuops' own kinds still run through kustomize, at their level: the
/// base's GpuProfile (2 GPUs) applies before the overlay's patch (4).
#[test]
fn a_gpu_profile_in_a_base_applies_before_the_overlays_patch() {
    let sidecar = Sidecar::new();
    let base = sidecar.generate("gpu-base");
    assert_eq!(base.status.code(), Some(0), "{}", text(&base.stderr));
    let gpus = |out: &Output| {
        let objects = manifests(&out.stdout);
        let container = &objects[0]["spec"]["template"]["spec"]["containers"][0];
        container["resources"]["limits"]["nvidia.com/gpu"].to_string().trim_matches('"').to_string()
    };
    assert_eq!(gpus(&base), "2", "the base's GpuProfile ran");
    let overlay = sidecar.generate("gpu-overlay");
    assert_eq!(overlay.status.code(), Some(0), "{}", text(&overlay.stderr));
    assert_eq!(gpus(&overlay), "4", "the overlay's patch applies after the base's GpuProfile");
}

/// Which program renders is the operator's choice: an Application's
/// `plugin.env` (`ARGOCD_ENV_GPUOPS_KUSTOMIZE`, `ARGOCD_ENV_GPUOPS_KUBECTL`)
/// does not choose it; the sidecar's own `GPUOPS_KUSTOMIZE` does.
#[test]
fn an_application_does_not_choose_the_program_that_renders() {
    let sidecar = Sidecar::new();
    let planted = sidecar.tmp.join("planted/sh");
    for name in ["GPUOPS_KUSTOMIZE", "GPUOPS_KUBECTL"] {
        let mut source = Source::at("guard/base");
        source.env.insert(name.to_string(), planted.display().to_string());
        let out = sidecar.ws.generate(&source);
        assert!(!sidecar.ran("marker"), "ARGOCD_ENV_{name} chose the program");
        // Refused, not silently ignored (issue 22): the Application's author
        // learns that plugin.env cannot set it.
        assert_refused(&out, &[&format!("environment: ARGOCD_ENV_{name}: {name} chooses what the sidecar runs")]);
    }
    let out = sidecar.generate_with(&Source::at("guard/base"), &[("GPUOPS_KUBECTL", &planted.display().to_string())]);
    assert!(sidecar.ran("marker"), "the sidecar's own GPUOPS_KUBECTL is used: {}", text(&out.stderr));
}

/// The operator may allow more plugin kinds, in the sidecar's own
/// environment only; an Application cannot.
#[test]
fn an_operator_allowed_kind_runs_and_only_the_operator_can_allow_it() {
    let sidecar = Sidecar::new();
    sidecar.plant(&sidecar.tmp.join("plugin-home/example.com/v1/addlabel/AddLabel"), "allowed");
    let source = Source::at("guard/allowed");
    let refused = ["guard/allowed/label.yaml", "apiVersion example.com/v1, kind AddLabel", "GPUOPS_ALLOWED_PLUGINS"];

    let out = sidecar.ws.generate(&source);
    assert!(!sidecar.ran("allowed"), "a kind nobody allowed ran");
    assert_refused(&out, &refused);
    let mut from_application = source.clone();
    from_application.env.insert("GPUOPS_ALLOWED_PLUGINS".into(), "example.com/v1/AddLabel".into());
    let out = sidecar.ws.generate(&from_application);
    assert!(!sidecar.ran("allowed"), "an Application allowed a plugin");
    assert_refused(&out, &["ARGOCD_ENV_GPUOPS_ALLOWED_PLUGINS", "only the sidecar's own environment sets it"]);

    let out = sidecar.generate_with(&source, &[("GPUOPS_ALLOWED_PLUGINS", "example.com/v1/AddLabel")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(sidecar.ran("allowed"), "the allowed plugin ran");
    assert_eq!(manifests(&out.stdout)[0]["kind"], "Deployment");

    let out = sidecar.generate_with(&source, &[("GPUOPS_ALLOWED_PLUGINS", "x/../../planted/sh")]);
    assert_refused(&out, &["setting GPUOPS_ALLOWED_PLUGINS", "not group/version/Kind"]);
}

/// A base outside the repository (`../..` past its root, or a symlink out
/// of it) is not followed: what it declares was never checked.
#[test]
fn a_base_outside_the_repository_is_refused() {
    let sidecar = Sidecar::new();
    let outside = sidecar.tmp.join("outside");
    let fixtures = repo_root().join("plugins/argocd-cmp/tests/fixtures/guard");
    gpuops_testkit::copy_tree(&fixtures.join("base"), &outside);
    std::fs::copy(fixtures.join("traversal/traversal.yaml"), outside.join("traversal.yaml")).unwrap();
    std::fs::write(
        outside.join("kustomization.yaml"),
        "resources:\n- deployment.yaml\ntransformers:\n- traversal.yaml\n",
    )
    .unwrap();
    // guard/escape is <tmp>/_cmp_server/<id>/guard/escape.
    sidecar.ws.write("guard/escape/kustomization.yaml", "resources:\n- ../../../../outside\n");
    let out = sidecar.generate("escape");
    assert!(!sidecar.ran("marker"), "a base outside the repository ran a plugin");
    assert_refused(&out, &["guard/escape/kustomization.yaml", "\"../../../../outside\" leaves the repository"]);

    std::fs::create_dir_all(sidecar.ws.root.join("guard/linked")).unwrap();
    std::os::unix::fs::symlink(&outside, sidecar.ws.root.join("guard/linked/base")).unwrap();
    sidecar.ws.write("guard/linked/kustomization.yaml", "resources:\n- base\n");
    let out = sidecar.generate("linked");
    assert!(!sidecar.ran("marker"), "a symlinked base outside the repository ran a plugin");
    assert_refused(&out, &["guard/linked/kustomization.yaml", "\"base\" leaves the repository"]);
}
