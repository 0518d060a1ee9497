//! `check`: read the manifests, size their models through the one
//! resolver, and check them against each cluster.

use gpuops_fit::report::{self, CheckOptions};
use gpuops_manifest::input::{self, Kustomizer};
use gpuops_schedule::scheduler as schedule;

use super::cluster::clusters;
use crate::cli::CheckArgs;
use crate::{Error, ExitCode, render};

pub(crate) fn check(args: &CheckArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    let mut objects = Vec::new();
    for f in &args.files {
        objects.extend(input::read_path(f)?);
    }
    for k in &args.kustomize {
        objects.extend(Kustomizer::default().build(k)?);
    }
    if args.files.is_empty() && args.kustomize.is_empty() {
        return Err(Error::NoWorkloads);
    }
    let mut objects = input::flatten_lists(objects);
    if let Some(ns) = &args.cluster.namespace {
        input::default_namespace(&mut objects, ns);
    }
    // Every model through the one resolver, before any check: the
    // check itself looks nowhere (one input, one verdict anywhere).
    let models = super::resolver().resolve_all(&report::model_requests(&objects));
    let mut all_fit = true;
    let mut unchecked = false;
    let mut reports = Vec::new();
    for cluster in clusters(&args.cluster, true)? {
        let kube_version = args.cluster.kube_version.or(cluster.version).unwrap_or_default();
        let options = CheckOptions {
            ignore_rollout: args.ignore_rollout,
            scheduler: schedule::Options {
                extended_resource_toleration: args.extended_resource_toleration,
                kube_version,
                ..Default::default()
            },
            models: models.clone(),
        };
        let report = report::check(&cluster, &objects, options)?;
        all_fit &= report.fits;
        unchecked |= report.unchecked();
        reports.push(report);
    }
    render::emit(&render::check(&reports, &args.output)?)?;
    // 3 when nothing checked fails but a model or GPU was unknown.
    Ok(if all_fit && unchecked { ExitCode::Unchecked } else { ExitCode::answer(all_fit) })
}
