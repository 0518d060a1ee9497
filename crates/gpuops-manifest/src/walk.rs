//! The one directory walk every gpuops tool uses: manifests below a root,
//! sorted, skipping hidden entries (`.git`, `.github`, editor files) below
//! the root, never following symbolic links out of the tree.

use std::path::{Path, PathBuf};

/// A directory or file that could not be read during a walk.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WalkError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Extensions of manifest files: `.yaml`, `.yml`, and `.json` when `json` is set.
pub fn is_manifest(path: &Path, json: bool) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => true,
        Some("json") => json,
        _ => false,
    }
}

fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    // The root itself may be hidden (a temp dir `.tmpXYZ`); only what is below counts.
    entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.')
}

/// Which entries below the root a walk leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Every hidden entry (`.git`, `.github`, editor files).
    Hidden,
    /// Only `.git`: what Flux's image automation walks (it reads a
    /// `.github/…/x.yaml` as readily as any other file).
    GitDir,
}

/// Every file under `root` that `wanted` accepts, sorted by path; `root`
/// itself when it is a file (whatever its name). Hidden entries are skipped.
pub fn files(root: &Path, wanted: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, WalkError> {
    files_skipping(root, Skip::Hidden, wanted)
}

/// [`files`] with a choice of what to skip.
pub fn files_skipping(root: &Path, skip: Skip, wanted: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, WalkError> {
    let meta = std::fs::metadata(root).map_err(|source| WalkError { path: root.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().into_iter();
    let skipped = |e: &walkdir::DirEntry| match skip {
        Skip::Hidden => is_hidden(e),
        Skip::GitDir => e.depth() > 0 && e.file_name() == ".git",
    };
    for entry in walker.filter_entry(|e| !skipped(e)) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            WalkError { path, source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("file system loop")) }
        })?;
        if entry.file_type().is_file() && wanted(entry.path()) {
            out.push(entry.into_path());
        }
    }
    // sort_by_file_name orders siblings; a full path sort keeps the old order (`a/z` before `a-b/`).
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_hidden_entries_below_the_root_but_not_a_hidden_root() {
        let dir = tempfile::Builder::new().prefix(".hidden-root").tempdir().unwrap();
        for (path, text) in [
            ("a.yaml", ""),
            ("sub/b.yml", ""),
            ("sub/c.json", ""),
            (".git/config.yaml", ""),
            (".d.yaml", ""),
            ("e.txt", ""),
        ] {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        let names = |json| {
            files(dir.path(), |p| is_manifest(p, json))
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(false), ["a.yaml", "sub/b.yml"]);
        assert_eq!(names(true), ["a.yaml", "sub/b.yml", "sub/c.json"]);
        let missing = files(&dir.path().join("nope"), |_| true).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}
