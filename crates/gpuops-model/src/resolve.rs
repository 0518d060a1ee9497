//! "What is this model's shape?" — answered once, for every door.
//!
//! One ordered chain of sources ([`Resolver`]): a model directory in the
//! repository, the reviewed catalog, the local Hugging Face cache, then
//! whatever network sources the binary injects (the hub and OCI artifacts,
//! implemented in `gpuops-registry`). The first source that knows the
//! reference answers. `gpuops.dev/model-*` annotations come last
//! ([`annotated`]): they correct the answer field by field, or describe a
//! model no source knows. gpufit's `check` and `model`, the Argo CD fit
//! gate and the function's `count: auto` all go through here, so the same
//! model is sized the same way whichever door a user comes in by.
//!
//! Pure: every directory is handed in; a network source is a trait object
//! the caller owns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::catalog::{ModelShape, find_model};
use crate::hfconfig::{self, ConfigError};

/// The four numbers that describe a model without its `config.json`.
pub const SHAPE_ANNOTATIONS: [&str; 4] =
    ["gpuops.dev/model-params", "gpuops.dev/model-layers", "gpuops.dev/model-kv-heads", "gpuops.dev/model-head-dim"];

/// A place a model's shape can come from. `Sync`: the Argo CD plugin
/// parses a render on every core with the resolver in reach.
pub trait ModelSource: Send + Sync {
    /// What the source is, for messages ("the Hugging Face cache").
    fn name(&self) -> String;
    /// The shape of `reference`; `None` when the source does not know it,
    /// an error when it does but what it holds cannot be read.
    fn lookup(&self, reference: &str) -> Option<Result<ModelShape, ResolveError>>;
    /// Whether asking costs a request over the network: such a source is
    /// not asked about a model the workload's annotations describe whole.
    fn remote(&self) -> bool {
        false
    }
}

/// A source that knows a model but could not read it.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A network source's failure, in its own words.
    #[error("{0}")]
    Remote(String),
}

/// A model directory the workload names by path (`--model ./models/acme`,
/// `--model /mnt/models`): `config.json` under `root` joined with the
/// reference (an absolute reference ignores `root`).
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl ModelSource for LocalDir {
    fn name(&self) -> String {
        format!("a model directory under {}", self.root.display())
    }

    fn lookup(&self, reference: &str) -> Option<Result<ModelShape, ResolveError>> {
        let dir = self.root.join(reference);
        dir.join("config.json").is_file().then(|| hfconfig::load(&dir, reference).map_err(ResolveError::from))
    }
}

/// The built-in, reviewed catalog (`data/models.json`).
pub struct Catalog;

impl ModelSource for Catalog {
    fn name(&self) -> String {
        "the gpuops catalog".to_string()
    }

    fn lookup(&self, reference: &str) -> Option<Result<ModelShape, ResolveError>> {
        find_model(reference).map(Ok)
    }
}

/// The local Hugging Face hub cache (the directory
/// [`hfconfig::hub_cache`] finds from the environment the binary passes).
pub struct HubCache {
    dir: PathBuf,
}

impl HubCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl ModelSource for HubCache {
    fn name(&self) -> String {
        format!("the Hugging Face cache ({})", self.dir.display())
    }

    fn lookup(&self, reference: &str) -> Option<Result<ModelShape, ResolveError>> {
        hfconfig::from_hub_cache_in(&self.dir, reference).map(|r| r.map_err(ResolveError::from))
    }
}

/// Where a shape came from.
#[derive(Debug, Clone)]
pub struct Found {
    pub shape: ModelShape,
    /// The source's [`ModelSource::name`].
    pub source: String,
}

/// The ordered chain of sources.
#[derive(Default)]
pub struct Resolver<'a> {
    sources: Vec<Box<dyn ModelSource + 'a>>,
    /// The Hugging Face cache, when one is in the chain: where a user can
    /// put a `config.json` for a model no source knows.
    hub_cache: Option<PathBuf>,
}

impl<'a> Resolver<'a> {
    /// The sources that need no network, in order: model directories under
    /// `root` (when given), the catalog, the Hugging Face cache (when
    /// there is one).
    pub fn offline(root: Option<&Path>, hub_cache: Option<&Path>) -> Self {
        let mut resolver = Self::default();
        if let Some(root) = root {
            resolver.sources.push(Box::new(LocalDir::new(root)));
        }
        resolver.sources.push(Box::new(Catalog));
        if let Some(dir) = hub_cache {
            resolver.sources.push(Box::new(HubCache::new(dir)));
            resolver.hub_cache = Some(dir.to_path_buf());
        }
        resolver
    }

    /// The catalog alone: what a caller with no repository and no cache
    /// (a test, the function with no cache mounted) can know.
    pub fn catalog() -> Self {
        Self::offline(None, None)
    }

    /// Add a source after the others (the network ones come last).
    pub fn then(mut self, source: impl ModelSource + 'a) -> Self {
        self.sources.push(Box::new(source));
        self
    }

    /// The first source's answer; `None` when no source knows `reference`.
    /// A source that fails stops the chain: a broken `config.json` in the
    /// repository is the user's to fix, not to paper over with the catalog.
    pub fn lookup(&self, reference: &str) -> Option<Result<Found, ResolveError>> {
        self.lookup_in(reference, true)
    }

    fn lookup_in(&self, reference: &str, remote: bool) -> Option<Result<Found, ResolveError>> {
        self.sources.iter().filter(|s| remote || !s.remote()).find_map(|source| {
            let answer = source.lookup(reference)?;
            Some(answer.map(|shape| Found { shape, source: source.name() }))
        })
    }

    /// Resolve every request: the shapes found, the errors met, and where
    /// a missing `config.json` may be put. A request the annotations
    /// describe whole is not looked up past the offline sources' answer:
    /// its annotations are its shape wherever it is checked.
    pub fn resolve_all<'r>(&self, requests: impl IntoIterator<Item = &'r ModelRequest>) -> Models {
        let mut models = Models { hub_cache: self.hub_cache.clone(), ..Models::default() };
        for request in requests {
            if models.shapes.contains_key(&request.reference) || models.errors.contains_key(&request.reference) {
                continue;
            }
            match self.lookup_in(&request.reference, !request.annotated()) {
                Some(Ok(found)) => {
                    models.shapes.insert(request.reference.clone(), found);
                }
                Some(Err(error)) => {
                    models.errors.insert(request.reference.clone(), Arc::new(error));
                }
                None => {}
            }
        }
        models
    }
}

/// A model a workload serves, and the annotations it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    pub reference: String,
    /// `gpuops.dev/model-*` annotations of the workload.
    pub overrides: BTreeMap<String, String>,
}

impl ModelRequest {
    /// Whether the annotations alone describe the model (all four of
    /// [`SHAPE_ANNOTATIONS`]): then no network source is asked.
    pub fn annotated(&self) -> bool {
        SHAPE_ANNOTATIONS.iter().all(|k| self.overrides.contains_key(*k))
    }
}

/// What the resolver found for the models of one check.
#[derive(Debug, Clone, Default)]
pub struct Models {
    shapes: BTreeMap<String, Found>,
    /// Sources that knew a model but could not read it (or, for a network
    /// source, could not reach it), by reference.
    errors: BTreeMap<String, Arc<ResolveError>>,
    hub_cache: Option<PathBuf>,
}

impl Models {
    pub fn get(&self, reference: &str) -> Option<&Found> {
        self.shapes.get(reference)
    }

    /// The error a source gave for `reference`.
    pub fn error(&self, reference: &str) -> Option<&ResolveError> {
        self.errors.get(reference).map(Arc::as_ref)
    }

    /// Where a user can put a `config.json` for a model no source knew.
    pub fn hub_cache(&self) -> Option<&Path> {
        self.hub_cache.as_deref()
    }
}

/// The shape a workload is sized with: what the resolver found, corrected
/// by the workload's `gpuops.dev/model-*` annotations, or — when no source
/// knew the model — the annotations alone (all four, and a context length).
pub fn annotated(
    found: Option<&ModelShape>,
    reference: &str,
    overrides: &BTreeMap<String, String>,
    max_model_len: Option<u64>,
) -> Option<ModelShape> {
    let number = |k: &str| {
        overrides.get(&format!("gpuops.dev/model-{k}")).and_then(|v| v.trim_end_matches(['B', 'b']).parse::<f64>().ok())
    };
    let mut shape = match found {
        Some(shape) => shape.clone(),
        None => ModelShape::from_counts(
            reference,
            number("params")?,
            number("layers")? as u64,
            number("kv-heads")? as u64,
            number("head-dim")? as u64,
            max_model_len?,
        ),
    };
    if let Some(v) = number("params") {
        shape.params_b = v;
    }
    if let Some(v) = number("layers") {
        shape.layers = v as u64;
    }
    if let Some(v) = number("kv-heads") {
        shape.kv_heads = v as u64;
    }
    if let Some(v) = number("head-dim") {
        shape.head_dim = v as u64;
    }
    Some(shape)
}

/// Say exactly what a user can supply for a model nothing sized: the
/// annotations not set, or a `config.json` where the resolver looks.
pub fn what_to_supply(reference: &str, overrides: &BTreeMap<String, String>, hub_cache: Option<&Path>) -> String {
    let missing: Vec<&str> = SHAPE_ANNOTATIONS.iter().copied().filter(|k| !overrides.contains_key(*k)).collect();
    let how = if missing.len() == SHAPE_ANNOTATIONS.len() {
        format!(
            "put its config.json in the Hugging Face cache ({}), or set the annotations gpuops.dev/model-params, -layers, -kv-heads, -head-dim",
            hub_cache.map_or_else(|| "HF_HOME".to_string(), |p| p.display().to_string())
        )
    } else if missing.is_empty() {
        "the annotations describe it, but a --max-model-len is needed in the args".to_string()
    } else {
        format!("set the missing annotation(s) {}", missing.join(", "))
    };
    format!("{reference} is not in the catalog: {how}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, layers: u64) {
        std::fs::create_dir_all(dir).unwrap();
        let text = format!(
            r#"{{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
            "num_hidden_layers": {layers}, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "max_position_embeddings": 8192, "torch_dtype": "bfloat16"}}"#
        );
        std::fs::write(dir.join("config.json"), text).unwrap();
    }

    fn request(reference: &str) -> ModelRequest {
        ModelRequest { reference: reference.into(), overrides: BTreeMap::new() }
    }

    /// The order is the contract: the repository's directory before the
    /// catalog, the catalog before the cache, the cache before the network.
    #[test]
    fn the_first_source_that_knows_a_model_answers() {
        let root = tempfile::tempdir().unwrap();
        config(&root.path().join("models/acme"), 7);
        let resolver = Resolver::offline(Some(root.path()), None);
        let found = resolver.lookup("models/acme").unwrap().unwrap();
        assert_eq!((found.shape.layers, found.source.starts_with("a model directory")), (7, true));
        // A catalog model is the catalog's, whatever cache the machine has.
        let cache = tempfile::tempdir().unwrap();
        let id = "Qwen/Qwen2.5-7B-Instruct";
        let with_cache = Resolver::offline(None, Some(cache.path())).lookup(id).unwrap().unwrap();
        let without = Resolver::catalog().lookup(id).unwrap().unwrap();
        assert_eq!(with_cache.shape, without.shape);
        assert_eq!(with_cache.source, "the gpuops catalog");
        assert!(Resolver::catalog().lookup("acme/unknown-13b").is_none());
    }

    struct Network(u64);
    impl ModelSource for Network {
        fn name(&self) -> String {
            "the hub".into()
        }
        fn remote(&self) -> bool {
            true
        }
        fn lookup(&self, reference: &str) -> Option<Result<ModelShape, ResolveError>> {
            Some(Ok(ModelShape::from_counts(reference, 13.0, self.0, 8, 128, 4096)))
        }
    }

    #[test]
    fn network_sources_come_after_the_offline_ones() {
        let resolver = Resolver::catalog().then(Network(40));
        assert_eq!(resolver.lookup("acme/unknown-13b").unwrap().unwrap().source, "the hub");
        assert_eq!(resolver.lookup("Qwen/Qwen2.5-7B-Instruct").unwrap().unwrap().source, "the gpuops catalog");
        let models = resolver.resolve_all(&[request("acme/unknown-13b")]);
        assert_eq!(models.get("acme/unknown-13b").unwrap().shape.layers, 40);
        // Described whole by its annotations: nobody on the network is asked.
        let all = SHAPE_ANNOTATIONS.iter().map(|k| (k.to_string(), "8".to_string())).collect();
        let annotated = ModelRequest { reference: "acme/unknown-13b".into(), overrides: all };
        assert!(resolver.resolve_all(&[annotated]).get("acme/unknown-13b").is_none());
    }

    #[test]
    fn annotations_correct_a_found_shape_or_stand_alone() {
        let found = ModelShape::from_counts("m", 7.0, 32, 8, 128, 8192);
        let o = BTreeMap::from([("gpuops.dev/model-layers".to_string(), "40".to_string())]);
        assert_eq!(annotated(Some(&found), "m", &o, None).unwrap().layers, 40);
        assert!(annotated(None, "m", &o, Some(4096)).is_none(), "one annotation does not describe a model");
        let all: BTreeMap<String, String> = SHAPE_ANNOTATIONS
            .iter()
            .zip(["13B", "40", "8", "128"])
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let request = ModelRequest { reference: "m".into(), overrides: all.clone() };
        assert!(request.annotated());
        let shape = annotated(None, "m", &all, Some(4096)).unwrap();
        assert_eq!((shape.params_b, shape.layers, shape.kv_heads, shape.head_dim), (13.0, 40, 8, 128));
        assert!(annotated(None, "m", &all, None).is_none(), "the context length is needed too");
        assert!(what_to_supply("m", &o, None).contains("set the missing annotation(s) gpuops.dev/model-params"));
    }

    /// A broken config.json in the repository is reported, not replaced by
    /// the catalog's idea of another model.
    #[test]
    fn a_source_that_fails_stops_the_chain() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("Qwen/Qwen2.5-7B-Instruct");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{not json").unwrap();
        let models = Resolver::offline(Some(root.path()), None).resolve_all(&[request("Qwen/Qwen2.5-7B-Instruct")]);
        assert!(models.get("Qwen/Qwen2.5-7B-Instruct").is_none());
        assert!(models.error("Qwen/Qwen2.5-7B-Instruct").is_some());
    }
}
