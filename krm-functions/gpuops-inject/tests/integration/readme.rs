//! The README cannot rot: every command of its ```sh blocks is either run
//! here or named with the test that runs it (which must exist), and the
//! `$ kubectl …` examples are run by the plugins' own suites and must print
//! exactly what the README shows; an output quoted as `<!-- excerpt of
//! PATH -->` is made of PATH's lines, in order.

use crate::util::text;

/// How a README command is exercised.
enum Exercised {
    /// By this file's `readme_install_and_render`.
    Here,
    /// By the test `fn NAME` in FILE (relative to the repository).
    By(&'static str, &'static str),
}

/// README command (a prefix of it) → the test that runs it. Commands that
/// need a live Argo CD (kubectl apply/exec, helm) are exercised on their
/// inputs: the install overlay through the real kustomize, the Helm values
/// parsed, the self-check the exec would run.
const TABLE: &[(&str, Exercised)] = &[
    ("bash scripts/demo.sh", Exercised::Here),
    ("bash scripts/test.sh", Exercised::By(".ci/run", "")),
    (
        "kubectl-gpufit completion kubectl",
        Exercised::By("plugins/kubectl-gpufit/tests/integration/check.rs", "completion_for_kubectl_and_shells"),
    ),
    (
        "chmod +x \"${KREW_ROOT:-$HOME/.krew}/bin/kubectl_complete-gpufit\"",
        Exercised::By("plugins/kubectl-gpufit/tests/integration/check.rs", "completion_for_kubectl_and_shells"),
    ),
    ("gpuops-inject install-plugin", Exercised::Here),
    ("kubectl kustomize --enable-alpha-plugins examples/llmops-overlays/overlays/production", Exercised::Here),
    (
        "bash plugins/argocd-cmp/build-image.sh",
        Exercised::By("plugins/argocd-cmp/tests/integration/cases.rs", "the_sidecar_image_renders_like_the_host"),
    ),
    (
        "kubectl apply -n argocd -k plugins/argocd-cmp/install",
        Exercised::By(
            "plugins/argocd-cmp/tests/integration/cases.rs",
            "the_install_overlay_adds_the_sidecar_as_argo_cd_requires",
        ),
    ),
    (
        "helm upgrade --install argocd argo/argo-cd -n argocd -f plugins/argocd-cmp/install/helm-values.yaml",
        Exercised::By(
            "plugins/argocd-cmp/tests/integration/cases.rs",
            "the_install_overlay_adds_the_sidecar_as_argo_cd_requires",
        ),
    ),
    (
        "kubectl -n argocd exec deploy/argocd-repo-server -c gpuops -- argocd-gpuops-cmp self-check",
        Exercised::By("plugins/argocd-cmp/tests/integration/cases.rs", "self_check_names_the_plugin_and_the_fixes"),
    ),
];

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_readme_shell_command_is_exercised_by_a_test() {
    let readme = std::fs::read_to_string(gpuops_testkit::readme::path()).unwrap();
    let commands = gpuops_testkit::readme::shell_commands(&readme);
    assert!(commands.len() >= 8, "{commands:?}");
    for (line, command) in &commands {
        let Some((_, how)) = TABLE.iter().find(|(prefix, _)| command.starts_with(prefix)) else {
            panic!("README.md:{line}: `{command}` is exercised by no test; run it in a test and name that test here");
        };
        if let Exercised::By(file, test) = how {
            let source = std::fs::read_to_string(repo().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let found = if test.is_empty() {
                source.contains("scripts/test.sh")
            } else {
                source.contains(&format!("fn {test}("))
            };
            assert!(found, "README.md:{line}: `{command}` names {file} {test}, which does not exist");
        }
    }
    // Every row is still used: a command removed from the README leaves no stale row.
    for (prefix, _) in TABLE {
        assert!(
            commands.iter().any(|(_, c)| c.starts_with(prefix)),
            "the table names `{prefix}`, which the README no longer shows"
        );
    }
}

/// `gpuops-inject install-plugin` and `kubectl kustomize --enable-alpha-plugins
/// examples/llmops-overlays/overlays/production` as the README runs them
/// (and scripts/demo.sh does): the InferenceService comes out with its GPUs.
#[test]
fn readme_install_and_render() {
    let home = tempfile::tempdir().unwrap();
    let install = std::process::Command::new(env!("CARGO_BIN_EXE_gpuops-inject"))
        .arg("install-plugin")
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("KUSTOMIZE_PLUGIN_HOME")
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install.stderr));
    assert!(home.path().join("kustomize/plugin").exists(), "installed under $XDG_CONFIG_HOME/kustomize/plugin");
    let out = std::process::Command::new("kubectl")
        .args(["kustomize", "--enable-alpha-plugins", "examples/llmops-overlays/overlays/production"])
        .current_dir(repo())
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("KUSTOMIZE_PLUGIN_HOME")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stream = text(&out.stdout);
    assert!(stream.contains("kind: InferenceService") && stream.contains("nvidia.com/gpu: 2"), "{stream}");
    // The README's excerpt of what scripts/demo.sh prints is in this render.
    let readme = std::fs::read_to_string(gpuops_testkit::readme::path()).unwrap();
    let (line, excerpt) =
        gpuops_testkit::readme::marked(&readme, "excerpt of examples/llmops-overlays/expected/production.snap")
            .expect("the README quotes the demo's render");
    if let Err(missing) = gpuops_testkit::readme::lines_in_order(&excerpt, &stream) {
        panic!("README.md:{line}: {missing:?} is not in the render, in that order");
    }
}

/// Every `<!-- excerpt of PATH -->` block of the README is made of PATH's
/// lines, in PATH's order (PATH being a golden file a test compares).
#[test]
fn readme_excerpts_quote_their_files() {
    let readme = std::fs::read_to_string(gpuops_testkit::readme::path()).unwrap();
    let excerpts = gpuops_testkit::readme::excerpts(&readme);
    assert!(!excerpts.is_empty());
    for (line, path, body) in excerpts {
        let whole =
            std::fs::read_to_string(repo().join(&path)).unwrap_or_else(|e| panic!("README.md:{line}: {path}: {e}"));
        if let Err(missing) = gpuops_testkit::readme::lines_in_order(&body, &whole) {
            panic!("README.md:{line}: {missing:?} is not in {path}, in that order");
        }
    }
}
