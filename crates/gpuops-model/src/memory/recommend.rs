//! `--recommend`: what vLLM itself does not answer before it starts — the
//! largest settings that still start, the smallest KV reservation that
//! holds a requested concurrency, and the fewest GPUs (of which catalog
//! product) that serve a context at that concurrency. Every answer is a
//! search over [`evaluate`]: the same terms and refusals, no second model.
//!
//! Every answer also keeps the model's margin: a value is taken only where
//! [`evaluate`] starts it without an [`Edge`](super::edge::Edge), i.e. at
//! least [`uncertainty_gib`](super::edge::uncertainty_gib) (1.8 % of the
//! GPU) from every memory limit. The largest value that merely "fits" is by
//! construction one step from a refusal, and vLLM has both started and
//! refused configurations that close (edge.rs): a user books GPUs on these
//! values, so they must start even where the model is off by its measured
//! error.
//!
//! A fixed `--kv-cache-memory-bytes` (given, or the one recommended) is no
//! estimate for vLLM's cache-size check, and edge.rs keeps no margin there:
//! the cache holds exactly what its bytes hold. So the smallest reservation
//! holding the demand is taken as is, and with a fixed cache given, the
//! longest `max_model_len` is the longest it holds, exactly. What stays
//! estimated with it — the weights, overhead, cache and graphs against the
//! GPU's total, and the sampler warm-up — still must clear the margin, as
//! for any other value.

use serde::Serialize;

use super::{EngineArgs, MemoryFit, evaluate};
use crate::catalog::{GpuInfo, ModelShape, gpu_products};

/// The most sequences `--recommend` searches up to (vLLM's own defaults top
/// out at 1024; a larger batch is not a setting anyone starts with).
const MAX_SEQS: u64 = 16_384;
/// The most GPUs one TP group is searched over: one node of eight.
const MAX_TP: u64 = 8;

/// What to serve: requests of `context` tokens, `concurrency` at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Demand {
    pub context: u64,
    pub concurrency: u64,
}

/// The smallest TP group of one catalog GPU product that serves the demand.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    pub gpu: String,
    pub tensor_parallel: u64,
    /// What CUDA reports per GPU (GiB): the group holds `tp ×` this.
    pub gpu_memory_gib: f64,
    /// vLLM's "Maximum concurrency for {context} tokens per request".
    pub max_concurrency: f64,
}

/// The answers of `--recommend` for one model, GPU and set of flags. Each
/// value starts outside the model's error (module doc): `None` where none
/// does, even when one would start at the edge.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub demand: Demand,
    /// The longest `--max-model-len` that starts with the other flags as given.
    pub max_model_len: Option<u64>,
    /// The largest `--max-num-seqs` that starts at `demand.context`
    /// (`None`: none does; capped at 16384).
    pub max_num_seqs: Option<u64>,
    /// The smallest `--gpu-memory-utilization` (0.01 steps) that starts and
    /// holds `demand.concurrency` requests of `demand.context` tokens.
    pub gpu_memory_utilization: Option<f64>,
    /// The smallest `--kv-cache-memory-bytes` (MiB steps) that does the same.
    pub kv_cache_memory_bytes: Option<u64>,
    /// The smallest TP group per catalog GPU product that serves the demand,
    /// fewest GPUs first, then least memory.
    pub placements: Vec<Placement>,
}

/// Whether `fit` starts outside the model's error: it fits and its
/// verdict is not at the edge of a memory limit (a fit always has its
/// margins measured: `evaluate` leaves `edge` empty only for a confident
/// one then).
fn starts(fit: &MemoryFit) -> bool {
    fit.fits && fit.edge.is_none()
}

/// Whether the pool holds the demand's concurrency (the tolerance absorbs
/// float rounding of an exact 4.00x).
fn holds(fit: &MemoryFit, demand: Demand) -> bool {
    fit.max_concurrency + 1e-9 >= demand.concurrency as f64
}

/// Whether `fit` starts outside the model's error and holds the demand.
fn serves(fit: &MemoryFit, demand: Demand) -> bool {
    starts(fit) && holds(fit, demand)
}

/// The largest value in `1..=max` for which `ok` holds, given `ok` holds
/// for every value below one that holds (a start gets no easier with more).
fn largest(max: u64, ok: impl Fn(u64) -> bool) -> Option<u64> {
    if !ok(1) {
        return None;
    }
    let (mut good, mut bad) = (1, max + 1);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if ok(mid) { good = mid } else { bad = mid }
    }
    Some(good)
}

/// The smallest value in `1..=max` for which `ok` holds (monotone: more never hurts).
fn smallest(max: u64, ok: impl Fn(u64) -> bool) -> Option<u64> {
    if !ok(max) {
        return None;
    }
    let (mut bad, mut good) = (0, max);
    while good - bad > 1 {
        let mid = bad + (good - bad) / 2;
        if ok(mid) { good = mid } else { bad = mid }
    }
    Some(good)
}

/// Recommend settings for `model` on `gpu` with `args` (its TP, PP,
/// utilization, dtype, version …) to serve `demand`.
pub fn recommend(model: &ModelShape, gpu: &GpuInfo, args: &EngineArgs, demand: Demand) -> Recommendation {
    let with = |f: &dyn Fn(&mut EngineArgs)| {
        let mut candidate = args.clone();
        candidate.max_model_len = Some(demand.context);
        f(&mut candidate);
        evaluate(model, gpu, &candidate)
    };
    // Every margin shrinks as the context or the batch grows (a longer
    // request, a larger activation and sampler peak): "starts outside the
    // error" is as monotone as "fits", which the bisection already took.
    let max_model_len = largest(model.max_position.max(1), |len| {
        let mut candidate = args.clone();
        candidate.max_model_len = Some(len);
        starts(&evaluate(model, gpu, &candidate))
    });
    // vLLM refuses `max_num_batched_tokens < max_num_seqs` (SchedulerConfig
    // `_verify_args`, vllm/config/scheduler.py): the batch caps the search.
    let batched = with(&|_| {}).max_num_batched_tokens;
    let max_num_seqs = largest(MAX_SEQS.min(batched.max(1)), |seqs| starts(&with(&|a| a.max_num_seqs = Some(seqs))));
    // The pool grows with the reservation, so the smallest one holding the
    // demand is found on the concurrency alone. Above it, the KV-cache
    // margin grows with the utilization while the GPU-total and sampler
    // margins shrink: the utilizations that start outside the error are a
    // window, not a half-line, so its low end is found by walking up from
    // there (at most 100 steps).
    let utilization_args = |percent: u64| {
        move |a: &mut EngineArgs| {
            a.gpu_memory_utilization = Some(percent as f64 / 100.0);
            a.kv_cache_memory_bytes = None;
        }
    };
    let gpu_memory_utilization = smallest(100, |percent| holds(&with(&utilization_args(percent)), demand))
        .and_then(|least| (least..=100).find(|percent| serves(&with(&utilization_args(*percent)), demand)))
        .map(|percent| percent as f64 / 100.0);
    const MIB: u64 = 1 << 20;
    let kv_args = |mib: u64| move |a: &mut EngineArgs| a.kv_cache_memory_bytes = Some(mib * MIB);
    let gpu_mib = (gpu.total_gib * 1024.0) as u64;
    // A fixed cache has no margin to keep on its own size (module doc):
    // the smallest that holds the demand is the answer if it starts
    // outside the error; a larger one only comes closer to the GPU's total
    // and the sampler warm-up, so then none does.
    let kv_cache_memory_bytes = smallest(gpu_mib.max(1), |mib| holds(&with(&kv_args(mib)), demand))
        .filter(|mib| serves(&with(&kv_args(*mib)), demand))
        .map(|mib| mib * MIB);
    Recommendation {
        demand,
        max_model_len,
        max_num_seqs,
        gpu_memory_utilization,
        kv_cache_memory_bytes,
        placements: placements(model, args, demand),
    }
}

/// For every catalog GPU product, the smallest TP (≤ 8) that serves the
/// demand outside the model's error (on that product's total) with
/// `args`' other flags; products where none does are left out.
fn placements(model: &ModelShape, args: &EngineArgs, demand: Demand) -> Vec<Placement> {
    let mut found: Vec<Placement> = gpu_products()
        .iter()
        .filter_map(|product| {
            let gpu = GpuInfo::from(product);
            (1..=MAX_TP).find_map(|tp| {
                let candidate = EngineArgs { tensor_parallel: tp, max_model_len: Some(demand.context), ..args.clone() };
                let fit = evaluate(model, &gpu, &candidate);
                serves(&fit, demand).then(|| Placement {
                    gpu: product.label.clone(),
                    tensor_parallel: tp,
                    gpu_memory_gib: gpu.total_gib,
                    max_concurrency: fit.max_concurrency,
                })
            })
        })
        .collect();
    found.sort_by(|a, b| a.tensor_parallel.cmp(&b.tensor_parallel).then(a.gpu_memory_gib.total_cmp(&b.gpu_memory_gib)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{find_model, gpu_product};

    fn llama_on(gpu: &str) -> (ModelShape, GpuInfo) {
        let model = find_model("meta-llama/Llama-3.1-8B-Instruct").unwrap();
        (model, GpuInfo::from(gpu_product(gpu).unwrap()))
    }

    /// `demand` with `args` on `gpu`, the context set, changed by `f`.
    fn eval(
        model: &ModelShape,
        gpu: &GpuInfo,
        args: &EngineArgs,
        demand: Demand,
        f: &dyn Fn(&mut EngineArgs),
    ) -> MemoryFit {
        let mut a = EngineArgs { max_model_len: Some(demand.context), ..args.clone() };
        f(&mut a);
        evaluate(model, gpu, &a)
    }

    /// The test's own reading of a confident start, apart from the code's.
    fn confident(fit: &MemoryFit) -> bool {
        fit.fits && fit.edge.is_none()
    }

    fn confident_serves(fit: &MemoryFit, demand: Demand) -> bool {
        confident(fit) && fit.max_concurrency + 1e-9 >= demand.concurrency as f64
    }

    /// Each answer, evaluated back, starts outside the model's error; one
    /// step further (one more token or sequence, 0.01 less utilization,
    /// 1 MiB less KV, one GPU fewer) does not start or is at the edge.
    /// Llama-3.1-8B on an L4 is decided by the KV cache against a request;
    /// Qwen2.5-7B at one request on an RTX 3090 has its least utilization
    /// moved off the KV-cache edge.
    #[test]
    fn every_recommendation_starts_outside_the_error_and_the_next_step_does_not() {
        let cases = [
            ("meta-llama/Llama-3.1-8B-Instruct", "L4", Demand { context: 8192, concurrency: 4 }),
            ("Qwen/Qwen2.5-7B-Instruct", "RTX-3090", Demand { context: 8192, concurrency: 1 }),
        ];
        for (id, gpu, demand) in cases {
            let (model, gpu) = (find_model(id).unwrap(), GpuInfo::from(gpu_product(gpu).unwrap()));
            let args = EngineArgs::default();
            let r = recommend(&model, &gpu, &args, demand);
            let with = |f: &dyn Fn(&mut EngineArgs)| eval(&model, &gpu, &args, demand, f);
            let len = r.max_model_len.unwrap();
            assert!(confident(&with(&|a| a.max_model_len = Some(len))), "{id}: {len}");
            if len < model.max_position {
                assert!(!confident(&with(&|a| a.max_model_len = Some(len + 1))), "{id}: {len}");
            }
            let seqs = r.max_num_seqs.unwrap();
            assert!(confident(&with(&|a| a.max_num_seqs = Some(seqs))), "{id}: {seqs}");
            let cap = MAX_SEQS.min(with(&|_| {}).max_num_batched_tokens);
            assert!(seqs == cap || !confident(&with(&|a| a.max_num_seqs = Some(seqs + 1))), "{id}: {seqs}");
            let u = r.gpu_memory_utilization.unwrap();
            assert!(confident_serves(&with(&|a| a.gpu_memory_utilization = Some(u)), demand), "{id}: {u}");
            assert!(!confident_serves(&with(&|a| a.gpu_memory_utilization = Some(u - 0.01)), demand), "{id}: {u}");
            let bytes = r.kv_cache_memory_bytes.unwrap();
            assert!(confident_serves(&with(&|a| a.kv_cache_memory_bytes = Some(bytes)), demand), "{id}: {bytes}");
            // The fixed cache's own size check is exact (module doc): one
            // MiB less does not hold the demand at all, margin or not.
            let less = with(&|a| a.kv_cache_memory_bytes = Some(bytes - (1 << 20)));
            assert!(less.max_concurrency < demand.concurrency as f64, "{id}: {bytes}");
            for p in &r.placements {
                let gpu = GpuInfo::from(gpu_product(&p.gpu).unwrap());
                let at = |tp: u64| eval(&model, &gpu, &args, demand, &|a| a.tensor_parallel = tp);
                assert!(confident_serves(&at(p.tensor_parallel), demand), "{id}: {p:?}");
                assert!(p.tensor_parallel == 1 || !confident_serves(&at(p.tensor_parallel - 1), demand), "{id}: {p:?}");
            }
        }
    }

    /// The search before the margin (the largest value that `fits`, the
    /// smallest that fits and holds) answered at the edge: on an L4 the
    /// longest `max_model_len` left Llama-3.1-8B's cache no room beyond one
    /// request, and on an RTX 3090 the least utilization for one Qwen2.5-7B
    /// request of 8,192 tokens was inside the model's error of the KV-cache
    /// limit — the edge at which vLLM 0.17.1 both started and refused
    /// Qwen2.5-7B on that card (at 0.65, edge.rs). The answers now keep the
    /// margin, and are the nearest ones that do.
    #[test]
    fn the_search_no_longer_answers_at_the_edge() {
        use super::super::edge::Limit;
        let (model, gpu) = llama_on("L4");
        let (args, demand) = (EngineArgs::default(), Demand { context: 8192, concurrency: 4 });
        let eval_len = |len| eval(&model, &gpu, &args, demand, &|a| a.max_model_len = Some(len));
        let fits_only = largest(model.max_position, |len| eval_len(len).fits).unwrap();
        let old = eval_len(fits_only);
        assert!(old.fits && old.edge.is_some_and(|e| e.limit == Limit::MaxModelLen), "{fits_only}: {:?}", old.edge);
        let len = recommend(&model, &gpu, &args, demand).max_model_len.unwrap();
        assert!(len < fits_only && confident(&eval_len(len)), "{len} vs {fits_only}");

        let model = find_model("Qwen/Qwen2.5-7B-Instruct").unwrap();
        let gpu = GpuInfo::from(gpu_product("RTX-3090").unwrap());
        let demand = Demand { context: 8192, concurrency: 1 };
        let at = |percent: u64| {
            eval(&model, &gpu, &args, demand, &|a| a.gpu_memory_utilization = Some(percent as f64 / 100.0))
        };
        let fits_only = smallest(100, |p| at(p).fits && holds(&at(p), demand)).unwrap();
        let old = at(fits_only);
        assert!(old.edge.is_some_and(|e| e.limit == Limit::MaxModelLen && e.margin_gib > 0.0), "{:?}", old.edge);
        let u = recommend(&model, &gpu, &args, demand).gpu_memory_utilization.unwrap();
        let percent = (u * 100.0).round() as u64;
        assert!(percent > fits_only && confident_serves(&at(percent), demand), "{u} vs {fits_only}");
    }

    /// 70B at 128k × 4 needs more than one 80 GB GPU; the list starts at
    /// the fewest GPUs, and each entry serves the demand.
    #[test]
    fn placements_start_with_the_fewest_gpus() {
        let model = find_model("meta-llama/Llama-3.3-70B-Instruct").unwrap();
        let demand = Demand { context: 131_072, concurrency: 4 };
        let found = placements(&model, &EngineArgs::default(), demand);
        assert!(!found.is_empty());
        assert!(found.iter().all(|p| p.tensor_parallel >= 2 && p.max_concurrency >= 4.0), "{found:?}");
        assert!(found.windows(2).all(|w| w[0].tensor_parallel <= w[1].tensor_parallel), "{found:?}");
        // A T4 group of eight does not hold 140 GB of weights and the cache.
        assert!(!found.iter().any(|p| p.gpu.contains("T4")), "{found:?}");
    }
}
