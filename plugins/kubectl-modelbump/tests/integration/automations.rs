//! Every ImageUpdateAutomation as Flux runs it (issue 23: 2, 5, 8): each
//! with its own update path, message and push settings; a push branch the
//! remote lacks created from the checkout and force-pushed (one it has is
//! built on: push_branch.rs); `push.refspec` and
//! `push.options`; signing through git's own configuration; `--policies`.

use std::path::Path;

use gpuops_testkit::git;

use crate::util::{HELMRELEASE, Repo, SEED_IMAGE_PATH, seeded_registry, text};

const OTHER: &str = "apps/other/deploy.yaml";

fn automation(name: &str, path: &str, message: &str, push: &str) -> String {
    format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n  git:\n    commit:\n      author: {{name: bot, email: bot@example.com}}\n      messageTemplate: '{message}'\n{push}  update:\n    path: {path}\n    strategy: Setters\n"
    )
}

/// The seed with a second marked file and two automations over the two
/// directories; a bare remote that records the push options it receives.
fn two_automations(host: &str, a_push: &str, b_push: &str) -> (Repo, tempfile::TempDir) {
    let repo = Repo::seed(host);
    let image = format!("{host}/{SEED_IMAGE_PATH}");
    std::fs::create_dir_all(repo.path().join("apps/other")).unwrap();
    std::fs::write(
        repo.path().join(OTHER),
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: other}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: {image}:v1.0.0 # {{\"$imagepolicy\": \"flux-system:foundry-gpu-models\"}}\n"),
    )
    .unwrap();
    let dir = repo.path().join("infrastructure/image-automation");
    std::fs::write(dir.join("a.yaml"), automation("a", "./apps/foundry-gpu-oras", "bump a", a_push)).unwrap();
    std::fs::write(dir.join("b.yaml"), automation("b", "./apps/other", "bump b", b_push)).unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "two automations"]);
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--quiet", "--bare"]);
    git(remote.path(), &["config", "receive.advertisePushOptions", "true"]);
    let hook = remote.path().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\ni=0\nwhile [ $i -lt \"${GIT_PUSH_OPTION_COUNT:-0}\" ]; do eval \"echo \\$GIT_PUSH_OPTION_$i\" >> \"$GIT_DIR/options.log\"; i=$((i+1)); done\ncat >/dev/null\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    git(repo.path(), &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    git(repo.path(), &["push", "--quiet", "origin", "main"]);
    (repo, remote)
}

fn show(dir: &Path, rev: &str) -> String {
    git(dir, &["show", rev])
}

/// Two automations (was: "choose one with --automation"): each its own
/// commit, message and push; A's branch is built from main and forced, B
/// pushes main, then its refspec (not forced), with its push options.
#[test]
fn every_automation_commits_and_pushes_as_flux_does() {
    let registry = seeded_registry();
    let (repo, remote) = two_automations(
        &registry.host(),
        "    push:\n      branch: auto-a\n",
        "    push:\n      refspec: refs/heads/main:refs/heads/b-mirror\n      options: {ci.skip: \"\", merge_request.create: \"true\"}\n",
    );
    // Without --commit: the union, as one diff; exit 0.
    let json = repo.run(&["apply", "--dry-run", "-o", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let files: Vec<&str> = doc["items"].as_array().unwrap().iter().map(|i| i["file"].as_str().unwrap()).collect();
    assert_eq!(files, [HELMRELEASE, OTHER]);

    let out = repo.run(&["apply", "--commit", "--push"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A: on auto-a only, rebuilt from main.
    assert!(show(remote.path(), &format!("auto-a:{HELMRELEASE}")).contains("tag: v2.0.0"));
    assert_eq!(git(remote.path(), &["log", "-1", "--format=%s", "auto-a"]).trim(), "bump a");
    assert!(!show(remote.path(), &format!("auto-a:{OTHER}")).contains("v2.0.0"), "B's change is not on A's branch");
    // B: on main (the checkout branch), then the refspec.
    assert!(show(remote.path(), &format!("main:{OTHER}")).contains(":v2.0.0 #"));
    assert!(show(remote.path(), &format!("main:{HELMRELEASE}")).contains("tag: v1.0.0"), "A's change is not on main");
    assert_eq!(git(remote.path(), &["log", "-1", "--format=%s", "main"]).trim(), "bump b");
    assert_eq!(git(remote.path(), &["rev-parse", "main"]), git(remote.path(), &["rev-parse", "b-mirror"]));
    let options = std::fs::read_to_string(remote.path().join("options.log")).unwrap();
    assert_eq!(options, "ci.skip\nmerge_request.create=true\nci.skip\nmerge_request.create=true\n", "both pushes");
    assert_eq!(git(repo.path(), &["branch", "--show-current"]).trim(), "main");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");

    // --automation still picks one.
    let one = repo.run(&["apply", "--automation", "flux-system/a", "--dry-run", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(doc["items"].as_array().unwrap().len(), 1, "{doc}");
}

/// `scan DIR` finds the policies at the git top level (it reported the
/// marker's policy missing), and only what apply touches unless -o wide.
#[test]
fn scan_reads_policies_from_the_top_level_or_policies() {
    let registry = seeded_registry();
    let (repo, _remote) = two_automations(&registry.host(), "", "");
    let out = repo.run(&["scan", "apps/foundry-gpu-oras"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("update"), "{}", text(&out.stdout));
    let out = repo.run(&["scan", "apps/foundry-gpu-oras", "--policies", "apps"]);
    assert!(text(&out.stderr).contains("warning:"), "no policy under apps: {}", text(&out.stderr));
    // Outside every update path: hidden in the table, said in -o wide.
    std::fs::remove_file(repo.path().join("infrastructure/image-automation/b.yaml")).unwrap();
    let table = text(&repo.run(&["scan"]).stdout);
    assert!(!table.contains(OTHER), "{table}");
    let wide = text(&repo.run(&["scan", "-o", "wide"]).stdout);
    assert!(wide.contains("outside every ImageUpdateAutomation's spec.update.path"), "{wide}");
}

/// signingKey: refused while git does not sign; with git's SSH signing
/// configured the pushed commit verifies (`git verify-commit`).
#[test]
fn a_signing_automation_commits_signed_by_git_or_not_at_all() {
    let registry = seeded_registry();
    let (repo, remote) =
        two_automations(&registry.host(), "    push:\n      branch: auto-a\n", "    push:\n      branch: auto-b\n");
    let file = repo.path().join("infrastructure/image-automation/a.yaml");
    let text_a = std::fs::read_to_string(&file)
        .unwrap()
        .replace("      author:", "      signingKey: {secretRef: {name: signing-key}}\n      author:");
    std::fs::write(&file, text_a).unwrap();
    git(repo.path(), &["commit", "--quiet", "-am", "sign"]);
    let out = repo.run(&["apply", "--commit", "--push"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refusing to commit unsigned"), "{stderr}");
    // b went through; a did not.
    assert!(show(remote.path(), &format!("auto-b:{OTHER}")).contains(":v2.0.0 #"));
    assert!(git(remote.path(), &["branch", "--list", "auto-a"]).trim().is_empty());

    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("id");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bot@example.com", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(keys.path().join("id.pub")).unwrap();
    let allowed = keys.path().join("allowed");
    std::fs::write(&allowed, format!("bot@example.com {public}")).unwrap();
    for (k, v) in [
        ("gpg.format", "ssh"),
        ("user.signingkey", key.to_str().unwrap()),
        ("commit.gpgsign", "true"),
        ("gpg.ssh.allowedSignersFile", allowed.to_str().unwrap()),
    ] {
        git(repo.path(), &["config", k, v]);
    }
    let out = repo.run(&["apply", "--commit", "--push", "--automation", "flux-system/a"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    git(repo.path(), &["fetch", "--quiet", "origin", "auto-a"]);
    let verified = std::process::Command::new("git")
        .current_dir(repo.path())
        .args(["verify-commit", "FETCH_HEAD"])
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stderr));
}
