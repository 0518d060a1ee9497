//! Printing check reports, node inventories and memory fits.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the plugin's output edge

use gpuops_cli::{OutputFormat, Table, render_value};
use gpuops_fit::report::{MemoryReport, MemoryStatus, Report};
use gpuops_fit::workloads::is_gpu;
use gpuops_model::catalog::{GpuInfo, MemorySource, find_model, gpu_of_labels, gpu_product, gpu_products, mig_slice};
use gpuops_model::memory::{
    self, EngineArgs, Entrypoint, Generation, MemoryFit, parse_kv_cache_bytes, parse_max_model_len, parse_memory_gib,
};
use gpuops_schedule::cluster::Cluster;
use gpuops_schedule::resources::display;
use serde_json::json;

use crate::{Error, ExitCode, ModelArgs, OutputArgs};

pub(crate) use gpuops_cli::print;

pub(crate) fn eprint_line(text: &str) {
    eprintln!("{text}");
}

fn short_model(id: &str) -> String {
    find_model(id).map_or_else(
        || id.rsplit('/').next().unwrap_or(id).to_string(),
        |m| m.id.rsplit('/').next().unwrap_or(&m.id).trim_end_matches("-Instruct").to_string(),
    )
}

fn memory_cell(m: Option<&MemoryReport>) -> (String, String) {
    let Some(m) = m else { return (String::new(), String::new()) };
    let model = match &m.fit {
        Some(f) => format!(
            "{} TP{}{}",
            short_model(&f.model),
            f.tensor_parallel,
            if f.pipeline_parallel > 1 { format!(" PP{}", f.pipeline_parallel) } else { String::new() }
        ),
        None => short_model(&m.reference),
    };
    let memory = match (m.status, &m.fit) {
        (MemoryStatus::Fits, Some(f)) => {
            format!("ok: {} ctx max, {} asked", tokens(f.max_context), tokens(f.max_model_len))
        }
        (MemoryStatus::DoesNotFit, Some(f)) if f.kv_budget_gib <= 0.0 => "weights do not fit".to_string(),
        (MemoryStatus::DoesNotFit, Some(f)) if !f.tp_valid => "TP invalid".to_string(),
        (MemoryStatus::DoesNotFit, Some(f)) if !f.dtype_supported => "dtype unsupported".to_string(),
        (MemoryStatus::DoesNotFit, Some(f)) => {
            format!("no: {} ctx max, {} asked", tokens(f.max_context), tokens(f.max_model_len))
        }
        (other, _) => other.as_str().to_string(),
    };
    (model, memory)
}

fn tokens(n: u64) -> String {
    if n >= 1000 { format!("{}k", n / 1000) } else { n.to_string() }
}

pub(crate) fn print_check(reports: &[Report], args: &OutputArgs) {
    match args.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            let value =
                if reports.len() == 1 { serde_json::to_value(&reports[0]) } else { serde_json::to_value(reports) };
            print(&render_value(&value.unwrap_or_default(), args.output));
        }
        format => {
            for (i, report) in reports.iter().enumerate() {
                if reports.len() > 1 {
                    print(&format!("{}# {}\n", if i > 0 { "\n" } else { "" }, report.cluster));
                }
                print(&check_table(report, format == OutputFormat::Wide, args.no_headers));
            }
        }
    }
}

fn check_table(report: &Report, wide: bool, no_headers: bool) -> String {
    let mut headers = vec!["workload", "pods", "gpus/pod", "placed", "model", "memory", "status"];
    if wide {
        headers.extend(["nodes", "rollout"]);
    }
    let mut t = Table::new(&headers);
    for w in &report.workloads {
        let name = if w.role.is_empty() { w.workload.clone() } else { format!("{} [{}]", w.workload, w.role) };
        let (model, memory) = memory_cell(w.memory.as_ref());
        let mut row = vec![
            name,
            w.replicas.to_string(),
            w.gpus_per_pod.to_string(),
            format!("{}/{}", w.placed, w.replicas),
            model,
            memory,
            w.status().as_str().to_string(),
        ];
        if wide {
            let mut nodes: Vec<String> = Vec::new();
            for n in &w.nodes {
                match nodes.last_mut() {
                    Some(last) if last.split('×').next() == Some(n.as_str()) || last == n => {
                        let count = last.split('×').nth(1).and_then(|c| c.parse::<u32>().ok()).unwrap_or(1) + 1;
                        *last = format!("{n}×{count}");
                    }
                    _ => nodes.push(n.clone()),
                }
            }
            let rollout = match &w.rollout {
                None => "-".to_string(),
                Some(r) if r.fits => format!("surge {} ok", r.surge),
                Some(r) => format!("surge {} blocked", r.surge),
            };
            row.push(if nodes.is_empty() { "-".into() } else { nodes.join(",") });
            row.push(rollout);
        }
        t.push(row);
    }
    let mut out = t.render(no_headers);
    out.push_str(&report.explain_with(wide));
    if wide {
        out.push('\n');
        let mut t = Table::new(&["node", "resource", "allocatable", "free before", "free after"]);
        for n in &report.nodes_after {
            t.push(vec![
                n.node.clone(),
                n.resource.clone(),
                n.allocatable.to_string(),
                n.free_before.to_string(),
                n.free_after.to_string(),
            ]);
        }
        out.push_str(&t.render(no_headers));
    }
    out.push('\n');
    for g in &report.gpus {
        out.push_str(&format!(
            "{}: {} allocatable on {} node(s), {} in use before, {} free after placement, at most {} on one node\n",
            g.resource, g.allocatable, report.nodes, g.in_use_before, g.free_after, g.max_free_on_one_node
        ));
    }
    out
}

/// The GPU inventory; with `namespace`, also what that namespace's pods
/// use on each node (`usedByNamespace`, table column `USED(NS)`), as
/// `kubectl-view-allocations -n` scopes its usage.
pub(crate) fn print_nodes(clusters: &[Cluster], namespace: Option<&str>, args: &OutputArgs) {
    let mut rows = Vec::new();
    for cluster in clusters {
        let used = gpuops_schedule::scheduler::usage(cluster);
        let scoped = namespace.map(|ns| gpuops_schedule::scheduler::usage_of(cluster, |p| p.namespace == ns));
        for (i, (node, used)) in cluster.nodes.iter().zip(&used).enumerate() {
            let gpu = gpu_of_labels(&node.labels);
            let sharing = match (
                node.labels.get("nvidia.com/gpu.sharing-strategy"),
                node.labels.get("nvidia.com/gpu.replicas"),
            ) {
                (Some(s), Some(r)) if s != "none" => format!("{s} x{r}"),
                (None, Some(r)) if r != "1" => format!("x{r}"),
                _ => "-".into(),
            };
            let taints: Vec<String> =
                node.taints.iter().map(|t| format!("{}={}:{}", t.key, t.value, t.effect)).collect();
            for (resource, alloc) in node.allocatable.iter().filter(|(k, _)| is_gpu(k)) {
                let in_use = used.requests.get(resource).copied().unwrap_or(0);
                let by_namespace = scoped.as_ref().map(|u| u[i].requests.get(resource).copied().unwrap_or(0));
                let mut row = json!({
                    "cluster": cluster.source, "node": node.name,
                    "product": gpu.as_ref().map_or("-".to_string(), |g| g.label.clone()),
                    "memoryMiB": gpu.as_ref().map(|g| g.label_mib),
                    "cudaMemoryGiB": gpu.as_ref().map(|g| (g.total_gib * 100.0).round() / 100.0),
                    "resource": resource, "allocatable": alloc, "used": in_use, "free": alloc - in_use,
                    "sharing": sharing, "unschedulable": node.unschedulable, "taints": taints,
                });
                if let (Some(ns), Some(n)) = (namespace, by_namespace) {
                    row["namespace"] = json!(ns);
                    row["usedByNamespace"] = json!(n);
                }
                rows.push(row);
            }
        }
    }
    match args.output {
        OutputFormat::Json | OutputFormat::Yaml => print(&render_value(&json!({"items": rows}), args.output)),
        format => {
            let wide = format == OutputFormat::Wide;
            let used_by = namespace.map(|ns| format!("used({ns})"));
            let mut headers = vec!["node", "product", "memory", "resource", "allocatable", "used"];
            headers.extend(used_by.as_deref());
            headers.extend(["free", "taints"]);
            if wide {
                headers.extend(["sharing", "cluster"]);
            }
            let mut t = Table::new(&headers);
            for r in &rows {
                let s = |k: &str| r[k].as_str().map_or_else(|| r[k].to_string(), str::to_string);
                let memory = r["memoryMiB"].as_u64().map_or("-".into(), |m| display("memory", (m as i64) << 20));
                let mut taints: Vec<String> = r["taints"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                if r["unschedulable"] == true {
                    taints.insert(0, "cordoned".into());
                }
                let mut row = vec![s("node"), s("product"), memory, s("resource"), s("allocatable"), s("used")];
                if namespace.is_some() {
                    row.push(s("usedByNamespace"));
                }
                row.extend([s("free"), if taints.is_empty() { "-".into() } else { taints.join(",") }]);
                if wide {
                    row.push(s("sharing"));
                    row.push(s("cluster"));
                }
                t.push(row);
            }
            print(&t.render(args.no_headers));
        }
    }
}

fn memory_text(f: &MemoryFit, smallest: Option<u64>) -> String {
    let source = match f.gpu_memory_source {
        MemorySource::Catalog => "as CUDA reports it",
        MemorySource::NodeLabel => "estimated from the node's memory label",
        MemorySource::Flag => "from --gpu-memory",
        MemorySource::Mig => "MIG slice",
        MemorySource::Mps => "an MPS share of the GPU",
    };
    let graphs = if f.cuda_graph_in_budget { "in the budget" } else { "captured after the KV cache, outside it" };
    let context = if f.max_context == u64::MAX {
        "unbounded (every layer slides)".to_string()
    } else {
        f.max_context.to_string()
    };
    let mut out = format!(
        "model:        {}\ngpu:          {} ({:.2} GiB, {source}; {:.2} GiB at utilization {})\nengine:       vLLM {} (max_num_batched_tokens {}, max_num_seqs {})\nparallelism:  TP {} × PP {}\nweights/GPU:  {:.2} GiB\nactivations:  {:.2} GiB; non-torch {:.2} GiB; CUDA graphs {:.2} GiB ({graphs})\nKV budget:    {:.2} GiB/GPU, {} bytes per token, {} tokens in the pool\nmax context:  {} tokens (asked: {})\nverdict:      {}\n",
        f.model,
        f.gpu,
        f.gpu_memory_gib,
        f.usable_gib,
        f.gpu_memory_utilization,
        f.engine.as_str(),
        f.max_num_batched_tokens,
        f.max_num_seqs,
        f.tensor_parallel,
        f.pipeline_parallel,
        f.weights_per_gpu_gib,
        f.activation_gib,
        f.non_torch_gib,
        f.cuda_graph_gib,
        f.kv_budget_gib.max(0.0),
        f.kv_bytes_per_token,
        f.kv_pool_tokens,
        context,
        f.max_model_len,
        if f.fits { "fits" } else { "does not fit" }
    );
    for p in &f.problems {
        out.push_str(&format!("  {p}\n"));
    }
    if let Some(tp) = smallest {
        out.push_str(&format!("smallest TP that fits: {tp}\n"));
    }
    out
}

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
    let shape = match &args.model_config {
        Some(path) => gpuops_model::hfconfig::load(path, &args.model)?,
        // The same chain `check` uses: a directory, the catalog, the cache, the network.
        None => match crate::resolver().lookup(&args.model) {
            Some(Ok(found)) => found.shape,
            Some(Err(e)) => {
                return Err(Error::Usage(format!("{e}; or pass its config.json with --model-config FILE|DIR")));
            }
            None => return Err(unknown_model(args)),
        },
    };
    let gpu = model_gpu(args)?;
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
    let kv_cache_memory_bytes = match &args.kv_cache_memory_bytes {
        Some(text) => Some(parse_kv_cache_bytes(text).ok_or_else(|| {
            Error::Usage(format!("--kv-cache-memory-bytes {text:?} is not a size in bytes (8589934592, 8Gi, 8GiB)"))
        })?),
        None => None,
    };
    let engine = EngineArgs {
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
        kv_cache_memory_bytes,
        cpu_offload_gb: args.cpu_offload_gb,
        engine,
        entrypoint: Entrypoint::Server,
    };
    let fit = memory::evaluate(&shape, &gpu, &engine);
    let smallest = if fit.fits { None } else { memory::smallest_fitting_tp(&shape, &gpu, &engine, 8) };
    match args.output.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            let mut value = serde_json::to_value(&fit).unwrap_or_default();
            value["smallestTp"] = json!(smallest);
            print(&render_value(&value, args.output.output));
        }
        _ => print(&memory_text(&fit, smallest)),
    }
    Ok(ExitCode::answer(fit.fits))
}
