//! modelbump on repositories set up for Flux's image automation: the same
//! objects (v1beta1 too), the same files, the same skipping of markers it
//! has no policy for — and a failed commit that leaves nothing behind.

use crate::util::{HELMRELEASE, Repo, seeded_registry, text};
use gpuops_testkit::git;

const POLICIES: &str = "infrastructure/image-automation/foundry-gpu-models.yaml";

/// A kustomization named `Kustomization`, shaped like Flux's own test data
/// (fluxcd/image-automation-controller internal/update/testdata/setters/
/// original/kustomization.yml, Apache-2.0; Flux reads a file of that exact
/// name as well: internal/update/filereader.go).
const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - helmrelease.yaml\nimages:\n  - name: container\n    newTag: v1.0.0 # {\"$imagepolicy\": \"flux-system:foundry-gpu-models:tag\"}\n";

fn commit_all(repo: &Repo, message: &str) {
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "--quiet", "-m", message]);
}

#[test]
fn v1beta1_objects_kustomization_files_and_hidden_directories_are_read_as_flux_reads_them() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let policies = repo.read(POLICIES).replace("image.toolkit.fluxcd.io/v1\n", "image.toolkit.fluxcd.io/v1beta1\n");
    std::fs::write(repo.path().join(POLICIES), policies).unwrap();
    std::fs::write(repo.path().join("apps/foundry-gpu-oras/Kustomization"), KUSTOMIZATION).unwrap();
    std::fs::create_dir_all(repo.path().join(".github/deploy")).unwrap();
    std::fs::write(
        repo.path().join(".github/deploy/values.yaml"),
        "tag: v1.0.0 # {\"$imagepolicy\": \"flux-system:foundry-gpu-models:tag\"}\n",
    )
    .unwrap();
    commit_all(&repo, "flux layout");

    let out = repo.run(&["apply", ".", "-v", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(repo.read("apps/foundry-gpu-oras/Kustomization").contains("newTag: v2.0.0 #"));
    assert!(repo.read(".github/deploy/values.yaml").starts_with("tag: v2.0.0 #"));
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"));
    // -v names every file read; .git is not one of them.
    let log = text(&out.stderr);
    for file in ["apps/foundry-gpu-oras/Kustomization", ".github/deploy/values.yaml", POLICIES] {
        assert!(log.contains(&format!("file={file}")), "{file} not in the log:\n{log}");
    }
    assert!(!log.contains("file=.git/"), "{log}");
}

#[test]
fn a_marker_without_its_policy_is_skipped_with_a_warning_unless_strict() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    std::fs::write(
        repo.path().join("apps/foundry-gpu-oras/other.yaml"),
        "image: ghcr.io/acme/other:1.0.0 # {\"$imagepolicy\": \"flux-system:not-here\"}\n",
    )
    .unwrap();
    commit_all(&repo, "a marker for a policy elsewhere");

    let strict = repo.run(&["apply", ".", "--strict"]);
    assert_eq!(strict.status.code(), Some(2), "{}", text(&strict.stderr));
    assert!(
        text(&strict.stderr).contains("apps/foundry-gpu-oras/other.yaml:1: no ImagePolicy flux-system/not-here"),
        "{}",
        text(&strict.stderr)
    );
    assert!(repo.read(HELMRELEASE).contains("tag: v1.0.0 #"), "--strict changed nothing");

    let out = repo.run(&["apply", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning: apps/foundry-gpu-oras/other.yaml:1: no ImagePolicy flux-system/not-here in the scanned tree; skipped"),
        "{}",
        text(&out.stderr)
    );
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"), "the other marker was updated");
    assert!(repo.read("apps/foundry-gpu-oras/other.yaml").contains("other:1.0.0"));
    let scan = repo.run(&["scan", ".", "-o", "json"]);
    assert!(text(&scan.stdout).contains("\"status\": \"skipped\""), "{}", text(&scan.stdout));
}

#[test]
fn a_commit_that_fails_puts_the_files_back() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let before = repo.read(HELMRELEASE);
    let hook = repo.hook("pre-commit", "#!/bin/sh\necho 'pre-commit: signing key missing' >&2\nexit 1\n");

    let out = repo.run(&["apply", ".", "--commit"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("the commit failed, so the 1 file(s) written were put back"), "{stderr}");
    assert!(stderr.contains("signing key missing"), "the hook's words: {stderr}");
    assert_eq!(repo.read(HELMRELEASE), before, "no edit left behind");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]).trim(), "", "nothing staged or modified");
    assert_eq!(repo.commits(), 1);
    // The next run still sees the update, not "up to date".
    std::fs::remove_file(&hook).unwrap();
    let again = repo.run(&["apply", ".", "--commit"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(repo.commits(), 2);
}

/// A repository set up for Flux: its ImageUpdateAutomation decides which
/// files are updated (spec.update.path), the commit message (its Go
/// template, with Flux's data), the author and the branch pushed to.
#[test]
fn an_image_update_automation_sets_path_message_author_and_push_branch() {
    let registry = crate::util::seeded_registry();
    let repo = Repo::seed(&registry.host());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures");
    std::fs::copy(
        fixtures.join("image-update-automation.yaml"),
        repo.path().join("infrastructure/image-automation/automation.yaml"),
    )
    .unwrap();
    // Outside spec.update.path: Flux leaves it, so does modelbump.
    let image = format!("{}/byo-models-gpu/llama-3.2-1b-cuda", registry.host());
    let outside = std::fs::read_to_string(fixtures.join("pathconfig-no-deploy.yaml")).unwrap().replace(
        "helloworld:1.0.0 # SETTER_SITE",
        &format!("{image}:v1.0.0 # {{\"$imagepolicy\": \"flux-system:foundry-gpu-models\"}}"),
    );
    std::fs::create_dir_all(repo.path().join("apps/other")).unwrap();
    std::fs::write(repo.path().join("apps/other/deploy.yaml"), &outside).unwrap();
    gpuops_testkit::git(repo.path(), &["add", "."]);
    gpuops_testkit::git(repo.path(), &["commit", "--quiet", "-m", "automation"]);
    let remote = tempfile::tempdir().unwrap();
    gpuops_testkit::git(remote.path(), &["init", "--quiet", "--bare"]);
    gpuops_testkit::git(repo.path(), &["remote", "add", "origin", remote.path().to_str().unwrap()]);

    let out = repo.run(&["apply", "--commit", "--push", "-v", "2"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The commit is on the push branch, built from the checkout branch, as
    // Flux makes it (source.go `CheckoutSource`, SwitchBranch); main is as it was.
    assert!(repo.read("apps/foundry-gpu-oras/helmrelease.yaml").contains("tag: v1.0.0"));
    let pushed = gpuops_testkit::git(repo.path(), &["show", "image-updates:apps/foundry-gpu-oras/helmrelease.yaml"]);
    assert!(pushed.contains("tag: v2.0.0"), "{pushed}");
    assert_eq!(repo.read("apps/other/deploy.yaml"), outside, "outside spec.update.path");
    assert!(stderr.contains("outside the ImageUpdateAutomation's spec.update.path"), "{stderr}");

    let log = |format: &str| {
        gpuops_testkit::git(remote.path(), &["log", "-1", &format!("--format={format}"), "image-updates"])
    };
    // Files are named relative to spec.update.path, as Flux names them.
    assert_eq!(
        log("%B").trim_end(),
        "Automated image update\n\nAutomation name: flux-system/models\n\nFiles:\n- helmrelease.yaml\nObjects:\n- HelmRelease foundry-gpu-oras\n  Changes:\n    - v1.0.0 -> v2.0.0"
    );
    assert_eq!(log("%an <%ae>").trim(), "fluxcdbot <fluxcdbot@users.noreply.github.com>");
    assert_eq!(gpuops_testkit::git(repo.path(), &["branch", "--show-current"]).trim(), "main", "HEAD is back on main");

    // The CronJob's second run after main moved, with no newer tag: Flux
    // checks out the push branch the remote has (fluxcd/pkg gogit
    // `SwitchBranch`) and finds it up to date: no commit, no push (it used
    // to be rebuilt from main and force-pushed every run).
    std::fs::write(repo.path().join("apps/other/note.yaml"), "a: 1\n").unwrap();
    gpuops_testkit::git(repo.path(), &["add", "."]);
    gpuops_testkit::git(repo.path(), &["commit", "--quiet", "-m", "main moves"]);
    let pushed_before = gpuops_testkit::git(remote.path(), &["rev-parse", "image-updates"]);
    let again = repo.run(&["apply", "--commit", "--push"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("all references are up to date"), "{}", text(&again.stdout));
    assert_eq!(gpuops_testkit::git(remote.path(), &["rev-parse", "image-updates"]), pushed_before);
    assert_eq!(gpuops_testkit::git(repo.path(), &["branch", "--show-current"]).trim(), "main");

    // A template Flux would refuse (the removed .Updated) is refused here too.
    let repo = Repo::seed(&registry.host());
    let automation = std::fs::read_to_string(fixtures.join("image-update-automation.yaml"))
        .unwrap()
        // Still declaring $filename: Go's parser refuses a variable it has
        // not seen (parse.go useVar) before the field is ever evaluated.
        .replace("{{ range $filename, $_ := .Changed.FileChanges -}}", "{{ range $filename, $_ := .Updated.Images -}}");
    std::fs::write(repo.path().join("infrastructure/image-automation/automation.yaml"), automation).unwrap();
    gpuops_testkit::git(repo.path(), &["add", "."]);
    gpuops_testkit::git(repo.path(), &["commit", "--quiet", "-m", "automation"]);
    let out = repo.run(&["apply", "--commit"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("removed '.Updated' field"), "{stderr}");
    assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "", "the files were put back");
}
