//! The real git behind `gpuops_gitops::bump::Git`: the git CLI, run here in
//! the plugin so the library spawns no process.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gpuops_gitops::bump::{Author, Checkout, Git, GitError, PushSpec};
use gpuops_manifest::text::printable;

/// `git -C DIR …` as found on PATH.
pub(crate) struct SystemGit;

/// Run git, writing `input` (if any) to its stdin.
fn git(dir: &Path, args: &[&str], input: Option<&str>) -> Result<String, GitError> {
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

impl Git for SystemGit {
    fn toplevel(&self, dir: &Path) -> Result<PathBuf, GitError> {
        let dir = if dir.is_file() { dir.parent().unwrap_or(Path::new(".")) } else { dir };
        git(dir, &["rev-parse", "--show-toplevel"], None).map(|s| PathBuf::from(s.trim()))
    }

    /// Untracked files do not count: modelbump never commits them.
    fn dirty_files(&self, root: &Path) -> Result<Vec<String>, GitError> {
        let status = git(root, &["status", "--porcelain", "--untracked-files=no"], None)?;
        Ok(status.lines().map(|l| l.get(3..).unwrap_or(l).to_string()).collect())
    }

    fn current_branch(&self, root: &Path) -> Option<String> {
        git(root, &["symbolic-ref", "--quiet", "--short", "HEAD"], None).ok().map(|s| s.trim().to_string())
    }

    fn create_branch(&self, root: &Path, name: &str) -> Result<(), GitError> {
        git(root, &["check-ref-format", "--branch", name], None)
            .map_err(|_| GitError::InvalidBranch(name.to_string()))?;
        git(root, &["switch", "-c", name], None).map(drop)
    }

    fn commit(
        &self,
        root: &Path,
        files: &[PathBuf],
        message: &str,
        author: Option<&Author>,
    ) -> Result<String, GitError> {
        let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let mut add = vec!["add", "--"];
        add.extend(paths.iter().map(String::as_str));
        git(root, &add, None)?;
        let mut commit: Vec<String> = Vec::new();
        if let Some(Author { name, email }) = author {
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
        if let Err(e) = git(root, &commit, Some(message)) {
            // A hook or signing refused the commit: unstage what `add` staged,
            // so the caller's rollback of the files leaves the index as it was.
            let mut reset = vec!["reset", "--quiet", "--"];
            reset.extend(paths.iter().map(String::as_str));
            let _ = git(root, &reset, None);
            return Err(e);
        }
        git(root, &["rev-parse", "--short", "HEAD"], None).map(|s| s.trim().to_string())
    }

    fn push(&self, root: &Path, spec: &PushSpec) -> Result<(), GitError> {
        let mut args: Vec<&str> = vec!["push", "--quiet"];
        if spec.force {
            args.push("--force");
        }
        for option in &spec.options {
            args.extend(["-o", option.as_str()]);
        }
        args.extend([spec.remote.as_str(), spec.refspec.as_str()]);
        git(root, &args, None).map(drop)
    }

    fn switch_new(&self, root: &Path, name: &str) -> Result<(), GitError> {
        git(root, &["check-ref-format", "--branch", name], None)
            .map_err(|_| GitError::InvalidBranch(name.to_string()))?;
        git(root, &["switch", "--quiet", "-C", name], None).map(drop)
    }

    fn switch_back(&self, root: &Path, to: &Checkout) -> Result<(), GitError> {
        match to {
            Checkout::Branch(b) => git(root, &["switch", "--quiet", b], None).map(drop),
            Checkout::Detached(sha) => git(root, &["switch", "--quiet", "--detach", sha], None).map(drop),
        }
    }

    fn head(&self, root: &Path) -> Result<String, GitError> {
        git(root, &["rev-parse", "HEAD"], None).map(|s| s.trim().to_string())
    }

    fn signs_commits(&self, root: &Path) -> bool {
        git(root, &["config", "--bool", "commit.gpgsign"], None).is_ok_and(|v| v.trim() == "true")
    }
}

impl SystemGit {
    /// Whether `remote` has branch `name`, as a remote-tracking ref to
    /// build on: asked (`git ls-remote`, then fetched into
    /// `refs/remotes/REMOTE/NAME`) when `ask`, else the remote-tracking
    /// ref already here. `None`: the remote has no such branch.
    pub(crate) fn remote_branch(
        &self,
        root: &Path,
        remote: &str,
        name: &str,
        ask: bool,
    ) -> Result<Option<String>, GitError> {
        let tracking = format!("refs/remotes/{remote}/{name}");
        if ask {
            let head = format!("refs/heads/{name}");
            // --exit-code: 2 when nothing matched, any other failure is the remote's.
            let found = match git(root, &["ls-remote", "--exit-code", "--heads", remote, &head], None) {
                Ok(_) => true,
                Err(GitError::Failed { stderr, .. }) if stderr.is_empty() => false,
                Err(e) => return Err(e),
            };
            if !found {
                return Ok(None);
            }
            git(root, &["fetch", "--quiet", "--no-tags", remote, &format!("+{head}:{tracking}")], None)?;
        }
        Ok(git(root, &["rev-parse", "--verify", "--quiet", &tracking], None).ok().map(|_| tracking))
    }

    /// `git switch -C NAME START`: the branch at `start`, HEAD on it.
    pub(crate) fn switch_at(&self, root: &Path, name: &str, start: &str) -> Result<(), GitError> {
        git(root, &["check-ref-format", "--branch", name], None)
            .map_err(|_| GitError::InvalidBranch(name.to_string()))?;
        git(root, &["switch", "--quiet", "-C", name, start], None).map(drop)
    }
}
