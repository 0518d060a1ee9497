//! Model configs from the network, the model resolver's network source
//! (`gpuops_model::resolve::ModelSource`), for models neither the catalog
//! nor the local Hugging Face cache knows: the Hugging Face hub for `hf://ORG/NAME`
//! and `ORG/NAME` ids, an OCI registry for `oci://` model artifacts (KServe
//! modelcars, ORAS pushes like seed 000's). Both go through
//! this crate's client (auth, retries, timeouts) and land in a disk cache, so a
//! second run — or a second workload with the same model — asks nobody:
//! hub files in the Hugging Face cache layout huggingface_hub itself reads
//! (`models--ORG--NAME/snapshots/COMMIT/config.json`, `refs/REVISION`),
//! OCI configs (and `hf_quant_config.json`) in the directory the binary
//! names (gpufit: `$GPUOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/gpuops`, else
//! `~/.cache/gpuops`, then `/model-configs/`). The binary injects the
//! source into its resolver, with the directories and two hooks: what to
//! show while a request runs, and how to keep Ctrl-C from cutting a cache
//! write short.
//!
//! Nothing from the reference or the network becomes a path or a URL
//! unchecked: hub ids, revisions and the hub's commit pass huggingface_hub's
//! rules (gpuops_model::hfconfig::hubref), `oci://` references and the
//! digests their manifests name pass the OCI grammar (`crate::reference`),
//! and cache files are named from the checked parts only.

use std::path::{Path, PathBuf};

use crate::hub::HubSettings;
use crate::{Client, MAX_DOCUMENT_BYTES, parse_oci_reference};
use gpuops_model::catalog::ModelShape;
use gpuops_model::hfconfig::{self, HubRef};
use gpuops_model::resolve::{ModelSource, ResolveError};

/// Where a reference can be fetched from.
#[derive(Debug)]
enum Origin<'a> {
    Hub(HubRef<'a>),
    Oci(&'a str),
}

/// The origin of `reference`; an error for an `hf://` (or `ORG/NAME`-shaped)
/// reference that breaks the hub's naming rules — refused before any request.
fn origin(reference: &str) -> Option<Result<Origin<'_>, String>> {
    if let Some(image) = reference.strip_prefix("oci://") {
        return Some(Ok(Origin::Oci(image)));
    }
    hfconfig::hub_ref(reference).map(|checked| checked.map(Origin::Hub).map_err(|e| e.to_string()))
}

/// Runs a cache write so that an interrupt cannot cut it short (gpufit:
/// `gpuops_cli::interrupt::critical`, then exit if Ctrl-C came meanwhile).
pub type Critical = Box<dyn Fn(&mut dyn FnMut() -> std::io::Result<()>) -> std::io::Result<()> + Send + Sync>;
/// Runs one fetch, told what is fetched (gpufit: a spinner around it).
pub type Around = Box<dyn Fn(&str, &mut dyn FnMut()) + Send + Sync>;

/// Where fetched configs are kept; `None` keeps nothing.
#[derive(Debug, Clone, Default)]
pub struct Caches {
    /// The Hugging Face hub cache (huggingface_hub's layout).
    pub hub: Option<PathBuf>,
    /// OCI model configs, one file per checked reference.
    pub oci: Option<PathBuf>,
}

/// Fetches and caches model configs; one per distinct reference per run.
pub struct NetworkModels {
    client: Client,
    hub: HubSettings,
    hub_cache: Option<PathBuf>,
    oci_cache: Option<PathBuf>,
    critical: Critical,
    around: Around,
}

impl NetworkModels {
    /// The source over `client`, with the hub's settings and the caches.
    /// Writes run directly and fetches unannounced until
    /// [`NetworkModels::with_hooks`] says otherwise.
    pub fn new(client: Client, hub: HubSettings, caches: Caches) -> Self {
        Self {
            client,
            hub,
            hub_cache: caches.hub,
            oci_cache: caches.oci,
            critical: Box::new(|write| write()),
            around: Box::new(|_, fetch| fetch()),
        }
    }

    pub fn with_hooks(self, critical: Critical, around: Around) -> Self {
        Self { critical, around, ..self }
    }

    fn hub_shape(&self, reference: &str, hub_ref: HubRef<'_>) -> Result<ModelShape, String> {
        let HubRef { repo_id, revision } = hub_ref;
        if let Some(cache) = &self.hub_cache
            && let Some(Ok(shape)) = hfconfig::from_hub_cache_in(cache, reference)
        {
            return Ok(shape);
        }
        let file = self.client.hub_file(&self.hub, repo_id, revision, "config.json").map_err(|e| e.to_string())?;
        // huggingface_hub refuses an answer without a commit, and names its
        // snapshot after it: a commit that is not 40 hex digits (`../..`, an
        // absolute path) refuses the whole answer.
        let commit = match file.commit.as_deref() {
            Some(commit) if hfconfig::is_commit_hash(commit) => Some(commit),
            Some(_) => return Err(hfconfig::HubCacheError::Commit { repo_id: repo_id.to_string() }.to_string()),
            None => hfconfig::is_commit_hash(revision).then_some(revision),
        };
        let source = format!("{repo_id} (the hub's config.json)");
        let config = hfconfig::parse_config(&file.body, &source).map_err(|e| e.to_string())?;
        let shape = hfconfig::shape(repo_id, &config, None, &source).map_err(|e| e.to_string())?;
        match (&self.hub_cache, commit) {
            (Some(cache), Some(commit)) => {
                if let Err(e) = write_hub_cache(cache, &hub_ref, commit, &file.body, &self.critical) {
                    tracing::warn!(cache = %cache.display(), error = %e, "could not cache the hub's config.json");
                }
            }
            (Some(_), None) => tracing::warn!(model = repo_id, "the hub sent no X-Repo-Commit; not caching"),
            (None, _) => {}
        }
        tracing::info!(model = repo_id, revision, "config.json read from the hub");
        Ok(shape)
    }

    fn registry_shape(&self, reference: &str, image: &str) -> Result<ModelShape, String> {
        // Checked before the cache or the registry sees any part of it.
        let checked = parse_oci_reference(image).map_err(|e| e.to_string())?;
        // `STEM.config.json`, and `STEM.hf_quant_config.json` written first
        // when the artifact has one: a cached config is only ever complete.
        let cached =
            |file: &str| self.oci_cache.as_ref().map(|dir| dir.join(format!("{}.{file}", checked.cache_file_stem())));
        let (config_path, quant_path) = (cached("config.json"), cached("hf_quant_config.json"));
        let small = |p: &PathBuf| std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_DOCUMENT_BYTES);
        let read = |p: &Option<PathBuf>| p.as_ref().filter(|p| small(p)).and_then(|p| std::fs::read(p).ok());
        let (text, quant) = match read(&config_path) {
            Some(text) => (text, read(&quant_path)),
            None => {
                let found = self.client.model_config(image).map_err(|e| e.to_string())?;
                tracing::info!(image, found_in = %found.found_in, "config.json read from the registry");
                let written = match (&quant_path, &found.quant_config) {
                    (Some(path), Some(quant)) => write_atomically(path, quant, &self.critical),
                    _ => Ok(()),
                };
                if let Some(path) = &config_path
                    && let Err(e) = written.and_then(|()| write_atomically(path, &found.config, &self.critical))
                {
                    tracing::warn!(cache = %path.display(), error = %e, "could not cache the artifact's config.json");
                }
                (found.config, found.quant_config)
            }
        };
        let source = format!("{} (the artifact's config.json)", checked.display());
        let config = hfconfig::parse_config(&text, &source).map_err(|e| e.to_string())?;
        // ModelOpt checkpoints say their quantization only there.
        let modelopt = match &quant {
            Some(q) => Some(
                hfconfig::parse_config(q, &format!("{} (the artifact's hf_quant_config.json)", checked.display()))
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        hfconfig::shape(reference, &config, modelopt.as_ref(), &source).map_err(|e| e.to_string())
    }
}

/// The hub and OCI registries as the resolver's last sources
/// (`gpuops_model::resolve`): asked only about models no local source knows
/// and no annotations describe.
impl ModelSource for NetworkModels {
    fn name(&self) -> String {
        "the Hugging Face hub or the OCI registry".to_string()
    }

    fn remote(&self) -> bool {
        true
    }

    fn lookup(&self, reference: &str) -> Option<Result<ModelShape, ResolveError>> {
        let origin = origin(reference)?;
        let mut shape = None;
        (self.around)(reference, &mut || {
            shape = Some(match &origin {
                Err(e) => Err(e.clone()),
                Ok(Origin::Hub(hub_ref)) => self.hub_shape(reference, *hub_ref),
                Ok(Origin::Oci(image)) => self.registry_shape(reference, image),
            });
        });
        let shape = shape.unwrap_or_else(|| Err("the fetch did not run".to_string()));
        // The reference is manifest text and the error may carry the hub's
        // or registry's words: one line, escaped for the terminal.
        Some(shape.map_err(|e| ResolveError::Remote(gpuops_manifest::text::printable(&e))))
    }
}

/// huggingface_hub's layout: the file under `snapshots/COMMIT/`, the
/// revision's commit in `refs/REVISION` — at paths checked to stay inside
/// the cache (hfconfig::hub_cache_paths).
fn write_hub_cache(
    cache: &Path,
    hub_ref: &HubRef<'_>,
    commit: &str,
    body: &[u8],
    critical: &Critical,
) -> std::io::Result<()> {
    let paths = hfconfig::hub_cache_paths(cache, hub_ref, commit, "config.json")
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    write_atomically(&paths.file, body, critical)?;
    match &paths.reference {
        Some(reference) => write_atomically(reference, commit.as_bytes(), critical),
        None => Ok(()),
    }
}

/// Write via a temporary file and a rename: a crash leaves no half file,
/// and, in `critical`, Ctrl-C waits for the rename (no temporary file left
/// behind).
fn write_atomically(path: &Path, body: &[u8], critical: &Critical) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp =
        dir.join(format!(".{}.tmp{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("f"), std::process::id()));
    // `create_new`: a file (or symlink) already at the temporary name is
    // never written through; `rename` replaces a link at `path` itself.
    let create = || {
        use std::io::Write;
        std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?.write_all(body)
    };
    critical(&mut || {
        create().and_then(|()| std::fs::rename(&tmp, path)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_their_origin() {
        assert!(matches!(
            origin("hf://Qwen/Qwen3-8B"),
            Some(Ok(Origin::Hub(HubRef { repo_id: "Qwen/Qwen3-8B", revision: "main" })))
        ));
        assert!(matches!(origin("acme/llm:v2"), Some(Ok(Origin::Hub(HubRef { repo_id: "acme/llm", revision: "v2" })))));
        assert!(matches!(origin("oci://reg:5000/models/qwen:1.0"), Some(Ok(Origin::Oci("reg:5000/models/qwen:1.0")))));
        assert!(origin("/mnt/models").is_none());
        assert!(origin("s3://bucket/models/llama").is_none());
        assert!(origin("pvc://models/llama").is_none());
        // `hf://` ids go through the same check as bare ones (the old
        // `a && b || hf` precedence let any `hf://` text through).
        for hostile in ["hf://../x", "hf://a/b/c", "hf://org/name:../../../../x"] {
            assert!(matches!(origin(hostile), Some(Err(_))), "{hostile}");
        }
    }
}
