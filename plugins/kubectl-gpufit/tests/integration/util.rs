use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// `kubectl-gpufit ARGS` from the repository root, with a clean environment.
pub(crate) fn gpufit(args: &[&str]) -> Output {
    gpufit_with_stdin(args, "")
}

pub(crate) fn gpufit_with_stdin(args: &[&str], stdin: &str) -> Output {
    gpufit_full(args, stdin, &[])
}

/// `kubectl-gpufit ARGS` with these variables added to the clean environment.
pub(crate) fn gpufit_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    gpufit_full(args, "", env)
}

fn gpufit_full(args: &[&str], stdin: &str, env: &[(&str, &Path)]) -> Output {
    gpufit_into(args, stdin, env, Stdio::piped())
}

/// `kubectl-gpufit ARGS` writing its stdout to `stdout` (a full device, a
/// pipe nobody reads): the returned output has stderr only.
pub(crate) fn gpufit_to(args: &[&str], stdout: impl Into<Stdio>) -> Output {
    gpufit_into(args, "", &[], stdout.into())
}

fn gpufit_into(args: &[&str], stdin: &str, env: &[(&str, &Path)], stdout: Stdio) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-gpufit"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .current_dir(repo_root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    // A command that fails on its arguments exits without reading stdin;
    // the write then meets a closed pipe, which is not the test's failure
    // (its output and exit code, checked by the caller, are).
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing the command's stdin: {e}");
    }
    child.wait_with_output().unwrap()
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
