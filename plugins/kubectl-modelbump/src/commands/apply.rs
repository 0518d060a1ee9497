//! `kubectl modelbump apply` and `diff`: every ImageUpdateAutomation as
//! Flux runs it (commands::runs); without `--commit` the union of their
//! changes is written, with it one commit per automation.

use gpuops_gitops::ImageUpdateAutomation;
use gpuops_gitops::bump::{self, Plan};

use super::runs::{self, Tree};
use super::{finished, with_stdout};
use crate::cli::DryRun;
use crate::render::{self, ChangeRow, Out};
use crate::{ApplyArgs, DiffArgs, Error, ExitCode};
use gpuops_cli::OutputFormat;

pub(crate) fn apply(args: &ApplyArgs) -> Result<ExitCode, Error> {
    if args.write.dry_run == DryRun::Server {
        return Err(Error::Usage(
            "--dry-run=server: there is no server to ask; use --dry-run (client) to see what would be written".into(),
        ));
    }
    let documents = matches!(args.output.output, OutputFormat::Json | OutputFormat::Yaml);
    if documents {
        args.output.quiet_progress();
    }
    let tree = Tree::load(&args.path, args.policies.as_deref())?;
    let (selected, stalled) = runs::select(&tree, args.automation.as_deref(), args.ignore_suspend, args.strict)?;
    let planned = runs::plan_runs(&tree, selected, args.ignore_suspend, args.strict, &args.registry);
    let all = runs::union(&tree, &planned, args.strict);
    let partial = stalled || all.is_partial();
    let dry_run = args.write.dry_run == DryRun::Client;
    with_stdout(|out| {
        let mut rows = Vec::new();
        let code = if dry_run || !args.write.commit {
            write_union(&tree, &all, args, dry_run, documents, &mut rows, out)?
        } else {
            commit_each(&tree, &all, &planned, args, documents, &mut rows, out)?
        };
        if documents {
            render::changes(out, &rows, &args.output)?;
        }
        Ok(finished(code, partial))
    })
}

/// The union written (or shown) at once, no commit.
fn write_union(
    tree: &Tree,
    all: &Plan,
    args: &ApplyArgs,
    dry_run: bool,
    documents: bool,
    rows: &mut Vec<ChangeRow>,
    out: &mut Out,
) -> Result<ExitCode, Error> {
    let prepared = bump::prepare(&tree.base, all)?;
    rows.extend(prepared.changes().iter().map(|c| ChangeRow::new(c, None, None)));
    if dry_run {
        // kubectl apply --dry-run exits 0; `diff` keeps kubectl diff's codes.
        if !documents {
            out.print(&prepared.diff());
        }
        return Ok(ExitCode::Success);
    }
    super::run_prepared(prepared, &args.write, None, documents, out)
}

/// One commit per automation (all or nothing each), in order; an
/// automation whose commit fails does not stop the others.
fn commit_each(
    tree: &Tree,
    all: &Plan,
    planned: &[(Option<&ImageUpdateAutomation>, Plan)],
    args: &ApplyArgs,
    documents: bool,
    rows: &mut Vec<ChangeRow>,
    out: &mut Out,
) -> Result<ExitCode, Error> {
    // A failed reference anywhere refuses the whole run, as before.
    bump::prepare(&tree.base, all)?;
    let mut failed = None;
    let mut any = false;
    for (automation, plan) in planned {
        // An existing push branch is built on, as Flux builds on it: the
        // plan is made again on its files.
        let switched = match automation {
            Some(a) => push_branch::switch(tree, a, &args.write)?,
            None => None,
        };
        let prepared = match (&switched, automation) {
            (Some(_), Some(a)) => push_branch::replan(a, args).and_then(|p| Ok(bump::prepare(&tree.base, &p)?)),
            _ => bump::prepare(&tree.base, plan).map_err(Error::from),
        };
        let prepared = match prepared {
            Ok(p) if p.is_empty() => {
                push_branch::back(tree, switched.as_ref());
                continue;
            }
            Ok(p) => p,
            Err(e) => {
                push_branch::back(tree, switched.as_ref());
                return Err(e);
            }
        };
        any = true;
        let key = automation.map(|a| a.key());
        let changes: Vec<_> = prepared.changes().to_vec();
        let mut sha = None;
        let result =
            super::run_prepared_with(prepared, &args.write, *automation, switched.clone(), documents, out, &mut |s| {
                sha = Some(s.to_string());
            });
        push_branch::back(tree, switched.as_ref());
        rows.extend(changes.iter().map(|c| ChangeRow::new(c, key.clone(), sha.clone())));
        match result {
            Ok(ExitCode::Success) => {}
            Ok(other) => return Ok(other),
            Err(e) if e.is_interrupted() => return Err(e),
            Err(e) if planned.len() == 1 => return Err(e),
            Err(e) => {
                render::eprint_line(&format!(
                    "error: ImageUpdateAutomation {}: {}",
                    key.as_deref().unwrap_or(""),
                    bump::safe_lines(&e.to_string())
                ));
                failed = Some(e);
            }
        }
    }
    if !any && !documents {
        out.print("all references are up to date\n");
    }
    match failed {
        Some(_) => Ok(ExitCode::Error),
        None => Ok(ExitCode::Success),
    }
}

/// Flux's push branch (image-automation-controller internal/source/
/// source.go `CheckoutSource`, fluxcd/pkg git/gogit/client.go
/// `SwitchBranch`): a push branch the remote has is checked out at the
/// remote's head and updated there; one it lacks is created from the
/// checkout branch (`bump::Prepared::begin`). Both are force-pushed
/// (imageupdateautomation_controller.go: GitForcePushBranch && SwitchBranch).
mod push_branch {
    use gpuops_gitops::ImageUpdateAutomation;
    use gpuops_gitops::bump::{self, Checkout, Git as _, Plan};

    use super::super::runs::{self, Run, Tree};
    use crate::cli::WriteArgs;
    use crate::git::SystemGit;
    use crate::{ApplyArgs, Error};

    /// Switch to `automation`'s push branch when the remote has it (asked
    /// when pushing, else the remote-tracking ref here); where HEAD was.
    /// `None`: no switch here (no push branch, HEAD on it, `--branch`, or a
    /// branch the remote lacks, which `begin` creates from HEAD).
    pub(super) fn switch(
        tree: &Tree,
        automation: &ImageUpdateAutomation,
        write: &WriteArgs,
    ) -> Result<Option<Checkout>, Error> {
        let Some(target) = automation.push_branch.as_deref() else { return Ok(None) };
        if !write.commit || write.branch.is_some() || write.branch_template.is_some() {
            return Ok(None);
        }
        let git = SystemGit;
        let root = &tree.root;
        let current = git.current_branch(root);
        // Uncommitted changes would travel along: `begin` refuses them.
        if current.as_deref() == Some(target) || !git.dirty_files(root).map_err(bump::BumpError::from)?.is_empty() {
            return Ok(None);
        }
        let Some(start) = git.remote_branch(root, &write.remote, target, write.push).map_err(bump::BumpError::from)?
        else {
            return Ok(None);
        };
        let back = match current {
            Some(b) => Checkout::Branch(b),
            None => Checkout::Detached(git.head(root).map_err(bump::BumpError::from)?),
        };
        git.switch_at(root, target, &start).map_err(bump::BumpError::from)?;
        tracing::info!(branch = %target, from = %start, "building on the push branch the remote has");
        Ok(Some(back))
    }

    /// The automation's plan on the files of the branch now checked out.
    pub(super) fn replan(automation: &ImageUpdateAutomation, args: &ApplyArgs) -> Result<Plan, Error> {
        let tree = Tree::load(&args.path, args.policies.as_deref())?;
        let references = bump::automation::in_update_path(&tree.scan, Some(automation), &tree.base, &tree.root);
        let run = Run { automation: Some(automation), references, suspended: false };
        let planned = runs::plan_runs(&tree, vec![run], args.ignore_suspend, args.strict, &args.registry);
        Ok(planned.into_iter().next().map(|(_, plan)| plan).unwrap_or_default())
    }

    /// Back to where HEAD was; a failure is said, not fatal (the commit is made).
    pub(super) fn back(tree: &Tree, to: Option<&Checkout>) {
        if let Some(to) = to
            && let Err(e) = SystemGit.switch_back(&tree.root, to)
        {
            crate::render::eprint_line(&format!("warning: could not switch back to where HEAD was: {e}"));
        }
    }
}

/// `kubectl modelbump diff`: the unified diff `apply` would write; 0 no
/// differences, 1 differences, 2 an error (kubectl diff's exit codes).
pub(crate) fn diff(args: &DiffArgs) -> Result<ExitCode, Error> {
    let tree = Tree::load(&args.path, args.policies.as_deref())?;
    let (selected, _) = runs::select(&tree, args.automation.as_deref(), args.ignore_suspend, args.strict)?;
    let planned = runs::plan_runs(&tree, selected, args.ignore_suspend, args.strict, &args.registry);
    let all = runs::union(&tree, &planned, args.strict);
    let prepared = bump::prepare(&tree.base, &all)?;
    with_stdout(|out| {
        out.print(&prepared.diff());
        Ok(ExitCode::answer(prepared.is_empty()))
    })
}
