//! The memory model against what vLLM measured: every row of
//! `fixtures/vllm-calibration.json` (public startup logs) is replayed and
//! the accuracy table printed (`cargo test -p gpuops-model --test calibration
//! -- --nocapture`). The targets are the issue's: weights
//! median |error| ≤ 1 %, KV-cache tokens median ≤ 3 % and worst ≤ 15 %,
//! and the started/refused verdict right on every row — judged on the
//! `check` half (no constant is fitted on it); both halves are printed side
//! by side, and rows whose inputs the log does not give are listed as not
//! replayable, with the reason. Checking rows over the 15 % target whose
//! cause is known but not modelled are listed in `KNOWN_MISSES` and printed
//! as "TARGET NOT MET": the target is the issue's, and it is not met. A row may say what its log says of
//! FlashInfer (`"flashinferInstalled": true` for "Using FlashInfer for
//! top-p & top-k sampling.", false for "FlashInfer is not available"): it
//! is part of the install, not the version. Rows of a model gpuops declines to size
//! (`MemoryFit::not_sized`, decided from the architecture: encoder-decoder
//! multimodal models, see `memory::encoder_decoder`) are listed apart as
//! "not sized by gpuops" — counted neither as passing nor in the figures.
#![allow(clippy::print_stdout)] // the accuracy table is the output

use gpuops_model::catalog::{GpuInfo, find_model, gpu_product};
use gpuops_model::memory::{self, EngineArgs, Entrypoint, UnmodelledFlag, UnmodelledKind, VllmEnv, VllmVersion};
use serde_json::Value;

struct Outcome {
    row: String,
    half: String,
    weights_error: Option<f64>,
    kv_error: Option<f64>,
    /// Predicted − logged KV cache (GiB), where the log gives a KV figure.
    kv_gib_error: Option<f64>,
    gpu_total_gib: f64,
    verdict_ok: bool,
    /// The model flags the verdict at the edge (`MemoryFit::edge`).
    flagged: bool,
    /// vLLM logged both outcomes for these arguments (`alsoObserved`).
    both_outcomes: bool,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Why a row cannot be replayed: an input the model needs that the log does
/// not give. Decided from the row's inputs alone (never from its error), so
/// a row is not set aside because the prediction came out wrong.
fn not_replayable(row: &Value) -> Option<&'static str> {
    if row.get("vllm").and_then(Value::as_str).is_none() {
        // The terms differ by release (docs/vllm-memory-versions.md): an
        // assumed version would judge a 2024 V0 log by 0.34's rules.
        return Some("no vLLM version in the log");
    }
    let note = row.get("note").and_then(Value::as_str).unwrap_or_default();
    if note.contains("shared GPU") && row.get("gpuMemoryInUseGib").is_none() {
        // Memory held by another process is known to vLLM only at startup;
        // the row gives it only through the refusal it caused.
        return Some("GPU shared with another process, its memory in use not given");
    }
    None
}

/// The row replayed, or why gpuops does not size it (the model's own
/// answer, from its inputs).
fn replay(row: &Value) -> Result<Outcome, String> {
    let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or_default();
    let flag = |k: &str| row.pointer(&format!("/flags/{k}"));
    let model = find_model(text("model")).unwrap_or_else(|| panic!("{} is not in the catalog", text("model")));
    let product = gpu_product(text("gpu")).unwrap_or_else(|| panic!("{} is not in the catalog", text("gpu")));
    let mut gpu = GpuInfo::from(product);
    if let Some(total) = row.get("gpuMemoryGib").and_then(Value::as_f64) {
        gpu.total_gib = total;
    }
    let args = EngineArgs {
        tensor_parallel: row.get("tp").and_then(Value::as_u64).unwrap_or(1),
        pipeline_parallel: row.get("pp").and_then(Value::as_u64).unwrap_or(1),
        max_model_len: flag("maxModelLen").and_then(Value::as_u64),
        gpu_memory_utilization: flag("gpuMemoryUtilization").and_then(Value::as_f64),
        dtype: flag("dtype").and_then(Value::as_str).unwrap_or("auto").to_string(),
        enforce_eager: flag("enforceEager").and_then(Value::as_bool).unwrap_or(false),
        max_num_batched_tokens: flag("maxNumBatchedTokens").and_then(Value::as_u64),
        max_num_seqs: flag("maxNumSeqs").and_then(Value::as_u64),
        kv_cache_dtype: flag("kvCacheDtype").and_then(Value::as_str).unwrap_or("auto").to_string(),
        vllm_version: VllmVersion::parse(text("vllm")),
        gpu_memory_in_use_gib: row.get("gpuMemoryInUseGib").and_then(Value::as_f64).unwrap_or(0.0),
        entrypoint: if flag("entrypoint").and_then(Value::as_str) == Some("offline") {
            Entrypoint::Offline
        } else {
            Entrypoint::Server
        },
        vllm_env: VllmEnv {
            // What the log says of FlashInfer ("Using FlashInfer for top-p &
            // top-k sampling." / "FlashInfer is not available"): an input of
            // the install, not of the tag (see `VllmEnv::flashinfer_installed`).
            flashinfer_installed: row.get("flashinferInstalled").and_then(Value::as_bool),
            // The row's `env`, read as envs.py reads the container's.
            ..VllmEnv::from_vars(|name| {
                row.pointer(&format!("/env/{name}")).and_then(Value::as_str).map(str::to_string)
            })
        },
        // Read as a container's `--enable-expert-parallel`: a note in the
        // answer, no figure (`memory::unmodelled`).
        unmodelled: flag("enableExpertParallel")
            .and_then(Value::as_bool)
            .filter(|on| *on)
            .map(|_| UnmodelledFlag { kind: UnmodelledKind::ExpertParallel, flag: "--enable-expert-parallel".into() })
            .into_iter()
            .collect(),
        ..EngineArgs::default()
    };
    let fit = memory::evaluate(&model, &gpu, &args);
    if let Some(why) = fit.not_sized {
        return Err(why);
    }
    let observed = |k: &str| row.pointer(&format!("/observed/{k}")).and_then(Value::as_f64);
    let started = row.pointer("/observed/started").and_then(Value::as_bool).unwrap_or(true);
    let weights_error = observed("weightsGib").map(|w| (fit.weights_per_gpu_gib - w) / w);
    // Tokens when the log gives them; else the logged KV memory in tokens
    // at the model's own bytes per token (the same conversion vLLM makes).
    let observed_tokens = observed("kvTokens").or_else(|| {
        observed("kvGib").filter(|g| *g > 0.0).map(|g| g * (1u64 << 30) as f64 / fit.kv_bytes_per_token as f64)
    });
    let kv_error = observed_tokens.map(|t| (fit.kv_pool_tokens as f64 - t) / t);
    // The budget's error in GiB: against the logged GiB where printed, else
    // the pools' difference in tokens at the model's bytes per token.
    let per_token_gib = fit.kv_bytes_per_token as f64 / (1u64 << 30) as f64;
    let kv_gib_error = observed("kvGib")
        .map(|g| fit.kv_budget_gib.max(0.0) - g)
        .or_else(|| observed("kvTokens").map(|t| (fit.kv_pool_tokens as f64 - t) * per_token_gib));
    let also_started = row.pointer("/alsoObserved/started").and_then(Value::as_bool);
    let both_outcomes = also_started.is_some_and(|also| also != started);
    println!(
        "{:<5} {:<44} {:<10} TP{:<2} {:<9} weights {:>6.2} vs {:>6} GiB  KV {:>9} vs {:>9} tokens ({:>+6.1}%)  {} vs {}{}",
        text("half"),
        text("model").rsplit('/').next().unwrap_or_default(),
        text("gpu"),
        args.tensor_parallel,
        fit.engine.as_str(),
        fit.weights_per_gpu_gib,
        observed("weightsGib").map_or("-".into(), |w| format!("{w:.2}")),
        fit.kv_pool_tokens,
        observed_tokens.map_or("-".into(), |t| format!("{t:.0}")),
        kv_error.unwrap_or(0.0) * 100.0,
        if fit.fits { "starts" } else { "refused" },
        if both_outcomes {
            "started and refused"
        } else if started {
            "started"
        } else {
            "refused"
        },
        fit.edge.map_or(String::new(), |e| format!("  EDGE {:?} {:+.2} GiB", e.limit, e.margin_gib)),
    );
    Ok(Outcome {
        // Model, GPU, TP, version and utilization: a KNOWN_MISSES entry must
        // name exactly one log (asserted), never its neighbours of the same
        // model and GPU.
        row: format!(
            "{} on {} (TP{}, vLLM {}, util {})",
            text("model"),
            text("gpu"),
            args.tensor_parallel,
            if text("vllm").is_empty() { "?" } else { text("vllm") },
            args.gpu_memory_utilization.map_or("default".to_string(), |u| u.to_string()),
        ),
        half: text("half").to_string(),
        weights_error,
        kv_error,
        kv_gib_error,
        gpu_total_gib: fit.gpu_memory_gib,
        // Where vLLM did both, no single verdict is right: only the flag is.
        verdict_ok: if both_outcomes { fit.edge.is_some() } else { fit.fits == started },
        flagged: fit.edge.is_some(),
        both_outcomes,
    })
}

/// One half's figures: medians and worst of |error|, verdicts right.
#[derive(Debug, Clone, Copy)]
struct Figures {
    rows: usize,
    weights_median: f64,
    weights_n: usize,
    kv_median: f64,
    kv_worst: f64,
    kv_n: usize,
    verdicts_right: usize,
    /// Rows flagged at the edge, and the confident (unflagged) verdicts
    /// that are right of all confident ones.
    flagged: usize,
    confident_right: usize,
    confident: usize,
    not_replayable: usize,
    not_sized: usize,
}

fn figures(outcomes: &[&Outcome], not_replayable: usize, not_sized: usize) -> Figures {
    let weights: Vec<f64> = outcomes.iter().filter_map(|o| o.weights_error).map(f64::abs).collect();
    let kv: Vec<f64> = outcomes.iter().filter_map(|o| o.kv_error).map(f64::abs).collect();
    Figures {
        rows: outcomes.len(),
        weights_median: median(weights.clone()),
        weights_n: weights.len(),
        kv_median: median(kv.clone()),
        kv_worst: kv.iter().copied().fold(0.0, f64::max),
        kv_n: kv.len(),
        verdicts_right: outcomes.iter().filter(|o| o.verdict_ok).count(),
        flagged: outcomes.iter().filter(|o| o.flagged).count(),
        confident_right: outcomes.iter().filter(|o| !o.flagged && o.verdict_ok).count(),
        confident: outcomes.iter().filter(|o| !o.flagged).count(),
        not_replayable,
        not_sized,
    }
}

fn print_halves(fit: &Figures, check: &Figures) {
    println!("\n{:<34} {:>14} {:>14}", "", "fit half", "check half");
    let row = |name: &str, f: &dyn Fn(&Figures) -> String| println!("{name:<34} {:>14} {:>14}", f(fit), f(check));
    row("rows replayed", &|h| h.rows.to_string());
    row("rows not replayable", &|h| h.not_replayable.to_string());
    row("rows not sized by gpuops", &|h| h.not_sized.to_string());
    row("weights median |error|", &|h| format!("{:.2}% n={}", h.weights_median * 100.0, h.weights_n));
    row("KV tokens median |error|", &|h| format!("{:.2}% n={}", h.kv_median * 100.0, h.kv_n));
    row("KV tokens worst |error|", &|h| format!("{:.2}%", h.kv_worst * 100.0));
    row("verdicts right", &|h| format!("{}/{}", h.verdicts_right, h.rows));
    row("flagged at the edge", &|h| format!("{}/{}", h.flagged, h.rows));
    row("confident verdicts right", &|h| format!("{}/{}", h.confident_right, h.confident));
}

#[test]
fn the_memory_model_matches_public_vllm_logs() {
    let file: Value = serde_json::from_str(include_str!("fixtures/vllm-calibration.json")).unwrap();
    let rows = file["rows"].as_array().unwrap();
    let publishers: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["publisher"].as_str()).collect();
    let (mut outcomes, mut skipped, mut not_sized) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        let half = row["half"].as_str().unwrap_or_else(|| panic!("row without a half: {row}"));
        assert!(half == "fit" || half == "check", "half must be fit or check: {row}");
        let name = format!("{} on {}", row["model"], row["gpu"]);
        if let Some(why) = not_replayable(row) {
            skipped.push((half, name, why.to_string()));
            continue;
        }
        match replay(row) {
            Ok(outcome) => outcomes.push(outcome),
            Err(why) => not_sized.push((half, name, why)),
        }
    }
    for (half, row, why) in &skipped {
        println!("not replayable ({half} half): {row}: {why}");
    }
    for (half, row, why) in &not_sized {
        println!("not sized by gpuops ({half} half): {row}: {why}");
    }
    let count = |list: &[(&str, String, String)], name: &str| list.iter().filter(|s| s.0 == name).count();
    let half = |name: &str| {
        let rows: Vec<&Outcome> = outcomes.iter().filter(|o| o.half == name).collect();
        figures(&rows, count(&skipped, name), count(&not_sized, name))
    };
    let (fit, check) = (half("fit"), half("check"));
    println!("{} rows from {} publishers", rows.len(), publishers.len());
    print_halves(&fit, &check);
    for o in outcomes.iter().filter(|o| !o.verdict_ok) {
        println!("verdict wrong ({} half): {}", o.half, o.row);
    }
    let check_rows: Vec<&Outcome> = outcomes.iter().filter(|o| o.half == "check").collect();
    // A flag on every row would make every verdict "right": the flag must
    // stay rare in both halves (at most 15 % of the replayed rows), and
    // each row vLLM gave both outcomes for must be flagged (asserted
    // through `verdict_ok` in `assert_check_half`).
    for (name, h) in [("fit", &fit), ("check", &check)] {
        assert!(h.flagged * 100 <= h.rows * 15, "{} of {} {name}-half rows flagged at the edge", h.flagged, h.rows);
    }
    assert!(outcomes.iter().filter(|o| o.both_outcomes).count() >= 2, "the rows vLLM gave both outcomes for are gone");
    assert_check_half(&check, &check_rows);
    // The Mllama log stays visible as a case gpuops declines, not a pass.
    assert!(
        not_sized.iter().any(|(half, row, _)| *half == "fit" && row.contains("Llama-3.2-11B-Vision")),
        "the Llama-3.2-11B-Vision row is no longer listed as not sized: {not_sized:?}"
    );
}

/// The targets on the checking half (rows no constant was fitted
/// on), asserted as the targets themselves: no row is held at a ceiling.
/// Rows the model declines to size are not here (listed apart).
fn assert_check_half(check: &Figures, rows: &[&Outcome]) {
    assert!(check.rows >= 25, "the checking half shrank to {} replayable rows", check.rows);
    assert!(
        check.weights_median <= 0.01,
        "weights median |error| {:.2}% above the 1% target",
        check.weights_median * 100.0
    );
    match KNOWN_MEDIAN_MISS {
        // A known miss may not grow, and leaves once the target is met.
        Some((measured, why)) => {
            assert!(check.kv_median > 0.03, "the KV median is within 3% now: set KNOWN_MEDIAN_MISS to None ({why})");
            assert!(
                check.kv_median <= measured + 5e-5,
                "KV tokens median |error| {:.2}% above the 3% target and above the {:.2}% recorded with KNOWN_MEDIAN_MISS",
                check.kv_median * 100.0,
                measured * 100.0
            );
            println!(
                "TARGET NOT MET (issue 20 open): KV tokens median |error| {:.2}% > 3%; {why}",
                check.kv_median * 100.0
            );
        }
        None => assert!(
            check.kv_median <= 0.03,
            "KV tokens median |error| {:.2}% above the 3% target",
            check.kv_median * 100.0
        ),
    }
    // Every replayed checking row within 15 %; an encoder-decoder
    // multimodal row (Llama-3.2-11B-Vision under V0) is not replayed: the
    // model says it cannot size it (`memory::encoder_decoder`).
    // A row vLLM gave both outcomes for is left out of the 15 % target:
    // its logs disagree with each other by more (Qwen2.5-7B at 0.65 on an
    // RTX 3090: 0.49 and 0.41 GiB of KV cache for the same arguments, 9,088
    // tokens and a refusal; the model's 7,376 tokens are -18.8 % of one
    // and -3.9 % of the other). Its error stays in the printed figures.
    let over: Vec<(&str, f64)> = rows
        .iter()
        .filter(|o| !o.both_outcomes)
        .filter_map(|o| o.kv_error.map(|e| (o.row.as_str(), e)))
        .filter(|(_, e)| e.abs() > 0.15)
        .collect();
    let unknown: Vec<String> = over
        .iter()
        .filter(|(row, _)| !KNOWN_MISSES.iter().any(|(known, _)| row == known))
        .map(|(row, e)| format!("{row}: {:+.1}%", e * 100.0))
        .collect();
    assert!(unknown.is_empty(), "KV tokens |error| above 15% on {} checking rows: {unknown:#?}", unknown.len());
    // A known miss that is fixed leaves the list (so the list cannot hide
    // a row that no longer needs it).
    for (known, why) in KNOWN_MISSES {
        let named = rows.iter().filter(|o| o.row == *known).count();
        assert_eq!(named, 1, "KNOWN_MISSES entry {known} names {named} checking rows, not one");
        let e = over.iter().find(|(row, _)| row == known).map(|(_, e)| *e);
        assert!(e.is_some(), "{known} is within 15% now: take it off KNOWN_MISSES ({why})");
        println!("TARGET NOT MET (issue 20 open): {known}: {:+.1}% KV tokens; {why}", e.unwrap_or(0.0) * 100.0);
    }
    // Every verdict right, but the rows vLLM gave both outcomes for that
    // the model does not flag (listed, with why, in `KNOWN_UNFLAGGED`).
    let wrong: Vec<&str> = rows.iter().filter(|o| !o.verdict_ok).map(|o| o.row.as_str()).collect();
    for row in &wrong {
        let known = KNOWN_UNFLAGGED.iter().find(|(known, _)| row == known);
        assert!(known.is_some(), "a start/refuse verdict is wrong on the checking half: {row}");
    }
    for (known, why) in KNOWN_UNFLAGGED {
        let named: Vec<&&Outcome> = rows.iter().filter(|o| o.row == *known).collect();
        assert!(
            named.iter().all(|o| o.both_outcomes),
            "KNOWN_UNFLAGGED names a row vLLM gave one outcome for: {known}"
        );
        assert!(wrong.contains(known), "{known} is flagged at the edge now: take it off KNOWN_UNFLAGGED ({why})");
        println!("TARGET NOT MET (issue 20 open): {known}: vLLM started and refused it, not flagged; {why}");
    }
    assert_eq!(check.verdicts_right + wrong.len(), check.rows);
}

/// The checking half's KV median where it misses the 3 % target: the figure
/// measured (the suite fails if it grows) and why. It missed (3.11 % on 36
/// rows) when the 2026-12-03 audit moved the 17 rows constants had been set
/// from out of the checking half (tests/fixtures/README.md); eight rows of
/// six publishers added later the same day, collected without fitting
/// anything on them, brought it to 2.52 % on 42 rows. `None`: the target
/// holds, and `assert_check_half` asserts it.
const KNOWN_MEDIAN_MISS: Option<(f64, &str)> = None;

/// Rows vLLM gave both outcomes for that the model gives a confident
/// verdict on: the model's margin there is outside its fit-half error, the
/// error being somewhere the fit half does not measure.
const KNOWN_UNFLAGGED: &[(&str, &str)] = &[(
    "meta-llama/Llama-3.1-8B-Instruct on RTX-3090 (TP1, vLLM 0.17.1, util default)",
    "the model's nearest limit is the GPU's total, 1.96 GiB away (0.9 x 23.54 GiB resident plus 0.39 GiB of CUDA \
     graphs), outside its +-0.42 GiB; the July log's OOM line has the process at 21.72 GiB (20.96 by PyTorch: \
     14.99 weights + 5.61 KV + 0.36 of warm-up) and 0.14 GiB free with 0.21 GiB held by two other processes: \
     without them 0.35 GiB would have been free for the 0.12 GiB asked: vLLM was within 0.25 GiB of the limit. What the model misses is memory outside the budget after \
     the KV cache (0.76 GiB non-PyTorch at the warm-up against 0.39 modelled); no fit-half row logs it, so no \
     error on it can be derived without fitting on the check half",
)];

/// Checking rows over the 15 % target whose cause is known but not yet
/// modelled. They fail the target (issue 20 stays open, said in
/// the table's output) without failing the suite; any other row over 15 %
/// fails it, and a listed row that comes within 15 % must leave the list.
const KNOWN_MISSES: &[(&str, &str)] = &[
    (
        "deepseek-ai/DeepSeek-R1 on H200 (TP8, vLLM 0.7.3, util 0.85)",
        "vLLM 0.7.3 V0 MLA. Weights modelled from source (83.74 vs 83.88 GiB logged: replicated router and MLA \
         down-projections, deepseek_v2.py:118-122,374-400; absorbed W_QR/kv_b/W_Q_UK/W_UV_O, \
         attention/backends/mla/utils.py:279-388). Activation 4.71 vs 6.37 GiB: the fitted width term plus the \
         fused-MoE (M, topk, hidden) cache (fused_moe.py:1158-1183) leave 1.66 GiB unexplained (not modelled: the FP8 \
         copy of the MoE input, 0.21 GiB; MLA prefill's kv_b output and padded v; a V0 sampler phase of 1,024 x \
         129,280 logits at the fit half's 9.4 sort copies was tried and overshoots the 0.7.3 Qwen2.5-32B L40S and \
         0.6.4 35k rows' logged peaks). Non-torch 7.16 vs 2.15 GiB: 5 GiB that vLLM's source does not size - V0 \
         counts every non-torch byte on the device since the worker's baseline (utils.py:1920-1937,2029-2038, \
         worker.py:161-166), i.e. NCCL's own buffers for the TP group (cuda_communicator.py:39), custom all-reduce \
         8 MiB x 2 + 8 MiB (custom_all_reduce.py:58), cuBLAS; the 0.6.4 MI300X TP8 row logs 8.00 GiB too",
    ),
    (
        "Qwen/Qwen2.5-0.5B-Instruct on RTX-4060 (TP1, vLLM 0.8.5.post1, util 0.45)",
        "v0.8.5 source read, no structural error found: the profile samples min(max_num_seqs, tokens) = 256 dummy \
         requests (gpu_model_runner.py:1455-1457,1508-1509; 256 below 70 GiB, arg_utils.py:1596-1609) with top-k \
         vocab-1 and top-p 0.9 (:1527-1528) through the PyTorch sort (FlashInfer >= 0.2.3 is turned off, \
         topk_topp_sampler.py:32-49) on float32 logits (sampler.py:38-39); the peak is torch's allocated peak (not \
         reserved, so empty_cache does not matter) plus every non-torch byte on the device, CUDA context included \
         (gpu_worker.py:177-210); tied embeddings are held once (0.92 GiB). Same band, same vocabulary: \
         Qwen2.5-7B on an RTX 3090 (0.8.4, 256 requests) is within 1-4%. At the most an RTX 4060 reports \
         (8.00 GiB under WSL, vllm#13882; the catalog's 7.63 is an estimate), 0.45 x 8.00 - 0.92 - 9.4 x 0.145 \
         GiB of sampler leaves at most 115,136 tokens before any \
         non-torch memory, against 125,680 logged; even the 7 copies live at the scatter (no sort buffers) need \
         the context, non-torch memory and the forward to fit in 0.23 GiB. The log gives neither max_num_seqs \
         nor the total. The log is the API server's (its max_num_batched_tokens=2048 is the OPENAI_API_SERVER \
         default below 70 GiB, v0.8.5.post1 arg_utils.py:1605-1607, where the LLM class would print 8192; its \
         51 s of torch.compile is the runbook's 'server first start'), and the runbook's only 0.5B server \
         command passes --max-num-seqs 16 (docs/runbook_three_models.md section 4.7, with utilization 0.6, not the \
         0.45 the log is annotated with). At 16 sequences the model gives 187,104 tokens (+48.9%), at 256 75,520 \
         (-39.9%): the logged pool lies between; at 16 the logged pool (1.44 GiB) leaves 1.07 GiB of the 3.43 \
         usable for activation and non-torch memory, against 0.37 GiB the source gives at that size. The row keeps the log's own inputs (no \
         max_num_seqs given, so vLLM's default)",
    ),
];

/// The PyTorch-sort sampler peak (`overhead::SORT`) is taken from the fit
/// half alone: the llm-d sweep's Qwen3-14B on an H100 at 0.16 (sort) and
/// 0.17 (Triton, 3½ copies), same flags, differ only by the sampler path.
/// A change of the constant, or of those rows' halves, fails here.
#[test]
fn sort_copies_come_from_the_fit_half() {
    use gpuops_model::memory::SamplerBackend;
    use gpuops_model::memory::overhead::traced_sampler_copies;
    let file: Value = serde_json::from_str(include_str!("fixtures/vllm-calibration.json")).unwrap();
    let activation = |version: &str| {
        let row = file["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["model"] == "Qwen/Qwen3-14B" && r["gpu"] == "H100-80GB" && r["vllm"] == version)
            .unwrap_or_else(|| panic!("Qwen3-14B H100 {version} row missing"));
        assert_eq!(row["half"], "fit", "the rows the constant comes from must be fit rows");
        row["observed"]["activationGib"].as_f64().unwrap()
    };
    let model = find_model("Qwen/Qwen3-14B").unwrap();
    // The profile's 1,024 dummy sequences × the vocabulary × float32.
    let copy = 1024.0 * model.vocab as f64 * 4.0 / (1u64 << 30) as f64;
    let no_sort = traced_sampler_copies(SamplerBackend::Triton, true);
    let derived = no_sort + (activation("0.16.0") - activation("0.17.0")) / copy;
    let used = traced_sampler_copies(SamplerBackend::Native, true);
    println!("sort copies: derived from the fit half {derived:.2}, used {used}");
    assert!((derived - used).abs() < 0.05, "SORT {used} is not what the fit half gives ({derived:.2})");
}

/// `memory::edge::UNCERTAINTY_OF_TOTAL` is taken from the fit half alone:
/// the 90th percentile (nearest rank) of |predicted − logged KV cache GiB|
/// ÷ the GPU's total over the replayable fit-half rows that log a KV figure. A change of the
/// constant, of the model's budget on those rows, or of the rows' halves
/// fails here; the check half's same figure is printed beside it.
#[test]
fn edge_uncertainty_comes_from_the_fit_half() {
    use gpuops_model::memory::edge::UNCERTAINTY_OF_TOTAL;
    let file: Value = serde_json::from_str(include_str!("fixtures/vllm-calibration.json")).unwrap();
    let errors = |half: &str| {
        let mut errors: Vec<f64> = file["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["half"] == half && not_replayable(r).is_none())
            .filter_map(|r| replay(r).ok())
            .filter_map(|o| o.kv_gib_error.map(|e| e.abs() / o.gpu_total_gib))
            .collect();
        errors.sort_by(f64::total_cmp);
        errors
    };
    let p90 = |errors: &[f64]| errors[(errors.len() * 9).div_ceil(10) - 1];
    let (fit, check) = (errors("fit"), errors("check"));
    println!(
        "KV budget |error| / GPU total, fit half: n={} median {:.2}% p90 {:.2}% max {:.2}%; check half: n={} median {:.2}% p90 {:.2}% max {:.2}%",
        fit.len(),
        median(fit.clone()) * 100.0,
        p90(&fit) * 100.0,
        fit[fit.len() - 1] * 100.0,
        check.len(),
        median(check.clone()) * 100.0,
        p90(&check) * 100.0,
        check[check.len() - 1] * 100.0,
    );
    let derived = (p90(&fit) * 1000.0).round() / 1000.0;
    assert!(fit.len() >= 20, "only {} fit-half rows log a KV figure", fit.len());
    assert_eq!(UNCERTAINTY_OF_TOTAL, derived, "UNCERTAINTY_OF_TOTAL is not what the fit half gives ({derived})");
}

/// Every constant the model sets from logs, with the publishers whose rows
/// it was set from (the citations beside the constants in
/// `src/memory/overhead.rs` and `src/memory/edge.rs`). A constant set from
/// a checking-half row would be judged on the row it was fitted to; this
/// fails if any cited publisher is not in the fit half.
const FITTED_ON: &[(&str, &[&str])] = &[
    ("overhead::activation_fit V0 (fixed 0.1 GiB, 1.7 per token-width)", &["kaspersiminski"]),
    ("overhead::activation_fit V1 and overhead::SORT (9.4 copies)", &["llm-d-incubation"]),
    (
        "overhead::activation_fit V1Graphs (0.97 GiB, +0.33 copies)",
        &["KV size formula check (Chinese)", "ThunderAgent overcommit study notes (Korean)"],
    ),
    ("overhead::non_torch_gib V0 base 0.35 and NVLink comms 1.8", &["youkaichao", "DJL/LMI deployment notes (Korean)"]),
    ("overhead::non_torch_gib V1 base 0.13 before 0.18, 0.25 from 0.18", &["llm-d", "llm-d-incubation"]),
    ("overhead::non_torch_gib V1Graphs base 0.15", &["llm-d-incubation"]),
    (
        "allreduce_fusion::MULTICAST_GRANULARITY (512 MiB; also sglang#18341's log, outside the set)",
        &["llm-d-incubation"],
    ),
    ("overhead::non_torch_gib V1 NVLink comms 0.4", &["llm-d"]),
    ("overhead::non_torch_gib PCIe comms 0.1", &["Hemanth-stack"]),
    (
        "overhead::cuda_graph_gib (0.2 GiB + 6 MiB a layer)",
        &["ThunderAgent overcommit study notes (Korean)", "ilseokoh"],
    ),
    ("overhead::cuda_graph_gib MoE factor 2.5", &["MMuzzammil1"]),
    ("edge::UNCERTAINTY_OF_TOTAL (fit-half p90)", &[]),
];

#[test]
fn fitted_constants_rest_on_fit_rows_only() {
    let file: Value = serde_json::from_str(include_str!("fixtures/vllm-calibration.json")).unwrap();
    let rows = file["rows"].as_array().unwrap();
    for (constant, publishers) in FITTED_ON {
        for publisher in *publishers {
            let halves: Vec<&str> =
                rows.iter().filter(|r| r["publisher"] == *publisher).filter_map(|r| r["half"].as_str()).collect();
            assert!(!halves.is_empty(), "{constant}: no rows of {publisher}");
            assert!(
                halves.iter().all(|h| *h == "fit"),
                "{constant} was set from {publisher}'s rows, which are not all fit rows"
            );
        }
    }
}
