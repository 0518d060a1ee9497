//! modelbump's transaction: resolve → plan → write, commit, push — with
//! every step undone when a later one fails or Ctrl-C arrives.
//!
//! * [`resolve`]: the policies the markers name, each asked of a
//!   [`TagSource`] (the registry in the plugin, a fake in tests) and judged by
//!   [`choose`], the one function `tags` and `apply` share.
//! * [`plan`]: one [`Item`] per reference — its [`Subject`] (a marker's
//!   [`Setter`], or a kustomize/`ModelTags` entry) and the [`Decision`] made
//!   for it (an [`edit::Edit`](crate::edit::Edit), up to date, skipped,
//!   failed).
//! * [`write`](mod@write): every new file built and verified before any is touched
//!   ([`prepare`]), the git checks ([`Prepared::begin`]), then the writes,
//!   the commit and the push ([`Transaction::run`]) through the [`Git`]
//!   trait (the real `git` runs in the plugin; fakes in tests).
//!
//! Pure: no environment, no current directory, no network, no process. The
//! plugin gathers inputs (flags, the tree, the repository root) and prints.

pub mod automation;
pub mod forge;
pub mod plan;
pub mod promote;
pub mod resolve;
pub mod write;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use self::automation::{AutomationError, FluxChange, ObjectId};
pub use self::plan::{Decision, EntryField, Item, NoValue, Plan, Setter, Skip, SkipReason, Subject};
pub use self::resolve::{Failure, Lookups, PolicyKey, Resolution, TagChoice, TagSource, TagSourceError, choose};
pub use self::write::{
    Author, Change, Checkout, CommitOptions, FileEdit, Git, GitError, Interruption, Prepared, PushSpec, Step,
    Transaction, prepare,
};

use gpuops_manifest::text::printable;

/// A path from the repository, for a message.
fn shown(path: &std::path::Path) -> String {
    printable(&path.to_string_lossy())
}

/// Text of several lines made safe to print or commit: each line as
/// [`printable`] escapes it, tabs kept. For what the tool composes itself
/// (an error listing several failures, a rendered commit message); every
/// untrusted part inside it is escaped with [`printable`] first, so a
/// newline in a file name cannot forge a line here.
pub fn safe_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| line.split('\t').map(printable).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a bump stopped. Every variant but [`BumpError::PushFailed`] and
/// [`Interruption::NotPushed`] leaves the files as they were.
#[derive(Debug, thiserror::Error)]
pub enum BumpError {
    // Both name a file of the repository, as read from the disk.
    #[error("{}", printable(&.0.to_string()))]
    Edit(#[from] crate::edit::EditError),
    #[error("{}", printable(&.0.to_string()))]
    Scan(#[from] crate::ScanError),
    #[error("{}: {source}", shown(path))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Automation(#[from] AutomationError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("nothing was changed; {} reference(s) failed:\n  {}", .0.len(), .0.join("\n  "))]
    ReferencesFailed(Vec<String>),
    #[error("refusing to commit: the working tree has uncommitted changes ({}); commit or stash them first", printable(&.0.join(", ")))]
    Dirty(Vec<String>),
    #[error(
        "HEAD is detached (no branch to push); pass --branch NAME to commit onto a new branch and push that; nothing was changed"
    )]
    DetachedHead,
    /// source.go `buildGitConfig` signs with the OpenPGP key of
    /// `signingKey.secretRef`; that Secret is in the cluster and there is
    /// no OpenPGP signer here, so git's own signing must be configured.
    #[error(
        "ImageUpdateAutomation {} signs its commits (spec.git.commit.signingKey.secretRef: {}), but that key is a Secret in the cluster and modelbump has no OpenPGP signer; configure git to sign (git config commit.gpgsign true, with user.signingkey, and gpg.format ssh for an SSH key) or remove signingKey; refusing to commit unsigned, nothing was changed",
        printable(automation),
        printable(secret)
    )]
    Unsigned { automation: String, secret: String },
    #[error("{}: {reason}; nothing was changed", shown(path))]
    Unwritable { path: PathBuf, reason: String },
    #[error("the commit failed, so the {files} file(s) written were put back as they were: {source}")]
    CommitFailed {
        files: usize,
        #[source]
        source: GitError,
    },
    #[error(
        "committed {sha} locally, but the push failed: {source}; the commit stays (run `git push` once the remote accepts it; a new run sees the files up to date)"
    )]
    PushFailed {
        sha: String,
        #[source]
        source: GitError,
    },
    /// Ctrl-C during the writes, the commit or the push.
    #[error("interrupted: {0}")]
    Interrupted(Interruption),
}
