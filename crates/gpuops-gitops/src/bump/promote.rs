//! `promote`: what one environment runs, planned into another — marked
//! references (by the image their policy names), kustomize `images:`
//! entries and `ModelTags` models (by their `name`).

use std::collections::BTreeMap;
use std::path::Path;

use super::BumpError;
use super::plan::{Decision, EntryField, Item, Plan, Subject, plan_references, reference_parts};
use crate::edit::Edit;
use crate::entries::{self, Entry, EntryKind};
use crate::{Latest, Reference, Scan};

/// The directory paths in a scan are relative to.
pub fn base_of(path: &Path) -> std::path::PathBuf {
    if path.is_file() { path.parent().map(Path::to_path_buf).unwrap_or_default() } else { path.to_path_buf() }
}

/// The plan that makes `to` run what `from` runs. `policies` holds the
/// Flux objects that name each marker's image; `from`/`to` are the scans
/// of the two directories, `from_dir`/`to_dir` their paths.
pub fn plan(policies: &Scan, from: &Scan, to: &Scan, from_dir: &Path, to_dir: &Path) -> Result<Plan, BumpError> {
    let image_of =
        |r: &Reference| policies.resolve(&r.marker.namespace, &r.marker.policy).map(|(_, repo)| repo.image.clone());
    // What the source environment runs, per image.
    let mut source: BTreeMap<String, Latest> = BTreeMap::new();
    for r in &from.references {
        if let Ok(image) = image_of(r)
            && let Some((tag, digest)) = reference_parts(r, &image)
        {
            source.entry(image.clone()).or_insert(Latest { image, tag, digest });
        }
    }
    let mut items = plan_references(&to.references, |r| {
        let image = image_of(r).map_err(|e| e.to_string())?;
        let latest =
            source.get(&image).cloned().ok_or_else(|| format!("{} has no reference to {image}", from_dir.display()))?;
        let new = crate::new_value(&r.marker, &latest).map_err(|e| e.to_string())?;
        Ok((Some(latest), new))
    });
    items.extend(plan_entries(from_dir, to_dir)?);
    Ok(Plan { items })
}

/// Every entry under `root`, with the file it is in (relative to its base).
fn entries_under(root: &Path) -> Result<Vec<(String, Entry)>, BumpError> {
    let base = base_of(root);
    let mut out = Vec::new();
    for path in crate::yaml_files(root)? {
        let text = std::fs::read_to_string(&path).map_err(|source| BumpError::Read { path: path.clone(), source })?;
        let file = crate::relative(&base, &path);
        for entry in entries::find_entries(&text, &file) {
            out.push((file.clone(), entry));
        }
    }
    Ok(out)
}

/// Items (and edits) that make `to`'s `images:`/`models:` entries pin what
/// `from`'s entries of the same name pin: `newName`, `newTag`, `digest`.
fn plan_entries(from: &Path, to: &Path) -> Result<Vec<Item>, BumpError> {
    let mut source: BTreeMap<(u8, String), Entry> = BTreeMap::new();
    let key = |e: &Entry| (u8::from(e.kind == EntryKind::ModelTags), e.name.clone());
    for (_, entry) in entries_under(from)? {
        source.entry(key(&entry)).or_insert(entry);
    }
    let mut items = Vec::new();
    for (file, target) in entries_under(to)? {
        let Some(wanted) = source.get(&key(&target)) else { continue };
        for field in EntryField::ALL {
            let Some(new) = wanted.field(field.as_str()) else { continue };
            let mut item = Item {
                file: file.clone(),
                line: target.line,
                subject: Subject::Entry {
                    kind: target.kind,
                    name: target.name.clone(),
                    field,
                    wanted: new.value.clone(),
                },
                current: String::new(),
                latest: None,
                decision: Decision::UpToDate,
            };
            let problem = target.problem.clone().or_else(|| wanted.problem.clone());
            item.decision = match (problem, target.field(field.as_str())) {
                (Some(p), _) => Decision::Failed(p),
                (None, None) => Decision::Failed(format!(
                    "{} sets {}: {} for {}, this entry has no {}; add the key to promote it",
                    from.display(),
                    field.as_str(),
                    new.value,
                    target.name,
                    field.as_str()
                )),
                (None, Some(current)) => {
                    item.line = current.line;
                    item.current = current.value.clone();
                    if current.value == new.value {
                        Decision::UpToDate
                    } else {
                        let edit = Edit {
                            span: current.span.clone(),
                            replacement: new.value.clone(),
                            old_value: current.value.clone(),
                            new_value: new.value.clone(),
                        };
                        Decision::Update { new: new.value.clone(), edit }
                    }
                }
            };
            items.push(item);
        }
    }
    Ok(items)
}
