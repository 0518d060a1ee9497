//! Synthetic nodes for planning without a cluster (`--nodes`): pools of
//! GPU nodes labelled and sized like the real machines of each product.

use std::collections::BTreeMap;

use super::{Cluster, ClusterError, Node, Taint, TaintEffect};
use crate::resources::Resources;

/// GPU Feature Discovery's `nvidia.com/gpu.family` for a compute
/// capability (NVIDIA/k8s-device-plugin internal/lm/resource.go
/// `getArchFamily`).
fn gpu_family(major: u32, minor: u32) -> &'static str {
    match (major, minor) {
        (7, 0..=4) => "volta",
        (7, _) => "turing",
        (8, 0..=8) => "ampere",
        (8, _) => "ada-lovelace",
        (9, _) => "hopper",
        (10.., _) => "blackwell",
        _ => "undefined",
    }
}

/// The labels GPU Feature Discovery puts on a node with `gpus` of `gpu`
/// (NVIDIA/k8s-device-plugin docs/gpu-feature-discovery).
fn gfd_labels(set: &mut impl FnMut(&str, String), gpu: &PoolGpu, major: u32, minor: u32, gpus: i64) {
    let mig_capable = gpu.mig_capable;
    set("nvidia.com/gpu.present", "true".into());
    set("nvidia.com/gpu.product", gpu.label.clone());
    set("nvidia.com/gpu.memory", gpu.label_mib.to_string());
    set("nvidia.com/gpu.count", gpus.to_string());
    set("nvidia.com/gpu.family", gpu_family(major, minor).to_string());
    set("nvidia.com/gpu.compute.major", major.to_string());
    set("nvidia.com/gpu.compute.minor", minor.to_string());
    set("nvidia.com/gpu.replicas", "1".into());
    set("nvidia.com/gpu.sharing-strategy", "none".into());
    set("nvidia.com/mig.capable", mig_capable.to_string());
    set("nvidia.com/cuda.driver-version.major", "570".into());
    set("nvidia.com/cuda.driver-version.minor", "133".into());
    set("nvidia.com/cuda.driver-version.revision", "20".into());
    set("nvidia.com/cuda.driver-version.full", "570.133.20".into());
    set("nvidia.com/cuda.runtime-version.major", "12".into());
    set("nvidia.com/cuda.runtime-version.minor", "8".into());
    set("feature.node.kubernetes.io/pci-10de.present", "true".into());
}

/// The labels the ROCm node labeller puts on an AMD GPU node
/// (ROCm/k8s-device-plugin: `amd.com/gpu.product-name=AMD_Instinct_MI300X_OAM`,
/// `amd.com/gpu.vram=192G`, `amd.com/gpu.family=AI`).
fn rocm_labels(set: &mut impl FnMut(&str, String), gpu: &PoolGpu) {
    set("amd.com/gpu.product-name", gpu.label.clone());
    set("amd.com/gpu.vram", format!("{}G", gpu.label_mib / 1024));
    set("amd.com/gpu.family", if gpu.label.contains("Instinct") { "AI" } else { "NV" }.into());
    set("feature.node.kubernetes.io/amd-gpu", "true".into());
    set("feature.node.kubernetes.io/pci-1002.present", "true".into());
}

/// Extra labels and taints for every synthetic node (`--node-label`,
/// `--node-taint`), on top of each pool's own.
#[derive(Debug, Clone, Default)]
pub struct SyntheticExtras {
    pub labels: Vec<(String, String)>,
    pub taints: Vec<Taint>,
}

/// `KEY=VALUE` as a label.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// `KEY[=VALUE]:EFFECT` as `kubectl taint` writes it.
pub fn parse_taint(text: &str) -> Result<Taint, String> {
    let (kv, effect) = text.rsplit_once(':').ok_or_else(|| format!("{text:?} is not KEY[=VALUE]:EFFECT"))?;
    let effect = TaintEffect::from(effect);
    if let TaintEffect::Other(_) = effect {
        return Err(format!("{text:?}: the effect must be NoSchedule, PreferNoSchedule or NoExecute"));
    }
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    if key.is_empty() {
        return Err(format!("{text:?} has no key"));
    }
    Ok(Taint { key: key.to_string(), value: value.to_string(), effect })
}

/// Pools separated by commas outside `[…]`.
fn split_pools(spec: &str) -> Vec<&str> {
    let mut pools = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in spec.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                pools.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pools.push(&spec[start..]);
    pools.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// Bounds of `--nodes`: ten times the largest cluster Kubernetes supports
/// (5,000 nodes, kubernetes.io "Considerations for large clusters"), and
/// more GPUs than any machine holds.
pub const MAX_SYNTHETIC_NODES: u64 = 50_000;
pub const MAX_GPUS_PER_NODE: u32 = 64;

/// What a synthetic pool needs to know of a GPU product: the scheduling
/// library holds no catalog; `gpuops-fit` (`pools`) fills this from
/// `gpuops_model::catalog`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolGpu {
    /// `nvidia.com/gpu.product` or `amd.com/gpu.product-name`.
    pub label: String,
    /// The short name node names start with (`h100-80gb-0`).
    pub short_name: String,
    /// The extended resource its device plugin advertises.
    pub resource: String,
    /// `nvidia.com/gpu.memory` (MiB) or `amd.com/gpu.vram`.
    pub label_mib: u64,
    /// CUDA compute capability; `None` for an AMD GPU (ROCm labels).
    pub compute: Option<(u32, u32)>,
    pub mig_capable: bool,
}

/// The GPU products synthetic pools may name.
pub trait GpuProducts {
    /// The product a pool names (`H100-80GB`, `L4`, a product label).
    fn product(&self, name: &str) -> Option<PoolGpu>;
    /// Names to suggest when a pool names none of them.
    fn known(&self) -> Vec<String>;
}

/// Synthetic nodes for planning without a cluster: `[NODES*]GPUSxPRODUCT`
/// pools, comma-separated (`2*8xH100-80GB,8xL4`), each optionally followed
/// by `[LABEL=VALUE,…,taint=KEY=VALUE:EFFECT]`
/// (`8xH100[cloud.google.com/gke-accelerator=nvidia-h100-80gb,taint=nvidia.com/gpu=present:NoSchedule]`).
///
/// Each node looks like a real GPU node of that product: the kubelet's
/// labels (`kubernetes.io/hostname`, `kubernetes.io/os`,
/// `kubernetes.io/arch` and their `beta.` forms), GPU Feature Discovery's
/// (`nvidia.com/gpu.present`, `.product`, `.memory`, `.count`, `.family`,
/// `.compute.major/minor`, `.replicas`, `.sharing-strategy`,
/// `nvidia.com/mig.capable`, `nvidia.com/cuda.driver-version.*`), and
/// allocatable sized like the cloud machines built around that GPU: per
/// GPU, a third of its memory (GiB) in cores (12 to 26) and three times its
/// memory in RAM — an 8×H100 node gets 208 cores and 1,920Gi (a3-highgpu-8g:
/// 208 vCPU, 1,872 GB), 2×L4 24 cores (g2-standard-24: 24 vCPU), 8×A100-40GB
/// 104 (a2-highgpu-8g: 96) —, at least 8 cores and 64Gi; `ephemeral-storage` 100Gi + 100Gi × GPUs; `hugepages-*` 0;
/// 110 pods; and the GPUs.
pub fn synthetic(spec: &str, products: &dyn GpuProducts) -> Result<Cluster, ClusterError> {
    synthetic_with(spec, &SyntheticExtras::default(), products)
}

/// [`synthetic`] with labels and taints added to every node.
pub fn synthetic_with(
    spec: &str,
    extras: &SyntheticExtras,
    products: &dyn GpuProducts,
) -> Result<Cluster, ClusterError> {
    let mut cluster = Cluster { source: format!("--nodes {spec}"), ..Cluster::default() };
    for pool in split_pools(spec) {
        let bad = |problem: String| ClusterError::Synthetic { pool: pool.to_string(), problem };
        let (shape, options) = match pool.split_once('[') {
            Some((shape, rest)) => {
                (shape, rest.strip_suffix(']').ok_or_else(|| bad("a '[' without its ']'".to_string()))?)
            }
            None => (pool, ""),
        };
        let mut labels_extra = extras.labels.clone();
        let mut taints = extras.taints.clone();
        for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match option.strip_prefix("taint=") {
                Some(t) => taints.push(parse_taint(t).map_err(bad)?),
                None => labels_extra.push(parse_label(option).map_err(bad)?),
            }
        }
        let (count, rest) = match shape.split_once('*') {
            Some((n, rest)) => (n.trim().parse::<u64>().map_err(|_| bad(format!("{n:?} is not a node count")))?, rest),
            None => (1, shape),
        };
        if count == 0 || count > MAX_SYNTHETIC_NODES {
            return Err(bad(format!(
                "{count} nodes: a pool has 1 to {MAX_SYNTHETIC_NODES} (Kubernetes supports clusters of up to 5,000 nodes)"
            )));
        }
        if cluster.nodes.len() as u64 + count > MAX_SYNTHETIC_NODES {
            return Err(bad(format!("more than {MAX_SYNTHETIC_NODES} nodes in all")));
        }
        let (gpus, product) = rest
            .split_once(['x', 'X'])
            .ok_or_else(|| bad("not [NODES*]GPUSxPRODUCT, e.g. 2*8xH100-80GB".to_string()))?;
        let gpus: i64 = gpus
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|g| *g <= MAX_GPUS_PER_NODE)
            .ok_or_else(|| bad(format!("{gpus:?} is not a GPU count (0 to {MAX_GPUS_PER_NODE} per node)")))?
            .into();
        let gpu = products
            .product(product.trim())
            .ok_or_else(|| bad(format!("unknown GPU product {product:?}; known: {}", products.known().join(", "))))?;
        let prefix = gpu.short_name.to_ascii_lowercase();
        let existing = cluster.nodes.iter().filter(|n| n.name.starts_with(&format!("{prefix}-"))).count();
        for i in 0..count {
            let name = format!("{prefix}-{}", existing as u64 + i);
            let mut labels = BTreeMap::new();
            let mut set = |k: &str, v: String| {
                labels.insert(k.to_string(), v);
            };
            set("kubernetes.io/hostname", name.clone());
            for os in ["kubernetes.io/os", "beta.kubernetes.io/os"] {
                set(os, "linux".into());
            }
            for arch in ["kubernetes.io/arch", "beta.kubernetes.io/arch"] {
                set(arch, "amd64".into());
            }
            match gpu.compute {
                Some((major, minor)) => gfd_labels(&mut set, &gpu, major, minor, gpus),
                None => rocm_labels(&mut set, &gpu),
            }
            for (k, v) in &labels_extra {
                set(k, v.clone());
            }
            let gpu_gib = gpu.label_mib.div_ceil(1024) as i64;
            let cores_per_gpu = (gpu_gib / 3).clamp(12, 26);
            let allocatable = Resources::from([
                ("cpu".to_string(), (cores_per_gpu * gpus).max(8) * 1000),
                ("memory".to_string(), (3 * gpu_gib * gpus).max(64) << 30),
                ("ephemeral-storage".to_string(), (100 + 100 * gpus) << 30),
                ("hugepages-1Gi".to_string(), 0),
                ("hugepages-2Mi".to_string(), 0),
                ("pods".to_string(), 110),
                (gpu.resource.clone(), gpus),
            ]);
            cluster.nodes.push(Node { name, labels, taints: taints.clone(), unschedulable: false, allocatable });
        }
    }
    if cluster.nodes.is_empty() {
        return Err(ClusterError::NoSyntheticNodes);
    }
    Ok(cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two products, as gpuops-model's catalog describes them.
    struct TestProducts;

    impl GpuProducts for TestProducts {
        fn product(&self, name: &str) -> Option<PoolGpu> {
            let (label, short_name, label_mib, compute) = match name {
                "H100-80GB" | "H100" => ("NVIDIA-H100-80GB-HBM3", "H100-80GB", 81559, (9, 0)),
                "L4" => ("NVIDIA-L4", "L4", 23034, (8, 9)),
                _ => return None,
            };
            Some(PoolGpu {
                label: label.into(),
                short_name: short_name.into(),
                resource: "nvidia.com/gpu".into(),
                label_mib,
                compute: Some(compute),
                mig_capable: name != "L4",
            })
        }

        fn known(&self) -> Vec<String> {
            vec!["H100-80GB".into(), "L4".into()]
        }
    }

    fn synthetic(spec: &str) -> Result<Cluster, ClusterError> {
        super::synthetic(spec, &TestProducts)
    }

    #[test]
    fn synthetic_pools_reject_counts_no_cluster_has() {
        for (spec, problem) in [
            ("1*-8xH100-80GB", "\"-8\" is not a GPU count"),
            ("-1*8xH100-80GB", "\"-1\" is not a node count"),
            ("0*8xH100-80GB", "0 nodes: a pool has 1 to 50000"),
            ("100000000*8xH100-80GB", "100000000 nodes"),
            ("2*65xH100-80GB", "\"65\" is not a GPU count (0 to 64 per node)"),
            ("40000*8xH100-80GB,20000*8xL4", "more than 50000 nodes in all"),
        ] {
            let err = synthetic(spec).unwrap_err().to_string();
            assert!(err.contains(problem), "{spec}: {err}");
        }
    }

    #[test]
    fn synthetic_pools() {
        let c = synthetic("2*8xH100-80GB,8xL4").unwrap();
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["h100-80gb-0", "h100-80gb-1", "l4-0"]);
        assert_eq!(c.nodes[0].allocatable["nvidia.com/gpu"], 8);
        assert_eq!(c.nodes[2].labels["nvidia.com/gpu.product"], "NVIDIA-L4");
        assert!(synthetic("2*8xB999").unwrap_err().to_string().contains("unknown GPU product"));
        assert!(synthetic("8H100").is_err());
        // Real manifests select on these; without them every node fails.
        for key in ["kubernetes.io/os", "kubernetes.io/arch", "kubernetes.io/hostname", "nvidia.com/gpu.present"] {
            assert!(c.nodes[0].labels.contains_key(key), "{key}");
        }
        assert_eq!(c.nodes[0].labels["nvidia.com/gpu.family"], "hopper");
        assert_eq!(c.nodes[0].allocatable["ephemeral-storage"], 900 << 30);
        let custom = synthetic(
            "2*8xH100[cloud.google.com/gke-accelerator=nvidia-h100-80gb,taint=nvidia.com/gpu=present:NoSchedule],1xL4",
        )
        .unwrap();
        assert_eq!(custom.nodes.len(), 3);
        assert_eq!(custom.nodes[0].labels["cloud.google.com/gke-accelerator"], "nvidia-h100-80gb");
        assert_eq!(custom.nodes[0].taints[0].effect, TaintEffect::NoSchedule);
        assert!(custom.nodes[2].taints.is_empty(), "options belong to their pool");
        assert!(synthetic("8xH100[taint=x:Sometimes]").is_err());
    }
}
