//! `kubectl modelbump promote`: what one environment runs, written into
//! another (the plan is `gpuops_gitops::bump::promote`).

use std::path::PathBuf;

use gpuops_gitops::bump::{self, Git as _};

use super::{with_stdout, write};
use crate::git::SystemGit;
use crate::{Error, ExitCode, PromoteArgs};

pub(crate) fn promote(args: &PromoteArgs) -> Result<ExitCode, Error> {
    let policies_root = match &args.policies {
        Some(p) => p.clone(),
        None => SystemGit.toplevel(&args.to).unwrap_or_else(|_| PathBuf::from(".")),
    };
    let policies = gpuops_gitops::scan_tree(&policies_root)?;
    let from = gpuops_gitops::scan_tree(&args.from)?;
    let to = gpuops_gitops::scan_tree(&args.to)?;
    let plan = bump::promote::plan(&policies, &from, &to, &args.from, &args.to)?;
    with_stdout(|out| write(&bump::promote::base_of(&args.to), &plan, &args.write, None, out))
}
