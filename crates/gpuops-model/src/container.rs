//! What a vLLM container says about the model it serves: the model
//! reference and the engine arguments, read from its `command`/`args`,
//! env and image, and the workload's annotations. gpufit's check and the
//! function's `count: auto` read containers through here alike.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::memory::{
    EngineArgs, Entrypoint, Generation, LoraArgs, UnmodelledFlag, VllmEnv, VllmVersion, parse_max_model_len, unmodelled,
};
use gpuops_manifest::vllm;

/// The model a vLLM container serves: the `gpuops.dev/model` annotation,
/// else `--model` / `vllm serve MODEL`, else — when that is a local path
/// such as KServe's `/mnt/models` — the `storageUri` it was downloaded from.
pub fn model_reference(container: &Value, annotations: &BTreeMap<String, String>) -> Option<String> {
    let flag = |names: &[&str]| vllm::get_flag(container, names);
    let storage = container.get("storageUri").and_then(Value::as_str).map(str::to_string);
    let named = flag(&["--model"]).or_else(|| positional_model(container));
    match (annotations.get("gpuops.dev/model").cloned(), named, storage) {
        (Some(a), _, _) => Some(a),
        (None, Some(path), Some(uri)) if path.starts_with('/') => Some(uri),
        (None, Some(n), _) => Some(n),
        (None, None, Some(uri)) => Some(uri),
        (None, None, None) => None,
    }
}

/// The vLLM engine arguments of a container (its `command`/`args`, env and
/// image), as gpufit and the function's `count: auto` both read them.
///
/// The vLLM release: the `gpuops.dev/vllm-version` annotation wins, else
/// the tag of a `vllm/vllm-openai`-style image; a generation name in the
/// annotation (`v0`, `v1`, `v1-graphs`) sets only the generation. The
/// `VLLM_*` variables that move the budget come from the container's env
/// ([`VllmEnv::from_vars`]); a variable set through `valueFrom` has no
/// value here and counts as unset.
pub fn engine_args(container: &Value, annotations: &BTreeMap<String, String>) -> EngineArgs {
    let flag = |names: &[&str]| vllm::get_flag(container, names);
    let number = |names: &[&str], default: u64| flag(names).and_then(|v| v.parse().ok()).unwrap_or(default);
    let optional = |names: &[&str]| flag(names).and_then(|v| v.parse::<u64>().ok());
    let env = |name: &str| {
        container.get("env").and_then(Value::as_array).and_then(|env| {
            env.iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
                .get("value")?
                .as_str()
                .map(str::to_string)
        })
    };
    let mut vllm_env = VllmEnv::from_vars(env);
    vllm_env.disable_custom_all_reduce =
        vllm::has_flag(container, &["--disable-custom-all-reduce", "--disable_custom_all_reduce"]);
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    let annotated = annotations.get("gpuops.dev/vllm-version");
    let vllm_version = match annotated {
        Some(text) => VllmVersion::parse(text),
        None => VllmVersion::from_image(image).or_else(|| midstream_release(image)),
    };
    // vLLM's CPU images (`vllm/vllm-openai-cpu`, `vllm-cpu-release-repo`)
    // name the CPU; a build for it sets VLLM_TARGET_DEVICE=cpu (setup.py).
    let cpu_build = image.rsplit('/').next().unwrap_or(image).to_ascii_lowercase().contains("cpu")
        || env("VLLM_TARGET_DEVICE").is_some_and(|d| d.eq_ignore_ascii_case("cpu"));
    // `v0`/`v1`/`v1-graphs` in the annotation name a generation, not a release.
    let engine = annotated.filter(|_| vllm_version.is_none()).and_then(|text| Generation::parse(text));
    let words: Vec<&str> = vllm::words(container).collect();
    EngineArgs {
        tensor_parallel: number(vllm::TENSOR_PARALLEL, 1),
        pipeline_parallel: number(vllm::PIPELINE_PARALLEL, 1),
        max_model_len: flag(&["--max-model-len", "--max_model_len"]).and_then(|v| parse_max_model_len(&v)),
        gpu_memory_utilization: flag(&["--gpu-memory-utilization", "--gpu_memory_utilization"])
            .and_then(|v| v.parse().ok()),
        dtype: flag(&["--dtype"]).unwrap_or_else(|| "auto".into()),
        quantization: flag(&["--quantization", "-q"]),
        kv_cache_dtype: flag(&["--kv-cache-dtype", "--kv_cache_dtype"]).unwrap_or_else(|| "auto".into()),
        max_num_seqs: optional(&["--max-num-seqs", "--max_num_seqs"]),
        max_num_batched_tokens: optional(&["--max-num-batched-tokens", "--max_num_batched_tokens"]),
        enforce_eager: vllm::has_flag(container, &["--enforce-eager", "--enforce_eager"]),
        allow_deprecated_quantization: vllm::has_flag(
            container,
            &["--allow-deprecated-quantization", "--allow_deprecated_quantization"],
        ),
        kv_cache_memory_bytes: flag(&["--kv-cache-memory-bytes", "--kv_cache_memory_bytes", "--kv-cache-memory"])
            .and_then(|v| crate::memory::parse_kv_cache_bytes(&v)),
        cpu_offload_gb: flag(&["--cpu-offload-gb", "--cpu_offload_gb"]).and_then(|v| v.parse().ok()).unwrap_or(0.0),
        engine,
        vllm_version,
        vllm_env,
        multi_node: false,
        cpu_build,
        gpu_memory_in_use_gib: 0.0,
        entrypoint: Entrypoint::Server,
        kv_connector: flag(&["--kv-transfer-config", "--kv_transfer_config"])
            .map(|v| kv_connector_of(&v).unwrap_or_else(|| "(unreadable config)".to_string())),
        distributed_executor_backend: flag(&["--distributed-executor-backend", "--distributed_executor_backend"]),
        enable_chunked_prefill: chunked_prefill(&words),
        unmodelled: unmodelled_flags(&words),
        lora: lora_args(&words).then(|| LoraArgs {
            max_loras: number(&["--max-loras", "--max_loras"], 1),
            max_lora_rank: number(&["--max-lora-rank", "--max_lora_rank"], 16),
            max_cpu_loras: optional(&["--max-cpu-loras", "--max_cpu_loras"]),
            fully_sharded: vllm::has_flag(container, &["--fully-sharded-loras", "--fully_sharded_loras"]),
            lora_dtype: flag(&["--lora-dtype", "--lora_dtype"]).unwrap_or_else(|| "auto".into()),
            extra_vocab: optional(&["--lora-extra-vocab-size", "--lora_extra_vocab_size"]),
            target_modules: vllm::has_flag(container, &["--lora-target-modules", "--lora_target_modules"]),
        }),
    }
}

/// `--enable-lora` as set: alone (a switch), `=bool`, or turned off by
/// `--no-enable-lora` (a BooleanOptionalAction: v0.10.1.1
/// engine/arg_utils.py:743-745, v0.19.0 :1127-1129); the last word decides.
fn lora_args(words: &[&str]) -> bool {
    words
        .iter()
        .rev()
        .find_map(|word| match flag_name(word)?.as_str() {
            "--enable-lora" => Some(word.split_once('=').and_then(|(_, v)| boolean(v)).unwrap_or(true)),
            "--no-enable-lora" => Some(false),
            _ => None,
        })
        .unwrap_or(false)
}

/// A word's flag name as vLLM's parser sees it: `--max_num_seqs=8` is
/// `--max-num-seqs` (`FlexibleArgumentParser` turns underscores into
/// dashes), `--compilation-config.level=3` is `--compilation-config`
/// (dotted keys set one field), `-O3` and `-O.level=3` are `-O`.
fn flag_name(word: &str) -> Option<String> {
    if let Some(rest) = word.strip_prefix("--") {
        let key = rest.split(['=', '.']).next().unwrap_or(rest);
        return Some(format!("--{}", key.replace('_', "-")));
    }
    let short = word.strip_prefix('-')?;
    if short.starts_with('O')
        && (short.len() == 1 || short[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '='))
    {
        return Some("-O".into());
    }
    Some(format!("-{}", short.split('=').next().unwrap_or(short)))
}

/// `false`/`true` as Python's argparse helpers take them.
fn boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// The flags set that the budget does not model, one per kind, in the
/// order written (see [`unmodelled`]). A boolean switched off
/// (`--enable-lora=false`) is not set.
fn unmodelled_flags(words: &[&str]) -> Vec<UnmodelledFlag> {
    let mut found: Vec<UnmodelledFlag> = Vec::new();
    for word in words {
        let Some(kind) = flag_name(word).as_deref().and_then(unmodelled::kind_of) else { continue };
        let (flag, value) = word.split_once('=').map_or((*word, None), |(name, value)| (name, Some(value)));
        let off = value.and_then(boolean) == Some(false);
        if off || found.iter().any(|f| f.kind == kind) {
            continue;
        }
        found.push(UnmodelledFlag { kind, flag: flag.to_string() });
    }
    found
}

/// `--enable-chunked-prefill` (alone, `=bool` or followed by a boolean:
/// `nargs="?"`, v0.7.3 engine/arg_utils.py:744-751) and
/// `--no-enable-chunked-prefill` (BooleanOptionalAction from 0.8).
fn chunked_prefill(words: &[&str]) -> Option<bool> {
    words.iter().enumerate().rev().find_map(|(i, word)| match flag_name(word)?.as_str() {
        "--no-enable-chunked-prefill" => Some(false),
        "--enable-chunked-prefill" => Some(match word.split_once('=') {
            Some((_, value)) => boolean(value).unwrap_or(true),
            None => words.get(i + 1).and_then(|next| boolean(next)).unwrap_or(true),
        }),
        _ => None,
    })
}

/// The connector a `--kv-transfer-config` JSON names (vLLM parses it with
/// `KVTransferConfig.from_cli`, vllm/engine/arg_utils.py v0.8.5:891-895;
/// the field is `kv_connector`, vllm/config.py v0.8.5:3236). A value that
/// does not read (`None` here) still names a connector gpuops does not
/// model, so a manifest's is kept as "(unreadable config)".
pub fn kv_connector_of(value: &str) -> Option<String> {
    serde_json::from_str::<Value>(value)
        .ok()
        .and_then(|config| config.get("kv_connector").and_then(Value::as_str).map(str::to_string))
}

/// The upstream vLLM release under a vendor build whose tag names the
/// vendor's release rather than vLLM's.
///
/// `quay.io/modh/vllm:rhoai-2.19-cuda` (Red Hat OpenShift AI 2.19) is built
/// from branch `rhoai-2.19` of github.com/red-hat-data-services/vllm
/// (`.tekton/vllm-cuda-v2-19-push.yaml`: `target_branch == "rhoai-2.19"`,
/// `output-image: quay.io/modh/vllm:{{target_branch}}-cuda`, plus the
/// additional tag `{{target_branch}}-cuda-{{revision}}`). That branch is
/// upstream v0.8.4 with the fork's packaging: its head 7ad990749 (2025-06-24)
/// describes as `v0.8.4-411-g7ad990749`, merged from `midstream-v0.8.4`
/// (184a37f9c "084-sync-rhoai-219"), and none of the 411 commits is in
/// upstream v0.8.5. Only the CUDA tag: the CPU image is built from another
/// branch (`appstudio-vllm-cpu-v2-19`).
fn midstream_release(image: &str) -> Option<VllmVersion> {
    let repo_and_tag = image.split('@').next().unwrap_or(image);
    let (repo, tag) = repo_and_tag.rsplit_once(':').filter(|(_, t)| !t.contains('/'))?;
    let rhoai_2_19 = tag == "rhoai-2.19-cuda" || tag.starts_with("rhoai-2.19-cuda-");
    (repo.trim_start_matches("docker://") == "quay.io/modh/vllm" && rhoai_2_19).then(|| VllmVersion::new(0, 8, 4))
}

/// `vllm serve MODEL …`: the word after `serve`, in args or a shell script.
fn positional_model(container: &Value) -> Option<String> {
    let words: Vec<String> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let at = words.iter().position(|w| w == "serve")?;
    words.get(at + 1).filter(|w| !w.starts_with('-')).cloned()
}

/// A workload's annotations: the object's, then its pod template's
/// (`site_metadata`), the template winning — what gpufit's check and the
/// function's `count: auto` both read.
pub fn annotations_of(obj: &Value, site_metadata: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for meta in [obj.get("metadata"), site_metadata] {
        if let Some(Value::Object(a)) = meta.and_then(|m| m.get("annotations")) {
            for (k, v) in a {
                if let Some(s) = v.as_str() {
                    out.insert(k.clone(), s.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The image tag names the release; the annotation wins over it; a
    /// generation name in the annotation sets the generation only.
    #[test]
    fn the_vllm_version_comes_from_the_annotation_then_the_image() {
        let c = json!({"image": "vllm/vllm-openai:v0.11.0", "args": ["--model", "m"]});
        assert_eq!(engine_args(&c, &BTreeMap::new()).vllm_version, Some(VllmVersion::new(0, 11, 0)));
        let pinned = annotations(&[("gpuops.dev/vllm-version", "0.8.5")]);
        assert_eq!(engine_args(&c, &pinned).vllm_version, Some(VllmVersion::new(0, 8, 5)));
        let generation = annotations(&[("gpuops.dev/vllm-version", "v0")]);
        let args = engine_args(&c, &generation);
        assert_eq!((args.vllm_version, args.engine), (None, Some(Generation::V0)));
        let latest = json!({"image": "vllm/vllm-openai:latest"});
        let args = engine_args(&latest, &BTreeMap::new());
        assert_eq!((args.vllm_version, args.engine), (None, None), "assumed later, with a note");
    }

    /// `--allow-deprecated-quantization` is read in either spelling, in
    /// args or a shell command (it lets a deprecated method start, 0.14+).
    #[test]
    fn allow_deprecated_quantization_is_read() {
        let allowed = |c: Value| engine_args(&c, &BTreeMap::new()).allow_deprecated_quantization;
        assert!(allowed(json!({"args": ["--model", "m", "--allow-deprecated-quantization"]})));
        assert!(allowed(json!({"command": ["sh", "-c", "vllm serve m --allow_deprecated_quantization"]})));
        assert!(!allowed(json!({"args": ["--model", "m"]})));
    }

    /// RHOAI 2.19's CUDA image runs upstream v0.8.4 (see
    /// [`midstream_release`]); its CPU build and other RHOAI tags stay unknown.
    #[test]
    fn the_rhoai_2_19_cuda_image_runs_vllm_0_8_4() {
        let version = |image: &str| engine_args(&json!({"image": image}), &BTreeMap::new()).vllm_version;
        assert_eq!(version("quay.io/modh/vllm:rhoai-2.19-cuda"), Some(VllmVersion::new(0, 8, 4)));
        assert_eq!(
            version("quay.io/modh/vllm:rhoai-2.19-cuda-7ad990749aecb58cb624b5d131d5b6619a860ea7"),
            Some(VllmVersion::new(0, 8, 4))
        );
        assert_eq!(version("quay.io/modh/vllm:rhoai-2.19-cpu"), None);
        assert_eq!(version("quay.io/modh/vllm:rhoai-2.20-cuda"), None);
        assert_eq!(version("example.com/modh/vllm:rhoai-2.19-cuda"), None);
    }

    /// `--kv-transfer-config` names the connector (LMCache's production-stack
    /// form: `{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}`),
    /// and `evaluate` says it is not modelled.
    #[test]
    fn a_kv_connector_is_named_and_not_modelled() {
        let connector = |args: serde_json::Value| {
            engine_args(&json!({"image": "vllm/vllm-openai:v0.11.0", "args": args}), &BTreeMap::new()).kv_connector
        };
        let lmcache = r#"{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}"#;
        assert_eq!(
            connector(json!(["--model", "m", "--kv-transfer-config", lmcache])).as_deref(),
            Some("LMCacheConnectorV1")
        );
        assert_eq!(
            connector(json!(["--model", "m", format!("--kv-transfer-config={lmcache}")])).as_deref(),
            Some("LMCacheConnectorV1")
        );
        assert_eq!(
            connector(json!(["--model", "m", "--kv-transfer-config", "{not json"])).as_deref(),
            Some("(unreadable config)")
        );
        assert_eq!(connector(json!(["--model", "m"])), None);
        let backend = engine_args(
            &json!({"image": "vllm/vllm-openai:v0.8.5", "args": ["--distributed-executor-backend", "ray"]}),
            &BTreeMap::new(),
        );
        assert_eq!(backend.distributed_executor_backend.as_deref(), Some("ray"));
        let args = engine_args(
            &json!({"image": "vllm/vllm-openai:v0.11.0", "args": ["--kv-transfer-config", lmcache]}),
            &BTreeMap::new(),
        );
        let fit = crate::memory::evaluate(
            &crate::catalog::find_model("Llama-3.1-8B").unwrap(),
            &crate::catalog::gpu_product("H100").unwrap().into(),
            &args,
        );
        assert!(
            fit.notes
                .iter()
                .any(|n| n.starts_with("KV connector LMCacheConnectorV1 (--kv-transfer-config) is not modelled")),
            "{:?}",
            fit.notes
        );
    }

    /// envs.py reads `bool(int(x))`; `--disable-custom-all-reduce` is a flag.
    #[test]
    fn vllm_variables_come_from_the_container_env() {
        let c = json!({
            "image": "vllm/vllm-openai:v0.10.1",
            "args": ["--model", "m", "--disable-custom-all-reduce"],
            "env": [
                {"name": "VLLM_USE_V1", "value": "0"},
                {"name": "VLLM_ALLOW_LONG_MAX_MODEL_LEN", "value": "1"},
                {"name": "VLLM_USE_FLASHINFER_SAMPLER", "value": "0"},
                {"name": "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}}
            ]
        });
        let env = engine_args(&c, &BTreeMap::new()).vllm_env;
        assert_eq!(env.use_v1, Some(false));
        assert!(env.allow_long_max_model_len && env.disable_custom_all_reduce);
        assert_eq!(env.use_flashinfer_sampler, Some(false));
        assert_eq!(env.estimate_cudagraphs, None, "valueFrom has no value here");
        assert_eq!(VllmVersion::new(0, 10, 1).generation(&env), Generation::V0);
    }

    /// Flags that move memory in ways the budget does not model are read in
    /// every form a manifest writes them (split, joined, underscores, dotted
    /// keys, `-O3`, inside `sh -c`), one per kind, a boolean switched off
    /// skipped; each becomes a note naming the flag as written.
    #[test]
    fn unmodelled_flags_are_named_in_the_answer() {
        use crate::memory::UnmodelledKind::*;
        let read = |c: serde_json::Value| engine_args(&c, &BTreeMap::new()).unmodelled;
        let kinds = |c| read(c).into_iter().map(|f| (f.kind, f.flag)).collect::<Vec<_>>();
        let spec =
            r#"{"method": "eagle3", "model": "yuhuili/EAGLE3-LLaMA3.1-Instruct-8B", "num_speculative_tokens": 3}"#;
        assert_eq!(
            kinds(json!({"args": ["--model", "m", "--enable-lora", "--max-loras", "4", "--speculative-config", spec,
                "--enable_lora", "--hf_overrides={\"rope_theta\": 1}", "--compilation-config.cudagraph_capture_sizes=[1,2]",
                "--enable-expert-parallel=false"]})),
            vec![
                (SpeculativeDecoding, "--speculative-config".into()),
                (ConfigOverride, "--hf_overrides".into()),
                (Compilation, "--compilation-config.cudagraph_capture_sizes".into()),
            ]
        );
        assert_eq!(
            kinds(json!({"command": ["sh", "-c", "vllm serve m --num-gpu-blocks-override 2000 -O3 -ep"]})),
            vec![
                (GpuBlocksOverride, "--num-gpu-blocks-override".into()),
                (Compilation, "-O3".into()),
                (ExpertParallel, "-ep".into())
            ]
        );
        assert!(read(json!({"args": ["--model", "m", "--max-num-seqs", "8", "--enable-prefix-caching"]})).is_empty());
        let answer = |args: serde_json::Value, model: &str| {
            let args = engine_args(&json!({"image": "vllm/vllm-openai:v0.11.0", "args": args}), &BTreeMap::new());
            let gpu = crate::catalog::gpu_product("H100").unwrap().into();
            crate::memory::evaluate(&crate::catalog::find_model(model).unwrap(), &gpu, &args).notes
        };
        let notes = answer(json!(["--speculative-config", "{}", "--max-model-len", "8192"]), "Llama-3.1-8B");
        assert!(notes.iter().any(|n| n.starts_with("speculative decoding (--speculative-config) is not modelled")));
        // Expert parallelism moves only a mixture of experts.
        let ep = |model| answer(json!(["-ep", "--max-model-len", "8192", "--tensor-parallel-size", "2"]), model);
        assert!(ep("Qwen3-30B-A3B").iter().any(|n| n.starts_with("expert parallelism (-ep) is not modelled")));
        assert!(!ep("Llama-3.1-8B").iter().any(|n| n.starts_with("expert parallelism")));
    }

    /// `--enable-lora` and the flags that size its slots, in the forms a
    /// manifest writes them; `--no-enable-lora` after it turns it off.
    #[test]
    fn lora_flags_are_read() {
        let read = |args: serde_json::Value| engine_args(&json!({"args": args}), &BTreeMap::new()).lora;
        assert_eq!(read(json!(["--model", "m"])), None);
        assert_eq!(read(json!(["--enable-lora"])), Some(LoraArgs::default()));
        let lora = read(json!([
            "--enable_lora",
            "--max-loras=4",
            "--max_lora_rank",
            "64",
            "--max-cpu-loras",
            "8",
            "--fully-sharded-loras",
            "--lora-dtype",
            "float16",
            "--lora-target-modules",
            "q_proj",
            "v_proj"
        ]))
        .unwrap();
        assert_eq!((lora.max_loras, lora.max_lora_rank, lora.max_cpu_loras), (4, 64, Some(8)));
        assert!(lora.fully_sharded && lora.target_modules);
        assert_eq!(lora.lora_dtype, "float16");
        assert_eq!(read(json!(["--enable-lora", "--no-enable-lora"])), None);
        assert_eq!(read(json!(["--enable-lora=false"])), None);
        // Read into the answer: the slots are weights, the note says so,
        // and a mixture of experts is unchecked.
        let fit = |args: serde_json::Value, model: &str| {
            let args = engine_args(&json!({"image": "vllm/vllm-openai:v0.19.0", "args": args}), &BTreeMap::new());
            let gpu = crate::catalog::gpu_product("H100").unwrap().into();
            crate::memory::evaluate(&crate::catalog::find_model(model).unwrap(), &gpu, &args)
        };
        let plain = fit(json!(["--max-model-len", "8192"]), "Llama-3.1-8B");
        let lora = fit(
            json!(["--max-model-len", "8192", "--enable-lora", "--max-loras", "4", "--max-lora-rank", "64"]),
            "Llama-3.1-8B",
        );
        let slots = lora.lora.unwrap().stacks_gib;
        assert!((lora.weights_per_gpu_gib - plain.weights_per_gpu_gib - slots).abs() < 1e-9);
        assert!((slots - 1_477_705_728.0 / (1u64 << 30) as f64).abs() < 1e-9, "{slots}");
        assert!(lora.kv_pool_tokens < plain.kv_pool_tokens);
        assert!(lora.notes.is_empty(), "{:?}", lora.notes);
        let targeted = fit(json!(["--enable-lora", "--lora-target-modules", "q_proj"]), "Llama-3.1-8B");
        assert!(
            targeted
                .notes
                .iter()
                .any(|n| n
                    .starts_with("LoRA's adapter slots (0.09 GiB a GPU, max_loras 1 × rank 16) are an upper bound")),
            "{:?}",
            targeted.notes
        );
        let moe = fit(json!(["--max-model-len", "8192", "--enable-lora"]), "Qwen3-30B-A3B");
        assert!(!moe.fits && moe.not_sized.is_some(), "{moe:?}");
        // Its attention's slots alone leave room: how much, said in a note.
        assert!(moe.notes.iter().any(|n| n.starts_with("without LoRA's slots on the experts the figures fit, with ")));
    }

    /// `--enable-chunked-prefill` as vLLM's parsers take it; on V0 it decides
    /// the profile's batch, and without it the default does: a long-context
    /// model whose LoRA keeps chunked prefill off profiles its whole context
    /// in one prefill (v0.8.5 engine/arg_utils.py:1513-1524).
    #[test]
    fn chunked_prefill_is_read_and_sizes_the_v0_profile() {
        let chunked =
            |args: serde_json::Value| engine_args(&json!({"args": args}), &BTreeMap::new()).enable_chunked_prefill;
        assert_eq!(chunked(json!(["--enable-chunked-prefill"])), Some(true));
        assert_eq!(chunked(json!(["--enable-chunked-prefill", "False", "--max-num-seqs", "8"])), Some(false));
        assert_eq!(chunked(json!(["--enable-chunked-prefill=false"])), Some(false));
        assert_eq!(chunked(json!(["--enable-chunked-prefill", "--max-num-seqs", "8"])), Some(true));
        assert_eq!(chunked(json!(["--no-enable-chunked-prefill"])), Some(false));
        assert_eq!(chunked(json!(["--max-num-seqs", "8"])), None);
        let tokens = |args: serde_json::Value| {
            let container = json!({"image": "vllm/vllm-openai:v0.8.5", "args": args,
                "env": [{"name": "VLLM_USE_V1", "value": "0"}]});
            let args = engine_args(&container, &BTreeMap::new());
            let gpu = crate::catalog::gpu_product("H100").unwrap().into();
            crate::memory::evaluate(&crate::catalog::find_model("Llama-3.1-8B").unwrap(), &gpu, &args)
                .max_num_batched_tokens
        };
        assert_eq!(tokens(json!(["--max-model-len", "65536"])), 2048);
        assert_eq!(tokens(json!(["--max-model-len", "65536", "--enable-lora"])), 65_536);
        assert_eq!(tokens(json!(["--max-model-len", "65536", "--enable-chunked-prefill=False"])), 65_536);
        assert_eq!(tokens(json!(["--max-model-len", "16384", "--enable-chunked-prefill"])), 2048);
    }
}
