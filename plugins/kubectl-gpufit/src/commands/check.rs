//! `check`: read the manifests, size their models through the one
//! resolver, and check them against each cluster.

use gpuops_fit::report::{self, CheckOptions};
use gpuops_manifest::input;
use gpuops_schedule::scheduler as schedule;
use serde_json::Value;

use super::cluster::clusters;
use super::{kustomize, manifests};
use crate::cli::CheckArgs;
use crate::{Error, ExitCode, render};

pub(crate) fn check(args: &CheckArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    if args.files.is_empty() && args.kustomize.is_empty() {
        return Err(Error::NoWorkloads);
    }
    // A mistake in --nodes is a flag's, reported before any file is read
    // (kubectl validates its flags before its builder reads a path).
    let synthetic = if args.cluster.nodes.is_some() { Some(clusters(&args.cluster, true)?) } else { None };
    let mut sources = Vec::new();
    for f in &args.files {
        sources.push(manifests::read(f, args.recursive)?);
    }
    for k in &args.kustomize {
        let objects = kustomize::build(k)?;
        sources.push(manifests::Source::new(format!("-k {}", k.display()), objects));
    }
    let mut objects = understood(sources, args.strict)?;
    if let Some(ns) = &args.cluster.namespace {
        input::default_namespace(&mut objects, ns);
    }
    // Every model through the one resolver, before any check: the
    // check itself looks nowhere (one input, one verdict anywhere).
    let models = super::resolver().resolve_all(&report::model_requests(&objects));
    let mut all_fit = true;
    let mut unchecked = false;
    let mut reports = Vec::new();
    let clusters = match synthetic {
        Some(pools) => pools,
        None => clusters(&args.cluster, true)?,
    };
    for cluster in clusters {
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
    // What a cluster's verdict could not know, on stderr whatever the
    // output (`-o json` also carries it, as the report's `warnings`); a
    // fleet's name which cluster.
    let fleet = reports.len() > 1;
    for report in &reports {
        for warning in &report.warnings {
            let cluster = if fleet { format!("{}: ", report.cluster) } else { String::new() };
            render::eprint_line(&format!("warning: {cluster}{warning}"));
        }
    }
    render::emit(&render::check(&reports, &args.output)?)?;
    // 3 when nothing checked fails but a model or GPU was unknown. A
    // memory verdict at the edge (`MemoryFit::edge`) keeps the model's
    // code, 0 or 1, as `model` does: it was computed, within a known
    // error, and 3 says a part went unchecked (a CI gate that holds on 3
    // would hold every start vLLM may well make). The table's memory
    // column reads `edge: …` instead of `ok`/`no`, with the warning under
    // it; `-o json` carries `memory.fit.edge`.
    Ok(if all_fit && unchecked { ExitCode::Unchecked } else { ExitCode::answer(all_fit) })
}

/// Every source's objects, Lists flattened, once it is clear the check is
/// about something: objects whose workloads gpufit cannot render are
/// warned about (an error with `--strict`), and no workload at all is an
/// error, never "fits".
fn understood(mut sources: Vec<manifests::Source>, strict: bool) -> Result<Vec<Value>, Error> {
    let mut objects = Vec::new();
    for source in &mut sources {
        // Moved, not copied: the sources keep their names and counts.
        let flat = input::flatten_lists(std::mem::take(&mut source.objects));
        source.read = flat.len();
        objects.extend(flat);
    }
    let unrendered = manifests::unrendered(&objects);
    for u in &unrendered {
        render::eprint_line(&format!("{}: {u}", if strict { "error" } else { "warning" }));
    }
    if strict && !unrendered.is_empty() {
        let names: Vec<&str> = unrendered.iter().map(|u| u.object.as_str()).collect();
        return Err(Error::Unrendered { count: unrendered.len(), objects: names.join(", ") });
    }
    if !objects.iter().any(manifests::is_workload) {
        return Err(manifests::nothing_found(&sources, &unrendered));
    }
    Ok(objects)
}
