//! The memory model's terms across vLLM releases, each against the vLLM
//! source line it follows (docs/vllm-memory-versions.md has the table).

use gpuops_model::catalog::{GpuInfo, find_model, gpu_product};
use gpuops_model::memory::{self, EngineArgs, Generation, MemoryFit, SamplerBackend, VllmEnv, VllmVersion};

fn gpu(name: &str) -> GpuInfo {
    gpu_product(name).unwrap().into()
}

fn at(model: &str, gpu_name: &str, version: &str, args: EngineArgs) -> MemoryFit {
    let args = EngineArgs { vllm_version: VllmVersion::parse(version), ..args };
    memory::evaluate(&find_model(model).unwrap(), &gpu(gpu_name), &args)
}

fn len(n: u64) -> EngineArgs {
    EngineArgs { max_model_len: Some(n), ..EngineArgs::default() }
}

/// An unknown release is assumed, and said so; a known one is not.
#[test]
fn unknown_version_is_assumed_with_a_note() {
    let unknown = memory::evaluate(&find_model("Llama-3.1-8B").unwrap(), &gpu("H100"), &len(8192));
    assert_eq!(unknown.vllm_version, "0.34.0");
    assert_eq!(unknown.notes, vec!["vLLM version unknown: assumed 0.34.0".to_string()]);
    let known = at("Llama-3.1-8B", "H100", "0.11.0", len(8192));
    assert!(known.notes.is_empty());
    assert_eq!((known.engine, known.gpu_memory_utilization), (Generation::V1, 0.9));
}

/// v0.20.0 envs.py:1725 and config/cache.py:66: graphs inside, 0.92.
#[test]
fn graphs_enter_the_budget_at_0_20() {
    let v19 = at("Llama-3.1-8B", "H100", "0.19.0", len(8192));
    let v20 = at("Llama-3.1-8B", "H100", "0.20.0", len(8192));
    assert!(!v19.cuda_graph_in_budget && v20.cuda_graph_in_budget);
    assert_eq!((v19.gpu_memory_utilization, v20.gpu_memory_utilization), (0.9, 0.92));
    // 0.18–0.19 with the variable set (v0.18.0 envs.py:1636).
    let env = VllmEnv { estimate_cudagraphs: Some(true), ..VllmEnv::default() };
    let opt_in = at("Llama-3.1-8B", "H100", "0.18.0", EngineArgs { vllm_env: env, ..len(8192) });
    assert!(opt_in.cuda_graph_in_budget);
    assert!((v19.kv_budget_gib - opt_in.kv_budget_gib - opt_in.cuda_graph_gib).abs() < 1e-9);
}

/// The sampler peak follows the top-k/top-p path: the PyTorch sort up to
/// 0.16, FlashInfer when asked (topk_topp_sampler.py v0.12.0:35), vLLM's
/// Triton kernel from 0.17 (v0.17.0:251), FlashInfer by default from 0.22
/// (envs.py v0.22.0:818).
#[test]
fn the_top_k_top_p_path_sets_the_sampler_peak() {
    let sort = at("Llama-3.1-8B", "H100", "0.16.0", len(8192));
    let env = VllmEnv { use_flashinfer_sampler: Some(true), ..VllmEnv::default() };
    let flashinfer = at("Llama-3.1-8B", "H100", "0.16.0", EngineArgs { vllm_env: env, ..len(8192) });
    assert_eq!(
        (sort.sampler_backend, flashinfer.sampler_backend),
        (SamplerBackend::Native, SamplerBackend::FlashInfer)
    );
    // 1,024 sequences × 128,256 vocabulary × 4 B = 0.489 GiB a copy; 9.4 − 3.5 copies apart.
    let copy = 1024.0 * 128_256.0 * 4.0 / (1u64 << 30) as f64;
    assert!((sort.activation_gib - flashinfer.activation_gib - 5.9 * copy).abs() < 1e-9);
    let triton = at("Llama-3.1-8B", "H100", "0.17.0", len(8192));
    assert_eq!(triton.sampler_backend, SamplerBackend::Triton);
    // The Triton band's peak is traced from the 0.17.1 source
    // (`overhead::triton_profile_peak_gib`): the forward's 8,192 hidden
    // states and the 2 × 1,024 of its gather, 3½ copies and the kernel's
    // 132 scratch rows (one per H100 SM), without the fitted fixed part.
    let gib = (1u64 << 30) as f64;
    let traced = (8192.0 + 2048.0) * 4096.0 * 2.0 / gib + 3.5 * copy + 132.0 * 128_256.0 * 4.0 / gib;
    assert!((triton.activation_gib - traced).abs() < 1e-9, "{}", triton.activation_gib);
    let v22 = at("Llama-3.1-8B", "H100", "0.22.0", len(8192));
    assert_eq!(v22.sampler_backend, SamplerBackend::FlashInfer);
}

/// 4,096 sequences on the V2 runner with FlashInfer off at `utilization`:
/// the profile samples without top-k/top-p, the warm-up after the KV cache
/// with them (the Triton path), eager so no graphs blur the room left.
fn warm_up_heavy(utilization: f64) -> EngineArgs {
    let env = VllmEnv { use_v2_model_runner: Some(true), use_flashinfer_sampler: Some(false), ..VllmEnv::default() };
    EngineArgs {
        vllm_env: env,
        gpu_memory_utilization: Some(utilization),
        max_num_seqs: Some(4096),
        enforce_eager: true,
        ..len(8192)
    }
}

/// The V2 runner's profile skips top-k/top-p (v0.22.0 gpu/model_runner.py
/// :576-578); the warm-up after the KV cache does not, and a GPU with no
/// room beside the budget refuses in vLLM's words.
#[test]
fn sampler_warm_up_can_run_out_after_the_kv_cache() {
    let tight = warm_up_heavy(0.99);
    let fit = at("Llama-3.1-8B", "H100", "0.22.0", tight.clone());
    assert!(
        fit.problems
            .iter()
            .any(|p| p.starts_with("CUDA out of memory occurred when warming up sampler with 4096 dummy requests.")),
        "{:?}",
        fit.problems
    );
    let roomy = at("Llama-3.1-8B", "H100", "0.22.0", EngineArgs { gpu_memory_utilization: Some(0.9), ..tight });
    assert!(roomy.fits, "{:?}", roomy.problems);
}

/// Custom all-reduce: TP only, not across nodes, not on > 2 PCIe GPUs
/// (custom_all_reduce.py v0.11.0:51,88,146).
#[test]
fn custom_all_reduce_by_topology() {
    let tp2 = at("Qwen2.5-32B", "H100", "0.11.0", EngineArgs { tensor_parallel: 2, ..len(8192) });
    assert!((tp2.custom_all_reduce_gib - 24.0 / 1024.0).abs() < 1e-12);
    let nodes = at("Qwen2.5-32B", "H100", "0.11.0", EngineArgs { tensor_parallel: 2, multi_node: true, ..len(8192) });
    assert_eq!(nodes.custom_all_reduce_gib, 0.0);
    assert!((tp2.non_torch_gib - nodes.non_torch_gib - tp2.custom_all_reduce_gib).abs() < 1e-12);
    let pcie4 = at("Qwen2.5-32B", "L40S", "0.11.0", EngineArgs { tensor_parallel: 4, ..len(8192) });
    assert_eq!(pcie4.custom_all_reduce_gib, 0.0);
    let pcie2 = at("Qwen2.5-32B", "L40S", "0.11.0", EngineArgs { tensor_parallel: 2, ..len(8192) });
    assert!(pcie2.custom_all_reduce_gib > 0.0);
    // Pipeline parallel alone builds no all-reduce buffers.
    let pp2 = at("Qwen2.5-32B", "H100", "0.11.0", EngineArgs { pipeline_parallel: 2, ..len(8192) });
    let tp1 = at("Qwen2.5-32B", "H100", "0.11.0", len(8192));
    assert_eq!(pp2.non_torch_gib, tp1.non_torch_gib);
}

/// Gemma 3 (5 sliding : 1 full): one pool of equal-size groups from 0.9.2
/// (kv_cache_utils.py v0.9.2:826, v0.11.0:1080); 0.8 holds every layer in
/// full (v0.8.5:657-683).
#[test]
fn hybrid_models_print_a_group_share() {
    let gemma = "google/gemma-3-27b-it";
    let v11 = at(gemma, "H100", "0.11.0", len(32_768));
    let shape = find_model(gemma).unwrap();
    assert!(v11.kv_groups > 1, "{}", v11.kv_groups);
    let full = shape.layers - shape.sliding_layers;
    let group = full.min(shape.sliding_layers);
    assert_eq!(v11.kv_groups, full.div_ceil(group) + shape.sliding_layers.div_ceil(group));
    let v8 = at(gemma, "H100", "0.8.5", len(32_768));
    assert_eq!((v8.kv_groups, v8.kv_padding_layers), (1, 0));
    assert!(v8.max_context < v11.max_context, "{} vs {}", v8.max_context, v11.max_context);
}

/// `_get_and_verify_max_len` (v0.11.0 config/model.py:1891-1911) and the
/// free-memory check (v0.11.0 gpu_worker.py:186-197).
#[test]
fn refusals_in_vllms_words() {
    let long = at("Llama-3.1-8B", "H200", "0.11.0", len(262_144));
    assert!(long.problems.iter().any(|p| p.starts_with("User-specified max_model_len (262144) is greater than the derived max_model_len (max_position_embeddings=131072")), "{:?}", long.problems);
    let env = VllmEnv { allow_long_max_model_len: true, ..VllmEnv::default() };
    let allowed = at("Llama-3.1-8B", "H200", "0.11.0", EngineArgs { vllm_env: env, ..len(262_144) });
    assert!(!allowed.problems.iter().any(|p| p.starts_with("User-specified")));
    let shared = at("Llama-3.1-8B", "H100", "0.11.0", EngineArgs { gpu_memory_in_use_gib: 20.0, ..len(8192) });
    assert!(shared.problems.iter().any(|p| p.starts_with("Free memory on device (")), "{:?}", shared.problems);
    let v8 = at("Llama-3.1-8B", "H100", "0.8.5", EngineArgs { gpu_memory_in_use_gib: 20.0, ..len(8192) });
    assert!(!v8.problems.iter().any(|p| p.starts_with("Free memory")), "no such check before 0.9.2");
}

/// The sampler warm-up runs last (v0.22.0 gpu_worker.py
/// `compile_or_warm_up_model`), beside what other processes hold: a
/// warm-up that fits an empty GPU runs out of memory beside a co-tenant
/// whose memory vLLM's startup check let through.
#[test]
fn sampler_warm_up_runs_beside_other_processes() {
    let args = warm_up_heavy(0.9);
    let alone = at("Llama-3.1-8B", "H100", "0.22.0", args.clone());
    assert!(alone.fits, "{:?}", alone.problems);
    // The warm-up's extra: the Triton path's 3½ float32 copies of 4,096 ×
    // 128,256 logits less the profile's plain 2½, 1.96 GiB; the GPU keeps
    // 10 % (7.9 GiB) beside the budget. A co-tenant of 7 GiB passes the
    // free-memory check (72.2 GiB free ≥ 0.9 × 79.2) and leaves the
    // warm-up 0.9 GiB.
    let shared = at("Llama-3.1-8B", "H100", "0.22.0", EngineArgs { gpu_memory_in_use_gib: 7.0, ..args });
    assert!(!shared.problems.iter().any(|p| p.starts_with("Free memory on device")), "{:?}", shared.problems);
    assert!(
        shared
            .problems
            .iter()
            .any(|p| p.starts_with("CUDA out of memory occurred when warming up sampler with 4096 dummy requests.")
                && p.contains("beside the 7.00 GiB other processes hold on this GPU")),
        "{:?}",
        shared.problems
    );
}

/// The Triton band's profile scratch has one vocabulary row per program, up
/// to one per SM (v0.17.1 topk_topp_triton.py:993-1001): a GPU known by its
/// memory alone is sized at an H100's 132 SMs, and the answer says so.
#[test]
fn an_unknown_sm_count_is_assumed_with_a_note() {
    let args = EngineArgs { vllm_version: VllmVersion::parse("0.17.1"), ..len(8192) };
    let model = find_model("Llama-3.1-8B").unwrap();
    let bare = memory::evaluate(&model, &GpuInfo::with_memory("card", 23.54), &args);
    assert!(
        bare.notes.iter().any(|n| n.starts_with(
            "the GPU's compute units are unknown (card): the sampler's Triton scratch is sized for 132 SMs"
        )),
        "{:?}",
        bare.notes
    );
    let named = memory::evaluate(&model, &gpu("RTX-3090"), &args);
    assert!(named.notes.is_empty(), "{:?}", named.notes);
    // Outside the traced band the SM count is not used, and not noted.
    let v22 = memory::evaluate(
        &model,
        &GpuInfo::with_memory("card", 23.54),
        &EngineArgs { vllm_version: VllmVersion::parse("0.22.0"), ..len(8192) },
    );
    assert!(v22.notes.is_empty(), "{:?}", v22.notes);
}

/// A T4 (compute capability 7.5) under 0.8.5 runs V0 unless VLLM_USE_V1
/// is set (engine/arg_utils.py v0.8.5:1350-1356), and refuses with it set
/// (:1649-1652); at 0.10.2 V1 runs there.
#[test]
fn below_ampere_0_8_to_0_10_1_fall_back_to_v0() {
    let t4 = at("Qwen2.5-7B", "T4", "0.8.5", EngineArgs { dtype: "float16".into(), ..len(4096) });
    assert_eq!(t4.engine, Generation::V0);
    assert_eq!(t4.notes, ["Compute Capability < 8.0 is not supported by the V1 Engine. Falling back to V0."]);
    let env = VllmEnv { use_v1: Some(true), ..VllmEnv::default() };
    let forced = at("Qwen2.5-7B", "T4", "0.8.5", EngineArgs { dtype: "float16".into(), vllm_env: env, ..len(4096) });
    assert_eq!(forced.engine, Generation::V1);
    assert!(!forced.fits);
    assert_eq!(
        forced.problems.first().map(String::as_str),
        Some("VLLM_USE_V1=1 is not supported with Compute Capability < 8.0.")
    );
    let later = at("Qwen2.5-7B", "T4", "0.10.2", EngineArgs { dtype: "float16".into(), ..len(4096) });
    assert_eq!(later.engine, Generation::V1);
    let l4 = at("Qwen2.5-7B", "L4", "0.8.5", len(4096));
    assert_eq!(l4.engine, Generation::V1);
}

/// vLLM 0.8.5's V1 oracle falls back to V0 for an fp8 KV cache unless
/// FlashAttention 3 runs it (compute capability 9.x: engine/arg_utils.py
/// v0.8.5:1359-1373, attention/utils/fa_utils.py:51-54); the answer says
/// why in vLLM's words, and `VLLM_USE_V1=1` is refused there (:1649-1652).
#[test]
fn fp8_kv_cache_off_hopper_falls_back_to_v0_at_0_8_5() {
    let fp8 = || EngineArgs { kv_cache_dtype: "fp8".into(), ..len(8192) };
    let l40s = at("Llama-3.1-8B", "L40S", "0.8.5", fp8());
    assert_eq!(l40s.engine, Generation::V0);
    let note = "--kv-cache-dtype is not supported by the V1 Engine. Falling back to V0.";
    assert!(l40s.notes.iter().any(|n| n == note), "{:?}", l40s.notes);
    assert!(l40s.fits, "{:?}", l40s.problems);
    let h100 = at("Llama-3.1-8B", "H100-80GB", "0.8.5", fp8());
    assert_eq!(h100.engine, Generation::V1);
    assert!(h100.notes.is_empty(), "{:?}", h100.notes);
    // 0.8.0 had no fp8 KV cache on V1 at all (v0.8.0:1480-1483).
    assert_eq!(at("Llama-3.1-8B", "H100-80GB", "0.8.0", fp8()).engine, Generation::V0);
    // 0.10.x asks the platform: 10.0 takes it (platforms/cuda.py v0.10.1.1:503-504).
    assert_eq!(at("Llama-3.1-8B", "B200", "0.10.1.1", fp8()).engine, Generation::V1);
    assert_eq!(at("Llama-3.1-8B", "B200", "0.8.5", fp8()).engine, Generation::V0);
    let env = VllmEnv { use_v1: Some(true), ..VllmEnv::default() };
    let forced = at("Llama-3.1-8B", "L40S", "0.8.5", EngineArgs { vllm_env: env, ..fp8() });
    assert_eq!(forced.engine, Generation::V1);
    assert_eq!(
        forced.problems.first().map(String::as_str),
        Some("VLLM_USE_V1=1 is not supported with --kv-cache-dtype.")
    );
    assert!(!forced.notes.iter().any(|n| n == note));
    // `VLLM_USE_V1=0` is V0 by choice: no fallback note.
    let v0 = VllmEnv { use_v1: Some(false), ..VllmEnv::default() };
    let chosen = at("Llama-3.1-8B", "L40S", "0.8.5", EngineArgs { vllm_env: v0, ..fp8() });
    assert_eq!(chosen.engine, Generation::V0);
    assert!(chosen.notes.is_empty(), "{:?}", chosen.notes);
}

/// The oracle's other checks on what gpuops reads, at the releases that
/// have them (engine/arg_utils.py): `--cpu-offload-gb` to 0.8.2 (:1584),
/// `--kv-transfer-config` to 0.8.4 (:1513), pipeline parallelism without
/// `--distributed-executor-backend` 0.8.3–0.9.0 (v0.8.5:1478-1482), a
/// non-CUDA platform (ROCm) to 0.9.1 (v0.8.5:1493-1496, v0.9.1:1446-1449).
#[test]
fn the_v1_oracle_falls_back_for_what_gpuops_reads() {
    let offload = at("Llama-3.1-8B", "H100-80GB", "0.8.2", EngineArgs { cpu_offload_gb: 4.0, ..len(8192) });
    assert_eq!(offload.engine, Generation::V0);
    assert!(
        offload.notes.iter().any(|n| n == "--cpu-offload-gb is not supported by the V1 Engine. Falling back to V0.")
    );
    let offload = at("Llama-3.1-8B", "H100-80GB", "0.8.3", EngineArgs { cpu_offload_gb: 4.0, ..len(8192) });
    assert_eq!(offload.engine, Generation::V1);

    let connector = || EngineArgs { kv_connector: Some("PyNcclConnector".into()), ..len(8192) };
    assert_eq!(at("Llama-3.1-8B", "H100-80GB", "0.8.4", connector()).engine, Generation::V0);
    assert_eq!(at("Llama-3.1-8B", "H100-80GB", "0.8.5", connector()).engine, Generation::V1);

    let pp = || EngineArgs { pipeline_parallel: 2, ..len(8192) };
    let stages = at("Llama-3.1-8B", "H100-80GB", "0.8.5", pp());
    assert_eq!(stages.engine, Generation::V0);
    assert!(stages.notes.iter().any(|n| n.starts_with("Pipeline Parallelism without Ray distributed executor is not")));
    assert_eq!(at("Llama-3.1-8B", "H100-80GB", "0.9.1", pp()).engine, Generation::V1);

    let mi300 = at("Llama-3.1-8B", "MI300X", "0.8.5", len(8192));
    assert_eq!(mi300.engine, Generation::V0);
    assert!(mi300.notes.iter().any(|n| n == "rocm is experimental on VLLM_USE_V1=1. Falling back to V0 Engine."));
    // Experimental only: VLLM_USE_V1=1 runs V1 there, unrefused.
    let env = VllmEnv { use_v1: Some(true), ..VllmEnv::default() };
    let forced = at("Llama-3.1-8B", "MI300X", "0.8.5", EngineArgs { vllm_env: env, ..len(8192) });
    assert_eq!((forced.engine, forced.fits), (Generation::V1, true), "{:?}", forced.problems);
    assert_eq!(at("Llama-3.1-8B", "MI300X", "0.9.2", len(8192)).engine, Generation::V1);

    // `memory::release` without the GPU judges only what does not need it.
    let (_, generation) = memory::release(&EngineArgs { vllm_version: VllmVersion::parse("0.8.5"), ..pp() }, None);
    assert_eq!(generation, Generation::V0);
    let fp8 = EngineArgs { kv_cache_dtype: "fp8".into(), vllm_version: VllmVersion::parse("0.8.5"), ..len(8192) };
    assert_eq!(memory::release(&fp8, None).1, Generation::V1);
    assert_eq!(memory::release(&fp8, Some(&gpu("L40S"))).1, Generation::V0);
}

/// `MemoryFit::refusal` names the first refusal vLLM meets, typed: callers
/// decide on it, not on the words of `problems`.
#[test]
fn the_first_refusal_is_typed() {
    use gpuops_model::memory::Refusal;
    let kind = |model: &str, gpu: &str, version: &str, args: EngineArgs| at(model, gpu, version, args).refusal;
    assert_eq!(kind("Llama-3.1-8B", "H100", "0.11.0", len(8192)), None);
    let tp3 = EngineArgs { tensor_parallel: 3, ..len(8192) };
    assert_eq!(kind("Llama-3.1-8B", "H100", "0.11.0", tp3), Some(Refusal::Startup), "32 heads over TP 3");
    let shared = EngineArgs { gpu_memory_in_use_gib: 20.0, ..len(8192) };
    assert_eq!(kind("Llama-3.1-8B", "H100", "0.11.0", shared), Some(Refusal::FreeMemory));
    let beside = EngineArgs { gpu_memory_in_use_gib: 70.0, ..len(8192) };
    assert_eq!(kind("Llama-3.1-8B", "H100", "0.8.5", beside), Some(Refusal::OutOfMemoryBesideOthers));
    assert_eq!(kind("Llama-3.1-70B", "L4", "0.11.0", len(8192)), Some(Refusal::NoCacheBlocks));
    assert_eq!(kind("Llama-3.1-8B", "L4", "0.11.0", len(131_072)), Some(Refusal::MaxModelLen));
    assert_eq!(kind("Llama-3.1-8B", "H100", "0.22.0", warm_up_heavy(0.99)), Some(Refusal::OutOfMemoryAfterCache));
}

/// The oracle reads the compute capability of a named product even when
/// its memory is given by hand (`--gpu T4 --gpu-memory …`): a T4 at 0.8.5
/// runs V0 (engine/arg_utils.py v0.8.5:1351-1356). A GPU known by its
/// memory alone has only an assumed capability: V1 is kept and the answer
/// says the check could not be made.
#[test]
fn the_oracle_reads_a_named_gpus_capability_and_says_when_it_has_none() {
    let args = || EngineArgs { vllm_version: VllmVersion::parse("0.8.5"), dtype: "float16".into(), ..len(4096) };
    let model = find_model("Qwen2.5-7B").unwrap();
    let t4 = GpuInfo { total_gib: 15.0, memory_source: gpuops_model::catalog::MemorySource::Flag, ..gpu("T4") };
    let named = memory::evaluate(&model, &t4, &args());
    assert_eq!(named.engine, Generation::V0, "{:?}", named.notes);
    assert!(named.notes.iter().any(|n| n.starts_with("Compute Capability < 8.0 is not supported by the V1 Engine")));
    let bare = memory::evaluate(&model, &GpuInfo::with_memory("card", 15.0), &args());
    assert_eq!(bare.engine, Generation::V1);
    assert!(
        bare.notes.iter().any(|n| n.starts_with("the compute capability of card is not known: vLLM 0.8.5 falls back")),
        "{:?}",
        bare.notes
    );
    let named_ok = memory::evaluate(&model, &gpu("L4"), &args());
    assert!(!named_ok.notes.iter().any(|n| n.contains("compute capability")), "{:?}", named_ok.notes);
}
