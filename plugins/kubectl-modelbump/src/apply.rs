//! scan, apply and promote: plan edits from resolutions, then write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gpuops_gitops::{self as gitops, Field, Latest, MarkerKind, Reference, Scan, edit};
use gpuops_manifest::imageref::ImageRef;

use crate::automation;
use crate::git::{self, GitError};
use crate::output::{self, Row, RowStatus, printable};
use crate::resolve::{self, Failure, PolicyKey, Resolution};
use crate::{ApplyArgs, Error, ExitCode, ScanArgs, WriteArgs};
use gpuops_gitops::scope::{Scope, Unusable};

/// The directory paths in a scan are relative to.
pub(crate) fn base_of(path: &Path) -> PathBuf {
    if path.is_file() { path.parent().map(Path::to_path_buf).unwrap_or_default() } else { path.to_path_buf() }
}

fn marker_label(kind: MarkerKind) -> &'static str {
    match kind {
        MarkerKind::Flux => "imagepolicy",
        MarkerKind::Model => "modelpolicy",
    }
}

fn field_label(field: Field) -> &'static str {
    match field {
        Field::Ref => "ref",
        Field::Tag => "tag",
        Field::Name => "name",
        Field::Digest => "digest",
    }
}

/// Why a reference got no new value.
pub(crate) enum Unresolved {
    /// An error: the run fails.
    Error(String),
    /// Skipped with a warning, as Flux skips a marker whose policy it
    /// does not have (image-automation-controller applies only the
    /// policies it lists; other markers stay as they are).
    Skip(String),
    /// Not this automation's policy (another namespace, not selected): left
    /// as it is, said at `-v`.
    NotApplied(String),
    /// Suspended: left as it is, with a line saying so.
    Suspended(String),
    /// A failure Flux isolates (a policy without a latest tag, a policy
    /// that would not be ready, a problem file): a warning, the rest
    /// proceed, and the exit code says "partial".
    Partial(String),
}

impl From<String> for Unresolved {
    fn from(message: String) -> Self {
        Unresolved::Error(message)
    }
}

/// Say why a reference is left as it is; the message a partial skip keeps
/// in its row.
fn report_skip(place: &str, skipped: Unresolved) -> Option<String> {
    match skipped {
        Unresolved::Skip(m) => output::eprint_line(&format!(
            "warning: {place}: {}; skipped, as Flux skips it (--strict makes this an error)",
            printable(&m)
        )),
        Unresolved::Partial(m) => {
            output::eprint_line(&format!(
                "warning: {place}: {}; skipped, as Flux skips it, the rest proceed (--strict makes this an error)",
                printable(&m)
            ));
            return Some(m);
        }
        Unresolved::Suspended(m) => output::eprint_line(&format!(
            "{place}: {}; left as it is, as Flux leaves it (--ignore-suspend updates it)",
            printable(&m)
        )),
        Unresolved::NotApplied(m) => tracing::info!(place = %place, reason = %printable(&m), "left as it is"),
        Unresolved::Error(m) => return Some(m),
    }
    None
}

/// One row per reference, with its edit when it changes.
pub(crate) fn plan(
    references: &[Reference],
    mut value_for: impl FnMut(&Reference) -> Result<(Option<Latest>, String), Unresolved>,
) -> Vec<(Row, Option<edit::Edit>)> {
    references
        .iter()
        .map(|r| {
            let m = &r.marker;
            let mut row = Row {
                file: r.source.path.clone(),
                line: r.source.line,
                policy: format!("{}/{}", m.namespace, m.policy),
                marker: marker_label(m.kind).into(),
                field: field_label(m.field).into(),
                image: String::new(),
                current: m.value.clone(),
                latest: String::new(),
                new_value: String::new(),
                status: RowStatus::Pending,
                error: None,
            };
            match value_for(r) {
                Ok((latest, new)) => {
                    if let Some(l) = latest {
                        row.image = l.image.clone();
                        row.latest = l.digest.as_ref().map_or_else(|| l.tag.clone(), |d| format!("{}@{d}", l.tag));
                    }
                    let changes = new != m.value;
                    row.status = if changes { RowStatus::Update } else { RowStatus::UpToDate };
                    let e = changes.then(|| gitops::edit_for(m, &new));
                    row.new_value = new;
                    (row, e)
                }
                Err(Unresolved::Error(message)) => {
                    row.status = RowStatus::Error;
                    row.error = Some(message);
                    (row, None)
                }
                Err(skipped) => {
                    row.status = RowStatus::Skipped;
                    row.error = report_skip(&format!("{}:{}", printable(&row.file), row.line), skipped);
                    (row, None)
                }
            }
        })
        .collect()
}

fn from_registry<'a>(
    resolutions: &'a BTreeMap<PolicyKey, Resolution>,
    strict: bool,
) -> impl FnMut(&Reference) -> Result<(Option<Latest>, String), Unresolved> + 'a {
    move |r: &Reference| {
        let key = (r.marker.namespace.clone(), r.marker.policy.clone());
        let latest = match resolutions.get(&key) {
            Some(Ok(latest)) => latest.clone(),
            None => return Err(Unresolved::Error("not resolved".into())),
            Some(Err(failure)) => {
                return Err(match failure.clone() {
                    Failure::Error(m) => Unresolved::Error(m),
                    Failure::Unusable(Unusable::Suspended(m)) => Unresolved::Suspended(m),
                    Failure::Unusable(Unusable::NotApplied(m)) => Unresolved::NotApplied(m),
                    Failure::Unusable(Unusable::Missing(m)) if !strict => Unresolved::Skip(m),
                    Failure::Unusable(Unusable::NotReady(m)) | Failure::NoTag(m) if !strict => Unresolved::Partial(m),
                    Failure::Unusable(Unusable::Missing(m) | Unusable::NotReady(m)) | Failure::NoTag(m) => {
                        Unresolved::Error(m)
                    }
                });
            }
        };
        let new = gitops::new_value(&r.marker, &latest).map_err(|e| e.to_string())?;
        Ok((Some(latest), new))
    }
}

/// Rows for what the scan could not use: errors, and files with a marker
/// that cannot be parsed — skipped with a warning unless `strict`.
fn problem_rows(scan: &Scan, strict: bool) -> Vec<Row> {
    let row = |p: &gitops::Problem, status| Row {
        file: p.source.path.clone(),
        line: p.source.line,
        status,
        error: Some(p.message.clone()),
        ..Row::default()
    };
    let mut rows: Vec<Row> = scan.problems.iter().map(|p| row(p, RowStatus::Error)).collect();
    for p in &scan.problem_files {
        if !strict {
            output::eprint_line(&format!(
                "warning: {}: cannot be parsed ({}); its markers are skipped, as Flux skips the file, the rest proceed (--strict makes this an error)",
                printable(&p.source.path),
                printable(&p.message)
            ));
        }
        rows.push(row(p, if strict { RowStatus::Error } else { RowStatus::Skipped }));
    }
    rows
}

/// Some reference was skipped for a failure Flux isolates.
fn partial(rows: impl IntoIterator<Item = impl std::borrow::Borrow<Row>>) -> bool {
    rows.into_iter().any(|r| {
        let r = r.borrow();
        r.status == RowStatus::Skipped && r.error.is_some()
    })
}

/// The exit code of a run that went through: "partial" (3) when a failure
/// was isolated.
fn finished(code: ExitCode, partial: bool) -> ExitCode {
    if code == ExitCode::Success && partial { ExitCode::Unchecked } else { code }
}

pub(crate) fn scan(args: &ScanArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    let scan = gitops::scan_tree(&args.path)?;
    let clients = resolve::Clients::new(args.registry.options(), &scan);
    let scope = Scope { automation: None, ignore_suspend: args.ignore_suspend };
    let workers = args.registry.concurrency as usize;
    let resolutions = resolve::resolve(&scan, scope, &scan.references, &clients, workers, args.registry.digest);
    let mut rows: Vec<Row> =
        plan(&scan.references, from_registry(&resolutions, args.strict)).into_iter().map(|(row, _)| row).collect();
    rows.extend(problem_rows(&scan, args.strict));
    output::print_rows(&rows, &args.output);
    if rows.iter().any(|r| r.status == RowStatus::Error) {
        return Ok(ExitCode::Error);
    }
    Ok(finished(ExitCode::Success, partial(&rows)))
}

pub(crate) fn apply(args: &ApplyArgs) -> Result<ExitCode, Error> {
    let scan = gitops::scan_tree(&args.path)?;
    let base = base_of(&args.path);
    let automation = automation::choose(&scan, args.automation.as_deref())?;
    if let Some(a) = automation {
        // imageupdateautomation_controller.go `Reconcile`: a suspended
        // automation returns before anything; an invalid policySelector
        // stalls it (`getPolicies`, InvalidPolicySelector).
        if a.suspend && !args.ignore_suspend {
            output::eprint_line(&format!(
                "ImageUpdateAutomation {} is suspended (spec.suspend: true); nothing was changed, as Flux changes nothing (--ignore-suspend runs it)",
                printable(&a.key())
            ));
            return Ok(ExitCode::Success);
        }
        if let Some(Err(e)) = &a.policy_selector {
            return Err(Error::Usage(format!(
                "ImageUpdateAutomation {} ({}:{}): failed to parse policy selector: {}; stalled, as Flux stalls it (InvalidPolicySelector); nothing was changed",
                printable(&a.key()),
                printable(&a.source.path),
                a.source.line,
                printable(&e.to_string())
            )));
        }
    }
    let references = automation::in_update_path(&scan, automation, &base);
    let clients = resolve::Clients::new(args.registry.options(), &scan);
    let scope = Scope { automation, ignore_suspend: args.ignore_suspend };
    let workers = args.registry.concurrency as usize;
    let resolutions = resolve::resolve(&scan, scope, &references, &clients, workers, args.registry.digest);
    let mut planned = plan(&references, from_registry(&resolutions, args.strict));
    planned.extend(problem_rows(&scan, args.strict).into_iter().map(|r| (r, None)));
    let partial = partial(planned.iter().map(|(r, _)| r));
    write(&base, planned, &args.write, automation).map(|code| finished(code, partial))
}

/// The tag (and digest) a marked scalar currently holds for `image`.
pub(crate) fn reference_parts(r: &Reference, image: &str) -> Option<(String, Option<String>)> {
    let value = r.marker.value.as_str();
    match (r.marker.kind, r.marker.field) {
        (_, Field::Tag) if gpuops_manifest::imageref::is_tag(value) => Some((value.to_string(), None)),
        (_, Field::Name | Field::Digest) => None,
        _ => {
            let found = gpuops_manifest::imageref::find_embedded(value, image)?;
            let parsed = ImageRef::parse(&value[found.start..found.end])?;
            Some((parsed.tag?, parsed.digest))
        }
    }
}

/// The file to write for `path`: itself, or — for a symlink — the file it
/// points to, if that lies inside `boundary` (the repository, or the
/// directory scanned). Replacing the link with a regular file would change
/// what git tracks; writing through a link out of the tree would edit a file
/// the user did not point at. A read-only file is left alone: someone
/// marked it so.
fn writable_target(path: &Path, boundary: &Path) -> Result<PathBuf, Error> {
    let unwritable = |reason: String| Error::Unwritable { path: path.to_path_buf(), reason };
    // Every link on the way counts (a linked directory too).
    let target = path.canonicalize().map_err(|e| unwritable(format!("cannot be resolved ({e})")))?;
    if !boundary.canonicalize().is_ok_and(|b| target.starts_with(b)) {
        return Err(unwritable(format!(
            "a symlink to {} outside {}; not writing through it",
            printable(&target.to_string_lossy()),
            printable(&boundary.to_string_lossy())
        )));
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        tracing::debug!(link = %path.display(), target = %target.display(), "writing through a symlink");
    }
    let readonly = std::fs::metadata(&target).map(|m| m.permissions().readonly()).unwrap_or(false);
    if readonly {
        return Err(unwritable("read-only; not replacing it (chmod u+w to let modelbump update it)".into()));
    }
    Ok(target)
}

/// The changes as Flux's template data records them: file, object, old and
/// new value, setter (`namespace:policy[:tag|:name|:digest]`).
fn flux_changes(
    planned: &[(Row, Option<edit::Edit>)],
    outputs: &[(PathBuf, String, String, String)],
    update_dir: &Path,
) -> Vec<automation::Change> {
    planned
        .iter()
        .filter(|(_, e)| e.is_some())
        .map(|(row, _)| {
            let output = outputs.iter().find(|o| o.1 == row.file);
            let before = output.map_or("", |o| o.2.as_str());
            let file = output
                .and_then(|o| o.0.strip_prefix(update_dir).ok())
                .map_or_else(|| row.file.clone(), |p| p.to_string_lossy().replace('\\', "/"));
            let suffix = if row.field == "ref" { String::new() } else { format!(":{}", row.field) };
            automation::Change {
                file,
                object: automation::ObjectId::at(before, row.line),
                old: row.current.clone(),
                new: row.new_value.clone(),
                setter: format!("{}{suffix}", row.policy.replacen('/', ":", 1)),
            }
        })
        .collect()
}

/// Check, diff or write the planned edits, then commit.
pub(crate) fn write(
    base: &Path,
    planned: Vec<(Row, Option<edit::Edit>)>,
    args: &WriteArgs,
    automation: Option<&gitops::ImageUpdateAutomation>,
) -> Result<ExitCode, Error> {
    let errors: Vec<String> = planned
        .iter()
        .filter(|(row, _)| row.status == RowStatus::Error)
        .filter_map(|(row, _)| {
            row.error.as_ref().map(|e| format!("{}:{}: {}", printable(&row.file), row.line, printable(e)))
        })
        .collect();
    if !errors.is_empty() {
        return Err(Error::ReferencesFailed(errors));
    }
    let mut per_file: BTreeMap<String, Vec<edit::Edit>> = BTreeMap::new();
    let mut changes = Vec::new();
    for (row, e) in &planned {
        if let Some(e) = e {
            per_file.entry(row.file.clone()).or_default().push(e.clone());
            // Printed and committed: every part escaped, so a newline in a
            // file name cannot forge a line of output or of the message.
            changes.push(format!(
                "{}:{} {}: {} -> {}",
                printable(&row.file),
                row.line,
                printable(&row.policy),
                printable(&row.current),
                printable(&row.new_value)
            ));
        }
    }
    // Build and verify every new file before touching any.
    let mut outputs: Vec<(PathBuf, String, String, String)> = Vec::new();
    for (file, edits) in &per_file {
        let path = base.join(file);
        let before = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        // The name only labels messages here.
        let shown = printable(file);
        let after = edit::splice(&shown, &before, edits)?;
        edit::verify(&shown, &before, &after, edits)?;
        outputs.push((path, file.clone(), before, after));
    }
    if args.dry_run {
        let mut diff = String::new();
        for (_, file, before, after) in &outputs {
            diff.push_str(&edit::unified_diff(&printable(file), before, after));
        }
        output::print(&diff);
        return Ok(ExitCode::answer(outputs.is_empty()));
    }
    if outputs.is_empty() {
        output::print("all references are up to date\n");
        return Ok(ExitCode::Success);
    }
    let repo_root = if args.commit {
        let root = git::toplevel(base)?;
        let dirty = git::dirty_files(&root)?;
        if !dirty.is_empty() {
            return Err(GitError::Dirty(dirty).into());
        }
        // A push from a detached HEAD would fail after the commit: refuse
        // before anything is written.
        if args.push && args.branch.is_none() && git::current_branch(&root).is_none() {
            return Err(Error::DetachedHead);
        }
        Some(root)
    } else {
        None
    };
    // Where each file is really written, checked before any write.
    let boundary = repo_root.clone().unwrap_or_else(|| base.to_path_buf());
    for out in &mut outputs {
        out.0 = writable_target(&out.0, &boundary)?;
        let removed = edit::remove_stale_temp_files(&out.0);
        if removed > 0 {
            tracing::info!(file = %out.1, removed, "removed temporary files an interrupted run left behind");
        }
    }
    // The commit message is settled before any file is written: a template
    // that cannot be rendered must not leave edits behind.
    let message = if repo_root.is_some() {
        let bullet: Vec<String> = changes.iter().map(|c| format!("- {c}")).collect();
        let ours = |template: &str| {
            template.replace("{count}", &changes.len().to_string()).replace("{changes}", &bullet.join("\n"))
        };
        match (&args.message, automation) {
            (Some(m), _) => ours(m),
            (None, Some(a)) => {
                let dir = automation::update_dir(a, repo_root.as_deref().unwrap_or(base));
                automation::message(a, &flux_changes(&planned, &outputs, &dir))?
            }
            (None, None) => ours("modelbump: update {count} model reference(s)\n\n{changes}"),
        }
    } else {
        String::new()
    };
    // The branch last of all checks, so a refusal leaves HEAD where it was.
    if let (Some(root), Some(branch)) = (&repo_root, &args.branch) {
        git::create_branch(root, branch)?;
    }
    // Ctrl-C from here on is deferred until the files are either all
    // written and committed or all put back (gpuops_cli::interrupt).
    let changes = &changes;
    gpuops_cli::interrupt::critical(|| -> Result<(), Error> {
        let put_back = |written: &[&(PathBuf, String, String, String)]| {
            for done in written {
                let _ = edit::write_atomic(&done.0, &done.2);
            }
        };
        let mut written: Vec<&(PathBuf, String, String, String)> = Vec::new();
        for out in &outputs {
            if let Err(e) = edit::write_atomic(&out.0, &out.3) {
                // Put back what was already written: all files or none.
                put_back(&written);
                return Err(e.into());
            }
            written.push(out);
            if gpuops_cli::interrupt::pending() {
                put_back(&written);
                return Err(Error::Interrupted("no file was changed".into()));
            }
        }
        for line in changes {
            output::print(&format!("{line}\n"));
        }
        let Some(root) = repo_root else { return Ok(()) };
        let author = automation
            .and_then(|a| Some((a.author_name.as_deref().unwrap_or("").to_string(), a.author_email.clone()?)));
        let files: Vec<PathBuf> = outputs.iter().map(|o| o.0.canonicalize().unwrap_or_else(|_| o.0.clone())).collect();
        let sha = match git::commit(&root, &files, &message, author.as_ref().map(|(n, e)| (n.as_str(), e.as_str()))) {
            Ok(sha) => sha,
            Err(e) => {
                // Nothing half done: the files go back to what they were, so
                // the next run sees the same updates instead of "up to date".
                put_back(&written);
                if gpuops_cli::interrupt::pending() {
                    return Err(Error::Interrupted(format!(
                        "the commit did not happen and the {} file(s) written were put back",
                        written.len()
                    )));
                }
                return Err(Error::CommitFailed { files: written.len(), source: e });
            }
        };
        output::print(&format!("committed {sha}: {} change(s) in {} file(s)\n", changes.len(), files.len()));
        if args.push {
            // --branch, else the automation's spec.git.push.branch, else
            // the branch checked out.
            let target = args.branch.as_deref().or(automation.and_then(|a| a.push_branch.as_deref()));
            let not_pushed = || {
                Error::Interrupted(format!(
                    "committed {sha} locally but did not push it; the commit stays (run `git push`)"
                ))
            };
            if gpuops_cli::interrupt::pending() {
                return Err(not_pushed());
            }
            match git::push(&root, &args.remote, target) {
                Ok(()) => output::print(&format!("pushed to {}\n", args.remote)),
                Err(_) if gpuops_cli::interrupt::pending() => return Err(not_pushed()),
                Err(source) => return Err(Error::PushFailed { sha: sha.clone(), source }),
            }
        }
        Ok(())
    })?;
    if gpuops_cli::interrupt::pending() {
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::Success)
}
