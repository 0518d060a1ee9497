//! The release archive as krew installs it.

/// The archive for this platform packs the binary, its completion script
/// and LICENSE, the rendered krew template validates with every
/// krew/krew-index rule, what krew would install runs and answers `--help`
/// as `kubectl modelbump`, and the `kubectl_complete-modelbump` beside it answers
/// `kubectl modelbump <TAB>` as kubectl runs it.
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
    gpuops_release::check_installed(&installed, "modelbump", "apply").unwrap_or_else(|e| panic!("{e}"));
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
    // In a GitOps tree: `tags <TAB>` offers its ImageRepositories' images,
    // `--automation <TAB>` its ImageUpdateAutomations.
    let repo = crate::util::Repo::seed("registry.example:5000");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures");
    std::fs::copy(
        fixtures.join("image-update-automation.yaml"),
        repo.path().join("infrastructure/image-automation/automation.yaml"),
    )
    .unwrap();
    let tags = repo.run(&["__complete", "tags", "reg"]);
    assert_eq!(String::from_utf8_lossy(&tags.stdout), "registry.example:5000/byo-models-gpu/llama-3.2-1b-cuda\n:4\n");
    let automation = String::from_utf8(repo.run(&["__complete", "apply", "--automation", ""]).stdout).unwrap();
    assert!(automation.starts_with("flux-system/") && automation.ends_with(":4\n"), "{automation}");
}

/// The README's seed-000 walk-through, run as written: each `$ kubectl
/// modelbump …` line through the real kubectl (which finds the plugin on
/// PATH) in the example repository, against a registry holding the three
/// tags it pushed; every output is what the README shows (the registry's
/// 127.0.0.1:5000 is the test registry's address, the commit id is the
/// run's own).
#[test]
fn readme_examples_print_what_the_readme_shows() {
    let registry = gpuops_testkit::Registry::start();
    let readme = std::fs::read_to_string(gpuops_testkit::readme::path()).unwrap();
    let examples: Vec<_> = gpuops_testkit::readme::examples(&readme)
        .into_iter()
        .filter(|e| e.command.starts_with("kubectl modelbump "))
        .collect();
    assert!(examples.len() >= 4, "the README walks through tags, scan, dry-run and commit: {examples:?}");
    let image = format!("{}/{}", registry.host(), crate::util::SEED_IMAGE_PATH);
    gpuops_testkit::push_model_tags(&gpuops_testkit::seeding_client(), &image, &["v1.0.0", "v2.0.0", "v2.1.0-rc.1"]);
    let repo = crate::util::Repo::seed(&registry.host());
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-modelbump"), bin.path().join("kubectl-modelbump")).unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    // `committed 093a8d3:` → `committed <id>:`
    let commit_id = |text: &str| -> String {
        text.lines()
            .map(|l| match l.strip_prefix("committed ").and_then(|r| r.split_once(':')) {
                Some((id, rest)) if id.bytes().all(|b| b.is_ascii_hexdigit()) => format!("committed <id>:{rest}"),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for example in examples {
        let command = example.command.replace("127.0.0.1:5000", &registry.host());
        let expected = example.output.replace("127.0.0.1:5000", &registry.host());
        // As a terminal shows it: stderr (`latest: …`) after stdout.
        let out = repo.shell(&format!("{{ {command}; }} 2>&1"), &path);
        assert_eq!(
            commit_id(&String::from_utf8_lossy(&out.stdout)),
            commit_id(&expected),
            "README.md:{}: `{}`\n{}",
            example.line,
            example.command,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
