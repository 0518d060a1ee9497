//! Every ImageUpdateAutomation as Flux runs it: each reconciled on its own
//! (imageupdateautomation_controller.go `Reconcile`, one object at a
//! time), with its own spec.update.path, policies, template, author and
//! push settings. The objects come from `--policies` (default: the git top
//! level), the references from the path given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gpuops_gitops::bump::{
    self, Decision, Git as _, Item, Plan, Skip, SkipReason, TagSource, TagSourceError, automation, promote::base_of,
};
use gpuops_gitops::scope::Scope;
use gpuops_gitops::{ImageUpdateAutomation, Reference, Scan};
use gpuops_manifest::text::printable;

use crate::Error;
use crate::cli::RegistryArgs;
use crate::git::SystemGit;
use crate::registry::{Clients, Registries};
use crate::render::{self, eprint_line};

/// The tree: references under `base`, Flux objects from the policies root.
pub(crate) struct Tree {
    pub(crate) scan: Scan,
    /// The scanned directory (a file's parent).
    pub(crate) base: PathBuf,
    /// The repository's top level (spec.update.path is relative to it).
    pub(crate) root: PathBuf,
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

impl Tree {
    /// Scan `path`; read the Flux objects under `policies` (default: the
    /// git top level of `path`, else `path`) — with those under `path` that
    /// lie outside it.
    pub(crate) fn load(path: &Path, policies: Option<&Path>) -> Result<Self, Error> {
        let mut scan = gpuops_gitops::scan_tree(path)?;
        let base = base_of(path);
        let root = SystemGit.toplevel(&base).unwrap_or_else(|_| base.clone());
        let objects_root = policies.map_or_else(|| root.clone(), Path::to_path_buf);
        let objects_dir = canonical(&objects_root);
        if canonical(&base) != objects_dir {
            let objects = gpuops_gitops::scan_tree(&objects_root)?;
            let outside = |p: &str| !canonical(&base.join(p)).starts_with(&objects_dir);
            let mut repositories = objects.repositories;
            repositories.extend(scan.repositories.into_iter().filter(|o| outside(&o.source.path)));
            let mut policies = objects.policies;
            policies.extend(scan.policies.into_iter().filter(|o| outside(&o.source.path)));
            let mut automations = objects.automations;
            automations.extend(scan.automations.into_iter().filter(|o| outside(&o.source.path)));
            scan.repositories = repositories;
            scan.policies = policies;
            scan.automations = automations;
            let mut labels = objects.namespace_labels;
            labels.extend(std::mem::take(&mut scan.namespace_labels));
            scan.namespace_labels = labels;
        }
        Ok(Self { scan, base, root })
    }
}

/// One automation's share of the work (`None`: the tree has none, every
/// reference is updated).
pub(crate) struct Run<'a> {
    pub(crate) automation: Option<&'a ImageUpdateAutomation>,
    pub(crate) references: Vec<Reference>,
    /// Suspended: its references are left as they are (and said so).
    pub(crate) suspended: bool,
}

/// The runs Flux would make, in a stable order (namespace/name); whether
/// one was stalled (partial). A suspended automation is said and left out.
pub(crate) fn select<'a>(
    tree: &'a Tree,
    wanted: Option<&str>,
    ignore_suspend: bool,
    strict: bool,
) -> Result<(Vec<Run<'a>>, bool), Error> {
    let scan = &tree.scan;
    let chosen: Vec<&ImageUpdateAutomation> = match wanted {
        Some(_) => automation::choose(scan, wanted)?.into_iter().collect(),
        None => {
            let mut all: Vec<&ImageUpdateAutomation> = scan.automations.iter().collect();
            all.sort_by_key(|a| a.key());
            all
        }
    };
    if chosen.is_empty() {
        return Ok((vec![Run { automation: None, references: scan.references.clone(), suspended: false }], false));
    }
    let mut runs = Vec::new();
    let mut partial = false;
    for a in chosen {
        // imageupdateautomation_controller.go `Reconcile`: a suspended
        // automation returns before anything.
        if a.suspend && !ignore_suspend {
            eprint_line(&format!(
                "ImageUpdateAutomation {} is suspended (spec.suspend: true); it changes nothing, as Flux changes nothing (--ignore-suspend runs it)",
                printable(&a.key())
            ));
            let references = automation::in_update_path(scan, Some(a), &tree.base, &tree.root);
            runs.push(Run { automation: Some(a), references, suspended: true });
            continue;
        }
        // `getPolicies`: an invalid policySelector stalls this automation;
        // the controller reconciles the others.
        if let Err(e) = automation::check_selector(a) {
            // The only automation (or the one asked for) stalled: nothing
            // runs, an error as before.
            if wanted.is_some() || strict || scan.automations.len() == 1 {
                return Err(e.into());
            }
            eprint_line(&format!("warning: {e}; the other automations proceed"));
            partial = true;
            continue;
        }
        let references = automation::in_update_path(scan, Some(a), &tree.base, &tree.root);
        runs.push(Run { automation: Some(a), references, suspended: false });
    }
    Ok((runs, partial))
}

/// A registry asked once per repository and tag, however many automations
/// name it.
struct Cached<'a> {
    inner: Registries<'a>,
    tags: Mutex<BTreeMap<String, Result<Vec<String>, String>>>,
    digests: Mutex<BTreeMap<(String, String), Result<String, String>>>,
}

/// A cached failure, as its message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Again(String);

impl TagSource for Cached<'_> {
    fn list_tags(&self, image: &str) -> Result<Vec<String>, TagSourceError> {
        if let Some(hit) = self.tags.lock().map_err(|_| TagSourceError::new(Again("lock".into())))?.get(image) {
            return hit.clone().map_err(|m| TagSourceError::new(Again(m)));
        }
        let answer = self.inner.list_tags(image).map_err(|e| e.to_string());
        if let Ok(mut tags) = self.tags.lock() {
            tags.insert(image.to_string(), answer.clone());
        }
        answer.map_err(|m| TagSourceError::new(Again(m)))
    }

    fn digest(&self, image: &str, tag: &str) -> Result<String, TagSourceError> {
        let key = (image.to_string(), tag.to_string());
        if let Some(hit) = self.digests.lock().map_err(|_| TagSourceError::new(Again("lock".into())))?.get(&key) {
            return hit.clone().map_err(|m| TagSourceError::new(Again(m)));
        }
        let answer = self.inner.digest(image, tag).map_err(|e| e.to_string());
        if let Ok(mut digests) = self.digests.lock() {
            digests.insert(key, answer.clone());
        }
        answer.map_err(|m| TagSourceError::new(Again(m)))
    }
}

/// Each run's plan, against the registries (asked once for all of them).
/// Problem files are the tree's, added to the union only.
pub(crate) fn plan_runs<'a>(
    tree: &Tree,
    runs: Vec<Run<'a>>,
    ignore_suspend: bool,
    strict: bool,
    registry: &RegistryArgs,
) -> Vec<(Option<&'a ImageUpdateAutomation>, Plan)> {
    let clients = Clients::new(registry.options(), &tree.scan, crate::registry::on_path);
    for warning in &clients.warnings {
        eprint_line(&format!("warning: {warning}"));
    }
    let total: usize = runs.len();
    let progress = gpuops_cli::progress::Progress::bar(total as u64, "automations resolved");
    let source = Cached {
        inner: Registries { clients: &clients, progress: None },
        tags: Mutex::new(BTreeMap::new()),
        digests: Mutex::new(BTreeMap::new()),
    };
    let mut planned = Vec::new();
    for run in runs {
        if run.suspended {
            let key = run.automation.map(ImageUpdateAutomation::key).unwrap_or_default();
            let items = bump::plan::plan_references(&run.references, |_| {
                Err(bump::NoValue::Skipped(Skip {
                    reason: SkipReason::NotApplied,
                    message: format!("ImageUpdateAutomation {} is suspended", printable(&key)),
                }))
            });
            planned.push((None, Plan { items }));
            continue;
        }
        let scope = Scope { automation: run.automation, ignore_suspend };
        let lookups = bump::Lookups::new(&tree.scan, scope, &run.references, registry.digest);
        let resolutions = lookups.resolve(&source, registry.concurrency as usize);
        let items = bump::plan::plan_references(&run.references, bump::plan::from_resolutions(&resolutions, strict));
        planned.push((run.automation, Plan { items }));
        progress.inc();
    }
    planned
}

/// Lower wins when two automations plan the same reference.
fn rank(d: &Decision) -> u8 {
    match d {
        Decision::Update { .. } => 0,
        Decision::Failed(_) => 1,
        Decision::UpToDate => 2,
        Decision::Skipped(s) if s.is_partial() => 3,
        Decision::Skipped(_) => 4,
    }
}

/// The union of the runs' plans (one item per reference), the references no
/// run covers (outside every spec.update.path: skipped, not applied) and the
/// tree's problems; the skips said on stderr.
pub(crate) fn union(tree: &Tree, planned: &[(Option<&ImageUpdateAutomation>, Plan)], strict: bool) -> Plan {
    let mut by_place: BTreeMap<(String, usize), Item> = BTreeMap::new();
    for (_, plan) in planned {
        for item in &plan.items {
            let key = (item.file.clone(), item.line);
            match by_place.get(&key) {
                Some(kept) if rank(&kept.decision) <= rank(&item.decision) => {}
                _ => {
                    by_place.insert(key, item.clone());
                }
            }
        }
    }
    let uncovered: Vec<Reference> = tree
        .scan
        .references
        .iter()
        .filter(|r| !by_place.contains_key(&(r.source.path.clone(), r.source.line)))
        .cloned()
        .collect();
    let mut items: Vec<Item> = bump::plan::plan_references(&uncovered, |_| {
        Err(bump::NoValue::Skipped(Skip {
            reason: SkipReason::NotApplied,
            message: "outside every ImageUpdateAutomation's spec.update.path".into(),
        }))
    });
    items.extend(by_place.into_values());
    items.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    items.extend(bump::plan::problem_items(&tree.scan, strict));
    let plan = Plan { items };
    render::skips(&plan);
    plan
}
