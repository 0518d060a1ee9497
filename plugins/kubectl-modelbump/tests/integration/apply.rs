//! apply and promote: surgical edits, dry runs, commits.

use gpuops_testkit::git;

use crate::util::{Repo, SEED_IMAGE_PATH, seeded_registry, text};

const HELMRELEASE: &str = "apps/foundry-gpu-oras/helmrelease.yaml";
const ISVC: &str = "apps/llm-serving/inferenceservice.yaml";

#[test]
fn seed_000_apply_commit_changes_exactly_byo_tag() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let helm_before = repo.read(HELMRELEASE);

    let out = repo.run(&["apply", ".", "--commit"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));

    // Only the changed characters differ: every other byte, comment and blank line stays.
    assert_eq!(repo.read(HELMRELEASE), helm_before.replace("tag: v1.0.0 #", "tag: v2.0.0 #"));
    assert_eq!(repo.commits(), 2, "exactly one new commit");
    let stat = git(repo.path(), &["show", "--format=%B", "--numstat", "HEAD"]);
    assert!(stat.contains("modelbump: update 1 model reference(s)"), "{stat}");
    assert!(stat.contains(&format!("- {HELMRELEASE}:22 flux-system/foundry-gpu-models: v1.0.0 -> v2.0.0")), "{stat}");
    assert!(stat.trim_end().ends_with(&format!("1\t1\t{HELMRELEASE}")), "one line of one file: {stat}");

    // Nothing newer: no change, no commit.
    let again = repo.run(&["apply", ".", "--commit"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("all references are up to date"), "{}", text(&again.stdout));
    assert_eq!(repo.commits(), 2);
}

#[test]
fn model_markers_rewrite_inside_oci_uris_keeping_scheme_port_and_quotes() {
    let registry = seeded_registry();
    let repo = Repo::seed_with_isvc(&registry.host());
    let before = repo.read(ISVC);
    let out = repo.run(&["apply", "--commit"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    assert!(before.contains(&format!("\"oci://{image}:v1.0.0\"")), "{before}");
    assert_eq!(
        repo.read(ISVC),
        before.replace(&format!("\"oci://{image}:v1.0.0\""), &format!("\"oci://{image}:v2.0.0\""))
    );
}

#[test]
fn dry_run_prints_a_diff_and_follows_kubectl_diff_exit_codes() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let before = repo.read(HELMRELEASE);
    let out = repo.run(&["apply", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "changes pending → exit 1: {}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(diff.contains(&format!("--- a/{HELMRELEASE}\n+++ b/{HELMRELEASE}\n")), "{diff}");
    assert!(diff.contains("-      tag: v1.0.0 # {\"$imagepolicy\": \"flux-system:foundry-gpu-models:tag\"}\n+      tag: v2.0.0 # {\"$imagepolicy\""), "{diff}");
    assert_eq!(repo.read(HELMRELEASE), before, "dry run writes nothing");

    assert_eq!(repo.run(&["apply"]).status.code(), Some(0));
    let out = repo.run(&["apply", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "nothing to change → exit 0");
    assert!(out.stdout.is_empty());
}

#[test]
fn commit_refuses_a_dirty_tree_and_changes_nothing() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let kustomization = repo.path().join("apps/foundry-gpu-oras/kustomization.yaml");
    std::fs::write(&kustomization, "# local edit\n").unwrap();
    let before = repo.read(HELMRELEASE);
    let out = repo.run(&["apply", "--commit"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("refusing to commit") && stderr.contains("kustomization.yaml"), "{stderr}");
    assert_eq!(repo.read(HELMRELEASE), before);
    assert_eq!(repo.commits(), 1);

    // With nothing to change there is nothing to refuse.
    std::fs::write(repo.path().join(HELMRELEASE), before.replace("tag: v1.0.0 #", "tag: v2.0.0 #")).unwrap();
    let out = repo.run(&["apply", "--commit"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("all references are up to date"));
}

#[test]
fn branch_message_and_push() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--quiet", "--bare"]);
    git(repo.path(), &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let out = repo.run(&[
        "apply",
        "--commit",
        "--branch",
        "bump/models",
        "--message",
        "models: {count} bump(s)\n\n{changes}",
        "--push",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = git(remote.path(), &["log", "--format=%s", "bump/models"]);
    assert_eq!(log.lines().next(), Some("models: 1 bump(s)"));
    assert_eq!(git(repo.path(), &["branch", "--show-current"]).trim(), "bump/models");
}

#[test]
fn digest_pinning_writes_tag_at_digest() {
    let registry = seeded_registry();
    let repo = Repo::seed_with_isvc(&registry.host());
    let digest =
        gpuops_testkit::seeding_client().digest(&format!("{}/{SEED_IMAGE_PATH}", registry.host()), "v2.0.0").unwrap();
    let out = repo.run(&["apply", "--digest"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(repo.read(ISVC).contains(&format!(":v2.0.0@{digest}\"")), "{}", repo.read(ISVC));
    // A :tag marker stays a tag.
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"));
}

#[test]
fn promote_copies_what_dev_runs_into_staging() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    for (env, tag) in [("dev", "v2.0.0"), ("staging", "v1.0.0")] {
        let dir = repo.path().join("overlays").join(env);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("model.yaml"),
            format!("# {env}\nmodel:\n  uri: 'oci://{image}:{tag}' # {{\"$modelpolicy\": \"flux-system:foundry-gpu-models\"}}\n"),
        )
        .unwrap();
    }
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "envs"]);
    let out = repo.run(&["promote", "--from", "overlays/dev", "--to", "overlays/staging", "--commit"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        repo.read("overlays/staging/model.yaml"),
        format!(
            "# staging\nmodel:\n  uri: 'oci://{image}:v2.0.0' # {{\"$modelpolicy\": \"flux-system:foundry-gpu-models\"}}\n"
        )
    );
    assert_eq!(repo.commits(), 3);
    assert!(repo.read(HELMRELEASE).contains("tag: v1.0.0"), "promote touches only --to");
}
