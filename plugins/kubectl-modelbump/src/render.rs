//! Printing, and nothing else: the rows of `scan`, the tags of `tags`, the
//! steps of `apply`/`promote`, the warnings of skipped references. Rows
//! are typed once ([`Row`], [`TagRow`]) and drawn as a table or serialized
//! into a `-o json|yaml` document (`gpuops_cli::Document`) from the same
//! values.
#![allow(clippy::print_stderr)] // warnings and the `tags` verdict line go to stderr

use std::io::Write;

use gpuops_cli::{Document, Kind, OutputArgs, OutputFormat, Printer, Table, WriteError};
use gpuops_gitops::bump::{Change, Decision, Item, Plan, SkipReason, Step, Subject, TagChoice};
use gpuops_gitops::entries::EntryKind;
use gpuops_manifest::text::printable;
use serde::Serialize;

use crate::Error;

/// stdout for one command: the first write error is kept (later writes are
/// skipped) and returned by [`Out::finish`], so a truncated `-o json`
/// exits non-zero; a reader that closed the pipe is not an error.
pub(crate) struct Out<W: Write = std::io::Stdout> {
    printer: Printer<W>,
    failed: Option<WriteError>,
}

impl Out {
    pub(crate) fn stdout() -> Self {
        Self::new(std::io::stdout())
    }
}

impl<W: Write> Out<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { printer: Printer::new(out), failed: None }
    }

    pub(crate) fn print(&mut self, text: &str) {
        if self.failed.is_none()
            && let Err(e) = self.printer.print(text)
        {
            self.failed = Some(e);
        }
    }

    /// Flush; the first write error, if any.
    pub(crate) fn finish(self) -> Result<(), WriteError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        self.printer.finish().map(drop)
    }
}

/// One line on stderr.
pub(crate) fn eprint_line(text: &str) {
    eprintln!("{text}");
}

/// Where a reference stands (`update`, `up-to-date`, `skipped`, `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RowStatus {
    Update,
    UpToDate,
    Skipped,
    Error,
}

impl RowStatus {
    fn as_str(self) -> &'static str {
        match self {
            RowStatus::Update => "update",
            RowStatus::UpToDate => "up-to-date",
            RowStatus::Skipped => "skipped",
            RowStatus::Error => "error",
        }
    }
}

/// One reference as `scan` shows it: a table row and a JSON item alike.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Row {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) policy: String,
    pub(crate) marker: String,
    pub(crate) field: String,
    pub(crate) image: String,
    pub(crate) current: String,
    pub(crate) latest: String,
    #[serde(rename = "new")]
    pub(crate) new_value: String,
    pub(crate) status: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Why a reference is skipped (not applied, suspended, no policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

impl From<&Item> for Row {
    fn from(item: &Item) -> Self {
        let (marker, field, latest, new_value) = match &item.subject {
            Subject::Marker { kind, setter } => (
                kind.as_str(),
                setter.field.as_str(),
                item.latest.as_ref().map_or_else(String::new, |l| {
                    l.digest.as_ref().map_or_else(|| l.tag.clone(), |d| format!("{}@{d}", l.tag))
                }),
                item.new_value().unwrap_or_default().to_string(),
            ),
            Subject::Entry { kind, field, wanted, .. } => {
                let marker = match kind {
                    EntryKind::KustomizeImage => "kustomize",
                    EntryKind::ModelTags => "modeltags",
                };
                (marker, field.as_str(), wanted.clone(), wanted.clone())
            }
            Subject::Problem => ("", "", String::new(), String::new()),
        };
        let reason = match &item.decision {
            Decision::Skipped(s) if !s.is_partial() => Some(s.message.clone()),
            _ => None,
        };
        let (status, error) = match &item.decision {
            Decision::Update { .. } => (RowStatus::Update, None),
            Decision::UpToDate => (RowStatus::UpToDate, None),
            // A partial skip keeps its message; the others said theirs on stderr.
            Decision::Skipped(s) => (RowStatus::Skipped, s.is_partial().then(|| s.message.clone())),
            Decision::Failed(m) => (RowStatus::Error, Some(m.clone())),
        };
        Row {
            file: item.file.clone(),
            line: item.line,
            policy: item.subject.label(),
            marker: marker.into(),
            field: field.into(),
            image: item.latest.as_ref().map(|l| l.image.clone()).unwrap_or_default(),
            current: item.current.clone(),
            latest,
            new_value,
            status,
            error,
            reason,
        }
    }
}

/// `kind: ReferenceList`.
#[derive(Serialize)]
struct References<'a> {
    items: &'a [Row],
}

/// The rows of `scan`.
pub(crate) fn references(out: &mut Out<impl Write>, rows: &[Row], args: &OutputArgs) -> Result<(), Error> {
    match args.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            out.print(&Document::new(Kind::ReferenceList, References { items: rows }).render(args.output)?);
        }
        format => out.print(&reference_table(rows, format == OutputFormat::Wide).render(args.no_headers)),
    }
    Ok(())
}

fn reference_table(rows: &[Row], wide: bool) -> Table {
    let mut headers = vec!["file", "policy", "current", "latest", "status"];
    if wide {
        headers.extend(["marker", "field", "image", "new"]);
    }
    let mut table = Table::new(&headers);
    for r in rows {
        let status = match (&r.error, &r.reason) {
            (Some(e), _) => format!("error: {e}"),
            (None, Some(why)) if wide => format!("{}: {why}", r.status.as_str()),
            _ => r.status.as_str().to_string(),
        };
        let mut cells =
            vec![format!("{}:{}", r.file, r.line), r.policy.clone(), r.current.clone(), r.latest.clone(), status];
        if wide {
            // The status may be long; keep it last.
            let status = cells.pop().unwrap_or_default();
            cells.extend([r.marker.clone(), r.field.clone(), r.image.clone(), r.new_value.clone(), status]);
        }
        // Every cell can come from the repository; `-o json` has JSON's
        // own escaping instead.
        table.push(cells.iter().map(|c| printable(c)).collect());
    }
    if wide {
        table.headers = ["FILE", "POLICY", "CURRENT", "LATEST", "MARKER", "FIELD", "IMAGE", "NEW", "STATUS"]
            .map(String::from)
            .to_vec();
    }
    table
}

/// Say why each skipped reference is left as it is (stderr; `-v` for
/// the references that belong to another automation).
pub(crate) fn skips(plan: &Plan) {
    for item in &plan.items {
        let Decision::Skipped(skip) = &item.decision else { continue };
        let place = format!("{}:{}", printable(&item.file), item.line);
        let message = printable(&skip.message);
        match skip.reason {
            SkipReason::Missing => eprint_line(&format!(
                "warning: {place}: {message}; skipped, as Flux skips it (--strict makes this an error)"
            )),
            SkipReason::Isolated => eprint_line(&format!(
                "warning: {place}: {message}; skipped, as Flux skips it, the rest proceed (--strict makes this an error)"
            )),
            SkipReason::Suspended => {
                eprint_line(&format!(
                    "{place}: {message}; left as it is, as Flux leaves it (--ignore-suspend updates it)"
                ));
            }
            SkipReason::NotApplied => tracing::info!(place = %place, reason = %message, "left as it is"),
            SkipReason::ProblemFile => eprint_line(&format!(
                "warning: {}: cannot be parsed ({message}); its markers are skipped, as Flux skips the file, the rest proceed (--strict makes this an error)",
                printable(&item.file)
            )),
        }
    }
}

/// One change of `apply -o json|yaml`: where, what, which policy, which
/// automation, which commit (when one was made).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangeRow {
    file: String,
    line: usize,
    old: String,
    new: String,
    policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    automation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
}

impl ChangeRow {
    pub(crate) fn new(change: &Change, automation: Option<String>, commit: Option<String>) -> Self {
        Self {
            file: change.file.clone(),
            line: change.line,
            old: change.old.clone(),
            new: change.new.clone(),
            policy: change.subject.label(),
            automation,
            commit,
        }
    }
}

/// `kind: ChangeList`.
#[derive(Serialize)]
struct Changes<'a> {
    items: &'a [ChangeRow],
}

/// The changes of `apply -o json|yaml`.
pub(crate) fn changes(out: &mut Out<impl Write>, rows: &[ChangeRow], args: &OutputArgs) -> Result<(), Error> {
    out.print(&Document::new(Kind::ChangeList, Changes { items: rows }).render(args.output)?);
    Ok(())
}

/// What `apply`/`promote` did, as it happens.
pub(crate) fn step(out: &mut Out<impl Write>, step: Step<'_>) {
    match step {
        Step::Written { changes } => {
            for change in changes {
                out.print(&format!("{}\n", change.summary()));
            }
        }
        Step::Committed { sha, changes, files } => {
            out.print(&format!("committed {sha}: {changes} change(s) in {files} file(s)\n"));
        }
        Step::Pushed { remote } => out.print(&format!("pushed to {remote}\n")),
    }
}

/// One tag and the policy's verdict on it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TagRow {
    tag: String,
    verdict: &'static str,
}

/// `kind: TagList`: a repository's tags (sorted) and the policy's pick.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TagList {
    repository: String,
    latest: Option<String>,
    digest: Option<String>,
    tags: Vec<TagRow>,
}

impl TagList {
    pub(crate) fn new(repository: &str, choice: &TagChoice, digest: Option<String>) -> Self {
        let tags = choice
            .sorted()
            .into_iter()
            .map(|(tag, verdict)| TagRow { tag: tag.to_string(), verdict: verdict.as_str() })
            .collect();
        Self { repository: repository.to_string(), latest: choice.latest().map(str::to_string), digest, tags }
    }
}

/// The tags of `tags`: a table (and the pick on stderr) or a document.
pub(crate) fn tags(out: &mut Out<impl Write>, list: &TagList, args: &OutputArgs) -> Result<(), Error> {
    if matches!(args.output, OutputFormat::Json | OutputFormat::Yaml) {
        out.print(&Document::new(Kind::TagList, list).render(args.output)?);
        return Ok(());
    }
    let mut table = Table::new(&["tag", "verdict"]);
    for row in &list.tags {
        table.push(vec![row.tag.clone(), row.verdict.to_string()]);
    }
    out.print(&table.render(args.no_headers));
    let repository = &list.repository;
    match (&list.latest, &list.digest) {
        (Some(tag), Some(d)) => eprint_line(&format!("latest: {repository}:{tag}@{d}")),
        (Some(tag), None) => eprint_line(&format!("latest: {repository}:{tag}")),
        (None, _) => eprint_line(&format!("no tag of {repository} satisfies the policy ({} tags)", list.tags.len())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json() -> OutputArgs {
        OutputArgs { output: OutputFormat::Json, no_headers: false }
    }

    /// A buffer the test reads after the printer wrote to it.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A truncated `-o json` is an error (it used to be swallowed, exit 0).
    #[test]
    fn a_full_disk_is_an_error() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full (Linux)");
        let mut out = Out::new(full);
        references(&mut out, &[], &json()).unwrap();
        let err = out.finish().unwrap_err();
        assert!(err.to_string().starts_with("writing the output: "), "{err}");
    }

    /// Every document names its schema.
    #[test]
    fn documents_carry_api_version_and_kind() {
        let buffer = Shared::default();
        let mut out = Out::new(buffer.clone());
        let choice = TagChoice { tags: vec!["v1".into()], verdicts: vec![gpuops_gitops::policy::Verdict::Latest] };
        tags(&mut out, &TagList::new("reg/m", &choice, None), &json()).unwrap();
        references(&mut out, &[], &json()).unwrap();
        out.finish().unwrap();
        let text = String::from_utf8(buffer.0.borrow().clone()).unwrap();
        let docs: Vec<serde_json::Value> =
            serde_json::Deserializer::from_str(&text).into_iter().collect::<Result<_, _>>().unwrap();
        let kinds: Vec<(&str, &str)> =
            docs.iter().map(|d| (d["apiVersion"].as_str().unwrap(), d["kind"].as_str().unwrap())).collect();
        assert_eq!(kinds, [("gpuops.dev/v1alpha1", "TagList"), ("gpuops.dev/v1alpha1", "ReferenceList")]);
        assert_eq!(docs[0]["latest"], "v1");
    }
}
