//! `ImageRepository.spec.provider: azure|aws|gcp`: the login comes from
//! that cloud's docker credential helper, spoken to with the
//! credential-helper protocol; without the helper, an error naming it;
//! `secretRef`/`certSecretRef` said to be cluster-side. Against a real
//! `docker-registry` with htpasswd auth and a stand-in helper on PATH that
//! checks what it receives.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gpuops_testkit::{Registry, git, push_model_tags_as};

use crate::util::{HELMRELEASE, Repo, SEED_IMAGE_PATH, text};

const REPOSITORY_FILE: &str = "infrastructure/image-automation/foundry-gpu-models.yaml";
const USER: &str = "ci";
const PASSWORD: &str = "s3cret-pass";

/// Seed 000 against a registry that wants a login, its ImageRepository
/// given `extra` spec fields (seed 000's registry is an ACR).
fn private_seed(registry: &Registry, extra: &str) -> Repo {
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    push_model_tags_as(&image, USER, PASSWORD, &["v1.0.0", "v2.0.0"]);
    let repo = Repo::seed(&registry.host());
    let file = repo.path().join(REPOSITORY_FILE);
    let objects = std::fs::read_to_string(&file).unwrap();
    let with = objects.replace("  interval: 5s\n", &format!("  interval: 5s\n{extra}"));
    assert_ne!(with, objects);
    std::fs::write(&file, with).unwrap();
    git(repo.path(), &["commit", "--quiet", "-am", "provider"]);
    repo
}

/// A `docker-credential-acr-env` in `dir` that answers only `get` for
/// `host` (read from stdin, without a newline, as docker sends it), and
/// logs each request's action and server to `dir/requests`.
fn stand_in_helper(dir: &Path, host: &str, username: &str, secret: &str) {
    let log = dir.join("requests");
    let script = format!(
        r#"#!/bin/sh
server=$(cat)
printf '%s %s\n' "$1" "$server" >> '{log}'
[ "$1" = get ] || {{ echo "unknown action $1"; exit 1; }}
[ "$server" = '{host}' ] || {{ echo 'credentials not found in native keychain'; exit 1; }}
printf '{{"ServerURL":"%s","Username":"{username}","Secret":"{secret}"}}' "$server"
"#,
        log = log.display()
    );
    let program = dir.join("docker-credential-acr-env");
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn provider_azure_logs_in_through_the_acr_helper() {
    let registry = Registry::start_with_login(USER, PASSWORD);
    let repo = private_seed(&registry, "  provider: azure\n");
    let bin = tempfile::tempdir().unwrap();
    stand_in_helper(bin.path(), &registry.host(), USER, PASSWORD);
    let before = repo.read(HELMRELEASE);

    let out = repo.command(&["apply", "--commit"]).env("PATH", path_with(bin.path())).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(repo.read(HELMRELEASE), before.replace("tag: v1.0.0 #", "tag: v2.0.0 #"));
    // Asked with `get` and the registry host, once for the run.
    let requests = std::fs::read_to_string(bin.path().join("requests")).unwrap();
    assert_eq!(requests, format!("get {}\n", registry.host()));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(!all.contains(PASSWORD), "a credential reached the output: {all}");
}

#[test]
fn a_rejected_helper_login_and_a_missing_helper_are_named() {
    let registry = Registry::start_with_login(USER, PASSWORD);
    let repo = private_seed(&registry, "  provider: azure\n");
    // The helper answers, the registry refuses its login.
    let bin = tempfile::tempdir().unwrap();
    stand_in_helper(bin.path(), &registry.host(), USER, "expired-secret");
    let out = repo.command(&["scan"]).env("PATH", path_with(bin.path())).output().unwrap();
    let err = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a registry that refuses is an error: {err}");
    assert!(
        err.contains("rejected the login") && err.contains("docker-credential-acr-env (spec.provider: azure)"),
        "{err}"
    );
    assert!(!err.contains("expired-secret"), "{err}");

    // No helper on PATH: no anonymous attempt ending in a bare 401, and no
    // fallback to docker's config (Flux uses the provider alone).
    let config = tempfile::tempdir().unwrap();
    gpuops_testkit::docker_config_with_login(config.path(), &registry.host(), USER, PASSWORD);
    let out = repo.command(&["apply"]).env("DOCKER_CONFIG", config.path()).output().unwrap();
    let err = text(&out.stdout) + &text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("spec.provider: azure, whose login comes from docker-credential-acr-env, which is not on PATH; install docker-credential-acr-env"),
        "{err}"
    );
    assert!(!err.contains("401"), "{err}");
}

#[test]
fn secret_refs_are_cluster_side_and_said_so() {
    let registry = Registry::start_with_login(USER, PASSWORD);
    let repo = private_seed(&registry, "  secretRef:\n    name: regcred\n  certSecretRef:\n    name: registry-ca\n");
    let config = tempfile::tempdir().unwrap();
    gpuops_testkit::docker_config_with_login(config.path(), &registry.host(), USER, PASSWORD);
    let out = repo.command(&["apply"]).env("DOCKER_CONFIG", config.path()).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "docker's login is used: {err}");
    let host = registry.host();
    assert!(
        err.contains(&format!(
            "spec.secretRef \"regcred\" is a Secret in the cluster, which modelbump cannot read; here the login for {host} comes from docker's config: run `docker login {host}`"
        )),
        "{err}"
    );
    assert!(err.contains("spec.certSecretRef \"registry-ca\" is a Secret in the cluster"), "{err}");
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"));
}
