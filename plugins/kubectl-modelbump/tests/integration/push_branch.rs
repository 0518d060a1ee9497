//! Flux's push branch, scenario by scenario: image-automation-controller
//! v1.2.0-13-gd36e2ea internal/source/source_test.go
//! `Test_pushBranchUpdateScenarios` / `test_pushBranchUpdateScenarios`,
//! case "default checkout and push configs" (its other case, "shallow
//! clone and force push", and the http/ssh transports are clone and
//! transport details a local checkout does not have). The semantics are
//! fluxcd/pkg git/gogit/client.go `SwitchBranch`: a push branch the remote
//! has is checked out at the remote's head and updated there; one it lacks
//! is created from the checkout branch's HEAD; either is force-pushed
//! (imageupdateautomation_controller.go: GitForcePushBranch && SwitchBranch).

use std::path::Path;

use gpuops_testkit::{git, push_model_tags, seeding_client};

use crate::util::{HELMRELEASE, Repo, SEED_IMAGE_PATH, seeded_registry, text};

const PUSH_BRANCH: &str = "image-updates";

fn rev(dir: &Path, rev: &str) -> String {
    git(dir, &["rev-parse", rev]).trim().to_string()
}

/// The seed with the fixture automation (push.branch: image-updates) and
/// a bare remote holding main.
fn with_remote(host: &str) -> (Repo, tempfile::TempDir) {
    let repo = Repo::seed(host);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures");
    std::fs::copy(
        fixtures.join("image-update-automation.yaml"),
        repo.path().join("infrastructure/image-automation/automation.yaml"),
    )
    .unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "automation"]);
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--quiet", "--bare"]);
    git(repo.path(), &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    git(repo.path(), &["push", "--quiet", "origin", "main"]);
    (repo, remote)
}

#[test]
fn push_branch_update_scenarios_as_flux() {
    let registry = seeded_registry();
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    let (repo, remote) = with_remote(&registry.host());
    let bump = || {
        let out = repo.run(&["apply", "--commit", "--push"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(git(repo.path(), &["branch", "--show-current"]).trim(), "main", "HEAD is back on main");
    };
    let pushed_tag = || git(remote.path(), &["show", &format!("{PUSH_BRANCH}:{HELMRELEASE}")]);

    // ======= Scenario 1: push to a separate push branch (absent: created
    // from the checkout branch).
    let main_head = rev(remote.path(), "main");
    bump();
    let first = rev(remote.path(), PUSH_BRANCH);
    assert_eq!(rev(remote.path(), &format!("{PUSH_BRANCH}^")), main_head, "created from main");
    assert!(git(remote.path(), &["log", "-1", "--format=%B", PUSH_BRANCH]).starts_with("Automated image update\n"));
    assert!(pushed_tag().contains("tag: v2.0.0"));
    assert_eq!(rev(remote.path(), "main"), main_head, "main is not pushed to");

    // ======= Scenario 2: the push branch gets updated — on top of itself,
    // not rebuilt from main (the earlier commit stays).
    push_model_tags(&seeding_client(), &image, &["v2.1.0"]);
    bump();
    let second = rev(remote.path(), PUSH_BRANCH);
    assert_ne!(second, first);
    assert_eq!(rev(remote.path(), &format!("{PUSH_BRANCH}^")), first, "built on the branch the remote has");
    assert!(pushed_tag().contains("tag: v2.1.0"));
    assert_eq!(rev(remote.path(), "main"), main_head);

    // ======= Scenario 3: still pushes to the push branch after it is merged.
    git(repo.path(), &["merge", "--quiet", "--ff-only", &format!("origin/{PUSH_BRANCH}")]);
    git(repo.path(), &["push", "--quiet", "origin", "main"]);
    assert_eq!(rev(remote.path(), "main"), second);
    push_model_tags(&seeding_client(), &image, &["v2.2.0"]);
    bump();
    let third = rev(remote.path(), PUSH_BRANCH);
    assert_ne!(third, second);
    assert_eq!(rev(remote.path(), &format!("{PUSH_BRANCH}^")), second);
    assert!(pushed_tag().contains("tag: v2.2.0"));
    // The checkout's own files were never touched.
    assert!(repo.read(HELMRELEASE).contains("tag: v2.1.0"), "main as merged");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
}

/// A push branch the remote no longer has (merged and deleted) is created
/// from the checkout branch again, even with a stale local branch of that
/// name (Flux's clone has no local state: only the remote counts).
#[test]
fn a_deleted_push_branch_is_created_again_from_main() {
    let registry = seeded_registry();
    let (repo, remote) = with_remote(&registry.host());
    let out = repo.run(&["apply", "--commit", "--push"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    git(remote.path(), &["branch", "--quiet", "-D", PUSH_BRANCH]);
    std::fs::write(repo.path().join("apps/note.yaml"), "a: 1\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "main moves"]);
    git(repo.path(), &["push", "--quiet", "origin", "main"]);
    let out = repo.run(&["apply", "--commit", "--push"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(rev(remote.path(), &format!("{PUSH_BRANCH}^")), rev(remote.path(), "main"));
}
