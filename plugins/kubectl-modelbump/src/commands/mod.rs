//! Each command: gather its inputs (flags, the tree, the repository root,
//! the registries), hand them to `gpuops_gitops::bump`, print the answer.

mod apply;
mod complete;
mod promote;
mod scan;
mod tags;

pub(crate) use self::apply::apply;
pub(crate) use self::complete::{complete, completion};
pub(crate) use self::promote::promote;
pub(crate) use self::scan::scan;
pub(crate) use self::tags::tags;

use std::collections::BTreeMap;
use std::path::Path;

use gpuops_gitops::bump::{self, Lookups, Plan, PolicyKey, Resolution};
use gpuops_gitops::scope::Scope;
use gpuops_gitops::{ImageUpdateAutomation, Reference, Scan};

use crate::cli::{RegistryArgs, WriteArgs};
use crate::git::SystemGit;
use crate::registry::{Clients, Registries};
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

/// Ask the registries about every policy `references` name, in `scope`.
fn resolve(
    scan: &Scan,
    scope: Scope<'_>,
    references: &[Reference],
    registry: &RegistryArgs,
) -> BTreeMap<PolicyKey, Resolution> {
    let clients = Clients::new(registry.options(), scan);
    let lookups = Lookups::new(scan, scope, references, registry.digest);
    let progress = gpuops_cli::progress::Progress::bar(lookups.images().len() as u64, "repositories listed");
    let source = Registries { clients: &clients, progress: Some(&progress) };
    lookups.resolve(&source, registry.concurrency as usize)
}

/// The plan of `references` against the registries' answers, with the
/// scan's problems; the skips said on stderr.
fn registry_plan(
    scan: &Scan,
    references: &[Reference],
    resolutions: &BTreeMap<PolicyKey, Resolution>,
    strict: bool,
) -> Plan {
    let mut items = bump::plan::plan_references(references, bump::plan::from_resolutions(resolutions, strict));
    items.extend(bump::plan::problem_items(scan, strict));
    let plan = Plan { items };
    render::skips(&plan);
    plan
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
    if args.dry_run {
        out.print(&prepared.diff());
        return Ok(ExitCode::answer(prepared.is_empty()));
    }
    if prepared.is_empty() {
        out.print("all references are up to date\n");
        return Ok(ExitCode::Success);
    }
    let git = SystemGit;
    let transaction = prepared.begin(&git, &args.commit_options(), automation)?;
    // Ctrl-C from here on is deferred until the files are either all
    // written and committed or all put back (gpuops_cli::interrupt).
    gpuops_cli::interrupt::critical(|| {
        transaction.run(&git, &gpuops_cli::interrupt::pending, &mut |step| render::step(out, step))
    })?;
    if gpuops_cli::interrupt::pending() {
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::Success)
}
