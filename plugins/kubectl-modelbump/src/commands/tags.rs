//! `kubectl modelbump tags`: a repository's tags and the one a policy
//! picks — through `gpuops_gitops::bump::choose`, as `apply` picks it.

use gpuops_gitops::bump::{self, TagSource as _};
use gpuops_gitops::policy::{self, Order, Policy, Rule};

use super::with_stdout;
use crate::registry::{Clients, Registries};
use crate::render::{self, TagList};
use crate::{Error, ExitCode, TagsArgs};

fn order(text: &str) -> Result<Order, Error> {
    Order::parse(text).ok_or_else(|| Error::Usage(format!("order must be asc or desc, not {text:?}")))
}

/// The policy the flags describe (semver `*` without one).
fn policy_of(args: &TagsArgs) -> Result<Policy, Error> {
    let rule = match (&args.semver, &args.numerical, &args.alphabetical) {
        (Some(range), _, _) => Rule::Semver(policy::Range::parse(range).map_err(policy::PolicyError::from)?),
        (_, Some(o), _) => Rule::Numerical(order(o)?),
        (_, _, Some(o)) => Rule::Alphabetical(order(o)?),
        _ => Rule::Semver(policy::Range::parse("*").map_err(policy::PolicyError::from)?),
    };
    let policy = Policy { rule, filter: None, exclusions: policy::default_exclusions() };
    Ok(match &args.filter {
        Some(pattern) => policy.with_filter(pattern, args.extract.as_deref())?,
        None => policy,
    })
}

pub(crate) fn tags(args: &TagsArgs) -> Result<ExitCode, Error> {
    let policy = policy_of(args)?;
    // No credentials over plain HTTP to an --insecure-registry host (registry::Clients).
    let clients = Clients::new(args.registry.options(), &gpuops_gitops::Scan::default(), |_| None);
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
