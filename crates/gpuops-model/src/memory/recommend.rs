//! `--recommend`: what vLLM itself does not answer before it starts — the
//! largest settings that still start, the smallest KV reservation that
//! holds a requested concurrency, and the fewest GPUs (of which catalog
//! product) that serve a context at that concurrency. Every answer is a
//! search over [`evaluate`]: the same terms and refusals, no second model.

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

/// The answers of `--recommend` for one model, GPU and set of flags.
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

/// Whether `fit` starts and holds the demand's concurrency.
fn serves(fit: &MemoryFit, demand: Demand) -> bool {
    fit.fits && fit.max_concurrency + 1e-9 >= demand.concurrency as f64
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
    let max_model_len = largest(model.max_position.max(1), |len| {
        let mut candidate = args.clone();
        candidate.max_model_len = Some(len);
        evaluate(model, gpu, &candidate).fits
    });
    // vLLM refuses `max_num_batched_tokens < max_num_seqs` (SchedulerConfig
    // `_verify_args`, vllm/config/scheduler.py): the batch caps the search.
    let batched = with(&|_| {}).max_num_batched_tokens;
    let max_num_seqs = largest(MAX_SEQS.min(batched.max(1)), |seqs| with(&|a| a.max_num_seqs = Some(seqs)).fits);
    // The pool grows with the reservation, so the smallest one holding the
    // demand is found on the concurrency alone; whether that one starts
    // (graphs captured beside it can overrun the GPU) is checked after.
    let holds = |fit: MemoryFit| fit.max_concurrency + 1e-9 >= demand.concurrency as f64;
    let utilization_args = |percent: u64| {
        move |a: &mut EngineArgs| {
            a.gpu_memory_utilization = Some(percent as f64 / 100.0);
            a.kv_cache_memory_bytes = None;
        }
    };
    let gpu_memory_utilization = smallest(100, |percent| holds(with(&utilization_args(percent))))
        .filter(|percent| serves(&with(&utilization_args(*percent)), demand))
        .map(|percent| percent as f64 / 100.0);
    const MIB: u64 = 1 << 20;
    let kv_args = |mib: u64| move |a: &mut EngineArgs| a.kv_cache_memory_bytes = Some(mib * MIB);
    let gpu_mib = (gpu.total_gib * 1024.0) as u64;
    let kv_cache_memory_bytes = smallest(gpu_mib.max(1), |mib| holds(with(&kv_args(mib))))
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
/// demand with `args`' other flags; products where none does are left out.
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

    /// Each answer, evaluated back, starts; one step further does not.
    #[test]
    fn every_recommendation_starts_and_the_next_step_does_not() {
        let (model, gpu) = llama_on("L4");
        let args = EngineArgs::default();
        let demand = Demand { context: 8192, concurrency: 4 };
        let r = recommend(&model, &gpu, &args, demand);
        let eval = |f: &dyn Fn(&mut EngineArgs)| {
            let mut a = EngineArgs { max_model_len: Some(demand.context), ..args.clone() };
            f(&mut a);
            evaluate(&model, &gpu, &a)
        };
        let len = r.max_model_len.unwrap();
        assert!(eval(&|a| a.max_model_len = Some(len)).fits);
        if len < model.max_position {
            assert!(!eval(&|a| a.max_model_len = Some(len + 1)).fits, "{len}");
        }
        let u = r.gpu_memory_utilization.unwrap();
        assert!(serves(&eval(&|a| a.gpu_memory_utilization = Some(u)), demand), "{u}");
        assert!(!serves(&eval(&|a| a.gpu_memory_utilization = Some(u - 0.01)), demand), "{u}");
        let bytes = r.kv_cache_memory_bytes.unwrap();
        assert!(serves(&eval(&|a| a.kv_cache_memory_bytes = Some(bytes)), demand));
        assert!(!serves(&eval(&|a| a.kv_cache_memory_bytes = Some(bytes - (1 << 20))), demand));
        assert!(r.max_num_seqs.is_some_and(|s| s >= 1));
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
