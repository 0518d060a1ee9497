//! `kubectl gpufit`: will GPU workloads fit a cluster — GPU counts, taints,
//! selectors, MIG, rollout surge, and whether the model fits in GPU memory
//! at its tensor-parallel size — and if not, exactly why.
//!
//! The answers come from the libraries (`gpuops_fit` for the check,
//! `gpuops_schedule` for clusters, `gpuops_model` for memory); this crate
//! holds the flags (`cli`), what each command gathers and hands to them
//! (`commands`), the network model source the resolver is given
//! (`remote`), and the printing (`render`).

mod cli;
mod commands;
pub mod kustomize_plugin;
mod remote;
mod render;

use std::path::PathBuf;

pub use cli::{CheckArgs, Cli, ClusterArgs, Command, LocalArgs, ModelArgs, NodesArgs};
pub use gpuops_cli::{ExitCode, OutputArgs, Verbosity};
use gpuops_fit::report::CheckError;
use gpuops_manifest::input::InputError;
use gpuops_schedule::cluster::ClusterError;

/// Errors that end a command (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Snapshot(#[from] ClusterError),
    #[error(transparent)]
    Live(#[from] gpuops_cluster::Error),
    /// Boxed: the check's errors carry workload references, and every
    /// command returns this type (clippy::result_large_err).
    #[error(transparent)]
    Check(Box<CheckError>),
    #[error(
        "{}: more than {max} {what} in a cluster dump ({found}); stopping (raise --max-objects to read further)",
        path.display()
    )]
    DumpTooLarge { path: PathBuf, what: &'static str, found: u64, max: u64 },
    #[error("{}: no Node objects (dump with `kubectl get nodes,pods -A -o {format}`)", path.display())]
    NoNodes { path: PathBuf, format: &'static str },
    #[error("no workloads: pass -f FILE|DIR|- or -k DIR")]
    NoWorkloads,
    /// Inputs were read and none holds a workload: "fits" would be a
    /// verdict about nothing.
    #[error("no workloads found in {sources}{}", if notes.is_empty() { String::new() } else { format!(" ({notes})") })]
    NoWorkloadsIn { sources: String, notes: String },
    /// kubectl's words (cli-runtime pkg/resource/builder.go, `Path`).
    #[error("the path \"{}\" does not exist", path.display())]
    PathMissing { path: PathBuf },
    #[error("{} is a kustomization; use -k {}", dir.display(), dir.display())]
    IsKustomization { dir: PathBuf },
    /// `kubectl kustomize` failed: its error in one line, and what to do
    /// when the cause is known (`hint` is empty or "\nhint: …").
    #[error("{command}: {message}{hint}")]
    Kustomize { command: String, message: String, hint: String },
    /// The temporary plugin home `-k` hands kustomize could not be made.
    #[error("preparing a kustomize plugin home: {0}")]
    PluginHome(String),
    /// `--strict`: objects whose workloads are not checked.
    #[error("{count} object(s) deploy workloads gpufit cannot render (--strict): {objects}")]
    Unrendered { count: usize, objects: String },
    /// A flag value that makes no sense (`--gpu`, `--max-model-len`, a model id).
    #[error("{0}")]
    Usage(String),
    #[error("local GPUs: {0}")]
    Local(String),
    #[error(transparent)]
    ModelConfig(#[from] gpuops_model::hfconfig::ConfigError),
    /// The answer could not be written whole (a reader that closed the
    /// pipe is not an error): exit 2, never the answer's code.
    #[error(transparent)]
    Output(#[from] gpuops_cli::WriteError),
    #[error(transparent)]
    Document(#[from] gpuops_cli::DocumentError),
}

impl From<CheckError> for Error {
    fn from(e: CheckError) -> Self {
        Error::Check(Box::new(e))
    }
}

/// Run a parsed command; returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    let Some(command) = cli.command else {
        // No subcommand: the help on stdout and exit 0, as `kubectl` alone
        // does (kubectl pkg/cmd/cmd.go, NewKubectlCommand `Run: runHelp`).
        render::emit(&<Cli as clap::CommandFactory>::command().render_help().to_string())?;
        return Ok(ExitCode::Success);
    };
    match command {
        Command::Check(args) => commands::check(&args),
        Command::Nodes(args) => commands::nodes(&args),
        Command::Model(args) => commands::model(&args),
        Command::Local(args) => commands::local(&args),
        Command::Completion(args) => commands::completion(&args),
        Command::Complete(args) => commands::complete(&args),
    }
}
