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
use gpuops_gitops::bump::Git as _;
use gpuops_gitops::bump::{self, Plan};
use gpuops_manifest::text::printable;

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
    run_prepared_with(prepared, args, automation, None, quiet, out, &mut |_| {})
}

/// [`run_prepared`], telling `on_commit` the commit's hash; `quiet` (for
/// `-o json|yaml`) prints no steps; `on_push_branch`: HEAD was switched to
/// the automation's existing push branch from there
/// ([`bump::CommitOptions::on_push_branch`]).
fn run_prepared_with(
    prepared: bump::Prepared,
    args: &WriteArgs,
    automation: Option<&ImageUpdateAutomation>,
    on_push_branch: Option<bump::Checkout>,
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
    let mut options = args.commit_options();
    options.on_push_branch = on_push_branch;
    if let Some(template) = &args.branch_template {
        let name = bump::forge::branch_name(template, prepared.changes()).map_err(|e| Error::Usage(e.to_string()))?;
        options.branch = Some(name);
    }
    // Settled before anything is written: a pull request that cannot be
    // asked for must not leave a commit behind.
    let pull = match args.pull_request {
        Some(forge) => Some(pull_request(forge, args, &options, automation, &prepared)?),
        None => None,
    };
    let transaction = prepared.begin(&git, &options, automation)?;
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
    if let Some((client, pr)) = pull {
        let at = |url: Option<String>| url.map(|u| format!(": {u}")).unwrap_or_default();
        let said = match client.open_or_update(&pr)? {
            crate::forge::Outcome::Created(url) => {
                format!("opened a pull request for {}{}", printable(&pr.head), at(url))
            }
            crate::forge::Outcome::Updated(n, url) => {
                format!("updated pull request #{n} for {}{}", printable(&pr.head), at(url))
            }
        };
        if !quiet {
            out.print(&format!("{said}\n"));
        }
    }
    Ok(ExitCode::Success)
}

/// The forge client and the pull request: head (the branch pushed) and
/// base (the branch checked out), title and body from their templates.
fn pull_request(
    forge: crate::cli::ForgeArg,
    args: &WriteArgs,
    options: &bump::CommitOptions,
    automation: Option<&ImageUpdateAutomation>,
    prepared: &bump::Prepared,
) -> Result<(crate::forge::ForgeClient, bump::forge::PullRequest), Error> {
    let forge = forge.forge();
    let root = SystemGit.toplevel(prepared.base()).map_err(bump::BumpError::from)?;
    // On the push branch already: the base is where HEAD came from.
    let came_from = match &options.on_push_branch {
        Some(bump::Checkout::Branch(b)) => Some(b.clone()),
        _ => None,
    };
    let base = came_from
        .or_else(|| SystemGit.current_branch(&root))
        .ok_or_else(|| Error::Usage("--pull-request: HEAD is detached; check out the base branch".into()))?;
    let head = options.branch.clone().or_else(|| automation.and_then(|a| a.push_branch.clone()));
    let head = head.filter(|h| *h != base).ok_or_else(|| {
        Error::Usage("--pull-request needs its own branch: --branch, --branch-template or spec.git.push.branch".into())
    })?;
    let data = bump::forge::change_data(prepared.changes());
    let render = |flag: &str, t: &str| {
        gpuops_gitops::template::render(t, &data).map_err(|e| Error::Usage(format!("{flag}: {e}")))
    };
    let pr = bump::forge::PullRequest {
        title: render("--pr-title", &args.pr_title)?,
        body: render("--pr-body", &args.pr_body)?,
        head,
        base,
    };
    let token = std::env::var(forge.token_variable()).ok();
    let client = crate::forge::ForgeClient::new(forge, args.forge_url.as_deref(), args.forge_repo.as_deref(), token)?;
    Ok((client, pr))
}
