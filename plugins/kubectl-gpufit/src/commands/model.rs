//! `model`: the GPU memory calculator alone — one model, one GPU (or a
//! slice of it), vLLM's engine arguments — sized through the same resolver
//! and memory model `check` uses.

use gpuops_model::catalog::{GpuInfo, MemorySource, ModelShape, gpu_product, gpu_products, mig_slice};
use gpuops_model::memory::{
    self, EngineArgs, Entrypoint, Generation, LoraArgs, parse_kv_cache_bytes, parse_max_model_len, parse_memory_gib,
};

use crate::cli::ModelArgs;
use crate::render::{self, ModelAnswer};
use crate::{Error, ExitCode};

fn unknown_model(args: &ModelArgs) -> Error {
    Error::Usage(format!(
        "{} is neither in the catalog ({} models) nor in the local Hugging Face cache ({}); pass its config.json with --model-config FILE|DIR",
        args.model,
        gpuops_model::catalog::catalog_models().len(),
        gpuops_model::hfconfig::hub_cache(|k| std::env::var_os(k))
            .map_or_else(|| "unset".to_string(), |p| p.display().to_string()),
    ))
}

/// The GPU `model` evaluates on: a catalog product (optionally a MIG
/// slice of it), or just a memory size.
fn model_gpu(args: &ModelArgs) -> Result<GpuInfo, Error> {
    let memory = match &args.gpu_memory {
        Some(text) => Some(
            parse_memory_gib(text)
                .ok_or_else(|| Error::Usage(format!("--gpu-memory {text:?} is not a size (24GiB, 80GB, 81559MiB)")))?,
        ),
        None => None,
    };
    let mut gpu = match (&args.gpu, memory) {
        (Some(name), _) => gpu_product(name).map(GpuInfo::from).ok_or_else(|| {
            let known: Vec<&str> =
                gpu_products().iter().filter_map(|p| p.aliases.first().map(String::as_str)).collect();
            Error::Usage(format!(
                "unknown GPU {name:?}; give its memory with --gpu-memory (e.g. 24GiB), or one of: {}",
                known.join(", ")
            ))
        })?,
        (None, Some(gib)) => GpuInfo::with_memory(&format!("{gib:.2} GiB GPU"), gib),
        (None, None) => return Err(Error::Usage("--gpu PRODUCT or --gpu-memory SIZE is required".into())),
    };
    if let Some(profile) = &args.mig {
        gpu = mig_slice(&gpu, profile)
            .ok_or_else(|| Error::Usage(format!("{profile:?} is not a MIG profile of {} (e.g. 3g.40gb)", gpu.label)))?;
    }
    if let (Some(gib), Some(_)) = (memory, &args.gpu) {
        gpu.total_gib = gib;
        gpu.memory_source = MemorySource::Flag;
    }
    Ok(gpu)
}

pub(crate) fn model(args: &ModelArgs) -> Result<ExitCode, Error> {
    let shape = shape_of(args)?;
    let gpu = model_gpu(args)?;
    let engine = engine_args(args)?;
    let fit = memory::evaluate(&shape, &gpu, &engine);
    let smallest =
        if fit.fits || fit.not_sized.is_some() { None } else { memory::smallest_fitting_tp(&shape, &gpu, &engine, 8) };
    // `--recommend`: the asked context (else the model's longest) at `--concurrency`.
    // No setting of a model gpuops cannot size is known to start: none is
    // recommended (the answer says why), rather than "none starts".
    let sized = fit.not_sized.is_none() && !fit.lower_bound;
    let recommendation = (args.recommend && sized).then(|| {
        let demand = memory::Demand { context: fit.max_model_len, concurrency: args.concurrency };
        memory::recommend(&shape, &gpu, &engine, demand)
    });
    let answer = ModelAnswer {
        fit: &fit,
        smallest_tp: smallest,
        recommendation,
        recommend_declined: args.recommend && !sized,
        shared: render::SharedGpu::of(&engine, &fit),
    };
    render::emit(&render::model(&answer, &args.output)?)?;
    // At the edge the exit code stays the model's verdict (a script that
    // gates on it keeps working); the warning goes to stderr in every
    // format, the JSON carrying `edge`.
    if let Some(edge) = &fit.edge {
        render::eprint_line(&format!("warning: {}", edge.text(fit.fits)));
    }
    // A model gpuops cannot size is unchecked, as `check` says it (exit 3),
    // never a "does not fit" it does not know.
    Ok(if fit.not_sized.is_some() { ExitCode::Unchecked } else { ExitCode::answer(fit.fits) })
}

/// The model's shape: its config.json when given, else the resolver's chain.
fn shape_of(args: &ModelArgs) -> Result<ModelShape, Error> {
    Ok(match &args.model_config {
        Some(path) => gpuops_model::hfconfig::load(path, &args.model)?,
        // The same chain `check` uses: a directory, the catalog, the cache, the network.
        None => match super::resolver().lookup(&args.model) {
            Some(Ok(found)) => found.shape,
            Some(Err(e)) => {
                return Err(Error::Usage(format!("{e}; or pass its config.json with --model-config FILE|DIR")));
            }
            None => return Err(unknown_model(args)),
        },
    })
}

/// vLLM's engine arguments as the flags give them.
fn engine_args(args: &ModelArgs) -> Result<EngineArgs, Error> {
    let max_model_len = match &args.max_model_len {
        Some(text) => Some(
            parse_max_model_len(text)
                .ok_or_else(|| Error::Usage(format!("--max-model-len {text:?} is not a length")))?,
        ),
        None => None,
    };
    let engine = match &args.engine {
        Some(text) => Some(Generation::parse(text).ok_or_else(|| {
            Error::Usage(format!("--engine {text:?} is neither v0, v1, v1-graphs nor a vLLM version (0.6.4)"))
        })?),
        None => None,
    };
    let vllm_version = args.engine.as_deref().and_then(gpuops_model::memory::VllmVersion::parse);
    let gpu_memory_in_use_gib = match &args.gpu_memory_in_use {
        Some(text) => parse_memory_gib(text).ok_or_else(|| {
            Error::Usage(format!("--gpu-memory-in-use {text:?} is not a size (20GiB, 20Gi, 8192MiB)"))
        })?,
        None => 0.0,
    };
    let kv_cache_memory_bytes = match &args.kv_cache_memory_bytes {
        Some(text) => Some(parse_kv_cache_bytes(text).ok_or_else(|| {
            Error::Usage(format!("--kv-cache-memory-bytes {text:?} is not a size in bytes (8589934592, 8Gi, 8GiB)"))
        })?),
        None => None,
    };
    let kv_connector = match &args.kv_transfer_config {
        Some(text) => Some(gpuops_model::container::kv_connector_of(text).ok_or_else(|| {
            Error::Usage(format!(
                "--kv-transfer-config {text:?} is not vLLM's JSON with a \"kv_connector\" (e.g. '{{\"kv_connector\":\"LMCacheConnectorV1\",\"kv_role\":\"kv_both\"}}')"
            ))
        })?),
        None => None,
    };
    Ok(EngineArgs {
        tensor_parallel: args.tp,
        pipeline_parallel: args.pp,
        max_model_len,
        gpu_memory_utilization: args.gpu_memory_utilization,
        dtype: args.dtype.clone(),
        quantization: args.quantization.clone(),
        kv_cache_dtype: args.kv_cache_dtype.clone(),
        max_num_seqs: args.max_num_seqs,
        max_num_batched_tokens: args.max_num_batched_tokens,
        enforce_eager: args.enforce_eager,
        allow_deprecated_quantization: args.allow_deprecated_quantization,
        kv_cache_memory_bytes,
        cpu_offload_gb: args.cpu_offload_gb,
        // `--engine 0.11.0` names a release: its terms, not just its generation.
        engine: engine.filter(|_| vllm_version.is_none()),
        vllm_version,
        gpu_memory_in_use_gib,
        entrypoint: Entrypoint::Server,
        kv_connector,
        distributed_executor_backend: args.distributed_executor_backend.clone(),
        lora: args.enable_lora.then(|| LoraArgs {
            max_loras: args.max_loras.unwrap_or(1),
            max_lora_rank: args.max_lora_rank.unwrap_or(16),
            fully_sharded: args.fully_sharded_loras,
            ..LoraArgs::default()
        }),
        ..EngineArgs::default()
    })
}
