//! Write, commit and push a plan — all of it or none of it.
//!
//! [`prepare`] builds and verifies every new file before any is touched;
//! [`Prepared::begin`] makes every check that can refuse (a dirty tree, a
//! detached HEAD with `--push`, a file that cannot be written, a message
//! template that cannot be rendered, the new branch) before the first
//! write; [`Transaction::run`] writes, commits and pushes, putting every
//! written file back when a write or the commit fails or Ctrl-C arrives.
//! The caller runs it with Ctrl-C deferred (gpuops_cli::interrupt) and
//! passes in whether one arrived.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gpuops_manifest::text::printable;

use super::automation::{self, FluxChange, ObjectId};
use super::plan::{Decision, Plan, Subject, failures};
use super::{BumpError, shown};
use crate::ImageUpdateAutomation;
use crate::edit::{self, Edit};

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
}

/// Who a commit is by: the automation's `spec.git.commit.author`, author
/// and committer both, as Flux signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// The git operations a bump needs. The plugin runs the real `git`; tests
/// use fakes. Paths are absolute.
pub trait Git {
    /// The repository's top level, if `dir` is inside one.
    fn toplevel(&self, dir: &Path) -> Result<PathBuf, GitError>;
    /// Tracked files with uncommitted changes (untracked files do not count).
    fn dirty_files(&self, root: &Path) -> Result<Vec<String>, GitError>;
    /// The branch HEAD is on; `None` when HEAD is detached.
    fn current_branch(&self, root: &Path) -> Option<String>;
    /// Create `name` at HEAD and switch to it.
    fn create_branch(&self, root: &Path, name: &str) -> Result<(), GitError>;
    /// Commit exactly `files` with `message`; the short hash. A refused
    /// commit leaves the index as it was.
    fn commit(
        &self,
        root: &Path,
        files: &[PathBuf],
        message: &str,
        author: Option<&Author>,
    ) -> Result<String, GitError>;
    /// `git push` as `spec` says.
    fn push(&self, root: &Path, spec: &PushSpec) -> Result<(), GitError>;
    /// Create or reset `name` at HEAD and switch to it (`git switch -C`).
    fn switch_new(&self, root: &Path, name: &str) -> Result<(), GitError>;
    /// Back to where HEAD was.
    fn switch_back(&self, root: &Path, to: &Checkout) -> Result<(), GitError>;
    /// The full hash of HEAD.
    fn head(&self, root: &Path) -> Result<String, GitError>;
    /// Whether git's own configuration signs commits (`commit.gpgsign`).
    fn signs_commits(&self, root: &Path) -> bool;
}

/// Where HEAD was before a commit on an automation's push branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    Branch(String),
    Detached(String),
}

/// One `git push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSpec {
    pub remote: String,
    /// `HEAD`, `HEAD:refs/heads/NAME`, or the automation's `push.refspec`.
    pub refspec: String,
    pub force: bool,
    /// `-o` values (`KEY=VALUE`, or `KEY` for an empty value).
    pub options: Vec<String>,
}

/// One file of the plan: what it holds now and what it will hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// As planned: relative to the scanned directory.
    pub file: String,
    /// Where it is written: after [`Prepared::begin`], the real file (a
    /// symlink resolved).
    pub path: PathBuf,
    pub before: String,
    pub after: String,
    pub edits: Vec<Edit>,
}

/// One scalar the bump changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub file: String,
    pub line: usize,
    pub subject: Subject,
    pub old: String,
    pub new: String,
}

impl Change {
    /// `file:line policy: old -> new`, every part escaped, so a newline in
    /// a file name cannot forge a line of output or of the commit message.
    pub fn summary(&self) -> String {
        format!(
            "{}:{} {}: {} -> {}",
            printable(&self.file),
            self.line,
            printable(&self.subject.label()),
            printable(&self.old),
            printable(&self.new)
        )
    }
}

/// The plan's files built and verified; nothing written yet.
#[derive(Debug)]
pub struct Prepared {
    base: PathBuf,
    files: Vec<FileEdit>,
    changes: Vec<Change>,
}

/// Build and verify every new file under `base`; refuse a plan with a
/// failed item.
pub fn prepare(base: &Path, plan: &Plan) -> Result<Prepared, BumpError> {
    if plan.has_failures() {
        return Err(BumpError::ReferencesFailed(failures(plan)));
    }
    let mut per_file: BTreeMap<&str, Vec<Edit>> = BTreeMap::new();
    let mut changes = Vec::new();
    for item in &plan.items {
        if let Decision::Update { new, edit } = &item.decision {
            per_file.entry(&item.file).or_default().push(edit.clone());
            changes.push(Change {
                file: item.file.clone(),
                line: item.line,
                subject: item.subject.clone(),
                old: item.current.clone(),
                new: new.clone(),
            });
        }
    }
    let mut files = Vec::new();
    for (file, edits) in per_file {
        let path = base.join(file);
        let before = std::fs::read_to_string(&path).map_err(|source| BumpError::Read { path: path.clone(), source })?;
        // The name only labels messages here.
        let label = printable(file);
        let after = edit::splice(&label, &before, &edits)?;
        edit::verify(&label, &before, &after, &edits)?;
        files.push(FileEdit { file: file.to_string(), path, before, after, edits });
    }
    Ok(Prepared { base: base.to_path_buf(), files, changes })
}

/// What the transaction does after the writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitOptions {
    /// Commit the changed files (refuses a tree with uncommitted changes).
    pub commit: bool,
    /// Commit message; `{count}` and `{changes}` are replaced.
    pub message: Option<String>,
    /// Create this branch and commit there.
    pub branch: Option<String>,
    /// Push the commit to `remote`.
    pub push: bool,
    pub remote: String,
    /// The caller has already switched HEAD from this checkout to the
    /// automation's push branch, which the remote has (fluxcd/pkg
    /// git/gogit/client.go `SwitchBranch`: an existing remote branch is
    /// checked out at the remote's head, and the update is made on it):
    /// the push is forced, as Flux forces a switched branch; switching
    /// back is the caller's.
    pub on_push_branch: Option<Checkout>,
}

impl Prepared {
    /// The scanned directory the files are relative to.
    pub fn base(&self) -> &Path {
        &self.base
    }

    pub fn files(&self) -> &[FileEdit] {
        &self.files
    }

    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// A unified diff of every file, as `git diff` writes it.
    pub fn diff(&self) -> String {
        self.files.iter().map(|f| edit::unified_diff(&printable(&f.file), &f.before, &f.after)).collect()
    }

    /// Every check that can refuse, before anything is written; the new
    /// branch is created last, so a refusal leaves HEAD where it was.
    pub fn begin(
        mut self,
        git: &dyn Git,
        options: &CommitOptions,
        automation: Option<&ImageUpdateAutomation>,
    ) -> Result<Transaction, BumpError> {
        let repo_root = if options.commit {
            let root = git.toplevel(&self.base)?;
            let dirty = git.dirty_files(&root)?;
            if !dirty.is_empty() {
                return Err(BumpError::Dirty(dirty));
            }
            // A push from a detached HEAD would fail after the commit — unless
            // the automation names spec.git.push.branch (Flux pushes there).
            let push_branch = automation.and_then(|a| a.push_branch.as_ref());
            if options.push && options.branch.is_none() && push_branch.is_none() && git.current_branch(&root).is_none()
            {
                return Err(BumpError::DetachedHead);
            }
            if let Some(a) = automation
                && let Some(secret) = &a.signing_secret
                && !git.signs_commits(&root)
            {
                return Err(BumpError::Unsigned { automation: a.key(), secret: secret.clone() });
            }
            Some(root)
        } else {
            None
        };
        // Where each file is really written, checked before any write.
        let boundary = repo_root.clone().unwrap_or_else(|| self.base.clone());
        for f in &mut self.files {
            f.path = writable_target(&f.path, &boundary)?;
            let removed = edit::remove_stale_temp_files(&f.path);
            if removed > 0 {
                tracing::info!(file = %f.file, removed, "removed temporary files an interrupted run left behind");
            }
        }
        // Settled before any file is written: a template that cannot be
        // rendered must not leave edits behind.
        let message = match &repo_root {
            Some(root) => self.message(options, automation, root)?,
            None => String::new(),
        };
        let mut restore = None;
        let mut switched = false;
        if let Some(root) = &repo_root {
            if options.on_push_branch.is_some() {
                switched = true;
            } else if let Some(branch) = &options.branch {
                git.create_branch(root, branch)?;
            } else if let Some(target) = automation.and_then(|a| a.push_branch.as_deref()) {
                // source.go `buildGitConfig`/`CheckoutSource`: a push branch
                // other than the checkout branch, which the remote does not
                // have (else `on_push_branch`), is created from the checkout
                // (`SwitchBranch`: "create a new branch using the current
                // worktree HEAD"); the commit goes there and HEAD comes back.
                let current = git.current_branch(root);
                if current.as_deref() != Some(target) {
                    let back = match current {
                        Some(b) => Checkout::Branch(b),
                        None => Checkout::Detached(git.head(root)?),
                    };
                    git.switch_new(root, target)?;
                    restore = Some(back);
                    switched = true;
                }
            }
        }
        let author = automation.and_then(|a| {
            Some(Author { name: a.author_name.clone().unwrap_or_default(), email: a.author_email.clone()? })
        });
        let push = options.push.then(|| push_specs(options, automation, switched));
        let commit = repo_root.map(|root| Commit { root, message, author, push, restore });
        Ok(Transaction { files: self.files, changes: self.changes, commit })
    }

    fn message(
        &self,
        options: &CommitOptions,
        automation: Option<&ImageUpdateAutomation>,
        root: &Path,
    ) -> Result<String, BumpError> {
        let ours = |template: &str| {
            let bullets: Vec<String> = self.changes.iter().map(|c| format!("- {}", c.summary())).collect();
            template.replace("{count}", &self.changes.len().to_string()).replace("{changes}", &bullets.join("\n"))
        };
        Ok(match (&options.message, automation) {
            (Some(m), _) => ours(m),
            (None, Some(a)) => automation::message(a, &self.flux_changes(&automation::update_dir(a, root)))?,
            (None, None) => ours("modelbump: update {count} model reference(s)\n\n{changes}"),
        })
    }

    /// The changes as Flux's template data records them: file (relative to
    /// the update directory), object, old and new value, setter.
    fn flux_changes(&self, update_dir: &Path) -> Vec<FluxChange> {
        self.changes
            .iter()
            .filter_map(|c| {
                let Subject::Marker { setter, .. } = &c.subject else { return None };
                let file = self.files.iter().find(|f| f.file == c.file);
                let before = file.map_or("", |f| f.before.as_str());
                let relative = file
                    .and_then(|f| f.path.strip_prefix(update_dir).ok())
                    .map_or_else(|| c.file.clone(), |p| p.to_string_lossy().replace('\\', "/"));
                Some(FluxChange {
                    file: relative,
                    object: ObjectId::at(before, c.line),
                    old: c.old.clone(),
                    new: c.new.clone(),
                    setter: setter.clone(),
                })
            })
            .collect()
    }
}

/// The file to write for `path`: itself, or — for a symlink — the file it
/// points to, if that lies inside `boundary` (the repository, or the
/// directory scanned). Replacing the link with a regular file would change
/// what git tracks; writing through a link out of the tree would edit a file
/// the user did not point at. A read-only file is left alone: someone
/// marked it so.
fn writable_target(path: &Path, boundary: &Path) -> Result<PathBuf, BumpError> {
    let unwritable = |reason: String| BumpError::Unwritable { path: path.to_path_buf(), reason };
    // Every link on the way counts (a linked directory too).
    let target = path.canonicalize().map_err(|e| unwritable(format!("cannot be resolved ({e})")))?;
    if !boundary.canonicalize().is_ok_and(|b| target.starts_with(b)) {
        return Err(unwritable(format!(
            "a symlink to {} outside {}; not writing through it",
            shown(&target),
            shown(boundary)
        )));
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        tracing::debug!(link = %path.display(), target = %target.display(), "writing through a symlink");
    }
    let readonly = std::fs::metadata(&target).map(|m| m.permissions().readonly()).unwrap_or(false);
    if readonly {
        return Err(unwritable("read-only; not replacing it (chmod u+w to let modelbump update it)".into()));
    }
    Ok(target)
}

/// The pushes of a commit: the branch, then the automation's
/// `push.refspec`. --branch, else the automation's `spec.git.push.branch`,
/// else the branch checked out. Forced when Flux forces: the push branch
/// differs from the checkout branch (imageupdateautomation_controller.go
/// `reconcile`: `features.GitForcePushBranch` (on by default) and
/// `sm.SwitchBranch()`); the refspec never is (source.go
/// `buildRefspecPushConfig`: "force is only authorized for the configured
/// push branch"). Both carry `push.options` (`WithPushConfigOptions`).
fn push_specs(options: &CommitOptions, automation: Option<&ImageUpdateAutomation>, switched: bool) -> Vec<PushSpec> {
    let branch = options.branch.clone().or_else(|| automation.and_then(|a| a.push_branch.clone()));
    let push_options: Vec<String> = automation
        .map(|a| {
            a.push_options.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") }).collect()
        })
        .unwrap_or_default();
    let mut specs = vec![PushSpec {
        remote: options.remote.clone(),
        refspec: branch.map_or_else(|| "HEAD".to_string(), |b| format!("HEAD:refs/heads/{b}")),
        force: switched,
        options: push_options.clone(),
    }];
    if let Some(refspec) = automation.and_then(|a| a.push_refspec.clone()) {
        specs.push(PushSpec { remote: options.remote.clone(), refspec, force: false, options: push_options });
    }
    specs
}

/// Every file written goes back to what it held.
fn put_back(written: &[&FileEdit]) {
    for done in written {
        if let Err(e) = edit::write_atomic(&done.path, &done.before) {
            tracing::warn!(file = %done.file, error = %e, "could not put the file back");
        }
    }
}

#[derive(Debug)]
struct Commit {
    root: PathBuf,
    message: String,
    author: Option<Author>,
    push: Option<Vec<PushSpec>>,
    /// Where HEAD goes back to after a commit on a push branch.
    restore: Option<Checkout>,
}

/// Checked and ready: [`Transaction::run`] writes, commits, pushes.
#[derive(Debug)]
pub struct Transaction {
    files: Vec<FileEdit>,
    changes: Vec<Change>,
    commit: Option<Commit>,
}

/// What has happened, as it happens (the plugin prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Every file is written.
    Written {
        changes: &'a [Change],
    },
    Committed {
        sha: &'a str,
        changes: usize,
        files: usize,
    },
    Pushed {
        remote: &'a str,
    },
}

/// Where Ctrl-C stopped a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interruption {
    /// During the writes: every file written was put back.
    NothingWritten,
    /// During the commit, which did not happen: the files were put back.
    CommitUndone { files: usize },
    /// After the commit, before or during the push: the commit stays.
    NotPushed { sha: String },
}

impl std::fmt::Display for Interruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Interruption::NothingWritten => f.write_str("no file was changed"),
            Interruption::CommitUndone { files } => {
                write!(f, "the commit did not happen and the {files} file(s) written were put back")
            }
            Interruption::NotPushed { sha } => {
                write!(f, "committed {sha} locally but did not push it; the commit stays (run `git push`)")
            }
        }
    }
}

impl Transaction {
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Write every file, then commit and push. A failed write or commit, or
    /// `interrupted()` turning true during the writes or a failed commit,
    /// puts every written file back; a failed push keeps the commit.
    pub fn run(
        self,
        git: &dyn Git,
        interrupted: &dyn Fn() -> bool,
        on_step: &mut dyn FnMut(Step<'_>),
    ) -> Result<(), BumpError> {
        let mut written: Vec<&FileEdit> = Vec::new();
        for f in &self.files {
            if let Err(e) = edit::write_atomic(&f.path, &f.after) {
                put_back(&written);
                return Err(e.into());
            }
            written.push(f);
            if interrupted() {
                put_back(&written);
                return Err(BumpError::Interrupted(Interruption::NothingWritten));
            }
        }
        on_step(Step::Written { changes: &self.changes });
        let Some(commit) = &self.commit else { return Ok(()) };
        let result = Self::commit_and_push(commit, &self.files, &written, &self.changes, git, interrupted, on_step);
        if let Some(to) = &commit.restore
            && let Err(e) = git.switch_back(&commit.root, to)
        {
            tracing::warn!(error = %e, "could not switch back to where HEAD was");
        }
        result
    }

    fn commit_and_push(
        commit: &Commit,
        files: &[FileEdit],
        written: &[&FileEdit],
        changes: &[Change],
        git: &dyn Git,
        interrupted: &dyn Fn() -> bool,
        on_step: &mut dyn FnMut(Step<'_>),
    ) -> Result<(), BumpError> {
        let paths: Vec<PathBuf> =
            files.iter().map(|f| f.path.canonicalize().unwrap_or_else(|_| f.path.clone())).collect();
        let sha = match git.commit(&commit.root, &paths, &commit.message, commit.author.as_ref()) {
            Ok(sha) => sha,
            Err(source) => {
                // Nothing half done: the files go back to what they were, so
                // the next run sees the same updates instead of "up to date".
                put_back(written);
                if interrupted() {
                    return Err(BumpError::Interrupted(Interruption::CommitUndone { files: written.len() }));
                }
                return Err(BumpError::CommitFailed { files: written.len(), source });
            }
        };
        on_step(Step::Committed { sha: &sha, changes: changes.len(), files: paths.len() });
        let Some(pushes) = &commit.push else { return Ok(()) };
        for push in pushes {
            if interrupted() {
                return Err(BumpError::Interrupted(Interruption::NotPushed { sha }));
            }
            match git.push(&commit.root, push) {
                Ok(()) => on_step(Step::Pushed { remote: &push.remote }),
                Err(_) if interrupted() => return Err(BumpError::Interrupted(Interruption::NotPushed { sha })),
                Err(source) => return Err(BumpError::PushFailed { sha, source }),
            }
        }
        Ok(())
    }
}
