//! `kubectl modelbump promote`: what one environment runs, written into
//! another — marked references (by the image their policy names), kustomize
//! `images:` entries and `ModelTags` models (by their `name`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gpuops_gitops::entries::{self, Entry, EntryKind};
use gpuops_gitops::{self as gitops, Latest, Reference, edit};

use crate::apply::{base_of, plan, reference_parts, write};
use crate::git;
use crate::output::{Row, RowStatus};
use crate::{Error, ExitCode, PromoteArgs};

pub(crate) fn promote(args: &PromoteArgs) -> Result<ExitCode, Error> {
    let policies_root = match &args.policies {
        Some(p) => p.clone(),
        None => git::toplevel(&args.to).unwrap_or_else(|_| PathBuf::from(".")),
    };
    let policies = gitops::scan_tree(&policies_root)?;
    let from = gitops::scan_tree(&args.from)?;
    let to = gitops::scan_tree(&args.to)?;
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
    let mut planned = plan(&to.references, |r| {
        let image = image_of(r).map_err(|e| e.to_string())?;
        let latest = source
            .get(&image)
            .cloned()
            .ok_or_else(|| format!("{} has no reference to {image}", args.from.display()))?;
        let new = gitops::new_value(&r.marker, &latest).map_err(|e| e.to_string())?;
        Ok((Some(latest), new))
    });
    planned.extend(plan_entries(&args.from, &args.to)?);
    write(&base_of(&args.to), planned, &args.write, None)
}

/// Every entry under `root`, with the file it is in (relative to `base`).
fn entries_under(root: &Path) -> Result<Vec<(String, Entry)>, Error> {
    let base = base_of(root);
    let mut out = Vec::new();
    for path in gitops::yaml_files(root)? {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        let file = gitops::relative(&base, &path);
        for entry in entries::find_entries(&text, &file) {
            out.push((file.clone(), entry));
        }
    }
    Ok(out)
}

/// Rows (and edits) that make `to`'s `images:`/`models:` entries pin what
/// `from`'s entries of the same name pin: `newName`, `newTag`, `digest`.
fn plan_entries(from: &Path, to: &Path) -> Result<Vec<(Row, Option<edit::Edit>)>, Error> {
    let mut source: BTreeMap<(u8, String), Entry> = BTreeMap::new();
    let key = |e: &Entry| (u8::from(e.kind == EntryKind::ModelTags), e.name.clone());
    for (_, entry) in entries_under(from)? {
        source.entry(key(&entry)).or_insert(entry);
    }
    let mut rows = Vec::new();
    for (file, target) in entries_under(to)? {
        let Some(wanted) = source.get(&key(&target)) else { continue };
        let (label, marker) = match target.kind {
            EntryKind::KustomizeImage => (format!("images[{}]", target.name), "kustomize"),
            EntryKind::ModelTags => (format!("models[{}]", target.name), "modeltags"),
        };
        for field in ["newName", "newTag", "digest"] {
            let Some(new) = wanted.field(field) else { continue };
            let mut row = Row {
                file: file.clone(),
                line: target.line,
                policy: label.clone(),
                marker: marker.into(),
                field: field.into(),
                new_value: new.value.clone(),
                latest: new.value.clone(),
                status: RowStatus::Pending,
                ..Row::default()
            };
            let problem = target.problem.clone().or_else(|| wanted.problem.clone());
            match (problem, target.field(field)) {
                (Some(p), _) => {
                    row.status = RowStatus::Error;
                    row.error = Some(p);
                    rows.push((row, None));
                }
                (None, None) => {
                    row.status = RowStatus::Error;
                    row.error = Some(format!(
                        "{} sets {field}: {} for {}, this entry has no {field}; add the key to promote it",
                        from.display(),
                        new.value,
                        target.name
                    ));
                    rows.push((row, None));
                }
                (None, Some(current)) => {
                    row.line = current.line;
                    row.current = current.value.clone();
                    if current.value == new.value {
                        row.status = RowStatus::UpToDate;
                        rows.push((row, None));
                    } else {
                        row.status = RowStatus::Update;
                        let e = edit::Edit {
                            span: current.span.clone(),
                            replacement: new.value.clone(),
                            old_value: current.value.clone(),
                            new_value: new.value.clone(),
                        };
                        rows.push((row, Some(e)));
                    }
                }
            }
        }
    }
    Ok(rows)
}
