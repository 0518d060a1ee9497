//! The network model source gpufit gives its resolver
//! (`gpuops_registry::models`), with what only the binary knows: the
//! environment (`HF_*`, `GPUOPS_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME`,
//! docker's config), a spinner while a request runs, and Ctrl-C held off
//! while a cache file is renamed into place.

use std::path::PathBuf;

use gpuops_model::hfconfig;
use gpuops_registry::hub::HubSettings;
use gpuops_registry::models::{Caches, NetworkModels};

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// The hub and OCI registries as this process's environment configures them.
pub(crate) fn from_env() -> NetworkModels {
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
    let client = gpuops_registry::Client::new(gpuops_registry::Options {
        docker_config_dir: gpuops_registry::docker_config_dir(|k| std::env::var_os(k)),
        ..gpuops_registry::Options::default()
    });
    let caches = Caches { hub: hfconfig::hub_cache(|k| std::env::var_os(k)), oci: oci_cache };
    NetworkModels::new(client, HubSettings::from_env(env, hf_home.as_deref()), caches).with_hooks(
        Box::new(|write| {
            let written = gpuops_cli::interrupt::critical(write);
            gpuops_cli::interrupt::exit_if_pending();
            written
        }),
        Box::new(|reference, fetch| {
            let _progress = gpuops_cli::progress::Progress::spinner(&format!(
                "fetching the config of {} from the hub or registry",
                gpuops_manifest::text::printable(reference)
            ));
            fetch();
        }),
    )
}
