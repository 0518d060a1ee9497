//! Each command: gather its inputs (flags, the tree, the repository root,
//! the registries), hand them to `gpuops_gitops::bump`, print the answer.

mod apply;
mod complete;
mod promote;
mod runs;
mod scan;
mod tags;

pub(crate) use self::apply::{apply, diff};
pub(crate) use self::complete::{complete, completion};
pub(crate) use self::promote::promote;
pub(crate) use self::scan::scan;
pub(crate) use self::tags::tags;

use std::path::Path;

use gpuops_gitops::ImageUpdateAutomation;
use gpuops_gitops::bump::{self, Plan};

use crate::cli::{DryRun, WriteArgs};
use crate::git::SystemGit;
use crate::render::{self, Out};
use crate::{Error, ExitCode};

/// Run `command` with stdout; a write error on it (not a closed pipe)
/// makes the command fail even when it otherwise went through.
fn with_stdout(command: impl FnOnce(&mut Out) -> Result<ExitCode, Error>) -> Result<ExitCode, Error> {
    let mut out = Out::stdout();
    let result = command(&mut out);
    let flushed = out.finish();
    let code = result?;
    flushed?;
    Ok(code)
}

/// The exit code of a run that went through: "partial" (3) when a failure
/// was isolated.
fn finished(code: ExitCode, partial: bool) -> ExitCode {
    if code == ExitCode::Success && partial { ExitCode::Unchecked } else { code }
}

/// Diff, or write, commit and push `plan` — all of it or none of it.
fn write(
    base: &Path,
    plan: &Plan,
    args: &WriteArgs,
    automation: Option<&ImageUpdateAutomation>,
    out: &mut Out,
) -> Result<ExitCode, Error> {
    let prepared = bump::prepare(base, plan)?;
    if args.dry_run == DryRun::Client {
        // As kubectl apply --dry-run: exit 0 (`diff` exits 1 on changes).
        out.print(&prepared.diff());
        return Ok(ExitCode::Success);
    }
    if args.dry_run == DryRun::Server {
        return Err(Error::Usage("--dry-run=server: there is no server to ask; use --dry-run".into()));
    }
    run_prepared(prepared, args, automation, false, out)
}

/// Write, commit and push what is prepared.
fn run_prepared(
    prepared: bump::Prepared,
    args: &WriteArgs,
    automation: Option<&ImageUpdateAutomation>,
    quiet: bool,
    out: &mut Out,
) -> Result<ExitCode, Error> {
    run_prepared_with(prepared, args, automation, quiet, out, &mut |_| {})
}

/// [`run_prepared`], telling `on_commit` the commit's hash; `quiet` (for
/// `-o json|yaml`) prints no steps.
fn run_prepared_with(
    prepared: bump::Prepared,
    args: &WriteArgs,
    automation: Option<&ImageUpdateAutomation>,
    quiet: bool,
    out: &mut Out,
    on_commit: &mut dyn FnMut(&str),
) -> Result<ExitCode, Error> {
    if prepared.is_empty() {
        if !quiet {
            out.print("all references are up to date\n");
        }
        return Ok(ExitCode::Success);
    }
    let git = SystemGit;
    let transaction = prepared.begin(&git, &args.commit_options(), automation)?;
    // Ctrl-C from here on is deferred until the files are either all
    // written and committed or all put back (gpuops_cli::interrupt).
    gpuops_cli::interrupt::critical(|| {
        transaction.run(&git, &gpuops_cli::interrupt::pending, &mut |step| {
            if let bump::Step::Committed { sha, .. } = step {
                on_commit(sha);
            }
            if !quiet {
                render::step(out, step);
            }
        })
    })?;
    if gpuops_cli::interrupt::pending() {
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::Success)
}
