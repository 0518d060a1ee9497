//! GPU memory other processes already hold when vLLM starts (a shared or
//! time-sliced GPU), and what each vLLM band does with it
//! ([`VllmVersion::co_tenant`] has the source lines):
//!
//! - [`CoTenant::Subtracted`] (V1 0.6.5–0.9.0, V0 0.6.4): the worker counts
//!   the others' memory as its own non-torch memory, so it comes out of the
//!   KV budget ([`counted_gib`]); with the others it never holds more than
//!   `total × utilization`.
//! - [`CoTenant::Unseen`] (V0 from 0.6.5 — and so `VLLM_USE_V1=0` up to
//!   0.10 — and up to 0.6.3): the baseline is measured after the others, the
//!   budget is `total × utilization` less the worker's own use as on an
//!   empty GPU, and the cache it then allocates may not fit beside them:
//!   PyTorch's "CUDA out of memory" while allocating it
//!   ([`out_of_memory`]).
//! - [`CoTenant::Checked`] (V1 from 0.9.1): refused at startup below
//!   `total × utilization` free (`refusals::free_memory`); past the check
//!   the budget is the worker's own, and only what is captured after the
//!   KV cache (CUDA graphs outside the budget) can still run out.
//!
//! Whatever the band, loading the weights and the profile run need their
//! memory beside the others' too.

use super::GIB;
use super::version::{CoTenant, VllmVersion};

/// GiB of the others' memory that come out of the KV budget.
pub fn counted_gib(accounting: CoTenant, in_use_gib: f64) -> f64 {
    if accounting == CoTenant::Subtracted { in_use_gib.max(0.0) } else { 0.0 }
}

/// What this vLLM holds on one GPU as it starts (GiB), as `evaluate`
/// sized it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    pub weights_gib: f64,
    /// NCCL, the custom all-reduce and the CUDA context: created by
    /// `init_device` before the weights load.
    pub non_torch_gib: f64,
    pub activation_gib: f64,
    /// Activation + non-torch (+ CUDA graphs inside the budget).
    pub overhead_gib: f64,
    /// The KV cache it allocates (≤ 0: none, it refuses before).
    pub kv_gib: f64,
    /// CUDA graphs captured after the KV cache, outside the budget.
    pub graphs_after_kv_gib: f64,
    /// One layer's KV tensor (the cache is allocated a layer at a time:
    /// V0 worker/cache_engine.py `_allocate_kv_cache`, v0.7.3:99-106).
    pub kv_layer_bytes: u64,
    /// `--kv-cache-memory-bytes` fixed the cache.
    pub fixed_kv: bool,
}

/// The steps of a start that allocate GPU memory, in the order vLLM takes
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `load_model`, after `init_device` created the communicators.
    LoadWeights,
    /// The profile run (`determine_available_memory`).
    ProfileRun,
    /// The KV cache, allocated after it was sized and checked
    /// (`initialize_cache` / `initialize_from_config`).
    AllocateKvCache,
    /// CUDA graphs captured after the KV cache, outside the budget.
    CaptureGraphs,
}

impl Step {
    /// Before the KV cache is sized: a start stopped here never meets the
    /// cache-size refusals ("No available memory for the cache blocks",
    /// a `max_model_len` the cache cannot hold) nor anything after them.
    pub fn before_cache_sizing(self) -> bool {
        matches!(self, Self::LoadWeights | Self::ProfileRun)
    }

    fn words(self) -> &'static str {
        match self {
            Self::LoadWeights => "loading the model weights",
            Self::ProfileRun => "in the profile run",
            Self::AllocateKvCache => "allocating the KV cache",
            Self::CaptureGraphs => "capturing CUDA graphs after the KV cache",
        }
    }
}

/// A start that runs out of memory beside other processes: where, and
/// PyTorch's error with gpuops' reason and hint after it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfMemory {
    pub step: Step,
    pub message: String,
}

/// The steps of a start, in order, and what the worker holds after each.
fn steps(own: &Footprint) -> [(Step, f64); 4] {
    let loaded = own.weights_gib + own.non_torch_gib;
    let kv = own.weights_gib + own.overhead_gib + own.kv_gib.max(0.0);
    [
        (Step::LoadWeights, loaded),
        (Step::ProfileRun, loaded + own.activation_gib),
        (Step::AllocateKvCache, kv),
        (Step::CaptureGraphs, kv + own.graphs_after_kv_gib),
    ]
}

/// PyTorch's `format_size` (c10/cuda/CUDACachingAllocator.cpp): two
/// decimals, binary units, "bytes" up to 1 KiB.
fn torch_size(bytes: f64) -> String {
    let bytes = bytes.max(0.0);
    if bytes <= 1024.0 {
        format!("{} bytes", bytes as u64)
    } else if bytes <= 1_048_576.0 {
        format!("{:.2} KiB", bytes / 1024.0)
    } else if bytes <= GIB {
        format!("{:.2} MiB", bytes / 1_048_576.0)
    } else {
        format!("{:.2} GiB", bytes / GIB)
    }
}

/// The first step of the start that runs out of memory because other
/// processes hold `in_use_gib` of the `total_gib` GPU, in PyTorch's words
/// (`OutOfMemoryError`, "CUDA out of memory. Tried to allocate … GPU 0
/// has a total capacity of … of which … is free.", CUDACachingAllocator.cpp
/// `malloc`), with where and why after it. `None` when every step fits
/// beside them, when the worker refuses at startup first (`Checked`
/// below `total × utilization` free), or when the step overruns the GPU
/// even alone (`evaluate` says so without the others).
pub fn out_of_memory(
    version: VllmVersion,
    accounting: CoTenant,
    in_use_gib: f64,
    total_gib: f64,
    utilization: f64,
    own: &Footprint,
) -> Option<OutOfMemory> {
    if in_use_gib <= 0.0 || (accounting == CoTenant::Checked && total_gib - in_use_gib < total_gib * utilization) {
        return None;
    }
    let steps = steps(own);
    // Without a KV cache the worker refuses after the profile run.
    let reached = if own.kv_gib > 0.0 { &steps[..] } else { &steps[..2] };
    let (at, (step, _)) =
        reached.iter().enumerate().find(|(_, (_, held))| *held <= total_gib && in_use_gib + held > total_gib)?;
    let before = if at == 0 { 0.0 } else { reached[at - 1].1 };
    let free = (total_gib - in_use_gib - before).max(0.0) * GIB;
    let layer = own.kv_layer_bytes as f64;
    let head = if *step == Step::AllocateKvCache && layer > 0.0 {
        // The layers before the one that fails were allocated.
        let left = free - (free / layer).floor() * layer;
        format!(
            "CUDA out of memory. Tried to allocate {}. GPU 0 has a total capacity of {} of which {} is free.",
            torch_size(layer),
            torch_size(total_gib * GIB),
            torch_size(left)
        )
    } else {
        format!(
            "CUDA out of memory. GPU 0 has a total capacity of {} of which {} is free.",
            torch_size(total_gib * GIB),
            torch_size(free)
        )
    };
    let why = match accounting {
        CoTenant::Unseen if !step.before_cache_sizing() && !own.fixed_kv => format!(
            "; it sized the KV cache as {total_gib:.2} × {utilization} = {:.2} GiB less its own use, leaving out what other processes held before it started",
            total_gib * utilization
        ),
        _ => String::new(),
    };
    // The most `gpu_memory_utilization` can be for the rest to fit beside
    // the others, when a positive KV cache remains at it.
    let most = ((total_gib - in_use_gib - own.graphs_after_kv_gib) / total_gib * 100.0).floor() / 100.0;
    let kv_room = most * total_gib - own.weights_gib - own.overhead_gib - counted_gib(accounting, in_use_gib);
    let hint = if !step.before_cache_sizing() && !own.fixed_kv && most > 0.0 && kv_room > 0.0 {
        format!("--gpu-memory-utilization {most} or less leaves room for them")
    } else if !step.before_cache_sizing() && own.fixed_kv {
        "lower --kv-cache-memory-bytes, or give this pod a GPU of its own".to_string()
    } else {
        "this pod needs a GPU of its own, or fewer pods on this one".to_string()
    };
    let message = format!(
        "{head} (vLLM {version} {}, beside the {in_use_gib:.2} GiB other processes hold on this GPU{why}; {hint})",
        step.words()
    );
    Some(OutOfMemory { step: *step, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> VllmVersion {
        VllmVersion::parse(text).unwrap()
    }

    /// Llama-3.1-8B on an 80 GiB H100 (79.19 GiB as CUDA reports it):
    /// 14.99 GiB of weights, about 2 GiB of overhead, utilization 0.9.
    fn llama_8b(kv_gib: f64) -> Footprint {
        Footprint {
            weights_gib: 14.99,
            non_torch_gib: 0.3,
            activation_gib: 1.7,
            overhead_gib: 2.0,
            kv_gib,
            graphs_after_kv_gib: 0.5,
            // 32 layers share the cache: one layer's tensor.
            kv_layer_bytes: (kv_gib.max(0.0) * GIB / 32.0) as u64 / 2_097_152 * 2_097_152,
            fixed_kv: false,
        }
    }

    const TOTAL: f64 = 79.19;

    /// V1 0.6.5–0.9.0 (v0.8.5 v1/worker/gpu_worker.py:203-210): the
    /// others' memory is in `total_allocated_bytes`, so in
    /// `non_torch_allocations`, and comes out of `available_kv_cache_memory`.
    #[test]
    fn v1_before_0_9_1_takes_the_others_out_of_the_kv_budget() {
        assert_eq!(counted_gib(v("0.8.5").co_tenant(super::super::Generation::V1), 20.0), 20.0);
        assert_eq!(counted_gib(CoTenant::Unseen, 20.0), 0.0);
        assert_eq!(counted_gib(CoTenant::Checked, 20.0), 0.0);
        // 71.27 − 20 − 17 GiB of KV: with the others it holds 71.27 GiB at
        // most, and its start fits.
        let kv = TOTAL * 0.9 - 20.0 - 14.99 - 2.0;
        assert_eq!(out_of_memory(v("0.8.5"), CoTenant::Subtracted, 20.0, TOTAL, 0.9, &llama_8b(kv)), None);
    }

    /// V0 from 0.6.5 (v0.7.3 worker.py:161 `baseline_snapshot` in
    /// `init_device`, :233-236 `memory_for_current_instance -
    /// result.non_kv_cache_memory`, utils.py:2034-2039 `diff_from_create`):
    /// the budget ignores the others, and the per-layer `torch.zeros` of
    /// the cache engine (cache_engine.py:103-106) runs out.
    #[test]
    fn v0_sizes_the_cache_as_if_alone_and_runs_out_allocating_it() {
        let kv = TOTAL * 0.9 - 14.99 - 2.0;
        let own = llama_8b(kv);
        let oom = out_of_memory(v("0.7.3"), CoTenant::Unseen, 20.0, TOTAL, 0.9, &own).unwrap().message;
        // 24 of the 32 layers fit in the 42.20 GiB left beside the others.
        assert_eq!(
            oom,
            "CUDA out of memory. Tried to allocate 1.70 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.51 GiB is free. (vLLM 0.7.3 allocating the KV cache, beside the 20.00 GiB other processes hold on this GPU; it sized the KV cache as 79.19 × 0.9 = 71.27 GiB less its own use, leaving out what other processes held before it started; --gpu-memory-utilization 0.74 or less leaves room for them)"
        );
        // Within the 10 % it leaves: the cache fits, the CUDA graphs after
        // it do not.
        let graphs = out_of_memory(v("0.7.3"), CoTenant::Unseen, 7.7, TOTAL, 0.9, &own).unwrap().message;
        assert_eq!(
            graphs,
            "CUDA out of memory. GPU 0 has a total capacity of 79.19 GiB of which 224.26 MiB is free. (vLLM 0.7.3 capturing CUDA graphs after the KV cache, beside the 7.70 GiB other processes hold on this GPU; it sized the KV cache as 79.19 × 0.9 = 71.27 GiB less its own use, leaving out what other processes held before it started; --gpu-memory-utilization 0.89 or less leaves room for them)"
        );
        assert_eq!(out_of_memory(v("0.7.3"), CoTenant::Unseen, 7.0, TOTAL, 0.9, &own), None, "room enough");
    }

    /// V1 from 0.9.1 (v0.9.1 gpu_worker.py:138-147): below `total ×
    /// utilization` free it refuses before anything; above, the budget is
    /// its own (`requested_memory - non_kv_cache_memory`, :218-219) and
    /// only the graphs captured after the cache can run out.
    #[test]
    fn checked_releases_refuse_first_and_run_out_only_after_the_cache() {
        let own = llama_8b(TOTAL * 0.9 - 14.99 - 2.0);
        assert_eq!(out_of_memory(v("0.11.0"), CoTenant::Checked, 20.0, TOTAL, 0.9, &own), None, "refused at startup");
        let graphs = out_of_memory(v("0.11.0"), CoTenant::Checked, 7.7, TOTAL, 0.9, &own).unwrap().message;
        assert!(graphs.contains("(vLLM 0.11.0 capturing CUDA graphs after the KV cache, beside the 7.70 GiB other processes hold on this GPU; --gpu-memory-utilization 0.89 or less leaves room for them)"), "{graphs}");
    }

    /// Whatever the band, weights that do not fit beside the others stop
    /// the load; a step that overruns the GPU alone is `evaluate`'s to say.
    #[test]
    fn weights_beside_the_others() {
        let own = llama_8b(-1.0);
        let loading = out_of_memory(v("0.8.5"), CoTenant::Subtracted, 70.0, TOTAL, 0.9, &own).unwrap();
        assert_eq!(loading.step, Step::LoadWeights);
        assert!(loading.step.before_cache_sizing());
        let oom = loading.message;
        assert!(oom.starts_with("CUDA out of memory. GPU 0 has a total capacity of 79.19 GiB of which 9.19 GiB is free. (vLLM 0.8.5 loading the model weights, beside the 70.00 GiB other processes hold on this GPU; this pod needs a GPU of its own"), "{oom}");
        let alone = Footprint { weights_gib: 90.0, ..own };
        assert_eq!(out_of_memory(v("0.8.5"), CoTenant::Subtracted, 5.0, TOTAL, 0.9, &alone), None);
        assert_eq!(out_of_memory(v("0.8.5"), CoTenant::Subtracted, 0.0, TOTAL, 0.9, &own), None);
    }

    /// The same pod beside 20 GiB of another process on an H100, through
    /// `evaluate`, one release per band.
    #[test]
    fn evaluate_follows_each_band() {
        use crate::catalog::{GpuInfo, find_model, gpu_product};
        use crate::memory::{EngineArgs, evaluate};
        let model = find_model("Llama-3.1-8B").unwrap();
        let gpu: GpuInfo = gpu_product("H100").unwrap().into();
        let at = |release: &str, in_use: f64| {
            let args = EngineArgs {
                max_model_len: Some(8192),
                vllm_version: VllmVersion::parse(release),
                gpu_memory_in_use_gib: in_use,
                ..EngineArgs::default()
            };
            evaluate(&model, &gpu, &args)
        };
        // V1 0.8.5: 20 GiB less KV cache, and it starts.
        let (alone, shared) = (at("0.8.5", 0.0), at("0.8.5", 20.0));
        assert!((alone.kv_budget_gib - shared.kv_budget_gib - 20.0).abs() < 1e-9);
        assert!(shared.fits, "{:?}", shared.problems);
        // V0 0.7.3: the budget of an empty GPU, and the allocation fails.
        let (alone, shared) = (at("0.7.3", 0.0), at("0.7.3", 20.0));
        assert_eq!(alone.kv_budget_gib, shared.kv_budget_gib);
        assert!(!shared.fits);
        assert!(shared.problems[0].starts_with("CUDA out of memory. Tried to allocate "), "{:?}", shared.problems);
        assert!(shared.problems[0].contains("(vLLM 0.7.3 allocating the KV cache"), "{:?}", shared.problems);
        // V0 0.6.4 subtracts, as V1 does.
        assert!(at("0.6.4", 20.0).fits && at("0.6.4", 20.0).kv_budget_gib < at("0.6.4", 0.0).kv_budget_gib - 19.9);
        // V1 0.11.0: refused at startup, budget untouched, nothing after.
        let (alone, shared) = (at("0.11.0", 0.0), at("0.11.0", 20.0));
        assert_eq!(alone.kv_budget_gib, shared.kv_budget_gib);
        assert_eq!(shared.problems.len(), 1, "{:?}", shared.problems);
        assert!(shared.problems[0].starts_with("Free memory on device ("), "{:?}", shared.problems);
    }

    /// vLLM stops at the first error it raises (v0.7.3 engine/llm_engine.py
    /// :421 profiles, then :434 `initialize_cache` checks the size at
    /// worker.py:291 before allocating at :306; v0.8.5 v1/engine/core.py:129
    /// then :134 `get_kv_cache_config`): a pod that runs out of memory
    /// beside the others while loading its weights or in the profile run
    /// never reaches the cache-size checks, and a cache-size refusal ends
    /// the start before the cache is allocated. Llama-3.1-8B on an L4
    /// (22.05 GiB; 14.96 GiB of weights).
    #[test]
    fn evaluate_stops_where_vllm_stops() {
        use crate::catalog::{GpuInfo, find_model, gpu_product};
        use crate::memory::{EngineArgs, evaluate};
        let model = find_model("Llama-3.1-8B").unwrap();
        let gpu: GpuInfo = gpu_product("L4").unwrap().into();
        let at = |release: &str, len: Option<u64>, in_use: f64| {
            let args = EngineArgs {
                max_model_len: len,
                vllm_version: VllmVersion::parse(release),
                gpu_memory_in_use_gib: in_use,
                ..EngineArgs::default()
            };
            evaluate(&model, &gpu, &args).problems
        };
        // V1 0.8.5 takes the others' memory out of the budget: beside 5 GiB
        // none is left for the cache. Beside 6 GiB the profile run runs
        // out first, beside 8 the weights do not load, and vLLM never gets
        // to say "No available memory for the cache blocks".
        assert!(at("0.8.5", Some(8192), 5.0)[0].starts_with("No available memory for the cache blocks"));
        let profile = at("0.8.5", Some(8192), 6.0);
        assert_eq!(profile.len(), 1, "{profile:?}");
        assert!(profile[0].contains("(vLLM 0.8.5 in the profile run, beside the 6.00 GiB"), "{profile:?}");
        let loading = at("0.8.5", Some(8192), 8.0);
        assert_eq!(loading.len(), 1, "{loading:?}");
        assert!(loading[0].contains("(vLLM 0.8.5 loading the model weights, beside the 8.00 GiB"), "{loading:?}");
        // V0 0.7.3 at the model's 131,072 tokens: alone the cache is too
        // small; beside 6.6 GiB the profile run runs out first, and that
        // is all vLLM says.
        let alone = at("0.7.3", None, 0.0);
        assert_eq!(alone.len(), 1);
        assert!(alone[0].starts_with("The model's max seq len (131072) is larger than "), "{alone:?}");
        let profile = at("0.7.3", None, 6.6);
        assert_eq!(profile.len(), 1, "{profile:?}");
        assert!(profile[0].contains("(vLLM 0.7.3 in the profile run, beside the 6.60 GiB"), "{profile:?}");
        // Beside 3 GiB the weights and the profile fit; the cache the
        // worker would allocate does not, but the size check refuses first.
        assert_eq!(at("0.7.3", None, 3.0), alone);
        let allocating = at("0.7.3", Some(8192), 3.0);
        assert_eq!(allocating.len(), 1, "{allocating:?}");
        assert!(allocating[0].contains("(vLLM 0.7.3 allocating the KV cache, beside the 3.00 GiB"), "{allocating:?}");
    }

    #[test]
    fn sizes_print_as_pytorch_prints_them() {
        assert_eq!(torch_size(1024.0), "1024 bytes");
        assert_eq!(torch_size(1536.0), "1.50 KiB");
        assert_eq!(torch_size(20.0 * 1_048_576.0), "20.00 MiB");
        assert_eq!(torch_size(GIB), "1024.00 MiB");
        assert_eq!(torch_size(79.19 * GIB), "79.19 GiB");
    }
}
