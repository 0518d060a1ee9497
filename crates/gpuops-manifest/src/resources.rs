//! Resource names: which extended resources are GPUs.

/// GPU-like extended resources: whole NVIDIA/AMD/Intel GPUs and NVIDIA MIG
/// slices (`nvidia.com/mig-1g.10gb`). One predicate for the whole suite:
/// inject removes the others when it switches a container's GPU resource,
/// fit counts them as the pod's GPUs.
pub fn is_gpu(name: &str) -> bool {
    name.starts_with("nvidia.com/gpu")
        || name.starts_with("nvidia.com/mig-")
        || name.starts_with("amd.com/gpu")
        || name.starts_with("gpu.intel.com/")
}

#[cfg(test)]
mod tests {
    use super::is_gpu;

    #[test]
    fn gpu_resources() {
        for yes in
            ["nvidia.com/gpu", "nvidia.com/gpu.shared", "nvidia.com/mig-1g.10gb", "amd.com/gpu", "gpu.intel.com/i915"]
        {
            assert!(is_gpu(yes), "{yes}");
        }
        for no in ["cpu", "memory", "nvidia.com/hostdev", "example.com/gpu", "ephemeral-storage"] {
            assert!(!is_gpu(no), "{no}");
        }
    }
}
