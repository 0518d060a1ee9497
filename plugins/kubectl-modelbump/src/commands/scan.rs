//! `kubectl modelbump scan`: what `apply` would do, reference by reference.

use gpuops_cli::OutputFormat;
use gpuops_gitops::bump::{Decision, SkipReason};

use super::runs::{self, Tree};
use super::{finished, with_stdout};
use crate::render::{self, Row, RowStatus};
use crate::{Error, ExitCode, ScanArgs};

pub(crate) fn scan(args: &ScanArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    let tree = Tree::load(&args.path, args.policies.as_deref())?;
    let (selected, stalled) = runs::select(&tree, None, args.ignore_suspend, args.strict)?;
    let planned = runs::plan_runs(&tree, selected, args.ignore_suspend, args.strict, &args.registry);
    let plan = runs::union(&tree, &planned, args.strict);
    // The table shows what apply would touch; -o wide (and json/yaml) also
    // the references it leaves to no automation, with the reason.
    let everything = args.output.output != OutputFormat::Table;
    let rows: Vec<Row> = plan
        .items
        .iter()
        .filter(|i| everything || !matches!(&i.decision, Decision::Skipped(s) if s.reason == SkipReason::NotApplied))
        .map(Row::from)
        .collect();
    with_stdout(|out| {
        render::references(out, &rows, &args.output)?;
        if rows.iter().any(|r| r.status == RowStatus::Error) {
            return Ok(ExitCode::Error);
        }
        Ok(finished(ExitCode::Success, stalled || plan.is_partial()))
    })
}
