//! `kubectl krew install --manifest M --archive A` without krew: what krew
//! v0.4.5 does to put a platform's archive in a krew root, step by step
//! (internal/installation/install.go `install`, :93-130):
//!
//! 1. verify the sha256 (internal/download/verifier.go), unpack into a
//!    staging directory (`extract`);
//! 2. apply `files:` — default `[{from: "*", to: "."}]` (install.go:132-137)
//!    — moving into a fresh directory, then that directory to
//!    `store/<name>/<version>` (move.go `moveToInstallDir`, :154-186);
//! 3. resolve `bin` inside it (install.go:116-127) and link
//!    `bin/kubectl-<name>` to it (install.go:190-209, `-` → `_`, :241-249);
//!
//! and validate-krew-manifest's licence check on the result (main.go:182-206).

mod extract;
mod paths;

use std::path::{Path, PathBuf};

use crate::krew::{FileOperation, LICENSE_NAMES, Platform, shown};
use paths::{as_str, base, clean, glob, is_sub_path, join};

/// Why krew would not install the archive. Names are escaped ([`shown`]).
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("sha256 of the archive is {actual}, the manifest's sha256 differs")]
    Sha256 { actual: String },
    #[error("the archive is neither gzip nor zip (krew sniffs the content, not the name)")]
    Format,
    #[error("archive entry {entry} contains `..`; krew refuses the archive")]
    Suspicious { entry: String },
    #[error("archive entry {entry} is absolute; krew refuses the archive")]
    Absolute { entry: String },
    #[error("archive entry {entry} is neither a file nor a directory (a link?); krew refuses the archive")]
    EntryType { entry: String },
    #[error("{0}")]
    Zip(String),
    #[error("files[{index}].to {to} is not a clean path (krew wants {want})")]
    NotClean { index: usize, to: String, want: String },
    #[error("files[{index}].from {from} matches nothing in the archive")]
    NoMatch { index: usize, from: String },
    #[error("files[{index}].from {from} is not a valid glob pattern")]
    BadPattern { index: usize, from: String },
    #[error("files[{index}] moves a file outside the archive or the install directory")]
    OutOfBounds { index: usize },
    #[error("bin {bin} is outside the install directory")]
    BinOutside { bin: String },
    #[error("bin {bin} is not in the installed files")]
    BinMissing { bin: String },
    #[error("no licence file (LICENSE, COPYING, …) among the installed files")]
    NoLicense,
}

/// A plugin installed into a krew root.
#[derive(Debug, Clone)]
pub struct Installed {
    /// `<root>/bin/kubectl-<name>`, the link kubectl finds on PATH.
    pub link: PathBuf,
    /// `<root>/store/<name>/<version>`.
    pub dir: PathBuf,
}

/// Install `platform` of plugin `name` at `version` from the archive bytes
/// `data` into the krew root `root` (absolute), as krew does.
pub fn install(
    root: &Path,
    name: &str,
    version: &str,
    platform: &Platform,
    data: &[u8],
) -> Result<Installed, InstallError> {
    let actual = crate::sha256_hex(data);
    if actual != platform.sha256 {
        return Err(InstallError::Sha256 { actual });
    }
    let io = |what: &str| {
        let what = what.to_string();
        move |source| InstallError::Io { what, source }
    };
    let root_s = clean(&as_str(root));
    let staging = join(&root_s, "tmp/krew-downloads");
    let moving = join(&root_s, "tmp/krew-temp-move");
    for dir in [&staging, &moving] {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(io("creating the staging directory"))?;
    }
    extract::extract(Path::new(&staging), data)?;
    // install.go:132-137 `applyDefaults`.
    let default = [FileOperation { from: "*".into(), to: ".".into() }];
    let files = platform.files.as_deref().unwrap_or(&default);
    for (index, fo) in files.iter().enumerate() {
        for (from, to) in move_targets(&staging, &moving, fo, index)? {
            std::fs::create_dir_all(paths::dir(&to)).map_err(io("creating a move target"))?;
            rename_replacing(&from, &to).map_err(io("moving an installed file"))?;
        }
    }
    let install_dir = join(&root_s, &format!("store/{name}/{version}"));
    std::fs::create_dir_all(paths::dir(&install_dir)).map_err(io("creating the store"))?;
    rename_replacing(&moving, &install_dir).map_err(io("moving into the store"))?;
    let _ = std::fs::remove_dir_all(join(&root_s, "tmp"));
    // install.go:120-127: bin, cleaned, must stay inside the install dir.
    let full = join(&install_dir, &platform.bin);
    if !is_sub_path(&install_dir, &full) {
        return Err(InstallError::BinOutside { bin: shown(&platform.bin) });
    }
    // install.go:196-198: os.Stat, so a link to a file counts.
    if std::fs::metadata(&full).is_err() {
        return Err(InstallError::BinMissing { bin: shown(&platform.bin) });
    }
    let bin_dir = join(&root_s, "bin");
    std::fs::create_dir_all(&bin_dir).map_err(io("creating the bin directory"))?;
    // install.go pluginNameToBin: `.exe` appended on Windows.
    let exe = if cfg!(windows) { ".exe" } else { "" };
    let link = PathBuf::from(join(&bin_dir, &format!("kubectl-{}{exe}", name.replace('-', "_"))));
    let _ = std::fs::remove_file(&link);
    link_plugin(Path::new(&full), &link).map_err(io("linking the plugin"))?;
    Ok(Installed { link, dir: PathBuf::from(install_dir) })
}

/// install.go `createOrUpdateLink`: a symbolic link to the installed binary.
#[cfg(unix)]
fn link_plugin(binary: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(binary, link)
}

/// install.go `createOrUpdateLink` on Windows: a symbolic link, or a copy
/// when the user may not create links (krew copies on
/// ERROR_PRIVILEGE_NOT_HELD, 1314, and fails on any other error).
#[cfg(windows)]
fn link_plugin(binary: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(binary, link).or_else(|e| match e.raw_os_error() {
        Some(1314) => std::fs::copy(binary, link).map(|_| ()),
        _ => Err(e),
    })
}

/// move.go:190-211 `renameOrCopy`: a directory already at `to` is removed first.
fn rename_replacing(from: &str, to: &str) -> std::io::Result<()> {
    if Path::new(to).symlink_metadata().is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::rename(from, to)
}

/// move.go:34-121 `findMoveTargets`: `to` must be clean; a `from` naming an
/// existing path moves that path (to `to`, or its own name when `to` is
/// `.`); otherwise `from` is a glob, each match moving into the directory
/// `to`. Every source must stay in the archive, every target in the
/// install directory.
fn move_targets(
    from_dir: &str,
    to_dir: &str,
    fo: &FileOperation,
    index: usize,
) -> Result<Vec<(String, String)>, InstallError> {
    if fo.to != clean(&fo.to) {
        return Err(InstallError::NotClean { index, to: shown(&fo.to), want: shown(&clean(&fo.to)) });
    }
    let allowed = |from: &str, to: &str| is_sub_path(from_dir, from) && is_sub_path(to_dir, to);
    // move.go:78-115 `getDirectMove` (os.Stat follows links).
    let direct = join(from_dir, &fo.from);
    if std::fs::metadata(&direct).is_ok() {
        let to = if clean(&fo.to) == "." { base(&direct) } else { fo.to.clone() };
        let target = join(to_dir, &to);
        if !allowed(&direct, &target) {
            return Err(InstallError::OutOfBounds { index });
        }
        return Ok(vec![(direct, target)]);
    }
    let new_dir = join(to_dir, &fo.to);
    let matched =
        glob(&join(from_dir, &fo.from)).map_err(|()| InstallError::BadPattern { index, from: shown(&fo.from) })?;
    if matched.is_empty() {
        return Err(InstallError::NoMatch { index, from: shown(&fo.from) });
    }
    matched
        .into_iter()
        .map(|m| {
            let target = join(&new_dir, &base(&m));
            if allowed(&m, &target) { Ok((m, target)) } else { Err(InstallError::OutOfBounds { index }) }
        })
        .collect()
}

/// validate-krew-manifest main.go:182-206: some regular file (not a link)
/// under `<root>/store` is named like a licence.
pub fn check_license(root: &Path) -> Result<(), InstallError> {
    fn walk(dir: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return false };
        entries.flatten().any(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path()),
            Ok(t) if t.is_file() => {
                LICENSE_NAMES.contains(&e.file_name().to_string_lossy().to_ascii_lowercase().as_str())
            }
            _ => false,
        })
    }
    if walk(&root.join("store")) { Ok(()) } else { Err(InstallError::NoLicense) }
}

/// Install the archive at `archive` (a local copy of `platform.uri`) into
/// a fresh krew root `root` and check its licence, as validate-krew-
/// manifest's install step does (main.go:135-169).
pub fn install_file(
    root: &Path,
    name: &str,
    version: &str,
    platform: &Platform,
    archive: &Path,
) -> Result<Installed, InstallError> {
    let data = extract::read_archive(archive)?;
    let installed = install(root, name, version, platform, &data)?;
    check_license(root)?;
    Ok(installed)
}
