//! The `gpuops-inject` transformations and the two ways they are driven: a
//! KRM `ResourceList` and a kustomize legacy exec plugin stream.

pub mod config;
mod gpu;
mod install;
mod selector;
mod tags;

use gpuops_model::resolve::Resolver;
use serde_json::Value;

pub use config::{ConfigError, InjectConfig, decode};
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
}

impl Outcome {
    pub fn failed(&self) -> bool {
        krm::has_errors(&self.results)
    }
}

/// Apply a decoded configuration to `items` in place. `count: auto` sizes
/// models through `models` (`gpuops_model::resolve`: the binary builds it
/// from its environment; [`Resolver::catalog`] knows the catalog alone).
pub fn transform(config: &InjectConfig, items: &mut [Value], models: &Resolver<'_>) -> Outcome {
    let started = std::time::Instant::now();
    let outcome = transform_items(config, items, models);
    tracing::debug!(
        config = %config.object, items = items.len(), changed = outcome.changed.iter().filter(|c| **c).count(),
        elapsed = ?started.elapsed(), "transformed"
    );
    outcome
}

fn transform_items(config: &InjectConfig, items: &mut [Value], models: &Resolver<'_>) -> Outcome {
    let mut outcome = Outcome { results: Vec::new(), changed: vec![false; items.len()] };
    if let Some(spec) = &config.gpu {
        let (mut selected, mut changed) = (0usize, 0usize);
        let mut recreated: Vec<String> = Vec::new();
        let mut saved_gpus = 0u64;
        for (i, item) in items.iter_mut().enumerate() {
            if !locator::is_workload(item) || !selector::matches(&spec.selector, item) {
                continue;
            }
            selected += 1;
            let applied = gpu::apply(spec, item, &mut outcome.results, models);
            if applied.changed {
                changed += 1;
                outcome.changed[i] = true;
            }
            if let Some(gpus) = applied.recreate_saved_gpus {
                saved_gpus += gpus;
                recreated.push(krm::ResourceRef::of(item).to_string());
            }
        }
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
        if selected == 0 {
            outcome.results.push(
                KrmResult::new(Severity::Warning, format!("{}: selector matched no workload", config.object)).at(
                    "spec.selector",
                    serde_json::to_value(&spec.selector).ok(),
                    None,
                ),
            );
        }
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
        outcome.results.extend(stats.warnings(spec, &config.object));
        outcome.results.push(KrmResult::new(
            Severity::Info,
            format!("{}: {} reference(s) changed in {objects} object(s)", config.object, stats.references_changed),
        ));
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
    Ok(FunctionRun { output: list.write(&changed), results, exit_code })
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
pub fn run_plugin(
    config_text: &str,
    config_name: &str,
    stream: &str,
    models: &Resolver<'_>,
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
    let outcome = transform(&config, &mut items, models);
    if outcome.failed() {
        let lines: Vec<String> =
            outcome.results.iter().filter(|r| r.severity == Severity::Error).map(KrmResult::to_line).collect();
        return Err(PluginError::Failed(lines.join("\n")));
    }
    Ok((write_stream(&docs, &items, &outcome.changed), outcome.results))
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
