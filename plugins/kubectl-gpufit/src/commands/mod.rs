//! Each command: gather its inputs (flags, files, clusters, models), hand
//! them to the libraries, and pass the answer to `render`. Nothing here
//! formats output.

mod check;
mod cluster;
mod complete;
mod kustomize;
mod local;
mod manifests;
mod model;
mod nodes;

pub(crate) use self::check::check;
pub(crate) use self::complete::{complete, completion};
pub(crate) use self::local::local;
pub(crate) use self::model::model;
pub(crate) use self::nodes::nodes;

use gpuops_model::resolve::Resolver;

use crate::remote;

/// The sources gpufit sizes models from, in order: a model directory
/// under the working directory, the catalog, the local Hugging Face cache
/// (`HF_HUB_CACHE`, `HF_HOME`, ...), then the hub and OCI registries.
fn resolver() -> Resolver<'static> {
    let root = std::env::current_dir().ok();
    let cache = gpuops_model::hfconfig::hub_cache(|k| std::env::var_os(k));
    Resolver::offline(root.as_deref(), cache.as_deref()).then(remote::from_env())
}
