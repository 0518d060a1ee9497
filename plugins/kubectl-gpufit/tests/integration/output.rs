//! What `-o json|yaml` consumers rely on: every document names its schema
//! (`apiVersion`, `kind`; docs/output.md), a document that could not be
//! written whole never comes with a success code, and a reader that closes
//! the pipe early is not an error.

use std::fs::OpenOptions;

use serde_json::Value;

use crate::util::{gpufit, gpufit_to, text};

/// A model that fits (exit 0) and one that does not (exit 1).
const FITS: &[&str] = &["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L40S"];
const DOES_NOT_FIT: &[&str] = &["model", "Qwen/Qwen2.5-32B-Instruct", "--gpu", "A100-40GB"];
/// The bundled example's dev overlay on its pool (fits).
const DEV: &[&str] = &["check", "-k", "examples/multi-model-rl/overlays/dev", "--nodes", "2*4xL40S"];

fn with(base: &[&'static str], more: &[&'static str]) -> Vec<&'static str> {
    [base, more].concat()
}

fn document(args: &[&str]) -> Value {
    let out = gpufit(args);
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", text(&out.stdout)))
}

/// `/dev/full` takes the open and fails every write with ENOSPC: the
/// document is lost, and the exit code must say so. (`print` swallowed the
/// error: exit 0 with nothing written, as at 1eebf59.)
#[test]
fn a_document_that_cannot_be_written_is_an_error() {
    let cases: [Vec<&str>; 4] = [
        with(FITS, &["-o", "json"]),
        with(FITS, &["-o", "yaml"]),
        with(DEV, &["-o", "json"]),
        vec!["nodes", "--nodes", "2*8xH100-80GB", "-o", "json"],
    ];
    for args in cases {
        let full = OpenOptions::new().write(true).open("/dev/full").expect("/dev/full (Linux)");
        let out = gpufit_to(&args, full);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr, "error: writing the output: No space left on device (os error 28)\n", "{args:?}");
    }
}

/// A table is an answer too: a truncated one is as much an error.
#[test]
fn a_table_that_cannot_be_written_is_an_error() {
    let full = OpenOptions::new().write(true).open("/dev/full").expect("/dev/full (Linux)");
    let out = gpufit_to(&with(DOES_NOT_FIT, &[]), full);
    assert_eq!(out.status.code(), Some(2), "not the answer's 1: {}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("error: writing the output: "), "{}", text(&out.stderr));
}

/// `| head -c1` that has already gone: the reader chose to stop, so the
/// command exits with its answer (0 fits, 1 does not) and says nothing.
#[test]
fn a_reader_that_closed_the_pipe_gets_the_answers_exit_code() {
    for (args, code) in [(with(FITS, &["-o", "json"]), 0), (with(DOES_NOT_FIT, &["-o", "json"]), 1)] {
        let (reader, writer) = std::io::pipe().unwrap();
        // Closed before the first write, so the write meets EPIPE however
        // small the document is (an open pipe would just buffer it).
        drop(reader);
        let out = gpufit_to(&args, writer);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
}

/// Every command's document, JSON and YAML alike, starts with the
/// envelope; the payload's fields follow at the top level.
#[test]
fn every_document_names_its_schema() {
    let cases: [(Vec<&str>, &str); 3] = [
        (DEV.to_vec(), "FitReport"),
        (vec!["nodes", "--nodes", "2*8xH100-80GB,8xL4"], "NodeList"),
        (FITS.to_vec(), "ModelFit"),
    ];
    for (args, kind) in cases {
        let json = document(&with_output(&args, "json"));
        assert_eq!((json["apiVersion"].as_str(), json["kind"].as_str()), (Some("gpuops.dev/v1alpha1"), Some(kind)));
        let keys: Vec<&String> = json.as_object().unwrap().keys().take(2).collect();
        assert_eq!(keys, ["apiVersion", "kind"], "{args:?}: the envelope comes first");
        let out = gpufit(&with_output(&args, "yaml"));
        let yaml = text(&out.stdout);
        assert!(yaml.starts_with(&format!("apiVersion: gpuops.dev/v1alpha1\nkind: {kind}\n")), "{args:?}: {yaml}");
    }
    // The payloads, where their consumers read them.
    let check = document(&with(DEV, &["-o", "json"]));
    assert_eq!(check["fits"], true);
    assert!(check["workloads"].as_array().is_some_and(|w| !w.is_empty()), "{check}");
    let nodes = document(&["nodes", "--nodes", "2*8xH100-80GB,8xL4", "-o", "json"]);
    let items = nodes["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        (items[0]["product"].as_str(), items[0]["memoryMiB"].as_u64()),
        (Some("NVIDIA-H100-80GB-HBM3"), Some(81559))
    );
    let model = document(&with(DOES_NOT_FIT, &["-o", "json"]));
    assert_eq!((model["fits"].as_bool(), model["smallestTp"].as_u64()), (Some(false), Some(4)));
}

fn with_output<'a>(args: &[&'a str], format: &'a str) -> Vec<&'a str> {
    [args, &["-o", format]].concat()
}

/// `--kv-cache-memory-bytes` is vLLM's flag in bytes, on the command line
/// as in a manifest: 8589934592 is 8 GiB of KV cache per GPU (`model` read
/// a plain number as GiB before 1eebf59: 8589934592 GiB).
#[test]
fn kv_cache_memory_bytes_is_bytes_in_model_and_in_check() {
    let model = document(&[
        "model",
        "Qwen/Qwen2.5-7B-Instruct",
        "--gpu",
        "L40S",
        "--engine",
        "0.10.1",
        "--kv-cache-memory-bytes",
        "8589934592",
        "-o",
        "json",
    ]);
    assert_eq!(model["kvBudgetGib"].as_f64(), Some(8.0), "{model}");
    assert_eq!(model["fits"], true, "{model}");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("qwen.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: qwen, namespace: llm}\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.10.1\n        args: [--model, Qwen/Qwen2.5-7B-Instruct, --kv-cache-memory-bytes, '8589934592']\n        resources: {limits: {nvidia.com/gpu: 1}}\n",
    )
    .unwrap();
    let report = document(&["check", "-f", manifest.to_str().unwrap(), "--nodes", "1xL40S", "-o", "json"]);
    let fit = &report["workloads"][0]["memory"]["fit"];
    assert_eq!(fit["kvBudgetGib"].as_f64(), Some(8.0), "{report}");
    // The same budget gives the same pool: one memory model behind both doors.
    assert_eq!(fit["kvPoolTokens"], model["kvPoolTokens"], "{report}");
}

/// `model` says what vLLM says once the cache is sized — "GPU KV cache
/// size: N tokens" and "Maximum concurrency for N tokens per request:
/// X.XXx" (v1/core/kv_cache_utils.py) — in text and JSON; `-o wide` adds the
/// budget term by term, and the terms add up to what vLLM may use.
#[test]
fn model_says_what_vllm_says_and_wide_splits_the_budget() {
    let out = gpufit(&with(FITS, &["--max-model-len", "8192"]));
    let text_out = text(&out.stdout);
    assert!(text_out.contains("vLLM says:    GPU KV cache size: "), "{text_out}");
    assert!(text_out.contains("Maximum concurrency for 8,192 tokens per request: "), "{text_out}");
    assert!(!text_out.lines().any(|l| l.starts_with("budget:")), "the split is -o wide's: {text_out}");
    let json = document(&with(FITS, &["--max-model-len", "8192", "-o", "json"]));
    let (pool, concurrency) = (json["kvPoolTokens"].as_f64().unwrap(), json["maxConcurrency"].as_f64().unwrap());
    // One full-attention group: the pool's blocks over a request's 512.
    assert!((concurrency - pool / 16.0 / 512.0).abs() < 1e-6, "{json}");
    let wide = text(&gpufit(&with(FITS, &["--max-model-len", "8192", "-o", "wide"])).stdout);
    let line = wide.lines().find(|l| l.starts_with("budget:")).unwrap_or_else(|| panic!("{wide}"));
    let terms = ["weightsPerGpuGib", "activationGib", "nonTorchGib", "cudaGraphGib", "kvBudgetGib"];
    let sum: f64 = terms.iter().map(|t| json[*t].as_f64().unwrap()).sum();
    assert!((sum - json["usableGib"].as_f64().unwrap()).abs() < 0.01, "{json}");
    assert!(line.contains(&format!("{:.2} GiB usable", json["usableGib"].as_f64().unwrap())), "{line}");
}

/// `--recommend`: every flag it prints, passed back to `model`, starts and
/// holds the asked concurrency; the fewest GPUs come first.
#[test]
fn recommend_prints_settings_that_start_and_the_fewest_gpus() {
    let args = ["model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L40S", "--max-model-len", "32768"];
    let json = document(&[&args[..], &["--recommend", "--concurrency", "4", "-o", "json"]].concat());
    let r = &json["recommendation"];
    assert_eq!((r["demand"]["context"].as_u64(), r["demand"]["concurrency"].as_u64()), (Some(32768), Some(4)));
    let utilization = format!("{:.2}", r["gpuMemoryUtilization"].as_f64().unwrap());
    let back = document(&[&args[..], &["--gpu-memory-utilization", &utilization, "-o", "json"]].concat());
    assert!(back["fits"] == true && back["maxConcurrency"].as_f64().unwrap() >= 4.0, "{back}");
    let bytes = r["kvCacheMemoryBytes"].as_u64().unwrap().to_string();
    let back = document(&[&args[..], &["--kv-cache-memory-bytes", &bytes, "-o", "json"]].concat());
    assert!(back["fits"] == true && back["maxConcurrency"].as_f64().unwrap() >= 4.0, "{back}");
    let len = r["maxModelLen"].as_u64().unwrap().to_string();
    let back = document(&[
        "model",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--gpu",
        "L40S",
        "--max-model-len",
        &len,
        "-o",
        "json",
    ]);
    assert_eq!(back["fits"], true, "{back}");
    let placements = r["placements"].as_array().unwrap();
    assert!(placements.first().is_some_and(|p| p["tensorParallel"] == 1), "{r}");
    let text_out = text(&gpufit(&[&args[..], &["--recommend", "--concurrency", "4"]].concat()).stdout);
    assert!(text_out.contains("recommend:    for 4 request(s) of 32768 tokens at once"), "{text_out}");
    assert!(text_out.contains(&format!("  --gpu-memory-utilization {utilization}   ")), "{text_out}");
    // `--concurrency` means nothing without `--recommend`.
    assert_eq!(gpufit(&[&args[..], &["--concurrency", "8"]].concat()).status.code(), Some(2));
}
