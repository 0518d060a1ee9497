//! The memory model's worked fits and flags (unit tests of [`super`]).
use super::*;
use crate::catalog::{find_model, gpu_product};

fn gpu(name: &str) -> GpuInfo {
    gpu_product(name).unwrap().into()
}

fn fit_with(model: &str, gpu_name: &str, args: EngineArgs) -> MemoryFit {
    evaluate(&find_model(model).unwrap(), &gpu(gpu_name), &args)
}

fn fit(model: &str, gpu_name: &str, tp: u64, len: Option<u64>) -> MemoryFit {
    fit_with(model, gpu_name, EngineArgs { tensor_parallel: tp, max_model_len: len, ..EngineArgs::default() })
}

/// One reading of the flag for a manifest and for `gpufit model`: a
/// plain number is bytes (it was GiB in `model`), units convert.
#[test]
fn kv_cache_memory_is_bytes_everywhere() {
    assert_eq!(parse_kv_cache_bytes("8589934592"), Some(8 << 30));
    assert_eq!(parse_kv_cache_bytes("8Gi"), Some(8 << 30));
    assert_eq!(parse_kv_cache_bytes("8GiB"), Some(8 << 30));
    assert_eq!(parse_kv_cache_bytes("8G"), Some(8_000_000_000));
    assert_eq!(parse_kv_cache_bytes("8GB"), Some(8_000_000_000));
    assert_eq!(parse_kv_cache_bytes("512MiB"), Some(512 << 20));
    assert_eq!(parse_kv_cache_bytes("lots"), None);
    assert_eq!(parse_kv_cache_bytes("0"), None);
}

#[test]
fn worked_fits_on_the_newest_engine() {
    // Llama-3.1-8B on L4: 22.05 GiB × 0.92, less 14.96 of weights and
    // ~1.5 of activations, buffers and CUDA graphs → ≈ 31k tokens; the
    // model's own 131,072 does not fit, 16,384 does.
    let f = fit("Llama-3.1-8B", "L4", 1, None);
    assert_eq!((f.gpu_memory_gib, f.gpu_memory_utilization, f.engine), (22.05, 0.92, Generation::V1Graphs));
    assert!((28_000..34_000).contains(&f.max_context), "{}", f.max_context);
    assert!(!f.fits && f.problems[0].contains("estimated maximum model length is"), "{:?}", f.problems);
    assert!(fit("Llama-3.1-8B", "L4", 1, Some(16_384)).fits);
    // H100: ≈ 430k tokens; the 131k context fits three times over.
    let h100 = fit("Llama-3.1-8B", "H100-80GB", 1, None);
    assert!(h100.fits && (400_000..460_000).contains(&h100.kv_pool_tokens), "{}", h100.kv_pool_tokens);
    // Qwen2.5-32B at TP2 on L40S fits 32768; on A100-40GB it does not.
    assert!(fit("Qwen2.5-32B", "L40S", 2, None).fits);
    assert!(!fit("Qwen2.5-32B", "A100-40GB", 2, None).fits);
    // Gemma 3 27B (a vision model sized with the 1 GiB encoder allowance)
    // at its 131072: 1×L40S no, 2×L40S yes; Qwen2.5-VL is not sized at any
    // TP (its 16,384-token images, `encoder_decoder::unsized_reason`).
    assert!(!fit("gemma-3-27b-it", "L40S", 1, None).fits);
    assert!(fit("gemma-3-27b-it", "L40S", 2, None).fits);
    let vl = fit("Qwen2.5-VL-32B", "H100", 2, None);
    assert!(!vl.fits && vl.not_sized.is_some());
    // Llama-3.3-70B needs more than 2×H100 at full context.
    assert!(!fit("Llama-3.3-70B-Instruct", "H100", 2, None).fits);
    assert!(fit("Llama-3.3-70B-Instruct", "H100", 4, None).fits);
    // AMD: the whole 405B in FP8 on one MI300X node, once vLLM is let run
    // its fbgemm_fp8 checkpoint (deprecated from 0.14:
    // `quant_checkpoint::deprecated_refusal`).
    let fp8_405b = "meta-llama/Llama-3.1-405B-Instruct-FP8";
    let refused = fit(fp8_405b, "MI300X", 8, Some(32_768));
    assert!(!refused.fits && refused.problems[0].contains("--allow-deprecated-quantization"), "{:?}", refused.problems);
    let allowed = EngineArgs {
        tensor_parallel: 8,
        max_model_len: Some(32_768),
        allow_deprecated_quantization: true,
        ..EngineArgs::default()
    };
    assert!(fit_with(fp8_405b, "MI300X", allowed).fits);
}

#[test]
fn vllm_refusals() {
    let f = fit("Qwen2.5-0.5B", "L4", 4, None);
    assert!(!f.tp_valid && !f.fits);
    assert!(f.problems[0].contains("(14) must be divisible by tensor parallel size (4)"));
    // A T4 has no bfloat16: `--dtype auto` falls back to float16 from 0.9.0
    // with vLLM's warning, is refused before it, and `--dtype bfloat16` is
    // refused in every release (dtype.rs `on_gpu_without_bf16`).
    let t4 = fit_with("Qwen2.5-3B", "T4", EngineArgs { max_model_len: Some(8192), ..EngineArgs::default() });
    assert!(t4.dtype_supported && t4.fits, "{:?}", t4.problems);
    assert!(
        t4.notes
            .iter()
            .any(|n| n.ends_with("doesn't support torch.bfloat16. Falling back to torch.float16 for compatibility."))
    );
    let old = fit_with(
        "Qwen2.5-3B",
        "T4",
        EngineArgs { vllm_version: VllmVersion::parse("0.8.5"), max_model_len: Some(8192), ..EngineArgs::default() },
    );
    // Before 0.9.0 the checkpoint's dtype decides, and the catalog keeps
    // none: unchecked, saying what to supply, never a guessed verdict.
    assert!(!old.fits && old.refusal == Some(Refusal::NotSized), "{:?}", old.problems);
    assert!(old.not_sized.as_deref().is_some_and(|w| w.starts_with("the checkpoint's torch_dtype is not known here")));
    let mut bf16 = find_model("Qwen2.5-3B").unwrap();
    bf16.torch_dtype = Some("bfloat16".into());
    let v085 =
        EngineArgs { vllm_version: VllmVersion::parse("0.8.5"), max_model_len: Some(8192), ..EngineArgs::default() };
    let read = evaluate(&bf16, &gpu("T4"), &v085);
    assert!(!read.dtype_supported && !read.fits && read.not_sized.is_none());
    assert!(read.problems[0].starts_with("Bfloat16 is only supported on GPUs with compute capability of at least 8.0. Your Tesla-T4 GPU has compute capability 7.5."), "{:?}", read.problems);
    bf16.torch_dtype = Some("float16".into());
    assert!(evaluate(&bf16, &gpu("T4"), &v085).fits);
    // Gemma 2 is kept off float16 from vLLM 0.9.1 (config.py
    // v0.9.1:3121): `auto` on a T4 runs it in float32, which gpuops does not
    // size as such (unchecked, saying --dtype float32), and `--dtype half`
    // is refused in vLLM's words on any GPU.
    let gemma = |dtype: &str, gpu_name: &str| {
        let args = EngineArgs {
            dtype: dtype.into(),
            vllm_version: VllmVersion::parse("0.19.0"),
            max_model_len: Some(4096),
            ..EngineArgs::default()
        };
        evaluate(&find_model("google/gemma-2-2b-it").unwrap(), &gpu(gpu_name), &args)
    };
    let auto = gemma("auto", "T4");
    assert!(!auto.fits && auto.not_sized.as_deref().is_some_and(|w| w.contains("runs a gemma2 model in float32")));
    assert!(gemma("float32", "T4").not_sized.is_none());
    let half = gemma("half", "L4");
    assert!(half.problems[0].starts_with("The model type 'gemma2' does not support float16."), "{:?}", half.problems);
    let asked = fit_with(
        "Qwen2.5-3B",
        "T4",
        EngineArgs { dtype: "bfloat16".into(), max_model_len: Some(8192), ..EngineArgs::default() },
    );
    assert!(!asked.dtype_supported && !asked.fits);
    let m = find_model("Qwen2.5-32B-Instruct").unwrap();
    assert_eq!(smallest_fitting_tp(&m, &gpu("L40S"), &EngineArgs::default(), 8), Some(2));
    let vl = find_model("Qwen2.5-VL-32B").unwrap();
    assert_eq!(smallest_fitting_tp(&vl, &gpu("H100"), &EngineArgs::default(), 8), None, "never sized");
    let bad =
        fit_with("Llama-3.1-8B", "H100", EngineArgs { gpu_memory_utilization: Some(1.2), ..EngineArgs::default() });
    assert!(bad.problems[0].contains("must be within (0, 1]"), "{:?}", bad.problems);
    // V0 words it differently.
    let v0 = fit_with("Llama-3.1-8B", "L4", EngineArgs { engine: Some(Generation::V0), ..EngineArgs::default() });
    assert!(v0.problems[0].starts_with("The model's max seq len (131072) is larger than"), "{:?}", v0.problems);
    assert_eq!(v0.gpu_memory_utilization, 0.9);
}

#[test]
fn mxfp4_experts_are_padded_as_the_hopper_layout_pads_them() {
    // gpt-oss-120b's w13 (128, 1440 B, 5760) is laid out as (128, 1472,
    // 5888) (NVIDIA/TensorRT-LLM#16125); w2 (2880 × 1440 B) as 3072 × 1472.
    let oss = find_model("openai/gpt-oss-120b").unwrap();
    let expected = (5888.0 * 1472.0 + 3072.0 * 1472.0) / (5760.0 * 1440.0 + 2880.0 * 1440.0);
    assert!((mxfp4_value_padding(&oss, &gpu("H100"), 1) - expected).abs() < 1e-12);
    assert!((mxfp4_value_padding(&oss, &gpu("A100-80GB"), 1) - expected).abs() < 1e-12, "Ampere shares it");
    assert_eq!(mxfp4_value_padding(&oss, &gpu("B200"), 1), 1.0);
    assert_eq!(mxfp4_value_padding(&oss, &gpu("MI300X"), 1), 1.0);
    // A rank's width (2880 / 4 = 720) is rounded to 768 before the layout.
    let tp4 = (1536.0 * 1472.0 + 3072.0 * 384.0) / (1440.0 * 1440.0 + 2880.0 * 360.0);
    assert!((mxfp4_value_padding(&oss, &gpu("H100"), 4) - tp4).abs() < 1e-12);
}

#[test]
fn architectures_change_what_a_token_costs() {
    // KV heads replicate when TP exceeds them: Qwen2.5-7B has 4.
    let tp8 = fit("Qwen2.5-7B", "H100", 4, None);
    let tp8b = fit_with("Qwen2.5-7B", "H100", EngineArgs { tensor_parallel: 7, ..EngineArgs::default() });
    assert_eq!(tp8.kv_bytes_per_token, 28 * 2 * 128 * 2);
    assert_eq!(tp8b.kv_bytes_per_token, tp8.kv_bytes_per_token, "one head per GPU, never less");
    // MLA: one 576-wide latent per layer, whatever the TP.
    let v3 = fit_with("deepseek-ai/DeepSeek-V3", "H200", EngineArgs { tensor_parallel: 8, ..EngineArgs::default() });
    assert_eq!(v3.kv_bytes_per_token, 61 * 576 * 2);
    assert!((v3.weights_per_gpu_gib - 79.0).abs() < 3.0, "{}", v3.weights_per_gpu_gib);
    // Gemma 3 slides on 5 of 6 layers: one request can be far longer
    // than the pool divided evenly over all layers.
    let gemma = fit("google/gemma-3-27b-it", "H100", 1, None);
    assert!(gemma.max_context > 3 * gemma.kv_pool_tokens, "{} vs {}", gemma.max_context, gemma.kv_pool_tokens);
    // fp8 KV halves a token.
    let fp8 = fit_with("Llama-3.1-8B", "L4", EngineArgs { kv_cache_dtype: "fp8".into(), ..EngineArgs::default() });
    assert_eq!(fp8.kv_bytes_per_token * 2, fit("Llama-3.1-8B", "L4", 1, None).kv_bytes_per_token);
    // Pipeline parallel splits the layers: Llama-70B TP4×PP2 holds a
    // quarter of a half, plus one vocabulary matrix.
    let pp = fit_with(
        "Llama-3.3-70B-Instruct",
        "H100",
        EngineArgs { tensor_parallel: 4, pipeline_parallel: 2, ..EngineArgs::default() },
    );
    assert_eq!(pp.kv_bytes_per_token, 40 * 2 * 2 * 128 * 2);
    assert!((pp.weights_per_gpu_gib - 16.5).abs() < 0.5, "{}", pp.weights_per_gpu_gib);
    // MXFP4 quantizes gpt-oss's experts only: ≈ 12.8 GiB as stored, not
    // 10; on an H100 the Hopper layout pads the experts to ≈ 13.3.
    let oss = fit("openai/gpt-oss-20b", "H100", 1, None);
    assert!((13.2..13.5).contains(&oss.weights_per_gpu_gib), "{}", oss.weights_per_gpu_gib);
    let blackwell = fit("openai/gpt-oss-20b", "B200", 1, None);
    assert!((12.7..12.9).contains(&blackwell.weights_per_gpu_gib), "{}", blackwell.weights_per_gpu_gib);
}

#[test]
fn flags_that_move_the_budget() {
    let base = fit("Llama-3.1-8B", "L4", 1, Some(16_384));
    let eager = fit_with(
        "Llama-3.1-8B",
        "L4",
        EngineArgs { enforce_eager: true, max_model_len: Some(16_384), ..EngineArgs::default() },
    );
    assert!((eager.kv_budget_gib - base.kv_budget_gib - base.cuda_graph_gib).abs() < 1e-9, "graphs leave the budget");
    let offload = fit_with(
        "Llama-3.1-8B",
        "L4",
        EngineArgs { cpu_offload_gb: 4.0, max_model_len: Some(16_384), ..EngineArgs::default() },
    );
    assert!((base.weights_per_gpu_gib - offload.weights_per_gpu_gib - 4.0).abs() < 1e-9);
    let fixed = fit_with(
        "Llama-3.1-8B",
        "L4",
        EngineArgs { kv_cache_memory_bytes: Some(2 << 30), max_model_len: Some(8192), ..EngineArgs::default() },
    );
    assert_eq!(fixed.kv_budget_gib, 2.0);
    assert!(fixed.fits);
    let too_big = fit_with(
        "Llama-3.1-8B",
        "L4",
        EngineArgs { kv_cache_memory_bytes: Some(8 << 30), max_model_len: Some(8192), ..EngineArgs::default() },
    );
    assert!(too_big.problems.iter().any(|p| p.starts_with("CUDA out of memory")), "{:?}", too_big.problems);
    // More sequences, more sampler memory.
    let seqs = fit_with("Llama-3.1-8B", "L4", EngineArgs { max_num_seqs: Some(1024), ..EngineArgs::default() });
    assert!(seqs.activation_gib > base.activation_gib);
}

#[test]
fn lengths_and_sizes_parse_like_users_write_them() {
    assert_eq!(parse_max_model_len("32768"), Some(32768));
    assert_eq!(parse_max_model_len("32k"), Some(32000));
    assert_eq!(parse_max_model_len("128K"), Some(131072));
    assert_eq!(parse_max_model_len("25.6k"), Some(25600));
    assert_eq!(parse_max_model_len("x"), None);
    assert_eq!(parse_memory_gib("24GiB"), Some(24.0));
    assert_eq!(parse_memory_gib("24Gi"), Some(24.0));
    assert_eq!(parse_memory_gib("81559MiB"), Some(81559.0 / 1024.0));
    assert!((parse_memory_gib("80GB").unwrap() - 74.51).abs() < 0.01);
    assert_eq!(parse_memory_gib("15.5"), Some(15.5));
    assert_eq!(parse_memory_gib("lots"), None);
    assert_eq!(parse_memory_gib("-3GiB"), None);
}

/// An encoder-decoder multimodal model is never "fits": vLLM's profile
/// encodes one largest image per dummy sequence (enc_dec_model_runner.py
/// v0.7.0:281-295), a peak gpuops cannot derive (see `encoder_decoder`).
/// The fit says so as its problem and in `not_sized`, on every version.
#[test]
fn mllama_is_reported_unsized_not_fitting() {
    for version in ["0.6.6", "0.7.0", "0.10.1", "0.11.0"] {
        let args = EngineArgs {
            vllm_version: VllmVersion::parse(version),
            max_model_len: Some(8192),
            max_num_seqs: Some(8),
            ..EngineArgs::default()
        };
        let f = fit_with("meta-llama/Llama-3.2-11B-Vision-Instruct", "H100-80GB", args);
        let reason = f.not_sized.as_deref().unwrap_or_else(|| panic!("{version}: sized"));
        assert!(!f.fits && f.problems.first().map(String::as_str) == Some(reason), "{version}: {:?}", f.problems);
    }
    let text = fit("Llama-3.1-8B-Instruct", "H100-80GB", 1, Some(8192));
    assert!(text.fits && text.not_sized.is_none());
}

/// fused_moe.py v0.7.3:1158-1183 (`intermediate_cache3`, `(M, topk,
/// hidden)` for `M = min(tokens, 32768)`): DeepSeek-R1 (top-8, hidden 7168)
/// at 32,000 profiled tokens holds 32000 × 8 × 7168 × 2 B on top of the
/// fitted width term, whatever the TP. V0 only.
#[test]
fn v0_profile_holds_the_fused_moe_caches() {
    let r1 = find_model("deepseek-ai/DeepSeek-R1").unwrap();
    let expected = 32_000.0 * 8.0 * 7168.0 * 2.0 / GIB;
    assert!((overhead::fused_moe_cache_gib(&r1, 32_000) - expected).abs() < 1e-9);
    assert!((overhead::fused_moe_cache_gib(&r1, 100_000) - expected * 32_768.0 / 32_000.0).abs() < 1e-9);
    let dense = find_model("Llama-3.1-8B").unwrap();
    assert_eq!(overhead::fused_moe_cache_gib(&dense, 32_000), 0.0);
    let v1 = overhead::activation_gib(Generation::V1, &r1, 8, 32_000, 1024, 0.0);
    let v0 = overhead::activation_gib(Generation::V0, &r1, 8, 32_000, 1024, 0.0);
    assert!(v0 - v1 > expected, "V0 {v0:.2} vs V1 {v1:.2}");
}

/// The Triton top-k/top-p kernel's scratch: `NUM_PROGRAMS = min(num_sm,
/// batch_size)` rows rounded up to a power of two, at most `num_sm`
/// (v0.17.1 v1/sample/ops/topk_topp_triton.py:993-1001).
#[test]
fn triton_scratch_has_one_row_per_program() {
    assert_eq!(overhead::triton_buffer_rows(82, 256), 82, "RTX 3090, 256 dummy requests");
    assert_eq!(overhead::triton_buffer_rows(132, 1024), 132, "H100, 1,024 dummy requests");
    assert_eq!(overhead::triton_buffer_rows(132, 100), 128);
    assert_eq!(overhead::triton_buffer_rows(132, 8), 8);
    assert_eq!(overhead::triton_buffer_rows(170, 129), 170);
    assert_eq!(overhead::compute_units(&gpu("RTX-3090")), 82);
    assert_eq!(overhead::compute_units(&gpu("L40S")), 142);
    assert_eq!(overhead::compute_units(&gpu("A10")), 72, "not the A10G's 80");
    assert_eq!(overhead::compute_units(&GpuInfo::with_memory("card", 24.0)), 132);
}

/// The 0.17.1 profile peak traced from source (v1/worker/gpu_model_runner.py
/// :5081,5097-5099,5308-5319; v1/sample/sampler.py:90;
/// v1/sample/ops/topk_topp_sampler.py:106,112,251-252,334): Llama-3.1-8B on
/// an RTX 3090 at the 0.17 defaults (2,048 tokens, 256 requests,
/// engine/arg_utils.py:1986-1992) holds the forward's 2,048 hidden states
/// and the 2 × 256 of its gather, 3½ float32 copies of the 256 × 128,256
/// logits (0.122 GiB each) and 82 scratch rows: 0.487 GiB, no fixed part.
/// TheBuccaneer's log of that start leaves 0.9 × 23.54 − 5.68 (KV) − 14.99
/// (weights) = 0.516 GiB for the torch peak and non-torch memory together,
/// which the fitted 0.15 GiB fixed part plus 0.15 non-torch overran.
#[test]
fn triton_band_profile_peak_is_traced_not_fitted() {
    let llama = find_model("Llama-3.1-8B").unwrap();
    let rtx3090 = gpu("RTX-3090");
    let peak = overhead::triton_profile_peak_gib(&llama, &rtx3090, 1, 2048, 256);
    assert!((peak - 0.487).abs() < 0.002, "{peak}");
    assert!(peak < 0.9 * 23.54 - 5.68 - 14.99, "{peak}");
    // The run that samples through Triton takes the trace; a 0.16 run
    // (PyTorch sort) keeps the fitted sum with its 9.4 copies.
    let run = |backend, copies| overhead::ProfileRun {
        generation: Generation::V1,
        sampler_backend: backend,
        tokens: 2048,
        seqs: 256,
        sampler_copies: copies,
    };
    let triton = run(SamplerBackend::Triton, overhead::sampler_copies(Generation::V1, SamplerBackend::Triton, true));
    assert_eq!(overhead::profile_activation_gib(&triton, &llama, &rtx3090, 1), peak);
    let sort = run(SamplerBackend::Native, overhead::sampler_copies(Generation::V1, SamplerBackend::Native, true));
    let fitted = overhead::activation_gib(Generation::V1, &llama, 1, 2048, 256, 9.4);
    assert_eq!(overhead::profile_activation_gib(&sort, &llama, &rtx3090, 1), fitted);
    // 8,192 tokens (the `LLM` class default) of Qwen2.5-7B: the MLP's
    // 3 × 3,584 + 3 × 18,944 values a token, 1.03 GiB, outweigh the 0.61
    // GiB sampler phase at 256 requests on a V100 (80 SMs).
    let qwen = find_model("Qwen2.5-7B-Instruct").unwrap();
    let eager = overhead::triton_profile_peak_gib(&qwen, &gpu("V100-32GB"), 1, 8192, 256);
    assert!((eager - 8192.0 * 67_584.0 * 2.0 / (1u64 << 30) as f64).abs() < 1e-9, "{eager}");
    assert!((overhead::triton_profile_peak_gib(&qwen, &gpu("V100-32GB"), 1, 2048, 256) - 0.569).abs() < 0.002);
}

/// A MIG instance's Triton scratch has one row per SM of its slice, not of
/// the whole GPU: an A100 1g.5gb reports 14 SMs to CUDA (`nvidia-smi mig
/// -lgip`), so 256 dummy requests get 14 rows, not 108 (or the 132 every
/// MIG slice was taken as before the catalog counted them).
#[test]
fn a_mig_slice_sizes_the_triton_scratch_by_its_own_sms() {
    let slice = crate::catalog::mig_slice(&gpu("A100-40GB"), "1g.5gb").unwrap();
    assert_eq!(overhead::compute_units(&slice), 14);
    assert_eq!(overhead::triton_buffer_rows(overhead::compute_units(&slice), 256), 14);
    let h100 = crate::catalog::mig_slice(&gpu("H100-80GB"), "nvidia.com/mig-1g.10gb").unwrap();
    assert_eq!(overhead::compute_units(&h100), 16);
    // A profile without a published SM count keeps the documented fallback.
    let h200 = crate::catalog::mig_slice(&gpu("H200"), "1g.35gb").unwrap();
    assert_eq!(overhead::compute_units(&h200), overhead::ASSUMED_COMPUTE_UNITS);
}

/// V1's non-torch memory by band (overhead.rs `non_torch_gib`): 0.13 GiB
/// before 0.18, 0.25 from 0.18 where the worker profiles CUDA graph memory
/// inside the measured window (v0.18.1 v1/worker/gpu_worker.py:383-399),
/// 0.13 there with `--enforce-eager` (no graph profile).
#[test]
fn v1_non_torch_memory_by_band() {
    let at = |version: &str, eager: bool| {
        let args = EngineArgs {
            vllm_version: VllmVersion::parse(version),
            enforce_eager: eager,
            max_model_len: Some(8192),
            ..EngineArgs::default()
        };
        fit_with("Llama-3.1-8B", "H100", args).non_torch_gib
    };
    assert_eq!(at("0.17.1", false), 0.13);
    assert_eq!(at("0.18.0", false), 0.25);
    assert_eq!(at("0.19.0", true), 0.13);
}

/// V0's communication figure rests on a TP 2 H100 and a TP 8 A100 log;
/// beyond that (NVSwitch Hopper, xGMI at TP 4–8) NCCL's buffers are not
/// sized, and the answer says so instead of a bare figure
/// (`overhead::v0_comms_note`).
#[test]
fn v0_nccl_beyond_the_fitted_groups_is_said_to_be_uncertain() {
    let v0 = |model: &str, gpu_name: &str, tp: u64| {
        fit_with(
            model,
            gpu_name,
            EngineArgs { tensor_parallel: tp, vllm_version: VllmVersion::parse("0.7.3"), ..EngineArgs::default() },
        )
    };
    let says = |f: &MemoryFit| f.notes.iter().any(|n| n.contains("NCCL's own buffers at TP"));
    let h200 = v0("Llama-3.1-8B", "H200", 8);
    assert_eq!(h200.engine, Generation::V0);
    assert!(says(&h200), "{:?}", h200.notes);
    assert!(says(&v0("Llama-3.1-8B", "MI300X", 4)));
    // Borne out by fit rows, or no NVLink group: no note.
    assert!(!says(&v0("Llama-3.1-8B", "A100-80GB", 8)));
    assert!(!says(&v0("Llama-3.1-8B", "H100-80GB", 2)));
    assert!(!says(&v0("Llama-3.1-8B", "L40S", 4)));
    // V1's figure is fitted at TP 2 and 4 on H100 itself.
    assert!(!says(&fit("Llama-3.1-8B", "H200", 8, None)));
}

/// A release outside the ones read (0.6.4 to 0.34) is sized with their
/// accounting and the answer says so, as an unknown one says what it
/// assumed; a release inside says nothing.
#[test]
fn a_release_outside_the_ones_read_says_whose_accounting_sized_it() {
    let at = |version: &str| {
        let args = EngineArgs { vllm_version: VllmVersion::parse(version), ..EngineArgs::default() };
        fit_with("Qwen2.5-7B-Instruct", "L4", args).notes
    };
    assert!(
        at("0.5.4").iter().any(|n| n.starts_with("vLLM 0.5.4 predates the releases gpuops has read (0.6.4 to 0.34.0)"))
    );
    assert!(at("0.35.0").iter().any(|n| n.starts_with("vLLM 0.35.0 is newer than the releases gpuops has read")));
    assert!(at("1.2").iter().any(|n| n.contains("sized with 0.34.0's accounting")));
    for read in ["0.6.4", "0.8.5.post1", "0.34.0", "0.34.2"] {
        assert!(!at(read).iter().any(|n| n.contains("releases gpuops has read")), "{read}: {:?}", at(read));
    }
}

/// A quantization gpuops cannot size leaves the answer unchecked, unless
/// a startup check vLLM makes first refuses anyway.
#[test]
fn a_startup_refusal_outranks_an_unsized_quantization() {
    let args = |tp: u64| EngineArgs { tensor_parallel: tp, quantization: Some("foo".into()), ..EngineArgs::default() };
    let not_sized = fit_with("Qwen2.5-7B-Instruct", "L4", args(1));
    assert!(not_sized.not_sized.is_some() && !not_sized.lower_bound);
    let refused = fit_with("Qwen2.5-7B-Instruct", "L4", args(3));
    assert!(refused.not_sized.is_none() && !refused.fits, "{:?}", refused.problems);
    assert!(refused.problems[0].contains("must be divisible by tensor parallel size (3)"));
}

/// A KV cache type gpuops has no width for is unchecked, not sized as the
/// model's dtype; `float16`/`bfloat16` (listed from v0.19.0 config/cache.py
/// :14-23) cost two bytes an element, as `auto` does for a 16-bit model.
#[test]
fn a_kv_cache_type_without_a_known_width_is_unchecked() {
    let kv = |dtype: &str| {
        fit_with("Qwen2.5-7B-Instruct", "L4", EngineArgs { kv_cache_dtype: dtype.into(), ..EngineArgs::default() })
    };
    let (auto, bf16, fp8) = (kv("auto"), kv("bfloat16"), kv("fp8_inc"));
    assert_eq!(bf16.kv_bytes_per_token, auto.kv_bytes_per_token);
    assert_eq!(fp8.kv_bytes_per_token * 2, auto.kv_bytes_per_token);
    assert!(auto.not_sized.is_none() && bf16.not_sized.is_none() && fp8.not_sized.is_none());
    for unknown in ["int3", "fp8_ds_mla"] {
        let f = kv(unknown);
        assert!(
            f.not_sized.as_deref().is_some_and(|w| w.contains(&format!("--kv-cache-dtype {unknown}"))),
            "{unknown}"
        );
        assert!(!f.lower_bound);
    }
}

/// `--dtype` as vLLM spells it (`_STR_DTYPE_TO_TORCH_DTYPE`): `float` is
/// float32, twice the weights; a name vLLM does not list is its startup
/// refusal, never a 16-bit guess.
#[test]
fn dtypes_are_read_as_vllm_spells_them() {
    let with = |dtype: &str, version: &str| {
        let args = EngineArgs {
            dtype: dtype.into(),
            vllm_version: VllmVersion::parse(version),
            max_model_len: Some(8192),
            ..EngineArgs::default()
        };
        fit_with("Qwen2.5-7B-Instruct", "H100", args)
    };
    let (auto, float) = (with("auto", "0.19.0"), with("float", "0.19.0"));
    assert!((float.weights_per_gpu_gib / auto.weights_per_gpu_gib - 2.0).abs() < 0.01);
    let fp16 = with("fp16", "0.19.0");
    assert!(!fp16.fits && fp16.problems.iter().any(|p| p == "Unknown dtype: 'fp16'"), "{:?}", fp16.problems);
    assert!(with("bf16", "0.7.3").problems.iter().any(|p| p == "Unknown dtype: bf16"));
}
