//! FlashInfer's all-reduce + RMSNorm fusion workspace: memory outside
//! PyTorch's allocator that vLLM ≥ 0.17 creates on each TP rank of a
//! compiled model on Hopper and Blackwell.
//!
//! - On by default from 0.17.0: optimization levels O2 (the default,
//!   v0.19.0 config/vllm.py:320) and O3 set `fuse_allreduce_rms` to
//!   `enable_allreduce_rms_fusion` (v0.17.0 config/vllm.py:204,223); at
//!   0.16.0 every level sets it False (v0.16.0 config/vllm.py:124-181).
//! - `enable_allreduce_rms_fusion` (v0.17.0 config/vllm.py:113-132,
//!   v0.19.0:116-135, v0.20.0:119-138): TP > 1, CUDA, FlashInfer
//!   installed (vLLM's images ship it), compute capability 9.0 or 10.0 —
//!   the 10.x family from 0.19 (`is_device_capability_family(100)`) —,
//!   DP = 1 and PP = 1.
//! - `--enforce-eager` turns compilation off (`CompilationMode.NONE`,
//!   v0.19.0 config/vllm.py:847-853): no pass, no workspace.
//! - The pass sizes it (compilation/passes/fusion/allreduce_rms_fusion.py
//!   v0.17.0:742-748, v0.19.0:758-764): `max_token_num = min(max_size //
//!   (hidden × dtype bytes), max_num_batched_tokens)`, `max_size` from
//!   `FI_ALLREDUCE_FUSION_MAX_SIZE_MB` (v0.17.0 :54-65, v0.19.0 :54-70,
//!   v0.20.0 :59-): 9.0 → TP2 64 MB, TP4 2, TP8 0.5; 10.0 → 64, 32, 1;
//!   10.3 (0.19+) → 64, 64, 2; other TP sizes get none
//!   (config/compilation.py `flashinfer_max_size`, FI_SUPPORTED_WORLD_SIZES
//!   [2, 4, 8]).
//! - Single-node backend "trtllm" (v0.17.0 envs.py:1303-1307 default;
//!   from 0.19 "auto" resolves to it on one node, v0.19.0
//!   distributed/device_communicators/flashinfer_all_reduce.py:96-115),
//!   one workspace shared with the quant patterns (v0.18.0 :109). Its
//!   size is FlashInfer's (flashinfer/comm/trtllm_ar.py
//!   `trtllm_create_ipc_workspace_for_all_reduce_fusion`, 0.6.4:570-595,
//!   0.6.6:574-599, 0.6.8.post1:587-612 — the versions vLLM 0.17, 0.19 and
//!   0.20 pin): per rank `tp × max_token_num × hidden × 2` bytes, a flag
//!   buffer of `tp × 256 × 4`, and 3 × the Lamport buffer of `tp ×
//!   max_token_num × hidden × 2` (× 4 for float32), each rounded up to
//!   2 MiB (trtllm_ar.py 0.6.6:598).
//! - From 0.17 vLLM creates it through FlashInfer's unified workspace
//!   (`TRTLLMAllReduceFusionWorkspace`, flashinfer/comm/allreduce.py
//!   0.6.6:121-130: `use_symm_dev_mem=True`), so each of the three buffers
//!   is a `SymmDeviceMemory` (trtllm_ar.py 0.6.6:604-611) whose physical
//!   allocation is rounded up twice: to the allocation granularity after
//!   a 2 KiB signal pad, then to the *multicast* granularity
//!   (`cuMulticastGetGranularity(…, RECOMMENDED)`, flashinfer/comm/mnnvl.py
//!   0.6.6:1111-1148), although no multicast object is made
//!   (`enable_multicast=False`). Each rank `cuMemCreate`s its own three and
//!   maps its peers' ([`MULTICAST_GRANULARITY`]: 3 × 512 MiB on an H100).
//!   The constructor raises where the device does not support multicast
//!   (mnnvl.py 0.6.6:929-938: PCIe and NVLink-bridge cards, no NVSwitch)
//!   and vLLM then builds no workspace ("expected on GPUs without
//!   NVSwitch", distributed/device_communicators/flashinfer_all_reduce.py
//!   v0.19.0:63-76).
//!
//! Read at 0.17–0.20 and assumed to hold after. Across nodes vLLM picks
//! the MNNVL backend, whose workspace is not modeled (0 here).

use super::version::VllmVersion;
use crate::catalog::GpuInfo;

const MIB: u64 = 1 << 20;
const GIB: f64 = (1u64 << 30) as f64;

/// CUDA's recommended multicast granularity on an H100 with NVSwitch:
/// 512 MiB. Not read from an NVIDIA document (the CUDA driver reports it):
/// sglang#18341's TP2 log of the same FlashInfer workspace shows buffers of
/// 24, 2 and 68 MiB whose per-rank pointers sit 0x20000000 (512 MiB)
/// apart, and it is the only size that puts the calibration set's fit
/// half at vLLM 0.19 on H100 — 2.07–2.09 GiB of non-torch memory at TP 2,
/// 2.13–2.21 at TP 4, whose workspaces at 2 MiB rounding would differ by
/// 0.5 GiB — on one figure (`tests/calibration.rs`). Blackwell's is not
/// established; the same is assumed there, and the answer says so
/// ([`assumed_granularity`]).
pub const MULTICAST_GRANULARITY: u64 = 512 * MIB;

/// FlashInfer's signal pad, added before the rounding
/// (`SIGNAL_PAD_SIZE = 2048`, flashinfer/comm/mnnvl.py 0.6.6:58).
const SIGNAL_PAD: u64 = 2048;

/// The physical memory of one `SymmDeviceMemory` buffer of `bytes`
/// (rounded to 2 MiB first, trtllm_ar.py 0.6.6:598; the allocation
/// granularity is 2 MiB).
fn symmetric_allocation(bytes: u64) -> u64 {
    (bytes.next_multiple_of(2 * MIB) + SIGNAL_PAD).next_multiple_of(2 * MIB).next_multiple_of(MULTICAST_GRANULARITY)
}

/// Whether the workspace's size rests on the H100's multicast granularity
/// taken for a Blackwell GPU's (see [`MULTICAST_GRANULARITY`]).
pub fn assumed_granularity(gpu: &GpuInfo, workspace_gib: f64) -> bool {
    workspace_gib > 0.0 && gpu.compute_capability().is_some_and(|(major, _)| major >= 10)
}

/// What decides the workspace.
#[derive(Debug, Clone, Copy)]
pub struct FusionInputs<'a> {
    pub version: VllmVersion,
    pub gpu: &'a GpuInfo,
    pub tp: u64,
    pub pp: u64,
    pub enforce_eager: bool,
    pub multi_node: bool,
    pub hidden: u64,
    /// The model dtype's bytes (2, or 4 for float32).
    pub dtype_bytes: u64,
    pub max_num_batched_tokens: u64,
}

/// `FI_ALLREDUCE_FUSION_MAX_SIZE_MB[capability][tp]` in bytes; `None`
/// where the pass is off for this GPU and version.
fn max_size_bytes(version: VllmVersion, capability: (u32, u32), tp: u64) -> Option<u64> {
    let family_100 = version >= VllmVersion::new(0, 19, 0);
    let table: [f64; 3] = match capability {
        (9, 0) => [64.0, 2.0, 0.5],
        (10, 0) => [64.0, 32.0, 1.0],
        (10, 3) if family_100 => [64.0, 64.0, 2.0],
        _ => return None,
    };
    let mb = match tp {
        2 => table[0],
        4 => table[1],
        8 => table[2],
        _ => return None,
    };
    Some((mb * MIB as f64) as u64)
}

/// The workspace one rank holds (GiB); 0 where vLLM builds none.
pub fn fusion_workspace_gib(inputs: &FusionInputs) -> f64 {
    let on = inputs.version >= VllmVersion::new(0, 17, 0)
        && inputs.tp > 1
        && inputs.pp <= 1
        && !inputs.enforce_eager
        && !inputs.multi_node
        && inputs.gpu.nvswitch;
    let Some(max_size) = inputs.gpu.compute_capability().and_then(|c| max_size_bytes(inputs.version, c, inputs.tp))
    else {
        return 0.0;
    };
    if !on || inputs.hidden == 0 {
        return 0.0;
    }
    let element = inputs.dtype_bytes.max(2);
    let tokens = (max_size / (inputs.hidden * element)).min(inputs.max_num_batched_tokens);
    let buffer = inputs.tp * tokens * inputs.hidden * 2;
    let flags = inputs.tp * 256 * 4;
    let lamport = 3 * inputs.tp * tokens * inputs.hidden * element;
    [buffer, flags, lamport].into_iter().map(symmetric_allocation).sum::<u64>() as f64 / GIB
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::gpu_product;

    fn inputs<'a>(gpu: &'a GpuInfo, version: &str, tp: u64, hidden: u64) -> FusionInputs<'a> {
        FusionInputs {
            version: VllmVersion::parse(version).unwrap(),
            gpu,
            tp,
            pp: 1,
            enforce_eager: false,
            multi_node: false,
            hidden,
            dtype_bytes: 2,
            max_num_batched_tokens: 8192,
        }
    }

    /// Each of the three buffers is a multicast-granular allocation: 512 MiB
    /// on an H100 for any of them under 512 MiB, so 1.5 GiB a rank at TP 2
    /// (Qwen2.5-72B, hidden 8192: 64 MB / 16 KiB = 4,096 tokens, buffers
    /// of 128 MiB, 2 KiB and 384 MiB, trtllm_ar.py 0.6.6:574-599) and TP 4
    /// (204 tokens of a 5,120-wide model: 8 MiB, 4 KiB, 24 MiB) alike, and
    /// for a float32 16,384-wide model (1,024 tokens: a 384 MiB Lamport
    /// buffer). A buffer whose 2 KiB pad takes it past 512 MiB takes the
    /// next multiple.
    #[test]
    fn workspace_as_flashinfer_allocates_it() {
        let h100: GpuInfo = gpu_product("H100-80GB").unwrap().into();
        let gib = fusion_workspace_gib(&inputs(&h100, "0.19.0", 2, 8192));
        assert!((gib - 1.5).abs() < 1e-9, "{gib}");
        let gib = fusion_workspace_gib(&inputs(&h100, "0.19.0", 4, 5120));
        assert!((gib - 1.5).abs() < 1e-9, "{gib}");
        assert_eq!(symmetric_allocation(384 * MIB), 512 * MIB);
        assert_eq!(symmetric_allocation(512 * MIB), 1024 * MIB, "the signal pad pushes it over");
        let wide = FusionInputs { dtype_bytes: 4, ..inputs(&h100, "0.19.0", 2, 16_384) };
        // 64 MB / (16,384 × 4) = 1,024 tokens: Lamport 3 × 2 × 1,024 × 16,384 × 4 = 384 MiB.
        assert!((fusion_workspace_gib(&wide) - 1.5).abs() < 1e-9);
        let wider = FusionInputs { max_num_batched_tokens: 8192, ..inputs(&h100, "0.19.0", 2, 4096) };
        // 8,192 tokens: buffer 128 MiB, Lamport 384 MiB: still 3 × 512.
        assert!((fusion_workspace_gib(&wider) - 1.5).abs() < 1e-9);
    }

    /// None before 0.17, with --enforce-eager, with PP, at TP 1 or 6,
    /// across nodes, or on a GPU outside 9.0/10.x (A100, L40S, RTX 5090).
    #[test]
    fn no_workspace_where_vllm_builds_none() {
        let h100: GpuInfo = gpu_product("H100-80GB").unwrap().into();
        let base = inputs(&h100, "0.19.0", 2, 8192);
        assert!(fusion_workspace_gib(&base) > 0.0);
        assert_eq!(fusion_workspace_gib(&inputs(&h100, "0.16.0", 2, 8192)), 0.0);
        assert_eq!(fusion_workspace_gib(&FusionInputs { enforce_eager: true, ..base }), 0.0);
        assert_eq!(fusion_workspace_gib(&FusionInputs { pp: 2, ..base }), 0.0);
        assert_eq!(fusion_workspace_gib(&FusionInputs { multi_node: true, ..base }), 0.0);
        assert_eq!(fusion_workspace_gib(&inputs(&h100, "0.19.0", 1, 8192)), 0.0);
        assert_eq!(fusion_workspace_gib(&inputs(&h100, "0.19.0", 6, 8192)), 0.0);
        // No NVSwitch, no multicast: FlashInfer raises, vLLM drops the pass.
        for other in ["A100-80GB", "L40S", "H100-PCIe", "H100-NVL"] {
            let gpu: GpuInfo = gpu_product(other).unwrap().into();
            assert_eq!(fusion_workspace_gib(&inputs(&gpu, "0.19.0", 2, 8192)), 0.0, "{other}");
        }
    }

    /// Blackwell 10.3 joins at 0.19 (`is_device_capability_family(100)`);
    /// 10.0 uses its own thresholds (TP 4: 32 MB).
    #[test]
    fn blackwell_thresholds_by_version() {
        let b300 = GpuInfo { compute: "10.3".into(), ..GpuInfo::from(gpu_product("B200").unwrap()) };
        assert_eq!(fusion_workspace_gib(&inputs(&b300, "0.18.0", 4, 8192)), 0.0);
        assert!(fusion_workspace_gib(&inputs(&b300, "0.19.0", 4, 8192)) > 0.9);
        let b200: GpuInfo = gpu_product("B200").unwrap().into();
        // 32 MB / 16 KiB = 2,048 tokens: 4 × 2,048 × 8,192 × 2 = 128 MiB,
        // Lamport 384 MiB: three allocations at the H100's granularity.
        let gib = fusion_workspace_gib(&inputs(&b200, "0.17.0", 4, 8192));
        assert!((gib - 1.5).abs() < 1e-9, "{gib}");
        // 10.3 at TP 4 (64 MB: 4,096 tokens of 8,192): a 256 MiB buffer and
        // a 768 MiB Lamport buffer, 512 + 512 + 1,024 MiB; 2,048 batched
        // tokens cap it (allreduce_rms_fusion.py v0.19.0:762) to 1.5 GiB.
        assert!((fusion_workspace_gib(&inputs(&b300, "0.19.0", 4, 8192)) - 2.0).abs() < 1e-9);
        let capped = FusionInputs { max_num_batched_tokens: 2048, ..inputs(&b300, "0.19.0", 4, 8192) };
        assert!((fusion_workspace_gib(&capped) - 1.5).abs() < 1e-9);
        assert!(assumed_granularity(&b200, gib));
        let h100: GpuInfo = gpu_product("H100-80GB").unwrap().into();
        assert!(!assumed_granularity(&h100, 1.5));
    }
}
