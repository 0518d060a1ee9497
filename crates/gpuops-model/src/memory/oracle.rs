//! vLLM 0.8–0.10's V1 oracle (engine/arg_utils.py
//! `EngineArgs._is_v1_supported_oracle`): with `VLLM_USE_V1` unset the
//! engine falls back to V0 at the first check a deployment fails, with
//! `VLLM_USE_V1=1` it refuses (or, for an experimental feature, warns).
//! Only the checks on what gpuops reads are ported; each boundary was read
//! in the released wheels, cited at the check.

use super::version::{VllmEnv, VllmVersion};
use super::{Dtype, KvCacheDtype};
use crate::catalog::Vendor;

impl VllmVersion {
    /// Whether this release has the V1 oracle with a V0 engine to fall
    /// back to: 0.8.0 (v0.8.0 arg_utils.py:1404) to the last 0.10 (v0.10.2
    /// arg_utils.py:1431; no V0 worker in 0.11.0).
    pub(super) fn has_v1_oracle(self) -> bool {
        self.at_least(0, 8, 0) && !self.at_least(0, 11, 0)
    }

    /// What the V1 oracle does with `VLLM_USE_V1` unset: the first check
    /// that fails, in the oracle's own order; `None` where V1 runs.
    pub fn v1_fallback(self, env: &VllmEnv, inputs: &OracleInputs) -> Option<V1Unsupported> {
        if env.use_v1.is_some() {
            return None;
        }
        self.v1_unsupported(env, inputs).into_iter().next()
    }

    /// `VLLM_USE_V1=1` where the oracle meets a feature V1 does not
    /// support: `_raise_or_fallback` raises `NotImplementedError("VLLM_USE_V1=1
    /// is not supported with {feature_name}.")` (engine/arg_utils.py
    /// v0.8.0:1745-1748, v0.8.5:1649-1652, v0.10.1.1:1761-1764). An
    /// experimental feature (`_warn_or_fallback`, v0.8.0:1757-1769) only
    /// warns there and the oracle goes on to the next check.
    pub fn v1_refused(self, env: &VllmEnv, inputs: &OracleInputs) -> Option<String> {
        if env.use_v1 != Some(true) {
            return None;
        }
        self.v1_unsupported(env, inputs)
            .into_iter()
            .find(|u| u.kind != OracleCheck::Experimental)
            .map(|u| format!("VLLM_USE_V1=1 is not supported with {}.", u.feature))
    }

    /// The oracle's checks that fail for `inputs`, in its order (each one
    /// returns at the first that fails with `VLLM_USE_V1` unset). Only the
    /// checks on what gpuops reads are ported: the GPU, `--kv-cache-dtype`,
    /// `--cpu-offload-gb`, `--dtype`, `--quantization`,
    /// `--kv-transfer-config`, `VLLM_ATTENTION_BACKEND`, LoRA and pipeline
    /// parallelism (not load formats, logits processors, scheduler flags,
    /// guided decoding, speculative decoding, tracing, tasks or
    /// architectures). Lines are engine/arg_utils.py's at each release read
    /// (0.8.0 to 0.8.5, 0.9.0 to 0.9.2, 0.10.0, 0.10.1.1, 0.10.2).
    pub fn v1_unsupported(self, env: &VllmEnv, inputs: &OracleInputs) -> Vec<V1Unsupported> {
        let mut failing = Vec::new();
        if !self.has_v1_oracle() {
            return failing;
        }
        let unsupported = |feature: &str| V1Unsupported::new(feature, OracleCheck::Unsupported);
        // "Need at least Ampere for now (FA support required)": CUDA only
        // (v0.8.0:1473-1477, v0.8.5:1351-1356, v0.10.1.1:1400-1405); gone
        // at 0.10.2.
        if !self.at_least(0, 10, 2) && inputs.cuda.is_some_and(|(major, _)| major < 8) {
            failing.push(unsupported("Compute Capability < 8.0"));
        }
        if inputs.kv_cache_dtype != KvCacheDtype::Auto && self.kv_cache_dtype_unsupported(env, inputs) {
            failing.push(unsupported("--kv-cache-dtype"));
        }
        // "No CPU offloading yet" (v0.8.0:1492, v0.8.2:1584; gone at 0.8.3).
        if !self.at_least(0, 8, 3) && inputs.cpu_offload_gb != 0.0 {
            failing.push(unsupported("--cpu-offload-gb"));
        }
        // `model_config.dtype not in V1_SUPPORTED_DTYPES` (bf16, fp16):
        // v0.8.0:1498, v0.8.5:1382, v0.9.1:1341; gone at 0.9.2. `auto`
        // resolves a float32 checkpoint to 16 bits, so only an explicit
        // float32 fails; the name is the torch dtype's.
        if !self.at_least(0, 9, 2) && inputs.dtype == Dtype::Float32 {
            failing.push(unsupported("--dtype torch.float32"));
        }
        // `V1_UNSUPPORTED_QUANT`: ["bitsandbytes", "gguf"] at v0.8.0:1505
        // and v0.8.2:1597, ["gguf"] at v0.8.3:1435 and v0.8.5:1389; gone at
        // 0.9.0. Matched as vLLM spells the method (`--quantization` choices).
        let unsupported_quant: &[&str] = if !self.at_least(0, 8, 3) {
            &["bitsandbytes", "gguf"]
        } else if !self.at_least(0, 9, 0) {
            &["gguf"]
        } else {
            &[]
        };
        if let Some(quant) = inputs.quantization.as_deref().filter(|q| unsupported_quant.contains(q)) {
            failing.push(V1Unsupported::new(&format!("--quantization {quant}"), OracleCheck::Unsupported));
        }
        // "No Disaggregated Prefill so far" (v0.8.0:1561, v0.8.4:1513;
        // gone at 0.8.5).
        if !self.at_least(0, 8, 5) && inputs.kv_connector {
            failing.push(unsupported("--kv-transfer-config"));
        }
        if let Some(backend) = env.attention_backend.as_deref().filter(|b| !self.v1_backends().contains(b)) {
            failing
                .push(V1Unsupported::new(&format!("VLLM_ATTENTION_BACKEND={backend}"), OracleCheck::UnsupportedRemove));
        }
        // "LoRA is supported on V1, but off by default for now":
        // `_warn_or_fallback("LORA")` (v0.8.0:1586, v0.8.2:1685; gone at
        // 0.8.3), just before the PP check.
        if !self.at_least(0, 8, 3) && inputs.lora {
            failing.push(V1Unsupported::new("LORA", OracleCheck::Experimental));
        }
        failing.extend(
            self.pipeline_parallel_unsupported(
                inputs.pipeline_parallel,
                inputs.distributed_executor_backend.as_deref(),
            ),
        );
        // ROCm: `_warn_or_fallback(current_platform.device_type)` ("cuda")
        // for a platform that is not CUDA (v0.8.0:1598-1601, v0.8.2:1698),
        // `device_name` ("rocm") from 0.8.3 (v0.8.3:1538-1541, v0.8.5
        // :1493-1496), "not CUDA nor TPU" at v0.9.0:1387-1390 and v0.9.1
        // :1446-1449; from 0.9.2 `current_platform.default_v1`, which is
        // `supports_v1`, True on ROCm (v0.9.2 arg_utils.py:1492,
        // platforms/interface.py:489-493, rocm.py:397-399).
        if inputs.vendor == Some(Vendor::Amd) && !self.at_least(0, 9, 2) {
            let name = if self.at_least(0, 8, 3) { "rocm" } else { "cuda" };
            failing.push(V1Unsupported::new(name, OracleCheck::Experimental));
        }
        failing
    }

    /// `--kv-cache-dtype` other than auto, where the oracle falls back:
    /// - 0.8.0–0.8.1: always ("No Fp8 KV cache so far", v0.8.0:1480-1483);
    /// - 0.8.2–0.9.2: unless fp8 on FlashAttention that supports it
    ///   (v0.8.2:1561-1575, v0.8.5:1359-1373, v0.9.2:1366-1383);
    ///   `will_use_fa` is CUDA with `VLLM_ATTENTION_BACKEND` unset, or
    ///   set to `FLASH_ATTN_VLLM_V1`; `flash_attn_supports_fp8()` is FA 3
    ///   on compute capability 9.x (vllm_flash_attn/fa_utils.py v0.8.2
    ///   :10-54, attention/utils/fa_utils.py v0.8.5:10-54, v0.9.2:66-68:
    ///   FA 3 by default on 9.x, `VLLM_FLASH_ATTN_VERSION` overrides, and
    ///   any other version on 9.x or FA 3 elsewhere is not fp8). ROCm has
    ///   no vLLM FlashAttention build to import (None, fa_utils.py
    ///   v0.8.5:47-48) until 0.9.0 accepts any on ROCm (v0.9.0:1264-1265);
    /// - 0.10.0–0.10.1: `current_platform.is_kv_cache_dtype_supported`
    ///   (v0.10.0:1355-1356): CUDA takes compute capability exactly 10.0,
    ///   else the FlashAttention rule above (platforms/cuda.py
    ///   v0.10.0:460-470, v0.10.1.1:498-508); ROCm any (rocm.py
    ///   v0.10.1.1:462-463);
    /// - 0.10.2: per backend (cuda.py v0.10.2:522-561): MLA defaults to
    ///   CUTLASS_MLA on 10.0 and FLASHMLA elsewhere, both fp8-capable;
    ///   others to FLASH_ATTN_VLLM_V1 (the rule above), 10.0 takes any,
    ///   FLASHINFER any, TRITON_ATTN_VLLM_V1 from compute capability 8.9
    ///   (`supports_fp8`, :468-469).
    ///
    /// A GPU not known (no GPU, or one known by its memory alone) cannot be
    /// judged from 0.8.2 on: no fallback is assumed.
    fn kv_cache_dtype_unsupported(self, env: &VllmEnv, inputs: &OracleInputs) -> bool {
        if !self.at_least(0, 8, 2) {
            return true;
        }
        let fp8 = inputs.kv_cache_dtype == KvCacheDtype::Fp8;
        let cuda = match inputs.vendor {
            Some(Vendor::Amd) => return !self.at_least(0, 9, 0),
            Some(Vendor::Nvidia) => match inputs.cuda {
                Some(cuda) => cuda,
                None => return false,
            },
            None => return false,
        };
        let backend = env.attention_backend.as_deref();
        let fa_fp8 = cuda.0 == 9 && env.flash_attn_version.is_none_or(|v| v == 3);
        let will_use_fa = backend.is_none_or(|b| b == "FLASH_ATTN_VLLM_V1");
        if !self.at_least(0, 10, 0) {
            return !(fp8 && will_use_fa && fa_fp8);
        }
        let blackwell = cuda == (10, 0);
        if !self.at_least(0, 10, 2) {
            return !(blackwell || (fp8 && will_use_fa && fa_fp8));
        }
        if inputs.mla == Some(true) {
            // FLASHMLA and CUTLASS_MLA (the defaults) take fp8; the other
            // MLA backends 16 bits only.
            let fp8_backend = backend.is_none_or(|b| matches!(b, "FLASHMLA" | "CUTLASS_MLA"));
            return fp8 && !fp8_backend;
        }
        if inputs.mla.is_none() {
            // Which branch applies is the model's: not judged.
            return false;
        }
        let supported = blackwell
            || match backend.unwrap_or("FLASH_ATTN_VLLM_V1") {
                "FLASH_ATTN_VLLM_V1" => !fp8 || fa_fp8,
                "FLASHINFER" => true,
                "TRITON_ATTN_VLLM_V1" => cuda >= (8, 9),
                _ => false,
            };
        !supported
    }

    /// `V1_BACKENDS`, the `VLLM_ATTENTION_BACKEND` values V1 takes
    /// (engine/arg_utils.py v0.8.0:1567-1570, v0.8.2:1659-1662 +TRITON_ATTN,
    /// v0.8.5:1445-1455 +FLASHINFER, v0.9.0:1346-1357 +ROCM_AITER_MLA,
    /// v0.9.1:1399-1413 +CUTLASS_MLA_VLLM_V1, TORCH_SDPA, FLEX_ATTENTION,
    /// v0.10.1.1:1456-1472 CUTLASS_MLA renamed, +TREE_ATTN, XFORMERS,
    /// v0.10.2:1502-1521 +FLASHMLA_VLLM_V1, FLASH_ATTN_MLA, FLASHINFER_MLA).
    fn v1_backends(self) -> Vec<&'static str> {
        let mut backends =
            vec!["FLASH_ATTN_VLLM_V1", "FLASH_ATTN", "PALLAS", "PALLAS_VLLM_V1", "TRITON_MLA", "FLASHMLA"];
        if self.at_least(0, 8, 2) {
            backends.push("TRITON_ATTN_VLLM_V1");
        }
        if self.at_least(0, 8, 5) {
            backends.extend(["FLASHINFER", "FLASHINFER_VLLM_V1"]);
        }
        if self.at_least(0, 9, 0) {
            backends.push("ROCM_AITER_MLA");
        }
        if self.at_least(0, 9, 1) {
            backends.extend(["TORCH_SDPA_VLLM_V1", "FLEX_ATTENTION"]);
            backends.push(if self.at_least(0, 10, 1) { "CUTLASS_MLA" } else { "CUTLASS_MLA_VLLM_V1" });
        }
        if self.at_least(0, 10, 1) {
            backends.extend(["TREE_ATTN", "XFORMERS_VLLM_V1"]);
        }
        if self.at_least(0, 10, 2) {
            backends.extend(["FLASHMLA_VLLM_V1", "FLASH_ATTN_MLA", "FLASHINFER_MLA"]);
        }
        backends
    }

    /// Pipeline parallelism in the oracle, by `--distributed-executor-backend`
    /// (`None`: not given):
    /// - 0.8.0–0.8.2: experimental whatever the backend,
    ///   `_warn_or_fallback("PP")` (v0.8.0:1590, v0.8.2:1689);
    /// - 0.8.3–0.8.5: unsupported unless the backend is "ray"
    ///   (v0.8.3:1523-1528, v0.8.5:1476-1482);
    /// - 0.9.0: unless "ray", "mp" or "external_launcher" (v0.9.0:1378-1383);
    /// - from 0.9.1 also unset (`ParallelConfig.distributed_executor_backend`,
    ///   None) passes; any other name fails (v0.9.1:1434-1440,
    ///   v0.10.1.1:1493-1504, v0.10.2:1537-1545). A backend class with
    ///   `supports_pp` cannot be named on a command line.
    fn pipeline_parallel_unsupported(self, pp: u64, backend: Option<&str>) -> Option<V1Unsupported> {
        const MULTI: &str =
            "Pipeline Parallelism without Ray distributed executor or multiprocessing executor or external launcher";
        let accepted = |names: &[&str]| backend.is_some_and(|b| names.contains(&b));
        if pp <= 1 {
            None
        } else if !self.at_least(0, 8, 3) {
            Some(V1Unsupported::new("PP", OracleCheck::Experimental))
        } else if !self.at_least(0, 9, 0) {
            (!accepted(&["ray"])).then(|| {
                V1Unsupported::new("Pipeline Parallelism without Ray distributed executor", OracleCheck::Unsupported)
            })
        } else if !self.at_least(0, 9, 1) {
            (!accepted(&["ray", "mp", "external_launcher"]))
                .then(|| V1Unsupported::new(MULTI, OracleCheck::Unsupported))
        } else {
            (backend.is_some() && !accepted(&["ray", "mp", "external_launcher"]))
                .then(|| V1Unsupported::new(MULTI, OracleCheck::Unsupported))
        }
    }
}

/// What vLLM 0.8–0.10's V1 oracle reads of a deployment, as far as gpuops
/// has it ([`VllmVersion::v1_unsupported`]). The default is a deployment
/// with vLLM's defaults on no known GPU: no check fails.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleInputs {
    /// The GPU's vendor; `None`: not known.
    pub vendor: Option<Vendor>,
    /// `current_platform.get_device_capability()` on CUDA; `None` on ROCm
    /// or when not known (a GPU given by its memory alone).
    pub cuda: Option<(u32, u32)>,
    pub kv_cache_dtype: KvCacheDtype,
    pub cpu_offload_gb: f64,
    /// `--kv-transfer-config` is given.
    pub kv_connector: bool,
    pub dtype: Dtype,
    /// `--quantization` as written.
    pub quantization: Option<String>,
    pub pipeline_parallel: u64,
    /// `--distributed-executor-backend` as written ("ray", "mp", …).
    pub distributed_executor_backend: Option<String>,
    /// The model uses MLA (`model_config.use_mla`); `None`: not known.
    pub mla: Option<bool>,
    /// `--enable-lora`.
    pub lora: bool,
}

impl Default for OracleInputs {
    fn default() -> Self {
        Self {
            vendor: None,
            cuda: None,
            kv_cache_dtype: KvCacheDtype::Auto,
            cpu_offload_gb: 0.0,
            kv_connector: false,
            dtype: Dtype::Auto,
            quantization: None,
            pipeline_parallel: 1,
            distributed_executor_backend: None,
            mla: None,
            lora: false,
        }
    }
}

/// How the oracle treats a feature V1 lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OracleCheck {
    /// `_raise_or_fallback(feature, recommend_to_remove=False)`: V0 when
    /// `VLLM_USE_V1` is unset, refused with `VLLM_USE_V1=1`.
    Unsupported,
    /// The same with `recommend_to_remove=True`: the warning adds "We
    /// recommend to remove {feature} from your config in favor of the V1
    /// Engine."
    UnsupportedRemove,
    /// `_warn_or_fallback(feature)`: V0 when `VLLM_USE_V1` is unset; with
    /// `VLLM_USE_V1=1` a warning, and V1 runs.
    Experimental,
}

/// A check of the V1 oracle that fails, with vLLM's `feature_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Unsupported {
    pub feature: String,
    pub kind: OracleCheck,
}

impl V1Unsupported {
    fn new(feature: &str, kind: OracleCheck) -> Self {
        Self { feature: feature.to_string(), kind }
    }

    /// What vLLM logs when it falls back (engine/arg_utils.py
    /// `_raise_or_fallback` v0.8.5:1649-1658, `_warn_or_fallback`
    /// :1661-1672), without the trailing space.
    pub fn fallback_message(&self) -> String {
        let feature = &self.feature;
        match self.kind {
            OracleCheck::Unsupported => format!("{feature} is not supported by the V1 Engine. Falling back to V0."),
            OracleCheck::UnsupportedRemove => format!(
                "{feature} is not supported by the V1 Engine. Falling back to V0. We recommend to remove {feature} from your config in favor of the V1 Engine."
            ),
            OracleCheck::Experimental => {
                format!("{feature} is experimental on VLLM_USE_V1=1. Falling back to V0 Engine.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Generation;

    fn v(text: &str) -> VllmVersion {
        VllmVersion::parse(text).unwrap()
    }

    /// A deployment with vLLM's defaults on a GPU of `vendor` (compute
    /// capability `cuda` on NVIDIA).
    fn on(vendor: Vendor, cuda: (u32, u32)) -> OracleInputs {
        OracleInputs {
            vendor: Some(vendor),
            cuda: (vendor == Vendor::Nvidia).then_some(cuda),
            mla: Some(false),
            ..OracleInputs::default()
        }
    }

    /// The feature the oracle falls back for with `VLLM_USE_V1` unset, and
    /// the refusal with `VLLM_USE_V1=1`.
    fn oracle(release: &str, env: &VllmEnv, inputs: &OracleInputs) -> (Option<String>, Option<String>) {
        let fallback = v(release).v1_fallback(env, inputs).map(|u| u.fallback_message());
        let forced = VllmEnv { use_v1: Some(true), ..env.clone() };
        (fallback, v(release).v1_refused(&forced, inputs))
    }

    /// The rows of vLLM's own oracle test whose inputs gpuops reads
    /// (tests/v1/test_oracle.py at vllm-project/vllm 02eeaa1d, a 0.8-era
    /// tree), replayed at 0.8.5 on an L4 (compute capability 8.9, no
    /// FlashAttention 3): `test_unsupported_configs` (VLLM_USE_V1=1 with
    /// `kv_cache_dtype="fp8"` raises `NotImplementedError`),
    /// `test_enable_by_default_fallback` (a plain config runs V1) and
    /// `test_v1_attn_backend` (`VLLM_ATTENTION_BACKEND=XFORMERS` falls back
    /// to V0, is refused with VLLM_USE_V1=1; `FLASHMLA` runs V1). The rows
    /// on inputs gpuops does not read (speculative decoding, guided
    /// decoding, preemption mode, async output, scheduling policy,
    /// scheduler steps and delay, LoRA, unsupported architectures) are not
    /// ported.
    #[test]
    fn vllms_own_oracle_test_rows() {
        let l4 = on(Vendor::Nvidia, (8, 9));
        let none = VllmEnv::default();
        let fp8 = OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, ..l4.clone() };
        assert_eq!(
            oracle("0.8.5", &none, &fp8).1.as_deref(),
            Some("VLLM_USE_V1=1 is not supported with --kv-cache-dtype."),
            "test_unsupported_configs: kv_cache_dtype=fp8"
        );
        assert_eq!(oracle("0.8.5", &none, &l4), (None, None), "test_enable_by_default_fallback: V1 by default");
        assert_eq!(v("0.8.5").generation_on(&none, &l4), Generation::V1);
        let xformers = VllmEnv { attention_backend: Some("XFORMERS".into()), ..VllmEnv::default() };
        assert_eq!(
            v("0.8.5").generation_on(&xformers, &l4),
            Generation::V0,
            "test_v1_attn_backend: XFORMERS falls back"
        );
        assert_eq!(
            oracle("0.8.5", &xformers, &l4).1.as_deref(),
            Some("VLLM_USE_V1=1 is not supported with VLLM_ATTENTION_BACKEND=XFORMERS."),
            "test_v1_attn_backend: rejected with VLLM_USE_V1=1"
        );
        let flashmla = VllmEnv { attention_backend: Some("FLASHMLA".into()), ..VllmEnv::default() };
        assert_eq!(v("0.8.5").generation_on(&flashmla, &l4), Generation::V1, "test_v1_attn_backend: FLASHMLA runs V1");
    }

    /// One row per oracle check and boundary, each at the release read
    /// (engine/arg_utils.py `_is_v1_supported_oracle`, line of the check).
    #[test]
    fn v1_oracle_falls_back_per_release() {
        let none = VllmEnv::default();
        let (l40s, h100, b200, a100) = (
            on(Vendor::Nvidia, (8, 9)),
            on(Vendor::Nvidia, (9, 0)),
            on(Vendor::Nvidia, (10, 0)),
            on(Vendor::Nvidia, (8, 0)),
        );
        let mi300 = on(Vendor::Amd, (0, 0));
        let ray = OracleInputs { distributed_executor_backend: Some("ray".into()), ..h100.clone() };
        let fp8 = |gpu: &OracleInputs| OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, ..gpu.clone() };
        let kv = |m: &str| Some(format!("{m} is not supported by the V1 Engine. Falling back to V0."));
        let refused = |m: &str| Some(format!("VLLM_USE_V1=1 is not supported with {m}."));
        let kv_dtype = (kv("--kv-cache-dtype"), refused("--kv-cache-dtype"));
        let v1 = (None, None);
        for (release, env, inputs, expected) in [
            // --kv-cache-dtype: any at v0.8.0:1480 and v0.8.1:1484 (an H100 too);
            ("0.8.0", &none, fp8(&h100), kv_dtype.clone()),
            ("0.8.1", &none, fp8(&h100), kv_dtype.clone()),
            // fp8 on FA 3 (compute capability 9.x) from v0.8.2:1561-1575 …
            ("0.8.2", &none, fp8(&h100), v1.clone()),
            ("0.8.2", &none, fp8(&l40s), kv_dtype.clone()),
            ("0.8.5", &none, fp8(&h100), v1.clone()),
            ("0.8.5", &none, fp8(&l40s), kv_dtype.clone()),
            ("0.8.5", &none, fp8(&b200), kv_dtype.clone()),
            ("0.9.2", &none, fp8(&a100), kv_dtype.clone()),
            // … ROCm: no FA to import at v0.8.5 (fa_utils.py:47-48), any
            // from v0.9.0:1264-1265 (before the device check below);
            ("0.8.5", &none, fp8(&mi300), kv_dtype.clone()),
            // … 10.0 takes any from v0.10.0:1355 (cuda.py:465-466);
            ("0.10.0", &none, fp8(&b200), v1.clone()),
            ("0.10.1.1", &none, fp8(&l40s), kv_dtype.clone()),
            ("0.10.1.1", &none, fp8(&mi300), v1.clone()),
            // … per backend at v0.10.2:1465 (cuda.py:522-561): MLA on FlashMLA.
            ("0.10.2", &none, fp8(&l40s), kv_dtype),
            ("0.10.2", &none, fp8(&h100), v1.clone()),
            ("0.10.2", &none, OracleInputs { mla: Some(true), ..fp8(&l40s) }, v1.clone()),
            ("0.11.0", &none, fp8(&l40s), v1.clone()),
            // --cpu-offload-gb: v0.8.0:1492, v0.8.2:1584; gone at 0.8.3.
            (
                "0.8.2",
                &none,
                OracleInputs { cpu_offload_gb: 4.0, ..h100.clone() },
                (kv("--cpu-offload-gb"), refused("--cpu-offload-gb")),
            ),
            ("0.8.3", &none, OracleInputs { cpu_offload_gb: 4.0, ..h100.clone() }, v1.clone()),
            // --dtype float32: v0.8.0:1498, v0.9.1:1341; gone at 0.9.2.
            (
                "0.9.1",
                &none,
                OracleInputs { dtype: Dtype::Float32, ..h100.clone() },
                (kv("--dtype torch.float32"), refused("--dtype torch.float32")),
            ),
            ("0.9.2", &none, OracleInputs { dtype: Dtype::Float32, ..h100.clone() }, v1.clone()),
            // --quantization: bitsandbytes to v0.8.2:1597, gguf to v0.8.5:1389.
            (
                "0.8.2",
                &none,
                OracleInputs { quantization: Some("bitsandbytes".into()), ..h100.clone() },
                (kv("--quantization bitsandbytes"), refused("--quantization bitsandbytes")),
            ),
            ("0.8.3", &none, OracleInputs { quantization: Some("bitsandbytes".into()), ..h100.clone() }, v1.clone()),
            (
                "0.8.5",
                &none,
                OracleInputs { quantization: Some("gguf".into()), ..h100.clone() },
                (kv("--quantization gguf"), refused("--quantization gguf")),
            ),
            ("0.9.0", &none, OracleInputs { quantization: Some("gguf".into()), ..h100.clone() }, v1.clone()),
            // --kv-transfer-config: v0.8.0:1561, v0.8.4:1513; gone at 0.8.5.
            (
                "0.8.4",
                &none,
                OracleInputs { kv_connector: true, ..h100.clone() },
                (kv("--kv-transfer-config"), refused("--kv-transfer-config")),
            ),
            ("0.8.5", &none, OracleInputs { kv_connector: true, ..h100.clone() }, v1.clone()),
            // LoRA: experimental at v0.8.0:1586, v0.8.2:1685; gone at 0.8.3.
            (
                "0.8.2",
                &none,
                OracleInputs { lora: true, ..h100.clone() },
                (Some("LORA is experimental on VLLM_USE_V1=1. Falling back to V0 Engine.".into()), None),
            ),
            ("0.8.3", &none, OracleInputs { lora: true, ..h100.clone() }, v1.clone()),
            // PP: experimental at v0.8.0:1590, v0.8.2:1689 (no refusal) …
            (
                "0.8.2",
                &none,
                OracleInputs { pipeline_parallel: 2, ..h100.clone() },
                (Some("PP is experimental on VLLM_USE_V1=1. Falling back to V0 Engine.".into()), None),
            ),
            // … unsupported without Ray at v0.8.3:1523, v0.9.0:1378 …
            (
                "0.8.5",
                &none,
                OracleInputs { pipeline_parallel: 2, ..h100.clone() },
                (
                    kv("Pipeline Parallelism without Ray distributed executor"),
                    refused("Pipeline Parallelism without Ray distributed executor"),
                ),
            ),
            (
                "0.9.0",
                &none,
                OracleInputs { pipeline_parallel: 2, ..h100.clone() },
                (
                    kv(
                        "Pipeline Parallelism without Ray distributed executor or multiprocessing executor or external launcher",
                    ),
                    refused(
                        "Pipeline Parallelism without Ray distributed executor or multiprocessing executor or external launcher",
                    ),
                ),
            ),
            // … the default backend passes from v0.9.1:1434.
            ("0.9.1", &none, OracleInputs { pipeline_parallel: 2, ..h100.clone() }, v1.clone()),
            // The backend a manifest names: Ray passes from 0.8.3
            // (v0.8.5:1478), "mp" from 0.9.0 (v0.9.0:1379-1380), and a name
            // outside the list still fails at 0.10.2 (:1540-1542).
            ("0.8.5", &none, OracleInputs { pipeline_parallel: 2, ..ray }, v1.clone()),
            (
                "0.8.5",
                &none,
                OracleInputs { pipeline_parallel: 2, distributed_executor_backend: Some("mp".into()), ..h100.clone() },
                (
                    kv("Pipeline Parallelism without Ray distributed executor"),
                    refused("Pipeline Parallelism without Ray distributed executor"),
                ),
            ),
            (
                "0.9.0",
                &none,
                OracleInputs { pipeline_parallel: 2, distributed_executor_backend: Some("mp".into()), ..h100.clone() },
                v1.clone(),
            ),
            (
                "0.10.2",
                &none,
                OracleInputs { pipeline_parallel: 2, distributed_executor_backend: Some("uni".into()), ..h100.clone() },
                (
                    kv(
                        "Pipeline Parallelism without Ray distributed executor or multiprocessing executor or external launcher",
                    ),
                    refused(
                        "Pipeline Parallelism without Ray distributed executor or multiprocessing executor or external launcher",
                    ),
                ),
            ),
            // ROCm: experimental to 0.9.1 (v0.8.0:1599 "cuda", v0.8.3:1539
            // "rocm", v0.9.1:1448); `default_v1` True from v0.9.2:1492.
            (
                "0.8.0",
                &none,
                mi300.clone(),
                (Some("cuda is experimental on VLLM_USE_V1=1. Falling back to V0 Engine.".into()), None),
            ),
            (
                "0.8.3",
                &none,
                mi300.clone(),
                (Some("rocm is experimental on VLLM_USE_V1=1. Falling back to V0 Engine.".into()), None),
            ),
            (
                "0.9.1",
                &none,
                mi300.clone(),
                (Some("rocm is experimental on VLLM_USE_V1=1. Falling back to V0 Engine.".into()), None),
            ),
            ("0.9.2", &none, mi300.clone(), v1.clone()),
            // Before 0.8 there is no oracle to fall back from.
            ("0.7.3", &none, fp8(&l40s), v1),
        ] {
            assert_eq!(oracle(release, env, &inputs), expected, "{release} {inputs:?}");
        }
    }

    /// The oracle's first failing check decides; `VLLM_USE_V1=1` skips the
    /// experimental ones and refuses at the first unsupported one;
    /// `VLLM_ATTENTION_BACKEND` moves FlashAttention's fp8 and is checked
    /// against `V1_BACKENDS` (v0.8.0:1567-1575, v0.8.5:1445-1460).
    #[test]
    fn v1_oracle_order_and_attention_backend() {
        let none = VllmEnv::default();
        let t4_fp8 = OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, ..on(Vendor::Nvidia, (7, 5)) };
        let (fallback, refusal) = oracle("0.8.5", &none, &t4_fp8);
        assert_eq!(
            fallback.as_deref(),
            Some("Compute Capability < 8.0 is not supported by the V1 Engine. Falling back to V0.")
        );
        assert_eq!(refusal.as_deref(), Some("VLLM_USE_V1=1 is not supported with Compute Capability < 8.0."));
        // ROCm with PP at 0.8.0: both experimental, so nothing is refused.
        let rocm_pp = OracleInputs { pipeline_parallel: 2, ..on(Vendor::Amd, (0, 0)) };
        assert_eq!(oracle("0.8.0", &none, &rocm_pp).1, None);
        assert_eq!(v("0.8.0").v1_unsupported(&none, &rocm_pp).len(), 2);
        // ROCm with fp8 and PP at 0.8.5: the KV dtype refuses first.
        let rocm_fp8_pp = OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, ..rocm_pp };
        assert_eq!(
            oracle("0.8.5", &none, &rocm_fp8_pp).1.as_deref(),
            Some("VLLM_USE_V1=1 is not supported with --kv-cache-dtype.")
        );
        // FA 2 forced on an H100: no fp8 (fa_utils.py v0.8.5:25-27,51-54).
        let h100_fp8 = OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, ..on(Vendor::Nvidia, (9, 0)) };
        let fa2 = VllmEnv { flash_attn_version: Some(2), ..VllmEnv::default() };
        assert_eq!(
            oracle("0.8.5", &fa2, &h100_fp8).0.as_deref(),
            Some("--kv-cache-dtype is not supported by the V1 Engine. Falling back to V0.")
        );
        // FlashInfer: not FA for fp8 at 0.8.5, but a V1 backend there (not at 0.8.4).
        let flashinfer = VllmEnv::from_vars(|n| (n == "VLLM_ATTENTION_BACKEND").then(|| "FLASHINFER".to_string()));
        assert_eq!(
            oracle("0.8.5", &flashinfer, &h100_fp8).1.as_deref(),
            Some("VLLM_USE_V1=1 is not supported with --kv-cache-dtype.")
        );
        let h100 = on(Vendor::Nvidia, (9, 0));
        assert_eq!(oracle("0.8.5", &flashinfer, &h100), (None, None));
        assert_eq!(
            oracle("0.8.4", &flashinfer, &h100).0.as_deref(),
            Some(
                "VLLM_ATTENTION_BACKEND=FLASHINFER is not supported by the V1 Engine. Falling back to V0. We recommend to remove VLLM_ATTENTION_BACKEND=FLASHINFER from your config in favor of the V1 Engine."
            )
        );
        let xformers = VllmEnv::from_vars(|n| (n == "VLLM_ATTENTION_BACKEND").then(|| "XFORMERS".to_string()));
        assert_eq!(
            oracle("0.10.2", &xformers, &h100).1.as_deref(),
            Some("VLLM_USE_V1=1 is not supported with VLLM_ATTENTION_BACKEND=XFORMERS.")
        );
        // 0.10.2: FlashInfer takes fp8 anywhere, Triton from 8.9.
        let l40s_fp8 = OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, ..on(Vendor::Nvidia, (8, 9)) };
        assert_eq!(oracle("0.10.2", &flashinfer, &l40s_fp8), (None, None));
        let triton = VllmEnv::from_vars(|n| (n == "VLLM_ATTENTION_BACKEND").then(|| "TRITON_ATTN_VLLM_V1".to_string()));
        assert_eq!(oracle("0.10.2", &triton, &l40s_fp8), (None, None));
        let a100_fp8 = OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, ..on(Vendor::Nvidia, (8, 0)) };
        // MLA at 0.10.2: FlashMLA / CUTLASS MLA take fp8, Triton MLA does not (cuda.py:528-541).
        let triton_mla = VllmEnv::from_vars(|n| (n == "VLLM_ATTENTION_BACKEND").then(|| "TRITON_MLA".to_string()));
        let mla_fp8 = OracleInputs { mla: Some(true), ..l40s_fp8 };
        assert!(oracle("0.10.2", &triton_mla, &mla_fp8).0.is_some());
        assert_eq!(oracle("0.10.2", &none, &mla_fp8), (None, None));
        assert!(oracle("0.10.2", &triton, &a100_fp8).0.is_some());
        // No GPU, or its capability unknown: the fp8 rule is not judged
        // from 0.8.2, and `generation` (no inputs) never falls back.
        let unknown =
            OracleInputs { kv_cache_dtype: KvCacheDtype::Fp8, vendor: Some(Vendor::Nvidia), ..OracleInputs::default() };
        assert_eq!(oracle("0.8.5", &none, &unknown), (None, None));
        assert!(oracle("0.8.0", &none, &unknown).0.is_some());
        assert_eq!(v("0.8.5").generation(&none), Generation::V1);
    }

    #[test]
    fn below_ampere_falls_back_or_refuses() {
        let none = VllmEnv::default();
        // Below compute capability 8.0 (a T4, 7.5; a V100, 7.0) 0.8.0–0.10.1
        // fall back to V0 unless VLLM_USE_V1 is set (arg_utils.py v0.8.5
        // :1350-1356, v0.10.1.1:1400-1405; gone at 0.10.2).
        let t4 = on(Vendor::Nvidia, (7, 5));
        assert_eq!(v("0.8.0").generation_on(&none, &t4), Generation::V0);
        assert_eq!(v("0.10.1.1").generation_on(&none, &t4), Generation::V0);
        assert_eq!(v("0.10.2").generation_on(&none, &t4), Generation::V1);
        assert_eq!(v("0.8.5").generation_on(&none, &on(Vendor::Nvidia, (8, 0))), Generation::V1);
        let v1 = VllmEnv { use_v1: Some(true), ..VllmEnv::default() };
        assert_eq!(v("0.8.5").generation_on(&v1, &t4), Generation::V1);
        assert_eq!(
            v("0.8.5").v1_refused(&v1, &t4).as_deref(),
            Some("VLLM_USE_V1=1 is not supported with Compute Capability < 8.0.")
        );
        assert_eq!(v("0.8.5").v1_refused(&none, &t4), None);
        assert_eq!(v("0.10.2").v1_refused(&v1, &t4), None);
    }
}
