//! The few git operations modelbump needs, through the real git CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(Error::Git(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The repository's top level, if `dir` is inside one.
pub(crate) fn toplevel(dir: &Path) -> Result<PathBuf, Error> {
    let dir = if dir.is_file() { dir.parent().unwrap_or(Path::new(".")) } else { dir };
    git(dir, &["rev-parse", "--show-toplevel"]).map(|s| PathBuf::from(s.trim()))
}

/// Tracked files with uncommitted changes (untracked files do not count:
/// they are never committed by modelbump).
pub(crate) fn dirty_files(root: &Path) -> Result<Vec<String>, Error> {
    let status = git(root, &["status", "--porcelain", "--untracked-files=no"])?;
    Ok(status.lines().map(|l| l.get(3..).unwrap_or(l).to_string()).collect())
}

pub(crate) fn create_branch(root: &Path, name: &str) -> Result<(), Error> {
    git(root, &["check-ref-format", "--branch", name])
        .map_err(|_| Error::Git(format!("{name:?} is not a valid branch name")))?;
    git(root, &["switch", "-c", name]).map(drop)
}

/// Commit exactly `files` (absolute paths) with `message`.
pub(crate) fn commit(root: &Path, files: &[PathBuf], message: &str) -> Result<String, Error> {
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut add = vec!["add", "--"];
    add.extend(paths.iter().map(String::as_str));
    git(root, &add)?;
    let mut commit = vec!["commit", "--quiet", "-m", message, "--"];
    commit.extend(paths.iter().map(String::as_str));
    git(root, &commit)?;
    git(root, &["rev-parse", "--short", "HEAD"]).map(|s| s.trim().to_string())
}

pub(crate) fn push(root: &Path, remote: &str, branch: Option<&str>) -> Result<(), Error> {
    let refspec = branch.map_or_else(|| "HEAD".to_string(), |b| format!("HEAD:refs/heads/{b}"));
    git(root, &["push", "--quiet", remote, &refspec]).map(drop)
}
