//! gpuops-registry's client against a real `docker-registry` on 127.0.0.1,
//! directly and through fault-injecting and paginating proxies. Here, in
//! the integration binary of the plugin that asks registries for tags, so
//! that `cargo test -p gpuops-registry` stays hermetic (no process, no
//! socket beyond loopback fakes in its unit tests).

use std::time::{Duration, Instant};

use gpuops_registry::{Client, Options, RegistryError};
use gpuops_testkit::{Fault, Proxy, Registry, push_model_tags, seeding_client};

/// A fast-retrying client; without docker config unless `options` names one.
fn client(options: Options) -> Client {
    let use_docker_config = options.docker_config_dir.is_some();
    Client::new(Options { use_docker_config, backoff: Duration::from_millis(20), ..options })
}

#[test]
fn lists_tags_of_oras_style_artifacts_and_resolves_digests() {
    let registry = Registry::start();
    let image = format!("{}/byo-models-gpu/llama-3.2-1b-cuda", registry.host());
    push_model_tags(&seeding_client(), &image, &["v1.0.0", "v2.0.0", "v2.1.0-rc.1"]);
    let c = client(Options::default());
    let mut tags = c.list_tags(&image).unwrap();
    tags.sort();
    assert_eq!(tags, ["v1.0.0", "v2.0.0", "v2.1.0-rc.1"]);
    let digest = c.digest(&image, "v2.0.0").unwrap();
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
    assert_ne!(digest, c.digest(&image, "v1.0.0").unwrap());
}

#[test]
fn follows_link_pagination_to_the_end() {
    let registry = Registry::start();
    let image_on_registry = format!("{}/m/paged", registry.host());
    let tags: Vec<String> = (0..23).map(|i| format!("1.0.{i}")).collect();
    push_model_tags(&seeding_client(), &image_on_registry, &tags.iter().map(String::as_str).collect::<Vec<_>>());
    let proxy = Proxy::start(registry.port(), Fault::Paginate(5));
    let c = client(Options { page_size: 5, ..Options::default() });
    let mut listed = c.list_tags(&format!("{}/m/paged", proxy.host())).unwrap();
    listed.sort();
    let mut want = tags;
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(proxy.requests(), 5, "23 tags at 5 per page");

    let capped = client(Options { page_size: 5, max_pages: 3, ..Options::default() });
    match capped.list_tags(&format!("{}/m/paged", proxy.host())) {
        Err(RegistryError::TooManyPages { pages: 3, tags: 15, .. }) => {}
        other => panic!("expected the page cap, got {other:?}"),
    }
}

#[test]
fn transient_failures_are_retried_and_lasting_ones_reported() {
    let registry = Registry::start();
    let path = "m/flaky";
    push_model_tags(&seeding_client(), &format!("{}/{path}", registry.host()), &["1.0.0"]);

    let flaky = Proxy::start(registry.port(), Fault::Fail500(2));
    assert_eq!(client(Options::default()).list_tags(&format!("{}/{path}", flaky.host())).unwrap(), ["1.0.0"]);

    let limited = Proxy::start(registry.port(), Fault::RateLimit(1));
    let start = Instant::now();
    assert_eq!(client(Options::default()).list_tags(&format!("{}/{path}", limited.host())).unwrap(), ["1.0.0"]);
    assert!(start.elapsed() >= Duration::from_millis(900), "Retry-After: 1 must be honoured");

    let down = Proxy::start(registry.port(), Fault::AlwaysUnavailable);
    let err = client(Options { retries: 1, max_backoff: Duration::from_millis(50), ..Options::default() })
        .list_tags(&format!("{}/{path}", down.host()))
        .unwrap_err();
    assert!(err.to_string().contains("registry error HTTP 503 after 2 attempts"), "{err}");

    let cut = Proxy::start(registry.port(), Fault::Cut);
    let err =
        client(Options { retries: 1, ..Options::default() }).list_tags(&format!("{}/{path}", cut.host())).unwrap_err();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");

    let truncated = Proxy::start(registry.port(), Fault::TruncateTags);
    let err = client(Options { retries: 1, ..Options::default() })
        .list_tags(&format!("{}/{path}", truncated.host()))
        .unwrap_err();
    assert!(err.to_string().contains("tag list is not valid JSON"), "{err}");

    let slow = Proxy::start(registry.port(), Fault::Slow(Duration::from_secs(3)));
    let start = Instant::now();
    let err = client(Options { retries: 0, timeout: Duration::from_millis(300), ..Options::default() })
        .list_tags(&format!("{}/{path}", slow.host()))
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn basic_auth_from_docker_config_and_a_clear_error_without() {
    let registry = Registry::start_with_login("ci", "s3cret-pass");
    let image = format!("{}/private/model", registry.host());
    let dir = tempfile::tempdir().unwrap();
    let config = gpuops_testkit::docker_config_with_login(dir.path(), &registry.host(), "ci", "s3cret-pass");
    let logged_in = Client::new(Options { docker_config_dir: Some(config), ..Options::default() });
    push_model_tags(&logged_in, &image, &["v1.0.0"]);
    assert_eq!(logged_in.list_tags(&image).unwrap(), ["v1.0.0"]);

    let empty = tempfile::tempdir().unwrap();
    let anonymous =
        client(Options { use_docker_config: true, docker_config_dir: Some(empty.path().into()), ..Options::default() });
    let text = anonymous.list_tags(&image).unwrap_err().to_string();
    assert!(text.contains("wants a username and password") && text.contains("docker login"), "{text}");

    let wrong_dir = tempfile::tempdir().unwrap();
    let wrong = gpuops_testkit::docker_config_with_login(wrong_dir.path(), &registry.host(), "ci", "wrong-pass");
    let text = client(Options { docker_config_dir: Some(wrong), ..Options::default() })
        .list_tags(&image)
        .unwrap_err()
        .to_string();
    assert!(text.contains("authentication failed: access denied"), "{text}");
    assert!(!text.contains("wrong-pass") && !text.contains("s3cret"), "credentials must never be printed: {text}");
}

#[test]
fn bearer_token_flow_and_anonymous_retry_when_a_stale_login_is_refused() {
    let registry = Registry::start();
    push_model_tags(&seeding_client(), &format!("{}/public/model", registry.host()), &["1.0.0"]);

    let proxy = Proxy::start(registry.port(), Fault::Bearer { reject_credentials: false });
    assert_eq!(client(Options::default()).list_tags(&format!("{}/public/model", proxy.host())).unwrap(), ["1.0.0"]);

    let strict = Proxy::start(registry.port(), Fault::Bearer { reject_credentials: true });
    let dir = tempfile::tempdir().unwrap();
    let config = gpuops_testkit::docker_config_with_login(dir.path(), &strict.host(), "old-user", "expired-pass");
    let stale = client(Options { docker_config_dir: Some(config), ..Options::default() });
    assert_eq!(stale.list_tags(&format!("{}/public/model", strict.host())).unwrap(), ["1.0.0"]);
}

/// Issue 18, class 5: one cap on every document read from the network —
/// a hub file, a manifest — refused past 16 MiB (not retried), with a
/// message naming the URL and the cap; just under it is read.
#[test]
fn documents_past_the_cap_are_refused_without_retrying() {
    let cap = gpuops_registry::MAX_DOCUMENT_BYTES as usize;
    let over = vec![b' '; cap + 1];
    let under = vec![b' '; cap];
    let hub = gpuops_testkit::HubServer::start(
        &[("acme/over", "config.json", &over), ("acme/under", "config.json", &under)],
        &[],
        "",
    );
    let settings = gpuops_registry::hub::HubSettings { endpoint: hub.url(), token: None, offline: false };
    let c = client(Options::default());
    let err = c.hub_file(&settings, "acme/over", "main", "config.json").unwrap_err();
    assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("/acme/over/resolve/main/config.json is larger than 16 MiB"), "{text}");
    assert_eq!(hub.requests().len(), 1, "a document too large is not asked for again");
    assert_eq!(c.hub_file(&settings, "acme/under", "main", "config.json").unwrap().body.len(), cap);

    let registry = Registry::start();
    let proxy = Proxy::start(registry.port(), Fault::Manifest(over));
    let err = c.model_config(&format!("{}/models/m:1.0", proxy.host())).unwrap_err();
    assert!(err.to_string().contains("/v2/models/m/manifests/1.0 is larger than 16 MiB"), "{err}");
}

/// Issue 18, class 8: digests a manifest names become URL segments only
/// when they are OCI digests — in an index or a layer — checked before
/// any blob is asked for.
#[test]
fn manifest_digests_that_are_paths_are_never_requested() {
    let registry = Registry::start();
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
            "digest": "sha256:../../../v2/_catalog", "platform": {"os": "linux", "architecture": "amd64"}}]});
    let layers = serde_json::json!({"schemaVersion": 2, "layers": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 1, "digest": format!("sha256:{}", "a".repeat(64))},
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 1, "digest": "sha256:a/../../x"}]});
    for (manifest, field) in [(index, "the index's chosen manifest.digest"), (layers, "layers[1].digest")] {
        let proxy = Proxy::start(registry.port(), Fault::Manifest(manifest.to_string().into_bytes()));
        let err = client(Options::default()).model_config(&format!("oci://{}/models/m:1.0", proxy.host())).unwrap_err();
        assert!(err.to_string().contains(&format!("{field} is not an OCI digest")), "{err}");
        assert_eq!(proxy.targets(), ["/v2/models/m/manifests/1.0"]);
    }
}
