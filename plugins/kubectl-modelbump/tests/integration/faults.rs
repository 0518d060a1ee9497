//! Registries that fail: the user gets one clear error and no file changes.

use std::time::Duration;

use gpuops_testkit::{Fault, Proxy, Registry, push_model_tags_as};

use crate::util::{Repo, SEED_IMAGE_PATH, seeded_registry, text};

fn assert_untouched(repo: &Repo, out: &std::process::Output, expect: &str) {
    assert_eq!(out.status.code(), Some(2), "stdout: {} stderr: {}", text(&out.stdout), text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(expect), "expected {expect:?} in: {stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "", "no file may change");
    assert_eq!(repo.commits(), 1);
}

#[test]
fn server_errors_timeouts_cut_connections_and_truncated_lists() {
    let registry = seeded_registry();
    let cases = [
        (Fault::AlwaysUnavailable, "registry error HTTP 503"),
        (Fault::Slow(Duration::from_secs(5)), "timed out"),
        (Fault::Cut, "connection"),
        (Fault::TruncateTags, "tag list is not valid JSON"),
    ];
    for (fault, expect) in cases {
        let proxy = Proxy::start(registry.port(), fault);
        let repo = Repo::seed(&proxy.host());
        let out = repo.run(&["apply", "--commit", "--retries", "1", "--request-timeout", "500ms"]);
        assert_untouched(&repo, &out, expect);
    }
}

#[test]
fn a_flaky_registry_is_retried_to_success() {
    let registry = seeded_registry();
    let proxy = Proxy::start(registry.port(), Fault::Fail500(2));
    let repo = Repo::seed(&proxy.host());
    let out = repo.run(&["apply", "--commit"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(repo.commits(), 2);
    assert_eq!(text(&out.stderr), "", "retries are silent without -v");

    // At -v 4 each retry says what failed and how long it waits.
    let proxy = Proxy::start(registry.port(), Fault::Fail500(2));
    let repo = Repo::seed(&proxy.host());
    let out = repo.run(&["diff", "-v", "4"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("retrying") && stderr.contains("status=500") && stderr.contains("wait="), "{stderr}");
    assert!(stderr.contains("registry request"), "{stderr}");
}

#[test]
fn private_registry_with_docker_login() {
    let registry = Registry::start_with_login("ci", "s3cret-pass");
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    let config = tempfile::tempdir().unwrap();
    let config = gpuops_testkit::docker_config_with_login(config.path(), &registry.host(), "ci", "s3cret-pass");
    push_model_tags_as(&image, "ci", "s3cret-pass", &["v1.0.0", "v2.0.0"]);
    let repo = Repo::seed(&registry.host());
    let out = repo.command(&["apply", "--commit", "--v=6"]).env("DOCKER_CONFIG", &config).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(repo.commits(), 2);
    // The auth steps are visible at -v 6, the credential never is.
    let stderr = text(&out.stderr);
    assert!(stderr.contains("registry asks for authentication"), "{stderr}");
    let basic = gpuops_testkit::base64(b"ci:s3cret-pass");
    assert!(!stderr.contains("s3cret") && !stderr.contains(&basic), "{stderr}");

    let repo = Repo::seed(&registry.host());
    let out = repo.run(&["apply", "--commit"]);
    assert_untouched(&repo, &out, "docker login");
    assert!(!text(&out.stderr).contains("s3cret"));
}

#[test]
fn unknown_policy_and_bad_markers_are_errors_naming_file_and_line() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    std::fs::write(repo.path().join("apps/extra.yaml"), "a:\n  image: x:1 # {\"$imagepolicy\": \"flux-system:missing\"}\n  b: c # {\"$imagepolicy\": \"no-namespace\"}\n").unwrap();
    gpuops_testkit::git(repo.path(), &["add", "."]);
    gpuops_testkit::git(repo.path(), &["commit", "--quiet", "-m", "extra"]);
    let out = repo.run(&["apply"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("apps/extra.yaml:2: no ImagePolicy flux-system/missing in the scanned tree"), "{stderr}");
    assert!(stderr.contains("apps/extra.yaml:3: marker value \"no-namespace\""), "{stderr}");
    assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "");
}

#[test]
fn private_registry_through_a_docker_credential_helper() {
    let registry = Registry::start_with_login("robot", "helper-secret");
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    push_model_tags_as(&image, "robot", "helper-secret", &["v1.0.0", "v2.0.0"]);
    // `credHelpers` names docker-credential-gpuops-test, which answers the
    // helper protocol (`get`, server URL on stdin) from a script on PATH.
    let tools = tempfile::tempdir().unwrap();
    let helper = tools.path().join("docker-credential-gpuops-test");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\nread server\n[ \"$server\" = \"{}\" ] || exit 1\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"robot\",\"Secret\":\"helper-secret\"}}'\n", registry.host()),
    )
    .unwrap();
    std::process::Command::new("chmod").arg("755").arg(&helper).status().unwrap();
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        format!("{{\"credHelpers\":{{\"{}\":\"gpuops-test\"}}}}", registry.host()),
    )
    .unwrap();
    let repo = Repo::seed(&registry.host());
    let path = format!("{}:{}", tools.path().display(), std::env::var("PATH").unwrap_or_default());
    let out =
        repo.command(&["apply", "--commit"]).env("DOCKER_CONFIG", config.path()).env("PATH", path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(repo.read("apps/foundry-gpu-oras/helmrelease.yaml").contains("tag: v2.0.0"));
    assert!(!text(&out.stdout).contains("helper-secret") && !text(&out.stderr).contains("helper-secret"));
}
