//! From kustomize's output (or a plain directory) to what `generate`
//! prints, holding the render once.
//!
//! kustomize's stdout is kept as one buffer and never copied: documents are
//! parsed in batches, transformed, and dropped; an untouched document is
//! printed straight from the buffer, byte for byte, a changed one
//! re-emitted (as the function's own `write_stream` does). When the fit
//! gate runs, each object it can read is handed to gpuops-fit's
//! [`Inputs`] as it is parsed (its pod groups kept, the object dropped),
//! so no more than a batch of documents is ever held as values.
//! Measured with `cargo run -p gpuops-bench --release --bin bench-cmp-memory`.

use std::io::Write;
use std::ops::Range;
use std::path::Path;

use serde_json::Value;

use gpuops_fit::report::Inputs;
use gpuops_inject::InjectConfig;
use gpuops_manifest::yaml::{self, RawDocument};
use gpuops_model::resolve::Resolver;

use crate::Error;
use crate::run::Budget;

/// One printed document.
enum Piece {
    /// Bytes of the input, as read.
    Original(Range<usize>),
    /// A document written anew.
    Emitted(String),
}

/// What `generate` prints: the input, with some documents replaced.
pub struct Output {
    input: String,
    /// `None`: the input as it is.
    pieces: Option<Vec<Piece>>,
    /// Whether at least one object is printed, `kind: *List` items counted
    /// one by one (an empty List is no object: Argo CD expands it to none).
    objects: bool,
}

impl Output {
    fn piece<'a>(&'a self, piece: &'a Piece) -> &'a str {
        match piece {
            Piece::Original(range) => &self.input[range.clone()],
            Piece::Emitted(text) => text,
        }
    }

    /// Whether no object would be printed (blanks, `null` documents and
    /// empty Lists only): what Argo CD, with `prune: true`, reads as
    /// "delete everything".
    pub fn is_empty(&self) -> bool {
        !self.objects
    }

    /// Set annotation `key` on each top-level object whose `Kind/namespace/name`
    /// (`Kind/name` without a namespace: gpuops-schedule's `WorkloadRef`)
    /// `findings` holds, to its value: how a finding reaches Argo CD's UI,
    /// which shows the desired manifest and its diff but never the stderr
    /// of a command that succeeded (argo-cd cmpserver/plugin/plugin.go,
    /// `runCommand`: stderr goes into the error only when the command fails).
    pub(crate) fn annotate(
        &mut self,
        key: &str,
        findings: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), Error> {
        self.annotate_with(key, findings, false)
    }

    /// [`Output::annotate`], keeping what the annotation already says (the
    /// function's own `gpuops.dev/warnings`): the new lines follow it, each
    /// once, so the same render gives the same value.
    pub(crate) fn annotate_appending(
        &mut self,
        key: &str,
        findings: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), Error> {
        self.annotate_with(key, findings, true)
    }

    fn annotate_with(
        &mut self,
        key: &str,
        findings: &std::collections::BTreeMap<String, String>,
        append: bool,
    ) -> Result<(), Error> {
        if findings.is_empty() {
            return Ok(());
        }
        let kinds: std::collections::BTreeSet<&str> = findings.keys().filter_map(|k| k.split('/').next()).collect();
        let pieces = match self.pieces.take() {
            Some(pieces) => pieces,
            None => yaml::split_documents(&self.input).iter().map(|doc| original(&self.input, doc)).collect(),
        };
        let mut out = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let text = self.piece(&piece);
            if !yaml::header_of(text).is_some_and(|(_, kind)| kinds.contains(kind)) {
                out.push(piece);
                continue;
            }
            let mut value = yaml::parse_document(text, "the render", 1).map_err(|e| Error::Input(e.into()))?;
            match findings.get(&reference(&value)) {
                Some(finding) if value.is_object() => {
                    let existing = append
                        .then(|| value.pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1"))))
                        .flatten()
                        .and_then(Value::as_str)
                        .filter(|e| !e.is_empty());
                    let joined = match existing {
                        Some(existing) => gpuops_inject::append_lines(Some(existing), finding.lines())
                            .unwrap_or_else(|| existing.to_string()),
                        None => finding.clone(),
                    };
                    set_annotation(&mut value, key, &joined);
                    out.push(Piece::Emitted(emit(text, &value)));
                }
                _ => out.push(piece),
            }
        }
        self.pieces = Some(out);
        Ok(())
    }

    /// Write the stream: `---` between documents, each ending in a newline.
    pub fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let Some(pieces) = &self.pieces else { return out.write_all(self.input.as_bytes()) };
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                out.write_all(b"---\n")?;
            }
            let text = self.piece(piece);
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }
}

/// What happens to each document after kustomize.
pub(crate) struct Steps<'a> {
    pub configs: &'a [InjectConfig],
    /// Keep what the fit gate reads.
    pub gate: bool,
    pub budget: &'a Budget,
    /// Where `count: auto` sizes models (`gpuops_model::resolve`).
    pub models: &'a Resolver<'a>,
    /// Per config, what it matched so far: matching nothing is judged over
    /// the whole render ([`Steps::no_match`]), not per document.
    pub tallies: std::sync::Mutex<Vec<gpuops_inject::Tally>>,
}

/// Documents parsed at a time: enough for every core (`parse_many`), few
/// enough that their values stay a small fraction of the render.
const BATCH: usize = 1024;

/// Kinds the fit gate never reads (gpuops-fit reads workloads, serving
/// runtimes, PriorityClass, LimitRange, RuntimeClass, ResourceQuota,
/// Kueue's objects and namespaces): they are not kept for it.
const NOT_FOR_THE_GATE: &[&str] = &[
    "ConfigMap",
    "Secret",
    "Service",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "Ingress",
    "NetworkPolicy",
    "CustomResourceDefinition",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "HorizontalPodAutoscaler",
];

fn gate_reads_kind(kind: &str) -> bool {
    !NOT_FOR_THE_GATE.contains(&kind)
}

/// `Kind/namespace/name`, or `Kind/name` without a namespace, as
/// gpuops-schedule's `WorkloadRef` prints it.
fn reference(value: &Value) -> String {
    let field = |f: &str| value.pointer(f).and_then(Value::as_str).unwrap_or("");
    match field("/metadata/namespace") {
        "" => format!("{}/{}", field("/kind"), field("/metadata/name")),
        ns => format!("{}/{ns}/{}", field("/kind"), field("/metadata/name")),
    }
}

/// `metadata.annotations[key] = value`, creating what is missing.
fn set_annotation(object: &mut Value, key: &str, value: &str) {
    let Some(object) = object.as_object_mut() else { return };
    let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Default::default()));
    if !metadata.is_object() {
        *metadata = Value::Object(Default::default());
    }
    let annotations = metadata.as_object_mut().map(|m| m.entry("annotations").or_insert(Value::Null));
    if let Some(annotations) = annotations {
        if !annotations.is_object() {
            *annotations = Value::Object(Default::default());
        }
        if let Some(map) = annotations.as_object_mut() {
            map.insert(key.to_string(), Value::String(value.to_string()));
        }
    }
}

/// The annotation that carries the function's warnings about an object
/// (the function's own name for it).
pub use gpuops_inject::WARNINGS_ANNOTATION;
/// The annotation that carries the fit gate's finding (`warn`).
pub const FIT_ANNOTATION: &str = "gpuops.dev/fit";

/// Objects one document holds as Argo CD counts them: the repo-server
/// expands `kind: List` / `*List` into its items before syncing
/// (argo-cd reposerver/repository/repository.go, `GenerateManifests`:
/// `obj.IsList()` → `EachListItem`, a List with `items: null` dropped;
/// the same rule as
/// gpuops_manifest::input::flatten_lists).
fn objects_in(value: &Value) -> usize {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    match value.get("items").and_then(Value::as_array) {
        _ if value.is_null() => 0,
        Some(items) if kind.ends_with("List") => items.iter().filter(|i| !i.is_null()).count(),
        _ => 1,
    }
}

/// Whether kustomize's output holds an object. Stops at the first one; a
/// document is parsed only when its header does not already say it is
/// one (a List, flow style, blank), so a normal render parses nothing here.
fn holds_an_object(raw: &[RawDocument<'_>]) -> Result<bool, Error> {
    for doc in raw {
        if yaml::header_of(doc.text).is_some_and(|(_, kind)| !kind.ends_with("List")) {
            return Ok(true);
        }
        let value = yaml::parse_document(doc.text, "the render", doc.first_line).map_err(|e| Error::Input(e.into()))?;
        if objects_in(&value) > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Steps<'_> {
    fn wanted(&self, text: &str) -> bool {
        self.configs.iter().any(|c| c.may_change(text))
            || (self.gate && yaml::header_of(text).is_none_or(|(_, kind)| gate_reads_kind(kind)))
    }

    /// Apply every config that may change `value`; whether one did. The
    /// function's warnings about it go into its `gpuops.dev/warnings`
    /// annotation, where Argo CD's UI shows them.
    fn transform(&self, text: &str, value: &mut Value) -> Result<bool, Error> {
        let mut changed = false;
        let mut warnings = Vec::new();
        for (i, config) in self.configs.iter().enumerate().filter(|(_, c)| c.may_change(text)) {
            let outcome = gpuops_inject::transform_part(config, std::slice::from_mut(value), self.models);
            if let Some(tally) = self.tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(i) {
                tally.add(&outcome.tally);
            }
            warnings.extend(
                outcome
                    .results
                    .iter()
                    .filter(|r| r.severity == gpuops_manifest::krm::Severity::Warning)
                    .map(|r| r.message.clone()),
            );
            if outcome.failed() {
                let errors: Vec<&str> = outcome
                    .results
                    .iter()
                    .filter(|r| r.severity == gpuops_manifest::krm::Severity::Error)
                    .map(|r| r.message.as_str())
                    .collect();
                return Err(Error::Inject(errors.join("; ")));
            }
            changed |= outcome.changed.iter().any(|c| *c);
        }
        if !warnings.is_empty() {
            // After what the annotation already says (the repo's own
            // GpuProfile, run as a legacy plugin, writes it too), each
            // line once: the same render gives the same bytes.
            let existing = value.pointer("/metadata/annotations/gpuops.dev~1warnings").and_then(Value::as_str);
            if let Some(joined) = gpuops_inject::append_lines(existing, warnings.iter().map(String::as_str)) {
                set_annotation(value, WARNINGS_ANNOTATION, &joined);
                changed = true;
            }
        }
        Ok(changed)
    }

    /// What the configs matched nothing of in the whole render: an error
    /// (the sidecar's default, as for a legacy plugin: Argo CD keeps the
    /// stderr of a command that succeeded nowhere) unless the config says
    /// `onNoMatch: warn`; the warnings are returned.
    pub(crate) fn no_match(&self) -> Result<Vec<String>, Error> {
        let tallies = self.tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let empty = gpuops_inject::Tally::default();
        let mut warnings = Vec::new();
        for (i, config) in self.configs.iter().enumerate() {
            let results =
                gpuops_inject::no_match(config, tallies.get(i).unwrap_or(&empty), gpuops_inject::OnNoMatch::Error);
            let (errors, rest): (Vec<_>, Vec<_>) =
                results.into_iter().partition(|r| r.severity == gpuops_manifest::krm::Severity::Error);
            if let Some(first) = errors.first() {
                return Err(Error::Inject(format!("{}{}", first.message, no_match_hint(&config.object))));
            }
            warnings.extend(rest.into_iter().map(|r| r.message));
        }
        Ok(warnings)
    }

    /// Hand `value` (a List's items one by one) to the gate when it reads
    /// it; the value is dropped here either way.
    fn keep(&self, value: Value, kept: &mut Inputs) {
        if !self.gate || value.is_null() {
            return;
        }
        let reads = |v: &&Value| gate_reads_kind(v.get("kind").and_then(Value::as_str).unwrap_or(""));
        for object in gpuops_manifest::input::flatten_lists(vec![value]).iter().filter(reads) {
            kept.push(object);
        }
    }
}

/// kustomize's stdout, processed. Returns the output and what the gate
/// reads.
pub(crate) fn kustomized(bytes: Vec<u8>, steps: &Steps<'_>) -> Result<(Output, Inputs), Error> {
    // Valid UTF-8 (kustomize prints nothing else) is taken over, not copied.
    let input = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let raw = yaml::split_documents(&input);
    let objects = holds_an_object(&raw)?;
    if steps.configs.is_empty() && !steps.gate {
        drop(raw);
        return Ok((Output { input, pieces: None, objects }, Inputs::new()));
    }
    let (mut pieces, mut kept, mut any_changed) = (Vec::with_capacity(raw.len()), Inputs::new(), false);
    let wanted = |text: &str| steps.wanted(text);
    for batch in raw.chunks(BATCH) {
        steps.budget.check("reading the render")?;
        let values = yaml::parse_many(batch, "the render", &wanted).map_err(|e| Error::Input(e.into()))?;
        steps.budget.check("reading the render")?;
        for (doc, mut value) in batch.iter().zip(values) {
            // A large batch takes a while to transform: look at the budget per document.
            steps.budget.check("reading the render")?;
            let changed = !value.is_null() && steps.transform(doc.text, &mut value)?;
            pieces.push(if changed { Piece::Emitted(emit(doc.text, &value)) } else { original(&input, doc) });
            any_changed |= changed;
            steps.keep(value, &mut kept);
        }
    }
    drop(raw);
    // Nothing changed: print kustomize's bytes exactly, separators included.
    let pieces = any_changed.then_some(pieces);
    Ok((Output { input, pieces, objects }, kept))
}

/// How to let a config that matched nothing through: the parameters'
/// configs are the Application's, a repository's its own file.
fn no_match_hint(object: &str) -> &'static str {
    match object {
        "GpuProfile/argocd-parameters" => {
            " in the render (parameters gpu-count and selector-*: check the selector against the app's workloads)"
        }
        "ModelTags/argocd-parameters" => " in the render (parameter model-tags: drop the entry, or fix its repository)",
        _ => " (spec.onNoMatch: warn allows it)",
    }
}

fn original(input: &str, doc: &RawDocument<'_>) -> Piece {
    // `doc.text` is a slice of `input`: its offset is the distance between them.
    let start = doc.text.as_ptr() as usize - input.as_ptr() as usize;
    Piece::Original(start..start + doc.text.len())
}

/// `value` as a document, in a string of its own size: a string grown by
/// doubling holds up to twice its text, and the output holds them all.
fn emit(original: &str, value: &Value) -> String {
    let mut emitted = String::new();
    yaml::write_document(&mut emitted, value);
    let mut emitted = yaml::restore_octal_forms(original, &emitted);
    emitted.shrink_to_fit();
    emitted
}

/// A plain directory, as Argo CD's Directory source reads it
/// ([`crate::directory`]): every object re-emitted, file by file, so only
/// one file's text and values are held besides the output. A List's items
/// are printed one by one, as the repo-server expands them (argo-cd
/// reposerver/repository/repository.go, `GenerateManifests` ~1817:
/// `obj.IsList()` → `EachListItem`, any object with an `items` array; a
/// List with `items: null` and no spec or status dropped, `isNullList`).
pub(crate) fn plain_directory(
    dir: &Path,
    repo: &crate::root::Repo,
    options: &crate::directory::Options,
    steps: &Steps<'_>,
) -> Result<(Output, Inputs), Error> {
    let files = crate::directory::files(dir, repo, options)?;
    let (mut pieces, mut kept, mut objects) = (Vec::new(), Inputs::new(), 0);
    for file in files {
        steps.budget.check("reading the app directory")?;
        let text = std::fs::read_to_string(&file)
            .map_err(|source| Error::Input(gpuops_manifest::input::InputError::Read { path: file.clone(), source }))?;
        let name = file.strip_prefix(dir).unwrap_or(&file).to_string_lossy().into_owned();
        for (doc, value) in crate::directory::objects(&name, &text)?.unwrap_or_default() {
            for (doc, mut value) in list_items(&name, doc, value)? {
                steps.budget.check("reading the app directory")?;
                steps.transform(&doc, &mut value)?;
                objects += 1;
                pieces.push(Piece::Emitted(emit(&doc, &value)));
                steps.keep(value, &mut kept);
            }
        }
    }
    Ok((Output { input: String::new(), pieces: Some(pieces), objects: objects > 0 }, kept))
}

/// An object, or a List's items (each with no text of its own: emitted
/// fresh); see [`plain_directory`].
fn list_items(file: &str, doc: String, mut value: Value) -> Result<Vec<(String, Value)>, Error> {
    let null_list =
        value.get("items").is_some_and(Value::is_null) && value.get("spec").is_none() && value.get("status").is_none();
    match value.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => {
            if items.iter().any(|i| !i.is_object()) {
                // EachListItem: "items member is not an object".
                return Err(Error::Directory(format!("{file}: a List item is not an object")));
            }
            Ok(items.into_iter().map(|item| (String::new(), item)).collect())
        }
        _ if null_list => Ok(Vec::new()),
        Some(other) => {
            value["items"] = other;
            Ok(vec![(doc, value)])
        }
        None => Ok(vec![(doc, value)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget::new(std::time::Instant::now() + std::time::Duration::from_secs(60), crate::run::Stop::default())
    }

    /// A `GpuProfile` with this `spec`, as the sidecar decodes it.
    fn gpu_profile(spec: Value) -> InjectConfig {
        gpuops_inject::decode(&serde_json::json!({"apiVersion": "gpuops.dev/v1alpha1",
            "kind": "GpuProfile", "metadata": {"name": "p"}, "spec": spec}))
        .unwrap()
        .unwrap()
    }

    fn printed(output: &Output) -> String {
        let mut bytes = Vec::new();
        output.write_to(&mut bytes).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    /// A document the parameters change is re-emitted; every other one is
    /// printed from kustomize's bytes, comments and quoting kept.
    #[test]
    fn untouched_documents_stay_byte_for_byte() {
        let config = gpu_profile(serde_json::json!({"gpu": {"count": 2}}));
        let untouched = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}  # kept\ndata: {a: 'x'}\n";
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}\n";
        let input = format!("{untouched}---\n{deployment}");
        let budget = budget();
        let steps = Steps {
            configs: std::slice::from_ref(&config),
            gate: true,
            budget: &budget,
            models: &Resolver::catalog(),
            tallies: Default::default(),
        };
        let (output, kept) = kustomized(input.into_bytes(), &steps).unwrap();
        let text = printed(&output);
        assert!(text.starts_with(&format!("{untouched}---\n")), "{text}");
        assert!(text.contains("nvidia.com/gpu: 2"), "{text}");
        // The gate reads the Deployment as changed (2 GPUs), not the ConfigMap.
        let groups: Vec<_> = kept.groups().map(|g| (g.workload.to_string(), g.gpus())).collect();
        assert_eq!(groups, [("Deployment/d".to_string(), 2)]);
        // Nothing to change: the input exactly, separators included.
        let steps = Steps {
            configs: &[],
            gate: true,
            budget: &budget,
            models: &Resolver::catalog(),
            tallies: Default::default(),
        };
        let (output, _) = kustomized(format!("---\n{untouched}").into_bytes(), &steps).unwrap();
        assert_eq!(printed(&output), format!("---\n{untouched}"));
        assert!(!output.is_empty());
    }

    /// What the gate keeps of a document is its pod groups, not the
    /// document: a 1 MB env value is printed, not held a second time.
    #[test]
    fn the_gate_keeps_pod_groups_not_documents() {
        let payload = "x".repeat(1 << 20);
        let deployment = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: llm}}\nspec:\n  template:\n    spec:\n      nodeSelector: {{pool: h100}}\n      containers:\n      - name: c\n        image: i\n        env: [{{name: BIG, value: {payload}}}]\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n"
        );
        let budget = budget();
        let steps = Steps {
            configs: &[],
            gate: true,
            budget: &budget,
            models: &Resolver::catalog(),
            tallies: Default::default(),
        };
        let (output, kept) = kustomized(deployment.clone().into_bytes(), &steps).unwrap();
        assert_eq!(printed(&output), deployment);
        let group = kept.groups().next().unwrap();
        assert_eq!(group.spec, serde_json::json!({"nodeSelector": {"pool": "h100"}}));
        assert_eq!(&*group.containers, r#"{"containers":[{"resources":{"limits":{"nvidia.com/gpu":1}}}]}"#);
    }

    /// The gate's lines follow the function's own `gpuops.dev/warnings`
    /// on the same object, each once: annotating the same output again
    /// gives the same bytes (no perpetual diff in Argo CD).
    #[test]
    fn the_gates_warnings_follow_the_functions_own() {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: ml\n  annotations:\n    gpuops.dev/warnings: from the function\nspec: {}\n";
        let budget = budget();
        let steps = Steps {
            configs: &[],
            gate: false,
            budget: &budget,
            models: &Resolver::catalog(),
            tallies: Default::default(),
        };
        let (mut output, _) = kustomized(deployment.as_bytes().to_vec(), &steps).unwrap();
        let lines = std::collections::BTreeMap::from([(
            "Deployment/ml/d".to_string(),
            "fit gate: vLLM version unknown: assumed 0.34.0".to_string(),
        )]);
        output.annotate_appending(WARNINGS_ANNOTATION, &lines).unwrap();
        let once = printed(&output);
        output.annotate_appending(WARNINGS_ANNOTATION, &lines).unwrap();
        assert_eq!(printed(&output), once);
        let value = yaml::parse_document(&once, "out", 1).unwrap();
        assert_eq!(
            value["metadata"]["annotations"]["gpuops.dev/warnings"],
            "from the function\nfit gate: vLLM version unknown: assumed 0.34.0"
        );
        // `annotate` (the gate's `gpuops.dev/fit`) replaces instead.
        output.annotate(WARNINGS_ANNOTATION, &lines).unwrap();
        let value = yaml::parse_document(&printed(&output), "out", 1).unwrap();
        assert_eq!(
            value["metadata"]["annotations"]["gpuops.dev/warnings"],
            "fit gate: vLLM version unknown: assumed 0.34.0"
        );
    }

    #[test]
    fn a_stopped_budget_ends_the_reading() {
        let stop = crate::run::Stop::default();
        let budget = Budget::new(std::time::Instant::now() + std::time::Duration::from_secs(60), stop.clone());
        let config = gpu_profile(serde_json::json!({"gpu": {"count": 2}}));
        let steps = Steps {
            configs: std::slice::from_ref(&config),
            gate: false,
            budget: &budget,
            models: &Resolver::catalog(),
            tallies: Default::default(),
        };
        stop.request();
        let err = kustomized(b"apiVersion: v1\nkind: ConfigMap\n".to_vec(), &steps).err().unwrap();
        assert!(err.to_string().starts_with("reading the render: stopped by SIGTERM"), "{err}");
    }
    /// The repo's own GpuProfile (run as a legacy plugin) already wrote
    /// `gpuops.dev/warnings`; the app's parameter profile adds its own
    /// lines after them, each once, instead of replacing them: both reach
    /// Argo CD's UI, and a second pass gives the same bytes.
    #[test]
    fn parameter_warnings_follow_the_repos_own_lines() {
        let budget = budget();
        let config = gpu_profile(serde_json::json!({"gpu": {"count": "auto", "product": "NVIDIA-L40S"}}));
        let steps = Steps {
            configs: std::slice::from_ref(&config),
            gate: false,
            budget: &budget,
            models: &Resolver::catalog(),
            tallies: Default::default(),
        };
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm\n  namespace: ml\n  annotations:\n    gpuops.dev/warnings: from the repo's GpuProfile\nspec:\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:latest\n        args: [--model=meta-llama/Llama-3.1-8B-Instruct, --max-model-len=8192]\n";
        let mut value = yaml::parse_document(text, "test", 1).unwrap();
        assert!(steps.transform(text, &mut value).unwrap());
        let lines = |v: &Value| -> Vec<String> {
            v.pointer("/metadata/annotations/gpuops.dev~1warnings")
                .and_then(Value::as_str)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        };
        let first = lines(&value);
        assert_eq!(first[0], "from the repo's GpuProfile", "{first:?}");
        assert!(first.len() == 2 && first[1].contains("vLLM version unknown: assumed"), "{first:?}");
        steps.transform(text, &mut value).unwrap();
        assert_eq!(lines(&value), first, "a second pass adds nothing");
    }
}
