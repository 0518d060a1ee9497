//! The release archive as krew installs it.

/// The archive for this platform packs the binary and LICENSE, the rendered
/// krew template validates with every krew/krew-index rule, and what krew
/// would install runs and answers `--help` as `kubectl modelbump`.
#[test]
fn the_release_archive_installs_as_krew_would_and_answers_help() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let work = tempfile::tempdir().unwrap();
    let installed = gpuops_release::release_roundtrip(
        "modelbump",
        std::path::Path::new(env!("CARGO_BIN_EXE_kubectl-modelbump")),
        &root,
        work.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(&installed).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: kubectl modelbump "), "{help}");
}

/// `kubectl modelbump <TAB>` through the script kubectl runs, in Cobra's
/// format; and a static script per shell.
#[test]
fn completion_for_kubectl_and_shells() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-modelbump")).args(args).output().unwrap()
    };
    let shim = String::from_utf8(run(&["completion", "kubectl"]).stdout).unwrap();
    assert!(shim.ends_with("exec kubectl-modelbump __complete \"$@\"\n"), "{shim}");
    let flags = String::from_utf8(run(&["__complete", "apply", "--dry"]).stdout).unwrap();
    assert!(flags.starts_with("--dry-run\t") && flags.ends_with(":4\n"), "{flags}");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&["completion", shell]);
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("kubectl-modelbump"), "{shell}");
    }
}
