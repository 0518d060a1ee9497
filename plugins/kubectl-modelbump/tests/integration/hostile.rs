//! A hostile registry: a real `docker-registry` behind a proxy that sends
//! the client elsewhere or lists names that are not tags. The login from
//! docker's config must reach no other host, and nothing a registry sends
//! that is not an OCI tag may land in a file.

use gpuops_testkit::{Capture, Fault, Proxy, Registry, push_model_tags_as};

use crate::util::{Repo, SEED_IMAGE_PATH, seeded_registry, text};

const USER: &str = "ci";
const PASSWORD: &str = "s3cret-pass";

/// A registry with a login, the seed repo pointing at `proxy`, and docker's
/// config holding the login for the proxy's host.
fn behind(fault: impl FnOnce(&Registry) -> Fault) -> (Registry, Proxy, Repo, tempfile::TempDir) {
    let registry = Registry::start_with_login(USER, PASSWORD);
    push_model_tags_as(&format!("{}/{SEED_IMAGE_PATH}", registry.host()), USER, PASSWORD, &["v1.0.0", "v2.0.0"]);
    let proxy = Proxy::start(registry.port(), fault(&registry));
    let repo = Repo::seed(&proxy.host());
    let config = tempfile::tempdir().unwrap();
    gpuops_testkit::docker_config_with_login(config.path(), &proxy.host(), USER, PASSWORD);
    (registry, proxy, repo, config)
}

fn no_credential_in(capture: &Capture) {
    let basic = gpuops_testkit::base64(format!("{USER}:{PASSWORD}").as_bytes());
    for head in capture.requests() {
        let lower = head.to_ascii_lowercase();
        assert!(!lower.contains("authorization:"), "a credential reached another host:\n{head}");
        assert!(!head.contains(&basic) && !head.contains(PASSWORD), "{head}");
    }
}

#[test]
fn a_link_to_another_host_is_refused_and_gets_no_credential() {
    let capture = Capture::start(r#"{"name":"x","tags":["v99.0.0"]}"#);
    for link in [
        format!("http://{}/v2/{SEED_IMAGE_PATH}/tags/list?last=v2.0.0", capture.host()),
        format!("@{}/v2/{SEED_IMAGE_PATH}/tags/list", capture.host()),
        format!("//{}/v2/{SEED_IMAGE_PATH}/tags/list", capture.host()),
    ] {
        let (_registry, _proxy, repo, config) = behind(|_| Fault::LinkTo(link.clone()));
        let out = repo.command(&["apply", "--commit"]).env("DOCKER_CONFIG", config.path()).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{link}: {stderr}");
        assert!(stderr.contains("next page is not on") && stderr.contains("refusing to follow it"), "{stderr}");
        assert!(!stderr.contains(PASSWORD), "{stderr}");
        assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "", "{link}: no file may change");
        assert!(!repo.read("apps/foundry-gpu-oras/helmrelease.yaml").contains("v99"), "another host's tags used");
    }
    assert!(capture.requests().is_empty(), "the foreign host was contacted: {:?}", capture.requests());
}

#[test]
fn a_token_realm_on_another_host_never_receives_the_login() {
    let capture = Capture::start(r#"{"token":"foreign-token"}"#);
    // Plain HTTP to a name that only looks like loopback, and another
    // service on loopback: neither is the registry.
    for realm in
        [format!("http://127.evil.example.com:{}/token", capture.port()), format!("http://{}/token", capture.host())]
    {
        let (_registry, _proxy, repo, config) = behind(|_| Fault::RealmAt(realm.clone()));
        let out = repo.command(&["apply", "--commit", "-v", "2"]).env("DOCKER_CONFIG", config.path()).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{realm}: {stderr}");
        assert!(stderr.contains("not sending the login"), "{stderr}");
        assert!(!stderr.contains(PASSWORD) && !stderr.contains("foreign-token"), "{stderr}");
        assert_eq!(gpuops_testkit::git(repo.path(), &["status", "--porcelain"]), "");
    }
    no_credential_in(&capture);
}

#[test]
fn names_that_are_not_oci_tags_are_never_candidates() {
    let hostile: Vec<String> = [
        "~/../../../../v2/_catalog",
        "~x?n=1#frag",
        "v9.0.0\u{202e}",
        "v9.0.0\u{1b}[2J",
        "v9.0.0\nimage: evil",
        ".v9.0.0",
        // Valid semver, so a policy would pick it — but `+` is no tag character.
        "v9.0.0+evil",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!("v9{}", ".0".repeat(2_500)), "v1.0.0".into(), "v2.0.0".into(), "v2.1.0".into()])
    .collect();
    let registry = seeded_registry();
    let proxy = Proxy::start(registry.port(), Fault::Tags(hostile));
    let repo = Repo::seed(&proxy.host());
    let out = repo.run(&["apply", "--commit", "-v", "2"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let file = repo.read("apps/foundry-gpu-oras/helmrelease.yaml");
    assert!(!file.contains("v9") && !file.contains('\u{1b}') && !file.contains("evil"), "{file}");
    assert!(file.contains("tag: v2.1.0"), "the newest real tag wins:\n{file}");
    assert!(stderr.contains("not OCI tags"), "{stderr}");
    let log = gpuops_testkit::git(repo.path(), &["log", "-1", "--format=%B"]);
    assert!(!log.contains("v9") && !log.contains('\u{202e}'), "{log}");
}
