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
        let prepared = bump::prepare(&tree.base, plan)?;
        if prepared.is_empty() {
            continue;
        }
        any = true;
        let key = automation.map(|a| a.key());
        let changes: Vec<_> = prepared.changes().to_vec();
        let mut sha = None;
        let result = super::run_prepared_with(prepared, &args.write, *automation, documents, out, &mut |s| {
            sha = Some(s.to_string());
        });
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
