//! The repository a render may read, and nothing outside it.
//!
//! argocd-cmp-server extracts each request's tarball into a fresh
//! `<workdir>/_cmp_server/<uuid>/` (argo-cd v3.5: cmpserver/plugin/plugin.go
//! `generateManifestGeneric` → `getTempDirMustCleanup(common.GetCMPWorkDir())`;
//! util/io/files/util.go `CreateTempDir`; common/common.go `GetCMPWorkDir`)
//! and runs the plugin in `<uuid>/<appRelPath>`. Its siblings are other
//! requests' checkouts, readable by the same uid. The root is that
//! `_cmp_server/<uuid>` directory; outside argocd-cmp-server (a run by
//! hand, another wrapper) it is [`repository_root`] (the app
//! dir less `ARGOCD_APP_SOURCE_PATH`, else the nearest `.git`, else the app
//! dir). Neither the source path nor `.git` alone would do there: with
//! `--plugin-use-manifest-generate-paths` the tarball holds only a
//! subdirectory of the repository (reposerver/repository/repository.go
//! `runConfigManagementPluginSidecars` → `getApplicationRootPath`), and
//! `.git` is emptied or absent when `reposerver.plugin.tar.exclusions`
//! names it (util/io/files/tar.go `tgzFile`: `.git/*` skips its content but
//! still sends the directory; `.git` skips it), so it may mark nothing.
//!
//! Paths are resolved after symlinks (`canonicalize`), so `..`, absolute
//! paths and links pointing out are all caught by one prefix check.

use std::path::{Component, Path, PathBuf};

/// The directory name argocd-cmp-server extracts requests under
/// (argo-cd: common/common.go `DefaultCMPWorkDirName`).
const CMP_WORK_DIR_NAME: &str = "_cmp_server";

/// The canonical repository root of one render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    root: PathBuf,
}

/// Why a path named by the repository or a parameter is not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Outside {
    // Each holds the name as given, made printable (no terminal escapes).
    #[error("\"{0}\" is an absolute path; name a file in the repository, relative to the app")]
    Absolute(String),
    #[error("\"{0}\" is outside the repository (a `..` or a symbolic link leaving it)")]
    Escapes(String),
    #[error("\"{0}\": no such file in the repository")]
    Missing(String),
}

impl Repo {
    /// The root for an app directory (`dir`, canonicalised) and Argo CD's
    /// `ARGOCD_APP_SOURCE_PATH`.
    pub fn of(dir: &Path, source_path: Option<&str>) -> Repo {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        // Under argocd-cmp-server the request's extraction directory is the
        // root exactly: the innermost `_cmp_server/<x>` above the app (a
        // repository's own `_cmp_server` directory only narrows it).
        let request =
            dir.ancestors().find(|a| a.parent().and_then(Path::file_name).is_some_and(|n| n == CMP_WORK_DIR_NAME));
        let root = match request {
            Some(request) => request.to_path_buf(),
            None => repository_root(&dir, source_path),
        };
        Repo { root }
    }

    /// A repository rooted at `root` exactly (tests, tools).
    pub fn at(root: &Path) -> Repo {
        Repo { root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` (after symlinks) is inside the repository.
    pub fn contains(&self, path: &Path) -> bool {
        path.canonicalize().is_ok_and(|p| p.starts_with(&self.root))
    }

    /// `name` (as the repository or a parameter spells it) relative to
    /// `base`, canonical and inside the repository. A name that does not
    /// exist is `Missing` only when it would have been inside: whether a
    /// file exists outside is not revealed.
    pub fn resolve(&self, base: &Path, name: &str) -> Result<PathBuf, Outside> {
        let shown = || gpuops_manifest::text::printable(name);
        if Path::new(name).is_absolute() {
            return Err(Outside::Absolute(shown()));
        }
        let joined = base.join(name);
        match joined.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(real),
            Ok(_) => Err(Outside::Escapes(shown())),
            Err(_) if lexically_inside(&joined, &self.root) => Err(Outside::Missing(shown())),
            Err(_) => Err(Outside::Escapes(shown())),
        }
    }
}

/// `path` with `.` and `..` folded without touching the file system,
/// starting with `root`.
fn lexically_inside(path: &Path, root: &Path) -> bool {
    let mut folded = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !folded.pop() {
                    return false;
                }
            }
            Component::CurDir => {}
            other => folded.push(other),
        }
    }
    folded.starts_with(root)
}

/// The repository root of an app directory: `dir` with Argo CD's
/// `ARGOCD_APP_SOURCE_PATH` (the app's path inside the repository) taken
/// off its end; else the nearest ancestor holding `.git`; else `dir`.
/// Here, not in the guard: the guard reads the root, it does not define it.
pub fn repository_root(dir: &Path, source_path: Option<&str>) -> PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if let Some(source) = source_path {
        let parts: Vec<&str> = source.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        let tail: Vec<String> =
            dir.components().rev().take(parts.len()).map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        if !parts.contains(&"..") && tail.iter().rev().eq(parts.iter()) {
            return dir.ancestors().nth(parts.len()).unwrap_or(&dir).to_path_buf();
        }
    }
    dir.ancestors().find(|a| a.join(".git").exists()).unwrap_or(&dir).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_app_dir_less_its_source_path() {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("repo/apps/prod");
        std::fs::create_dir_all(&app).unwrap();
        let root = tmp.path().canonicalize().unwrap().join("repo");
        assert_eq!(repository_root(&app, Some("apps/prod")), root);
        assert_eq!(repository_root(&app, Some("./apps/prod/")), root);
        // A path that does not end the directory: no boundary above it.
        assert_eq!(repository_root(&app, Some("other/prod")), root.join("apps/prod"));
        assert_eq!(repository_root(&app, Some("../prod")), root.join("apps/prod"));
        std::fs::create_dir(root.join(".git")).unwrap();
        assert_eq!(repository_root(&app, None), root);
    }

    #[test]
    fn paths_resolve_inside_the_repository_only() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let repo_dir = base.join("_cmp_server/uuid-1");
        let app = repo_dir.join("apps/prod");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::create_dir_all(base.join("_cmp_server/uuid-2")).unwrap();
        std::fs::write(base.join("_cmp_server/uuid-2/dump.yaml"), "x").unwrap();
        std::fs::write(repo_dir.join("apps/pools.yaml"), "x").unwrap();
        std::os::unix::fs::symlink("../../../uuid-2/dump.yaml", app.join("link.yaml")).unwrap();
        // No source path, no `.git`: the request's directory bounds the root.
        let repo = Repo::of(&app, Some("elsewhere/prod"));
        assert_eq!(repo.root(), repo_dir);
        assert_eq!(Repo::of(&app, Some("apps/prod")).root(), repo_dir);
        assert_eq!(repo.resolve(&app, "../pools.yaml").unwrap(), repo_dir.join("apps/pools.yaml"));
        assert!(matches!(repo.resolve(&app, "/etc/passwd"), Err(Outside::Absolute(_))));
        assert!(matches!(repo.resolve(&app, "../../../uuid-2/dump.yaml"), Err(Outside::Escapes(_))));
        assert!(matches!(repo.resolve(&app, "link.yaml"), Err(Outside::Escapes(_))));
        assert!(matches!(repo.resolve(&app, "../../../uuid-2/none.yaml"), Err(Outside::Escapes(_))));
        assert!(matches!(repo.resolve(&app, "none.yaml"), Err(Outside::Missing(_))));
    }
}
