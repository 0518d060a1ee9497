//! Hermetic process helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gpuops-inject"))
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

pub(crate) fn testdata(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata").join(case)
}

/// A command with an environment reduced to what the tools need, so a
/// developer's kustomize plugins or docker config cannot leak into a test.
pub(crate) fn hermetic(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for key in ["PATH", "HOME", "DOCKER_HOST", "TMPDIR"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd
}

pub(crate) fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    out
}

/// Run the function as a KRM function on a ResourceList.
pub(crate) fn krm(input: &str) -> Output {
    run_with_stdin(hermetic(binary()), input)
}

/// Run the function as a legacy exec plugin.
pub(crate) fn plugin(config: &Path, stream: &str) -> Output {
    let mut cmd = hermetic(binary());
    cmd.arg(config);
    run_with_stdin(cmd, stream)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compare with the reviewed snapshot `DIR/NAME.snap` for `DIR/NAME.*`
/// (insta; a mismatch leaves `NAME.snap.new` for `cargo insta review`).
pub(crate) fn assert_golden(path: &Path, actual: &str) {
    let dir = path.parent().expect("snapshot directory");
    let name = path.file_stem().and_then(|s| s.to_str()).expect("snapshot name");
    gpuops_testkit::assert_reviewed!(dir, name, actual);
}

/// Parse a YAML stream into values (through the library under test's reader,
/// which the unit tests cover separately).
pub(crate) fn parse_stream(text: &str) -> Vec<serde_json::Value> {
    gpuops_manifest::yaml::parse_stream(text, "test").expect("valid YAML").into_iter().map(|d| d.value).collect()
}

/// A temporary kustomize plugin home with gpuops-inject installed.
pub(crate) fn plugin_home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = hermetic(binary());
    cmd.args(["install-plugin", "--dir"]).arg(dir.path().join("kustomize/plugin"));
    let out = cmd.output().expect("install-plugin");
    assert!(out.status.success(), "install-plugin failed: {}", text(&out.stderr));
    dir
}

/// `kubectl kustomize --enable-alpha-plugins DIR` with `xdg` as XDG_CONFIG_HOME.
pub(crate) fn kustomize(dir: &Path, xdg: &Path) -> Output {
    let mut cmd = hermetic("kubectl");
    cmd.env("XDG_CONFIG_HOME", xdg).args(["kustomize", "--enable-alpha-plugins"]).arg(dir);
    cmd.output().expect("kubectl must be installed (scripts/setup.sh installs it)")
}
