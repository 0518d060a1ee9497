//! `kubectl modelbump tags`: a repository's tags and the one a policy
//! picks — through `gpuops_gitops::bump::choose`, as `apply` picks it —
//! reached the way the ImageRepository in the tree that names the
//! repository says (provider, insecure, exclusionList), as `scan` reaches it.

use std::path::Path;

use gpuops_gitops::bump::{self, Git as _, TagSource as _};
use gpuops_gitops::policy::{self, Order, Policy, Rule};
use gpuops_gitops::{ImageRepository, Scan};
use gpuops_manifest::text::printable;

use super::with_stdout;
use crate::git::SystemGit;
use crate::registry::{Clients, Registries};
use crate::render::{self, TagList, eprint_line};
use crate::{Error, ExitCode, TagsArgs};

fn order(text: &str) -> Result<Order, Error> {
    Order::parse(text).ok_or_else(|| Error::Usage(format!("order must be asc or desc, not {text:?}")))
}

/// The policy the flags describe (semver `*` without one), with the
/// exclusions of the ImageRepository found (Flux's default without one:
/// flux.rs `compile`).
fn policy_of(args: &TagsArgs, repository: Option<&ImageRepository>) -> Result<Policy, Error> {
    let rule = match (&args.semver, &args.numerical, &args.alphabetical) {
        (Some(range), _, _) => Rule::Semver(policy::Range::parse(range).map_err(policy::PolicyError::from)?),
        (_, Some(o), _) => Rule::Numerical(order(o)?),
        (_, _, Some(o)) => Rule::Alphabetical(order(o)?),
        _ => Rule::Semver(policy::Range::parse("*").map_err(policy::PolicyError::from)?),
    };
    let exclusions = match repository.and_then(|r| r.exclusion_list.as_ref()) {
        Some(list) if !list.is_empty() => list.iter().map(|p| policy::compile_regex(p)).collect::<Result<_, _>>()?,
        _ => policy::default_exclusions(),
    };
    let policy = Policy { rule, filter: None, exclusions };
    Ok(match &args.filter {
        Some(pattern) => policy.with_filter(pattern, args.extract.as_deref())?,
        None => policy,
    })
}

/// The ImageRepositories under `--policies` (default: the git top level of
/// the current directory) whose `spec.image` is `image`, in a stable order.
fn image_repositories(args: &TagsArgs) -> Result<Scan, Error> {
    let root = match &args.policies {
        Some(dir) => dir.clone(),
        None => match SystemGit.toplevel(Path::new(".")) {
            Ok(top) => top,
            Err(_) => return Ok(Scan::default()),
        },
    };
    let wanted = gpuops_registry::parse_repository(&args.repository);
    let mut repositories = gpuops_gitops::scan_tree(&root)?.repositories;
    repositories.retain(|r| wanted.is_some() && gpuops_registry::parse_repository(&r.image) == wanted);
    repositories.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(Scan { repositories, ..Scan::default() })
}

/// What `tags` takes from `repository`, and what it does not (suspend: the
/// tags listed are the registry's now, not those of Flux's last scan);
/// `None` when it changes nothing (said at -v only).
fn describe(repository: &ImageRepository, used_exclusions: bool) -> Option<String> {
    let mut used = Vec::new();
    if let Some(provider) = gpuops_registry::CloudProvider::from_spec(repository.provider.as_deref()) {
        used.push(format!("spec.provider: {provider} (login from {})", provider.helper()));
    }
    if repository.insecure {
        used.push("spec.insecure: plain HTTP".to_string());
    }
    if used_exclusions {
        used.push("spec.exclusionList".to_string());
    }
    let mut line = format!(
        "ImageRepository {}/{} ({}:{}) names {}",
        printable(repository.namespace.as_deref().unwrap_or("")),
        printable(&repository.name),
        printable(&repository.source.path),
        repository.source.line,
        printable(&repository.image)
    );
    if used.is_empty() && !repository.suspend {
        tracing::info!("{line}; nothing in it changes how it is asked");
        return None;
    }
    if !used.is_empty() {
        line.push_str(&format!("; using {}", used.join(", ")));
    }
    if repository.suspend {
        line.push_str(
            "; not applied: spec.suspend: true (Flux keeps the tags of its last scan; these are the registry's now)",
        );
    }
    Some(line)
}

pub(crate) fn tags(args: &TagsArgs) -> Result<ExitCode, Error> {
    let found = image_repositories(args)?;
    // The first (namespace/name) gives the exclusions; every one gives its
    // host's provider and insecure, as `scan` does (registry::Clients).
    let first = found.repositories.first();
    let policy = policy_of(args, first)?;
    for (i, repository) in found.repositories.iter().enumerate() {
        let exclusions = i == 0 && repository.exclusion_list.as_ref().is_some_and(|l| !l.is_empty());
        if let Some(line) = describe(repository, exclusions) {
            eprint_line(&line);
        }
    }
    // No credentials over plain HTTP to an --insecure-registry host (registry::Clients).
    let clients = Clients::new(args.registry.options(), &found, crate::registry::on_path);
    for warning in &clients.warnings {
        eprint_line(&format!("warning: {warning}"));
    }
    let source = Registries { clients: &clients, progress: None };
    let choice = bump::choose(&policy, source.list_tags(&args.repository)?)?;
    let digest = match (choice.latest(), args.registry.digest) {
        (Some(tag), true) => Some(source.digest(&args.repository, tag)?),
        _ => None,
    };
    let list = TagList::new(&args.repository, &choice, digest);
    with_stdout(|out| {
        render::tags(out, &list, &args.output)?;
        Ok(ExitCode::answer(choice.latest().is_some()))
    })
}
