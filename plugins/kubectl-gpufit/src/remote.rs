//! Model configs from the network, for models neither the catalog nor the
//! local Hugging Face cache knows: the Hugging Face hub for `hf://ORG/NAME`
//! and `ORG/NAME` ids, an OCI registry for `oci://` model artifacts (KServe
//! modelcars, ORAS pushes like seed 000's). Both go through
//! gpuops-registry (auth, retries, timeouts) and land in a disk cache, so a
//! second run — or a second workload with the same model — asks nobody:
//! hub files in the Hugging Face cache layout huggingface_hub itself reads
//! (`models--ORG--NAME/snapshots/COMMIT/config.json`, `refs/REVISION`),
//! OCI configs under `$GPUOPS_CACHE_DIR` (else `$XDG_CACHE_HOME/gpuops`,
//! else `~/.cache/gpuops`) `/model-configs/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gpuops_fit::catalog::ModelShape;
use gpuops_fit::hfconfig;
use gpuops_registry::hub::HubSettings;

/// Where a reference can be fetched from.
enum Origin<'a> {
    Hub { repo_id: &'a str, revision: &'a str },
    Oci(&'a str),
}

fn origin(reference: &str) -> Option<Origin<'_>> {
    if let Some(image) = reference.strip_prefix("oci://") {
        return Some(Origin::Oci(image));
    }
    let id = reference.strip_prefix("hf://").unwrap_or(reference);
    let (repo_id, revision) = id.split_once(':').unwrap_or((id, "main"));
    let (org, name) = repo_id.split_once('/')?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    (plain(org) && plain(name) && !reference.contains("://") || reference.starts_with("hf://"))
        .then_some(Origin::Hub { repo_id, revision })
}

/// Fetches and caches model configs; one per distinct reference per run.
pub(crate) struct Fetcher {
    client: gpuops_registry::Client,
    hub: HubSettings,
    hub_cache: Option<PathBuf>,
    oci_cache: Option<PathBuf>,
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

impl Fetcher {
    pub(crate) fn from_env() -> Self {
        let hf_home = env("HF_HOME").map(PathBuf::from).or_else(|| {
            env("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("huggingface"))
        });
        let oci_cache = env("GPUOPS_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| env("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("gpuops")))
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache/gpuops")))
            .map(|d| d.join("model-configs"));
        Self {
            client: gpuops_registry::Client::new(gpuops_registry::Options::default()),
            hub: HubSettings::from_env(env, hf_home.as_deref()),
            hub_cache: hfconfig::hub_cache(|k| std::env::var_os(k)),
            oci_cache,
        }
    }

    /// The shape of `reference`, fetched or from the disk cache; `None`
    /// when it is not a hub id or an `oci://` artifact.
    pub(crate) fn shape(&self, reference: &str) -> Option<Result<ModelShape, String>> {
        match origin(reference)? {
            Origin::Hub { repo_id, revision } => Some(self.hub_shape(reference, repo_id, revision)),
            Origin::Oci(image) => Some(self.registry_shape(reference, image)),
        }
    }

    fn hub_shape(&self, reference: &str, repo_id: &str, revision: &str) -> Result<ModelShape, String> {
        if let Some(cache) = &self.hub_cache
            && let Some(Ok(shape)) = hfconfig::from_hub_cache_in(cache, reference)
        {
            return Ok(shape);
        }
        let file = self.client.hub_file(&self.hub, repo_id, revision, "config.json").map_err(|e| e.to_string())?;
        let config: serde_json::Value =
            serde_json::from_slice(&file.body).map_err(|e| format!("{reference}: config.json is not JSON: {e}"))?;
        let shape = hfconfig::shape(repo_id, &config, None, &format!("{}/{repo_id}", self.hub.endpoint))
            .map_err(|e| e.to_string())?;
        if let Some(cache) = &self.hub_cache {
            let commit = file.commit.as_deref().unwrap_or(revision);
            if let Err(e) = write_hub_cache(cache, repo_id, revision, commit, &file.body) {
                tracing::warn!(cache = %cache.display(), error = %e, "could not cache the hub's config.json");
            }
        }
        tracing::info!(model = repo_id, revision, "config.json read from the hub");
        Ok(shape)
    }

    fn registry_shape(&self, reference: &str, image: &str) -> Result<ModelShape, String> {
        let cached = self.oci_cache.as_ref().map(|dir| dir.join(format!("{}.json", cache_key(image))));
        let text = match cached.as_ref().and_then(|p| std::fs::read(p).ok()) {
            Some(text) => text,
            None => {
                let found = self.client.model_config(image).map_err(|e| e.to_string())?;
                tracing::info!(image, found_in = %found.found_in, "config.json read from the registry");
                if let Some(path) = &cached
                    && let Err(e) = write_atomically(path, &found.config)
                {
                    tracing::warn!(cache = %path.display(), error = %e, "could not cache the artifact's config.json");
                }
                found.config
            }
        };
        let config: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| format!("{reference}: config.json is not JSON: {e}"))?;
        hfconfig::shape(reference, &config, None, reference).map_err(|e| e.to_string())
    }

    /// Shapes for all of `references` that can be fetched; failures as
    /// warnings (the model is then reported as unknown, with exit 3).
    pub(crate) fn shapes(&self, references: impl IntoIterator<Item = String>) -> BTreeMap<String, ModelShape> {
        let mut out = BTreeMap::new();
        for reference in references {
            match self.shape(&reference) {
                Some(Ok(shape)) => {
                    out.insert(reference, shape);
                }
                Some(Err(e)) => crate::output::eprint_line(&format!("warning: {reference}: {e}")),
                None => {}
            }
        }
        out
    }
}

/// A file name for an image reference (`reg:5000/models/qwen:1.0`).
fn cache_key(image: &str) -> String {
    image.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// huggingface_hub's layout: the file under `snapshots/COMMIT/`, the
/// revision's commit in `refs/REVISION`.
fn write_hub_cache(cache: &Path, repo_id: &str, revision: &str, commit: &str, body: &[u8]) -> std::io::Result<()> {
    let repo = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    write_atomically(&repo.join("snapshots").join(commit).join("config.json"), body)?;
    write_atomically(&repo.join("refs").join(revision), commit.as_bytes())
}

/// Write via a temporary file and a rename: a crash leaves no half file,
/// and Ctrl-C waits for the rename (no temporary file left behind).
fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp =
        dir.join(format!(".{}.tmp{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("f"), std::process::id()));
    let written = gpuops_cli::interrupt::critical(|| {
        std::fs::write(&tmp, body).and_then(|()| std::fs::rename(&tmp, path)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    });
    gpuops_cli::interrupt::exit_if_pending();
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_their_origin() {
        assert!(matches!(
            origin("hf://Qwen/Qwen3-8B"),
            Some(Origin::Hub { repo_id: "Qwen/Qwen3-8B", revision: "main" })
        ));
        assert!(matches!(origin("acme/llm:v2"), Some(Origin::Hub { repo_id: "acme/llm", revision: "v2" })));
        assert!(matches!(origin("oci://reg:5000/models/qwen:1.0"), Some(Origin::Oci("reg:5000/models/qwen:1.0"))));
        assert!(origin("/mnt/models").is_none());
        assert!(origin("s3://bucket/models/llama").is_none());
        assert!(origin("pvc://models/llama").is_none());
        assert_eq!(cache_key("reg:5000/models/qwen:1.0"), "reg_5000_models_qwen_1.0");
    }
}
