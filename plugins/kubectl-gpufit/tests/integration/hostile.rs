//! Hostile hubs, registries and references against `kubectl gpufit model`
//! (issue 18): nothing written outside the Hugging Face cache, no token to
//! a host hidden behind a `user@`, no document read past 16 MiB, no URL
//! built from a reference or digest outside the OCI grammar. The hub is the
//! testkit's stand-in, the registry a real `docker-registry` (behind a
//! recording proxy where the registry would refuse to store the attack).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use gpuops_testkit::{Fault, HubServer, Proxy, Registry, seeding_client};
use serde_json::json;

use crate::util::{gpufit_env, text};

fn config() -> Vec<u8> {
    json!({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256})
    .to_string()
    .into_bytes()
}

/// A valid config.json padded to 47 MiB with a list of zeros: as a
/// `serde_json::Value` every zero takes 32 bytes, so reading it whole
/// costs well over a GiB.
fn config_of_47_mib() -> Vec<u8> {
    config_padded_to(47 << 20)
}

fn config_padded_to(bytes: usize) -> Vec<u8> {
    let mut body = config();
    body.pop(); // the closing brace
    body.extend_from_slice(b",\"padding\":[0");
    body.extend(std::iter::repeat_n(*b",0", (bytes - body.len() - 3) / 2).flatten());
    body.extend_from_slice(b"]}");
    body
}

fn p(text: &str) -> &Path {
    Path::new(text)
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// `kubectl-gpufit ARGS` with its data segment (heap and private
/// mappings, RLIMIT_DATA) limited to `mib`: a run that reads a large
/// document whole dies of an allocation failure instead of answering.
fn gpufit_within(mib: u64, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -d {} && exec \"$0\" \"$@\"", mib * 1024))
        .arg(env!("CARGO_BIN_EXE_kubectl-gpufit"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Class 2: the hub's `X-Repo-Commit` names the snapshot directory. A
/// relative path that climbs, or an absolute one, used to put config.json
/// (and the ref) outside the cache; now the answer is refused and nothing
/// is written anywhere.
#[test]
fn a_hub_commit_that_is_a_path_writes_nothing_outside_the_cache() {
    let top = tempfile::tempdir().unwrap();
    let hf_home = top.path().join("hf");
    let absolute = top.path().join("absolute-escape");
    for commit in ["../../../../climbed", absolute.to_str().unwrap()] {
        let hub = HubServer::start_with_commit(&[("acme/m", "config.json", &config())], commit);
        let endpoint = hub.url();
        let out = gpufit_env(
            &["model", "acme/m", "--gpu", "L4", "--max-model-len", "16384"],
            &[("HF_ENDPOINT", p(&endpoint)), ("HF_HOME", &hf_home)],
        );
        let written = files_under(top.path());
        assert!(written.is_empty(), "X-Repo-Commit {commit:?} wrote {written:?}");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("acme/m: the hub's commit (X-Repo-Commit) is not a commit hash (40 hex digits)"),
            "{stderr}"
        );
        assert!(!stderr.contains("climbed") && !stderr.contains("absolute-escape"), "the hub's text is not quoted");
    }
}

/// Class 2: a revision that climbs, and ids that are not `ORG/NAME` in the
/// hub's rules — `hf://` ones included — are refused before any request.
#[test]
fn hub_references_that_climb_or_misname_are_refused_before_any_request() {
    let hub = HubServer::start(&[("acme/m", "config.json", &config())], &[], "");
    let top = tempfile::tempdir().unwrap();
    let endpoint = hub.url();
    let env = [("HF_ENDPOINT", p(&endpoint)), ("HF_HOME", top.path())];
    for (reference, says) in [
        (
            "hf://acme/m:../../../../x",
            "hf://acme/m:../../../../x: the revision is not a git branch, tag or commit name: `..`",
        ),
        ("hf://../x", "hf://../x: not a Hugging Face model id (ORG/NAME)"),
        ("hf://a/b/c", "hf://a/b/c: not a Hugging Face model id (ORG/NAME): it has more than one `/`"),
    ] {
        let out = gpufit_env(&["model", reference, "--gpu", "L4"], &env);
        assert_eq!(hub.requests(), [], "{reference}: the hub was asked");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{reference}: {stderr}");
        assert!(stderr.contains(says), "{reference}: {stderr}");
    }
    assert_eq!(files_under(top.path()), Vec::<PathBuf>::new());
}

/// Class 4: `HF_ENDPOINT=http://[::1]@hub.evil.test:PORT` starts like a
/// loopback address, but `[::1]` is a user name and the host is
/// `hub.evil.test`. The hub stand-in, as the `HTTP_PROXY` every request
/// goes through, stands for that host: it receives nothing, and the run
/// says why without printing the token.
#[test]
fn a_userinfo_endpoint_is_refused_and_the_token_goes_nowhere() {
    let evil = HubServer::start(&[("acme/m", "config.json", &config())], &[], "");
    let proxy = evil.url();
    let port = proxy.rsplit(':').next().unwrap();
    let endpoint = format!("http://[::1]@hub.evil.test:{port}");
    let home = tempfile::tempdir().unwrap();
    let token = "hf_secret_token_77";
    let out = gpufit_env(
        &["model", "acme/m", "--gpu", "L4", "--max-model-len", "16384", "-v=9"],
        &[
            ("HF_ENDPOINT", p(&endpoint)),
            ("HF_TOKEN", p(token)),
            ("HTTP_PROXY", p(&proxy)),
            ("HF_HOME", home.path()),
            ("RUST_LOG", p("trace")),
        ],
    );
    let carried: Vec<_> = evil.requests().into_iter().filter(|(_, auth)| auth.is_some()).collect();
    assert_eq!(carried, [], "the token reached the host after the `@`");
    assert_eq!(evil.requests(), [], "nothing goes to that host");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("HF_ENDPOINT: the hub endpoint carries a user name or password before its host"),
        "{stderr}"
    );
    for stream in [text(&out.stdout), stderr] {
        assert!(!stream.contains(token), "the token was printed: {stream}");
    }
}

/// Class 5: a 47 MiB config.json from the hub. Read whole, it took
/// gigabytes; now the read stops at 16 MiB with a message naming the URL,
/// and the run fits in a 256 MiB data limit. One just under the cap,
/// padded with 7 million zeros (a GiB as `serde_json::Value`s), stops at
/// the config parser's budget of values, in the same limit.
#[test]
fn a_47_mib_config_json_from_the_hub_is_refused_in_bounded_memory() {
    let huge = config_of_47_mib();
    let padded = config_padded_to(15 << 20);
    let hub =
        HubServer::start(&[("acme/huge", "config.json", &huge), ("acme/padded", "config.json", &padded)], &[], "");
    let home = tempfile::tempdir().unwrap();
    let endpoint = hub.url();
    let out = gpufit_within(
        256,
        &["model", "acme/huge", "--gpu", "L4"],
        &[("HF_ENDPOINT", p(&endpoint)), ("HF_HOME", home.path())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "/acme/huge/resolve/main/config.json is larger than 16 MiB, the limit for a document read from the network"
        ),
        "{stderr}"
    );
    let out = gpufit_within(
        256,
        &["model", "acme/padded", "--gpu", "L4"],
        &[("HF_ENDPOINT", p(&endpoint)), ("HF_HOME", home.path())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("acme/padded (the hub's config.json): holds more than 200000 values; not a model's config.json"),
        "{stderr}"
    );
    assert_eq!(files_under(home.path()), Vec::<PathBuf>::new(), "nothing cached");
}

/// Class 5: the same 47 MiB config.json as an `oci://` artifact — a layer
/// titled config.json (read as a blob, which had no cap) and a file in a
/// tar layer (whose cap skipped it silently) — refused the same way.
#[test]
fn a_47_mib_config_json_in_an_oci_artifact_is_refused_in_bounded_memory() {
    let registry = Registry::start();
    let client = seeding_client();
    let huge = config_of_47_mib();
    let titled = format!("{}/models/huge-titled", registry.host());
    let layer =
        gpuops_registry::push::Layer { media_type: "application/json", data: &huge, title: Some("config.json") };
    client.push_artifact(&titled, "1.0", "application/vnd.acme.model", &[layer]).unwrap();
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("models")).unwrap();
    std::fs::write(tree.path().join("models/config.json"), &huge).unwrap();
    let tarball = tree.path().join("layer.tar.gz");
    let status =
        Command::new("tar").arg("czf").arg(&tarball).arg("-C").arg(tree.path()).arg("models").status().unwrap();
    assert!(status.success());
    let data = std::fs::read(&tarball).unwrap();
    let modelcar = format!("{}/models/huge-modelcar", registry.host());
    let layer = gpuops_registry::push::Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
        data: &data,
        title: None,
    };
    client.push_artifact(&modelcar, "1.0", "application/vnd.oci.image.config.v1+json", &[layer]).unwrap();
    let cache = tempfile::tempdir().unwrap();
    for (image, names) in [(&titled, "/blobs/sha256:"), (&modelcar, "config.json in tar layer 0")] {
        let reference = format!("oci://{image}:1.0");
        let out = gpufit_within(256, &["model", &reference, "--gpu", "L4"], &[("GPUOPS_CACHE_DIR", cache.path())]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{image}: {stderr}");
        assert!(stderr.contains(names), "{image}: {stderr}");
        assert!(stderr.contains("is larger than 16 MiB, the limit for a document read from the network"), "{stderr}");
    }
    assert_eq!(files_under(cache.path()), Vec::<PathBuf>::new(), "nothing cached");
}

/// Class 8: an `oci://` reference whose digest or tag is a path is refused
/// before any request — the registry (behind a recording proxy) sees none.
#[test]
fn oci_references_outside_the_grammar_never_reach_the_registry() {
    let registry = Registry::start();
    let proxy = Proxy::start(registry.port(), Fault::None);
    let cache = tempfile::tempdir().unwrap();
    for (reference, says) in [
        (format!("oci://{}/m@../../../v2/_catalog?n=1", proxy.host()), "the digest is not an OCI digest"),
        (format!("oci://{}/m:.._catalog?n=1", proxy.host()), "the tag is not an OCI tag"),
        (format!("oci://{}/../../v2/_catalog", proxy.host()), "not a repository"),
    ] {
        let out = gpufit_env(&["model", &reference, "--gpu", "L4"], &[("GPUOPS_CACHE_DIR", cache.path())]);
        assert_eq!(proxy.targets(), Vec::<String>::new(), "{reference}: the registry was asked");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{reference}: {stderr}");
        assert!(stderr.contains(says), "{reference}: {stderr}");
    }
    assert_eq!(files_under(cache.path()), Vec::<PathBuf>::new());
}

/// Class 8: a manifest whose layer digest is a path (`sha256:../../x`) —
/// which the registry would have fetched as a blob URL with the login —
/// stops at the manifest: the only request is the manifest's.
#[test]
fn a_layer_digest_that_is_a_path_is_never_requested() {
    let registry = Registry::start();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
        "layers": [{"mediaType": "application/json", "size": 10, "digest": "sha256:../../../v2/_catalog",
            "annotations": {"org.opencontainers.image.title": "config.json"}}],
    });
    let proxy = Proxy::start(registry.port(), Fault::Manifest(manifest.to_string().into_bytes()));
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("oci://{}/models/m:1.0", proxy.host());
    let out = gpufit_env(&["model", &reference, "--gpu", "L4"], &[("GPUOPS_CACHE_DIR", cache.path())]);
    assert_eq!(proxy.targets(), ["/v2/models/m/manifests/1.0"], "only the manifest is asked for");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("layers[0].digest is not an OCI digest (algorithm:encoded); not following it"), "{stderr}");
    assert!(!stderr.contains("_catalog"), "the registry's text is not quoted: {stderr}");
}

/// A manifest file is not validated by an API server: a workload name with
/// ESC and a newline reaches neither the terminal nor a forged line, in the
/// table or in the explanation (issue 18, class 9).
#[test]
fn names_from_a_manifest_are_escaped_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evil.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"evil\\e[2Jname\\nFAKE: forged\"\n  namespace: ml\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: c\n        image: registry.example.com/m:1\n        resources: {limits: {nvidia.com/gpu: 1}}\n",
    )
    .unwrap();
    let out = crate::util::gpufit(&["check", "-f", file.to_str().unwrap(), "--nodes", "1*1xL4"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_ne!(out.status.code(), Some(0), "two 1-GPU pods on one L4 do not fit: {stdout}{stderr}");
    for output in [&stdout, &stderr] {
        assert!(!output.contains('\u{1b}'), "raw ESC reached the terminal: {output:?}");
        assert!(!output.lines().any(|l| l.starts_with("FAKE")), "a forged line: {output}");
    }
    assert!(stdout.contains("Deployment/ml/evil\\u{1b}[2Jname\\nFAKE: forged"), "{stdout}");
}
