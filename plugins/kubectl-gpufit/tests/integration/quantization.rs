//! `--quantization` against the checkpoint's own, as vLLM checks it
//! (`memory::quant_checkpoint`): a method the checkpoint does not hold is
//! vLLM's startup refusal; a method whose parameters live in a file gpuops
//! did not read leaves the start unchecked (exit 3), never "fits" on
//! 4-bit weights vLLM may never load.

use crate::util::{gpufit, text};

fn model(args: &[&str]) -> (Option<i32>, String) {
    let out = gpufit(&[&["model"], args].concat());
    (out.status.code(), text(&out.stdout))
}

#[test]
fn a_method_the_checkpoint_does_not_hold_is_refused_in_vllms_words() {
    let (code, stdout) = model(&["Qwen/Qwen2.5-7B-Instruct-AWQ", "--gpu", "L4", "--quantization", "gptq"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("Quantization method specified in the model config (awq) does not match the quantization method specified in the `quantization` argument (gptq)."),
        "{stdout}"
    );
    // The Marlin kernel's override claims an AWQ checkpoint.
    let (code, stdout) = model(&["Qwen/Qwen2.5-7B-Instruct-AWQ", "--gpu", "L4", "--quantization", "awq_marlin"]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn a_quantization_file_gpuops_did_not_read_leaves_the_start_unchecked() {
    let (code, stdout) = model(&["Qwen/Qwen2.5-7B-Instruct", "--gpu", "L4", "--quantization", "awq"]);
    assert_eq!(code, Some(3), "{stdout}");
    assert!(stdout.contains("verdict:      unchecked"), "{stdout}");
    assert!(
        stdout.contains(
            "'Cannot find the config file for awq' unless the repository has quant_config.json or quantize_config.json"
        ),
        "{stdout}"
    );
    // Even as 4-bit weights the 72B does not fit one L4: a refusal either way.
    let (code, stdout) = model(&["Qwen/Qwen2.5-72B-Instruct", "--gpu", "L4", "--quantization", "awq"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("vLLM refuses whether or not it finds awq's config file"), "{stdout}");
    // FP8 quantizes as it loads: sized, no file needed.
    let (code, stdout) = model(&["Qwen/Qwen2.5-7B-Instruct", "--gpu", "L4", "--quantization", "fp8"]);
    assert_eq!(code, Some(0), "{stdout}");
    // A catalog entry standing in for another repository's shape says
    // nothing of that repository's files: sized as asked.
    let (code, stdout) = model(&["acme/Qwen2.5-7B-Instruct-w4", "--gpu", "L4", "--quantization", "awq"]);
    assert_eq!(code, Some(0), "{stdout}");
}

/// A method gpuops does not size is not guessed at 16 bits: unchecked;
/// a flag it does not size on a checkpoint it does (compressed-tensors)
/// runs the checkpoint's own format, sized as without the flag.
#[test]
fn a_method_gpuops_does_not_size_is_unchecked_not_sixteen_bit() {
    let (code, stdout) = model(&["Qwen/Qwen2.5-7B-Instruct", "--gpu", "L4", "--quantization", "foo"]);
    assert_eq!(code, Some(3), "{stdout}");
    assert!(stdout.contains("--quantization foo is a method whose bytes per weight gpuops does not know"), "{stdout}");
    let weights = |stdout: &str| stdout.lines().find(|l| l.starts_with("weights/GPU:")).map(str::to_string);
    let fp8 = "RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8";
    let (_, flagged) = model(&[fp8, "--gpu", "L40S", "--quantization", "compressed-tensors"]);
    let (_, plain) = model(&[fp8, "--gpu", "L40S"]);
    assert_eq!(weights(&flagged), Some("weights/GPU:  8.46 GiB".to_string()), "{flagged}");
    assert_eq!(weights(&flagged), weights(&plain));
}
