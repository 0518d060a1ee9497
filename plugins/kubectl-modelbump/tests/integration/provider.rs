//! `ImageRepository.spec.provider: azure|aws|gcp`: the login comes from
//! that cloud's docker credential helper, spoken to with the
//! credential-helper protocol; without the helper, an error naming it;
//! `secretRef`/`certSecretRef` said to be cluster-side. Against a real
//! `docker-registry` with htpasswd auth and a stand-in helper on PATH that
//! checks what it receives. The registry is reached under an ECR name
//! (pinned to 127.0.0.1 with --resolve, over TLS with a test CA): the
//! provider's host check applies to it as Flux applies it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gpuops_testkit::{Registry, git, push_model_tags_as};

use crate::tls::{ECR_NAME, Pki, TlsFront};
use crate::util::{HELMRELEASE, Repo, SEED_IMAGE_PATH, text};

const REPOSITORY_FILE: &str = "infrastructure/image-automation/foundry-gpu-models.yaml";
const USER: &str = "ci";
const PASSWORD: &str = "s3cret-pass";

/// A registry that wants a login, seeded over plain HTTP, served over TLS
/// under [`ECR_NAME`].
struct Private {
    _registry: Registry,
    pki: Pki,
    front: TlsFront,
}

impl Private {
    fn start() -> Self {
        let registry = Registry::start_with_login(USER, PASSWORD);
        push_model_tags_as(&format!("{}/{SEED_IMAGE_PATH}", registry.host()), USER, PASSWORD, &["v1.0.0", "v2.0.0"]);
        let pki = Pki::new();
        let front = TlsFront::start(&registry, &pki);
        Self { _registry: registry, pki, front }
    }

    /// `ECR_NAME:PORT`.
    fn host(&self) -> String {
        self.front.host(ECR_NAME)
    }

    /// `modelbump ARGS --resolve … --certificate-authority …`.
    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.push(self.front.resolve(ECR_NAME));
        all.push(format!("--certificate-authority={}", self.pki.ca().display()));
        all
    }
}

fn run(repo: &Repo, args: &[String]) -> std::process::Command {
    repo.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Seed 000 against [`Private`], its ImageRepository given `extra` spec
/// fields.
fn private_seed(registry: &Private, extra: &str) -> Repo {
    let repo = Repo::seed(&registry.host());
    let file = repo.path().join(REPOSITORY_FILE);
    let objects = std::fs::read_to_string(&file).unwrap();
    let with = objects.replace("  interval: 5s\n", &format!("  interval: 5s\n{extra}"));
    assert_ne!(with, objects);
    std::fs::write(&file, with).unwrap();
    git(repo.path(), &["commit", "--quiet", "-am", "provider"]);
    repo
}

/// A `program` (a docker credential helper) in `dir` that answers only `get` for
/// `host` (read from stdin, without a newline, as docker sends it), and
/// logs each request's action and server to `dir/requests`.
fn stand_in_helper(dir: &Path, program: &str, host: &str, username: &str, secret: &str) {
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
    let program = dir.join(program);
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn provider_aws_logs_in_through_the_ecr_helper() {
    let registry = Private::start();
    let repo = private_seed(&registry, "  provider: aws\n");
    let bin = tempfile::tempdir().unwrap();
    stand_in_helper(bin.path(), "docker-credential-ecr-login", &registry.host(), USER, PASSWORD);
    let before = repo.read(HELMRELEASE);

    let out = run(&repo, &registry.args(&["apply", "--commit"])).env("PATH", path_with(bin.path())).output().unwrap();
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
    let registry = Private::start();
    let repo = private_seed(&registry, "  provider: aws\n");
    // The helper answers, the registry refuses its login.
    let bin = tempfile::tempdir().unwrap();
    stand_in_helper(bin.path(), "docker-credential-ecr-login", &registry.host(), USER, "expired-secret");
    let out = run(&repo, &registry.args(&["scan"])).env("PATH", path_with(bin.path())).output().unwrap();
    let err = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a registry that refuses is an error: {err}");
    assert!(
        err.contains("rejected the login") && err.contains("docker-credential-ecr-login (spec.provider: aws)"),
        "{err}"
    );
    assert!(!err.contains("expired-secret"), "{err}");

    // No helper on PATH: no anonymous attempt ending in a bare 401, and no
    // fallback to docker's config (Flux uses the provider alone).
    let config = tempfile::tempdir().unwrap();
    gpuops_testkit::docker_config_with_login(config.path(), &registry.host(), USER, PASSWORD);
    let out = run(&repo, &registry.args(&["apply"])).env("DOCKER_CONFIG", config.path()).output().unwrap();
    let err = text(&out.stdout) + &text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("spec.provider: aws, whose login comes from docker-credential-ecr-login, which is not on PATH; install docker-credential-ecr-login"),
        "{err}"
    );
    assert!(!err.contains("401"), "{err}");
}

/// A provider whose pattern the host does not match is refused before any
/// request, in fluxcd/pkg's words — a registry reached through 127.0.0.1
/// too (Flux has no loopback exemption), whatever helper is installed.
#[test]
fn a_provider_that_does_not_serve_the_host_is_refused_as_flux_refuses_it() {
    let registry = Private::start();
    let repo = private_seed(&registry, "  provider: azure\n");
    let bin = tempfile::tempdir().unwrap();
    stand_in_helper(bin.path(), "docker-credential-acr-env", &registry.host(), USER, PASSWORD);
    let out = run(&repo, &registry.args(&["apply"])).env("PATH", path_with(bin.path())).output().unwrap();
    let err = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expected = format!(
        "invalid Azure registry: '{}'. must match ^.+\\.(azurecr\\.io|azurecr\\.cn|azurecr\\.de|azurecr\\.us)$",
        registry.host()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(!bin.path().join("requests").exists(), "the helper is not asked");
}

#[test]
fn secret_refs_are_cluster_side_and_said_so() {
    let registry = Private::start();
    let repo = private_seed(&registry, "  secretRef:\n    name: regcred\n  certSecretRef:\n    name: registry-ca\n");
    let config = tempfile::tempdir().unwrap();
    gpuops_testkit::docker_config_with_login(config.path(), &registry.host(), USER, PASSWORD);
    let out = run(&repo, &registry.args(&["apply"])).env("DOCKER_CONFIG", config.path()).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "docker's login is used: {err}");
    let host = registry.host();
    assert!(
        err.contains(&format!(
            "spec.secretRef \"regcred\" is a Secret in the cluster, which modelbump cannot read; here the login for {host} comes from docker's config: run `docker login {host}`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("spec.certSecretRef \"registry-ca\" is a Secret in the cluster, which modelbump cannot read; here {host}'s certificate must chain to the built-in web PKI roots, the system's CA store or $SSL_CERT_FILE: for a private CA, pass its ca.crt with --certificate-authority FILE")),
        "{err}"
    );
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"));
}

/// `tags REPOSITORY` reaches the registry as the tree's ImageRepository
/// for it says (its provider's helper), and says which one it used;
/// without the helper, the same error `scan` gives instead of a bare 401.
#[test]
fn tags_uses_the_image_repository_that_names_the_repository() {
    let registry = Private::start();
    let repo = private_seed(&registry, "  provider: aws\n");
    let bin = tempfile::tempdir().unwrap();
    stand_in_helper(bin.path(), "docker-credential-ecr-login", &registry.host(), USER, PASSWORD);
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());

    let out = run(&repo, &registry.args(&["tags", &image])).env("PATH", path_with(bin.path())).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(text(&out.stdout).contains("v2.0.0"), "{}", text(&out.stdout));
    assert!(
        err.contains(&format!("ImageRepository flux-system/foundry-gpu-models ({REPOSITORY_FILE}:"))
            && err
                .contains(&format!("names {image}; using spec.provider: aws (login from docker-credential-ecr-login)")),
        "{err}"
    );
    let requests = std::fs::read_to_string(bin.path().join("requests")).unwrap();
    assert_eq!(requests, format!("get {}\n", registry.host()));

    // Without the helper: the provider's error, not an anonymous 401.
    let out = run(&repo, &registry.args(&["tags", &image])).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("whose login comes from docker-credential-ecr-login, which is not on PATH"), "{err}");
    assert!(!err.contains("401"), "{err}");

    // Another tree (--policies) without an ImageRepository for it: no line, anonymous, refused.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut args = registry.args(&["tags", &image]);
    args.push(format!("--policies={}", elsewhere.path().display()));
    let out = run(&repo, &args).env("PATH", path_with(bin.path())).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("ImageRepository"), "{err}");
}
