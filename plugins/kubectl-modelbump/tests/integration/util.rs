//! A temporary GitOps repository wired to a local registry.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gpuops_testkit::{Registry, git, push_model_tags, seeding_client};

pub(crate) const SEED_IMAGE_PATH: &str = "byo-models-gpu/llama-3.2-1b-cuda";
pub(crate) const SEED_HOST: &str = "foundryoci.azurecr.io";
/// The seed's HelmRelease, whose tag a policy moves.
pub(crate) const HELMRELEASE: &str = "apps/foundry-gpu-oras/helmrelease.yaml";

pub(crate) fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flux-oci-models")
}

/// The seed-000 example in a fresh git repo, its registry host replaced by
/// `registry_host` (as a user pointing at a mirror would).
pub(crate) struct Repo {
    pub(crate) dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Repo {
    /// The example exactly as shipped.
    pub(crate) fn seed(registry_host: &str) -> Self {
        Self::build(registry_host, false)
    }

    /// The example plus a KServe InferenceService whose `storageUri` carries
    /// a `$modelpolicy` marker.
    pub(crate) fn seed_with_isvc(registry_host: &str) -> Self {
        Self::build(registry_host, true)
    }

    fn build(registry_host: &str, isvc: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        gpuops_testkit::copy_tree(&example_dir(), dir.path());
        if isvc {
            let target = dir.path().join("apps/llm-serving");
            std::fs::create_dir_all(&target).unwrap();
            std::fs::copy(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/inferenceservice.yaml"),
                target.join("inferenceservice.yaml"),
            )
            .unwrap();
        }
        for file in gpuops_gitops::yaml_files(dir.path()).unwrap() {
            let text = std::fs::read_to_string(&file).unwrap();
            std::fs::write(&file, text.replace(SEED_HOST, registry_host)).unwrap();
        }
        git(dir.path(), &["init", "--quiet", "--initial-branch=main"]);
        git(dir.path(), &["add", "."]);
        git(dir.path(), &["commit", "--quiet", "-m", "seed"]);
        Self { dir, home: tempfile::tempdir().unwrap() }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path().join(file)).unwrap()
    }

    /// `kubectl-modelbump ARGS` run in the repo with a clean environment.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-modelbump"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("GIT_AUTHOR_NAME", "modelbump test")
            .env("GIT_AUTHOR_EMAIL", "test@gpuops.dev")
            .env("GIT_COMMITTER_NAME", "modelbump test")
            .env("GIT_COMMITTER_EMAIL", "test@gpuops.dev")
            .current_dir(self.path())
            .args(args);
        cmd
    }

    /// `sh -c COMMAND` in the repo, with the same clean environment and
    /// `path` as PATH (so `kubectl modelbump` finds the plugin).
    pub(crate) fn shell(&self, command: &str, path: &str) -> Output {
        let cmd = self.command(&[]);
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(command).current_dir(self.path()).env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                sh.env(k, v);
            }
        }
        sh.env("PATH", path);
        sh.output().unwrap()
    }

    /// Install an executable git hook (`pre-commit`, …) running `script`.
    pub(crate) fn hook(&self, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let hook = self.path().join(".git/hooks").join(name);
        std::fs::write(&hook, script).unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        hook
    }

    pub(crate) fn commits(&self) -> usize {
        git(self.path(), &["rev-list", "--count", "HEAD"]).trim().parse().unwrap()
    }
}

/// A registry holding seed 000's tags.
pub(crate) fn seeded_registry() -> Registry {
    let registry = Registry::start();
    push_model_tags(
        &seeding_client(),
        &format!("{}/{SEED_IMAGE_PATH}", registry.host()),
        &["v1.0.0", "v2.0.0", "v2.1.0-rc.1"],
    );
    registry
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
