//! The few git operations modelbump needs, through the real git CLI.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::output::printable;

/// A git step that failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// git ran and failed; its own message.
    #[error("git {command}: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("{0:?} is not a valid branch name")]
    InvalidBranch(String),
    #[error("refusing to commit: the working tree has uncommitted changes ({}); commit or stash them first", printable(&.0.join(", ")))]
    Dirty(Vec<String>),
}

fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    git_with_input(dir, args, None)
}

/// Run git, writing `input` (if any) to its stdin.
fn git_with_input(dir: &Path, args: &[&str], input: Option<&str>) -> Result<String, GitError> {
    let started = std::time::Instant::now();
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().map_err(GitError::Spawn)?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // git reads all of it before committing; a write error shows as
        // git's own failure below.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(GitError::Spawn)?;
    // Arguments name files of the repository: escaped for the log and errors.
    let shown = printable(&args.join(" "));
    tracing::debug!(command = %shown, status = %out.status, elapsed = ?started.elapsed(), "git");
    if !out.status.success() {
        return Err(GitError::Failed {
            command: shown,
            stderr: printable(String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The repository's top level, if `dir` is inside one.
pub(crate) fn toplevel(dir: &Path) -> Result<PathBuf, GitError> {
    let dir = if dir.is_file() { dir.parent().unwrap_or(Path::new(".")) } else { dir };
    git(dir, &["rev-parse", "--show-toplevel"]).map(|s| PathBuf::from(s.trim()))
}

/// Tracked files with uncommitted changes (untracked files do not count:
/// they are never committed by modelbump).
pub(crate) fn dirty_files(root: &Path) -> Result<Vec<String>, GitError> {
    let status = git(root, &["status", "--porcelain", "--untracked-files=no"])?;
    Ok(status.lines().map(|l| l.get(3..).unwrap_or(l).to_string()).collect())
}

/// The branch HEAD is on; `None` when HEAD is detached.
pub(crate) fn current_branch(root: &Path) -> Option<String> {
    git(root, &["symbolic-ref", "--quiet", "--short", "HEAD"]).ok().map(|s| s.trim().to_string())
}

pub(crate) fn create_branch(root: &Path, name: &str) -> Result<(), GitError> {
    git(root, &["check-ref-format", "--branch", name]).map_err(|_| GitError::InvalidBranch(name.to_string()))?;
    git(root, &["switch", "-c", name]).map(drop)
}

/// Commit exactly `files` (absolute paths) with `message`, as `author`
/// (name, email) when given — author and committer both, as Flux signs.
pub(crate) fn commit(
    root: &Path,
    files: &[PathBuf],
    message: &str,
    author: Option<(&str, &str)>,
) -> Result<String, GitError> {
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut add = vec!["add", "--"];
    add.extend(paths.iter().map(String::as_str));
    git(root, &add)?;
    let mut commit: Vec<String> = Vec::new();
    if let Some((name, email)) = author {
        // -c sets the committer; --author wins over an author from the environment.
        commit.extend(["-c".into(), format!("user.name={name}"), "-c".into(), format!("user.email={email}")]);
        commit.extend(["commit".into(), format!("--author={name} <{email}>")]);
    } else {
        commit.push("commit".into());
    }
    // The message on stdin (`-F -`), not in argv: no length limit of the
    // command line, and nothing of it in `ps` or in the argument log.
    commit.extend(["--quiet".into(), "-F".into(), "-".into(), "--".into()]);
    commit.extend(paths.iter().cloned());
    let commit: Vec<&str> = commit.iter().map(String::as_str).collect();
    if let Err(e) = git_with_input(root, &commit, Some(message)) {
        // A hook or signing refused the commit: unstage what `add` staged,
        // so the caller's rollback of the files leaves the index as it was.
        let mut reset = vec!["reset", "--quiet", "--"];
        reset.extend(paths.iter().map(String::as_str));
        let _ = git(root, &reset);
        return Err(e);
    }
    git(root, &["rev-parse", "--short", "HEAD"]).map(|s| s.trim().to_string())
}

pub(crate) fn push(root: &Path, remote: &str, branch: Option<&str>) -> Result<(), GitError> {
    let refspec = branch.map_or_else(|| "HEAD".to_string(), |b| format!("HEAD:refs/heads/{b}"));
    git(root, &["push", "--quiet", remote, &refspec]).map(drop)
}
