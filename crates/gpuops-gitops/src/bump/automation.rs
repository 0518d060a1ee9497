//! A repository set up for Flux's image automation behaves the same under
//! modelbump: its `ImageUpdateAutomation` decides which files are updated
//! (`spec.update.path`), the commit message (`messageTemplate`, rendered with
//! the data Flux gives it), the author, and the branch pushed to
//! (`spec.git.push.branch`). Flags given on the command line win.
//!
//! Source: fluxcd/image-automation-controller internal/source/source.go
//! (`CommitAndPush`, `templateMsg`, `TemplateData`, default message "Update
//! from image update automation") and internal/update/result.go (`Result`:
//! `FileChanges`, `Objects`, `Changes`; `Change{OldValue, NewValue, Setter}`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use gpuops_manifest::text::printable;

use super::plan::Setter;
use super::safe_lines;
use crate::template::{self, Data, TemplateError};
use crate::{ImageUpdateAutomation, Reference, Scan};

/// An automation that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    #[error("no ImageUpdateAutomation {} in the scanned tree", printable(.0))]
    NotFound(String),
    #[error(
        "{} ImageUpdateAutomations in the tree ({}); choose one with --automation NAMESPACE/NAME",
        .0.len(),
        printable(&.0.join(", "))
    )]
    Several(Vec<String>),
    /// imageupdateautomation_controller.go `getPolicies`: an invalid
    /// policySelector stalls the automation (InvalidPolicySelector).
    #[error(
        "ImageUpdateAutomation {} ({}:{line}): failed to parse policy selector: {}; stalled, as Flux stalls it (InvalidPolicySelector); nothing was changed",
        printable(automation),
        printable(path),
        printable(reason)
    )]
    InvalidSelector { automation: String, path: String, line: usize, reason: String },
    /// The commit message template cannot be rendered.
    #[error(
        "ImageUpdateAutomation {} ({}:{line}): {reason}; nothing was changed",
        printable(automation),
        printable(path)
    )]
    Template { automation: String, path: String, line: usize, reason: String },
}

/// A string from the repository as the template sees it: escaped, so a
/// file or object name with a newline cannot forge a line or a trailer of
/// the commit message.
fn text(s: &str) -> Data {
    Data::str(printable(s))
}

/// Flux's message when an automation has no template.
const DEFAULT_MESSAGE: &str = "Update from image update automation";

/// The automation whose settings apply: the one `wanted` names
/// (`namespace/name` or `name`), else the only one in the tree.
pub fn choose<'a>(scan: &'a Scan, wanted: Option<&str>) -> Result<Option<&'a ImageUpdateAutomation>, AutomationError> {
    match wanted {
        Some(want) => scan
            .automations
            .iter()
            .find(|a| a.key() == want || a.name == want)
            .map(Some)
            .ok_or_else(|| AutomationError::NotFound(want.to_string())),
        None => match scan.automations.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            several => Err(AutomationError::Several(several.iter().map(ImageUpdateAutomation::key).collect())),
        },
    }
}

/// An invalid `spec.policySelector` stalls the automation.
pub fn check_selector(automation: &ImageUpdateAutomation) -> Result<(), AutomationError> {
    match &automation.policy_selector {
        Some(Err(e)) => Err(AutomationError::InvalidSelector {
            automation: automation.key(),
            path: automation.source.path.clone(),
            line: automation.source.line,
            reason: e.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The references Flux would update: under the automation's
/// `spec.update.path` (all of them without an automation). `base` is the
/// scanned directory, `repo_root` the repository's top level (or `base`).
pub fn in_update_path(
    scan: &Scan,
    automation: Option<&ImageUpdateAutomation>,
    base: &Path,
    repo_root: &Path,
) -> Vec<Reference> {
    let Some(a) = automation else { return scan.references.clone() };
    let update_dir = update_dir(a, repo_root);
    let (inside, outside): (Vec<_>, Vec<_>) =
        scan.references.iter().partition(|r| covers(a, &update_dir, &base.join(&r.source.path)));
    for r in outside {
        tracing::info!(
            file = %printable(&r.source.path), line = r.source.line, automation = %printable(&a.key()),
            path = a.update_path.as_deref().unwrap_or(""), "outside the ImageUpdateAutomation's spec.update.path; left as it is"
        );
    }
    inside.into_iter().cloned().collect()
}

/// Whether `file` lies under the automation's `spec.update.path` (relative
/// to the repository root, `./clusters/prod`; no path = everything).
/// `update_dir` is [`update_dir`]'s answer, computed once by the caller.
pub fn covers(automation: &ImageUpdateAutomation, update_dir: &Path, file: &Path) -> bool {
    automation.update_path.is_none() || canonical(file).starts_with(update_dir)
}

/// The directory Flux updates: the repository root joined with
/// `spec.update.path` (securejoin: `..` cannot leave the root), canonical.
/// Flux names changed files relative to it (policy/applier.go passes it as
/// the package path).
pub fn update_dir(automation: &ImageUpdateAutomation, repo_root: &Path) -> PathBuf {
    let root = canonical(repo_root);
    let mut under = root.clone();
    for part in Path::new(automation.update_path.as_deref().unwrap_or(".")).components() {
        match part {
            Component::Normal(p) => under.push(p),
            Component::ParentDir if under != root => {
                under.pop();
            }
            _ => {}
        }
    }
    canonical(&under)
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// One change as Flux records it (result.go `Change`), with the file and
/// object it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluxChange {
    /// Relative to the automation's update directory.
    pub file: String,
    pub object: ObjectId,
    pub old: String,
    pub new: String,
    pub setter: Setter,
}

/// kyaml's `ResourceIdentifier`: apiVersion, kind, name, namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl ObjectId {
    /// The object of the document holding `line` in `text`.
    pub fn at(text: &str, line: usize) -> Self {
        let docs = gpuops_manifest::yaml::split_documents(text);
        let Some(doc) = docs.iter().rev().find(|d| d.first_line <= line) else { return Self::default() };
        let Ok(value) = gpuops_manifest::yaml::parse_document(doc.text, "", doc.first_line) else {
            return Self::default();
        };
        let text = |p: &str| value.pointer(p).and_then(|v| v.as_str()).unwrap_or("").to_string();
        Self {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            name: text("/metadata/name"),
            namespace: text("/metadata/namespace"),
        }
    }

    fn data(&self) -> Data {
        Data::Struct {
            // Field names sort as Go's fmtsort compares the struct: APIVersion,
            // Kind, Name, Namespace.
            fields: BTreeMap::from([
                ("APIVersion".into(), text(&self.api_version)),
                ("Kind".into(), text(&self.kind)),
                ("Name".into(), text(&self.name)),
                ("Namespace".into(), text(&self.namespace)),
            ]),
            display: printable(&format!(
                "{{{{{} {}}} {{{} {}}}}}",
                self.api_version, self.kind, self.name, self.namespace
            )),
        }
    }
}

fn change_data(c: &FluxChange) -> Data {
    let setter = c.setter.to_string();
    Data::Struct {
        fields: BTreeMap::from([
            ("OldValue".into(), text(&c.old)),
            ("NewValue".into(), text(&c.new)),
            ("Setter".into(), text(&setter)),
        ]),
        display: printable(&format!("{{{} {} {setter}}}", c.old, c.new)),
    }
}

/// Flux's own words for the fields it removed (source.go
/// `RemovedTemplateFieldError`).
fn removed_field(error: &TemplateError) -> Option<&'static str> {
    match error {
        TemplateError::NoField { field } if field == "Updated" => Some(
            "template uses removed '.Updated' field. Please use '.Changed' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template",
        ),
        TemplateError::NoField { field } if field == "ImageResult" => Some(
            "template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or '.Changed.Objects' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template",
        ),
        _ => None,
    }
}

/// The commit message Flux would write for `changes`.
pub fn message(automation: &ImageUpdateAutomation, changes: &[FluxChange]) -> Result<String, AutomationError> {
    let mut files: BTreeMap<String, BTreeMap<ObjectId, Vec<Data>>> = BTreeMap::new();
    let mut objects: BTreeMap<ObjectId, Vec<Data>> = BTreeMap::new();
    let mut unique: Vec<Data> = Vec::new();
    for c in changes {
        let d = change_data(c);
        files.entry(c.file.clone()).or_default().entry(c.object.clone()).or_default().push(d.clone());
        objects.entry(c.object.clone()).or_default().push(d.clone());
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    let object_map =
        |m: BTreeMap<ObjectId, Vec<Data>>| Data::Map(m.into_iter().map(|(k, v)| (k.data(), Data::List(v))).collect());
    let file_changes = Data::Map(files.into_iter().map(|(f, objs)| (text(&f), object_map(objs))).collect());
    let namespace = automation.namespace.clone().unwrap_or_default();
    let data = Data::Struct {
        fields: BTreeMap::from([
            (
                "AutomationObject".into(),
                Data::Struct {
                    fields: BTreeMap::from([
                        ("Name".into(), text(&automation.name)),
                        ("Namespace".into(), text(&namespace)),
                    ]),
                    display: printable(&automation.key()),
                },
            ),
            (
                "Changed".into(),
                Data::Struct {
                    fields: BTreeMap::from([
                        ("FileChanges".into(), file_changes),
                        ("Objects".into(), object_map(objects)),
                        ("Changes".into(), Data::List(unique)),
                    ]),
                    display: String::new(),
                },
            ),
            ("Values".into(), Data::Map(automation.message_values.iter().map(|(k, v)| (text(k), text(v))).collect())),
        ]),
        display: String::new(),
    };
    let source = automation.message_template.as_deref().filter(|t| !t.is_empty()).unwrap_or(DEFAULT_MESSAGE);
    // The template's own text may hold control characters too; its lines
    // and tabs are kept.
    template::render(source, &data).map(|m| safe_lines(&m)).map_err(|e| AutomationError::Template {
        automation: automation.key(),
        path: automation.source.path.clone(),
        line: automation.source.line,
        reason: removed_field(&e).map_or_else(|| printable(&e.to_string()), str::to_string),
    })
}
