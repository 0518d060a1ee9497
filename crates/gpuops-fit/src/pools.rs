//! Synthetic pools (`--nodes 2*8xH100-80GB`) with GPU products from
//! gpuops-model's catalog: the scheduling library builds the nodes
//! (`gpuops_schedule::cluster::synthetic_with`) from what this module says
//! of each product, so it needs no catalog of its own.

use gpuops_model::catalog::{gpu_product, gpu_products};
use gpuops_schedule::cluster::{self, Cluster, ClusterError, GpuProducts, PoolGpu, SyntheticExtras};

/// gpuops-model's GPU catalog, as synthetic pools read it.
pub struct Catalog;

impl GpuProducts for Catalog {
    fn product(&self, name: &str) -> Option<PoolGpu> {
        let gpu = gpu_product(name)?;
        Some(PoolGpu {
            label: gpu.label.clone(),
            short_name: gpu.aliases.first().unwrap_or(&gpu.label).clone(),
            resource: gpu.vendor.resource().to_string(),
            label_mib: gpu.label_mib,
            compute: gpu.compute_capability(),
            mig_capable: !gpu.mig.is_empty(),
        })
    }

    fn known(&self) -> Vec<String> {
        gpu_products().iter().filter_map(|p| p.aliases.first().cloned()).collect()
    }
}

/// [`cluster::synthetic`] over the catalog.
pub fn synthetic(spec: &str) -> Result<Cluster, ClusterError> {
    cluster::synthetic(spec, &Catalog)
}

/// [`cluster::synthetic_with`] over the catalog.
pub fn synthetic_with(spec: &str, extras: &SyntheticExtras) -> Result<Cluster, ClusterError> {
    cluster::synthetic_with(spec, extras, &Catalog)
}
