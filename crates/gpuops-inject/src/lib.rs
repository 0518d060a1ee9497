//! The `gpuops-inject` transformations and the two ways they are driven: a
//! KRM `ResourceList` and a kustomize legacy exec plugin stream.

pub mod config;
mod gpu;
mod install;
mod selector;
mod tags;

use gpuops_model::resolve::Resolver;
use serde_json::Value;

pub use config::{ConfigError, InjectConfig, OnNoMatch, decode};
pub use install::{PLUGIN_GROUP_VERSION, PLUGIN_KINDS, default_plugin_home, install_plugin};

use gpuops_manifest::krm::{self, KrmResult, ResourceList, Severity};
use gpuops_manifest::locator;
use gpuops_manifest::yaml::{self, Document};

/// What a transformation did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub results: Vec<KrmResult>,
    /// Per item: whether it was modified.
    pub changed: Vec<bool>,
    /// What the config matched, for [`no_match`] over a whole render.
    pub tally: Tally,
}

/// What a config matched, added up over the calls of one render (the
/// Argo CD sidecar transforms a render document by document).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Workloads a `GpuProfile`'s selector selected.
    pub selected: usize,
    /// Per `ModelTags` model, references rewritten (or already right).
    pub model_hits: Vec<usize>,
    /// Per `ModelTags` field spec, values found.
    pub field_hits: Vec<usize>,
}

impl Tally {
    /// Count `other` (a later call's) in.
    pub fn add(&mut self, other: &Tally) {
        self.selected += other.selected;
        for (mine, theirs) in [(&mut self.model_hits, &other.model_hits), (&mut self.field_hits, &other.field_hits)] {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m += t);
        }
    }
}

/// The findings for what `config` matched nothing of in a whole render
/// (`tally`), at the config's `onNoMatch`, else `default` (the driver's:
/// [`OnNoMatch`]). An error says how to allow it.
pub fn no_match(config: &InjectConfig, tally: &Tally, default: OnNoMatch) -> Vec<KrmResult> {
    let severity = |set: Option<OnNoMatch>| match set.unwrap_or(default) {
        OnNoMatch::Warn => Severity::Warning,
        OnNoMatch::Error => Severity::Error,
    };
    let mut out = Vec::new();
    if let Some(spec) = &config.gpu
        && tally.selected == 0
    {
        out.push(
            KrmResult::new(severity(spec.on_no_match), format!("{}: selector matched no workload", config.object)).at(
                "spec.selector",
                serde_json::to_value(&spec.selector).ok(),
                None,
            ),
        );
    }
    if let Some(spec) = &config.models {
        out.extend(tags::no_match(
            spec,
            &config.object,
            &tally.model_hits,
            &tally.field_hits,
            severity(spec.on_no_match),
        ));
    }
    out
}

/// [`no_match`]'s errors worded for a config file: how to allow it.
fn with_allow_hint(mut results: Vec<KrmResult>) -> Vec<KrmResult> {
    for r in results.iter_mut().filter(|r| r.severity == Severity::Error) {
        r.message.push_str(" (spec.onNoMatch: warn allows it)");
    }
    results
}

impl Outcome {
    pub fn failed(&self) -> bool {
        krm::has_errors(&self.results)
    }
}

/// Apply a decoded configuration to `items` in place. `count: auto` sizes
/// models through `models` (`gpuops_model::resolve`: the binary builds it
/// from its environment; [`Resolver::catalog`] knows the catalog alone).
/// What matched nothing is a warning unless the config says `onNoMatch:
/// error`: this is the KRM function's default, where results are shown.
pub fn transform(config: &InjectConfig, items: &mut [Value], models: &Resolver<'_>) -> Outcome {
    transform_with(config, items, models, OnNoMatch::Warn)
}

/// [`transform`] with the driver's `onNoMatch` default.
pub fn transform_with(
    config: &InjectConfig,
    items: &mut [Value],
    models: &Resolver<'_>,
    default: OnNoMatch,
) -> Outcome {
    let mut outcome = transform_part(config, items, models);
    outcome.results.extend(with_allow_hint(no_match(config, &outcome.tally, default)));
    outcome
}

/// [`transform`] on a part of a render: no finding for what matched
/// nothing (a later part may match it); add up the parts' [`Outcome::tally`]
/// and call [`no_match`] at the end.
pub fn transform_part(config: &InjectConfig, items: &mut [Value], models: &Resolver<'_>) -> Outcome {
    let started = std::time::Instant::now();
    let outcome = transform_items(config, items, models);
    tracing::debug!(
        config = %config.object, items = items.len(), changed = outcome.changed.iter().filter(|c| **c).count(),
        elapsed = ?started.elapsed(), "transformed"
    );
    outcome
}

/// What the `GpuProfile` pass over a run of items found, in item order.
#[derive(Default)]
struct GpuPass {
    selected: usize,
    changed: usize,
    recreated: Vec<String>,
    saved_gpus: u64,
    results: Vec<KrmResult>,
}

impl GpuPass {
    /// `later`'s items came after this pass's: results keep item order.
    fn then(mut self, later: GpuPass) -> GpuPass {
        self.selected += later.selected;
        self.changed += later.changed;
        self.recreated.extend(later.recreated);
        self.saved_gpus += later.saved_gpus;
        self.results.extend(later.results);
        self
    }
}

/// Items below which one thread does the whole pass: starting threads
/// costs more than a few hundred workloads take.
const PARALLEL_FROM: usize = 512;

/// Apply the profile to every selected workload. Each workload is changed
/// on its own, so a large list is cut into one run of items per core and
/// the runs' findings are joined in item order: the output, the results
/// and their order are those of one pass.
fn gpu_pass(
    spec: &config::GpuProfileSpec,
    items: &mut [Value],
    changed: &mut [bool],
    models: &Resolver<'_>,
) -> GpuPass {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if items.len() < PARALLEL_FROM || cores == 1 {
        return gpu_run(spec, items, changed, models);
    }
    let per = items.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let runs: Vec<_> = items
            .chunks_mut(per)
            .zip(changed.chunks_mut(per))
            .map(|(items, changed)| scope.spawn(move || gpu_run(spec, items, changed, models)))
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .fold(GpuPass::default(), GpuPass::then)
    })
}

fn gpu_run(spec: &config::GpuProfileSpec, items: &mut [Value], changed: &mut [bool], models: &Resolver<'_>) -> GpuPass {
    let mut pass = GpuPass::default();
    for (item, changed) in items.iter_mut().zip(changed.iter_mut()) {
        if !locator::is_workload(item) || !selector::matches(&spec.selector, item) {
            continue;
        }
        pass.selected += 1;
        let applied = gpu::apply(spec, item, &mut pass.results, models);
        if applied.changed {
            pass.changed += 1;
            *changed = true;
        }
        if let Some(gpus) = applied.recreate_saved_gpus {
            pass.saved_gpus += gpus;
            pass.recreated.push(krm::ResourceRef::of(item).to_string());
        }
    }
    pass
}

fn transform_items(config: &InjectConfig, items: &mut [Value], models: &Resolver<'_>) -> Outcome {
    let mut outcome = Outcome { results: Vec::new(), changed: vec![false; items.len()], tally: Tally::default() };
    if let Some(spec) = &config.gpu {
        let GpuPass { selected, changed, recreated, saved_gpus, results } =
            gpu_pass(spec, items, &mut outcome.changed, models);
        outcome.results.extend(results);
        if !recreated.is_empty() {
            // One summary, not one result per object: a fleet-wide profile
            // would otherwise bury real warnings.
            const SHOWN: usize = 5;
            let more =
                if recreated.len() > SHOWN { format!(" and {} more", recreated.len() - SHOWN) } else { String::new() };
            outcome.results.push(KrmResult::new(
                Severity::Info,
                format!(
                    "{}: strategy set to Recreate for {} workload(s) whose rolling update would need {saved_gpus} extra GPU(s): {}{more}",
                    config.object,
                    recreated.len(),
                    recreated[..recreated.len().min(SHOWN)].join(", ")
                ),
            ));
        }
        outcome.tally.selected = selected;
        outcome.results.push(KrmResult::new(
            Severity::Info,
            format!("{}: {changed} of {selected} selected workload(s) changed", config.object),
        ));
    }
    if let Some(spec) = &config.models {
        let mut stats = tags::TagStats::new(spec);
        let mut objects = 0usize;
        for (i, item) in items.iter_mut().enumerate() {
            if tags::apply(spec, item, &mut stats) {
                objects += 1;
                outcome.changed[i] = true;
            }
        }
        outcome.results.push(KrmResult::new(
            Severity::Info,
            format!("{}: {} reference(s) changed in {objects} object(s)", config.object, stats.references_changed),
        ));
        outcome.tally.model_hits = stats.model_hits;
        outcome.tally.field_hits = stats.field_hits;
    }
    outcome
}

/// The result of running the function on a `ResourceList`.
#[derive(Debug)]
pub struct FunctionRun {
    /// The ResourceList to print on stdout (always written, even on failure).
    pub output: String,
    pub results: Vec<KrmResult>,
    /// KRM exit code: 1 when any result is an error.
    pub exit_code: i32,
    /// The parsed list, handed back instead of dropped here: a process that
    /// exits once `output` is written can skip freeing it
    /// (`std::mem::forget`). Freeing the trees of 10,000 objects, allocated
    /// on other threads, was 16 % of the function's CPU time on the
    /// 10,000-object benchmark, every bit of it after the output was ready.
    pub list: ResourceList,
}

/// Run as a KRM function: `ResourceList` text in, `ResourceList` text out.
/// An input that is not a ResourceList at all is an `Err`: there is nothing
/// to echo back.
pub fn run_resource_list(input: &str, models: &Resolver<'_>) -> Result<FunctionRun, krm::ReadError> {
    let mut list = ResourceList::read_filtered(input, "<stdin>", |config| {
        let config = config.and_then(|c| decode(c).ok().flatten());
        move |text: &str| config.as_ref().is_none_or(|c| c.may_change(text))
    })?;
    let mut changed = vec![false; list.items.len()];
    let results = match list.function_config.as_ref().map(decode) {
        None | Some(Ok(None)) => {
            vec![KrmResult::new(
                Severity::Info,
                "no functionConfig given (GpuProfile, ModelTags or ConfigMap); items passed through",
            )]
        }
        Some(Err(e)) => {
            // The object and field travel in resourceRef and field; the
            // message is only what is wrong (kpt prints all three).
            let mut r = KrmResult::new(Severity::Error, e.message.clone());
            if !e.field.is_empty() {
                r = r.at(e.field, None, None);
            }
            if let Some(config) = list.function_config.as_ref().filter(|c| c.get("kind").is_some_and(Value::is_string))
            {
                r = r.on(config);
            }
            vec![r]
        }
        Some(Ok(Some(config))) => {
            let outcome = transform(&config, &mut list.items, models);
            if outcome.failed() {
                // On error every item goes back as it came.
                if list.item_texts.is_none() {
                    list.items = ResourceList::read(input, "<stdin>")?.items;
                }
            } else {
                changed = outcome.changed;
            }
            outcome.results
        }
    };
    list.push_results(&results);
    let exit_code = i32::from(krm::has_errors(&results));
    Ok(FunctionRun { output: list.write(&changed), results, exit_code, list })
}

/// Errors of the legacy exec plugin mode.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Failed(String),
}

/// Run as a kustomize legacy exec plugin: `config_text` is the plugin
/// config, `stream` the resources. Objects the function does not change are
/// written back exactly as read.
/// What matches nothing is a warning: for a driver that shows the
/// warnings (kubectl-gpufit prints them); the function's own legacy plugin
/// mode uses [`run_plugin_with`] and [`OnNoMatch::Error`].
pub fn run_plugin(
    config_text: &str,
    config_name: &str,
    stream: &str,
    models: &Resolver<'_>,
) -> Result<(String, Vec<KrmResult>), PluginError> {
    run_plugin_with(config_text, config_name, stream, models, OnNoMatch::Warn)
}

/// [`run_plugin`] with the driver's `onNoMatch` default.
pub fn run_plugin_with(
    config_text: &str,
    config_name: &str,
    stream: &str,
    models: &Resolver<'_>,
    default: OnNoMatch,
) -> Result<(String, Vec<KrmResult>), PluginError> {
    plugin(config_text, config_name, stream, models, default, false)
}

/// The function's own legacy plugin mode: matching nothing is an error
/// unless the config says `onNoMatch: warn`, and each warning about an
/// object also goes into that object's [`WARNINGS_ANNOTATION`] — kustomize
/// shows a legacy plugin's stderr only when it fails, so a warning there
/// (`count: auto` sized on an assumed vLLM version) would reach nobody;
/// in the output it reaches `kubectl kustomize`'s reader and, through the
/// Argo CD sidecar, the UI (the sidecar writes the same annotation from
/// [`transform_part`]'s warnings).
pub fn run_legacy_plugin(
    config_text: &str,
    config_name: &str,
    stream: &str,
    models: &Resolver<'_>,
) -> Result<(String, Vec<KrmResult>), PluginError> {
    plugin(config_text, config_name, stream, models, OnNoMatch::Error, true)
}

fn plugin(
    config_text: &str,
    config_name: &str,
    stream: &str,
    models: &Resolver<'_>,
    default: OnNoMatch,
    annotate: bool,
) -> Result<(String, Vec<KrmResult>), PluginError> {
    let config_docs = yaml::parse_stream(config_text, config_name)?;
    let [config_doc] = config_docs.as_slice() else {
        return Err(PluginError::Failed(format!(
            "{config_name}: expected one config document, found {}",
            config_docs.len()
        )));
    };
    let Some(config) = decode(&config_doc.value)? else {
        return Ok((stream.to_string(), Vec::new()));
    };
    let docs = yaml::parse_stream_filtered(stream, "<stdin>", &|text| config.may_change(text))?;
    let mut items: Vec<Value> = docs.iter().map(|d| d.value.clone()).collect();
    let mut outcome = transform_with(&config, &mut items, models, default);
    if outcome.failed() {
        let lines: Vec<String> =
            outcome.results.iter().filter(|r| r.severity == Severity::Error).map(KrmResult::to_line).collect();
        return Err(PluginError::Failed(lines.join("\n")));
    }
    if annotate {
        annotate_warnings(&mut items, &outcome.results, &mut outcome.changed);
    }
    Ok((write_stream(&docs, &items, &outcome.changed), outcome.results))
}

/// The annotation that carries the function's warnings about an object,
/// one per line (the name the Argo CD sidecar uses too).
pub const WARNINGS_ANNOTATION: &str = "gpuops.dev/warnings";

/// Add each warning result about an item to its [`WARNINGS_ANNOTATION`]:
/// after the lines already there, each line once, so applying the config
/// again leaves the same bytes. Marks the items it changed.
fn annotate_warnings(items: &mut [Value], results: &[KrmResult], changed: &mut [bool]) {
    let mut about: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
    for r in results.iter().filter(|r| r.severity == Severity::Warning) {
        if let Some(object) = &r.resource_ref {
            about.entry(object.to_string()).or_default().push(&r.message);
        }
    }
    if about.is_empty() {
        return;
    }
    for (item, changed) in items.iter_mut().zip(changed.iter_mut()) {
        let Some(warnings) = about.get(&krm::ResourceRef::of(item).to_string()) else { continue };
        let Some(metadata) = item.get_mut("metadata").and_then(Value::as_object_mut) else { continue };
        let annotations = metadata.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
        let Some(annotations) = annotations.as_object_mut() else { continue };
        let existing = annotations.get(WARNINGS_ANNOTATION).and_then(Value::as_str);
        if let Some(joined) = append_lines(existing, warnings.iter().copied()) {
            annotations.insert(WARNINGS_ANNOTATION.into(), Value::String(joined));
            *changed = true;
        }
    }
}

/// `existing` (one line each, as [`WARNINGS_ANNOTATION`] holds them) with
/// each of `new` after it that is not there yet, each once; `None` when
/// nothing was added. Keeping what is there, in order, makes a second pass
/// (or a second writer: the legacy plugin, then the Argo CD sidecar) leave
/// the same bytes.
pub fn append_lines<'a>(existing: Option<&'a str>, new: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut lines: Vec<&str> = existing.map(|text| text.lines().collect()).unwrap_or_default();
    let before = lines.len();
    for line in new {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    (lines.len() > before).then(|| lines.join("\n"))
}

/// A YAML stream: unchanged documents as read, changed ones re-emitted.
pub fn write_stream(docs: &[Document], items: &[Value], changed: &[bool]) -> String {
    let mut out = String::with_capacity(docs.iter().map(|d| d.text.len() + 4).sum());
    for (i, (doc, item)) in docs.iter().zip(items).enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        if changed[i] {
            let mut emitted = String::new();
            yaml::write_document(&mut emitted, item);
            out.push_str(&yaml::restore_octal_forms(&doc.text, &emitted));
        } else {
            out.push_str(&doc.text);
            if !doc.text.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Workloads of every shape the pass meets — changed, already right,
    /// not selected, without a container, not a workload — well past the
    /// size where it is cut into runs per core.
    fn fleet() -> Vec<Value> {
        (0..2_000)
            .map(|i| match i % 5 {
                0 => json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}}),
                1 => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("d{i}"), "namespace": "ml"},
                    "spec": {"replicas": 2, "template": {"spec": {"containers": []}}}}),
                _ => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("d{i}"), "namespace": "ml"},
                    "spec": {"replicas": i % 3 + 1, "template": {"spec": {"containers": [{"name": "vllm",
                        "image": "vllm/vllm-openai:v0.10.1", "args": ["--model=Qwen/Qwen2.5-7B-Instruct"],
                        "resources": {"limits": {"nvidia.com/gpu": i % 4}}}]}}}}),
            })
            .collect()
    }

    /// Cut into runs per core or not, the items, the changed flags, the
    /// results and their order are the same.
    #[test]
    fn a_large_list_gives_what_one_pass_gives() {
        let profile = json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "GpuProfile", "metadata": {"name": "p"},
            "spec": {"gpu": {"count": 2, "product": "NVIDIA-L40S"}, "strategy": "auto"}});
        let spec = config::decode(&profile).unwrap().unwrap().gpu.unwrap();
        let models = Resolver::catalog();
        let (mut one, mut cut) = (fleet(), fleet());
        let (mut one_changed, mut cut_changed) = (vec![false; one.len()], vec![false; cut.len()]);
        let single = gpu_run(&spec, &mut one, &mut one_changed, &models);
        let parallel = gpu_pass(&spec, &mut cut, &mut cut_changed, &models);
        assert!(cut.len() >= PARALLEL_FROM);
        assert_eq!((one, one_changed), (cut, cut_changed));
        assert_eq!(
            (single.selected, single.changed, single.saved_gpus),
            (parallel.selected, parallel.changed, parallel.saved_gpus)
        );
        assert!(parallel.changed > 0 && !parallel.results.is_empty(), "the fleet exercises changes and results");
        assert_eq!((single.recreated, single.results), (parallel.recreated, parallel.results));
    }
}
