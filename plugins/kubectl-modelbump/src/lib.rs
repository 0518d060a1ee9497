//! `kubectl modelbump`: find model/image references in a GitOps repository,
//! ask OCI registries for the newest tag each policy allows, and rewrite the
//! files in place — only the changed characters — then optionally commit.
//!
//! The transaction (resolve → plan → write/commit/push with rollback) is
//! `gpuops_gitops::bump`; this crate holds the flags (`cli`), what each
//! command gathers and hands to the library (`commands`), the real
//! registry and git behind the library's traits (`registry`, `git`), and
//! the printing (`render`).

mod cli;
mod commands;
mod forge;
mod git;
mod registry;
mod render;
mod trust;

pub use cli::{ApplyArgs, Cli, Command, DiffArgs, DryRun, PromoteArgs, RegistryArgs, ScanArgs, TagsArgs, WriteArgs};
pub use gpuops_cli::{ExitCode, OutputArgs, Verbosity};
pub use gpuops_gitops::bump::safe_lines;
pub use trust::CaFile;

use gpuops_gitops::bump::BumpError;

/// Errors that end a command (exit 2; 130 when interrupted).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bump(#[from] BumpError),
    #[error(transparent)]
    Policy(#[from] gpuops_gitops::policy::PolicyError),
    #[error(transparent)]
    Registry(#[from] gpuops_gitops::bump::TagSourceError),
    /// The output could not be written whole (a reader that went away is
    /// not an error).
    #[error(transparent)]
    Output(#[from] gpuops_cli::WriteError),
    #[error(transparent)]
    Document(#[from] gpuops_cli::DocumentError),
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Ctrl-C stopped the command (exit 130, no `error:` prefix).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Bump(BumpError::Interrupted(_)))
    }
}

impl From<gpuops_gitops::bump::AutomationError> for Error {
    fn from(e: gpuops_gitops::bump::AutomationError) -> Self {
        Error::Bump(e.into())
    }
}

impl From<gpuops_gitops::ScanError> for Error {
    fn from(e: gpuops_gitops::ScanError) -> Self {
        Error::Bump(e.into())
    }
}

/// Run a parsed command; returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Scan(args) => commands::scan(&args),
        Command::Apply(args) => commands::apply(&args),
        Command::Diff(args) => commands::diff(&args),
        Command::Tags(args) => commands::tags(&args),
        Command::Promote(args) => commands::promote(&args),
        Command::Completion(args) => commands::completion(&args),
        Command::Complete(args) => commands::complete(&args),
    }
}
