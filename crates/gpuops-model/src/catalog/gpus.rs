//! GPU products (`data/gpus.json`): how nodes label them and how much
//! memory CUDA or ROCm reports to vLLM — which is what
//! `gpu_memory_utilization` multiplies (vllm/v1/worker/gpu_worker.py
//! `determine_available_memory`: `requested_memory = total × utilization`,
//! `total` from `torch.cuda.mem_get_info`), not what the label says.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const GIB: f64 = 1024.0;
/// What the driver keeps of a board whose product is not in the catalog:
/// the catalog's boards lose 0.26–0.61 GiB between NVML's total and CUDA's.
const UNKNOWN_RESERVE_GIB: f64 = 0.5;
/// Usable memory inside a MIG instance, of the size its profile names
/// (1g.5gb: 4,864 MiB of 5 GB; 7g.40gb: 40,192 MiB of 40 GB).
const MIG_USABLE: f64 = 0.96;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Nvidia,
    Amd,
}

impl Vendor {
    /// The extended resource its device plugin advertises.
    pub fn resource(self) -> &'static str {
        match self {
            Vendor::Nvidia => "nvidia.com/gpu",
            Vendor::Amd => "amd.com/gpu",
        }
    }
}

/// A GPU product as the catalog knows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuProduct {
    /// `nvidia.com/gpu.product` (GFD) or `amd.com/gpu.product-name`.
    pub label: String,
    /// Short names accepted on the command line.
    pub aliases: Vec<String>,
    pub vendor: Vendor,
    /// `nvidia.com/gpu.memory` (NVML total, MiB) or `amd.com/gpu.vram`.
    pub label_mib: u64,
    /// What CUDA/ROCm reports as total memory (GiB): vLLM's `total_gpu_memory`.
    pub total_gib: f64,
    /// A log that shows it, or `estimate`.
    pub total_source: String,
    /// CUDA compute capability (`8.0`) or the AMD gfx target (`gfx942`).
    pub compute: String,
    /// Streaming multiprocessors (AMD: compute units): the device's
    /// `multi_processor_count`, which sizes vLLM's Triton sampler scratch.
    #[serde(default)]
    pub compute_units: Option<u64>,
    /// NVLink / xGMI between the GPUs of a node (custom all-reduce buffers).
    #[serde(default)]
    pub nvlink: bool,
    /// The GPUs of a node hang off NVSwitch (the 8-GPU HGX/DGX boards of
    /// the SXM parts), so CUDA multicast is supported
    /// (`CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED`), which FlashInfer's
    /// all-reduce fusion workspace requires
    /// ([`crate::memory::allreduce_fusion`]). NVLink-bridge (NVL) and PCIe
    /// cards have none; a 4-GPU HGX H100 board (direct NVLink) carries the
    /// same product label as the 8-GPU one and is taken as the 8-GPU one.
    #[serde(default)]
    pub nvswitch: bool,
    /// MIG profile → its memory slice and SMs.
    #[serde(default)]
    pub mig: BTreeMap<String, MigProfile>,
}

/// A MIG GPU instance profile of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigProfile {
    /// The memory (GB) its name gives.
    pub gb: u64,
    /// The SMs CUDA reports inside the instance (`nvidia-smi mig -lgip`):
    /// its own slice's, not the whole GPU's. `None` where no published
    /// listing shows it.
    #[serde(default)]
    pub compute_units: Option<u64>,
}

/// `"9.0"` → `(9, 0)`; `None` for what is not a CUDA compute capability
/// (AMD's `gfx942`).
fn compute_capability(compute: &str) -> Option<(u32, u32)> {
    let (major, minor) = compute.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

impl GpuProduct {
    /// `(major, minor)` compute capability; `None` for AMD.
    pub fn compute_capability(&self) -> Option<(u32, u32)> {
        compute_capability(&self.compute)
    }

    /// bf16 kernels: compute capability 8.0 and up (vllm/platforms/cuda.py
    /// `check_if_supports_dtype`); every Instinct from MI200 on.
    pub fn supports_bf16(&self) -> bool {
        match self.vendor {
            Vendor::Nvidia => self.compute_capability().is_some_and(|(major, _)| major >= 8),
            Vendor::Amd => true,
        }
    }
}

#[derive(Deserialize)]
struct GpuFile {
    gpus: Vec<GpuProduct>,
}

/// The catalog's products, parsed on first use.
pub fn gpu_products() -> &'static [GpuProduct] {
    static GPUS: OnceLock<Vec<GpuProduct>> = OnceLock::new();
    GPUS.get_or_init(|| {
        let file: GpuFile = serde_json::from_str(include_str!("../../data/gpus.json"))
            .unwrap_or_else(|e| unreachable!("data/gpus.json is checked by the tests: {e}"));
        file.gpus
    })
}

/// Find a product by label or alias (case-insensitive; the `-SHARED`
/// suffix of time-slicing with `renameByDefault=false` is ignored).
pub fn gpu_product(name: &str) -> Option<&'static GpuProduct> {
    let name = name.strip_suffix("-SHARED").unwrap_or(name);
    gpu_products()
        .iter()
        .find(|p| p.label.eq_ignore_ascii_case(name) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

/// Where a GPU's memory figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MemorySource {
    /// The catalog's CUDA/ROCm total for the product.
    Catalog,
    /// The node's memory label less the driver's usual reserve (estimate).
    NodeLabel,
    /// `--gpu-memory`.
    Flag,
    /// A MIG instance's slice.
    Mig,
    /// An equal part of a GPU the device plugin shares through CUDA MPS.
    Mps,
}

/// A GPU as the memory model sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuInfo {
    pub label: String,
    pub vendor: Vendor,
    /// What the node label says (MiB).
    pub label_mib: u64,
    /// What CUDA/ROCm reports (GiB).
    pub total_gib: f64,
    pub memory_source: MemorySource,
    pub compute: String,
    /// `compute` is an assumption (8.0), not the device's: a GPU known by
    /// its memory alone, or a node label of an unknown product without the
    /// compute-capability labels.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub compute_assumed: bool,
    /// The device's `multi_processor_count` (a MIG instance: its slice's);
    /// `None` when the catalog cannot tell (`--gpu-memory`, a product or
    /// MIG profile it does not count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_units: Option<u64>,
    pub bf16: bool,
    pub nvlink: bool,
    /// See [`GpuProduct::nvswitch`].
    pub nvswitch: bool,
}

impl From<&GpuProduct> for GpuInfo {
    fn from(p: &GpuProduct) -> Self {
        Self {
            label: p.label.clone(),
            vendor: p.vendor,
            label_mib: p.label_mib,
            total_gib: p.total_gib,
            memory_source: MemorySource::Catalog,
            compute: p.compute.clone(),
            compute_assumed: false,
            compute_units: p.compute_units,
            bf16: p.supports_bf16(),
            nvlink: p.nvlink,
            nvswitch: p.nvswitch,
        }
    }
}

impl GpuInfo {
    /// `(major, minor)` compute capability; `None` for AMD.
    pub fn compute_capability(&self) -> Option<(u32, u32)> {
        compute_capability(&self.compute)
    }

    /// The compute capability vLLM's CUDA platform reports
    /// (`current_platform.get_device_capability()`): NVIDIA GPUs only,
    /// `None` for ROCm and where the capability is only assumed
    /// ([`Self::compute_assumed`]).
    pub fn cuda_capability(&self) -> Option<(u32, u32)> {
        if self.vendor == Vendor::Nvidia && !self.compute_assumed { self.compute_capability() } else { None }
    }

    /// A GPU known only by its memory (`--gpu-memory 24GiB`): bf16-capable,
    /// no NVLink, its SM count unknown.
    pub fn with_memory(label: &str, total_gib: f64) -> Self {
        Self {
            label: label.to_string(),
            vendor: Vendor::Nvidia,
            label_mib: (total_gib * GIB) as u64,
            total_gib,
            memory_source: MemorySource::Flag,
            compute: "8.0".into(),
            compute_assumed: true,
            compute_units: None,
            bf16: true,
            nvlink: false,
            nvswitch: false,
        }
    }
}

/// A MIG instance of `profile` (`3g.40gb`, or the resource
/// `nvidia.com/mig-3g.40gb`) on `gpu`: the memory and the SMs of its slice
/// (CUDA inside the instance reports only those). A profile the catalog
/// does not list keeps the memory its name gives and no SM count.
pub fn mig_slice(gpu: &GpuInfo, profile: &str) -> Option<GpuInfo> {
    let profile = profile.strip_prefix("nvidia.com/mig-").unwrap_or(profile);
    let known = gpu_product(&gpu.label).and_then(|p| p.mig.get(profile).copied());
    let named_gb = known.map(|m| m.gb).or_else(|| profile.split_once('.')?.1.strip_suffix("gb")?.parse().ok())?;
    Some(GpuInfo {
        label: format!("{} MIG {profile}", gpu.label),
        label_mib: named_gb * 1000,
        total_gib: named_gb as f64 * MIG_USABLE,
        memory_source: MemorySource::Mig,
        compute_units: known.and_then(|m| m.compute_units),
        ..gpu.clone()
    })
}

/// One of `replicas` equal parts of `gpu`, as the NVIDIA device plugin
/// shares a GPU through CUDA MPS (k8s-device-plugin README, "With CUDA
/// MPS": each replica is limited to `1/replicas` of the device's memory).
pub fn mps_share(gpu: &GpuInfo, replicas: u64) -> GpuInfo {
    let replicas = replicas.max(1);
    GpuInfo {
        label: format!("{} MPS 1/{replicas}", gpu.label),
        label_mib: gpu.label_mib / replicas,
        total_gib: gpu.total_gib / replicas as f64,
        memory_source: MemorySource::Mps,
        ..gpu.clone()
    }
}

/// The GPU of a node from its labels: GPU Feature Discovery's
/// (`nvidia.com/gpu.product`, `.memory`, `.compute.major/minor`; the MIG
/// single strategy's `…-MIG-1g.5gb` products) or the ROCm node labeller's
/// (`amd.com/gpu.product-name`, `amd.com/gpu.vram`), completed by the
/// catalog. A memory label that differs from the catalog's (older drivers
/// report A100-40GB as 40,536 MiB) moves the CUDA total with it.
pub fn gpu_of_labels(labels: &BTreeMap<String, String>) -> Option<GpuInfo> {
    let number = |k: &str| labels.get(k).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(product) = labels.get("nvidia.com/gpu.product") {
        if let Some((base, profile)) = product.split_once("-MIG-") {
            let parent = gpu_product(base).map(GpuInfo::from)?;
            return mig_slice(&parent, profile);
        }
        let known = gpu_product(product);
        let label_mib = number("nvidia.com/gpu.memory");
        let compute = match (number("nvidia.com/gpu.compute.major"), number("nvidia.com/gpu.compute.minor")) {
            (Some(major), Some(minor)) => Some(format!("{major}.{minor}")),
            _ => None,
        };
        return from_parts(product, Vendor::Nvidia, known, label_mib, compute);
    }
    let product = labels.get("amd.com/gpu.product-name").or_else(|| labels.get("beta.amd.com/gpu.product-name"))?;
    let vram = labels.get("amd.com/gpu.vram").or_else(|| labels.get("beta.amd.com/gpu.vram"));
    // `192G` (GiB, as the labeller rounds it).
    let label_mib = vram.and_then(|v| v.trim_end_matches(['G', 'g']).parse::<u64>().ok()).map(|g| g * 1024);
    from_parts(product, Vendor::Amd, gpu_product(product), label_mib, None)
}

fn from_parts(
    product: &str,
    vendor: Vendor,
    known: Option<&GpuProduct>,
    label_mib: Option<u64>,
    compute: Option<String>,
) -> Option<GpuInfo> {
    match (known, label_mib) {
        (Some(p), None) => Some(GpuInfo { label: product.to_string(), ..GpuInfo::from(p) }),
        (Some(p), Some(mib)) => {
            let reserve = p.label_mib as f64 / GIB - p.total_gib;
            Some(GpuInfo {
                label: product.to_string(),
                label_mib: mib,
                total_gib: mib as f64 / GIB - reserve,
                memory_source: if mib == p.label_mib { MemorySource::Catalog } else { MemorySource::NodeLabel },
                ..GpuInfo::from(p)
            })
        }
        (None, Some(mib)) => {
            let compute_assumed = compute.is_none();
            let compute = compute.unwrap_or_else(|| "8.0".to_string());
            let bf16 =
                vendor == Vendor::Amd || compute.split('.').next().and_then(|m| m.parse::<u32>().ok()) >= Some(8);
            Some(GpuInfo {
                label: product.to_string(),
                vendor,
                label_mib: mib,
                total_gib: mib as f64 / GIB - UNKNOWN_RESERVE_GIB,
                memory_source: MemorySource::NodeLabel,
                compute,
                compute_assumed,
                compute_units: None,
                bf16,
                nvlink: false,
                nvswitch: false,
            })
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_catalog_covers_the_fleet_users_have() {
        let gpus = gpu_products();
        assert!(gpus.len() >= 30, "{}", gpus.len());
        for name in ["RTX-3090", "RTX-4090", "RTX-5080", "A6000", "L40", "H20", "H200", "B200", "MI300X"] {
            assert!(gpu_product(name).is_some(), "{name}");
        }
        assert_eq!(gpu_product("MI300X").unwrap().vendor.resource(), "amd.com/gpu");
        // What CUDA reports, not the label: H100 79.19 GiB, not 79.65.
        let h100 = gpu_product("H100-80GB").unwrap();
        assert_eq!(h100.label, "NVIDIA-H100-80GB-HBM3");
        assert!((h100.label_mib as f64 / 1024.0 - 79.65).abs() < 0.01 && (h100.total_gib - 79.19).abs() < 0.01);
        for p in gpus {
            let label_gib = p.label_mib as f64 / 1024.0;
            assert!(
                p.total_gib < label_gib && p.total_gib > label_gib - 1.0,
                "{}: {} of {label_gib}",
                p.label,
                p.total_gib
            );
            assert!(!p.total_source.is_empty());
        }
        assert!(!gpu_product("Tesla-T4").unwrap().supports_bf16());
        assert!(gpu_product("NVIDIA-A100-SXM4-40GB-SHARED").unwrap().supports_bf16());
        assert!(gpu_product("B999").is_none());
    }

    #[test]
    fn node_labels_name_the_gpu_and_its_memory() {
        let h100 = gpu_of_labels(&labels(&[
            ("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"),
            ("nvidia.com/gpu.memory", "81559"),
        ]))
        .unwrap();
        assert_eq!((h100.total_gib, h100.memory_source), (79.19, MemorySource::Catalog));
        // An older driver's A100-40GB label moves the CUDA total with it.
        let old = gpu_of_labels(&labels(&[
            ("nvidia.com/gpu.product", "NVIDIA-A100-SXM4-40GB"),
            ("nvidia.com/gpu.memory", "40536"),
        ]))
        .unwrap();
        assert!((old.total_gib - (40536.0 / 1024.0 - 0.61)).abs() < 0.01, "{}", old.total_gib);
        // A product the catalog does not know, sized from its label.
        let new = gpu_of_labels(&labels(&[
            ("nvidia.com/gpu.product", "NVIDIA-B300-SXM6-AC"),
            ("nvidia.com/gpu.memory", "275040"),
            ("nvidia.com/gpu.compute.major", "10"),
            ("nvidia.com/gpu.compute.minor", "3"),
        ]))
        .unwrap();
        assert_eq!((new.memory_source, new.bf16, new.compute.as_str()), (MemorySource::NodeLabel, true, "10.3"));
        // MIG single strategy names the slice in the product.
        let slice = gpu_of_labels(&labels(&[("nvidia.com/gpu.product", "NVIDIA-A100-SXM4-40GB-MIG-3g.20gb")])).unwrap();
        assert!((slice.total_gib - 19.2).abs() < 0.01 && slice.memory_source == MemorySource::Mig);
        // The ROCm node labeller.
        let mi300 = gpu_of_labels(&labels(&[
            ("amd.com/gpu.product-name", "AMD_Instinct_MI300X_OAM"),
            ("amd.com/gpu.vram", "192G"),
        ]))
        .unwrap();
        assert_eq!((mi300.vendor, mi300.total_gib), (Vendor::Amd, 191.98));
        assert!(gpu_of_labels(&labels(&[("kubernetes.io/os", "linux")])).is_none());
        assert_eq!(mig_slice(&h100, "nvidia.com/mig-1g.10gb").unwrap().total_gib, 9.6);
    }

    /// Every product has its SM (AMD: CU) count, and every MIG profile with
    /// one has fewer than its whole GPU (the 7g profile of an A100 keeps 98
    /// of 108; none exceeds the board).
    #[test]
    fn the_catalog_counts_compute_units() {
        let uncounted: Vec<&str> =
            gpu_products().iter().filter(|p| p.compute_units.is_none()).map(|p| p.label.as_str()).collect();
        assert!(uncounted.is_empty(), "no computeUnits: {uncounted:?}");
        for p in gpu_products() {
            let whole = p.compute_units.unwrap();
            for (profile, mig) in &p.mig {
                if let Some(units) = mig.compute_units {
                    assert!(units > 0 && units <= whole, "{} {profile}: {units} of {whole}", p.label);
                }
            }
        }
        assert_eq!(GpuInfo::from(gpu_product("A10").unwrap()).compute_units, Some(72));
        assert_eq!(GpuInfo::with_memory("card", 24.0).compute_units, None);
    }

    /// A MIG instance reports its slice's SMs, from the node label (single
    /// strategy) or the resource name alike; a profile the catalog does not
    /// count, or a GPU it does not know, gets none rather than the board's.
    #[test]
    fn a_mig_slice_has_its_own_compute_units() {
        let a100 = GpuInfo::from(gpu_product("A100-40GB").unwrap());
        assert_eq!(mig_slice(&a100, "1g.5gb").unwrap().compute_units, Some(14));
        assert_eq!(mig_slice(&a100, "nvidia.com/mig-7g.40gb").unwrap().compute_units, Some(98));
        let labelled =
            gpu_of_labels(&labels(&[("nvidia.com/gpu.product", "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb")])).unwrap();
        assert_eq!(labelled.compute_units, Some(14));
        let h100 = GpuInfo::from(gpu_product("H100-80GB").unwrap());
        assert_eq!(mig_slice(&h100, "1g.10gb").unwrap().compute_units, Some(16));
        assert_eq!(mig_slice(&h100, "1g.20gb").unwrap().compute_units, Some(26));
        let pcie = GpuInfo::from(gpu_product("H100-PCIe").unwrap());
        assert_eq!(mig_slice(&pcie, "7g.80gb").unwrap().compute_units, Some(114));
        // H200 1g.35gb: no published listing of its SMs.
        let h200 = GpuInfo::from(gpu_product("H200").unwrap());
        assert_eq!(mig_slice(&h200, "1g.35gb").unwrap().compute_units, None);
        // A profile the catalog does not list: sized by its name, SMs unknown.
        assert_eq!(mig_slice(&h100, "1g.12gb").unwrap().compute_units, None);
        assert_eq!(mig_slice(&GpuInfo::with_memory("card", 80.0), "1g.10gb").unwrap().compute_units, None);
    }
}
