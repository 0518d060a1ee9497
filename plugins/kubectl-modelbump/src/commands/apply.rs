//! `kubectl modelbump apply`.

use gpuops_gitops::bump::{Git as _, automation, promote::base_of};
use gpuops_gitops::scope::Scope;
use gpuops_manifest::text::printable;

use super::{finished, registry_plan, resolve, with_stdout, write};
use crate::git::SystemGit;
use crate::render::eprint_line;
use crate::{ApplyArgs, Error, ExitCode};

pub(crate) fn apply(args: &ApplyArgs) -> Result<ExitCode, Error> {
    let scan = gpuops_gitops::scan_tree(&args.path)?;
    let base = base_of(&args.path);
    let chosen = automation::choose(&scan, args.automation.as_deref())?;
    if let Some(a) = chosen {
        // imageupdateautomation_controller.go `Reconcile`: a suspended
        // automation returns before anything; an invalid policySelector
        // stalls it (`getPolicies`, InvalidPolicySelector).
        if a.suspend && !args.ignore_suspend {
            eprint_line(&format!(
                "ImageUpdateAutomation {} is suspended (spec.suspend: true); nothing was changed, as Flux changes nothing (--ignore-suspend runs it)",
                printable(&a.key())
            ));
            return Ok(ExitCode::Success);
        }
        automation::check_selector(a)?;
    }
    // spec.update.path is relative to the repository's top level.
    let root = match chosen {
        Some(_) => SystemGit.toplevel(&base).unwrap_or_else(|_| base.clone()),
        None => base.clone(),
    };
    let references = automation::in_update_path(&scan, chosen, &base, &root);
    let scope = Scope { automation: chosen, ignore_suspend: args.ignore_suspend };
    let resolutions = resolve(&scan, scope, &references, &args.registry);
    let plan = registry_plan(&scan, &references, &resolutions, args.strict);
    let partial = plan.is_partial();
    with_stdout(|out| write(&base, &plan, &args.write, chosen, out).map(|code| finished(code, partial)))
}
