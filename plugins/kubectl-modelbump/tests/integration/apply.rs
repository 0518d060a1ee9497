//! apply and promote: surgical edits, dry runs, commits.

use gpuops_testkit::git;

use crate::util::{HELMRELEASE, Repo, SEED_IMAGE_PATH, seeded_registry, text};

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

/// `apply --dry-run[=client]` exits 0 as `kubectl apply --dry-run` does
/// (it used to exit 1, failing CI steps under `set -e`); `diff` keeps
/// kubectl diff's codes (0 none, 1 changes); `-o json` lists the changes.
#[test]
fn dry_run_exits_0_and_diff_follows_kubectl_diff_exit_codes() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let before = repo.read(HELMRELEASE);
    for args in [&["apply", "--dry-run"][..], &["apply", "--dry-run=client"], &["diff"]] {
        let out = repo.run(args);
        let want = if args[0] == "diff" { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(want), "{args:?}: {}", text(&out.stderr));
        let diff = text(&out.stdout);
        assert!(diff.contains(&format!("--- a/{HELMRELEASE}\n+++ b/{HELMRELEASE}\n")), "{diff}");
        assert!(diff.contains("-      tag: v1.0.0 # {\"$imagepolicy\": \"flux-system:foundry-gpu-models:tag\"}\n+      tag: v2.0.0 # {\"$imagepolicy\""), "{diff}");
        assert_eq!(repo.read(HELMRELEASE), before, "dry run writes nothing");
    }
    let json = repo.run(&["apply", "--dry-run", "-o", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((doc["apiVersion"].as_str(), doc["kind"].as_str()), (Some("gpuops.dev/v1alpha1"), Some("ChangeList")));
    assert_eq!(doc["items"][0]["file"], HELMRELEASE);
    assert_eq!((doc["items"][0]["old"].as_str(), doc["items"][0]["new"].as_str()), (Some("v1.0.0"), Some("v2.0.0")));
    assert_eq!(repo.run(&["apply", "--dry-run=server"]).status.code(), Some(2));

    assert_eq!(repo.run(&["apply"]).status.code(), Some(0));
    let out = repo.run(&["diff"]);
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

/// Files and git states the next run would misread: each is decided before
/// anything is written.
#[test]
fn symlinks_read_only_files_detached_heads_and_leftover_temp_files() {
    use std::os::unix::fs::PermissionsExt;
    let registry = seeded_registry();
    const FILE: &str = "apps/foundry-gpu-oras/helmrelease.yaml";

    // The file given as PATH holds its ImagePolicy too, so it can be
    // scanned on its own.
    let self_contained = |repo: &Repo| {
        let policies = repo.read("infrastructure/image-automation/foundry-gpu-models.yaml");
        let release = repo.read(FILE);
        std::fs::write(repo.path().join(FILE), format!("{release}---\n{policies}")).unwrap();
        gpuops_testkit::git(repo.path(), &["commit", "--quiet", "-am", "one file"]);
    };

    // A symlink inside the repository: the file it points to is updated,
    // the link stays a link.
    let repo = Repo::seed(&registry.host());
    self_contained(&repo);
    let real = repo.path().join("apps/foundry-gpu-oras/real.yaml");
    std::fs::rename(repo.path().join(FILE), &real).unwrap();
    std::os::unix::fs::symlink("real.yaml", repo.path().join(FILE)).unwrap();
    gpuops_testkit::git(repo.path(), &["add", "-A"]);
    gpuops_testkit::git(repo.path(), &["commit", "--quiet", "-m", "link"]);
    let out = repo.run(&["apply", "--commit", FILE]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(std::fs::symlink_metadata(repo.path().join(FILE)).unwrap().file_type().is_symlink(), "still a link");
    assert!(std::fs::read_to_string(&real).unwrap().contains("tag: v2.0.0"));
    assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "", "the real file was committed");

    // A symlink out of the repository is not written through.
    let repo = Repo::seed(&registry.host());
    self_contained(&repo);
    let outside = tempfile::tempdir().unwrap();
    let elsewhere = outside.path().join("helmrelease.yaml");
    std::fs::copy(repo.path().join(FILE), &elsewhere).unwrap();
    std::fs::remove_file(repo.path().join(FILE)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, repo.path().join(FILE)).unwrap();
    let before = std::fs::read_to_string(&elsewhere).unwrap();
    let out = repo.run(&["apply", FILE]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a symlink to") && stderr.contains("not writing through it"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), before);

    // A read-only file is left alone, and so is every other file.
    let repo = Repo::seed(&registry.host());
    let path = repo.path().join(FILE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = repo.run(&["apply", "--commit"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("read-only; not replacing it"), "{stderr}");
    assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "");
    assert_eq!(repo.commits(), 1);

    // A detached HEAD cannot be pushed: refused before writing or committing.
    let repo = Repo::seed(&registry.host());
    gpuops_testkit::git(repo.path(), &["checkout", "--quiet", "--detach"]);
    let out = repo.run(&["apply", "--commit", "--push"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("HEAD is detached") && stderr.contains("--branch"), "{stderr}");
    assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "");
    assert_eq!(repo.commits(), 1);

    // What a killed run left (older than ten minutes) is removed; a fresh
    // one, perhaps a concurrent run's, is not.
    let repo = Repo::seed(&registry.host());
    let dir = repo.path().join("apps/foundry-gpu-oras");
    let stale = dir.join(".helmrelease.yaml.gpuops-AbC123");
    let fresh = dir.join(".helmrelease.yaml.gpuops-XyZ789");
    std::fs::write(&stale, "half").unwrap();
    std::fs::write(&fresh, "half").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
    let out = repo.run(&["apply", "-v", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!stale.exists(), "the stale temporary file is gone");
    assert!(fresh.exists());
    assert!(
        text(&out.stderr).contains("removed temporary files an interrupted run left behind"),
        "{}",
        text(&out.stderr)
    );
}

/// Pins that are not markers move between overlays too: the example's
/// ModelTags (overlays/dev → overlays/staging), and kustomize `images:`
/// entries (newTag, digest), byte for byte, by entry name.
#[test]
fn promote_moves_model_tags_and_kustomize_image_entries() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/llmops-overlays");
    gpuops_testkit::copy_tree(&example, dir.path());
    let kustomization = |env: &str| dir.path().join("overlays").join(env).join("kustomization.yaml");
    let images = |tag: &str, digest: &str| {
        format!(
            "images:\n- name: vllm/vllm-openai\n  newTag: {tag} # engine\n- name: ghcr.io/acme/router\n  digest: \"{digest}\"\n"
        )
    };
    let staging_before = std::fs::read_to_string(kustomization("staging")).unwrap();
    std::fs::write(
        kustomization("dev"),
        format!("{}{}", std::fs::read_to_string(kustomization("dev")).unwrap(), images("v0.10.1", "sha256:1111")),
    )
    .unwrap();
    std::fs::write(kustomization("staging"), format!("{staging_before}{}", images("v0.8.5", "sha256:0000"))).unwrap();
    git(dir.path(), &["init", "--quiet", "--initial-branch=main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "-m", "seed"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-modelbump"))
        .args(["promote", "--from", "overlays/dev", "--to", "overlays/staging"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let model = std::fs::read_to_string(dir.path().join("overlays/staging/model.yaml")).unwrap();
    assert!(model.contains("newTag: 1.2.0-rc.1") && model.contains("name: staging-model"), "{model}");
    assert_eq!(
        std::fs::read_to_string(kustomization("staging")).unwrap(),
        format!("{staging_before}{}", images("v0.10.1", "sha256:1111")),
        "only the values changed, comment and quotes kept"
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("images[vllm/vllm-openai]") && stdout.contains("models["), "{stdout}");
    // Production has no images: nothing to promote there, and dev is untouched.
    assert!(std::fs::read_to_string(kustomization("dev")).unwrap().contains("newTag: v0.10.1"));
}
