//! kubectl's connection flags (cli-runtime genericclioptions ConfigFlags)
//! against the API stand-in, which records the identity each request
//! carried: bearer token and the impersonation headers.

use std::path::Path;

use gpuops_testkit::{API_TOKEN, ApiServer, FLAG_TOKEN};
use serde_json::json;

use crate::util::{gpufit, gpufit_env, text};

fn server() -> ApiServer {
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "gpu-0", "labels": {"nvidia.com/gpu.product": "NVIDIA-L4"}},
        "spec": {}, "status": {"allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "nvidia.com/gpu": "1"}}});
    ApiServer::start(&[node], &[])
}

/// A kubeconfig whose user has `token` (none when empty), pointing at `url`.
fn kubeconfig(dir: &Path, url: &str, token: &str) -> String {
    let user = if token.is_empty() { "{}".to_string() } else { format!("{{token: {token}}}") };
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\nclusters:\n- name: lab\n  cluster: {{server: '{url}'}}\n- name: other\n  cluster: {{server: 'http://127.0.0.1:9'}}\ncontexts:\n- name: lab\n  context: {{cluster: lab, user: tester}}\nusers:\n- name: tester\n  user: {user}\n- name: flagged\n  user: {{token: {FLAG_TOKEN}}}\n"
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn nodes(args: &[&str]) -> std::process::Output {
    gpufit(&[&["nodes", "-o", "json"][..], args].concat())
}

#[test]
fn as_as_group_and_as_uid_send_the_impersonation_headers() {
    let api = server();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &api.url(), API_TOKEN);
    let flags = ["--kubeconfig", &config, "--as", "alice", "--as-group", "team-a", "--as-group", "team-b"];
    let out = nodes(&[&flags[..], &["--as-uid", "u-42"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let received = api.received();
    assert!(!received.is_empty());
    for r in &received {
        assert_eq!(r.impersonate_user.as_deref(), Some("alice"), "{r:?}");
        assert_eq!(r.impersonate_groups, ["team-a", "team-b"], "{r:?}");
        assert_eq!(r.impersonate_uid.as_deref(), Some("u-42"), "{r:?}");
        assert_eq!(r.bearer.as_deref(), Some(API_TOKEN), "impersonation keeps the user's own credential");
    }
    // Without --as nothing is impersonated; --as-group alone is refused (as
    // client-go's transport refuses groups without a user).
    let api = server();
    let config = kubeconfig(dir.path(), &api.url(), API_TOKEN);
    assert_eq!(nodes(&["--kubeconfig", &config]).status.code(), Some(0));
    assert!(api.received().iter().all(|r| r.impersonate_user.is_none() && r.impersonate_groups.is_empty()));
    let refused = nodes(&["--kubeconfig", &config, "--as-group", "team-a"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
}

#[test]
fn token_replaces_the_kubeconfig_users_credential() {
    let api = server();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &api.url(), "wrong-token");
    let refused = nodes(&["--kubeconfig", &config]);
    assert_eq!(refused.status.code(), Some(2), "the stand-in refuses the wrong token");
    assert!(text(&refused.stderr).contains("Unauthorized"), "{}", text(&refused.stderr));
    let out = nodes(&["--kubeconfig", &config, "--token", FLAG_TOKEN]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(api.received().last().unwrap().bearer.as_deref(), Some(FLAG_TOKEN));
    assert!(!text(&out.stderr).contains(FLAG_TOKEN), "the token is never printed");
}

#[test]
fn server_cluster_and_user_override_the_context() {
    let api = server();
    let dir = tempfile::tempdir().unwrap();
    // The context points at a port nothing listens on; -s points at the stand-in.
    let config = kubeconfig(dir.path(), "http://127.0.0.1:9", API_TOKEN);
    let out = nodes(&["--kubeconfig", &config, "-s", &api.url()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!api.received().is_empty());
    // --server with no kubeconfig at all: the flags alone are the configuration.
    let api = server();
    let out = nodes(&["--server", &api.url(), "--token", FLAG_TOKEN]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(api.received()[0].bearer.as_deref(), Some(FLAG_TOKEN));
    // --user picks another kubeconfig user (its token reaches the server);
    // --cluster another cluster (the dead one: the error names it).
    let api = server();
    let config = kubeconfig(dir.path(), &api.url(), "");
    let out = nodes(&["--kubeconfig", &config, "--user", "flagged"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(api.received()[0].bearer.as_deref(), Some(FLAG_TOKEN));
    let out = nodes(&["--kubeconfig", &config, "--cluster", "other"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("127.0.0.1:9"), "{}", text(&out.stderr));
}

/// kubectl's words for a name the kubeconfig lacks (clientcmd client_config.go
/// getContext/getCluster/getAuthInfo).
#[test]
fn a_missing_context_cluster_or_user_is_named_as_kubectl_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), "http://127.0.0.1:9", API_TOKEN);
    for (flag, expected) in [
        ("--context", "context \"nope\" does not exist"),
        ("--cluster", "cluster \"nope\" does not exist"),
        ("--user", "auth info \"nope\" does not exist"),
    ] {
        let out = nodes(&["--kubeconfig", &config, flag, "nope"]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(text(&out.stderr).contains(expected), "{flag}: {}", text(&out.stderr));
    }
    // No kubeconfig file at all: the context does not exist either.
    let out = nodes(&["--context", "nope"]);
    assert!(text(&out.stderr).contains("context \"nope\" does not exist"), "{}", text(&out.stderr));
}

/// The TLS file flags reach the client: a CA or client certificate file that
/// does not exist is an error naming it, before any request.
#[test]
fn tls_file_flags_are_read() {
    let api = server();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &api.url(), API_TOKEN);
    let missing = dir.path().join("missing.pem").display().to_string();
    for flag in ["--certificate-authority", "--client-certificate"] {
        let mut args = vec!["--kubeconfig", config.as_str(), flag, missing.as_str()];
        if flag == "--client-certificate" {
            args.extend(["--client-key", missing.as_str()]);
        }
        let out = nodes(&args);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("missing.pem"), "{flag}: {}", text(&out.stderr));
    }
    assert!(api.received().is_empty(), "nothing is sent without the files");
    // --insecure-skip-tls-verify and --tls-server-name are accepted (they only
    // matter over TLS, which this stand-in does not speak).
    let out = nodes(&["--kubeconfig", &config, "--insecure-skip-tls-verify", "--tls-server-name", "api.example"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// With no kubeconfig and no ServiceAccount, the error says what to do;
/// the ServiceAccount directory is injectable (GPUOPS_SERVICE_ACCOUNT_DIR).
#[test]
fn in_cluster_needs_both_variables_and_the_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let host = Path::new("127.0.0.1");
    let port = Path::new("9");
    let env = [
        ("KUBERNETES_SERVICE_HOST", host),
        ("KUBERNETES_SERVICE_PORT", port),
        ("GPUOPS_SERVICE_ACCOUNT_DIR", dir.path()),
    ];
    let out = gpufit_env(&["nodes"], &env);
    assert!(text(&out.stderr).contains("no kubeconfig"), "no token file yet: {}", text(&out.stderr));
    std::fs::write(dir.path().join("token"), FLAG_TOKEN).unwrap();
    let out = gpufit_env(&["nodes"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Now in-cluster: the CA file of the ServiceAccount is what is missing.
    assert!(stderr.contains("ca.crt") || stderr.contains("127.0.0.1:9"), "{stderr}");
    assert!(!stderr.contains(FLAG_TOKEN), "{stderr}");
}

fn tls_server() -> ApiServer {
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "gpu-0", "labels": {"nvidia.com/gpu.product": "NVIDIA-L4"}},
        "spec": {}, "status": {"allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "nvidia.com/gpu": "1"}}});
    ApiServer::start_tls(&[node], &[])
}

/// Over TLS: the server is trusted through --certificate-authority (or not
/// checked with --insecure-skip-tls-verify), --tls-server-name is the name
/// checked, a client certificate authenticates without a token.
#[test]
fn tls_flags_against_the_https_stand_in() {
    let api = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let files = gpuops_testkit::tls::TlsFiles::write(dir.path());
    let config = kubeconfig(dir.path(), &api.url(), API_TOKEN);
    let ca = files.ca.display().to_string();
    // The stand-in's CA is nobody's: refused without the flag.
    let out = nodes(&["--kubeconfig", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(api.received().is_empty(), "no request without trusting the server");
    let out = nodes(&["--kubeconfig", &config, "--certificate-authority", &ca]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = nodes(&["--kubeconfig", &config, "--insecure-skip-tls-verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The certificate names 127.0.0.1, localhost and kubernetes.default.svc.
    let wrong = nodes(&["--kubeconfig", &config, "--certificate-authority", &ca, "--tls-server-name", "wrong.example"]);
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong.stderr));
    let named =
        ["--kubeconfig", &config, "--certificate-authority", &ca, "--tls-server-name", "kubernetes.default.svc"];
    let out = nodes(&named);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A client certificate instead of a token.
    let api = tls_server();
    let config = kubeconfig(dir.path(), &api.url(), "");
    let refused = nodes(&["--kubeconfig", &config, "--certificate-authority", &ca]);
    assert_eq!(refused.status.code(), Some(2), "no credential: {}", text(&refused.stderr));
    let (cert, key) = (files.client_certificate.display().to_string(), files.client_key.display().to_string());
    let out = nodes(&[
        "--kubeconfig",
        &config,
        "--certificate-authority",
        &ca,
        "--client-certificate",
        &cert,
        "--client-key",
        &key,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let last = api.received().last().cloned().unwrap();
    assert!(last.client_certificate && last.bearer.is_none(), "{last:?}");
}

/// In a pod without a kubeconfig: client-go's InClusterConfig (host and
/// port from the environment, token and CA from the ServiceAccount directory).
#[test]
fn in_cluster_config_reaches_the_server_with_the_service_accounts_token() {
    let api = tls_server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), FLAG_TOKEN).unwrap();
    gpuops_testkit::tls::TlsFiles::write(dir.path());
    let port = api.port().to_string();
    let env = [
        ("KUBERNETES_SERVICE_HOST", Path::new("127.0.0.1")),
        ("KUBERNETES_SERVICE_PORT", Path::new(&port)),
        ("GPUOPS_SERVICE_ACCOUNT_DIR", dir.path()),
    ];
    let out = gpufit_env(&["nodes", "-o", "json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let received = api.received();
    assert!(!received.is_empty() && received.iter().all(|r| r.bearer.as_deref() == Some(FLAG_TOKEN)), "{received:?}");
}
