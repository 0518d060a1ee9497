//! What a bump would do to each reference, as typed decisions: the printing
//! rows, the commit message and Flux's template data are all drawn from
//! these, never the other way round.

use std::collections::BTreeMap;

use gpuops_manifest::imageref::ImageRef;
use gpuops_manifest::text::printable;

use super::resolve::{Failure, PolicyKey, Resolution};
use crate::edit::Edit;
use crate::entries::EntryKind;
use crate::scope::Unusable;
use crate::{Field, Latest, Marker, MarkerKind, Reference, Scan};

/// The Flux setter a marker names, `namespace:policy[:tag|:name|:digest]`
/// (image-automation-controller internal/update/result.go `Change.Setter`;
/// the bare form for a whole reference).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Setter {
    pub namespace: String,
    pub policy: String,
    pub field: Field,
}

impl Setter {
    pub fn of(marker: &Marker) -> Self {
        Self { namespace: marker.namespace.clone(), policy: marker.policy.clone(), field: marker.field }
    }

    pub fn policy_key(&self) -> PolicyKey {
        PolicyKey { namespace: self.namespace.clone(), name: self.policy.clone() }
    }
}

impl std::fmt::Display for Setter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.namespace, self.policy)?;
        match self.field {
            Field::Ref => Ok(()),
            field => write!(f, ":{}", field.as_str()),
        }
    }
}

/// A field of a kustomize `images:` / `ModelTags` `models:` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryField {
    NewName,
    NewTag,
    Digest,
}

impl EntryField {
    pub const ALL: [EntryField; 3] = [EntryField::NewName, EntryField::NewTag, EntryField::Digest];

    /// The key in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryField::NewName => "newName",
            EntryField::NewTag => "newTag",
            EntryField::Digest => "digest",
        }
    }
}

/// What a planned item is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A setter marker (`$imagepolicy` or `$modelpolicy`).
    Marker { kind: MarkerKind, setter: Setter },
    /// An entry `promote` pins to what the source environment's entry of
    /// the same name pins (`wanted`).
    Entry { kind: EntryKind, name: String, field: EntryField, wanted: String },
    /// A file or object the scan could not use.
    Problem,
}

impl Subject {
    /// The policy column: `namespace/policy`, `images[NAME]`, `models[NAME]`.
    pub fn label(&self) -> String {
        match self {
            Subject::Marker { setter, .. } => format!("{}/{}", setter.namespace, setter.policy),
            Subject::Entry { kind: EntryKind::KustomizeImage, name, .. } => format!("images[{name}]"),
            Subject::Entry { kind: EntryKind::ModelTags, name, .. } => format!("models[{name}]"),
            Subject::Problem => String::new(),
        }
    }
}

/// Why an item is left as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// No such ImagePolicy in the tree: Flux leaves a marker whose policy
    /// it does not have (image-automation-controller applies only the
    /// policies it lists).
    Missing,
    /// Not this automation's policy (another namespace, not selected).
    NotApplied,
    /// Suspended (`spec.suspend: true`).
    Suspended,
    /// A failure Flux isolates (a policy without a latest tag, a policy
    /// that would not be ready): the rest proceed, the run is partial.
    Isolated,
    /// A file with a marker that cannot be parsed (filereader.go
    /// `ProblemFiles`): its markers are skipped, the run is partial.
    ProblemFile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub reason: SkipReason,
    pub message: String,
}

impl Skip {
    /// Whether this skip makes the run partial (exit 3).
    pub fn is_partial(&self) -> bool {
        matches!(self.reason, SkipReason::Isolated | SkipReason::ProblemFile)
    }
}

/// What is done with an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Update { new: String, edit: Edit },
    UpToDate,
    Skipped(Skip),
    Failed(String),
}

/// One reference (or entry, or problem) and what the bump does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Relative to the scanned directory, `/`-separated.
    pub file: String,
    pub line: usize,
    pub subject: Subject,
    pub current: String,
    /// What the policy resolved to (markers).
    pub latest: Option<Latest>,
    pub decision: Decision,
}

impl Item {
    /// The value the scalar has after the bump, when there is one.
    pub fn new_value(&self) -> Option<&str> {
        match &self.decision {
            Decision::Update { new, .. } => Some(new),
            Decision::UpToDate => Some(&self.current),
            Decision::Skipped(_) | Decision::Failed(_) => None,
        }
    }
}

/// A reference that got no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoValue {
    Failed(String),
    Skipped(Skip),
}

impl From<String> for NoValue {
    fn from(message: String) -> Self {
        NoValue::Failed(message)
    }
}

/// Every item of a run, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub items: Vec<Item>,
}

impl Plan {
    /// Some failure was isolated (exit 3 when the rest went through).
    pub fn is_partial(&self) -> bool {
        self.items.iter().any(|i| matches!(&i.decision, Decision::Skipped(s) if s.is_partial()))
    }

    /// Some item failed: nothing may be written.
    pub fn has_failures(&self) -> bool {
        self.items.iter().any(|i| matches!(i.decision, Decision::Failed(_)))
    }
}

/// One item per reference, with its edit when it changes; `value_for`
/// gives the policy's answer and the scalar's new value.
pub fn plan_references(
    references: &[Reference],
    mut value_for: impl FnMut(&Reference) -> Result<(Option<Latest>, String), NoValue>,
) -> Vec<Item> {
    references
        .iter()
        .map(|r| {
            let m = &r.marker;
            let mut item = Item {
                file: r.source.path.clone(),
                line: r.source.line,
                subject: Subject::Marker { kind: m.kind, setter: Setter::of(m) },
                current: m.value.clone(),
                latest: None,
                decision: Decision::UpToDate,
            };
            item.decision = match value_for(r) {
                Ok((latest, new)) => {
                    item.latest = latest;
                    if new == m.value {
                        Decision::UpToDate
                    } else {
                        Decision::Update { edit: crate::edit_for(m, &new), new }
                    }
                }
                Err(NoValue::Failed(message)) => Decision::Failed(message),
                Err(NoValue::Skipped(skip)) => Decision::Skipped(skip),
            };
            item
        })
        .collect()
}

/// The value each reference gets from the registry's answers; `strict`
/// turns what Flux skips into failures.
pub fn from_resolutions(
    resolutions: &BTreeMap<PolicyKey, Resolution>,
    strict: bool,
) -> impl FnMut(&Reference) -> Result<(Option<Latest>, String), NoValue> + '_ {
    move |r: &Reference| {
        let skip = |reason, message| NoValue::Skipped(Skip { reason, message });
        let latest = match resolutions.get(&PolicyKey::of(r)) {
            Some(Ok(latest)) => latest.clone(),
            None => return Err(NoValue::Failed("not resolved".into())),
            Some(Err(failure)) => {
                return Err(match failure.clone() {
                    Failure::Error(m) => NoValue::Failed(m),
                    Failure::Unusable(Unusable::Suspended(m)) => skip(SkipReason::Suspended, m),
                    Failure::Unusable(Unusable::NotApplied(m)) => skip(SkipReason::NotApplied, m),
                    Failure::Unusable(Unusable::Missing(m)) if !strict => skip(SkipReason::Missing, m),
                    Failure::Unusable(Unusable::NotReady(m)) | Failure::NoTag(m) if !strict => {
                        skip(SkipReason::Isolated, m)
                    }
                    Failure::Unusable(Unusable::Missing(m) | Unusable::NotReady(m)) | Failure::NoTag(m) => {
                        NoValue::Failed(m)
                    }
                });
            }
        };
        let new = crate::new_value(&r.marker, &latest).map_err(|e| e.to_string())?;
        Ok((Some(latest), new))
    }
}

/// Items for what the scan could not use: errors, and files with a marker
/// that cannot be parsed — skipped (partial) unless `strict`.
pub fn problem_items(scan: &Scan, strict: bool) -> Vec<Item> {
    let item = |p: &crate::Problem, decision| Item {
        file: p.source.path.clone(),
        line: p.source.line,
        subject: Subject::Problem,
        current: String::new(),
        latest: None,
        decision,
    };
    let mut items: Vec<Item> = scan.problems.iter().map(|p| item(p, Decision::Failed(p.message.clone()))).collect();
    for p in &scan.problem_files {
        let decision = if strict {
            Decision::Failed(p.message.clone())
        } else {
            Decision::Skipped(Skip { reason: SkipReason::ProblemFile, message: p.message.clone() })
        };
        items.push(item(p, decision));
    }
    items
}

/// The tag (and digest) a marked scalar currently holds for `image`.
pub fn reference_parts(r: &Reference, image: &str) -> Option<(String, Option<String>)> {
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

/// `file:line: message` of every failed item, escaped, for
/// [`BumpError::ReferencesFailed`](super::BumpError::ReferencesFailed).
pub(crate) fn failures(plan: &Plan) -> Vec<String> {
    plan.items
        .iter()
        .filter_map(|i| match &i.decision {
            Decision::Failed(e) => Some(format!("{}:{}: {}", printable(&i.file), i.line, printable(e))),
            _ => None,
        })
        .collect()
}
