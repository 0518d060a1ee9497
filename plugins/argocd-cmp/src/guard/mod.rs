//! The sidecar runs only what its operator installed.
//!
//! With `--enable-alpha-plugins`, kustomize runs as a program any
//! transformer, generator or validator config that is not a builtin: a
//! legacy exec plugin whose path it builds from the config's own
//! `apiVersion` and `kind`, or an exec/container function named in an
//! annotation. Repository content chooses those configs, so before
//! kustomize runs every kustomization the app reaches is read and each
//! config checked (see [`check`]):
//!
//! * builtins run (kustomize links them in; nothing is looked up);
//! * gpuops' kinds and the kinds the operator lists in the sidecar's own
//!   `GPUOPS_ALLOWED_PLUGINS` run, as legacy plugins from the plugin home,
//!   only with names that stay one path component each, and never with a
//!   function annotation;
//! * anything else is refused, naming the kind and the file declaring it.
//!
//! kustomize itself keeps running the allowed plugins at their own level,
//! so its order holds (a GpuProfile in a base applies before the overlay's
//! patches).
//!
//! Remote resources cannot be read before kustomize fetches them, so an
//! app with one renders with plugins OFF (kustomize then refuses every
//! non-builtin config itself: loader.go `loadAndConfigurePlugin`,
//! `PluginRestrictionsBuiltinsOnly`), and an app with a remote resource and
//! a local gpuops kind is refused up front.

mod kinds;
mod walk;

use std::path::{Path, PathBuf};

pub use kinds::{PluginKind, Policy};

/// A plugin config that may run, and where it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub kind: PluginKind,
    /// The file holding the config, relative to the repository root.
    pub file: PathBuf,
}

/// A remote resource, component, base or plugin config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The entry, credentials removed.
    pub entry: String,
    /// The kustomization naming it, relative to the repository root.
    pub file: PathBuf,
}

/// What the app's kustomizations declare, every config allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Allowed non-builtin plugin configs, in the order they were found.
    pub plugins: Vec<Declared>,
    /// Remote entries (and local entries kustomize may read as remote).
    pub remote: Vec<Remote>,
}

impl Verdict {
    /// Whether kustomize gets `--enable-alpha-plugins`: only when an
    /// allowed plugin needs it and nothing unchecked is in the build.
    pub fn alpha_plugins(&self) -> bool {
        !self.plugins.is_empty() && self.remote.is_empty()
    }

    /// A line to add to kustomize's error when plugins were off because of
    /// a remote resource (kustomize's own message does not say why).
    pub fn note(&self) -> Option<String> {
        self.remote.first().map(|r| {
            format!(
                "  (external plugins are off for this app: {} names the remote resource {}, which cannot be checked before kustomize fetches it)",
                r.file.display(),
                r.entry
            )
        })
    }
}

/// Why the app is not rendered.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "{file}: {field} config (apiVersion {api_version}, kind {kind}) is not allowed to run in this sidecar: only kustomize builtins, {gpuops} GpuProfile/ModelTags and the kinds in the sidecar's GPUOPS_ALLOWED_PLUGINS run"
    )]
    NotAllowed { file: String, field: &'static str, api_version: String, kind: String, gpuops: &'static str },
    #[error(
        "{file}: {field} config (apiVersion {api_version}, kind {kind}) names a path outside the plugin home (apiVersion must be group/version and kind one word of letters and digits)"
    )]
    BadName { file: String, field: &'static str, api_version: String, kind: String },
    #[error(
        "{file}: {field} config (apiVersion {api_version}, kind {kind}) has {key}: exec and container functions never run in this sidecar{hint}"
    )]
    Function {
        file: String,
        field: &'static str,
        api_version: String,
        kind: String,
        key: &'static str,
        hint: &'static str,
    },
    #[error("{file}: {field} holds a document without a string apiVersion and kind")]
    NoKind { file: String, field: &'static str },
    #[error("{file}: {field} entry {entry:?} leaves the repository")]
    Escapes { file: String, field: &'static str, entry: String },
    #[error("{file}: {message}")]
    Unreadable { file: String, message: String },
    #[error(
        "{file}: field {key:?} is spelled in a way kustomize reads as {field} (its field names ignore case): write {field}"
    )]
    Spelling { file: String, key: String, field: &'static str },
    #[error("{file}: a merge key (<<) at the top of a kustomization: write its fields out")]
    MergeKey { file: String },
    #[error(
        "{file}: {field} entry {entry:?} is a directory whose kustomization does more than list local files; list the config files instead"
    )]
    ConfigDirectory { file: String, field: &'static str, entry: String },
    #[error(
        "{plugin_file}: declares {kind}, but {remote_file} names the remote resource {remote}, which cannot be checked before kustomize fetches it, so plugins stay off for this app; set gpu-count/model-tags as the Application's parameters instead (they apply in process)"
    )]
    RemoteWithPlugins { plugin_file: String, kind: String, remote_file: String, remote: String },
    #[error("{file}: more than {limit} kustomizations reached; refusing to read further")]
    TooMany { file: String, limit: usize },
    #[error("setting GPUOPS_ALLOWED_PLUGINS: {0}")]
    Setting(String),
}

/// Check every kustomization `app` reaches, never leaving `root` (the
/// repository). Pure: reads files under `root`, nothing else.
pub fn check(app: &Path, root: &Path, policy: &Policy) -> Result<Verdict, Refusal> {
    let verdict = walk::walk(app, root, policy)?;
    if let (Some(plugin), Some(remote)) = (verdict.plugins.first(), verdict.remote.first()) {
        return Err(Refusal::RemoteWithPlugins {
            plugin_file: plugin.file.display().to_string(),
            kind: plugin.kind.to_string(),
            remote_file: remote.file.display().to_string(),
            remote: remote.entry.clone(),
        });
    }
    Ok(verdict)
}

/// [`check`] with the sidecar's inputs: its own `GPUOPS_ALLOWED_PLUGINS`
/// (never `ARGOCD_ENV_…`, which an Application sets) and the render's
/// repository root as the rest of the sidecar sees it ([`crate::root::Repo`]:
/// argocd-cmp-server's `_cmp_server/<uuid>`, else
/// [`crate::root::repository_root`]).
pub fn check_sidecar(dir: &Path) -> Result<Verdict, Refusal> {
    let policy = match crate::env::sidecar_setting("GPUOPS_ALLOWED_PLUGINS") {
        Some(list) => Policy::parse(&list).map_err(Refusal::Setting)?,
        None => Policy::default(),
    };
    let source = std::env::var("ARGOCD_APP_SOURCE_PATH").ok();
    check(dir, crate::root::Repo::of(dir, source.as_deref()).root(), &policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of bases longer than the bound is refused, not walked to
    /// its end (nor to a stack overflow).
    #[test]
    fn a_chain_of_kustomizations_is_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..1100 {
            let dir = tmp.path().join(format!("b{i}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("kustomization.yaml"), format!("resources:\n- ../b{}\n", i + 1)).unwrap();
        }
        let err = check(&tmp.path().join("b0"), tmp.path(), &Policy::default()).unwrap_err();
        assert!(err.to_string().contains("more than 500 kustomizations reached"), "{err}");
    }
}
