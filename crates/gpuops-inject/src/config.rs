//! The function's configuration: `GpuProfile`, `ModelTags`, or a flat
//! `ConfigMap`, decoded strictly so a typo is an error naming the field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use gpuops_manifest::imageref::{ImageRef, is_digest, is_tag};
use gpuops_manifest::path::FieldPath;
use gpuops_manifest::quantity::parse_quantity;
use gpuops_manifest::rollout::DeploymentMode;

pub const API_VERSION: &str = "gpuops.dev/v1alpha1";
pub const DEFAULT_GPU_RESOURCE: &str = "nvidia.com/gpu";

/// A configuration that cannot be used, naming the object and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", prefix(object), prefix(field))]
pub struct ConfigError {
    /// `Kind/name` of the config object.
    pub object: String,
    /// Dotted path of the offending field.
    pub field: String,
    pub message: String,
}

/// Which workloads a profile applies to. All fields AND-ed; empty selects all.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Names; `*` matches any run of characters. A name also matches an
    /// object's names before kustomize's prefix/suffix were applied.
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GpuSpec {
    pub count: GpuCount,
    #[serde(default = "default_resource")]
    pub resource: String,
    #[serde(default)]
    pub product: Option<String>,
    /// `count: auto` tries up to this many GPUs per pod (default 8).
    #[serde(default)]
    pub max_count: Option<u32>,
    /// `count: auto`: the model's `config.json` (a file or directory the
    /// function can read), for a model outside gpuops' catalog.
    #[serde(default)]
    pub model_config: Option<String>,
}

/// GPUs per pod: a number, or `auto` — the smallest count (and
/// `--tensor-parallel-size`) at which the workload's model fits on
/// `spec.gpu.product` at its `--max-model-len`, by gpufit's memory model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuCount {
    Fixed(u32),
    Auto,
}

impl GpuCount {
    /// The fixed count; `auto` is resolved per workload before use.
    pub fn fixed(self) -> u32 {
        match self {
            GpuCount::Fixed(n) => n,
            GpuCount::Auto => 0,
        }
    }
}

impl<'de> Deserialize<'de> for GpuCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = GpuCount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number of GPUs or \"auto\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GpuCount, E> {
                u32::try_from(v)
                    .map(GpuCount::Fixed)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GpuCount, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GpuCount, E> {
                if v == "auto" {
                    Ok(GpuCount::Auto)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn default_resource() -> String {
    DEFAULT_GPU_RESOURCE.to_string()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum StrategyMode {
    Recreate,
    #[serde(rename = "auto")]
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorParallelMode {
    #[default]
    Auto,
    Check,
    Off,
}

/// What a config that matched nothing is (`spec.onNoMatch`): a profile
/// whose selector selected no workload, a model no reference names, a
/// field spec that found nothing. Unset, the driver decides: `warn` where
/// results are shown (the KRM function under kpt or kustomize's function
/// runner), `error` where warnings cannot be seen (kustomize's legacy exec
/// plugins, whose stderr kustomize shows only on failure, and the Argo CD
/// sidecar, whose stderr Argo CD keeps only on failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnNoMatch {
    Warn,
    Error,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GpuProfileSpec {
    #[serde(default)]
    pub selector: Selector,
    /// A selector that selects no workload: see [`OnNoMatch`].
    #[serde(default)]
    pub on_no_match: Option<OnNoMatch>,
    #[serde(default)]
    pub container: Option<String>,
    #[serde(default)]
    pub gpu: Option<GpuSpec>,
    #[serde(default = "yes")]
    pub tolerations: bool,
    #[serde(default)]
    pub runtime_class_name: Option<String>,
    #[serde(default)]
    pub shared_memory: Option<String>,
    #[serde(default)]
    pub strategy: Option<StrategyMode>,
    #[serde(default)]
    pub tensor_parallel: TensorParallelMode,
    /// Also apply to Ray head groups (worker groups only by default).
    #[serde(default)]
    pub ray_head: bool,
    /// The cluster's KServe default (`deploy.defaultDeploymentMode` of the
    /// `inferenceservice-config` ConfigMap) for InferenceServices without a
    /// `serving.kserve.io/deploymentMode` annotation; KServe ships Knative
    /// (`Serverless`). Decides whether `strategy` applies to them.
    #[serde(default)]
    pub kserve_default_deployment_mode: Option<String>,
}

impl GpuProfileSpec {
    /// [`Self::kserve_default_deployment_mode`], validated in [`decode`].
    pub fn kserve_default(&self) -> DeploymentMode {
        self.kserve_default_deployment_mode.as_deref().and_then(DeploymentMode::parse).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelSpec {
    pub name: String,
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub new_tag: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
}

impl ModelSpec {
    /// The new reference for an old one, kustomize `images:` rules: a new tag
    /// drops an old digest, a new digest drops an old tag unless a new tag is
    /// also given.
    pub fn rewrite(&self, old: &ImageRef) -> ImageRef {
        let name = self.new_name.clone().unwrap_or_else(|| old.name.clone());
        let (tag, digest) = match (&self.new_tag, &self.digest) {
            (None, None) => (old.tag.clone(), old.digest.clone()),
            (Some(t), None) => (Some(t.clone()), None),
            (None, Some(d)) => (None, Some(d.clone())),
            (Some(t), Some(d)) => (Some(t.clone()), Some(d.clone())),
        };
        ImageRef { name, tag, digest }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    #[default]
    Tag,
    Digest,
    Ref,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldSpec {
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    pub path: String,
    pub model: String,
    #[serde(default)]
    pub part: Part,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelTagsSpec {
    #[serde(default)]
    pub models: Vec<ModelSpec>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// A model or field spec that matches nothing: see [`OnNoMatch`].
    #[serde(default)]
    pub on_no_match: Option<OnNoMatch>,
}

/// A decoded, validated configuration.
#[derive(Debug, Clone, Default)]
pub struct InjectConfig {
    /// `Kind/name`, for messages.
    pub object: String,
    pub gpu: Option<GpuProfileSpec>,
    pub models: Option<ModelTagsSpec>,
}

impl InjectConfig {
    pub fn is_empty(&self) -> bool {
        self.gpu.is_none() && self.models.is_none()
    }

    /// Whether an object, judged from its text alone, could be changed by
    /// this config. `false` only when certain: a kind no GPU profile
    /// applies to and no model name anywhere in the text. Such objects are
    /// passed through unparsed, byte for byte.
    pub fn may_change(&self, text: &str) -> bool {
        let Some((api_version, kind)) = gpuops_manifest::yaml::header_of(text) else {
            return true;
        };
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let gpu = self.gpu.as_ref().is_some_and(|g| {
            gpuops_manifest::locator::known_kind(group, kind)
                && (g.selector.kinds.is_empty() || g.selector.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)))
        });
        let models = self.models.as_ref().is_some_and(|m| {
            m.models.iter().any(|model| text.contains(model.name.as_str())) || m.fields.iter().any(|f| f.kind == kind)
        });
        gpu || models
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Envelope<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<Value>,
    spec: S,
}

/// `text: `, or nothing for an empty part of a message.
fn prefix(text: &str) -> String {
    if text.is_empty() { String::new() } else { format!("{text}: ") }
}

/// Decode a function config object. `None` for the empty placeholder kpt
/// passes when no config was given.
pub fn decode(config: &Value) -> Result<Option<InjectConfig>, ConfigError> {
    if !config.is_object() {
        let shown: String = config.to_string().chars().take(60).collect();
        return Err(ConfigError {
            object: String::new(),
            field: String::new(),
            message: format!(
                "functionConfig must be a mapping ({API_VERSION} GpuProfile or ModelTags, or a v1 ConfigMap), not {shown}"
            ),
        });
    }
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = config.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let object = if kind.is_empty() { "functionConfig".to_string() } else { format!("{kind}/{name}") };
    let err = |field: &str, message: String| ConfigError { object: object.clone(), field: field.to_string(), message };
    let api_version = config.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match kind {
        "GpuProfile" | "ModelTags" if api_version != API_VERSION => {
            Err(err("apiVersion", format!("{api_version:?} is not supported; use {API_VERSION}")))
        }
        "GpuProfile" => {
            let spec: GpuProfileSpec = strict(config, &object)?;
            validate_gpu(&spec).map_err(|(f, m)| err(&f, m))?;
            Ok(Some(InjectConfig { object, gpu: Some(spec), models: None }))
        }
        "ModelTags" => {
            let spec: ModelTagsSpec = strict(config, &object)?;
            validate_models(&spec).map_err(|(f, m)| err(&f, m))?;
            Ok(Some(InjectConfig { object, gpu: None, models: Some(spec) }))
        }
        "ConfigMap" if api_version == "v1" => {
            let config = from_config_map(config).map_err(|(f, m)| err(&f, m))?;
            Ok(config.map(|mut c| {
                c.object = object.clone();
                c
            }))
        }
        _ => Err(err(
            "kind",
            format!(
                "unsupported functionConfig {}; expected {API_VERSION} GpuProfile or ModelTags, or a v1 ConfigMap",
                if kind.is_empty() { "without a kind".to_string() } else { format!("{api_version}/{kind}") }
            ),
        )),
    }
}

fn strict<S: DeserializeOwned>(config: &Value, object: &str) -> Result<S, ConfigError> {
    serde_path_to_error::deserialize::<_, Envelope<S>>(config).map(|e| e.spec).map_err(|e| {
        let mut field = e.path().to_string();
        let message = e.inner().to_string();
        // serde_path_to_error already ends the path with an unknown field's name.
        if field == "." {
            field = "spec".to_string();
        }
        ConfigError { object: object.to_string(), field, message }
    })
}

type Invalid = (String, String);

fn validate_gpu(spec: &GpuProfileSpec) -> Result<(), Invalid> {
    if let Some(gpu) = &spec.gpu {
        let resource = &gpu.resource;
        let valid = resource
            .split_once('/')
            .is_some_and(|(domain, name)| domain.contains('.') && !name.is_empty() && !name.contains('/'));
        if !valid {
            return Err((
                "spec.gpu.resource".into(),
                format!("{resource:?} is not an extended resource name like nvidia.com/gpu or nvidia.com/mig-1g.10gb"),
            ));
        }
        if gpu.product.as_deref() == Some("") {
            return Err(("spec.gpu.product".into(), "must not be empty".into()));
        }
        if gpu.count == GpuCount::Auto {
            let product = gpu.product.as_deref().unwrap_or_default();
            if gpuops_model::catalog::gpu_product(product).is_none() {
                return Err((
                    "spec.gpu.product".into(),
                    if product.is_empty() {
                        "count: auto needs the GPU product to size the model against (e.g. NVIDIA-H100-80GB-HBM3)"
                            .into()
                    } else {
                        format!(
                            "{product:?} is not a GPU product gpuops knows; count: auto needs one (e.g. NVIDIA-L40S)"
                        )
                    },
                ));
            }
            if spec.tensor_parallel != TensorParallelMode::Auto {
                return Err((
                    "spec.tensorParallel".into(),
                    "count: auto sets --tensor-parallel-size with the count; it needs tensorParallel: auto".into(),
                ));
            }
            if gpu.max_count == Some(0) {
                return Err(("spec.gpu.maxCount".into(), "must be at least 1".into()));
            }
        } else if gpu.max_count.is_some() || gpu.model_config.is_some() {
            let field = if gpu.max_count.is_some() { "spec.gpu.maxCount" } else { "spec.gpu.modelConfig" };
            return Err((field.into(), "only used with count: auto".into()));
        }
    }
    if let Some(mode) = &spec.kserve_default_deployment_mode
        && DeploymentMode::parse(mode).is_none()
    {
        return Err((
            "spec.kserveDefaultDeploymentMode".into(),
            format!(
                "{mode:?} is not a KServe deployment mode: Standard (RawDeployment), Knative (Serverless) or ModelMesh"
            ),
        ));
    }
    if let Some(shm) = &spec.shared_memory
        && parse_quantity(shm).is_none_or(|q| q <= 0.0)
    {
        return Err(("spec.sharedMemory".into(), format!("{shm:?} is not a positive quantity such as 16Gi")));
    }
    if spec.tensor_parallel != TensorParallelMode::Off
        && spec.gpu.is_none()
        && spec.tensor_parallel == TensorParallelMode::Check
    {
        return Err(("spec.tensorParallel".into(), "check needs spec.gpu.count".into()));
    }
    Ok(())
}

fn validate_models(spec: &ModelTagsSpec) -> Result<(), Invalid> {
    for (i, model) in spec.models.iter().enumerate() {
        let at = |f: &str| format!("spec.models[{i}].{f}");
        match ImageRef::parse(&model.name) {
            Some(r) if r.tag.is_none() && r.digest.is_none() => {}
            _ => {
                return Err((at("name"), format!("{:?} must be a repository without tag or digest", model.name)));
            }
        }
        if model.new_name.is_none() && model.new_tag.is_none() && model.digest.is_none() {
            return Err((at("name"), "set at least one of newName, newTag, digest".into()));
        }
        if let Some(n) = &model.new_name
            && ImageRef::parse(n).is_none_or(|r| r.tag.is_some() || r.digest.is_some())
        {
            return Err((at("newName"), format!("{n:?} must be a repository without tag or digest")));
        }
        if let Some(t) = &model.new_tag
            && !is_tag(t)
        {
            return Err((at("newTag"), format!("{t:?} is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})")));
        }
        if let Some(d) = &model.digest
            && !is_digest(d)
        {
            return Err((at("digest"), format!("{d:?} is not a digest like sha256:<64 hex>")));
        }
    }
    for (i, field) in spec.fields.iter().enumerate() {
        let at = |f: &str| format!("spec.fields[{i}].{f}");
        FieldPath::parse(&field.path).map_err(|e| (at("path"), e.to_string()))?;
        let Some(model) = spec.models.iter().find(|m| m.name == field.model) else {
            return Err((at("model"), format!("{:?} is not one of spec.models[].name", field.model)));
        };
        let missing = match field.part {
            Part::Tag => model.new_tag.is_none().then_some("newTag"),
            Part::Digest => model.digest.is_none().then_some("digest"),
            Part::Ref => None,
        };
        if let Some(what) = missing {
            return Err((at("part"), format!("model {:?} has no {what} to write", field.model)));
        }
    }
    Ok(())
}

/// Keys a `ConfigMap` functionConfig may carry (all values are strings, as
/// `kpt fn eval -- key=value` produces them).
pub const CONFIG_MAP_KEYS: &[&str] = &[
    "gpuCount",
    "gpuResource",
    "gpuProduct",
    "gpuMaxCount",
    "gpuModelConfig",
    "container",
    "tolerations",
    "runtimeClassName",
    "sharedMemory",
    "strategy",
    "tensorParallel",
    "rayHead",
    "kserveDefaultDeploymentMode",
    "kinds",
    "names",
    "namespaces",
    "labels",
    "name",
    "newName",
    "newTag",
    "digest",
    "onNoMatch",
];

/// The keys that make a `GpuProfile` (the first thirteen of [`CONFIG_MAP_KEYS`]).
const GPU_KEYS: &[&str] = CONFIG_MAP_KEYS.split_at(13).0;

fn from_config_map(config: &Value) -> Result<Option<InjectConfig>, Invalid> {
    let data = match config.get("data") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(d)) => d,
        Some(_) => return Err(("data".into(), "must be a mapping of strings".into())),
    };
    let mut get = BTreeMap::new();
    for (key, value) in data {
        if !CONFIG_MAP_KEYS.contains(&key.as_str()) {
            return Err((format!("data.{key}"), format!("unknown key; known keys: {}", CONFIG_MAP_KEYS.join(", "))));
        }
        let Some(text) = value.as_str() else {
            return Err((format!("data.{key}"), "ConfigMap data values must be strings".into()));
        };
        get.insert(key.as_str(), text);
    }
    let list = |k: &str| {
        get.get(k)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    };
    let parse_bool = |k: &str, default: bool| match get.get(k).copied() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err((format!("data.{k}"), format!("{other:?} is not true or false"))),
    };
    let on_no_match = match get.get("onNoMatch").copied() {
        None => None,
        Some("warn") => Some(OnNoMatch::Warn),
        Some("error") => Some(OnNoMatch::Error),
        Some(other) => return Err(("data.onNoMatch".into(), format!("{other:?} is not warn or error"))),
    };
    let mut labels = BTreeMap::new();
    for pair in list("labels") as Vec<String> {
        let (k, v) =
            pair.split_once('=').ok_or_else(|| ("data.labels".to_string(), format!("{pair:?} is not key=value")))?;
        labels.insert(k.to_string(), v.to_string());
    }
    let selector = Selector { kinds: list("kinds"), names: list("names"), namespaces: list("namespaces"), labels };
    let mut out = InjectConfig::default();
    if GPU_KEYS.iter().any(|k| get.contains_key(k)) {
        let gpu = match get.get("gpuCount") {
            Some(n) => Some(GpuSpec {
                count: match *n {
                    "auto" => GpuCount::Auto,
                    n => GpuCount::Fixed(n.parse().map_err(|_| {
                        ("data.gpuCount".to_string(), format!("{n:?} is not a non-negative integer or auto"))
                    })?),
                },
                resource: get.get("gpuResource").map_or_else(default_resource, |s| (*s).to_string()),
                product: get.get("gpuProduct").map(|s| (*s).to_string()),
                max_count: get
                    .get("gpuMaxCount")
                    .map(|v| v.parse().map_err(|_| ("data.gpuMaxCount".to_string(), format!("{v:?} is not a number"))))
                    .transpose()?,
                model_config: get.get("gpuModelConfig").map(|s| (*s).to_string()),
            }),
            None if get.contains_key("gpuResource") || get.contains_key("gpuProduct") => {
                return Err(("data.gpuCount".into(), "required with gpuResource or gpuProduct".into()));
            }
            None => None,
        };
        let enum_of = |k: &str| get.get(k).map(|v| Value::String((*v).to_string()));
        let strategy = enum_of("strategy")
            .map(serde_json::from_value::<StrategyMode>)
            .transpose()
            .map_err(|_| ("data.strategy".to_string(), "must be Recreate or auto".to_string()))?;
        let tensor_parallel = enum_of("tensorParallel")
            .map(serde_json::from_value::<TensorParallelMode>)
            .transpose()
            .map_err(|_| ("data.tensorParallel".to_string(), "must be auto, check or off".to_string()))?
            .unwrap_or_default();
        let spec = GpuProfileSpec {
            selector,
            on_no_match,
            container: get.get("container").map(|s| (*s).to_string()),
            gpu,
            tolerations: parse_bool("tolerations", true)?,
            runtime_class_name: get.get("runtimeClassName").map(|s| (*s).to_string()),
            shared_memory: get.get("sharedMemory").map(|s| (*s).to_string()),
            strategy,
            tensor_parallel,
            ray_head: parse_bool("rayHead", false)?,
            kserve_default_deployment_mode: get.get("kserveDefaultDeploymentMode").map(|s| (*s).to_string()),
        };
        validate_gpu(&spec).map_err(|(f, m)| (map_field(&f), m))?;
        out.gpu = Some(spec);
    }
    if ["name", "newName", "newTag", "digest"].iter().any(|k| get.contains_key(k)) {
        let model = ModelSpec {
            name: get.get("name").map(|s| (*s).to_string()).unwrap_or_default(),
            new_name: get.get("newName").map(|s| (*s).to_string()),
            new_tag: get.get("newTag").map(|s| (*s).to_string()),
            digest: get.get("digest").map(|s| (*s).to_string()),
        };
        let spec = ModelTagsSpec { models: vec![model], fields: Vec::new(), on_no_match };
        validate_models(&spec).map_err(|(f, m)| (map_field(&f), m))?;
        out.models = Some(spec);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Name ConfigMap keys, not CR paths, in errors about a ConfigMap.
fn map_field(cr_path: &str) -> String {
    let key = match cr_path {
        "spec.gpu.resource" => "gpuResource",
        "spec.gpu.product" => "gpuProduct",
        "spec.gpu.maxCount" => "gpuMaxCount",
        "spec.gpu.modelConfig" => "gpuModelConfig",
        "spec.sharedMemory" => "sharedMemory",
        "spec.tensorParallel" => "tensorParallel",
        p => p.rsplit('.').next().unwrap_or(p),
    };
    format!("data.{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(spec: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": "GpuProfile", "metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = decode(&profile(json!({"gpu": {"cout": 2}}))).unwrap_err();
        assert_eq!((e.object.as_str(), e.field.as_str()), ("GpuProfile/p", "spec.gpu.cout"));
        assert!(e.message.contains("unknown field `cout`"), "{e}");
        let e =
            decode(&json!({"apiVersion": API_VERSION, "kind": "GpuProfile", "metadata": {"name": "p"}, "sepc": {}}))
                .unwrap_err();
        assert_eq!(e.field, "sepc");
    }

    #[test]
    fn wrong_types_and_values_are_named() {
        let e = decode(&profile(json!({"gpu": {"count": "two"}}))).unwrap_err();
        assert_eq!(e.field, "spec.gpu.count");
        let e = decode(&profile(json!({"gpu": {"count": -1}}))).unwrap_err();
        assert_eq!(e.field, "spec.gpu.count");
        let e = decode(&profile(json!({"gpu": {"count": 1, "resource": "gpu"}}))).unwrap_err();
        assert_eq!(e.field, "spec.gpu.resource");
        let e = decode(&profile(json!({"sharedMemory": "lots"}))).unwrap_err();
        assert_eq!(e.field, "spec.sharedMemory");
        let e = decode(&profile(json!({"strategy": "Rolling"}))).unwrap_err();
        assert_eq!(e.field, "spec.strategy");
        let e = decode(&profile(json!({"kserveDefaultDeploymentMode": "Raw"}))).unwrap_err();
        assert_eq!(e.field, "spec.kserveDefaultDeploymentMode");
        assert!(e.message.contains("Standard (RawDeployment), Knative (Serverless) or ModelMesh"), "{e}");
        let ok = decode(&profile(json!({"kserveDefaultDeploymentMode": "RawDeployment"}))).unwrap().unwrap();
        assert_eq!(ok.gpu.unwrap().kserve_default(), DeploymentMode::Standard);
    }

    #[test]
    fn count_auto_needs_a_product_it_can_size_against() {
        let c = decode(&profile(json!({"gpu": {"count": "auto", "product": "NVIDIA-L40S"}}))).unwrap().unwrap();
        assert_eq!(c.gpu.unwrap().gpu.unwrap().count, GpuCount::Auto);
        let e = decode(&profile(json!({"gpu": {"count": "auto"}}))).unwrap_err();
        assert_eq!(e.field, "spec.gpu.product");
        let e = decode(&profile(json!({"gpu": {"count": "auto", "product": "NVIDIA-B999"}}))).unwrap_err();
        assert!(e.message.contains("not a GPU product gpuops knows"), "{e}");
        let e = decode(&profile(json!({"gpu": {"count": "auto", "product": "NVIDIA-L4"}, "tensorParallel": "off"})))
            .unwrap_err();
        assert_eq!(e.field, "spec.tensorParallel");
        let e = decode(&profile(json!({"gpu": {"count": 2, "maxCount": 4}}))).unwrap_err();
        assert_eq!(e.field, "spec.gpu.maxCount");
        let e = decode(&profile(json!({"gpu": {"count": "many"}}))).unwrap_err();
        assert!(e.message.contains("a whole number of GPUs or \"auto\""), "{e}");
    }

    #[test]
    fn defaults() {
        let c = decode(&profile(json!({"gpu": {"count": 2}}))).unwrap().unwrap();
        let g = c.gpu.unwrap();
        assert_eq!(g.gpu.unwrap().resource, "nvidia.com/gpu");
        assert!(g.tolerations);
        assert_eq!(g.tensor_parallel, TensorParallelMode::Auto);
    }

    #[test]
    fn model_tags_validation() {
        let tags = |spec: Value| json!({"apiVersion": API_VERSION, "kind": "ModelTags", "metadata": {"name": "m"}, "spec": spec});
        assert!(decode(&tags(json!({"models": [{"name": "r:5000/m", "newTag": "v2"}]}))).is_ok());
        let e = decode(&tags(json!({"models": [{"name": "r/m:v1", "newTag": "v2"}]}))).unwrap_err();
        assert_eq!(e.field, "spec.models[0].name");
        let e = decode(&tags(json!({"models": [{"name": "r/m", "newTag": "bad tag"}]}))).unwrap_err();
        assert_eq!(e.field, "spec.models[0].newTag");
        let e = decode(&tags(json!({"models": [{"name": "r/m", "newTag": "v"}], "fields": [{"kind": "HelmRelease", "path": "spec.values.tag", "model": "other"}]}))).unwrap_err();
        assert_eq!(e.field, "spec.fields[0].model");
    }

    #[test]
    fn config_map_with_string_data() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"},
            "data": {"gpuCount": "2", "gpuProduct": "NVIDIA-H100-80GB-HBM3", "kinds": "Deployment, InferenceService", "name": "reg/m", "newTag": "v2"}});
        let c = decode(&cm).unwrap().unwrap();
        assert_eq!(c.gpu.as_ref().unwrap().selector.kinds, ["Deployment", "InferenceService"]);
        assert_eq!(c.models.unwrap().models[0].new_tag.as_deref(), Some("v2"));
        let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"gpuCont": "2"}});
        assert_eq!(decode(&bad).unwrap_err().field, "data.gpuCont");
        let empty = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}});
        assert!(decode(&empty).unwrap().is_none());
    }
}
