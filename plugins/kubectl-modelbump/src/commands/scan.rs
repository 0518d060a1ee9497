//! `kubectl modelbump scan`.

use gpuops_gitops::scope::Scope;

use super::{finished, registry_plan, resolve, with_stdout};
use crate::render::{self, Row, RowStatus};
use crate::{Error, ExitCode, ScanArgs};

pub(crate) fn scan(args: &ScanArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    let scan = gpuops_gitops::scan_tree(&args.path)?;
    let scope = Scope { automation: None, ignore_suspend: args.ignore_suspend };
    let resolutions = resolve(&scan, scope, &scan.references, &args.registry);
    let plan = registry_plan(&scan, &scan.references, &resolutions, args.strict);
    let rows: Vec<Row> = plan.items.iter().map(Row::from).collect();
    with_stdout(|out| {
        render::references(out, &rows, &args.output)?;
        if rows.iter().any(|r| r.status == RowStatus::Error) {
            return Ok(ExitCode::Error);
        }
        Ok(finished(ExitCode::Success, plan.is_partial()))
    })
}
