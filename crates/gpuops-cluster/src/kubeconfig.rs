//! kubectl's connection flags and kubeconfig loading rules.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

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
}

impl Connection {
    /// What the connection points at, for messages.
    pub fn target(&self) -> String {
        self.context.as_ref().map_or_else(|| "the current context".to_string(), |c| format!("context {c:?}"))
    }

    /// The client configuration, as kubectl would build it from the same flags and environment.
    pub async fn config(&self) -> Result<kube::Config, KubeconfigError> {
        let kubeconfig =
            load_kubeconfig(self.kubeconfig.as_deref(), self.env_kubeconfig.as_deref(), self.home.as_deref())?;
        let options =
            KubeConfigOptions { context: self.context.clone(), cluster: self.cluster.clone(), user: self.user.clone() };
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
}
