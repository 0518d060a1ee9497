//! `--quantization` against the checkpoint's own quantization, as vLLM
//! checks it before anything is loaded:
//!
//! - `ModelConfig._verify_quantization` reads the checkpoint's
//!   `quantization_config.quant_method`, lets each method's
//!   `override_quantization_method` claim it (AWQ and GPTQ checkpoints run
//!   as `awq_marlin`/`gptq_marlin` when the user asks for `marlin` or that
//!   kernel; `moe_wna16` when asked for; ModelOpt and auto-round checkpoints
//!   are claimed whatever the user asked), and refuses a flag that names
//!   another method (v0.7.3 config.py:584-618, v0.10.1.1
//!   config/__init__.py:1086-1161, v0.19.0 config/model.py:924-994);
//! - with no `quantization_config`, `get_quant_config` looks for the
//!   method's own file beside the weights and refuses without one ("Cannot
//!   find the config file for awq", v0.7.3
//!   model_executor/model_loader/weight_utils.py:132,180-194, v0.10.1.1
//!   :149,189-203, v0.19.0:257,365-377); only methods whose `get_config_filenames()` is empty
//!   (`fp8`, `ptpc_fp8`, `experts_int8`, in-flight `bitsandbytes`)
//!   quantize an unquantized checkpoint as it loads (`fbgemm_fp8`'s and
//!   compressed-tensors' lists are empty too, but their config classes take
//!   arguments only a checkpoint gives).

use super::{Quantization, VllmVersion};
use crate::catalog::{CheckpointQuant, ModelShape};

/// What `--quantization` asks of the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Against {
    /// Nothing to say: no flag, the flag matches, or the checkpoint's
    /// config was not read.
    Consistent,
    /// vLLM refuses at startup, in its words.
    Refused(String),
    /// The method reads its parameters from a file gpuops did not read:
    /// whether vLLM starts depends on it (a reason for "not sized").
    FileNotRead(String),
}

/// Files a method reads its parameters from when `config.json` has no
/// `quantization_config` (`get_config_filenames`, v0.19.0
/// layers/quantization/awq.py:78-83, gptq.py, gptq_marlin.py,
/// awq_marlin.py, moe_wna16.py: `quantize_config.json`; modelopt.py:263
/// `hf_quant_config.json`; the same lists at v0.7.3 and v0.10.1.1).
/// Methods not listed either quantize as they load or are not checked.
fn config_files(method: &str) -> Option<&'static [&'static str]> {
    Some(match method {
        "awq" => &["quant_config.json", "quantize_config.json"],
        "awq_marlin" | "gptq" | "gptq_marlin" | "gptq_marlin_24" | "marlin" | "moe_wna16" => &["quantize_config.json"],
        "modelopt" | "modelopt_fp4" => &["hf_quant_config.json"],
        _ => return None,
    })
}

/// Whether `_verify_quantization` accepts `flag` on a checkpoint of
/// `method` (both lower case): the same name, or an override that claims
/// the checkpoint for it (awq_marlin.py:232-255, gptq_marlin.py:215-239,
/// moe_wna16.py:132-138, modelopt.py:412-418,1017-1023, inc.py:435-442 at
/// v0.19.0). The Marlin kernels also need a compute capability of 8.0 and
/// a supported bit width: a flag they would refuse on that account is
/// taken as accepted here (no claim either way).
fn accepted(method: &str, flag: &str) -> bool {
    match method {
        _ if method == flag => true,
        // Claimed by their override whatever the flag says.
        "modelopt" | "auto-round" => true,
        "awq" => matches!(flag, "marlin" | "awq_marlin" | "moe_wna16"),
        "gptq" => matches!(flag, "marlin" | "gptq_marlin" | "moe_wna16"),
        _ => false,
    }
}

/// `--quantization flag` on a checkpoint whose config says `checkpoint`.
pub(super) fn check(checkpoint: &CheckpointQuant, flag: Option<&str>, model_id: &str) -> Against {
    let Some(flag) = flag.map(str::to_ascii_lowercase) else {
        return Against::Consistent;
    };
    match checkpoint {
        CheckpointQuant::NotRead => Against::Consistent,
        CheckpointQuant::Method(method) if method.is_empty() || accepted(method, &flag) => Against::Consistent,
        CheckpointQuant::Method(method) => Against::Refused(format!(
            "Quantization method specified in the model config ({method}) does not match the quantization method specified in the `quantization` argument ({flag})."
        )),
        CheckpointQuant::Unquantized => match config_files(&flag) {
            None => Against::Consistent,
            Some(files) => Against::FileNotRead(format!(
                "not sized by gpuops: --quantization {flag} reads its parameters from the checkpoint, and the config.json gpuops read for {model_id} has no quantization_config: vLLM refuses with 'Cannot find the config file for {flag}' unless the repository has {} beside the weights, which gpuops does not read; name the quantized checkpoint itself, or drop --quantization for the unquantized weights",
                files.join(" or ")
            )),
        },
    }
}

/// The methods vLLM refuses without `--allow-deprecated-quantization`,
/// each with the first release that lists it and the first that no longer
/// does (`DEPRECATED_QUANTIZATION_METHODS`, model_executor/layers/
/// quantization/__init__.py v0.14.0:45, v0.15.0:41, v0.17.0:39,
/// v0.19.0:39-45, v0.34.0:54; none at v0.13.0). A boundary is the first
/// release read with the change (0.18 is taken as 0.17, 0.20–0.33 as
/// 0.19). 0.14's `auto-round` is left out: a checkpoint of it may be
/// claimed by the `inc` override first, which that release was not read for.
const DEPRECATED: [(&str, VllmVersion, Option<VllmVersion>); 13] = {
    const fn v(minor: u64) -> VllmVersion {
        VllmVersion::new(0, minor, 0)
    }
    [
        ("deepspeedfp", v(14), Some(v(15))),
        ("hqq", v(14), Some(v(15))),
        ("rtn", v(14), Some(v(15))),
        ("bitblas", v(14), Some(v(17))),
        ("gptq_marlin_24", v(14), Some(v(17))),
        ("gptq_bitblas", v(14), Some(v(17))),
        ("ipex", v(14), Some(v(17))),
        ("ptpc_fp8", v(14), Some(v(19))),
        ("tpu_int8", v(14), Some(v(34))),
        ("fp_quant", v(14), Some(v(34))),
        ("experts_int8", v(14), Some(v(34))),
        ("petit_nvfp4", v(14), Some(v(34))),
        ("fbgemm_fp8", v(14), None),
    ]
};

/// Whether `version` refuses `method` as deprecated ([`DEPRECATED`]).
fn deprecated(method: &str, version: VllmVersion) -> bool {
    DEPRECATED
        .iter()
        .any(|&(name, from, until)| name == method && version >= from && until.is_none_or(|until| version < until))
}

/// vLLM's refusal of a deprecated method, the flag's or, without one, the
/// checkpoint's (`self.quantization = quant_method`, then the check:
/// config/model.py v0.14.0:950-963, v0.19.0:986-987,1004-1017, v0.34.0
/// :1492-1506). The `ValueError` is raised with the method as a second
/// argument, logger-style, so Python prints the pair and `%s` stays
/// unfilled (read, not run).
pub(super) fn deprecated_refusal(
    checkpoint: &CheckpointQuant,
    flag: Option<&str>,
    version: VllmVersion,
    allowed: bool,
) -> Option<String> {
    let method = match (flag, checkpoint) {
        // Their overrides claim these checkpoints whatever the flag says.
        (_, CheckpointQuant::Method(method)) if matches!(method.as_str(), "modelopt" | "auto-round") => method.clone(),
        (Some(flag), _) => flag.to_ascii_lowercase(),
        (None, CheckpointQuant::Method(method)) => method.clone(),
        (None, _) => return None,
    };
    (!allowed && deprecated(&method, version)).then(|| {
        format!(
            "('The quantization method %s is deprecated and will be removed in future versions of vLLM. To bypass, set `--allow-deprecated-quantization`.', '{method}')"
        )
    })
}

/// Why the weights are not sized: a quantization is in play whose bytes
/// gpuops does not know — the flag names a method it does not size and
/// the checkpoint's own is not sized either (or absent), or the checkpoint
/// is quantized by such a method. The figures would count 16-bit weights,
/// more than the method stores, so they bound nothing either way.
pub(super) fn unsized_reason(model: &ModelShape, flag: Option<&str>) -> Option<String> {
    if model.checkpoint_bytes.is_some() || flag.is_some_and(|q| Quantization::parse(q).bytes_per_weight().is_some()) {
        return None;
    }
    let what = match (flag, &model.checkpoint_quant) {
        (Some(flag), _) => format!("--quantization {flag} is a method"),
        (None, CheckpointQuant::Method(method)) => {
            format!(
                "{}'s checkpoint is quantized with {}, a method",
                model.id,
                if method.is_empty() { "an unnamed quant_method" } else { method }
            )
        }
        (None, _) => return None,
    };
    Some(format!(
        "not sized by gpuops: {what} whose bytes per weight gpuops does not know (it sizes fp8, int8/w8a8, modelopt, awq, gptq, int4, bitsandbytes, mxfp4 and nvfp4 checkpoints); counted as 16-bit the weights would be over-sized, and vLLM refuses a method name it does not know; read 'Model loading took' from a vLLM startup log"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(m: &str) -> CheckpointQuant {
        CheckpointQuant::Method(m.to_string())
    }

    /// The cases `_verify_quantization` and `get_quant_config` decide
    /// (v0.19.0 config/model.py:924-994, weight_utils.py:365-377).
    #[test]
    fn the_flag_is_checked_against_the_checkpoint_as_vllm_checks_it() {
        let id = "Qwen/Qwen2.5-7B-Instruct";
        assert_eq!(check(&method("awq"), None, id), Against::Consistent);
        for ok in ["awq", "AWQ", "awq_marlin", "marlin", "moe_wna16"] {
            assert_eq!(check(&method("awq"), Some(ok), id), Against::Consistent, "{ok}");
        }
        assert_eq!(
            check(&method("awq"), Some("gptq"), id),
            Against::Refused(
                "Quantization method specified in the model config (awq) does not match the quantization method specified in the `quantization` argument (gptq).".into()
            )
        );
        assert!(matches!(check(&method("fp8"), Some("awq"), id), Against::Refused(_)));
        assert!(matches!(check(&method("compressed-tensors"), Some("fp8"), id), Against::Refused(_)));
        assert!(matches!(check(&method("gptq"), Some("awq_marlin"), id), Against::Refused(_)));
        // ModelOpt's override claims its checkpoint whatever was asked.
        assert_eq!(check(&method("modelopt"), Some("fp8"), id), Against::Consistent);
        // Quantized as it loads: no file needed.
        for online in ["fp8", "bitsandbytes", "experts_int8", "fbgemm_fp8"] {
            assert_eq!(check(&CheckpointQuant::Unquantized, Some(online), id), Against::Consistent, "{online}");
        }
        let Against::FileNotRead(why) = check(&CheckpointQuant::Unquantized, Some("awq"), id) else { panic!() };
        assert!(
            why.contains("'Cannot find the config file for awq'")
                && why.contains("quant_config.json or quantize_config.json")
        );
        // A stand-in shape says nothing of the referenced checkpoint.
        assert_eq!(check(&CheckpointQuant::NotRead, Some("gptq"), id), Against::Consistent);
    }

    /// From 0.14 a deprecated method is refused unless
    /// `--allow-deprecated-quantization`, a checkpoint's own included
    /// (Llama-3.1-405B-Instruct-FP8 is fbgemm_fp8).
    #[test]
    fn deprecated_methods_are_refused_from_014_unless_allowed() {
        let v = |s: &str| VllmVersion::parse(s).unwrap();
        let fbgemm = method("fbgemm_fp8");
        assert!(deprecated_refusal(&fbgemm, None, v("0.13.0"), false).is_none());
        let refused = deprecated_refusal(&fbgemm, None, v("0.14.0"), false).unwrap();
        assert!(refused.ends_with("set `--allow-deprecated-quantization`.', 'fbgemm_fp8')"), "{refused}");
        assert!(deprecated_refusal(&fbgemm, None, v("0.34.0"), false).is_some());
        assert!(deprecated_refusal(&fbgemm, None, v("0.34.0"), true).is_none());
        // experts_int8 left the list at 0.34; ptpc_fp8 at 0.19.
        let base = CheckpointQuant::Unquantized;
        assert!(deprecated_refusal(&base, Some("experts_int8"), v("0.19.0"), false).is_some());
        assert!(deprecated_refusal(&base, Some("experts_int8"), v("0.34.0"), false).is_none());
        assert!(deprecated_refusal(&base, Some("ptpc_fp8"), v("0.17.0"), false).is_some());
        assert!(deprecated_refusal(&base, Some("ptpc_fp8"), v("0.19.0"), false).is_none());
        assert!(deprecated_refusal(&method("fp8"), None, v("0.19.0"), false).is_none());
        // ModelOpt's override runs its checkpoint as modelopt, not as asked.
        assert!(deprecated_refusal(&method("modelopt"), Some("fbgemm_fp8"), v("0.19.0"), false).is_none());
    }

    /// Bytes a weight of a method gpuops does not size are not guessed:
    /// the answer is unchecked, and a flag it does not size on a checkpoint
    /// it does runs the checkpoint's own format.
    #[test]
    fn a_quantization_gpuops_does_not_size_is_said_not_guessed() {
        let base = crate::catalog::find_model("Qwen/Qwen2.5-7B-Instruct").unwrap();
        let awq = crate::catalog::find_model("Qwen/Qwen2.5-7B-Instruct-AWQ").unwrap();
        assert!(unsized_reason(&base, None).is_none());
        assert!(unsized_reason(&base, Some("fp8")).is_none());
        assert!(unsized_reason(&base, Some("ptpc_fp8")).is_none());
        // fbgemm_fp8's config takes arguments only a checkpoint gives:
        // not sized as an online method (its own checkpoints are).
        assert!(unsized_reason(&base, Some("fbgemm_fp8")).is_some());
        let fbgemm = crate::catalog::find_model("meta-llama/Llama-3.1-405B-Instruct-FP8").unwrap();
        assert!(unsized_reason(&fbgemm, Some("fbgemm_fp8")).is_none());
        let why = unsized_reason(&base, Some("gguf")).unwrap();
        assert!(
            why.starts_with("not sized by gpuops: --quantization gguf is a method whose bytes per weight"),
            "{why}"
        );
        // The checkpoint's own format is sized: `marlin` runs it.
        assert!(unsized_reason(&awq, Some("marlin")).is_none());
        let hqq =
            ModelShape { checkpoint_bytes: None, checkpoint_quant: CheckpointQuant::Method("hqq".into()), ..base };
        assert!(unsized_reason(&hqq, None).unwrap().contains("checkpoint is quantized with hqq"));
    }
}
