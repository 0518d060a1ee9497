//! kubectl's connection flags and kubeconfig loading rules.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{AuthInfo, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};

/// Why no client configuration could be made.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("kubeconfig {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("kubeconfig {}: no such file", path.display())]
    Missing { path: PathBuf },
    #[error("merging kubeconfig {}: {source}", path.display())]
    Merge {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error(
        "no kubeconfig: set KUBECONFIG, create ~/.kube/config, or pass --kubeconfig (or use --nodes / --cluster-file)"
    )]
    NotFound,
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),
    /// kubectl's words (client-go tools/clientcmd/client_config.go,
    /// `DirectClientConfig.getContext`/`getCluster`/`getAuthInfo`):
    /// `context "nope" does not exist`, `cluster "x" does not exist`,
    /// `auth info "x" does not exist`.
    #[error("{what} {name:?} does not exist")]
    NotInKubeconfig { what: &'static str, name: String },
    #[error("no usable kubeconfig for {target}: {source} (or use --nodes / --cluster-file)")]
    Config {
        target: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
}

/// kubectl's connection flags.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `--kubeconfig`: this file only (it must exist).
    pub kubeconfig: Option<PathBuf>,
    /// `--context`; the current context when unset.
    pub context: Option<String>,
    /// `--cluster`: override the context's cluster.
    pub cluster: Option<String>,
    /// `--user`: override the context's user.
    pub user: Option<String>,
    /// `--request-timeout`: connect and read timeout of each request.
    pub request_timeout: Option<Duration>,
    /// `$KUBECONFIG` as the binary read it: the chain of files when
    /// `--kubeconfig` is not given.
    pub env_kubeconfig: Option<std::ffi::OsString>,
    /// `$HOME`, for `~/.kube/config` when neither is set.
    pub home: Option<PathBuf>,
    /// The flags that override parts of the kubeconfig (`--server`, `--token`, `--as`...).
    pub overrides: Overrides,
    /// The pod's ServiceAccount, used when there is no kubeconfig at all.
    pub in_cluster: Option<InCluster>,
}

/// kubectl's override flags (cli-runtime pkg/genericclioptions/config_flags.go,
/// `ConfigFlags.toRawKubeConfigLoader`, into clientcmd's `ConfigOverrides`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-s/--server`.
    pub server: Option<String>,
    /// `--token` (never printed).
    pub token: Option<String>,
    /// `--certificate-authority` (a file).
    pub certificate_authority: Option<PathBuf>,
    /// `--client-certificate` (a file).
    pub client_certificate: Option<PathBuf>,
    /// `--client-key` (a file).
    pub client_key: Option<PathBuf>,
    /// `--insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// `--tls-server-name`.
    pub tls_server_name: Option<String>,
    /// `--as`.
    pub impersonate: Option<String>,
    /// `--as-group` (repeatable).
    pub impersonate_groups: Vec<String>,
    /// `--as-uid`.
    pub impersonate_uid: Option<String>,
}

/// What client-go's `rest.InClusterConfig` reads (client-go rest/config.go):
/// `KUBERNETES_SERVICE_HOST`/`_PORT` and the ServiceAccount directory, which
/// the binary names (tests point it elsewhere).
#[derive(Debug, Clone)]
pub struct InCluster {
    /// `$KUBERNETES_SERVICE_HOST`.
    pub host: Option<String>,
    /// `$KUBERNETES_SERVICE_PORT`.
    pub port: Option<String>,
    /// /var/run/secrets/kubernetes.io/serviceaccount in a pod.
    pub service_account_dir: PathBuf,
}

/// Where a pod's ServiceAccount token and CA are mounted (client-go rest/config.go,
/// `InClusterConfig`: tokenFile, rootCAFile).
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

impl InCluster {
    /// clientcmd `inClusterClientConfig.Possible`: both variables set and a
    /// token file (not a directory).
    fn possible(&self) -> bool {
        let token = self.service_account_dir.join("token");
        self.host.as_deref().is_some_and(|h| !h.is_empty())
            && self.port.as_deref().is_some_and(|p| !p.is_empty())
            && token.metadata().is_ok_and(|m| !m.is_dir())
    }

    /// rest.InClusterConfig as a one-context kubeconfig: the server
    /// `https://` + `net.JoinHostPort(host, port)`, the token file (read,
    /// and re-read as it rotates, by kube as client-go does) and the CA file;
    /// then only `--server`, `--token` and `--certificate-authority` apply, as
    /// clientcmd `inClusterClientConfig.ClientConfig` applies them (it ignores
    /// the other overrides, `--as` included).
    fn kubeconfig(&self, overrides: &Overrides) -> Kubeconfig {
        let (host, port) = (self.host.clone().unwrap_or_default(), self.port.clone().unwrap_or_default());
        // net.JoinHostPort brackets an IPv6 address.
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let server = overrides.server.clone().unwrap_or_else(|| format!("https://{host}:{port}"));
        let ca = overrides.certificate_authority.clone().unwrap_or_else(|| self.service_account_dir.join("ca.crt"));
        let cluster = kube::config::Cluster {
            server: Some(server),
            certificate_authority: Some(ca.display().to_string()),
            ..Default::default()
        };
        let auth_info = match &overrides.token {
            Some(token) => AuthInfo { token: Some(token.clone().into()), ..Default::default() },
            None => AuthInfo {
                token_file: Some(self.service_account_dir.join("token").display().to_string()),
                ..Default::default()
            },
        };
        one_context(cluster, auth_info)
    }
}

/// A kubeconfig of one context, [`MERGED`], from a cluster and a user.
fn one_context(cluster: kube::config::Cluster, auth_info: AuthInfo) -> Kubeconfig {
    Kubeconfig {
        clusters: vec![NamedCluster { name: MERGED.into(), cluster: Some(cluster), other: Default::default() }],
        auth_infos: vec![NamedAuthInfo { name: MERGED.into(), auth_info: Some(auth_info), other: Default::default() }],
        contexts: vec![NamedContext {
            name: MERGED.into(),
            context: Some(Context { cluster: MERGED.into(), user: Some(MERGED.into()), ..Default::default() }),
            other: Default::default(),
        }],
        current_context: Some(MERGED.into()),
        ..Default::default()
    }
}

/// The name of the one context gpufit builds from the kubeconfig and the flags.
const MERGED: &str = "gpufit";

/// The context, cluster and user the flags select, with the overrides
/// merged in, as one context — clientcmd `DirectClientConfig.getContext`,
/// `getCluster`, `getAuthInfo` (client-go tools/clientcmd/client_config.go).
fn select(
    config: &Kubeconfig,
    context: Option<&str>,
    cluster: Option<&str>,
    user: Option<&str>,
    overrides: &Overrides,
) -> Result<Kubeconfig, KubeconfigError> {
    let missing = |what, name: &str| KubeconfigError::NotInKubeconfig { what, name: name.to_string() };
    // getContext: a context named by --context must exist; the current one
    // may be missing (then the context is empty).
    let context_name = context.map(str::to_string).or_else(|| config.current_context.clone()).unwrap_or_default();
    let found = config.contexts.iter().find(|c| c.name == context_name).and_then(|c| c.context.clone());
    if found.is_none() && context.is_some() {
        return Err(missing("context", &context_name));
    }
    let found = found.unwrap_or_default();
    // getClusterName/getAuthInfoName: --cluster/--user override the context's
    // and, given, must exist.
    let cluster_name = cluster.map_or(found.cluster.clone(), str::to_string);
    let mut merged_cluster = config.clusters.iter().find(|c| c.name == cluster_name).and_then(|c| c.cluster.clone());
    if merged_cluster.is_none() && cluster.is_some() {
        return Err(missing("cluster", &cluster_name));
    }
    let user_name = user.map(str::to_string).or(found.user.clone()).unwrap_or_default();
    let mut merged_user = config.auth_infos.iter().find(|u| u.name == user_name).and_then(|u| u.auth_info.clone());
    if merged_user.is_none() && user.is_some() {
        return Err(missing("auth info", &user_name));
    }
    let mut cluster = merged_cluster.take().unwrap_or_default();
    let mut auth_info = merged_user.take().unwrap_or_default();
    apply_cluster(&mut cluster, overrides);
    apply_auth_info(&mut auth_info, overrides);
    let mut out = one_context(cluster, auth_info);
    if let Some(context) = out.contexts[0].context.as_mut() {
        context.namespace = found.namespace;
    }
    Ok(out)
}

/// getCluster's merge of the override flags.
fn apply_cluster(cluster: &mut kube::config::Cluster, overrides: &Overrides) {
    if let Some(server) = &overrides.server {
        cluster.server = Some(server.clone());
    }
    // "An override of --insecure-skip-tls-verify=true and no accompanying
    // CA/CA data should clear already-set CA/CA data ... An override of
    // --certificate-authority should also override TLS skip settings and CA data".
    if overrides.insecure_skip_tls_verify || overrides.certificate_authority.is_some() {
        cluster.insecure_skip_tls_verify = Some(overrides.insecure_skip_tls_verify);
        cluster.certificate_authority = overrides.certificate_authority.as_ref().map(|p| p.display().to_string());
        cluster.certificate_authority_data = None;
    }
    // "setting a --server will effectively clear the KUBECONFIG value of tls-server-name".
    if overrides.tls_server_name.is_some() || overrides.server.is_some() {
        cluster.tls_server_name = overrides.tls_server_name.clone();
    }
}

/// getAuthInfo's merge of the override flags: a file flag replaces both the
/// file and the inline data of the kubeconfig (else client-go's validation
/// would find both set).
fn apply_auth_info(auth_info: &mut AuthInfo, overrides: &Overrides) {
    if let Some(token) = &overrides.token {
        auth_info.token = Some(token.clone().into());
        auth_info.token_file = None;
        // Differs on purpose: client-go would keep an exec plugin next to
        // the token; a token given on the command line is the credential
        // meant, and running the plugin could prompt or fail.
        auth_info.exec = None;
        auth_info.auth_provider = None;
    }
    if let Some(certificate) = &overrides.client_certificate {
        auth_info.client_certificate = Some(certificate.display().to_string());
        auth_info.client_certificate_data = None;
    }
    if let Some(key) = &overrides.client_key {
        auth_info.client_key = Some(key.display().to_string());
        auth_info.client_key_data = None;
    }
    if let Some(user) = &overrides.impersonate {
        auth_info.impersonate = Some(user.clone());
    }
    if !overrides.impersonate_groups.is_empty() {
        auth_info.impersonate_groups = Some(overrides.impersonate_groups.clone());
    }
    if let Some(uid) = &overrides.impersonate_uid {
        auth_info.impersonate_uid = Some(uid.clone());
    }
}

impl Connection {
    /// What the connection points at, for messages.
    pub fn target(&self) -> String {
        self.context.as_ref().map_or_else(|| "the current context".to_string(), |c| format!("context {c:?}"))
    }

    /// The kubeconfig reduced to the one context the flags select, overrides
    /// applied; without any kubeconfig file, `--server` alone, else the
    /// pod's ServiceAccount (clientcmd `DeferredLoadingClientConfig.ClientConfig`:
    /// the merged config when usable, else in-cluster when `Possible`).
    fn merged(&self) -> Result<Kubeconfig, KubeconfigError> {
        let loaded = load_kubeconfig(self.kubeconfig.as_deref(), self.env_kubeconfig.as_deref(), self.home.as_deref());
        let (context, cluster, user) = (self.context.as_deref(), self.cluster.as_deref(), self.user.as_deref());
        match loaded {
            Ok(config) => select(&config, context, cluster, user, &self.overrides),
            // With no file, a named context does not exist either (the
            // merged config is empty, and getContext says so).
            Err(KubeconfigError::NotFound) if self.overrides.server.is_some() || context.is_some() => {
                select(&Kubeconfig::default(), context, cluster, user, &self.overrides)
            }
            Err(KubeconfigError::NotFound) => match &self.in_cluster {
                Some(in_cluster) if in_cluster.possible() => {
                    tracing::debug!(dir = %in_cluster.service_account_dir.display(), "using in-cluster configuration");
                    Ok(in_cluster.kubeconfig(&self.overrides))
                }
                _ => Err(KubeconfigError::NotFound),
            },
            Err(other) => Err(other),
        }
    }

    /// The client configuration, as kubectl would build it from the same flags and environment.
    pub async fn config(&self) -> Result<kube::Config, KubeconfigError> {
        let kubeconfig = self.merged()?;
        let options = KubeConfigOptions { context: Some(MERGED.into()), cluster: None, user: None };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| KubeconfigError::Config { target: self.target(), source })?;
        if let Some(timeout) = self.request_timeout {
            config.read_timeout = Some(timeout);
            config.connect_timeout = Some(timeout);
        }
        // kube would run the plugin itself, without a time limit, and put
        // its stdout (the token) into the error when it fails.
        if let Some(exec) = config.auth_info.exec.take() {
            let timeout = self.request_timeout.unwrap_or(crate::exec::DEFAULT_EXEC_TIMEOUT);
            match crate::exec::run(&exec, timeout)? {
                crate::exec::ExecCredential::Token(token) => {
                    config.auth_info.token = Some(secrecy::SecretString::from(token));
                }
                crate::exec::ExecCredential::ClientCertificate { certificate, key } => {
                    config.auth_info.client_certificate_data = Some(certificate);
                    config.auth_info.client_key_data = Some(secrecy::SecretString::from(key));
                }
            }
        }
        tracing::debug!(server = %config.cluster_url, target = %self.target(), "kubeconfig loaded");
        Ok(config)
    }
}

/// The merged kubeconfig, by client-go's loading rules
/// (kubernetes/kubernetes staging/src/k8s.io/client-go/tools/clientcmd/loader.go,
/// `NewDefaultClientConfigLoadingRules` and `ClientConfigLoadingRules.Load`):
///
/// * an explicit `--kubeconfig` is the only file read, and must exist;
/// * otherwise every file of `KUBECONFIG` (split like `filepath.SplitList`,
///   duplicates dropped, empty names ignored) in order, *missing files
///   skipped*, unreadable or malformed ones an error; without `KUBECONFIG`,
///   `~/.kube/config`;
/// * the first file to set a map key (a cluster, user or context name) or a
///   value (`current-context`) wins, and a later file never changes it
///   ([`Kubeconfig::merge`] implements exactly that rule).
pub fn load_kubeconfig(
    explicit: Option<&Path>,
    env: Option<&std::ffi::OsStr>,
    home: Option<&Path>,
) -> Result<Kubeconfig, KubeconfigError> {
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(KubeconfigError::Missing { path: path.to_path_buf() });
        }
        return Kubeconfig::read_from(path)
            .map_err(|source| KubeconfigError::Read { path: path.to_path_buf(), source });
    }
    let mut chain: Vec<PathBuf> = Vec::new();
    match env.filter(|v| !v.is_empty()) {
        Some(value) => {
            for path in std::env::split_paths(value).filter(|p| !p.as_os_str().is_empty()) {
                if !chain.contains(&path) {
                    chain.push(path);
                }
            }
        }
        None => chain.extend(home.filter(|h| !h.as_os_str().is_empty()).map(|h| h.join(".kube").join("config"))),
    }
    let mut merged: Option<Kubeconfig> = None;
    for path in chain {
        if !path.exists() {
            tracing::debug!(path = %path.display(), "kubeconfig in the chain does not exist; skipped as kubectl does");
            continue;
        }
        let next =
            Kubeconfig::read_from(&path).map_err(|source| KubeconfigError::Read { path: path.clone(), source })?;
        tracing::debug!(path = %path.display(), "kubeconfig read");
        merged = Some(match merged {
            None => next,
            Some(base) => base.merge(next).map_err(|source| KubeconfigError::Merge { path, source })?,
        });
    }
    merged.ok_or(KubeconfigError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const A: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: shared\n  cluster: {server: https://a.example:6443}\ncontexts:\n- name: a\n  context: {cluster: shared, user: ua}\nusers:\n- name: ua\n  user: {token: from-a}\n";
    const B: &str = "apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters:\n- name: shared\n  cluster: {server: https://b.example:6443}\n- name: only-b\n  cluster: {server: https://only-b.example:6443}\ncontexts:\n- name: b\n  context: {cluster: only-b, user: ua}\nusers:\n- name: ua\n  user: {token: from-b}\n";

    #[test]
    fn multi_file_kubeconfig_merges_first_wins_and_skips_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (file(dir.path(), "a", A), file(dir.path(), "b", B));
        let missing = dir.path().join("missing");
        let list = std::env::join_paths([missing.clone(), a.clone(), b.clone(), a.clone()]).unwrap();
        let merged = load_kubeconfig(None, Some(&list), None).unwrap();
        assert_eq!(merged.current_context.as_deref(), Some("a"), "the first file to set current-context wins");
        let server = |name: &str| {
            merged.clusters.iter().find(|c| c.name == name).and_then(|c| c.cluster.as_ref()?.server.clone())
        };
        assert_eq!(server("shared").as_deref(), Some("https://a.example:6443"), "first file's cluster wins");
        assert_eq!(server("only-b").as_deref(), Some("https://only-b.example:6443"), "new keys are added");
        assert_eq!(merged.contexts.len(), 2);
        assert_eq!(merged.auth_infos.len(), 1, "a user named in two files comes from the first only");

        // An explicit --kubeconfig is the only file, and must exist.
        assert_eq!(load_kubeconfig(Some(&b), Some(&list), None).unwrap().current_context.as_deref(), Some("b"));
        let err = load_kubeconfig(Some(&missing), None, None).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
        // A chain of only missing files is no kubeconfig at all.
        let none = std::env::join_paths([missing]).unwrap();
        assert!(matches!(load_kubeconfig(None, Some(&none), None), Err(KubeconfigError::NotFound)));
        // A malformed file in the chain is an error naming it.
        let bad = file(dir.path(), "bad", "clusters: [\n");
        let chain = std::env::join_paths([a, bad.clone()]).unwrap();
        let err = load_kubeconfig(None, Some(&chain), None).unwrap_err();
        assert!(err.to_string().contains(&bad.display().to_string()), "{err}");
    }

    /// client-go tools/clientcmd/client_config_test.go, `createValidTestConfig`
    /// (+ `createCAValidTestConfig`: CA data set).
    fn clean(ca_data: bool) -> Kubeconfig {
        let ca = if ca_data { "certificate-authority-data: AAA=, " } else { "" };
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: clean\nclusters:\n- name: clean\n  cluster: {{{ca}server: https://anything.com:8080}}\ncontexts:\n- name: clean\n  context: {{cluster: clean, user: clean}}\nusers:\n- name: clean\n  user: {{token: the-token}}\n"
        );
        Kubeconfig::from_yaml(&text).unwrap()
    }

    fn picked(config: &Kubeconfig, overrides: &Overrides) -> (kube::config::Cluster, AuthInfo) {
        let one = select(config, Some("clean"), None, None, overrides).unwrap();
        (one.clusters[0].cluster.clone().unwrap(), one.auth_infos[0].auth_info.clone().unwrap())
    }

    /// client_config_test.go: TestInsecureOverridesCA, TestCAOverridesCAData,
    /// TestTLSServerName, TestTLSServerNameClearsWhenServerNameSet,
    /// TestFullImpersonateConfig (without user extras: kubectl has no flag
    /// for them), TestCreateClean (no overrides: the kubeconfig's values).
    #[test]
    fn upstream_client_config_override_rows() {
        // TestCreateClean
        let (cluster, user) = picked(&clean(false), &Overrides::default());
        assert_eq!(cluster.server.as_deref(), Some("https://anything.com:8080"));
        assert!(cluster.insecure_skip_tls_verify.is_none() && cluster.tls_server_name.is_none());
        assert!(user.token.is_some());
        // TestInsecureOverridesCA: insecure set, CA data cleared.
        let insecure = Overrides { insecure_skip_tls_verify: true, ..Default::default() };
        let (cluster, _) = picked(&clean(true), &insecure);
        assert_eq!(cluster.insecure_skip_tls_verify, Some(true));
        assert!(cluster.certificate_authority.is_none() && cluster.certificate_authority_data.is_none());
        // TestCAOverridesCAData: the file wins over the data, insecure false.
        let ca = Overrides { certificate_authority: Some("/tmp/my.ca".into()), ..Default::default() };
        let (cluster, _) = picked(&clean(true), &ca);
        assert_eq!(cluster.insecure_skip_tls_verify, Some(false));
        assert_eq!(cluster.certificate_authority.as_deref(), Some("/tmp/my.ca"));
        assert!(cluster.certificate_authority_data.is_none());
        // TestTLSServerName
        let name = Overrides { tls_server_name: Some("overridden-server-name".into()), ..Default::default() };
        let (cluster, _) = picked(&clean(false), &name);
        assert_eq!(cluster.tls_server_name.as_deref(), Some("overridden-server-name"));
        assert!(cluster.certificate_authority.is_none() && cluster.certificate_authority_data.is_none());
        // TestTLSServerNameClearsWhenServerNameSet (the kubeconfig's name given here
        // so that clearing shows).
        let mut named = clean(false);
        named.clusters[0].cluster.as_mut().unwrap().tls_server_name = Some("from-kubeconfig".into());
        let server = Overrides { server: Some("http://something".into()), ..Default::default() };
        let (cluster, _) = picked(&named, &server);
        assert_eq!((cluster.server.as_deref(), cluster.tls_server_name), (Some("http://something"), None));
        // TestFullImpersonateConfig: the kubeconfig's impersonation survives a --server override.
        let mut impersonating = clean(false);
        let user = impersonating.auth_infos[0].auth_info.as_mut().unwrap();
        user.impersonate = Some("alice".into());
        user.impersonate_uid = Some("abc123".into());
        user.impersonate_groups = Some(vec!["group-1".into()]);
        let (_, user) = picked(&impersonating, &server);
        assert_eq!(user.impersonate.as_deref(), Some("alice"));
        assert_eq!(user.impersonate_uid.as_deref(), Some("abc123"));
        assert_eq!(user.impersonate_groups, Some(vec!["group-1".to_string()]));
        // --as/--as-group/--as-uid override them.
        let flags = Overrides {
            impersonate: Some("bob".into()),
            impersonate_groups: vec!["g1".into(), "g2".into()],
            impersonate_uid: Some("u-1".into()),
            ..Default::default()
        };
        let (_, user) = picked(&impersonating, &flags);
        assert_eq!(user.impersonate.as_deref(), Some("bob"));
        assert_eq!(user.impersonate_groups, Some(vec!["g1".to_string(), "g2".to_string()]));
        assert_eq!(user.impersonate_uid.as_deref(), Some("u-1"));
    }

    /// client_config_test.go TestCreateMissingContext-like rows and
    /// getContext/getCluster/getAuthInfo's errors in kubectl's words.
    #[test]
    fn a_named_context_cluster_or_user_must_exist() {
        let config = clean(false);
        let none = Overrides::default();
        let err = |c, k, u| select(&config, c, k, u, &none).unwrap_err().to_string();
        assert_eq!(err(Some("nope"), None, None), "context \"nope\" does not exist");
        assert_eq!(err(None, Some("nope"), None), "cluster \"nope\" does not exist");
        assert_eq!(err(None, None, Some("nope")), "auth info \"nope\" does not exist");
        // No file at all: a named context does not exist either.
        let connection = Connection {
            context: Some("nope".into()),
            env_kubeconfig: Some("/nonexistent".into()),
            ..Default::default()
        };
        assert_eq!(connection.merged().unwrap_err().to_string(), "context \"nope\" does not exist");
    }

    /// clientcmd inClusterClientConfig.Possible and ClientConfig; client-go
    /// rest/config.go InClusterConfig (server from the two variables, token
    /// and CA files of the ServiceAccount directory).
    #[test]
    fn without_a_kubeconfig_the_service_account_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let in_cluster = |host: &str| InCluster {
            host: Some(host.into()),
            port: Some("443".into()),
            service_account_dir: dir.path().to_path_buf(),
        };
        let connection = |host: &str, overrides: Overrides| Connection {
            env_kubeconfig: Some("/nonexistent".into()),
            in_cluster: Some(in_cluster(host)),
            overrides,
            ..Default::default()
        };
        // Possible: no token file yet → no configuration.
        assert!(matches!(connection("10.0.0.1", Overrides::default()).merged(), Err(KubeconfigError::NotFound)));
        std::fs::write(dir.path().join("token"), "sa-token").unwrap();
        let one = connection("fd00::1", Overrides::default()).merged().unwrap();
        let cluster = one.clusters[0].cluster.clone().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://[fd00::1]:443"), "net.JoinHostPort brackets IPv6");
        let ca = dir.path().join("ca.crt").display().to_string();
        assert_eq!(cluster.certificate_authority.as_deref(), Some(ca.as_str()));
        let user = one.auth_infos[0].auth_info.clone().unwrap();
        let token = dir.path().join("token").display().to_string();
        assert_eq!(user.token_file.as_deref(), Some(token.as_str()));
        // Only --server, --token and --certificate-authority apply; --as does not.
        let flags = Overrides {
            server: Some("https://elsewhere:6443".into()),
            token: Some("flag".into()),
            certificate_authority: Some("/tmp/ca".into()),
            impersonate: Some("bob".into()),
            ..Default::default()
        };
        let one = in_cluster("10.0.0.1").kubeconfig(&flags);
        let (cluster, user) = (one.clusters[0].cluster.clone().unwrap(), one.auth_infos[0].auth_info.clone().unwrap());
        assert_eq!(cluster.server.as_deref(), Some("https://elsewhere:6443"));
        assert_eq!(cluster.certificate_authority.as_deref(), Some("/tmp/ca"));
        assert!(user.token.is_some() && user.token_file.is_none() && user.impersonate.is_none());
    }
}
