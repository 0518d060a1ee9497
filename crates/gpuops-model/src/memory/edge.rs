//! How far a verdict is from the limit that decides it, and whether that
//! distance is inside the model's own error: there a "fits" or a
//! "refused" is not a confident answer. vLLM itself has given both
//! outcomes for identical arguments at such an edge (the calibration's
//! `alsoObserved` rows: Llama-3.1-8B at 0.90 and Qwen2.5-7B at 0.65 on an
//! RTX 3090, vLLM 0.17.1), so the verdict is kept and flagged, not changed.

use serde::Serialize;

/// The model's error on the KV budget, as a fraction of the GPU's total
/// memory, from the calibration's fit half only: the 90th percentile
/// (nearest rank) of |predicted − logged KV cache GiB| ÷ the GPU's total
/// over the fit-half rows that log a KV figure (43 rows; the check half's
/// same figure is printed beside it). A fraction of the GPU, not GiB:
/// the terms the model errs on (non-torch memory, the profile's
/// activation, graphs) grow with the card and the model on it — the fit
/// half's errors run from 0.03 GiB on an H100 to 3.4 GiB on four.
/// Derived in `tests/calibration.rs` (`edge_uncertainty_comes_from_the_fit_half`),
/// which fails when this constant and the fit half disagree. Every limit
/// below is a sum of the same budget terms, so the budget's error is the
/// margin's.
pub const UNCERTAINTY_OF_TOTAL: f64 = 0.018;

/// The model's error (GiB) on a GPU of `total_gib`: [`UNCERTAINTY_OF_TOTAL`]
/// of it. The margin a verdict must clear to be a confident one, and the
/// one `--recommend`'s values keep.
pub fn uncertainty_gib(total_gib: f64) -> f64 {
    UNCERTAINTY_OF_TOTAL * total_gib
}

/// The comparison a verdict is decided by, in vLLM's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Limit {
    /// The KV budget is not positive: "No available memory for the cache
    /// blocks" (v0.7.3 worker.py `raise_if_cache_size_invalid`; V1
    /// `check_enough_kv_cache_memory`). The margin is still measured to a
    /// cache that holds one `max_model_len` request, the start's next check.
    NoCacheBlocks,
    /// The KV cache against one request of `max_model_len` tokens
    /// (v1/core/kv_cache_utils.py `_check_enough_kv_cache_memory`).
    MaxModelLen,
    /// What stays resident (KV cache, fixed or `total × utilization`, and
    /// CUDA graphs captured after it) against the GPU's total.
    GpuTotal,
    /// The sampler warm-up's top-k/top-p peak against what the KV cache
    /// left (`_dummy_sampler_run`'s "CUDA out of memory occurred when
    /// warming up sampler").
    SamplerWarmUp,
}

impl Limit {
    pub fn words(self) -> &'static str {
        match self {
            Self::NoCacheBlocks => "vLLM's KV-cache limit, any cache blocks and then one max_model_len request",
            Self::MaxModelLen => "vLLM's KV-cache limit, one max_model_len request",
            Self::GpuTotal => "the GPU's total memory",
            Self::SamplerWarmUp => "vLLM's sampler warm-up limit",
        }
    }
}

/// A verdict whose deciding margin is smaller than the model's error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub limit: Limit,
    /// GiB between the start and the limit: room left when it fits,
    /// negative (short by) when refused.
    pub margin_gib: f64,
    /// [`UNCERTAINTY_OF_TOTAL`] of the GPU's total: the model's error on
    /// its fit half.
    pub uncertainty_gib: f64,
}

impl Edge {
    /// "fits, at the edge: 0.12 GiB from vLLM's sampler warm-up limit; the
    /// model's error …": the verdict, the limit and why it is not a
    /// confident one.
    pub fn text(&self, fits: bool) -> String {
        let (verdict, distance) = if fits {
            ("fits", format!("{:.2} GiB from", self.margin_gib))
        } else {
            ("does not fit", format!("{:.2} GiB short of", -self.margin_gib))
        };
        format!(
            "{verdict}, at the edge: {distance} {}; the model's error on its fit half is ±{:.2} GiB ({:.1}% of the GPU), and vLLM has both started and refused configurations this close",
            self.limit.words(),
            self.uncertainty_gib,
            UNCERTAINTY_OF_TOTAL * 100.0,
        )
    }
}

/// One limit the start was checked against: its margin (GiB, positive
/// when passed) and whether vLLM's check passed (the check's own
/// arithmetic, block rounding included, decides; the margin measures).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Margin {
    pub(super) limit: Limit,
    pub(super) gib: f64,
    pub(super) passed: bool,
}

/// The edge of a verdict decided by `margins`, or `None` when it is
/// confident. A start that passes every limit is at the edge of the
/// nearest one; a refusal, of the one limit it fails — two failed limits,
/// or one failed by more than the error, refuse all the same.
pub(super) fn edge(margins: &[Margin], total_gib: f64) -> Option<Edge> {
    let uncertainty_gib = uncertainty_gib(total_gib);
    let failed: Vec<&Margin> = margins.iter().filter(|m| !m.passed).collect();
    let decisive = match failed.as_slice() {
        [] => margins.iter().min_by(|a, b| a.gib.total_cmp(&b.gib))?,
        [one] => one,
        _ => return None,
    };
    let (limit, margin_gib) = (decisive.limit, decisive.gib);
    (margin_gib.abs() < uncertainty_gib).then_some(Edge { limit, margin_gib, uncertainty_gib })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_limit_of_a_start_and_the_one_limit_of_a_refusal() {
        let m = |limit, gib: f64| Margin { limit, gib, passed: gib >= 0.0 };
        let starts = [m(Limit::MaxModelLen, 1.5), m(Limit::SamplerWarmUp, 0.1)];
        // An RTX 3090's 23.54 GiB: ±0.42 GiB; an 8 GiB card: ±0.14 GiB.
        assert_eq!(edge(&starts, 23.54).map(|e| (e.limit, e.margin_gib)), Some((Limit::SamplerWarmUp, 0.1)));
        let wide = [m(Limit::MaxModelLen, 1.5), m(Limit::SamplerWarmUp, 0.3)];
        assert_eq!(edge(&wide, 8.0), None, "0.3 GiB of room is outside an 8 GiB card's ±0.14 GiB");
        assert!(edge(&wide, 23.54).is_some(), "and inside an RTX 3090's ±0.42 GiB");
        let refused = [m(Limit::MaxModelLen, -0.1), m(Limit::SamplerWarmUp, 0.5)];
        assert_eq!(edge(&refused, 23.54).map(|e| e.limit), Some(Limit::MaxModelLen));
        let twice = [m(Limit::MaxModelLen, -0.1), m(Limit::GpuTotal, -0.1)];
        assert_eq!(edge(&twice, 23.54), None, "two limits failed: refused whichever is wrong");
        assert_eq!(edge(&[], 23.54), None);
    }

    /// Through `evaluate`: the calibration's Qwen2.5-7B pair (RTX 3090,
    /// 0.17.1, 8,192 tokens, 0.65) is refused at the edge of the KV-cache
    /// limit; the same cache fixed by `--kv-cache-memory-bytes` is no
    /// estimate, and its refusal is confident.
    #[test]
    fn an_estimated_budget_has_an_edge_a_fixed_one_does_not() {
        use crate::catalog::{GpuInfo, find_model, gpu_product};
        use crate::memory::{EngineArgs, VllmVersion, evaluate};
        let model = find_model("Qwen/Qwen2.5-7B-Instruct").unwrap();
        let mut gpu = GpuInfo::from(gpu_product("RTX-3090").unwrap());
        gpu.total_gib = 23.54;
        let args = EngineArgs {
            max_model_len: Some(8192),
            gpu_memory_utilization: Some(0.65),
            vllm_version: VllmVersion::parse("0.17.1"),
            ..EngineArgs::default()
        };
        let fit = evaluate(&model, &gpu, &args);
        let edge = fit.edge.unwrap_or_else(|| panic!("{fit:?}"));
        assert!(!fit.fits && edge.limit == Limit::MaxModelLen && edge.margin_gib < 0.0, "{edge:?}");
        let fixed = EngineArgs { kv_cache_memory_bytes: Some(400 << 20), ..args };
        let fit = evaluate(&model, &gpu, &fixed);
        assert!(!fit.fits && fit.edge.is_none(), "{:?} {:?}", fit.problems, fit.edge);
    }

    #[test]
    fn the_text_says_verdict_distance_and_error() {
        let e = Edge { limit: Limit::SamplerWarmUp, margin_gib: 0.12, uncertainty_gib: 0.2 };
        assert!(e.text(true).starts_with("fits, at the edge: 0.12 GiB from vLLM's sampler warm-up limit"));
        let short = Edge { margin_gib: -0.05, ..e };
        assert!(short.text(false).starts_with("does not fit, at the edge: 0.05 GiB short of"));
        assert!(short.text(false).contains("±0.20 GiB (1.8% of the GPU)"));
    }
}
