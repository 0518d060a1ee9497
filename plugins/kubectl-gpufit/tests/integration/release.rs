//! The release archive as krew installs it.

/// The archive for this platform packs the binary, its completion script
/// and LICENSE, the rendered krew template validates with every
/// krew/krew-index rule, what krew would install runs and answers `--help`
/// as `kubectl gpufit`, and the `kubectl_complete-gpufit` beside it answers
/// `kubectl gpufit <TAB>` as kubectl runs it.
#[test]
fn the_release_archive_installs_as_krew_would_and_answers_help() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let work = tempfile::tempdir().unwrap();
    let installed = gpuops_release::release_roundtrip(
        "gpufit",
        std::path::Path::new(env!("CARGO_BIN_EXE_kubectl-gpufit")),
        &root,
        work.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    gpuops_release::check_installed(&installed, "gpufit", "check").unwrap_or_else(|e| panic!("{e}"));
}
